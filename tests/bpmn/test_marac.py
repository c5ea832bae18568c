"""Walk-through of bpmn/marac.bpmn (high-risk domestic abuse: risk checklist -> MARAC referral -> screening ->
IDVA contact and agency research -> meeting -> agency actions -> review at the next meeting).

All dates are in 2030 so that no deadline falls due while a step is being completed in "real" time; the
deadlines are fired deliberately with walk.timers(at).
"""
from __future__ import annotations

import pytest

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
            "victim_perception": "Afraid he will find her new address"}
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


def refer(walk, case, yes=16, **extra) -> None:
    walk.complete(case, "identify_risk", "notts_police", checklist(yes, **extra))
    walk.complete(case, "refer_to_marac", "notts_police", REFERRAL)


def list_case(walk, case) -> None:
    walk.complete(case, "screen_referral", "vpp_panel", {"screen_outcome": "accept", "meeting_date": MEETING_DATE,
                                                         "emergency_marac": False, "marac_case_number": "M-2030-014"})


def research(walk, case, contact=True) -> None:
    if contact:
        walk.complete(case, "contact_victim", "victim_care",
                      {"first_contact_on": "2030-03-05", "idva_outcome": "support_plan",
                       "victim_views": "Wants him kept away from the children's school", "safety_plan_agreed": True})
    for code, org in (("police", "notts_police"), ("health", "health"), ("housing", "city_homes"),
                      ("probation", "probation")):
        walk.complete(case, f"research_{code}", org, {f"{code}_holds_info": "yes",
                                                      f"{code}_research": f"{code}: fact - prior incidents"})


def meeting(walk, case, actions=("idva", "police", "health", "housing", "probation")) -> None:
    data = {"meeting_held_on": MEETING_DATE, "confidentiality_read": True,
            "attending_agencies": ["police", "victim_services", "health", "housing", "probation"],
            "risk_analysis": "High risk of serious harm; children present", "flag_and_tag": True,
            "linked_processes": ["child_protection"], "next_meeting_on": NEXT_MEETING,
            "idva_action": "Feed back to the victim and update the safety plan", "idva_action_due": "2030-03-22"}
    for code in actions:
        if code != "idva":
            data[f"{code}_action"] = f"{code} action"
            data[f"{code}_action_due"] = "2030-04-10"
    walk.complete(case, "hold_meeting", "vpp_panel", data)


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
    for code, org in ACTION_ORGS.items():
        status = "not_done" if code == "housing" else "done"
        walk.complete(case, f"update_{code}_action", org, {f"{code}_action_status": status,
                                                           f"{code}_action_update": "reported to coordinator"})
    walk.complete(case, "circulate_minutes", "vpp_panel", {"minutes_sent_on": "2030-03-22"})
    assert walk.status(case, "marac") == "running"
    assert "review_actions" not in walk.ready_ids(case)

    walk.timers(utc("2030-04-16T15:00:00"))  # before the day-before-the-meeting deadline
    assert "review_actions" not in walk.ready_ids(case)
    walk.timers(utc("2030-04-16T16:30:00"))
    walk.complete(case, "review_actions", "vpp_panel", {"outstanding_actions": False, "escalate_to_steering": False})
    assert walk.status(case, "marac") == "completed"
    actions = walk.facts(case, "panel_action")
    assert actions[f"marac-{MEETING_DATE}-housing"].status == "not_done"
    assert all(actions[f"marac-{MEETING_DATE}-{c}"].status == "done" for c in ACTION_ORGS if c != "housing")
    assert all(a.completed_at is not None for a in actions.values())


# ------------------------------------------------------------------ threshold gateway


@pytest.mark.parametrize("yes, extra, level", [
    (10, {}, "medium"),
    (3, {"incidents_12_months": 2, "police_risk_grade": "medium"}, "standard"),
])
def test_below_threshold_not_referred(walk, yes, extra, level):
    case = open_marac(walk)
    walk.complete(case, "identify_risk", "notts_police", checklist(yes, **extra))
    assert walk.ready_ids(case) == {"record_decision"}
    walk.complete(case, "record_decision", "notts_police",
                  {"not_referred_reasons": "Below threshold", "support_offered": "victim_services"})
    assert walk.status(case, "marac") == "completed"
    fact = walk.facts(case, "marac")["referral"]
    assert fact.status == "not_eligible" and fact.completed_at is not None
    assert fact.details == {"risk_score": yes, "repeat": False, "reason": "below_threshold"}
    assert risk_level(walk, case) == level


@pytest.mark.parametrize("yes, extra", [
    (14, {}),                                                     # visible high risk
    (5, {"professional_judgement": True, "judgement_reasons": "Recent strangulation"}),
    (2, {"incidents_12_months": 3}),                              # potential escalation
    (0, {"repeat_referral": True}),                               # repeat within 12 months
    (4, {"ric_tool": "police_dara", "police_risk_grade": "high"}),
])
def test_each_criterion_qualifies(walk, yes, extra):
    case = open_marac(walk)
    walk.complete(case, "identify_risk", "notts_police", checklist(yes, **extra))
    assert walk.ready_ids(case) == {"refer_to_marac"}
    walk.complete(case, "refer_to_marac", "notts_police", REFERRAL)
    assert walk.facts(case, "marac")["referral"].details["repeat"] is bool(extra.get("repeat_referral"))
    assert walk.step(case, "screen_referral", "vpp_panel")


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
    walk.complete(case, "update_idva_action", "victim_care", {"idva_action_status": "done",
                                                              "idva_action_update": "Fed back on 21 March"})
    walk.complete(case, "circulate_minutes", "vpp_panel", {"minutes_sent_on": "2030-03-21"})
    walk.timers(utc("2030-04-17T09:00:00"))
    # Housing has not reported by the next meeting: the review minutes it and escalates.
    walk.complete(case, "review_actions", "vpp_panel", {"outstanding_actions": True, "escalate_to_steering": True,
                                                        "review_notes": "Housing action carried forward twice"})
    item = walk.step(case, "escalate_steering", "vpp_panel")
    assert item["required_role"] == "manager"
    assert walk.post(f"/tasks/{item['id']}/complete", {"data": {"escalation_notes": "x"}},
                     org="vpp_panel").status_code == 403
    walk.complete(case, "escalate_steering", "vpp_panel", {"escalation_notes": "Raised with steering group"},
                  role="manager")
    assert walk.status(case, "marac") == "running"  # still waiting for Housing
    walk.complete(case, "update_housing_action", "city_homes", {"housing_action_status": "done",
                                                                "housing_action_update": "Sanctuary scheme fitted"})
    assert walk.status(case, "marac") == "completed"
    assert walk.facts(case, "panel_action")[f"marac-{MEETING_DATE}-housing"].status == "done"


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
    walk.complete(case, "update_idva_action", "victim_care", {"idva_action_status": "done",
                                                              "idva_action_update": "Fed back"})
    walk.timers(utc("2030-04-17T09:00:00"))
    walk.complete(case, "review_actions", "vpp_panel", {"outstanding_actions": False})
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
