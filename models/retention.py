"""Retention: how long each case type is kept after closure and what happens then, and the disposal decisions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.organisation import User
from models.reference import CaseType

ACTIONS = ("review", "anonymise", "delete")


class RetentionRule(db.Model):
    """For one case type: days after closure before its cases are due, and what is then proposed (reference
    data the partnership sets from its policies; a type without a rule is kept)."""

    __tablename__ = "retention_rule"
    case_type_code: Mapped[str] = mapped_column(ForeignKey("case_type.code"), primary_key=True)
    keep_days: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16), default="review")
    policy: Mapped[str | None] = mapped_column(Text)   # where the period comes from (the ISA, a force policy)

    case_type: Mapped[CaseType] = relationship()

    def __str__(self) -> str:
        return f"{self.case_type_code}: {self.action} after {self.keep_days} days"


class DisposalReview(db.Model):
    """A closed case whose retention period has ended: due until a manager of the lead organisation decides;
    the row (reference, type, dates, who, how) outlives the case as the disposal report."""

    __tablename__ = "disposal_review"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"), index=True)
    case_reference: Mapped[str] = mapped_column(String(32))
    case_type_code: Mapped[str] = mapped_column(String(32))
    lead_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed: Mapped[str] = mapped_column(String(16))            # the rule's action when it became due
    status: Mapped[str] = mapped_column(String(16), default="due", index=True)   # due, kept, disposed
    outcome: Mapped[str | None] = mapped_column(String(16))      # anonymised, deleted, kept
    keep_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    removed: Mapped[str | None] = mapped_column(Text)            # JSON counts of what disposal removed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    decided_by: Mapped[User | None] = relationship()
