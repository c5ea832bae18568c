"""Dashboard figures kept per organisation and filters: a view reads one row instead of every case.

The shared part (cases the whole organisation sees) is computed at most every DASHBOARD_MAX_AGE_SECONDS,
by a view that finds none fresh enough or by the worker for snapshots viewed in the last day; each user's
restricted cases are added live. Figures are as of the snapshot's time, which the page shows.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

import access
from models import DashboardSnapshot, db, utcnow
from reporting import dashboard
from reporting.dashboard import Dashboard, Filters, Table

KEEP_UNVIEWED = timedelta(days=1)   # nobody looked for a day: stop refreshing it


def _key(f: Filters) -> str:
    return json.dumps(f.as_dict(), sort_keys=True)


def _max_age() -> timedelta:
    return timedelta(seconds=current_app.config["DASHBOARD_MAX_AGE_SECONDS"])


def _encode(panels: list[Table]) -> str:
    return json.dumps([{"id": t.id, "title": t.title, "row_heading": t.row_heading, "columns": list(t.columns),
                        "rows": [[label, list(values)] for label, values in t.rows], "note": t.note,
                        "keys": t.keys}
                       for t in panels])


def _decode(content: str) -> list[Table]:
    return [Table(t["id"], t["title"], t["row_heading"], tuple(t["columns"]),
                  [(label, tuple(values)) for label, values in t["rows"]], t["note"], keys=t.get("keys") or {})
            for t in json.loads(content)]


def _store(organisation_id: int, key: str, panels: list[Table], at: datetime) -> None:
    """Insert or replace the snapshot (two viewers computing at once both succeed; the later one stays)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"organisation_id": organisation_id, "filters_key": key, "computed_at": at, "viewed_at": at,
              "content": _encode(panels)}
    stmt = insert(DashboardSnapshot).values(**values)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["organisation_id", "filters_key"],
                                                  set_={k: stmt.excluded[k] for k in ("computed_at", "viewed_at",
                                                                                       "content")}))


def view(user: Any, f: Filters, now: datetime | None = None) -> Dashboard:
    """The user's dashboard: the organisation's snapshot (fresh enough, or computed now) plus their restricted
    cases; the caller commits."""
    now = now or utcnow()
    if not access.can_open(user, access.Area.DASHBOARD):
        return Dashboard({}, [])
    shared, personal = access.case_parts(user)
    key = _key(f)
    row = db.session.get(DashboardSnapshot, (user.organisation_id, key))
    if row is not None and now - row.computed_at <= _max_age():
        panels, as_of = _decode(row.content), row.computed_at
        if now - row.viewed_at > timedelta(minutes=1):   # not a write per view, just enough for the worker
            row.viewed_at = now
    else:
        panels, as_of = dashboard.tables(shared, f, now), now
        _store(user.organisation_id, key, panels, now)
    result = dashboard.finish(dashboard.merge(panels, dashboard.tables(personal, f, now)))
    result.as_of = as_of
    return result


def refresh(now: datetime | None = None) -> int:
    """Recompute snapshots viewed in the last day that are past half their age; drop the rest; commits.
    Returns how many were recomputed."""
    now = now or utcnow()
    db.session.execute(delete(DashboardSnapshot).where(DashboardSnapshot.viewed_at < now - KEEP_UNVIEWED))
    due = db.session.execute(select(DashboardSnapshot.organisation_id, DashboardSnapshot.filters_key)
                             .where(DashboardSnapshot.computed_at < now - _max_age() / 2)).all()
    db.session.commit()
    done = 0
    for organisation_id, key in due:
        try:
            f = dashboard.parse_filters(json.loads(key))
        except Exception:  # an organisation or case type since removed: the snapshot goes
            db.session.rollback()
            db.session.execute(delete(DashboardSnapshot).where(DashboardSnapshot.organisation_id == organisation_id,
                                                               DashboardSnapshot.filters_key == key))
            db.session.commit()
            continue
        panels = dashboard.tables(access.shared_cases(organisation_id), f, now)
        db.session.execute(update(DashboardSnapshot).where(DashboardSnapshot.organisation_id == organisation_id,
                                                           DashboardSnapshot.filters_key == key)
                           .values(computed_at=now, content=_encode(panels)))
        db.session.commit()
        done += 1
    return done
