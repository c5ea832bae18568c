"""Walk-through of bpmn/restorative_justice.bpmn: every route, both deadlines and the facts it records.

Dates are in 2030 so that no deadline passes while a walk is under way (the engine checks timers against the
real clock after every step); the timer tests then run the timers "as of" a moment after the deadline.
"""
from __future__ import annotations

import pytest

from tests.bpmn.conftest import utc

KEY = "restorative_justice"
REFERRED_ON = "2030-03-04"           # a Monday; 5 working days later: Monday 11 March 2030, 17:00
EVENT_ON = "2030-04-01"              # a Monday; 10 working days later: Monday 15 April 2030, 17:00


def referral(**overrides) -> dict:
    data = {"referred_on": REFERRED_ON, "referral_source": "police", "referred_party": "harmed",
            "consent_to_referral": True, "harmer_identified": True, "harmer_under_18": False,
            "cjs_stage": "post_sentence_community", "sensitive_flags": ["none"], "existing_orders": ["none"],
            "referral_notes": "Criminal damage to the victim's car; victim would like to ask why."}
    return {**data, **overrides}


def harmed(**overrides) -> dict:
    data = {"harmed_contacted_on": "2030-03-06", "harmed_info_given": ["process", "possible_outcomes",
                                                                         "outcome_monitoring", "right_to_withdraw"],
            "harmed_communication_needs": ["none"], "harmed_willing": True}
    return {**data, **overrides}


def harmer(**overrides) -> dict:
    data = {"harmer_met_on": "2030-03-08", "harmer_info_given": ["process", "right_to_withdraw"],
            "acknowledges_facts": True, "takes_responsibility": True, "harmer_willing": True,
            "info_requested_from": []}
    return {**data, **overrides}


def risk(decision: str = "proceed_direct_ok", **overrides) -> dict:
    data = {"physical_risk": "low", "emotional_risk": "medium", "ongoing_relationship": "neighbour",
            "orders_checked_compatible": True, "co_facilitator_required": False, "risk_decision": decision,
            "risk_rationale": "No orders in force; both parties motivated.", "at_risk_now": "no"}
    return {**data, **overrides}


def consent(process_type: str, harmed_scope=None, harmer_scope=None) -> dict:
    scope = [process_type, "share_outcome_with_referrer"]
    return {"consent_date": "2030-03-20", "consent_method": "signed_paper",
            "harmed_consent_scope": harmed_scope if harmed_scope is not None else scope,
            "harmer_consent_scope": harmer_scope if harmer_scope is not None else scope,
            "process_type": process_type}


def prepared(outcome: str = "ready") -> dict:
    return {"preparation_sessions": 2, "harmed_questions": "Why my car?", "ground_rules_agreed": True,
            "safety_plan": "Separate waiting rooms.", "preparation_outcome": outcome}


def conference(result: str = "completed", agreement: bool = True) -> dict:
    return {"event_date": EVENT_ON, "attendees": "Harmed person, person responsible, two facilitators",
            "delivery_result": result, "outcome_agreement_reached": agreement}


def exchange(result: str, agreement: bool = False) -> dict:
    return {"event_date": EVENT_ON, "exchange_medium": ["letter"], "checked_for_harm": True,
            "delivery_result": result, "outcome_agreement_reached": agreement}


def follow_up(agreement_status: str, wants_support: bool = False) -> dict:
    return {"harmed_feedback": "very_satisfied", "harmer_feedback": "satisfied",
            "agreement_status": agreement_status, "harmed_wants_support": wants_support}


CLOSE = {"closure_reason": "completed_direct", "referrer_informed": True, "report_to_court_sent": False}


def rj_fact(walk, case):
    return walk.facts(case, "rj_outcome")["rj"]


def open_rj(walk, **kwargs) -> int:
    """Deploy, open a police-led case (Victim CARE a partner, no RJ service yet) and start the process."""
    walk.deploy(KEY)
    case = walk.open_case("notts_police", partners=kwargs.pop("partners", ("victim_care",)))
    walk.start(case, KEY, kwargs.pop("data", {"referral_reason": "Victim asked about meeting the offender"}))
    return case


