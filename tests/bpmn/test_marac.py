"""Walk-through of bpmn/marac.bpmn (high-risk domestic abuse: risk checklist -> MARAC referral -> screening ->
IDVA contact and agency research -> meeting -> agency actions -> review at the next meeting, carrying open actions
forward until every one is complete or not achievable).

All dates are in the future (2030 for the original walk-through, 2027 for the carry-forward rounds) so that no
deadline falls due while a step is being completed in "real" time; the deadlines are fired deliberately with
walk.timers(at).
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from models import CaseFact, CaseParticipant, Incident, Organisation, db
from models.enums import ParticipantRole
from tests.bpmn.conftest import utc

PARTNERS = ("victim_care", "health", "city_homes", "probation", "vpp_panel")
RIC = ["ric_injury", "ric_frightened", "ric_afraid_of_harm", "ric_isolated", "ric_depressed", "ric_separation",
       "ric_child_contact", "ric_stalking", "ric_pregnancy", "ric_more_often", "ric_getting_worse",
       "ric_controlling", "ric_weapons", "ric_threats_to_kill", "ric_strangulation", "ric_sexual_abuse",
       "ric_other_perpetrators", "ric_harm_to_others", "ric_animals", "ric_financial",
       "ric_substance_mental_health", "ric_perpetrator_suicide", "ric_breached_orders", "ric_police_history"]
REFERRAL_DATE = "2030-03-04"     # Monday: IDVA contact due Wednesday 6 March, 17:00 (GMT)
MEETING_DATE = "2030-03-20"      # Wednesday: research due 13 March, 17:00
NEXT_MEETING = "2030-04-17"      # Wednesday: review opens 16 April, 17:00 BST (16:00 UTC)
ACTION_ORGS = {"idva": "victim_care", "police": "notts_police", "health": "health", "housing": "city_homes",
               "probation": "probation"}


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
    walk.deploy("marac")
    case = walk.open_case(partners=partners)
    walk.start(case, "marac", data)
    return case


def refer(walk, case, yes=16, referral_date=REFERRAL_DATE, **extra) -> None:
    walk.complete(case, "identify_risk", "notts_police", checklist(yes, **extra))
    walk.complete(case, "refer_to_marac", "notts_police", {**REFERRAL, "referral_date": referral_date})


def list_case(walk, case, meeting_date=MEETING_DATE) -> None:
    walk.complete(case, "screen_referral", "vpp_panel", {"screen_outcome": "accept", "meeting_date": meeting_date,
                                                         "emergency_marac": False, "marac_case_number": "M-2030-014"})


def research(walk, case, contact=True, contacted_on="2030-03-05") -> None:
    if contact:
        walk.complete(case, "contact_victim", "victim_care",
                      {"first_contact_on": contacted_on, "idva_outcome": "support_plan",
                       "victim_views": "Wants him kept away from the children's school", "safety_plan_agreed": True})
    for code, org in (("police", "notts_police"), ("health", "health"), ("housing", "city_homes"),
                      ("probation", "probation")):
        walk.complete(case, f"research_{code}", org, {f"{code}_holds_info": "yes",
                                                      f"{code}_research": f"{code}: fact - prior incidents"})


def meeting(walk, case, actions=("idva", "police", "health", "housing", "probation"), held_on=MEETING_DATE,
            next_on=NEXT_MEETING, idva_due="2030-03-22", due="2030-04-10") -> None:
    data = {"meeting_held_on": held_on, "confidentiality_read": True,
            "attending_agencies": ["police", "victim_services", "health", "housing", "probation"],
            "risk_analysis": "High risk of serious harm; children present", "flag_and_tag": True,
            "linked_processes": ["child_protection"], "next_meeting_on": next_on,
            "idva_action": "Feed back to the victim and update the safety plan", "idva_action_due": idva_due}
    for code in actions:
        if code != "idva":
            data[f"{code}_action"] = f"{code} action"
            data[f"{code}_action_due"] = due
    walk.complete(case, "hold_meeting", "vpp_panel", data)


def report(walk, case, code, status, update="reported to coordinator", reason=None) -> None:
    """An agency reports on its MARAC action (open, in_progress, done or not_achievable)."""
    data = {f"{code}_action_status": status, f"{code}_action_update": update}
    if reason:
        data[f"{code}_action_reason"] = reason
    walk.complete(case, f"update_{code}_action", ACTION_ORGS[code], data)


def review_form(walk, case) -> dict:
    """The review step's read-only fields: what each agency reported and where each action stands."""
    return {f["id"]: f["default"] for f in walk.step(case, "review_actions", "vpp_panel")["form"]["fields"]}


