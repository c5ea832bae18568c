"""Dashboard snapshots: views share the organisation's figures, the worker refreshes them, and each user's
restricted cases are added live (never shared with colleagues who are not named on them)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import DashboardSnapshot, Organisation, User, db, utcnow
from reporting import dashboard, snapshots
from tests.factories import make_case
from tests.reporting.test_dashboard import URL, _page, table, world  # noqa: F401  (the shared fixture)


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_a_second_view_reads_the_snapshot_until_the_worker_refreshes_it(ctx, world, client, login):
    login("mgr@a.example.org")
    first = table(_page(client), "open-by-type")
    assert db.session.scalar(select(DashboardSnapshot).where(DashboardSnapshot.filters_key == "{}")) is not None
    make_case(_user("pc@a.example.org"), title="Opened after the snapshot")
    assert table(_page(client), "open-by-type") == first            # shared figures as of the snapshot
    assert "Figures as of" in client.get(URL).get_data(as_text=True)
    later = utcnow() + timedelta(seconds=ctx.config["DASHBOARD_MAX_AGE_SECONDS"])
    assert snapshots.refresh(later) == 1
    refreshed = table(_page(client), "open-by-type")
    assert sum(v[0] for v in refreshed.values()) == sum(v[0] for v in first.values()) + 1


def test_restricted_cases_are_added_for_the_named_user_only(ctx, world):
    police = db.session.scalar(select(Organisation).where(Organisation.code == "police_a"))
    named = _user("pc2@a.example.org")        # opened the restricted case, so is named on it
    named.role_rows[0].role = "manager"
    db.session.commit()
    other = _user("mgr@a.example.org")

    def open_cases(user: User) -> int:
        return snapshots.view(user, dashboard.Filters()).headline["Open cases"]

    mine, theirs = open_cases(named), open_cases(other)
    assert mine == theirs + 1
    # Both read the same shared snapshot; only the named user's view adds the restricted case.
    assert db.session.scalar(select(DashboardSnapshot.organisation_id)) == police.id


def test_unviewed_snapshots_are_dropped(ctx, world):
    snapshots.view(_user("mgr@a.example.org"), dashboard.Filters())
    db.session.commit()
    assert snapshots.refresh(utcnow() + timedelta(days=2)) == 0
    assert db.session.scalar(select(DashboardSnapshot)) is None
