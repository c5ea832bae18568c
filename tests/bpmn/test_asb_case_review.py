"""Walk-through of bpmn/asb_case_review.bpmn (ASB case review / Community Trigger) through the JSON API.

The council coordinates; the police and health are brought onto the case by the process (s.104(3): the
application goes to every relevant body); the social landlord is added by the council; the appeal body
(the OPCC in Nottinghamshire) is a panel-type organisation the council adds when an appeal comes in.

The case review is heard at the council's ASB case review panel meeting (a meeting step: the council schedules
the meeting, minutes the case, agrees the actions and records the outcome; tests/bpmn/meeting_walk.py).

Dates are in 2030 so that no deadline has passed in real time: timers fire only through walk.timers(at).
The threshold is computed from the complaints recorded on the case (casework/incidents.py): the walk-through puts
them in directly, since the recording form refuses dates in the future (tested in tests/casework/test_incidents.py).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from casework import meetings
from models import CaseParticipant, Incident, Organisation, db
from tests.bpmn import meeting_walk as mw
from tests.bpmn.conftest import utc

KEY = "asb_case_review"
COUNCIL, POLICE, HOUSING, HEALTH, PANEL = "mansfield", "notts_police", "city_homes", "health", "vpp_panel"

APPLICATION = {
    "application_received_on": "2030-03-04",  # a Monday
    "applicant_type": "victim",
    "victim_type": "individual",
    "asb_location": "Ladybrook estate, Mansfield",
    "asb_description": "Youths gather outside the flat most nights, shouting, kicking the door.",
    "complaints_listed": "12/10/2029 to police (ref 123); 20/11/2029 to landlord; 15/01/2030 to council",
    "hate_motivated": False,
    "social_housing_involved": True,
    "impact_and_harm": "The victim no longer sleeps and is afraid to go out after dark.",
}
ACK = {"acknowledged_on": "2030-03-05", "acknowledgement_method": "letter"}


def records(prefix: str, found: int = 2) -> dict:
    return {f"{prefix}_incidents_found": found, f"{prefix}_hate_reports": 0,
            f"{prefix}_actions_taken": "Visits and warning letters.", f"{prefix}_case_status": "open"}


def decision(choice: str = "computed", reason: str | None = None, decided="2030-03-20") -> dict:
    return {"decision": choice, "override_reason": reason,
            "threshold_reasons": "Counted separate incidents across agencies.",
            "bodies_concurring": ["council", "police", "housing", "health"], "decided_on": decided}


FOUR = [("2029-10-12", "2029-10-12", POLICE), ("2029-11-20", "2029-11-21", HOUSING),
        ("2030-01-15", "2030-01-16", COUNCIL), ("2030-02-10", "2030-02-10", COUNCIL)]


def complaints(case: int, rows) -> None:
    """Complaints on the case: (happened, reported, reported to[, "hate"][, "same"]) — "same" is another
    agency's report of the previous incident."""
    orgs = {o.code: o.id for o in db.session.scalars(select(Organisation))}
    person = db.session.scalar(select(CaseParticipant.person_id).where(CaseParticipant.case_id == case))
    previous = None
    for occurred, reported, to, *flags in rows:
        row = Incident(case_id=case, person_id=person, kind="hate" if "hate" in flags else "asb",
                       occurred_on=date.fromisoformat(occurred), reported_on=date.fromisoformat(reported),
                       reported_to_org_id=orgs[to], reported_by="the victim", hate_motivated="hate" in flags,
                       description="Shouting and kicking the door", recorded_by_org_id=orgs[to],
                       same_as_id=previous.id if "same" in flags and previous else None)
        db.session.add(row)
        db.session.flush()
        previous = previous if "same" in flags else row
    db.session.commit()


MEETING = {"independent_chair": True, "victim_participation": "attended", "review_findings": "Reports not joined up.",
           "review_outcome": "action_plan"}
ACTIONS = ((POLICE, "Patrols on the estate in the evenings.", "2030-06-28"),
           (HOUSING, "CCTV at the block entrance.", "2030-06-28"))


