"""Moving running instances to a new version (guide §9): diff, a conservative plan, and migration."""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow

# The diff module is marked "brand new, may change" upstream: tests/workflows/test_migration.py pins it.
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, filter_tasks, migrate_workflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from workflows.engine.results import EngineError
from workflows.engine.run import specs, state_name
from workflows.engine.scripting import SCRIPT_ENGINE
from workflows.engine.serialize import SERIALIZER, dumps, loads

_DONE_MASK = TaskState.COMPLETED | TaskState.STARTED | TaskState.ERROR
_OPEN_MASK = TaskState.READY | TaskState.WAITING
_ATTRIBUTE_WORDS = {"bpmn_name": "name", "typename": "type", "cond_task_specs": "conditions",
                    "outputs": "outgoing flows", "inputs": "incoming flows",
                    "extensions": "form or assignment",
                    "event_definition": "event or timer", "default_task_spec": "default flow",
                    "documentation": "documentation", "lane": "lane", "script": "script",
                    "prescript": "pre-script", "postscript": "post-script"}


@dataclass
class MigrationPlan:
    """Whether one instance can move to a new version, and why not (or what to know if it can)."""

    can_migrate: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Diffs:
    top: WorkflowDiff
    top_spec: SpecDiff
    subs: dict[Any, tuple[WorkflowDiff, SpecDiff] | None]


def _diff_all(wf: BpmnWorkflow, spec: Any, subs: dict) -> _Diffs:
    """diff_workflow, keeping the SpecDiffs too (they say which attributes changed)."""
    top_spec = SpecDiff(SERIALIZER.registry, wf.spec, spec)
    sub_diffs: dict[Any, tuple[WorkflowDiff, SpecDiff] | None] = {}
    for sp_id, sp in wf.subprocesses.items():
        new = subs.get(sp.spec.name)
        if new is None:
            sub_diffs[sp_id] = None
        else:
            sd = SpecDiff(SERIALIZER.registry, sp.spec, new)
            sub_diffs[sp_id] = (WorkflowDiff(sp, sd), sd)
    return _Diffs(WorkflowDiff(wf, top_spec), top_spec, sub_diffs)


def _step_label(ts: Any) -> str:
    """'triage' (Triage referral); an engine-internal spec is named after the element it belongs to."""
    bpmn_id = getattr(ts, "bpmn_id", None)
    if bpmn_id:
        name = getattr(ts, "bpmn_name", None)
        return f"{bpmn_id!r} ({name})" if name else repr(bpmn_id)
    owner = ts.name.split(".")[0] if "." in ts.name else None
    owner_spec = ts._wf_spec.task_specs.get(owner) if owner and getattr(ts, "_wf_spec", None) else None
    if owner_spec is not None and getattr(owner_spec, "bpmn_id", None):
        return f"{_step_label(owner_spec)} (its boundary events)"
    return repr(ts.name)


def _state_word(task: SpiffTask) -> str:
    return {"ready": "current step", "waiting": "waiting step", "started": "started step",
            "error": "failed step"}.get(state_name(task), "completed step")


def _reasons_for(diff: WorkflowDiff, spec_diff: SpecDiff, where: str) -> list[tuple[bool, str]]:
    """(internal?, reason) for each task the conservative rule forbids (guide §9)."""
    out = []
    removed = set(diff.removed)
    for task in filter_tasks(diff.removed, state=_DONE_MASK | _OPEN_MASK):
        reason = f"{_state_word(task)} {_step_label(task.task_spec)}{where} is removed in the new version"
        out.append((not getattr(task.task_spec, "bpmn_id", None), reason))
    for task in filter_tasks(diff.changed, state=_DONE_MASK):
        if task in removed:
            continue
        words = sorted({_ATTRIBUTE_WORDS.get(a, a) for a in spec_diff.changed.get(task.task_spec, [])})
        out.append((not getattr(task.task_spec, "bpmn_id", None),
                    f"{_state_word(task)} {_step_label(task.task_spec)}{where} changed ({', '.join(words)})"))
    # A current step aligned to a spec with another id was re-created: it disappears for the user.
    for task in filter_tasks(list(diff.alignment), state=_OPEN_MASK):
        new = diff.alignment.get(task)
        if new is not None and new.name != task.task_spec.name:
            out.append((False, (f"{_state_word(task)} {_step_label(task.task_spec)}{where} is replaced by "
                                f"{_step_label(new)} in the new version")))
    return out