def to_risk(walk, case, **referral_overrides) -> None:
    """Register, engage both parties (no partner information asked for): the risk assessment is next."""
    walk.complete(case, "register_referral", "rj_service", referral(**referral_overrides))
    walk.complete(case, "engage_harmed", "rj_service", harmed())
    walk.complete(case, "engage_harmer", "rj_service", harmer())
    walk.step(case, "risk_assessment", "rj_service")


def close(walk, case, reason: str = "completed_direct") -> None:
    walk.complete(case, "close_rj", "rj_service", {**CLOSE, "closure_reason": reason})
    assert walk.status(case, KEY) == "completed"


# ---------------------------------------------------------------- main route

def test_direct_conference_with_agreement_partner_checks_and_support(walk):
    case = open_rj(walk)
    # The process brought the RJ service onto the case; its coordinator registers the referral.
    walk.complete(case, "register_referral", "rj_service", referral())
    fact = rj_fact(walk, case)
    assert fact.status == "open" and fact.completed_at is None
    assert fact.details["referral_source"] == "police" and fact.details["cjs_stage"] == "post_sentence_community"
    assert fact.owner_organisation.code == "rj_service"

    walk.complete(case, "engage_harmed", "rj_service", harmed())
    walk.complete(case, "engage_harmer", "rj_service", harmer(info_requested_from=["police", "probation"]))
    walk.complete(case, "police_info", "notts_police",
                  {"police_orders": ["none"], "police_view": "no_concerns", "police_notes": "No markers."})
    # Probation was not on the case: the process added it, and the offender manager's step went to it.
    walk.complete(case, "probation_info", "probation",
                  {"under_supervision": True, "conditions_allow_contact": True, "probation_view": "supports"})
    walk.complete(case, "risk_assessment", "rj_service", risk())
    walk.complete(case, "record_consent", "rj_service", consent("face_to_face_conference"))
    walk.complete(case, "prepare", "rj_service", prepared())
    walk.complete(case, "conference", "rj_service", conference())
    fact = rj_fact(walk, case)
    assert fact.status == "direct_conference" and fact.completed_at is not None
    assert fact.details["process_type"] == "face_to_face_conference"
    assert fact.details["outcome_agreement"] is True and fact.details["delivered_on"] == EVENT_ON

    walk.complete(case, "outcome_agreement", "rj_service",
                  {"agreement_items": ["apology", "reparation_financial"], "agreement_details": "Pay for repair",
                   "agreement_due_on": "2030-06-28", "monitoring_method": "facilitator_checks",
                   "signed_by_parties": True})
    walk.complete(case, "follow_up", "rj_service", follow_up("completed", wants_support=True))
    assert rj_fact(walk, case).status == "agreement_completed"
    walk.complete(case, "vs_support", "victim_care", {"support_outcome": "support_plan"})
    support = walk.facts(case, "referral")["rj_aftercare"]
    assert support.status == "support_plan" and support.owner_organisation.code == "victim_care"
    close(walk, case, "agreement_fulfilled")
    assert rj_fact(walk, case).status == "agreement_completed"


def test_started_automatically_for_an_rj_case_with_no_start_data(walk):
    walk.deploy(KEY)
    case = walk.open_case("notts_police", case_type="restorative_justice")
    assert walk.status(case, KEY) == "running"
    walk.complete(case, "register_referral", "rj_service", referral())
    assert rj_fact(walk, case).status == "open"


def test_police_information_waits_while_nobody_provides_policing(walk):
    walk.deploy(KEY)
    walk.withdraw("policing")
    case = walk.open_case("victim_care")
    walk.start(case, KEY, {}, org="victim_care")
    walk.complete(case, "register_referral", "rj_service", referral(referral_source="victim_services"))
    walk.complete(case, "engage_harmed", "rj_service", harmed())
    walk.complete(case, "engage_harmer", "rj_service", harmer(info_requested_from=["police"]))
    waiting = [t for t in walk.ready(case, "victim_care") if t["bpmn_id"] == "police_info"]
    assert len(waiting) == 1 and waiting[0]["organisation"] is None
    assert "policing" in waiting[0]["unassigned_reason"].lower()


