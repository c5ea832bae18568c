"""Database and demo commands: `init-db`, `seed-demo`, `audit verify`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from casework import reference
from casework.errors import CasebookError
from cli import demo
from cli.common import fail
from models import AuditEvent, db
from models import audit as audit_log


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the schema and add missing reference data (idempotent)."""
    from flask_migrate import upgrade

    upgrade(directory=current_app.extensions["migrate"].directory)
    added = reference.ensure_defaults()
    db.session.commit()
    url = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"database ready: {url} (case types added: {added})")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Add the Nottinghamshire demo partnership, a user per role, people and cases (idempotent)."""
    try:
        summary = demo.seed()
        db.session.commit()
    except CasebookError as exc:
        fail(exc)
    click.echo(summary)


audit_group = AppGroup("audit", help="The audit log.")


@audit_group.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 naming the first altered, removed or inserted event."""
    result = audit_log.verify()
    if not result.ok:
        raise click.ClickException(result.message)
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    click.echo(f"{result.message} (of {total})")


COMMANDS = (init_db, seed_demo, audit_group)
