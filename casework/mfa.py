"""The second factor: TOTP (RFC 6238, any authenticator app) with one-time recovery codes.

Who needs one: every account that has enrolled; every account when `MFA_REQUIRED` is on (the default);
admins always; never the demo accounts `seed-demo` marks exempt. A code is accepted once (the last used
time step is kept), within one step either side of now for clocks that drift.
"""
from __future__ import annotations

import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, select, update

from casework import sessions
from models import RecoveryCode, SecurityKey, User, audit, db, utcnow
from models.enums import Role
from models.security import digest

RECOVERY_CODES = 10
DRIFT_STEPS = 1  # accept the code of the step before and after (about 30 s of clock drift either way)


def needed(user: User) -> bool:
    """Whether this account must give a second factor to sign in."""
    if user.mfa_enrolled_at is not None:
        return True
    if user.mfa_exempt:
        return False
    return bool(current_app.config["MFA_REQUIRED"]) or Role.ADMIN in user.roles


def begin_enrolment(user: User) -> str:
    """A secret for the user's authenticator (kept while unconfirmed, so a reload shows the same QR code)."""
    if user.mfa_enrolled_at is not None:
        raise ValueError("already enrolled")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """The otpauth:// address the QR code carries."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email,
                                                         issuer_name=current_app.config["MFA_ISSUER"])


def qr_svg(uri: str) -> str:
    """An inline SVG QR code (made here: the secret never goes to another service)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, title="QR code for your authenticator app")


def _matching_step(user: User, code: str, now: float | None = None) -> int | None:
    totp = pyotp.TOTP(user.totp_secret)
    now = time.time() if now is None else now
    step = totp.timecode(now)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            return step + offset
    return None


def check_code(user: User, code: str) -> bool:
    """Accept a current code from the user's authenticator, once; False for a wrong, old or reused code."""
    code = (code or "").replace(" ", "").strip()
    if not user.totp_secret or len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    step = _matching_step(user, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    # Conditional, so two requests racing with the same code cannot both succeed.
    won = db.session.execute(update(User).where(User.id == user.id,
                                                (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
                             .values(totp_last_step=step)).rowcount
    db.session.refresh(user, ["totp_last_step"])
    return bool(won)


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Finish enrolment with a first code from the app; returns new recovery codes (shown once), or None."""
    if user.mfa_enrolled_at is not None or not check_code(user, code):
        return None
    user.mfa_enrolled_at = utcnow()
    audit.record("mfa_enrolled", user=user, object_type="user", object_id=user.id)
    return new_recovery_codes(user)


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones and return them (the only time they are visible)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=digest(c)) for c in codes)
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Accept one unused recovery code (each works once); False otherwise."""
    code = (code or "").strip().lower()
    if len(code) > 32:
        return False
    return bool(db.session.execute(update(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest(code), RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())).rowcount)


def recovery_codes_left(user: User) -> int:
    """How many recovery codes the user has not used."""
    return len(db.session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                                RecoveryCode.used_at.is_(None))).all())


def reset(user: User, actor: User) -> None:
    """An admin clears the user's factors (lost phone or key): they enrol again at their next login; their
    sessions end. Audited."""
    user.totp_secret, user.mfa_enrolled_at, user.totp_last_step = None, None, None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(SecurityKey).where(SecurityKey.user_id == user.id))
    sessions.end_all(user, actor, "second factor reset")
    audit.record("reset_mfa", user=actor, object_type="user", object_id=user.id,
                 organisation_id=user.organisation_id, detail={"for_user": user.email})
