"""Import screen: upload a legacy spreadsheet to check (dry run, row by row) or import; the worker runs it as a
job and the job page shows the report, then "Import these rows" imports exactly the checked file. Templates.

The uploaded file and the report live in the job's row, so any app server shows them and nothing is kept on
a server's disk; no request waits on an import.
"""
from __future__ import annotations

from io import BytesIO

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_admin import Admin, expose
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

import access
from admin.base import SecureView
from admin.forms import Form
from casework import import_jobs, importing
from casework.errors import CasebookError, NotFound
from models import ImportJob, db


class ImportForm(Form):
    kind = SelectField("What the file holds", choices=[SelectChoice("people", "People"),
                                                       SelectChoice("cases", "Cases")])
    file = FileField("Spreadsheet (.xlsx)", description="The first sheet is read unless you name another; "
                     "row 1 holds the column headers.")
    sheet = StringField("Sheet name (optional)", validators=[Optional(), Length(max=100)])
    mapping = TextAreaField("Column mapping (optional)", validators=[Optional(), Length(max=4000)],
                            description="One per line: template_column=Header in your file, "
                                        "for example given_name=Forename")


class ImportView(SecureView):
    """Practitioners and managers import people and cases for their own organisation."""

    area = access.Area.IMPORT

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The upload form and the user's recent imports; a POST queues a check or an import."""
        form = ImportForm()
        status = 200
        if form.validate_on_submit():
            queued = self._queue(form)
            if queued is not None:
                return redirect(url_for(".job", job_id=queued))
            status = 400
        elif form.errors:
            status = 400
        recent = db.session.scalars(select(ImportJob).where(ImportJob.user_id == current_user.id)
                                    .order_by(ImportJob.id.desc()).limit(10)).all()
        return self.render("imports/index.html", form=form, recent=recent, kinds=importing.KINDS,
                           columns=importing.COLUMNS), status

    def _queue(self, form: ImportForm) -> int | None:
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            form.file.errors = list(form.file.errors) + ["Choose a spreadsheet to upload."]
            return None
        try:
            job = import_jobs.queue(current_user, form.kind.data, upload.read(), upload.filename,
                                    importing.parse_mapping(form.mapping.data), form.sheet.data or None,
                                    dry_run=request.form.get("action") != "import")
        except CasebookError as exc:
            db.session.rollback()
            form.mapping.errors = list(form.mapping.errors) + [str(exc)]
            return None
        db.session.commit()
        import_jobs.start_now(current_app._get_current_object(), job.id)
        return job.id

    @expose("/jobs/<int:job_id>/")
    def job(self, job_id: int):
        """A check or import: waiting (the page refreshes itself), or its row-by-row report."""
        job = self._job(job_id)
        report = import_jobs.report_of(job)
        status = 422 if report is not None and not report.ok else 200
        checked = report is not None and report.dry_run and report.ok
        return self.render("imports/job.html", job=job, report=report, can_import=checked), status

    @expose("/jobs/<int:job_id>/import", methods=("POST",))
    def import_checked(self, job_id: int):
        """Import the file whose check passed (no second upload)."""
        job = self._job(job_id)
        try:
            import_jobs.import_checked(current_user, job)
        except CasebookError as exc:
            db.session.rollback()
            flash(f"Nothing was imported: {exc}", "error")
            return redirect(url_for(".job", job_id=job.id))
        db.session.commit()
        import_jobs.start_now(current_app._get_current_object(), job.id)
        return redirect(url_for(".job", job_id=job.id))

    def _job(self, job_id: int) -> ImportJob:
        try:
            return import_jobs.get(current_user, job_id)
        except NotFound:
            abort(404)

    @expose("/template/<kind>.xlsx")
    def template(self, kind: str):
        """The blank template workbook for a kind of import."""
        if kind not in importing.KINDS:
            abort(404)
        return send_file(BytesIO(importing.template_bytes(kind)), as_attachment=True,
                         download_name=f"casebook-{kind}-import-template.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def add_views(console: Admin) -> None:
    """Add the Import screen to the console."""
    console.add_view(ImportView(name="Import", endpoint="imports"))
