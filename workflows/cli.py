"""`flask --app app ...` commands (a contract other tools rely on: names and options are stable)."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from models import AuditEvent, db
from models import audit as audit_log
from workflows import demo, directory, processes, reference, tasks, tokens
from workflows.engine import DiagramError
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


@users.command("token")
@click.argument("email")
def users_token(email: str) -> None:
    """Print a new API token for the user (and nothing else on standard output)."""
    from models import User

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        raise click.ClickException(f"no active user with e-mail {email!r}")
    token = tokens.issue(user)
    db.session.commit()
    click.echo(token)
    click.echo(f"token issued for {user.email}; it is shown only once", err=True)


processes_group = AppGroup("processes", help="Process definitions (BPMN).")


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from None


@processes_group.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--as", "as_email", default=None, help="Record this lead as the deployer.")
def processes_deploy(files: tuple[str, ...], as_email: str | None) -> None:
    """Lint and deploy diagrams as new versions (identical to the latest: nothing new)."""
    from models import User

    user = None
    if as_email:
        user = db.session.scalar(select(User).where(func.lower(User.email) == as_email.lower()))
        if user is None:
            raise click.ClickException(f"no user with e-mail {as_email!r}")
    failed = False
    for path in files:
        try:
            definition, created = processes.deploy(_read(path), user)
            db.session.commit()
        except DiagramError as exc:
            db.session.rollback()
            failed = True
            for problem in exc.problems:
                click.echo(f"{path}: {problem}", err=True)
            continue
        state = "deployed" if created else "unchanged"
        click.echo(f"{path}: {state} {definition.key} version {definition.version}")
    if failed:
        raise SystemExit(1)


@processes_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def processes_check(files: tuple[str, ...]) -> None:
    """Lint diagrams without deploying; exit 1 if any has errors."""
    failed = False
    for path in files:
        try:
            parsed = processes.check(_read(path))
        except DiagramError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(f"{path}: {problem}", err=True)
            continue
        for warning in parsed.warnings:
            click.echo(f"{path}: warning: {warning}", err=True)
        click.echo(f"{path}: OK ({parsed.key})")
    if failed:
        raise SystemExit(1)


@processes_group.command("list")
def processes_list() -> None:
    """Each process with its latest version."""
    for d in processes.latest_per_key():
        deployed = d.deployed_at.strftime("%Y-%m-%d %H:%M")
        click.echo(f"{d.key}\tv{d.version}\t{deployed}\t{d.name or ''}")


timers = AppGroup("timers", help="Process timers (deadlines, reminders, escalations).")


def _parse_at(value: str | None):
    from datetime import datetime, timezone

    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.ClickException(f"--at {value!r} is not an ISO-8601 date-time") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


@timers.command("run")
@click.option("--at", "at_text", default=None, help="Act as of this ISO-8601 time (no offset means UTC).")
@click.option("--loop", is_flag=True, help="Keep running, checking every --interval seconds.")
@click.option("--interval", default=30, show_default=True, help="Seconds between checks with --loop.")
def timers_run(at_text: str | None, loop: bool, interval: int) -> None:
    """Fire every timer that is due, then exit (or keep going with --loop)."""
    import time

    at = _parse_at(at_text)
    while True:
        fired = tasks.fire_due_timers(at)
        click.echo(f"timers fired: {fired}")
        if loop:  # the separate worker also runs the console's queued exports
            from exports import jobs

            jobs.run_pending()
        if not loop:
            break
        time.sleep(max(interval, 1))


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
    for command in (init_db, seed_demo, orgs, users, processes_group, timers, audit_group):
        app.cli.add_command(command)
    from exports import cli as export_cli
    from workflows import import_cli

    export_cli.register(app)
    import_cli.register(app)