def risk_level(walk, case) -> str:
    return walk.get(f"/cases/{case}").json["risk_level"]


# ------------------------------------------------------------------ main route


def test_main_route_heard_actions_done_and_reviewed(walk):
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
    for code in ("police", "health", "housing", "probation"):
        assert items[f"research_{code}"]["due_at"] == "2030-03-13T17:00:00+00:00", code
    research(walk, case)
    assert walk.facts(case, "referral")["idva"].status == "support_plan"
    assert "hold_meeting" in walk.ready_ids(case)

    meeting(walk, case)
    fact = walk.facts(case, "marac")["referral"]
    assert fact.status == "heard" and fact.completed_at is not None
    assert fact.details["risk_score"] == 16 and fact.details["repeat_window_ends"] == "2031-03-04"
    actions = walk.facts(case, "panel_action")
    assert set(actions) == {f"marac-{MEETING_DATE}-{c}" for c in ACTION_ORGS}
    police = actions[f"marac-{MEETING_DATE}-police"]
    assert police.status == "open" and police.label == "police action"
    assert police.owner_organisation.code == "notts_police" and police.due_at.date().isoformat() == "2030-04-10"
    assert actions[f"marac-{MEETING_DATE}-idva"].owner_organisation.code == "victim_care"

    items = {t["bpmn_id"]: t for t in walk.ready(case, "notts_police")}
    assert items["update_police_action"]["due_at"].startswith("2030-04-10")
    for code in ACTION_ORGS:
        if code == "housing":
            report(walk, case, code, "not_achievable", reason="No social housing stock in the area")
        else:
            report(walk, case, code, "done")
    walk.complete(case, "circulate_minutes", "vpp_panel", {"minutes_sent_on": "2030-03-22"})
    assert walk.status(case, "marac") == "running"
    assert "review_actions" not in walk.ready_ids(case)

    walk.timers(utc("2030-04-16T15:00:00"))  # before the day-before-the-meeting deadline
    assert "review_actions" not in walk.ready_ids(case)
    walk.timers(utc("2030-04-16T16:30:00"))
    form = review_form(walk, case)
    assert (form["outstanding_actions"], form["open_actions"]) == ("False", "none")
    assert form["housing_action_state"] == "not_achievable"
    assert form["housing_reported"] == ("reported not_achievable: reported to coordinator "
                                        "(not achievable because: No social housing stock in the area)")
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "close", "escalate_to_steering": False})
    assert walk.status(case, "marac") == "completed"
    actions = walk.facts(case, "panel_action")
    # not achievable is the reporting convention's not_done, with the reason kept
    assert actions[f"marac-{MEETING_DATE}-housing"].status == "not_done"
    assert actions[f"marac-{MEETING_DATE}-housing"].details["reason"] == "No social housing stock in the area"
    assert all(actions[f"marac-{MEETING_DATE}-{c}"].status == "done" for c in ACTION_ORGS if c != "housing")
    assert all(a.completed_at is not None for a in actions.values())


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


# ------------------------------------------------------------------ actions (inclusive gateway)


