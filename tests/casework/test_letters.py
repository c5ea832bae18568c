"""Letters from Word templates: upload checks, versions, writing a letter for a person on a case, the unsafe
address rule, and the generate_letter operation."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date

import docx
import pytest
from sqlalchemy import func, select

from casework import areas, docx_templates, letters
from casework.errors import InvalidInput, NotPermitted
from models import AuditEvent, Document, LetterTemplate, User, WorkflowInstance, db
from tests.factories import make_case, make_person


def make_docx(*paragraphs: str, header: str | None = None) -> bytes:
    """A Word file with these paragraphs (each one run, as Word writes a placeholder typed in one go)."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if header is not None:
        document.sections[0].header.paragraphs[0].text = header
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def with_part(data: bytes, name: str, content: bytes) -> bytes:
    """The same package with one part replaced (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
        dst.writestr(name, content)
    return out.getvalue()


def text_of(data: bytes) -> str:
    """Every paragraph of the body, the headers and the footers of a .docx, as python-docx reads it."""
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs] + [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(LetterTemplate))


@pytest.fixture
def lead(partnership) -> User:
    return user("lead@vs.example.org")


def test_shipped_letters_are_version_one(ctx):
    """Does every database start with the shipped letters, each using documented placeholders only?"""
    for key, name, _file in letters.DEFAULTS:
        row = letters.latest(key)
        assert (row.version, row.name, row.created_by_id) == (1, name, None)
        assert set(row.used_placeholders) <= set(docx_templates.PLACEHOLDERS) | {
            p for p in row.used_placeholders if p.startswith("process.")}
    assert letters.ensure_defaults() == 0


def test_a_bad_template_is_refused_and_nothing_stored(lead):
    """Is a template naming a placeholder that does not exist refused, naming it, with nothing stored?"""
    before = count()
    with pytest.raises(InvalidInput) as refused:
        letters.upload(lead, "bad_letter", "Bad letter", make_docx("Hello", "Dear {{ person.shoe_size }}"), None)
    assert "person.shoe_size" in refused.value.fields["file"]
    with pytest.raises(InvalidInput) as refused:
        letters.upload(lead, "bad_letter", "Bad letter", b"PK\x03\x04 not really", None)
    assert "not a Word document" in refused.value.fields["file"]
    assert count() == before


def test_only_leads_upload_and_retire(partnership):
    practitioner = user("cw@vs.example.org")
    with pytest.raises(NotPermitted):
        letters.upload(practitioner, "my_letter", "Mine", make_docx("Hello"), None)
    with pytest.raises(NotPermitted):
        letters.retire(practitioner, letters.latest("door_open"))


def test_versions_like_processes(lead):
    """Is each upload a new version (with a change note), the newest not retired the one in use?"""
    shorter = make_docx("Dear {{ person.name }}, the door is open.")   # the same bytes twice (a docx holds its time)
    v2 = letters.upload(lead, "door_open", None, shorter, "Shorter wording")
    db.session.commit()
    assert (v2.version, v2.name, v2.change_note) == (2, "Support declined: the door stays open", "Shorter wording")
    assert letters.latest("door_open").id == v2.id and v2.used_placeholders == ["person.name"]
    with pytest.raises(InvalidInput) as same:
        letters.upload(lead, "door_open", None, shorter, "again")
    assert "version 2" in same.value.fields["file"]
    with pytest.raises(InvalidInput) as no_note:
        letters.upload(lead, "door_open", None, make_docx("Different"), "  ")
    assert "change_note" in no_note.value.fields
    with pytest.raises(InvalidInput) as no_name:
        letters.upload(lead, "brand_new", "", make_docx("Hello"), None)
    assert "name" in no_name.value.fields
    with pytest.raises(InvalidInput) as bad_key:
        letters.upload(lead, "Not A Key!", "x", make_docx("Hello"), None)
    assert "key" in bad_key.value.fields
    letters.retire(lead, v2)
    db.session.commit()
    assert letters.latest("door_open").version == 1
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "letter_template")).all()
    assert "upload" in actions and "retire" in actions


EVERY = [f"{name}=[{{{{ {name} }}}}]" for name in docx_templates.PLACEHOLDERS if not name.startswith("process.")] + [
    "process.decided_on=[{{ process.decided_on }}]", "process.crime_reference=[{{ process.crime_reference }}]",
    "{% if person.address %}has an address{% else %}NO ADDRESS{% endif %}",
    "{% if offence == 'Burglary' %}a burglary{% endif %}"]


@pytest.fixture
def letter_case(api, partnership):
    """A case with a victim (address, date of birth, safe contact) whose report step is done (crime reference,
    offence, a date), and the Right 3 letter the diagram wrote."""
    pc = user("pc@police.example.org")
    pc.organisation.mailbox, pc.organisation.area = "victims@police.example.org", "Nottinghamshire"
    areas.create_area("mansfield", "Mansfield")
    victim = make_person(pc, "Jane", "Doe", dob=date(1984, 2, 29), address="1 High Street\nMansfield\nNG18 1AA",
                         safe_contact="Letters are fine; no calls after 6pm.")
    case = make_case(pc, title="Burglary at home", area="mansfield", participants=[(victim.id, "victim")])
    assert api["lead"].deploy("letter.bpmn").status_code == 201
    assert api["pc"].post(f"/cases/{case.id}/processes", json={"key": "letter_test"}).status_code == 201
    (step,) = api["pc"].get(f"/tasks?case={case.id}").json
    done = api["pc"].post(f"/tasks/{step['id']}/complete", json={"data": {
        "crime_reference": "NP-2027-0042", "offence_category": "burglary", "decided_on": "2027-03-02"}})
    assert done.status_code == 200, done.json
    return case, victim, pc


def test_a_letter_has_every_placeholder_filled(letter_case, lead):
    """Does a letter written for a case and person open with python-docx, every placeholder filled with the
    case's and person's values and nothing left of the template's syntax?"""
    case, victim, pc = letter_case
    letters.upload(lead, "every", "Every placeholder", make_docx(*EVERY, header="{{ case.reference }}"), None)
    db.session.commit()
    doc = letters.generate(pc, case, victim, "every", "post")
    db.session.commit()
    assert (doc.kind, doc.sent_by, doc.case_id, doc.person_id) == ("letter", "post", case.id, victim.id)
    from casework import documents

    text = text_of(documents.read(doc))
    assert "{{" not in text and "{%" not in text and "[]" not in text, text
    context = letters.context_for(case, victim, pc)
    assert letters.empty_placeholders(db.session.get(LetterTemplate, letters.latest("every").id), context) == []
    expected = {"case.reference": case.reference, "case.title": "Burglary at home", "case.type": "Victim support",
                "case.area": "Mansfield", "case.lead_organisation": "Nottinghamshire Police",
                "person.name": "Jane Doe", "person.full_name": "Jane DOE", "person.given_name": "Jane",
                "person.family_name": "Doe", "person.address": "1 High Street\nMansfield\nNG18 1AA",
                "person.date_of_birth": "29 February 1984", "person.role": "Victim",
                "organisation.name": "Nottinghamshire Police", "organisation.email": "victims@police.example.org",
                "organisation.area": "Nottinghamshire", "sender.name": pc.name, "sender.email": pc.email,
                "crime_reference": "NP-2027-0042", "offence": "Burglary", "process.decided_on": "2 March 2027",
                "process.crime_reference": "NP-2027-0042", "today": letters.long_date(date.today()),
                "case.opened_on": letters.long_date(case.opened_at)}
    for name, value in expected.items():
        assert f"{name}=[{value}]" in text, (name, text)
    assert "has an address" in text and "a burglary" in text and case.reference in text.splitlines()[-1] + text


