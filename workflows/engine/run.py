"""Running workflows: start, run with a step budget, complete, ready tasks, due dates, timers, step states."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from workflows import sandbox
from workflows.engine.clock import now
from workflows.engine.parse import parser_for, read_xml
from workflows.engine.results import MAX_STEPS, EngineError, TaskInfo
from workflows.engine.scripting import SCRIPT_ENGINE
from workflows.engine.serialize import loads

_spec_cache: dict[tuple[str, ...], tuple[Any, dict]] = {}


def specs(xml: str, key: str, dependencies: dict[str, str]) -> tuple[Any, dict]:
    cache_key = (hashlib.sha256(xml.encode()).hexdigest(),
                 *sorted(f"{k}:{hashlib.sha256(v.encode()).hexdigest()}" for k, v in dependencies.items()))
    if cache_key not in _spec_cache:
        parser = parser_for(read_xml(xml), {k: v for k, v in dependencies.items() if k != key}, validate=False)
        _spec_cache[cache_key] = (parser.get_spec(key), parser.get_subprocess_specs(key))
        if len(_spec_cache) > 256:
            _spec_cache.pop(next(iter(_spec_cache)))
    return _spec_cache[cache_key]


def start(xml: str, key: str, dependencies: dict[str, str], data: dict[str, Any]) -> BpmnWorkflow:
    """A new workflow with `data` as its initial task data (not yet run)."""
    spec, subs = specs(xml, key, dependencies)
    wf = BpmnWorkflow(spec, subs, script_engine=SCRIPT_ENGINE)
    first = wf.get_tasks(state=TaskState.READY)
    if first:
        first[0].set_data(**data)
    return wf


def run(wf: BpmnWorkflow, max_steps: int = MAX_STEPS) -> None:
    """Fire due timers and run automatic steps until only user tasks or waiting events remain.

    :raise EngineError: naming the element, when a step fails or the step budget is spent
    """
    steps = 0

    def count(task: SpiffTask) -> None:
        nonlocal steps
        steps += 1
        if steps > max_steps:
            raise EngineError(f"stopped after {max_steps} automatic steps (a loop that never waits?)",
                              task.task_spec.bpmn_id, task.task_spec.bpmn_name)

    try:
        wf.refresh_timers()
        wf.do_engine_steps(will_complete_task=count)
        # do_engine_steps refreshes timers only at its end; a timer that fired then needs another pass.
        for _ in range(10):
            if not [t for t in wf.get_tasks(state=TaskState.READY) if not t.task_spec.manual]:
                break
            wf.do_engine_steps(will_complete_task=count)
    except EngineError:
        raise
    except sandbox.ScriptBudgetExceeded as exc:
        raise EngineError(str(exc)) from None
    except SpiffWorkflowException as exc:
        spec = getattr(exc, "task_spec", None)
        raise EngineError(_spiff_message(exc), getattr(spec, "bpmn_id", None),
                          getattr(spec, "bpmn_name", None)) from None
    except Exception as exc:  # a diagram must never crash a request
        raise EngineError(f"{type(exc).__name__}: {exc}") from None


def retry(wf: BpmnWorkflow) -> int:
    """Run every failed (ERROR) step again, as a lead asks once its cause is fixed; returns how many.

    Call run() afterwards to carry on. ERROR steps are never retried by SpiffWorkflow on its own (guide §3).
    :raise EngineError: naming the element, when a step fails again
    """
    failed = wf.get_tasks(state=TaskState.ERROR)
    for task in failed:
        _run_step(task)
    return len(failed)


def _spiff_message(exc: Exception) -> str:
    text = str(exc).strip()
    notes = [n for n in getattr(exc, "__notes__", []) if "Did you mean" not in n]
    if notes:
        text = f"{text} ({'; '.join(notes)})"
    if "ScriptBudgetExceeded" in text or "TimeoutError" in text:
        text = text.replace("WorkflowTaskException", "").strip()
    return text


def process_key(wf: BpmnWorkflow) -> str:
    """The key (process id) of the top-level process."""
    return wf.spec.name


def is_completed(wf: BpmnWorkflow) -> bool:
    return bool(wf.completed)


def _task(wf: BpmnWorkflow, task_id: str) -> SpiffTask | None:
    try:
        return wf.get_task_from_id(UUID(task_id))
    except (ValueError, TypeError):
        return None
    except Exception:  # unknown id: Spiff raises its own TaskNotFound variants
        return None


_STATE_NAMES = {TaskState.READY: "ready", TaskState.COMPLETED: "completed", TaskState.CANCELLED: "cancelled",
                TaskState.ERROR: "error", TaskState.WAITING: "waiting", TaskState.STARTED: "started"}


def state_name(task: SpiffTask) -> str:
    """A task's state as a word ('future' for the states nobody shows)."""
    return _STATE_NAMES.get(task.state, "future")


