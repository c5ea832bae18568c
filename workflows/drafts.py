"""The designer's drafts: save with a version check, validate, deploy, and throw-away test runs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework.errors import Conflict, InvalidData, InvalidInput, NotFound
from models import ProcessDefinition, ProcessDraft, ProcessTestRun, User, audit, db, utcnow
from workflows import engine, processes
from workflows.formdata import coerce_and_validate, readable

NEW_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="defs_new_process" targetNamespace="http://casebook.example/bpmn">
  <bpmn:process id="new_process" name="New process" isExecutable="true">
    <bpmn:startEvent id="start" name="Start"><bpmn:outgoing>flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first_step" name="First step" camunda:candidateGroups="police">
      <bpmn:documentation>What this step is for.</bpmn:documentation>
      <bpmn:incoming>flow_1</bpmn:incoming><bpmn:outgoing>flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end" name="Done"><bpmn:incoming>flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="first_step" />
    <bpmn:sequenceFlow id="flow_2" sourceRef="first_step" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_new_process">
    <bpmndi:BPMNPlane id="plane_new_process" bpmnElement="new_process">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="first_step_di" bpmnElement="first_step"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="392" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_1_di" bpmnElement="flow_1"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_2_di" bpmnElement="flow_2"><di:waypoint x="340" y="120" /><di:waypoint x="392" y="120" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
MAX_XML = engine.MAX_XML_BYTES


def _identify(xml: str) -> tuple[str | None, str | None]:
    """The executable process id and name, if the XML says (drafts may be half-finished)."""
    try:
        proc = engine.executable_process(engine.read_xml(xml))
    except engine.DiagramError:
        return None, None
    return proc.get("id"), proc.get("name")


def open_draft(user: User, definition: ProcessDefinition | None = None) -> ProcessDraft:
    """A draft to edit: the lead's open draft of this key, or a new one from the version (or a blank)."""
    if definition is not None:
        existing = db.session.scalar(select(ProcessDraft).where(ProcessDraft.key == definition.key,
                                                                ProcessDraft.status == "open")
                                     .order_by(ProcessDraft.id.desc()))
        if existing is not None:
            return existing
    xml = definition.bpmn_xml if definition is not None else NEW_PROCESS
    key, name = _identify(xml)
    draft = ProcessDraft(key=key, name=name, bpmn_xml=xml, based_on_id=definition.id if definition else None,
                         created_by_id=user.id, updated_by_id=user.id, status="open")
    db.session.add(draft)
    db.session.flush()
    audit.record("create", user=user, object_type="process_draft", object_id=draft.id,
                 detail={"key": key, "from_version": definition.version if definition else None})
    return draft


def get(draft_id: int) -> ProcessDraft:
    """An open draft.

    :raise NotFound: unknown or no longer open
    """
    draft = db.session.get(ProcessDraft, draft_id)
    if draft is None or draft.status == "discarded":
        raise NotFound("no such draft")
    return draft


def save(user: User, draft: ProcessDraft, xml: str, expected_version: int) -> ProcessDraft:
    """Store the edited XML if nobody saved since `expected_version` (never a silent overwrite).

    :raise Conflict: someone else saved first
    """
    if not isinstance(xml, str) or not xml.strip():
        raise InvalidInput({"xml": "the diagram is empty"})
    if len(xml.encode()) > MAX_XML:
        raise InvalidInput({"xml": "the diagram is too large"})
    if draft.row_version != expected_version:
        who = draft.updated_by.name if draft.updated_by else "someone else"
        raise Conflict(f"{who} saved this draft after you opened it; nothing was saved. Reload to see their "
                       "changes, then make yours again.")
    draft.bpmn_xml = xml
    draft.key, draft.name = _identify(xml)
    draft.updated_by_id = user.id
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict("someone else saved this draft at the same moment; nothing was saved") from None
    audit.record("update", user=user, object_type="process_draft", object_id=draft.id,
                 detail={"key": draft.key, "version": draft.row_version})
    return draft


def validate(xml: str) -> tuple[list[engine.Problem], list[engine.Problem]]:
    """The deploy lint: (errors, warnings)."""
    try:
        parsed = processes.check(xml)
    except engine.DiagramError as exc:
        return exc.problems, []
    return [], parsed.warnings


def deploy(user: User, draft: ProcessDraft, xml: str, expected_version: int,
           note: object = None) -> tuple[ProcessDefinition, bool]:
    """Save then deploy with the lead's note of what changed; a refused deploy keeps the saved draft and
    changes nothing live.

    :raise engine.DiagramError: the lint's messages
    :raise InvalidInput: no change note
    """
    save(user, draft, xml, expected_version)
    processes.check(xml)   # the diagram's problems first: they are what the lead must fix
    why = processes.change_note(note)
    definition, created = processes.propose(xml, user, change_note=why)   # in effect once a second lead approves
    draft.status, draft.deployed_definition_id = "deployed", definition.id
    db.session.flush()
    return definition, created


def discard(user: User, draft: ProcessDraft) -> None:
    """Drop a draft (and its test runs); nothing live changes."""
    draft.status = "discarded"
    for run in db.session.scalars(select(ProcessTestRun).where(ProcessTestRun.draft_id == draft.id)):
        db.session.delete(run)
    db.session.flush()
    audit.record("discard", user=user, object_type="process_draft", object_id=draft.id, detail={"key": draft.key})


# ---------------------------------------------------------------- test runs: no case, no work items, no facts

MAX_ADVANCE = timedelta(days=3 * 366)   # a test run's clock moves at most this far in one go


def clock_of(run: ProcessTestRun) -> datetime:
    """The test run's "now": real time moved ahead by what the lead advanced it."""
    return utcnow() + timedelta(seconds=run.time_offset or 0)


