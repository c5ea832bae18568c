"""Walk-through of bpmn/marac.bpmn (high-risk domestic abuse: risk checklist -> MARAC referral -> screening, which
lists the case for the next MARAC meeting while the IDVA contacts the victim and the agencies research -> the
meeting records the outcome and agrees actions, each a step for its owner -> the case is reviewed at the next
meeting while any action is open, open actions carried forward by the meeting, the steering group told after two
carry-forwards).

All dates are in the future (2030 for the original walk-through, 2027 for the carry-forward rounds) so that no
deadline falls due while a step is being completed in "real" time; the deadlines are fired deliberately with
walk.timers(at). Meetings are scheduled on those dates by the panel (tests/bpmn/meeting_walk.py).
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from casework import meetings
from models import CaseFact, CaseParticipant, Incident, Organisation, db
from models.enums import ParticipantRole
from tests.bpmn import meeting_walk as mw
from tests.bpmn.conftest import utc

PARTNERS = ("victim_care", "health", "city_homes", "probation", "vpp_panel")
INVITED = ("notts_police", "victim_care", "health", "city_homes", "probation")
RIC = ["ric_injury", "ric_frightened", "ric_afraid_of_harm", "ric_isolated", "ric_depressed", "ric_separation",
       "ric_child_contact", "ric_stalking", "ric_pregnancy", "ric_more_often", "ric_getting_worse",
       "ric_controlling", "ric_weapons", "ric_threats_to_kill", "ric_strangulation", "ric_sexual_abuse",
       "ric_other_perpetrators", "ric_harm_to_others", "ric_animals", "ric_financial",
       "ric_substance_mental_health", "ric_perpetrator_suicide", "ric_breached_orders", "ric_police_history"]
REFERRAL_DATE = "2030-03-04"     # Monday: IDVA contact due Wednesday 6 March, research Monday 11 March, 17:00 (GMT)
MEETING_DATE = "2030-03-20"      # Wednesday
NEXT_MEETING = "2030-04-17"      # Wednesday
HEARING = {"risk_analysis": "High risk of serious harm; children present", "flag_and_tag": True,
           "linked_processes": ["child_protection"]}


def checklist(yes: int, **extra) -> dict:
    """A checklist with the first `yes` topics answered YES."""
    data = {"ric_tool": "safelives_ric", "assessed_on": "2030-03-01", "safe_to_talk": True,
            "victim_perception": "Afraid he will find her new address", "at_risk_now": "no"}
    data.update({fid: i < yes for i, fid in enumerate(RIC)})
    data.update(extra)
    return data


REFERRAL = {"referral_date": REFERRAL_DATE, "criteria": ["visible_high_risk"],
            "referral_reasons": "Strangulation and threats to kill after separation", "relationship": "ex_partner",
            "victim_consent": "yes", "victim_informed": True, "immediate_actions": ["safety_plan", "target_hardening"],
            "idva_referral_made": True, "other_processes": ["child_protection"]}


def open_marac(walk, partners=PARTNERS, data=None) -> int:
    walk.deploy("panel_action", "marac")
    case = walk.open_case(partners=partners)
    walk.start(case, "marac", data)
    return case


def refer(walk, case, yes=16, referral_date=REFERRAL_DATE, **extra) -> None:
    walk.complete(case, "identify_risk", "notts_police", checklist(yes, **extra))
    walk.complete(case, "refer_to_marac", "notts_police", {**REFERRAL, "referral_date": referral_date})


def list_case(walk, case, emergency=False) -> None:
    walk.complete(case, "screen_referral", "vpp_panel", {"screen_outcome": "accept", "emergency_marac": emergency,
                                                         "marac_case_number": "M-2030-014"})


def research(walk, case, contact=True, contacted_on="2030-03-05") -> None:
    if contact:
        walk.complete(case, "contact_victim", "victim_care",
                      {"first_contact_on": contacted_on, "idva_outcome": "support_plan",
                       "victim_views": "Wants him kept away from the children's school", "safety_plan_agreed": True})
    for code, org in (("police", "notts_police"), ("health", "health"), ("housing", "city_homes"),
                      ("probation", "probation")):
        walk.complete(case, f"research_{code}", org, {f"{code}_holds_info": "yes",
                                                      f"{code}_research": f"{code}: fact - prior incidents"})


def shown(walk, case, bpmn_id) -> dict:
    """A step's read-only fields."""
    return {f["id"]: f["default"] for f in walk.step(case, bpmn_id, "vpp_panel")["form"]["fields"]}


