"""Server-side login sessions: one row per signed-in browser, checked on every console request.

The signed cookie carries only a random id; the row is what makes it a login. Logout, a password or
second-factor change, deactivation and the "end session" buttons delete rows, so a copied or replayed cookie
stops working at once, on every app server. Idle and absolute limits are settings; access.py checks the row
on each request.
"""
from __future__ import annotations

import secrets

from flask import request, session
from flask_login import login_user
from sqlalchemy import delete, select

from access import SID_KEY, session_expired
from models import User, UserSession, audit, db, utcnow
from models.security import digest


def start(user: User, method: str) -> None:
    """Sign the user in on this browser: a fresh cookie session (no fixation) tied to a new row."""
    raw = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=digest(raw), user_id=user.id, method=method,
                               ip=(request.remote_addr or "")[:64] or None,
                               user_agent=(request.user_agent.string or "")[:255] or None))
    db.session.flush()
    session.clear()
    session[SID_KEY] = raw
    session.permanent = True
    login_user(user)


def current_row_id() -> int | None:
    """The id of this browser's session row, if signed in."""
    raw = session.get(SID_KEY)
    if not raw or not isinstance(raw, str):
        return None
    return db.session.scalar(select(UserSession.id).where(UserSession.token_hash == digest(raw)))


def active(user: User) -> list[UserSession]:
    """The user's sessions that are still live, newest first."""
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)
                              .order_by(UserSession.last_seen_at.desc())).all()
    now = utcnow()
    return [r for r in rows if not session_expired(r, now)]


def end_current() -> None:
    """Logout: this browser's row goes, so the cookie (or a copy of it) no longer signs anyone in."""
    raw = session.get(SID_KEY)
    if raw and isinstance(raw, str):
        db.session.execute(delete(UserSession).where(UserSession.token_hash == digest(raw)))


def end_one(user: User, session_id: int, actor: User) -> bool:
    """End one of the user's sessions (the user's own button); False if it is not theirs or already gone."""
    gone = db.session.execute(delete(UserSession).where(UserSession.id == session_id,
                                                        UserSession.user_id == user.id)).rowcount
    if gone:
        audit.record("end_session", user=actor, object_type="user", object_id=user.id,
                     detail={"session": session_id})
    return bool(gone)


def end_all(user: User, actor: User | None, reason: str, keep_current: bool = False) -> int:
    """End every session of the user (all but this browser's if asked); audited with the reason."""
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    current = current_row_id() if keep_current else None
    if current is not None:
        stmt = stmt.where(UserSession.id != current)
    ended = db.session.execute(stmt).rowcount
    audit.record("end_sessions", user=actor, object_type="user", object_id=user.id,
                 organisation_id=user.organisation_id, detail={"reason": reason, "ended": ended})
    return ended
