"""A county-sized dataset: the demo partnership plus N generated cases with people, partners, processes,
work items, facts and audit rows, spread as a real partnership's would be.

    .venv/bin/python bench/dataset.py --database-url postgresql+psycopg://postgres@127.0.0.1/scale --cases 100000
    .venv/bin/python bench/dataset.py --database-url sqlite:////tmp/scale.db --cases 10000

The database is emptied first. PostgreSQL is filled with COPY (secondary indexes dropped while loading
and rebuilt after), SQLite with batched inserts in one transaction. Per case on average: 1.8 people (a
tenth already known from another case), 1.5 partner organisations, 1.3 process instances, 5 work items,
3 facts and 10 audit rows; 2% restricted; cases opened over ten years, recent ones mostly open.

What differs from live data, on purpose: generated audit rows carry unique random hashes rather than a
verifiable chain (`audit verify` reports the first generated row), and finished process instances carry
an empty engine state (a real one is 60-100 KB; no measured page reads it). Running instances carry the
real state of a demo instance of the same process, so their steps can be completed and their timers fire.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GIVEN = ("Amira Daniel Margaret Tyler Kerry Jordan Brian Olivia Noah Amelia George Isla Muhammad Ava Harry Mia "
         "Jack Sophia Oscar Grace Leo Freya Arthur Lily Charlie Ella Jacob Emily Thomas Chloe Oliver Poppy "
         "William Evie James Ruby Henry Florence Alfie Willow Joshua Rosie Zofia Chidi Aisha Siobhán Renée "
         "José Łukasz Ngozi Priya Anil Fatima Yusuf Hannah Kieran Bethany Callum Megan Declan").split()
FAMILY = ("Hussain Price Ellison Brooks Walsh Fenton Holt Smith Jones Taylor Brown Williams Wilson Johnson "
          "Davies Robinson Wright Thompson Evans Walker White Roberts Green Hall Wood Jackson Clarke Patel "
          "Khan Lewis James Phillips Mason Mitchell Rose Davis Rodriguez Cox Alexander Morgan Moore Martin "
          "Kowalski Nowak Okafor Adeyemi O'Brien Murphy Kelly Byrne Singh Kaur Begum Ahmed Ali Shah Gill "
          "Bennett Carter Cooper Hughes Edwards Turner Parker Collins Stewart Morris Murray Ward Harrison "
          "Baker Young Allen King Scott Lee Hill Adams Campbell Anderson Fraser Reid Pearson Chapman "
          "Dubois Müller Ó'Súilleabháin Nguyen Tran Abubakar Mensah Novák Horváth Popescu Ivanova").split()
LETTERS = "ABCDEFGHJKLMNPRSTWY"
# Leading organisations and their share of the county's cases (the police lead most).
LEAD_SHARE = {"notts_police": 36, "victim_services": 14, "idva": 6, "city_homes": 6, "rj_service": 3,
              "nottingham_city": 5, "notts_county": 4, "ashfield": 2.5, "bassetlaw": 2, "broxtowe": 2,
              "gedling": 2, "mansfield": 3, "newark_sherwood": 2, "rushcliffe": 1.5, "notts_marac": 3,
              "ashfield_vpp": 0.6, "bassetlaw_vpp": 0.5, "broxtowe_vpp": 0.5, "gedling_vpp": 0.5,
              "mansfield_vpp": 0.7, "newark_sherwood_vpp": 0.5, "rushcliffe_vpp": 0.4, "city_cpp": 0.8,
              "notts_fire": 0.5, "probation": 1, "notts_icb": 1}
TYPES_BY_ORG_TYPE = {
    "police": [("victim_support", 70), ("domestic_abuse", 15), ("asb", 10), ("restorative_justice", 5)],
    "victim_services": [("victim_support", 85), ("domestic_abuse", 15)],
    "rj_service": [("restorative_justice", 100)],
    "council": [("asb", 55), ("vulnerable_person", 35), ("community_trigger", 10)],
    "housing": [("asb", 90), ("vulnerable_person", 10)],
    "panel": [("vulnerable_person", 60), ("domestic_abuse", 40)],
    "fire": [("vulnerable_person", 100)], "probation": [("restorative_justice", 60), ("victim_support", 40)],
    "health": [("vulnerable_person", 100)], "other": [("vulnerable_person", 100)],
}
AREA_CODES = ["nottingham_city", "ashfield", "bassetlaw", "broxtowe", "gedling", "mansfield", "newark_sherwood",
              "rushcliffe"]
AREA_WEIGHTS = [30, 11, 10, 10, 10, 11, 10, 8]
RISKS = [("not_assessed", 30), ("standard", 40), ("medium", 20), ("high", 10)]
# Titles say what happened, as practitioners write them (names belong to the people on the case).
TITLES = ("Burglary, dwelling", "Burglary, business premises", "Theft from vehicle", "Criminal damage to vehicle",
          "Assault, common", "Assault occasioning ABH", "Harassment by neighbour", "Stalking", "Robbery, street",
          "Fraud, doorstep", "Hate incident, verbal abuse", "Domestic abuse, repeat", "Noise nuisance, night",
          "Youths gathering, intimidation", "Self-neglect and hoarding", "Fire risk at home", "Cuckooing concern",
          "Online fraud, romance", "Arson, wheelie bin", "Threats to kill")
YEARS = 10
CHUNK = 20_000
AUDIT_ACTIONS = [("view", "case"), ("view", "case"), ("view", "case"), ("complete", "work_item"),
                 ("claim", "work_item"), ("add_note", "case"), ("view", "person"), ("export", None)]


def pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    """One value from (value, weight) pairs."""
    values, weights = zip(*weighted)
    return rng.choices(values, weights)[0]


class Loader:
    """Writes rows to one table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, conn: Any, dialect: str):
        self.conn, self.dialect = conn, dialect
        self.cur = conn.cursor()

    def write(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        cols = ", ".join(f'"{c}"' for c in columns)
        n = 0
        if self.dialect == "postgresql":
            with self.cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
            return n
        batch: list[tuple] = []
        sql = f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" * len(columns))})'
        for row in rows:
            batch.append(tuple(_sqlite(v) for v in row))
            if len(batch) >= 5000:
                self.cur.executemany(sql, batch)
                n, batch = n + len(batch), []
        if batch:
            self.cur.executemany(sql, batch)
            n += len(batch)
        return n


def _sqlite(value: Any) -> Any:
    """SQLAlchemy's SQLite storage for datetimes (naive UTC text) and dates."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


class Partnership:
    """What the demo seeded: organisations, users, processes and template states, read once."""

    def __init__(self, session: Any):
        from sqlalchemy import select

        from models import CaseTypeProcess, Organisation, ProcessDefinition, User, WorkflowInstance, WorkItem
        self.orgs = {o.code: (o.id, o.type) for o in session.scalars(select(Organisation))}
        self.users: dict[int, list[int]] = {}
        for user in session.scalars(select(User)):
            self.users.setdefault(user.organisation_id, []).append(user.id)
        self.definitions = {d.key: d.id for d in session.scalars(select(ProcessDefinition))}
        self.processes: dict[str, list[str]] = {}
        for row in session.scalars(select(CaseTypeProcess).order_by(CaseTypeProcess.position)):
            self.processes.setdefault(row.case_type_code, []).append(row.process_key)
        self.states, self.step_states = {}, {}
        for instance in session.scalars(select(WorkflowInstance)):
            self.states[instance.definition.key] = instance.state
            self.step_states[instance.definition.key] = instance.steps or "{}"
        self.steps: dict[str, list[WorkItem]] = {}
        for item in session.scalars(select(WorkItem).order_by(WorkItem.id)):
            self.steps.setdefault(item.process_key, []).append(item)
        self.lead_codes = [(code, share) for code, share in LEAD_SHARE.items() if code in self.orgs]


def generate(session: Any, cases: int, seed: int, audit_per_case: int) -> dict[str, int]:
    """Add `cases` generated cases and everything that hangs off them; returns rows written per table."""
    from sqlalchemy import func, select

    from models import AuditEvent, Case, CaseFact, CaseOrganisation, CaseParticipant, Person, WorkflowInstance, WorkItem
    world = Partnership(session)
    dialect = session.get_bind().dialect.name
    rng = random.Random(seed)
    raw = session.connection().connection.driver_connection
    loader = Loader(raw, dialect)
    start = {model: (session.scalar(select(func.max(model.id))) or 0) + 1
             for model in (Case, Person, CaseParticipant, CaseOrganisation, WorkflowInstance, WorkItem, CaseFact,
                           AuditEvent)}
    now = datetime.now(timezone.utc)
    ids = dict(start)
    counts: dict[str, int] = {}
    seq_by_year: dict[int, int] = {}
    people_so_far: list[int] = []
    rows: dict[str, list[tuple]] = {}

    def add(table: str, row: tuple) -> None:
        rows.setdefault(table, []).append(row)

    def next_id(model: Any) -> int:
        value = ids[model]
        ids[model] += 1
        return value

    for n in range(cases):
        lead_code = pick(rng, world.lead_codes)
        lead_id, lead_type = world.orgs[lead_code]
        case_type = pick(rng, TYPES_BY_ORG_TYPE[lead_type])
        opened = now - timedelta(days=rng.random() * 365 * YEARS, seconds=rng.randrange(86400))
        recent = (now - opened).days < 240
        is_open = rng.random() < (0.7 if recent else 0.02)
        closed = None if is_open else min(now, opened + timedelta(days=rng.randrange(5, 200)))
        year = opened.year
        seq_by_year[year] = seq_by_year.get(year, 0) + 1
        case_id = next_id(Case)
        staff = world.users.get(lead_id) or [None]
        opener = rng.choice(staff)
        restricted = rng.random() < 0.02
        area = rng.choices(AREA_CODES, AREA_WEIGHTS)[0]
        # People: the victim (a tenth already known from an earlier case) and often another party.
        for role in ["victim" if case_type != "vulnerable_person" else "vulnerable_person",
                     *(["offender"] if rng.random() < 0.6 else []), *(["witness"] if rng.random() < 0.2 else [])]:
            if people_so_far and rng.random() < 0.1:
                person_id = rng.choice(people_so_far)
            else:
                person_id = next_id(Person)
                given, family = rng.choice(GIVEN), rng.choice(FAMILY)
                dob = date(1930, 1, 1) + timedelta(days=rng.randrange(80 * 365))
                add("person", (person_id, f"GEN-{person_id}", given, family, dob, False, rng.choice(["F", "M"]),
                               "English", False, None, None, None, None, lead_id, opener, opened, opened, 1))
                people_so_far.append(person_id)
            add("case_participant", (next_id(CaseParticipant), case_id, person_id, role, opened))
        partners = rng.sample([c for c in world.orgs if c != lead_code],
                              k=rng.choices([0, 1, 2, 3], [15, 35, 35, 15])[0])
        if case_type == "victim_support" and "victim_services" not in partners and lead_code != "victim_services":
            partners[:1] = ["victim_services"]
        for code in partners:
            add("case_organisation", (next_id(CaseOrganisation), case_id, world.orgs[code][0], opened, opener))
        if restricted:
            add("case_member", (case_id, staff[0]))
        ref = f"CB-{year}-{seq_by_year[year]:06d}G"
        add("case", (case_id, ref, case_type, area, rng.choice(TITLES),
                     None, "open" if is_open else "closed", pick(rng, RISKS), lead_id, restricted, opened, closed,
                     opener, closed or opened, 1, None))
        # Processes: each mapped process runs; finished ones on closed cases.
        for key in world.processes.get(case_type, [])[: 1 + (rng.random() < 0.3)]:
            if key not in world.definitions:
                continue
            instance_id = next_id(WorkflowInstance)
            running = is_open and rng.random() < 0.9
            add("workflow_instance", (instance_id, case_id, world.definitions[key],
                                      world.states.get(key, "{}") if running else "{}",
                                      world.step_states.get(key, "{}") if running else "{}",
                                      "running" if running else "completed", None,
                                      # Running processes wait on deadlines (none due yet): the timer sweep's case.
                                      now + timedelta(days=rng.randint(1, 30)) if running else None, opener, opened,
                                      None if running else closed or now, 1))
            steps = world.steps.get(key) or []
            for i in range(rng.randint(2, 6) if steps else 0):
                template = steps[i % len(steps)]
                ready = running and i == 0
                done_at = opened + timedelta(hours=4 * (i + 1))
                owner = lead_id if rng.random() < 0.7 or not partners else world.orgs[rng.choice(partners)][0]
                due = (now + timedelta(days=rng.randint(-10, 10))) if ready and rng.random() < 0.8 else None
                claimed = rng.choice(world.users.get(owner) or [None]) if ready and rng.random() < 0.3 else None
                add("work_item", (next_id(WorkItem), instance_id, case_id, f"gen-{instance_id}-{i}", key,
                                  template.bpmn_id, template.title, template.documentation, template.lane,
                                  template.candidate_groups, owner, template.required_role, None, template.form,
                                  "ready" if ready else "completed", claimed, opened if claimed else None, due, 0,
                                  opened, None if ready else opener, None if ready else done_at,
                                  None if ready else '{"generated": true}'))
        for code in rng.sample(["R1", "R2", "R3", "R4", "R5", "R6", "R7"], k=3):
            add("case_fact", (next_id(CaseFact), case_id, None, "entitlement", code, f"Right {code[1:]}", lead_id,
                              opened + timedelta(days=5), rng.choice(["due", "met", "met", "met_late", "declined"]),
                              opened, closed, None))
        for i in range(audit_per_case):
            action, obj = rng.choice(AUDIT_ACTIONS) if i else ("create", "case")
            at = opened + timedelta(minutes=rng.randrange(1, 60 * 24 * 120)) if i else opened
            if at > now:
                at = now - timedelta(minutes=rng.randrange(1, 600))
            add("audit_event", (next_id(AuditEvent), at, opener, None, lead_id, action, obj,
                                str(case_id) if obj == "case" else None, case_id, None, "g" * 64,
                                "%064x" % rng.getrandbits(256)))
        if (n + 1) % CHUNK == 0 or n + 1 == cases:
            _flush(loader, rows, counts)
            rows.clear()
            print(f"  {n + 1:,} cases", file=sys.stderr, flush=True)
    _finish(session, dialect)
    return counts


COLUMNS = {
    "person": ("id", "external_reference", "given_name", "family_name", "date_of_birth", "dob_estimated", "sex",
               "preferred_language", "interpreter_required", "email", "phone", "address", "safe_contact",
               "registered_by_org_id", "created_by_id", "created_at", "updated_at", "version"),
    "case": ("id", "reference", "case_type_code", "area_code", "title", "summary", "status", "risk_level",
             "lead_organisation_id", "restricted", "opened_at", "closed_at", "opened_by_id", "updated_at",
             "version", "external_reference"),
    "case_participant": ("id", "case_id", "person_id", "role", "added_at"),
    "case_organisation": ("id", "case_id", "organisation_id", "added_at", "added_by_id"),
    "case_member": ("case_id", "user_id"),
    "workflow_instance": ("id", "case_id", "definition_id", "state", "steps", "status", "error_message",
                          "next_timer_at",
                          "started_by_id", "started_at", "completed_at", "row_version"),
    "work_item": ("id", "instance_id", "case_id", "spiff_task_id", "process_key", "bpmn_id", "title",
                  "documentation", "lane", "candidate_groups", "organisation_id", "required_role",
                  "unassigned_reason", "form", "status", "claimed_by_id", "claimed_at", "due_at", "reminder_stage",
                  "created_at", "completed_by_id", "completed_at", "data"),
    "case_fact": ("id", "case_id", "instance_id", "kind", "code", "label", "owner_organisation_id", "due_at",
                  "status", "recorded_at", "completed_at", "detail"),
    "audit_event": ("id", "at", "user_id", "user_email", "organisation_id", "action", "object_type", "object_id",
                    "case_id", "detail", "prev_hash", "hash"),
}
# Parents before children, so foreign keys hold at every flush.
ORDER = ("person", "case", "case_participant", "case_organisation", "case_member", "workflow_instance",
         "work_item", "case_fact", "audit_event")


def _flush(loader: Loader, rows: dict[str, list[tuple]], counts: dict[str, int]) -> None:
    for table in ORDER:
        if rows.get(table):
            counts[table] = counts.get(table, 0) + loader.write(table, COLUMNS[table], rows[table])


def _finish(session: Any, dialect: str) -> None:
    """Access rows (PostgreSQL loads without triggers), sequences and the audit head follow the generated rows.
    Generated references end in "G", so they never meet the reference counters' own."""
    from sqlalchemy import text
    if dialect == "postgresql":
        # COPY ran with triggers off (replica role): the access rows they keep are added in one statement.
        session.execute(text('INSERT INTO case_access (organisation_id, case_id) SELECT lead_organisation_id, id '
                             'FROM "case" UNION SELECT organisation_id, case_id FROM case_organisation '
                             'ON CONFLICT DO NOTHING'))
        for table in ORDER:
            if table != "case_member":   # its ids come from the sequence
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                     f"(SELECT max(id) FROM \"{table}\"))"))
    session.execute(text("UPDATE audit_head SET count = (SELECT count(*) FROM audit_event), "
                         "last_hash = (SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1)"))


