"""Walk-through of bpmn/multi_agency_case.bpmn, the general process for case types without one of their own: the
lead organisation records the concern and agrees a plan, each agency with an action reports on it (a
multi-instance step per agency), the lead reviews; open actions are carried forward, an action carried forward
twice in a row goes to the lead organisation's managers, and the plan closes with a reason (the Casebook case
stays open). The lead may also refer the case to a panel, which discusses it at its next meeting while the plan goes
on (tests/bpmn/meeting_walk.py holds the meeting). Every step through the API, by the organisation it went to.

Dates are in 2027 so that no deadline passes by itself: timers fire only through walk.timers(at).
"""
from __future__ import annotations

from sqlalchemy import select

from casework import meetings
from models import WorkflowInstance, db
from tests.bpmn import meeting_walk as mw
from tests.bpmn.conftest import utc

KEY = "multi_agency_case"
POLICE, COUNCIL, HOUSING, HEALTH, FIRE, PROBATION = (
    "notts_police", "mansfield", "city_homes", "health", "notts_fire", "probation")
ORG = {"policing": POLICE, "housing": HOUSING, "health": HEALTH, "fire": FIRE, "probation": PROBATION,
       "community_safety": COUNCIL, "victim_support": "victim_care"}


def start(walk, lead: str, lead_type: str, case_type: str = "iom") -> int:
    """A case of `case_type` led by `lead` with the plan running and the concern recorded."""
    walk.deploy(KEY)
    case = walk.open_case(org=lead, case_type=case_type)
    db.session.expire_all()
    running = db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == case)).all()
    if not [i for i in running if i.definition.key == KEY]:
        walk.start(case, KEY, org=lead)
    first = walk.step(case, "record_concern", lead)
    assert first["candidate_groups"] == [] and first["lane"] is None
    walk.complete(case, "record_concern", lead, {
        "lead_agency": lead_type, "concern_raised_on": "2027-03-01", "concern_raised_by": "Neighbourhood team",
        "concern_summary": "Prolific offender released; housing at risk.", "person_views": "Wants a fresh start."})
    return case


def plan(due: str = "2027-03-12", **actions) -> dict:
    """agree_plan answers: plan(policing="Patrol", housing=("Visit", "2027-03-10"))."""
    data = {"plan_services": list(actions), "actions_due_on": due}
    for service, action in actions.items():
        text, own_due = action if isinstance(action, tuple) else (action, None)
        data[f"{service}_action"] = text
        if own_due:
            data[f"{service}_due_on"] = own_due
    return data


def report(walk, case, service: str, state: str = "done", reason: str | None = None) -> None:
    data = {"action_state": state, "action_update": f"{service}: update"}
    if reason:
        data["not_achievable_reason"] = reason
    steps = [t for t in walk.ready(case, ORG[service]) if t["bpmn_id"] == "report_action"
             and t["candidate_groups"] == [f"service:{service}"]]
    assert len(steps) == 1, [(t["bpmn_id"], t["candidate_groups"]) for t in walk.ready(case, ORG[service])]
    item = steps[0]
    assert item["organisation"] == ORG[service], (item["organisation"], item["unassigned_reason"])
    response = walk.post(f"/tasks/{item['id']}/complete", {"data": data}, org=ORG[service])
    assert response.status_code == 200, response.json


def report_steps(walk, case, lead) -> dict[str, dict]:
    """The ready report steps, by service."""
    return {t["candidate_groups"][0].split(":")[1]: t for t in walk.ready(case, lead) if t["bpmn_id"] == "report_action"}


def facts(walk, case):
    return walk.facts(case, "case_plan")


def case_json(walk, case, org):
    response = walk.get(f"/cases/{case}", org=org)
    assert response.status_code == 200, response.json
    return response.json


CLOSE = {"close_reason": "objectives_met", "close_summary": "Housed, engaging with probation."}


