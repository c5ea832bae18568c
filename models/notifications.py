"""Notifications: the in-app centre, each user's choices per kind, and the e-mail outbox the worker sends."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.case import Case
from models.organisation import User
from models.workflow import WorkItem

# Kinds of notification; their wording and default delivery live in casework/notifications.py.
KINDS = ("new_step", "assigned_to_me", "due_soon", "overdue", "escalated", "request_answered", "case_shared",
         "share_request", "share_decided", "consent_withdrawn")
MODES = ("immediate", "digest", "off")


class Notification(db.Model):
    """One thing a user is told, shown in their notification centre (and e-mailed as they choose)."""

    __tablename__ = "notification"
    # The bell counts a user's unread rows, the centre lists a user's newest: both follow the user, not the table.
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),
                      Index("ix_notification_user_newest", "user_id", "id"),
                      Index("ix_notification_digest", "digest_pending", "user_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(500))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Waiting for the user's next daily digest e-mail.
    digest_pending: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship()
    # Set as objects by the services, so a new step's notifications go in with the step in one flush.
    work_item: Mapped[WorkItem | None] = relationship()
    case: Mapped[Case | None] = relationship()


class NotificationPreference(db.Model):
    """A user's choice for one kind: e-mail immediately, in the daily digest, or not at all."""

    __tablename__ = "notification_preference"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))


class OutboxMessage(db.Model):
    """An e-mail waiting to go (or gone): the worker sends it, retrying with backoff; never sent in a request."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
