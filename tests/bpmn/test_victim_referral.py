"""Walk-through of bpmn/victim_referral.bpmn: police report, Enhanced Rights, consent, Right 3 and referral
deadlines, victim services triage, contact attempts, needs assessment, outcomes, review and closure.

Dates are fixed in 2027 so every deadline is in the future when a step is reached and `walk.timers(at)` decides
when it passes. The crime is reported on Thursday 25 March 2027, the day before Good Friday: Friday 26 and
Monday 29 March are bank holidays and British Summer Time starts on 28 March (17:00 London = 16:00 UTC).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from models import Case, CaseNote, WorkflowInstance, db
from tests.bpmn.conftest import utc

KEY = "victim_referral"
REPORTED = "2027-03-25"
R3_DUE_STANDARD = "2027-04-05T16:00:00+00:00"   # 5 working days: Tue 30, Wed 31, Thu 1, Fri 2, Mon 5
R3_DUE_ENHANCED = "2027-03-30T16:00:00+00:00"   # 1 working day: Tue 30 (Fri 26 and Mon 29 are bank holidays)
REFERRAL_DUE = "2027-03-31T16:00:00+00:00"      # 2 working days: Tue 30, Wed 31


def report(**changes) -> dict:
    """The police report form: a standard (not Enhanced Rights) burglary victim who does not object."""
    data = {"crime_reference": "20/12345/27", "reported_on": REPORTED, "offence_category": "burglary",
            "victim_age": 45, "vulnerability_factors": [], "intimidated": False, "persistently_targeted": False,
            "enhanced": False, "communication_needs": ["none"], "referral_decision": "does_not_object",
            "lawful_basis": "public_task"}
    data.update(changes)
    return data


RIGHT3 = {"right3_given_on": "2027-03-26", "confirmation_method": "email", "safe_to_send_confirmation": True,
          "information_given": ["cjs_process", "support_services", "compensation"], "rj_info_given": True,
          "vps_explained": True, "update_preference": "key_events"}
REFERRAL = {"referred_on": "2027-03-26", "contact_phone": "07700 900123", "phone_safe": True,
            "voicemail_ok": False, "safe_times": "weekday evenings", "referral_summary": "Burglary; lives alone."}
TRIAGE = {"received_on": "2027-03-30", "in_area": True, "priority": "standard", "allocated_to": "J. Patel"}
CONTACTED = {"contact_on": "2027-03-30", "contact_channel": "phone", "used_safe_contact": True,
             "contact_result": "contacted"}
CLOSE = {"closure_reason": "goals_met", "return_route_explained": True, "feedback_offered": True}


def retry(attempt: int, result: str) -> dict:
    return {"attempt_number": attempt, "contact_on": "2027-04-01", "contact_channel": "phone",
            "used_safe_contact": True, "contact_result": result}


def assessment(**changes) -> dict:
    data = {"assessment_on": "2027-03-31", "assessed_with": "victim", "consent_to_support": True,
            "immediate_safety": "safe", "needs_identified": ["practical", "emotional"],
            "domestic_abuse_risk": "not_applicable", "rj_interest": "no", "specialist_needed": [],
            "enhanced_confirmed": False, "overall_need_level": "support_required",
            "victim_wishes": "I want my locks changed and to know what happens next."}
    data.update(changes)
    return data


def due(walk, case, bpmn_id, org):
    return walk.step(case, bpmn_id, org)["due_at"]


def begin(walk, partners=("victim_care",), **changes) -> int:
    """Deploy, open a case, start the process and complete the police report."""
    walk.deploy(KEY)
    case = walk.open_case(partners=partners)
    walk.start(case, KEY)
    assert walk.ready_ids(case) == {"record_report"}
    walk.complete(case, "record_report", "notts_police", report(**changes))
    return case


def refer(walk, case, referral=None, right3=None) -> None:
    """Police give the Right 3 information and send the referral; victim services accept it."""
    walk.complete(case, "give_right3", "notts_police", right3 or RIGHT3)
    walk.complete(case, "send_referral", "notts_police", referral or REFERRAL)


def to_assessment(walk, case) -> None:
    refer(walk, case)
    walk.complete(case, "triage_referral", "victim_care", TRIAGE)
    walk.complete(case, "contact_victim", "victim_care", CONTACTED)
    assert "assess_needs" in walk.ready_ids(case)


def notes(case) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(CaseNote.body).where(CaseNote.case_id == case)))


# ---------------------------------------------------------------- main route


def test_main_route_support_plan_review_and_closure(walk):
    case = begin(walk)
    assert walk.ready_ids(case) == {"give_right3", "send_referral"}
    assert due(walk, case, "give_right3", "notts_police") == R3_DUE_STANDARD
    assert due(walk, case, "send_referral", "notts_police") == REFERRAL_DUE

    walk.complete(case, "give_right3", "notts_police", RIGHT3)
    walk.complete(case, "send_referral", "notts_police", REFERRAL)
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.status == "open" and referral.completed_at is None
    assert referral.owner_organisation.code == "victim_care"
    assert referral.details["referred_on"] == "2027-03-26" and referral.details["sent_on_time"] is True
    assert referral.details["referral_due"] == REFERRAL_DUE and referral.details["enhanced"] is False

    walk.complete(case, "triage_referral", "victim_care", TRIAGE)
    # First contact is due 2 working days after the referral (sent on Good Friday): Wednesday 31 March.
    assert due(walk, case, "contact_victim", "victim_care") == "2027-03-31T16:00:00+00:00"
    walk.complete(case, "contact_victim", "victim_care", {**CONTACTED, "contact_result": "no_answer"})
    walk.complete(case, "retry_contact", "victim_care", retry(2, "contacted"))
    walk.complete(case, "assess_needs", "victim_care", assessment())
    walk.complete(case, "agree_support_plan", "victim_care",
                  {"plan_goals": "Locks changed by 9 April (caseworker); CJS update (OIC).",
                   "plan_areas": ["practical", "cjs_information"], "review_on": "2027-04-28",
                   "agreed_with_victim": True})
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.status == "support_plan" and referral.completed_at is not None
    assert referral.details["review_on"] == "2027-04-28"

    # The review waits for its date.
    walk.timers(utc("2027-04-27T12:00:00"))
    assert "review_plan" not in walk.ready_ids(case, "victim_care")
    walk.timers(utc("2027-04-28T16:30:00"))
    walk.complete(case, "review_plan", "victim_care", {"review_decision": "continue_support"})
    walk.complete(case, "agree_support_plan", "victim_care",
                  {"plan_goals": "Counselling referral.", "review_on": "2027-05-26", "agreed_with_victim": True})
    walk.timers(utc("2027-05-27T09:00:00"))
    walk.complete(case, "review_plan", "victim_care", {"review_decision": "goals_met"})
    assert walk.status(case, KEY) == "running"
    walk.complete(case, "close_referral", "victim_care", CLOSE)
    assert walk.status(case, KEY) == "completed"
    assert walk.ready(case) == []
    assert walk.facts(case, "referral")["victim_services"].status == "support_plan"
    # The rights this process evidences are recorded once, here (victims_code is not deployed in this test, so
    # they carry no clock); victims_code, started by it, is told not to ask for them again.
    rights = walk.facts(case, "entitlement")
    assert set(rights) == {"R3a", "R3b", "R3c", "R4a", "R4b", "R5", "R6c", "R7a"}
    assert (rights["R4a"].status, rights["R4b"].status, rights["R3a"].status) == ("met", "met", "met")
    assert any("'victims_code'" in n and "not deployed" in n for n in notes(case))


def test_case_type_victim_support_starts_it_with_case_data_only(walk):
    walk.deploy(KEY)
    case = walk.open_case(case_type="victim_support", partners=("victim_care",))
    assert walk.status(case, KEY) == "running"
    assert walk.ready_ids(case) == {"record_report"}
    walk.complete(case, "record_report", "notts_police", report())
    assert walk.ready_ids(case) == {"give_right3", "send_referral"}


# ---------------------------------------------------------------- Enhanced Rights and police deadlines


@pytest.mark.parametrize("changes", [
    {"victim_age": 16},
    {"offence_category": "hate_crime", "hate_motivation": ["race"], "referral_decision": "consents"},
    {"vulnerability_factors": ["mental_disorder"]},
    {"intimidated": True},
    {"persistently_targeted": True},
    {"enhanced": True, "enhanced_reason": "Elderly and isolated; officer's judgement."},
], ids=["under_18", "most_serious_crime", "vulnerable", "intimidated", "persistently_targeted", "officer"])
def test_enhanced_rights_give_one_working_day_for_right3(walk, changes):
    case = begin(walk, **changes)
    assert due(walk, case, "give_right3", "notts_police") == R3_DUE_ENHANCED
    assert due(walk, case, "send_referral", "notts_police") == REFERRAL_DUE
    walk.complete(case, "give_right3", "notts_police", RIGHT3)
    walk.complete(case, "send_referral", "notts_police", REFERRAL)
    assert walk.facts(case, "referral")["victim_services"].details["enhanced"] is True


def test_overdue_right3_and_referral_escalate_to_a_police_manager(walk):
    # Police only: victim services is brought onto the case when the referral is sent.
    case = begin(walk, partners=(), victim_age=15)
    walk.timers(utc("2027-03-29T12:00:00"))   # 2 calendar days on, but Friday and Monday are bank holidays
    assert walk.ready_ids(case) == {"give_right3", "send_referral"}

    walk.timers(utc("2027-03-30T16:30:00"))   # the 1-working-day Right 3 deadline has passed
    chase = walk.step(case, "chase_right3", "notts_police")
    assert chase["required_role"] == "manager"
    assert "chase_referral" not in walk.ready_ids(case)
    practitioner = walk.post(f"/tasks/{chase['id']}/complete", {"data": {"right3_delay_reason": "x"}})
    assert practitioner.status_code == 403
    walk.complete(case, "chase_right3", "notts_police", {"right3_delay_reason": "Officer on leave over Easter."},
                  role="manager")

    walk.timers(utc("2027-03-31T16:30:00"))   # the 2-working-day referral deadline has passed
    assert walk.step(case, "chase_referral", "notts_police")["required_role"] == "manager"
    walk.complete(case, "chase_referral", "notts_police",
                  {"referral_delay_reason": "Hub backlog after the bank holidays.", "referral_action": "Sent today"},
                  role="manager")

    walk.complete(case, "give_right3", "notts_police", {**RIGHT3, "right3_given_on": "2027-03-31"})
    assert "triage_referral" not in walk.ready_ids(case)
    walk.complete(case, "send_referral", "notts_police", {**REFERRAL, "referred_on": "2027-04-01"})
    assert walk.facts(case, "referral")["victim_services"].details["sent_on_time"] is False
    # victim_care was not on the case: the referral brought it on and triage went to it.
    walk.complete(case, "triage_referral", "victim_care",
                  {**TRIAGE, "in_area": False, "forwarded_to": "Victim Support Derbyshire"})
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.status == "signposted" and referral.details["end_state"] == "transferred_out_of_area"
    assert walk.status(case, KEY) == "completed"


# ---------------------------------------------------------------- consent model


@pytest.mark.parametrize("offence,decision,referred", [
    ("burglary", "does_not_object", True),
    ("burglary", "consents", True),
    ("burglary", "not_asked_unsafe", True),
    ("burglary", "declines", False),
    ("theft", "explicit_consent_refused", False),
    ("domestic_abuse", "explicit_consent_given", True),
    ("domestic_abuse", "consents", False),
    ("sexual_offence", "does_not_object", False),
    ("homicide_bereaved", "declines", False),
])
def test_consent_model_decides_the_referral(walk, offence, decision, referred):
    case = begin(walk, offence_category=offence, referral_decision=decision)
    assert walk.ready_ids(case) == {"give_right3", "send_referral" if referred else "record_decline"}
    if referred:
        return
    walk.complete(case, "record_decline", "notts_police",
                  {"decline_reason": "Has family support.", "self_referral_info_given": True})
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.status == "declined" and referral.details["end_state"] == "referral_declined_by_victim"
    assert walk.status(case, KEY) == "running"   # the Right 3 branch is still open
    walk.complete(case, "give_right3", "notts_police", RIGHT3)
    assert walk.status(case, KEY) == "completed"


# ---------------------------------------------------------------- contact attempts


def test_first_contact_overdue_is_chased_then_no_contact_after_three_attempts(walk):
    case = begin(walk)
    refer(walk, case)
    walk.complete(case, "triage_referral", "victim_care", TRIAGE)
    walk.timers(utc("2027-03-31T12:00:00"))
    assert "chase_contact" not in walk.ready_ids(case, "victim_care")
    walk.timers(utc("2027-03-31T16:30:00"))
    assert walk.step(case, "chase_contact", "victim_care")["required_role"] == "manager"
    walk.complete(case, "chase_contact", "victim_care", {"contact_chase_action": "Reallocated."}, role="manager")

    # The first attempt is always attempt 1 (a read-only field), whatever is sent.
    walk.complete(case, "contact_victim", "victim_care",
                  {**CONTACTED, "contact_result": "voicemail_left", "attempt_number": 3})
    for attempt in (2, 3):
        walk.complete(case, "retry_contact", "victim_care", retry(attempt, "no_answer"))
    walk.complete(case, "no_contact_letter", "victim_care", {"letter_sent_on": "2027-04-06", "letter_method": "letter"})
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.status == "no_contact" and referral.details["end_state"] == "no_contact_closed"
    walk.complete(case, "close_referral", "victim_care", {**CLOSE, "closure_reason": "no_contact"})
    assert walk.status(case, KEY) == "completed"


@pytest.mark.parametrize("first,second,then,status", [
    ("declined", None, "close_referral", "declined"),
    ("unsafe_to_continue", None, "no_contact_letter", None),
    ("no_answer", "declined", "close_referral", "declined"),
    ("wrong_number", "unsafe_to_continue", "no_contact_letter", None),
    ("no_answer", "no_answer", "retry_contact", None),          # attempt 2 of 3: try again
])
def test_contact_results(walk, first, second, then, status):
    case = begin(walk)
    refer(walk, case)
    walk.complete(case, "triage_referral", "victim_care", TRIAGE)
    walk.complete(case, "contact_victim", "victim_care", {**CONTACTED, "contact_result": first})
    if second:
        walk.complete(case, "retry_contact", "victim_care", retry(2, second))
    assert walk.ready_ids(case, "victim_care") == {then}
    if status:
        referral = walk.facts(case, "referral")["victim_services"]
        assert referral.status == status and referral.details["end_state"] == "support_declined"


# ---------------------------------------------------------------- needs assessment outcomes


def test_assessment_starts_rj_and_marac_and_refers_to_a_specialist(walk):
    case = begin(walk, offence_category="domestic_abuse", referral_decision="explicit_consent_given")
    to_assessment(walk, case)
    walk.complete(case, "assess_needs", "victim_care",
                  assessment(domestic_abuse_risk="high", rj_interest="yes_refer", specialist_needed=["idva"],
                             enhanced_confirmed=True, overall_need_level="specialist_required"))
    # Neither process is deployed here: each skip is noted on the case and the referral carries on.
    bodies = notes(case)
    assert any("restorative_justice" in b and "not deployed" in b for b in bodies), bodies
    assert any("'marac'" in b and "not deployed" in b for b in bodies), bodies
    db.session.expire_all()
    assert db.session.get(Case, case).risk_level.value == "high"
    assert walk.status(case, KEY) == "running"

    walk.complete(case, "refer_specialist", "victim_care",
                  {"specialist_services": ["idva"], "consent_to_share": True, "specialist_referred_on": "2027-04-01"})
    referral = walk.facts(case, "referral")["victim_services"]
    assert referral.status == "specialist_referral" and referral.details["services"] == ["idva"]
    walk.complete(case, "close_referral", "victim_care", {**CLOSE, "closure_reason": "specialist_referral"})
    assert walk.status(case, KEY) == "completed"


def test_rj_and_marac_are_not_started_otherwise(walk):
    case = begin(walk)
    to_assessment(walk, case)
    walk.complete(case, "assess_needs", "victim_care",
                  assessment(domestic_abuse_risk="medium", rj_interest="maybe_later"))
    assert not [b for b in notes(case) if "restorative_justice" in b or "marac" in b]
    db.session.expire_all()
    assert db.session.get(Case, case).risk_level.value != "high"
    assert walk.ready_ids(case, "victim_care") == {"agree_support_plan"}


@pytest.mark.parametrize("changes,next_step,status,end_state", [
    ({"consent_to_support": False}, None, "declined", "support_declined"),
    ({"overall_need_level": "no_further_support"}, None, "signposted", "closed_no_need"),
    ({"overall_need_level": "information_only"}, "signpost_victim", "signposted", "signposted_closed"),
    ({"overall_need_level": "specialist_required"}, "refer_specialist", "signposted", "transferred_specialist"),
], ids=["declined_support", "no_need", "information_only", "specialist_without_consent_to_share"])
def test_assessment_outcomes(walk, changes, next_step, status, end_state):
    case = begin(walk)
    to_assessment(walk, case)
    walk.complete(case, "assess_needs", "victim_care", assessment(**changes))
    if next_step == "signpost_victim":
        walk.complete(case, "signpost_victim", "victim_care", {"signposted_to": ["cica", "self_referral"]})
    elif next_step == "refer_specialist":
        walk.complete(case, "refer_specialist", "victim_care",
                      {"specialist_services": ["mental_health"], "consent_to_share": False,
                       "specialist_referred_on": "2027-04-01"})
    referral = walk.facts(case, "referral")["victim_services"]
    assert (referral.status, referral.details["end_state"]) == (status, end_state)
    assert walk.ready_ids(case, "victim_care") == {"close_referral"}
    walk.complete(case, "close_referral", "victim_care", {**CLOSE, "closure_reason": "information_given"})
    assert walk.status(case, KEY) == "completed"


@pytest.mark.parametrize("decision,next_step", [
    ("needs_changed", "assess_needs"), ("victim_withdrew", "close_referral")])
def test_review_can_reassess_or_close(walk, decision, next_step):
    case = begin(walk)
    to_assessment(walk, case)
    walk.complete(case, "assess_needs", "victim_care", assessment())
    walk.complete(case, "agree_support_plan", "victim_care",
                  {"plan_goals": "Weekly calls.", "review_on": "2027-04-28", "agreed_with_victim": True})
    walk.timers(utc("2027-04-29T09:00:00"))
    walk.complete(case, "review_plan", "victim_care", {"review_decision": decision})
    assert walk.ready_ids(case, "victim_care") == {next_step}
    if next_step == "assess_needs":
        walk.complete(case, "assess_needs", "victim_care", assessment(overall_need_level="no_further_support"))
        assert walk.facts(case, "referral")["victim_services"].details["end_state"] == "closed_no_need"
    walk.complete(case, "close_referral", "victim_care", {**CLOSE, "closure_reason": "victim_withdrew"})
    assert walk.status(case, KEY) == "completed"


# ---------------------------------------------------------------- risk to life


def _instances(case) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == case)).all()
    return {r.definition.key: r.status.value for r in rows}


@pytest.mark.parametrize("da_risk, marac", [("medium", True), ("not_applicable", False), ("high", True)])
def test_at_risk_now_raises_immediate_steps_for_the_police_and_the_manager(walk, da_risk, marac):
    walk.deploy("risk_to_life", "marac")
    case = begin(walk)
    to_assessment(walk, case)
    walk.complete(case, "assess_needs", "victim_care", assessment(
        immediate_safety="at_risk_now", domestic_abuse_risk=da_risk,
        risk_now_details="Ex-partner outside the house with a knife; 999 called."))
    instances = _instances(case)
    assert instances["risk_to_life"] == "running"
    police = walk.step(case, "police_respond", "notts_police")
    shown = {f["id"]: f.get("default") for f in police["form"]["fields"]}
    assert shown["risk_details_shown"] == "Ex-partner outside the house with a knife; 999 called."
    manager = walk.step(case, "manager_check", "victim_care")
    assert manager["required_role"] == "manager"
    # Domestic abuse: an urgent MARAC referral starts (once: a high risk is referred by this process itself).
    assert ("marac" in instances) is marac
    if da_risk == "medium":
        checklist = next(t for t in walk.ready(case, "notts_police") if t["bpmn_id"] == "identify_risk")
        assert {f["id"]: f.get("default") for f in checklist["form"]["fields"]}["urgent_shown"] == \
            "Ex-partner outside the house with a knife; 999 called."
    # The assessment carries on beside it.
    assert {"agree_support_plan"} <= walk.ready_ids(case)
    # Unanswered for an hour: the police manager is told.
    walk.timers(datetime.now(timezone.utc) + timedelta(minutes=61))
    assert walk.step(case, "police_escalate", "notts_police")["required_role"] == "manager"
    walk.complete(case, "police_respond", "notts_police", {"police_response": "attended",
                                                           "police_response_details": "Arrested at the scene."})
    walk.complete(case, "manager_check", "victim_care", {"manager_actions": "Safety plan, refuge place offered.",
                                                         "safeguarding_referral": True}, role="manager")
    fact = walk.facts(case, "risk_to_life")["response"]
    assert fact.status == "responded" and fact.details["police_response"] == "attended"


def test_safe_raises_nothing(walk):
    walk.deploy("risk_to_life")
    case = begin(walk)
    to_assessment(walk, case)
    walk.complete(case, "assess_needs", "victim_care", assessment())
    assert "risk_to_life" not in _instances(case)


# ---------------------------------------------------------------- direct referrals (Code para 4.6)


@pytest.mark.parametrize("route, reported", [("self", False), ("partner", True)])
def test_a_victim_who_did_not_go_to_the_police_can_still_enter_victim_support(walk, route, reported):
    """Victim services open the case: their own first step, no police step, then contact and assessment."""
    walk.deploy(KEY)
    case = walk.open_case(org="victim_care")
    walk.start(case, KEY, org="victim_care")
    assert walk.ready_ids(case, "victim_care") == {"record_direct_referral"}
    walk.complete(case, "record_direct_referral", "victim_care", {
        "referral_route": route, "referring_agency": "GP surgery" if route == "partner" else None,
        "referred_on": "2027-03-25", "reported_to_police": reported, "crime_reference": None,
        "contact_phone": "07700 900456", "phone_safe": True, "what_happened": "Assaulted at a bus stop."})
    assert "record_report" not in walk.ready_ids(case, "victim_care")
    # First contact: 2 working days after it was received, over Good Friday and Easter Monday.
    assert due(walk, case, "contact_victim", "victim_care") == "2027-03-31T16:00:00+00:00"
    referral = walk.facts(case, "referral")["victim_services"]
    assert (referral.status, referral.details["route"], referral.details["reported_to_police"]) == \
        ("open", route, reported)
    walk.complete(case, "contact_victim", "victim_care", CONTACTED)
    walk.complete(case, "assess_needs", "victim_care", assessment())
    assert "agree_support_plan" in walk.ready_ids(case, "victim_care")
