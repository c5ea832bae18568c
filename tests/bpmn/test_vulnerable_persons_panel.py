"""Walk-through of bpmn/vulnerable_persons_panel.bpmn: referral, screening, panel meeting, agency actions,
review rounds (open actions carried forward until each is completed or not achievable), escalation and closure,
each step done through the API by the agency concerned.

Dates are in 2027 (the future) so no deadline passes by itself; `walk.timers(at)` moves time on deliberately.
"""
from __future__ import annotations

from tests.bpmn.conftest import utc

KEY = "vulnerable_persons_panel"
AGENCY_ORGS = {"police": "notts_police", "housing": "city_homes", "health": "health", "fire": "notts_fire"}
PERSON = [{"role": "vulnerable_person", "given_name": "Derek", "family_name": "Moss", "date_of_birth": "1961-07-02"}]

REFERRAL = {
    "referred_on": "2027-03-01",  # a Monday
    "at_risk_now": "no",
    "referrer_agency": "council_asb",
    "referrer_contact": "ASB officer, Mansfield DC, 01623 000000",
    "person_role": "victim",
    "risk_themes": ["repeat_asb_victim", "mate_crime", "fire_risk"],
    "referrer_risk_level": "high",
    "what_has_been_tried": "Warning letters to the neighbours; housing visit; police patrols.",
    "why_panel_needed": "Risk spans housing, police, health and fire; single-agency action has not reduced it.",
    "other_processes": ["none"],
    "persons_views": "Wants to stay in his flat and for the visitors to stop.",
    "consent": "given",
    "capacity_for_decision": "has_capacity",
    "children_present": False,
    "do_not_disclose_to_perpetrator": True,
}
SCREEN_MET = {"criteria_met": True, "urgent": False, "panel_meeting_on": "2027-03-04",
              "reason_for_adding": "High risk, spans four agencies, not DA/MAPPA/s.42."}


def meeting(decision: str = "open_plan", actions_due_on: str | None = None, next_review_on: str = "2027-03-22",
            **actions) -> dict:
    data = {"attendees": "Chair (panel); PC Jones (police); H. Patel (housing); Dr Lee (health); WM Cole (fire)",
            "confidentiality_statement": True, "shared_information": "Police: 6 calls in 3 months. Housing: ...",
            "persons_views_represented": "Housing officer relayed his wishes.", "risk_rating": "high",
            "risk_description": "Exploitation by visitors; hoarding near heaters.", "lead_agency": "council",
            "decision": decision, "next_review_on": next_review_on}
    data.update({f"{k}_action": v for k, v in actions.items()})
    if actions_due_on:
        data["actions_due_on"] = actions_due_on
    return data


def review(decision: str = "further_actions", risk: str = "high", next_review_on: str = "2027-04-26",
           **extra) -> dict:
    data = {"risk_rating": risk, "progress_summary": "Actions reported.", "review_decision": decision,
            "statutory_threshold": "none", "next_review_on": next_review_on}
    data.update(extra)
    return data


CLOSURE = {"closure_reason": "risk_reduced", "reason_for_removal": "Risk now medium; housing will hold the plan.",
           "contingency_plan": "Re-refer on any new report of visitors or fire risk.", "person_informed": True}


def open_and_screen(walk, partners=("notts_police", "city_homes", "health", "notts_fire")) -> int:
    """A council-led case through referral and screening to the panel meeting."""
    walk.deploy(KEY)
    case = walk.open_case(org="mansfield", partners=partners, people=PERSON)
    walk.start(case, KEY, org="mansfield")
    walk.complete(case, "record_referral", "mansfield", REFERRAL)
    assert walk.facts(case, "vpp")["referral"].status == "open"
    walk.complete(case, "screen_referral", "mansfield", SCREEN_MET)
    return case


# The review step comes when the agenda goes out: 17:00 London on the working day before the review date.
FIRST_REVIEW_DUE = utc("2027-03-19T17:30")  # review on Monday 22 March 2027


def do_action(walk, case, code, status="done", notes="Visited; see case notes.", reason=None):
    """An agency reports on its action: open, in_progress, done or not_achievable (with `reason`)."""
    data = {f"{code}_action_status": status, f"{code}_action_notes": notes}
    if reason:
        data[f"{code}_action_reason"] = reason
    walk.complete(case, f"{code}_do_action", AGENCY_ORGS[code], data)


