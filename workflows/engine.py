"""The SpiffWorkflow wrapper: the only module that imports SpiffWorkflow.

Parse (the Spiff parser, also reading Camunda forms and assignment on user tasks), lint, start, run
with a budget, complete, fire timers, serialize. Everything a diagram evaluates goes through the
sandbox in workflows/sandbox.py. Callers get plain data (TaskInfo, Problem) back, never Spiff objects,
except the opaque workflow handle they pass back in.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator
from uuid import UUID

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
# The diff module is marked "brand new, may change" upstream: migration.py's tests pin its behaviour.
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, filter_tasks, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser, UserTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from workflows import sandbox
from workflows.formdata import CONSTRAINTS, SUPPORTED_TYPES

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_C = "{%s}" % CAMUNDA_NS
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
MAX_STEPS = 1000           # automatic engine steps per request
MAX_XML_BYTES = 5 * 1024 * 1024


# ---------------------------------------------------------------- errors and plain results

@dataclass
class Problem:
    """One thing wrong with a diagram, pointing at the element and line."""

    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    warning: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "element_name": self.element_name, "line": self.line,
                "message": self.message}

    def __str__(self) -> str:
        where = ", ".join(x for x in (f"element {self.element_id!r}" if self.element_id else "",
                                      f"({self.element_name})" if self.element_name else "",
                                      f"line {self.line}" if self.line else "") if x)
        return f"{self.message} [{where}]" if where else self.message


class DiagramError(Exception):
    """The diagram cannot be deployed; `problems` say why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class EngineError(Exception):
    """Running a diagram failed (bad condition, no gateway path, budget exceeded...)."""

    def __init__(self, message: str, element_id: str | None = None, element_name: str | None = None):
        self.element_id, self.element_name = element_id, element_name
        where = f" at {element_id!r}" + (f" ({element_name})" if element_name else "") if element_id else ""
        super().__init__(f"{message}{where}")


@dataclass
class TaskInfo:
    """A ready user task as the app sees it."""

    id: str
    bpmn_id: str
    title: str
    lane: str | None
    documentation: str | None
    candidate_groups: list[str]
    assignee: str | None
    fields: list[dict[str, Any]]
    due_at: datetime | None
    process_key: str


@dataclass
class Parsed:
    """A parsed, linted diagram ready to deploy."""

    key: str
    name: str | None
    calls: list[str]
    sha256: str
    warnings: list[Problem] = field(default_factory=list)


# ---------------------------------------------------------------- clock (timers run --at)

_now: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("casebook_now", default=None)


class _ClockDatetime(datetime):
    """The timer module's `datetime`, whose now() honours `clock(at)`."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        fixed = _now.get()
        if fixed is None:
            return datetime.now(tz)
        return fixed.astimezone(tz) if tz else fixed.astimezone(timezone.utc).replace(tzinfo=None)


_timer_module.datetime = _ClockDatetime  # type: ignore[misc]


@contextmanager
def clock(at: datetime | None) -> Iterator[None]:
    """Run engine work as if it were `at` (aware UTC); None means the real time."""
    token = _now.set(at.astimezone(timezone.utc) if at else None)
    try:
        yield
    finally:
        _now.reset(token)


def now() -> datetime:
    """The engine's current time (aware UTC)."""
    return _now.get() or datetime.now(timezone.utc)


# ---------------------------------------------------------------- parser

