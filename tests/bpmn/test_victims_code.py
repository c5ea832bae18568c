"""Walk-through of bpmn/victims_code.bpmn: the Victims' Code entitlements R1..R12 of one victim, with owners,
working-day deadlines from the reporting date (shorter under Enhanced Rights), evidence steps, escalations
to each agency's manager and the entitlement facts the dashboards read.

Dates are deliberately in the future (April 2028, around Easter) so no timer fires before the test asks for it:
reported on Wednesday 12 April 2028, Good Friday is 14 April and Easter Monday 17 April (bank holidays), so
1 working day is Thu 13 April, 2 working days Tue 18 April and 5 working days Fri 21 April, each at
17:00 London time (16:00 UTC in summer time).
"""
from __future__ import annotations

from datetime import datetime, timezone

from casework.calendar import add_working_days

KEY = "victims_code"
REPORTED = "2028-04-12"
ALL = [f"R{n}" for n in range(1, 13)]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def due(fact) -> datetime | None:
    return fact.due_at.astimezone(timezone.utc) if fact.due_at else None


def assess(walk, case, enhanced: bool) -> None:
    walk.complete(case, "assess_victim", "notts_police", {
        "reported_on": REPORTED, "crime_reference": "20/12345/28", "enhanced": enhanced,
        "enhanced_categories": ["vulnerable", "intimidated"] if enhanced else [],
        "enhanced_reason": "Victim aged 16" if enhanced else None, "communication_needs": "Arabic interpreter",
        "update_preference": "fortnightly", "preferred_method": "phone"})


def open_and_start(walk, partners=("victim_care",)) -> int:
    walk.deploy(KEY)
    case = walk.open_case(partners=partners)
    walk.start(case, KEY)
    assert mine(walk, case) == {"assess_victim"}
    return case


def evidence(prefix: str, met: list[str], not_applicable: list[str] = (), done_on: str = "2028-04-13",
             reason: str | None = None) -> dict:
    return {f"{prefix}_met": list(met), f"{prefix}_not_applicable": list(not_applicable),
            f"{prefix}_done_on": done_on, f"{prefix}_method": "letter", f"{prefix}_evidence": f"{prefix}-letter-1",
            f"{prefix}_reason": reason}


def manager_items(walk, case, org: str) -> dict[str, dict]:
    """Ready escalations for the managers of `org` on the case."""
    return {t["bpmn_id"]: t for t in walk.ready(case, org, role="manager")
            if t["organisation"] == org and t["required_role"] == "manager"}


def mine(walk, case, org: str = "notts_police") -> set[str]:
    """Ready practitioner steps assigned to `org` (the case's task list shows every agency's items)."""
    return {t["bpmn_id"] for t in walk.ready(case, org) if t["organisation"] == org and not t["required_role"]}


