"""Reading diagrams: XML as data (no DTD, no entities, no network) and the hybrid parser that also reads
Camunda forms, assignment and external service tasks; lint messages located by element and line."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser, UserTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask

from workflows import sandbox
from workflows.engine.results import (BPMN_NS, CAMUNDA, MAX_XML_BYTES, NS, DiagramError, Problem,
                                      raise_problems)

_C = CAMUNDA


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
        # camunda:resultVariable keeps what the operation answered in the process data under that name.
        result = (self.node.get(_C + "resultVariable") or "").strip() or None
        return self.spec_class(self.spec, self.bpmn_id, operation_name=topic.strip(), operation_params=params,
                               result_variable=result, prescript=ext.get("preScript"),
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


def line_of(root: etree._Element, element_id: str | None) -> int | None:
    if not element_id:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


def name_of(root: etree._Element, element_id: str | None) -> str | None:
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


def problem_from_validation(exc: ValidationException, root: etree._Element) -> Problem:
    element_id = exc.id or None
    message = str(exc.args[0] if exc.args else exc).strip().rstrip(".")
    # XSD messages list every allowed element; the first sentence is the useful part.
    message = message.split(" Expected is one of")[0].replace("{%s}" % BPMN_NS, "bpmn:").replace(_C, "camunda:")
    line = exc.line_number if isinstance(exc.line_number, int) else line_of(root, element_id)
    if element_id is None and isinstance(line, int):
        node = next((n for n in root.iter() if isinstance(n.tag, str) and n.sourceline == line and n.get("id")), None)
        if node is not None:
            return Problem(message, node.get("id"), node.get("name"), line)
    if element_id is None and line is None:
        node = _locate(root, message)
        if node is not None:
            return Problem(message, node.get("id"), node.get("name"), node.sourceline)
    return Problem(message, element_id, exc.name or name_of(root, element_id), line)


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
        raise_problems(Problem('no executable process: tick "Executable" on the process (isExecutable="true")',
                               first.get("id"), first.get("name"), first.sourceline))
    raise_problems(*[Problem('more than one executable process in one file: keep one per file (untick "Executable" '
                             "on the others, or split the file)", p.get("id"), p.get("name"), p.sourceline)
                     for p in runnable])


def parser_for(root: etree._Element, dependencies: dict[str, bytes | str], validate: bool = True) -> HybridParser:
    """A hybrid parser holding the diagram and the called diagrams it depends on."""
    parser = HybridParser(validator=VALIDATOR if validate else None)
    parser.add_bpmn_xml(root, "diagram.bpmn")
    for key, xml in dependencies.items():
        parser.add_bpmn_xml(read_xml(xml), f"{key}.bpmn")
    return parser


def lane_org_type(lane: str | None) -> str | None:
    """"Victim Services" -> "victim_services" (case-insensitive; spaces and hyphens read as _)."""
    if not lane:
        return None
    return "_".join(lane.strip().lower().replace("-", " ").split())


@dataclass
class Step:
    """A user task as drawn: what a routing check needs, read from the XML without running anything."""

    bpmn_id: str
    name: str | None
    candidate_groups: list[str]
    lane: str | None
    process_key: str


def user_steps(xml: bytes | str) -> list[Step]:
    """Every user task of the executable process (in document order), with its groups and lane.

    :raise DiagramError: if the XML cannot be read as a diagram
    """
    root = read_xml(xml)
    proc = executable_process(root)
    lanes = {ref.text.strip(): lane.get("name") for lane in proc.iter(f"{{{BPMN_NS}}}lane")
             for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef") if ref.text}
    out = []
    for node in proc.iter(f"{{{BPMN_NS}}}userTask"):
        groups = node.get(_C + "candidateGroups") or ""
        out.append(Step(node.get("id"), node.get("name"), [g.strip() for g in groups.split(",") if g.strip()],
                        lanes.get(node.get("id")), proc.get("id")))
    return out
