"""Cases, the people and organisations on them, named users and notes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import TITLE_MAX, UTCDateTime, db, utcnow
from models.enums import CaseStatus, ParticipantRole, RiskLevel, column_type
from models.organisation import Organisation, User
from models.person import Person
from models.reference import Area, CaseType


class Case(db.Model):
    """A victim's or vulnerable person's case, led by one organisation."""

    __tablename__ = "case"
    __table_args__ = (UniqueConstraint("lead_organisation_id", "external_reference", name="uq_case_external_reference"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    # Another system's id for the case (legacy imports); unique per lead organisation.
    external_reference: Mapped[str | None] = mapped_column(String(64), index=True)
    case_type_code: Mapped[str] = mapped_column(ForeignKey("case_type.code"), index=True)
    # Where the case belongs (routing by service picks the provider for this area).
    area_code: Mapped[str | None] = mapped_column(ForeignKey("area.code"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    summary: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CaseStatus] = mapped_column(column_type(CaseStatus, "case_status"), default=CaseStatus.OPEN)
    risk_level: Mapped[RiskLevel] = mapped_column(
        column_type(RiskLevel, "risk_level"), default=RiskLevel.NOT_ASSESSED)
    lead_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    case_type: Mapped[CaseType] = relationship(lazy="joined")
    area: Mapped[Area | None] = relationship(lazy="joined")
    lead_organisation: Mapped[Organisation] = relationship(lazy="joined")
    opened_by: Mapped[User | None] = relationship()
    participants: Mapped[list[CaseParticipant]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseParticipant.id")
    organisations: Mapped[list[CaseOrganisation]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseOrganisation.id")
    members: Mapped[list[CaseMember]] = relationship(back_populates="case", cascade="all, delete-orphan")
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseNote.created_at.desc()")

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.reference


class CaseParticipant(db.Model):
    """A person on a case in a role."""

    __tablename__ = "case_participant"
    __table_args__ = (UniqueConstraint("case_id", "person_id", "role", name="uq_case_participant_role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[ParticipantRole] = mapped_column(column_type(ParticipantRole, "participant_role"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="participants")
    person: Mapped[Person] = relationship(lazy="joined")


class CaseOrganisation(db.Model):
    """An organisation participating in a case (the lead is implied by Case.lead_organisation)."""

    __tablename__ = "case_organisation"
    __table_args__ = (UniqueConstraint("case_id", "organisation_id", name="uq_case_organisation"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    case: Mapped[Case] = relationship(back_populates="organisations")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class CaseMember(db.Model):
    """A user named on a restricted case; only named users see a restricted case."""

    __tablename__ = "case_member"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_member"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)

    case: Mapped[Case] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")


class CaseNote(db.Model):
    """A dated note on a case, written by a user of a participating organisation."""

    __tablename__ = "case_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="notes")
    author: Mapped[User] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class ReferenceCounter(db.Model):
    """Per-year sequence behind case references (CB-2026-000123); row-locked when incremented."""

    __tablename__ = "reference_counter"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)