class FormUserTaskParser(UserTaskParser):
    """Spiff's user-task parser, also reading camunda:formData, candidateGroups, assignee, dueDate."""

    def parse_extensions(self, node=None):
        ext = super().parse_extensions(node)
        if node is None or node is self.node:
            ext["form"] = read_form(self.node)
            groups = self.node.get(_C + "candidateGroups")
            ext["candidateGroups"] = [g.strip() for g in groups.split(",") if g.strip()] if groups else []
            ext["assignee"] = self.node.get(_C + "assignee")
            props = {p.get("name"): p.get("value") for p in self.node.xpath(
                "./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS)}
            ext["camundaProperties"] = props
            ext["dueDate"] = self.node.get(_C + "dueDate") or props.get("dueDate")
        return ext


def read_form(node: etree._Element) -> list[dict[str, Any]]:
    """The camunda:formField definitions of a user task, in diagram order."""
    fields = []
    for f in node.xpath("./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NS):
        fields.append({
            "id": f.get("id"), "label": f.get("label") or f.get("id"), "type": f.get("type") or "string",
            "default": f.get("defaultValue"),
            "options": [[v.get("id"), v.get("name") or v.get("id")] for v in f.findall(_C + "value")],
            "validation": {c.get("name"): c.get("config") for c in f.findall(f"{_C}validation/{_C}constraint")},
            "properties": {p.get("id"): p.get("value") for p in f.findall(f"{_C}properties/{_C}property")},
        })
    return fields


class OperationServiceTaskParser(ServiceTaskParser):
    """A service task names a Casebook operation as Camunda Modeler writes an external task:
    `camunda:type="external" camunda:topic="set_risk_level"` with `camunda:inputParameter`s. A parameter's
    text is a literal unless written `${...}`, which is a sandboxed expression over the process data."""

    def create_task(self):
        topic = self.node.get(_C + "topic")
        if not topic:
            return super().create_task()
        params = {}
        for p in self.node.xpath("./bpmn:extensionElements/camunda:inputOutput/camunda:inputParameter",
                                 namespaces=NS):
            text = (p.text or "").strip()
            expr = sandbox.normalize(text) if text.startswith("${") else repr(text)
            params[p.get("name")] = {"value": expr, "type": "any"}
        ext = self.parse_extensions()
        return self.spec_class(self.spec, self.bpmn_id, operation_name=topic.strip(), operation_params=params,
                               result_variable=None, prescript=ext.get("preScript"),
                               postscript=ext.get("postScript"), **self.bpmn_attributes)


class HybridParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("userTask"): (FormUserTaskParser, UserTask),
                               full_tag("serviceTask"): (OperationServiceTaskParser, ServiceTask)}


_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                            huge_tree=False, remove_comments=False)


def read_xml(xml: bytes | str) -> etree._Element:
    """Parse diagram XML as data: no DTD, no entities, no network.

    :raise DiagramError: if it is not well-formed or declares a DOCTYPE
    """
    raw = xml.encode() if isinstance(xml, str) else xml
    if len(raw) > MAX_XML_BYTES:
        raise DiagramError([Problem(f"the file is larger than {MAX_XML_BYTES // 1024 // 1024} MB")])
    try:
        root = etree.fromstring(raw, _SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise DiagramError([Problem(f"not well-formed XML: {exc.msg}", line=exc.lineno)]) from None
    doc = root.getroottree().docinfo
    if doc.doctype or doc.internalDTD is not None:
        raise DiagramError([Problem("a DOCTYPE (and entities) is not allowed in a diagram", line=1)])
    if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
        raise DiagramError([Problem("not a BPMN 2.0 file (the root element must be bpmn:definitions)",
                                    line=root.sourceline)])
    return root


def _line_of(root: etree._Element, element_id: str | None) -> int | None:
    if not element_id:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


def _name_of(root: etree._Element, element_id: str | None) -> str | None:
    found = root.xpath("//*[@id=$id]", id=element_id) if element_id else []
    return found[0].get("name") if found else None


def _locate(root: etree._Element, message: str) -> etree._Element | None:
    """The element a message talks about, by the longest id or name it mentions."""
    best, best_len = None, 2
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for text in (node.get("id"), node.get("name")):
            if text and len(text) > best_len and text in message:
                best, best_len = node, len(text)
    return best


def _problem_from_validation(exc: ValidationException, root: etree._Element) -> Problem:
    element_id = exc.id or None
    message = str(exc.args[0] if exc.args else exc).strip().rstrip(".")
    # XSD messages list every allowed element; the first sentence is the useful part.
    message = message.split(" Expected is one of")[0].replace("{%s}" % BPMN_NS, "bpmn:").replace(_C, "camunda:")
    line = exc.line_number if isinstance(exc.line_number, int) else _line_of(root, element_id)
    if element_id is None and isinstance(line, int):
        node = next((n for n in root.iter() if isinstance(n.tag, str) and n.sourceline == line and n.get("id")), None)
        if node is not None:
            return Problem(message, node.get("id"), node.get("name"), line)
    if element_id is None and line is None:
        node = _locate(root, message)
        if node is not None:
            return Problem(message, node.get("id"), node.get("name"), node.sourceline)
    return Problem(message, element_id, exc.name or _name_of(root, element_id), line)


# ---------------------------------------------------------------- lint

def executable_process(root: etree._Element) -> etree._Element:
    """The one executable process of a file.

    :raise DiagramError: when there is none or more than one
    """
    procs = root.xpath("./bpmn:process", namespaces=NS)
    runnable = [p for p in procs if p.get("isExecutable", "true") == "true"]
    if len(runnable) == 1:
        return runnable[0]
    if not runnable:
        first = procs[0] if procs else root
        return _raise(Problem('no executable process: mark exactly one process isExecutable="true"',
                              first.get("id"), first.get("name"), first.sourceline))
    return _raise(*[Problem("more than one executable process in one file (one process per file)",
                            p.get("id"), p.get("name"), p.sourceline) for p in runnable])


def _raise(*problems: Problem):
    raise DiagramError(list(problems))


def _parser(root: etree._Element, dependencies: dict[str, bytes | str], validate: bool = True) -> HybridParser:
    parser = HybridParser(validator=VALIDATOR if validate else None)
    parser.add_bpmn_xml(root, "diagram.bpmn")
    for key, xml in dependencies.items():
        parser.add_bpmn_xml(read_xml(xml), f"{key}.bpmn")
    return parser


def lint(xml: bytes | str, dependencies: dict[str, bytes | str] | None = None,
         org_types: set[str] | None = None, roles: set[str] | None = None,
         operations: set[str] | None = None) -> Parsed:
    """Check a diagram the way deploy does: XSD, Spiff parse, then Casebook's own rules.

    :param dependencies: deployed diagrams by key, for call activities
    :raise DiagramError: listing every error (warnings come back in Parsed.warnings)
    """
    root = read_xml(xml)
    _raise_duplicate_ids(root)
    proc = executable_process(root)
    key = proc.get("id")
    deps = {k: v for k, v in (dependencies or {}).items() if k != key}
    try:
        parser = HybridParser(validator=VALIDATOR)
        parser.add_bpmn_xml(root, "diagram.bpmn")
        local = set(parser.get_process_ids()) | {p.get("id") for p in root.xpath("./bpmn:process", namespaces=NS)}
        calls = sorted(parser.get_process_dependencies() - local)
        missing = [c for c in calls if c not in deps]
        if missing:
            nodes = root.xpath("//bpmn:callActivity[@calledElement=$c]", namespaces=NS, c=missing[0])
            node = nodes[0] if nodes else proc
            _raise(*[Problem(f"calls process {c!r}, which is not deployed (deploy it first)", node.get("id"),
                             node.get("name"), node.sourceline) for c in missing])
        for c in calls:
            parser.add_bpmn_xml(read_xml(deps[c]), f"{c}.bpmn")
        spec = parser.get_spec(key)
        subs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise DiagramError([_problem_from_validation(exc, root)]) from None
    except etree.XMLSyntaxError as exc:
        raise DiagramError([Problem(f"not well-formed XML: {exc.msg}", line=exc.lineno)]) from None
    except DiagramError:
        raise
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise DiagramError([Problem(f"the diagram could not be read: {type(exc).__name__}: {exc}",
                                    proc.get("id"), proc.get("name"), proc.sourceline)]) from None
    problems = _structure_problems(root) + _spec_problems(root, [spec, *subs.values()], org_types, roles,
                                                          operations)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise DiagramError(errors)
    sha = hashlib.sha256(xml.encode() if isinstance(xml, str) else xml).hexdigest()
    return Parsed(key=key, name=proc.get("name"), calls=calls, sha256=sha,
                  warnings=[p for p in problems if p.warning])


def _raise_duplicate_ids(root: etree._Element) -> None:
    """BPMN element ids must be unique, and a form option or property must not reuse one (it confuses
    the parser); options and properties may repeat among themselves, as Camunda Modeler writes them."""
    bpmn: dict[str, etree._Element] = {}
    problems = []
    for node in root.iter():
        element_id = node.get("id") if isinstance(node.tag, str) else None
        if element_id and etree.QName(node).namespace == BPMN_NS:
            if element_id in bpmn:
                problems.append(Problem(f"id {element_id!r} is used twice (also on line "
                                        f"{bpmn[element_id].sourceline})", element_id, node.get("name"),
                                        node.sourceline))
            bpmn.setdefault(element_id, node)
    for node in root.iter(f"{_C}value", f"{_C}property", f"{_C}formField"):
        element_id = node.get("id")
        if element_id in bpmn:
            problems.append(Problem(f"form id {element_id!r} is also the id of {bpmn[element_id].get('name') or 'an element'}"
                                    f" (line {bpmn[element_id].sourceline}); give one of them another id",
                                    element_id, node.get("name") or node.get("label"), node.sourceline))
    if problems:
        raise DiagramError(problems)


def _structure_problems(root: etree._Element) -> list[Problem]:
    problems = []
    flow_ids = set(root.xpath("//bpmn:sequenceFlow/@id", namespaces=NS))
    for node in root.xpath("//bpmn:process//bpmn:*[bpmn:incoming or bpmn:outgoing or self::bpmn:startEvent]",
                           namespaces=NS):
        if not node.get("id"):
            problems.append(Problem(f"<{etree.QName(node).localname}> has no id", line=node.sourceline))
        for ref in node.xpath("./bpmn:incoming/text() | ./bpmn:outgoing/text()", namespaces=NS):
            if ref.strip() not in flow_ids:
                problems.append(Problem(f"refers to a missing sequence flow {ref.strip()!r}", node.get("id"),
                                        node.get("name"), node.sourceline))
    for node in root.xpath("//bpmn:sendTask | //bpmn:businessRuleTask", namespaces=NS):
        kind = etree.QName(node).localname
        problems.append(Problem(f"{kind} is not supported in Casebook diagrams yet (use a user task or a "
                                "script task)", node.get("id"), node.get("name"), node.sourceline))
    return problems


def lane_org_type(lane: str | None) -> str | None:
    """"Victim Services" -> "victim_services" (case-insensitive; spaces and hyphens read as _)."""
    if not lane:
        return None
    return "_".join(lane.strip().lower().replace("-", " ").split())


def _spec_problems(root: etree._Element, specs: list, org_types: set[str] | None,
                   roles: set[str] | None, operations: set[str] | None = None) -> list[Problem]:
    problems: list[Problem] = []

    def add(message: str, ts, warning: bool = False) -> None:
        problems.append(Problem(message, ts.bpmn_id, ts.bpmn_name, _line_of(root, ts.bpmn_id), warning))

    def check(ts, what: str, source: str, mode: str) -> None:
        try:
            sandbox.check_script(source) if mode == "exec" else sandbox.check_expression(source)
        except SyntaxError as exc:
            add(f"{what}: {exc.msg}", ts)

    for spec in specs:
        for ts in spec.task_specs.values():
            if ts.bpmn_id is None:
                continue
            for attr, what in (("script", "script"), ("prescript", "pre-script"), ("postscript", "post-script")):
                if getattr(ts, attr, None):
                    check(ts, what, getattr(ts, attr), "exec")
            if isinstance(ts, (ExclusiveGateway, InclusiveGateway)):
                if not ts.outputs:
                    add("gateway has no outgoing flow", ts)
                for cond, _target in getattr(ts, "cond_task_specs", []):
                    if cond is not None:
                        check(ts, "condition", cond.args[0], "eval")
                if isinstance(ts, ExclusiveGateway) and ts.default_task_spec is None and len(ts.outputs) > 1:
                    add("no default flow: the instance stops with an error if no condition matches", ts, True)
            event = getattr(ts, "event_definition", None)
            if isinstance(event, TimerEventDefinition):
                check(ts, "timer", event.expression, "eval")
            if isinstance(ts, ServiceTask):
                if operations is not None and ts.operation_name not in operations:
                    add(f"service task operation {ts.operation_name!r} is not available; use one of: "
                        f"{', '.join(sorted(operations))}", ts)
                for name, param in ts.operation_params.items():
                    check(ts, f"parameter {name!r}", param["value"], "eval")
            if isinstance(ts, UserTask):
                _user_task_problems(ts, add, org_types, roles)
    return problems


def _user_task_problems(ts, add, org_types: set[str] | None, roles: set[str] | None) -> None:
    ext = ts.extensions
    for group in ext.get("candidateGroups", []):
        org_type, _, role = group.partition(":")
        if org_types is not None and org_type not in org_types:
            add(f"candidate group {group!r}: {org_type!r} is not an organisation type "
                f"({', '.join(sorted(org_types))})", ts)
        if role and roles is not None and role not in roles:
            add(f"candidate group {group!r}: {role!r} is not a role ({', '.join(sorted(roles))})", ts)
    if not ext.get("candidateGroups") and ts.lane and org_types is not None \
            and lane_org_type(ts.lane) not in org_types:
        add(f"lane {ts.lane!r} is not an organisation type and the task has no candidateGroups", ts)
    seen = set()
    for f in ext.get("form", []):
        fid = f["id"]
        if not fid or not fid.isidentifier() or fid.startswith("_"):
            add(f"form field id {fid!r} must be a plain name (letters, digits, _; not starting with _)", ts)
        elif fid in sandbox.RESERVED_NAMES:
            add(f"form field id {fid!r} is reserved; choose another name", ts)
        if fid in seen:
            add(f"form field id {fid!r} appears twice", ts)
        seen.add(fid)
        if f["type"] not in SUPPORTED_TYPES:
            add(f"form field {fid!r} has type {f['type']!r}; supported: {', '.join(SUPPORTED_TYPES)}", ts)
        for rule, config in f["validation"].items():
            if rule not in CONSTRAINTS:
                add(f"form field {fid!r} has an unknown constraint {rule!r}", ts)
            elif rule in ("min", "max", "minlength", "maxlength") and f["type"] != "date":
                try:
                    int(config)
                except (TypeError, ValueError):
                    add(f"form field {fid!r}: constraint {rule} needs a whole number, not {config!r}", ts)
        if f["type"] == "enum" and not f["options"]:
            add(f"form field {fid!r} is an enum without options", ts)
    due = ext.get("dueDate")
    if due:
        try:
            sandbox.check_expression(due)
        except SyntaxError as exc:
            add(f"dueDate: {exc.msg}", ts)


# ---------------------------------------------------------------- script engine

class SandboxEnvironment(TaskDataEnvironment):
    """Every evaluate/execute runs RestrictedPython-compiled code under the line and time budget."""

    def __init__(self) -> None:
        super().__init__(dict(sandbox.GLOBALS))

    def evaluate(self, expression, context, external_context=None):
        expr = sandbox.normalize(expression)
        if sandbox.ISO_LITERAL.match(expr) and expr not in context:
            return expr
        code = sandbox.compile_source(expr, "eval")
        return sandbox.run_limited(lambda: super(SandboxEnvironment, self).evaluate(code, context, external_context))

    def execute(self, script, context, external_context=None):
        code = sandbox.compile_source(script, "exec")
        return sandbox.run_limited(lambda: super(SandboxEnvironment, self).execute(code, context, external_context))


_services: contextvars.ContextVar[Any] = contextvars.ContextVar("casebook_services", default=None)


@dataclass
class ServiceCall:
    """What a service task asks the app to do."""

    operation: str
    params: dict[str, Any]
    bpmn_id: str
    name: str | None
    data: dict[str, Any]


@contextmanager
def services(handler) -> Iterator[None]:
    """Let service tasks run `handler(ServiceCall) -> JSON-able result` during engine work."""
    token = _services.set(handler)
    try:
        yield
    finally:
        _services.reset(token)


class SandboxScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=SandboxEnvironment())

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        handler = _services.get()
        spec = task.task_spec
        if handler is None:
            raise EngineError(f"operation {operation_name!r} cannot run here", spec.bpmn_id, spec.bpmn_name)
        params = {k: v["value"] for k, v in (operation_params or {}).items()}
        result = handler(ServiceCall(operation_name, params, spec.bpmn_id, spec.bpmn_name, dict(task.data)))
        return json.dumps(json_safe(result))


SCRIPT_ENGINE = SandboxScriptEngine()

# ---------------------------------------------------------------- serialization

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
SERIALIZER.registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))


