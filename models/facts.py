"""Reportable facts diagrams record (entitlements, referrals, outcomes, panel actions) and which
processes each case type starts. Dashboards and exports read these tables, never workflow state."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.organisation import Organisation, User
from models.reference import CaseType  # noqa: F401  (relationship target)


class CaseFact(db.Model):
    """One reportable fact on a case, keyed by (kind, code) so later steps update it."""

    __tablename__ = "case_fact"
    __table_args__ = (UniqueConstraint("case_id", "kind", "code", name="uq_case_fact_kind_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_instance.id"))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(255))
    owner_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(Text)

    owner_organisation: Mapped[Organisation | None] = relationship()

    @property
    def details(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


# Mappings that start processes: approved ones, and approved ones whose removal still waits for approval.
MAPPING_IN_EFFECT = ("approved", "removal_pending")


class CaseTypeProcess(db.Model):
    """A process that starts when a case of this type is opened (reference data leads edit)."""

    __tablename__ = "case_type_process"
    __table_args__ = (UniqueConstraint("case_type_code", "process_key", name="uq_case_type_process"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_type_code: Mapped[str] = mapped_column(ForeignKey("case_type.code"), index=True)
    process_key: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Four eyes, as for deploys: a new mapping starts processes only once a lead of another organisation approves.
    approval: Mapped[str] = mapped_column(String(16), default="approved", server_default="approved")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    case_type: Mapped[CaseType] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    def __str__(self) -> str:
        return f"{self.case_type_code} → {self.process_key}"


# Defaults every database gets with `init-db` (editable afterwards).
DEFAULT_CASE_TYPE_PROCESSES: list[tuple[str, str]] = [
    ("victim_support", "victim_referral"),   # which starts victims_code with what the report already says
    ("restorative_justice", "restorative_justice"),
    ("domestic_abuse", "marac"),
    ("vulnerable_person", "vulnerable_persons_panel"),
    ("asb", "asb_casework"),   # ordinary ASB casework; the case review starts only from an application
    ("community_trigger", "asb_case_review"),
    ("hate_crime", "hate_crime_support"),
    *((code, "multi_agency_case") for code in ("iom", "cse", "troubled_families", "hmo", "street_drinkers",
                                               "licensed_premises", "acquisitive_crime")),
]