def task_state(wf: BpmnWorkflow, task_id: str) -> str:
    """'ready', 'completed', 'cancelled', 'error', 'waiting' or 'missing' for one task."""
    task = _task(wf, task_id)
    if task is None:
        return "missing"
    name = state_name(task)
    return "waiting" if name in ("started", "future") else name


def complete(wf: BpmnWorkflow, task_id: str, data: dict[str, Any]) -> None:
    """Put the answers on a READY user task and run it (its post-script too).

    :raise EngineError: if the task is not ready, or its post-script fails
    """
    task = _task(wf, task_id)
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise EngineError("this step is not waiting for input")
    task.set_data(**data)
    _run_step(task)


def _run_step(task: SpiffTask) -> None:
    """Run one task; any failure becomes an EngineError naming its element (a diagram never crashes a request)."""
    spec = task.task_spec
    try:
        task.run()
    except sandbox.ScriptBudgetExceeded as exc:
        raise EngineError(str(exc), spec.bpmn_id, spec.bpmn_name) from None
    except SpiffWorkflowException as exc:
        raise EngineError(_spiff_message(exc), spec.bpmn_id, spec.bpmn_name) from None
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(f"{type(exc).__name__}: {exc}", spec.bpmn_id, spec.bpmn_name) from None


def ready_user_tasks(wf: BpmnWorkflow) -> list[TaskInfo]:
    """Every READY user (manual) task, sub-processes included."""
    out = []
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        ext = getattr(spec, "extensions", {}) or {}
        groups: list[str] = []
        for group in ext.get("candidateGroups", []):
            value = _dynamic(task, group)
            groups += [str(v) for v in value if v] if isinstance(value, (list, tuple)) else [str(value)] if value else []
        fields = [_live_field(task, f) for f in ext.get("form", [])]
        assignee = _dynamic(task, ext.get("assignee"))
        props = ext.get("camundaProperties") or {}
        meeting = _as_text(_dynamic(task, props.get("meeting"))) if props.get("meeting") else None
        out.append(TaskInfo(
            id=str(task.id), bpmn_id=spec.bpmn_id or spec.name, title=spec.bpmn_name or spec.bpmn_id or spec.name,
            lane=_effective_lane(task), documentation=getattr(spec, "documentation", None),
            candidate_groups=groups, assignee=str(assignee) if assignee else None, fields=fields,
            due_at=_due_at(task, ext.get("dueDate")), process_key=task.workflow.spec.name,
            meeting=meeting.strip()[:32] if meeting and meeting.strip() else None,
            meeting_reason=_as_text(_dynamic(task, props.get("meeting_reason"))) if meeting else None,
            meeting_research=[r.strip() for r in (props.get("meeting_research") or "").split(",") if r.strip()]
            if meeting else None,
            shows=[r.strip() for r in (props.get("show") or "").split(",") if r.strip()][:20] or None))
    return out


def _live_field(task: SpiffTask, field: dict[str, Any]) -> dict[str, Any]:
    """A form field as this task shows it: a `${...}` default evaluated, and an enum's `options` property
    (`${...}`) turned into the choices the process data holds."""
    if _is_expression(field.get("default")):
        field = {**field, "default": _as_text(_dynamic(task, field["default"]))}
    source = (field.get("properties") or {}).get("options")
    if field["type"] == "enum" and _is_expression(source):
        field = {**field, "options": dynamic_options(_dynamic(task, source))}
    return field


