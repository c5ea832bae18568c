"""Small diagrams walked through the JSON API: start, route, timers, escalation, completion, history."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models import AuditEvent, WorkflowInstance, db
from models import audit as audit_log


@pytest.fixture
def deployed(api):
    for name in ("referral_test.bpmn", "one_step.bpmn", "runtime_error.bpmn", "working_days.bpmn"):
        assert api["lead"].deploy(name).status_code == 201
    return api


def _open_case(api, who="pc", partners=("victim_services",)):
    response = api[who].post("/cases", json={
        "case_type": "victim_support", "title": "Burglary", "lead_organisation": "notts_police" if who == "pc" else None,
        "people": [{"role": "victim", "given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14"}],
        "organisations": [{"code": c} for c in partners]})
    assert response.status_code == 201, response.json
    return response.json["id"]


def _ready(api, who, case_id):
    response = api[who].get(f"/tasks?case={case_id}&status=ready")
    assert response.status_code == 200
    return response.json


def test_deploy_contract(api):
    first = api["lead"].deploy("referral_test.bpmn", filename="whatever-name.bpmn")   # approved by police_lead
    assert first.status_code == 201
    assert {k: first.json[k] for k in ("key", "version", "approval")} == {"key": "referral_test", "version": 1,
                                                                         "approval": "pending"}
    same = api["lead"].deploy("referral_test.bpmn")
    assert (same.status_code, same.json["key"], same.json["version"]) == (200, "referral_test", 1)
    changed = (api["lead"].client.application.root_path)
    text = open(f"{changed}/tests/data/referral_test.bpmn").read().replace("Record referral", "Record the referral")
    second = api["lead"].deploy(text)
    assert (second.status_code, second.json["key"], second.json["version"]) == (201, "referral_test", 2)
    listing = api["pc"].get("/processes").json
    assert listing == [{"key": "referral_test", "version": 2, "name": "Referral (test)"}]
    assert api["pc"].deploy("one_step.bpmn").status_code == 403
    bad = api["lead"].deploy(text.replace("${consent == True}", "${consent ==}"))
    assert bad.status_code == 422
    (problem,) = bad.json["errors"]
    assert problem["element_id"] == "f_yes"   # the route out of "Consent?" whose condition is wrong
    assert problem["line"] > 1 and "condition of the route to “Triage referral”" in problem["message"]


def test_a_deploy_waits_for_a_lead_of_another_organisation(api):
    """Four eyes: the deploying lead's own organisation cannot approve it, and until approved nothing runs it."""
    api["lead"].approver = None
    waiting = api["lead"].deploy("one_step.bpmn").json
    assert waiting["approval"] == "pending"
    case_id = api["pc"].post("/cases", json={"case_type": "victim_support", "title": "t"}).json["id"]
    assert api["pc"].post(f"/cases/{case_id}/processes", json={"key": "one_step"}).status_code == 404
    assert api["lead"].post(f"/processes/{waiting['id']}/approve").status_code == 403        # the deployer
    assert api["pc"].post(f"/processes/{waiting['id']}/approve").status_code == 403          # not a lead
    approved = api["police_lead"].post(f"/processes/{waiting['id']}/approve")
    assert approved.status_code == 200 and approved.json["approval"] == "approved"
    assert api["police_lead"].post(f"/processes/{waiting['id']}/approve").status_code == 409  # decided already
    assert api["pc"].post(f"/cases/{case_id}/processes", json={"key": "one_step"}).status_code == 201


def test_case_types_and_auth(api, client):
    codes = [c["code"] for c in api["pc"].get("/case-types").json]
    assert "victim_support" in codes and len(codes) == 14
    assert client.get("/api/v1/case-types").status_code == 401
    bad = client.get("/api/v1/case-types", headers={"Authorization": "Bearer cbk_nonsense"})
    assert bad.status_code == 401 and bad.json == {"error": bad.json["error"]} and bad.is_json


