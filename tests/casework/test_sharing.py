"""Sharing under information-sharing agreements that are enforced (ISA_ENFORCEMENT=enforce, the default): the
agreement lifecycle, and every path that adds a partner to a case refusing without an agreement in force."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casework import agreements
from models import AuditEvent, Case, CaseNote, InformationSharingAgreement, Organisation, WorkItem, db
from tests.factories import make_org, make_user


@pytest.fixture
def enforced(app, api):
    """The API partnership (police, victim services, council) with enforcement on, as in production."""
    app.config["ISA_ENFORCEMENT"] = "enforce"
    make_user(_org("notts_police"), "manager", email="manager@police.example.org")
    make_user(_org("mansfield"), "manager", email="manager@council.example.org")
    db.session.commit()
    return api


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