def test_one_round_each_agency_reports_and_the_plan_closes(walk):
    case = start(walk, POLICE, "police")
    fact = facts(walk, case)["outcome"]
    assert fact.status == "open" and fact.owner_organisation.code == POLICE
    assert fact.details["case_type"] == "iom"
    walk.complete(case, "agree_plan", POLICE, plan(probation="Licence appointment weekly.",
                                                   housing=("Find a tenancy.", "2027-03-10"),
                                                   health="Substance misuse referral."))
    steps = report_steps(walk, case, POLICE)
    assert {s: t["organisation"] for s, t in steps.items()} == {"probation": PROBATION, "housing": HOUSING,
                                                                 "health": HEALTH}
    assert steps["housing"]["due_at"].startswith("2027-03-10T17:00")    # its own date
    assert steps["probation"]["due_at"].startswith("2027-03-12T17:00")  # the plan's date
    shown = {f["id"]: f["default"] for f in steps["housing"]["form"]["fields"]}
    assert shown["action_shown"] == "Find a tenancy." and shown["action_due_shown"] == "2027-03-10"
    action = facts(walk, case)["action-1-housing"]
    assert (action.status, action.label, action.owner_organisation.code) == ("open", "Find a tenancy.", HOUSING)
    assert action.due_at.isoformat().startswith("2027-03-10T17:00")
    for service in ("probation", "housing"):
        report(walk, case, service)
    assert "review_plan" not in walk.ready_ids(case, POLICE)   # health has not reported yet
    report(walk, case, "health")
    review = walk.step(case, "review_plan", POLICE)
    summary = next(f for f in review["form"]["fields"] if f["id"] == "round_summary")["default"]
    assert "Probation: done. probation: update" in summary and "Health: done" in summary
    walk.complete(case, "review_plan", POLICE, {"review_notes": "All done.", "review_decision": "close"})
    walk.complete(case, "close_plan", POLICE, CLOSE)
    assert walk.status(case, KEY) == "completed"
    assert {c: f.status for c, f in facts(walk, case).items()} == {
        "outcome": "objectives_met", "action-1-probation": "done", "action-1-housing": "done",
        "action-1-health": "done"}
    assert facts(walk, case)["outcome"].details["rounds"] == 1
    assert case_json(walk, case, POLICE)["status"] == "open"   # the lead closes the Casebook case itself


def test_carry_forward_reason_required_and_escalation_after_two_carry_forwards(walk):
    case = start(walk, COUNCIL, "council", case_type="hmo")
    walk.complete(case, "agree_plan", COUNCIL, plan(policing="Joint visit with licensing.",
                                                    fire="Fire risk inspection."))
    report(walk, case, "policing", "in_progress")
    # Not achievable without a reason: the agency is asked for the reason before the review.
    report(walk, case, "fire", "not_achievable")
    reason = walk.step(case, "give_reason", FIRE)
    assert reason["candidate_groups"] == ["service:fire"]
    assert "review_plan" not in walk.ready_ids(case, COUNCIL)
    walk.complete(case, "give_reason", FIRE, {"not_achievable_reason": "No power of entry: landlord refuses."})
    fire = facts(walk, case)["action-1-fire"]
    assert fire.status == "not_achievable" and fire.details["reason"] == "No power of entry: landlord refuses."
    police = facts(walk, case)["action-1-policing"]
    assert police.status == "open" and police.details["state"] == "in_progress"
    walk.complete(case, "review_plan", COUNCIL, {"review_notes": "Police visit pending.", "review_decision": "continue"})

    # Round 2: the police action is carried forward by itself (same fact, new due date), housing gets a new one.
    walk.complete(case, "agree_plan", COUNCIL, plan("2027-03-26", housing="Serve an improvement notice."))
    assert set(report_steps(walk, case, COUNCIL)) == {"housing", "policing"}
    shown = {f["id"]: f["default"] for f in report_steps(walk, case, COUNCIL)["policing"]["form"]["fields"]}
    assert shown["action_shown"] == "Joint visit with licensing."
    police = facts(walk, case)["action-1-policing"]
    assert police.status == "open" and police.details["carried_times"] == 1
    assert police.due_at.isoformat().startswith("2027-03-26T17:00")
    assert "escalate_stalled_plan" not in walk.ready_ids(case, COUNCIL)   # carried forward once
    report(walk, case, "housing")
    report(walk, case, "policing", "in_progress")
    walk.complete(case, "review_plan", COUNCIL, {"review_notes": "Police still pending.", "review_decision": "continue"})

    # Round 3: carried forward a second time in a row: the lead organisation's managers get the stalled plan,
    # while the police carry on.
    walk.complete(case, "agree_plan", COUNCIL, plan("2027-04-09"))
    escalation = walk.step(case, "escalate_stalled_plan", COUNCIL)
    assert escalation["required_role"] == "manager" and escalation["candidate_groups"] == ["council:manager"]
    fact = facts(walk, case)["escalation-3"]
    assert fact.status == "open" and fact.details["carry_forwards"] == 2
    assert fact.details["carried_forward"] == ["policing"]
    assert set(report_steps(walk, case, COUNCIL)) == {"policing"}
    assert facts(walk, case)["action-1-policing"].due_at.isoformat().startswith("2027-04-09T16:00")
    walk.complete(case, "escalate_stalled_plan", COUNCIL,
                  {"escalated_to": "agency_managers", "escalation_action": "Inspector agreed a date."},
                  role="manager")
    assert facts(walk, case)["escalation-3"].status == "escalated"
    report(walk, case, "policing", "done")
    walk.complete(case, "review_plan", COUNCIL, {"review_notes": "Done.", "review_decision": "close"})
    walk.complete(case, "close_plan", COUNCIL, {**CLOSE, "close_reason": "risk_reduced"})
    assert walk.status(case, KEY) == "completed"
    assert {c: f.status for c, f in facts(walk, case).items()} == {
        "outcome": "risk_reduced", "action-1-policing": "done", "action-1-fire": "not_achievable",
        "action-2-housing": "done", "escalation-3": "escalated"}
    assert facts(walk, case)["outcome"].details["rounds"] == 3