# ---------------------------------------------------------------- eligibility

@pytest.mark.parametrize("overrides, status, reason", [
    ({"consent_to_referral": False}, "declined", "no_consent_to_referral"),
    ({"harmer_identified": False}, "not_suitable", "harmer_unknown"),
])
def test_referral_not_progressed(walk, overrides, status, reason):
    case = open_rj(walk)
    walk.complete(case, "register_referral", "rj_service", referral(**overrides))
    fact = rj_fact(walk, case)
    assert (fact.status, fact.details["reason"]) == (status, reason)
    assert fact.completed_at is not None
    assert walk.status(case, KEY) == "completed"
    assert walk.ready_ids(case, "rj_service") == set()


def test_sensitive_case_needs_the_case_supervisor_who_can_stop_it(walk):
    case = open_rj(walk)
    walk.complete(case, "register_referral", "rj_service", referral(sensitive_flags=["domestic_abuse"]))
    item = walk.step(case, "supervisor_review", "rj_service")
    assert item["required_role"] == "manager"
    # A practitioner of the RJ service may not decide it.
    assert walk.post(f"/tasks/{item['id']}/complete", {"data": {"supervisor_decision": "proceed",
                                                                "supervisor_conditions": "x"}},
                     org="rj_service").status_code == 403
    walk.complete(case, "supervisor_review", "rj_service",
                  {"supervisor_decision": "not_suitable", "supervisor_conditions": "Coercive control ongoing."},
                  role="manager")
    assert rj_fact(walk, case).status == "not_suitable"
    assert walk.status(case, KEY) == "completed"


def test_sensitive_case_approved_then_harmed_person_declines(walk):
    case = open_rj(walk)
    walk.complete(case, "register_referral", "rj_service", referral(sensitive_flags=["none", "hate_crime"]))
    walk.complete(case, "supervisor_review", "rj_service",
                  {"supervisor_decision": "proceed", "supervisor_conditions": "Indirect first."}, role="manager")
    walk.complete(case, "engage_harmed", "rj_service", harmed(harmed_willing=False))
    fact = rj_fact(walk, case)
    assert (fact.status, fact.details["reason"]) == ("declined", "harmed_declined")
    assert walk.status(case, KEY) == "completed"


@pytest.mark.parametrize("overrides, status, reason", [
    ({"acknowledges_facts": False}, "not_suitable", "no_acknowledgement"),
    ({"takes_responsibility": False}, "not_suitable", "no_acknowledgement"),
    ({"harmer_willing": False}, "declined", "harmer_declined"),
])
def test_person_responsible_does_not_go_ahead(walk, overrides, status, reason):
    case = open_rj(walk)
    walk.complete(case, "register_referral", "rj_service", referral())
    walk.complete(case, "engage_harmed", "rj_service", harmed())
    walk.complete(case, "engage_harmer", "rj_service", harmer(**overrides))
    fact = rj_fact(walk, case)
    assert (fact.status, fact.details["reason"]) == (status, reason)
    assert walk.status(case, KEY) == "completed"


# ---------------------------------------------------------------- risk and consent

def test_risk_assessment_stops_the_process(walk):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk("stop", physical_risk="high"))
    assert rj_fact(walk, case).status == "not_suitable"
    assert walk.status(case, KEY) == "completed"


def test_paused_case_goes_to_the_supervisor_who_stops_it(walk):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk("pause"))
    walk.complete(case, "supervisor_risk_review", "rj_service",
                  {"risk_decision": "stop", "supervisor_risk_notes": "Threats made."}, role="manager")
    assert rj_fact(walk, case).status == "not_suitable"
    assert walk.status(case, KEY) == "completed"


