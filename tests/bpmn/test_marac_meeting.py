"""One MARAC meeting, three cases from two processes (issue 16): two domestic abuse referrals (marac.bpmn) and a
multi-agency case plan the council refers to the MARAC (multi_agency_case.bpmn). The agenda is built from the
processes' meeting steps; attendees sign the register accepting the confidentiality statement; the coordinator
minutes each case, agrees actions that become steps for their owners and records the outcomes, and each process
continues; an action still open is carried to the next meeting."""
from __future__ import annotations

import pytest

from casework import meetings
from casework.errors import InvalidInput, NotPermitted
from tests.bpmn import meeting_walk as mw
from tests.bpmn import test_marac as marac
from tests.bpmn import test_multi_agency_case as plan_case

INVITED = (*marac.INVITED, "mansfield")


def test_a_marac_meeting_with_three_cases_from_two_processes(walk):
    walk.deploy("panel_action", "marac", "multi_agency_case")
    first = marac.open_marac(walk)
    marac.refer(walk, first)
    marac.list_case(walk, first)
    marac.research(walk, first)
    second = walk.open_case(partners=marac.PARTNERS, people=[
        {"role": "victim", "given_name": "Joanne", "family_name": "Price", "date_of_birth": "1991-07-02"}])
    walk.start(second, "marac")
    marac.refer(walk, second, yes=14)
    marac.list_case(walk, second)
    third = plan_case.start(walk, "mansfield", "council", case_type="troubled_families")
    walk.complete(third, "agree_plan", "mansfield", {**plan_case.plan(housing="Tenancy support."), "panel": "marac",
                                                      "panel_reason": "Domestic abuse behind the rent arrears."})

    meeting = mw.schedule("marac", marac.MEETING_DATE, invite=INVITED)
    agenda = {i.case_id: i for i in meeting.items}
    assert set(agenda) == {first, second, third} and {i.source for i in agenda.values()} == {"process"}
    assert agenda[third].reason == "Domestic abuse behind the rent arrears."
    assert [s.bpmn_id for s in meetings.research(agenda[first])][:1] == ["research_police"]

    # Attendance and confidentiality: nobody minutes before signing; only the panel minutes.
    coordinator, police = mw.user("vpp_panel"), mw.user("notts_police")
    with pytest.raises(InvalidInput, match="confidentiality"):
        meetings.write_minutes(coordinator, agenda[first], "Too early")
    meetings.attend(police, meeting)
    with pytest.raises(NotPermitted):
        meetings.write_minutes(police, agenda[first], "Not the minute-taker")

    mw.hear(meeting, first, marac.HEARING, minutes="Police and housing shared; risk rising.", actions=(
        ("victim_care", "Feed back to the victim", "2030-03-22"),
        ("city_homes", "Fit a sanctuary scheme", "2030-04-10")))
    mw.hear(meeting, second, marac.HEARING, minutes="Agencies shared; no actions needed beyond the IDVA's plan.")
    mw.hear(meeting, third, {"panel_outcome": "Refer the family for tenancy sustainment."},
            actions=(("health", "GP review of the children", "2030-04-01"),))
    register = {(a.organisation.code, a.present, a.accepted_at is not None) for a in meeting.attendees}
    assert register == {("vpp_panel", True, True), ("notts_police", True, True)}

    # The processes continue; the actions are steps in their owners' work.
    assert "review_actions" in walk.ready_ids(first)
    assert walk.facts(second, "marac")["referral"].status == "heard"
    assert "review_actions" not in walk.ready_ids(second)         # heard, no action open: nothing to review
    assert plan_case.facts(walk, third)["panel-1"].status == "discussed"
    assert walk.status(third, "multi_agency_case") == "running"
    for case, owner in ((first, "victim_care"), (first, "city_homes"), (third, "health")):
        assert any(t["bpmn_id"] == "report_action" for t in walk.ready(case, owner)), (case, owner)
    mw.report(walk, first, "victim_care", "done", "Fed back")
    mw.report(walk, first, "city_homes", "in_progress", "Survey booked")

    # The next meeting: the open actions are carried forward with their cases.
    following = mw.schedule("marac", marac.NEXT_MEETING, invite=INVITED)
    listed = {i.case_id: i for i in following.items}
    assert set(listed) == {first, third}
    assert mw.action(first, "city_homes").carried == 1 and mw.action(first, "victim_care").carried == 0
    assert mw.action(third, "health").carried == 1
    assert listed[third].source == "carried" and listed[first].work_item_id is not None   # the review step joins it
