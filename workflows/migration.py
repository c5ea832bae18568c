"""Running instances and new process versions: impact preview, and migrating the safe ones (guide §9).

`impact` only reads. `migrate_safe` commits once per instance (like `timers.fire_due_timers`): each
instance is its own unit of work, so one failure never undoes the others.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from casework.errors import NotFound
from models import InstanceStatus, ItemStatus, ProcessDefinition, User, WorkflowInstance, WorkItem, audit, db
from workflows import assignment, engine, processes, tasks

OPEN = (InstanceStatus.RUNNING, InstanceStatus.ERROR)


@dataclass
class InstanceImpact:
    """One running (or failed) instance of an older version and whether it can move to the target."""

    instance_id: int
    case_id: int
    case_reference: str
    version: int
    status: str
    current_steps: list[str]           # bpmn ids of its ready work items
    current_titles: list[str]
    can_migrate: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class MigrationReport:
    """What migrate_safe did: migrated instance ids, skipped ones with reasons, failed ones with the error."""

    key: str
    to_version: int
    migrated: list[int] = field(default_factory=list)
    skipped: dict[int, list[str]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


def _target(key: str, target: ProcessDefinition | None) -> ProcessDefinition:
    found = target or processes.latest(key)
    if found is None or found.key != key:
        raise NotFound(f"no deployed process {key!r}")
    return found


def _candidates(key: str, target: ProcessDefinition) -> list[WorkflowInstance]:
    """Running or failed instances of older versions of `key`, oldest first."""
    return list(db.session.scalars(
        select(WorkflowInstance)
        .join(ProcessDefinition, WorkflowInstance.definition_id == ProcessDefinition.id)
        .where(ProcessDefinition.key == key, ProcessDefinition.version < target.version,
               WorkflowInstance.status.in_(OPEN))
        .options(joinedload(WorkflowInstance.case), joinedload(WorkflowInstance.definition))
        .order_by(WorkflowInstance.id)))


def _ready_items(instance: WorkflowInstance) -> list[WorkItem]:
    return list(db.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id,
                                                          WorkItem.status == ItemStatus.READY)
                                   .order_by(WorkItem.id)))


def _plan(instance: WorkflowInstance, target: ProcessDefinition) -> engine.MigrationPlan:
    """The engine's plan; a failed instance is never moved (its error is dealt with on its own version)."""
    if instance.status is InstanceStatus.ERROR:
        why = instance.error_message or "unknown error"
        reason = f"the instance stopped with an error, so it stays on its version until resolved: {why}"
        return engine.MigrationPlan(False, [reason])
    return engine.migration_plan(instance.state, target.bpmn_xml, target.key,
                                 processes.dependencies(target.called_keys))


def impact(key: str, target: ProcessDefinition | None = None) -> list[InstanceImpact]:
    """What moving to `target` (default: the latest version) would do to each open instance of older versions.

    :raise NotFound: no such deployed process
    """
    target = _target(key, target)
    out = []
    for instance in _candidates(key, target):
        items = _ready_items(instance)
        plan = _plan(instance, target)
        out.append(InstanceImpact(instance_id=instance.id, case_id=instance.case_id,
                                  case_reference=instance.case.reference, version=instance.definition.version,
                                  status=instance.status.value, current_steps=[i.bpmn_id for i in items],
                                  current_titles=[i.title for i in items], can_migrate=plan.can_migrate,
                                  reasons=plan.reasons, notes=plan.notes))
    return out


def _refresh_items(instance: WorkflowInstance, wf) -> None:
    """sync_items keeps a surviving item as it was; give it the new version's title, form and assignment."""
    items = {i.spiff_task_id: i for i in _ready_items(instance)}
    for task in engine.ready_user_tasks(wf):
        item = items.get(task.id)
        if item is None:
            continue
        groups = json.dumps(task.candidate_groups)
        if (item.lane, item.candidate_groups) != (task.lane, groups):
            who = assignment.resolve(instance.case, task.candidate_groups, task.lane)
            new_org = who.organisation.id if who.organisation else None
            if new_org != item.organisation_id:   # a claim by someone in the old organisation no longer fits
                item.claimed_by_id, item.claimed_at = None, None
            item.organisation_id, item.required_role, item.unassigned_reason = new_org, who.role, who.reason
        item.bpmn_id, item.title = task.bpmn_id, (task.title or task.bpmn_id)[:255]
        item.lane, item.candidate_groups, item.documentation = task.lane, groups, task.documentation
        item.form, item.due_at = json.dumps(task.fields), task.due_at or item.due_at
    db.session.flush()


def _migrate_one(user: User | None, instance_id: int, from_definition_id: int,
                 target: ProcessDefinition) -> list[str] | None:
    """Migrate one locked instance; returns reasons if it is (now) unsafe, None if migrated. Flushes only."""
    instance = db.session.execute(select(WorkflowInstance).where(WorkflowInstance.id == instance_id)
                                  .options(joinedload(WorkflowInstance.case))
                                  .with_for_update(of=WorkflowInstance)
                                  .execution_options(populate_existing=True)).scalar_one()
    if instance.definition_id != from_definition_id or instance.status not in OPEN:
        return ["the instance changed since the preview (migrated, finished or cancelled)"]
    plan = _plan(instance, target)   # decided under the lock: the state may have moved on since the preview
    if not plan.can_migrate:
        return plan.reasons
    from_version = instance.definition.version
    deps = processes.dependencies(target.called_keys)
    wf = engine.migrate(instance.state, target.bpmn_xml, target.key, deps)
    instance.definition_id = target.id
    tasks.advance(instance, wf)
    if instance.status is InstanceStatus.ERROR:
        raise engine.EngineError(f"the new version failed to run: {instance.error_message}")
    _refresh_items(instance, wf)
    audit.record("migrate", user=user, object_type="workflow_instance", object_id=instance.id,
                 case_id=instance.case_id, detail={"key": target.key, "from_version": from_version,
                                                   "to_version": target.version, "notes": plan.notes})
    return None


def migrate_safe(user: User | None, key: str, target: ProcessDefinition | None = None) -> MigrationReport:
    """Move every safe instance of older versions of `key` to `target` (default latest), one commit each.

    Commits (the documented exception to "services never commit"); a failure rolls back that instance only.
    Each plan is decided again under the instance's row lock, so a stale preview cannot move an unsafe
    instance.

    :raise NotFound: no such deployed process
    """
    if db.session.new or db.session.dirty or db.session.deleted or db.session.info.get("audit_pending"):
        raise RuntimeError("migrate_safe commits per instance: call it with no pending changes")
    target = _target(key, target)
    target_id, to_version = target.id, target.version
    candidates = [(i.id, i.definition_id) for i in _candidates(key, target)]
    db.session.rollback()   # end the read-only transaction: each instance below is its own
    report = MigrationReport(key=key, to_version=to_version)
    for instance_id, from_definition_id in candidates:
        try:
            target = db.session.get(ProcessDefinition, target_id)
            reasons = _migrate_one(user, instance_id, from_definition_id, target)
            if reasons:
                db.session.rollback()
                report.skipped[instance_id] = reasons
                continue
            db.session.commit()
            report.migrated.append(instance_id)
        except Exception as exc:  # one bad instance must not stop the others; it stays on its version
            db.session.rollback()
            report.failed[instance_id] = str(exc) or type(exc).__name__
    return report
