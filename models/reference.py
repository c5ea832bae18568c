"""Reference data leads and admins edit: case types and information-sharing agreements."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import NAME_MAX, TITLE_MAX, UTCDateTime, db, utcnow
from models.organisation import Organisation

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
    """An ISA between organisations for case types; recorded now, enforced by a later issue."""

    __tablename__ = "information_sharing_agreement"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TITLE_MAX))
    lawful_basis: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisations: Mapped[list[Organisation]] = relationship(secondary=isa_organisation)
    case_types: Mapped[list[CaseType]] = relationship(secondary=isa_case_type)

    def __str__(self) -> str:
        return self.name


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
