"""Background jobs (exports, imports) that the console queues and the worker runs, and the claim every worker
uses so that several share one queue."""
from __future__ import annotations

from datetime import datetime

import os
import socket
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, skip_locked, utcnow
from models.organisation import User


class ExportJob(db.Model):
    """One export a user asked for in the console; the finished file is kept in the database as chunks (so any
    app server can hand it out, whichever worker made it, and neither holds a whole workbook in memory)."""

    __tablename__ = "export_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    export_name: Mapped[str] = mapped_column(String(64))
    filters: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    total: Mapped[int | None] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(BigInteger)
    # Which worker runs it and since when (a job whose worker died is taken over after a while).
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class ImportJob(db.Model):
    """A spreadsheet a user uploaded to check or import; the worker runs it (no request waits on an import),
    and the file and the row-by-row report are kept in the row, so any app server shows it."""

    __tablename__ = "import_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    sheet: Mapped[str | None] = mapped_column(String(100))
    mapping: Mapped[str] = mapped_column(Text, default="{}")
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    report: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


def worker_name() -> str:
    """Who claims a job: host and process, for the job page and for finding jobs a dead worker held."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(model: Any, job_id: int | None = None) -> int | None:
    """Mark one queued job of `model` (this one, or the oldest) as running for this process; commits. None if
    another worker has it (FOR UPDATE SKIP LOCKED on PostgreSQL; the conditional update guards SQLite)."""
    stmt = select(model.id).where(model.status == "queued").order_by(model.id).limit(1)
    if job_id is not None:
        stmt = stmt.where(model.id == job_id)
    found = db.session.scalar(skip_locked(stmt))
    if found is None:
        db.session.rollback()
        return None
    claimed = db.session.execute(update(model).where(model.id == found, model.status == "queued")
                                 .values(status="running", claimed_by=worker_name(), started_at=utcnow()))
    db.session.commit()
    return found if claimed.rowcount == 1 else None


class ExportChunk(db.Model):
    """One piece (at most CHUNK_SIZE bytes) of a finished export's workbook, in order."""

    __tablename__ = "export_chunk"
    job_id: Mapped[int] = mapped_column(ForeignKey("export_job.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DashboardSnapshot(db.Model):
    """An organisation's dashboard figures for one set of filters, over the cases all its managers see.

    Computing them reads every visible case, work item and fact, so views read this row instead and the
    worker keeps it fresh; each user's restricted cases are added live (they are few)."""

    __tablename__ = "dashboard_snapshot"
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                                 primary_key=True)
    filters_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    content: Mapped[str] = mapped_column(Text)
