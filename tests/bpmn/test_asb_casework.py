"""Walk-through of bpmn/asb_casework.bpmn: the council's ASB team records the complaint and the victim's risk,
agrees interventions from an escalating set, reviews each one and closes; the police share what they know and
the social landlord acts on a referral for tenancy enforcement. Every step is done through the API by the
organisation it went to.

The ASB team service is provided by Mansfield District Council here (the shared harness does not provide it).
Dates are in 2027 so that no deadline passes by itself; `walk.timers(at)` is not needed: the review's due date
is a property of the step.
"""
from __future__ import annotations

from sqlalchemy import select

from casework import areas
from models import CaseTypeProcess, Service, WorkflowInstance, db

KEY = "asb_casework"
COUNCIL, POLICE, HOUSING = "mansfield", "notts_police", "city_homes"

COMPLAINT = {
    "complaint_received_on": "2027-02-22",
    "complainant_type": "victim",
    "asb_category": "personal",
    "asb_location": "Ladybrook estate, Mansfield",
    "asb_description": "Youths kick the door and shout abuse most evenings.",
    "perpetrator_description": "Two teenage brothers from number 14.",
    "hate_motivated": False,
    "at_risk_now": "no",
    "victim_vulnerable": True,
    "repeat_victim": True,
    "harm_level": "distress",
    "risk_level": "medium",
    "risk_reasons": "Vulnerable, repeat victim; no injury so far.",
}
POLICE_INFO = {"police_incidents": 4, "police_known": "Four calls since October; both brothers known.",
               "police_action_planned": "Evening patrols for two weeks."}


def intervention(kind: str = "warning_letter", on: str = "2027-03-01", review_on: str | None = None) -> dict:
    data = {"intervention": kind, "intervention_on": on, "intervention_against": "The brothers at number 14",
            "intervention_details": "Letter hand-delivered to the parents."}
    if review_on:
        data["review_on"] = review_on
    return data


def review(decision: str = "another_intervention", compliance: str = "not_complied", risk: str = "medium") -> dict:
    return {"compliance": compliance, "asb_continuing": compliance != "complied",
            "victim_views": "Still frightened in the evenings.", "risk_level": risk, "review_decision": decision}


OUTCOME = {"outcome": "resolved", "outcome_summary": "No incidents for six weeks.", "closed_on": "2027-05-10"}
TOLD = {"victim_told_on": "2027-05-11", "told_how": "phone", "told_about_case_review": True}


def instances(case: int) -> list[WorkflowInstance]:
    db.session.expire_all()
    return list(db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == case)))


def provide_asb_team() -> None:
    """The council provides the ASB team service (the shared harness does not)."""
    if db.session.get(Service, "asb_team") is None:
        areas.create_service("asb_team", "ASB team")
    areas.provide("asb_team", COUNCIL)
    db.session.commit()


def open_case(walk, partners=(), complaint: dict | None = None) -> int:
    """A council-led ASB case with the casework running (started by itself if asb is mapped to it)."""
    provide_asb_team()
    walk.deploy(KEY)
    case = walk.open_case(org=COUNCIL, case_type="asb", partners=partners)
    if not [i for i in instances(case) if i.definition.key == KEY]:
        walk.start(case, KEY, org=COUNCIL)
    walk.complete(case, "record_complaint", COUNCIL, {**COMPLAINT, **(complaint or {})})
    return case


def case_json(walk, case):
    response = walk.get(f"/cases/{case}", org=COUNCIL)
    assert response.status_code == 200, response.json
    return response.json


def facts(walk, case):
    return walk.facts(case, "asb_case")


def close(walk, case):
    walk.complete(case, "record_outcome", COUNCIL, OUTCOME)
    assert walk.step(case, "tell_victim", COUNCIL)["title"] == "Tell the victim the outcome"
    walk.complete(case, "tell_victim", COUNCIL, TOLD)


