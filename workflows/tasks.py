"""Processes on cases: start, advance, work items (claim, complete), history. Services flush, never commit."""
from __future__ import annotations

import contextvars
import json
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload, undefer

import access
from casework import agreements, calendar, meetings, notifications
from casework.errors import CasebookError, Conflict, InvalidData, InvalidInput, NotFound, NotPermitted
from models import (Case, CaseNote, CaseTypeProcess, InstanceStatus, ItemStatus, Organisation, User,
                    WorkflowInstance, WorkItem, audit, db, utcnow)
from models.enums import Role
from models.facts import MAPPING_IN_EFFECT
from workflows import assignment, engine, formdata, operations, processes
from workflows.formdata import coerce_and_validate
from workflows.sandbox import RESERVED_NAMES

MAX_START_DATA = 50
MAX_DEPTH = 3  # processes starting processes
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("casebook_start_depth", default=0)


def _check_start_data(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput({"data": "must be an object"})
    if len(data) > MAX_START_DATA:
        raise InvalidInput({"data": f"at most {MAX_START_DATA} values"})
    for key in data:
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_") or key in RESERVED_NAMES:
            raise InvalidInput({"data": f"{key!r} is not an allowed name"})
    try:
        text = json.dumps(data)
    except (TypeError, ValueError):
        raise InvalidInput({"data": "values must be plain JSON"}) from None
    if '"typename"' in text:  # SpiffWorkflow could not load such data back (guide §11.3)
        raise InvalidInput({"data": "'typename' is a reserved name"})
    return dict(data)


def start(user: User | None, case: Case, key: str, data: dict[str, Any] | None = None) -> WorkflowInstance:
    """Start the latest version of process `key` on a case; a diagram error leaves it in `error`.

    :raise NotFound: no such deployed process
    :raise NotPermitted: the user may not start processes on this case
    """
    if user is not None and not access.can(user, access.Action.START_PROCESS, case):
        raise NotPermitted("You may not start processes on this case.")
    definition = processes.latest(key)
    if definition is None:
        raise NotFound(f"no deployed process {key!r}")
    initial = {**_check_start_data(data), "case_id": case.id, "case_reference": case.reference,
               "case_type": case.case_type_code, "lead_organisation_type": case.lead_organisation.type.value}
    instance = WorkflowInstance(case_id=case.id, definition_id=definition.id, state="",
                                status=InstanceStatus.RUNNING, started_by_id=user.id if user else None)
    db.session.add(instance)
    db.session.flush()
    try:
        wf = engine.start(definition.bpmn_xml, definition.key, processes.dependencies(definition.called_keys),
                          initial)
    except Exception as exc:  # the stored diagram no longer builds: record it, never crash
        instance.status, instance.error_message = InstanceStatus.ERROR, f"could not start: {exc}"
        instance.state = "{}"
        db.session.flush()
        return instance
    advance(instance, wf)
    audit.record("start_process", user=user, object_type="workflow_instance", object_id=instance.id,
                 case_id=case.id, detail={"key": definition.key, "version": definition.version,
                                          "status": instance.status.value})
    return instance


def start_mapped(user: User, case: Case) -> list[str]:
    """Start the processes mapped to the case's type; a mapped process not deployed is skipped and noted.

    Opening a case never fails because of a process: problems come back as warnings (and a case note).
    """
    warnings = []
    mapped = db.session.scalars(select(CaseTypeProcess).where(CaseTypeProcess.case_type_code == case.case_type_code,
                                                              CaseTypeProcess.approval.in_(MAPPING_IN_EFFECT))
                                .order_by(CaseTypeProcess.position, CaseTypeProcess.id)).all()
    for row in mapped:
        if processes.latest(row.process_key) is None:
            warnings.append(f"process {row.process_key!r} is set to start with {case.case_type_code} cases but "
                            "is not deployed, so it was not started")
            continue
        instance = start(user, case, row.process_key)
        if instance.status is InstanceStatus.ERROR:
            warnings.append(f"process {row.process_key!r} stopped with an error: {instance.error_message}")
    if warnings:
        db.session.add(CaseNote(case_id=case.id, author_id=user.id, organisation_id=user.organisation_id,
                                body="Casebook: " + "; ".join(warnings) + "."))
        db.session.flush()
    return warnings


def advance(instance: WorkflowInstance, wf, user: User | None = None, retry_failed: bool = False) -> list[WorkItem]:
    """Run automatic steps (failed ones again first, when asked), mirror user tasks into work items, save
    state; returns new items."""
    if instance.status is InstanceStatus.RUNNING:
        try:
            with engine.services(operations.handler_for(instance, _starter(instance.case), user)):
                if retry_failed:
                    engine.retry(wf)
                engine.run(wf)
        except engine.EngineError as exc:
            refused = operations.take_refusal()
            if refused is not None and user is not None:
                # The person's answers cannot be carried out: they are told, and the caller rolls back.
                raise InvalidData(refused.fields) from None
            instance.status, instance.error_message = InstanceStatus.ERROR, str(exc)
    created = sync_items(instance, wf)
    if instance.status is InstanceStatus.RUNNING and engine.is_completed(wf):
        instance.status, instance.completed_at = InstanceStatus.COMPLETED, utcnow()
    try:
        instance.state = engine.dumps(wf, verify=engine.has_scripts(wf))
        instance.steps = json.dumps(engine.steps_of(wf), separators=(",", ":"))
    except Exception as exc:  # unserializable data: keep the last good state, show the error
        instance.status = InstanceStatus.ERROR
        instance.error_message = f"the process data could not be saved: {exc}"
        if not instance.state:
            instance.state = "{}"
    instance.next_timer_at = engine.next_timer_at(wf) if instance.status is InstanceStatus.RUNNING else None
    db.session.flush()
    return created


def _starter(case: Case) -> operations.Starter:
    """How a diagram's start_process operation starts another process on the same case."""

    def start_by_process(key: str, data: dict[str, Any]) -> WorkflowInstance | None:
        if processes.latest(key) is None:
            return None
        if _depth.get() >= MAX_DEPTH:
            raise CasebookError(f"processes starting processes more than {MAX_DEPTH} deep")
        token = _depth.set(_depth.get() + 1)
        try:
            return start(None, case, key, data)
        finally:
            _depth.reset(token)

    return start_by_process


def sync_items(instance: WorkflowInstance, wf) -> list[WorkItem]:
    """One work item per ready user task, keyed by task id so timers elsewhere never re-create it."""
    # Ids first (no autoflush, no forms loaded); whole rows only for the few that change. Rows already in the
    # session (the step just completed) say what they are now, whatever the database still says.
    with db.session.no_autoflush:
        found = db.session.execute(select(WorkItem.id, WorkItem.spiff_task_id).where(
            WorkItem.instance_id == instance.id, WorkItem.status == ItemStatus.READY)).all()
    open_items: dict[str, int] = {}
    for item_id, task_id in found:
        known = db.session.identity_map.get(db.session.identity_key(WorkItem, item_id))
        if known is None or known.status is ItemStatus.READY:
            open_items[task_id] = item_id
    ready = engine.ready_user_tasks(wf)
    created = []
    for task in ready:
        item_id = open_items.pop(task.id, None)
        if item_id is not None:
            if task.due_at is not None:
                db.session.get(WorkItem, item_id).due_at = task.due_at
            continue
        item = WorkItem(instance_id=instance.id, case_id=instance.case_id, spiff_task_id=task.id,
                        process_key=engine.process_key(wf), bpmn_id=task.bpmn_id,
                        title=(task.title or task.bpmn_id)[:255], lane=task.lane, documentation=task.documentation,
                        candidate_groups=json.dumps(task.candidate_groups), form=json.dumps(task.fields),
                        due_at=task.due_at, status=ItemStatus.READY)
        if task.shows:
            item.shows = json.dumps(task.shows)
        if task.meeting:
            item.meeting_type = task.meeting
            item.meeting_info = json.dumps({"reason": task.meeting_reason or task.title,
                                            "research": task.meeting_research or []})
        who = assignment.resolve(instance.case, task.candidate_groups, task.lane)  # before the item is pending
        db.session.add(item)
        assignment.give(item, who, instance.case)
        _give_to_assignee(item, task.assignee, instance.case)
        if item.meeting_type:
            meetings.list_waiting(item)   # on the panel's next meeting, if one is scheduled
        created.append(item)
    for task_id, item_id in open_items.items():
        state = engine.task_state(wf, task_id)
        if state == "completed":
            item = db.session.get(WorkItem, item_id)
            item.status, item.completed_at = ItemStatus.COMPLETED, item.completed_at or utcnow()
        elif state in ("cancelled", "missing"):
            db.session.get(WorkItem, item_id).status = ItemStatus.CANCELLED
    db.session.flush()
    return created


def _give_to_assignee(item: WorkItem, email: str | None, case: Case) -> None:
    """A diagram's `camunda:assignee` (an e-mail) claims the step for that person, if they work for its
    organisation; they are told."""
    if not email or item.organisation_id is None:
        return
    person = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower(),
                                                  User.active.is_(True), User.organisation_id == item.organisation_id))
    if person is not None:
        item.claimed_by_id, item.claimed_at = person.id, utcnow()
        notifications.assigned_to(person, item, case)


