"""Every shipped process, walked in the demo partnership through the API: each step goes to the organisation
that provides its service in the case's area (victim support to Nottinghamshire Victim Services, not the
IDVA service; a Mansfield case to Mansfield's panel), and no process stops in error. A meeting step is done at
its meeting: the panel it went to records the case's outcome there (on the demo MARAC, or a meeting it schedules)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from casework import meetings, tokens
from cli.demo import sample_answers
from models import CaseType, Organisation, User, WorkflowInstance, WorkItem, db
from models.meetings import AgendaItem
from workflows import panels

# Who should get a step for each service, by area (from the business case's partnership).
EXPECTED = {
    "mansfield": {
        "policing": "notts_police", "victim_support": "victim_services", "idva": "idva",
        "restorative_justice": "rj_service", "marac": "notts_marac", "vulnerable_persons_panel": "mansfield_vpp",
        "community_safety": "mansfield", "community_trigger": "mansfield", "community_trigger_appeal": "opcc",
        "housing": "mansfield", "health": "notts_icb", "fire": "notts_fire", "probation": "probation",
    },
    "nottingham_city": {
        "policing": "notts_police", "victim_support": "victim_services", "idva": "idva",
        "restorative_justice": "rj_service", "marac": "notts_marac", "vulnerable_persons_panel": "city_cpp",
        "community_safety": "nottingham_city", "community_trigger": "nottingham_city",
        "community_trigger_appeal": "opcc", "housing": "city_homes", "health": "notts_icb", "fire": "notts_fire",
        "probation": "probation",
    },
}
LEADS = {  # who opens the case for each process: the organisation whose lane starts it
    "victim_referral": lambda area: "notts_police", "victims_code": lambda area: "notts_police",
    "restorative_justice": lambda area: "notts_police", "marac": lambda area: "notts_police",
    "vulnerable_persons_panel": lambda area: EXPECTED[area]["community_safety"],
    "asb_case_review": lambda area: EXPECTED[area]["community_trigger"],
}
MAX_STEPS = 80
# Answers that take each process down its main route (everything else: the demo's sample answers).
MAIN_ROUTE = {
    "referral_decision": "explicit_consent_given", "contact_result": "contacted", "consent_to_support": True,
    "overall_need_level": "support_required", "rj_interest": "no", "review_decision": "goals_met",
    "domestic_abuse_risk": "not_applicable", "offence_category": "violence_with_injury",
    "investigation_outcome": "charged", "court_outcome": "convicted", "vcs_eligible": True,
    "police_risk_grade": "high", "screen_outcome": "accept", "escalate_to_steering": False,
    "consent_to_referral": True, "harmer_identified": True, "sensitive_flags": ["none"],
    "info_requested_from": ["police", "probation"], "harmed_willing": True, "acknowledges_facts": True,
    "takes_responsibility": True, "harmer_willing": True, "risk_decision": "proceed_direct_ok",
    "process_type": "face_to_face_conference", "harmed_consent_scope": ["face_to_face_conference"],
    "harmer_consent_scope": ["face_to_face_conference"], "orders_checked_compatible": True,
    "preparation_outcome": "ready", "delivery_result": "completed", "outcome_agreement_reached": True,
    "agreement_status": "completed", "harmed_wants_support": True,
    "criteria_met": True, "decision": "open_plan", "statutory_threshold": "none", "actions_blocked": False,
    "close_case_too": True, "escalation_outcome": "close",
    "applicant_type": "victim", "social_housing_involved": True, "discretionary_met": True,
    "review_outcome": "recommendations", "appeal_received": False,
    # victims_code: every right offered is met (the walker's first-option answers would put a right in every list)
    "police_declined": [], "police_unable": [], "police_deferred": [], "police_not_applicable": [],
    "support_declined": [], "support_unable": [], "support_deferred": [], "support_not_applicable": [],
}


class Demo:
    """API calls as demo users, a token per user made on first use."""

    def __init__(self, client):
        self.client, self.tokens = client, {}

    def user(self, org_code: str, role: str | None) -> User:
        users = db.session.scalars(select(User).join(Organisation).where(
            Organisation.code == org_code, User.active.is_(True)).order_by(User.id)).all()
        wanted = {role} if role else {"practitioner", "manager", "lead"}  # casework roles do steps
        found = next((u for u in users if wanted & {r.value for r in u.roles}), None)
        assert found is not None, f"no active user in {org_code} with role {role}"
        return found

    def call(self, method: str, url: str, user: User, body=None):
        if user.id not in self.tokens:
            self.tokens[user.id] = tokens.issue(user)
            db.session.commit()
        return self.client.open(f"/api/v1{url}", method=method, json=body,
                                headers={"Authorization": f"Bearer {self.tokens[user.id]}"})


_LATER = count(30)


def at_meeting(doer: User, step_id: int, answers: dict) -> None:
    """The panel records the case's outcome at the meeting the step is listed on (else one it schedules)."""
    item = db.session.scalar(select(AgendaItem).where(AgendaItem.work_item_id == step_id))
    if item is None:
        step = db.session.get(WorkItem, step_id)
        starts = datetime.now(UTC) + timedelta(days=next(_LATER))
        meeting = meetings.schedule(doer, step.meeting_type, starts, chair="Walk-through chair", place="Room 1")
        item = next(i for i in meeting.items if i.work_item_id == step_id)
    meeting = item.meeting
    if meetings.attendee(meeting, doer) is None:
        meetings.attend(doer, meeting)
    meetings.write_minutes(doer, item, "Walk-through minutes.")
    panels.record_outcome(doer, item, answers, "Heard")
    db.session.commit()


