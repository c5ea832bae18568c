"""The Import console screen: who may open it, dry run table, confirm import, templates, bad uploads."""
from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from casework import import_jobs
from models import AuditEvent, ImportJob, Person, db
from tests.fixtures.imports import PEOPLE_HEADER, xlsx

URL = "/admin/imports/"


def _upload(client, data: bytes, action: str = "dry_run", **fields):
    """Upload, let the worker run the job (what the in-process thread or `timers run` does), show its page."""
    form = {"kind": "people", "action": action, "file": (BytesIO(data), "legacy people.xlsx"), **fields}
    queued = client.post(URL, data=form, content_type="multipart/form-data")
    if queued.status_code != 302:
        return queued
    assert "refresh" in client.get(queued.headers["Location"]).get_data(as_text=True)   # waiting for the worker
    assert import_jobs.run_pending() == 1
    return client.get(queued.headers["Location"])


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Person))


@pytest.mark.parametrize("who", ["auditor", "lead", "admin"])
def test_other_roles_get_404(client, login, team, who):
    login(getattr(team, who).email)
    assert client.get(URL).status_code == 404
    assert client.get(URL + "template/people.xlsx").status_code == 404


def test_anonymous_is_sent_to_login(client, team):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_page_offers_upload_and_templates(client, login, team):
    login(team.manager.email)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="file"' in html and "Check (dry run)" in html
    assert f'href="{URL}template/people.xlsx"' in html and f'href="{URL}template/cases.xlsx"' in html
    assert "Nottinghamshire Police" in html


def test_template_download(client, login, team):
    login(team.pc.email)
    response = client.get(URL + "template/cases.xlsx")
    assert response.status_code == 200
    assert "casebook-cases-import-template.xlsx" in response.headers["Content-Disposition"]
    ws = load_workbook(BytesIO(response.data)).worksheets[0]
    assert ws.title == "Cases" and ws.max_row == 1 and ws["A1"].value == "external_reference"
    assert client.get(URL + "template/widgets.xlsx").status_code == 404


def test_dry_run_table_then_confirm(client, login, team, people_file):
    login(team.pc.email)
    response = _upload(client, people_file)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="import-rows"' in html and html.count('data-outcome="created"') == 3
    assert "Amira HUSSAIN" in html and "dry run: nothing was written." in html
    assert "Import these 3 rows" in html
    assert _count() == 0
    job = db.session.scalar(select(ImportJob))
    confirmed = client.post(f"{URL}jobs/{job.id}/import")
    assert confirmed.status_code == 302
    assert import_jobs.run_pending() == 1
    page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "3 created" in page and "imported." in page and "Import these" not in page
    assert _count() == 3
    # Imported once: the file is gone and the job cannot be imported again.
    client.post(f"{URL}jobs/{job.id}/import")
    assert "only a file whose check passed" in client.get(f"{URL}jobs/{job.id}/").get_data(as_text=True)
    assert import_jobs.run_pending() == 0 and _count() == 3
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
    assert [(e.detail_dict["dry_run"], e.detail_dict["committed"], e.detail_dict["file"]) for e in events] == [
        (True, False, "legacy people.xlsx"), (False, True, "legacy people.xlsx")]
    assert "Import of legacy people.xlsx" in client.get(URL).get_data(as_text=True)   # the recent list


def test_another_users_job_is_invisible(client, login, team, people_file):
    login(team.pc.email)
    _upload(client, people_file)
    job = db.session.scalar(select(ImportJob))
    login(team.police_pc2.email)
    assert client.get(f"{URL}jobs/{job.id}/").status_code == 404
    assert client.post(f"{URL}jobs/{job.id}/import").status_code == 404
    assert import_jobs.run_pending() == 0 and _count() == 0


def test_refused_rows_are_shown_and_nothing_written(client, login, team):
    login(team.pc.email)
    data = xlsx(PEOPLE_HEADER, ["P-1", "Amira", "Hussain", "1988-03-14"], ["P-2", "=1+1", "Nowak", "1975-11-02"])
    response = _upload(client, data, action="import")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-outcome="refused"' in html
    assert "column B (given_name): contains a formula; paste values only" in html
    assert "nothing was written because some rows were refused" in html
    assert "Import these" not in html
    assert _count() == 0


def test_direct_import_with_mapping(client, login, team):
    login(team.pc.email)
    data = xlsx(["Client ID", "Forename", "Surname", "DOB"], ["L-9", "Amira", "Hussain", "1988-03-14"])
    mapping = "external_reference=Client ID\ngiven_name=Forename\nfamily_name=Surname\ndate_of_birth=DOB"
    response = _upload(client, data, action="import", mapping=mapping)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert _count() == 1


def test_corrupt_upload(client, login, team):
    login(team.pc.email)
    response = _upload(client, b"%PDF-1.4 not a spreadsheet")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The file was refused; nothing was written." in html
    assert "the file is not an Excel workbook (.xlsx)" in html
    bad_mapping = _upload(client, xlsx(PEOPLE_HEADER), mapping="given_name")
    assert bad_mapping.status_code == 400
    assert "is not TEMPLATE_COLUMN=File header" in bad_mapping.get_data(as_text=True)
    nothing = client.post(URL, data={"kind": "people", "action": "dry_run"})
    assert nothing.status_code == 400 and "Choose a spreadsheet to upload." in nothing.get_data(as_text=True)


def test_no_request_waits_on_an_import(client, login, team, people_file):
    """The upload answers at once with the job queued; the worker does the work."""
    login(team.pc.email)
    queued = client.post(URL, data={"kind": "people", "action": "import",
                                    "file": (BytesIO(people_file), "legacy.xlsx")},
                         content_type="multipart/form-data")
    assert queued.status_code == 302 and _count() == 0
    job = db.session.scalar(select(ImportJob))
    assert job.status == "queued" and not job.dry_run
    assert import_jobs.run_pending() == 1 and _count() == 3
