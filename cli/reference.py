"""Reference-data commands: `areas create`, `services create`, `services provide`, `agreements create`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from casework import agreements as agreement_service
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


agreements = AppGroup("agreements", help="Information-sharing agreements between organisations.")


@agreements.command("create")
@click.argument("name")
@click.option("--org", "org_codes", multiple=True, required=True, help="A party (organisation code); two or more.")
@click.option("--case-type", "case_types", multiple=True, help="A case type it covers; repeat; none: every type.")
@click.option("--valid-from", required=True, help="First day in force, YYYY-MM-DD.")
@click.option("--valid-to", required=True, help="Last day in force, YYYY-MM-DD.")
@click.option("--approve", is_flag=True, help="Record every party's approval now (else it stays a draft).")
@click.option("--lawful-basis", default=None, help="The lawful basis for the sharing, in words.")
def agreements_create(name: str, org_codes: tuple[str, ...], case_types: tuple[str, ...], valid_from: str,
                      valid_to: str, approve: bool, lawful_basis: str | None) -> None:
    """Record an agreement; without --approve it is a draft, which is not in force."""
    try:
        isa = agreement_service.create(name, list(org_codes), list(case_types), valid_from, valid_to,
                                       lawful_basis, approve_all=approve)
        db.session.commit()
    except CasebookError as exc:
        fail(exc)
    state = "approved by every party" if isa.approved_at else "a draft until every party approves it"
    click.echo(f"created agreement {isa.id}: {isa.name} ({state}; {isa.valid_from} to {isa.valid_to})")


COMMANDS = (areas, services, agreements)