def dumps(wf: BpmnWorkflow, verify: bool = True) -> str:
    """Serialize; with `verify`, prove it loads again before anything is committed.

    Only scripts can put unloadable values (a dict with a "typename" key) into task data: form answers
    are validated scalars and start data is checked, so callers verify when the diagram has scripts.
    """
    text = SERIALIZER.serialize_json(wf)
    if verify:
        SERIALIZER.deserialize_json(text)
    return text


def has_scripts(wf: BpmnWorkflow) -> bool:
    """Does this workflow's spec (or a called one) carry scripts? (a few dozen attribute reads)"""
    specs = [wf.spec, *wf.subprocess_specs.values()]
    return any(getattr(ts, attr, None) for spec in specs for ts in spec.task_specs.values()
               for attr in ("script", "prescript", "postscript"))


def loads(text: str) -> BpmnWorkflow:
    """Deserialize and re-attach the sandboxed script engine (it is never serialized)."""
    wf = SERIALIZER.deserialize_json(text)
    wf.script_engine = SCRIPT_ENGINE
    return wf


# ---------------------------------------------------------------- running

_spec_cache: dict[tuple[str, ...], tuple[Any, dict]] = {}


def _specs(xml: str, key: str, dependencies: dict[str, str]) -> tuple[Any, dict]:
    cache_key = (hashlib.sha256(xml.encode()).hexdigest(),
                 *sorted(f"{k}:{hashlib.sha256(v.encode()).hexdigest()}" for k, v in dependencies.items()))
    if cache_key not in _spec_cache:
        parser = _parser(read_xml(xml), {k: v for k, v in dependencies.items() if k != key}, validate=False)
        _spec_cache[cache_key] = (parser.get_spec(key), parser.get_subprocess_specs(key))
        if len(_spec_cache) > 256:
            _spec_cache.pop(next(iter(_spec_cache)))
    return _spec_cache[cache_key]


