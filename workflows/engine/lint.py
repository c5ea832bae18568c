"""Lint: XSD, the Spiff parse, then Casebook's own rules; every problem names element, name and line.

Messages are read by working-group leads in the designer, after the element's name ("Step “Contact the
victim”: ..."): they say what is wrong in the words of the designer's Casebook panel, not BPMN's."""
from __future__ import annotations

import hashlib
import re

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
TYPE_WORDS = {"string": "text", "long": "whole number", "boolean": "yes/no", "date": "date", "enum": "choice"}


def _q(text: object) -> str:
    """Quote a name or value for a lead: “text”."""
    return f"“{text}”"


# SpiffWorkflow's and the BPMN schema's messages a lead meets from the designer, in the designer panel's words.
_PLAIN = [
    (re.compile(r"Non-default exclusive outgoing sequence flow without condition"),
     ("this route out of a decision has no condition and is not the default route: write a condition, or make "
      "it the default")),
    (re.compile(r"Time Specification Error\. Unknown Time Specification|Unknown Time Specification"),
     "the timer has no time: give it a duration (P2D) or a date"),
    (re.compile(r"Time Specification Error\. (.*)"), "the timer's time is not valid: {0}"),
    (re.compile(r"No start event found"), "the process has no start: draw a start event"),
    (re.compile(r'No "calledElement" attribute for Call Activity'), "say which process it runs"),
    (re.compile(r"Invalid Script Task\.\s+No Script Provided"), "the script is empty: write one"),
    (re.compile(r"A Service Task must have an operator"), "say which operation it runs"),
    (re.compile(r"Exactly one start event is required in a SubWorkflow Task; found (\d+)"),
     "a sub-process needs exactly one start event; it has {0}"),
    (re.compile(r"Element '([^']+)': This element is not expected"),
     "{0} is not allowed here in a BPMN file (was the file edited by hand?)"),
    (re.compile(r"Element '[^']+', attribute '([^']+)': The attribute '[^']+' is not allowed"),
     "the attribute {0} is not allowed here in a BPMN file (was the file edited by hand?)"),
]


def _plain(problem: Problem) -> Problem:
    """The problem in a lead's words where the parser's own are jargon."""
    for pattern, words in _PLAIN:
        found = pattern.match(problem.message)
        if found:
            problem.message = words.format(*found.groups())
            break
    return problem


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
            raise_problems(*[Problem(f"calls the process {_q(c)}, which is not deployed: deploy that process first",
                                     node.get("id"), node.get("name"), node.sourceline) for c in missing])
        for c in calls:
            parser.add_bpmn_xml(read_xml(deps[c]), f"{c}.bpmn")
        spec = parser.get_spec(key)
        subs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise DiagramError([_plain(problem_from_validation(exc, root))]) from None
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
                problems.append(Problem(f"the id {_q(element_id)} is used by two elements (the other is on line "
                                        f"{bpmn[element_id].sourceline}); give each its own id", element_id,
                                        node.get("name"), node.sourceline))
            bpmn.setdefault(element_id, node)
    for node in root.iter(f"{_C}value", f"{_C}property", f"{_C}formField"):
        element_id = node.get("id")
        if element_id in bpmn:
            problems.append(Problem(f"the id {_q(element_id)} of a form field, choice or property is also the id of "
                                    f"{bpmn[element_id].get('name') or 'an element'} (line "
                                    f"{bpmn[element_id].sourceline}); give one of them another id",
                                    element_id, node.get("name") or node.get("label"), node.sourceline))
    if problems:
        raise DiagramError(problems)


