"""`flask --app app import people|cases FILE.xlsx --as EMAIL` and `flask --app app import-template KIND --out FILE`.

Exit 0 when every row is valid (dry run or real, including a re-import that changes nothing), 1 when the
file or any row is refused (nothing is written then), 2 for usage errors such as a missing `--as`.
"""
from __future__ import annotations

from pathlib import Path

import click

from casework import importing
from casework.errors import CasebookError
from cli.common import user_by_email
from models import db


@click.command("import")
@click.argument("kind", type=click.Choice(importing.KINDS))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "as_email", required=True,
              help="Import as this practitioner or manager; records belong to their organisation.")
@click.option("--dry-run", is_flag=True, help="Report row by row what would happen; write nothing.")
@click.option("--map", "mappings", multiple=True, metavar="TEMPLATE_COLUMN=FILE_HEADER",
              help="Read a template column from a differently named header; repeat for several.")
@click.option("--sheet", default=None, help="Sheet to read (default: the first).")
def import_command(kind: str, file: str, as_email: str, dry_run: bool, mappings: tuple[str, ...],
                   sheet: str | None) -> None:
    """Import people or cases from an .xlsx workbook: all rows or none, idempotent on external_reference."""
    user = user_by_email(as_email)
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc.strerror}") from None
    try:
        report = importing.run(user, kind, data, filename=file, mapping=importing.parse_mapping(mappings),
                               sheet=sheet, dry_run=dry_run)
    except CasebookError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    if not report.keep:
        db.session.rollback()
    importing.record(user, report)
    db.session.commit()
    for line in report.lines():
        click.echo(line, err=line.startswith("error:"))
    if not report.ok:
        raise SystemExit(1)


@click.command("import-template")
@click.argument("kind", type=click.Choice(importing.KINDS))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the .xlsx.")
def import_template_command(kind: str, out: str) -> None:
    """Write the blank template workbook for an import (headers on sheet 1, guidance on sheet 2)."""
    try:
        Path(out).write_bytes(importing.template_bytes(kind))
    except OSError as exc:
        raise click.ClickException(f"{out}: {exc.strerror}") from None
    click.echo(f"wrote the {kind} import template to {out}")


COMMANDS = (import_command, import_template_command)
