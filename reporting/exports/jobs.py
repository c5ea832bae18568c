"""Console exports as background jobs: queue, run in the worker (or a thread), report progress, download.

The finished workbook is stored in the database in chunks, so whichever app server the user reaches can hand
it out, and any number of workers share the queue (each claims a job with FOR UPDATE SKIP LOCKED on
PostgreSQL). Neither side holds a whole workbook in memory: the worker spools it to a temporary file that is
gone when the job ends, and the download streams it a chunk at a time.
"""
from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import IO

from flask import Flask
from sqlalchemy import delete, insert, select, update

from models import ExportChunk, ExportJob, User, db, utcnow
from models.jobs import claim as claim_job
from reporting import exports

log = logging.getLogger(__name__)
KEEP_FILES = 20  # per user: older finished files are removed
CHUNK_SIZE = 1024 * 1024  # bytes per stored piece: small enough to hold, large enough to be few rows
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a smaller workbook never touches the disk
STALE_AFTER = timedelta(hours=2)  # a job "running" this long lost its worker (killed, server gone): run it again
# Progress of jobs running in this process. On SQLite the export's transaction holds the write lock, so
# progress cannot be written to the job row while it runs; the job page reads it from here instead.
PROGRESS: dict[int, tuple[int, int | None]] = {}


def queue(user: User, name: str, raw_filters: dict[str, str]) -> ExportJob:
    """Check the request now (so mistakes are reported at once) and queue the job.

    :raise exports.UnknownExport, exports.ExportNotPermitted, exports.BadFilter:
    """
    report = exports.get(name)
    if not report.allowed(user):
        raise exports.ExportNotPermitted(f"you may not run the {name} export")
    exports.parse_filters(raw_filters)
    job = ExportJob(user_id=user.id, export_name=name, filters=json.dumps(raw_filters), status="queued")
    db.session.add(job)
    db.session.flush()
    return job


def claim(job_id: int | None = None) -> int | None:
    """Mark one queued export (this one, or the oldest) as running for this process; commits. None if taken."""
    return claim_job(ExportJob, job_id)


def run(job_id: int) -> None:
    """Run one queued job (claimed first, so two workers never run it twice); commits."""
    if claim(job_id) is None:
        return
    _build(job_id)


def _build(job_id: int) -> None:
    job = db.session.get(ExportJob, job_id)
    user = db.session.get(User, job.user_id)
    # A temporary file, deleted when the job ends: nothing is left on this server's disk.
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)

    def progress(event: str, n: int) -> None:
        done, total = PROGRESS.get(job_id, (0, None))
        PROGRESS[job_id] = (done, n) if event == "total" else (n, total)
        if db.engine.dialect.name == "sqlite":
            return
        # Its own short transaction, so pages served by other processes see the progress too.
        values = {"total": n} if event == "total" else {"done": n}
        with db.engine.begin() as conn:
            conn.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))

    try:
        filters = exports.parse_filters(json.loads(job.filters))
        result = exports.run(job.export_name, user, filters, target, progress)
        size = _store(job_id, target)
        job = db.session.get(ExportJob, job_id)
        job.status, job.rows, job.filename, job.size = "done", result.rows, result.filename, size
        job.done, job.finished_at = result.rows, utcnow()
        db.session.commit()
    except Exception as exc:  # reported on the job page; the worker carries on
        db.session.rollback()
        log.exception("export job %s failed", job_id)
        job = db.session.get(ExportJob, job_id)
        job.status, job.error, job.finished_at = "failed", str(exc)[:2000], utcnow()
        db.session.commit()
    finally:
        PROGRESS.pop(job_id, None)
        target.close()
    _tidy(job.user_id)


def _store(job_id: int, source: IO[bytes]) -> int:
    """Copy the workbook into the job's chunks (in the caller's transaction); returns its size in bytes."""
    source.seek(0)
    db.session.execute(delete(ExportChunk).where(ExportChunk.job_id == job_id))  # a retried job starts afresh
    size, seq = 0, 0
    while data := source.read(CHUNK_SIZE):
        db.session.execute(insert(ExportChunk).values(job_id=job_id, seq=seq, data=data))
        size, seq = size + len(data), seq + 1
    return size


def _tidy(user_id: int) -> None:
    old = db.session.scalars(select(ExportJob.id).where(ExportJob.user_id == user_id, ExportJob.status == "done")
                             .order_by(ExportJob.id.desc()).offset(KEEP_FILES)).all()
    if old:
        db.session.execute(delete(ExportChunk).where(ExportChunk.job_id.in_(old)))
        db.session.execute(update(ExportJob).where(ExportJob.id.in_(old)).values(status="expired"))
    db.session.commit()


def run_pending(limit: int = 5) -> int:
    """Run queued jobs, oldest first, each claimed so that workers on several servers share them; returns how
    many ran. Jobs left running by a worker that died are queued again first."""
    db.session.execute(update(ExportJob).where(ExportJob.status == "running",
                                               ExportJob.started_at < utcnow() - STALE_AFTER)
                       .values(status="queued", claimed_by=None))
    db.session.commit()
    ran = 0
    while ran < limit:
        job_id = claim()
        if job_id is None:
            break
        _build(job_id)
        ran += 1
    return ran


def start_now(app: Flask, job_id: int) -> None:
    """Run a just-queued job in a thread of this process, so the user need not wait for the worker tick."""
    if app.testing and not app.config.get("EXPORT_JOBS_IN_THREAD", False):
        return

    def work() -> None:
        with app.app_context():
            try:
                run(job_id)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"casebook-export-{job_id}", daemon=True).start()


def progress_of(job: ExportJob) -> tuple[int, int | None]:
    """(rows written, rows expected) from this process if it runs the job, else from the job row."""
    done, total = PROGRESS.get(job.id, (0, None))
    return max(done, job.done or 0), total or job.total


def is_kept(job: ExportJob) -> bool:
    """Whether the finished workbook can still be downloaded."""
    return job.status == "done" and job.size is not None


def chunks_of(job_id: int) -> Iterator[bytes]:
    """The finished workbook a chunk at a time, each read on its own (memory stays at one chunk)."""
    seq = 0
    while (data := db.session.scalar(select(ExportChunk.data).where(ExportChunk.job_id == job_id,
                                                                     ExportChunk.seq == seq))) is not None:
        yield data
        seq += 1