def test_a_finished_action_resets_the_carry_forward_count(walk):
    case = start(walk, POLICE, "police", case_type="street_drinkers")
    walk.complete(case, "agree_plan", POLICE, plan(community_safety="Designate a public spaces order area."))
    assert report_steps(walk, case, POLICE)["community_safety"]["organisation"] == COUNCIL
    report(walk, case, "community_safety", "in_progress")
    walk.complete(case, "review_plan", POLICE, {"review_notes": "-", "review_decision": "continue"})
    walk.complete(case, "agree_plan", POLICE, plan("2027-03-26"))
    report(walk, case, "community_safety", "done")          # carried once, then done
    walk.complete(case, "review_plan", POLICE, {"review_notes": "-", "review_decision": "continue"})
    # A new action for the same agency is a new action (new code), not a third carry-forward.
    walk.complete(case, "agree_plan", POLICE, plan("2027-04-09", community_safety="Outreach with health."))
    report(walk, case, "community_safety", "in_progress")
    walk.complete(case, "review_plan", POLICE, {"review_notes": "-", "review_decision": "continue"})
    walk.complete(case, "agree_plan", POLICE, plan("2027-04-23"))
    assert "escalate_stalled_plan" not in walk.ready_ids(case, POLICE)
    assert facts(walk, case)["action-3-community_safety"].details["carried_times"] == 1
    assert facts(walk, case)["action-1-community_safety"].status == "done"


def test_missing_updates_are_chased_after_the_last_due_date_and_a_gap_is_assigned(walk):
    case = start(walk, COUNCIL, "council", case_type="licensed_premises")
    # Nobody provides the ASB team service here: that step waits for the lead to give it to someone.
    walk.complete(case, "agree_plan", COUNCIL, plan("2027-04-30", policing="Test purchase operation.",
                                                    asb_team="Warning letter to the premises."))
    gap = report_steps(walk, case, COUNCIL)["asb_team"]
    assert gap["organisation"] is None and gap["unassigned_reason"]
    assigned = walk.post(f"/tasks/{gap['id']}/assign", {"organisation": COUNCIL}, org=COUNCIL)
    assert assigned.status_code == 200 and assigned.json["organisation"] == COUNCIL, assigned.json
    # Due Friday 30 April 2027; Monday 3 May is a bank holiday, so the lead is asked to chase at the end of
    # Tuesday 4 May (17:00 London, BST).
    walk.timers(utc("2027-05-04T15:59"))
    assert "chase_updates" not in walk.ready_ids(case, COUNCIL)
    walk.timers(utc("2027-05-04T16:01"))
    chase = walk.step(case, "chase_updates", COUNCIL)
    assert chase["candidate_groups"] == []
    walk.complete(case, "chase_updates", COUNCIL, {"chase_notes": "Phoned the licensing sergeant."})
    report(walk, case, "policing", "done")
    steps = [t for t in walk.ready(case, COUNCIL) if t["bpmn_id"] == "report_action"]
    response = walk.post(f"/tasks/{steps[0]['id']}/complete",
                         {"data": {"action_state": "done", "action_update": "Letter sent."}}, org=COUNCIL)
    assert response.status_code == 200, response.json
    assert facts(walk, case)["action-1-asb_team"].status == "done"
    walk.step(case, "review_plan", COUNCIL)


