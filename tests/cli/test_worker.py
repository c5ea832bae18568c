"""The console fires due timers itself (the Quick start runs no separate worker)."""
from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from app import create_app
from models import WorkItem, db
from tests.conftest import _config, _truncate_pg
from tests.factories import make_case, make_org, make_user
from workflows import processes, tasks

DATA = Path(__file__).resolve().parents[1] / "data"


def test_in_process_worker_fires_timers(db_url):
    app = create_app(_config(db_url, TESTING=False, TIMERS_IN_PROCESS=True, TIMER_INTERVAL_SECONDS=1))
    if db_url.startswith("postgresql"):
        _truncate_pg(app)
    with app.app_context():
        user = make_user(make_org("police_a", "police"))
        processes.deploy((DATA / "short_timer.bpmn").read_text())
        case = make_case(user)
        instance = tasks.start(user, case, "short_timer")
        db.session.commit()
        assert instance.next_timer_at is not None
        db.session.remove()
    app.test_client().get("/login")  # the first request starts the worker
    found = None
    for _ in range(100):
        time.sleep(0.1)
        with app.app_context():
            found = db.session.scalar(select(WorkItem).where(WorkItem.bpmn_id == "after"))
            db.session.remove()
        if found:
            break
    app.extensions["casebook_timer_stop"].set()
    assert found is not None
    with app.app_context():
        db.engine.dispose()