def test_referral_walkthrough(deployed):
    api = deployed
    case_id = _open_case(api)
    started = api["pc"].post(f"/cases/{case_id}/processes", json={"key": "referral_test", "data": {}})
    assert started.status_code == 201
    assert started.json["key"] == "referral_test" and started.json["version"] == 1
    (record,) = _ready(api, "pc", case_id)
    assert record["organisation"] == "notts_police" and record["lane"] == "Police"
    assert [f["id"] for f in record["form"]["fields"]] == ["victim_name", "risk_score", "crime_type", "consent",
                                                            "incident_date"]
    crime = record["form"]["fields"][2]
    assert crime["options"] == [{"id": "burglary", "label": "Burglary"}, {"id": "assault", "label": "Assault"}]
    assert record["form"]["fields"][0]["required"] is True
    bad = api["pc"].post(f"/tasks/{record['id']}/complete",
                         json={"data": {"risk_score": "31", "crime_type": "arson", "incident_date": "2026-13-01",
                                        "consent": "maybe"}})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"victim_name", "risk_score", "crime_type", "incident_date", "consent"}
    assert _ready(api, "pc", case_id)[0]["id"] == record["id"]  # nothing changed
    assert api["vs"].post(f"/tasks/{record['id']}/complete", json={"data": {}}).status_code == 403
    done = api["pc"].post(f"/tasks/{record['id']}/complete", json={"data": {
        "victim_name": "Amira Hussain", "risk_score": 12, "crime_type": "burglary", "consent": True,
        "incident_date": "2026-11-20"}})
    assert done.status_code == 200, done.json
    assert done.json["task"]["status"] == "completed" and done.json["task"]["completed_by"] == "pc@police.example.org"
    (triage,) = done.json["next"]
    assert triage["bpmn_id"] == "triage" and triage["organisation"] == "victim_services"
    assert triage["due_at"] and datetime.fromisoformat(triage["due_at"]).tzinfo is not None
    assert [t["id"] for t in _ready(api, "vs", case_id)] == [triage["id"]]
    again = api["pc"].post(f"/tasks/{record['id']}/complete", json={"data": {"victim_name": "X", "consent": True}})
    assert again.status_code == 409 and "already completed by" in again.json["error"]
    finished = api["vs"].post(f"/tasks/{triage['id']}/complete",
                              json={"data": {"needs": ["housing", "counselling"], "notes": "ok"}})
    assert finished.status_code == 200 and finished.json["next"] == []
    case = api["pc"].get(f"/cases/{case_id}").json
    assert case["processes"] == [{"instance_id": started.json["instance_id"], "key": "referral_test",
                                  "version": 1, "status": "completed", "error": None}]
    history = api["pc"].get(f"/cases/{case_id}/history").json
    assert [h["bpmn_id"] for h in history] == ["record", "triage"]
    assert history[0]["completed_by"] == {"email": "pc@police.example.org", "name": "User pc"}
    assert history[0]["organisation"] == {"code": "notts_police", "name": "Nottinghamshire Police"}
    assert history[0]["data"]["risk_score"] == 12 and history[1]["data"]["needs"] == ["housing", "counselling"]


