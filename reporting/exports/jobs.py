"""Console exports as background jobs: queue, run in the worker (or a thread), report progress, download."""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select, update

from models import ExportJob, User, db, utcnow
from reporting import exports

log = logging.getLogger(__name__)
KEEP_FILES = 20  # per user: older finished files are removed
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


def _directory() -> Path:
    path = Path(current_app.instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(job_id: int) -> None:
    """Run one queued job (claimed with a conditional update so two workers never run it twice); commits."""
    claimed = db.session.execute(update(ExportJob).where(ExportJob.id == job_id, ExportJob.status == "queued")
                                 .values(status="running"))
    db.session.commit()
    if claimed.rowcount != 1:
        return
    job = db.session.get(ExportJob, job_id)
    user = db.session.get(User, job.user_id)
    target = _directory() / f"job-{job.id}.xlsx"

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
        result = exports.run(job.export_name, user, filters, str(target), progress)
        job = db.session.get(ExportJob, job_id)
        job.status, job.rows, job.filename, job.path = "done", result.rows, result.filename, str(target)
        job.done, job.finished_at = result.rows, utcnow()
        db.session.commit()
    except Exception as exc:  # reported on the job page; the worker carries on
        db.session.rollback()
        log.exception("export job %s failed", job_id)
        job = db.session.get(ExportJob, job_id)
        job.status, job.error, job.finished_at = "failed", str(exc)[:2000], utcnow()
        db.session.commit()
        target.unlink(missing_ok=True)
    finally:
        PROGRESS.pop(job_id, None)
    _tidy(job.user_id)


def _tidy(user_id: int) -> None:
    old = db.session.scalars(select(ExportJob).where(ExportJob.user_id == user_id, ExportJob.status == "done")
                             .order_by(ExportJob.id.desc()).offset(KEEP_FILES)).all()
    for job in old:
        if job.path:
            Path(job.path).unlink(missing_ok=True)
        job.status, job.path = "expired", None
    db.session.commit()


def run_pending(limit: int = 5) -> int:
    """Run queued jobs (the worker calls this every tick); returns how many were run."""
    ids = db.session.scalars(select(ExportJob.id).where(ExportJob.status == "queued")
                             .order_by(ExportJob.id).limit(limit)).all()
    db.session.rollback()
    for job_id in ids:
        run(job_id)
    return len(ids)


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


def file_for(job: ExportJob) -> str | None:
    """The finished file's path, if it is still there."""
    return job.path if job.status == "done" and job.path and os.path.exists(job.path) else None
