"""API tokens: random, shown once, stored only as SHA-256 (access.py looks them up on each request).

Tokens expire (`API_TOKEN_DAYS`), can be listed and revoked by their owner and by admins, record when they
were last used (to the minute), and die with a password reset or deactivation of their owner.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from casework import validate
from casework.errors import NotFound
from models import ApiToken, User, audit, db, utcnow

LABEL_MAX = 120


def issue(user: User, label: str | None = None, actor: User | None = None) -> str:
    """Create a token for the user and return it (the only time it is visible).

    :raise InvalidInput: on an over-long label
    """
    label = validate.text(label, "label", LABEL_MAX, required=False)
    days = current_app.config["API_TOKEN_DAYS"]
    token = ApiToken.PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=ApiToken.digest(token), label=label,
                   expires_at=utcnow() + timedelta(days=days) if days > 0 else None)
    db.session.add(row)
    db.session.flush()
    audit.record("issue_token", user=actor, object_type="api_token", object_id=row.id,
                 organisation_id=user.organisation_id,
                 detail={"for_user": user.email, "label": label, "expires_at": row.expires_at})
    return token


def of_user(user: User) -> list[ApiToken]:
    """The user's tokens that still work, newest first."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False),
                                                          _unexpired()).order_by(ApiToken.id.desc())))


def _unexpired():
    return (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > utcnow())


def revoke(user: User, token_id: int, actor: User) -> None:
    """Revoke one of the user's tokens (the owner's or an admin's action); audited.

    :raise NotFound: when the token is not the user's or is already revoked
    """
    done = db.session.execute(update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id,
                                                     ApiToken.revoked.is_(False)).values(revoked=True)).rowcount
    if not done:
        raise NotFound("no such token")
    audit.record("revoke_token", user=actor, object_type="api_token", object_id=token_id,
                 organisation_id=user.organisation_id, detail={"for_user": user.email})


def revoke_all(user: User, actor: User | None, reason: str) -> int:
    """Revoke every token of the user (password reset, deactivation); audited with the reason."""
    done = db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                              .values(revoked=True)).rowcount
    if done:
        audit.record("revoke_token", user=actor, object_type="user", object_id=user.id,
                     organisation_id=user.organisation_id, detail={"reason": reason, "revoked": done})
    return done
