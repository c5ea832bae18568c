"""Page and API latency on a generated county dataset: one gunicorn worker, users logged in through the real
login form, p50/p95 per page for a large organisation (the police) and a small one (a district council).

    .venv/bin/python bench/dataset.py --database-url URL --cases 100000     # once per size
    .venv/bin/python bench/pages.py --database-url URL [--requests 40]

Prints a Markdown table and saves JSON in bench/results/. Nothing here asserts timings; the query plans
are checked by tests/test_query_plans.py.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))
from common import free_port, gunicorn, pct  # noqa: E402
PASSWORD = "casebook-demo"
ORGS = {"large": ("notts_police", "police.demo"), "small": ("rushcliffe", "rushcliffe.demo")}


class Browser:
    """A keep-alive HTTP client that keeps cookies, as a browser tab would."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
        hdrs = {**self.headers, **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.request(method, path, body=body, headers=hdrs)
            response = self.conn.getresponse()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.read().decode("utf-8", "replace")

    def login(self, email: str) -> None:
        status, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
            re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
        status, _ = self.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login as {email} failed ({status})")


def start_server(port: int, url: str, instance: Path) -> subprocess.Popen:
    return gunicorn(port, DATABASE_URL=url, TIMERS_IN_PROCESS="0", INSTANCE_PATH=str(instance),
                    SECRET_KEY="bench-secret-key-not-for-production")


def fixtures(url: str) -> dict:
    """Per organisation: a visible case with processes, a family name on it, a date of birth, API tokens."""
    os.environ.update(DATABASE_URL=url, TIMERS_IN_PROCESS="0")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    from sqlalchemy import func, select

    import access
    from app import create_app
    from casework import tokens
    from models import Case, CaseParticipant, Person, User, WorkflowInstance, db
    app = create_app()
    out: dict = {"filters": {}}
    with app.app_context():
        for size, (code, domain) in ORGS.items():
            user = db.session.scalar(select(User).where(User.email == f"practitioner@{domain}"))
            case = db.session.scalars(access.visible(user, Case).where(
                Case.id.in_(select(WorkflowInstance.case_id)), Case.status == "open")
                .order_by(Case.id.desc()).limit(1)).first()
            person = db.session.scalars(select(Person).join(CaseParticipant, CaseParticipant.person_id == Person.id)
                                        .where(CaseParticipant.case_id == case.id)).first()
            out[size] = {"case": case.id, "reference": case.reference, "family": person.family_name,
                         "partial": person.family_name[:3], "dob": person.date_of_birth.strftime("%d/%m/%Y"),
                         "token": tokens.issue(user)}
        db.session.commit()
        with app.test_request_context():
            view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "cases")
            for index, flt in enumerate(view._filters):
                key = (flt.column.key if hasattr(flt, "column") else "", flt.operation())
                if key == ("status", "equals") and "status" not in out["filters"]:
                    out["filters"]["status"] = f"flt0_{index}"
                if key == ("risk_level", "equals") and "risk" not in out["filters"]:
                    out["filters"]["risk"] = f"flt1_{index}"
        out["cases"] = db.session.scalar(select(func.count()).select_from(Case))
        out["timers"] = timer_sweep()
        out["snapshot"] = snapshot_cost()
        db.engine.dispose()
    return out


