"""Retention and disposal: rules per case type, the sweep, a manager's decision, what anonymising and deleting
remove, legal holds, and the audit chain still verifying afterwards."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casework import retention
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import (AuditEvent, Case, CaseFact, CaseNote, CaseParticipant, DisposalReview, Person, RetentionRule,
                    WorkflowInstance, WorkItem, audit, db, utcnow)
from models.enums import CaseStatus
from tests.factories import make_case, make_org, make_person, make_user
from workflows import processes, tasks

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def world(ctx):
    police = make_org("police", "police")
    council = make_org("council", "council")
    pc = make_user(police, "practitioner", email="pc@police.example.org")
    lead = make_user(police, "lead", "practitioner", email="lead@police.example.org")
    processes.deploy((DATA / "referral_test.bpmn").read_text(), lead)
    victim, shared = make_person(pc, "Ann", "Only"), make_person(pc, "Bob", "Shared")
    old = make_case(pc, title="Burglary at Ann's", participants=[(victim.id, "victim"), (shared.id, "witness")],
                    organisation_ids=[council.id])
    make_case(pc, title="Another case", participants=[(shared.id, "victim")])
    instance = tasks.start(pc, old, "referral_test")
    db.session.flush()
    item = db.session.scalar(select(WorkItem).where(WorkItem.instance_id == instance.id))
    item.data = '{"victim_name": "Ann Only"}'
    db.session.add(CaseNote(case_id=old.id, author_id=pc.id, organisation_id=police.id, body="Ann is scared"))
    old.status, old.closed_at = CaseStatus.CLOSED, utcnow() - timedelta(days=800)
    db.session.add(RetentionRule(case_type_code="victim_support", keep_days=730, action="review"))
    db.session.commit()
    return {"case": old.id, "victim": victim.id, "shared": shared.id, "police": police, "council": council,
            "manager": make_user(police, "manager", email="manager@police.example.org"),
            "other_manager": make_user(council, "manager", email="manager@council.example.org"), "pc": pc}


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("days, action, field", [(-1, "review", "keep_days"), ("abc", "review", "keep_days"),
                                                 (10**7, "review", "keep_days"), (30, "shred", "action")])
def test_bad_rules_are_refused(days, action, field):
    with pytest.raises(InvalidInput) as refused:
        retention.check_rule(days, action)
    assert field in refused.value.fields


def test_the_sweep_lists_due_cases_once(world):
    assert retention.sweep() == 1
    assert retention.sweep() == 0          # already due
    review = db.session.scalar(select(DisposalReview))
    assert review.case_id == world["case"] and review.proposed == "review" and review.status == "due"
    assert [r.id for r in retention.reviews(world["manager"])] == [review.id]
    assert retention.reviews(world["other_manager"]) == []          # partners do not decide
    assert retention.reviews(world["pc"]) == []


def test_deleting_removes_the_case_and_people_only_it_needed(world):
    retention.sweep()
    review = db.session.scalar(select(DisposalReview))
    removed = retention.dispose(world["manager"], review, "delete", "six years passed")
    db.session.commit()
    assert removed["cases"] == 1 and removed["people"] == 1 and removed["notes"] == 1 and removed["work_items"] >= 1
    assert db.session.get(Case, world["case"]) is None
    assert db.session.get(Person, world["victim"]) is None            # only this case needed her
    assert db.session.get(Person, world["shared"]) is not None        # another case still needs him
    for model in (CaseNote, CaseParticipant, WorkItem, WorkflowInstance, CaseFact):
        assert _count(model, model.case_id == world["case"]) == 0
    db.session.expire_all()
    review = db.session.get(DisposalReview, review.id)
    assert (review.status, review.outcome, review.case_id) == ("disposed", "deleted", None)
    assert review.case_reference.startswith("CB-") and review.decided_by.email == "manager@police.example.org"
    assert audit.verify().ok
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dispose")).one()
    assert event.detail_dict["how"] == "delete" and "Ann" not in (event.detail or "")


def test_anonymising_keeps_the_case_for_statistics(world):
    retention.sweep()
    review = db.session.scalar(select(DisposalReview))
    retention.dispose(world["manager"], review, "anonymise")
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, world["case"])
    assert case.title.startswith("[anonymised") and case.summary is None and case.anonymised_at is not None
    assert _count(CaseNote, CaseNote.case_id == case.id) == 0 and _count(CaseParticipant,
                                                                           CaseParticipant.case_id == case.id) == 0
    assert db.session.scalar(select(WorkItem.data).where(WorkItem.case_id == case.id)) is None
    assert db.session.get(Person, world["victim"]) is None and db.session.get(Person, world["shared"]) is not None
    assert audit.verify().ok
    assert retention.sweep() == 0           # an anonymised case is not listed again


def test_a_legal_hold_stops_disposal(world):
    retention.sweep()
    review = db.session.scalar(select(DisposalReview))
    case = db.session.get(Case, world["case"])
    with pytest.raises(NotPermitted):
        retention.hold(world["other_manager"], case, "civil claim")   # a partner
    retention.hold(world["manager"], case, "civil claim pending")
    db.session.commit()
    with pytest.raises(Conflict, match="legal hold"):
        retention.dispose(world["manager"], review, "delete")
    db.session.rollback()
    assert db.session.get(Case, world["case"]) is not None
    retention.hold(world["manager"], db.session.get(Case, world["case"]), None)   # released
    db.session.commit()
    assert retention.dispose(world["manager"], db.session.get(DisposalReview, review.id), "delete")["cases"] == 1


def test_only_the_lead_organisations_managers_decide(world):
    retention.sweep()
    review = db.session.scalar(select(DisposalReview))
    with pytest.raises(NotPermitted):
        retention.dispose(world["pc"], review, "delete")
    with pytest.raises(NotFound):
        retention.get_review(world["other_manager"], review.id)
    with pytest.raises(InvalidInput):
        retention.dispose(world["manager"], review, "burn")


def test_kept_cases_come_back_when_the_date_passes(world):
    retention.sweep()
    review = db.session.scalar(select(DisposalReview))
    with pytest.raises(InvalidInput):
        retention.keep(world["manager"], review, utcnow() - timedelta(days=1), "no")
    retention.keep(world["manager"], review, utcnow() + timedelta(days=365), "appeal running")
    db.session.commit()
    assert retention.sweep() == 0
    assert retention.sweep(now=utcnow() + timedelta(days=366)) == 1
    with pytest.raises(Conflict):
        retention.dispose(world["manager"], review, "delete")


def test_the_console_screen(client, login, world):
    retention.sweep()
    db.session.commit()
    review = db.session.scalar(select(DisposalReview))
    login("manager@police.example.org")
    page = client.get("/admin/retention/").get_data(as_text=True)
    assert review.case_reference in page and 'data-review=' in page
    held = client.post("/admin/retention/hold", data={"reference": review.case_reference.lower(),
                                                      "reason": "inquiry"})
    assert held.status_code == 302
    refused = client.post(f"/admin/retention/{review.id}/decide", data={"decision": "delete"})
    assert refused.status_code == 302
    assert "legal hold" in client.get("/admin/retention/").get_data(as_text=True)
    client.post("/admin/retention/hold", data={"reference": review.case_reference})   # release
    client.post(f"/admin/retention/{review.id}/decide", data={"decision": "anonymise", "note": "policy"})
    page = client.get("/admin/retention/").get_data(as_text=True)
    assert "anonymised" in page and "manager@police.example.org" in page
    login("pc@police.example.org")
    assert client.get("/admin/retention/").status_code == 404


def test_admins_set_rules_and_bad_periods_are_refused(client, login, world):
    make_user(world["police"], "admin", email="admin@police.example.org")
    login("admin@police.example.org")
    bad = client.post("/admin/retention_rules/new/", data={"case_type": "asb", "keep_days": "-1",
                                                           "action": "review"})
    assert bad.status_code == 200 and "keep_days" in bad.get_data(as_text=True)
    assert db.session.get(RetentionRule, "asb") is None
    ok = client.post("/admin/retention_rules/new/", data={"case_type": "asb", "keep_days": "2192",
                                                          "action": "anonymise", "policy": "ISA s.9"})
    assert ok.status_code == 302
    db.session.rollback()
    assert db.session.get(RetentionRule, "asb").keep_days == 2192


def _documents(world, app, tmp_path):
    """A letter on the case to the victim, an upload on her alone, and one on the witness another case needs."""
    from casework import documents
    from tests.fixtures import files

    app.config["DOCUMENT_DIR"] = str(tmp_path / "store")
    case, victim, shared = (db.session.get(Case, world["case"]), db.session.get(Person, world["victim"]),
                            db.session.get(Person, world["shared"]))
    letter = documents.store(world["pc"], case=case, person=victim, name="letter.docx", data=files.docx("Dear Ann"),
                             kind="letter")
    hers = documents.store(world["pc"], person=victim, name="id.pdf", data=files.pdf("Ann's form"))
    his = documents.store(world["pc"], person=shared, name="statement.pdf", data=files.pdf("Bob's statement"))
    db.session.commit()
    return {d.id: tmp_path / "store" / f"{d.id:010d}-{d.sha256}" for d in (letter, hers)}, \
        tmp_path / "store" / f"{his.id:010d}-{his.sha256}"


@pytest.mark.parametrize("how", ["delete", "anonymise"])
def test_disposal_erases_documents_and_their_files(world, app, tmp_path, how):
    """Disposal takes the case's documents and those of the people only it needed, files included, once the
    decision commits; a person another case needs keeps theirs; a rollback leaves every file in place."""
    from models import Document

    gone, kept = _documents(world, app, tmp_path)
    assert all(path.exists() for path in gone.values()) and kept.exists()
    retention.sweep()
    db.session.commit()
    review = db.session.scalar(select(DisposalReview))

    retention.dispose(world["manager"], review, how, "period passed")
    db.session.rollback()                                     # a decision that does not commit removes nothing
    assert all(path.exists() for path in gone.values()) and _count(Document) == 3

    review = db.session.scalar(select(DisposalReview))
    removed = retention.dispose(world["manager"], review, how, "period passed")
    assert removed["documents"] == 2
    assert all(path.exists() for path in gone.values())       # not before the commit
    db.session.commit()
    assert not any(path.exists() for path in gone.values()) and kept.exists()
    assert _count(Document, Document.id.in_(list(gone))) == 0 and _count(Document) == 1
