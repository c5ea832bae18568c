"""Panels and meetings: schedule a meeting of a type, invite organisations, keep the attendance register and
confidentiality acceptances, build the agenda (meeting steps of processes, cases listed by hand, cases with open
actions carried forward), minutes and actions per case. Completing a process's meeting step and starting each
action's step live in workflows/panels.py; this module never runs processes. Services flush, never commit."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

import access
from casework import calendar, validate
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import Case, ItemStatus, Organisation, ServiceProvision, User, WorkItem, audit, db, utcnow
from models.meetings import AgendaItem, Meeting, MeetingAction, MeetingAttendee, MeetingInvite, MeetingType

DEFAULT_TYPES = Path(__file__).resolve().parent / "data" / "meeting_types.json"
STATES = {"open": "Open", "in_progress": "In progress", "done": "Done", "not_achievable": "Not achievable"}
OPEN_STATES = ("open", "in_progress")
LAST = aliased(Meeting, name="last_meeting")   # an action's last meeting (see _open_from)
TEXT_MAX = 4000
MINUTES_MAX = 20000


def ensure_types() -> int:
    """Add the default meeting types that are missing (leads' changes to existing ones are kept)."""
    have = set(db.session.scalars(select(MeetingType.code)))
    added = 0
    for row in json.loads(DEFAULT_TYPES.read_text(encoding="utf-8")):
        if row["code"] not in have:
            db.session.add(MeetingType(code=row["code"], name=row["name"], service_code=row["service_code"],
                                       confidentiality_statement=row["confidentiality_statement"], active=True))
            added += 1
    db.session.flush()
    return added


def types_for(user: User) -> list[MeetingType]:
    """The active meeting types the user's organisation may hold (it provides the type's service)."""
    return list(db.session.scalars(select(MeetingType).where(
        MeetingType.active.is_(True),
        exists().where(ServiceProvision.service_code == MeetingType.service_code,
                       ServiceProvision.organisation_id == user.organisation_id)).order_by(MeetingType.name)))


def _type(code: object) -> MeetingType:
    found = db.session.scalar(select(MeetingType).where(MeetingType.code == str(code or "").strip(),
                                                        MeetingType.active.is_(True)))
    if found is None:
        raise InvalidInput({"meeting_type": f"{str(code)[:40]!r} is not an active meeting type"})
    return found


def local_start(day: object, at: object) -> datetime:
    """A meeting's start typed in the partnership's time zone (date and hh:mm), as UTC."""
    when = validate.date_value(day, "date")
    try:
        hour, minute = (int(p) for p in str(at or "").strip().split(":")[:2])
        clock = time(hour, minute)
    except (ValueError, TypeError):
        raise InvalidInput({"time": "give the start time as hh:mm, for example 09:30"}) from None
    zone = calendar.load().zone
    return datetime.combine(when, clock, tzinfo=zone).astimezone(timezone.utc)


def schedule(user: User, type_code: object, starts_at: datetime, *, chair: object, place: object = None,
             link: object = None, invite: list[str] | tuple[str, ...] = ()) -> Meeting:
    """Schedule a meeting held by the user's organisation; list the meeting steps waiting for one and the
    cases whose actions are still open.

    :raise NotPermitted: the user's organisation does not provide the meeting type's service
    :raise InvalidInput: naming the field (a meeting in the past, no place or link, no chair, unknown organisation)
    """
    kind = _type(type_code)
    if not access.can_act_for(user, user.organisation) or kind not in types_for(user):
        raise NotPermitted(f"Your organisation does not hold {kind.name} meetings.")
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=timezone.utc)
    if starts_at <= utcnow():
        raise InvalidInput({"date": "the meeting must start in the future"})
    place_text = validate.text(place if isinstance(place, str) else None, "place", 300, required=False)
    link_text = validate.text(link if isinstance(link, str) else None, "link", 500, required=False)
    if not place_text and not link_text:
        raise InvalidInput({"place": "give a place or a link to join"})
    if link_text and not link_text.lower().startswith("https://"):
        raise InvalidInput({"link": "a joining link starts with https://"})
    chair_text = validate.text(chair if isinstance(chair, str) else None, "chair", 200)
    orgs = _organisations(invite, exclude=user.organisation_id)
    meeting = Meeting(meeting_type=kind, organisation_id=user.organisation_id, starts_at=starts_at,
                      place=place_text, link=link_text, chair=chair_text, created_by_id=user.id)
    meeting.invites = [MeetingInvite(organisation_id=org.id) for org in orgs]
    db.session.add(meeting)
    db.session.flush()
    audit.record("schedule_meeting", user=user, object_type="meeting", object_id=meeting.id,
                 detail={"type": kind.code, "starts_at": starts_at.isoformat(), "invited": [o.code for o in orgs]})
    _list_waiting_steps(meeting)
    _carry_forward(meeting)
    return meeting