def get_item(user: User, item_id: int) -> WorkItem:
    """A work item the user may see.

    :raise NotFound: otherwise
    """
    item = db.session.scalar(access.visible(user, WorkItem).where(WorkItem.id == item_id))
    if item is None:
        raise NotFound("no such task")
    access.remember_visible(user, item)
    return item


def _require_doable(user: User, item: WorkItem) -> None:
    if not access.can(user, access.Action.COMPLETE, item):
        org = item.organisation.name if item.organisation else "an organisation not yet on the case"
        role = f" ({item.required_role}s only)" if item.required_role else ""
        raise NotPermitted(f"This step is for {org}{role}.")


def _describe_done(item: WorkItem) -> str:
    who = item.completed_by.name if item.completed_by else "the system"
    when = calendar.local(item.completed_at) if item.completed_at else ""
    if item.status is ItemStatus.COMPLETED:
        return f"This step was already completed by {who} {when}".strip() + "."
    return "This step is no longer open (the process moved on)."


def claim(user: User, item: WorkItem, release: bool = False) -> WorkItem:
    """Claim (or release) an item; claimed by someone else is a conflict."""
    _require_doable(user, item)
    owner = None if release else user.id
    result = db.session.execute(
        update(WorkItem).where(WorkItem.id == item.id, WorkItem.status == ItemStatus.READY,
                               or_(WorkItem.claimed_by_id.is_(None), WorkItem.claimed_by_id == user.id))
        .values(claimed_by_id=owner, claimed_at=utcnow() if owner else None)
        .execution_options(synchronize_session=False))
    db.session.refresh(item)
    if result.rowcount == 0:
        if item.status is not ItemStatus.READY:
            raise Conflict(_describe_done(item))
        raise Conflict(f"This step is claimed by {item.claimed_by.name}.")
    audit.record("release" if release else "claim", user=user, object_type="work_item", object_id=item.id,
                 case_id=item.case_id)
    return item