def form_of(walk, case, bpmn_id, org="vpp_panel") -> dict:
    """A step's read-only fields as it shows them (what the agencies reported, which actions are open)."""
    return {f["id"]: f["default"] for f in walk.step(case, bpmn_id, org)["form"]["fields"]}


def case_json(walk, case):
    response = walk.get(f"/cases/{case}", org="mansfield")
    assert response.status_code == 200, response.json
    return response.json


def test_main_route_actions_review_and_close(walk):
    case = open_and_screen(walk)
    # The panel organisation was brought onto the case by the diagram and gets the meeting.
    item = walk.step(case, "panel_meeting", "vpp_panel")
    assert item["due_at"].startswith("2027-03-04T17:00")
    walk.complete(case, "panel_meeting", "vpp_panel",
                  meeting(police="Joint visit with housing; disrupt visitors.", housing="Fit door entry system."))
    assert case_json(walk, case)["risk_level"] == "high"
    # Only the agencies with an action get a step; each action is an open panel_action fact with owner and due.
    actions = walk.facts(case, "panel_action")
    assert set(actions) == {"police-1", "housing-1"}
    assert actions["police-1"].status == "open"
    assert actions["police-1"].label.startswith("Joint visit")
    assert actions["police-1"].owner_organisation.code == "notts_police"
    assert actions["housing-1"].owner_organisation.code == "city_homes"
    # default due date: 2 working days before the review on Monday 22 March 2027
    assert actions["police-1"].due_at.isoformat().startswith("2027-03-18T17:00")
    assert "health_do_action" not in walk.ready_ids(case, "health")
    assert "fire_do_action" not in walk.ready_ids(case, "notts_fire")
    do_action(walk, case, "police", "done")
    do_action(walk, case, "housing", "not_achievable", reason="The landlord will not fit a door entry system.")
    walk.timers(utc("2027-03-19T16:30"))
    assert "review_plan" not in walk.ready_ids(case, "vpp_panel")  # waits for the agenda before the review
    walk.timers(FIRST_REVIEW_DUE)
    assert walk.step(case, "review_plan", "vpp_panel")["due_at"].startswith("2027-03-22T17:00")
    form = form_of(walk, case, "review_plan")
    assert form["police_reported"] == "reported done: Visited; see case notes."
    assert form["housing_reported"] == ("reported not_achievable: Visited; see case notes. "
                                        "(not achievable because: The landlord will not fit a door entry system.)")
    assert (form["open_actions"], form["outstanding_actions"]) == ("none", "False")
    actions = walk.facts(case, "panel_action")
    assert actions["police-1"].status == "done" and actions["police-1"].completed_at is not None
    # not achievable is the reporting convention's not_done, with the reason kept
    assert actions["housing-1"].status == "not_done" and actions["housing-1"].completed_at is not None
    assert actions["housing-1"].details["reason"] == "The landlord will not fit a door entry system."
    walk.complete(case, "review_plan", "vpp_panel", review("close", risk="low"))
    assert case_json(walk, case)["risk_level"] == "standard"
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "close_case_too": True})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "vpp")["referral"].status == "closed_risk_reduced"
    assert case_json(walk, case)["status"] == "closed"


def test_criteria_not_met_is_redirected_after_a_late_screening_is_chased(walk):
    walk.deploy(KEY)
    case = walk.open_case(org="mansfield", people=PERSON)
    walk.start(case, KEY, org="mansfield")
    walk.complete(case, "record_referral", "mansfield", REFERRAL)
    item = walk.step(case, "screen_referral", "mansfield")
    assert item["due_at"].startswith("2027-03-03T17:00")  # 2 working days after Monday 1 March
    walk.timers(utc("2027-03-03T16:00"))
    assert "chase_screening" not in walk.ready_ids(case, "mansfield")
    walk.timers(utc("2027-03-03T17:30"))
    chase = walk.step(case, "chase_screening", "mansfield")
    assert chase["required_role"] == "manager"
    walk.complete(case, "chase_screening", "mansfield", role="manager")
    walk.complete(case, "screen_referral", "mansfield",
                  {"criteria_met": False, "redirect_to": "marac", "advice_to_referrer": "High-risk DA: refer to MARAC.",
                   "reason_for_adding": "Domestic abuse at high risk belongs at MARAC."})
    assert walk.status(case, KEY) == "completed"
    fact = walk.facts(case, "vpp")["referral"]
    assert fact.status == "redirected" and fact.details["redirect_to"] == "marac"
    assert walk.facts(case, "panel_action") == {}