def dynamic_options(value: Any) -> list[list[str]]:
    """Choices from process data: a list of [id, label] pairs, of {"id", "label"} objects or of plain values
    (each its own label); anything else offers nothing. Ids are text, as a form sends them back."""
    if not isinstance(value, (list, tuple)):
        return []
    out = []
    for entry in value[:500]:   # a choice list, not a data dump
        if isinstance(entry, dict) and entry.get("id") not in (None, ""):
            out.append([str(entry["id"]), str(entry.get("label") or entry["id"])])
        elif isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[0] not in (None, ""):
            out.append([str(entry[0]), str(entry[1])])
        elif isinstance(entry, (str, int)) and not isinstance(entry, bool) and str(entry):
            out.append([str(entry), str(entry)])
    return out


def _is_expression(text: Any) -> bool:
    return isinstance(text, str) and text.strip().startswith("${")


def _dynamic(task: SpiffTask, text: Any) -> Any:
    """A `${...}` group, assignee or field default evaluated over the task's data (sandboxed); else as written."""
    if not _is_expression(text):
        return text
    try:
        return task.workflow.script_engine.evaluate(task, text)
    except Exception:  # a bad expression leaves the value empty; it must not stop the work item appearing
        return None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _effective_lane(task: SpiffTask) -> str | None:
    """A task inside a called process takes the lane of the calling task (Spiff leaves it None)."""
    while task is not None:
        if task.task_spec.lane:
            return task.task_spec.lane
        wf = task.workflow
        task = wf.top_workflow.get_task_from_id(wf.parent_task_id) if wf.parent_task_id else None
    return None


def _due_at(task: SpiffTask, due_expression: str | None) -> datetime | None:
    """The fire time of a timer on the task (an interrupting one first), else its dueDate property."""
    parent = task.parent
    timers: list[tuple[bool, datetime]] = []
    if parent is not None and parent.task_spec.name.endswith(".BoundaryEventSplit"):
        for sibling in parent.children:
            event = getattr(sibling.task_spec, "event_definition", None)
            if sibling is task or not isinstance(event, TimerEventDefinition):
                continue
            when = _timer_value(sibling)
            if when is not None:
                timers.append((not getattr(sibling.task_spec, "cancel_activity", True), when))
    if timers:
        return sorted(timers)[0][1]
    if due_expression:
        try:
            value = task.workflow.script_engine.evaluate(task, due_expression)
            return to_datetime(value)
        except Exception:  # a bad due-date expression must not stop the work item appearing
            return None
    return None


def _timer_value(task: SpiffTask) -> datetime | None:
    value = task.internal_data.get("event_value")
    value = value.get("next") if isinstance(value, dict) else value
    if not value:
        return None
    try:
        when = TimerEventDefinition.parse_time_or_duration(value)
    except Exception:
        return None
    # Plain datetimes only: the parser may hand back our clock subclass.
    return datetime.fromisoformat(when.isoformat()) if isinstance(when, datetime) else None


def to_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time(), tzinfo=timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(text)
            return now() + TimerEventDefinition.get_timedelta_from_start(parsed, now())
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return None


def next_timer_at(wf: BpmnWorkflow) -> datetime | None:
    """The earliest deadline any waiting timer stored (sub-processes and event gateways included)."""
    found = []
    for task in wf.event_manager.tasks.values():
        if isinstance(task.task_spec.event_definition, (TimerEventDefinition, MultipleEventDefinition)):
            when = _timer_value(task)
            if when is not None:
                found.append(when)
    return min(found, default=None)


def step_states(state: str) -> dict[str, str]:
    """bpmn id -> 'completed' | 'ready' | 'waiting' | 'error' for every visible element an instance reached."""
    try:
        wf = loads(state)
    except Exception:  # a damaged state must not break the case page
        return {}
    return steps_of(wf)


def steps_of(wf: BpmnWorkflow) -> dict[str, str]:
    """The same from a loaded workflow (saved beside the state, so pages need not load it)."""
    order = {"completed": 0, "waiting": 1, "ready": 2, "error": 3}
    out: dict[str, str] = {}
    for task in wf.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        name = state_name(task)
        name = "waiting" if name == "started" else name
        if not bpmn_id or name not in order:
            continue
        if bpmn_id not in out or order[name] >= order[out[bpmn_id]]:
            out[bpmn_id] = name
    return out
