"""Walk-through of bpmn/victims_code.bpmn: the 2020 Victims' Code right by right (02-victims-code-compliance.md
§3-§5), with the entitlements as reference data (casework/data/victims_code_2020.json) opened and closed by the
open_entitlements and close_entitlements operations, through the JSON API as each agency.

Dates are in 2027, so no deadline passes in real time: timers fire only through walk.timers(at). They cross
weekends and England and Wales bank holidays (Good Friday 26 March, Easter Monday 29 March, early May 3 May,
spring 31 May, summer 30 August 2027); working-day due times are 17:00 London: 17:00 UTC before summer time
starts on 28 March 2027, 16:00 UTC after.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from casework import entitlements
from casework.calendar import add_working_days
from models import CodeEntitlement, db

KEY = "victims_code"
POLICE, VS, PROBATION = "notts_police", "victim_care", "probation"
REPORT = {"reported_on": "2027-03-24", "crime_reference": "20/1234/27", "offence_category": "violence_with_injury",
          "enhanced": False, "enhanced_reason": None, "evidenced_elsewhere": []}
# What victim_referral evidences itself, and tells this process so (its start data).
FROM_REFERRAL = ["R3a", "R3b", "R3c", "R4a", "R4b", "R5", "R6c", "R7a"]
POLICE_AT_REPORT = ["R1a", "R2a", "R3a", "R3b", "R3c", "R4a", "R4b", "R5", "R6c", "R7a"]


@pytest.fixture(autouse=True)
def code_reference_data(ctx):
    """The 2020 Code's entitlements (init-db adds them; make sure, in case the template predates them)."""
    entitlements.ensure_defaults()
    db.session.commit()


def utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def when(value: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite gives it back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def start(walk, data: dict | None = REPORT, **changes) -> int:
    walk.deploy(KEY)
    case = walk.open_case()
    walk.start(case, KEY, {**data, **changes} if data is not None else {})
    assert walk.status(case, KEY) == "running"
    return case


def facts(walk, case) -> dict:
    return walk.facts(case, "entitlement")


def statuses(walk, case, codes) -> dict[str, str]:
    found = facts(walk, case)
    return {c: found[c].status for c in codes}


def mine(walk, case, org: str = POLICE) -> list[str]:
    """Ready practitioner steps of `org` on the case (bpmn ids, one per step)."""
    return sorted(t["bpmn_id"] for t in walk.ready(case, org) if t["organisation"] == org and not t["required_role"])


def managers(walk, case, org: str = POLICE) -> list[str]:
    """Ready escalations for the managers of `org` on the case."""
    return sorted(t["bpmn_id"] for t in walk.ready(case, org, role="manager")
                  if t["organisation"] == org and t["required_role"] == "manager")


def items(walk, case, bpmn_id: str, org: str = POLICE) -> list[dict]:
    return [t for t in walk.ready(case, org) if t["bpmn_id"] == bpmn_id]


def field(item: dict, field_id: str) -> dict:
    return next(f for f in item["form"]["fields"] if f["id"] == field_id)


def do(walk, item: dict, data: dict, org: str = POLICE, role: str = "practitioner") -> None:
    """Complete one particular item (several of the same step may be ready at once)."""
    assert item["organisation"] == org, item
    response = walk.post(f"/tasks/{item['id']}/complete", {"data": data}, org=org, role=role)
    assert response.status_code == 200, (item["bpmn_id"], response.json)


def evidence(prefix: str, done_on: str, met=(), declined=(), unable=(), deferred=(), not_applicable=(),
             method: str = "letter", proof: str = "letter 1") -> dict:
    return {f"{prefix}_met": list(met), f"{prefix}_declined": list(declined), f"{prefix}_unable": list(unable),
            f"{prefix}_deferred": list(deferred), f"{prefix}_not_applicable": list(not_applicable),
            f"{prefix}_done_on": done_on, f"{prefix}_method": method, f"{prefix}_evidence": proof}


def event(kind: str, on: str) -> dict:
    return {"event_type": kind, "event_on": on, "event_notes": None}


def told(status: str, on: str, method: str = "phone", proof: str | None = "call log") -> dict:
    return {"event_status": status, "event_told_on": on, "event_method": method, "event_evidence": proof}


def court(kind: str, received: str, **extra) -> dict:
    return {"court_event": kind, "court_received_on": received, **extra}


def court_told(on: str, status: str = "met") -> dict:
    return {"court_status": status, "court_told_on": on, "court_method": "phone", "court_evidence": "WCU log"}


def finish_reporting(walk, case, on: str = "2027-03-25") -> None:
    walk.complete(case, "evidence_police", POLICE, evidence("police", on, met=POLICE_AT_REPORT))
    walk.complete(case, "evidence_support", VS, evidence("support", on, met=["R12a"]))


def charge(walk, case, on: str = "2027-06-07") -> None:
    walk.complete(case, "record_event", POLICE, event("charged", on))
    walk.complete(case, "tell_event", POLICE, told("met", on))


# --- Rights due at reporting ---------------------------------------------------------------------------------

def test_reporting_rights_standard_each_with_its_owner_due_time_and_status(walk):
    case = start(walk)
    found = facts(walk, case)
    # The report's entitlements for a violence-with-injury victim (2d is for sexual offences and domestic abuse).
    assert sorted(found) == sorted(POLICE_AT_REPORT + ["R12a"])
    assert {f.status for f in found.values()} == {"due"}
    assert found["R3a"].owner_organisation.code == POLICE and found["R12a"].owner_organisation.code == VS
    # Standard rights: 5 working days from Wednesday 24 March over Easter (Fri 26 and Mon 29 are bank holidays)
    # to Friday 2 April 17:00 BST; Right 4a, 2 working days for every victim; no number in the Code: no due time.
    assert {c: when(found[c].due_at) for c in ("R3a", "R3b", "R3c", "R5", "R7a")} == dict.fromkeys(
        ("R3a", "R3b", "R3c", "R5", "R7a"), utc("2027-04-02T16:00:00+00:00"))
    assert when(found["R3a"].due_at) == utc(add_working_days("2027-03-24", 5))
    assert when(found["R4a"].due_at) == utc("2027-03-30T16:00:00+00:00")
    assert all(found[c].due_at is None for c in ("R1a", "R2a", "R4b", "R6c", "R12a"))
    assert found["R3a"].details["enhanced"] is False and found["R3a"].details["days"] == 5

    assert mine(walk, case) == ["evidence_police", "record_event"]
    assert mine(walk, case, VS) == ["evidence_support"]
    step = walk.step(case, "evidence_police", POLICE)
    assert utc(step["due_at"]) == utc("2027-03-30T16:00:00+00:00")   # the first of its rights: 4a
    assert [o["id"] for o in field(step, "police_met")["options"]] == POLICE_AT_REPORT
    assert walk.step(case, "evidence_support", VS)["due_at"] is None   # 12a: no number in the Code

    walk.complete(case, "evidence_police", POLICE, evidence(
        "police", "2027-03-31", met=["R3a", "R3b", "R4a", "R1a"], declined=["R7a"], unable=["R5"],
        deferred=["R3c"], not_applicable=["R2a"], proof="letter 20/1234/27-1"))
    assert statuses(walk, case, POLICE_AT_REPORT) == {
        "R1a": "met", "R2a": "not_applicable", "R3a": "met", "R3b": "met", "R3c": "deferred", "R4a": "met",
        "R4b": "missed", "R5": "unable_to_contact", "R6c": "missed", "R7a": "victim_declined"}
    found = facts(walk, case)
    assert found["R3a"].details["done_on"] == "2027-03-31" and found["R3a"].details["method"] == "letter"
    assert found["R3a"].details["evidence"] == "letter 20/1234/27-1"
    # Given on 31 March: R3a on time; R4a (due 30 March) met late, read from the due and completed times.
    assert when(found["R3a"].completed_at) <= when(found["R3a"].due_at)
    assert when(found["R4a"].completed_at) > when(found["R4a"].due_at)
    assert all(found[c].completed_at is not None for c in POLICE_AT_REPORT)

    walk.complete(case, "evidence_support", VS, evidence("support", "2027-03-26", met=["R12a"], method="phone"))
    assert facts(walk, case)["R12a"].status == "met"
    assert mine(walk, case) == ["record_event"] and mine(walk, case, VS) == []


def test_enhanced_rights_are_one_working_day_and_referral_stays_two(walk):
    case = start(walk, enhanced=True, enhanced_reason="Vulnerable: aged 16")
    found = facts(walk, case)
    # 1 working day: Thursday 25 March, still GMT (17:00 UTC); Right 4a stays 2 working days (Tue 30 March, BST).
    assert {c: when(found[c].due_at) for c in ("R3a", "R3b", "R3c", "R5", "R7a")} == dict.fromkeys(
        ("R3a", "R3b", "R3c", "R5", "R7a"), utc("2027-03-25T17:00:00+00:00"))
    assert when(found["R4a"].due_at) == utc("2027-03-30T16:00:00+00:00")
    assert found["R3a"].details["enhanced"] is True and found["R3a"].details["days"] == 1
    assert utc(walk.step(case, "evidence_police", POLICE)["due_at"]) == utc("2027-03-25T17:00:00+00:00")


def test_what_the_referral_evidences_is_not_asked_again(walk):
    case = start(walk, offence_category="domestic_abuse", evidenced_elsewhere=FROM_REFERRAL)
    found = facts(walk, case)
    # Every entitlement of the report is recorded (their clocks run: the referral evidences its own) ...
    assert sorted(found) == sorted(POLICE_AT_REPORT + ["R2d", "R12a"])   # 2d: domestic abuse
    assert when(found["R3a"].due_at) == utc("2027-04-02T16:00:00+00:00")
    # ... but the police are asked only about the rest, none of which has a number in the Code: no deadline.
    step = walk.step(case, "evidence_police", POLICE)
    assert [o["id"] for o in field(step, "police_met")["options"]] == ["R1a", "R2a", "R2d"]
    assert step["due_at"] is None
    walk.timers(utc("2027-12-31T23:00:00"))
    assert managers(walk, case) == []
    refused = walk.post(f"/tasks/{step['id']}/complete",
                        {"data": evidence("police", "2027-03-24", met=["R1a", "R3a"])}, org=POLICE)
    assert refused.status_code == 422 and "police_met" in refused.json["errors"]   # not a choice here
    walk.complete(case, "evidence_police", POLICE, evidence("police", "2027-03-24", met=["R1a", "R2a", "R2d"]))
    assert statuses(walk, case, ["R1a", "R2a", "R2d"]) == {"R1a": "met", "R2a": "met", "R2d": "met"}
    assert set(statuses(walk, case, FROM_REFERRAL).values()) == {"due"}   # left to victim_referral


def test_a_right_in_two_lists_is_refused_and_nothing_is_recorded(walk):
    case = start(walk)
    step = walk.step(case, "evidence_police", POLICE)
    refused = walk.post(f"/tasks/{step['id']}/complete",
                        {"data": evidence("police", "2027-03-25", met=["R3a", "R3b"], declined=["R3a"])}, org=POLICE)
    assert refused.status_code == 422
    assert refused.json["errors"] == {"police_met": "a right can be in one list only"}
    assert {f.status for f in facts(walk, case).values()} == {"due"}
    assert walk.step(case, "evidence_police", POLICE)["id"] == step["id"]   # still open
    walk.complete(case, "evidence_police", POLICE, evidence("police", "2027-03-25", met=["R3a", "R3b"]))
    assert statuses(walk, case, ["R3a", "R3b", "R3c"]) == {"R3a": "met", "R3b": "met", "R3c": "missed"}


def test_started_by_hand_without_data_the_police_record_the_report_once(walk):
    case = start(walk, None)
    assert [t["bpmn_id"] for t in walk.ready(case)] == ["record_report"]
    assert facts(walk, case) == {}
    walk.complete(case, "record_report", POLICE, {
        "reported_on": "2027-03-24", "crime_reference": "20/999/27", "offence_category": "sexual_offence",
        "enhanced": True, "enhanced_reason": "Victim of a sexual offence: intimidated"})
    found = facts(walk, case)
    assert "R2d" in found and when(found["R3a"].due_at) == utc("2027-03-25T17:00:00+00:00")
    assert mine(walk, case) == ["evidence_police", "record_event"]   # not asked for the report again
    finish_reporting(walk, case)
    walk.complete(case, "record_event", POLICE, event("not_investigated", "2027-04-06"))
    walk.complete(case, "tell_event", POLICE, told("met", "2027-04-07"))
    assert facts(walk, case)["R6b:1"].status == "met"
    assert walk.status(case, KEY) == "completed"
    assert "record_report" not in mine(walk, case)


def test_started_with_the_referral_data_the_report_is_not_asked(walk):
    case = start(walk)
    assert "record_report" not in mine(walk, case)


def test_overdue_reporting_rights_escalate_to_each_agency_manager(walk):
    case = start(walk, enhanced=True)
    walk.timers(utc("2027-03-25T16:59:00"))
    assert managers(walk, case) == []
    walk.timers(utc("2027-03-25T17:01:00"))   # 1 working day (Enhanced), GMT
    assert managers(walk, case) == ["chase_police"]
    assert managers(walk, case, VS) == []   # 12a has no due time
    walk.complete(case, "chase_police", POLICE, {"chase_police_action": "OIC told to send the letter today"},
                  role="manager")
    assert managers(walk, case) == []
    assert "evidence_police" in mine(walk, case)   # the escalation does not replace the step
    walk.complete(case, "evidence_police", POLICE, evidence("police", "2027-03-26", met=POLICE_AT_REPORT))
    found = facts(walk, case)
    assert found["R3a"].status == "met" and when(found["R3a"].completed_at) > when(found["R3a"].due_at)  # late


def test_the_days_are_reference_data_a_lead_may_give_right_12a_a_deadline(walk):
    db.session.execute(update(CodeEntitlement).where(CodeEntitlement.code == "R12a")
                       .values(standard_days=3, enhanced_days=3))
    db.session.commit()
    case = start(walk)
    assert when(facts(walk, case)["R12a"].due_at) == utc("2027-03-31T16:00:00+00:00")   # 3 WD over Easter
    assert utc(walk.step(case, "evidence_support", VS)["due_at"]) == utc("2027-03-31T16:00:00+00:00")
    walk.timers(utc("2027-03-31T16:01:00"))
    assert managers(walk, case, VS) == ["chase_support"]
    walk.complete(case, "evidence_support", VS, evidence("support", "2027-04-01", unable=["R12a"]))
    assert managers(walk, case, VS) == []   # evidencing ends the escalation
    assert facts(walk, case)["R12a"].status == "unable_to_contact"


# --- Right 6: each investigation event -----------------------------------------------------------------------

def test_each_investigation_event_is_its_own_obligation(walk):
    case = start(walk)
    finish_reporting(walk, case)
    walk.complete(case, "record_event", POLICE, event("arrest", "2027-04-30"))         # Friday before a bank holiday
    walk.complete(case, "record_event", POLICE, event("bail_rui", "2027-05-04"))       # recorded before telling
    found = facts(walk, case)
    assert found["R6a:1"].label == "Told the suspect was arrested"
    assert found["R6a:2"].label == "Told the suspect was released on bail or under investigation"
    assert when(found["R6a:1"].due_at) == utc("2027-05-10T16:00:00+00:00")   # 5 working days, 3 May a bank holiday
    assert when(found["R6a:2"].due_at) == utc("2027-05-11T16:00:00+00:00")
    assert found["R6a:2"].details["clock_start"] == "2027-05-04" and found["R6a:2"].details["trigger"] == \
        "event:bail_rui"

    tells = {field(t, "event_what")["default"]: t for t in items(walk, case, "tell_event")}
    assert set(tells) == {"Told the suspect was arrested",
                          "Told the suspect was released on bail or under investigation"}
    assert utc(tells["Told the suspect was arrested"]["due_at"]) == utc("2027-05-10T16:00:00+00:00")
    # Told of the arrest two days late: met, and late (completed after the due time).
    do(walk, tells["Told the suspect was arrested"], told("met", "2027-05-12"))
    do(walk, tells["Told the suspect was released on bail or under investigation"],
       told("unable_to_contact", "2027-05-06", proof="Three calls, no answer"))
    found = facts(walk, case)
    assert found["R6a:1"].status == "met" and when(found["R6a:1"].completed_at) > when(found["R6a:1"].due_at)
    assert found["R6a:2"].status == "unable_to_contact"
    assert found["R6a:2"].details["evidence"] == "Three calls, no answer"

    walk.complete(case, "record_event", POLICE, event("bail_changed", "2027-05-20"))
    walk.complete(case, "tell_event", POLICE, told("deferred", "2027-05-21", proof="Victim asked for news later"))
    walk.complete(case, "record_event", POLICE, event("out_of_court", "2027-06-01"))
    walk.complete(case, "tell_event", POLICE, told("victim_declined", "2027-06-02"))
    assert statuses(walk, case, ["R6a:3", "R6d:4"]) == {"R6a:3": "deferred", "R6d:4": "victim_declined"}
    assert mine(walk, case) == []
    assert walk.status(case, KEY) == "completed"


def test_overdue_telling_escalates_to_a_police_manager_until_it_is_done(walk):
    case = start(walk, enhanced=True)
    finish_reporting(walk, case)
    walk.complete(case, "record_event", POLICE, event("arrest", "2027-04-30"))
    assert utc(walk.step(case, "tell_event", POLICE)["due_at"]) == utc("2027-05-04T16:00:00+00:00")   # 1 WD
    walk.timers(utc("2027-05-04T15:59:00"))
    assert managers(walk, case) == []
    walk.timers(utc("2027-05-04T16:01:00"))
    assert managers(walk, case) == ["chase_event"]
    # Telling the victim ends the escalation.
    walk.complete(case, "tell_event", POLICE, told("met", "2027-05-05"))
    assert managers(walk, case) == []
    fact = facts(walk, case)["R6a:1"]
    assert fact.status == "met" and when(fact.completed_at) > when(fact.due_at)


def test_not_charged_then_a_review_request_has_its_own_deadlines(walk):
    case = start(walk)
    finish_reporting(walk, case)
    walk.complete(case, "record_event", POLICE, event("not_charged", "2027-06-07"))
    found = facts(walk, case)
    assert {c: when(found[c].due_at) for c in ("R6d:1", "R6e:1")} == {
        "R6d:1": utc("2027-06-14T16:00:00+00:00"), "R6e:1": utc("2027-06-14T16:00:00+00:00")}
    assert mine(walk, case) == ["tell_event"]   # recording ends with the decision
    walk.complete(case, "tell_event", POLICE, told("met", "2027-06-09"))
    assert statuses(walk, case, ["R6d:1", "R6e:1"]) == {"R6d:1": "met", "R6e:1": "met"}
    step = walk.step(case, "record_vrr", POLICE)
    assert utc(step["due_at"]) == utc("2027-09-09T16:00:00+00:00")   # the window: 3 months after being told
    walk.complete(case, "record_vrr", POLICE, {"vrr_answer": "requested", "vrr_requested_on": "2027-06-21",
                                               "vrr_grounds": "The victim disagrees with the evidence review."})
    found = facts(walk, case)
    assert when(found["R6f"].due_at) == utc("2027-07-05T16:00:00+00:00")   # acknowledged: 10 working days
    assert when(found["R6g"].due_at) == utc("2027-08-02T16:00:00+00:00")   # decision: 30 working days
    assert utc(walk.step(case, "acknowledge_vrr", POLICE)["due_at"]) == utc("2027-07-05T16:00:00+00:00")
    walk.complete(case, "acknowledge_vrr", POLICE, {"ack_status": "met", "ack_on": "2027-06-23",
                                                    "ack_method": "email", "ack_evidence": "email 1"})
    assert utc(walk.step(case, "decide_vrr", POLICE)["due_at"]) == utc("2027-08-02T16:00:00+00:00")
    walk.timers(utc("2027-08-02T16:01:00"))
    assert managers(walk, case) == ["chase_vrr_decision"]
    walk.complete(case, "decide_vrr", POLICE, {
        "review_outcome": "upheld", "review_status": "met", "review_told_on": "2027-08-03",
        "review_method": "letter", "review_evidence": "letter 7"})
    found = facts(walk, case)
    assert found["R6f"].status == "met" and found["R6g"].status == "met"
    assert when(found["R6g"].completed_at) > when(found["R6g"].due_at)   # told a day late
    assert walk.status(case, KEY) == "completed"


def test_no_review_request_within_three_months_closes_the_step(walk):
    case = start(walk)
    finish_reporting(walk, case)
    walk.complete(case, "record_event", POLICE, event("not_charged", "2027-06-07"))
    walk.complete(case, "tell_event", POLICE, told("met", "2027-06-09"))
    walk.timers(utc("2027-09-09T15:59:00"))
    assert mine(walk, case) == ["record_vrr"]
    walk.timers(utc("2027-09-09T16:01:00"))
    assert mine(walk, case) == []
    assert walk.status(case, KEY) == "completed"
    assert "R6f" not in facts(walk, case)


# --- Court, sentence and the Victim Contact Scheme -----------------------------------------------------------

def test_court_listings_sentence_and_the_victim_contact_scheme(walk):
    case = start(walk)
    finish_reporting(walk, case)
    charge(walk, case)
    assert facts(walk, case)["R6d:1"].label == "Told the suspect was charged"
    assert mine(walk, case) == ["record_court"]

    walk.complete(case, "record_court", POLICE, court("listing", "2027-06-08", court_details="Plea hearing"))
    walk.complete(case, "record_court", POLICE, court("listing", "2027-07-02", court_details="Trial"))
    found = facts(walk, case)
    assert when(found["R8a:1"].due_at) == utc("2027-06-09T16:00:00+00:00")   # 1 working day from receipt
    assert when(found["R8a:2"].due_at) == utc("2027-07-05T16:00:00+00:00")   # Friday to Monday
    assert found["R8a:2"].details["clock_start"] == "2027-07-02"
    tells = sorted(items(walk, case, "tell_court"), key=lambda t: t["due_at"])
    assert [field(t, "court_what")["default"] for t in tells] == ["Told the time, date and place of the hearing"] * 2
    do(walk, tells[0], court_told("2027-06-08"))
    do(walk, tells[1], court_told("2027-07-06"))
    assert statuses(walk, case, ["R8a:1", "R8a:2"]) == {"R8a:1": "met", "R8a:2": "met"}
    assert when(facts(walk, case)["R8a:2"].completed_at) > when(facts(walk, case)["R8a:2"].due_at)   # late

    walk.complete(case, "record_court", POLICE, court("outcome", "2027-08-27", case_outcome="convicted"))
    assert when(facts(walk, case)["R9a:3"].due_at) == utc("2027-08-31T16:00:00+00:00")   # 30 Aug a bank holiday
    walk.complete(case, "tell_court", POLICE, court_told("2027-08-31"))
    assert mine(walk, case) == ["record_court"]   # a conviction: the sentence follows

    walk.complete(case, "record_court", POLICE, court("sentence", "2027-09-10", sentence_months=18,
                                                      hospital_order=False))
    found = facts(walk, case)
    assert when(found["R9b:4"].due_at) == utc("2027-09-13T16:00:00+00:00")
    assert when(found["R11a:4"].due_at) == utc("2027-09-24T16:00:00+00:00")   # 10 working days of sentencing
    reason = "violence_with_injury is a specified offence and the sentence is 18 months (at least 12)"
    tell = walk.step(case, "tell_court", POLICE)
    assert field(tell, "court_vcs")["default"] == f"Eligible: {reason}"
    refer = walk.step(case, "refer_vcs", POLICE)
    assert field(refer, "vcs_reason")["default"] == reason
    assert utc(refer["due_at"]) == utc("2027-09-24T16:00:00+00:00")
    assert mine(walk, case) == ["record_appeal", "refer_vcs", "tell_court"]   # recording ends with the sentence
    walk.complete(case, "tell_court", POLICE, court_told("2027-09-10"))
    walk.complete(case, "refer_vcs", POLICE, {"vcs_status": "met", "vcs_referred_on": "2027-09-14",
                                              "vcs_evidence": "VCS referral 55"})
    assert facts(walk, case)["R11a:4"].status == "met"

    # Probation is brought onto the case; its Victim Liaison Officer has 20 working days from the referral.
    assert PROBATION in walk.get(f"/cases/{case}").json["organisations"]
    fact = facts(walk, case)["R11b"]
    assert fact.owner_organisation.code == PROBATION
    assert when(fact.due_at) == utc("2027-10-12T16:00:00+00:00")
    assert utc(walk.step(case, "vlo_contact", PROBATION)["due_at"]) == utc("2027-10-12T16:00:00+00:00")
    walk.timers(utc("2027-10-12T16:01:00"))
    assert managers(walk, case, PROBATION) == ["chase_vlo"]
    walk.complete(case, "vlo_contact", PROBATION, {"vlo_status": "met", "vlo_contact_on": "2027-10-13",
                                                   "vlo_method": "in_person", "vlo_evidence": "VLO visit"})
    assert managers(walk, case, PROBATION) == []

    # Appeals may follow; then the court stage is closed and the process completes.
    walk.complete(case, "record_appeal", POLICE, court("appeal", "2027-10-20", appeal_details="Against sentence"))
    appeal = facts(walk, case)["R9d:5"]
    assert appeal.status == "due" and appeal.due_at is None   # 9d: no number of days found (VERIFY)
    walk.complete(case, "tell_court", POLICE, court_told("2027-10-21"))
    walk.complete(case, "record_appeal", POLICE, court("closed", "2027-12-01"))
    assert walk.status(case, KEY) == "completed"
    found = facts(walk, case)
    assert {c: found[c].status for c in ("R8a:1", "R8a:2", "R9a:3", "R9b:4", "R11a:4", "R11b", "R9d:5")} == \
        dict.fromkeys(("R8a:1", "R8a:2", "R9a:3", "R9b:4", "R11a:4", "R11b", "R9d:5"), "met")


def test_a_short_sentence_is_not_eligible_for_the_victim_contact_scheme(walk):
    case = start(walk)
    finish_reporting(walk, case)
    charge(walk, case)
    walk.complete(case, "record_court", POLICE, court("sentence", "2027-09-10", sentence_months=6))
    found = facts(walk, case)
    assert "R9b:1" in found and not [c for c in found if c.startswith("R11")]
    tell = walk.step(case, "tell_court", POLICE)
    assert field(tell, "court_vcs")["default"] == "Not eligible: the sentence (6 months) is under 12 months"
    assert mine(walk, case) == ["record_appeal", "tell_court"]   # no referral step
    walk.complete(case, "tell_court", POLICE, court_told("2027-09-13"))
    walk.complete(case, "record_appeal", POLICE, court("closed", "2027-10-11"))
    assert walk.status(case, KEY) == "completed"


def test_a_hospital_order_for_a_specified_offence_is_eligible(walk):
    case = start(walk, offence_category="stalking_harassment")
    charge(walk, case)
    walk.complete(case, "record_court", POLICE, court("sentence", "2027-09-10", sentence_months=0,
                                                      hospital_order=True))
    assert field(walk.step(case, "refer_vcs", POLICE), "vcs_reason")["default"] == "a hospital order"
    assert when(facts(walk, case)["R11a:1"].due_at) == utc("2027-09-24T16:00:00+00:00")
    walk.complete(case, "refer_vcs", POLICE, {"vcs_status": "victim_declined", "vcs_referred_on": "2027-09-13",
                                              "vcs_evidence": "The victim opted out"})
    assert facts(walk, case)["R11a:1"].status == "victim_declined"
    assert "R11b" not in facts(walk, case)   # no referral: Probation is not brought in
    assert PROBATION not in walk.get(f"/cases/{case}").json["organisations"]


def test_an_acquittal_ends_court_recording(walk):
    case = start(walk)
    finish_reporting(walk, case)
    charge(walk, case)
    step = walk.step(case, "record_court", POLICE)
    refused = walk.post(f"/tasks/{step['id']}/complete", {"data": court("outcome", "2027-08-27")}, org=POLICE)
    assert refused.status_code == 422 and refused.json["errors"] == {"case_outcome": "choose the outcome of the case"}
    walk.complete(case, "record_court", POLICE, court("outcome", "2027-08-27", case_outcome="acquitted"))
    assert mine(walk, case) == ["record_appeal", "tell_court"]
    assert facts(walk, case)["R9a:1"].label == "Told the outcome of the case, with reasons where available"
    walk.timers(utc("2027-08-31T16:01:00"))   # 1 working day from receipt, over the summer bank holiday
    assert managers(walk, case) == ["chase_court"]
    walk.complete(case, "tell_court", POLICE, court_told("2027-08-31"))
    walk.complete(case, "record_appeal", POLICE, court("closed", "2027-09-30"))
    assert walk.status(case, KEY) == "completed"


@pytest.mark.parametrize("months, message", [(-1, "must be at least 0"), (10000, "must be at most 1200"),
                                             (None, "give the sentence in months (0 without custody)")])
def test_a_sentence_out_of_range_is_refused_with_a_message_on_the_field(walk, months, message):
    case = start(walk)
    charge(walk, case)
    step = walk.step(case, "record_court", POLICE)
    refused = walk.post(f"/tasks/{step['id']}/complete",
                        {"data": court("sentence", "2027-09-10", sentence_months=months)}, org=POLICE)
    assert refused.status_code == 422
    assert refused.json["errors"] == {"sentence_months": message}
    assert walk.step(case, "record_court", POLICE)["id"] == step["id"]
    assert not [c for c in facts(walk, case) if c.startswith("R9b")]


def test_witness_expenses_are_the_cps_right_10_where_it_is_recorded(walk):
    """Right 10a is owed by the CPS (reference data): with no CPS in this partnership the step waits, unassigned,
    with the reason; its clock (10 working days, VERIFY) runs from the completed claim."""
    case = start(walk)
    finish_reporting(walk, case)
    charge(walk, case)
    walk.complete(case, "record_court", POLICE, court("expenses_claim", "2027-07-09"))
    fact = facts(walk, case)["R10a:1"]
    assert fact.label == "Witness expenses paid"
    assert when(fact.due_at) == utc("2027-07-23T16:00:00+00:00")
    waiting = [t for t in walk.ready(case, POLICE) if t["bpmn_id"] == "tell_court"]
    assert len(waiting) == 1 and waiting[0]["organisation"] is None
    assert "cps" in waiting[0]["candidate_groups"][0] and waiting[0]["unassigned_reason"]
