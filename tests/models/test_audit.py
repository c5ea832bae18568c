"""The audit log: one row per action, append-only, hash-chained, serialised under concurrency."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models import AuditEvent, AuditHead, audit, db
from tests.conftest import IS_PG
from tests.factories import make_case, make_org, make_person, make_user


def _events(**where):
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEvent, k) == v)
    return db.session.scalars(stmt).all()


def test_chain_links_every_row(ctx):
    org = make_org()
    make_user(org)
    rows = _events()
    assert len(rows) == 2
    assert rows[0].prev_hash == "0" * 64
    assert rows[1].prev_hash == rows[0].hash
    assert all(r.compute_hash() == r.hash for r in rows)
    head = db.session.get(AuditHead, 1)
    assert (head.last_hash, head.count) == (rows[-1].hash, 2)
    assert audit.verify().ok


def test_rollback_writes_no_event(ctx):
    audit.record("view", object_type="case", object_id=1)
    db.session.rollback()
    db.session.commit()
    assert _events() == []


def test_orm_cannot_update_or_delete(ctx):
    make_org()
    ev = _events()[0]
    ev.action = "tampered"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, ev.id))
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_update_and_delete(ctx):
    make_org()
    for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    assert len(_events()) == 1


@pytest.fixture
def drop_guards(ctx):
    """What an attacker with database access would do before tampering (guards restored after)."""

    def _drop() -> None:
        if IS_PG:
            db.session.execute(text("DROP TRIGGER audit_event_no_update ON audit_event"))
        else:
            db.session.execute(text("DROP TRIGGER audit_event_no_update"))
            db.session.execute(text("DROP TRIGGER audit_event_no_delete"))
        db.session.commit()

    yield _drop
    db.session.rollback()
    if IS_PG:  # the PostgreSQL schema is shared by the whole session
        from models.audit import PG_GUARD

        db.session.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event"))
        for ddl in PG_GUARD:
            db.session.execute(text(ddl.statement))
        db.session.commit()


@pytest.mark.parametrize("tamper, expected", [
    ("UPDATE audit_event SET user_email = 'someone@else.example' WHERE id = 2", "event 2: content"),
    ("DELETE FROM audit_event WHERE id = 2", "event 3: previous-hash link"),
    ("DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)", "at the end"),
])
def test_verify_detects_tampering(ctx, runner, drop_guards, tamper, expected):
    """Does `flask audit verify` name the first altered or missing row?"""
    org = make_org()
    make_user(org)
    make_user(org)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    drop_guards()
    db.session.execute(text(tamper))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_login_view_and_edit_are_audited(client, login, ctx):
    org = make_org("police_a")
    user = make_user(org, email="pc@police-a.example.org")
    person = make_person(user, "Ann", "Lee")
    case = make_case(user, participants=[(person.id, "victim")])
    login("pc@police-a.example.org")
    client.get(f"/admin/cases/details/?id={case.id}")
    client.get(f"/admin/people/details/?id={person.id}")
    db.session.expire_all()
    actions = [(e.action, e.object_type) for e in _events(user_id=user.id)]
    assert ("login", "user") in actions
    assert ("view", "case") in actions
    assert ("view", "person") in actions
    view = _events(action="view", object_type="case")[0]
    assert view.case_id == case.id and view.organisation_id == org.id and view.user_email == user.email
    client.post(f"/admin/cases/edit/?id={case.id}", data={
        "case_type": "victim_support", "title": "Renamed", "summary": "", "status": "open",
        "risk_level": "high", "version": str(case.version)})
    update = _events(action="update", object_type="case")[0]
    assert sorted(update.detail_dict["changed"]) == ["risk_level", "title"]


def test_auditor_lists_and_filters(client, login, ctx):
    org = make_org()
    make_user(org, "auditor", email="aud@x.example.org")
    make_user(org, email="other@x.example.org")
    login("aud@x.example.org")
    page = client.get("/admin/audit/?search=other%40x.example.org").get_data(as_text=True)
    assert "other@x.example.org" in page
    assert client.get("/admin/audit/edit/?id=1").status_code in (302, 404)
    assert client.post("/admin/audit/delete/", data={"id": "1"}).status_code in (302, 404)
    db.session.expire_all()
    assert db.session.get(AuditEvent, 1) is not None
    assert any(e.object_type == "audit_log" for e in _events(action="view"))


def test_concurrent_appends_keep_one_chain(app):
    """Do parallel writers produce one unbroken chain? (row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite)"""
    errors: list[Exception] = []
    writers, each = 6, 10

    def writer(n: int) -> None:
        with app.app_context():
            try:
                for i in range(each):
                    audit.record("view", object_type="test", object_id=f"{n}-{i}")
                    db.session.commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        result = audit.verify()
        assert result.ok, result.message
        assert result.checked == writers * each