def _structure_problems(root: etree._Element) -> list[Problem]:
    problems = []
    flow_ids = set(root.xpath("//bpmn:sequenceFlow/@id", namespaces=NS))
    for node in root.xpath("//bpmn:process//bpmn:*[bpmn:incoming or bpmn:outgoing or self::bpmn:startEvent]",
                           namespaces=NS):
        if not node.get("id"):
            problems.append(Problem(f"a {etree.QName(node).localname} has no id; every element needs one",
                                    line=node.sourceline))
        for ref in node.xpath("./bpmn:incoming/text() | ./bpmn:outgoing/text()", namespaces=NS):
            if ref.strip() not in flow_ids:
                problems.append(Problem(f"is joined to an arrow {_q(ref.strip())} that is not in the diagram; "
                                        "draw the arrow again", node.get("id"),
                                        node.get("name"), node.sourceline))
    for node in root.xpath("//bpmn:sendTask | //bpmn:businessRuleTask", namespaces=NS):
        kind = {"sendTask": "a send task", "businessRuleTask": "a business rule task"}[etree.QName(node).localname]
        problems.append(Problem(f"{kind} cannot run in Casebook yet: change it to a step (user task), an "
                                "operation (service task) or a script", node.get("id"), node.get("name"),
                                node.sourceline))
    return problems


def _route_for(root: etree._Element, gateway_id: str, condition: str) -> etree._Element | None:
    """The route (sequence flow) out of a gateway that carries this condition: a lead fixes it there."""
    for flow in root.xpath("//bpmn:sequenceFlow[@sourceRef=$g]", namespaces=NS, g=gateway_id):
        expr = flow.find(f"{{{BPMN_NS}}}conditionExpression")
        if expr is not None and (expr.text or "").strip() == condition.strip():
            return flow
    return None


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
            add(f"{what} is not valid: {exc.msg}", ts)

    def check_condition(ts, condition: str) -> None:
        try:
            sandbox.check_expression(condition)
        except SyntaxError as exc:
            route = _route_for(root, ts.bpmn_id, condition)
            if route is None:
                add(f"the condition {_q(condition)} on a route out of it is not valid: {exc.msg}", ts)
                return
            target = route.get("targetRef")
            to = _q((root.xpath("//*[@id=$t]/@name", t=target) or [target])[0])
            problems.append(Problem(f"the condition of the route to {to} is not valid: {exc.msg}", route.get("id"),
                                    route.get("name"), route.sourceline))

    for spec in specs:
        for ts in spec.task_specs.values():
            if ts.bpmn_id is None:
                continue
            for attr, what in (("script", "the script"), ("prescript", "the script run before it (pre-script)"),
                               ("postscript", "the script run after it (post-script)")):
                if getattr(ts, attr, None):
                    check(ts, what, getattr(ts, attr), "exec")
            if isinstance(ts, (ExclusiveGateway, InclusiveGateway)):
                if not ts.outputs:
                    add("no route leaves this decision; draw one", ts)
                for cond, _target in getattr(ts, "cond_task_specs", []):
                    if cond is not None:
                        check_condition(ts, cond.args[0])
                if isinstance(ts, ExclusiveGateway) and ts.default_task_spec is None and len(ts.outputs) > 1:
                    add("none of the routes out of this decision is the default: when no condition matches, the "
                        "case's process stops with an error (select a route and tick “the default route”)", ts, True)
            event = getattr(ts, "event_definition", None)
            if isinstance(event, TimerEventDefinition):
                check(ts, "the timer's time (a duration such as P2D, or a date such as "
                          "add_working_days(reported_on, 2))", event.expression, "eval")
            if isinstance(ts, ServiceTask):
                if operations is not None and ts.operation_name not in operations:
                    add(f"the operation {_q(ts.operation_name)} does not exist; use one of: "
                        f"{', '.join(sorted(operations))}", ts)
                for name, param in ts.operation_params.items():
                    check(ts, f"the operation's parameter {_q(name)}", param["value"], "eval")
                kept = ts.result_variable
                if not kept.startswith("spiff__") and (not kept.isidentifier() or kept.startswith("_")
                                                       or kept in sandbox.RESERVED_NAMES):
                    add(f"the name the answer is kept under (result variable), {_q(kept)}, must be a plain name: "
                        "letters, digits and _, not starting with _", ts)
            if isinstance(ts, UserTask):
                _user_task_problems(ts, add, org_types, roles, services)
    return problems


RULE_WORDS = {"min": "the lowest value (min)", "max": "the highest value (max)",
              "minlength": "the shortest answer (minlength)", "maxlength": "the longest answer (maxlength)"}


