"""The one place that decides who sees and does what (DESIGN.md §3.4). Deny by default."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import Flask, abort, current_app, g, has_request_context, request, session
from flask_login import AnonymousUserMixin, LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import (ColumnElement, Select, and_, bindparam, delete, exists, false, literal, or_, select, true,
                        update)
from sqlalchemy.orm import aliased, joinedload

from models import (ApiToken, AuditEvent, Case, CaseAccess, CaseFact, CaseMember, CaseParticipant, Disclosure, Document,
                    CaseType, CaseTypeProcess, CodeEntitlement, InformationSharingAgreement, LetterTemplate,
                    Organisation, Person, ProcessDefinition,
                    RetentionRule, RoleGrant, SharingException,
                    Service, ServiceProvision, Setting, User, WorkflowInstance, WorkItem, db)
from models import Area as CaseArea  # access.Area below names console screens
from models import READ_MOSTLY, UserSession, audit, utcnow
from models.enums import Role
from models.meetings import Meeting, MeetingInvite, MeetingType
from models.security import digest

log = logging.getLogger(__name__)
login_manager = LoginManager()
csrf = CSRFProtect()  # here so that app.py and api/ share it without importing each other
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to use Casebook."
login_manager.login_message_category = "info"

CASEWORK = frozenset({Role.PRACTITIONER, Role.MANAGER, Role.LEAD})
ID_MAX = 2**31 - 1  # ids live in 32-bit integer columns
CLAUSE_CACHE_SIZE = 20_000   # about ten clauses for each of 2,000 users
_CLAUSES: dict[tuple, ColumnElement[bool]] = {}
VISIBLE_CASE = aliased(Case, name="visible_case")
# Reference rows anyone signed in may read (forms and routing need them); only admins change them.
PUBLIC_REFERENCE = (Organisation, CaseType, CaseArea, Service, ServiceProvision, Setting, CodeEntitlement)


class Action(StrEnum):
    LIST = "list"
    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"
    ADD_NOTE = "add_note"
    START_PROCESS = "start_process"
    COMPLETE = "complete"
    DEPLOY = "deploy"


class Area(StrEnum):
    """Console screens; each is open to the roles in AREA_ROLES."""

    CASES = "cases"
    CASE_REGISTER = "case_register"
    PEOPLE = "people"
    ORGANISATIONS = "organisations"
    USERS = "users"
    REFERENCE = "reference"
    AUDIT = "audit"
    WORK = "work"
    PROCESSES = "processes"
    PROCESS_MAPPING = "process_mapping"
    DASHBOARD = "dashboard"
    REPORTS = "reports"
    IMPORT = "import"
    NOTIFICATIONS = "notifications"
    ACCOUNT = "account"
    RETENTION = "retention"
    AGREEMENTS = "agreements"


AREA_ROLES: dict[Area, frozenset[Role]] = {
    Area.CASES: CASEWORK,
    Area.CASE_REGISTER: frozenset({Role.AUDITOR}),
    Area.PEOPLE: CASEWORK,
    Area.ORGANISATIONS: frozenset(Role),
    Area.USERS: frozenset({Role.ADMIN}),
    Area.REFERENCE: frozenset({Role.ADMIN}),
    Area.AUDIT: frozenset({Role.AUDITOR}),
    Area.WORK: CASEWORK,
    Area.PROCESSES: frozenset({Role.LEAD, Role.ADMIN}),
    Area.PROCESS_MAPPING: frozenset({Role.LEAD, Role.ADMIN}),
    Area.DASHBOARD: frozenset({Role.MANAGER, Role.LEAD}),
    Area.REPORTS: frozenset({Role.MANAGER, Role.LEAD, Role.PRACTITIONER, Role.AUDITOR}),
    Area.IMPORT: frozenset({Role.PRACTITIONER, Role.MANAGER}),
    Area.NOTIFICATIONS: frozenset(Role),
    Area.ACCOUNT: frozenset(Role),
    Area.RETENTION: frozenset({Role.MANAGER, Role.LEAD}),
    # Admins record agreements; each party's managers approve them; auditors (the IG lead's view) read them all.
    Area.AGREEMENTS: frozenset({Role.ADMIN, Role.MANAGER, Role.AUDITOR}),
}


AUDITED_DENIALS = ("/admin", "/api", "/login", "/logout")  # not favicons or stray static paths


def record_denial(status: int, reason: str) -> None:
    """Leave an audit row for a refused request: 404 for the invisible, 403, a bad CSRF token, a bad API token.

    Its own transaction: whatever the refused request queued is dropped first."""
    if not has_request_context() or not request.path.startswith(AUDITED_DENIALS):
        return
    try:
        db.session.rollback()
        user = current_user if getattr(current_user, "is_authenticated", False) else None
        audit.record("denied", user=user, object_type="request", object_id=status,
                     detail={"status": status, "method": request.method, "path": request.path[:200],
                             "reason": reason[:200]})
        db.session.commit()
    except Exception:  # the refusal stands even if its record cannot be written; the error is logged
        db.session.rollback()
        log.exception("could not audit a refused request")


def init_app(app: Flask) -> None:
    """Attach Flask-Login and CSRF protection to the app."""
    login_manager.init_app(app)
    csrf.init_app(app)

    @app.before_request
    def _authenticate_afresh() -> None:
        # Flask-Login caches the user on `g`; when an app context outlives one request (tests, embedding)
        # that cache must not carry one request's identity into the next.
        g.pop("_login_user", None)
        g.pop("_casebook_visible", None)
        g.pop("csp_nonce", None)


SID_KEY = "sid"  # the cookie session's key for the random id of its server-side row
# last_seen_at is written at most this often per session: a write per request would cost more than the page.
SESSION_TOUCH_EVERY = timedelta(minutes=1)


def session_expired(row: Any, now: datetime | None = None) -> bool:
    """Whether a login session has been idle too long or has reached its absolute lifetime."""
    now = now or utcnow()
    cfg = current_app.config
    return (now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
            or now - row.created_at > timedelta(minutes=cfg["SESSION_LIFETIME_MINUTES"]))


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The user of this request's cookie, if its server-side session row (casework/sessions.py) still exists and
    has not expired: logout and the "end session" buttons delete the row, so a replayed cookie signs nobody in."""
    raw = session.get(SID_KEY) if has_request_context() else None
    if not raw or not isinstance(raw, str) or not user_id.isdigit():
        return None
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return None   # a request that names its token acts as the token's user, never as the cookie's
    row = db.session.execute(_SESSION_USER, {"digest": digest(raw), "uid": int(user_id)}).unique().first()
    if row is None:
        return None
    now = utcnow()
    if session_expired(row, now):
        _session_write(delete(UserSession).where(UserSession.id == row.id))
        return None
    if now - row.last_seen_at > SESSION_TOUCH_EVERY:
        _session_write(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
    return row[0]


# Built once: the user, their roles and the session row in one query on every console request.
_SESSION_USER = (select(User, UserSession.id, UserSession.created_at, UserSession.last_seen_at)
                 .join(UserSession, UserSession.user_id == User.id)
                 .where(UserSession.token_hash == bindparam("digest"), User.id == bindparam("uid"),
                        User.active.is_(True))
                 .options(joinedload(User.role_rows)))


def _session_write(stmt: Any) -> None:
    if READ_MOSTLY.get():
        # A page view may commit nothing: its own short transaction (the view holds no write lock yet).
        with db.engine.begin() as conn:
            conn.execute(stmt)
    else:
        db.session.execute(stmt)  # committed with the request's change (SQLite's lock is already ours)


@login_manager.request_loader
def _load_bearer(request) -> User | None:
    """API clients authenticate with `Authorization: Bearer <token>` (no cookie session is made)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return user_for_token(header[7:].strip())


TOKEN_TOUCH_EVERY = timedelta(minutes=1)


def user_for_token(token: str) -> User | None:
    """The active user an unexpired, unrevoked API token belongs to, or None."""
    if not token.startswith(ApiToken.PREFIX) or len(token) > 200:
        return None
    # One query for the user and roles behind the token (the token row itself is not loaded): every API request.
    row = db.session.execute(_TOKEN_USER, {"digest": ApiToken.digest(token), "now": utcnow()}).unique().first()
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_EVERY:
        # To the minute, in the request's transaction: a write per API call would cost more than the call.
        db.session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row[0]


# Built once: constructing the statement would cost more than running it, on every API request.
_TOKEN_USER = (select(User, ApiToken.id, ApiToken.last_used_at).join(ApiToken, ApiToken.user_id == User.id)
               .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked.is_(False), User.active.is_(True),
                      or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now")))
               .options(joinedload(User.role_rows)))


def _roles(user: Any) -> set[Role]:
    if user is None or isinstance(user, AnonymousUserMixin) or not getattr(user, "is_authenticated", False):
        return set()
    return user.roles


def can_open(user: Any, area: Area) -> bool:
    """May the user open this console screen at all?"""
    return bool(_roles(user) & AREA_ROLES[area])


def clause(user: Any, model: type) -> ColumnElement[bool]:
    """A WHERE clause restricting `model` rows to those the user may see (false() when none)."""
    roles = _roles(user)
    if not roles:
        return false()
    # Built once per user, organisation, roles and model, then reused (expressions are immutable): building
    # one costs more than running it, and every page and API call asks for several.
    key = (user.id, user.organisation_id, frozenset(roles), model)
    found = _CLAUSES.get(key)
    if found is None:
        if len(_CLAUSES) >= CLAUSE_CACHE_SIZE:
            _CLAUSES.clear()
        found = _CLAUSES[key] = _clause(user, model)
    return found


def _clause(user: Any, model: type) -> ColumnElement[bool]:
    roles = _roles(user)
    if not roles:
        return false()
    if model is Case:
        if roles & CASEWORK:
            return _case_clause(user)
        return true() if Role.AUDITOR in roles else false()
    if model is Person:
        if not roles & CASEWORK:
            return false()
        # A scalar subquery (LIMIT 1) rather than EXISTS: PostgreSQL may turn an EXISTS under OR into a hash of
        # every person the organisation sees (hundreds of thousands), where a search needs a few probes.
        seen = select(literal(1)).where(CaseParticipant.person_id == Person.id,
                                        _on_visible_case(user, CaseParticipant.case_id)).limit(1).scalar_subquery()
        return or_(Person.registered_by_org_id == user.organisation_id, seen.is_not(None))
    if model in (WorkItem, WorkflowInstance):
        if not roles & CASEWORK:
            return false()
        return _on_visible_case(user, model.case_id)
    if model is Document:
        if not roles & CASEWORK:
            return false()
        # On a case: the case's rules; a person's own document (no case): the person's. Deleted ones are kept for
        # the audit, never listed or served.
        persons = select(literal(1)).where(Person.id == Document.person_id, clause(user, Person)).limit(1)
        return and_(Document.deleted_at.is_(None),
                    or_(and_(Document.case_id.is_not(None), _on_visible_case(user, Document.case_id)),
                        and_(Document.case_id.is_(None), persons.scalar_subquery().is_not(None))))
    if model in (ProcessDefinition, LetterTemplate):
        return true() if roles & (CASEWORK | {Role.ADMIN}) else false()
    if model is CaseTypeProcess:
        return true() if roles & {Role.LEAD, Role.ADMIN} else false()
    if model is CaseFact:
        if roles & CASEWORK:
            return _on_visible_case(user, CaseFact.case_id)
        return false()
    if model is AuditEvent:
        return true() if Role.AUDITOR in roles else false()
    if model is Meeting:   # the panel holding it and the organisations invited
        if not roles & CASEWORK:
            return false()
        return or_(Meeting.organisation_id == user.organisation_id,
                   exists().where(MeetingInvite.meeting_id == Meeting.id,
                                  MeetingInvite.organisation_id == user.organisation_id))
    if model is MeetingType:
        return true()
    if model in PUBLIC_REFERENCE:
        return true()
    if model is User:
        return true() if Role.ADMIN in roles else User.id == user.id
    if model is ApiToken:
        return true() if Role.ADMIN in roles else ApiToken.user_id == user.id
    if model is RoleGrant:
        return true() if Role.ADMIN in roles else false()
    if model is RetentionRule:   # reference data every manager may read; admins change it
        return true()
    if model in (Disclosure, SharingException):   # the information-governance lead's view
        return true() if Role.AUDITOR in roles else false()
    if model is InformationSharingAgreement:
        if roles & {Role.ADMIN, Role.AUDITOR}:
            return true()
        if roles & {Role.LEAD, Role.MANAGER}:   # the agreements their organisation is a party to
            return InformationSharingAgreement.organisations.any(id=user.organisation_id)
        return false()
    return false()


def _case_clause(user: User, case: Any = Case) -> ColumnElement[bool]:
    # One table answers "does the organisation take part?" (lead or partner), so the planner can use an index
    # from either side; an OR of lead and partner could only be checked row by row.
    takes_part = exists().where(CaseAccess.case_id == case.id, CaseAccess.organisation_id == user.organisation_id)
    named = exists().where(CaseMember.case_id == case.id, CaseMember.user_id == user.id)
    return and_(takes_part, or_(case.restricted.is_(False), named))


def case_parts(user: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The cases the user sees, in two parts whose union is clause(user, Case): those every casework user of
    the organisation sees (not restricted), and the restricted ones this user is named on. Figures over the
    first part can be computed once per organisation and shared; the second part is small and personal."""
    if not _roles(user) & CASEWORK:
        return false(), false()
    takes_part = exists().where(CaseAccess.case_id == Case.id, CaseAccess.organisation_id == user.organisation_id)
    named = exists().where(CaseMember.case_id == Case.id, CaseMember.user_id == user.id)
    return shared_cases(user.organisation_id), and_(takes_part, Case.restricted.is_(True), named)


def shared_cases(organisation_id: int) -> ColumnElement[bool]:
    """The cases every casework user of the organisation sees: those it takes part in that are not restricted."""
    return and_(exists().where(CaseAccess.case_id == Case.id, CaseAccess.organisation_id == organisation_id),
                Case.restricted.is_(False))


def _on_visible_case(user: User, case_id: Any) -> ColumnElement[bool]:
    """Rows hanging off a case (work items, instances, facts) are visible with it."""
    # An alias, so that a query which itself joins cases does not swallow the subquery's FROM.
    return exists().where(VISIBLE_CASE.id == case_id, _case_clause(user, VISIBLE_CASE))


def visible(user: Any, model: type) -> Select:
    """Rows of `model` the user may see, as a Select the caller may refine."""
    return select(model).where(clause(user, model))


def is_visible(user: Any, obj: Any) -> bool:
    """Is this object among the rows visible to the user? (the same query as lists use; memoised per request)"""
    model = type(obj)
    pk = model.__mapper__.primary_key[0]
    key = (getattr(user, "id", None), model.__name__, getattr(obj, pk.key))
    memo = g.setdefault("_casebook_visible", {}) if has_request_context() else {}
    if key not in memo:
        memo[key] = bool(db.session.scalar(select(exists().where(clause(user, model), pk == key[2]))))
    return memo[key]


def remember_visible(user: Any, obj: Any) -> None:
    """Record that a row was just loaded through visible(), so checks need not query again."""
    if has_request_context():
        pk = type(obj).__mapper__.primary_key[0]
        g.setdefault("_casebook_visible", {})[(user.id, type(obj).__name__, getattr(obj, pk.key))] = True


def get_or_404(user: Any, model: type, ident: Any) -> Any:
    """Load one visible object.

    :raise 404: if it does not exist or the user may not see it
    """
    if ident is None:
        abort(404)
    pk = model.__mapper__.primary_key[0]
    try:
        ident = pk.type.python_type(ident)
    except (TypeError, ValueError):
        abort(404)
    if isinstance(ident, int) and not 0 < ident <= ID_MAX:
        abort(404)  # beyond the column's range: nothing there (PostgreSQL would refuse the query)
    obj = db.session.scalars(visible(user, model).where(pk == ident)).first()
    if obj is None:
        abort(404)
    return obj


def can_see_case_content(user: Any, case: Case) -> bool:
    """Auditors see case metadata only; case content needs a casework role and visibility."""
    return bool(_roles(user) & CASEWORK) and is_visible(user, case)


def can(user: Any, action: Action, obj: Any) -> bool:
    """May the user do `action` on `obj` (an instance, or a model class for CREATE/LIST)?"""
    roles = _roles(user)
    if not roles:
        return False
    model = obj if isinstance(obj, type) else type(obj)
    if model is Case:
        return _can_case(user, roles, action, obj)
    if model is Person:
        if not roles & CASEWORK:
            return False
        if action in (Action.LIST, Action.CREATE):
            return True
        if action is Action.VIEW:
            return is_visible(user, obj)
        if action is Action.EDIT:
            return obj.registered_by_org_id == user.organisation_id
        return False
    if model is WorkItem:
        return _can_item(user, roles, action, obj)
    if model is Document:
        return _can_document(user, roles, action, obj)
    if model is CaseTypeProcess:
        # Admins see which processes start for which case types; only leads change it.
        if action in (Action.LIST, Action.VIEW):
            return bool(roles & {Role.LEAD, Role.ADMIN})
        return Role.LEAD in roles and action in (Action.CREATE, Action.EDIT, Action.DELETE)
    if model is ProcessDefinition:
        if action is Action.DEPLOY:
            return Role.LEAD in roles
        return action in (Action.LIST, Action.VIEW) and bool(roles & (CASEWORK | {Role.ADMIN}))
    if model is LetterTemplate:   # leads upload and retire versions; whoever writes letters reads them
        if action in (Action.LIST, Action.VIEW):
            return bool(roles & (CASEWORK | {Role.ADMIN}))
        return Role.LEAD in roles and action in (Action.CREATE, Action.EDIT)
    if model is AuditEvent:
        return Role.AUDITOR in roles and action in (Action.LIST, Action.VIEW)
    if model in (RoleGrant, ApiToken):   # changed only through their services (approve, revoke)
        return Role.ADMIN in roles and action in (Action.LIST, Action.VIEW)
    if model is RetentionRule:
        return Role.ADMIN in roles and action in (Action.LIST, Action.VIEW, Action.CREATE, Action.EDIT,
                                                  Action.DELETE)
    if model is InformationSharingAgreement:
        if action is Action.LIST:
            return bool(roles & {Role.ADMIN, Role.MANAGER, Role.AUDITOR})
        if action is Action.VIEW:
            return not isinstance(obj, type) and is_visible(user, obj)
        return Role.ADMIN in roles and action in (Action.CREATE, Action.EDIT)   # kept for the record, never deleted
    if model is MeetingType:
        if action in (Action.LIST, Action.VIEW):
            return bool(roles & (CASEWORK | {Role.ADMIN}))
        return bool(roles & {Role.LEAD, Role.ADMIN}) and action in (Action.CREATE, Action.EDIT)
    if model is CodeEntitlement and action in (Action.CREATE, Action.EDIT):
        return bool(roles & {Role.LEAD, Role.ADMIN})   # the Code as data leads change (retired, never deleted)
    if model in (*PUBLIC_REFERENCE, User):
        if action is Action.LIST:
            return model in PUBLIC_REFERENCE or Role.ADMIN in roles
        if action is Action.VIEW:
            return not isinstance(obj, type) and is_visible(user, obj)
        if model is ServiceProvision and action is Action.DELETE:  # a provider that stops providing
            return Role.ADMIN in roles
        # Leavers are deactivated, never deleted: history and audit keep pointing at them.
        return Role.ADMIN in roles and action in (Action.CREATE, Action.EDIT)
    return False


def _can_case(user: User, roles: set[Role], action: Action, obj: Any) -> bool:
    if action is Action.LIST:
        return bool(roles & (CASEWORK | {Role.AUDITOR}))
    if not roles & CASEWORK:
        return action is Action.VIEW and Role.AUDITOR in roles
    if action is Action.CREATE:
        return True
    if isinstance(obj, type) or not is_visible(user, obj):
        return False
    if action in (Action.VIEW, Action.ADD_NOTE, Action.START_PROCESS):
        return True
    if action is Action.EDIT:
        return obj.lead_organisation_id == user.organisation_id
    return False


def _can_document(user: User, roles: set[Role], action: Action, doc: Any) -> bool:
    """Whoever sees the case (or the person) downloads; the organisation that uploaded it, or whoever may edit
    the case (or person), adds versions and deletes."""
    if not roles & CASEWORK or isinstance(doc, type):
        return False
    if action is Action.VIEW:
        return is_visible(user, doc)
    if action in (Action.EDIT, Action.DELETE):
        if not is_visible(user, doc):
            return False
        uploader = db.session.get(User, doc.uploaded_by_id) if doc.uploaded_by_id else None
        if uploader is not None and uploader.organisation_id == user.organisation_id:
            return True
        owner = db.session.get(Case, doc.case_id) if doc.case_id else db.session.get(Person, doc.person_id)
        return owner is not None and can(user, Action.EDIT, owner)
    return False


def _can_item(user: User, roles: set[Role], action: Action, item: Any) -> bool:
    """Anyone who sees the case sees its work; only the assigned organisation (and role) does it."""
    if not roles & CASEWORK:
        return False
    if isinstance(item, type):
        return action is Action.LIST
    if action in (Action.LIST, Action.VIEW):
        return is_visible(user, item)
    if action is Action.COMPLETE:
        return (item.organisation_id is not None and item.organisation_id == user.organisation_id
                and (item.required_role is None or Role(item.required_role) in roles)
                and is_visible(user, item))
    return False


def can_act_for(user: Any, organisation: Organisation | None) -> bool:
    """May the user open or lead work on behalf of this organisation? (only their own)"""
    return organisation is not None and bool(_roles(user) & CASEWORK) \
        and organisation.id == user.organisation_id
