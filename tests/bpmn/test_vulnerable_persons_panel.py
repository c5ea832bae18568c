"""Walk-through of bpmn/vulnerable_persons_panel.bpmn: referral, screening, the case heard at the panel's next
meeting (actions agreed there, each a step for its owner), reviews at the following meetings while actions are
open or the risk stays (open actions carried forward by the meetings), escalation and closure, each step done
through the API by the agency concerned and each meeting held by the panel (tests/bpmn/meeting_walk.py).

Dates are in 2027 (the future) so no deadline passes by itself; `walk.timers(at)` moves time on deliberately.
"""
from __future__ import annotations

from casework import meetings
from tests.bpmn import meeting_walk as mw
from tests.bpmn.conftest import utc

KEY = "vulnerable_persons_panel"
TYPE = "vulnerable_persons_panel"
INVITED = ("mansfield", "notts_police", "city_homes", "health", "notts_fire")
PERSON = [{"role": "vulnerable_person", "given_name": "Derek", "family_name": "Moss", "date_of_birth": "1961-07-02"}]
DATES = ("2027-03-04", "2027-03-22", "2027-04-26", "2027-05-24", "2027-06-21")   # the panel's meetings

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
SCREEN_MET = {"criteria_met": True, "urgent": False,
              "reason_for_adding": "High risk, spans four agencies, not DA/MAPPA/s.42."}


def heard(decision: str = "open_plan", risk: str = "high") -> dict:
    """The first meeting's answers."""
    return {"persons_views_represented": "Housing officer relayed his wishes.", "risk_rating": risk,
            "risk_description": "Exploitation by visitors; hoarding near heaters.", "lead_agency": "council",
            "decision": decision}


def review(decision: str = "further_actions", risk: str = "high", **extra) -> dict:
    """A review's answers."""
    return {"risk_rating": risk, "decision": decision, "statutory_threshold": "none", **extra}


CLOSURE = {"closure_reason": "risk_reduced", "reason_for_removal": "Risk now medium; housing will hold the plan.",
           "contingency_plan": "Re-refer on any new report of visitors or fire risk.", "person_informed": True}
ESCALATION = {"escalated_to": "senior_risk_panel", "escalation_reason": "Still high.",
              "requested_decision": "Senior agency commitment to a management move.", "response_due_on": "2027-06-11"}


def open_and_screen(walk, partners=("notts_police", "city_homes", "health", "notts_fire"), screen=None) -> int:
    """A council-led case through referral and screening, listed for the panel's next meeting."""
    walk.deploy("panel_action", KEY)
    case = walk.open_case(org="mansfield", partners=partners, people=PERSON)
    walk.start(case, KEY, org="mansfield")
    walk.complete(case, "record_referral", "mansfield", REFERRAL)
    assert walk.facts(case, "vpp")["referral"].status == "open"
    walk.complete(case, "screen_referral", "mansfield", screen or SCREEN_MET)
    return case


def meeting(n: int):
    """The panel's n-th meeting (1 = 4 March 2027)."""
    return mw.schedule(TYPE, DATES[n - 1], invite=INVITED)


def case_json(walk, case):
    response = walk.get(f"/cases/{case}", org="mansfield")
    assert response.status_code == 200, response.json
    return response.json