def risk_level(walk, case) -> str:
    return walk.get(f"/cases/{case}").json["risk_level"]


# ------------------------------------------------------------------ main route


def test_main_route_listed_heard_actions_done_and_reviewed(walk):
    case = open_marac(walk)
    refer(walk, case, yes=16)
    assert risk_level(walk, case) == "high"
    fact = walk.facts(case, "marac")["referral"]
    assert fact.status == "open" and fact.completed_at is None
    assert fact.details["risk_score"] == 16 and fact.details["repeat"] is False
    assert fact.details["criteria"] == ["visible_high_risk"]

    list_case(walk, case)
    items = {t["bpmn_id"]: t for t in walk.ready(case, "notts_police")}
    assert items["contact_victim"]["due_at"] == "2030-03-06T17:00:00+00:00"
    for code in ("police", "health", "housing", "probation"):   # 5 working days after the referral
        assert items[f"research_{code}"]["due_at"] == "2030-03-11T17:00:00+00:00", code
    # Listed when accepted: the meeting step waits for the next MARAC meeting while the research comes in, and only
    # the meeting completes it.
    assert items["hold_meeting"]["organisation"] == "vpp_panel"
    mw.not_from_my_work(walk, case, "hold_meeting", "vpp_panel", HEARING)
    meeting = mw.schedule("marac", MEETING_DATE, invite=INVITED)
    listed = mw.entry(meeting, case)
    assert listed.source == "process"
    assert listed.reason == "Visible high risk (risk score 16): Strangulation and threats to kill after separation"
    research(walk, case)
    assert walk.facts(case, "referral")["idva"].status == "support_plan"
    assert [s.bpmn_id for s in meetings.research(listed)] == [
        "research_police", "research_health", "research_housing", "research_probation"]   # in the agenda pack

    mw.hear(meeting, case, HEARING, actions=(
        ("victim_care", "Feed back to the victim and update the safety plan", "2030-03-22"),
        ("notts_police", "Serve a domestic violence protection notice", "2030-04-10"),
        ("city_homes", "Fit a sanctuary scheme", "2030-04-10")))
    fact = walk.facts(case, "marac")["referral"]
    assert fact.status == "heard" and fact.completed_at is not None
    assert fact.details["heard_on"] == MEETING_DATE and fact.details["actions_agreed"] == 3
    assert fact.details["risk_score"] == 16 and fact.details["repeat_window_ends"] == "2031-03-04"
    # Three actions open: the case is to be reviewed at the next meeting (none scheduled yet).
    ready = walk.ready_ids(case)
    assert "review_actions" in ready and "escalate_steering" not in ready
    assert shown(walk, case, "review_actions")["actions_before_review"].startswith(
        "3 open or in progress, 0 done, 0 not achievable")
    mw.not_from_my_work(walk, case, "review_actions", "vpp_panel")
    assert walk.status(case, "marac") == "running"

    # Each action is a step for its owner.
    mw.report(walk, case, "victim_care", "done", "Fed back on 21 March")
    mw.report(walk, case, "notts_police", "done", "Notice served")
    mw.report(walk, case, "city_homes", "not_achievable", "Landlord refuses the works",
              reason="The landlord will not allow a sanctuary scheme; a management move is offered instead")
    assert meetings.summary(case, "marac") == {"open": 0, "done": 2, "not_achievable": 1, "carried": 0}

    following = mw.schedule("marac", NEXT_MEETING, invite=INVITED)
    assert mw.entry(following, case).source == "process"      # the review; nothing left open to carry
    mw.hear(following, case, {"risk_now": "Reduced: moved to a safe address"})
    assert walk.status(case, "marac") == "completed"
    referral = walk.facts(case, "marac")["referral"]
    assert referral.status == "heard" and referral.details["actions_closed"] is True
    assert (referral.details["actions_done"], referral.details["actions_not_achievable"]) == (2, 1)
    assert referral.details["repeat_window_ends"] == "2031-03-04"


