"""The command-line face: every `flask --app app ...` command (a contract other tools rely on: names and
options are stable), the demo data `seed-demo` adds, and the background worker."""
from __future__ import annotations

from flask import Flask

from cli import database, directory, export, imports, notify, processes, reference, worker


def init_app(app: Flask) -> None:
    """Register every command on app.cli and start the in-process worker when configured."""
    for module in (database, directory, reference, processes, notify, export, imports):
        for command in module.COMMANDS:
            app.cli.add_command(command)
    worker.init_app(app)