def test_main_route_actions_review_and_close(walk):
    case = open_and_screen(walk)
    # The panel organisation was brought onto the case by the diagram; the case waits for its next meeting and
    # only the meeting completes the step.
    assert walk.step(case, "panel_meeting", "vpp_panel")["due_at"] is None
    mw.not_from_my_work(walk, case, "panel_meeting", "vpp_panel", heard())
    first = meeting(1)
    assert mw.entry(first, case).reason == SCREEN_MET["reason_for_adding"]
    mw.hear(first, case, heard(), actions=(("notts_police", "Joint visit with housing; disrupt visitors.", "2027-03-18"),
                                           ("city_homes", "Fit door entry system.", "2027-03-18")))
    assert case_json(walk, case)["risk_level"] == "high"
    # Only the agencies with an action get a step; the case is to be reviewed at the next meeting.
    assert [t["bpmn_id"] for t in walk.ready(case, "health") if t["organisation"] == "health"] == []
    ready = walk.ready_ids(case, "vpp_panel")
    assert "review_plan" in ready and "escalate_case" not in ready
    mw.report(walk, case, "notts_police", "done", "Visited with housing.")
    mw.report(walk, case, "city_homes", "not_achievable", "Asked the landlord.",
              reason="The landlord will not fit a door entry system.")
    second = meeting(2)
    assert mw.entry(second, case).reason == "Review (meeting 2): 2 action(s) open; risk high"
    mw.hear(second, case, review("close", risk="low"))
    assert case_json(walk, case)["risk_level"] == "standard"
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "close_case_too": True})
    assert walk.status(case, KEY) == "completed"
    referral = walk.facts(case, "vpp")["referral"]
    assert referral.status == "closed_risk_reduced" and referral.details["rounds"] == 2
    assert case_json(walk, case)["status"] == "closed"


def test_an_urgent_case_is_listed_as_raised_by_exception(walk):
    case = open_and_screen(walk, screen={**SCREEN_MET, "urgent": True})
    assert mw.entry(meeting(1), case).reason == "Urgent, raised by exception: " + SCREEN_MET["reason_for_adding"]


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


def test_review_loops_then_escalates_when_the_risk_is_still_high_at_the_third_meeting(walk):
    case = open_and_screen(walk)
    mw.hear(meeting(1), case, heard(), actions=(("notts_fire", "Safe and well visit.", "2027-03-18"),))
    mw.report(walk, case, "notts_fire", "done")
    mw.hear(meeting(2), case, review(), actions=(("health", "Mental health assessment.", "2027-04-20"),))
    assert "escalate_case" not in walk.ready_ids(case, "vpp_panel")
    mw.report(walk, case, "health", "done")
    # Still high at the third meeting: the panel asks for further actions, but the rule escalates.
    mw.hear(meeting(3), case, review(), actions=(("city_homes", "Management move offer.", "2027-05-20"),))
    assert "review_plan" not in walk.ready_ids(case, "vpp_panel")
    esc = walk.step(case, "escalate_case", "vpp_panel")
    assert esc["required_role"] == "manager"
    walk.complete(case, "escalate_case", "vpp_panel", ESCALATION, role="manager")
    fact = walk.facts(case, "vpp")["escalation-3"]
    assert fact.status == "open" and fact.due_at.isoformat().startswith("2027-06-11")
    response = walk.step(case, "escalation_response", "vpp_panel")
    assert response["due_at"].startswith("2027-06-11")
    assert {f["id"]: f["default"] for f in response["form"]["fields"]}["actions_at_escalation"] == (
        "1 open or in progress, 2 done, 0 not achievable")
    walk.complete(case, "escalation_response", "vpp_panel",
                  {"senior_response": "Housing director agrees a management move.",
                   "escalation_outcome": "further_actions"}, role="manager")
    assert walk.facts(case, "vpp")["escalation-3"].status == "answered_further_actions"
    # Back to the panel's next meeting, with the open action carried forward.
    mw.report(walk, case, "city_homes", "done", "Moved.")
    mw.hear(meeting(4), case, review("close", risk="low"))
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "close_case_too": False})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "vpp")["referral"].details["rounds"] == 4
    assert meetings.summary(case, TYPE) == {"open": 0, "done": 3, "not_achievable": 0, "carried": 0}


