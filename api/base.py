"""The API blueprint every route module registers on: authentication, JSON bodies, JSON errors only."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

import access
from access import csrf
from casework.errors import (CasebookError, Conflict, InvalidData, InvalidInput, NotFound, NotPermitted,
                             PossibleDuplicates, StaleEdit)
from models import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, message: str, **extra: Any):
    """A JSON error response: {"error": "..."} plus any extra keys."""
    return jsonify({"error": message, **extra}), status


@bp.before_request
def _authenticate():
    """401 without credentials; cookie sessions must also carry a CSRF token to write."""
    if request.endpoint == "api.openapi":
        return None   # the API's description holds no data
    if not current_user.is_authenticated:
        if request.headers.get("Authorization"):
            access.record_denial(401, "bad, expired or revoked API token")
        response = jsonify(error="authentication required: send 'Authorization: Bearer <token>'")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="casebook"'
        return response
    bearer = request.headers.get("Authorization", "").startswith("Bearer ")
    if not bearer and request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    return None


def body() -> dict[str, Any]:
    """The JSON object sent, or a 400."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "the request body must be a JSON object")
    return data


@bp.errorhandler(CasebookError)
def _domain_error(exc: CasebookError):
    db.session.rollback()
    if isinstance(exc, InvalidData):
        return jsonify(errors=exc.errors), 422
    if isinstance(exc, InvalidInput):
        return jsonify(error=str(exc), errors=exc.fields), 422
    if isinstance(exc, NotFound):
        access.record_denial(404, str(exc) or "not found")
        return error(404, str(exc) or "not found")
    if isinstance(exc, NotPermitted):
        access.record_denial(403, str(exc) or "not allowed")
        return error(403, str(exc) or "not allowed")
    if isinstance(exc, (Conflict, StaleEdit)):
        return error(409, str(exc))
    if isinstance(exc, PossibleDuplicates):
        return error(409, str(exc))
    return error(400, str(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    db.session.rollback()
    messages = {404: "not found (or not visible to you)", 405: "method not allowed"}
    if exc.code in (403, 404):
        access.record_denial(exc.code, exc.description or exc.name)
    return error(exc.code or 500, messages.get(exc.code or 0) or exc.description or exc.name)
