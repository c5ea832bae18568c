"""JSON API under /api/v1 (DESIGN.md C11): bearer tokens or the console session, JSON errors only."""
from __future__ import annotations

from flask import Flask

from access import csrf
from api import cases, documents, exports, notifications, openapi, people, processes, tasks  # noqa: F401  (routes register on import)
from api.base import bp


def init_app(app: Flask) -> None:
    """Register the API; bearer requests skip CSRF (api/base.py checks CSRF for cookie sessions)."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
    openapi.init_app(app)
