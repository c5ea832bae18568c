"""Reports and exports in the console: pick an export and filters; it runs in the background with progress."""
from __future__ import annotations

import json

from flask import Response, abort, current_app, redirect, request, stream_with_context, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select

import access
from admin.base import SecureView
from models import CaseType, ExportJob, Organisation, audit, db
from reporting import exports
from reporting.exports import jobs


class ReportsView(SecureView):
    """Every export the user may run, the filters, and their recent jobs."""

    area = access.Area.REPORTS

    @expose("/", methods=("GET", "POST"))
    def index(self):
        available = exports.available(current_user)
        errors: dict[str, str] = {}
        if request.method == "POST":
            name = request.form.get("export", "")
            raw = {k: v.strip() for k, v in request.form.items()
                   if k in ("from", "to", "organisation", "case_type", "baseline_from", "baseline_to") and v.strip()}
            try:
                job = jobs.queue(current_user, name, raw)
                db.session.commit()
                jobs.start_now(current_app._get_current_object(), job.id)
                return redirect(url_for(".job", job_id=job.id))
            except exports.UnknownExport:
                db.session.rollback()
                errors["export"] = "Choose one of the exports listed."
            except exports.ExportNotPermitted as exc:
                db.session.rollback()
                errors["export"] = str(exc)
            except exports.BadFilter as exc:
                db.session.rollback()
                errors[getattr(exc, "field", "filters") or "filters"] = str(exc)
        recent = db.session.scalars(select(ExportJob).where(ExportJob.user_id == current_user.id)
                                    .order_by(ExportJob.id.desc()).limit(10)).all()
        return self.render("reports/index.html", available=available, recent=recent, errors=errors,
                           form=request.form,
                           organisations=db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                                                            .order_by(Organisation.name)).all(),
                           case_types=db.session.scalars(select(CaseType).where(CaseType.active.is_(True))
                                                         .order_by(CaseType.name)).all()), (400 if errors else 200)

    def _job(self, job_id: int) -> ExportJob:
        job = db.session.get(ExportJob, job_id)
        if job is None or job.user_id != current_user.id:
            abort(404)
        return job

    @expose("/jobs/<int:job_id>/")
    def job(self, job_id: int):
        """Progress of one export; the page refreshes itself until the file is ready."""
        job = self._job(job_id)
        done, total = jobs.progress_of(job)
        percent = 100 if job.status == "done" else (int(100 * done / total) if total else 0)
        return self.render("reports/job.html", job=job, filters=json.loads(job.filters or "{}"), done=done,
                           total=total, percent=percent)

    @expose("/jobs/<int:job_id>/download")
    def download(self, job_id: int):
        """The finished workbook (only for the user who asked for it)."""
        job = self._job(job_id)
        if not jobs.is_kept(job):
            abort(404)
        audit.record("download", user=current_user, object_type="export_job", object_id=job.id,
                     detail={"export": job.export_name, "rows": job.rows})
        db.session.commit()
        # Streamed a chunk at a time, so a large workbook never sits whole in this server's memory.
        response = Response(stream_with_context(jobs.chunks_of(job.id)),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response.headers["Content-Length"] = str(job.size)
        response.headers.set("Content-Disposition", "attachment", filename=job.filename)
        return response


def add_views(console) -> None:
    """Add the Reports screen to the console."""
    console.add_view(ReportsView(name="Reports", endpoint="reports"))
