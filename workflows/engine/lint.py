"""Lint: XSD, the Spiff parse, then Casebook's own rules; every problem names element, name and line."""
from __future__ import annotations

import hashlib

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask

from workflows import sandbox
from workflows.engine.parse import (HybridParser, executable_process, lane_org_type, line_of,
                                    problem_from_validation, read_xml)
from workflows.engine.results import BPMN_NS, CAMUNDA, NS, DiagramError, Parsed, Problem, raise_problems
from workflows.formdata import CONSTRAINTS, SUPPORTED_TYPES

_C = CAMUNDA


def lint(xml: bytes | str, dependencies: dict[str, bytes | str] | None = None,
         org_types: set[str] | None = None, roles: set[str] | None = None,
         operations: set[str] | None = None, services: set[str] | None = None) -> Parsed:
    """Check a diagram the way deploy does: XSD, Spiff parse, then Casebook's own rules.

    :param dependencies: deployed diagrams by key, for call activities
    :param services: the service codes in reference data (an unknown one is a warning: it may be added later)
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
            raise_problems(*[Problem(f"calls process {c!r}, which is not deployed (deploy it first)", node.get("id"),
                             node.get("name"), node.sourceline) for c in missing])
        for c in calls:
            parser.add_bpmn_xml(read_xml(deps[c]), f"{c}.bpmn")
        spec = parser.get_spec(key)
        subs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise DiagramError([problem_from_validation(exc, root)]) from None
    except etree.XMLSyntaxError as exc:
        raise DiagramError([Problem(f"not well-formed XML: {exc.msg}", line=exc.lineno)]) from None
    except DiagramError:
        raise
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise DiagramError([Problem(f"the diagram could not be read: {type(exc).__name__}: {exc}",
                                    proc.get("id"), proc.get("name"), proc.sourceline)]) from None
    problems = _structure_problems(root) + _spec_problems(root, [spec, *subs.values()], org_types, roles,
                                                          operations, services)
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


def _spec_problems(root: etree._Element, specs: list, org_types: set[str] | None,
                   roles: set[str] | None, operations: set[str] | None = None,
                   services: set[str] | None = None) -> list[Problem]:
    problems: list[Problem] = []

    def add(message: str, ts, warning: bool = False) -> None:
        problems.append(Problem(message, ts.bpmn_id, ts.bpmn_name, line_of(root, ts.bpmn_id), warning))

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
                kept = ts.result_variable
                if not kept.startswith("spiff__") and (not kept.isidentifier() or kept.startswith("_")
                                                       or kept in sandbox.RESERVED_NAMES):
                    add(f"result variable {kept!r} must be a plain name (letters, digits and _)", ts)
            if isinstance(ts, UserTask):
                _user_task_problems(ts, add, org_types, roles, services)
    return problems


def _user_task_problems(ts, add, org_types: set[str] | None, roles: set[str] | None,
                        services: set[str] | None) -> None:
    ext = ts.extensions
    for group in ext.get("candidateGroups", []):
        org_type, _, role = group.partition(":")
        if group.strip().startswith("${"):  # chosen at run time from the process data
            try:
                sandbox.check_expression(group)
            except SyntaxError as exc:
                add(f"candidate group {group!r}: {exc.msg}", ts)
            continue
        if org_type == "organisation":
            if not role:
                add(f"candidate group {group!r}: name the organisation, as organisation:<code>", ts)
            continue
        if org_type == "service":
            service, _, role = role.partition(":")
            if not service:
                add(f"candidate group {group!r}: name the service, as service:<code> or service:<code>:<role>", ts)
            elif services is not None and service not in services:
                add(f"candidate group {group!r}: {service!r} is not a service in this partnership's reference "
                    "data yet; the step stays unassigned until an organisation provides it", ts, True)
        elif org_types is not None and org_type not in org_types:
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
        if isinstance(f.get("default"), str) and f["default"].strip().startswith("${"):
            try:
                sandbox.check_expression(f["default"])
            except SyntaxError as exc:
                add(f"form field {fid!r} default: {exc.msg}", ts)
        source = (f.get("properties") or {}).get("options")
        if f["type"] == "enum" and isinstance(source, str) and source.strip().startswith("${"):
            try:   # choices the process data holds when the step is ready
                sandbox.check_expression(source)
            except SyntaxError as exc:
                add(f"form field {fid!r} options: {exc.msg}", ts)
        elif f["type"] == "enum" and not f["options"]:
            add(f"form field {fid!r} is an enum without options", ts)
    due = ext.get("dueDate")
    if due:
        try:
            sandbox.check_expression(due)
        except SyntaxError as exc:
            add(f"dueDate: {exc.msg}", ts)