def start(xml: str, key: str, dependencies: dict[str, str], data: dict[str, Any]) -> BpmnWorkflow:
    """A new workflow with `data` as its initial task data (not yet run)."""
    spec, subs = _specs(xml, key, dependencies)
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


def _state_name(task: SpiffTask) -> str:
    """A task's state as a word ('future' for the states nobody shows)."""
    return _STATE_NAMES.get(task.state, "future")


def task_state(wf: BpmnWorkflow, task_id: str) -> str:
    """'ready', 'completed', 'cancelled', 'error', 'waiting' or 'missing' for one task."""
    task = _task(wf, task_id)
    if task is None:
        return "missing"
    name = _state_name(task)
    return "waiting" if name in ("started", "future") else name


def complete(wf: BpmnWorkflow, task_id: str, data: dict[str, Any]) -> None:
    """Put the answers on a READY user task and run it (its post-script too).

    :raise EngineError: if the task is not ready, or its post-script fails
    """
    task = _task(wf, task_id)
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise EngineError("this step is not waiting for input")
    task.set_data(**data)
    try:
        task.run()
    except sandbox.ScriptBudgetExceeded as exc:
        raise EngineError(str(exc), task.task_spec.bpmn_id, task.task_spec.bpmn_name) from None
    except SpiffWorkflowException as exc:
        raise EngineError(_spiff_message(exc), task.task_spec.bpmn_id, task.task_spec.bpmn_name) from None