def hold_review(walk, case, on: str = "2030-04-10", answers: dict | None = None, actions=ACTIONS) -> None:
    """The council's ASB case review panel meets on that day and hears the case (the meeting step)."""
    assert "review_meeting" in walk.ready_ids(case, COUNCIL)
    meeting = mw.schedule("asb_case_review", on, invite=(POLICE, HOUSING, HEALTH))
    mw.hear(meeting, case, {**MEETING, **(answers or {})}, actions=actions)


def open_review(walk, partners=(HOUSING,), application: dict | None = None) -> int:
    """A case of type 'community_trigger' opened by the council: the mapped process starts by itself."""
    walk.deploy("panel_action", KEY)
    case = walk.open_case(org=COUNCIL, case_type="community_trigger", partners=partners)
    assert walk.status(case, KEY) == "running"
    walk.complete(case, "record_application", COUNCIL, {**APPLICATION, **(application or {})})
    return case


def to_decision(walk, case, housing=True, recorded=FOUR) -> None:
    complaints(case, recorded)
    walk.complete(case, "acknowledge", COUNCIL, ACK)
    walk.complete(case, "police_records", POLICE, records("police"))
    if housing:
        walk.complete(case, "housing_records", HOUSING, records("housing"))
    else:
        assert "housing_records" not in walk.ready_ids(case, COUNCIL)
    walk.complete(case, "health_records", HEALTH, records("health", 0))


def to_review(walk, case) -> None:
    walk.complete(case, "threshold_decision", COUNCIL, decision())
    walk.complete(case, "letter_met", COUNCIL, {"letter_met_on": "2030-03-21", "victim_invited": "invited_to_attend"})


def review_status(walk, case) -> str:
    return walk.facts(case, "asb_review")["case_review"].status


def no_appeal() -> dict:
    return {"appeal_received": False}


def test_main_route_threshold_met_review_and_action_plan(walk):
    case = open_review(walk, partners=())
    complaints(case, FOUR)
    walk.complete(case, "acknowledge", COUNCIL, ACK)
    fact = walk.facts(case, "asb_review")["case_review"]
    assert (fact.status, fact.completed_at) == ("open", None)
    assert fact.due_at.isoformat().startswith("2030-03-26T17:00")  # 15 working days after acknowledgement
    assert fact.details["applicant_type"] == "victim"
    # The process passed the application to the police and health; the landlord waits for the council.
    walk.complete(case, "police_records", POLICE, records("police"))
    walk.complete(case, "health_records", HEALTH, records("health", 0))
    waiting = [t for t in walk.ready(case, COUNCIL) if t["bpmn_id"] == "housing_records"]
    assert len(waiting) == 1 and waiting[0]["organisation"] is None and waiting[0]["unassigned_reason"]
    assert walk.post(f"/cases/{case}/organisations", {"code": HOUSING}, org=COUNCIL).status_code == 200
    walk.complete(case, "housing_records", HOUSING, records("housing"))

    step = {f["id"]: f for f in walk.step(case, "threshold_decision", COUNCIL)["form"]["fields"]}
    assert step["threshold_computed"]["default"].startswith("4 qualifying complaints of separate incidents")
    assert "12/10/2029 anti-social behaviour, reported 12/10/2029 to Nottinghamshire Police: qualifies" in \
        step["complaints_counted"]["default"]
    walk.complete(case, "threshold_decision", COUNCIL, decision())
    fact = walk.facts(case, "asb_review")["case_review"]
    assert fact.status == "open" and fact.details["threshold"] == "met"
    assert fact.details["qualifying_complaints"] == 4
    walk.complete(case, "letter_met", COUNCIL, {"letter_met_on": "2030-03-21", "victim_invited": "invited_to_attend"})
    mw.not_from_my_work(walk, case, "review_meeting", COUNCIL, MEETING)
    meeting = mw.schedule("asb_case_review", "2030-04-10", invite=(POLICE, HOUSING, HEALTH))
    listed = mw.entry(meeting, case)
    assert listed.reason.startswith("ASB case review, threshold: 4 qualifying complaints of separate incidents")
    assert sorted(s.bpmn_id for s in meetings.research(listed)) == ["health_records", "housing_records",
                                                                    "police_records"]
    mw.hear(meeting, case, MEETING, actions=ACTIONS)
    held = walk.facts(case, "asb_review")["case_review"]
    assert held.status == "review_held" and held.details["meeting_held_on"] == "2030-04-10"
    assert held.details["actions_agreed"] == 2
    letter = walk.step(case, "outcome_letter", COUNCIL)
    assert letter["due_at"].startswith("2030-04-26T16:00")  # 10 working days after the meeting
    walk.complete(case, "outcome_letter", COUNCIL, {"outcome_letter_on": "2030-04-15"})
    fact = walk.facts(case, "asb_review")["case_review"]
    assert fact.status == "recommendations" and fact.completed_at is not None
    assert fact.details["action_owners"] == [HOUSING, POLICE]
    assert fact.due_at.isoformat().startswith("2030-06-28")
    walk.complete(case, "outcome_appeal_window", COUNCIL, no_appeal())
    # Each action is a step for its owner; the council follows them up.
    mw.report(walk, case, POLICE, "done", "Patrols every evening for six weeks.")
    mw.report(walk, case, HOUSING, "done", "CCTV fitted.")
    walk.complete(case, "monitor_actions", COUNCIL, {"actions_completed": "all_done"})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "asb_review")["case_review"].details["actions_completed"] == "all_done"