def test_standard_route_every_right_evidenced_and_probation_brought_in(walk):
    case = open_and_start(walk)
    assess(walk, case, enhanced=False)

    facts = walk.facts(case, "entitlement")
    assert sorted(facts, key=lambda c: int(c[1:])) == ALL
    assert {f.status for f in facts.values()} == {"due"}
    assert facts["R1"].label == "To be able to understand and to be understood"
    assert facts["R3"].owner_organisation.code == "notts_police"
    assert facts["R4"].owner_organisation.code == "victim_care"
    assert facts["R11"].owner_organisation is None  # probation is not on the case yet
    # Standard rights: 5 working days (over Easter), Right 4 referral 2 working days; later clocks not started.
    assert due(facts["R3"]) == at("2028-04-21T16:00:00+00:00")
    assert due(facts["R7"]) == at("2028-04-21T16:00:00+00:00")
    assert due(facts["R4"]) == at("2028-04-18T16:00:00+00:00")
    assert all(due(facts[c]) is None for c in ("R6", "R8", "R9", "R10", "R11", "R12"))
    assert facts["R3"].details["enhanced"] is False

    assert mine(walk, case) == {"evidence_reporting"}
    assert mine(walk, case, "victim_care") == {"evidence_support"}
    item = walk.step(case, "evidence_reporting", "notts_police")
    assert at(item["due_at"]) == at("2028-04-21T16:00:00+00:00")

    # Before the deadlines nothing escalates.
    walk.timers("2028-04-13T17:00:00+00:00")
    assert manager_items(walk, case, "notts_police") == {}
    assert manager_items(walk, case, "victim_care") == {}

    walk.complete(case, "evidence_reporting", "notts_police",
                  evidence("reporting", ["R1", "R2", "R3", "R5"], reason="VPS not offered: officer on leave"))
    assert mine(walk, case) == {"record_decision"}  # the decision step follows the reporting evidence
    walk.complete(case, "evidence_support", "victim_care", evidence("support", ["R4", "R12"]))
    facts = walk.facts(case, "entitlement")
    assert {c: facts[c].status for c in ("R1", "R2", "R3", "R5", "R7", "R4", "R12")} == {
        "R1": "met", "R2": "met", "R3": "met", "R5": "met", "R7": "missed", "R4": "met", "R12": "met"}
    assert facts["R3"].details["evidence"] == "reporting-letter-1"
    assert facts["R3"].details["done_on"] == "2028-04-13"
    assert facts["R3"].completed_at is not None
    assert facts["R7"].details["evidence"] == "VPS not offered: officer on leave"

    walk.complete(case, "record_decision", "notts_police",
                  {"investigation_outcome": "charged", "decision_on": "2028-05-02"})
    assert at(walk.step(case, "inform_decision", "notts_police")["due_at"]) == at(add_working_days("2028-05-02", 5))
    walk.complete(case, "inform_decision", "notts_police", {
        "r6_status": "met", "r6_done_on": "2028-05-03", "r6_method": "phone", "r6_evidence": "call log 77"})
    assert walk.facts(case, "entitlement")["R6"].status == "met"
    assert due(walk.facts(case, "entitlement")["R6"]) == at(add_working_days("2028-05-02", 5))

    walk.complete(case, "record_court_outcome", "notts_police", {
        "court_outcome": "convicted", "outcome_received_on": "2028-09-04", "sentence_months": 24,
        "vcs_eligible": True})
    assert at(walk.step(case, "inform_court", "notts_police")["due_at"]) == at("2028-09-05T16:00:00+00:00")
    walk.complete(case, "inform_court", "notts_police",
                  {**evidence("court", ["R8", "R9"], ["R10"], done_on="2028-09-05", reason="No property held"),
                   "vcs_referred_on": "2028-09-06"})

    # The Victim Contact Scheme brings Probation onto the case; its VLO gets Right 11.
    assert mine(walk, case, "probation") == {"vlo_contact"}
    assert at(walk.step(case, "vlo_contact", "probation")["due_at"]) == at(add_working_days("2028-09-06", 20))
    walk.complete(case, "vlo_contact", "probation", {
        "r11_status": "met", "r11_done_on": "2028-09-20", "r11_method": "in_person", "r11_evidence": "VLO visit",
        "vcs_opted_in": True})

    assert walk.status(case, KEY) == "completed"
    facts = walk.facts(case, "entitlement")
    assert {c: f.status for c, f in facts.items()} == {
        "R1": "met", "R2": "met", "R3": "met", "R4": "met", "R5": "met", "R6": "met", "R7": "missed",
        "R8": "met", "R9": "met", "R10": "not_applicable", "R11": "met", "R12": "met"}
    assert facts["R11"].owner_organisation.code == "probation"
    assert due(facts["R11"]) == at(add_working_days("2028-09-06", 20))
    assert due(facts["R9"]) == at("2028-09-05T16:00:00+00:00")
    assert due(facts["R10"]) is None
    assert facts["R10"].details["evidence"] == "No property held"
    assert all(f.completed_at is not None for f in facts.values())


