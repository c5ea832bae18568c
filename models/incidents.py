"""Incidents and complaints as records (casework/incidents.py): the thresholds processes apply are computed
from them, never typed."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.organisation import Organisation, User


class Incident(db.Model):
    """One report of an incident to one agency (a complaint): when it happened, to whom and when it was
    reported, by whom. Another agency's report of the same incident points at the first (`same_as_id`), so
    thresholds count the incident once."""

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_person_occurred", "person_id", "occurred_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))  # who it affected
    kind: Mapped[str] = mapped_column(String(32))             # casework.incidents.KINDS
    occurred_on: Mapped[date] = mapped_column(Date)
    reported_on: Mapped[date] = mapped_column(Date)
    reported_to_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    reported_by: Mapped[str] = mapped_column(String(200))     # who complained: the victim, a neighbour, a councillor
    reference: Mapped[str | None] = mapped_column(String(64))  # the agency's own reference
    hate_motivated: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text)
    same_as_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reported_to: Mapped[Organisation] = relationship(foreign_keys=[reported_to_org_id], lazy="joined")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