def test_third_party_without_consent_is_not_valid(walk):
    case = open_review(walk, application={"applicant_type": "councillor", "victim_consent": False})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "asb_review") == {}


def test_third_party_with_consent_goes_ahead(walk):
    case = open_review(walk, application={"applicant_type": "mp", "victim_consent": True})
    assert "acknowledge" in walk.ready_ids(case, COUNCIL)


@pytest.mark.parametrize("recorded, answers, met", [
    # Three qualifying complaints, nothing typed but the decision "as computed": met (s.104(4)).
    ([("2029-09-05", "2029-09-05", POLICE), ("2029-12-01", "2029-12-02", COUNCIL),
      ("2030-02-01", "2030-02-01", HOUSING)], decision(), True),
    # Enough complaints, but the application is more than six months after each.
    ([("2029-08-01", "2029-08-01", POLICE), ("2029-08-10", "2029-08-11", COUNCIL),
      ("2029-08-20", "2029-08-20", HOUSING)], decision(), False),
    # Reported more than a month after the behaviour: that one does not qualify.
    ([("2029-11-01", "2029-12-02", POLICE), ("2029-12-10", "2029-12-10", COUNCIL),
      ("2030-02-01", "2030-02-01", HOUSING)], decision(), False),
    # The same incident told to three agencies is one incident.
    ([("2029-12-10", "2029-12-10", POLICE), ("2029-12-10", "2029-12-11", COUNCIL, "same"),
      ("2029-12-10", "2029-12-12", HOUSING, "same"), ("2030-02-01", "2030-02-01", COUNCIL)], decision(), False),
    ([], decision(), False),                                                          # nothing recorded
    ([("2029-11-30", "2029-11-30", POLICE, "hate")], decision(), True),               # local rule: one hate incident
    ([("2029-06-01", "2029-06-01", POLICE, "hate")], decision(), False),              # outside 6 months
    ([("2030-01-15", "2030-01-15", COUNCIL)],
     decision("met_discretionary", "Daily abuse of a disabled man; the response has not worked."), True),
    ([("2030-01-15", "2030-01-15", COUNCIL)], decision(), False),
    (FOUR, decision("not_met_records_wrong", "Two of the police reports were about another address."), False),
], ids=["three_qualifying", "too_old", "reported_late", "same_incident_once", "none", "hate", "hate_too_old",
        "judged", "not_judged", "records_wrong"])
def test_threshold_rules(walk, recorded, answers, met):
    case = open_review(walk)
    to_decision(walk, case, recorded=recorded)
    walk.complete(case, "threshold_decision", COUNCIL, answers)
    ready = walk.ready_ids(case, COUNCIL)
    assert ("letter_met" in ready) is met and ("letter_not_met" in ready) is not met
    assert review_status(walk, case) == ("open" if met else "threshold_not_met")


