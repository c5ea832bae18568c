"""Every listed page's queries can be answered from indexes: on a generated partnership (bench/dataset.py) with
the planner's sequential scans discouraged, no plan reads the whole of cases, work items, people or audit."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from models import Case, CaseParticipant, Person, User, db
from tests.conftest import IS_PG

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
pytestmark = pytest.mark.skipif(not IS_PG, reason="query plans are checked on PostgreSQL (the PostgreSQL pass)")
BIG_TABLES = ("case", "work_item", "person", "audit_event", "case_participant", "case_access", "case_fact",
              "workflow_instance", "document")
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")
DEMO_PASSWORD = "casebook-demo"


def _pages(case_id: int, reference: str, family: str, born: str) -> list[tuple[str, str]]:
    return [
        ("practitioner@police.demo", "/admin/"),
        ("practitioner@police.demo", "/admin/my_work/"),
        ("practitioner@police.demo", "/admin/team_work/"),
        ("practitioner@police.demo", "/admin/cases/"),
        ("practitioner@police.demo", "/admin/cases/?page=5"),
        ("practitioner@police.demo", "/admin/cases/?sort=0"),
        ("practitioner@police.demo", "/admin/cases/?flt0_0=open"),
        ("practitioner@police.demo", f"/admin/cases/?search={reference}"),
        ("practitioner@police.demo", f"/admin/cases/?search={family}"),
        ("practitioner@police.demo", f"/admin/cases/details/?id={case_id}"),
        ("practitioner@police.demo", f"/admin/people/?search={family}"),
        ("practitioner@police.demo", f"/admin/people/?search={family[:3]}"),
        ("practitioner@police.demo", f"/admin/people/?search={born}"),
        ("practitioner@rushcliffe.demo", "/admin/"),
        ("practitioner@rushcliffe.demo", "/admin/cases/"),
        ("practitioner@rushcliffe.demo", "/admin/my_work/"),
        ("auditor@opcc.demo", "/admin/audit/"),
        ("manager@police.demo", "/admin/dashboard/"),
    ]


@pytest.fixture
def county(ctx):
    """The demo partnership with 3,000 generated cases (about 100,000 rows), analysed."""
    import dataset
    from cli import demo

    demo.seed()
    db.session.commit()
    dataset.generate(db.session, 3000, seed=7, audit_per_case=8)
    dataset._finish(db.session, "postgresql")
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return ctx


def _plans(statements: list[tuple[str, object]]) -> list[tuple[str, str]]:
    out = []
    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        raw = conn.connection.driver_connection
        for sql, params in statements:
            with raw.cursor() as cur:
                cur.execute("EXPLAIN " + sql, params)
                out.append((sql, "\n".join(r[0] for r in cur.fetchall())))
        conn.rollback()
    return out


def test_listed_pages_use_indexes(county, client):
    police = db.session.scalar(select(User).where(User.email == "practitioner@police.demo"))
    import access
    case = db.session.scalars(access.visible(police, Case).where(Case.status == "open")
                              .order_by(Case.id.desc()).limit(1)).first()
    person = db.session.scalars(select(Person).join(CaseParticipant, CaseParticipant.person_id == Person.id)
                                .where(CaseParticipant.case_id == case.id)).first()
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        current = None
        for email, path in _pages(case.id, case.reference, person.family_name,
                                  person.date_of_birth.strftime("%d/%m/%Y")):
            if email != current:
                client.post("/logout")
                assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
                current = email
            assert client.get(path).status_code == 200, path
        client.post("/logout")
        token_user = police
        from casework import tokens
        token = tokens.issue(token_user)
        db.session.commit()
        for path in ("/api/v1/tasks", f"/api/v1/cases/{case.id}"):
            assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200, path
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert len(seen) > 50
    scans = [(table, sql) for sql, plan in _plans(seen) for table in SEQ_SCAN.findall(plan)
             if table in BIG_TABLES]
    assert scans == [], "\n\n".join(f"Seq Scan on {t}:\n{s}" for t, s in scans[:5])