def test_the_reason_for_listing_names_every_criterion_the_repeat_and_an_emergency_marac(walk):
    case = open_marac(walk)
    earlier_referral(walk, case, "2029-09-02T10:00:00+00:00")
    walk.complete(case, "identify_risk", "notts_police", checklist(15))
    walk.complete(case, "refer_to_marac", "notts_police", {
        **REFERRAL, "criteria": ["visible_high_risk", "repeat"], "referral_reasons": "New assault"})
    list_case(walk, case, emergency=True)
    meeting = mw.schedule("marac", MEETING_DATE, invite=INVITED)
    assert mw.entry(meeting, case).reason == (
        "Visible high risk, Repeat (risk score 15); repeat: referred within 12 months of the last referral; "
        "emergency MARAC: New assault")


def test_the_meeting_may_hear_the_case_before_the_research_is_in(walk):
    """The research steps close when the case is heard; the IDVA still contacts the victim."""
    case = open_marac(walk)
    refer(walk, case)
    list_case(walk, case)
    meeting = mw.schedule("marac", MEETING_DATE, invite=INVITED)
    walk.complete(case, "research_police", "notts_police", {"police_holds_info": "no_trace"})
    mw.hear(meeting, case, HEARING)   # no actions agreed
    ready = walk.ready_ids(case)
    assert not {"research_health", "research_housing", "research_probation", "review_actions"} & ready
    assert "contact_victim" in ready
    referral = walk.facts(case, "marac")["referral"]
    assert referral.status == "heard" and referral.details["actions_closed"] is True
    assert walk.status(case, "marac") == "running"
    walk.complete(case, "contact_victim", "victim_care", {"first_contact_on": "2030-03-05", "idva_outcome": "no_contact"})
    assert walk.status(case, "marac") == "completed"


# ------------------------------------------------------------------ threshold gateway


def police_incidents(case: int, *days: str, on_case: int | None = None) -> None:
    """Domestic abuse incidents recorded by the police for the case's victim (on this case, or on another agency's
    case of the same person). Put in directly: the walk-through's dates are in the future."""
    person = db.session.scalar(select(CaseParticipant.person_id).where(CaseParticipant.case_id == case))
    police = db.session.scalar(select(Organisation.id).where(Organisation.code == "notts_police"))
    if on_case is not None:
        db.session.add(CaseParticipant(case_id=on_case, person_id=person, role=ParticipantRole.VICTIM))
    for day in days:
        db.session.add(Incident(case_id=on_case or case, person_id=person, kind="domestic_abuse",
                                occurred_on=date.fromisoformat(day), reported_on=date.fromisoformat(day),
                                reported_to_org_id=police, reported_by="the victim", description="Assault",
                                recorded_by_org_id=police))
    db.session.commit()


def earlier_referral(walk, case: int, when: str) -> None:
    """Another agency's case for the same victim, referred to MARAC then."""
    other = walk.open_case(org="victim_care", case_type="domestic_abuse")
    person = db.session.scalar(select(CaseParticipant.person_id).where(CaseParticipant.case_id == case))
    db.session.add(CaseParticipant(case_id=other, person_id=person, role=ParticipantRole.VICTIM))
    db.session.add(CaseFact(case_id=other, kind="marac", code="referral", status="heard",
                            recorded_at=datetime.fromisoformat(when)))
    db.session.commit()


@pytest.mark.parametrize("yes, incidents, level", [
    (10, (), "medium"),
    (3, ("2029-05-01", "2029-12-01"), "standard"),     # two police-recorded incidents: not escalation
    (3, ("2029-02-01", "2029-06-01", "2029-12-01"), "standard"),   # three, but one is over 12 months old
])
def test_below_threshold_not_referred(walk, yes, incidents, level):
    case = open_marac(walk)
    police_incidents(case, *incidents)
    walk.complete(case, "identify_risk", "notts_police", checklist(yes, police_risk_grade="medium" if yes < 5 else None))
    shown = {f["id"]: f.get("default") for f in walk.step(case, "record_decision", "notts_police")["form"]["fields"]}
    assert f"{len([d for d in incidents if d >= '2029-03-01'])} police-recorded domestic abuse incident" in \
        shown["checks_shown"]
    assert walk.ready_ids(case) == {"record_decision"}
    walk.complete(case, "record_decision", "notts_police",
                  {"not_referred_reasons": "Below threshold", "support_offered": "victim_services"})
    assert walk.status(case, "marac") == "completed"
    fact = walk.facts(case, "marac")["referral"]
    assert fact.status == "not_eligible" and fact.completed_at is not None
    assert fact.details == {"risk_score": yes, "repeat": False, "reason": "below_threshold",
                            "police_incidents": len([d for d in incidents if d >= "2029-03-01"])}
    assert risk_level(walk, case) == level