def timer_sweep(repeats: int = 30) -> dict:
    """`timers run` with many processes waiting and none due: the sweep's own time, in this process."""
    from sqlalchemy import func, select

    from models import InstanceStatus, WorkflowInstance, db
    from workflows import timers
    waiting = db.session.scalar(select(func.count()).select_from(WorkflowInstance).where(
        WorkflowInstance.status == InstanceStatus.RUNNING, WorkflowInstance.next_timer_at.is_not(None)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        timers.fire_due_timers()
        times.append((time.perf_counter() - t0) * 1000)
    return {"waiting": waiting, "p50": round(statistics.median(times), 2), "p95": round(pct(times, 95), 2)}


def snapshot_cost() -> dict:
    """What the worker spends computing an organisation's dashboard figures (views read the result)."""
    from sqlalchemy import select

    import access
    from models import Organisation, db, utcnow
    from reporting import dashboard
    out = {}
    for size, (code, _domain) in ORGS.items():
        org_id = db.session.scalar(select(Organisation.id).where(Organisation.code == code))
        t0 = time.perf_counter()
        dashboard.tables(access.shared_cases(org_id), dashboard.Filters(), utcnow())
        out[size] = round((time.perf_counter() - t0) * 1000)
    db.session.rollback()
    return out


def pages(fx: dict, size: str) -> list[tuple[str, str, str]]:
    """(label, who, path) for every page and API call the issue lists."""
    f = fx[size]
    status, risk = fx["filters"]["status"], fx["filters"]["risk"]
    return [
        ("Home", "practitioner", "/admin/"),
        ("My work", "practitioner", "/admin/my_work/"),
        ("Team work", "practitioner", "/admin/team_work/"),
        ("Cases: first page", "practitioner", "/admin/cases/"),
        ("Cases: page 50", "practitioner", "/admin/cases/?page=50"),
        ("Cases: sorted by reference", "practitioner", "/admin/cases/?sort=0"),
        ("Cases: open, high risk", "practitioner", f"/admin/cases/?{status}=open&{risk}=high"),
        ("Cases: search reference", "practitioner", f"/admin/cases/?search={f['reference']}"),
        ("Cases: search person name", "practitioner", f"/admin/cases/?search={f['family']}"),
        ("Case page", "practitioner", f"/admin/cases/details/?id={f['case']}"),
        ("People: name", "practitioner", f"/admin/people/?search={f['family']}"),
        ("People: partial name", "practitioner", f"/admin/people/?search={f['partial']}"),
        ("People: date of birth", "practitioner", f"/admin/people/?search={f['dob']}"),
        ("Dashboard", "manager", "/admin/dashboard/"),
        ("Audit log", "auditor", "/admin/audit/"),
        ("API tasks", "api", "/api/v1/tasks"),
        ("API case", "api", f"/api/v1/cases/{f['case']}"),
    ]


def measure(port: int, fx: dict, requests: int, warmup: int) -> dict:
    results: dict = {}
    for size, (code, domain) in ORGS.items():
        browsers = {"practitioner": Browser(port), "manager": Browser(port), "auditor": Browser(port),
                    "api": Browser(port)}
        browsers["practitioner"].login(f"practitioner@{domain}")
        browsers["manager"].login(f"manager@{domain}")
        browsers["auditor"].login("auditor@opcc.demo")
        browsers["api"].headers["Authorization"] = f"Bearer {fx[size]['token']}"
        for label, who, path in pages(fx, size):
            times = []
            for n in range(warmup + requests):
                t0 = time.perf_counter()
                status, body = browsers[who].request("GET", path)
                elapsed = (time.perf_counter() - t0) * 1000
                if status != 200:
                    raise RuntimeError(f"{label} ({path}) as {who}@{size}: {status}\n{body[:500]}")
                if n >= warmup:
                    times.append(elapsed)
            results.setdefault(label, {})[size] = {"p50": round(statistics.median(times), 1),
                                                   "p95": round(pct(times, 95), 1)}
            print(f"  {label:28} {size:5} p50 {statistics.median(times):7.1f}  p95 {pct(times, 95):7.1f} ms",
                  file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    fx = fixtures(args.database_url)
    port = free_port()
    instance = Path(tempfile.mkdtemp(prefix="casebook-pages-"))
    server = start_server(port, args.database_url, instance)
    try:
        results = measure(port, fx, args.requests, args.warmup)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    label = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"pages-{label.lower()}-{fx['cases']}-{stamp}.json").write_text(
        json.dumps({"database": label, "cases": fx["cases"], "results": results, "timers": fx["timers"],
                    "snapshot": fx["snapshot"]}, indent=2))
    print(f"\n{label}, {fx['cases']:,} cases, one worker (ms)\n")
    print("| page | large org p50 | large org p95 | small org p50 | small org p95 |")
    print("|---|---|---|---|---|")
    for page, by in results.items():
        print(f"| {page} | {by['large']['p50']} | {by['large']['p95']} | {by['small']['p50']} | {by['small']['p95']} |")
    t = fx["timers"]
    print(f"\nTimer sweep with {t['waiting']:,} processes waiting and none due: p50 {t['p50']} ms, p95 {t['p95']} ms")
    print(f"Dashboard figures computed by the worker: large org {fx['snapshot']['large']} ms, "
          f"small org {fx['snapshot']['small']} ms")


if __name__ == "__main__":
    main()