def test_an_override_without_a_reason_is_refused_and_nothing_is_recorded(walk):
    case = open_review(walk)
    to_decision(walk, case, recorded=[("2030-01-15", "2030-01-15", COUNCIL)])
    step = walk.step(case, "threshold_decision", COUNCIL)
    refused = walk.post(f"/tasks/{step['id']}/complete", {"data": decision("met_discretionary")}, org=COUNCIL)
    assert refused.status_code == 422
    assert refused.json["errors"] == {"override_reason": "say why the computed threshold is overridden"}
    assert "threshold_decision" in walk.ready_ids(case, COUNCIL)
    assert review_status(walk, case) == "open"
    walk.complete(case, "threshold_decision", COUNCIL, decision("met_discretionary", "Persistent, harmful."))
    assert "letter_met" in walk.ready_ids(case, COUNCIL)


def test_no_landlord_hate_threshold_no_further_action(walk):
    case = open_review(walk, partners=(), application={"social_housing_involved": False, "hate_motivated": True})
    to_decision(walk, case, housing=False, recorded=[("2030-02-14", "2030-02-14", POLICE, "hate")])
    walk.complete(case, "threshold_decision", COUNCIL, decision())
    walk.complete(case, "letter_met", COUNCIL, {"letter_met_on": "2030-03-21", "victim_invited": "not_invited"})
    hold_review(walk, case, answers={"review_outcome": "no_further_action"}, actions=())
    walk.complete(case, "outcome_letter", COUNCIL, {"outcome_letter_on": "2030-04-15"})
    assert review_status(walk, case) == "no_further_action"
    walk.complete(case, "outcome_appeal_window", COUNCIL, no_appeal())
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "asb_review")["case_review"].details["hate_rule_met"] is True


def not_met(walk, case) -> None:
    to_decision(walk, case, recorded=FOUR[:2])
    walk.complete(case, "threshold_decision", COUNCIL, decision())
    assert review_status(walk, case) == "threshold_not_met"
    walk.complete(case, "letter_not_met", COUNCIL, {"letter_not_met_on": "2030-03-21"})


def test_threshold_not_met_no_appeal(walk):
    case = open_review(walk)
    not_met(walk, case)
    walk.complete(case, "threshold_appeal_window", COUNCIL, no_appeal())
    assert walk.status(case, KEY) == "completed"
    assert review_status(walk, case) == "threshold_not_met"


def test_threshold_appeal_window_closes_after_20_working_days(walk):
    case = open_review(walk)
    not_met(walk, case)
    walk.timers(utc("2030-04-18T15:30:00"))  # 20 working days after 21 March: 18 April, 17:00 London
    assert "threshold_appeal_window" in walk.ready_ids(case, COUNCIL)
    walk.timers(utc("2030-04-18T16:30:00"))
    assert walk.status(case, KEY) == "completed"
    assert "threshold_appeal_window" not in walk.ready_ids(case, COUNCIL)
    assert review_status(walk, case) == "threshold_not_met"


def appeal_threshold(walk, case) -> None:
    walk.complete(case, "threshold_appeal_window", COUNCIL, {
        "appeal_received": True, "appeal_received_on": "2030-03-28",
        "appeal_grounds": "failed_factual_information", "appeal_details": "The landlord's reports were missed."})
    fact = walk.facts(case, "asb_review")["case_review"]
    assert fact.status == "appeal" and fact.details["appeal_against"] == "threshold"
    # The appeal body is routed by service (community_trigger_appeal) and joins the case with the step.
    waiting = [t for t in walk.ready(case, COUNCIL) if t["bpmn_id"] == "appeal_review"]
    assert len(waiting) == 1 and waiting[0]["organisation"] == PANEL
    assert PANEL in walk.get(f"/cases/{case}", org=COUNCIL).json["organisations"]


def test_threshold_appeal_not_upheld(walk):
    case = open_review(walk)
    not_met(walk, case)
    appeal_threshold(walk, case)
    walk.complete(case, "appeal_review", PANEL, {"appeal_decision": "not_upheld", "appeal_reasons": "Considered.",
                                                 "appeal_decided_on": "2030-04-11"})
    assert walk.status(case, KEY) == "completed"
    fact = walk.facts(case, "asb_review")["case_review"]
    assert fact.status == "threshold_not_met" and fact.details["appeal_decision"] == "not_upheld"