@pytest.mark.parametrize("yes, extra, history", [
    (14, {}, None),                                                     # visible high risk
    (5, {"professional_judgement": True, "judgement_reasons": "Recent strangulation"}, None),
    (2, {}, "escalation"),     # three police-recorded incidents in 12 months, across two agencies' cases
    (5, {}, "repeat"),         # the victim was referred by another agency 11 months ago: a repeat at score 5
    (5, {}, "same_day"),       # re-referred the same day at score 5: still a repeat
    (4, {"ric_tool": "police_dara", "police_risk_grade": "high"}, None),
])
def test_each_criterion_qualifies(walk, yes, extra, history):
    case = open_marac(walk)
    if history == "escalation":
        other = walk.open_case(org="notts_police", case_type="domestic_abuse")
        police_incidents(case, "2029-04-02", "2029-09-14")
        police_incidents(case, "2030-01-20", on_case=other)
    elif history == "repeat":
        earlier_referral(walk, case, "2029-04-02T10:00:00+00:00")
    elif history == "same_day":
        earlier_referral(walk, case, "2030-03-01T09:00:00+00:00")
    walk.complete(case, "identify_risk", "notts_police", checklist(yes, **extra))
    assert walk.ready_ids(case) == {"refer_to_marac"}
    shown = {f["id"]: f.get("default") for f in walk.step(case, "refer_to_marac", "notts_police")["form"]["fields"]}
    if history == "escalation":
        assert "3 police-recorded domestic abuse incidents in 12 months" in shown["checks_shown"]
    if history in ("repeat", "same_day"):
        assert "repeat: yes, the last MARAC referral was on" in shown["checks_shown"]
    walk.complete(case, "refer_to_marac", "notts_police", REFERRAL)
    assert walk.facts(case, "marac")["referral"].details["repeat"] is (history in ("repeat", "same_day"))
    assert walk.step(case, "screen_referral", "vpp_panel")


def test_a_referral_more_than_twelve_months_ago_is_not_a_repeat(walk):
    case = open_marac(walk)
    earlier_referral(walk, case, "2029-02-28T10:00:00+00:00")
    walk.complete(case, "identify_risk", "notts_police", checklist(5))
    assert walk.ready_ids(case) == {"record_decision"}


# ------------------------------------------------------------------ screening gateway


@pytest.mark.parametrize("outcome, status, reason", [
    ("return", "not_eligible", "returned_on_screening"),
    ("transfer", "transferred", "marac_to_marac_transfer"),
])
def test_screening_return_and_transfer(walk, outcome, status, reason):
    case = open_marac(walk)
    refer(walk, case, yes=14)
    walk.complete(case, "screen_referral", "vpp_panel", {"screen_outcome": outcome, "screen_reasons": "see notes"})
    assert walk.status(case, "marac") == "completed"
    fact = walk.facts(case, "marac")["referral"]
    assert (fact.status, fact.details["reason"], fact.details["risk_score"]) == (status, reason, 14)
    assert fact.completed_at is not None

# ------------------------------------------------------------------ carrying open actions forward (2027)

REFERRED_2027 = "2027-03-01"     # Monday
MET_2027 = "2027-03-10"          # Wednesday: the meeting that agrees the actions
NEXT_2027 = "2027-03-30"
SECOND_2027 = "2027-04-26"
THIRD_2027 = "2027-05-25"


def heard_2027(walk) -> int:
    """A case heard on 10 March 2027 with actions for the IDVA service, the police and housing."""
    case = open_marac(walk)
    refer(walk, case, referral_date=REFERRED_2027)
    list_case(walk, case)
    meeting = mw.schedule("marac", MET_2027, invite=INVITED)
    research(walk, case, contacted_on="2027-03-02")
    mw.hear(meeting, case, HEARING, actions=(
        ("victim_care", "Feed back to the victim", "2027-03-12"),
        ("notts_police", "Vary the bail conditions", "2027-03-24"),
        ("city_homes", "Fit a sanctuary scheme", "2027-03-24")))
    return case


