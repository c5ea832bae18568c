"""Imports as background jobs: the console queues the uploaded file; a worker (any of them) checks or imports
it and keeps the row-by-row report in the job, so no request waits on an import and any app server shows the
result. A checked file is imported from the same job ("Import these rows"), without a second upload."""
from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

from flask import Flask
from sqlalchemy import delete, select, update

from casework import importing
from casework.errors import CasebookError, NotFound
from models import ImportJob, User, db, utcnow
from models.jobs import claim

log = logging.getLogger(__name__)
KEEP_HOURS = 24            # uploads and reports are removed a day after they finish
STALE_AFTER = timedelta(hours=1)


def queue(user: User, kind: str, data: bytes, filename: str, mapping: dict[str, str], sheet: str | None,
          dry_run: bool) -> ImportJob:
    """Check what can be checked now (so mistakes show at once) and queue the job.

    :raise CasebookError: a kind the user may not import, or a bad mapping
    """
    if kind not in importing.KINDS:
        raise importing.ImportFileError(f"unknown import kind {kind!r}")
    importing.check_allowed(user)
    job = ImportJob(user_id=user.id, kind=kind, filename=importing.safe_filename(filename), sheet=sheet,
                    mapping=json.dumps(mapping), content=data, dry_run=dry_run)
    db.session.add(job)
    db.session.flush()
    return job


def get(user: User, job_id: int) -> ImportJob:
    """One of the user's own jobs.

    :raise NotFound:
    """
    job = db.session.get(ImportJob, job_id)
    if job is None or job.user_id != user.id:
        raise NotFound("no such import")
    return job


def import_checked(user: User, job: ImportJob) -> None:
    """Queue the import of a file whose check passed.

    :raise CasebookError: when it was not checked, did not pass, or was already imported
    """
    if not (job.dry_run and job.status == "done" and job.report and importing.ImportReport.from_json(job.report).ok):
        raise importing.ImportFileError("only a file whose check passed can be imported; upload it again")
    if db.session.scalar(select(ImportJob.content.is_(None)).where(ImportJob.id == job.id)):
        raise importing.ImportFileError("the checked file is no longer kept; upload it again")
    job.dry_run, job.status, job.report, job.finished_at = False, "queued", None, None


def report_of(job: ImportJob) -> importing.ImportReport | None:
    """The finished job's row-by-row report."""
    return importing.ImportReport.from_json(job.report) if job.report else None


def run(job_id: int) -> None:
    """Run one queued job (claimed first, so two workers never run it twice); commits."""
    if claim(ImportJob, job_id) is not None:
        _build(job_id)


def _build(job_id: int) -> None:
    job = db.session.get(ImportJob, job_id)
    user, data = db.session.get(User, job.user_id), job.content
    try:
        report = importing.run(user, job.kind, data or b"", filename=job.filename,
                               mapping=json.loads(job.mapping or "{}"), sheet=job.sheet, dry_run=job.dry_run)
    except CasebookError as exc:   # a whole-file problem the upload check could not see
        db.session.rollback()
        report = importing.ImportReport(job.kind, job.filename, job.dry_run, errors=[str(exc)])
    except Exception as exc:  # reported on the job page; the worker carries on
        db.session.rollback()
        log.exception("import job %s failed", job_id)
        job = db.session.get(ImportJob, job_id)
        job.status, job.error, job.finished_at = "failed", str(exc)[:2000], utcnow()
        db.session.commit()
        return
    if not report.keep:
        db.session.rollback()
    importing.record(user, report)
    job = db.session.get(ImportJob, job_id)
    job.status, job.report, job.finished_at = "done", report.to_json(), utcnow()
    if report.keep:
        job.content = None   # imported: the file is not needed again
    db.session.commit()


def run_pending(limit: int = 3) -> int:
    """Run queued jobs, oldest first (jobs a dead worker held are queued again); drop old files and reports."""
    now = utcnow()
    db.session.execute(update(ImportJob).where(ImportJob.status == "running", ImportJob.started_at < now - STALE_AFTER)
                       .values(status="queued", claimed_by=None))
    db.session.execute(delete(ImportJob).where(ImportJob.finished_at < now - timedelta(hours=KEEP_HOURS)))
    db.session.commit()
    ran = 0
    while ran < limit and (job_id := claim(ImportJob)) is not None:
        _build(job_id)
        ran += 1
    return ran


def start_now(app: Flask, job_id: int) -> None:
    """Run a just-queued job in a thread of this process, so the user need not wait for the worker's tick."""
    if app.testing and not app.config.get("IMPORT_JOBS_IN_THREAD", False):
        return

    def work() -> None:
        with app.app_context():
            try:
                run(job_id)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"casebook-import-{job_id}", daemon=True).start()