def test_only_agencies_given_actions_get_a_step(walk):
    case = open_marac(walk)
    refer(walk, case)
    list_case(walk, case)
    research(walk, case)
    meeting(walk, case, actions=("idva", "housing"))
    ready = walk.ready_ids(case)
    assert {"update_idva_action", "update_housing_action", "circulate_minutes"} <= ready
    assert not {"update_police_action", "update_health_action", "update_probation_action"} & ready
    assert set(walk.facts(case, "panel_action")) == {f"marac-{MEETING_DATE}-idva", f"marac-{MEETING_DATE}-housing"}
    report(walk, case, "idva", "done", "Fed back on 21 March")
    walk.complete(case, "circulate_minutes", "vpp_panel", {"minutes_sent_on": "2030-03-21"})
    walk.timers(utc("2030-04-17T09:00:00"))
    # Housing has not reported by the next meeting: its step closed with the review, which minutes it, carries
    # it forward and escalates now (the review may escalate before the second carry-forward).
    assert "update_housing_action" not in walk.ready_ids(case)
    assert review_form(walk, case)["housing_reported"] == "nothing reported this round: stays open"
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "carry_forward", "escalate_to_steering": True,
                                                        "next_meeting_on": "2030-05-15",
                                                        "review_notes": "Housing has not reported"})
    item = walk.step(case, "escalate_steering", "vpp_panel")
    assert item["required_role"] == "manager"
    assert walk.post(f"/tasks/{item['id']}/complete", {"data": {"escalation_notes": "x"}},
                     org="vpp_panel").status_code == 403
    walk.complete(case, "escalate_steering", "vpp_panel", {"escalation_notes": "Raised with steering group"},
                  role="manager")
    assert walk.status(case, "marac") == "running"  # still waiting for Housing
    assert walk.step(case, "update_housing_action", "city_homes")["due_at"] == "2030-05-14T16:00:00+00:00"
    report(walk, case, "housing", "done", "Sanctuary scheme fitted")
    assert walk.facts(case, "panel_action")[f"marac-{MEETING_DATE}-housing"].status == "done"
    walk.timers(utc("2030-05-14T16:30:00"))
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "close"})
    assert walk.status(case, "marac") == "completed"


# ------------------------------------------------------------------ carrying open actions forward (2027)

REFERRED_2027 = "2027-03-01"     # Monday
MET_2027 = "2027-03-10"          # Wednesday: the meeting that agreed the actions
NEXT_2027 = "2027-03-30"         # Tuesday after Easter: its review opens Thursday 25 March, 17:00 GMT
SECOND_2027 = "2027-04-26"       # Monday: its review opens Friday 23 April, 17:00 BST
THIRD_2027 = "2027-05-25"        # Tuesday: its review opens Monday 24 May, 17:00 BST


def heard_2027(walk, actions=("idva", "police", "housing")) -> int:
    """A case heard on 10 March 2027 with actions for the IDVA, Police and Housing, minutes circulated."""
    case = open_marac(walk)
    refer(walk, case, referral_date=REFERRED_2027)
    list_case(walk, case, meeting_date=MET_2027)
    research(walk, case, contacted_on="2027-03-02")
    meeting(walk, case, actions=actions, held_on=MET_2027, next_on=NEXT_2027, idva_due="2027-03-12",
            due="2027-03-24")
    walk.complete(case, "circulate_minutes", "vpp_panel", {"minutes_sent_on": "2027-03-11"})
    return case


def action(walk, case, code):
    return walk.facts(case, "panel_action")[f"marac-{MET_2027}-{code}"]


