"""Reading and linting diagrams: forms, lanes and groups; problems name element and line; unsafe XML."""
from __future__ import annotations

import pytest

from tests.workflows.engine.diagrams import ORG_TYPES, ROLES, xml
from workflows import engine
from workflows.engine import DiagramError


def test_lint_reads_forms_lanes_and_groups():
    parsed = engine.lint(xml("referral_test.bpmn"), {}, ORG_TYPES, ROLES)
    assert parsed.key == "referral_test" and parsed.warnings == []
    wf = engine.start(xml("referral_test.bpmn"), parsed.key, {}, {})
    engine.run(wf)
    (task,) = engine.ready_user_tasks(wf)
    assert (task.bpmn_id, task.lane, task.title) == ("record", "Police", "Record referral")
    assert [f["id"] for f in task.fields] == ["victim_name", "risk_score", "crime_type", "consent", "incident_date"]
    assert task.fields[0]["validation"] == {"required": None, "maxlength": "60"}
    assert task.documentation.startswith("Police record")


@pytest.mark.parametrize("mutate, message, element", [
    (lambda x: x.replace('camunda:candidateGroups="victim_services:manager"',
                         'camunda:candidateGroups="spaceforce"'), "not an organisation type", "escalate"),
    (lambda x: x.replace('type="date"', 'type="colour"'), "Casebook does not know; use text (string)", "record"),
    (lambda x: x.replace("${consent == True}", "${consent ==}"), "condition of the route to “Triage referral”",
     "f_yes"),   # named on the route, where the lead fixes it
    (lambda x: x.replace('name="Victim Services"', 'name="Space Force"'), "lane “Space Force”", "triage"),
    (lambda x: x.replace('id="victim_name"', 'id="typename"'), "reserved", "record"),
    (lambda x: x.replace("P2D", "P2D +"), "timer", "late"),
    (lambda x: x.replace('targetRef="triage" />', 'targetRef="nowhere" />').replace(
        '<bpmn:sequenceFlow id="f3" sourceRef="triage" targetRef="end_done" />',
        '<bpmn:sequenceFlow id="f3" sourceRef="triage" targetRef="nowhere" />'), "", None),
])
def test_lint_errors_name_element_and_line(mutate, message, element):
    with pytest.raises(DiagramError) as info:
        engine.lint(mutate(xml("referral_test.bpmn")), {}, ORG_TYPES, ROLES)
    problem = info.value.problems[0]
    assert message in problem.message
    if element:
        assert problem.element_id == element and problem.line and problem.line > 1


@pytest.mark.parametrize("text, message", [
    ("<not-closed>", "not well-formed"),
    ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
     '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&xxe;</bpmn:definitions>', ""),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
     '<lolz>&lol2;</lolz>', ""),
    ("<svg xmlns='http://www.w3.org/2000/svg'/>", "not a BPMN"),
])
def test_unsafe_or_broken_xml_is_refused(text, message):
    with pytest.raises(DiagramError) as info:
        engine.lint(text, {}, ORG_TYPES, ROLES)
    assert message in str(info.value)
    assert "root:" not in str(info.value)  # nothing from /etc/passwd was read


def test_duplicate_ids_are_named():
    text = xml("referral_test.bpmn").replace('camunda:value id="burglary"', 'camunda:value id="triage"')
    with pytest.raises(DiagramError, match="also the id of Triage referral") as info:
        engine.lint(text, {}, ORG_TYPES, ROLES)
    assert info.value.problems[0].element_id == "triage" and info.value.problems[0].line


def test_no_executable_process():
    text = xml("one_step.bpmn").replace('isExecutable="true"', 'isExecutable="false"')
    with pytest.raises(DiagramError, match="no executable process") as info:
        engine.lint(text, {}, ORG_TYPES, ROLES)
    assert info.value.problems[0].element_id == "one_step"
