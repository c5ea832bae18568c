"""Error pages: one handler per status, JSON for API clients, a rollback before any 500 page; and input that
would only fail later (NUL characters, lone surrogates, JSON nested past reason) refused at the door."""
from __future__ import annotations

import logging

from flask import Flask, abort, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

import access
from models import db

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status: int, title: str, message: str):
    if _wants_json():
        return jsonify(error=message or title), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


MAX_JSON_DEPTH = 32  # a case's answers are a few levels deep; thousands would make state unloadable later


def json_problem(value: object) -> str | None:
    """Why a parsed JSON body cannot be stored and shown again, or None when it can."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return problem
    return None


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored (PostgreSQL refuses NUL) or encoded (a lone surrogate), or None."""
    if "\x00" in text:
        return "text may not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text contains an invalid character (a lone surrogate)"
    return None


# Query or form fields holding an address to return to (Flask-Admin's `url`, the login's `next`): they end up in
# a Location header, where a line break is an error (and, unchecked elsewhere, header injection).
RETURN_FIELDS = ("url", "next")


def _check_input() -> None:
    for value in (*request.args.values(), *request.form.values()):
        problem = text_problem(value)
        if problem:
            abort(400, problem)
    for name in RETURN_FIELDS:
        for value in (*request.args.getlist(name), *request.form.getlist(name)):
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                abort(400, f"the return address ({name}) contains a control character")
    if request.is_json and request.content_length:
        try:
            # Parsed once: Flask caches it for the view's own get_json (the task completion path).
            data = request.get_json(silent=True)
        except RecursionError:
            abort(400, f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep")
        if data is None:
            return  # the view answers a body that is not JSON with its own message
        problem = json_problem(data)
        if problem:
            abort(400, problem)


def init_app(app: Flask) -> None:
    """Register the handlers and the input check."""
    app.before_request(_check_input)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        access.record_denial(400, f"CSRF: {exc.description}")
        return _render(400, "Form expired", "The form was too old or came from elsewhere. "
                       "Go back, reload the page and try again; nothing was saved.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code in (403, 404):
            access.record_denial(exc.code, exc.description or exc.name)
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
