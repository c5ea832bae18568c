"""The cases list against a bare Flask-Admin list of the same table (bench/bare_admin.py), in one run:
each served by one gunicorn worker, a sequential keep-alive client, requests per second for the first page.

    .venv/bin/python bench/list_ratio.py --database-url URL [--requests 300]

URL is a database filled by bench/dataset.py (the police practitioner's list is measured). Nothing here
asserts timings; the README reports the figures.
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import free_port, gunicorn  # noqa: E402
from pages import Browser, start_server  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def start_bare(port: int, url: str) -> subprocess.Popen:
    return gunicorn(port, "bench.bare_admin:create_app()", DATABASE_URL=url)


def rate(browser: Browser, path: str, requests: int) -> float:
    for _ in range(20):   # warm-up
        status, body = browser.request("GET", path)
        assert status == 200, (path, status, body[:300])
    t0 = time.perf_counter()
    for _ in range(requests):
        browser.request("GET", path)
    return requests / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    casebook_port, bare_port = free_port(), free_port()
    casebook = start_server(casebook_port, args.database_url, Path(tempfile.mkdtemp(prefix="casebook-ratio-")))
    bare = start_bare(bare_port, args.database_url)
    try:
        browser = Browser(casebook_port)
        browser.login("practitioner@police.demo")
        ours = rate(browser, "/admin/cases/", args.requests)
        theirs = rate(Browser(bare_port), "/bare/cases/", args.requests)
    finally:
        for proc in (casebook, bare):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    label = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
    result = {"database": label, "casebook_rps": round(ours, 1), "bare_rps": round(theirs, 1),
              "ratio": round(ours / theirs, 2)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"list_ratio-{label.lower()}-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(result))
    print(f"| {label} | {result['bare_rps']} | {result['casebook_rps']} | {result['ratio']}x |")


if __name__ == "__main__":
    main()