def test_threshold_appeal_upheld_then_review_appeal_not_upheld(walk):
    case = open_review(walk)
    not_met(walk, case)
    appeal_threshold(walk, case)
    walk.complete(case, "appeal_review", PANEL, {"appeal_decision": "upheld_refer_back", "appeal_reasons": "Missed.",
                                                 "appeal_decided_on": "2030-04-11"})
    assert review_status(walk, case) == "open"
    # Referred back: the decision is due 15 working days after the appeal decision, not the old deadline.
    # 15 working days after 11 April 2030, over Easter and the May bank holiday: 7 May, 17:00 London.
    walk.timers(utc("2030-05-07T15:30:00"))
    assert "chase_threshold_decision" not in walk.ready_ids(case, COUNCIL)
    walk.timers(utc("2030-05-07T16:30:00"))
    chase = walk.step(case, "chase_threshold_decision", COUNCIL)
    assert chase["required_role"] == "manager"
    walk.complete(case, "chase_threshold_decision", COUNCIL, {"decision_chase_notes": "Meeting set."}, role="manager")
    # The landlord's missed reports are added; the bodies compute again before deciding.
    complaints(case, [("2030-01-20", "2030-01-21", HOUSING), ("2030-02-20", "2030-02-20", HOUSING)])
    step = {f["id"]: f for f in walk.step(case, "threshold_decision", COUNCIL)["form"]["fields"]}
    assert step["threshold_computed"]["default"].startswith("2 qualifying")
    walk.complete(case, "threshold_decision", COUNCIL, decision("recompute"))
    step = {f["id"]: f for f in walk.step(case, "threshold_decision", COUNCIL)["form"]["fields"]}
    assert step["threshold_computed"]["default"].startswith("4 qualifying")
    walk.complete(case, "threshold_decision", COUNCIL, decision(decided="2030-05-06"))
    walk.complete(case, "letter_met", COUNCIL, {"letter_met_on": "2030-05-07", "victim_invited": "invited_to_attend"})
    hold_review(walk, case, on="2030-05-20", answers={"review_outcome": "no_further_action"}, actions=())
    walk.complete(case, "outcome_letter", COUNCIL, {"outcome_letter_on": "2030-05-24"})
    walk.complete(case, "outcome_appeal_window", COUNCIL, {
        "appeal_received": True, "appeal_against": "outcome", "appeal_received_on": "2030-06-03",
        "appeal_grounds": "other"})
    assert review_status(walk, case) == "appeal"
    walk.complete(case, "appeal_review", PANEL, {"appeal_decision": "not_upheld", "appeal_reasons": "Sound.",
                                                 "appeal_decided_on": "2030-06-20"})
    assert walk.status(case, KEY) == "completed"
    assert review_status(walk, case) == "no_further_action"