def test_main_route_warning_letter_review_and_close(walk):
    case = open_case(walk)
    first = walk.step(case, "choose_intervention", COUNCIL)
    assert first["candidate_groups"] == ["service:asb_team"]
    fact = facts(walk, case)["outcome"]
    assert (fact.status, fact.completed_at) == ("open", None)
    assert fact.owner_organisation.code == COUNCIL
    assert fact.details["risk_level"] == "medium" and fact.details["repeat_victim"] is True
    # The police partner is asked for what it knows; the case risk stays as it was (medium is not high).
    walk.complete(case, "police_information", POLICE, POLICE_INFO)
    assert case_json(walk, case)["risk_level"] == "not_assessed"
    assert "review_plan_manager" not in walk.ready_ids(case, COUNCIL)

    walk.complete(case, "choose_intervention", COUNCIL, intervention("warning_letter", "2027-03-01"))
    # No review date chosen: 4 weeks after Monday 1 March 2027 is Easter Monday (a bank holiday), so the review
    # is due at the close of the next working day, Tuesday 30 March (17:00 London, BST).
    item = walk.step(case, "review_intervention", COUNCIL)
    assert item["due_at"].startswith("2027-03-30T16:00")
    fact = facts(walk, case)["intervention-1"]
    assert (fact.status, fact.label) == ("open", "Warning letter")
    assert fact.details["against"] == "The brothers at number 14"
    assert fact.details["intervention_on"] == "2027-03-01"
    assert fact.due_at.isoformat().startswith("2027-03-30T16:00")
    assert "housing_enforcement" not in walk.ready_ids(case, COUNCIL)

    walk.complete(case, "review_intervention", COUNCIL, review("close", "complied"))
    assert facts(walk, case)["intervention-1"].status == "complied"
    assert walk.status(case, KEY) == "running"
    close(walk, case)
    assert walk.status(case, KEY) == "completed"
    fact = facts(walk, case)["outcome"]
    assert fact.status == "resolved" and fact.completed_at is not None
    assert fact.details["interventions"] == 1 and fact.details["closed_on"] == "2027-05-10"
    assert set(facts(walk, case)) == {"outcome", "intervention-1"}
    # The casework never starts the ASB case review (Community Trigger): that starts from an application.
    assert [i.definition.key for i in instances(case)] == [KEY]
    assert walk.facts(case, "asb_review") == {}
    assert case_json(walk, case)["status"] == "open"   # the casework does not close the Casebook case


def test_first_step_points_the_victim_to_the_asb_case_review(walk):
    walk.deploy(KEY)
    provide_asb_team()
    case = walk.open_case(org=COUNCIL, case_type="asb")
    if not [i for i in instances(case) if i.definition.key == KEY]:
        walk.start(case, KEY, org=COUNCIL)
    item = walk.step(case, "record_complaint", COUNCIL)
    assert "ASB case review" in item["documentation"] and "asb_case_review" in item["documentation"]
    assert {f["id"] for f in item["form"]["fields"]} >= {"victim_vulnerable", "repeat_victim", "harm_level",
                                                         "risk_level"}
    risk = next(f for f in item["form"]["fields"] if f["id"] == "risk_level")
    assert [o["id"] for o in risk["options"]] == ["standard", "medium", "high"]


