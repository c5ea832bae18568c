"""Holding the panels' meetings in the walk-throughs of the shipped diagrams: the panel's coordinator schedules a
meeting, signs the register, minutes a case, agrees actions and records the outcome (which completes the
process's meeting step); an action's owner reports on it through its own step (bpmn/panel_action.bpmn).

The walk-through harness (tests/bpmn/conftest.py) has one panel organisation, vpp_panel, providing the
vulnerable persons panel, MARAC and the community trigger appeal; the council (mansfield) holds ASB case
review panels (the meeting type's service is community_trigger)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from casework import meetings
from models import User, WorkItem, db
from models.meetings import AgendaItem, Meeting, MeetingAction
from workflows import panels

PANEL = "vpp_panel"
HOLDER = {"marac": PANEL, "vulnerable_persons_panel": PANEL, "asb_case_review": "mansfield"}


def user(org: str, role: str = "practitioner") -> User:
    return db.session.scalar(select(User).where(User.email == f"{role}@{org.replace('_', '-')}.example.org"))


def schedule(type_code: str, on: str, invite: tuple[str, ...] = (), at: str = "10:00",
             holder: str | None = None) -> Meeting:
    """The panel schedules a meeting of the type on that day (partnership time)."""
    coordinator = user(holder or HOLDER[type_code])
    meeting = meetings.schedule(coordinator, type_code, meetings.local_start(on, at), chair="Chair Person",
                                place="Room 1", invite=list(invite))
    db.session.commit()
    return meeting


def entry(meeting: Meeting, case_id: int) -> AgendaItem:
    """The case's entry on the meeting's agenda."""
    db.session.refresh(meeting)
    found = [i for i in meeting.items if i.case_id == case_id]
    assert len(found) == 1, [(i.case_id, i.source) for i in meeting.items]
    return found[0]


def hear(meeting: Meeting, case_id: int, answers: dict[str, Any] | None = None,
         actions: tuple[tuple[str, str, str], ...] = (), outcome: str = "Heard", minutes: str = "Discussed.",
         holder: str | None = None) -> AgendaItem:
    """The coordinator (present, confidentiality accepted) minutes the case, agrees the actions (owner code, text,
    due date) and records the outcome with the meeting step's answers."""
    coordinator = user(holder or meeting.organisation.code)
    if meetings.attendee(meeting, coordinator) is None:
        meetings.attend(coordinator, meeting)
    item = entry(meeting, case_id)
    meetings.write_minutes(coordinator, item, minutes)
    for owner, text, due_on in actions:
        panels.add_action(coordinator, item, owner, text, date.fromisoformat(due_on))
    db.session.commit()
    panels.record_outcome(coordinator, item, answers or {}, outcome)
    db.session.commit()
    return item


def action(case_id: int, owner: str, text: str | None = None) -> MeetingAction:
    db.session.expire_all()
    rows = [a for a in db.session.scalars(select(MeetingAction).where(MeetingAction.case_id == case_id))
            if a.owner.code == owner and (text is None or a.text == text)]
    assert len(rows) == 1, [(a.owner.code, a.text) for a in rows]
    return rows[0]


def report(walk, case_id: int, owner: str, state: str, update: str = "Reported", reason: str | None = None,
           text: str | None = None) -> None:
    """The owner reports on its action through its step (report_action in panel_action)."""
    wanted = action(case_id, owner, text)
    steps = [t for t in walk.ready(case_id, owner) if t["bpmn_id"] == "report_action"
             and db.session.get(WorkItem, t["id"]).instance_id == wanted.instance_id]
    assert len(steps) == 1, [(t["bpmn_id"], t["organisation"]) for t in walk.ready(case_id, owner)]
    assert steps[0]["organisation"] == owner, (steps[0]["organisation"], steps[0]["unassigned_reason"])
    data = {"action_state": state, "action_update": update}
    if reason:
        data["not_achievable_reason"] = reason
    response = walk.post(f"/tasks/{steps[0]['id']}/complete", {"data": data}, org=owner)
    assert response.status_code == 200, response.json


def not_from_my_work(walk, case_id: int, bpmn_id: str, org: str, data: dict | None = None) -> None:
    """A meeting step is refused from My work: only the meeting completes it."""
    step = walk.step(case_id, bpmn_id, org)
    answer = walk.post(f"/tasks/{step['id']}/complete", {"data": data or {}}, org=org)
    assert answer.status_code == 409 and "completed at the meeting" in answer.json["error"], answer.json
