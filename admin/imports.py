"""Import screen: upload a legacy spreadsheet, check it (dry run, row by row), then import it; templates.

The checked file is kept in the instance folder under a random token bound to the uploading user, so
"Import these rows" imports exactly the file that was checked without a second upload.
"""
from __future__ import annotations

import re
import secrets
import time
from io import BytesIO
from pathlib import Path

from flask import abort, current_app, flash, request, send_file
from flask_admin import Admin, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

import access
from admin.base import SecureView
from casework import importing
from casework.errors import CasebookError
from models import db

STASH_HOURS = 24
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class ImportForm(FlaskForm):
    kind = SelectField("What the file holds", choices=[SelectChoice("people", "People"),
                                                       SelectChoice("cases", "Cases")])
    file = FileField("Spreadsheet (.xlsx)", description="The first sheet is read unless you name another; "
                     "row 1 holds the column headers.")
    sheet = StringField("Sheet name (optional)", validators=[Optional(), Length(max=100)])
    mapping = TextAreaField("Column mapping (optional)", validators=[Optional(), Length(max=4000)],
                            description="One per line: template_column=Header in your file, "
                                        "for example given_name=Forename")
    token = HiddenField()
    filename = HiddenField()


def _stash_dir() -> Path:
    path = Path(current_app.instance_path) / "import-uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stash(data: bytes) -> str:
    """Keep a checked upload for the import step; drop stale ones."""
    folder = _stash_dir()
    cutoff = time.time() - STASH_HOURS * 3600
    for old in folder.glob("*.xlsx"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (folder / f"{current_user.id}-{token}.xlsx").write_bytes(data)
    return token


def _stashed(token: str) -> Path | None:
    if not _TOKEN.match(token or ""):
        return None
    path = _stash_dir() / f"{current_user.id}-{token}.xlsx"
    return path if path.is_file() else None


class ImportView(SecureView):
    """Practitioners and managers import people and cases for their own organisation."""

    area = access.Area.IMPORT

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The upload form; a POST checks (dry run) or imports the file and shows the row-by-row report."""
        form = ImportForm()
        report, token, status = None, None, 200
        if form.validate_on_submit():
            report, token, status = self._handle(form)
        elif form.errors:
            status = 400
        return self.render("imports/index.html", form=form, report=report, token=token,
                           kinds=importing.KINDS, columns=importing.COLUMNS), status

    def _handle(self, form: ImportForm):
        dry_run = request.form.get("action") != "import"
        upload = form.file.data
        if upload is not None and getattr(upload, "filename", ""):
            data, filename, stashed = upload.read(), upload.filename, None
        else:
            stashed = _stashed(form.token.data)
            if stashed is None:
                form.file.errors = list(form.file.errors) + ["Choose a spreadsheet to upload."]
                return None, None, 400
            data, filename = stashed.read_bytes(), form.filename.data or "upload.xlsx"
        try:
            report = importing.run(current_user, form.kind.data, data, filename=filename,
                                   mapping=importing.parse_mapping(form.mapping.data),
                                   sheet=form.sheet.data or None, dry_run=dry_run)
        except CasebookError as exc:
            db.session.rollback()
            form.mapping.errors = list(form.mapping.errors) + [str(exc)]
            return None, None, 400
        if not report.keep:
            db.session.rollback()
        importing.record(current_user, report)
        db.session.commit()
        if report.keep:
            if stashed is not None:
                stashed.unlink(missing_ok=True)
            flash(report.summary(), "success")
            return report, None, 200
        token = (form.token.data if stashed is not None else _stash(data)) if report.ok else None
        form.filename.data = importing.safe_filename(filename)
        return report, token, 200 if report.ok else 422

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
