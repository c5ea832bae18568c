"""In-process timer worker: the console fires due timers itself when no separate worker runs."""
from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)
_started: set[int] = set()


def start(app: Flask) -> None:
    """Start one daemon thread per app that fires due timers every TIMER_INTERVAL_SECONDS."""
    if id(app) in _started:
        return
    _started.add(id(app))
    stop = threading.Event()
    app.extensions["casebook_timer_stop"] = stop

    def loop() -> None:
        from models import db
        from workflows import tasks

        while not stop.wait(app.config["TIMER_INTERVAL_SECONDS"]):
            with app.app_context():
                try:
                    fired = tasks.fire_due_timers()
                    if fired:
                        log.info("fired %d timer(s)", fired)
                    from exports import jobs

                    jobs.run_pending()
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
