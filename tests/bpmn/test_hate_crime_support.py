"""Walk-through of bpmn/hate_crime_support.bpmn: whoever opens the case (police, council, victim services)
records the hate crime or incident; victim support takes the referral within 2 working days of the report
(Victims' Code Right 4) and assesses needs, with optional fire and housing steps; the council's community safety
team assesses community tension; a victim at risk now gets the police and the victim services manager at once,
before anything else goes on; the lead reviews and closes. Every step through the API, by the organisation
it went to.

Dates are in 2027 so that no deadline passes by itself: timers fire only through walk.timers(at).
"""
from __future__ import annotations

from sqlalchemy import select

from models import WorkflowInstance, db
from tests.bpmn.conftest import utc

KEY = "hate_crime_support"
POLICE, VS, COUNCIL, FIRE, HOUSING = "notts_police", "victim_care", "mansfield", "notts_fire", "city_homes"

REPORT = {
    "incident_type": "hate_crime",
    "hate_strands": ["race", "religion"],
    "reported_on": "2027-04-23",   # a Friday: 2 working days later is Tuesday 27 April
    "incident_description": "Abuse shouted and the front window smashed.",
    "reported_to_police": True,
    "crime_reference": "NP-2027-0423-117",
    "repeat_victim": False,
    "at_risk_now": False,
}
CONTACTED = {"contact_outcome": "contacted", "contacted_on": "2027-04-26"}
NEEDS = {"needs_identified": ["safety", "emotional", "community_reassurance"], "refer_fire": True,
         "refer_housing": True, "support_agreed": "Weekly calls; target hardening.", "overall_need": "support_plan",
         "at_risk_now": False}
TENSION = {"tension_level": "medium", "tension_indicators": "Two similar incidents nearby; social media posts.",
           "reassurance_actions": ["patrols", "community_meeting"]}
CLOSE = {"outcome": "supported", "outcome_summary": "Supported for eight weeks; feels safer.", "victim_told": True}


def start(walk, lead: str, report: dict | None = None) -> int:
    """A hate crime case led by `lead`, with the support process running and the report recorded."""
    walk.deploy(KEY)
    case = walk.open_case(org=lead, case_type="hate_crime")
    db.session.expire_all()
    running = db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == case)).all()
    if not [i for i in running if i.definition.key == KEY]:
        walk.start(case, KEY, org=lead)
    first = walk.step(case, "record_report", lead)   # the case's lead organisation records it
    assert first["candidate_groups"] == [] and first["lane"] is None
    walk.complete(case, "record_report", lead, {**REPORT, **(report or {})})
    return case


def case_json(walk, case, org):
    response = walk.get(f"/cases/{case}", org=org)
    assert response.status_code == 200, response.json
    return response.json


def test_police_report_support_fire_housing_tension_and_close(walk):
    case = start(walk, POLICE)
    fact = walk.facts(case, "hate_support")["case"]
    assert fact.status == "open"
    assert fact.details["incident_type"] == "hate_crime" and fact.details["hate_strands"] == ["race", "religion"]
    assert fact.details["crime_reference"] == "NP-2027-0423-117"
    assert not {"respond_now_police_report", "respond_now_manager_report"} & walk.ready_ids(case, POLICE)
    assert case_json(walk, case, POLICE)["risk_level"] == "not_assessed"
    # The referral: victim support joins the case; due 2 working days after Friday 23 April 2027 (over the
    # weekend): Tuesday 27 April, 17:00 London (BST).
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.status == "open" and referral.owner_organisation.code == VS
    assert referral.due_at.isoformat().startswith("2027-04-27T16:00")
    assert referral.details["enhanced_rights"] is True
    assert walk.step(case, "contact_victim", VS)["due_at"].startswith("2027-04-27T16:00")
    # Meanwhile the council's community safety team assesses community tension.
    walk.complete(case, "community_tension", COUNCIL, TENSION)
    tension = walk.facts(case, "hate_support")["tension"]
    assert tension.status == "medium" and tension.details["reassurance_actions"] == ["patrols", "community_meeting"]
    assert "review_and_close" not in walk.ready_ids(case, POLICE)

    walk.complete(case, "contact_victim", VS, CONTACTED)
    walk.complete(case, "needs_assessment", VS, NEEDS)
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.status == "support_plan" and referral.completed_at is not None
    assert referral.details["needs_identified"] == ["safety", "emotional", "community_reassurance"]
    walk.complete(case, "fire_home_safety_visit", FIRE,
                  {"visit_on": "2027-04-29", "visit_outcome": "completed", "measures_fitted": "Letterbox guard."})
    assert "review_and_close" not in walk.ready_ids(case, POLICE)   # housing has not answered yet
    walk.complete(case, "housing_support", HOUSING,
                  {"housing_help": "security_repairs", "housing_notes": "New window, reinforced door."})
    walk.complete(case, "review_and_close", POLICE, CLOSE)
    assert walk.status(case, KEY) == "completed"
    fact = walk.facts(case, "hate_support")["case"]
    assert fact.status == "supported" and fact.completed_at is not None
    assert case_json(walk, case, POLICE)["status"] == "open"


