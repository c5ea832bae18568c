"""Documents in the console: the section on the case and person pages, upload (a plain file input; the drop zone
only fills it), a refusal shown at the file field with nothing stored, versions, download, delete with a reason."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from models import Document, db
from tests.factories import make_case, make_org, make_person, make_user
from tests.fixtures import files


@pytest.fixture
def setup(ctx):
    police = make_org("police_a", "police", "Police A")
    vs = make_org("vs_b", "victim_services", "Victim Services B")
    pc = make_user(police, email="pc@a.example.org")
    caseworker = make_user(vs, email="cw@b.example.org")
    victim = make_person(pc, "Amira", "Hussain")
    case = make_case(pc, participants=[(victim.id, "victim")], organisation_ids=[vs.id])
    return {"pc": pc.email, "cw": caseworker.email, "case": case.id, "victim": victim.id}


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Document.id)))


def _upload(client, url: str, data: bytes, name: str, title: str = ""):
    return client.post(url, data={"file": (io.BytesIO(data), name), "title": title},
                       content_type="multipart/form-data")


def test_upload_through_the_case_page(client, login, setup):
    login(setup["pc"])
    page = client.get(f"/admin/cases/details/?id={setup['case']}").get_data(as_text=True)
    assert 'id="documents"' in page and "No documents yet." in page
    assert 'enctype="multipart/form-data"' in page and "data-drop-zone" in page
    assert "casebook-documents.js" in page and "<script>" not in page.split('id="documents"', 1)[1].split(
        "</section>", 1)[0]
    done = _upload(client, f"/admin/documents/case/{setup['case']}/", files.pdf(), "consent.pdf",
                   "Signed consent")
    assert done.status_code == 302 and done.headers["Location"].endswith("#documents")
    page = client.get(f"/admin/cases/details/?id={setup['case']}").get_data(as_text=True)
    assert "Signed consent" in page and "consent.pdf" in page and "not scanned" in page
    assert "Upload a new version" in page and 'name="reason"' in page
    doc_id = int(re.search(r'data-document="(\d+)"', page).group(1))
    got = client.get(f"/admin/documents/{doc_id}/download")
    assert got.status_code == 200 and got.data == files.pdf()
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_a_refused_file_is_shown_at_the_field_and_nothing_is_stored(client, login, setup):
    login(setup["pc"])
    answer = _upload(client, f"/admin/documents/case/{setup['case']}/", files.EXE, "invoice.pdf")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Nothing was stored." in page and 'aria-invalid="true"' in page
    assert "program" in page.split('-file-errors"', 1)[1][:400]
    assert _count() == 0
    empty = client.post(f"/admin/documents/case/{setup['case']}/", data={"title": "x"},
                        content_type="multipart/form-data")
    assert empty.status_code == 422 and "Choose a file to upload." in empty.get_data(as_text=True)


def test_a_request_over_the_limit_is_a_form_message_not_an_error_page(app, client, login, setup):
    login(setup["pc"])
    app.config["MAX_CONTENT_LENGTH"] = 5000
    answer = _upload(client, f"/admin/documents/case/{setup['case']}/", b"a" * 20_000, "notes.txt")
    assert answer.status_code == 413
    page = answer.get_data(as_text=True)
    assert "limit; nothing was stored." in page and "<form" in page
    assert _count() == 0


def test_new_version_and_delete_with_a_reason(client, login, setup):
    login(setup["pc"])
    _upload(client, f"/admin/documents/case/{setup['case']}/", files.pdf("one"), "plan.pdf", "Safety plan")
    first = db.session.scalar(select(Document.id))
    done = _upload(client, f"/admin/documents/{first}/version", files.pdf("two"), "plan.pdf")
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-version="2"' in page and 'data-version="1"' in page
    latest = db.session.scalar(select(func.max(Document.id)))
    refused = client.post(f"/admin/documents/{latest}/delete", data={"reason": ""})
    assert refused.status_code == 422 and "Say why it is deleted." in refused.get_data(as_text=True)
    gone = client.post(f"/admin/documents/{latest}/delete", data={"reason": "wrong case"})
    assert gone.status_code == 302
    page = client.get(f"/admin/cases/details/?id={setup['case']}").get_data(as_text=True)
    assert "data-document=" not in page and "No documents yet." in page
    assert client.get(f"/admin/documents/{first}/download").status_code == 404
    assert _count() == 2   # kept for the audit


def test_the_partner_downloads_and_adds_but_does_not_delete_the_leads(client, login, setup):
    login(setup["pc"])
    _upload(client, f"/admin/documents/case/{setup['case']}/", files.pdf(), "consent.pdf")
    doc = db.session.scalar(select(Document.id))
    login(setup["cw"])
    page = client.get(f"/admin/cases/details/?id={setup['case']}").get_data(as_text=True)
    assert "consent.pdf" in page and "Upload a document" in page
    assert client.get(f"/admin/documents/{doc}/download").status_code == 200
    assert _upload(client, f"/admin/documents/case/{setup['case']}/", files.pdf("ours"), "x.pdf").status_code == 302
    assert client.post(f"/admin/documents/{doc}/delete", data={"reason": "not ours"}).status_code == 403


def test_a_persons_documents(client, login, setup):
    login(setup["pc"])
    done = _upload(client, f"/admin/documents/person/{setup['victim']}/", files.PNG, "photo.jpg", "Injury photo")
    assert done.status_code == 302
    page = client.get(f"/admin/people/details/?id={setup['victim']}").get_data(as_text=True)
    assert "Injury photo" in page and "photo.png" in page
