"""Areas and services (reference data) and who provides which service where: what routing reads."""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select

from casework import validate
from casework.errors import InvalidInput
from models import Area, Organisation, Service, ServiceProvision, User, audit, db
from models.base import NAME_MAX


def create_area(code: str, name: str, actor: User | None = None) -> Area:
    """Add an area.

    :raise InvalidInput: on a bad or duplicate code or a missing name
    """
    return _create(Area, "an area", code, name, actor)


def create_service(code: str, name: str, actor: User | None = None) -> Service:
    """Add a service.

    :raise InvalidInput: on a bad or duplicate code or a missing name
    """
    return _create(Service, "a service", code, name, actor)


def _create(model: type[Area] | type[Service], what: str, code: str, name: str, actor: User | None):
    code = validate.code(code)
    name = validate.text(name, "name", NAME_MAX)
    if db.session.get(model, code) is not None:
        raise InvalidInput({"code": f"{what} with code {code!r} already exists"})
    row = model(code=code, name=name, active=True)
    db.session.add(row)
    db.session.flush()
    audit.record("create", user=actor, object_type=model.__tablename__, object_id=code, detail={"name": name})
    return row


def area_or_error(code: str | None, field: str = "area") -> Area:
    """An active area by code.

    :raise InvalidInput: naming the unknown code
    """
    return _active(Area, code, field, "an area (see Reference data → Areas)")


def service_or_error(code: str | None, field: str = "service") -> Service:
    """An active service by code.

    :raise InvalidInput: naming the unknown code
    """
    return _active(Service, code, field, "a service (see Reference data → Services)")


def _active(model: type[Area] | type[Service], code: str | None, field: str, what: str):
    row = db.session.get(model, str(code or "").strip())
    if row is None or not row.active:
        raise InvalidInput({field: f"{code!r} is not {what}"})
    return row


def provide(service_code: str, org_code: str, area_codes: list[str] | None = None,
            actor: User | None = None) -> list[ServiceProvision]:
    """Record that an organisation provides a service in these areas (none: in every area); idempotent.

    :raise InvalidInput: on an unknown service, organisation or area
    """
    service = service_or_error(service_code)
    org = db.session.scalar(select(Organisation).where(Organisation.code == (org_code or "").strip()))
    if org is None or not org.active:
        raise InvalidInput({"org": f"{org_code!r} is not an active organisation"})
    areas: list[str | None] = [area_or_error(code).code for code in area_codes] if area_codes else [None]
    rows = []
    for area in dict.fromkeys(areas):
        row = db.session.scalar(select(ServiceProvision).where(
            ServiceProvision.service_code == service.code, ServiceProvision.organisation_id == org.id,
            ServiceProvision.area_code.is_(None) if area is None else ServiceProvision.area_code == area))
        if row is None:
            row = ServiceProvision(service_code=service.code, organisation_id=org.id, area_code=area)
            db.session.add(row)
            db.session.flush()
            audit.record("create", user=actor, object_type="service_provision", object_id=row.id,
                         detail={"service": service.code, "organisation": org.code, "area": area or "every area"})
        rows.append(row)
    return rows


def providers(service_code: str, area_code: str | None) -> list[Organisation]:
    """Active organisations providing the service in the area (or everywhere), by name.

    A case without an area matches only organisations that provide the service everywhere.
    """
    return list(db.session.scalars(
        select(Organisation).join(ServiceProvision, ServiceProvision.organisation_id == Organisation.id)
        .where(_provides(service_code, area_code), Organisation.active.is_(True))
        .distinct().order_by(Organisation.name)))


def provided_by(organisation_ids: list[int], service_code: str, area_code: str | None) -> set[int]:
    """Which of these organisations provide the service in the area (or everywhere)."""
    if not organisation_ids:
        return set()
    return set(db.session.scalars(select(ServiceProvision.organisation_id).where(
        _provides(service_code, area_code), ServiceProvision.organisation_id.in_(organisation_ids))))


def _provides(service_code: str, area_code: str | None) -> ColumnElement[bool]:
    """Provision rows of the service in the area or everywhere (a case without an area: everywhere only)."""
    everywhere = ServiceProvision.area_code.is_(None)
    return and_(ServiceProvision.service_code == service_code,
                or_(everywhere, ServiceProvision.area_code == area_code) if area_code else everywhere)


def active_areas() -> list[Area]:
    """Areas to choose from, by name."""
    return list(db.session.scalars(select(Area).where(Area.active.is_(True)).order_by(Area.name)))


def service_name(code: str) -> str:
    """A service's display name ('code' when it is not in reference data)."""
    service = db.session.get(Service, code)
    return service.name if service is not None else code
