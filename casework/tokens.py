"""API tokens: random, shown once, stored only as SHA-256 (access.py looks them up on each request)."""
from __future__ import annotations

import secrets

from models import ApiToken, User, audit, db


def issue(user: User) -> str:
    """Create a token for the user and return it (the only time it is visible)."""
    token = ApiToken.PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=ApiToken.digest(token))
    db.session.add(row)
    db.session.flush()
    audit.record("issue_token", object_type="api_token", object_id=row.id, organisation_id=user.organisation_id,
                 detail={"for_user": user.email})
    return token
