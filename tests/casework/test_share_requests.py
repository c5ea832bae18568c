"""Ask to share: victim services asks the police about a person "possibly known to" them; a police manager
grants (the case is shared, so the person is linked for victim services) or refuses with a reason."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import (Case, CaseParticipant, CaseType, Disclosure, InformationSharingAgreement, Notification, Organisation,
                    Person, ShareRequest, User, db)
from tests.casework.test_matching import held  # noqa: F401  (the shared fixture)
from tests.factories import make_user

AMIRA = {"given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14"}
ASK = {**AMIRA, "purpose": "Enhanced support after burglary", "lawful_basis": "Victims' Code, consent given"}


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
    assert "Enhanced support after burglary" in page and case.reference in page
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
