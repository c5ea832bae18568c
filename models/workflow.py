"""Process definitions (immutable versions), instances on cases, work items, API tokens."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.case import Case
from models.enums import column_type
from models.organisation import Organisation, User


class InstanceStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"


class ItemStatus(StrEnum):
    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ProcessDefinition(db.Model):
    """One deployed version of a process; never changed after it is stored."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_definition_key_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True, deferred_raiseload=False)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    calls: Mapped[str] = mapped_column(Text, default="[]")   # keys of called processes (JSON list)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Four eyes: a version a lead deploys in the console or API is "pending" (not in effect) until a lead of
    # another organisation approves it; "approved" (in effect when active) or "rejected".
    approval: Mapped[str] = mapped_column(String(16), default="approved", server_default="approved")
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    change_note: Mapped[str | None] = mapped_column(Text)   # what the lead says changed (console deploys need one)

    deployed_by: Mapped[User | None] = relationship(foreign_keys=[deployed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def called_keys(self) -> list[str]:
        return json.loads(self.calls or "[]")

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


class WorkflowInstance(db.Model):
    """A process running on a case: the serialized engine state plus what queries need."""

    __tablename__ = "workflow_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    # The engine's state (60-100 KB of JSON): loaded only when the process runs, never by lists or pages.
    state: Mapped[str] = mapped_column(Text, deferred=True, deferred_raiseload=False)
    # bpmn id -> completed / ready / waiting / error, saved with the state so the case page needs no engine.
    steps: Mapped[str | None] = mapped_column(Text)
    status: Mapped[InstanceStatus] = mapped_column(column_type(InstanceStatus, "instance_status"),
                                                   default=InstanceStatus.RUNNING, index=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    case: Mapped[Case] = relationship()
    definition: Mapped[ProcessDefinition] = relationship()
    started_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": row_version}


class WorkItem(db.Model):
    """One user task of an instance, mirrored so inboxes, dashboards and exports never load workflows."""

    __tablename__ = "work_item"
    __table_args__ = (
        UniqueConstraint("instance_id", "spiff_task_id", name="uq_work_item_task"),
        Index("ix_work_item_org_status", "organisation_id", "status"),
        Index("ix_work_item_reminders", "status", "reminder_stage", "due_at"),
        # Work lists: an organisation's ready items, soonest due first (the order My work and the API use).
        Index("ix_work_item_ready", "organisation_id", "due_at", "id",
              postgresql_where=text("status = 'ready'"), sqlite_where=text("status = 'ready'")),
        # Meeting steps waiting to be listed: a panel's few, never a scan of every ready item.
        Index("ix_work_item_meeting", "meeting_type", "organisation_id",
              postgresql_where=text("meeting_type IS NOT NULL AND status = 'ready'"),
              sqlite_where=text("meeting_type IS NOT NULL AND status = 'ready'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("workflow_instance.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    process_key: Mapped[str] = mapped_column(String(255), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    documentation: Mapped[str | None] = mapped_column(Text)
    lane: Mapped[str | None] = mapped_column(String(255))
    candidate_groups: Mapped[str] = mapped_column(Text, default="[]")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    required_role: Mapped[str | None] = mapped_column(String(32))
    unassigned_reason: Mapped[str | None] = mapped_column(Text)
    form: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[ItemStatus] = mapped_column(column_type(ItemStatus, "item_status"), default=ItemStatus.READY,
                                               index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Reminders sent for this item: 0 none, 1 "due soon", 2 "overdue" (so the worker tells people once).
    reminder_stage: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data: Mapped[str | None] = mapped_column(Text)
    # A meeting step: the meeting type it waits for, and {"reason", "research"} for the agenda (JSON).
    meeting_type: Mapped[str | None] = mapped_column(String(32))
    meeting_info: Mapped[str | None] = mapped_column(Text)
    # Earlier answers the step's page shows first (JSON list of field ids, or "safe_contact").
    shows: Mapped[str | None] = mapped_column(Text)

    instance: Mapped[WorkflowInstance] = relationship()
    case: Mapped[Case] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    @property
    def groups(self) -> list[str]:
        return json.loads(self.candidate_groups or "[]")

    @property
    def fields(self) -> list[dict[str, Any]]:
        return json.loads(self.form or "[]")

    @property
    def answers(self) -> dict[str, Any]:
        return json.loads(self.data) if self.data else {}

    @property
    def shown_first(self) -> list[str]:
        """What the step's page shows before its form (the diagram's `show` property)."""
        return json.loads(self.shows) if self.shows else []


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the owner calls it ("case intake robot"), so they can tell their tokens apart.
    label: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Kept to the minute (one write a minute per token, not one per request).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(lazy="joined")

    PREFIX = "cbk_"

    @staticmethod
    def digest(token: str) -> str:
        """What is stored for a token: its SHA-256 (a KDF per request would cost tens of ms)."""
        return hashlib.sha256(token.encode()).hexdigest()


class ProcessDraft(db.Model):
    """A lead's work in progress on a diagram; invisible to practitioners, never run on real cases."""

    __tablename__ = "process_draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    deployed_definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    based_on: Mapped[ProcessDefinition | None] = relationship(foreign_keys=[based_on_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    __mapper_args__ = {"version_id_col": row_version}


class ProcessTestRun(db.Model):
    """A throw-away instance of a draft that a lead steps through; it belongs to no case."""

    __tablename__ = "process_test_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("process_draft.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="running")
    log: Mapped[str] = mapped_column(Text, default="[]")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # The diagram as it was when the run started (the draft may change under it) and how far the lead has
    # moved the run's clock ahead of real time, so timers and due dates can be tried without waiting.
    bpmn_xml: Mapped[str | None] = mapped_column(Text, deferred=True)
    time_offset: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    draft: Mapped[ProcessDraft] = relationship()

    __mapper_args__ = {"version_id_col": row_version}
