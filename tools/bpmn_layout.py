"""Development-time tool: (re)generate a diagram's interchange (DI) with a pool and one band per lane.

    python tools/bpmn_layout.py bpmn/victim_referral.bpmn        # rewrites the file in place

Write the process (flow nodes, sequence flows, lanes with flowNodeRefs) by hand or in a modeler;
this places every node in columns by flow order and rows by lane, draws the lanes, attaches
boundary events to their task and routes the flows orthogonally. An expanded (embedded) sub-process is
laid out on its own and drawn as wide and tall as its contents, in its lane. Run it after editing the process
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


def children(container):
    nodes = {n.get("id"): n for n in container if etree.QName(n).localname in FLOW_TAGS}
    boundaries = [n for n in container if etree.QName(n).localname == "boundaryEvent"]
    flows = [f for f in container if etree.QName(f).localname == "sequenceFlow"]
    return nodes, boundaries, flows


def columns(nodes, boundaries, flows):
    succ = defaultdict(list)
    for f in flows:
        succ[f.get("sourceRef")].append(f.get("targetRef"))
    host_of = {b.get("id"): b.get("attachedToRef") for b in boundaries}
    starts = [i for i, n in nodes.items() if etree.QName(n).localname == "startEvent"] or list(nodes)[:1]
    order, seen = [], set()

    def visit(n, stack):
        if n in seen:
            return
        seen.add(n)
        stack.add(n)
        for t in succ.get(n, []) + [b for b, h in host_of.items() if h == n]:
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
    col = {}
    for n in order:
        col.setdefault(n, 0)
        for t in succ.get(n, []) + [b for b, h in host_of.items() if h == n]:
            if position.get(t, 0) > position[n]:
                step = 0 if t in host_of else 1
                col[t] = max(col.get(t, 0), col[n] + step)
    return col, position, host_of, succ


def size(node, inner):
    if etree.QName(node).localname == "subProcess":
        return inner[node.get("id")]["size"]
    return SIZES[kind(node)]


def layout_sub(sub):
    """Relative bounds of a sub-process's contents, and its size."""
    nodes, boundaries, flows = children(sub)
    col, position, host_of, succ = columns(nodes, boundaries, flows)
    slot, used = {}, defaultdict(int)
    boundary_targets = {t for b in host_of for t in succ.get(b, [])}
    # a side branch (the target of a condition next to a default flow) goes below the main line
    side = {f.get("targetRef") for f in flows if f.find("bpmn:conditionExpression", NS) is not None}
    for n in sorted(nodes, key=lambda i: (col.get(i, 0), i in boundary_targets, position.get(i, 0))):
        if n in side and used[col.get(n, 0)] == 0:
            used[col.get(n, 0)] = 1
        slot[n] = used[col.get(n, 0)]
        used[col.get(n, 0)] += 1
    rows = max(used.values(), default=1)
    ncols = max(col.values(), default=0) + 1
    bounds = {}
    for n, node in nodes.items():
        w, h = SIZES[kind(node)]
        cx = 30 + col.get(n, 0) * COL_W + 55
        cy = 20 + slot[n] * ROW_H + ROW_H / 2
        bounds[n] = (cx - w / 2, cy - h / 2, w, h)
    return {"bounds": bounds, "size": (ncols * COL_W + 40, rows * ROW_H + 40), "boundaries": boundaries,
            "flows": flows, "host_of": host_of}