def test_values_are_escaped_not_markup(letter_case, lead):
    """Is a value with XML or Jinja in it written as text (the letter still opens)?"""
    case, victim, pc = letter_case
    case.title = "<w:p>{{ 7*7 }} & \"quotes\"</w:p>"
    letters.upload(lead, "title", "Title", make_docx("Title: {{ case.title }}"), None)
    doc = letters.generate(pc, case, victim, "title", "by_hand")
    from casework import documents

    assert "Title: <w:p>{{ 7*7 }} & \"quotes\"</w:p>" in text_of(documents.read(doc))


def test_unsafe_address_needs_an_override_with_a_reason(letter_case):
    """Is a letter to an address marked unsafe refused without an override reason, nothing stored, and written
    (and the override audited) with one?"""
    case, victim, pc = letter_case
    victim.address_unsafe = True
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Document))
    for reason in (None, "   "):
        with pytest.raises(InvalidInput) as refused:
            letters.generate(pc, case, victim, "door_open", "post", override_reason=reason)
        assert "override_reason" in refused.value.fields and "unsafe" in refused.value.fields["override_reason"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Document)) == before
    doc = letters.generate(pc, case, victim, "door_open", "by_hand",
                           override_reason="She moved out; the new address is a refuge and she asked for it.")
    db.session.commit()
    override = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "letter_address_override"))
    assert override.case_id == case.id and json.loads(override.detail)["document"] == doc.id
    assert "refuge" in json.loads(override.detail)["reason"]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "generate_letter",
                                                      AuditEvent.object_id == str(case.id))) is not None


