"""Telling people: in-app notifications, each user's choice per kind (immediately, daily digest, off), and
e-mails queued in the outbox for the worker. Texts carry only what is safe in an inbox: the case reference,
the step's title, a due date and a link; never names, case titles, notes or answers."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import ColumnElement, Integer, and_, exists, func, insert, literal, or_, select, update
from sqlalchemy import case as sql_case

from casework import calendar, settings
from models import (Case, ItemStatus, Notification, NotificationPreference, Organisation, OutboxMessage, User,
                    UserRole, WorkItem, db, utcnow)
from models.base import UTCDateTime, skip_locked
from models.enums import Role
from models.notifications import KINDS, MODES

LABELS = {
    "new_step": "A new step for my organisation and role",
    "assigned_to_me": "A step assigned to me",
    "due_soon": "A step of mine is due soon",
    "overdue": "A step of mine is overdue",
    "escalated": "A step escalated to me",
    "request_answered": "My request to another agency was answered",
    "case_shared": "A case shared with my organisation",
    "share_request": "Another organisation asks to share what mine holds about someone (managers)",
    "share_decided": "My request to share was granted or refused",
    "consent_withdrawn": "Consent was withdrawn for someone on a case shared with my organisation",
}
DEFAULT_MODES = {"new_step": "immediate", "assigned_to_me": "immediate", "escalated": "immediate",
                 "request_answered": "immediate", "due_soon": "digest", "overdue": "digest",
                 "case_shared": "digest", "share_request": "immediate", "share_decided": "immediate",
                 "consent_withdrawn": "immediate"}
# Kinds addressed to a whole organisation: its shared mailbox (if any) gets them by e-mail too.
ORGANISATION_KINDS = {"new_step", "escalated", "case_shared", "due_soon", "overdue", "consent_withdrawn"}
CASEWORK_ROLES = (Role.PRACTITIONER, Role.MANAGER, Role.LEAD)
BELL_CAP = 100  # unread notifications counted for the bell; more shows as "99+"
REMINDER_BATCH = 500  # work items looked at per worker tick; the rest wait for the next one


def mail_enabled() -> bool:
    """E-mail goes out only when an SMTP server is configured; otherwise notifications are in-app only."""
    return bool(current_app.config.get("MAIL_SERVER"))


def text_for(kind: str, case: Case | None, item: WorkItem | None = None, org: Organisation | None = None) -> str:
    """The one safe sentence shown in the centre and e-mailed."""
    ref = case.reference if case is not None else "a case"
    step = f"“{item.title}” on {ref}" if item is not None else ref
    due = f", due {_local(item.due_at)}" if item is not None and item.due_at else ""
    return {
        "new_step": f"New step for your organisation: {step}{due}",
        "assigned_to_me": f"Assigned to you: {step}{due}",
        "due_soon": f"Due soon: {step}{due}",
        "overdue": f"Overdue: {step}{due.replace(', due', ', was due')}",
        "escalated": f"Escalated to you: {step}{due}",
        "request_answered": f"Your request on {ref} was answered",
        "case_shared": f"Case {ref} was shared with {org.name if org else 'your organisation'}",
        "share_request": f"{org.name if org else 'Another organisation'} asks to share what you hold about a person",
        "share_decided": f"Your request to share with {org.name if org else 'another organisation'} was answered",
        "consent_withdrawn": f"Consent was withdrawn for someone on {ref}: review what is shared",
    }[kind][:500]


def _local(when: datetime) -> str:
    return when.astimezone(calendar.load().zone).strftime("%d/%m/%Y %H:%M")


def console_url(endpoint: str, **values: object) -> str:
    """An address on the console's public address (CONSOLE_URL), for e-mails built outside any request."""
    base = current_app.config.get("CONSOLE_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context("/", base_url=base):
        return url_for(endpoint, _external=True, **values)


def link(notification_case: int | None, item_id: int | None) -> str:
    """Where the e-mail's link goes: the step, else the case, else the notification centre."""
    if item_id:
        return console_url("my_work.task_view", item_id=item_id)
    if notification_case:
        return console_url("cases.details_view", id=notification_case)
    return console_url("notifications.index")


def modes(user_ids: Iterable[int], kind: str) -> dict[int, str]:
    """Each user's choice for a kind (their preference, else the default)."""
    ids = list(user_ids)
    chosen = dict(db.session.execute(select(NotificationPreference.user_id, NotificationPreference.mode).where(
        NotificationPreference.user_id.in_(ids), NotificationPreference.kind == kind)).all()) if ids else {}
    return {uid: chosen.get(uid, DEFAULT_MODES[kind]) for uid in ids}


def preferences(user: User) -> dict[str, str]:
    """All of a user's choices, by kind."""
    chosen = dict(db.session.execute(select(NotificationPreference.kind, NotificationPreference.mode)
                                     .where(NotificationPreference.user_id == user.id)).all())
    return {kind: chosen.get(kind, DEFAULT_MODES[kind]) for kind in KINDS}


def set_preferences(user: User, choices: dict[str, str]) -> list[str]:
    """Save a user's choices; returns the kinds changed.

    :raise ValueError: on an unknown kind or mode (the faces turn it into a message)
    """
    current = preferences(user)
    changed = []
    for kind, mode in choices.items():
        if kind not in KINDS or mode not in MODES:
            raise ValueError(f"{kind!r}: choose one of {', '.join(MODES)}")
        if current[kind] != mode:
            db.session.merge(NotificationPreference(user_id=user.id, kind=kind, mode=mode))
            changed.append(kind)
    db.session.flush()
    return changed


def members(org_id: int, role: str | None = None) -> list[User]:
    """Active users of the organisation who do casework (holding `role`, when given)."""
    return list(db.session.scalars(select(User).where(*_members(org_id, role)).order_by(User.id)))


def _members(org_id: int, role: str | None) -> tuple[ColumnElement[bool], ...]:
    roles = [Role(role)] if role in {r.value for r in Role} else list(CASEWORK_ROLES)
    return (User.organisation_id == org_id, User.active.is_(True),
            exists().where(UserRole.user_id == User.id, UserRole.role.in_(roles)))


def notify(users: Iterable[User], kind: str, *, case: Case | None = None,
           item: WorkItem | None = None, org: Organisation | None = None) -> list[Notification]:
    """Tell these people (once each); e-mail those who chose it now, keep it for the digest of those who chose that."""
    people = list({u.id: u for u in users if u.active}.values())
    text = text_for(kind, case, item, org)
    mail = mail_enabled()
    chosen = modes((u.id for u in people), kind) if mail else {}  # without e-mail, choices change nothing
    rows = []
    for user in people:
        row = Notification(user_id=user.id, kind=kind, text=text, case=case, work_item=item,
                           digest_pending=mail and chosen[user.id] == "digest")
        rows.append(row)
        if mail and chosen[user.id] == "immediate":
            _queue(user.email, kind, text, case, item, user_id=user.id)
    db.session.add_all(rows)
    return rows


def notify_organisation(org: Organisation, role: str | None, kind: str, *, case: Case | None = None,
                        item: WorkItem | None = None) -> None:
    """Tell an organisation's caseworkers (holding `role`, when given) in a fixed number of statements, however
    many people it has: the database fans the notification (and the immediate e-mails) out."""
    if (item is not None and item.id is None) or (case is not None and case.id is None):
        db.session.flush()
    text, now, mail = text_for(kind, case, item, org), utcnow(), mail_enabled()
    people = _members(org.id, role)
    mode = func.coalesce(select(NotificationPreference.mode).where(
        NotificationPreference.user_id == User.id, NotificationPreference.kind == kind).scalar_subquery(),
        DEFAULT_MODES[kind])
    case_id, item_id = (case.id if case else None), (item.id if item else None)
    db.session.execute(insert(Notification).from_select(
        ["user_id", "kind", "text", "case_id", "work_item_id", "created_at", "digest_pending"],
        select(User.id, literal(kind), literal(text), literal(case_id, Integer), literal(item_id, Integer),
               literal(now, UTCDateTime), sql_case((mode == "digest", mail), else_=False)).where(*people)))
    if not mail:
        return
    subject, body = _mail_text(text, case, item)
    db.session.execute(insert(OutboxMessage).from_select(
        ["to_address", "user_id", "kind", "subject", "body", "status", "attempts", "next_attempt_at", "created_at"],
        select(User.email, User.id, literal(kind), literal(subject), literal(body), literal("pending"),
               literal(0), literal(now, UTCDateTime), literal(now, UTCDateTime)).where(*people, mode == "immediate")))
    if org.mailbox and kind in ORGANISATION_KINDS:
        _queue(org.mailbox, kind, text, case, item, organisation_id=org.id)


def _mail_text(text: str, case: Case | None, item: WorkItem | None) -> tuple[str, str]:
    body = (f"{text}.\n\nOpen it in Casebook: {link(case.id if case else None, item.id if item else None)}\n\n"
            "Casebook never puts names or case details in e-mails. You can choose which e-mails you get in "
            f"Casebook under Notifications → Settings: {link(None, None)}\n")
    return f"Casebook: {text}"[:255], body


def _queue(to: str, kind: str, text: str, case: Case | None, item: WorkItem | None, **owner: int) -> None:
    if (item is not None and item.id is None) or (case is not None and case.id is None):
        db.session.flush()  # the link needs their ids
    subject, body = _mail_text(text, case, item)
    db.session.add(OutboxMessage(to_address=to, kind=kind, subject=subject, body=body, next_attempt_at=utcnow(),
                                 **owner))


# ---------------------------------------------------------------- events

def step_ready(item: WorkItem, org: Organisation, case: Case, escalation: bool = False) -> None:
    """A step now waits for an organisation: tell its people who hold the role (escalations: say so)."""
    notify_organisation(org, item.required_role, "escalated" if escalation else "new_step", case=case, item=item)


def assigned_to(user: User, item: WorkItem, case: Case) -> None:
    """Someone (or the diagram) gave a step to this person."""
    notify([user], "assigned_to_me", case=case, item=item)


def case_shared(case: Case, org: Organisation) -> None:
    """An organisation joined a case: tell its caseworkers."""
    notify_organisation(org, None, "case_shared", case=case)


def share_requested(holder: Organisation, asker: Organisation) -> None:
    """Another organisation asks to share: tell the holder's managers (who decide)."""
    notify(members(holder.id, Role.MANAGER.value), "share_request", org=asker)


def share_decided(user: User, holder: Organisation) -> None:
    """The holder granted or refused: tell whoever asked."""
    notify([user], "share_decided", org=holder)


def request_answered(user: User | None, case: Case) -> None:
    """The agency asked has answered: tell whoever asked."""
    if user is not None:
        notify([user], "request_answered", case=case)


def remind(at: datetime | None = None) -> int:
    """Due-soon and overdue reminders for ready steps, once each; returns how many steps were reminded."""
    at = at or utcnow()
    soon = datetime.fromisoformat(calendar.add_working_days(at, settings.get_int("due_soon_working_days")))
    count = 0
    for stage, kind, window in ((2, "overdue", WorkItem.due_at < at),
                                (1, "due_soon", and_(WorkItem.due_at >= at, WorkItem.due_at <= soon))):
        items = db.session.scalars(skip_locked(select(WorkItem).where(
            WorkItem.status == ItemStatus.READY, WorkItem.reminder_stage < stage, WorkItem.due_at.is_not(None),
            window).order_by(WorkItem.due_at).limit(REMINDER_BATCH), WorkItem)).all()
        for item in items:
            item.reminder_stage = stage
            if item.claimed_by is not None:
                notify([item.claimed_by], kind, case=item.case, item=item)
            elif item.organisation_id is not None:
                notify_organisation(db.session.get(Organisation, item.organisation_id), item.required_role, kind,
                                    case=item.case, item=item)
            count += 1
    db.session.flush()
    return count


def build_digests(at: datetime | None = None) -> int:
    """One e-mail per user whose digest is due (once a day, from the configured hour); returns how many."""
    at = at or utcnow()
    zone = calendar.load().zone
    local = at.astimezone(zone)
    today = local.replace(hour=settings.get_int("digest_hour") % 24, minute=0, second=0, microsecond=0)
    if local < today:
        return 0
    cut = today.astimezone(at.tzinfo)
    due_users = db.session.scalars(skip_locked(select(User).where(
        exists().where(Notification.user_id == User.id, Notification.digest_pending.is_(True)),
        or_(User.last_digest_at.is_(None), User.last_digest_at < cut)), User)).all()
    for user in due_users:
        rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                             Notification.digest_pending.is_(True))
                                  .order_by(Notification.id)).all()
        lines = "\n".join(f"- {n.text}: {link(n.case_id, n.work_item_id)}" for n in rows)
        db.session.add(OutboxMessage(
            to_address=user.email, user_id=user.id, kind="digest", next_attempt_at=at,
            subject=f"Casebook: your daily summary ({len(rows)} item{'s' if len(rows) != 1 else ''})",
            body=(f"Your Casebook summary for {local:%d/%m/%Y}:\n\n{lines}\n\nCasebook never puts names or case "
                  f"details in e-mails. Choose which e-mails you get under Notifications → Settings: "
                  f"{link(None, None)}\n")))
        db.session.execute(update(Notification).where(Notification.id.in_([n.id for n in rows]))
                           .values(digest_pending=False))
        user.last_digest_at = at
    db.session.flush()
    return len(due_users)


def unread_count(user: User) -> int:
    """The number on the bell, counted no further than BELL_CAP (the bell says "99+"): every page shows it."""
    unread = select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None)) \
        .limit(BELL_CAP).subquery()
    return db.session.scalar(select(func.count()).select_from(unread)) or 0


def recent(user: User, limit: int = 100) -> list[Notification]:
    """A user's notifications, newest first."""
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id.desc()).limit(limit)))


def own(user: User, notification_id: int) -> Notification | None:
    """One of the user's own notifications (anyone else's is None, as if it did not exist)."""
    row = db.session.get(Notification, notification_id)
    return row if row is not None and row.user_id == user.id else None


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications (or all of them) read; returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


def backoff(attempts: int) -> timedelta:
    """How long to wait before trying an e-mail again: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))