def lock_for_completion(user: User, item_id: int) -> tuple[WorkItem, WorkflowInstance]:
    """A visible item with its instance (state loaded) and case, both rows locked, in one statement.

    :raise NotFound: the user cannot see such an item
    """
    row = db.session.execute(
        select(WorkItem, WorkflowInstance).join(WorkflowInstance, WorkflowInstance.id == WorkItem.instance_id)
        .where(WorkItem.id == item_id, access.clause(user, WorkItem))
        .options(joinedload(WorkflowInstance.case), undefer(WorkflowInstance.state))
        # Both rows: a completion that committed while we waited is then seen in the item we read.
        .with_for_update(of=(WorkItem, WorkflowInstance))
        .execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound("no such task")
    access.remember_visible(user, row[0])
    return row[0], row[1]


def complete(user: User, item: WorkItem, raw: dict[str, Any], locked: WorkflowInstance | None = None,
             at_meeting: dict[str, Any] | None = None) -> tuple[WorkItem, list[WorkItem]]:
    """Complete a ready item in one transaction; returns it and the items that became ready. A meeting step
    is completed only at its meeting (workflows/panels.py), which adds what the meeting decided (`at_meeting`).

    :raise NotPermitted: the item is for another organisation or role (403)
    :raise Conflict: already completed, or claimed by someone else (409)
    :raise InvalidData: per-field messages; nothing changes (422)
    """
    _require_doable(user, item)
    if item.meeting_type and at_meeting is None:
        raise Conflict("This step is completed at the meeting: the coordinator records the case's outcome on "
                       "the meeting's agenda (Meetings).")
    if not isinstance(raw, dict):
        raise InvalidData({"data": "must be an object of field values"})
    # The row lock serialises completions of one instance; the version column also guards SQLite.
    instance = locked or db.session.execute(select(WorkflowInstance).where(WorkflowInstance.id == item.instance_id)
                                            .options(joinedload(WorkflowInstance.case),
                                                     undefer(WorkflowInstance.state))
                                            .with_for_update(of=WorkflowInstance)
                                            .execution_options(populate_existing=True)).scalar_one()
    if locked is None and db.session.get_bind().dialect.name != "sqlite":
        # Re-read after taking the lock. (SQLite's BEGIN IMMEDIATE already held the write lock when the
        # item was read in this transaction, so nothing can have changed it.)
        db.session.refresh(item)
    if item.status is not ItemStatus.READY:
        raise Conflict(_describe_done(item))
    if item.claimed_by_id and item.claimed_by_id != user.id:
        raise Conflict(f"This step is claimed by {item.claimed_by.name}.")
    data, errors = coerce_and_validate(item.fields, raw)
    if errors:
        raise InvalidData(errors)
    data.update(at_meeting or {})
    wf = engine.loads(instance.state)
    if engine.task_state(wf, item.spiff_task_id) != "ready":
        raise Conflict("This step is no longer open (the process moved on).")
    try:
        engine.complete(wf, item.spiff_task_id, data)
    except engine.EngineError as exc:
        instance.status, instance.error_message = InstanceStatus.ERROR, str(exc)
    item.status, item.completed_by, item.completed_at = ItemStatus.COMPLETED, user, utcnow()
    item.data = json.dumps(engine.json_safe(data))
    created = advance(instance, wf, user)
    audit.record("complete", user=user, object_type="work_item", object_id=item.id, case_id=item.case_id,
                 detail={"bpmn_id": item.bpmn_id, "fields": sorted(data), "instance_status": instance.status.value})
    return item, created


def earlier_answers(item: WorkItem) -> list[tuple[str, str]]:
    """What the step names (`show`) from the case's earlier steps, as people read it: each field's latest
    answer with its label ("safe_contact" is shown from the people, by the page)."""
    wanted = [name for name in item.shown_first if name != "safe_contact"]
    if not wanted:
        return []
    found: dict[str, tuple[str, str]] = {}
    for done in reversed(history(item.case)):
        answers = done.answers
        for field in done.fields:
            if field["id"] in wanted and field["id"] not in found and field["id"] in answers:
                readable = formdata.readable([field], {field["id"]: answers[field["id"]]})
                if readable:
                    found[field["id"]] = readable[0]
    return [found[name] for name in wanted if name in found]


def history(case: Case) -> list[WorkItem]:
    """Completed steps of every process on the case, oldest first."""
    return list(db.session.scalars(select(WorkItem).where(WorkItem.case_id == case.id,
                                                          WorkItem.status == ItemStatus.COMPLETED)
                                   .order_by(WorkItem.completed_at, WorkItem.id)))


def ready_items(instance: WorkflowInstance) -> list[WorkItem]:
    """The instance's ready steps (after starting it: what it made ready)."""
    return list(db.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id,
                                                          WorkItem.status == ItemStatus.READY)
                                   .order_by(WorkItem.id)))


