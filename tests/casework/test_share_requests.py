"""Ask to share: victim services asks the police about a person "possibly known to" them; the request becomes a
step for the police's managers (bpmn/share_request.bpmn on the police case), who grant (the case is shared, so
the person is linked for victim services) or refuse with a reason."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from models import (Case, CaseParticipant, CaseType, Disclosure, InformationSharingAgreement, InstanceStatus, ItemStatus,
                    Notification, Organisation, Person, ShareRequest, User, WorkflowInstance, WorkItem, db)
from tests.casework.test_matching import held  # noqa: F401  (the shared fixture)
from tests.factories import make_user
from workflows import processes

AMIRA = {"given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14"}
ASK = {**AMIRA, "purpose": "Enhanced support after burglary", "lawful_basis": "Victims' Code, consent given"}


SHARE_BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "share_request.bpmn"


@pytest.fixture(autouse=True)
def share_process(held):
    """The shipped share_request process, deployed as a lead would."""
    definition, _ = processes.deploy(SHARE_BPMN.read_text())
    db.session.commit()
    return definition


@pytest.fixture
def police_manager(held):
    police = db.session.scalar(select(Organisation).where(Organisation.code == "notts_police"))
    user = make_user(police, "manager", email="manager@police.example.org")
    db.session.commit()
    return user


def _org_id(code: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.code == code))


def _amira_case() -> Case:
    return db.session.scalar(select(Case).join(CaseParticipant).join(Person)
                             .where(Person.family_name == "Hussain"))


def test_ask_grant_links_the_person_and_shares_the_case(held, police_manager, client, login):
    login("cw@vs.example.org")
    asked = client.post("/admin/share_requests/ask", data={**ASK, "holder": _org_id("notts_police")})
    assert asked.status_code == 302
    request = db.session.scalars(select(ShareRequest)).one()
    amira = db.session.scalar(select(Person.id).where(Person.family_name == "Hussain"))
    assert (request.status, request.person_id) == ("pending", amira)
    assert db.session.scalar(select(Notification.text).where(Notification.user_id == police_manager.id)) == \
        "Victim Services asks to share what you hold about a person"
    again = client.post("/admin/share_requests/ask", data={**ASK, "holder": _org_id("notts_police")},
                        follow_redirects=True)
    assert "already asked" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(ShareRequest)).all()) == 1
    # Before the grant victim services sees nothing of her.
    assert held["vs"].post("/people/matches", AMIRA).json["visible"] == []

    login("manager@police.example.org")
    page = client.get("/admin/share_requests/").get_data(as_text=True)
    case = _amira_case()
    assert "Enhanced support after burglary" in page and f"/admin/my_work/{_step(request).id}/" in page
    # The screen's own buttons decide through the same step (so its process moves on).
    granted = client.post(f"/admin/share_requests/{request.id}/decide",
                          data={"decision": "grant", "case": [str(case.id)]})
    assert granted.status_code == 302
    db.session.expire_all()
    assert db.session.get(ShareRequest, request.id).status == "granted"
    assert held["vs"].get(f"/cases/{case.id}").status_code == 200
    assert [p["family_name"] for p in held["vs"].post("/people/matches", AMIRA).json["visible"]] == ["Hussain"]
    shared = db.session.scalars(select(Disclosure).where(Disclosure.case_id == case.id)).all()
    assert any(f"share request {request.id} granted" in (d.detail or "") for d in shared)
    asker = db.session.scalar(select(User).where(User.email == "cw@vs.example.org"))
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == asker.id,
                                                             Notification.kind == "share_decided"))
    # Granting twice changes nothing.
    twice = client.post(f"/admin/share_requests/{request.id}/decide",
                        data={"decision": "grant", "case": [str(case.id)]}, follow_redirects=True)
    assert "already granted" in twice.get_data(as_text=True)


def test_a_refusal_needs_a_reason_and_the_asker_sees_it(held, police_manager, client, login):
    login("cw@vs.example.org")
    client.post("/admin/share_requests/ask", data={**ASK, "holder": _org_id("notts_police")})
    request = db.session.scalars(select(ShareRequest)).one()
    login("manager@police.example.org")
    no_reason = client.post(f"/admin/share_requests/{request.id}/decide", data={"decision": "refuse"},
                            follow_redirects=True)
    assert "say why the request is refused" in no_reason.get_data(as_text=True)
    client.post(f"/admin/share_requests/{request.id}/decide",
                data={"decision": "refuse", "reason": "Not the same person: different address"})
    login("cw@vs.example.org")
    page = client.get("/admin/share_requests/").get_data(as_text=True)
    assert "refused: Not the same person: different address" in page
    assert held["vs"].get(f"/cases/{_amira_case().id}").status_code == 404


@pytest.mark.parametrize("holder,person", [("mansfield", {"given_name": "Tomasz", "family_name": "Nowak",
                                                          "date_of_birth": "1980-11-02"}),
                                           ("notts_police", {"given_name": "Grace", "family_name": "Okafor",
                                                             "date_of_birth": "2001-07-30"}),
                                           ("notts_police", {"given_name": "Nobody", "family_name": "Atall",
                                                             "date_of_birth": "1970-01-01"})])
def test_asking_about_someone_the_asker_could_not_have_been_told_of_reveals_nothing(held, client, login, holder,
                                                                                    person):
    """No agreement with the council; Grace is on a restricted case; nobody is Nobody: the same words each time."""
    login("cw@vs.example.org")
    answer = client.post("/admin/share_requests/ask", data={**ASK, **person, "holder": _org_id(holder)},
                         follow_redirects=True).get_data(as_text=True)
    assert "Nothing was asked: nobody matching is held by" in answer
    assert db.session.scalar(select(ShareRequest.id)) is None


def test_only_the_holders_managers_decide(held, police_manager, client, login):
    login("cw@vs.example.org")
    client.post("/admin/share_requests/ask", data={**ASK, "holder": _org_id("notts_police")})
    request = db.session.scalars(select(ShareRequest)).one()
    for email in ("pc@police.example.org", "manager@vs.example.org"):
        login(email)
        assert client.post(f"/admin/share_requests/{request.id}/decide",
                           data={"decision": "refuse", "reason": "x"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(ShareRequest, request.id).status == "pending"


def test_a_grant_the_agreement_does_not_cover_is_refused_and_changes_nothing(app, held, police_manager, client,
                                                                             login):
    """The police–victim services agreement is narrowed to ASB cases: sharing a victim-support case is refused."""
    app.config["ISA_ENFORCEMENT"] = "enforce"
    isa = db.session.scalar(select(InformationSharingAgreement))
    isa.case_types = [db.session.get(CaseType, "asb")]
    db.session.commit()
    login("cw@vs.example.org")
    client.post("/admin/share_requests/ask", data={**ASK, "holder": _org_id("notts_police")})
    request = db.session.scalars(select(ShareRequest)).one()
    login("manager@police.example.org")
    refused = client.post(f"/admin/share_requests/{request.id}/decide",
                          data={"decision": "grant", "case": [str(_amira_case().id)]}, follow_redirects=True)
    assert "does not cover victim_support cases" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ShareRequest, request.id).status == "pending"
    assert held["vs"].get(f"/cases/{_amira_case().id}").status_code == 404


def _ask(client, login) -> ShareRequest:
    login("cw@vs.example.org")
    client.post("/admin/share_requests/ask", data={**ASK, "holder": _org_id("notts_police")})
    return db.session.scalars(select(ShareRequest)).one()


def _step(request: ShareRequest) -> WorkItem:
    return db.session.scalar(select(WorkItem).where(WorkItem.instance_id == request.instance_id,
                                                    WorkItem.status == ItemStatus.READY))


def test_the_request_is_a_step_for_the_holders_managers_on_the_holders_case(held, police_manager, client, login):
    request = _ask(client, login)
    step = _step(request)
    case = _amira_case()
    assert step is not None and step.case_id == case.id and step.process_key == "share_request"
    assert (step.organisation.code, step.required_role) == ("notts_police", "manager")
    instance = db.session.get(WorkflowInstance, request.instance_id)
    assert instance.started_by_id is None   # the asker may not see the holder's case
    fields = {f["id"]: f for f in step.fields}
    assert fields["asked_by"]["default"] == "Victim Services"
    assert fields["purpose_shown"]["default"] == ASK["purpose"]
    assert fields["about_shown"]["default"] == "Amira HUSSAIN, born 14/03/1988"   # the holder's own record
    # The choices come from the process data: the police's own unrestricted case, by reference (no title).
    assert [o[0] for o in fields["cases"]["options"]] == [str(case.id)]
    assert fields["cases"]["options"][0][1].startswith(f"{case.reference} — ")
    # It is in the police manager's work, not the asker's, and the screen links to it.
    login("manager@police.example.org")
    assert f"/admin/my_work/{step.id}/" in client.get("/admin/share_requests/").get_data(as_text=True)
    page = client.get(f"/admin/my_work/{step.id}/")
    assert page.status_code == 200 and "Decide a request to share" in page.get_data(as_text=True)
    login("cw@vs.example.org")
    assert client.get(f"/admin/my_work/{step.id}/").status_code == 404


def test_deciding_in_the_step_shares_the_case_and_ends_the_process(held, police_manager, client, login):
    request = _ask(client, login)
    step, case = _step(request), _amira_case()
    login("manager@police.example.org")
    done = client.post(f"/admin/my_work/{step.id}/", data={"decision": "grant", "cases": [str(case.id)]})
    assert done.status_code == 302, done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ShareRequest, request.id).status == "granted"
    assert db.session.get(WorkflowInstance, request.instance_id).status is InstanceStatus.COMPLETED
    assert held["vs"].get(f"/cases/{case.id}").status_code == 200
    assert any(f"share request {request.id} granted" in (d.detail or "")
               for d in db.session.scalars(select(Disclosure).where(Disclosure.case_id == case.id)))


@pytest.mark.parametrize("answers,field,words", [
    ({"decision": "grant"}, "cases", "choose one or more of the listed cases"),
    ({"decision": "refuse"}, "reason", "say why the request is refused"),
])
def test_an_answer_that_cannot_be_carried_out_goes_back_to_the_manager(held, police_manager, client, login, answers,
                                                                      field, words):
    request = _ask(client, login)
    step = _step(request)
    login("manager@police.example.org")
    page = client.post(f"/admin/my_work/{step.id}/", data=answers)
    assert page.status_code == 422 and words in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ShareRequest, request.id).status == "pending"
    assert db.session.get(WorkItem, step.id).status is ItemStatus.READY
    assert db.session.get(WorkflowInstance, request.instance_id).status is InstanceStatus.RUNNING
    assert held["vs"].get(f"/cases/{_amira_case().id}").status_code == 404


def test_the_step_through_the_api_answers_json(held, police_manager, client, login):
    """A manager's client completes the step by the task API: a refusal without a reason is 422 JSON; with one, 200."""
    from casework import tokens

    request = _ask(client, login)
    step = _step(request)
    headers = {"Authorization": f"Bearer {tokens.issue(police_manager)}"}
    db.session.commit()
    bad = client.post(f"/api/v1/tasks/{step.id}/complete", json={"data": {"decision": "refuse"}}, headers=headers)
    assert bad.status_code == 422 and "reason" in bad.json["errors"], bad.json
    good = client.post(f"/api/v1/tasks/{step.id}/complete",
                       json={"data": {"decision": "refuse", "reason": "Different person"}}, headers=headers)
    assert good.status_code == 200, good.json
    db.session.expire_all()
    assert (db.session.get(ShareRequest, request.id).status,
            db.session.get(ShareRequest, request.id).refusal_reason) == ("refused", "Different person")


def test_nothing_is_asked_while_the_process_is_not_deployed(held, client, login, share_process):
    share_process.active = False   # as if never deployed: latest() finds none
    db.session.commit()
    login("cw@vs.example.org")
    answer = client.post("/admin/share_requests/ask", data={**ASK, "holder": _org_id("notts_police")},
                         follow_redirects=True).get_data(as_text=True)
    assert "share_request process is not deployed" in answer
    assert db.session.scalar(select(ShareRequest.id)) is None