def test_late_action_and_late_review_go_to_managers(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel",
                  meeting(health="GP review of medication.", fire="Safe and well visit.", actions_due_on="2027-03-12"))
    assert walk.facts(case, "panel_action")["fire-1"].due_at.isoformat().startswith("2027-03-12T17:00")
    assert walk.step(case, "fire_do_action", "notts_fire")["due_at"].startswith("2027-03-12T17:00")
    walk.timers(utc("2027-03-12T16:59"))
    assert "chase_fire" not in walk.ready_ids(case, "notts_fire")
    walk.timers(utc("2027-03-15T09:00"))
    for code in ("health", "fire"):
        chase = walk.step(case, f"chase_{code}", AGENCY_ORGS[code])
        assert chase["required_role"] == "manager"
    walk.complete(case, "chase_fire", "notts_fire", role="manager")
    do_action(walk, case, "fire")
    do_action(walk, case, "health")
    walk.complete(case, "chase_health", "health", role="manager")
    walk.timers(FIRST_REVIEW_DUE)
    # the review is due by the end of the review day; after that the panel chair is asked to chase it
    assert walk.step(case, "review_plan", "vpp_panel")["due_at"].startswith("2027-03-22T17:00")
    walk.timers(utc("2027-03-22T16:59"))
    assert "chase_review" not in walk.ready_ids(case, "vpp_panel")
    walk.timers(utc("2027-03-22T17:30"))
    assert walk.step(case, "chase_review", "vpp_panel")["required_role"] == "manager"
    walk.complete(case, "chase_review", "vpp_panel", role="manager")
    walk.complete(case, "review_plan", "vpp_panel", review("close", risk="medium"))
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "close_case_too": False})
    assert walk.status(case, KEY) == "completed"
    assert case_json(walk, case)["status"] == "open"
    assert {c: f.status for c, f in walk.facts(case, "panel_action").items()} == {"health-1": "done",
                                                                                  "fire-1": "done"}


def test_review_loops_then_escalates_after_three_high_risk_rounds(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel", meeting(fire="Safe and well visit."))
    do_action(walk, case, "fire")
    walk.timers(FIRST_REVIEW_DUE)
    # round 2: further actions for health, review on Monday 26 April
    walk.complete(case, "review_plan", "vpp_panel", review(health_action="Mental health assessment."))
    assert walk.facts(case, "panel_action")["health-2"].status == "open"
    do_action(walk, case, "health")
    walk.timers(utc("2027-04-23T17:00"))
    # round 3: further actions for police and housing, review on Monday 24 May
    walk.complete(case, "review_plan", "vpp_panel",
                  review(police_action="Closure order application.", housing_action="Management move offer.",
                         next_review_on="2027-05-24"))
    do_action(walk, case, "police")
    do_action(walk, case, "housing", "not_achievable", reason="No management move available this quarter.")
    walk.timers(utc("2027-05-21T17:00"))
    # still high after 3 rounds: the panel asks for further actions, but the rule escalates
    walk.complete(case, "review_plan", "vpp_panel", review(police_action="Another patrol.", next_review_on="2027-06-21"))
    assert "police-4" not in walk.facts(case, "panel_action")
    assert walk.status(case, KEY) == "running"
    esc = walk.step(case, "escalate_case", "vpp_panel")
    assert esc["required_role"] == "manager"
    walk.complete(case, "escalate_case", "vpp_panel",
                  {"escalated_to": "senior_risk_panel", "escalation_reason": "High after three rounds.",
                   "requested_decision": "Senior agency commitment to a management move.",
                   "response_due_on": "2027-06-11"}, role="manager")
    fact = walk.facts(case, "vpp")["escalation-3"]
    assert fact.status == "open" and fact.due_at.isoformat().startswith("2027-06-11")
    assert walk.step(case, "escalation_response", "vpp_panel")["due_at"].startswith("2027-06-11")
    walk.complete(case, "escalation_response", "vpp_panel",
                  {"senior_response": "Housing director agrees a management move.",
                   "escalation_outcome": "further_actions", "panel_meeting_on": "2027-06-17"}, role="manager")
    assert walk.facts(case, "vpp")["escalation-3"].status == "answered_further_actions"
    # the panel reconvenes and agrees round 4
    assert walk.step(case, "panel_meeting", "vpp_panel")["due_at"].startswith("2027-06-17")
    walk.complete(case, "panel_meeting", "vpp_panel",
                  meeting(housing="Complete the management move.", next_review_on="2027-07-19"))
    do_action(walk, case, "housing")
    walk.timers(utc("2027-07-16T17:00"))
    walk.complete(case, "review_plan", "vpp_panel", review("close", risk="low"))
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "close_case_too": False})
    assert walk.status(case, KEY) == "completed"
    assert set(walk.facts(case, "panel_action")) == {"fire-1", "health-2", "police-3", "housing-3", "housing-4"}
    assert walk.facts(case, "panel_action")["housing-3"].status == "not_done"