def _simulate(log: list[dict[str, Any]], at: datetime):
    def handle(call: engine.ServiceCall) -> dict[str, Any]:
        log.append({"operation": call.operation, "params": engine.json_safe(call.params), "step": call.name,
                    "at": at.isoformat()})
        return {"simulated": True}

    return handle


def _advance(run: ProcessTestRun, wf) -> None:
    log = json.loads(run.log or "[]")
    at = clock_of(run)
    try:
        if run.status != "error":
            with engine.clock(at), engine.services(_simulate(log, at)):
                engine.run(wf)
            run.status = "completed" if engine.is_completed(wf) else "running"
    except engine.EngineError as exc:
        run.status = "error"
        log.append({"error": str(exc), "at": at.isoformat()})
    run.log = json.dumps(log)
    run.state = engine.dumps(wf)
    db.session.flush()


def start_test_run(user: User, draft: ProcessDraft, data: dict[str, Any] | None = None) -> ProcessTestRun:
    """Start a throw-away instance of the draft as it is saved.

    :raise engine.DiagramError: the draft does not lint
    """
    parsed = processes.check(draft.bpmn_xml)
    with engine.clock(utcnow()):
        wf = engine.start(draft.bpmn_xml, parsed.key, processes.dependencies(parsed.calls),
                          {"case_id": 0, "case_reference": "TEST-RUN", "case_type": "test", **(data or {})})
    run = ProcessTestRun(draft_id=draft.id, state="{}", created_by_id=user.id, log="[]", bpmn_xml=draft.bpmn_xml,
                         time_offset=0)
    db.session.add(run)
    _advance(run, wf)
    audit.record("test_run", user=user, object_type="process_draft", object_id=draft.id, detail={"run": run.id})
    return run


@dataclass(frozen=True)
class RunView:
    """What a test run's page shows, from one load of its state."""

    steps: list[engine.TaskInfo]     # the current steps (any agency may do them), due as of the run's clock
    path: dict[str, str]             # bpmn id -> completed / ready / waiting / error, for the diagram
    next_timer: datetime | None      # when its earliest waiting timer fires


def view(run: ProcessTestRun) -> RunView:
    """The run's current steps, path and next timer (its state deserialised once)."""
    wf = engine.loads(run.state)
    running = run.status == "running"
    return RunView(_ready(run, wf), engine.steps_of(wf), engine.next_timer_at(wf) if running else None)


def _ready(run: ProcessTestRun, wf) -> list[engine.TaskInfo]:
    if run.status != "running":
        return []
    with engine.clock(clock_of(run)):
        return engine.ready_user_tasks(wf)


def ready_steps(run: ProcessTestRun) -> list[engine.TaskInfo]:
    """The test run's current steps, due dates as of the run's clock."""
    return _ready(run, engine.loads(run.state))


def path_of(run: ProcessTestRun) -> dict[str, str]:
    """The path the run has taken, for the diagram."""
    return engine.step_states(run.state)


def complete_test_step(run: ProcessTestRun, task_id: str, raw: dict[str, Any]) -> None:
    """Answer one step of a test run, validated exactly as on a real case.

    :raise InvalidData: per-field messages
    """
    wf = engine.loads(run.state)
    with engine.clock(clock_of(run)):
        step = next((t for t in engine.ready_user_tasks(wf) if t.id == task_id), None)
    if step is None:
        raise Conflict("that step is no longer waiting")
    data, errors = coerce_and_validate(step.fields, raw)
    if errors:
        raise InvalidData(errors)
    at = clock_of(run)
    log = json.loads(run.log or "[]")
    log.append({"step": step.title, "answers": engine.json_safe(data), "at": at.isoformat(),
                "readable": readable(step.fields, data),
                "late": bool(step.due_at and step.due_at < at)})
    run.log = json.dumps(log)
    try:
        with engine.clock(at):
            engine.complete(wf, task_id, data)
    except engine.EngineError as exc:
        run.status = "error"
        run.log = json.dumps(log + [{"error": str(exc), "at": at.isoformat()}])
    _advance(run, wf)


def advance_clock(user: User, run: ProcessTestRun, by: timedelta | None = None, to_next_timer: bool = False) -> None:
    """Move the run's clock ahead (by a span, or to just after its next timer) and fire what falls due.

    :raise InvalidInput: nothing to move to, or a span that is not ahead or is too far
    """
    if run.status != "running":
        raise InvalidInput("the test run has ended; start another to try its timers")
    now, wf = clock_of(run), engine.loads(run.state)
    if to_next_timer:
        when = engine.next_timer_at(wf)
        if when is None:
            raise InvalidInput("no timer is waiting in this test run")
        by = max(when - now, timedelta(0)) + timedelta(seconds=1)
    if by is None or by <= timedelta(0):
        raise InvalidInput("move the clock ahead by at least an hour")
    if by > MAX_ADVANCE:
        raise InvalidInput("move the clock ahead by at most three years at a time")
    before = {s.id for s in _ready(run, wf)}
    run.time_offset = (run.time_offset or 0) + int(by.total_seconds())
    log = json.loads(run.log or "[]")
    log.append({"clock": clock_of(run).isoformat()})
    run.log = json.dumps(log)
    _advance(run, wf)
    # What the move brought: the steps now waiting that were not before (a timer's escalation).
    log = json.loads(run.log)
    next(e for e in reversed(log) if "clock" in e)["new_steps"] = \
        [s.title for s in _ready(run, wf) if s.id not in before]
    run.log = json.dumps(log)
    audit.record("test_run_clock", user=user, object_type="process_draft", object_id=run.draft_id,
                 detail={"run": run.id, "offset_seconds": run.time_offset})
