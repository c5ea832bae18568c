"""Server-side login sessions, second-factor recovery codes and security keys (WebAuthn)."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db, utcnow


def digest(secret: str) -> str:
    """What is stored for a session id or recovery code: its SHA-256 (both are long random values)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class UserSession(db.Model):
    """One signed-in browser. The cookie carries a random id whose digest is this row's key: deleting the
    row (logout, password or factor change, deactivation, "end session") ends the login wherever the cookie
    is replayed."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    # How the user proved who they are: "password" or "sso", then "+totp", "+recovery" or "+key" when a second
    # factor was given.
    method: Mapped[str] = mapped_column(String(32), default="password")


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app (shown once, stored as a digest)."""

    __tablename__ = "recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecurityKey(db.Model):
    """A security key or passkey (a WebAuthn credential) a user added as a second factor; only its public key
    is kept, and the signature counter, which catches a cloned authenticator."""

    __tablename__ = "security_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)   # base64url of at most 1,023 bytes
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    label: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
