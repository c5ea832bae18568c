"""The disclosure log and sharing exceptions (casework/disclosures.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.organisation import Organisation, User


class SharingException(db.Model):
    """A manager of the lead organisation let a case be shared with an organisation without an agreement in
    force, with a lawful basis and a reason (listed for the information-governance lead)."""

    __tablename__ = "sharing_exception"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    lawful_basis: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    recorded_by: Mapped[User] = relationship()


class Disclosure(db.Model):
    """One share: what went to which organisation, when, by whom, on which basis."""

    __tablename__ = "disclosure"
    __table_args__ = (Index("ix_disclosure_at", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    what: Mapped[str] = mapped_column(String(32))        # "case shared", "export", ...
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("information_sharing_agreement.id",
                                                                ondelete="SET NULL"))
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_exception.id", ondelete="SET NULL"))
    basis: Mapped[str] = mapped_column(Text)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    detail: Mapped[str | None] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship()


class ShareRequest(db.Model):
    """An organisation asks the one holding a person (found by matching, unseen by the asker) to share: granted
    (the asker becomes a partner on the cases the holder chooses) or refused with a reason."""

    __tablename__ = "share_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    holder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))   # never shown to the asker
    purpose: Mapped[str] = mapped_column(Text)
    lawful_basis: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")   # pending, granted, refused
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    shared_cases: Mapped[str | None] = mapped_column(Text)   # the case references shared, comma-separated
    # The share_request process whose step the holder's managers decide in (on one of the holder's cases).
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_instance.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requester_org: Mapped[Organisation] = relationship(foreign_keys=[requester_org_id])
    holder_org: Mapped[Organisation] = relationship(foreign_keys=[holder_org_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Consent(db.Model):
    """A person's consent, given or refused, for a purpose and organisations; how and by whom it was recorded;
    withdrawn when (never deleted: the history is the record)."""

    __tablename__ = "consent"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    given: Mapped[bool] = mapped_column()
    purpose: Mapped[str] = mapped_column(Text)
    organisations: Mapped[str] = mapped_column(Text)     # organisation codes, comma-separated
    method: Mapped[str] = mapped_column(String(16))      # verbal, written, online
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    recorded_by_org: Mapped[Organisation] = relationship()
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    @property
    def organisation_codes(self) -> list[str]:
        return [c for c in self.organisations.split(",") if c]
