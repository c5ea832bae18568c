"""Documents over the API: upload to a case, list a case's documents, download one (the issue 16 contract)."""
from __future__ import annotations

import io
from typing import Any

from flask import jsonify, request, send_file
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

import access
from api.base import bp, error
from casework import documents, filecheck
from casework.errors import InvalidInput, NotFound, NotPermitted
from models import Case, Document, audit, db


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _visible_case(case_id: int) -> Case:
    case = db.session.scalar(access.visible(current_user, Case).where(Case.id == case_id))
    if case is None:
        raise NotFound("no such case")
    return case


def document_json(doc: Document) -> dict[str, Any]:
    """A document as the list gives it."""
    return {"id": doc.id, "name": doc.name, "size": doc.size, "content_type": doc.content_type,
            "uploaded_by": doc.uploaded_by.name if doc.uploaded_by else None, "uploaded_at": _iso(doc.uploaded_at)}


@bp.errorhandler(413)
def _too_large(exc: RequestEntityTooLarge):
    db.session.rollback()
    return error(413, f"the request is larger than the {filecheck.megabytes(request.max_content_length or 0)} "
                      f"this server accepts; documents may be at most {filecheck.megabytes(documents.max_bytes())}")


@bp.post("/cases/<int:case_id>/documents")
def upload_document(case_id: int):
    """Upload a file (multipart `file`, optional `title`) → 201 {"id","name","size","content_type","scanned"};
    refused content → 422 {"error"} (audited)."""
    case = _visible_case(case_id)
    if not access.can(current_user, access.Action.ADD_NOTE, case):
        return error(403, "only the organisations on this case may add documents to it")
    upload = request.files.get("file")
    if upload is None:
        return error(400, "send the file as multipart form field 'file'")
    name = upload.filename or ""
    try:
        doc = documents.store(current_user, case=case, name=name, data=upload.read(),
                              title=request.form.get("title"))
    except InvalidInput as exc:
        db.session.rollback()
        documents.record_refusal(current_user, case=case, name=name, refused=exc)
        db.session.commit()
        message = exc.fields.get("file") or str(exc)
        return jsonify(error=message, errors=exc.fields), 422
    except NotPermitted as exc:
        db.session.rollback()
        return error(403, str(exc))
    out = {"id": doc.id, "name": doc.name, "size": doc.size, "content_type": doc.content_type,
           "scanned": doc.scanned == documents.CLEAN}
    db.session.commit()
    return jsonify(out), 201


@bp.get("/cases/<int:case_id>/documents")
def list_documents(case_id: int):
    """The case's documents, latest version of each, newest first (audited as a view)."""
    case = _visible_case(case_id)
    if not access.can_see_case_content(current_user, case):
        return error(403, "case metadata only")
    rows = [document_json(d) for d in documents.list_for_case(case)]
    audit.record("view", user=current_user, object_type="documents", object_id=case.id, case_id=case.id)
    db.session.commit()
    return jsonify(rows)


@bp.get("/documents/<int:document_id>")
def download_document(document_id: int):
    """The file, as an attachment (audited); 404 for anything the caller may not see."""
    doc = documents.get(current_user, document_id)
    data = documents.download(current_user, doc)
    db.session.commit()
    response = send_file(io.BytesIO(data), mimetype=doc.content_type, as_attachment=True, download_name=doc.name,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