def ready_user_tasks(wf: BpmnWorkflow) -> list[TaskInfo]:
    """Every READY user (manual) task, sub-processes included."""
    out = []
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        ext = getattr(spec, "extensions", {}) or {}
        out.append(TaskInfo(
            id=str(task.id), bpmn_id=spec.bpmn_id or spec.name, title=spec.bpmn_name or spec.bpmn_id or spec.name,
            lane=_effective_lane(task), documentation=getattr(spec, "documentation", None),
            candidate_groups=list(ext.get("candidateGroups", [])), assignee=ext.get("assignee"),
            fields=list(ext.get("form", [])), due_at=_due_at(task, ext.get("dueDate")),
            process_key=task.workflow.spec.name))
    return out


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


def json_safe(value: Any) -> Any:
    """Task data as JSON (dates as ISO text)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, (date, datetime))
                                 else str(v) if isinstance(v, timedelta) else repr(v)))


def step_states(state: str) -> dict[str, str]:
    """bpmn id -> 'completed' | 'ready' | 'waiting' | 'error' for every visible element an instance reached."""
    try:
        wf = loads(state)
    except Exception:  # a damaged state must not break the case page
        return {}
    order = {"completed": 0, "waiting": 1, "ready": 2, "error": 3}
    out: dict[str, str] = {}
    for task in wf.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        name = _state_name(task)
        name = "waiting" if name == "started" else name
        if not bpmn_id or name not in order:
            continue
        if bpmn_id not in out or order[name] >= order[out[bpmn_id]]:
            out[bpmn_id] = name
    return out


# ---------------------------------------------------------------- version migration (guide §9)


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
            "error": "failed step"}.get(_state_name(task), "completed step")


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
        spec, subs = _specs(new_xml, key, dependencies)
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
        spec, subs = _specs(new_xml, key, dependencies)
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
