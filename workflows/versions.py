"""A readable diff between two versions of a process, element by element, aligned by BPMN id."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import select

from casework.errors import NotFound
from models import ProcessDefinition, db
from workflows import engine

NS = engine.NS
_C = f"{{{engine.CAMUNDA_NS}}}"
FLOW_NODES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess", "transaction", "exclusiveGateway",
              "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")
_WORDS = {"userTask": "user task", "scriptTask": "script task", "serviceTask": "service task",
          "callActivity": "call activity", "subProcess": "sub-process", "startEvent": "start event",
          "endEvent": "end event", "boundaryEvent": "boundary event", "exclusiveGateway": "exclusive gateway",
          "inclusiveGateway": "inclusive gateway", "parallelGateway": "parallel gateway",
          "eventBasedGateway": "event-based gateway", "intermediateCatchEvent": "intermediate catch event",
          "intermediateThrowEvent": "intermediate throw event", "manualTask": "manual task"}


@dataclass
class DiffEntry:
    """One change: which element, what about it, and the values before and after."""

    element_id: str
    element_name: str | None
    change: str
    before: str | None = None
    after: str | None = None

    @property
    def text(self) -> str:
        """'triage' (Triage referral): name: 'Triage' → 'Triage referral'."""
        who = f"{self.element_id!r}" + (f" ({self.element_name})" if self.element_name else "")
        if self.before is None and self.after is None:
            return f"{who}: {self.change}"
        return f"{who}: {self.change}: {_show(self.before)} → {_show(self.after)}"

    def as_dict(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "element_name": self.element_name, "change": self.change,
                "before": self.before, "after": self.after, "text": self.text}


@dataclass
class VersionDiff:
    """Everything that differs between two versions, grouped the way a lead reviews them."""

    added: list[DiffEntry] = field(default_factory=list)
    removed: list[DiffEntry] = field(default_factory=list)
    changed: list[DiffEntry] = field(default_factory=list)
    fields: list[DiffEntry] = field(default_factory=list)
    flows: list[DiffEntry] = field(default_factory=list)
    conditions: list[DiffEntry] = field(default_factory=list)
    timers: list[DiffEntry] = field(default_factory=list)
    lanes: list[DiffEntry] = field(default_factory=list)

    GROUPS = ("added", "removed", "changed", "fields", "flows", "conditions", "timers", "lanes")

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, g) for g in self.GROUPS)

    @property
    def entries(self) -> list[DiffEntry]:
        """Every entry, in group order."""
        return [e for g in self.GROUPS for e in getattr(self, g)]

    def lines(self) -> list[str]:
        """Plain text, one line per change."""
        return [e.text for e in self.entries]

    def as_dict(self) -> dict[str, Any]:
        return {g: [e.as_dict() for e in getattr(self, g)] for g in self.GROUPS}


def _show(value: str | None) -> str:
    return "(none)" if value is None or value == "" else repr(value)


def _text(node: etree._Element | None) -> str | None:
    """Stripped text of an element (None when absent or blank)."""
    if node is None:
        return None
    text = "".join(node.itertext()).strip()
    return text or None


# ---------------------------------------------------------------- reading one version

@dataclass
class _Version:
    nodes: dict[str, etree._Element]
    flows: dict[str, etree._Element]
    lanes: dict[str, etree._Element]
    lane_of: dict[str, str]


def _read(xml: str) -> _Version:
    proc = engine.executable_process(engine.read_xml(xml))
    nodes, flows, lanes, lane_of = {}, {}, {}, {}
    for node in proc.iter(f"{{{engine.BPMN_NS}}}*"):
        kind, element_id = etree.QName(node).localname, node.get("id")
        if not element_id:
            continue
        if kind in FLOW_NODES:
            nodes[element_id] = node
        elif kind == "sequenceFlow":
            flows[element_id] = node
        elif kind == "lane":
            lanes[element_id] = node
            for ref in node.findall(f"{{{engine.BPMN_NS}}}flowNodeRef"):
                if ref.text and ref.text.strip():
                    lane_of.setdefault(ref.text.strip(), element_id)
    return _Version(nodes, flows, lanes, lane_of)


def _kind(node: etree._Element) -> str:
    return _WORDS.get(etree.QName(node).localname, etree.QName(node).localname)


def _properties(node: etree._Element) -> dict[str, str | None]:
    """The attributes a lead edits on an element, as text for comparison."""
    doc = node.find(f"{{{engine.BPMN_NS}}}documentation")
    script = node.find(f"{{{engine.BPMN_NS}}}script")
    return {"name": node.get("name"), "type": _kind(node),
            "candidate groups": node.get(_C + "candidateGroups"), "assignee": node.get(_C + "assignee"),
            "due date": node.get(_C + "dueDate"), "documentation": _text(doc),
            "called process": node.get("calledElement"), "script": _text(script),
            "attached to": node.get("attachedToRef"), "default flow": node.get("default")}


def _timer(node: etree._Element) -> str | None:
    """'timeDuration P2D' for an event with a timer, else None."""
    definition = node.find(f"{{{engine.BPMN_NS}}}timerEventDefinition")
    if definition is None:
        return None
    for kind in TIMER_KINDS:
        found = definition.find(f"{{{engine.BPMN_NS}}}{kind}")
        if found is not None:
            return f"{kind} {_text(found) or ''}".strip()
    return "(no expression)"


# ---------------------------------------------------------------- comparing

def _field_text(f: dict[str, Any], what: str) -> str:
    if what == "constraints":
        return ", ".join(k if v is None else f"{k}={v}" for k, v in sorted(f["validation"].items()))
    if what == "options":
        return ", ".join(f"{i}={label}" for i, label in f["options"])
    if what == "properties":
        return ", ".join(f"{k}={v}" for k, v in sorted(f["properties"].items()))
    return "" if f.get(what) is None else str(f[what])


def _field_summary(f: dict[str, Any]) -> str:
    return f"{f['label']} ({f['type']})"


def _diff_form(element_id: str, name: str | None, old: etree._Element,
               new: etree._Element) -> list[DiffEntry]:
    before = {f["id"]: f for f in engine.read_form(old)}
    after = {f["id"]: f for f in engine.read_form(new)}
    out = [DiffEntry(element_id, name, f"form field {fid!r} added", None, _field_summary(after[fid]))
           for fid in after if fid not in before]
    out += [DiffEntry(element_id, name, f"form field {fid!r} removed", _field_summary(before[fid]), None)
            for fid in before if fid not in after]
    for fid in (f for f in before if f in after):
        for what, word in (("label", "relabelled"), ("type", "type changed"), ("default", "default changed"),
                           ("constraints", "constraints changed"), ("options", "options changed"),
                           ("properties", "properties changed")):
            a, b = _field_text(before[fid], what), _field_text(after[fid], what)
            if a != b:
                out.append(DiffEntry(element_id, name, f"form field {fid!r} {word}", a, b))
    kept_before, kept_after = [f for f in before if f in after], [f for f in after if f in before]
    if kept_before != kept_after:
        out.append(DiffEntry(element_id, name, "form fields reordered", ", ".join(kept_before),
                             ", ".join(kept_after)))
    return out


def _flow_label(version: _Version, flow: etree._Element) -> str:
    def end(ref: str | None) -> str:
        node = version.nodes.get(ref or "")
        return (node.get("name") if node is not None else None) or ref or "?"

    return flow.get("name") or f"{end(flow.get('sourceRef'))} → {end(flow.get('targetRef'))}"


def _route(flow: etree._Element) -> str:
    return f"{flow.get('sourceRef')} → {flow.get('targetRef')}"


def _diff_flows(old: _Version, new: _Version, diff: VersionDiff) -> None:
    for fid, flow in new.flows.items():
        before = old.flows.get(fid)
        cond = _text(flow.find(f"{{{engine.BPMN_NS}}}conditionExpression"))
        label = _flow_label(new, flow)
        if before is None:
            diff.flows.append(DiffEntry(fid, label, "flow added", None, _route(flow)))
            if cond:
                diff.conditions.append(DiffEntry(fid, label, "condition added", None, cond))
            continue
        if _route(before) != _route(flow):
            diff.flows.append(DiffEntry(fid, label, "flow re-routed", _route(before), _route(flow)))
        old_cond = _text(before.find(f"{{{engine.BPMN_NS}}}conditionExpression"))
        if old_cond != cond:
            change = ("condition added" if old_cond is None else "condition removed" if cond is None
                      else "condition changed")
            diff.conditions.append(DiffEntry(fid, label, change, old_cond, cond))
    for fid, flow in old.flows.items():
        if fid not in new.flows:
            label = _flow_label(old, flow)
            diff.flows.append(DiffEntry(fid, label, "flow removed", _route(flow), None))
            cond = _text(flow.find(f"{{{engine.BPMN_NS}}}conditionExpression"))
            if cond:
                diff.conditions.append(DiffEntry(fid, label, "condition removed", cond, None))


def _lane_name(version: _Version, node_id: str) -> str | None:
    lane = version.lanes.get(version.lane_of.get(node_id, ""))
    return None if lane is None else lane.get("name") or lane.get("id")


def _diff_nodes(old: _Version, new: _Version, diff: VersionDiff) -> None:
    for nid, node in new.nodes.items():
        name = node.get("name")
        before = old.nodes.get(nid)
        if before is None:
            diff.added.append(DiffEntry(nid, name, f"{_kind(node)} added"))
            continue
        a, b = _properties(before), _properties(node)
        for what in a:
            if a[what] != b[what]:
                diff.changed.append(DiffEntry(nid, name or before.get("name"), f"{what} changed", a[what],
                                              b[what]))
        if old.lane_of.get(nid) != new.lane_of.get(nid):   # by lane id: a renamed lane is not a move
            diff.changed.append(DiffEntry(nid, name, "moved to another lane", _lane_name(old, nid),
                                          _lane_name(new, nid)))
        old_timer, new_timer = _timer(before), _timer(node)
        if old_timer != new_timer:
            change = ("timer added" if old_timer is None else "timer removed" if new_timer is None
                      else "timer changed")
            diff.timers.append(DiffEntry(nid, name, change, old_timer, new_timer))
        if etree.QName(node).localname == "userTask" or etree.QName(before).localname == "userTask":
            diff.fields.extend(_diff_form(nid, name, before, node))
    for nid, node in old.nodes.items():
        if nid not in new.nodes:
            diff.removed.append(DiffEntry(nid, node.get("name"), f"{_kind(node)} removed"))


def _diff_lanes(old: _Version, new: _Version, diff: VersionDiff) -> None:
    for lid, lane in new.lanes.items():
        before = old.lanes.get(lid)
        if before is None:
            diff.lanes.append(DiffEntry(lid, lane.get("name"), "lane added"))
        elif before.get("name") != lane.get("name"):
            diff.lanes.append(DiffEntry(lid, lane.get("name"), "lane renamed", before.get("name"),
                                        lane.get("name")))
    diff.lanes += [DiffEntry(lid, lane.get("name"), "lane removed") for lid, lane in old.lanes.items()
                   if lid not in new.lanes]


def diff_xml(old_xml: str, new_xml: str) -> VersionDiff:
    """Compare two diagrams' executable processes by element id.

    :raise DiagramError: if either is not a readable BPMN file
    """
    old, new = _read(old_xml), _read(new_xml)
    diff = VersionDiff()
    _diff_nodes(old, new, diff)
    _diff_flows(old, new, diff)
    _diff_lanes(old, new, diff)
    return diff


def diff_versions(key: str, from_version: int, to_version: int) -> VersionDiff:
    """The diff between two deployed versions of process `key`.

    :raise NotFound: if either version is not deployed
    """
    rows = {d.version: d for d in db.session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version.in_([from_version, to_version])))}
    for version in (from_version, to_version):
        if version not in rows:
            raise NotFound(f"process {key!r} has no version {version}")
    return diff_xml(rows[from_version].bpmn_xml, rows[to_version].bpmn_xml)