def test_an_action_in_progress_is_carried_forward_and_escalates_after_two_carry_forwards(walk):
    case = heard_2027(walk)
    assert walk.step(case, "update_housing_action", "city_homes")["due_at"].startswith("2027-03-24")
    report(walk, case, "police", "done", "Warning notice served")
    report(walk, case, "housing", "in_progress", "Sanctuary scheme survey booked")
    housing = action(walk, case, "housing")
    assert (housing.status, housing.completed_at, housing.details["reported"]) == ("open", None, "in_progress")
    assert action(walk, case, "police").status == "done"

    # The review opens the working day before the meeting on Tuesday 30 March 2027; Easter Monday (29) and Good
    # Friday (26) are bank holidays, so it opens on Thursday 25 March at 17:00 (GMT), and this round's update
    # steps close then: the IDVA, who has not reported, loses this step.
    walk.timers(utc("2027-03-25T16:59:00"))
    assert "review_actions" not in walk.ready_ids(case)
    assert "update_idva_action" in walk.ready_ids(case)
    walk.timers(utc("2027-03-25T17:01:00"))
    assert "update_idva_action" not in walk.ready_ids(case)
    form = review_form(walk, case)
    assert form["housing_reported"] == "reported in_progress: Sanctuary scheme survey booked"
    assert form["housing_action_state"] == "in_progress"
    assert form["police_reported"] == "reported done: Warning notice served"
    assert form["police_action_state"] == "done"
    assert form["idva_reported"] == "nothing reported this round: stays open"
    assert form["health_reported"] == "no action" and form["health_action_state"] is None
    assert (form["open_actions"], form["outstanding_actions"]) == ("IDVA, Housing", "True")

    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "carry_forward", "next_meeting_on": SECOND_2027,
                                                        "review_notes": "IDVA and Housing actions carried forward"})
    # The first carry-forward: the open actions go back to their agencies, due when the next review opens
    # (Friday 23 April, 17:00 BST: the meeting is on a Monday, so the deadline crosses the weekend).
    items = {t["bpmn_id"]: t for t in walk.ready(case)}
    assert items["update_housing_action"]["due_at"] == "2027-04-23T16:00:00+00:00"
    assert items["update_idva_action"]["due_at"] == "2027-04-23T16:00:00+00:00"
    assert items["update_housing_action"]["organisation"] == "city_homes"
    assert not {"update_police_action", "escalate_steering"} & set(items)
    housing = action(walk, case, "housing")
    assert housing.status == "open" and housing.details["carry_forwards"] == 1
    assert housing.due_at.isoformat().startswith("2027-04-23T16:00")
    assert walk.status(case, "marac") == "running"

    report(walk, case, "idva", "done", "Safety plan updated with the victim")
    report(walk, case, "housing", "in_progress", "Works ordered")
    walk.timers(utc("2027-04-23T15:59:00"))
    assert "review_actions" not in walk.ready_ids(case)  # every report is in, but the review waits for its day
    walk.timers(utc("2027-04-23T16:30:00"))
    form = review_form(walk, case)
    assert form["housing_reported"] == "reported in_progress: Works ordered"
    assert form["police_reported"] == "closed earlier: done"
    assert (form["open_actions"], form["idva_action_state"]) == ("Housing", "done")
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "carry_forward", "next_meeting_on": THIRD_2027})
    # The second consecutive carry-forward escalates to the steering group: a step for the MARAC manager, while
    # Housing gets its action again for the meeting on 25 May.
    escalation = walk.step(case, "escalate_steering", "vpp_panel")
    assert escalation["required_role"] == "manager"
    assert walk.step(case, "update_housing_action", "city_homes")["due_at"] == "2027-05-24T16:00:00+00:00"
    assert action(walk, case, "housing").details["carry_forwards"] == 2
    walk.complete(case, "escalate_steering", "vpp_panel", {"escalation_notes": "Housing: raised with the steering group"},
                  role="manager")
    assert walk.status(case, "marac") == "running"
    # Housing reports nothing this time: the review shows no report (not last round's) and the action stays open.
    walk.timers(utc("2027-05-24T16:30:00"))
    assert "update_housing_action" not in walk.ready_ids(case)
    form = review_form(walk, case)
    assert form["housing_reported"] == "nothing reported this round: stays in_progress"
    assert (form["housing_action_state"], form["open_actions"]) == ("in_progress", "Housing")
    assert action(walk, case, "housing").status == "open"