def _check(wf: BpmnWorkflow, key: str, diffs: _Diffs) -> MigrationPlan:
    """The guide's conservative rule over the top process and every sub-process."""
    if wf.spec.name != key:
        return MigrationPlan(False, [f"the instance runs process {wf.spec.name!r}, not {key!r}"])
    found = _reasons_for(diffs.top, diffs.top_spec, "")
    for sp_id, pair in diffs.subs.items():
        sp = wf.subprocesses[sp_id]
        if pair is None:
            found.append((False, f"called process {sp.spec.name!r} is no longer part of the new version"))
        else:
            found.extend(_reasons_for(pair[0], pair[1], f" in {sp.spec.name!r}"))
    visible = [r for internal, r in found if not internal]
    # Engine-internal specs only explain themselves when no visible step already does.
    reasons = list(dict.fromkeys(visible or [r for _, r in found]))
    return MigrationPlan(not reasons, reasons)


def _waiting_events(wf: BpmnWorkflow) -> dict[UUID, tuple[Any, dict]]:
    """Waiting event tasks (timers) with their old spec and internal data, before migration resets them."""
    return {t.id: (t.task_spec, deepcopy(t.internal_data)) for t in wf.get_tasks(state=TaskState.WAITING)
            if getattr(t.task_spec, "event_definition", None) is not None}


def _restore_events(wf: BpmnWorkflow, before: dict[UUID, tuple[Any, dict]]) -> list[str]:
    """migrate_workflow re-arms waiting timers from now; keep the old deadline where the event is the same."""
    notes = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        if task.id not in before:
            continue
        old_spec, data = before[task.id]
        old_event = SERIALIZER.registry.convert(old_spec.event_definition)
        new_event = getattr(task.task_spec, "event_definition", None)
        if new_event is not None and SERIALIZER.registry.convert(new_event) == old_event:
            task.internal_data = data
        else:
            notes.append(f"{_step_label(task.task_spec)} changed: its timer or event starts again from the "
                         "time of migration")
    return notes


def _apply(wf: BpmnWorkflow, spec: Any, subs: dict, diffs: _Diffs) -> list[str]:
    """migrate_workflow on the top process and every sub-process; returns notes for the report."""
    before = _waiting_events(wf)
    migrate_workflow(diffs.top, wf, spec)
    for sp_id, pair in diffs.subs.items():
        sp = wf.subprocesses.get(sp_id)
        if sp is not None and pair is not None:   # a reset branch may have dropped the sub-process
            migrate_workflow(pair[0], sp, subs[sp.spec.name])
    wf.subprocess_specs = subs
    wf.script_engine = SCRIPT_ENGINE
    notes = _restore_events(wf, before)
    known = {id(ts) for proc in (spec, *subs.values()) for ts in proc.task_specs.values()}
    stale = sorted({t.task_spec.name for t in wf.get_tasks() if id(t.task_spec) not in known})
    if stale:
        raise EngineError(f"after migration some steps still use the old version: {', '.join(stale)}")
    return notes


def migration_plan(state_json: str, new_xml: str, key: str, dependencies: dict[str, str]) -> MigrationPlan:
    """Can this saved instance move to `new_xml`? Never raises: any failure (dry run included) is a reason."""
    try:
        wf = loads(state_json)
        spec, subs = specs(new_xml, key, dependencies)
        diffs = _diff_all(wf, spec, subs)
        plan = _check(wf, key, diffs)
        if plan.can_migrate:
            plan.notes = _apply(wf, spec, subs, diffs)
            dumps(wf, verify=True)
        return plan
    except Exception as exc:  # the diff module is new upstream: a surprise is a "no", never a crash
        message = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
        return MigrationPlan(False, [f"the migration could not be checked: {message}"])


def migrate(state_json: str, new_xml: str, key: str, dependencies: dict[str, str]) -> BpmnWorkflow:
    """The instance moved to `new_xml` (not yet run or saved); the caller checked migration_plan.

    :raise EngineError: if the plan says no, or migrating fails
    """
    try:
        wf = loads(state_json)
        spec, subs = specs(new_xml, key, dependencies)
        diffs = _diff_all(wf, spec, subs)
        plan = _check(wf, key, diffs)
        if not plan.can_migrate:
            raise EngineError("cannot migrate: " + "; ".join(plan.reasons))
        _apply(wf, spec, subs, diffs)
        return wf
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(f"migration failed: {type(exc).__name__}: {exc}") from None