def test_open_actions_are_carried_forward_and_the_steering_group_is_told_after_two_carry_forwards(walk):
    case = heard_2027(walk)
    mw.report(walk, case, "notts_police", "done", "Bail conditions varied")
    mw.report(walk, case, "city_homes", "in_progress", "Sanctuary scheme survey booked")
    assert mw.action(case, "city_homes").state == "in_progress"

    # The next meeting: the review and the carried actions are one agenda entry.
    second = mw.schedule("marac", NEXT_2027, invite=INVITED)
    entry = mw.entry(second, case)
    assert entry.work_item_id is not None and [i.case_id for i in second.items].count(case) == 1
    assert (mw.action(case, "city_homes").carried, mw.action(case, "victim_care").carried) == (1, 1)
    mw.hear(second, case, {"risk_now": "Unchanged"})
    ready = walk.ready_ids(case)
    assert "review_actions" in ready and "escalate_steering" not in ready   # carried once
    assert walk.status(case, "marac") == "running"

    mw.report(walk, case, "victim_care", "done", "Safety plan updated with the victim")
    third = mw.schedule("marac", SECOND_2027, invite=INVITED)
    assert mw.action(case, "city_homes").carried == 2
    mw.hear(third, case, {"risk_now": "Unchanged"})
    # Carried forward to a second meeting: the MARAC manager tells the steering group, and the case stays on the
    # next meeting's agenda meanwhile.
    escalation = walk.step(case, "escalate_steering", "vpp_panel")
    assert escalation["required_role"] == "manager"
    assert walk.post(f"/tasks/{escalation['id']}/complete", {"data": {"escalation_notes": "x"}},
                     org="vpp_panel").status_code == 403
    walk.complete(case, "escalate_steering", "vpp_panel", {"escalation_notes": "Housing: raised with the steering group"},
                  role="manager")
    assert "review_actions" in walk.ready_ids(case)

    mw.report(walk, case, "city_homes", "done", "Works completed")
    fourth = mw.schedule("marac", THIRD_2027, invite=INVITED)
    mw.hear(fourth, case, {"risk_now": "Reduced"})
    assert walk.status(case, "marac") == "completed"
    referral = walk.facts(case, "marac")["referral"]
    assert referral.details["actions_closed"] is True and referral.details["actions_done"] == 3
    assert referral.details["repeat_window_ends"] == "2028-03-01"


def test_the_review_may_tell_the_steering_group_sooner(walk):
    case = heard_2027(walk)
    second = mw.schedule("marac", NEXT_2027, invite=INVITED)
    mw.hear(second, case, {"escalate_to_steering": True})
    assert walk.step(case, "escalate_steering", "vpp_panel")["required_role"] == "manager"
    assert "review_actions" in walk.ready_ids(case)


def test_not_achievable_needs_a_reason_and_the_case_closes_only_when_no_action_is_open(walk):
    case = heard_2027(walk)
    mw.report(walk, case, "victim_care", "done", "Fed back to the victim")
    mw.report(walk, case, "notts_police", "in_progress", "Bail conditions being varied")
    owned = next(t for t in walk.ready(case, "city_homes") if t["bpmn_id"] == "report_action")
    refused = walk.post(f"/tasks/{owned['id']}/complete", {"data": {
        "action_state": "not_achievable", "action_update": "Landlord refuses the works"}}, org="city_homes")
    assert refused.status_code == 422 and "not_achievable_reason" in refused.json["errors"]
    mw.report(walk, case, "city_homes", "not_achievable", "Landlord refuses the works",
              reason="The landlord will not allow a sanctuary scheme; a management move is offered instead")
    second = mw.schedule("marac", NEXT_2027, invite=INVITED)
    mw.hear(second, case, {})
    assert "review_actions" in walk.ready_ids(case)   # the police action is still in progress
    mw.report(walk, case, "notts_police", "done", "Bail conditions varied at court")
    third = mw.schedule("marac", SECOND_2027, invite=INVITED)
    mw.hear(third, case, {})
    assert walk.status(case, "marac") == "completed"
    assert "escalate_steering" not in walk.ready_ids(case)   # one carry-forward only
    referral = walk.facts(case, "marac")["referral"]
    assert (referral.details["actions_done"], referral.details["actions_not_achievable"]) == (2, 1)