def test_meeting_escalates_and_the_senior_forum_closes(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel", meeting("escalate"))
    walk.complete(case, "escalate_case", "vpp_panel",
                  {"escalated_to": "safeguarding_adults_board", "escalation_reason": "Capacitous refusal, high risk.",
                   "requested_decision": "Accept the risk or direct a s.42 enquiry.",
                   "response_due_on": "2027-03-19"}, role="manager")
    walk.complete(case, "escalation_response", "vpp_panel",
                  {"senior_response": "Risk accepted and documented.", "escalation_outcome": "close"}, role="manager")
    assert walk.facts(case, "vpp")["escalation-0"].status == "answered_close"
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "closure_reason": "capacitous_refusal"})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "vpp")["referral"].status == "closed_capacitous_refusal"


def test_meeting_redirects_to_a_statutory_process(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel", meeting("redirect_statutory"))
    assert walk.facts(case, "panel_action") == {}
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "closure_reason": "transferred_statutory"})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "vpp")["referral"].status == "closed_transferred_statutory"


def test_review_closes_when_a_statutory_threshold_is_met(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel", meeting(police="Welfare check."))
    do_action(walk, case, "police")
    walk.timers(FIRST_REVIEW_DUE)
    walk.complete(case, "review_plan", "vpp_panel",
                  review("further_actions", statutory_threshold="s42_enquiry", police_action="Ignored."))
    walk.step(case, "closure", "mansfield")
    assert "police-2" not in walk.facts(case, "panel_action")
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "closure_reason": "transferred_statutory"})
    assert walk.status(case, KEY) == "completed"


def test_blocked_actions_escalate_and_a_plan_without_actions_goes_straight_to_review(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel", meeting())  # an action plan with no agency actions
    assert walk.facts(case, "panel_action") == {}
    walk.timers(FIRST_REVIEW_DUE)
    walk.complete(case, "review_plan", "vpp_panel", review(risk="medium", actions_blocked=True))
    walk.step(case, "escalate_case", "vpp_panel")


def test_an_action_nobody_provides_is_assigned_by_the_lead(walk):
    case = open_and_screen(walk, partners=("notts_police",))
    walk.withdraw("fire")
    walk.complete(case, "panel_meeting", "vpp_panel", meeting(fire="Safe and well visit."))
    waiting = [t for t in walk.ready(case, "mansfield") if t["bpmn_id"] == "fire_do_action"]
    assert len(waiting) == 1 and waiting[0]["organisation"] is None and waiting[0]["unassigned_reason"]
    walk.assign(case, "fire_do_action", "notts_fire", by="mansfield")
    do_action(walk, case, "fire")
    assert walk.facts(case, "panel_action")["fire-1"].status == "done"


def test_closing_with_an_unreported_action_is_refused_until_the_agency_reports(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel", meeting(police="Welfare check."))
    walk.timers(FIRST_REVIEW_DUE)  # the police action is overdue too: its manager is asked to chase it
    assert walk.step(case, "chase_police", "notts_police")["required_role"] == "manager"
    assert "police_do_action" not in walk.ready_ids(case, "notts_police")  # this round's step closed with the agenda
    assert form_of(walk, case, "review_plan")["police_reported"] == "nothing reported this round: stays open"
    # The panel cannot close while the police action is open: the review comes back.
    walk.complete(case, "review_plan", "vpp_panel", review("close", risk="medium"))
    assert "closure" not in walk.ready_ids(case, "mansfield")
    assert form_of(walk, case, "review_plan")["open_actions"] == "Police"
    # Carried forward: Police gets its action again for the next review (Monday 19 April: due Thursday 15 April).
    walk.complete(case, "review_plan", "vpp_panel", review(risk="medium", next_review_on="2027-04-19"))
    assert walk.step(case, "police_do_action", "notts_police")["due_at"].startswith("2027-04-15T16:00")
    do_action(walk, case, "police", "not_achievable", "Not at the address.", reason="He has moved out of the area.")
    walk.timers(utc("2027-04-16T16:30"))
    walk.complete(case, "review_plan", "vpp_panel", review("close", risk="medium"))
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "closure_reason": "moved_area"})
    assert walk.status(case, KEY) == "completed"
    assert not {"police_do_action", "chase_police"} & walk.ready_ids(case, "notts_police")
    police = walk.facts(case, "panel_action")["police-1"]
    assert police.status == "not_done" and police.details["reason"] == "He has moved out of the area."
    assert walk.facts(case, "vpp")["referral"].status == "closed_moved_area"


