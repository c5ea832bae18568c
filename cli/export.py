"""`flask --app app export NAME --out FILE --as EMAIL [filters]`: an audited export run as a named user."""
from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from cli.common import user_by_email
from models import User, db
from reporting import exports

PROGRESS_MIN_ROWS = 5000  # smaller exports finish before a bar would be worth drawing


class _Bar:
    """Adapts the builders' progress events to a click progress bar on stderr, drawn once rows are many."""

    def __init__(self, label: str, threshold: int):
        self.label, self.threshold = label, threshold
        self.total, self.done = 0, 0
        self.bar: Any = None

    def __call__(self, event: str, n: int) -> None:
        if event == "total":
            self.total += n
            if self.bar is None and self.total >= self.threshold:
                self.bar = click.progressbar(length=self.total, label=self.label, file=sys.stderr,
                                             show_pos=True, show_percent=True)
                self.bar.__enter__()
                self.bar.update(self.done)
            elif self.bar is not None:
                self.bar.length = self.total
        elif event == "rows":
            self.done += n
            if self.bar is not None:
                self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.command("export")
@click.argument("name")
@click.option("--out", "out_path", default=None, help="The .xlsx file to write.")
@click.option("--as", "as_email", default=None, help="Run as this user: rows are those they may see (required).")
@click.option("--from", "date_from", default=None, help="First day, YYYY-MM-DD (inclusive).")
@click.option("--to", "date_to", default=None, help="Last day, YYYY-MM-DD (inclusive).")
@click.option("--organisation", default=None, help="Organisation code.")
@click.option("--case-type", "case_type", default=None, help="Case type code.")
@click.option("--baseline-from", default=None, help="performance_report: baseline first day (default: a year earlier).")
@click.option("--baseline-to", default=None, help="performance_report: baseline last day.")
@with_appcontext
def export_command(name: str, out_path: str | None, as_email: str | None, date_from: str | None,
                   date_to: str | None, organisation: str | None, case_type: str | None,
                   baseline_from: str | None, baseline_to: str | None) -> None:
    """Write the export NAME to --out as the user --as (audited); exit 1 on any refusal."""
    if not as_email:
        raise click.ClickException("refusing to export without --as EMAIL: exports run as a named, audited user")
    if not out_path:
        raise click.ClickException("--out FILE is required")
    try:
        report = exports.get(name)
    except exports.UnknownExport as exc:
        raise click.ClickException(str(exc)) from None
    user = user_by_email(as_email)
    if not report.allowed(user):
        raise click.ClickException(f"{user.email} may not run the {name} export")
    try:
        filters = exports.parse_filters({"from": date_from, "to": date_to, "organisation": organisation,
                                         "case_type": case_type, "baseline_from": baseline_from,
                                         "baseline_to": baseline_to})
    except exports.BadFilter as exc:
        raise click.ClickException(f"bad filter {exc}") from None
    threshold = int(current_app.config.get("EXPORT_PROGRESS_MIN_ROWS", PROGRESS_MIN_ROWS))
    result = _write(name, user, filters, out_path, _Bar(f"{name}", threshold))
    db.session.commit()
    click.echo(f"{out_path}: {result.rows} rows ({', '.join(result.sheets)})")


def _write(name: str, user: User, filters: exports.Filters, out_path: str, bar: _Bar) -> exports.Result:
    """Write beside the target and rename, so a failed export never leaves a half-written file."""
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder):
        raise click.ClickException(f"{out_path}: the folder does not exist")
    fd, tmp = tempfile.mkstemp(suffix=".xlsx.part", dir=folder)
    os.close(fd)
    try:
        result = exports.run(name, user, filters, tmp, progress=bar)
        bar.close()
        os.replace(tmp, out_path)
    except BaseException:
        bar.close()
        db.session.rollback()
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return result


COMMANDS = (export_command,)
