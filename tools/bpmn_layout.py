"""Development-time tool: (re)generate a diagram's interchange (DI) with a pool and one band per lane.

    python tools/bpmn_layout.py bpmn/victim_referral.bpmn        # rewrites the file in place

Write the process (flow nodes, sequence flows, lanes with flowNodeRefs) by hand or in a modeler;
this places every node in columns by flow order and rows by lane, draws the lanes, attaches
boundary events to their task and routes the flows orthogonally. Run it after editing the process
structure and commit the result; nothing at install or run time uses it.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}
SIZES = {"task": (110, 80), "event": (36, 36), "gateway": (50, 50)}
COL_W, ROW_H, LANE_HEAD, LEFT, TOP = 170, 120, 30, 80, 40
FLOW_TAGS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "userTask",
             "scriptTask", "serviceTask", "task", "manualTask", "callActivity", "subProcess", "sendTask",
             "receiveTask", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")


def q(tag: str, ns: str = BPMN) -> str:
    return f"{{{ns}}}{tag}"


def kind(node: etree._Element) -> str:
    local = etree.QName(node).localname
    if local.endswith("Gateway"):
        return "gateway"
    if local.endswith("Event"):
        return "event"
    return "task"


def layout(path: Path) -> None:
    tree = etree.parse(str(path), etree.XMLParser(remove_blank_text=True, resolve_entities=False))
    root = tree.getroot()
    process = root.find("bpmn:process", NS)
    pid = process.get("id")
    nodes = {n.get("id"): n for n in process if etree.QName(n).localname in FLOW_TAGS}
    boundaries = [n for n in process if etree.QName(n).localname == "boundaryEvent"]
    flows = [f for f in process if etree.QName(f).localname == "sequenceFlow"]
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    lane_of = {ref.text.strip(): lane.get("id") for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)}
    lane_ids = [lane.get("id") for lane in lanes] or ["_all"]

    # Columns: longest path from the starts, ignoring edges that close a loop.
    succ: dict[str, list[str]] = defaultdict(list)
    for f in flows:
        succ[f.get("sourceRef")].append(f.get("targetRef"))
    host_of = {b.get("id"): b.get("attachedToRef") for b in boundaries}
    col: dict[str, int] = {}
    starts = [i for i, n in nodes.items() if etree.QName(n).localname == "startEvent"] or list(nodes)[:1]
    order: list[str] = []
    seen: set[str] = set()

    def visit(n: str, stack: set[str]) -> None:
        if n in seen:
            return
        seen.add(n)
        stack.add(n)
        targets = succ.get(n, []) + [b for b, h in host_of.items() if h == n]
        for t in targets:
            if t not in stack:
                visit(t, stack)
        stack.discard(n)
        order.append(n)

    for s in starts:
        visit(s, set())
    for n in nodes:
        visit(n, set())
    order.reverse()
    position = {n: i for i, n in enumerate(order)}
    for n in order:
        col.setdefault(n, 0)
        for t in succ.get(n, []) + [b for b, h in host_of.items() if h == n]:
            if position.get(t, 0) > position[n]:
                step = 0 if t in host_of else 1
                col[t] = max(col.get(t, 0), col[n] + step)
    # Slots: nodes sharing a lane and a column stack downwards.
    slot: dict[str, int] = {}
    used: dict[tuple[str, int], int] = defaultdict(int)
    boundary_targets = {t for b in host_of for t in succ.get(b, [])}
    # Ordinary successors take the first row; what a boundary event leads to goes below its task.
    for n in sorted(nodes, key=lambda i: (col.get(i, 0), i in boundary_targets, position.get(i, 0))):
        key = (lane_of.get(n, lane_ids[0]), col.get(n, 0))
        slot[n] = used[key]
        used[key] += 1
    rows = {lid: max([used[(l, c)] for (l, c) in used if l == lid] + [1]) for lid in lane_ids}
    lane_top, y = {}, TOP
    for lid in lane_ids:
        lane_top[lid] = y
        y += rows[lid] * ROW_H + 20
    width = LEFT + LANE_HEAD + (max(col.values(), default=0) + 1) * COL_W + 40
    bounds: dict[str, tuple[float, float, float, float]] = {}
    for n, node in nodes.items():
        w, h = SIZES[kind(node)]
        lid = lane_of.get(n, lane_ids[0])
        cx = LEFT + LANE_HEAD + 40 + col.get(n, 0) * COL_W + 55
        cy = lane_top[lid] + 10 + slot[n] * ROW_H + ROW_H / 2
        bounds[n] = (cx - w / 2, cy - h / 2, w, h)
    per_host: dict[str, int] = defaultdict(int)
    for b in boundaries:
        hx, hy, hw, hh = bounds[b.get("attachedToRef")]
        i = per_host[b.get("attachedToRef")]
        per_host[b.get("attachedToRef")] += 1
        bounds[b.get("id")] = (hx + hw - 30 - i * 40, hy + hh - 18, 36, 36)

    for old in root.findall("bpmndi:BPMNDiagram", NS):
        root.remove(old)
    collab = root.find("bpmn:collaboration", NS)
    if collab is None:
        collab = etree.Element(q("collaboration"), id=f"collaboration_{pid}")
        root.insert(list(root).index(process), collab)
    participant = collab.find("bpmn:participant", NS)
    if participant is None:
        participant = etree.SubElement(collab, q("participant"), id=f"participant_{pid}",
                                       name=process.get("name") or pid, processRef=pid)
    diagram = etree.SubElement(root, q("BPMNDiagram", BPMNDI), id=f"diagram_{pid}")
    plane = etree.SubElement(diagram, q("BPMNPlane", BPMNDI), id=f"plane_{pid}", bpmnElement=collab.get("id"))

    def shape(element_id: str, x: float, y: float, w: float, h: float, **attrs: str) -> etree._Element:
        s = etree.SubElement(plane, q("BPMNShape", BPMNDI), id=f"{element_id}_di", bpmnElement=element_id, **attrs)
        etree.SubElement(s, q("Bounds", DC), x=f"{x:.0f}", y=f"{y:.0f}", width=f"{w:.0f}", height=f"{h:.0f}")
        return s

    shape(participant.get("id"), LEFT, TOP, width - LEFT, y - TOP, isHorizontal="true")
    for lid in lane_ids:
        if lid != "_all":
            shape(lid, LEFT + LANE_HEAD, lane_top[lid], width - LEFT - LANE_HEAD, rows[lid] * ROW_H + 20,
                  isHorizontal="true")
    for element_id, (x, yy, w, h) in bounds.items():
        s = shape(element_id, x, yy, w, h)
        node = nodes.get(element_id)
        if node is None or kind(node) != "task":
            label = etree.SubElement(s, q("BPMNLabel", BPMNDI))
            etree.SubElement(label, q("Bounds", DC), x=f"{x - 30:.0f}", y=f"{yy + h + 4:.0f}", width=f"{w + 60:.0f}",
                             height="27")
    for f in flows:
        sx, sy, sw, sh = bounds[f.get("sourceRef")]
        tx, ty, tw, th = bounds[f.get("targetRef")]
        edge = etree.SubElement(plane, q("BPMNEdge", BPMNDI), id=f"{f.get('id')}_di", bpmnElement=f.get("id"))
        if f.get("sourceRef") in host_of:
            below = sy + sh + 18
            points = [(sx + sw / 2, sy + sh), (sx + sw / 2, below), (tx - 20, below), (tx - 20, ty + th / 2),
                      (tx, ty + th / 2)]
        elif tx > sx:
            start, end = (sx + sw, sy + sh / 2), (tx, ty + th / 2)
            mid = (start[0] + end[0]) / 2
            points = [start, (mid, start[1]), (mid, end[1]), end] if abs(start[1] - end[1]) > 1 else [start, end]
        else:  # a loop back: under both nodes
            low = max(sy + sh, ty + th) + 25
            points = [(sx + sw / 2, sy + sh), (sx + sw / 2, low), (tx + tw / 2, low), (tx + tw / 2, ty + th)]
        for px, py in points:
            etree.SubElement(edge, q("waypoint", DI), x=f"{px:.0f}", y=f"{py:.0f}")
    etree.indent(tree, space="  ")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        layout(Path(arg))
        print(f"laid out {arg}")
