"""Database and demo commands: `init-db`, `seed-demo`, `audit verify`, `audit anchor`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from casework import anchors, reference
from casework.errors import CasebookError
from cli import demo
from cli.common import fail
from models import AuditEvent, AuditVerification, db
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
    """Recompute the hash chain (keyed with AUDIT_HMAC_KEY when set) and check it against the signed
    checkpoints in AUDIT_ANCHOR_FILE; exit 1 naming the first altered, removed or inserted event."""
    anchor_file = current_app.config.get("AUDIT_ANCHOR_FILE") or None
    try:
        checkpoints = anchors.read(anchor_file) if anchor_file else None
    except anchors.AnchorError as exc:
        raise click.ClickException(str(exc)) from None
    result = audit_log.verify(key=audit_log.audit_key(), anchors=checkpoints)
    # Kept for the audit log's page ("chain verified at ..."), whether it held or not.
    db.session.add(AuditVerification(ok=result.ok, checked=result.checked, message=result.message))
    db.session.commit()
    if not result.ok:
        raise click.ClickException(result.message)
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    against = f"; {len(checkpoints)} checkpoint(s) match" if checkpoints else ""
    click.echo(f"{result.message} (of {total}){against}")


@audit_group.command("anchor")
@click.option("--file", "anchor_file", default=None, help="Checkpoint file (default: AUDIT_ANCHOR_FILE).")
def audit_anchor(anchor_file: str | None) -> None:
    """Append a signed checkpoint of the chain's head now (the worker does it every AUDIT_ANCHOR_MINUTES)."""
    anchor_file = anchor_file or current_app.config.get("AUDIT_ANCHOR_FILE")
    if not anchor_file:
        raise click.ClickException("no checkpoint file: pass --file or set AUDIT_ANCHOR_FILE")
    try:
        entry = anchors.write(anchor_file)
    except (anchors.AnchorError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"checkpoint written: event {entry['id']}, {entry['count']} events" if entry
               else "the audit log is empty: nothing to checkpoint")


COMMANDS = (init_db, seed_demo, audit_group)
