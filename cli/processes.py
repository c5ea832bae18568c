"""Process commands: `processes check|deploy|list` and `timers run`."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from cli import worker
from cli.common import parse_at, read_bytes, user_by_email
from models import db
from workflows import processes
from workflows import timers as timers_service
from workflows.engine import DiagramError

processes_group = AppGroup("processes", help="Process definitions (BPMN).")


@processes_group.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--as", "as_email", default=None, help="Record this lead as the deployer.")
def processes_deploy(files: tuple[str, ...], as_email: str | None) -> None:
    """Lint and deploy diagrams as new versions (identical to the latest: nothing new)."""
    user = user_by_email(as_email, active_only=False) if as_email else None
    failed = False
    for path in files:
        try:
            definition, created = processes.deploy(read_bytes(path), user)
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
            parsed = processes.check(read_bytes(path))
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


@timers.command("run")
@click.option("--at", "at_text", default=None, help="Act as of this ISO-8601 time (no offset means UTC).")
@click.option("--loop", is_flag=True, help="Keep running, checking every --interval seconds.")
@click.option("--interval", default=30, show_default=True, help="Seconds between checks with --loop.")
def timers_run(at_text: str | None, loop: bool, interval: int) -> None:
    """Fire every timer that is due, then exit (or keep going with --loop)."""
    at = parse_at(at_text)
    while True:
        # The separate worker also does the console's other background work (queued exports).
        fired = worker.tick(at) if loop else timers_service.fire_due_timers(at)
        click.echo(f"timers fired: {fired}")
        if not loop:
            break
        time.sleep(max(interval, 1))


COMMANDS = (processes_group, timers)
