"""Error pages: one handler per status, JSON for API clients, a rollback before any 500 page."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from models import db

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status: int, title: str, message: str):
    if _wants_json():
        return jsonify(error=message or title), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return _render(400, "Form expired", "The form was too old or came from elsewhere. "
                       "Go back, reload the page and try again; nothing was saved.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        titles = {404: "Not found", 403: "Not allowed", 405: "Method not allowed", 409: "Conflict"}
        message = {404: "There is nothing here, or you do not have access to it."}.get(
            exc.code or 500, exc.description or "")
        return _render(exc.code or 500, titles.get(exc.code or 500, exc.name), message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, "Something went wrong", "The error was logged and nothing was saved. "
                       "Please try again; if it keeps happening, tell your administrator.")
