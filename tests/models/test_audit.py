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


KEY = "k" * 48   # what AUDIT_HMAC_KEY holds in production: a long random value from a vault


def _recompute_unkeyed(from_id: int = 1) -> None:
    """A forger with database access but not the key: rewrite the hashes from a row on with plain SHA-256."""
    from models.audit import GENESIS, chain_hash

    before = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.id == from_id - 1))
    prev = before or GENESIS
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.id >= from_id).order_by(AuditEvent.id)):
        row = {c: getattr(event, c) for c in audit.HASHED} | {"prev_hash": prev}
        prev = chain_hash(row)
        db.session.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :i"),
                           {"p": row["prev_hash"], "h": prev, "i": event.id})
    db.session.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": prev})
    db.session.commit()


def test_keyed_chain_is_verified_with_the_key_and_forgery_without_it_shows(app, ctx, runner, drop_guards):
    org = make_org()
    make_user(org)                        # written before the key was set: plain SHA-256
    app.config["AUDIT_HMAC_KEY"] = KEY
    make_user(org)
    make_user(org)                        # keyed
    rows = _events()
    assert rows[0].compute_hash() == rows[0].hash and rows[-1].compute_hash(KEY.encode()) == rows[-1].hash
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    drop_guards()
    # Altering a keyed row and re-hashing it (and what follows) without the key is seen at that row.
    db.session.execute(text("UPDATE audit_event SET user_email = 'forged@x.example' WHERE id = 4"))
    db.session.commit()
    _recompute_unkeyed(from_id=4)   # event 3 stays keyed: an unkeyed row after it is a forgery
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "event 4: content does not match" in result.output
    # Rewriting the whole chain without the key passes the walk; the checkpoints catch it (next test).
    _recompute_unkeyed()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_checkpoints_catch_truncation_and_a_recomputed_chain(app, ctx, runner, drop_guards, tmp_path):
    app.config.update(AUDIT_HMAC_KEY=KEY, AUDIT_ANCHOR_FILE=str(tmp_path / "anchors.jsonl"))
    org = make_org()
    for _ in range(3):
        make_user(org)
    written = runner.invoke(args=["audit", "anchor"])
    assert written.exit_code == 0 and "event 4, 4 events" in written.output
    make_user(org)
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "1 checkpoint(s) match" in ok.output
    drop_guards()
    # The newest events removed with the head put back to match: the chain alone looks whole.
    newest = _events()[2]
    db.session.execute(text("DELETE FROM audit_event WHERE id > 3"))
    db.session.execute(text("UPDATE audit_head SET last_hash = :h, count = 3"), {"h": newest.hash})
    db.session.commit()
    assert audit.verify(key=KEY.encode()).ok      # what the chain alone would say
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "event 4, anchored on" in result.output and "missing" in result.output


def test_checkpoints_catch_a_chain_recomputed_from_the_start(app, ctx, runner, drop_guards, tmp_path):
    app.config.update(AUDIT_HMAC_KEY=KEY, AUDIT_ANCHOR_FILE=str(tmp_path / "anchors.jsonl"))
    org = make_org()
    make_user(org)
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    make_user(org)
    drop_guards()
    db.session.execute(text("UPDATE audit_event SET detail = NULL WHERE id = 2"))
    db.session.commit()
    _recompute_unkeyed()
    assert audit.verify().ok                        # without key and checkpoints it looks whole
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "event 2: it differs from the checkpoint" in result.output


def test_checkpoint_file_must_be_signed_with_the_key(app, ctx, runner, tmp_path):
    path = tmp_path / "anchors.jsonl"
    app.config.update(AUDIT_HMAC_KEY=KEY, AUDIT_ANCHOR_FILE=str(path))
    make_org()
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    path.write_text(path.read_text().replace('"count":1', '"count":9'))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "line 1" in result.output and "not signed with the audit key" in result.output
    path.write_text("not json\n")
    assert "line 1" in runner.invoke(args=["audit", "verify"]).output
    app.config["AUDIT_HMAC_KEY"] = ""
    refused = runner.invoke(args=["audit", "anchor"])
    assert refused.exit_code == 1 and "AUDIT_HMAC_KEY" in refused.output


def test_the_worker_writes_checkpoints_when_due(app, ctx, tmp_path):
    from casework import anchors

    path = tmp_path / "anchors.jsonl"
    app.config.update(AUDIT_HMAC_KEY=KEY, AUDIT_ANCHOR_FILE=str(path), AUDIT_ANCHOR_MINUTES=60)
    make_org()
    assert anchors.anchor_if_due() is not None
    assert anchors.anchor_if_due() is None                      # the next one is an hour away
    assert len(anchors.read(path)) == 1


def test_the_audit_log_reads_in_references_names_and_local_time(client, login, ctx):
    """Auditors see the case's reference (linked), the organisation's name and words, not ids and codes."""
    from tests.factories import make_case

    org = make_org("x_org", "police", "Org X")
    auditor = make_user(org, "auditor", email="aud2@x.example.org")
    pc = make_user(org, email="pc2@x.example.org")
    case = make_case(pc, title="Audited")
    audit.record("view", user=pc, object_type="case", object_id=case.id, case_id=case.id)
    db.session.commit()
    login(auditor.email)
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert f'>{case.reference}</a>' in page and "Org X" in page
    assert "UTC" not in page


def test_the_audit_log_says_when_the_chain_was_last_verified(client, login, runner, ctx):
    org = make_org("y_org", "police", "Org Y")
    auditor = make_user(org, "auditor", email="aud3@y.example.org")
    login(auditor.email)
    assert "Not verified yet" in client.get("/admin/audit/").get_data(as_text=True)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert "Chain verified" in page and "none altered, removed or inserted" in page


def test_the_audit_log_filters_by_action_and_organisation_from_lists(client, login, ctx):
    import json
    import re

    org = make_org("z_org", "police", "Org Z")
    other = make_org("w_org", "council", "Org W")
    auditor = make_user(org, "auditor", email="aud4@z.example.org")
    make_user(other, email="pc@w.example.org")
    audit.record("close_case", user_email="pc@w.example.org", organisation_id=other.id, object_type="case")
    audit.record("close_case", user_email="pc@z.example.org", organisation_id=org.id, object_type="case")
    db.session.commit()
    login(auditor.email)
    page = client.get("/admin/audit/").get_data(as_text=True)
    groups = json.loads(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S).group(1)
                        .replace("&#34;", '"').replace("&quot;", '"'))
    actions = dict(groups["Action"][0]["options"])
    organisations = dict(groups["Organisation"][0]["options"])
    assert actions["close_case"] == "Close case" and actions["view"] == "View"
    assert organisations[str(other.id)] == "Org W" and organisations[str(org.id)] == "Org Z"
    # Picking from both lists narrows the log to the one event.
    action_arg = groups["Action"][0]["arg"]
    org_arg = groups["Organisation"][0]["arg"]
    listed = client.get(f"/admin/audit/?flt1_{action_arg}=close_case&flt2_{org_arg}={other.id}") \
        .get_data(as_text=True)
    assert "pc@w.example.org" in listed and "pc@z.example.org" not in listed