def test_supervisor_allows_indirect_only_so_a_conference_cannot_be_chosen(walk):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk("pause"))
    walk.complete(case, "supervisor_risk_review", "rj_service",
                  {"risk_decision": "proceed_indirect_only", "supervisor_risk_notes": "Letters only."},
                  role="manager")
    walk.complete(case, "record_consent", "rj_service", consent("face_to_face_conference"))
    fact = rj_fact(walk, case)
    assert (fact.status, fact.details["reason"]) == ("declined", "no_agreed_form_of_contact")
    assert walk.status(case, KEY) == "completed"


@pytest.mark.parametrize("form", [
    consent("letter_exchange", harmer_scope=["video_conference"]),      # the parties consented to different things
    consent("letter_exchange") | {"process_type": "none_agreed"},
    consent("video_conference") | {"harmer_consent_scope": []},
])
def test_no_form_of_contact_both_parties_consented_to(walk, form):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk())
    walk.complete(case, "record_consent", "rj_service", form)
    assert rj_fact(walk, case).status == "declined"
    assert walk.status(case, KEY) == "completed"


def test_direct_contact_needs_orders_checked(walk):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk(orders_checked_compatible=False))
    walk.complete(case, "record_consent", "rj_service", consent("video_conference"))
    assert rj_fact(walk, case).status == "declined"


# ---------------------------------------------------------------- preparation and delivery

@pytest.mark.parametrize("outcome", ["harmed_withdrew", "harmer_withdrew"])
def test_party_withdraws_during_preparation(walk, outcome):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk())
    walk.complete(case, "record_consent", "rj_service", consent("face_to_face_conference"))
    walk.complete(case, "prepare", "rj_service", prepared(outcome))
    fact = rj_fact(walk, case)
    assert (fact.status, fact.details["reason"]) == ("withdrawn", outcome)
    close(walk, case, outcome)


@pytest.mark.parametrize("result, status", [("participant_withdrew", "withdrawn"),
                                            ("stopped_for_safety", "not_suitable")])
def test_conference_does_not_go_ahead(walk, result, status):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk())
    walk.complete(case, "record_consent", "rj_service", consent("video_conference"))
    walk.complete(case, "prepare", "rj_service", prepared())
    walk.complete(case, "conference", "rj_service", conference(result, agreement=False))
    fact = rj_fact(walk, case)
    assert (fact.status, fact.details["reason"]) == (status, result)
    close(walk, case, "other")


def test_indirect_letters_after_a_risk_reassessment_without_agreement(walk):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk("proceed_indirect_only"))
    walk.complete(case, "record_consent", "rj_service", consent("letter_exchange"))
    # Something changed in preparation: back to the risk assessment, consent and preparation again.
    walk.complete(case, "prepare", "rj_service", prepared("risk_changed"))
    walk.complete(case, "risk_assessment", "rj_service", risk("proceed_indirect_only"))
    walk.complete(case, "record_consent", "rj_service", consent("letter_exchange"))
    walk.complete(case, "prepare", "rj_service", prepared())
    walk.complete(case, "message_exchange", "rj_service", exchange("another_round"))
    assert rj_fact(walk, case).status == "open"
    walk.complete(case, "message_exchange", "rj_service", exchange("completed"))
    fact = rj_fact(walk, case)
    assert fact.status == "indirect" and fact.details["process_type"] == "letter_exchange"
    walk.complete(case, "follow_up", "rj_service", follow_up("no_agreement"))
    assert walk.ready_ids(case, "victim_care") == {"close_rj"}       # no support step
    close(walk, case, "completed_indirect")
    assert rj_fact(walk, case).status == "indirect"
    assert "rj_aftercare" not in walk.facts(case, "referral")


def test_shuttle_exchange_stopped_when_a_party_withdraws(walk):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk())
    walk.complete(case, "record_consent", "rj_service", consent("shuttle_communication"))
    walk.complete(case, "prepare", "rj_service", prepared())
    walk.complete(case, "message_exchange", "rj_service", exchange("participant_withdrew"))
    assert rj_fact(walk, case).status == "withdrawn"
    close(walk, case, "harmer_withdrew")