def _group_problems(ts, add, group: str, org_types: set[str] | None, roles: set[str] | None,
                    services: set[str] | None) -> None:
    """One entry of a step's Who does it (camunda:candidateGroups)."""
    def where(part: str) -> str:
        return "in Who does it" if part == group else f"in Who does it ({_q(group)})"

    org_type, _, role = group.partition(":")
    if group.strip().startswith("${"):  # chosen at run time from the process data
        try:
            sandbox.check_expression(group)
        except SyntaxError as exc:
            add(f"{where('')}, the expression is not valid: {exc.msg}", ts)
        return
    if org_type == "organisation":
        if not role:
            add(f"{where('')}, name the organisation, as organisation:<code>", ts)
        return
    if org_type == "service":
        service, _, role = role.partition(":")
        if not service:
            add(f"{where('')}, name the service, as service:<code> or service:<code>:<role>", ts)
        elif services is not None and service not in services:
            add(f"{where(service)}, {_q(service)} is not a service in this partnership's reference data yet; the "
                "step stays unassigned until an organisation provides it (Reference data → Services)", ts, True)
    elif org_types is not None and org_type not in org_types:
        add(f"{where(org_type)}, {_q(org_type)} is not an organisation type (use one of: "
            f"{', '.join(sorted(org_types))})", ts)
    if role and roles is not None and role not in roles:
        add(f"{where(role)}, {_q(role)} is not a role (use one of: {', '.join(sorted(roles))})", ts)


def _user_task_problems(ts, add, org_types: set[str] | None, roles: set[str] | None,
                        services: set[str] | None) -> None:
    ext = ts.extensions
    for group in ext.get("candidateGroups", []):
        _group_problems(ts, add, group, org_types, roles, services)
    if not ext.get("candidateGroups") and ts.lane and org_types is not None \
            and lane_org_type(ts.lane) not in org_types:
        add(f"nobody would get this step: Who does it is empty and its lane {_q(ts.lane)} is not an "
            f"organisation type (name the lane after one of: {', '.join(sorted(org_types))}; "
            "“Victim Services” reads as victim_services)", ts)
    seen = set()
    for f in ext.get("form", []):
        fid, field = f["id"], f"the form field {_q(f['label'])}"
        if not fid or not fid.isidentifier() or fid.startswith("_"):
            add(f"{field}: its id {_q(fid)} must be a plain name (letters, digits and _, not starting with _)", ts)
        elif fid in sandbox.RESERVED_NAMES:
            add(f"{field}: its id {_q(fid)} is reserved in Casebook; choose another id", ts)
        if fid in seen:
            add(f"two form fields have the id {_q(fid)}; give each its own", ts)
        seen.add(fid)
        if f["type"] not in SUPPORTED_TYPES:
            add(f"{field} has the type {_q(f['type'])}, which Casebook does not know; use "
                f"{', '.join(f'{w} ({t})' for t, w in TYPE_WORDS.items())}", ts)
        for rule, config in f["validation"].items():
            if rule not in CONSTRAINTS:
                add(f"{field} has the rule {_q(rule)}, which Casebook does not know; use one of: "
                    f"{', '.join(CONSTRAINTS)}", ts)
            elif rule in RULE_WORDS and f["type"] != "date":
                try:
                    int(config)
                except (TypeError, ValueError):
                    add(f"{field}: {RULE_WORDS[rule]} must be a whole number, not {_q(config)}", ts)
        if isinstance(f.get("default"), str) and f["default"].strip().startswith("${"):
            try:
                sandbox.check_expression(f["default"])
            except SyntaxError as exc:
                add(f"{field}: the default value is not valid: {exc.msg}", ts)
        source = (f.get("properties") or {}).get("options")
        if f["type"] == "enum" and isinstance(source, str) and source.strip().startswith("${"):
            try:   # choices the process data holds when the step is ready
                sandbox.check_expression(source)
            except SyntaxError as exc:
                add(f"{field}: the choices read from the process data (options) are not valid: {exc.msg}", ts)
        elif f["type"] == "enum" and not f["options"]:
            add(f"{field} is a choice with no choices: add them, or read them from the process data", ts)
    due = ext.get("dueDate")
    if due:
        try:
            sandbox.check_expression(due)
        except SyntaxError as exc:
            add(f"the due date is not valid: {exc.msg}", ts)