def instances(case: Case) -> list[WorkflowInstance]:
    """Every process instance on the case, oldest first."""
    return list(db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == case.id)
                                   .order_by(WorkflowInstance.id)))


def _lock(instance: WorkflowInstance) -> None:
    db.session.execute(select(WorkflowInstance).where(WorkflowInstance.id == instance.id)
                       .with_for_update(of=WorkflowInstance))
    db.session.refresh(instance)


def retry(user: User, instance: WorkflowInstance) -> WorkflowInstance:
    """Run a stopped instance's failed step again once its cause is fixed (leads only); audited.

    :raise NotPermitted: not a lead who sees the case
    :raise Conflict: the instance is not in error, or never started (cancel it and start again)
    """
    if not (user.has_role(Role.LEAD) and access.is_visible(user, instance.case)):
        raise NotPermitted("Only working-group leads may retry a process.")
    _lock(instance)
    if instance.status is not InstanceStatus.ERROR:
        raise Conflict("This process is not stopped with an error.")
    if instance.state in ("", "{}"):
        raise Conflict("This process never started, so there is no step to retry: cancel it and start it again.")
    previous = instance.error_message
    instance.status, instance.error_message = InstanceStatus.RUNNING, None
    advance(instance, engine.loads(instance.state), user, retry_failed=True)
    audit.record("retry_process", user=user, object_type="workflow_instance", object_id=instance.id,
                 case_id=instance.case_id, detail={"key": instance.definition.key, "previous_error": previous,
                                                   "status": instance.status.value})
    return instance


