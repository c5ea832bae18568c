"""Reference-data commands: `areas create`, `services create`, `services provide`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from casework import areas as area_service
from casework.errors import CasebookError
from cli.common import fail
from models import db

areas = AppGroup("areas", help="Areas cases belong to (districts, a city).")


@areas.command("create")
@click.argument("code")
@click.option("--name", default=None, help="Display name.")
def areas_create(code: str, name: str | None) -> None:
    """Add an area."""
    try:
        area = area_service.create_area(code, name or "")
        db.session.commit()
    except CasebookError as exc:
        fail(exc)
    click.echo(f"created area {area.code}: {area.name}")


services = AppGroup("services", help="Services organisations provide, and where.")


@services.command("create")
@click.argument("code")
@click.option("--name", default=None, help="Display name.")
def services_create(code: str, name: str | None) -> None:
    """Add a service."""
    try:
        service = area_service.create_service(code, name or "")
        db.session.commit()
    except CasebookError as exc:
        fail(exc)
    click.echo(f"created service {service.code}: {service.name}")


@services.command("provide")
@click.argument("service")
@click.option("--org", "org_code", required=True, help="The organisation that provides it.")
@click.option("--area", "area_codes", multiple=True, help="An area it is provided in; repeat; none: every area.")
def services_provide(service: str, org_code: str, area_codes: tuple[str, ...]) -> None:
    """Record that an organisation provides a service in some areas, or in all (idempotent)."""
    try:
        rows = area_service.provide(service, org_code, list(area_codes))
        db.session.commit()
    except CasebookError as exc:
        fail(exc)
    where = ", ".join(r.area_code for r in rows if r.area_code) or "every area"
    click.echo(f"{org_code} provides {service} in {where}")


COMMANDS = (areas, services)
