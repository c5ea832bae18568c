"""Subject access packs: everything the requesting organisation controls about one person, third parties marked
for review, the before and after of rectified fields, who viewed and who received the information."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from casework import consent, disclosures, documents, people
from models import AuditEvent, CaseNote, WorkItem, db
from tests.factories import make_case, make_org, make_person, make_user
from tests.fixtures import files
from tests.fixtures.exports import open_xlsx, table
from workflows import processes, tasks

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def world(ctx):
    police, council, other = make_org("police", "police"), make_org("council", "council"), make_org("vs")
    pc = make_user(police, "practitioner", email="pc@police.example.org")
    make_user(police, "manager", email="manager@police.example.org")
    make_user(council, "manager", email="manager@council.example.org")
    make_user(other, "manager", email="manager@vs.example.org")
    lead = make_user(police, "lead", "practitioner", email="lead@police.example.org")
    processes.deploy((DATA / "referral_test.bpmn").read_text(), lead)
    ann, bob = make_person(pc, "Ann", "Subject"), make_person(pc, "Bob", "Witness")
    case = make_case(pc, title="Burglary: Witness saw it", participants=[(ann.id, "victim"), (bob.id, "witness")],
                     organisation_ids=[council.id])
    instance = tasks.start(pc, case, "referral_test")
    db.session.flush()
    item = db.session.scalar(select(WorkItem).where(WorkItem.instance_id == instance.id))
    item.data = '{"victim_name": "Ann Subject", "what_happened": "Bob Witness called us"}'
    db.session.add(CaseNote(case_id=case.id, author_id=pc.id, organisation_id=police.id,
                            body="Spoke to Ann; Bob Witness was there too."))
    people.update(pc, ann, ann.version, {"phone": "07700 900123"})
    consent.record(pc, ann, True, "Referral to victim services", ["vs"], "verbal", case)
    disclosures.record("case shared", council, case=case, user=pc, detail={"basis": "agreement: Police and council"})
    documents.store(pc, case=case, person=ann, name="statement.pdf", data=files.pdf("What Ann said"),
                    title="Statement naming Bob Witness")
    db.session.commit()
    return {"ann": ann.id, "bob": bob.id, "case": case.reference}


def test_the_controller_gets_the_whole_pack(client, login, world):
    login("pc@police.example.org")
    client.get(f"/admin/people/details/?id={world['ann']}")            # a view that must appear in the pack
    client.get("/admin/people/?search=ann+subject")                    # so must a search for her name
    login("manager@police.example.org")
    assert "Subject access pack" in client.get(f"/admin/people/details/?id={world['ann']}").get_data(as_text=True)
    response = client.get(f"/admin/people/{world['ann']}/subject-access.xlsx")
    assert response.status_code == 200 and "subject-access-person" in response.headers["Content-Disposition"]
    book = open_xlsx(response.data)
    assert book.sheetnames == ["Summary", "Person record", "Changes", "Cases", "Notes", "Answers", "Documents",
                               "Consent", "Views and disclosures", "Third parties"]
    (document,) = table(book["Documents"])[1]
    assert (document["case"], document["file"], document["kind"]) == (world["case"], "statement.pdf", "Upload")
    assert document["title"] == "Statement naming [REVIEW: Bob Witness]" and document["review"] == "Bob Witness"
    summary = {r["item"]: r["value"] for r in table(book["Summary"])[1]}
    assert summary["documents"].startswith("1 document (") and "UTC" not in str(list(summary.values()))
    (given,) = table(book["Consent"])[1]
    assert (given["given"], given["purpose"], given["case"]) == ("given", "Referral to victim services", world["case"])
    record = {r["field"]: r["value"] for r in table(book["Person record"])[1]}
    assert record["given_name"] == "Ann" and record["phone"] == "07700 900123"
    (change,) = table(book["Changes"])[1]
    assert (change["field"], change["before"], change["after"]) == ("phone", None, "07700 900123")
    (case,) = table(book["Cases"])[1]
    assert case["reference"] == world["case"] and case["their_role"] == "Victim"
    assert case["title"] == "Burglary: [REVIEW: Witness] saw it" and case["review"] == "Witness"
    (note,) = table(book["Notes"])[1]
    assert "[REVIEW: Bob Witness]" in note["note"] and "Ann" in note["note"]
    answers = {r["field"]: r for r in table(book["Answers"])[1]}
    # In the diagram's words ("Victim name" is the form's label; an answer beyond the form goes by its name).
    assert answers["What happened"]["answer"] == "[REVIEW: Bob Witness] called us"
    assert not answers["Victim name"]["review"]        # her own name is not a third party
    views = table(book["Views and disclosures"])[1]
    assert any(v["who"] == "pc@police.example.org" and v["what"] == "view" for v in views)
    assert any(v["who"] == "pc@police.example.org" and v["what"] == "search" and "by their name" in v["object"]
               for v in views)
    assert any(v["what"] == "shared with" and v["organisation"] == "Organisation council" for v in views)
    assert any(v["what"] == "disclosed: case shared" and v["object"] == "agreement: Police and council"
               for v in views)
    assert [r["name"] for r in table(book["Third parties"])[1]] == ["Bob Witness"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "subject_access")).one()
    assert event.user_email == "manager@police.example.org" and event.object_id == str(world["ann"])


def test_a_partner_that_does_not_control_the_data_is_refused(client, login, world):
    login("manager@council.example.org")      # sees Ann through the shared case, controls nothing
    response = client.get(f"/admin/people/{world['ann']}/subject-access.xlsx")
    assert response.status_code == 403 and "neither registered this person" in response.get_data(as_text=True)
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert denied and denied[-1].user_email == "manager@council.example.org"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "subject_access")) is None


def test_invisible_people_are_404_and_practitioners_make_no_packs(client, login, world):
    login("manager@vs.example.org")
    assert client.get(f"/admin/people/{world['ann']}/subject-access.xlsx").status_code == 404
    login("pc@police.example.org")
    page = client.get(f"/admin/people/details/?id={world['ann']}").get_data(as_text=True)
    assert "Subject access pack" not in page
    assert client.get(f"/admin/people/{world['ann']}/subject-access.xlsx").status_code == 403
