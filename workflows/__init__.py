"""Services (they flush, never commit) and the command line; only workflows/engine.py will import SpiffWorkflow."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register every CLI command on app.cli."""
    from workflows import cli, worker

    cli.register(app)
    worker.init_app(app)
