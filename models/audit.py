"""Append-only, hash-chained audit log (who, organisation, action, object, when, changed fields)."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import DDL, Boolean, Integer, String, Text, bindparam, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import UTCDateTime, db, utcnow

GENESIS = "0" * 64

# Every action the code records: the audit log offers them as a pick-list (a DISTINCT over millions of rows
# would read them all). tests/test_audit_actions.py fails when code records an action missing here.
ACTIONS: tuple[str, ...] = (
    "add_action", "add_member", "add_note", "add_organisation", "add_organisation_refused",
    "add_organisation_skipped", "add_participant", "approve_deploy", "approve_isa", "approve_mapping",
    "approve_mapping_removal", "approve_roles", "assign", "attend_meeting", "cancel_process", "carry_forward",
    "claim", "close_case", "close_meeting", "complete", "consent_recorded", "consent_withdrawn", "create",
    "delete", "delete_document", "denied", "deploy", "discard", "dispose", "download", "download_document",
    "email_failed", "email_sent", "end_session", "end_sessions", "export", "generate_letter",
    "generate_letter_skipped", "give_step", "import", "invite_to_meeting", "invite_user", "isa_back_to_draft",
    "issue_token", "legal_hold", "legal_hold_released", "letter_address_override", "list_case", "login",
    "login_failed", "logout", "mark_absent", "merge", "mfa_enrolled", "migrate", "new_document_version",
    "new_recovery_codes", "password_changed", "person_match", "propose_deploy", "record_incident",
    "record_outcome", "refuse_document", "refuse_roles", "reject_deploy", "reject_mapping",
    "reject_mapping_removal", "release", "remove_organisation", "remove_participant", "remove_roles",
    "reopen_case", "request_agency", "request_mapping_removal", "request_roles", "reset_mfa", "retention_due",
    "retention_keep", "retire", "retry_process", "revoke_token", "rollback_process", "schedule_meeting", "search",
    "security_key_added", "security_key_removed", "separate_incident", "set_password_from_invitation",
    "share_request", "share_request_granted", "share_request_refused", "sharing_exception", "start_process",
    "start_process_skipped", "subject_access", "test_run", "test_run_clock", "timer", "unretire", "update",
    "update_action", "upload", "upload_document", "view", "write_minutes",
)


class AuditEvent(db.Model):
    """One audited action; rows are never updated or deleted (model guard plus database triggers)."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # No foreign keys: the log must outlive and never block changes to what it describes.
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_email: Mapped[str | None] = mapped_column(String(254), index=True)
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def detail_dict(self) -> dict[str, Any]:
        """The detail JSON decoded."""
        return json.loads(self.detail) if self.detail else {}

    def compute_hash(self, key: bytes | None = None) -> str:
        """Hash of this row's content chained to the previous row's hash (keyed when a key is given)."""
        return chain_hash({c: getattr(self, c) for c in HASHED}, key)


HASHED = ("prev_hash", "at", "user_id", "user_email", "organisation_id", "action", "object_type", "object_id",
          "case_id", "detail")


def chain_hash(row: dict[str, Any], key: bytes | None = None) -> str:
    """A row's content (HASHED, in that order) chained to the previous row's hash: HMAC-SHA-256 with the audit
    key (AUDIT_HMAC_KEY, kept outside the database, so whoever can write the database still cannot forge a
    row), or plain SHA-256 where no key is set (and for rows written before one was)."""
    values = [row.get(c) for c in HASHED]
    values[1] = values[1].isoformat()
    body = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest() if key else hashlib.sha256(body).hexdigest()


def audit_key() -> bytes | None:
    """The configured audit key, if any."""
    raw = current_app.config.get("AUDIT_HMAC_KEY") if has_app_context() else None
    return raw.encode() if raw else None


