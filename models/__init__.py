"""SQLAlchemy models; re-exports `db` and every model, and wires the database into the app."""
from __future__ import annotations

import contextvars
from pathlib import Path

from flask import Flask, request
from flask_migrate import Migrate
from sqlalchemy import event
from sqlalchemy.engine import Engine

from models.audit import AuditEvent, AuditHead, AuditVerification
from models.base import Base, db, utcnow
from models.documents import Document, DocumentBlob
from models.case import Case, CaseAccess, CaseMember, CaseNote, CaseOrganisation, CaseParticipant, ReferenceCounter
from models.facts import CaseFact, CaseTypeProcess
from models.incidents import Incident
from models.letters import LetterTemplate
from models.meetings import AgendaItem, Meeting, MeetingAction, MeetingAttendee, MeetingInvite, MeetingType
from models.jobs import DashboardSnapshot, ExportChunk, ExportJob, ImportJob
from models.organisation import Organisation, RoleGrant, User, UserRole
from models.person import Person, PersonChange
from models.retention import DisposalReview, RetentionRule
from models.security import RecoveryCode, SecurityKey, UserSession
from models.sharing import Consent, Disclosure, ShareRequest, SharingException
from models.notifications import Notification, NotificationPreference, OutboxMessage
from models.reference import (Area, CaseType, CodeEntitlement, InformationSharingAgreement, IsaApproval, Service,
                              ServiceProvision, Setting)
from models.workflow import (ApiToken, InstanceStatus, ItemStatus, ProcessDefinition, ProcessDraft,
                             ProcessTestRun, WorkflowInstance, WorkItem)

__all__ = ["AgendaItem", "Meeting", "MeetingAction", "MeetingAttendee", "MeetingInvite", "MeetingType", "Document", "DocumentBlob", "CodeEntitlement", "Incident", "LetterTemplate", "Area", "Notification", "NotificationPreference", "OutboxMessage", "Service", "ServiceProvision", "Setting", "DashboardSnapshot", "ExportChunk", "ExportJob", "ImportJob", "ProcessDraft", "ProcessTestRun", "CaseFact", "CaseTypeProcess", "ApiToken", "InstanceStatus", "ItemStatus", "ProcessDefinition", "WorkflowInstance", "WorkItem",
           "AuditEvent", "AuditHead", "AuditVerification", "Base", "Case", "CaseAccess", "CaseMember", "CaseNote", "CaseOrganisation",
           "CaseParticipant", "CaseType", "InformationSharingAgreement", "IsaApproval", "Organisation", "Person", "PersonChange",
           "DisposalReview", "RecoveryCode", "SecurityKey", "Consent", "Disclosure", "ShareRequest", "SharingException", "ReferenceCounter", "RetentionRule", "RoleGrant", "User", "UserSession", "UserRole", "db", "init_app", "utcnow"]

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
migrate = Migrate()


def init_app(app: Flask) -> None:
    """Bind Flask-SQLAlchemy and Flask-Migrate; tune SQLite connections."""
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    read_mostly(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _tune_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
            elif engine.dialect.name == "postgresql":
                _tune_postgresql(engine)


def _tune_postgresql(engine: Engine) -> None:
    """No JIT: pages run many short queries, and compiling one costs more than running it (10-15 ms)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cur:
            cur.execute("SET jit = off")
        dbapi_connection.commit()


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, busy timeout, and BEGIN IMMEDIATE so writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Autocommit in the driver: SQLAlchemy's begin event below issues the BEGIN itself.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # Writers take the write lock up front (upgrading a read lock later fails at once with SQLITE_BUSY
        # instead of waiting). Page views read in a shared snapshot instead, so readers never queue.
        deferred = READ_MOSTLY.get()
        conn.info["sqlite_deferred"] = False
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
        conn.info["sqlite_deferred"] = deferred

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(conn, cursor, statement: str, parameters, context, executemany) -> None:
        # A page view's first write (its audit row, a cache) ends the read snapshot and starts a write
        # transaction: it waits for the lock like any writer, and the write reads what it needs under it.
        if conn.info.get("sqlite_deferred") and not statement.lstrip()[:6].upper().startswith(
                ("SELECT", "PRAGMA", "COMMIT", "ROLLBA", "RELEAS")):
            cursor.execute("COMMIT")
            cursor.execute("BEGIN IMMEDIATE")
            conn.info["sqlite_deferred"] = False


# Set for GET and HEAD requests (app.py): their transactions begin without the SQLite write lock.
READ_MOSTLY: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_read_mostly", default=False)


def read_mostly(app: Flask) -> None:
    """Page views (GET, HEAD) read without SQLite's write lock; anything they write takes it then."""

    @app.before_request
    def _mark() -> None:
        READ_MOSTLY.set(request.method in ("GET", "HEAD"))

    @app.teardown_request
    def _unmark(_exc: BaseException | None) -> None:
        READ_MOSTLY.set(False)