def test_timer_escalates_to_a_role(deployed, runner):
    """After `timers run --at`, the late triage goes to victim services managers only."""
    api = deployed
    case_id = _open_case(api)
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "referral_test"})
    (record,) = _ready(api, "pc", case_id)
    triage = api["pc"].post(f"/tasks/{record['id']}/complete",
                            json={"data": {"victim_name": "A", "consent": True}}).json["next"][0]
    due = datetime.fromisoformat(triage["due_at"])
    early = runner.invoke(args=["timers", "run", "--at", (due - timedelta(minutes=5)).isoformat()])
    assert early.exit_code == 0 and "timers fired: 0" in early.output
    late = runner.invoke(args=["timers", "run", "--at", (due + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")])
    assert late.exit_code == 0 and "timers fired: 1" in late.output, late.output
    (escalate,) = _ready(api, "vs", case_id)
    assert escalate["bpmn_id"] == "escalate" and escalate["candidate_groups"] == ["victim_services:manager"]
    old = api["vs"].get(f"/tasks/{triage['id']}").json
    assert old["status"] == "cancelled"
    assert api["vs"].post(f"/tasks/{escalate['id']}/complete", json={"data": {}}).status_code == 403
    assert api["vs_manager"].post(f"/tasks/{escalate['id']}/complete", json={"data": {}}).status_code == 200
    assert api["pc"].get(f"/cases/{case_id}").json["processes"][0]["status"] == "completed"


def test_working_day_due_date(deployed):
    api = deployed
    case_id = _open_case(api)
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "working_days", "data": {"referred_on": "2026-12-24"}})
    (contact,) = _ready(api, "vs", case_id)
    assert contact["due_at"] == "2026-12-30T17:00:00+00:00"


def test_unassigned_until_partner_added(deployed):
    """No victim services on the case: the item waits visibly; adding the partner assigns it."""
    api = deployed
    case_id = _open_case(api, partners=())
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "referral_test"})
    (record,) = _ready(api, "pc", case_id)
    api["pc"].post(f"/tasks/{record['id']}/complete", json={"data": {"victim_name": "A", "consent": True}})
    (waiting,) = [t for t in _ready(api, "pc", case_id)]
    assert waiting["organisation"] is None and "should add one" in waiting["unassigned_reason"]
    assert api["pc"].post(f"/tasks/{waiting['id']}/complete", json={"data": {}}).status_code == 403
    assert api["pc"].post(f"/cases/{case_id}/organisations", json={"code": "victim_services"}).status_code == 200
    (assigned,) = _ready(api, "vs", case_id)
    assert assigned["id"] == waiting["id"] and assigned["organisation"] == "victim_services"


def test_claim(deployed):
    api = deployed
    case_id = _open_case(api)
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "referral_test"})
    (record,) = _ready(api, "pc", case_id)
    api["pc"].post(f"/tasks/{record['id']}/complete", json={"data": {"victim_name": "A", "consent": True}})
    (triage,) = _ready(api, "vs", case_id)
    assert api["vs"].post(f"/tasks/{triage['id']}/claim").json["claimed_by"] == "cw@vs.example.org"
    assert api["lead"].post(f"/tasks/{triage['id']}/claim").status_code == 409
    assert api["lead"].post(f"/tasks/{triage['id']}/complete", json={"data": {}}).status_code == 409
    assert api["vs"].post(f"/tasks/{triage['id']}/release").json["claimed_by"] is None
    assert api["lead"].post(f"/tasks/{triage['id']}/complete", json={"data": {}}).status_code == 200


def test_runtime_error_keeps_the_completion(deployed):
    """A gateway on a missing variable: 200, data kept, the instance shows `error`, the case goes on."""
    api = deployed
    case_id = _open_case(api)
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "runtime_error"})
    other = api["pc"].post(f"/cases/{case_id}/processes", json={"key": "one_step"}).json
    ask = [t for t in _ready(api, "pc", case_id) if t["bpmn_id"] == "ask"][0]
    done = api["pc"].post(f"/tasks/{ask['id']}/complete", json={"data": {"answer": "yes"}})
    assert done.status_code == 200
    processes = {p["key"]: p for p in api["pc"].get(f"/cases/{case_id}").json["processes"]}
    assert processes["runtime_error"]["status"] == "error"
    assert "gw" in processes["runtime_error"]["error"]
    assert processes["one_step"]["status"] == "running"
    assert api["pc"].get(f"/cases/{case_id}/history").json[0]["data"] == {"answer": "yes"}
    step = [t for t in _ready(api, "pc", case_id) if t["instance_id"] == other["instance_id"]][0]
    assert api["pc"].post(f"/tasks/{step['id']}/complete", json={"data": {"note": "fine"}}).status_code == 200


