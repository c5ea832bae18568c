"""A small partnership with cases, people, work items and facts spread over two half-years."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from casework import tokens
from models import Case, CaseFact, ItemStatus, ProcessDefinition, WorkflowInstance, WorkItem, db, utcnow
from tests.factories import make_case, make_org, make_person, make_user


def at(y: int, m: int, d: int, h: int = 12) -> datetime:
    return datetime(y, m, d, h, tzinfo=timezone.utc)


@dataclass
class World:
    users: dict[str, Any] = field(default_factory=dict)
    orgs: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    instance: dict[int, int] = field(default_factory=dict)

    def item(self, case: Case, org: Any, title: str, *, created: datetime, due: datetime | None,
             completed: datetime | None = None) -> WorkItem:
        """A work item mirrored as the engine would leave it (no workflow needed to export it)."""
        if case.id not in self.instance:
            definition = db.session.query(ProcessDefinition).first()
            if definition is None:
                definition = ProcessDefinition(key="victim_referral", version=1, bpmn_xml="<x/>", sha256="0" * 64)
                db.session.add(definition)
                db.session.flush()
            inst = WorkflowInstance(case_id=case.id, definition_id=definition.id, state="{}")
            db.session.add(inst)
            db.session.flush()
            self.instance[case.id] = inst.id
        item = WorkItem(instance_id=self.instance[case.id], case_id=case.id, spiff_task_id=f"t{title}{created}"[:36],
                        process_key="victim_referral", bpmn_id="contact", title=title, lane="Victim Services",
                        organisation_id=org.id, created_at=created, due_at=due, completed_at=completed,
                        status=ItemStatus.COMPLETED if completed else ItemStatus.READY)
        db.session.add(item)
        db.session.flush()
        return item

    def fact(self, case: Case, kind: str, code: str, status: str, *, owner: Any = None,
             due: datetime | None = None, recorded: datetime | None = None,
             completed: datetime | None = None, label: str | None = None) -> CaseFact:
        fact = CaseFact(case_id=case.id, kind=kind, code=code, status=status, label=label,
                        owner_organisation_id=owner.id if owner else None, due_at=due,
                        recorded_at=recorded or due or utcnow(), completed_at=completed)
        db.session.add(fact)
        db.session.flush()
        return fact


@pytest.fixture
def world(ctx) -> World:
    w = World()
    police = w.orgs["police"] = make_org("notts_police", "police", "Nottinghamshire Police")
    vs = w.orgs["vs"] = make_org("victim_services", "victim_services", "Victim Services")
    council = w.orgs["council"] = make_org("mansfield", "council", "Mansfield District Council")
    u = w.users
    u["pc"] = make_user(police, "practitioner", email="pc@police.example.org")
    u["police_manager"] = make_user(police, "manager", email="manager@police.example.org")
    u["vs"] = make_user(vs, "practitioner", email="cw@vs.example.org")
    u["vs_manager"] = make_user(vs, "manager", email="manager@vs.example.org")
    u["council"] = make_user(council, "practitioner", email="asb@council.example.org")
    u["auditor"] = make_user(police, "auditor", email="auditor@police.example.org")
    u["admin"] = make_user(police, "admin", email="admin@police.example.org")

    victim = make_person(u["pc"], "Alice", "Adams", date(1985, 3, 4), external_reference="=EXT-1",
                         email="alice@example.org", phone="07700 900123", address="1 Secret Street",
                         safe_contact="call after 6pm")
    make_person(u["vs"], "Bob", "Brown", date(1970, 1, 2), external_reference="VS-1")
    make_person(u["council"], "Carol", "Clark", None)
    # Titles a formula-injection attack would use.
    c = w.cases
    c["police"] = make_case(u["pc"], "victim_support", '=HYPERLINK("http://evil.example","click")',
                            participants=[(victim.id, "victim")], organisation_ids=[vs.id])
    c["vs"] = make_case(u["vs"], "restorative_justice", "+RJ referral")
    c["council"] = make_case(u["council"], "asb", "-Noise complaint")
    c["restricted"] = make_case(u["pc"], "domestic_abuse", "@restricted", restricted=True)
    for key, opened in (("police", at(2026, 2, 10)), ("vs", at(2026, 3, 15)), ("council", at(2026, 4, 1)),
                        ("restricted", at(2025, 2, 20))):
        c[key].opened_at = opened
    c["vs"].closed_at = at(2026, 5, 1)

    w.item(c["police"], police, "Record the crime", created=at(2026, 2, 10), due=at(2026, 2, 12),
           completed=at(2026, 2, 11))
    w.item(c["police"], vs, "Contact the victim", created=at(2026, 2, 11), due=at(2026, 2, 13),
           completed=at(2026, 2, 20))
    w.item(c["police"], vs, "=Assess needs", created=at(2026, 2, 20), due=at(2026, 3, 1))
    w.item(c["police"], police, "Future step", created=at(2026, 3, 1), due=utcnow() + timedelta(days=30))
    w.item(c["council"], council, "Council step", created=at(2026, 4, 1), due=at(2026, 4, 5))
    w.item(c["restricted"], police, "Restricted step", created=at(2025, 2, 20), due=at(2025, 2, 22),
           completed=at(2025, 2, 21))

    w.fact(c["police"], "entitlement", "R1", "met", owner=police, due=at(2026, 2, 12), completed=at(2026, 2, 11),
           label="Right to understand")
    w.fact(c["police"], "entitlement", "R2", "met", owner=police, due=at(2026, 2, 12), completed=at(2026, 2, 14))
    w.fact(c["police"], "entitlement", "R3", "missed", owner=vs, due=at(2026, 2, 15), completed=at(2026, 2, 16))
    w.fact(c["police"], "entitlement", "R4", "due", owner=vs, due=at(2026, 3, 1))
    w.fact(c["police"], "entitlement", "R5", "not_applicable", owner=vs, due=at(2026, 3, 1), completed=at(2026, 3, 1))
    w.fact(c["council"], "entitlement", "R1", "missed", owner=council, due=at(2026, 4, 5))
    w.fact(c["restricted"], "entitlement", "R1", "met", owner=police, due=at(2025, 2, 22), completed=at(2025, 2, 21))
    w.fact(c["police"], "referral", "victim_services", "support_plan", owner=vs, recorded=at(2026, 2, 11))
    w.fact(c["restricted"], "referral", "victim_services", "declined", owner=vs, recorded=at(2025, 2, 21))
    w.fact(c["vs"], "rj_outcome", "rj", "direct_conference", owner=vs, recorded=at(2026, 3, 20),
           completed=at(2026, 4, 20), label="=cmd|' /C calc'!A0")
    w.fact(c["council"], "rj_outcome", "rj", "declined", owner=council, recorded=at(2026, 4, 2))
    w.fact(c["police"], "panel_action", "A-1", "done", owner=police, due=at(2026, 2, 20), completed=at(2026, 2, 19))
    w.fact(c["police"], "panel_action", "A-2", "open", owner=vs, due=at(2026, 3, 1))
    w.fact(c["council"], "panel_action", "A-3", "not_done", owner=council, due=at(2026, 4, 10))
    w.tokens = {name: tokens.issue(user) for name, user in u.items()}
    db.session.commit()
    return w


def open_xlsx(data: bytes | str):
    """Load a written workbook back (bytes or a path) as openpyxl sees it."""
    return load_workbook(BytesIO(data) if isinstance(data, bytes) else data)


def table(ws) -> tuple[list[str], list[dict[str, Any]]]:
    """(headers, rows as dicts) from a sheet laid out as cover row, header row, data."""
    rows = list(ws.iter_rows(values_only=True))
    headers = list(rows[1])
    return headers, [dict(zip(headers, r)) for r in rows[2:]]


def cells(ws) -> list[dict[str, Any]]:
    """Data rows as dicts of the cells themselves (to check types and formats)."""
    rows = list(ws.iter_rows())
    headers = [c.value for c in rows[1]]
    return [dict(zip(headers, r)) for r in rows[2:]]
