"""Where meetings meet processes: recording a case's outcome completes the process step that listed it
(with what the meeting decided), and each action agreed becomes a step for its owner through the shipped,
editable bpmn/panel_action.bpmn. The meeting records themselves are casework/meetings.py."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from casework import meetings
from casework.errors import InvalidInput, NotFound
from models import ItemStatus, User, WorkItem, db
from models.meetings import AgendaItem, MeetingAction
from workflows import processes, tasks

ACTION_KEY = "panel_action"
BPMN_FILE = Path(__file__).resolve().parent.parent / "bpmn" / f"{ACTION_KEY}.bpmn"  # shipped; leads may change it


def steps_of(items: list[AgendaItem]) -> dict[int, WorkItem | None]:
    """Each agenda entry's process step still waiting for its outcome (None: none, or no longer open), in one
    query."""
    wanted = {item.work_item_id: item.id for item in items if item.work_item_id is not None}
    found: dict[int, WorkItem | None] = {item.id: None for item in items}
    if wanted:
        for step in db.session.scalars(select(WorkItem).where(WorkItem.id.in_(wanted),
                                                              WorkItem.status == ItemStatus.READY)):
            found[wanted[step.id]] = step
    return found


def step_of(item: AgendaItem) -> WorkItem | None:
    """The process step waiting for this case's outcome, while it is still open."""
    return steps_of([item])[item.id]


def record_outcome(user: User, item: AgendaItem, answers: dict[str, Any] | None = None,
                   outcome: str | None = None) -> AgendaItem:
    """Record the case's outcome: the waiting step (if any) is completed with the answers to its own form plus
    what the meeting decided (meeting_id, meeting_held_on, next_meeting_on, meeting_actions, open_actions), and
    its process continues.

    :raise InvalidInput: not the minute-taker, no minutes, recorded already, no outcome
    :raise InvalidData: the step's answers fail its form (field messages); nothing changes
    """
    step = step_of(item)
    summary = (outcome or "").strip() or (step.title if step is not None else "")
    if not summary:
        raise InvalidInput({"outcome": "say what the meeting decided"})
    meetings.record_outcome(user, item, summary)
    if step is not None:
        data = meetings.as_data(item, meetings.actions_for(item))
        tasks.complete(user, step, answers or {}, at_meeting=data)
    meetings.carry_after_outcome(item)
    return item


def add_action(user: User, item: AgendaItem, owner: object, text: object, due_on: object) -> MeetingAction:
    """An action agreed at the meeting, with its step in the owner's work list.

    :raise InvalidInput: as casework.meetings.add_action
    :raise NotFound: the panel_action process is not deployed (nothing is recorded)
    """
    if processes.latest(ACTION_KEY) is None:
        raise NotFound(f"the {ACTION_KEY} process is not deployed: a working-group lead deploys "
                       f"bpmn/{ACTION_KEY}.bpmn first")
    action = meetings.add_action(user, item, owner, text, due_on)
    meeting = item.meeting
    # Started by nobody: the step belongs to the owner, whatever the coordinator may do on the case.
    instance = tasks.start(None, item.case, ACTION_KEY, {
        "action_id": action.id, "owner_code": action.owner.code, "owner_group": f"organisation:{action.owner.code}",
        "action_text": action.text, "meeting_label": meeting.title, "due_on": action.due_on.isoformat()})
    action.instance_id = instance.id
    db.session.flush()
    return action


def action_step(action: MeetingAction) -> WorkItem | None:
    """The owner's open step for the action."""
    if action.instance_id is None:
        return None
    return db.session.scalar(select(WorkItem).where(WorkItem.instance_id == action.instance_id,
                                                       WorkItem.status == ItemStatus.READY).limit(1))