def test_generate_refuses_what_it_cannot_write(letter_case, partnership):
    case, victim, pc = letter_case
    stranger = make_person(pc, "Sam", "Other")
    with pytest.raises(InvalidInput) as not_on_case:
        letters.generate(pc, case, stranger, "door_open", "post")
    assert "person" in not_on_case.value.fields
    with pytest.raises(InvalidInput) as no_template:
        letters.generate(pc, case, victim, "no_such_letter", "post")
    assert "template" in no_template.value.fields
    with pytest.raises(InvalidInput) as bad_way:
        letters.generate(pc, case, victim, "door_open", "pigeon")
    assert "sent_by" in bad_way.value.fields
    with pytest.raises(NotPermitted):
        letters.generate(user("cw@vs.example.org"), case, victim, "door_open", "post")


def test_the_operation_writes_the_letter_on_the_case(letter_case):
    """Did the diagram's generate_letter step store the Right 3 letter to the victim, with the report's values?"""
    case, victim, _pc = letter_case
    (doc,) = db.session.scalars(select(Document).where(Document.case_id == case.id, Document.kind == "letter"))
    assert (doc.person_id, doc.sent_by, doc.name.endswith(".docx")) == (victim.id, "post", True)
    from casework import documents

    text = text_of(documents.read(doc))
    assert "Crime reference: NP-2027-0042" in text and "What was reported: Burglary" in text
    assert "Dear Jane Doe," in text and "{{" not in text and "{%" not in text
    instance = db.session.scalar(select(WorkflowInstance).where(WorkflowInstance.case_id == case.id))
    assert instance.status.value == "completed"


def test_the_operation_skips_an_unsafe_address_with_a_note(api, partnership):
    pc = user("pc@police.example.org")
    victim = make_person(pc, "Kim", "Safe", address="2 Low Road", address_unsafe=True)
    case = make_case(pc, participants=[(victim.id, "victim")])
    assert api["lead"].deploy("letter.bpmn").status_code == 201
    api["pc"].post(f"/cases/{case.id}/processes", json={"key": "letter_test"})
    (step,) = api["pc"].get(f"/tasks?case={case.id}").json
    assert api["pc"].post(f"/tasks/{step['id']}/complete", json={"data": {
        "crime_reference": "X1", "offence_category": "hate_crime"}}).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Document).where(Document.case_id == case.id)) == 0
    notes = [n.body for n in db.session.get(type(case), case.id).notes]
    assert any("unsafe" in n and "right3_confirmation" in n for n in notes), notes


def test_an_operation_naming_no_template_is_refused_as_a_step_error(api, partnership):
    from tests.factories import DATA

    text = (DATA / "letter.bpmn").read_text().replace(">right3_confirmation<", ">no_such_letter<")
    assert api["lead"].deploy(text).status_code == 201
    pc = user("pc@police.example.org")
    victim = make_person(pc, "Lee", "Nobody")
    case = make_case(pc, participants=[(victim.id, "victim")])
    api["pc"].post(f"/cases/{case.id}/processes", json={"key": "letter_test"})
    (step,) = api["pc"].get(f"/tasks?case={case.id}").json
    api["pc"].post(f"/tasks/{step['id']}/complete", json={"data": {"crime_reference": "X2"}})
    instance = db.session.scalar(select(WorkflowInstance).where(WorkflowInstance.case_id == case.id))
    db.session.refresh(instance)
    assert instance.status.value == "error" and "no_such_letter" in instance.error_message


def test_the_guide_lists_every_placeholder():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "letters.md").read_text()
    for name, meaning in docx_templates.PLACEHOLDERS.items():
        assert f"| `{{{{ {name} }}}}` |" in guide, name
    for key, name, _file in letters.DEFAULTS:
        assert f"| `{key}` | {name} |" in guide, key
