"""People: victims, offenders, witnesses and vulnerable people (roles are per case)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import NAME_MAX, UTCDateTime, db, utcnow
from models.organisation import Organisation, User


class Person(db.Model):
    """One real person; visible to the registering organisation and to those who see a case they are on."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_reference: Mapped[str | None] = mapped_column(String(64), index=True)
    given_name: Mapped[str] = mapped_column(String(NAME_MAX))
    family_name: Mapped[str] = mapped_column(String(NAME_MAX), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date, index=True)
    dob_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    sex: Mapped[str | None] = mapped_column(String(32))
    preferred_language: Mapped[str | None] = mapped_column(String(64))
    interpreter_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Contact details are the most sensitive fields: exports leave them out.
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    safe_contact: Mapped[str | None] = mapped_column(Text)
    # Post to this address could put the person at risk (e.g. they live with the abuser): letters need an
    # override with a reason (casework/letters.py).
    address_unsafe: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # A record merged into another stays as a tombstone pointing to the kept one (people.merge).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    registered_by_org: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def full_name(self) -> str:
        """Given and family name, family name in capitals as referral forms use it."""
        return f"{self.given_name} {self.family_name.upper()}"

    def __str__(self) -> str:
        dob = f" ({self.date_of_birth:%d/%m/%Y})" if self.date_of_birth else ""
        return f"{self.full_name}{dob}"


class PersonChange(db.Model):
    """One field of a person record changed (rectification): the value before and after, who and when. Kept
    for the subject access pack; the audit log itself holds only the field names."""

    __tablename__ = "person_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