def walk(demo: Demo, key: str, area: str) -> list[tuple[str, str | None]]:
    """Open a case in `area`, start `key`, do every step as the organisation it went to; returns the steps."""
    lead = demo.user(LEADS[key](area), "practitioner")
    if db.session.get(CaseType, "walk_through") is None:   # a case type that starts nothing by itself
        db.session.add(CaseType(code="walk_through", name="Walk-through", active=True))
        db.session.commit()
    case = demo.call("POST", "/cases", lead, {"case_type": "walk_through", "title": f"{key} walk", "area": area,
                                              "people": [{"role": "victim", "given_name": "Demo",
                                                          "family_name": "Walker", "date_of_birth": "1980-01-01"}]})
    assert case.status_code == 201, case.json
    case_id = case.json["id"]
    started = demo.call("POST", f"/cases/{case_id}/processes", lead, {"key": key})
    assert started.status_code == 201 and started.json["status"] != "error", started.json
    done: list[tuple[str, str | None]] = []
    for _ in range(MAX_STEPS):
        ready = demo.call("GET", f"/tasks?case={case_id}", lead).json
        if not ready:
            break
        item = ready[0]
        groups = item["candidate_groups"]
        kind, _, rest = groups[0].partition(":")
        service = rest.partition(":")[0] if kind == "service" else kind
        expected = EXPECTED[area][service]
        if kind != "service":  # a case-specific partner (the social landlord): the lead chooses it
            assert item["organisation"] is None and item["unassigned_reason"], item
            assigned = demo.call("POST", f"/tasks/{item['id']}/assign", lead, {"organisation": expected})
            assert assigned.status_code == 200, assigned.json
            item = assigned.json
        assert item["organisation"] == expected, (key, area, item["bpmn_id"], item["organisation"],
                                                  item["unassigned_reason"])
        doer = demo.user(expected, item["required_role"])
        fields = [{"id": f["id"], "type": f["type"], "validation": f["validation"],
                   "options": [[o["id"], o["label"]] for o in f["options"]],
                   "properties": {"multiple": "true" if f["multiple"] else ""}} for f in item["form"]["fields"]]
        answers = sample_answers(fields)
        answers.update({k: v for k, v in MAIN_ROUTE.items() if k in answers})
        if key == "vulnerable_persons_panel" and item["bpmn_id"] == "review_plan":
            answers["decision"] = "close"  # the panel's review closes (its first meeting opened a plan)
        if item["bpmn_id"] == "threshold_decision":   # nothing recorded on a walk-through case: judged met
            answers.update(decision="met_discretionary", override_reason="Persistent and harmful.")
        if db.session.get(WorkItem, item["id"]).meeting_type:
            at_meeting(doer, item["id"], answers)
        else:
            response = demo.call("POST", f"/tasks/{item['id']}/complete", doer, {"data": answers})
            assert response.status_code == 200, (key, item["bpmn_id"], response.json)
        done.append((item["bpmn_id"], item["organisation"]))
    instance = db.session.get(WorkflowInstance, started.json["instance_id"])
    db.session.refresh(instance)
    assert instance.status.value in ("running", "completed"), (key, area, instance.error_message)
    assert done, f"{key}: no step was done"
    return done


@pytest.mark.parametrize("area", sorted(EXPECTED))
def test_every_shipped_process_routes_by_service_and_area(client, runner, ctx, area):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    demo = Demo(client)
    steps = {key: walk(demo, key, area) for key in LEADS}
    # The business case's complaints: victim support went to the IDVA service; Mansfield to Ashfield's panel.
    assert ("triage_referral", "victim_services") in steps["victim_referral"]
    assert steps["vulnerable_persons_panel"][0] == ("record_referral", EXPECTED[area]["community_safety"])
    assert ("panel_meeting", EXPECTED[area]["vulnerable_persons_panel"]) in steps["vulnerable_persons_panel"]
    assert ("contact_victim", "idva") in steps["marac"]
    seen = {org for walked in steps.values() for _, org in walked}
    assert {"notts_police", "victim_services", "idva", EXPECTED[area]["vulnerable_persons_panel"]} <= seen
    # The seventh shipped process: the police ask "housing" on a case in this area; the area's provider answers.
    police = demo.user("notts_police", "practitioner")
    case = demo.call("POST", "/cases", police, {"case_type": "hate_crime", "title": "request walk", "area": area})
    asked = demo.call("POST", f"/cases/{case.json['id']}/requests", police,
                      {"service": "housing", "text": "Any reports at this address?"})
    assert asked.status_code == 201, asked.json
    step = next(t for t in demo.call("GET", f"/tasks?case={case.json['id']}", police).json
                if t["id"] == asked.json["task_id"])
    assert step["organisation"] == EXPECTED[area]["housing"]
    answered = demo.call("POST", f"/tasks/{step['id']}/complete", demo.user(step["organisation"], None),
                         {"data": {"outcome": "done", "response": "None on record."}})
    assert answered.status_code == 200