def test_review_appeal_upheld_review_again_and_overdue_actions(walk):
    case = open_review(walk)
    to_decision(walk, case)
    to_review(walk, case)
    hold_review(walk, case)
    walk.complete(case, "outcome_letter", COUNCIL, {"outcome_letter_on": "2030-04-15"})
    walk.complete(case, "outcome_appeal_window", COUNCIL, {
        "appeal_received": True, "appeal_against": "conduct_of_review", "appeal_received_on": "2030-04-29",
        "appeal_grounds": "failed_process_policy_protocol"})
    walk.post(f"/cases/{case}/organisations", {"code": PANEL}, org=COUNCIL)
    walk.complete(case, "appeal_review", PANEL, {"appeal_decision": "upheld_refer_back", "appeal_reasons": "Policy.",
                                                 "appeal_decided_on": "2030-05-10"})
    assert review_status(walk, case) == "open"
    # Reviewed again at the panel's next meeting (the first meeting's open actions are carried to it as well).
    hold_review(walk, case, on="2030-05-20", answers={"review_outcome": "recommendations"},
                actions=((POLICE, "Dispersal order for the estate.", "2030-06-28"),))
    walk.complete(case, "outcome_letter", COUNCIL, {"outcome_letter_on": "2030-05-24"})
    assert review_status(walk, case) == "recommendations"
    # No appeal within 20 working days of the letter: the window closes by itself and follow-up starts.
    walk.timers(utc("2030-06-24T16:30:00"))  # 20 working days after 24 May
    assert "outcome_appeal_window" not in walk.ready_ids(case, COUNCIL)
    assert "monitor_actions" in walk.ready_ids(case, COUNCIL)
    # Actions due 28 June 2030 (a Friday): escalated at the end of the next working day.
    walk.timers(utc("2030-07-01T12:00:00"))
    assert "escalate_overdue_actions" not in walk.ready_ids(case, COUNCIL)
    walk.timers(utc("2030-07-01T16:30:00"))
    item = walk.step(case, "escalate_overdue_actions", COUNCIL)
    assert item["required_role"] == "manager"
    outsider = walk.post(f"/tasks/{item['id']}/complete", {"data": {"escalation_notes": "x"}}, org=COUNCIL)
    assert outsider.status_code == 403  # a practitioner cannot do a manager's step
    walk.complete(case, "escalate_overdue_actions", COUNCIL, {"escalation_notes": "Raised at the CSP."},
                  role="manager")
    walk.complete(case, "monitor_actions", COUNCIL, {"actions_completed": "partly_done"})
    assert walk.status(case, KEY) == "completed"


def test_deadlines_escalate_to_managers(walk):
    case = open_review(walk)
    complaints(case, FOUR)
    # Acknowledgement: 3 working days after receipt (Monday 4 March 2030 -> Thursday 7 March, 17:00).
    walk.timers(utc("2030-03-07T16:00:00"))
    assert "chase_acknowledgement" not in walk.ready_ids(case, COUNCIL)
    walk.timers(utc("2030-03-07T17:30:00"))
    item = walk.step(case, "chase_acknowledgement", COUNCIL)
    assert item["required_role"] == "manager"
    walk.complete(case, "chase_acknowledgement", COUNCIL, {"ack_chase_notes": "Phoned."}, role="manager")
    walk.complete(case, "acknowledge", COUNCIL, {**ACK, "acknowledged_on": "2030-03-08"})
    # Records: 10 working days after acknowledgement (22 March); health gets a due date, no escalation.
    assert walk.step(case, "health_records", HEALTH)["due_at"].startswith("2030-03-22T17:00")
    walk.timers(utc("2030-03-22T17:30:00"))
    for org, chase in ((POLICE, "chase_police_records"), (HOUSING, "chase_housing_records")):
        assert walk.step(case, chase, org)["required_role"] == "manager"
        walk.complete(case, chase, org, {chase.replace("chase_", "").replace("_records", "_chase_notes"): "Done."},
                      role="manager")
    walk.complete(case, "police_records", POLICE, records("police"))
    walk.complete(case, "housing_records", HOUSING, records("housing"))
    walk.complete(case, "health_records", HEALTH, records("health", 0))
    # Threshold decision: 15 working days after acknowledgement (29 March 2030).
    walk.timers(utc("2030-03-29T17:30:00"))
    assert walk.step(case, "chase_threshold_decision", COUNCIL)["required_role"] == "manager"
    walk.complete(case, "threshold_decision", COUNCIL, decision())
    walk.complete(case, "letter_met", COUNCIL, {"letter_met_on": "2030-04-01", "victim_invited": "invited_to_attend"})
    # Review meeting: within 28 days of reaching it (calendar days, re-armed if an appeal refers it back).
    item = walk.step(case, "review_meeting", COUNCIL)
    walk.timers(datetime.fromisoformat(item["due_at"]) + timedelta(minutes=1))
    assert walk.step(case, "chase_review_meeting", COUNCIL)["required_role"] == "manager"
    walk.complete(case, "chase_review_meeting", COUNCIL, {"review_chase_notes": "Date fixed."}, role="manager")
    assert walk.status(case, KEY) == "running"
    assert review_status(walk, case) == "open"
