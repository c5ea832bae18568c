"""Import fixtures: a small partnership and a builder of .xlsx files (openpyxl, as users' files are)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook

from models import User
from tests.factories import make_org, make_user

PEOPLE_HEADER = ["external_reference", "given_name", "family_name", "date_of_birth"]
CASES_HEADER = ["external_reference", "case_type", "title", "opened_on", "status", "risk_level",
                "lead_organisation", "person_reference", "role"]


@dataclass
class Partnership:
    pc: User
    manager: User
    police_pc2: User
    other: User
    lead: User
    auditor: User
    admin: User


@pytest.fixture
def team(ctx) -> Partnership:
    police = make_org("notts_police", "police", "Nottinghamshire Police")
    vs = make_org("victim_services", "victim_services", "Victim Services")
    make_org("mansfield", "council", "Mansfield District Council")
    return Partnership(
        pc=make_user(police, "practitioner", email="pc@police.example.org"),
        manager=make_user(police, "manager", email="manager@police.example.org"),
        police_pc2=make_user(police, "practitioner", email="pc2@police.example.org"),
        other=make_user(vs, "practitioner", email="cw@vs.example.org"),
        lead=make_user(vs, "lead", email="lead@vs.example.org"),
        auditor=make_user(police, "auditor", email="auditor@police.example.org"),
        admin=make_user(police, "admin", email="admin@police.example.org"),
    )


def xlsx(*rows: list[Any], title: str = "People", sheets: dict[str, list[list[Any]]] | None = None,
         text_cells: dict[str, str] | None = None) -> bytes:
    """A workbook whose first sheet holds `rows`; `text_cells` puts literal text (not formulas) in cells."""
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(list(row))
    for coordinate, value in (text_cells or {}).items():
        ws[coordinate].value = value
        ws[coordinate].data_type = "s"
    for name, more in (sheets or {}).items():
        other = wb.create_sheet(name)
        for row in more:
            other.append(list(row))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


PEOPLE_ROWS = [
    PEOPLE_HEADER + ["phone", "email"],
    ["P-001", "Amira", "Hussain", date(1988, 3, 14), "07700 900001", "amira@example.org"],
    ["P-002", "Tomasz", "Nowak", "1975-11-02", None, None],
    [None, None, None, None, None, None],
    ["P-003", "Grace", "Okafor", date(2001, 7, 30), None, None],
]


@pytest.fixture
def people_file() -> bytes:
    return xlsx(*PEOPLE_ROWS)
