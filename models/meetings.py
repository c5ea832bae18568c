"""Panels and meetings (casework/meetings.py): a meeting of a type (reference data) held by a panel
organisation, its invited organisations and attendance register, an agenda of cases with minutes and outcomes,
and actions per case that become steps for their owners and carry forward until done."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.case import Case
from models.organisation import Organisation, User


class MeetingType(db.Model):
    """A kind of panel (MARAC, vulnerable persons panel, …): the service that runs it and the confidentiality
    statement every attendee accepts. Reference data leads change."""

    __tablename__ = "meeting_type"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    service_code: Mapped[str] = mapped_column(String(64))   # the organisation holding it provides this service
    confidentiality_statement: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


class Meeting(db.Model):
    """One sitting of a panel."""

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_org_type_starts", "organisation_id", "meeting_type_id", "starts_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_type_id: Mapped[int] = mapped_column(ForeignKey("meeting_type.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))   # the panel that holds it
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(500))
    chair: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)   # minutes complete; nothing more listed
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    meeting_type: Mapped[MeetingType] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    invites: Mapped[list[MeetingInvite]] = relationship(back_populates="meeting", cascade="all, delete-orphan")
    attendees: Mapped[list[MeetingAttendee]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                            order_by="MeetingAttendee.id")
    items: Mapped[list[AgendaItem]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                   order_by="AgendaItem.position")

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def title(self) -> str:
        return f"{self.meeting_type.name}, {self.starts_at:%d/%m/%Y}"


class MeetingInvite(db.Model):
    """An organisation invited to the meeting: its people may attend and see the agenda and minutes."""

    __tablename__ = "meeting_invite"
    __table_args__ = (UniqueConstraint("meeting_id", "organisation_id", name="uq_meeting_invite"),
                      Index("ix_meeting_invite_org", "organisation_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="invites")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class MeetingAttendee(db.Model):
    """A line of the attendance register: who, for which organisation, present or not, and when they accepted
    the confidentiality statement."""

    __tablename__ = "meeting_attendee"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id", name="uq_meeting_attendee"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    present: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    user: Mapped[User] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class AgendaItem(db.Model):
    """A case on a meeting's agenda: why it is listed, the step waiting for the outcome (if a process listed
    it), and the minutes and outcome the coordinator records."""

    __tablename__ = "agenda_item"
    __table_args__ = (UniqueConstraint("meeting_id", "case_id", name="uq_agenda_case"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16))   # process, hand, carried
    reason: Mapped[str] = mapped_column(Text)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"), index=True)
    listed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    minutes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="items")
    case: Mapped[Case] = relationship(lazy="joined")


class MeetingAction(db.Model):
    """An action agreed for a case at a meeting: owned by one organisation, done through a step in its work
    list; open ones carry forward to the panel's next meeting."""

    __tablename__ = "meeting_action"
    __table_args__ = (Index("ix_meeting_action_open", "case_id", "state"),
                      Index("ix_meeting_action_owner", "owner_organisation_id", "state"),
                      # A panel's open actions (carried forward when it schedules a meeting).
                      Index("ix_meeting_action_panel", "panel_organisation_id", "meeting_type_id", "state"))
    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    meeting_type_id: Mapped[int] = mapped_column(ForeignKey("meeting_type.id"))
    panel_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    owner_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    text: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="open")   # open, in_progress, done, not_achievable
    update: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)   # why it is not achievable
    carried: Mapped[int] = mapped_column(Integer, default=0)   # meetings it was carried forward to
    # The latest meeting it was carried to (None: still with the meeting that agreed it).
    carried_to_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_instance.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agenda_item: Mapped[AgendaItem] = relationship()
    owner: Mapped[Organisation] = relationship(foreign_keys=[owner_organisation_id], lazy="joined")
