"""Sharing under information-sharing agreements that are enforced (ISA_ENFORCEMENT=enforce, the default): the
agreement lifecycle, and every path that adds a partner to a case refusing without an agreement in force."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casework import agreements, tokens
from models import (AuditEvent, Case, CaseNote, Disclosure, InformationSharingAgreement, Organisation, SharingException,
                    User, WorkItem, db)
from tests.factories import make_org, make_user
from tests.fixtures.api import Api
from tests.fixtures.exports import open_xlsx, table


@pytest.fixture
def enforced(app, api):
    """The API partnership (police, victim services, council) with enforcement on, as in production."""
    app.config["ISA_ENFORCEMENT"] = "enforce"
    make_user(_org("notts_police"), "manager", email="manager@police.example.org")
    make_user(_org("mansfield"), "manager", email="manager@council.example.org")
    db.session.commit()
    return api


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _org(code: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def _agreement(*codes: str, case_types: tuple[str, ...] = (), approve: bool = True, **dates) -> InformationSharingAgreement:
    isa = agreements.create("Police and council", list(codes), list(case_types),
                            dates.get("valid_from", date.today() - timedelta(days=30)),
                            dates.get("valid_to", date.today() + timedelta(days=365)), "CDA 1998 s.115",
                            approve_all=approve)
    db.session.commit()
    return isa


def _case(api, **extra) -> int:
    response = api["pc"].post("/cases", {"case_type": "asb", "title": "Noise", **extra})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_the_api_refuses_a_partner_without_an_agreement_and_names_what_is_missing(enforced):
    case_id = _case(enforced)
    refused = enforced["pc"].post(f"/cases/{case_id}/organisations", {"code": "mansfield"})
    assert refused.status_code == 422
    assert "Nottinghamshire Police and Mansfield District Council for asb cases: they have no agreement" \
        in refused.json["error"]
    draft = _agreement("notts_police", "mansfield", approve=False)
    refused = enforced["pc"].post(f"/cases/{case_id}/organisations", {"code": "mansfield"})
    assert "is a draft, waiting for Mansfield District Council, Nottinghamshire Police to approve it" \
        in refused.json["error"]
    agreements.approve(draft, _org("notts_police"), None)
    agreements.approve(draft, _org("mansfield"), None)
    db.session.commit()
    assert enforced["pc"].post(f"/cases/{case_id}/organisations", {"code": "mansfield"}).status_code in (200, 201)
    added = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "add_organisation")).all()[-1]
    assert added.detail_dict["isa"] == draft.id


@pytest.mark.parametrize("problem,message", [
    ("expired", "expired on"), ("future", "starts on"), ("other type", "does not cover asb cases")])
def test_agreements_out_of_force_say_why(enforced, problem, message):
    today = date.today()
    dates = {"expired": {"valid_from": today - timedelta(days=400), "valid_to": today - timedelta(days=1)},
             "future": {"valid_from": today + timedelta(days=10)}, "other type": {}}[problem]
    _agreement("notts_police", "mansfield", case_types=("hate_crime",) if problem == "other type" else (), **dates)
    refused = enforced["pc"].post("/cases", {"case_type": "asb", "title": "t", "organisations": [{"code": "mansfield"}]})
    assert refused.status_code == 422 and message in refused.json["error"]
    assert db.session.scalar(select(Case.id)) is None      # nothing half-done


def test_the_console_refuses_and_then_shares_under_the_agreement(enforced, client, login):
    case_id = _case(enforced)
    login("pc@police.example.org")
    refused = client.post(f"/admin/cases/{case_id}/organisations/", data={"org-organisation_id": _org("mansfield").id})
    assert refused.status_code == 400 and "they have no agreement" in refused.get_data(as_text=True)
    _agreement("notts_police", "mansfield")
    added = client.post(f"/admin/cases/{case_id}/organisations/", data={"org-organisation_id": _org("mansfield").id})
    assert added.status_code == 302


def test_a_diagram_share_without_an_agreement_leaves_the_step_waiting(enforced):
    make_org("rj", "rj_service", "RJ Service")
    db.session.commit()
    assert enforced["lead"].deploy("operations.bpmn").status_code == 201
    assert enforced["lead"].deploy("one_step.bpmn").status_code == 201
    case_id = enforced["pc"].post("/cases", {"case_type": "hate_crime", "title": "ops"}).json["id"]
    enforced["pc"].post(f"/cases/{case_id}/processes", {"key": "operations"})
    (decide,) = enforced["pc"].get(f"/tasks?case={case_id}").json
    done = enforced["pc"].post(f"/tasks/{decide['id']}/complete",
                               {"data": {"outcome": "support_plan", "due_on": "2026-11-26"}})
    assert done.status_code == 200, done.json                                # never an error in the process
    case = db.session.get(Case, case_id)
    db.session.refresh(case)
    assert [o.organisation.code for o in case.organisations] == []
    note = db.session.scalars(select(CaseNote.body).where(CaseNote.case_id == case_id)).all()
    assert any("did not bring RJ Service onto the case" in n and "no agreement" in n for n in note)
    step = db.session.scalar(select(WorkItem).where(WorkItem.case_id == case_id, WorkItem.bpmn_id == "rj_step"))
    assert step is not None and step.organisation_id is None and "should add one" in step.unassigned_reason
    # The lead may not hand the step over by hand either, until an agreement covers it.
    refused = enforced["pc"].post(f"/tasks/{step.id}/assign", {"organisation": "rj"})
    assert refused.status_code == 422 and "no agreement" in refused.json["error"]
    _agreement("notts_police", "rj")
    assert enforced["pc"].post(f"/tasks/{step.id}/assign", {"organisation": "rj"}).status_code == 200


def test_warn_lets_the_share_through_and_reports_it(app, api):
    app.config["ISA_ENFORCEMENT"] = "warn"
    response = api["pc"].post("/cases", {"case_type": "asb", "title": "t", "organisations": [{"code": "mansfield"}]})
    assert response.status_code == 201 and "they have no agreement" in response.json["warnings"][0]


def test_each_party_approves_and_changes_send_it_back_to_draft(enforced, client, login):
    isa = _agreement("notts_police", "mansfield", approve=False)
    login("manager@police.example.org")
    assert "Police and council" in client.get("/admin/agreements/").get_data(as_text=True)
    client.post("/admin/agreements/action/", data={"action": "approve", "rowid": [str(isa.id)]})
    db.session.expire_all()
    assert agreements.in_force(_org("notts_police"), _org("mansfield"), "asb") is None   # one party so far
    login("manager@council.example.org")
    client.post("/admin/agreements/action/", data={"action": "approve", "rowid": [str(isa.id)]})
    db.session.expire_all()
    assert agreements.in_force(_org("notts_police"), _org("mansfield"), "asb").id == isa.id
    assert {a.approved_by.email for a in isa.approvals} == {"manager@police.example.org",
                                                            "manager@council.example.org"}
    # Victim services' manager is not a party: the agreement is not on their list.
    login("manager@vs.example.org")
    assert "Police and council" not in client.get("/admin/agreements/").get_data(as_text=True)
    # An admin moves the end date (typed as people write it): every party approves again.
    login("admin@police.example.org")
    form = {"name": isa.name, "lawful_basis": isa.lawful_basis,
            "organisations": [str(_org("notts_police").id), str(_org("mansfield").id)],
            "valid_from": "01/04/2026", "valid_to": "31/03/2027"}
    saved = client.post(f"/admin/agreements/edit/?id={isa.id}", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    isa = db.session.get(InformationSharingAgreement, isa.id)
    assert (isa.valid_from, isa.valid_to, isa.approved_at, isa.approvals) == (date(2026, 4, 1), date(2027, 3, 31),
                                                                              None, [])
    bad = client.post(f"/admin/agreements/edit/?id={isa.id}", data={**form, "valid_from": "31/02/2026"})
    assert bad.status_code == 200 and "is not a date" in bad.get_data(as_text=True)


def test_the_command_line_records_drafts_and_approved_agreements(enforced, runner):
    draft = runner.invoke(args=["agreements", "create", "Draft ISA", "--org", "notts_police", "--org", "mansfield",
                                "--valid-from", "2026-01-01", "--valid-to", "2027-12-31"])
    assert draft.exit_code == 0 and "a draft" in draft.output
    approved = runner.invoke(args=["agreements", "create", "Live ISA", "--org", "notts_police", "--org", "mansfield",
                                   "--case-type", "asb", "--valid-from", "2026-01-01", "--valid-to", "2099-12-31",
                                   "--approve"])
    assert approved.exit_code == 0 and "approved by every party" in approved.output
    db.session.expire_all()
    assert agreements.in_force(_org("notts_police"), _org("mansfield"), "asb").name == "Live ISA"
    for bad, message in [(["--org", "notts_police"], "at least two"), (["--org", "x", "--org", "y"], "no organisation"),
                         (["--org", "notts_police", "--org", "mansfield", "--case-type", "nope"], "no case type")]:
        result = runner.invoke(args=["agreements", "create", "Bad", *bad, "--valid-from", "2026-01-01",
                                     "--valid-to", "2027-01-01"])
        assert result.exit_code != 0 and message in result.output, result.output
    reversed_dates = runner.invoke(args=["agreements", "create", "Bad", "--org", "notts_police", "--org", "mansfield",
                                         "--valid-from", "2027-01-01", "--valid-to", "2026-01-01"])
    assert reversed_dates.exit_code != 0 and "cannot end before it starts" in reversed_dates.output


def test_a_manager_of_the_lead_records_an_exception_and_the_ig_lead_sees_it(enforced, client, login):
    case_id = _case(enforced)
    manager = Api(enforced["pc"].client, tokens.issue(_user("manager@police.example.org")))
    db.session.commit()
    ask = {"code": "mansfield", "exception": {"lawful_basis": "CDA 1998 s.115", "reason": "risk to life tonight"}}
    assert enforced["pc"].post(f"/cases/{case_id}/organisations", ask).status_code == 403     # not a manager
    no_reason = manager.post(f"/cases/{case_id}/organisations", {**ask, "exception": {"lawful_basis": "x"}})
    assert no_reason.status_code == 422 and "needs a lawful basis and a reason" in str(no_reason.json)
    assert db.session.scalar(select(SharingException.id)) is None
    shared = manager.post(f"/cases/{case_id}/organisations", ask)
    assert shared.status_code == 200 and "mansfield" in shared.json["organisations"]
    exception = db.session.scalar(select(SharingException))
    disclosure = db.session.scalars(select(Disclosure).where(Disclosure.what == "case shared")).one()
    assert (disclosure.exception_id, disclosure.case_id) == (exception.id, case_id)
    assert disclosure.basis == "exception: CDA 1998 s.115" and disclosure.organisation.code == "mansfield"
    # In the console, the same for the fire service; an exception without a reason changes nothing.
    make_org("notts_fire", "fire", "Fire and Rescue")
    db.session.commit()
    login("manager@police.example.org")
    fire = _org("notts_fire").id
    refused = client.post(f"/admin/cases/{case_id}/organisations/",
                          data={"org-organisation_id": fire, "org-exception_basis": "s.115"})
    assert refused.status_code == 400 and "needs a lawful basis and a reason" in refused.get_data(as_text=True)
    done = client.post(f"/admin/cases/{case_id}/organisations/",
                       data={"org-organisation_id": fire, "org-exception_basis": "s.115",
                             "org-exception_reason": "arson threat"})
    assert done.status_code == 302
    # The information-governance lead's export lists both shares and both exceptions.
    book = enforced["auditor"].get("/exports/sharing.xlsx")
    assert book.status_code == 200
    sheets = open_xlsx(book.data)
    disclosures = table(sheets["Disclosures"])[1]
    exceptions = table(sheets["Exceptions"])[1]
    assert {d["to_organisation"] for d in disclosures if d["what"] == "case shared"} == {
        "Mansfield District Council", "Fire and Rescue"}
    assert [e["reason"] for e in exceptions] == ["risk to life tonight", "arson threat"]
    assert enforced["pc"].get("/exports/sharing.xlsx").status_code == 403


def test_every_share_and_export_is_in_the_disclosure_log(enforced):
    isa = _agreement("notts_police", "mansfield", "victim_services")
    opened = enforced["pc"].post("/cases", {"case_type": "asb", "title": "t", "organisations": [{"code": "mansfield"}]})
    enforced["pc"].post(f"/cases/{opened.json['id']}/organisations", {"code": "victim_services"})
    enforced["pc"].get("/exports/cases.xlsx")
    rows = db.session.scalars(select(Disclosure).order_by(Disclosure.id)).all()
    assert [(r.what, r.organisation.code, r.agreement_id) for r in rows] == [
        ("case shared", "mansfield", isa.id), ("case shared", "victim_services", isa.id),
        ("export", "notts_police", None)]
    assert rows[0].basis.startswith("agreement “Police and council”: CDA 1998 s.115")
