"""Background jobs (large exports) that the console queues and the worker runs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
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