def assign(user: User, item: WorkItem, organisation_id: int | None) -> WorkItem:
    """Give an unassigned step to an organisation (the lead organisation decides); it joins the case.

    :raise NotPermitted: the user's organisation does not lead the case
    :raise Conflict: the step is no longer open, or already has an organisation
    :raise InvalidInput: no such active organisation
    """
    case = item.case
    if not access.can(user, access.Action.EDIT, case):
        raise NotPermitted("Only the lead organisation may assign steps on this case.")
    db.session.refresh(item, with_for_update=True)
    if item.status is not ItemStatus.READY:
        raise Conflict(_describe_done(item))
    if item.organisation_id is not None:
        raise Conflict(f"This step is already assigned to {item.organisation.name}.")
    org = db.session.get(Organisation, organisation_id) if organisation_id else None
    if org is None or not org.active:
        raise InvalidInput({"organisation": "choose an active organisation"})
    agreements.check(case.lead_organisation, org, case.case_type_code, case)   # refused here, not left unassigned
    assignment.give(item, assignment.to(org, item.groups, item.lane), case)
    audit.record("assign", user=user, object_type="work_item", object_id=item.id, case_id=case.id,
                 detail={"organisation": org.code, "bpmn_id": item.bpmn_id})
    assignment.reassign_unassigned(case)  # other steps for the same service now find it on the case
    return item


def give_to(manager: User, item: WorkItem, person_id: int | None) -> WorkItem:
    """A manager (or lead) of the step's organisation gives it to a colleague: claimed for them; they are told.

    :raise NotPermitted: not a manager or lead of the step's organisation
    :raise Conflict: the step is no longer open
    :raise InvalidInput: the colleague is not an active member who may do the step
    """
    if item.organisation_id != manager.organisation_id or not manager.has_role(Role.MANAGER, Role.LEAD):
        raise NotPermitted("Only a manager of the organisation doing this step may give it to someone.")
    db.session.refresh(item, with_for_update=True)
    if item.status is not ItemStatus.READY:
        raise Conflict(_describe_done(item))
    person = db.session.get(User, person_id) if person_id else None
    if person is None or not person.active or person.organisation_id != item.organisation_id \
            or not access.can(person, access.Action.COMPLETE, item):
        raise InvalidInput({"user": "choose an active colleague who may do this step"})
    item.claimed_by_id, item.claimed_at = person.id, utcnow()
    audit.record("give_step", user=manager, object_type="work_item", object_id=item.id, case_id=item.case_id,
                 detail={"to_user": person.id})
    if person.id != manager.id:
        notifications.assigned_to(person, item, item.case)
    return item


def colleagues(item: WorkItem) -> list[User]:
    """Active members of the step's organisation who hold the role it needs (whom a manager may give it to)."""
    if item.organisation_id is None:
        return []
    return notifications.members(item.organisation_id, item.required_role)


def cancel(user: User, instance: WorkflowInstance, reason: str = "") -> None:
    """Stop an instance (leads of the case's lead organisation only); its open items are cancelled and the
    reason is audited."""
    if not (user.has_role(Role.LEAD) and access.is_visible(user, instance.case)):
        raise NotPermitted("Only working-group leads may cancel a process.")
    if instance.case.lead_organisation_id != user.organisation_id:
        # A partner takes part in the case; stopping its process is the lead organisation's decision.
        raise NotPermitted("Only a lead of the organisation that leads the case may cancel its process.")
    stop(user, instance, reason)


def stop(user: User, instance: WorkflowInstance, reason: str) -> None:
    """Cancel an instance and its open items (the caller decided who may); audited with the reason."""
    _lock(instance)
    if instance.status in (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED):
        return
    instance.status, instance.next_timer_at = InstanceStatus.CANCELLED, None
    for item in db.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id,
                                                          WorkItem.status == ItemStatus.READY)):
        item.status = ItemStatus.CANCELLED
    db.session.flush()
    audit.record("cancel_process", user=user, object_type="workflow_instance", object_id=instance.id,
                 case_id=instance.case_id, detail={"reason": reason[:500], "key": instance.definition.key})
