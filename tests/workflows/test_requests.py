"""Asking another agency (bpmn/agency_request.bpmn): the asked organisation (or the service's provider in the
case's area) joins the case and answers; "need more information" goes back to the asker and round again; the
asker is told; an overdue request is chased; bad requests change nothing."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from casework import areas, calendar, tokens
from models import Notification, Setting, WorkflowInstance, WorkItem, db
from tests.factories import make_org, make_user
from workflows import processes
from workflows.requests import BPMN_FILE

DUE = (date.today() + timedelta(days=10)).isoformat()


@pytest.fixture
def agencies(ctx, client):
    police = make_org("notts_police", "police", "Nottinghamshire Police")
    homes = make_org("city_homes", "housing", "Nottingham City Homes")
    make_org("closed_down", "other", "A Closed Service").active = False
    users = {"pc": make_user(police, "practitioner", email="pc@police.example.org"),
             "homes": make_user(homes, "practitioner", email="officer@homes.example.org"),
             "homes_manager": make_user(homes, "manager", email="manager@homes.example.org")}
    areas.create_area("nottingham_city", "Nottingham City")
    areas.create_service("housing", "Housing")
    areas.provide("housing", "city_homes", ["nottingham_city"])
    processes.deploy(BPMN_FILE.read_text())
    db.session.commit()
    issued = {k: tokens.issue(u) for k, u in users.items()}
    db.session.commit()

    def call(who: str, method: str, url: str, body=None):
        return client.open(f"/api/v1{url}", method=method, json=body,
                           headers={"Authorization": f"Bearer {issued[who]}"})

    case = call("pc", "POST", "/cases", {"case_type": "hate_crime", "title": "Racist graffiti on a flat door",
                                         "area": "nottingham_city"}).json["id"]
    return call, case, users


def _ready(call, who: str, case: int) -> dict[str, dict]:
    return {t["bpmn_id"]: t for t in call(who, "GET", f"/tasks?case={case}").json}


def test_ask_an_organisation_answer_after_more_information_and_the_asker_is_told(agencies):
    call, case, users = agencies
    asked = call("pc", "POST", f"/cases/{case}/requests",
                 {"organisation": "city_homes", "text": "Has the tenant reported damage before?", "due_on": DUE})
    assert asked.status_code == 201 and set(asked.json) == {"instance_id", "task_id"}
    # City Homes joined the case and has the step, due at the end of the chosen day, with the request shown.
    assert "city_homes" in call("pc", "GET", f"/cases/{case}").json["organisations"]
    step = _ready(call, "homes", case)["answer_request"]
    assert step["id"] == asked.json["task_id"] and step["organisation"] == "city_homes"
    assert step["due_at"] == calendar.add_working_days(DUE, 0)
    fields = {f["id"]: f for f in step["form"]["fields"]}
    assert fields["request_shown"]["default"] == "Has the tenant reported damage before?"
    # They need more information: it goes back to the police, then round again.
    done = call("homes", "POST", f"/tasks/{step['id']}/complete",
                {"data": {"outcome": "need_info", "response": "Which flat number?"}})
    assert done.status_code == 200
    more = _ready(call, "pc", case)["give_more_information"]
    assert more["organisation"] == "notts_police"
    assert {f["id"]: f for f in more["form"]["fields"]}["their_question"]["default"] == "Which flat number?"
    call("pc", "POST", f"/tasks/{more['id']}/complete", {"data": {"more_information": "Flat 4."}})
    again = _ready(call, "homes", case)["answer_request"]
    assert {f["id"]: f for f in again["form"]["fields"]}["more_information_shown"]["default"] == "Flat 4."
    call("homes", "POST", f"/tasks/{again['id']}/complete",
         {"data": {"outcome": "done", "response": "Two reports in 2025, both repaired."}})
    instance = db.session.get(WorkflowInstance, asked.json["instance_id"])
    db.session.refresh(instance)
    assert instance.status.value == "completed"
    # The asker is told, and sees the answer in the case history.
    told = db.session.scalars(select(Notification).where(Notification.kind == "request_answered")).all()
    assert [(n.user_id, n.case_id) for n in told] == [(users["pc"].id, case)]
    history = call("pc", "GET", f"/cases/{case}/history").json
    answers = [h["data"] for h in history if h["bpmn_id"] == "answer_request"]
    assert answers[-1]["outcome"] == "done" and answers[-1]["response"] == "Two reports in 2025, both repaired."


def test_ask_a_service_reaches_its_provider_in_the_area_and_the_due_date_defaults(agencies):
    call, case, users = agencies
    db.session.get(Setting, "request_due_working_days").value = "3"
    db.session.commit()
    asked = call("pc", "POST", f"/cases/{case}/requests", {"service": "housing", "text": "Any ASB on record?"})
    assert asked.status_code == 201
    step = _ready(call, "homes", case)["answer_request"]
    assert step["organisation"] == "city_homes"
    assert step["due_at"] == calendar.add_working_days(calendar.add_working_days(date.today(), 3), 0)


def test_an_overdue_request_is_chased_with_the_asked_agencys_manager(agencies, runner):
    call, case, users = agencies
    call("pc", "POST", f"/cases/{case}/requests", {"organisation": "city_homes", "text": "Tenancy start date?",
                                                  "due_on": DUE})
    later = datetime.fromisoformat(calendar.add_working_days(DUE, 1))
    assert runner.invoke(args=["timers", "run", "--at", later.isoformat()]).exit_code == 0
    chase = _ready(call, "homes", case)["chase_request"]
    assert (chase["organisation"], chase["required_role"]) == ("city_homes", "manager")
    assert "answer_request" in _ready(call, "homes", case)  # the request itself stays open


@pytest.mark.parametrize("body, field, message", [
    ({"organisation": "nowhere", "text": "x"}, "organisation", "'nowhere' is not an active organisation"),
    ({"organisation": "closed_down", "text": "x"}, "organisation", "'closed_down' is not an active organisation"),
    ({"organisation": "notts_police", "text": "x"}, "organisation", "choose another organisation than your own"),
    ({"service": "astrology", "text": "x"}, "service", "'astrology' is not a service"),
    ({"organisation": "city_homes", "service": "housing", "text": "x"}, "organisation", "one of the two"),
    ({"text": "x"}, "organisation", "one of the two"),
    ({"organisation": "city_homes"}, "text", "is required"),
    ({"organisation": "city_homes", "text": "x", "due_on": "2020-01-01"}, "due_on", "is in the past"),
    ({"organisation": "city_homes", "text": "x", "due_on": "next week"}, "due_on", "is not a date"),
    ({"organisation": "city_homes", "text": ["not", "text"]}, "text", "is required"),
])
def test_bad_requests_get_a_clear_message_and_change_nothing(agencies, body, field, message):
    call, case, users = agencies
    before = db.session.scalar(select(func.count()).select_from(WorkflowInstance))
    response = call("pc", "POST", f"/cases/{case}/requests", body)
    assert response.status_code == 422 and message in response.json["errors"][field]
    assert db.session.scalar(select(func.count()).select_from(WorkflowInstance)) == before


def test_requests_need_a_visible_case_and_the_process(agencies):
    call, case, users = agencies
    assert call("homes", "POST", f"/cases/{case}/requests", {"organisation": "notts_police", "text": "x"}) \
        .status_code == 404  # City Homes cannot see the case yet
    db.session.execute(WorkItem.__table__.delete())
    db.session.execute(WorkflowInstance.__table__.delete())
    from models import ProcessDefinition
    db.session.execute(ProcessDefinition.__table__.delete())
    db.session.commit()
    missing = call("pc", "POST", f"/cases/{case}/requests", {"organisation": "city_homes", "text": "x"})
    assert missing.status_code == 404 and "agency_request process is not deployed" in missing.json["error"]


def test_ask_from_the_case_page(agencies, client, login):
    call, case, users = agencies
    login(users["pc"].email)
    page = client.get(f"/admin/cases/details/?id={case}").get_data(as_text=True)
    assert "Ask another agency" in page and 'value="organisation:city_homes"' in page
    assert 'value="service:housing"' in page and 'value="organisation:notts_police"' not in page
    sent = client.post(f"/admin/cases/{case}/requests/", data={"asked": "organisation:city_homes",
                                                              "text": "Please check the CCTV.", "due_on": DUE},
                       follow_redirects=True)
    assert "Request sent to Nottingham City Homes." in sent.get_data(as_text=True)
    refused = client.post(f"/admin/cases/{case}/requests/", data={"asked": "organisation:city_homes", "text": "",
                                                                 "due_on": DUE}, follow_redirects=True)
    assert "The request was not sent: text: is required" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(WorkflowInstance)) == 1


def test_joining_without_an_information_sharing_agreement_is_recorded(agencies):
    from models import AuditEvent

    call, case, users = agencies
    call("pc", "POST", f"/cases/{case}/requests", {"organisation": "city_homes", "text": "x", "due_on": DUE})
    joined = [e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "add_organisation"))
              if e.detail_dict.get("organisation") == "city_homes"]
    assert joined and "no information-sharing agreement in force covers" in joined[0].detail_dict["isa_warnings"][0]
