"""Process definitions: lint and deploy immutable versions, list them, resolve call dependencies."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select

from casework.errors import Conflict, InvalidInput, NotPermitted
from models import ProcessDefinition, Service, User, audit, db, utcnow
from models.enums import OrgType, Role, label
from workflows import engine
from workflows.engine import DiagramError, Problem
from workflows.operations import OPERATIONS

ORG_TYPES = {t.value for t in OrgType}
ROLES = {r.value for r in Role}


NOTE_MAX = 2000


def latest(key: str) -> ProcessDefinition | None:
    """The newest active version of a process."""
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                             ProcessDefinition.active.is_(True))
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def dependencies(definition_keys: list[str], seen: set[str] | None = None) -> dict[str, str]:
    """XML of the latest versions of called processes, transitively."""
    seen = seen if seen is not None else set()
    out: dict[str, str] = {}
    for key in definition_keys:
        if key in seen:
            continue
        seen.add(key)
        found = latest(key)
        if found is not None:
            out[key] = found.bpmn_xml
            out.update(dependencies(found.called_keys, seen))
    return out


def _deployed_xml() -> dict[str, str]:
    latest_versions = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
        .group_by(ProcessDefinition.key).subquery()
    rows = db.session.execute(select(ProcessDefinition.key, ProcessDefinition.bpmn_xml).join(
        latest_versions, (ProcessDefinition.key == latest_versions.c.key)
        & (ProcessDefinition.version == latest_versions.c.v)))
    return {k: x for k, x in rows}


def check(xml: bytes | str) -> engine.Parsed:
    """Lint a diagram as deploy would, against what is deployed now.

    :raise DiagramError: with every problem found
    """
    services = set(db.session.scalars(select(Service.code).where(Service.active.is_(True))))
    return engine.lint(xml, _deployed_xml(), ORG_TYPES, ROLES, set(OPERATIONS), services)


def _text(xml: bytes | str) -> str:
    if isinstance(xml, str):
        return xml
    try:
        return xml.decode("utf-8")
    except UnicodeDecodeError:
        raise DiagramError([Problem("the file is not UTF-8 text")]) from None


def deploy(xml: bytes | str, user: User | None = None, *, pending: bool = False,
           change_note: str | None = None) -> tuple[ProcessDefinition, bool]:
    """Store a new immutable version; returns (definition, created). Identical XML returns the latest (or the
    version already waiting for approval). `pending`: not in effect until a second lead approves (`propose`).

    :raise DiagramError: when the diagram does not lint
    """
    text = _text(xml)
    parsed = check(text)
    sha = hashlib.sha256(text.encode()).hexdigest()
    for current in (latest(parsed.key), waiting(parsed.key)):
        if current is not None and current.sha256 == sha:
            return current, False
    version = (db.session.scalar(select(func.max(ProcessDefinition.version))
                                 .where(ProcessDefinition.key == parsed.key)) or 0) + 1
    definition = ProcessDefinition(key=parsed.key, version=version, name=parsed.name, bpmn_xml=text, sha256=sha,
                                   calls=json.dumps(parsed.calls), deployed_by_id=user.id if user else None,
                                   active=not pending, approval="pending" if pending else "approved",
                                   change_note=(change_note or "").strip()[:NOTE_MAX] or None)
    db.session.add(definition)
    db.session.flush()
    audit.record("propose_deploy" if pending else "deploy", user=user, object_type="process_definition",
                 object_id=definition.id, detail={"key": parsed.key, "version": version, "sha256": sha,
                                                  "warnings": [str(w) for w in parsed.warnings],
                                                  "change_note": definition.change_note})
    return definition, True


def propose(xml: bytes | str, user: User, change_note: str | None = None) -> tuple[ProcessDefinition, bool]:
    """A lead's deploy from the console or the API: stored, but in effect only when a lead of another
    organisation approves it (a deploy changes what every agency's cases do). The command line, run by whoever
    operates the service, deploys directly."""
    return deploy(xml, user, pending=True, change_note=change_note)


def change_note(value: object) -> str:
    """What changed, as a lead says it (required for console deploys and rollbacks).

    :raise InvalidInput: empty or too long
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput({"note": "say what changed and why (other leads and the audit read it)"})
    if len(text) > NOTE_MAX:
        raise InvalidInput({"note": f"at most {NOTE_MAX} characters"})
    return text


def rollback(user: User, definition: ProcessDefinition, note: object) -> tuple[ProcessDefinition, bool]:
    """Go back to an earlier version: a new version with its content (waiting for a second lead, like any
    deploy). Refused with the lint's messages if that content no longer deploys.

    :raise InvalidInput: no note, or the version is the one in effect
    :raise DiagramError: the earlier version no longer passes the checks
    """
    why = change_note(note)
    current = latest(definition.key)
    if current is not None and current.sha256 == definition.sha256:
        raise InvalidInput({"note": f"version {definition.version} is what is in effect already"})
    made, created = propose(definition.bpmn_xml, user, change_note=f"Back to version {definition.version}: {why}")
    audit.record("rollback_process", user=user, object_type="process_definition", object_id=made.id,
                 detail={"key": definition.key, "to_content_of": definition.version, "new_version": made.version})
    return made, created


def waiting(key: str) -> ProcessDefinition | None:
    """The newest version of `key` waiting for approval."""
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.approval == "pending",
                                                             ProcessDefinition.key == key)
                             .order_by(ProcessDefinition.id.desc()).limit(1))


def decide(definition: ProcessDefinition, user: User, approve: bool) -> None:
    """A second lead approves (the version takes effect for new cases) or rejects a waiting version; audited.

    :raise NotPermitted: not a lead, the lead who deployed it, or a lead of the same organisation
    :raise Conflict: when it is not waiting
    """
    if not user.has_role(Role.LEAD):
        raise NotPermitted("Only working-group leads approve processes.")
    if definition.approval != "pending":
        raise Conflict(f"{definition} is not waiting for approval ({definition.approval})")
    deployer = definition.deployed_by
    if deployer is not None and (deployer.id == user.id or deployer.organisation_id == user.organisation_id):
        raise NotPermitted("A lead of another organisation approves: a deploy is a partnership decision.")
    definition.approval, definition.active = ("approved", True) if approve else ("rejected", False)
    definition.approved_by_id, definition.approved_at = user.id, utcnow()
    audit.record("approve_deploy" if approve else "reject_deploy", user=user, object_type="process_definition",
                 object_id=definition.id, detail={"key": definition.key, "version": definition.version,
                                                  "deployed_by": deployer.email if deployer else None})


def latest_per_key() -> list[ProcessDefinition]:
    """One row per key: its newest version in effect (versions waiting for approval are not)."""
    newest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
        .where(ProcessDefinition.active.is_(True)).group_by(ProcessDefinition.key).subquery()
    return list(db.session.scalars(select(ProcessDefinition).join(
        newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v))
        .order_by(ProcessDefinition.key)))


def names(keys: set[str] | None = None) -> dict[str, str]:
    """Process key -> the name people read: its newest version's that has one, else the key in words (one query;
    `keys` limits it to those)."""
    stmt = select(ProcessDefinition.key, ProcessDefinition.name).order_by(ProcessDefinition.key,
                                                                         ProcessDefinition.version)
    if keys is not None:
        stmt = stmt.where(ProcessDefinition.key.in_(keys))
    out: dict[str, str] = {}
    for key, name in db.session.execute(stmt):
        out[key] = name or out.get(key) or label(key)
    return out