def test_an_action_in_progress_is_carried_forward_and_escalates_after_two_carry_forwards(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel",
                  meeting(police="Joint visits to disrupt the visitors.", housing="Fit a door entry system."))
    do_action(walk, case, "police", "in_progress", "First visit done; a second is booked.")
    do_action(walk, case, "housing", "done", "Door entry fitted.")
    walk.timers(FIRST_REVIEW_DUE)
    form = form_of(walk, case, "review_plan")
    assert form["police_reported"] == "reported in_progress: First visit done; a second is booked."
    assert (form["police_action_state"], form["housing_action_state"], form["fire_action_state"]) == (
        "in_progress", "done", None)
    assert (form["open_actions"], form["outstanding_actions"]) == ("Police", "True")
    # Police's action is still open, so it cannot be given a new one: the review comes back.
    walk.complete(case, "review_plan", "vpp_panel", review(next_review_on="2027-03-31", police_action="Patrols."))
    assert "police_do_action" not in walk.ready_ids(case, "notts_police")
    walk.step(case, "review_plan", "vpp_panel")
    # Carried forward to the review on Wednesday 31 March 2027: the action is due 2 working days before, which
    # crosses Easter (Good Friday 26, Easter Monday 29 March) - Thursday 25 March, 17:00 GMT.
    walk.complete(case, "review_plan", "vpp_panel", review(next_review_on="2027-03-31"))
    assert walk.step(case, "police_do_action", "notts_police")["due_at"] == "2027-03-25T17:00:00+00:00"
    assert "escalate_case" not in walk.ready_ids(case, "vpp_panel")  # the first carry-forward
    actions = walk.facts(case, "panel_action")
    assert set(actions) == {"police-1", "housing-1"}  # the same action, not a new one
    police = actions["police-1"]
    assert (police.status, police.details["carried_forward"], police.details["round"]) == ("open", True, 2)
    assert police.due_at.isoformat().startswith("2027-03-25T17:00")
    assert actions["housing-1"].status == "done"

    # Police reports nothing this round. The agenda goes out on Tuesday 30 March (17:00 BST), and not before.
    walk.timers(utc("2027-03-30T15:59"))
    assert "review_plan" not in walk.ready_ids(case, "vpp_panel")
    walk.timers(utc("2027-03-30T16:01"))
    assert "police_do_action" not in walk.ready_ids(case, "notts_police")
    form = form_of(walk, case, "review_plan")
    assert form["police_reported"] == "nothing reported this round: stays in_progress"
    assert form["housing_reported"] == "closed earlier: done"
    walk.complete(case, "review_plan", "vpp_panel", review(next_review_on="2027-04-26"))
    # The second consecutive carry-forward escalates to a senior forum: a step for the panel's manager.
    escalation = walk.step(case, "escalate_case", "vpp_panel")
    assert escalation["required_role"] == "manager"
    assert "police_do_action" not in walk.ready_ids(case, "notts_police")
    assert walk.facts(case, "panel_action")["police-1"].status == "open"