def test_at_risk_at_the_report_police_and_manager_respond_before_anything_else(walk):
    case = start(walk, COUNCIL, {"incident_type": "hate_incident", "hate_strands": ["transgender_identity"],
                                 "reported_to_police": False, "crime_reference": None, "at_risk_now": True})
    assert case_json(walk, case, COUNCIL)["risk_level"] == "high"
    police = walk.step(case, "respond_now_police_report", POLICE)
    assert police["title"] == "Respond now: risk to life"
    manager = walk.step(case, "respond_now_manager_report", VS)
    assert manager["required_role"] == "manager"
    held = {"contact_victim", "community_tension", "chase_contact"}
    assert not held & walk.ready_ids(case, COUNCIL) and walk.facts(case, "referral") == {}
    walk.complete(case, "respond_now_police_report", POLICE,
                  {"police_response_report": "Attended within the hour; suspect warned.",
                   "risk_contained_report": True})
    assert not held & walk.ready_ids(case, COUNCIL)   # the manager has not responded yet
    walk.complete(case, "respond_now_manager_report", VS,
                  {"manager_response_report": "Caseworker visited today; safety plan."}, role="manager")
    assert {"contact_victim", "community_tension"} <= walk.ready_ids(case, COUNCIL)
    # A non-crime incident: support all the same, with the same 2-working-day referral (a local default).
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.details["enhanced_rights"] is False
    assert referral.due_at.isoformat().startswith("2027-04-27T16:00")
    assert walk.facts(case, "hate_support")["case"].details["reported_to_police"] is False

    walk.complete(case, "contact_victim", VS, {"contact_outcome": "declined", "contacted_on": "2027-04-26"})
    assert walk.facts(case, "referral")["victim_services"].status == "declined"
    assert "needs_assessment" not in walk.ready_ids(case, COUNCIL)
    walk.complete(case, "community_tension", COUNCIL, {**TENSION, "tension_level": "low"})
    walk.complete(case, "review_and_close", COUNCIL, {**CLOSE, "outcome": "declined"})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "hate_support")["case"].status == "declined"


def test_at_risk_at_the_needs_assessment_holds_the_fire_visit(walk):
    case = start(walk, VS, {"reported_to_police": False, "crime_reference": None})   # a self-referral
    walk.complete(case, "contact_victim", VS, CONTACTED)
    walk.complete(case, "community_tension", COUNCIL, TENSION)
    walk.complete(case, "needs_assessment", VS, {**NEEDS, "refer_housing": False, "at_risk_now": True})
    assert case_json(walk, case, VS)["risk_level"] == "high"
    walk.step(case, "respond_now_police_needs", POLICE)
    assert walk.step(case, "respond_now_manager_needs", VS)["required_role"] == "manager"
    assert "fire_home_safety_visit" not in walk.ready_ids(case, VS)
    walk.complete(case, "respond_now_manager_needs", VS, {"manager_response_needs": "Emergency move arranged."},
                  role="manager")
    walk.complete(case, "respond_now_police_needs", POLICE,
                  {"police_response_needs": "Arrested the neighbour.", "risk_contained_needs": True})
    walk.complete(case, "fire_home_safety_visit", FIRE, {"visit_on": "2027-04-30", "visit_outcome": "no_access"})
    assert "housing_support" not in walk.ready_ids(case, VS)
    walk.complete(case, "review_and_close", VS, {**CLOSE, "outcome": "perpetrator_action"})
    assert walk.status(case, KEY) == "completed"
    assert walk.facts(case, "hate_support")["case"].status == "perpetrator_action"


def test_a_referral_not_taken_in_2_working_days_goes_to_the_manager(walk):
    # Reported on Thursday 25 March 2027: Good Friday and Easter Monday are bank holidays, so 2 working days
    # later is Wednesday 31 March, 17:00 London (BST).
    case = start(walk, POLICE, {"reported_on": "2027-03-25"})
    assert walk.step(case, "contact_victim", VS)["due_at"].startswith("2027-03-31T16:00")
    assert walk.facts(case, "referral")["victim_services"].due_at.isoformat().startswith("2027-03-31T16:00")
    walk.timers(utc("2027-03-31T15:59"))
    assert "chase_contact" not in walk.ready_ids(case, POLICE)
    walk.timers(utc("2027-03-31T16:01"))
    chase = walk.step(case, "chase_contact", VS)
    assert chase["required_role"] == "manager"
    walk.complete(case, "chase_contact", VS, role="manager")
    walk.complete(case, "contact_victim", VS, {"contact_outcome": "no_contact", "contacted_on": "2027-04-02"})
    assert walk.facts(case, "referral")["victim_services"].status == "no_contact"
    walk.complete(case, "community_tension", COUNCIL, {**TENSION, "tension_level": "none",
                                                       "reassurance_actions": ["none"]})
    walk.complete(case, "review_and_close", POLICE, {**CLOSE, "outcome": "no_contact"})
    assert walk.status(case, KEY) == "completed"


def test_review_waits_for_the_tension_assessment(walk):
    case = start(walk, POLICE)
    walk.complete(case, "contact_victim", VS, CONTACTED)
    walk.complete(case, "needs_assessment", VS, {**NEEDS, "refer_fire": False, "refer_housing": False,
                                                 "overall_need": "signposted"})
    assert walk.facts(case, "referral")["victim_services"].status == "signposted"
    assert not {"fire_home_safety_visit", "housing_support", "review_and_close"} & walk.ready_ids(case, POLICE)
    walk.complete(case, "community_tension", COUNCIL, TENSION)
    walk.complete(case, "review_and_close", POLICE, CLOSE)
    assert walk.status(case, KEY) == "completed"