def layout(path: Path) -> None:
    tree = etree.parse(str(path), etree.XMLParser(remove_blank_text=True, resolve_entities=False))
    root = tree.getroot()
    process = root.find("bpmn:process", NS)
    pid = process.get("id")
    nodes, boundaries, flows = children(process)
    inner = {n: layout_sub(node) for n, node in nodes.items() if etree.QName(node).localname == "subProcess"}
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    lane_of = {ref.text.strip(): lane.get("id") for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)}
    lane_ids = [lane.get("id") for lane in lanes] or ["_all"]
    col, position, host_of, succ = columns(nodes, boundaries, flows)
    slot, used = {}, defaultdict(int)
    boundary_targets = {t for b in host_of for t in succ.get(b, [])}
    for n in sorted(nodes, key=lambda i: (col.get(i, 0), i in boundary_targets, position.get(i, 0))):
        key = (lane_of.get(n, lane_ids[0]), col.get(n, 0))
        slot[n] = used[key]
        used[key] += 1
    ncols = max(col.values(), default=0) + 1
    col_w = [COL_W] * ncols
    for n in inner:
        col_w[col[n]] = max(col_w[col[n]], inner[n]["size"][0] + 60)
    col_x = [0] * ncols
    for i in range(1, ncols):
        col_x[i] = col_x[i - 1] + col_w[i - 1]
    # slot heights per lane: a slot holding a sub-process is as tall as it
    slot_h = defaultdict(lambda: ROW_H)
    for n in inner:
        key = (lane_of.get(n, lane_ids[0]), slot[n])
        slot_h[key] = max(slot_h[key], inner[n]["size"][1] + 40)
    rows = {lid: max([used[(l, c)] for (l, c) in used if l == lid] + [1]) for lid in lane_ids}
    slot_top, lane_top, lane_h, y = {}, {}, {}, TOP
    for lid in lane_ids:
        lane_top[lid] = y
        yy = y + 10
        for s in range(rows[lid]):
            slot_top[(lid, s)] = yy
            yy += slot_h[(lid, s)]
        lane_h[lid] = yy - y + 10
        y += lane_h[lid]
    width = LEFT + LANE_HEAD + sum(col_w) + 40 + 40
    bounds = {}
    for n, node in nodes.items():
        w, h = size(node, inner)
        lid = lane_of.get(n, lane_ids[0])
        x0 = LEFT + LANE_HEAD + 40 + col_x[col.get(n, 0)]
        top = slot_top[(lid, slot[n])]
        if n in inner:
            bounds[n] = (x0 + 20, top + 20, w, h)
        else:
            cx = x0 + col_w[col.get(n, 0)] / 2 if col_w[col.get(n, 0)] != COL_W else x0 + 55
            cy = top + ROW_H / 2
            bounds[n] = (cx - w / 2, cy - h / 2, w, h)
    for n, info in inner.items():
        sx, sy = bounds[n][0], bounds[n][1]
        for m, (x, yy, w, h) in info["bounds"].items():
            bounds[m] = (sx + x, sy + yy, w, h)
    all_boundaries = list(boundaries) + [b for info in inner.values() for b in info["boundaries"]]
    all_hosts = dict(host_of)
    for info in inner.values():
        all_hosts.update(info["host_of"])
    per_host = defaultdict(int)
    for b in all_boundaries:
        hx, hy, hw, hh = bounds[b.get("attachedToRef")]
        i = per_host[b.get("attachedToRef")]
        per_host[b.get("attachedToRef")] += 1
        bounds[b.get("id")] = (hx + hw - 30 - i * 40, hy + hh - 18, 36, 36)

    for old in root.findall("bpmndi:BPMNDiagram", NS):
        root.remove(old)
    collab = root.find("bpmn:collaboration", NS)
    participant = collab.find("bpmn:participant", NS)
    diagram = etree.SubElement(root, q("BPMNDiagram", BPMNDI), id=f"diagram_{pid}")
    plane = etree.SubElement(diagram, q("BPMNPlane", BPMNDI), id=f"plane_{pid}", bpmnElement=collab.get("id"))

    def shape(element_id, x, y_, w, h, **attrs):
        s = etree.SubElement(plane, q("BPMNShape", BPMNDI), id=f"{element_id}_di", bpmnElement=element_id, **attrs)
        etree.SubElement(s, q("Bounds", DC), x=f"{x:.0f}", y=f"{y_:.0f}", width=f"{w:.0f}", height=f"{h:.0f}")
        return s

    shape(participant.get("id"), LEFT, TOP, width - LEFT, y - TOP, isHorizontal="true")
    for lid in lane_ids:
        if lid != "_all":
            shape(lid, LEFT + LANE_HEAD, lane_top[lid], width - LEFT - LANE_HEAD, lane_h[lid], isHorizontal="true")
    all_nodes = dict(nodes)
    for n in inner:
        all_nodes.update(children(nodes[n])[0])
    # the sub-process first, so its contents are drawn on top of it
    order = [n for n in bounds if n in inner] + [n for n in bounds if n not in inner]
    for element_id in order:
        x, yy, w, h = bounds[element_id]
        node = all_nodes.get(element_id)
        extra = {"isExpanded": "true"} if element_id in inner else {}
        s = shape(element_id, x, yy, w, h, **extra)
        if node is None or kind(node) != "task":
            label = etree.SubElement(s, q("BPMNLabel", BPMNDI))
            etree.SubElement(label, q("Bounds", DC), x=f"{x - 30:.0f}", y=f"{yy + h + 4:.0f}", width=f"{w + 60:.0f}",
                             height="27")
    all_flows = list(flows) + [f for info in inner.values() for f in info["flows"]]
    for f in all_flows:
        sx, sy, sw, sh = bounds[f.get("sourceRef")]
        tx, ty, tw, th = bounds[f.get("targetRef")]
        edge = etree.SubElement(plane, q("BPMNEdge", BPMNDI), id=f"{f.get('id')}_di", bpmnElement=f.get("id"))
        if f.get("sourceRef") in all_hosts:
            below = sy + sh + 18
            points = [(sx + sw / 2, sy + sh), (sx + sw / 2, below), (tx - 20, below), (tx - 20, ty + th / 2),
                      (tx, ty + th / 2)]
        elif tx > sx:
            start, end = (sx + sw, sy + sh / 2), (tx, ty + th / 2)
            mid = (start[0] + end[0]) / 2
            points = [start, (mid, start[1]), (mid, end[1]), end] if abs(start[1] - end[1]) > 1 else [start, end]
        else:
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