def test_not_achievable_needs_a_reason_and_nothing_closes_while_an_action_is_open(walk):
    case = open_and_screen(walk)
    walk.complete(case, "panel_meeting", "vpp_panel", meeting(police="Welfare visits twice a week."))
    do_action(walk, case, "police", "in_progress", "Visits started.")
    walk.timers(FIRST_REVIEW_DUE)
    walk.complete(case, "review_plan", "vpp_panel", review("escalate", next_review_on="2027-04-19"))
    walk.complete(case, "escalate_case", "vpp_panel",
                  {"escalated_to": "senior_risk_panel", "escalation_reason": "Refuses support; high risk.",
                   "requested_decision": "Accept the risk or direct a s.42 enquiry.",
                   "response_due_on": "2027-04-02"}, role="manager")
    # The senior forum cannot close the case while the police action is open: the step comes back.
    walk.complete(case, "escalation_response", "vpp_panel",
                  {"senior_response": "Close it.", "escalation_outcome": "close"}, role="manager")
    assert form_of(walk, case, "escalation_response")["open_actions"] == "Police"
    walk.complete(case, "escalation_response", "vpp_panel",
                  {"senior_response": "Reconvene and keep the visits going.", "escalation_outcome": "further_actions",
                   "panel_meeting_on": "2027-04-08"}, role="manager")
    # Nor can the reconvened panel close it, or give Police a second action.
    walk.complete(case, "panel_meeting", "vpp_panel", meeting("close"))
    assert form_of(walk, case, "panel_meeting")["open_actions"] == "Police"
    walk.complete(case, "panel_meeting", "vpp_panel", meeting(police="Something else."))
    walk.step(case, "panel_meeting", "vpp_panel")
    # An action plan with the police action carried into it; the review is on Tuesday 4 May 2027, after the early
    # May bank holiday, so the action is due on Thursday 29 April (17:00 BST).
    walk.complete(case, "panel_meeting", "vpp_panel", meeting(next_review_on="2027-05-04"))
    assert walk.step(case, "police_do_action", "notts_police")["due_at"] == "2027-04-29T16:00:00+00:00"
    # "Not achievable" without a reason is routed back to Police.
    do_action(walk, case, "police", "not_achievable", "He will not let us in.")
    back = form_of(walk, case, "police_do_action", "notts_police")
    assert back["police_action_check"].startswith("A reason is needed")
    assert walk.facts(case, "panel_action")["police-1"].status == "open"
    do_action(walk, case, "police", "not_achievable", "He will not let us in.",
              reason="Capacitous refusal of visits, recorded with his reasons.")
    walk.timers(utc("2027-04-30T16:30"))  # the agenda goes out on Friday 30 April
    form = form_of(walk, case, "review_plan")
    assert (form["outstanding_actions"], form["police_action_state"]) == ("False", "not_achievable")
    walk.complete(case, "review_plan", "vpp_panel", review("close", risk="medium"))
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "closure_reason": "capacitous_refusal"})
    assert walk.status(case, KEY) == "completed"
    police = walk.facts(case, "panel_action")["police-1"]
    assert (police.status, police.details["reported"]) == ("not_done", "not_achievable")
    assert police.details["reason"] == "Capacitous refusal of visits, recorded with his reasons."
    assert police.completed_at is not None
    assert walk.facts(case, "vpp")["escalation-1"].status == "answered_further_actions"
    assert walk.facts(case, "vpp")["referral"].status == "closed_capacitous_refusal"


def test_starts_by_itself_for_a_vulnerable_person_case(walk):
    walk.deploy(KEY)
    case = walk.open_case(org="mansfield", case_type="vulnerable_person", partners=("notts_police",), people=PERSON)
    walk.step(case, "record_referral", "mansfield")
    assert walk.status(case, KEY) == "running"


def test_at_risk_now_at_referral_gives_the_police_and_the_manager_a_step_at_once(walk):
    walk.deploy(KEY, "risk_to_life")
    case = walk.open_case(org="mansfield", case_type="vulnerable_person", partners=(), people=PERSON)
    if "record_referral" not in walk.ready_ids(case, "mansfield"):
        walk.start(case, KEY, org="mansfield")
    walk.complete(case, "record_referral", "mansfield", {**REFERRAL, "at_risk_now": "yes",
                                                          "risk_now_details": "Visitors threatening to burn the flat."})
    assert walk.step(case, "police_respond", "notts_police")["title"] == "Respond now: risk to life"
    assert walk.step(case, "manager_check", "mansfield")["required_role"] == "manager"
