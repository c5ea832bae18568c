"""`flask --app app ...` commands (a contract other tools rely on: names and options are stable)."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from models import AuditEvent, db
from models import audit as audit_log
from workflows import demo, directory, reference
from workflows.errors import CasebookError


def _fail(exc: Exception) -> None:
    db.session.rollback()
    raise click.ClickException(str(exc).replace("\n", " "))


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the schema and add missing reference data (idempotent)."""
    from flask_migrate import upgrade

    upgrade(directory=current_app.extensions["migrate"].directory)
    added = reference.ensure_case_types()
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
        _fail(exc)
    click.echo(summary)


orgs = AppGroup("orgs", help="Manage organisations.")


@orgs.command("create")
@click.argument("code")
@click.option("--name", default=None, help="Display name.")
@click.option("--type", "org_type", default=None, help="police, victim_services, rj_service, council, ...")
@click.option("--area", default=None, help="Area served (optional).")
def orgs_create(code: str, name: str | None, org_type: str | None, area: str | None) -> None:
    """Add an organisation."""
    try:
        org = directory.create_organisation(code, name or "", org_type or "", area)
        db.session.commit()
    except CasebookError as exc:
        _fail(exc)
    click.echo(f"created organisation {org.code} ({org.type.value}): {org.name}")


users = AppGroup("users", help="Manage users.")


@users.command("create")
@click.argument("email")
@click.option("--name", default=None, help="Full name.")
@click.option("--org", "org_code", default=None, help="Organisation code.")
@click.option("--role", "roles", multiple=True, help="Role; repeat for several.")
@click.option("--password", default=None, help="Initial password (generated and printed when omitted).")
def users_create(email: str, name: str | None, org_code: str | None, roles: tuple[str, ...],
                 password: str | None) -> None:
    """Add a user to an organisation with one or more roles."""
    try:
        user, pw = directory.create_user(email, name or "", org_code or "", list(roles), password)
        db.session.commit()
    except CasebookError as exc:
        _fail(exc)
    click.echo(f"created user {user.email} in {user.organisation.code} with roles "
               f"{', '.join(sorted(r.value for r in user.roles))}")
    if password is None:
        click.echo(f"initial password: {pw}")


audit_group = AppGroup("audit", help="The audit log.")


@audit_group.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 naming the first altered, removed or inserted event."""
    result = audit_log.verify()
    if not result.ok:
        raise click.ClickException(result.message)
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    click.echo(f"{result.message} (of {total})")


def register(app: Flask) -> None:
    """Add every command to app.cli."""
    for command in (init_db, seed_demo, orgs, users, audit_group):
        app.cli.add_command(command)