def test_enhanced_rights_shorten_deadlines_and_escalate_to_managers(walk):
    case = open_and_start(walk)
    assess(walk, case, enhanced=True)

    facts = walk.facts(case, "entitlement")
    assert due(facts["R3"]) == at("2028-04-13T16:00:00+00:00")  # 1 working day under Enhanced Rights
    assert due(facts["R4"]) == at("2028-04-18T16:00:00+00:00")  # referral: 2 working days for everyone
    assert facts["R3"].details["enhanced"] is True

    walk.timers("2028-04-13T15:59:00+00:00")
    assert manager_items(walk, case, "notts_police") == {}
    walk.timers("2028-04-13T16:01:00+00:00")
    chase = manager_items(walk, case, "notts_police")
    assert set(chase) == {"chase_reporting"}
    assert chase["chase_reporting"]["organisation"] == "notts_police"
    assert manager_items(walk, case, "victim_care") == {}  # Good Friday and Easter Monday do not count

    walk.timers("2028-04-18T16:01:00+00:00")
    assert set(manager_items(walk, case, "victim_care")) == {"chase_support"}
    walk.complete(case, "chase_support", "victim_care", {"chase_support_action": "Chased the police referral"},
                  role="manager")
    walk.complete(case, "chase_reporting", "notts_police", {"chase_reporting_action": "Letter sent today"},
                  role="manager")

    # The escalation does not replace the evidence step: it is still there to record what happened.
    assert mine(walk, case) == {"evidence_reporting"}
    walk.complete(case, "evidence_reporting", "notts_police",
                  evidence("reporting", [], ["R1"], done_on="2028-04-19", reason="Sent late after escalation"))
    walk.complete(case, "evidence_support", "victim_care", evidence("support", ["R4", "R12"], done_on="2028-04-19"))

    # Not charged: Right 6 is due within 1 working day of the decision; Rights 8 to 11 do not apply.
    walk.complete(case, "record_decision", "notts_police",
                  {"investigation_outcome": "no_further_action", "decision_on": "2028-05-02"})
    walk.timers("2028-05-03T16:01:00+00:00")
    assert set(manager_items(walk, case, "notts_police")) == {"chase_decision"}
    walk.complete(case, "chase_decision", "notts_police", {"chase_decision_action": "OIC told to call today"},
                  role="manager")
    walk.complete(case, "inform_decision", "notts_police", {
        "r6_status": "missed", "r6_reason": "Victim told 4 days after the decision", "vrr_explained": True})

    assert walk.status(case, KEY) == "completed"
    facts = walk.facts(case, "entitlement")
    assert {c: f.status for c, f in facts.items()} == {
        "R1": "not_applicable", "R2": "missed", "R3": "missed", "R4": "met", "R5": "missed", "R6": "missed",
        "R7": "missed", "R8": "not_applicable", "R9": "not_applicable", "R10": "not_applicable",
        "R11": "not_applicable", "R12": "met"}
    assert due(facts["R6"]) == at("2028-05-03T16:00:00+00:00")
    assert facts["R6"].details["evidence"] == "Victim told 4 days after the decision"
    assert facts["R9"].details["evidence"] == "No prosecution: no_further_action"


