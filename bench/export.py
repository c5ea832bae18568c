"""Benchmark: export N work items (default 100,000) through the real `work_items` builder against a bare
openpyxl write-only loop writing the same rows from the same query, in the same run.

    /work/venv/bin/python bench/export.py                        # SQLite (a fresh file)
    /work/venv/bin/python bench/export.py --database-url postgresql+psycopg://postgres@127.0.0.1/casebook_bench

Each side runs in its own subprocess (so peak memory is that side's alone) and reports wall time from
query to saved file and peak RSS (VmHWM from /proc, else `ru_maxrss`), plus the RSS before the export
started (interpreter, imports, app). The builder side pays for what a real export does: the access
clause, the filter plumbing, per-column conversion (UK local time, formula neutralisation), the marked
cover row, styled header, widths, autofilter and the audit record. The bare side selects the same
columns with the same joins and appends them, stripping only the time zone (openpyxl refuses aware
datetimes). The PostgreSQL database is emptied first. Prints a Markdown table; JSON goes to
bench/results/. Nothing here asserts timings; the README reports the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
EMAIL = "manager@bench.example.org"
ITEMS_PER_CASE = 100


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    VmHWM belongs to the address space, which exec replaces; ru_maxrss would carry over the
    high-water mark of the parent that forked us.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _app(database_url: str, workdir: Path):
    os.environ.update(DATABASE_URL=database_url, SECRET_KEY="bench-secret-key-not-for-production",
                      TIMERS_IN_PROCESS="0")
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    app.instance_path = str(workdir)
    return app


def prepare(database_url: str, workdir: Path, rows: int) -> None:
    """Schema, an organisation, a manager, rows/100 cases each with one instance and 100 work items."""
    if database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = _app(database_url, workdir)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    from sqlalchemy import insert

    from casework import directory
    from models import Case, ProcessDefinition, WorkflowInstance, WorkItem, db

    with app.app_context():
        org = directory.create_organisation("bench_vs", "Bench Victim Services", "victim_services")
        user, _ = directory.create_user(EMAIL, "Bench Manager", "bench_vs", ["manager"], "bench-password-123")
        definition = ProcessDefinition(key="victim_referral", version=1, bpmn_xml="<x/>", sha256="0" * 64)
        db.session.add(definition)
        db.session.flush()
        base = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
        n_cases = max(1, rows // ITEMS_PER_CASE)
        db.session.execute(insert(Case), [
            dict(reference=f"CB-2026-{i:06d}", case_type_code="victim_support", title=f"Bench case {i}",
                 lead_organisation_id=org.id, restricted=False, opened_at=base, opened_by_id=user.id,
                 updated_at=base, version=1, status="open", risk_level="standard") for i in range(1, n_cases + 1)])
        case_ids = [c for (c,) in db.session.execute(db.select(Case.id).order_by(Case.id))]
        db.session.execute(insert(WorkflowInstance), [
            dict(case_id=c, definition_id=definition.id, state="{}", status="running", started_at=base,
                 row_version=1) for c in case_ids])
        inst = dict(db.session.execute(db.select(WorkflowInstance.case_id, WorkflowInstance.id)).all())
        batch = []
        for n in range(rows):
            case_id = case_ids[n % len(case_ids)]
            created = base + timedelta(minutes=n)
            done = n % 2 == 0
            batch.append(dict(
                instance_id=inst[case_id], case_id=case_id, spiff_task_id=f"task-{n}", process_key="victim_referral",
                bpmn_id="contact_victim", title=("=Contact the victim" if n % 50 == 0 else f"Contact the victim {n}"),
                lane="Victim Services", candidate_groups="[]", organisation_id=org.id, form="[]",
                status="completed" if done else "ready", created_at=created, due_at=created + timedelta(days=2),
                completed_at=created + timedelta(days=1 + n % 3) if done else None,
                completed_by_id=user.id if done else None))
            if len(batch) == 10_000:
                db.session.execute(insert(WorkItem), batch)
                batch = []
        if batch:
            db.session.execute(insert(WorkItem), batch)
        db.session.commit()
        db.engine.dispose()


def side_builder(database_url: str, workdir: Path, out: Path) -> dict:
    """The real export: exports.run('work_items', ...) as the manager, committed (audited)."""
    app = _app(database_url, workdir)
    from models import User, db
    from reporting import exports

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        _ = user.roles, user.organisation
        before = _rss_mb()
        t0 = time.perf_counter()
        result = exports.run("work_items", user, exports.Filters(), str(out))
        db.session.commit()
        seconds = time.perf_counter() - t0
        db.engine.dispose()
    return {"seconds": seconds, "rows": result.rows, "rss_before_mb": before, "peak_rss_mb": _rss_mb()}


def side_bare(database_url: str, out: Path) -> dict:
    """A bare openpyxl write-only loop over the same columns and joins (no access clause, no styling)."""
    from openpyxl import Workbook
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import aliased

    from models import Case, Organisation, User, WorkItem

    engine = create_engine(database_url)
    org, claimer, completer = aliased(Organisation), aliased(User), aliased(User)
    from sqlalchemy import and_, case

    on_time = case((and_(WorkItem.completed_at.is_not(None), WorkItem.due_at.is_not(None)),
                    case((WorkItem.completed_at <= WorkItem.due_at, 1), else_=0)), else_=None)
    stmt = select(Case.reference, Case.case_type_code, WorkItem.process_key, WorkItem.title, WorkItem.lane,
                  org.code, WorkItem.required_role, WorkItem.status, claimer.email, WorkItem.created_at,
                  WorkItem.due_at, WorkItem.completed_at, completer.email, on_time) \
        .select_from(WorkItem).join(Case, Case.id == WorkItem.case_id) \
        .outerjoin(org, org.id == WorkItem.organisation_id) \
        .outerjoin(claimer, claimer.id == WorkItem.claimed_by_id) \
        .outerjoin(completer, completer.id == WorkItem.completed_by_id) \
        .order_by(WorkItem.created_at, WorkItem.id)
    # The export writes codes and, beside them, words (names looked up once, enum values in words): so does
    # the bare loop, with the same look-ups done the plainest way.
    headers = ["case_reference", "case_type", "case_type_name", "process", "process_name", "step", "lane",
               "organisation", "organisation_name", "required_role", "required_role_name", "status", "status_name",
               "claimed_by", "created_at", "due_at", "completed_at", "completed_by", "completed_on_time"]
    before = _rss_mb()
    t0 = time.perf_counter()
    from models import CaseType, ProcessDefinition

    with engine.connect() as conn:
        type_names = dict(conn.execute(select(CaseType.code, CaseType.name)).all())
        process_names = dict(conn.execute(select(ProcessDefinition.key, ProcessDefinition.name)).all())
        org_names = dict(conn.execute(select(Organisation.code, Organisation.name)).all())

    def word(value):
        return None if value is None else str(getattr(value, "value", value)).replace("_", " ").capitalize()

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Work items")
    ws.append(headers)
    n = 0
    with engine.connect() as conn:
        for row in conn.execute(stmt.execution_options(yield_per=1000)):
            r = [v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row]
            ws.append([r[0], r[1], type_names.get(r[1], r[1]), r[2], process_names.get(r[2], r[2]), r[3], r[4],
                       r[5], org_names.get(r[5], r[5]), r[6], word(r[6]), r[7], word(r[7]), *r[8:]])
            n += 1
    wb.save(str(out))
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "rows": n, "rss_before_mb": before, "peak_rss_mb": _rss_mb()}


def run_side(side: str, database_url: str, workdir: Path) -> dict:
    out = workdir / f"{side}.xlsx"
    proc = subprocess.run([sys.executable, __file__, "--side", side, "--database-url", database_url,
                           "--workdir", str(workdir)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise RuntimeError(f"{side} side failed:\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["bytes"] = out.stat().st_size
    return data


def check_files(workdir: Path, rows: int) -> None:
    """Both files open and hold every row (builder: cover + field names + header + rows; bare: header + rows)."""
    from openpyxl import load_workbook

    for side, extra in (("builder", 3), ("bare", 1)):
        wb = load_workbook(workdir / f"{side}.xlsx", read_only=True)
        count = sum(1 for _ in wb["Work items"].iter_rows(values_only=True))
        wb.close()
        assert count == rows + extra, (side, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="Runs per side (alternating); medians reported.")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--side", choices=("builder", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        workdir = Path(args.workdir)
        result = side_builder(args.database_url, workdir, workdir / "builder.xlsx") if args.side == "builder" \
            else side_bare(args.database_url, workdir / "bare.xlsx")
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="casebook-bench-export-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        t0 = time.perf_counter()
        prepare(url, workdir, args.rows)
        setup = time.perf_counter() - t0
        runs: dict[str, list[dict]] = {"builder": [], "bare": []}
        for _ in range(args.repeat):
            for side in ("bare", "builder"):
                runs[side].append(run_side(side, url, workdir))
        check_files(workdir, args.rows)
    summary = {side: {"seconds": statistics.median(r["seconds"] for r in rs),
                      "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                      "rss_before_mb": max(r["rss_before_mb"] for r in rs),
                      "bytes": rs[-1]["bytes"], "rows": rs[-1]["rows"]} for side, rs in runs.items()}
    ratio = summary["builder"]["seconds"] / summary["bare"]["seconds"]
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    report = {"rows": args.rows, "repeat": args.repeat, "database": dialect, "setup_seconds": setup,
              "python": platform.python_version(), "machine": platform.machine(), "summary": summary,
              "ratio": ratio, "runs": runs}
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"export-{dialect}-{stamp}.json").write_text(json.dumps(report, indent=2))
    print(f"Export of {args.rows:,} work items ({dialect}, median of {args.repeat}; target ratio <= 1.3, "
          "peak < 150 MB)\n")
    print("| side | time (s) | rows/s | peak RSS (MB) | RSS before export (MB) | file (MB) |")
    print("|---|---|---|---|---|---|")
    for side, label in (("bare", "bare openpyxl write-only loop"), ("builder", "exports.run('work_items')")):
        s = summary[side]
        print(f"| {label} | {s['seconds']:.2f} | {s['rows'] / s['seconds']:,.0f} | {s['peak_rss_mb']:.0f} | "
              f"{s['rss_before_mb']:.0f} | {s['bytes'] / 1e6:.1f} |")
    print(f"\nratio builder / bare: {ratio:.2f}x")


if __name__ == "__main__":
    main()