def test_a_round_without_actions_goes_straight_to_the_review(walk):
    case = start(walk, POLICE, "police", case_type="acquisitive_crime")
    walk.complete(case, "agree_plan", POLICE, plan())
    review = walk.step(case, "review_plan", POLICE)
    summary = next(f for f in review["form"]["fields"] if f["id"] == "round_summary")["default"]
    assert summary == "No agency had an action this round."
    walk.complete(case, "review_plan", POLICE, {"review_notes": "Nothing for partners.", "review_decision": "close"})
    walk.complete(case, "close_plan", POLICE, {**CLOSE, "close_reason": "transferred"})
    assert walk.status(case, KEY) == "completed"
    assert set(facts(walk, case)) == {"outcome"} and facts(walk, case)["outcome"].status == "transferred"


REFERRAL = {"panel": "vulnerable_persons_panel", "panel_reason": "Family at risk of eviction; four agencies involved."}


def test_the_lead_refers_the_case_to_a_panel_and_the_plan_goes_on(walk):
    walk.deploy("panel_action")
    case = start(walk, COUNCIL, "council", case_type="troubled_families")
    step = walk.step(case, "agree_plan", COUNCIL)
    refused = walk.post(f"/tasks/{step['id']}/complete",
                        {"data": {**plan(housing="Tenancy support."), "panel": "vulnerable_persons_panel"}}, org=COUNCIL)
    assert refused.status_code == 422 and "panel_reason" in refused.json["errors"]   # a referral needs its reason
    walk.complete(case, "agree_plan", COUNCIL, {**plan(housing="Tenancy support."), **REFERRAL})
    # The plan goes on (housing reports on its action) while the case waits for the panel's next meeting.
    assert set(report_steps(walk, case, COUNCIL)) == {"housing"}
    waiting = walk.step(case, "discuss_at_panel", "vpp_panel")
    assert waiting["candidate_groups"] == ["service:vulnerable_persons_panel"]
    mw.not_from_my_work(walk, case, "discuss_at_panel", "vpp_panel", {"panel_outcome": "x"})
    referral = facts(walk, case)["panel-1"]
    assert (referral.status, referral.details["panel"]) == ("open", "vulnerable_persons_panel")
    meeting = mw.schedule("vulnerable_persons_panel", "2027-03-11", invite=(COUNCIL, HOUSING, HEALTH))
    assert mw.entry(meeting, case).reason == REFERRAL["panel_reason"]
    mw.hear(meeting, case, {"panel_outcome": "Support the plan; health to review the children."},
            actions=((HEALTH, "GP review of the children.", "2027-03-25"),))
    referral = facts(walk, case)["panel-1"]
    assert referral.status == "discussed" and referral.completed_at is not None
    assert referral.details["meeting_held_on"] == "2027-03-11" and referral.details["actions_agreed"] == 1
    # The panel's action is its own (a step for health, carried forward by the panel's meetings while open).
    mw.report(walk, case, HEALTH, "done", "Reviewed by the GP.")
    assert meetings.summary(case, "vulnerable_persons_panel") == {"open": 0, "done": 1, "not_achievable": 0,
                                                                   "carried": 0}
    report(walk, case, "housing")
    walk.complete(case, "review_plan", COUNCIL, {"review_notes": "Housed; panel advice followed.",
                                                 "review_decision": "close"})
    walk.complete(case, "close_plan", COUNCIL, CLOSE)
    assert walk.status(case, KEY) == "completed"
    assert facts(walk, case)["outcome"].status == "objectives_met"


def test_a_panel_nobody_provides_here_waits_for_the_lead_and_the_plan_goes_on(walk):
    case = start(walk, POLICE, "police", case_type="cse")
    walk.complete(case, "agree_plan", POLICE, {**plan(), "panel": "complex_persons_panel",
                                               "panel_reason": "Exploitation across three agencies."})
    (waiting,) = [t for t in walk.ready(case, POLICE) if t["bpmn_id"] == "discuss_at_panel"]
    assert waiting["organisation"] is None and waiting["unassigned_reason"]
    walk.step(case, "review_plan", POLICE)   # a round without actions goes straight to the review
    assert walk.status(case, KEY) == "running"
