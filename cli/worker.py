"""The background worker: timers, queued exports and notifications. What `timers run --loop` does as a separate
process, the console does in a thread of its own when no separate worker runs (TIMERS_IN_PROCESS)."""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from flask import Flask

from casework import anchors, import_jobs, mail, notifications, retention
from models import db
from reporting import snapshots
from reporting.exports import jobs
from workflows import timers

log = logging.getLogger(__name__)
_started: set[int] = set()


def tick(at: datetime | None = None) -> int:
    """One round of background work: fire due timers, run queued exports and imports, tell people, refresh dashboard
    figures, list cases due for disposal, checkpoint the audit chain when due; returns timers fired."""
    fired = timers.fire_due_timers(at)
    jobs.run_pending()
    import_jobs.run_pending()
    send_notifications(at)
    snapshots.refresh()
    retention.sweep()
    db.session.commit()
    anchors.anchor_if_due()
    return fired


def send_notifications(at: datetime | None = None) -> dict[str, int]:
    """Due-soon and overdue reminders, daily digests, then the e-mail outbox; returns what happened."""
    reminded = notifications.remind(at)
    digests = notifications.build_digests(at)
    db.session.commit()
    return {"reminded": reminded, "digests": digests, **mail.send_due(at)}


def start(app: Flask) -> None:
    """Start one daemon thread per app that does a tick every TIMER_INTERVAL_SECONDS."""
    if id(app) in _started:
        return
    _started.add(id(app))
    stop = threading.Event()
    app.extensions["casebook_timer_stop"] = stop

    def loop() -> None:
        while not stop.wait(app.config["TIMER_INTERVAL_SECONDS"]):
            with app.app_context():
                try:
                    fired = tick()
                    if fired:
                        log.info("fired %d timer(s)", fired)
                except Exception:  # keep the worker alive; the error is logged
                    log.exception("timer worker")
                    db.session.rollback()
                finally:
                    db.session.remove()

    threading.Thread(target=loop, name="casebook-timers", daemon=True).start()


def init_app(app: Flask) -> None:
    """Start the worker with the first request served (never for CLI commands or tests)."""
    if not app.config["TIMERS_IN_PROCESS"] or app.testing:
        return

    @app.before_request
    def _ensure_worker() -> None:
        start(app)
