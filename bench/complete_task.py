"""Benchmark: complete a task over real HTTP (one gunicorn worker, sequential client, same machine) against
the raw SpiffWorkflow cost of the same steps (deserialize, run, serialize) measured in the same run.

    .venv/bin/python bench/complete_task.py                       # SQLite (a fresh file)
    .venv/bin/python bench/complete_task.py --database-url postgresql+psycopg://user@127.0.0.1/casebook_bench

The PostgreSQL database is emptied first. Results print as a Markdown table and are saved as JSON in
bench/results/. Nothing here asserts timings; the README reports the figures.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DIAGRAMS = ROOT / "bench" / "diagrams"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))
from common import free_port, gunicorn, pct  # noqa: E402


class Client:
    """A keep-alive HTTP client sending bearer-authenticated JSON."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list]:
        self.conn.request(method, f"/api/v1{path}", body=json.dumps(body) if body is not None else None,
                          headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}


def prepare(database_url: str, workdir: Path) -> str:
    """Schema, one organisation, a lead and a practitioner, both diagrams; returns the API token."""
    os.environ.update(DATABASE_URL=database_url, SECRET_KEY="bench-secret-key-not-for-production",
                      TIMERS_IN_PROCESS="0")
    if database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    from app import create_app
    from casework import directory, tokens
    from models import db
    from workflows import processes

    app = create_app()
    app.instance_path = str(workdir)
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    with app.app_context():
        directory.create_organisation("bench_police", "Bench Police", "police")
        user, _ = directory.create_user("pc@bench.example.org", "Bench PC", "bench_police", ["practitioner", "lead"],
                                        "bench-password-123")
        for name in ("bench_one_step.bpmn", "bench_ten_steps.bpmn"):
            processes.deploy((DIAGRAMS / name).read_text(), user)
        token = tokens.issue(user)
        db.session.commit()
        db.engine.dispose()
    return token


def start_server(port: int) -> subprocess.Popen:
    return gunicorn(port)


def http_phase(client: Client, flows: int, warmup: int) -> dict:
    """Time each completion (1-step and 10-step diagrams) and whole one-step flows (start + complete)."""
    status, case = client.call("POST", "/cases", {"case_type": "victim_support", "title": "benchmark"})
    assert status == 201, case
    case_id = case["id"]

    def start(key: str) -> int:
        return start_body(key)["instance_id"]

    def start_body(key: str) -> dict:
        status, body = client.call("POST", f"/cases/{case_id}/processes", {"key": key, "data": {}})
        assert status == 201, body
        return body

    def ready_items(instance_ids: set[int]) -> list[dict]:
        status, items = client.call("GET", f"/tasks?case={case_id}&limit=500")
        return [i for i in items if i["instance_id"] in instance_ids]

    def complete(item_id: int, n: int) -> tuple[float, list]:
        t0 = time.perf_counter()
        status, body = client.call("POST", f"/tasks/{item_id}/complete",
                                   {"data": {f"note_{n}": "seen and called back", f"score_{n}": 7}})
        elapsed = time.perf_counter() - t0
        assert status == 200, body
        return elapsed, body["next"]

    out: dict = {}
    # One-step: start instances first (untimed), then time each completion.
    ids = {start("bench_one_step") for _ in range(flows + warmup)}
    items = ready_items(ids)
    times = [complete(item["id"], 1)[0] for item in items]
    out["one_step_complete_ms"] = [t * 1000 for t in times[warmup:]]
    # Ten steps: every completion returns the next item.
    ten = []
    for _ in range(max(flows // 10, 5) + 1):
        instance = start("bench_ten_steps")
        (item,) = ready_items({instance})
        for n in range(1, 11):
            elapsed, nxt = complete(item["id"], n)
            ten.append(elapsed)
            item = nxt[0] if nxt else None
        assert item is None
    out["ten_step_complete_ms"] = [t * 1000 for t in ten[10:]]
    # Whole one-step flows per second: start (which returns the ready step) + complete, sequentially.
    t0 = time.perf_counter()
    for _ in range(flows):
        (item,) = start_body("bench_one_step")["tasks"]
        complete(item["id"], 1)
    out["one_step_flows_per_second"] = flows / (time.perf_counter() - t0)
    return out


def raw_phase(repeats: int) -> dict:
    """The same steps on SpiffWorkflow directly: deserialize, set data, run, engine steps, serialize."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from workflows.engine.parse import HybridParser
    from workflows.engine.serialize import SERIALIZER

    out = {}
    for key, name, steps in (("one_step", "bench_one_step", 1), ("ten_step", "bench_ten_steps", 10)):
        parser = HybridParser()
        parser.add_bpmn_file(str(DIAGRAMS / f"{name}.bpmn"))
        spec, subs = parser.get_spec(name), parser.get_subprocess_specs(name)
        times = []
        for _ in range(repeats):
            wf = BpmnWorkflow(spec, subs)
            wf.do_engine_steps()
            state = SERIALIZER.serialize_json(wf)
            for n in range(1, steps + 1):
                t0 = time.perf_counter()
                wf = SERIALIZER.deserialize_json(state)
                task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
                task.set_data(**{f"note_{n}": "seen and called back", f"score_{n}": 7})
                task.run()
                wf.do_engine_steps()
                state = SERIALIZER.serialize_json(wf)
                times.append((time.perf_counter() - t0) * 1000)
        out[f"{key}_raw_ms"] = times
    return out


def summarise(label: str, http: dict, raw: dict) -> list[dict]:
    rows = []
    for key, title in (("one_step", "1-step diagram"), ("ten_step", "10-step diagram")):
        h, r = http[f"{key}_complete_ms"], raw[f"{key}_raw_ms"]
        rows.append({"database": label, "diagram": title, "requests": len(h),
                     "p50_ms": round(statistics.median(h), 2), "p95_ms": round(pct(h, 95), 2),
                     "raw_p50_ms": round(statistics.median(r), 3), "raw_p95_ms": round(pct(r, 95), 3),
                     "ratio_p50": round(statistics.median(h) / statistics.median(r), 1)})
    rows[0]["flows_per_second"] = round(http["one_step_flows_per_second"], 1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--flows", type=int, default=300, help="timed completions per diagram (default 300)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="casebook-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    label = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    token = prepare(url, workdir)
    port = free_port()
    server = start_server(port)
    try:
        http = http_phase(Client(port, token), args.flows, warmup=20)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    raw = raw_phase(max(args.flows, 100))
    rows = summarise(label, http, raw)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"complete_task-{label.lower()}-{stamp}.json").write_text(json.dumps(
        {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
         "rows": rows}, indent=2))
    print("| database | diagram | p50 ms | p95 ms | raw SpiffWorkflow p50 / p95 ms | ratio (p50) | "
          "1-step flows/s |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['database']} | {row['diagram']} | {row['p50_ms']} | {row['p95_ms']} | "
              f"{row['raw_p50_ms']} / {row['raw_p95_ms']} | {row['ratio_p50']}x | {row.get('flows_per_second', '')} |")


if __name__ == "__main__":
    main()
