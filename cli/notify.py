"""`notifications send [--loop]`: reminders, daily digests and the e-mail outbox."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from cli import worker
from cli.common import parse_at

notifications = AppGroup("notifications", help="Notifications: reminders, digests and e-mail.")


@notifications.command("send")
@click.option("--loop", is_flag=True, help="Keep running, checking every --interval seconds.")
@click.option("--interval", default=60, show_default=True, help="Seconds between rounds with --loop.")
@click.option("--at", "at_text", default=None, help="Act as of this ISO-8601 time (no offset means UTC).")
def notifications_send(loop: bool, interval: int, at_text: str | None) -> None:
    """Send what is due: due-soon and overdue reminders, daily digests, queued e-mails (retrying failures)."""
    at = parse_at(at_text)
    while True:
        done = worker.send_notifications(at)
        click.echo(f"reminders: {done['reminded']}, digests: {done['digests']}, e-mails sent: {done['sent']}, "
                   f"waiting to retry: {done['retry']}, failed: {done['failed']}")
        if not loop:
            break
        time.sleep(max(interval, 1))


COMMANDS = (notifications,)