def test_high_risk_sets_the_case_risk_and_the_manager_reviews_the_plan(walk):
    case = open_case(walk, complaint={"risk_level": "high", "harm_level": "significant"})
    assert case_json(walk, case)["risk_level"] == "high"
    walk.complete(case, "choose_intervention", COUNCIL, intervention("abc", review_on="2027-04-23"))
    assert facts(walk, case).keys() == {"outcome"}  # nothing recorded until the manager agrees the plan
    review_step = walk.step(case, "review_plan_manager", COUNCIL)
    assert review_step["required_role"] == "manager"
    walk.complete(case, "review_plan_manager", COUNCIL,
                  {"plan_decision": "change", "manager_notes": "An ABC will not hold them: refer to the landlord."},
                  role="manager")
    # Sent back: the ASB team chooses again (still the first intervention).
    walk.complete(case, "choose_intervention", COUNCIL, intervention("housing_referral", review_on="2027-04-23"))
    walk.complete(case, "review_plan_manager", COUNCIL,
                  {"plan_decision": "agreed", "manager_notes": "Agreed; add a police marker."}, role="manager")
    fact = facts(walk, case)["intervention-1"]
    assert fact.details["intervention"] == "housing_referral"
    assert fact.due_at.isoformat().startswith("2027-04-23T16:00")   # the review date chosen (a Friday)
    # The social landlord is brought in for tenancy enforcement before the review.
    assert "review_intervention" not in walk.ready_ids(case, COUNCIL)
    walk.complete(case, "housing_enforcement", HOUSING,
                  {"housing_tenancy": "tenant_here", "housing_action": "notice_seeking_possession",
                   "housing_notes": "NOSP served 5 April."})
    assert facts(walk, case)["intervention-1"].details["housing_action"] == "notice_seeking_possession"
    assert facts(walk, case)["intervention-1"].status == "open"
    assert walk.step(case, "review_intervention", COUNCIL)["due_at"].startswith("2027-04-23T16:00")
    # Still high at the review: the next plan goes to the manager again.
    walk.complete(case, "review_intervention", COUNCIL, review("another_intervention", "partly_complied", "high"))
    walk.complete(case, "choose_intervention", COUNCIL, intervention("warning_letter", "2027-04-26"))
    assert walk.step(case, "review_plan_manager", COUNCIL)["required_role"] == "manager"
    walk.complete(case, "review_plan_manager", COUNCIL, {"plan_decision": "agreed", "manager_notes": "Yes."},
                  role="manager")
    # 4 weeks after Monday 26 April 2027 is Monday 24 May.
    assert walk.step(case, "review_intervention", COUNCIL)["due_at"].startswith("2027-05-24T16:00")
    walk.complete(case, "review_intervention", COUNCIL, review("close", "complied", "medium"))
    close(walk, case)
    assert {c: f.status for c, f in facts(walk, case).items()} == {
        "outcome": "resolved", "intervention-1": "partly_complied", "intervention-2": "complied"}


def test_a_cpn_needs_a_cpw_that_was_not_complied_with(walk):
    case = open_case(walk)
    walk.complete(case, "choose_intervention", COUNCIL, intervention("cpn"))
    explain = walk.step(case, "explain_cpn", COUNCIL)
    assert "s.43(5)" in explain["documentation"]
    assert facts(walk, case).keys() == {"outcome"}
    walk.complete(case, "explain_cpn", COUNCIL)
    walk.complete(case, "choose_intervention", COUNCIL, intervention("cpw", "2027-03-08"))
    assert facts(walk, case)["intervention-1"].label == "Community protection warning (CPW)"
    # A CPW that was complied with does not open the way to a CPN.
    walk.complete(case, "review_intervention", COUNCIL, review("another_intervention", "complied"))
    walk.complete(case, "choose_intervention", COUNCIL, intervention("cpn", "2027-04-12"))
    walk.complete(case, "explain_cpn", COUNCIL)
    walk.complete(case, "choose_intervention", COUNCIL, intervention("cpw", "2027-04-12"))
    walk.complete(case, "review_intervention", COUNCIL, review("another_intervention", "not_complied"))
    # The second CPW was not complied with: the CPN goes ahead.
    walk.complete(case, "choose_intervention", COUNCIL, intervention("cpn", "2027-05-17"))
    assert "explain_cpn" not in walk.ready_ids(case, COUNCIL)
    fact = facts(walk, case)["intervention-3"]
    assert fact.label == "Community protection notice (CPN)" and fact.details["intervention"] == "cpn"
    walk.complete(case, "review_intervention", COUNCIL, review("close", "complied"))
    walk.complete(case, "record_outcome", COUNCIL, {**OUTCOME, "outcome": "reduced"})
    walk.complete(case, "tell_victim", COUNCIL, TOLD)
    assert {c: f.status for c, f in facts(walk, case).items()} == {
        "outcome": "reduced", "intervention-1": "complied", "intervention-2": "not_complied",
        "intervention-3": "complied"}


