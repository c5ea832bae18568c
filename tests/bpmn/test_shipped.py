"""Every shipped diagram lints clean and has diagram interchange for every flow node (it renders)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from models.enums import OrgType, Role
from workflows import engine
from workflows.operations import OPERATIONS

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
DIAGRAMS = sorted(BPMN.glob("*.bpmn"))
NS = {"bpmn": engine.BPMN_NS, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "userTask", "scriptTask", "serviceTask", "task", "manualTask", "callActivity", "subProcess",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "sequenceFlow")


def _all_xml() -> dict[str, str]:
    return {p.stem: p.read_text() for p in DIAGRAMS}


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.stem for p in DIAGRAMS])
def test_lints_clean(path):
    parsed = engine.lint(path.read_text(), _all_xml(), {t.value for t in OrgType}, {r.value for r in Role},
                         set(OPERATIONS))
    assert parsed.key == path.stem
    assert parsed.warnings == [], [str(w) for w in parsed.warnings]


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.stem for p in DIAGRAMS])
def test_has_diagram_interchange_for_every_element(path):
    root = etree.fromstring(path.read_bytes())
    drawn = set(root.xpath("//bpmndi:BPMNShape/@bpmnElement | //bpmndi:BPMNEdge/@bpmnElement", namespaces=NS))
    for tag in FLOW_NODES:
        for node in root.xpath(f"//bpmn:process//bpmn:{tag}", namespaces=NS):
            assert node.get("id") in drawn, f"{path.name}: {tag} {node.get('id')} has no shape"
    for lane in root.xpath("//bpmn:lane", namespaces=NS):
        assert lane.get("id") in drawn, f"{path.name}: lane {lane.get('name')} is not drawn"


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.stem for p in DIAGRAMS])
def test_every_task_says_what_it_is_for(path):
    root = etree.fromstring(path.read_bytes())
    for node in root.xpath("//bpmn:userTask | //bpmn:serviceTask | //bpmn:scriptTask", namespaces=NS):
        doc = node.find("bpmn:documentation", NS)
        assert doc is not None and (doc.text or "").strip(), f"{path.name}: {node.get('id')} has no documentation"
