"""The routing check: for a process (deployed, or a draft in the designer), each user step and each area, which
organisation would get the step today, and every gap (no provider, several providers, nobody active holding
the role a step needs). Read-only; reference data decides, exactly as assignment.py does for a real case."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import select

from casework import areas, notifications
from models import Area, Organisation, db
from models.enums import OrgType, label
from workflows import assignment, engine
from workflows.assignment import ORGANISATION, SERVICE, Group


@dataclass
class Cell:
    """Who gets a step in one area: an organisation (and role), or a gap with the reason."""

    text: str
    gap: bool = False
    note: str | None = None


@dataclass
class StepRow:
    step: engine.Step
    group: str
    cells: list[Cell] = field(default_factory=list)

    @property
    def gaps(self) -> int:
        return sum(c.gap for c in self.cells)


@dataclass
class Report:
    """A process's steps by area; `areas` are the columns."""

    key: str
    areas: list[Area]
    rows: list[StepRow]

    @property
    def gaps(self) -> int:
        return sum(r.gaps for r in self.rows)


def check(xml: str) -> Report:
    """The routing of every user step of a diagram, in every active area.

    :raise DiagramError: if the diagram cannot be read
    """
    steps = engine.user_steps(xml)
    columns = areas.active_areas()
    resolver = _Resolver()
    rows = []
    for step in steps:
        groups = assignment.groups_for(step.candidate_groups, step.lane)
        row = StepRow(step, ", ".join(groups) or "the lead organisation")
        row.cells = [resolver.cell(groups, area.code, area.name) for area in columns]
        rows.append(row)
    return Report(steps[0].process_key if steps else "", columns, rows)


class _Resolver:
    """Resolves groups area by area, remembering each look-up (a process has dozens of steps)."""

    def __init__(self) -> None:
        self.providers = cache(areas.providers)
        self.staffed = cache(lambda org_id: bool(notifications.members(org_id)))
        self.holds = cache(lambda org_id, role: assignment.role_for(db.session.get(Organisation, org_id), role))
        self.of_type = cache(lambda code: db.session.scalars(select(Organisation).where(
            Organisation.active.is_(True), Organisation.type == OrgType(code)).order_by(Organisation.name)).all())

    def cell(self, groups: list[str], area: str, area_name: str) -> Cell:
        if not groups:
            return Cell("The case's lead organisation")
        if groups[0].strip().startswith("${"):
            return Cell("Chosen when the process runs", note="from the process data (e.g. the agency asked)")
        group = Group.parse(groups[0])
        if group.kind == SERVICE:
            found = self.providers(group.code, area)
            name = areas.service_name(group.code)
            if not found:
                return Cell(f"No organisation provides {name} in {area_name}", gap=True)
            if len(found) > 1:
                return Cell(f"{len(found)} organisations provide {name} in {area_name}: "
                            f"{', '.join(o.name for o in found)}", gap=True,
                            note="unless one of them is already on the case, the lead chooses")
            return self._with_role(found[0], group.role)
        if group.kind == ORGANISATION:
            org, reason = assignment.by_code(group.code)
            return self._with_role(org, group.role) if org else Cell(reason or "", gap=True)
        if group.code not in {t.value for t in OrgType}:
            return Cell(f"{group.code!r} is not an organisation type", gap=True)
        found = self.of_type(group.code)
        if not found:
            return Cell(f"No active {label(group.code).lower()} organisation", gap=True)
        return Cell(f"The case's {label(group.code).lower()} partner",
                    note=f"added to the case by the lead or the process ({len(found)} in Casebook)")

    def _with_role(self, org: Organisation, role: str | None) -> Cell:
        if not self.staffed(org.id):
            return Cell(f"{org.name}: nobody active can do it", gap=True)
        if role is None:
            return Cell(org.name)
        given = self.holds(org.id, role)
        if given == role:
            return Cell(f"{org.name} ({role}s)")
        fallback = f"its {given}s" if given else "anyone in it"
        return Cell(f"{org.name} ({fallback})", gap=True, note=f"nobody active is a {role} there, so it goes to "
                                                                f"{fallback}")