def test_legal_action_is_a_managers_decision(walk):
    case = open_case(walk, complaint={"risk_level": "high"})
    walk.complete(case, "choose_intervention", COUNCIL, intervention("legal_action"))
    decision = walk.step(case, "legal_decision", COUNCIL)
    assert decision["required_role"] == "manager"
    walk.complete(case, "legal_decision", COUNCIL,
                  {"legal_outcome": "declined", "legal_action_type": "civil_injunction",
                   "legal_reasons": "Try a CPW first."}, role="manager")
    walk.complete(case, "choose_intervention", COUNCIL, intervention("legal_action", "2027-03-15"))
    walk.complete(case, "legal_decision", COUNCIL,
                  {"legal_outcome": "approved", "legal_action_type": "civil_injunction",
                   "legal_reasons": "Persistent; harm to a vulnerable victim."}, role="manager")
    # The manager has decided this plan already: no second manager review although the risk is high.
    assert "review_plan_manager" not in walk.ready_ids(case, COUNCIL)
    fact = facts(walk, case)["intervention-1"]
    assert fact.label == "Civil injunction or other legal action" and fact.status == "open"
    walk.complete(case, "review_intervention", COUNCIL, review("close", "complied", "medium"))
    walk.complete(case, "record_outcome", COUNCIL, {**OUTCOME, "outcome": "no_further_action_possible"})
    walk.complete(case, "tell_victim", COUNCIL, TOLD)
    assert facts(walk, case)["outcome"].status == "no_further_action_possible"


def test_closing_cancels_an_unanswered_police_step(walk):
    case = open_case(walk, partners=(POLICE,))
    walk.step(case, "police_information", POLICE)
    walk.complete(case, "choose_intervention", COUNCIL, intervention("no_further_action"))
    walk.complete(case, "review_intervention", COUNCIL, review("close", "not_applicable"))
    close(walk, case)
    assert walk.status(case, KEY) == "completed"
    assert "police_information" not in walk.ready_ids(case, POLICE)
    assert facts(walk, case)["intervention-1"].status == "not_applicable"


def test_starts_by_itself_for_an_asb_case_when_mapped(walk):
    if db.session.scalar(select(CaseTypeProcess).where(CaseTypeProcess.case_type_code == "asb",
                                                       CaseTypeProcess.process_key == KEY)) is None:
        db.session.add(CaseTypeProcess(case_type_code="asb", process_key=KEY))
    provide_asb_team()
    walk.deploy(KEY)
    case = walk.open_case(org=COUNCIL, case_type="asb")
    assert walk.status(case, KEY) == "running"
    walk.step(case, "record_complaint", COUNCIL)


def test_at_risk_now_gives_the_police_and_the_asb_manager_a_step_at_once(walk):
    """"At risk now" in the risk assessment starts risk_to_life beside the casework."""
    walk.deploy("risk_to_life")
    case = open_case(walk, complaint={"at_risk_now": "yes", "risk_now_details": "Threatened with a knife at the door."})
    police = walk.step(case, "police_respond", "notts_police")
    assert {f["id"]: f.get("default") for f in police["form"]["fields"]}["risk_details_shown"] == \
        "Threatened with a knife at the door."
    assert walk.step(case, "manager_check", COUNCIL)["required_role"] == "manager"
    assert "choose_intervention" in walk.ready_ids(case, COUNCIL)   # the casework carries on
