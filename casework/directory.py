"""Organisations and users: creation, passwords and login with lockout."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from casework import sessions, validate
from casework.errors import Conflict, InvalidInput, NotPermitted
from models import Organisation, RoleGrant, User, audit, db, utcnow
from models.base import NAME_MAX
from models.enums import OrgType, Role

PASSWORD_MIN = 12
PASSWORD_MAX = 1024   # long passphrases welcome; beyond this the KDF would be work for nothing
PASSWORD_SCORE = 3    # zxcvbn's 0-4: 3 is "safely unguessable" (offline, slow hash)
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


def check_password_strength(password: str, known: tuple[str, ...] = ()) -> None:
    """Refuse short, over-long and easily guessed passwords (common passwords, keyboard runs, repeats, the
    account's own name or e-mail), by zxcvbn's estimate; no composition rules (ASVS 2.1.9)."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput({"password": f"must be at least {PASSWORD_MIN} characters"})
    if len(password) > PASSWORD_MAX:
        raise InvalidInput({"password": f"must be at most {PASSWORD_MAX} characters"})
    # zxcvbn reads at most 72 characters; a longer password is at least as strong as its first 72.
    guess = zxcvbn(password[:72], user_inputs=[k for k in known if k])
    if guess["score"] < PASSWORD_SCORE:
        hint = guess["feedback"]["warning"] or "it would be guessed quickly"
        raise InvalidInput({"password": f"is too easy to guess ({hint.rstrip('.')}); three or four unrelated "
                                        "words make a strong one"})


def change_password(user: User, current: str, new: str) -> int:
    """The user's own change: the current password proves it is them; other sessions end. Returns how many.

    :raise InvalidInput: a wrong current password (counted toward the lockout) or a weak new one
    """
    if not user.password_hash:
        raise InvalidInput({"password": "your organisation signs you in (single sign-on): change it there"})
    if not check_password_hash(user.password_hash, current or ""):
        count_failure(user, "wrong password at password change")
        raise InvalidInput({"current_password": "the current password is not right"})
    check_password_strength(new, (user.email, user.email.split("@")[0], user.name))
    if check_password_hash(user.password_hash, new):
        raise InvalidInput({"password": "is the same as the current one"})
    user.password_hash = hash_password(new)
    audit.record("password_changed", user=user, object_type="user", object_id=user.id)
    return sessions.end_all(user, user, "password changed", keep_current=True)


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
    check_password_strength(password, (email, email.split("@")[0], name))
    user = User(email=email, name=name, organisation=org, password_hash=hash_password(password))
    user.set_roles([Role(r) for r in roles])
    db.session.add(user)
    db.session.flush()
    audit.record("create", user=actor, object_type="user", object_id=user.id,
                 detail={"email": email, "organisation": org.code, "roles": sorted(roles)})
    return user, password


def authenticate(email: str, password: str) -> User | None:
    """Check the password (the first factor), counting failures and locking after too many; audits failures.

    Success is not yet a login: `complete_login` records it once any second factor has been given too.
    """
    email_norm = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email_norm))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        # What was typed is not kept (people type passwords into the e-mail box); a digest still lets an
        # auditor see the same unknown name tried again and again.
        audit.record("login_failed", detail={"reason": "unknown or inactive account",
                                             "typed_sha256": hashlib.sha256(email_norm.encode()).hexdigest()[:16]})
        return None
    if is_locked(user):
        audit.record("login_failed", user_email=user.email, organisation_id=user.organisation_id,
                     object_type="user", object_id=user.id, detail={"reason": "account locked"})
        return None
    if not user.password_hash or not check_password_hash(user.password_hash, password or ""):
        count_failure(user, "wrong password")
        return None
    return user


def is_locked(user: User) -> bool:
    """Whether too many failed attempts have locked the account for now."""
    return bool(user.locked_until and user.locked_until > utcnow())


def count_failure(user: User, reason: str) -> None:
    """One more failed attempt (password or second factor); locks the account after too many; audited."""
    user.failed_logins += 1
    detail: dict[str, object] = {"reason": reason, "failures": user.failed_logins}
    if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
        user.locked_until = utcnow() + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        user.failed_logins = 0
        detail["locked_until"] = user.locked_until.isoformat()
    audit.record("login_failed", user_email=user.email, organisation_id=user.organisation_id,
                 object_type="user", object_id=user.id, detail=detail)


def complete_login(user: User, method: str) -> None:
    """Record a login once every factor it needs has been given: failures reset, audited with the method."""
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, utcnow()
    audit.record("login", user=user, object_type="user", object_id=user.id, detail={"method": method})


def request_roles(user: User, wanted: set[Role], actor: User) -> RoleGrant | None:
    """An admin's change to an account's roles: removals apply at once; additions wait for a second admin
    (`decide_roles`), so nobody gives themselves, or an account they control, new powers alone. Returns the
    pending request, if any; audited."""
    current = user.roles
    removed, added = current - wanted, wanted - current
    if removed:
        user.set_roles(current - removed)
        audit.record("remove_roles", user=actor, object_type="user", object_id=user.id,
                     organisation_id=user.organisation_id, detail={"removed": sorted(r.value for r in removed)})
    if not added:
        return None
    db.session.flush()
    # A newer request replaces any older one still waiting for the same account.
    for old in db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id,
                                                          RoleGrant.status == "pending")):
        old.status = "superseded"
    grant = RoleGrant(user_id=user.id, roles=",".join(sorted(r.value for r in wanted)), requested_by_id=actor.id)
    db.session.add(grant)
    db.session.flush()
    audit.record("request_roles", user=actor, object_type="user", object_id=user.id,
                 organisation_id=user.organisation_id,
                 detail={"adding": sorted(r.value for r in added), "request": grant.id})
    return grant


def decide_roles(grant: RoleGrant, actor: User, approve: bool) -> None:
    """A second admin approves (the roles asked for take effect) or refuses a pending request; audited.

    :raise NotPermitted: for the admin who asked, or the person it is for
    :raise Conflict: when it was already decided or replaced
    """
    if grant.status != "pending":
        raise Conflict(f"this request was already {grant.status}")
    if actor.id in (grant.requested_by_id, grant.user_id):
        raise NotPermitted("another admin must decide: not the one who asked, nor the person it is for")
    grant.status = "approved" if approve else "refused"
    grant.decided_by_id, grant.decided_at = actor.id, utcnow()
    if approve:
        grant.user.set_roles(grant.role_set)
    audit.record("approve_roles" if approve else "refuse_roles", user=actor, object_type="user",
                 object_id=grant.user_id, organisation_id=grant.user.organisation_id,
                 detail={"roles": grant.roles, "request": grant.id, "asked_by": grant.requested_by.email})
