"""Exports over the API: the list the caller may run, and each export as an .xlsx download."""
from __future__ import annotations

import tempfile

from flask import jsonify, request, send_file
from flask_login import current_user

from api.base import bp, error
from models import db
from reporting import exports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/exports")
def list_exports():
    """The exports the caller may run."""
    return jsonify([{"name": r.name, "title": r.title, "description": r.description,
                     "url": f"/api/v1/exports/{r.name}.xlsx"} for r in exports.available(current_user)])


@bp.get("/exports/<name>.xlsx")
def download_export(name: str):
    """GET /api/v1/exports/<name>.xlsx?from=&to=&organisation=&case_type=[&baseline_from=&baseline_to=]

    404 for an unknown export, 403 when the caller may not run it, 400 for a bad filter.
    """
    try:
        report = exports.get(name)
    except exports.UnknownExport as exc:
        return error(404, str(exc))
    if not report.allowed(current_user):
        return error(403, f"your roles do not allow the {name} export")
    try:
        filters = exports.parse_filters(request.args.to_dict())
    except exports.BadFilter as exc:
        return error(400, f"bad filter {exc}", field=exc.field)
    # A temporary file (not memory) holds the workbook, so a large export costs disk, not RAM.
    out = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        result = exports.run(name, current_user, filters, out)
        db.session.commit()
    except BaseException:
        out.close()
        raise
    out.seek(0)
    response = send_file(out, mimetype=XLSX, as_attachment=True, download_name=result.filename)
    response.headers["X-Export-Rows"] = str(result.rows)
    response.headers["Cache-Control"] = "no-store"
    return response
