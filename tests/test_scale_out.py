"""Two app servers and one worker on one PostgreSQL database, each with its own instance folder: an export
queued through one server is built by the worker and downloads through the other (nothing on local disk)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from casework import directory
from models import db
from tests.conftest import IS_PG, PASSWORD, TEST_DATABASE_URL
from tests.fixtures.exports import open_xlsx, table

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not IS_PG, reason="needs PostgreSQL (runs in the PostgreSQL pass: "
                                                   "TEST_DATABASE_URL=postgresql+psycopg://...)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(instance: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": TEST_DATABASE_URL, "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "scale-out-test-key-shared-by-both-servers", "TIMERS_IN_PROCESS": "0"}


def _server(instance: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                             "--no-control-socket", "app:create_app()"], cwd=ROOT, env=_env(instance),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not start: " + proc.stderr.read().decode()[-2000:])


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_export_queued_on_one_server_downloads_from_the_other(ctx, tmp_path):
    directory.create_organisation("vs", "Victim Services", "victim_services")
    manager, _ = directory.create_user("manager@vs.example.org", "Manager", "vs", ["manager"], PASSWORD)
    manager.mfa_exempt = True  # the second factor is tested in tests/admin/test_mfa.py
    db.session.commit()
    folders = [tmp_path / "server-a", tmp_path / "server-b", tmp_path / "worker"]
    procs = []
    try:
        (a, url_a), (b, url_b) = _server(folders[0]), _server(folders[1])
        procs += [a, b]
        procs.append(subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "timers", "run", "--loop",
                                       "--interval", "1"], cwd=ROOT, env=_env(folders[2]),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        browser = requests.Session()   # one browser; the proxy sends its requests to either server
        login = browser.get(f"{url_a}/login")
        assert browser.post(f"{url_a}/login", data={"email": "manager@vs.example.org", "password": PASSWORD,
                                                    "csrf_token": _csrf(login.text)},
                            allow_redirects=False).status_code == 302
        form = browser.get(f"{url_a}/admin/reports/")
        queued = browser.post(f"{url_a}/admin/reports/", data={"export": "cases", "csrf_token": _csrf(form.text)},
                              allow_redirects=False)
        assert queued.status_code == 302
        job_path = queued.headers["Location"].replace(url_a, "")
        for _ in range(300):   # the worker (a third process) builds it
            page = browser.get(f"{url_b}{job_path}")
            assert page.status_code == 200
            if "Download" in page.text:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the worker did not finish the export")
        download = browser.get(f"{url_b}{job_path.rstrip('/')}/download")
        assert download.status_code == 200
        headers, _rows = table(open_xlsx(download.content).worksheets[0])
        assert "reference" in headers
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    left = [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]
    assert all(p.name == "secret_key" for p in left), left   # no export file on any server's disk
