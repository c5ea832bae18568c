"""Cases, the people and organisations on them, named users and notes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import TITLE_MAX, UTCDateTime, db, utcnow
from models.enums import CaseStatus, ParticipantRole, RiskLevel, column_type
from models.organisation import Organisation, User
from models.person import Person
from models.reference import Area, CaseType


class Case(db.Model):
    """A victim's or vulnerable person's case, led by one organisation."""

    __tablename__ = "case"
    __table_args__ = (UniqueConstraint("lead_organisation_id", "external_reference", name="uq_case_external_reference"),
                      # Lists show the newest first, or open ones first: the sorts walk these and stop at a page.
                      Index("ix_case_opened_at", "opened_at", "id"),
                      Index("ix_case_status_opened_at", "status", "opened_at"),
                      # "Open, high risk": the filters meet in one index instead of reading every open case.
                      Index("ix_case_risk_level_status", "risk_level", "status"),
                      # The retention sweep: closed cases of a type by closing date.
                      Index("ix_case_type_closed_at", "case_type_code", "closed_at"))
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
    # Why and how the case was closed (workflows/closing.py); cleared when it is reopened.
    closure_outcome: Mapped[str | None] = mapped_column(String(32))
    closure_reason: Mapped[str | None] = mapped_column(Text)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # Retention: a legal hold (with its reason) stops disposal; an anonymised case keeps only its metadata.
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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


class CaseAccess(db.Model):
    """Every organisation that takes part in a case, its lead included: one row per (organisation, case).

    Database triggers keep it (tables `case` and `case_organisation`), so no code path can forget it. Access
    checks ask this one table, which lets the planner either walk a list's sort index and probe it per row
    (an organisation that sees many cases) or start from the organisation's rows (one that sees few).
    """

    __tablename__ = "case_access"
    __table_args__ = (Index("ix_case_access_case", "case_id", "organisation_id"),)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)


# The triggers behind CaseAccess, for both databases (migration 0010 creates the same ones).
CASE_ACCESS_SQLITE = [
    """CREATE TRIGGER case_access_lead_insert AFTER INSERT ON "case" BEGIN
        INSERT OR IGNORE INTO case_access (organisation_id, case_id) VALUES (NEW.lead_organisation_id, NEW.id); END""",
    """CREATE TRIGGER case_access_lead_update AFTER UPDATE OF lead_organisation_id ON "case" BEGIN
        DELETE FROM case_access WHERE case_id = NEW.id AND organisation_id = OLD.lead_organisation_id
            AND NOT EXISTS (SELECT 1 FROM case_organisation o WHERE o.case_id = NEW.id
                            AND o.organisation_id = OLD.lead_organisation_id);
        INSERT OR IGNORE INTO case_access (organisation_id, case_id) VALUES (NEW.lead_organisation_id, NEW.id); END""",
    """CREATE TRIGGER case_access_partner_insert AFTER INSERT ON case_organisation BEGIN
        INSERT OR IGNORE INTO case_access (organisation_id, case_id) VALUES (NEW.organisation_id, NEW.case_id); END""",
    """CREATE TRIGGER case_access_partner_delete AFTER DELETE ON case_organisation BEGIN
        DELETE FROM case_access WHERE case_id = OLD.case_id AND organisation_id = OLD.organisation_id
            AND NOT EXISTS (SELECT 1 FROM "case" c WHERE c.id = OLD.case_id
                            AND c.lead_organisation_id = OLD.organisation_id); END""",
]
CASE_ACCESS_POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION case_access_sync() RETURNS trigger AS $$ BEGIN
        IF TG_TABLE_NAME = 'case' THEN
            IF TG_OP = 'UPDATE' AND OLD.lead_organisation_id <> NEW.lead_organisation_id THEN
                DELETE FROM case_access WHERE case_id = NEW.id AND organisation_id = OLD.lead_organisation_id
                    AND NOT EXISTS (SELECT 1 FROM case_organisation o WHERE o.case_id = NEW.id
                                    AND o.organisation_id = OLD.lead_organisation_id);
            END IF;
            INSERT INTO case_access (organisation_id, case_id) VALUES (NEW.lead_organisation_id, NEW.id)
                ON CONFLICT DO NOTHING;
        ELSIF TG_OP = 'INSERT' THEN
            INSERT INTO case_access (organisation_id, case_id) VALUES (NEW.organisation_id, NEW.case_id)
                ON CONFLICT DO NOTHING;
        ELSE
            DELETE FROM case_access WHERE case_id = OLD.case_id AND organisation_id = OLD.organisation_id
                AND NOT EXISTS (SELECT 1 FROM "case" c WHERE c.id = OLD.case_id
                                AND c.lead_organisation_id = OLD.organisation_id);
        END IF;
        RETURN NULL; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER case_access_lead AFTER INSERT OR UPDATE OF lead_organisation_id ON "case"
        FOR EACH ROW EXECUTE FUNCTION case_access_sync()""",
    """CREATE TRIGGER case_access_partner AFTER INSERT OR DELETE ON case_organisation
        FOR EACH ROW EXECUTE FUNCTION case_access_sync()""",
]
for _sql in CASE_ACCESS_SQLITE:
    event.listen(CaseAccess.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in CASE_ACCESS_POSTGRESQL:
    event.listen(CaseAccess.__table__, "after_create", DDL(_sql).execute_if(dialect="postgresql"))


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

