"""Letters in the console: leads' Letter templates screen, and Write a letter on the case page."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Document, LetterTemplate, User, db
from tests.casework.test_letters import make_docx, text_of
from tests.factories import make_case, make_person

LEAD, PC, OTHER = "lead@vs.example.org", "pc@police.example.org", "cw@vs.example.org"


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _versions(key: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(LetterTemplate).where(LetterTemplate.key == key))


def _upload(client, data: bytes, key: str = "door_open", note: str = "Warmer wording", name: str = ""):
    return client.post("/admin/letter_templates/", data={
        "key": key, "name": name, "change_note": note, "file": (io.BytesIO(data), "letter.docx")},
        content_type="multipart/form-data")


def test_leads_see_versions_and_the_placeholder_reference(client, login, partnership):
    login(LEAD)
    page = client.get("/admin/letter_templates/").get_data(as_text=True)
    assert "Letter templates" in page and "Right 3: written confirmation of a crime report" in page
    assert "{{ person.address }}" in page and "{{ process.&lt;field&gt; }}" in page and "in use" in page
    row = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == "marac_victim"))
    download = client.get(f"/admin/letter_templates/{row.id}/template.docx")
    assert download.status_code == 200 and "marac_victim-v1.docx" in download.headers["Content-Disposition"]
    assert "MARAC" in text_of(download.data)


def test_a_lead_uploads_a_new_version(client, login, partnership):
    login(LEAD)
    response = _upload(client, make_docx("Dear {{ person.name }}, we are here when you need us."))
    assert response.status_code == 302
    assert _versions("door_open") == 2
    page = client.get("/admin/letter_templates/").get_data(as_text=True)
    assert "Warmer wording" in page and "v2" in page


@pytest.mark.parametrize("data, message", [
    (make_docx("Dear {{ person.nickname }}"), "person.nickname"),
    (b"not a word file", "not a Word document"),
    (make_docx("{{ ''.__class__.__mro__ }}"), "literal values"),
])
def test_a_bad_template_is_refused_at_the_field(client, login, partnership, data, message):
    """Is a bad upload refused with the reason next to the file field, and nothing stored (never a 500)?"""
    login(LEAD)
    response = _upload(client, data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="file-errors"' in page and message in page.replace("&#39;", "'")
    assert _versions("door_open") == 1


def test_practitioners_do_not_manage_templates(client, login, partnership):
    login(OTHER)
    assert client.get("/admin/letter_templates/").status_code == 404
    assert _upload(client, make_docx("Hi")).status_code == 404
    assert _versions("door_open") == 1


def test_a_lead_retires_a_version(client, login, partnership):
    login(LEAD)
    _upload(client, make_docx("Version two {{ case.reference }}"))
    v2 = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == "door_open",
                                                        LetterTemplate.version == 2))
    assert client.post(f"/admin/letter_templates/{v2.id}/retire/", data={"retired": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(LetterTemplate, v2.id).retired


@pytest.fixture
def case_with_people(partnership):
    pc = _user(PC)
    safe = make_person(pc, "Jane", "Doe", address="1 High Street\nMansfield",
                       safe_contact="Text first; letters are fine.")
    unsafe = make_person(pc, "Mo", "Risk", address="9 Shared House", address_unsafe=True,
                         safe_contact="Lives with the suspect: never write home.")
    case = make_case(pc, participants=[(safe.id, "victim"), (unsafe.id, "witness")])
    return case.id, safe.id, unsafe.id


def test_the_case_page_offers_a_letter_and_safe_contact_comes_first(client, login, case_with_people):
    case_id, safe, _unsafe = case_with_people
    login(PC)
    page = client.get(f"/admin/cases/details/?id={case_id}").get_data(as_text=True)
    assert f"/admin/cases/{case_id}/letters/new/" in page
    form = client.get(f"/admin/cases/{case_id}/letters/new/").get_data(as_text=True)
    assert form.index("Before you write: safe contact") < form.index('id="write-letter"')
    assert "Lives with the suspect: never write home." in form and "Unsafe for letters" in form
    assert 'name="person" required><option value="">— choose —</option><option value="' in form  # starts empty


def test_writing_a_letter_stores_it_on_the_case(client, login, case_with_people):
    case_id, safe, _unsafe = case_with_people
    login(PC)
    response = client.post(f"/admin/cases/{case_id}/letters/new/",
                           data={"person": str(safe), "template": "door_open", "sent_by": "post"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"id={case_id}#documents")
    doc = db.session.scalar(select(Document).where(Document.case_id == case_id))
    assert (doc.kind, doc.sent_by, doc.person_id) == ("letter", "post", safe)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Letter written and stored on the case" in page and doc.name in page


def test_form_errors_change_nothing(client, login, case_with_people):
    case_id, _safe, unsafe = case_with_people
    login(PC)
    empty = client.post(f"/admin/cases/{case_id}/letters/new/", data={})
    assert empty.status_code == 400
    page = empty.get_data(as_text=True)
    assert 'id="person-errors"' in page and 'id="template-errors"' in page and 'id="sent_by-errors"' in page
    no_override = client.post(f"/admin/cases/{case_id}/letters/new/",
                              data={"person": str(unsafe), "template": "door_open", "sent_by": "post"})
    assert no_override.status_code == 400 and 'id="override-errors"' in no_override.get_data(as_text=True)
    no_reason = client.post(f"/admin/cases/{case_id}/letters/new/", data={
        "person": str(unsafe), "template": "door_open", "sent_by": "post", "override": "y"})
    assert no_reason.status_code == 400 and 'id="override_reason-errors"' in no_reason.get_data(as_text=True)
    not_on_case = client.post(f"/admin/cases/{case_id}/letters/new/",
                              data={"person": "999999", "template": "door_open", "sent_by": "post"})
    assert not_on_case.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_an_override_with_a_reason_writes_and_is_audited(client, login, case_with_people):
    case_id, _safe, unsafe = case_with_people
    login(PC)
    response = client.post(f"/admin/cases/{case_id}/letters/new/", data={
        "person": str(unsafe), "template": "marac_victim", "sent_by": "by_hand", "override": "y",
        "override_reason": "Handed over at the refuge, not posted."})
    assert response.status_code == 302
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "letter_address_override")) is not None


def test_only_the_lead_organisation_writes_letters(client, login, case_with_people):
    case_id, safe, _unsafe = case_with_people
    login(OTHER)   # not on the case at all: the case is not even visible
    assert client.get(f"/admin/cases/{case_id}/letters/new/").status_code == 404
