"""In the browser: a police practitioner drops a signed consent form onto the case's Documents drop zone and
uploads it; the document is listed and downloads as the same bytes; a renamed program is refused at the field."""
from __future__ import annotations

import base64

from sqlalchemy import select

from models import Case, db
from tests.e2e.conftest import log_in, shot
from tests.fixtures import files

DROP = """([name, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type: 'application/octet-stream'}));
  return dt;
}"""


def _burglary_case(app) -> int:
    with app.app_context():
        found = db.session.scalar(select(Case.id).where(Case.title.like("Burglary%")))
        db.session.remove()
    return found


def test_drop_a_document_on_the_case_and_download_it(page, live_app):
    base, app = live_app
    case_id = _burglary_case(app)
    log_in(page, "practitioner@police.demo")
    page.goto(f"/admin/cases/details/?id={case_id}")
    page.locator("#documents summary", has_text="Upload a document").click()
    body = files.pdf("Signed consent form")
    transfer = page.evaluate_handle(DROP, ["consent.pdf", base64.b64encode(body).decode()])
    page.dispatch_event("#documents [data-drop-zone]", "drop", {"dataTransfer": transfer})
    page.get_by_text("Ready to upload: consent.pdf").wait_for()
    page.locator("#documents").get_by_label("Title").fill("Signed consent form")
    shot(page, "documents-dropped")
    page.locator("#documents").get_by_role("button", name="Upload").click()
    row = page.locator("#documents [data-document]").filter(has_text="Signed consent form")
    row.wait_for()
    href = row.get_by_role("link", name="consent.pdf").get_attribute("href")
    answer = page.request.get(href)
    assert answer.status == 200 and answer.body() == body
    assert "attachment" in answer.headers["content-disposition"]
    shot(page, "documents-listed")

    page.locator("#documents summary", has_text="Upload a document").click()
    transfer = page.evaluate_handle(DROP, ["report.pdf", base64.b64encode(b"MZ\x90\x00" + b"\x00" * 200).decode()])
    page.dispatch_event("#documents [data-drop-zone]", "drop", {"dataTransfer": transfer})
    page.locator("#documents").get_by_role("button", name="Upload").click()
    page.get_by_role("alert").filter(has_text="program").first.wait_for()
    shot(page, "documents-refused")
