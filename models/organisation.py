"""Organisations (partner agencies), users and their roles."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import NAME_MAX, UTCDateTime, db, utcnow
from models.enums import OrgType, Role, column_type


class Organisation(db.Model):
    """A partner agency; every user belongs to exactly one."""

    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    type: Mapped[OrgType] = mapped_column(column_type(OrgType, "org_type"))
    area: Mapped[str | None] = mapped_column(String(NAME_MAX))
    # A shared team mailbox that also receives the organisation's notifications by e-mail.
    mailbox: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Single sign-on through the organisation's own OpenID Connect provider (casework/sso.py); off when no
    # issuer is set. The secret is written by admins and never shown again.
    sso_issuer: Mapped[str | None] = mapped_column(String(255))
    sso_client_id: Mapped[str | None] = mapped_column(String(255))
    sso_client_secret: Mapped[str | None] = mapped_column(String(255))
    sso_email_claim: Mapped[str | None] = mapped_column(String(64))

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @property
    def sso_enabled(self) -> bool:
        return bool(self.sso_issuer and self.sso_client_id)

    def __str__(self) -> str:
        return self.name


class User(UserMixin, db.Model):
    """A person who logs in; roles are scoped to their organisation."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Second factor (TOTP): the secret is kept from the start of enrolment, in use once confirmed; the last
    # accepted time step makes each code usable once.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Demonstration accounts only (seed-demo): signs in with a password alone; the login page says so.
    mfa_exempt: Mapped[bool] = mapped_column(Boolean, default=False)

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> set[Role]:
        """The user's roles as enum members."""
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: Role) -> bool:
        """True if the user holds any of the given roles."""
        return bool(self.roles & set(roles))

    def set_roles(self, roles: set[Role] | list[Role]) -> None:
        """Replace the user's roles, keeping unchanged rows."""
        wanted = {Role(r) for r in roles}
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = {r.role for r in self.role_rows}
        self.role_rows.extend(UserRole(role=r) for r in sorted(wanted - have))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class UserRole(db.Model):
    """One role held by a user."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_user_role_user_id_role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(column_type(Role, "role"))

    user: Mapped[User] = relationship(back_populates="role_rows")


class RoleGrant(db.Model):
    """Roles an admin asked to add to an account: they take effect only when a second admin approves (an admin
    cannot give themselves, or an account they made, casework roles alone)."""

    __tablename__ = "role_grant"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    roles: Mapped[str] = mapped_column(String(255))   # the whole role set asked for, comma-separated
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def role_set(self) -> set[Role]:
        return {Role(r) for r in self.roles.split(",") if r}
