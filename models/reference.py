"""Reference data leads and admins edit: case types and information-sharing agreements."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import NAME_MAX, TITLE_MAX, UTCDateTime, db, utcnow
from models.organisation import Organisation, User

# The business case's areas; present in every database after `init-db` (admins may rename or add).
DEFAULT_CASE_TYPES: list[tuple[str, str]] = [
    ("victim_support", "Victim support"),
    ("restorative_justice", "Restorative justice"),
    ("asb", "Anti-social behaviour"),
    ("hate_crime", "Hate crime"),
    ("domestic_abuse", "Domestic abuse"),
    ("vulnerable_person", "Vulnerable person"),
    ("iom", "Integrated offender management"),
    ("cse", "Child sexual exploitation"),
    ("community_trigger", "Community trigger"),
    ("troubled_families", "Troubled families"),
    ("hmo", "Houses in multiple occupation"),
    ("street_drinkers", "Street drinkers"),
    ("licensed_premises", "Licensed premises"),
    ("acquisitive_crime", "Acquisitive crime"),
]


class CaseType(db.Model):
    """A kind of case (reference data)."""

    __tablename__ = "case_type"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


isa_organisation = Table(
    "isa_organisation", db.metadata,
    Column("isa_id", ForeignKey("information_sharing_agreement.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
)
isa_case_type = Table(
    "isa_case_type", db.metadata,
    Column("isa_id", ForeignKey("information_sharing_agreement.id", ondelete="CASCADE"), primary_key=True),
    Column("case_type_code", ForeignKey("case_type.code", ondelete="CASCADE"), primary_key=True),
)


class InformationSharingAgreement(db.Model):
    """An ISA between two or more organisations for case types (none listed: every type). A draft until each
    party approves it (`IsaApproval`); in force while approved and within its dates; sharing a case with a
    partner needs one in force (casework/agreements.py, `ISA_ENFORCEMENT`)."""

    __tablename__ = "information_sharing_agreement"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TITLE_MAX))
    lawful_basis: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    review_on: Mapped[date | None] = mapped_column(Date)
    # Set when the last party approves; cleared when the parties, case types or dates change.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisations: Mapped[list[Organisation]] = relationship(secondary=isa_organisation)
    case_types: Mapped[list[CaseType]] = relationship(secondary=isa_case_type)
    approvals: Mapped[list[IsaApproval]] = relationship(cascade="all, delete-orphan", back_populates="agreement")

    def __str__(self) -> str:
        return self.name

    def status(self, on: date) -> str:
        """draft, approved (not yet started), in force, or expired, on that day."""
        if self.approved_at is None:
            return "draft"
        if self.valid_to is not None and self.valid_to < on:
            return "expired"
        return "in force" if self.valid_from <= on else "approved"


class IsaApproval(db.Model):
    """One party's approval of an agreement: who approved it for that organisation, and when."""

    __tablename__ = "isa_approval"
    isa_id: Mapped[int] = mapped_column(ForeignKey("information_sharing_agreement.id", ondelete="CASCADE"),
                                        primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))   # None: the operator (CLI)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agreement: Mapped[InformationSharingAgreement] = relationship(back_populates="approvals")
    organisation: Mapped[Organisation] = relationship()
    approved_by: Mapped[User | None] = relationship()


class Area(db.Model):
    """Where a case belongs: a district, a city (reference data; `seed-demo` adds Nottinghamshire's)."""

    __tablename__ = "area"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


class Service(db.Model):
    """What an organisation provides: victim support, IDVA, a panel, housing... (reference data)."""

    __tablename__ = "service"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


class ServiceProvision(db.Model):
    """An organisation provides a service in one area, or in every area (no area)."""

    __tablename__ = "service_provision"
    __table_args__ = (UniqueConstraint("service_code", "organisation_id", "area_code",
                                       name="uq_service_provision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("service.code", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    area_code: Mapped[str | None] = mapped_column(ForeignKey("area.code", ondelete="CASCADE"), index=True)

    service: Mapped[Service] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    area: Mapped[Area | None] = relationship(lazy="joined")

    def __str__(self) -> str:
        return f"{self.organisation} provides {self.service} in {self.area or 'every area'}"


class Setting(db.Model):
    """A partnership default leads and admins change without code (lead times, default due dates)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")

    def __str__(self) -> str:
        return self.key


class CodeEntitlement(db.Model):
    """One Victims' Code entitlement as reference data a lead changes: what it is, which right, who owes it, what
    starts its clock and how many working days it has (standard and under Enhanced Rights), and to which offences
    it applies. Diagrams open and close entitlements through operations; nothing about the Code is in code."""

    __tablename__ = "code_entitlement"
    __table_args__ = (UniqueConstraint("version", "code", "trigger", name="uq_code_entitlement"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(16), default="2020")
    code: Mapped[str] = mapped_column(String(16))             # R3a; the right is its number
    right: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    owner_service: Mapped[str] = mapped_column(String(32))    # the service whose provider owes it
    trigger: Mapped[str] = mapped_column(String(32))          # report, event:arrest, court:listing, ...
    standard_days: Mapped[int | None] = mapped_column()       # working days; none: no fixed deadline
    enhanced_days: Mapped[int | None] = mapped_column()
    offences: Mapped[str | None] = mapped_column(Text)        # offence categories it applies to; empty: all
    min_sentence_months: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str | None] = mapped_column(Text)            # VERIFY / UNSOURCED notes from the specification
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return f"{self.code} ({self.version}): {self.title}"