def _secondary_indexes(session: Any) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes on the generated tables that no constraint owns (PostgreSQL)."""
    from sqlalchemy import text
    return [(r[0], r[1]) for r in session.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"),
        {"tables": list(ORDER)})]


def reset(url: str) -> None:
    """Empty the database (drop the schema or remove the file)."""
    from sqlalchemy import create_engine, text
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build(url: str, cases: int, seed: int = 1, audit_per_case: int = 10) -> dict[str, Any]:
    """Reset, create the schema, seed the demo, generate; returns what was written and how long it took."""
    os.environ.update(DATABASE_URL=url, TIMERS_IN_PROCESS="0")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    reset(url)
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from cli import demo
    from casework import reference
    from models import db
    app = create_app()
    began = time.perf_counter()
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        reference.ensure_defaults()
        demo.seed()
        db.session.commit()
        dialect = db.engine.dialect.name
        dropped = []
        if dialect == "postgresql":
            dropped = _secondary_indexes(db.session)
            for name, _ in dropped:
                db.session.execute(text(f'DROP INDEX "{name}"'))
            db.session.execute(text("SET session_replication_role = replica"))  # no FK triggers while loading
        else:
            db.session.execute(text("PRAGMA foreign_keys = OFF"))
        counts = generate(db.session, cases, seed, audit_per_case)
        if dialect == "postgresql":
            db.session.execute(text("SET session_replication_role = origin"))
        db.session.commit()
        index_began = time.perf_counter()
        for _, create in dropped:
            db.session.execute(text(create))
        db.session.commit()
        index_seconds = time.perf_counter() - index_began
        if dialect == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    return {"cases": cases, "rows": counts, "seconds": round(time.perf_counter() - began, 1),
            "index_seconds": round(index_seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--audit-per-case", type=int, default=10)
    args = parser.parse_args(argv)
    result = build(args.database_url, args.cases, args.seed, args.audit_per_case)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
