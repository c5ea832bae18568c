"""Two people completing the same item at once, over real HTTP: exactly one wins, nothing is lost."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from models import AuditEvent, ItemStatus, WorkItem, db
from models import audit as audit_log

THREADS = 8


@pytest.fixture
def server(app, api):
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}/api/v1"
    srv.shutdown()


def _post(url: str, token: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_concurrent_completion_has_one_winner(api, server, partnership):
    assert api["lead"].deploy("one_step.bpmn").status_code == 201
    case_id = api["pc"].post("/cases", json={"case_type": "victim_support", "title": "race"}).json["id"]
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "one_step"})
    (item,) = api["pc"].get(f"/tasks?case={case_id}").json
    db.session.remove()  # the server threads own the database from here
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, dict]] = []

    def attempt(n: int) -> None:
        barrier.wait()
        results.append(_post(f"{server}/tasks/{item['id']}/complete", partnership["pc"],
                             {"data": {"note": f"attempt {n}"}}))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * (THREADS - 1), results
    assert all("already completed by" in body["error"] for code, body in results if code == 409)
    stored = db.session.get(WorkItem, item["id"])
    assert stored.status is ItemStatus.COMPLETED and stored.answers["note"].startswith("attempt ")
    completions = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "complete")).all()
    assert len(completions) == 1
    assert audit_log.verify().ok
