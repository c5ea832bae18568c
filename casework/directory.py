"""Organisations and users: creation, passwords and login with lockout."""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from casework import validate
from casework.errors import InvalidInput
from models import Organisation, User, audit, db, utcnow
from models.base import NAME_MAX
from models.enums import OrgType, Role

PASSWORD_MIN = 12
# Compared against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("casebook-timing-equaliser", method="scrypt")


def create_organisation(code: str, name: str, org_type: str, area: str | None = None,
                        actor: User | None = None) -> Organisation:
    """Add an organisation.

    :raise InvalidInput: on a bad or duplicate code, an unknown type or an over-long name
    """
    code = validate.code(code)
    name = validate.text(name, "name", NAME_MAX)
    org_type = validate.choice(org_type, "type", {t.value for t in OrgType})
    area = validate.text(area, "area", NAME_MAX, required=False)
    if db.session.scalar(select(Organisation.id).where(Organisation.code == code)):
        raise InvalidInput({"code": f"an organisation with code {code!r} already exists"})
    org = Organisation(code=code, name=name, type=OrgType(org_type), area=area)
    db.session.add(org)
    db.session.flush()
    audit.record("create", user=actor, object_type="organisation", object_id=org.id,
                 detail={"code": code, "name": name, "type": org_type})
    return org


def hash_password(password: str) -> str:
    """Hash with the configured memory-hard KDF."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_strength(password: str) -> None:
    """Refuse short passwords."""
    if len(password or "") < PASSWORD_MIN:
        raise InvalidInput({"password": f"must be at least {PASSWORD_MIN} characters"})


def create_user(email: str, name: str, org_code: str, roles: list[str], password: str | None = None,
                actor: User | None = None) -> tuple[User, str]:
    """Add a user; returns the user and the password (generated when none was given).

    :raise InvalidInput: on a bad or duplicate e-mail, unknown organisation or role, weak password
    """
    email = validate.email(email)
    name = validate.text(name, "name", NAME_MAX)
    if not roles:
        raise InvalidInput({"role": "at least one role is required"})
    for r in roles:
        validate.choice(r, "role", {x.value for x in Role})
    org = db.session.scalar(select(Organisation).where(Organisation.code == (org_code or "").strip()))
    if org is None:
        raise InvalidInput({"org": f"no organisation with code {org_code!r}"})
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise InvalidInput({"email": f"a user with e-mail {email!r} already exists"})
    if password is None:
        password = secrets.token_urlsafe(15)
    check_password_strength(password)
    user = User(email=email, name=name, organisation=org, password_hash=hash_password(password))
    user.set_roles([Role(r) for r in roles])
    db.session.add(user)
    db.session.flush()
    audit.record("create", user=actor, object_type="user", object_id=user.id,
                 detail={"email": email, "organisation": org.code, "roles": sorted(roles)})
    return user, password


def authenticate(email: str, password: str) -> User | None:
    """Check credentials, count failures and lock after too many; audits success and failure."""
    email_norm = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email_norm))
    now = utcnow()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        audit.record("login_failed", user_email=email_norm[:254],
                     detail={"reason": "unknown or inactive account"})
        return None
    if user.locked_until and user.locked_until > now:
        audit.record("login_failed", user_email=user.email, organisation_id=user.organisation_id,
                     object_type="user", object_id=user.id, detail={"reason": "account locked"})
        return None
    if not user.password_hash or not check_password_hash(user.password_hash, password or ""):
        user.failed_logins += 1
        detail = {"reason": "wrong password", "failures": user.failed_logins}
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            detail["locked_until"] = user.locked_until.isoformat()
        audit.record("login_failed", user_email=user.email, organisation_id=user.organisation_id,
                     object_type="user", object_id=user.id, detail=detail)
        return None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit.record("login", user=user, object_type="user", object_id=user.id)
    return user