def test_access_rules_for_work_items(deployed):
    api = deployed
    case_id = _open_case(api)
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "one_step"})
    (step,) = _ready(api, "pc", case_id)
    assert api["council"].get(f"/tasks?case={case_id}").status_code == 404
    assert api["council"].get(f"/tasks/{step['id']}").status_code == 404
    assert api["council"].post(f"/tasks/{step['id']}/complete", json={"data": {}}).status_code == 404
    assert api["vs"].get(f"/tasks/{step['id']}").status_code == 200      # partner sees the work ...
    assert api["vs"].post(f"/tasks/{step['id']}/complete", json={"data": {}}).status_code == 403  # ... not do it
    assert api["auditor"].get(f"/tasks?case={case_id}").status_code == 403
    assert api["admin"].get(f"/cases/{case_id}").status_code == 404
    meta = api["auditor"].get(f"/cases/{case_id}")
    assert meta.status_code == 200 and "title" not in meta.json
    assert api["council"].post(f"/cases/{case_id}/processes", json={"key": "one_step"}).status_code == 404
    assert api["pc"].post(f"/cases/{case_id}/processes", json={"key": "nope"}).status_code == 404


def test_case_warnings_for_duplicates_and_agreements(api):
    first = api["pc"].post("/cases", json={"case_type": "victim_support", "title": "One", "people": [
        {"role": "victim", "given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14"}]})
    assert first.status_code == 201
    assert all("not deployed" in w for w in first.json["warnings"])   # mapped processes not deployed here
    assert first.json["reference"].startswith("CB-")
    second = api["pc"].post("/cases", json={"case_type": "victim_support", "title": "Two", "people": [
        {"role": "victim", "given_name": "Amira", "family_name": "Husain", "date_of_birth": "1988-03-14"}],
        "organisations": [{"code": "victim_services"}]})
    assert second.status_code == 201
    warnings = " ".join(second.json["warnings"])
    assert "may already be registered" in warnings and "information-sharing agreement" in warnings


@pytest.mark.parametrize("payload, status", [
    ({"case_type": "nope", "title": "x"}, 422),
    ({"case_type": "victim_support", "title": ""}, 422),
    ({"case_type": "victim_support", "title": "x", "lead_organisation": "victim_services"}, 403),
    ({"case_type": "victim_support", "title": "x", "organisations": [{"code": "nope"}]}, 422),
    ({"case_type": "victim_support", "title": "x", "people": [{"role": "king", "given_name": "A",
                                                               "family_name": "B"}]}, 422),
    ({"case_type": "victim_support", "title": "x", "people": [{"role": "victim", "given_name": "A",
                                                               "family_name": "B", "date_of_birth": "1990-02-30"}]}, 422),
])
def test_bad_case_input(api, payload, status):
    from sqlalchemy import func, select

    from models import Case, Person

    response = api["pc"].post("/cases", json=payload)
    assert response.status_code == status and response.is_json and "error" in response.json
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    assert db.session.scalar(select(func.count()).select_from(Person)) == 0


def test_non_json_body_is_a_json_400(api):
    response = api["pc"].post("/cases", data="not json", content_type="text/plain")
    assert response.status_code == 400 and response.is_json


def test_bearer_post_works_with_csrf_enabled(db_url, app, partnership):
    """Bearer requests are exempt from CSRF; a cookie session writing through the API is not."""
    from app import create_app
    from tests.conftest import PASSWORD, _config

    strict = create_app(_config(db_url, WTF_CSRF_ENABLED=True))
    client = strict.test_client()
    ok = client.post("/api/v1/cases", json={"case_type": "victim_support", "title": "x"},
                     headers={"Authorization": f"Bearer {partnership['pc']}"})
    assert ok.status_code == 201
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": "pc@police.example.org", "password": PASSWORD, "csrf_token": token})
    refused = client.post("/api/v1/cases", json={"case_type": "victim_support", "title": "y"})
    assert refused.status_code == 400 and refused.is_json
    assert client.get("/api/v1/case-types").status_code == 200
    with strict.app_context():
        db.engine.dispose()


def test_every_api_action_is_audited_and_chain_holds(deployed):
    api = deployed
    case_id = _open_case(api)
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "one_step"})
    (step,) = _ready(api, "pc", case_id)
    api["pc"].post(f"/tasks/{step['id']}/complete", json={"data": {"note": "x"}})
    api["pc"].get(f"/cases/{case_id}")
    from sqlalchemy import select

    actions = {e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id))}
    assert {"create", "start_process", "complete", "view"} <= actions
    assert audit_log.verify().ok
    instance = db.session.scalar(select(WorkflowInstance))
    assert instance.status.value == "completed"
