"""API tokens: random, shown once, stored only as SHA-256 (a KDF per request would cost tens of ms)."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import ApiToken, User, audit, db

PREFIX = "cbk_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User) -> str:
    """Create a token for the user and return it (the only time it is visible)."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_digest(token))
    db.session.add(row)
    db.session.flush()
    audit.record("issue_token", object_type="api_token", object_id=row.id, organisation_id=user.organisation_id,
                 detail={"for_user": user.email})
    return token


def user_for(token: str) -> User | None:
    """The active user a token belongs to, or None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    # One query for the token, its user, organisation and roles: this runs on every API request.
    row = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(token),
                                                    ApiToken.revoked.is_(False))
                             .options(joinedload(ApiToken.user).joinedload(User.role_rows))).unique().first()
    if row is None or not row.user.active:
        return None
    return row.user