# ------------------------------------------------------------------ deadlines


def test_idva_contact_deadline_goes_to_the_victim_services_manager(walk):
    case = open_marac(walk)
    refer(walk, case)
    list_case(walk, case)
    walk.timers(utc("2030-03-06T16:00:00"))
    assert "chase_idva_contact" not in walk.ready_ids(case)
    walk.timers(utc("2030-03-06T17:30:00"))
    item = walk.step(case, "chase_idva_contact", "victim_care")
    assert item["required_role"] == "manager"
    walk.complete(case, "chase_idva_contact", "victim_care", {"chase_notes": "Called the IDVA team"}, role="manager")
    # Non-interrupting: the contact step is still there and the process goes on.
    research(walk, case)
    assert "hold_meeting" in walk.ready_ids(case)
    assert walk.status(case, "marac") == "running"


# ------------------------------------------------------------------ unassigned agency


def test_research_waits_for_a_housing_provider_until_the_lead_assigns_it(walk):
    case = open_marac(walk, partners=("victim_care", "health", "probation", "vpp_panel"))
    walk.withdraw("housing")
    refer(walk, case)
    list_case(walk, case)
    (waiting,) = [t for t in walk.ready(case, "notts_police") if t["bpmn_id"] == "research_housing"]
    assert waiting["organisation"] is None and "No organisation provides Housing" in waiting["unassigned_reason"]
    assert walk.status(case, "marac") == "running"  # a routing gap never stops the process
    walk.assign(case, "research_housing", "city_homes", by="notts_police")
    walk.complete(case, "research_housing", "city_homes", {"housing_holds_info": "no_trace"})


def test_at_risk_now_at_the_checklist_gives_the_police_a_step_at_once(walk):
    walk.deploy("risk_to_life")
    case = open_marac(walk)
    walk.complete(case, "identify_risk", "notts_police", checklist(
        16, at_risk_now="yes", risk_now_details="He is outside with a weapon."))
    assert walk.step(case, "police_respond", "notts_police")["title"] == "Respond now: risk to life"
    assert walk.step(case, "manager_check", "notts_police")["required_role"] == "manager"
    assert "refer_to_marac" in walk.ready_ids(case)            # the referral goes on beside it


def test_a_victim_already_under_an_open_referral_is_not_referred_twice(walk):
    """Bad input: a second referral while another agency's is open is refused with a message next to the field,
    nothing recorded; ticking 'add to the open referral' gives the MARAC coordinator the new information."""
    case = open_marac(walk)
    other = walk.open_case(org="victim_care", case_type="domestic_abuse")
    person = db.session.scalar(select(CaseParticipant.person_id).where(CaseParticipant.case_id == case))
    db.session.add(CaseParticipant(case_id=other, person_id=person, role=ParticipantRole.VICTIM))
    db.session.add(CaseFact(case_id=other, kind="marac", code="referral", status="open",
                            recorded_at=datetime.fromisoformat("2030-02-20T10:00:00+00:00")))
    db.session.commit()
    walk.complete(case, "identify_risk", "notts_police", checklist(16))
    step = walk.step(case, "refer_to_marac", "notts_police")
    shown = {f["id"]: f.get("default") for f in step["form"]["fields"]}
    assert "an open MARAC referral made on 20/02/2030 has not been heard yet" in shown["checks_shown"]
    refused = walk.post(f"/tasks/{step['id']}/complete", {"data": REFERRAL})
    assert refused.status_code == 422 and "already under an open MARAC referral" in \
        refused.json["errors"]["add_to_open_referral"]
    assert walk.facts(case, "marac") == {}
    walk.complete(case, "refer_to_marac", "notts_police", {**REFERRAL, "add_to_open_referral": True})
    added = walk.step(case, "add_to_open", "vpp_panel")
    assert {f["id"]: f.get("default") for f in added["form"]["fields"]}["new_information"] == \
        REFERRAL["referral_reasons"]
    assert walk.facts(case, "marac") == {}        # no second referral recorded