def term_digest(term: str) -> str:
    """A keyed digest of what someone typed into a search (case and spacing ignored): the log can show that a
    name was searched for, and by whom, without holding the name, which outlives the person's records."""
    key = audit_key() or current_app.config["SECRET_KEY"].encode()
    normal = " ".join(str(term).casefold().split())
    return hmac.new(key, b"search:" + normal.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


class AuditHead(db.Model):
    """The single chain-head row; locking it serialises appends so the chain never forks."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)


class AuditVerification(db.Model):
    """The outcome of each full check of the chain (`flask audit verify`), so auditors see when it last held."""

    __tablename__ = "audit_verification"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    checked: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)


HEAD_ROW = DDL(f"INSERT INTO audit_head (id, last_hash, count) VALUES (1, '{GENESIS}', 0)")
PG_GUARD = [
    DDL("CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql"),
    DDL("CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"),
]
SQLITE_GUARD = [
    DDL("CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"),
    DDL("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"),
]
event.listen(AuditHead.__table__, "after_create", HEAD_ROW)
for _ddl in PG_GUARD:
    event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
for _ddl in SQLITE_GUARD:
    event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper, connection, target: AuditEvent) -> None:
    raise PermissionError("audit events are append-only")


@dataclass
class _Pending:
    at: datetime
    fields: dict[str, Any]


def record(action: str, *, user: Any = None, object_type: str | None = None, object_id: Any = None,
           case_id: int | None = None, detail: dict[str, Any] | None = None,
           organisation_id: int | None = None, user_email: str | None = None,
           session: Session | None = None) -> None:
    """Queue an audit event; it is chained and inserted just before this transaction commits."""
    session = session or db.session()
    if user is not None and getattr(user, "is_authenticated", False):
        user_id, user_email = user.id, user.email
        organisation_id = organisation_id if organisation_id is not None else user.organisation_id
    else:
        user_id = None
    fields = dict(user_id=user_id, user_email=user_email, organisation_id=organisation_id, action=action,
                  object_type=object_type, object_id=None if object_id is None else str(object_id),
                  case_id=case_id,
                  detail=json.dumps(detail, sort_keys=True, default=str, ensure_ascii=False) if detail else None)
    if not session.in_transaction():
        session.begin()  # so a rollback (which drops the queue) fires even if nothing else ran
    session.info.setdefault("audit_pending", []).append(_Pending(utcnow(), fields))


# Built once: these run on every request that changes or views anything.
_HEAD = AuditHead.__table__
_TAKE_HEAD = (_HEAD.update().where(_HEAD.c.id == 1).values(count=_HEAD.c.count + bindparam("n"))
              .returning(_HEAD.c.last_hash))
_SET_HEAD = _HEAD.update().where(_HEAD.c.id == 1).values(last_hash=bindparam("last"))
_INSERT_EVENTS = AuditEvent.__table__.insert()


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    """Lock the chain head last (so no lock-order deadlock), chain the queued events, insert them."""
    pending: list[_Pending] = session.info.pop("audit_pending", [])
    if not pending:
        return
    session.flush()   # the changes the events describe go first, as before any commit
    # A write first (row lock on PostgreSQL, the write lock on SQLite), then the head is read under it.
    last_hash = session.execute(_TAKE_HEAD, {"n": len(pending)}).scalar_one()
    rows, key = [], audit_key()
    for item in pending:
        row = {"at": item.at, "prev_hash": last_hash, **item.fields}
        last_hash = row["hash"] = chain_hash(row, key)
        rows.append(row)
    # One Core statement for them all (rows go in list order, so ids follow the chain): this runs on every
    # request that changes or views anything.
    session.execute(_INSERT_EVENTS, rows)
    session.execute(_SET_HEAD, {"last": last_hash})


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    session.info.pop("audit_pending", None)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    message: str


def verify(session: Session | None = None, batch: int = 5000, key: bytes | None = None,
           anchors: dict[int, tuple[str, int, str]] | None = None) -> VerifyResult:
    """Walk the chain in id order and report the first row whose hash or link does not match.

    Once a row is keyed (HMAC with `key`), every later row must be: an unkeyed row after it was rewritten by
    someone without the key. `anchors` (event id -> (hash, count, when), from the signed checkpoint file)
    catch what the chain alone cannot: the whole chain recomputed, or the newest rows removed with the head.
    """
    session = session or db.session()
    anchors = dict(anchors or {})
    prev, checked, last_id, keyed = GENESIS, 0, 0, False
    while True:
        rows = session.execute(select(AuditEvent).where(AuditEvent.id > last_id)
                               .order_by(AuditEvent.id).limit(batch)).scalars().all()
        if not rows:
            break
        for ev in rows:
            if ev.prev_hash != prev:
                return VerifyResult(False, checked, f"audit chain broken at event {ev.id}: "
                                    "previous-hash link does not match (a row was removed or inserted)")
            if key is not None and ev.compute_hash(key) == ev.hash:
                keyed = True
            elif keyed or ev.compute_hash() != ev.hash:
                hint = "" if key is not None or keyed else " (or the log is keyed: set AUDIT_HMAC_KEY)"
                return VerifyResult(False, checked, f"audit chain broken at event {ev.id}: "
                                    f"content does not match its hash (the row was altered){hint}")
            anchored = anchors.pop(ev.id, None)
            if anchored is not None and anchored[0] != ev.hash:
                return VerifyResult(False, checked, f"audit chain broken at event {ev.id}: it differs from the "
                                    f"checkpoint of {anchored[2]} (the chain was rewritten)")
            prev, checked, last_id = ev.hash, checked + 1, ev.id
        session.expunge_all()
    if anchors:
        first = min(anchors)
        return VerifyResult(False, checked, f"audit chain broken at the end: event {first}, anchored on "
                            f"{anchors[first][2]}, is missing (the newest events were removed)")
    head = session.get(AuditHead, 1)
    if head is None or head.last_hash != prev or head.count != checked:
        return VerifyResult(False, checked, "audit chain broken at the end: the newest events were removed")
    return VerifyResult(True, checked, f"audit chain OK: {checked} events verified")


def checkpoint(session: Session | None = None) -> tuple[int, str, int]:
    """(newest event id, its hash, events in all) for a checkpoint kept outside the database."""
    session = session or db.session()
    newest = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    head = session.get(AuditHead, 1)
    return (newest.id, newest.hash, head.count) if newest else (0, GENESIS, 0)