def test_not_guilty_court_update_escalates_and_right_11_does_not_apply(walk):
    case = open_and_start(walk)
    assess(walk, case, enhanced=False)
    walk.complete(case, "evidence_reporting", "notts_police",
                  evidence("reporting", ["R1", "R2", "R3", "R5", "R7"]))
    walk.complete(case, "evidence_support", "victim_care", evidence("support", ["R4"], ["R12"]))
    walk.complete(case, "record_decision", "notts_police",
                  {"investigation_outcome": "charged", "decision_on": "2028-05-02"})
    walk.complete(case, "inform_decision", "notts_police", {"r6_status": "met", "r6_done_on": "2028-05-02"})
    walk.complete(case, "record_court_outcome", "notts_police", {
        "court_outcome": "not_guilty", "outcome_received_on": "2028-09-04", "vcs_eligible": True})

    walk.timers("2028-09-05T15:00:00+00:00")
    assert manager_items(walk, case, "notts_police") == {}
    walk.timers("2028-09-05T17:00:00+00:00")  # 1 working day after Witness Care heard from the court
    assert set(manager_items(walk, case, "notts_police")) == {"chase_court"}
    walk.complete(case, "chase_court", "notts_police", {"chase_court_action": "Witness Care officer reminded"},
                  role="manager")
    walk.complete(case, "inform_court", "notts_police",
                  evidence("court", ["R8", "R9", "R10"], done_on="2028-09-06"))

    assert walk.status(case, KEY) == "completed"
    facts = walk.facts(case, "entitlement")
    assert facts["R11"].status == "not_applicable"
    assert "not eligible for the Victim Contact Scheme" in facts["R11"].details["evidence"]
    assert facts["R12"].status == "not_applicable"
    assert {facts[c].status for c in ("R8", "R9", "R10")} == {"met"}
    assert "vlo_contact" not in walk.ready_ids(case)  # probation was never brought onto the case


def test_victim_services_added_later_and_victim_contact_scheme_escalates(walk):
    # Nobody provides victim support: its step waits unassigned until the lead gives it to an organisation.
    walk.withdraw("victim_support")
    case = open_and_start(walk, partners=())
    assess(walk, case, enhanced=False)
    waiting = [t for t in walk.ready(case) if t["bpmn_id"] == "evidence_support"]
    assert len(waiting) == 1 and waiting[0]["organisation"] is None and waiting[0]["unassigned_reason"]
    assert walk.facts(case, "entitlement")["R4"].owner_organisation is None
    walk.assign(case, "evidence_support", "victim_care", by="notts_police")
    walk.complete(case, "evidence_support", "victim_care", evidence("support", ["R4", "R12"]))
    assert walk.facts(case, "entitlement")["R4"].owner_organisation.code == "victim_care"

    walk.complete(case, "evidence_reporting", "notts_police",
                  evidence("reporting", ["R1", "R2", "R3", "R5", "R7"]))
    walk.complete(case, "record_decision", "notts_police",
                  {"investigation_outcome": "charged", "decision_on": "2028-05-02"})
    walk.complete(case, "inform_decision", "notts_police", {"r6_status": "met", "r6_done_on": "2028-05-02"})
    walk.complete(case, "record_court_outcome", "notts_police", {
        "court_outcome": "convicted", "outcome_received_on": "2028-09-04", "sentence_months": 18,
        "vcs_eligible": True})
    # No referral date given: the Right 11 clock falls back to the date the outcome was received.
    walk.complete(case, "inform_court", "notts_police", evidence("court", ["R8", "R9", "R10"], done_on="2028-09-05"))

    deadline = add_working_days("2028-09-04", 20)
    assert at(walk.step(case, "vlo_contact", "probation")["due_at"]) == at(deadline)
    walk.timers("2028-09-29T12:00:00+00:00")
    assert manager_items(walk, case, "probation") == {}
    walk.timers("2028-10-02T17:00:00+00:00")
    assert set(manager_items(walk, case, "probation")) == {"chase_vcs"}
    walk.complete(case, "chase_vcs", "probation", {"chase_vcs_action": "VLO allocated"}, role="manager")
    walk.complete(case, "vlo_contact", "probation", {
        "r11_status": "not_applicable", "r11_reason": "Victim opted out of the scheme", "vcs_opted_in": False})

    assert walk.status(case, KEY) == "completed"
    facts = walk.facts(case, "entitlement")
    assert facts["R11"].status == "not_applicable"
    assert facts["R11"].details["evidence"] == "Victim opted out of the scheme"
    assert due(facts["R11"]) == at(deadline)