def test_meeting_escalates_and_the_senior_forum_closes(walk):
    case = open_and_screen(walk)
    mw.hear(meeting(1), case, heard("escalate"))
    walk.complete(case, "escalate_case", "vpp_panel", {**ESCALATION, "escalated_to": "safeguarding_adults_board",
                                                       "response_due_on": "2027-03-19"}, role="manager")
    walk.complete(case, "escalation_response", "vpp_panel",
                  {"senior_response": "Risk accepted and documented.", "escalation_outcome": "close"}, role="manager")
    assert walk.facts(case, "vpp")["escalation-1"].status == "answered_close"
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "closure_reason": "capacitous_refusal"})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "vpp")["referral"].status == "closed_capacitous_refusal"


def test_the_senior_forum_cannot_close_while_an_action_is_open(walk):
    case = open_and_screen(walk)
    mw.hear(meeting(1), case, heard("escalate"), actions=(("notts_police", "Welfare check.", "2027-03-18"),))
    walk.complete(case, "escalate_case", "vpp_panel", ESCALATION, role="manager")
    walk.complete(case, "escalation_response", "vpp_panel",
                  {"senior_response": "Close it.", "escalation_outcome": "close"}, role="manager")
    assert "closure" not in walk.ready_ids(case, "mansfield")
    back = walk.step(case, "escalation_response", "vpp_panel")   # the police action is still open
    assert {f["id"]: f["default"] for f in back["form"]["fields"]}["actions_at_escalation"].startswith("1 open")
    mw.report(walk, case, "notts_police", "done", "Checked.")
    walk.complete(case, "escalation_response", "vpp_panel",
                  {"senior_response": "Close it.", "escalation_outcome": "close"}, role="manager")
    walk.step(case, "closure", "mansfield")


def test_meeting_redirects_to_a_statutory_process(walk):
    case = open_and_screen(walk)
    mw.hear(meeting(1), case, heard("redirect_statutory"))
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "closure_reason": "transferred_statutory"})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "vpp")["referral"].status == "closed_transferred_statutory"


def test_closing_or_redirecting_with_an_open_action_keeps_the_case_on_the_panel(walk):
    case = open_and_screen(walk)
    mw.hear(meeting(1), case, heard("redirect_statutory"), actions=(("notts_police", "Welfare check.", "2027-03-18"),))
    assert "closure" not in walk.ready_ids(case, "mansfield")
    assert "review_plan" in walk.ready_ids(case, "vpp_panel")
    mw.hear(meeting(2), case, review("close", risk="medium"))   # still not reported
    assert "closure" not in walk.ready_ids(case, "mansfield")
    mw.report(walk, case, "notts_police", "done", "Checked.")
    mw.hear(meeting(3), case, review("redirect_statutory", statutory_threshold="s42_enquiry"))
    walk.complete(case, "closure", "mansfield", {**CLOSURE, "closure_reason": "transferred_statutory"})
    assert walk.status(case, KEY) == "completed"


def test_blocked_actions_escalate_and_a_plan_without_actions_goes_to_review(walk):
    case = open_and_screen(walk)
    mw.hear(meeting(1), case, heard())   # an action plan with no agency actions: reviewed at the next meeting
    assert "review_plan" in walk.ready_ids(case, "vpp_panel")
    mw.hear(meeting(2), case, review(risk="medium", actions_blocked=True))
    walk.step(case, "escalate_case", "vpp_panel")


def test_an_action_in_progress_is_carried_forward_and_escalates_after_two_carry_forwards(walk):
    case = open_and_screen(walk)
    mw.hear(meeting(1), case, heard(risk="medium"), actions=(("city_homes", "Fit door entry system.", "2027-03-18"),))
    mw.report(walk, case, "city_homes", "in_progress", "Quote requested.")
    second = meeting(2)
    assert mw.action(case, "city_homes").carried == 1
    assert len([i for i in second.items if i.case_id == case]) == 1   # the review and the carried action: one entry
    mw.hear(second, case, review(risk="medium"))
    assert "escalate_case" not in walk.ready_ids(case, "vpp_panel")
    third = meeting(3)
    assert mw.action(case, "city_homes").carried == 2
    mw.hear(third, case, review(risk="medium"))
    walk.step(case, "escalate_case", "vpp_panel")


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