def test_not_achievable_needs_a_reason_and_the_case_closes_only_when_every_action_is_closed(walk):
    case = heard_2027(walk)
    report(walk, case, "idva", "done", "Fed back to the victim")
    report(walk, case, "police", "in_progress", "Bail conditions being varied")
    # "Not achievable" without a reason is routed back: the Housing step comes back, saying why.
    report(walk, case, "housing", "not_achievable", "Landlord refuses the works")
    back = walk.step(case, "update_housing_action", "city_homes")
    check = {f["id"]: f["default"] for f in back["form"]["fields"]}["housing_action_check"]
    assert check.startswith("A reason is needed")
    assert action(walk, case, "housing").status == "open"
    report(walk, case, "housing", "not_achievable", "Landlord refuses the works",
           reason="The landlord will not allow a sanctuary scheme; a management move is offered instead")
    housing = action(walk, case, "housing")
    assert housing.status == "not_done" and housing.completed_at is not None
    assert housing.details["reason"].startswith("The landlord will not allow")
    assert housing.details["reported"] == "not_achievable"

    walk.timers(utc("2027-03-25T17:30:00"))
    # Closing while the Police action is still in progress is refused: the review comes back.
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "close"})
    assert review_form(walk, case)["open_actions"] == "Police"
    assert walk.status(case, "marac") == "running"
    # So is carrying forward without the next meeting's date.
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "carry_forward"})
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "carry_forward", "next_meeting_on": SECOND_2027})
    assert walk.ready_ids(case) >= {"update_police_action"}
    assert not {"update_idva_action", "update_housing_action"} & walk.ready_ids(case)
    report(walk, case, "police", "done", "Bail conditions varied at court")
    walk.timers(utc("2027-04-23T16:30:00"))
    form = review_form(walk, case)
    assert (form["outstanding_actions"], form["open_actions"]) == ("False", "none")
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "close", "review_notes": "All actions closed"})
    assert walk.status(case, "marac") == "completed"
    assert "escalate_steering" not in walk.ready_ids(case)   # one carry-forward only
    # Each action's final state is a fact; the referral fact says the actions are closed and when the repeat
    # window (12 months from the referral) ends.
    final = {code: (f.status, f.completed_at is not None) for code, f in walk.facts(case, "panel_action").items()}
    assert final == {f"marac-{MET_2027}-idva": ("done", True), f"marac-{MET_2027}-police": ("done", True),
                     f"marac-{MET_2027}-housing": ("not_done", True)}
    referral = walk.facts(case, "marac")["referral"]
    assert referral.status == "heard"
    assert referral.details["actions_closed"] is True and referral.details["carry_forwards"] == 1
    assert referral.details["repeat_window_ends"] == "2028-03-01"


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


def test_minutes_deadline_goes_to_the_panel_manager(walk):
    case = open_marac(walk)
    refer(walk, case)
    list_case(walk, case)
    research(walk, case)
    meeting(walk, case, actions=("idva",))
    walk.timers(utc("2030-03-25T16:00:00"))
    assert "chase_minutes" not in walk.ready_ids(case)
    walk.timers(utc("2030-03-25T17:30:00"))
    item = walk.step(case, "chase_minutes", "vpp_panel")
    assert item["required_role"] == "manager"
    walk.complete(case, "chase_minutes", "vpp_panel", {"minutes_chase_notes": "Sent today"}, role="manager")
    walk.complete(case, "circulate_minutes", "vpp_panel", {"minutes_sent_on": "2030-03-26"})
    report(walk, case, "idva", "done", "Fed back")
    walk.timers(utc("2030-04-17T09:00:00"))
    # every action is complete: G2 closes the case even when the review chose to carry forward
    walk.complete(case, "review_actions", "vpp_panel", {"actions_decision": "carry_forward", "outstanding_actions": True})
    assert walk.status(case, "marac") == "completed"


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