def _organisations(codes: list[str] | tuple[str, ...], exclude: int) -> list[Organisation]:
    wanted = [str(c).strip() for c in codes if str(c).strip()]
    found = {o.code: o for o in db.session.scalars(select(Organisation).where(Organisation.code.in_(wanted),
                                                                              Organisation.active.is_(True)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InvalidInput({"invite": f"not active organisations: {', '.join(missing[:5])}"})
    return [found[c] for c in dict.fromkeys(wanted) if found[c].id != exclude]


def visible(user: User) -> Select:
    """Meetings the user sees: those their organisation holds or is invited to."""
    return access.visible(user, Meeting)


def get(user: User, meeting_id: object) -> Meeting:
    """A meeting the user may see.

    :raise NotFound: otherwise
    """
    ident = validate.whole_number(meeting_id)
    found = db.session.scalar(visible(user).where(Meeting.id == ident)) if ident else None
    if found is None:
        raise NotFound("no such meeting")
    return found


def upcoming(user: User, limit: int = 50) -> list[Meeting]:
    """The next meetings the user sees, soonest first."""
    return list(db.session.scalars(visible(user).where(Meeting.starts_at >= _today_start())
                                   .order_by(Meeting.starts_at).limit(limit)))


def past(user: User, limit: int = 20) -> list[Meeting]:
    """The latest past meetings the user sees."""
    return list(db.session.scalars(visible(user).where(Meeting.starts_at < _today_start())
                                   .order_by(Meeting.starts_at.desc()).limit(limit)))


def _today_start() -> datetime:
    zone = calendar.load().zone
    return datetime.combine(datetime.now(zone).date(), time(0), tzinfo=zone).astimezone(timezone.utc)


def is_coordinator(user: User, meeting: Meeting) -> bool:
    """Someone of the panel that holds the meeting."""
    return access.can_act_for(user, meeting.organisation)


def _require_coordinator(user: User, meeting: Meeting) -> None:
    if not is_coordinator(user, meeting):
        raise NotPermitted(f"Only {meeting.organisation.name} runs this meeting.")


def _require_open(meeting: Meeting) -> None:
    if meeting.closed_at is not None:
        raise InvalidInput({"__all__": "the meeting is closed: its minutes are final"})


def invite(user: User, meeting: Meeting, org_code: object) -> MeetingInvite:
    """Invite one more organisation."""
    _require_coordinator(user, meeting)
    _require_open(meeting)
    org = _organisations([str(org_code or "")], exclude=meeting.organisation_id)
    if not org:
        raise InvalidInput({"invite": "the panel itself is always at its meeting"})
    if any(i.organisation_id == org[0].id for i in meeting.invites):
        raise InvalidInput({"invite": f"{org[0].name} is already invited"})
    row = MeetingInvite(organisation_id=org[0].id)
    meeting.invites.append(row)
    db.session.flush()
    audit.record("invite_to_meeting", user=user, object_type="meeting", object_id=meeting.id,
                 detail={"organisation": org[0].code})
    return row


def invited_ids(meeting: Meeting) -> set[int]:
    """The organisations at the meeting: the panel and those invited."""
    return {meeting.organisation_id, *(i.organisation_id for i in meeting.invites)}


def attendee(meeting: Meeting, user: User) -> MeetingAttendee | None:
    """The user's line in the attendance register."""
    return next((a for a in meeting.attendees if a.user_id == user.id), None)


def attend(user: User, meeting: Meeting) -> MeetingAttendee:
    """The user joins the register for their organisation and accepts the confidentiality statement."""
    _require_open(meeting)
    if user.organisation_id not in invited_ids(meeting):
        raise NotPermitted("Your organisation is not invited to this meeting.")
    row = attendee(meeting, user)
    if row is None:
        row = MeetingAttendee(user_id=user.id, organisation_id=user.organisation_id)
        meeting.attendees.append(row)
    row.present, row.accepted_at = True, row.accepted_at or utcnow()
    db.session.flush()
    audit.record("attend_meeting", user=user, object_type="meeting", object_id=meeting.id,
                 detail={"confidentiality_accepted": row.accepted_at.isoformat()})
    return row


def mark_absent(user: User, meeting: Meeting, attendee_id: object) -> MeetingAttendee:
    """The coordinator corrects the register: someone who signed in is not present."""
    _require_coordinator(user, meeting)
    _require_open(meeting)
    row = next((a for a in meeting.attendees if a.id == validate.whole_number(attendee_id)), None)
    if row is None:
        raise InvalidInput({"attendee": "not on this meeting's register"})
    row.present = False
    db.session.flush()
    audit.record("mark_absent", user=user, object_type="meeting", object_id=meeting.id,
                 detail={"attendee": row.user_id})
    return row


def _require_minute_taker(user: User, meeting: Meeting) -> None:
    """Minutes, outcomes and actions come from the panel's coordinator, present and bound by confidentiality."""
    _require_coordinator(user, meeting)
    _require_open(meeting)
    row = attendee(meeting, user)
    if row is None or not row.present or row.accepted_at is None:
        raise InvalidInput({"__all__": "sign the attendance register and accept the confidentiality statement "
                                       "before writing minutes"})


def _next_position(meeting: Meeting) -> int:
    return 1 + max((i.position for i in meeting.items), default=0)


def _listed(meeting: Meeting, case_id: int) -> AgendaItem | None:
    return next((i for i in meeting.items if i.case_id == case_id), None)


def list_case(user: User, meeting: Meeting, reference: object, reason: object) -> AgendaItem:
    """The coordinator lists a case by hand (its reference) with the reason.

    :raise InvalidInput: unknown or invisible case, listed already, no reason, meeting closed
    """
    _require_coordinator(user, meeting)
    _require_open(meeting)
    ref = validate.text(reference if isinstance(reference, str) else None, "reference", 64)
    why = validate.text(reason if isinstance(reason, str) else None, "reason", TEXT_MAX)
    case = db.session.scalar(access.visible(user, Case).where(Case.reference == ref))
    if case is None:
        raise InvalidInput({"reference": f"no case {ref!r} that {meeting.organisation.name} takes part in"})
    if _listed(meeting, case.id) is not None:
        raise InvalidInput({"reference": f"{case.reference} is already on this meeting's agenda"})
    item = AgendaItem(case_id=case.id, position=_next_position(meeting), source="hand", reason=why,
                      listed_by_id=user.id)
    meeting.items.append(item)
    db.session.flush()
    audit.record("list_case", user=user, object_type="meeting", object_id=meeting.id, case_id=case.id,
                 detail={"source": "hand"})
    return item


def next_meeting(type_code: str, organisation_id: int, after: datetime | None = None) -> Meeting | None:
    """The panel's next meeting of that type that is still to start (or that starts after `after`)."""
    return db.session.scalar(select(Meeting).join(MeetingType).where(
        MeetingType.code == type_code, Meeting.organisation_id == organisation_id, Meeting.closed_at.is_(None),
        Meeting.starts_at > max(utcnow(), after or utcnow())).order_by(Meeting.starts_at).limit(1))


def next_meeting_for_case(type_code: str, organisation_id: int, case_id: int,
                          after: datetime | None = None) -> Meeting | None:
    """The panel's next meeting still to start that has not yet heard this case (a meeting that recorded the
    case's outcome early is passed over)."""
    heard = exists().where(AgendaItem.meeting_id == Meeting.id, AgendaItem.case_id == case_id,
                           AgendaItem.outcome_at.is_not(None))
    return db.session.scalar(select(Meeting).join(MeetingType).where(
        MeetingType.code == type_code, Meeting.organisation_id == organisation_id, Meeting.closed_at.is_(None),
        Meeting.starts_at > max(utcnow(), after or utcnow()), ~heard).order_by(Meeting.starts_at).limit(1))


def list_waiting(item: WorkItem) -> AgendaItem | None:
    """A meeting step that became ready goes on the next meeting of its type held by the organisation it is
    routed to (or joins that case's entry there); without such a meeting it waits to be listed."""
    if item.organisation_id is None or not item.meeting_type:
        return None
    db.session.flush()
    meeting = next_meeting_for_case(item.meeting_type, item.organisation_id, item.case_id)
    return _attach(meeting, item) if meeting is not None else None


def _attach(meeting: Meeting, item: WorkItem) -> AgendaItem:
    info = json.loads(item.meeting_info or "{}")
    entry = _listed(meeting, item.case_id)
    if entry is None:
        entry = AgendaItem(case_id=item.case_id, position=_next_position(meeting), source="process",
                           reason=str(info.get("reason") or item.title)[:TEXT_MAX], work_item_id=item.id)
        meeting.items.append(entry)
    elif entry.work_item_id is None and entry.outcome_at is None:
        entry.work_item_id = item.id
        entry.reason = f"{entry.reason}\n{info.get('reason') or item.title}"[:TEXT_MAX]
    else:
        return entry
    db.session.flush()
    audit.record("list_case", object_type="meeting", object_id=meeting.id, case_id=item.case_id,
                 detail={"source": "process", "work_item": item.id})
    return entry


def listing_of(item: WorkItem) -> AgendaItem | None:
    """The agenda entry a meeting step is listed on, if any (the newest)."""
    return db.session.scalar(select(AgendaItem).where(AgendaItem.work_item_id == item.id)
                             .order_by(AgendaItem.id.desc()).limit(1))


def waiting_steps(meeting: Meeting) -> list[WorkItem]:
    """Ready meeting steps for this panel and type that no meeting still to hold has listed."""
    listed_ahead = exists().where(AgendaItem.work_item_id == WorkItem.id, AgendaItem.meeting_id == Meeting.id,
                                  Meeting.closed_at.is_(None))
    return list(db.session.scalars(select(WorkItem).where(
        WorkItem.meeting_type == meeting.meeting_type.code, WorkItem.organisation_id == meeting.organisation_id,
        WorkItem.status == ItemStatus.READY, ~listed_ahead).order_by(WorkItem.id)))


def _list_waiting_steps(meeting: Meeting) -> None:
    for item in waiting_steps(meeting):
        _attach(meeting, item)


def _open_from(meeting: Meeting, *conditions: Any) -> list[MeetingAction]:
    """Open actions of this panel and meeting type, by a condition on their last meeting (LAST: where they were
    agreed, or the meeting they were last carried to), in one query."""
    origin = aliased(AgendaItem)
    return list(db.session.scalars(
        select(MeetingAction).join(origin, origin.id == MeetingAction.agenda_item_id)
        .join(LAST, LAST.id == func.coalesce(MeetingAction.carried_to_meeting_id, origin.meeting_id))
        .where(MeetingAction.panel_organisation_id == meeting.organisation_id,
               MeetingAction.meeting_type_id == meeting.meeting_type_id, MeetingAction.state.in_(OPEN_STATES),
               *conditions)
        .order_by(MeetingAction.case_id, MeetingAction.id)))


def _by_case(actions: list[MeetingAction]) -> dict[int, list[MeetingAction]]:
    grouped: dict[int, list[MeetingAction]] = {}
    for action in actions:
        grouped.setdefault(action.case_id, []).append(action)
    return grouped


def _carry(target: Meeting, case_id: int, actions: list[MeetingAction]) -> None:
    """Put the case on the target meeting with its open actions (each carried once more)."""
    if _listed(target, case_id) is None:
        target.items.append(AgendaItem(case_id=case_id, position=_next_position(target), source="carried",
                                       reason=f"{len(actions)} action(s) still open, carried forward"))
    for action in actions:
        action.carried += 1
        action.carried_to_meeting_id = target.id
    db.session.flush()
    audit.record("carry_forward", object_type="meeting", object_id=target.id, case_id=case_id,
                 detail={"actions": [a.id for a in actions]})


def _carry_forward(meeting: Meeting) -> None:
    """A new meeting takes the open actions whose last meeting heard the case before it, with their cases."""
    heard = exists().where(AgendaItem.meeting_id == LAST.id, AgendaItem.case_id == MeetingAction.case_id,
                           AgendaItem.outcome_at.is_not(None))
    for case_id, actions in _by_case(_open_from(meeting, LAST.id != meeting.id,
                                                LAST.starts_at < meeting.starts_at, heard)).items():
        _carry(meeting, case_id, actions)


def carry_after_outcome(item: AgendaItem) -> Meeting | None:
    """Once a meeting has heard a case, its actions still open go to the panel's next meeting if one is
    scheduled already (else to the next one scheduled)."""
    meeting = item.meeting
    actions = _open_from(meeting, LAST.id == meeting.id, MeetingAction.case_id == item.case_id)
    if not actions:
        return None
    target = next_meeting_for_case(meeting.meeting_type.code, meeting.organisation_id, item.case_id,
                                   after=meeting.starts_at)
    if target is not None:
        _carry(target, item.case_id, actions)
    return target


def item_of(meeting: Meeting, item_id: object) -> AgendaItem:
    """An agenda entry of this meeting."""
    found = next((i for i in meeting.items if i.id == validate.whole_number(item_id)), None)
    if found is None:
        raise NotFound("no such agenda item")
    return found


def digest(text: str | None) -> str:
    """A short fingerprint of the minutes as shown, so a save can tell they changed meanwhile."""
    return hashlib.sha256((text or "").encode()).hexdigest()[:16]


def write_minutes(user: User, item: AgendaItem, minutes: object, was: str | None = None) -> AgendaItem:
    """The minutes of one case (the coordinator, signed in and present). `was` is the fingerprint of the
    minutes the writer started from: if someone saved others meanwhile, nothing is overwritten."""
    _require_minute_taker(user, item.meeting)
    if was is not None and was != digest(item.minutes):
        raise Conflict("Someone else saved minutes for this case while you were writing: nothing was overwritten. "
                       "Copy your text, reload the page and add it to theirs.")
    item.minutes = validate.text(minutes if isinstance(minutes, str) else None, "minutes", MINUTES_MAX)
    db.session.flush()
    audit.record("write_minutes", user=user, object_type="meeting", object_id=item.meeting_id,
                 case_id=item.case_id)
    return item


def record_outcome(user: User, item: AgendaItem, outcome: str) -> AgendaItem:
    """The case's outcome at the meeting (its process step, if any, is completed by workflows/panels.py)."""
    _require_minute_taker(user, item.meeting)
    if item.outcome_at is not None:
        raise InvalidInput({"__all__": "the outcome of this case is recorded already"})
    if not item.minutes:
        raise InvalidInput({"minutes": "write the minutes of this case before recording its outcome"})
    text_value = validate.text(outcome, "outcome", TEXT_MAX)
    # Only if nobody recorded it meanwhile: two coordinators at once must not overwrite each other.
    done = db.session.execute(update(AgendaItem).where(AgendaItem.id == item.id, AgendaItem.outcome_at.is_(None))
                              .values(outcome=text_value, outcome_at=utcnow(), outcome_by_id=user.id)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("Someone recorded this case's outcome a moment ago; nothing was changed.")
    db.session.refresh(item)
    audit.record("record_outcome", user=user, object_type="meeting", object_id=item.meeting_id,
                 case_id=item.case_id)
    return item


def add_action(user: User, item: AgendaItem, owner: object, text: object, due_on: object) -> MeetingAction:
    """An action agreed for the case, owned by one organisation invited to (or holding) the meeting.

    :raise InvalidInput: no owner, an owner not at the meeting, no text, a due date in the past
    """
    meeting = item.meeting
    _require_minute_taker(user, meeting)
    code = str(owner or "").strip()
    if not code:
        raise InvalidInput({"owner": "choose the organisation that owns the action"})
    org = db.session.scalar(select(Organisation).where(Organisation.code == code, Organisation.active.is_(True)))
    if org is None or org.id not in invited_ids(meeting):
        raise InvalidInput({"owner": f"{code[:40]!r} is not an organisation at this meeting"})
    body = validate.text(text if isinstance(text, str) else None, "text", TEXT_MAX)
    due = validate.date_value(due_on, "due_on")
    if due < date.today():
        raise InvalidInput({"due_on": "the due date is in the past"})
    action = MeetingAction(agenda_item=item, case_id=item.case_id, meeting_type_id=meeting.meeting_type_id,
                           panel_organisation_id=meeting.organisation_id, owner_organisation_id=org.id, text=body,
                           due_on=due, state="open", created_by_id=user.id)
    db.session.add(action)
    db.session.flush()
    audit.record("add_action", user=user, object_type="meeting_action", object_id=action.id, case_id=item.case_id,
                 detail={"owner": org.code, "due_on": due.isoformat(), "meeting": meeting.id})
    return action


def _dealt_with(meeting: Meeting, case_ids: list[int]) -> Select:
    """The actions of these cases at this panel that the meeting deals with: agreed at it, or from earlier
    meetings and still open (or reported on since it was scheduled)."""
    return select(MeetingAction).join(AgendaItem).join(Meeting).where(
        MeetingAction.case_id.in_(case_ids), MeetingAction.panel_organisation_id == meeting.organisation_id,
        MeetingAction.meeting_type_id == meeting.meeting_type_id,
        or_(AgendaItem.meeting_id == meeting.id,
            and_(Meeting.starts_at < meeting.starts_at,
                 or_(MeetingAction.state.in_(OPEN_STATES), MeetingAction.updated_at >= meeting.created_at)))
    ).order_by(MeetingAction.id)


def actions_for(item: AgendaItem) -> list[MeetingAction]:
    """The case's actions at this panel that this meeting deals with: agreed here, or open before it."""
    return list(db.session.scalars(_dealt_with(item.meeting, [item.case_id])))


def actions_of_meeting(meeting: Meeting) -> dict[int, list[MeetingAction]]:
    """Each agenda entry's actions, in one query for the whole agenda."""
    entry = {item.case_id: item.id for item in meeting.items}
    found: dict[int, list[MeetingAction]] = {item_id: [] for item_id in entry.values()}
    if entry:
        for action in db.session.scalars(_dealt_with(meeting, list(entry))):
            found[entry[action.case_id]].append(action)
    return found


def update_action(action_id: object, state: object, update: object = None, reason: object = None,
                  user: User | None = None) -> MeetingAction:
    """The owner reports on an action (through its step): in progress, done, or not achievable with a reason."""
    action = db.session.get(MeetingAction, validate.whole_number(action_id) or 0)
    if action is None:
        raise NotFound("no such meeting action")
    new_state = validate.choice(str(state or ""), "state", set(STATES) - {"open"})
    why = validate.text(reason if isinstance(reason, str) else None, "reason", TEXT_MAX, required=False)
    if new_state == "not_achievable" and not why:
        raise InvalidInput({"reason": "say why the action is not achievable"})
    action.state, action.reason = new_state, why if new_state == "not_achievable" else None
    action.update = validate.text(update if isinstance(update, str) else None, "update", TEXT_MAX, required=False)
    action.updated_at = utcnow()
    db.session.flush()
    audit.record("update_action", user=user, object_type="meeting_action", object_id=action.id,
                 case_id=action.case_id, detail={"state": new_state})
    return action


def summary(case_id: int, type_code: str) -> dict[str, int]:
    """This case's actions at meetings of the type: how many open, done, not achievable, and the most
    carry-forwards of an open one."""
    rows = db.session.execute(select(MeetingAction.state, MeetingAction.carried).join(
        MeetingType, MeetingType.id == MeetingAction.meeting_type_id).where(
        MeetingAction.case_id == case_id, MeetingType.code == type_code)).all()
    counts = Counter("open" if state in OPEN_STATES else state for state, _ in rows)
    carried = max((c for state, c in rows if state in OPEN_STATES), default=0)
    return {"open": counts["open"], "done": counts["done"], "not_achievable": counts["not_achievable"],
            "carried": carried}


def open_count(item: AgendaItem) -> int:
    """The case's actions at this panel still open or in progress."""
    meeting = item.meeting
    return db.session.scalar(select(func.count(MeetingAction.id)).where(
        MeetingAction.case_id == item.case_id, MeetingAction.panel_organisation_id == meeting.organisation_id,
        MeetingAction.meeting_type_id == meeting.meeting_type_id, MeetingAction.state.in_(OPEN_STATES))) or 0


def sees_case(user: User, item: AgendaItem) -> bool:
    """Attendees' organisations see the agenda and minutes of the cases discussed; a restricted case only
    those named on it."""
    case = item.case
    if not case.restricted:
        return True
    return access.is_visible(user, case)


def close(user: User, meeting: Meeting) -> Meeting:
    """The coordinator closes the meeting when every case has its outcome: the minutes are final."""
    _require_coordinator(user, meeting)
    _require_open(meeting)
    missing = [i.case.reference for i in meeting.items if i.outcome_at is None]
    if missing:
        raise InvalidInput({"__all__": f"record the outcome of {', '.join(missing[:10])} first"})
    meeting.closed_at = utcnow()
    db.session.flush()
    audit.record("close_meeting", user=user, object_type="meeting", object_id=meeting.id)
    return meeting


def research(item: AgendaItem) -> list[WorkItem]:
    """The completed steps the meeting step names for the pack (`meeting_research`), in the same process."""
    if item.work_item_id is None:
        return []
    step = db.session.get(WorkItem, item.work_item_id)
    names = json.loads(step.meeting_info or "{}").get("research") or []
    if not names:
        return []
    return list(db.session.scalars(select(WorkItem).where(
        WorkItem.instance_id == step.instance_id, WorkItem.bpmn_id.in_(names),
        WorkItem.status == ItemStatus.COMPLETED).order_by(WorkItem.completed_at, WorkItem.id)))


def organisations_at(meeting: Meeting) -> list[Organisation]:
    """The panel and the invited organisations, by name."""
    ids = invited_ids(meeting)
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)))


def as_data(item: AgendaItem, actions: list[MeetingAction]) -> dict[str, Any]:
    """What a completed meeting step adds to its process data."""
    meeting = item.meeting
    following = next_meeting(meeting.meeting_type.code, meeting.organisation_id, meeting.starts_at)
    zone = calendar.load().zone
    return {"meeting_id": meeting.id, "meeting_held_on": meeting.starts_at.astimezone(zone).date().isoformat(),
            "next_meeting_on": following.starts_at.astimezone(zone).date().isoformat() if following else "",
            "meeting_actions": [{"id": a.id, "owner": a.owner.code, "text": a.text, "due_on": a.due_on.isoformat()}
                                for a in actions if a.agenda_item_id == item.id],
            "open_actions": open_count(item)}
