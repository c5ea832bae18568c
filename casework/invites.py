"""Inviting a user by e-mail: an admin adds the account without choosing a password; the person gets a
set-your-password link that expires (INVITE_LINK_HOURS) and works once (it is bound to the password it
replaces). Services flush; the caller commits."""
from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from casework import directory, notifications
from casework.errors import InvalidInput
from models import OutboxMessage, User, audit, db, utcnow

SALT = "casebook-set-password"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    # Bound to the password hash it replaces: once a password is set (or reset) the link no longer works. A
    # digest of it, not a piece of it: the token's payload is signed, not secret.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:24]


def mail_enabled() -> bool:
    """Invitations need a mail server (without one an admin gives an initial password)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def unusable_password() -> str:
    """A hash of a random secret nobody knows: the account cannot sign in until its person sets a password."""
    return directory.hash_password(secrets.token_urlsafe(32))


def link_for(user: User) -> str:
    """The set-your-password address for the user, on the console's public address."""
    token = _serializer().dumps({"u": user.id, "f": _fingerprint(user)})
    return notifications.console_url("auth.set_password", token=token)


def invite(user: User, admin: User | None) -> None:
    """Queue the invitation e-mail (the worker sends it); audited without the link."""
    hours = current_app.config["INVITE_LINK_HOURS"]
    body = (f"An account has been made for you in Casebook, the partnership's case management console.\n\n"
            f"Set your password here (the link works once, for {hours} hours):\n{link_for(user)}\n\n"
            "If you did not expect this, ignore it and tell your organisation's Casebook administrator.\n")
    db.session.add(OutboxMessage(to_address=user.email, user_id=user.id, kind="invitation",
                                 subject="Casebook: set your password", body=body, next_attempt_at=utcnow()))
    db.session.flush()
    audit.record("invite_user", user=admin, object_type="user", object_id=user.id, detail={"hours": hours})


def user_for(token: str) -> User:
    """The account a link is for, while it is valid.

    :raise InvalidInput: expired, already used, altered, or the account is closed
    """
    try:
        data = _serializer().loads(token, max_age=current_app.config["INVITE_LINK_HOURS"] * 3600)
    except SignatureExpired:
        raise InvalidInput("This link has expired: ask your administrator to send a new one.") from None
    except BadSignature:
        raise InvalidInput("This link is not valid: ask your administrator to send a new one.") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        raise InvalidInput("This link has been used already or the account is closed: ask your administrator.")
    return user


def set_password(token: str, password: str, again: str) -> User:
    """Set the password from a valid link (the same checks as any password); the link then stops working.

    :raise InvalidInput: as user_for, the two passwords differ, or the password is too weak
    """
    user = user_for(token)
    if password != again:
        raise InvalidInput({"again": "the two passwords are not the same"})
    directory.check_password_strength(password, (user.email, user.name))
    user.password_hash = directory.hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    db.session.flush()
    audit.record("set_password_from_invitation", user=user, object_type="user", object_id=user.id)
    return user