def test_agreement_checked_again_until_it_falls_due(walk):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk())
    walk.complete(case, "record_consent", "rj_service", consent("face_to_face_conference"))
    walk.complete(case, "prepare", "rj_service", prepared())
    walk.complete(case, "conference", "rj_service", conference())
    walk.complete(case, "outcome_agreement", "rj_service",
                  {"agreement_items": ["reparation_activity"], "agreement_details": "Clean the car",
                   "agreement_due_on": "2030-06-28", "monitoring_method": "harmed_confirms",
                   "signed_by_parties": True})
    walk.complete(case, "follow_up", "rj_service", follow_up("in_progress"))
    item = walk.step(case, "monitor_agreement", "rj_service")
    assert item["due_at"].startswith("2030-06-28")
    walk.complete(case, "monitor_agreement", "rj_service", {"agreement_status": "in_progress"})
    walk.complete(case, "monitor_agreement", "rj_service", {"agreement_status": "not_completed"})
    assert rj_fact(walk, case).status == "direct_conference"
    close(walk, case, "agreement_not_fulfilled")


# ---------------------------------------------------------------- deadlines

def test_first_contact_overdue_goes_to_the_rj_manager(walk):
    case = open_rj(walk)
    walk.complete(case, "register_referral", "rj_service", referral())
    item = walk.step(case, "engage_harmed", "rj_service")
    assert item["due_at"].startswith("2030-03-11T17:00")       # 5 working days, close of business (GMT)
    walk.timers(utc("2030-03-11T16:59:00"))
    assert "chase_first_contact" not in walk.ready_ids(case, "rj_service")
    walk.timers(utc("2030-03-11T17:01:00"))
    chase = walk.step(case, "chase_first_contact", "rj_service")
    assert chase["required_role"] == "manager"
    assert "engage_harmed" in walk.ready_ids(case, "rj_service")   # a reminder: the step stays open
    walk.complete(case, "chase_first_contact", "rj_service", {"chase_action": "Reallocated to Chris."},
                  role="manager")
    walk.complete(case, "engage_harmed", "rj_service", harmed(harmed_willing=False))
    assert walk.status(case, KEY) == "completed"


def test_follow_up_overdue_goes_to_the_rj_manager(walk):
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service", risk())
    walk.complete(case, "record_consent", "rj_service", consent("face_to_face_conference"))
    walk.complete(case, "prepare", "rj_service", prepared())
    walk.complete(case, "conference", "rj_service", conference(agreement=False))
    item = walk.step(case, "follow_up", "rj_service")
    assert item["due_at"].startswith("2030-04-15T16:00")       # 10 working days, 17:00 London (BST)
    walk.timers(utc("2030-04-15T16:30:00"))
    chase = walk.step(case, "chase_follow_up", "rj_service")
    assert chase["required_role"] == "manager"
    walk.complete(case, "chase_follow_up", "rj_service", {"chase_action": "Facilitator phoned both."},
                  role="manager")
    walk.complete(case, "follow_up", "rj_service", follow_up("no_agreement", wants_support=True))
    walk.complete(case, "vs_support", "victim_care", {"support_outcome": "signposted"})
    assert walk.facts(case, "referral")["rj_aftercare"].status == "signposted"
    close(walk, case)
    assert rj_fact(walk, case).status == "direct_conference"


def test_at_risk_now_in_the_risk_assessment_raises_immediate_steps(walk):
    """The RJ risk assessment finds someone at risk now: the police and the RJ manager get a step at once."""
    walk.deploy("risk_to_life")
    case = open_rj(walk)
    to_risk(walk, case)
    walk.complete(case, "risk_assessment", "rj_service",
                  risk("stop", physical_risk="high", at_risk_now="yes",
                       risk_now_details="The person responsible has made threats to kill."))
    assert walk.step(case, "police_respond", "notts_police")["title"] == "Respond now: risk to life"
    assert walk.step(case, "manager_check", "rj_service")["required_role"] == "manager"
