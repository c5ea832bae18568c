"""Lint messages are read by working-group leads after the element's name ("Step “Record referral”: ..."): they
say what is wrong in the designer panel's words, not in BPMN's or Camunda's, and keep the element and line."""
from __future__ import annotations

import re

import pytest

from tests.workflows.engine.diagrams import ORG_TYPES, ROLES, xml
from workflows import engine
from workflows.engine import DiagramError

# What a lead never sees in the designer's Casebook panel.
JARGON = re.compile(r"candidateGroups|camunda:|bpmn:|sequence ?flow|gateway|\benum\b|dueDate|formField|"
                    r"task ?spec|constraint|outgoing", re.IGNORECASE)


def _problems(text: str, **kwargs) -> list[engine.Problem]:
    try:
        parsed = engine.lint(text, {}, ORG_TYPES, ROLES, **kwargs)
    except DiagramError as exc:
        return exc.problems
    return parsed.warnings


@pytest.mark.parametrize("mutate, kwargs, expected, element", [
    (lambda x: x.replace('camunda:candidateGroups="victim_services:manager"', 'camunda:candidateGroups="spaceforce"'),
     {}, "in Who does it, “spaceforce” is not an organisation type (use one of: council, police", "escalate"),
    (lambda x: x.replace("victim_services:manager", "victim_services:boss"), {},
     "in Who does it (“victim_services:boss”), “boss” is not a role", "escalate"),
    (lambda x: x.replace('type="date"', 'type="colour"'), {},
     ("the form field “Incident date” has the type “colour”, which Casebook does not know; use text (string), "
      "whole number (long), yes/no (boolean), date (date), choice (enum)"), "record"),
    (lambda x: x.replace('<camunda:value id="burglary" name="Burglary" />\n            '
                         '<camunda:value id="assault" name="Assault" />', ""), {},
     "the form field “Crime type” is a choice with no choices", "record"),
    (lambda x: x.replace('config="60"', 'config="sixty"'), {},
     "the form field “Victim name”: the longest answer (maxlength) must be a whole number, not “sixty”", "record"),
    (lambda x: x.replace("${consent == True}", "${consent ==}"), {},
     "the condition of the route to “Triage referral” is not valid", "f_yes"),
    (lambda x: x.replace('name="Victim Services"', 'name="Space Force"'), {},
     "nobody would get this step: Who does it is empty and its lane “Space Force” is not an organisation type",
     "triage"),
    (lambda x: x.replace("P2D", "P2D +"), {}, "the timer's time (a duration such as P2D", "late"),
    (lambda x: x.replace(' default="f_no"', "").replace(
        '<bpmn:sequenceFlow id="f_no" sourceRef="gw_consent" targetRef="end_declined" />',
        '<bpmn:sequenceFlow id="f_no" sourceRef="gw_consent" targetRef="end_declined"><bpmn:conditionExpression '
        'xsi:type="bpmn:tFormalExpression">${consent == False}</bpmn:conditionExpression></bpmn:sequenceFlow>'), {},
     "none of the routes out of this decision is the default", "gw_consent"),
    (lambda x: x.replace(' default="f_no"', ""), {},   # SpiffWorkflow's own message, put in plain words
     "this route out of a decision has no condition and is not the default route", "f_no"),
    (lambda x: x.replace('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P2D</bpmn:timeDuration>', ""), {},
     "the timer has no time", "late"),
])
def test_lint_speaks_plain_words_and_names_the_element(mutate, kwargs, expected, element):
    problems = _problems(mutate(xml("referral_test.bpmn")), **kwargs)
    problem = next(p for p in problems if p.element_id == element)
    assert problem.message.startswith(expected), problem.message
    assert not JARGON.search(problem.message.split("(use")[0].split("; use")[0]), problem.message
    assert problem.line and problem.line > 1


def test_an_unknown_operation_is_named_in_plain_words():
    text = xml("referral_test.bpmn").replace(
        '<bpmn:endEvent id="end_done" name="Triaged">',
        '<bpmn:serviceTask id="tell" name="Tell the victim" camunda:type="external" camunda:topic="telepathy">'
        '<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f3b</bpmn:outgoing></bpmn:serviceTask>'
        '<bpmn:sequenceFlow id="f3b" sourceRef="tell" targetRef="end_done" />'
        '<bpmn:endEvent id="end_done" name="Triaged">').replace(
        '<bpmn:incoming>f3</bpmn:incoming>\n    </bpmn:endEvent>', '<bpmn:incoming>f3b</bpmn:incoming>\n    </bpmn:endEvent>'
    ).replace('targetRef="end_done" />\n    <bpmn:sequenceFlow id="f4"', 'targetRef="tell" />\n    <bpmn:sequenceFlow id="f4"')
    (problem,) = _problems(text, operations={"notify", "record_fact"})
    assert (problem.element_id, problem.element_name) == ("tell", "Tell the victim")
    assert problem.message == "the operation “telepathy” does not exist; use one of: notify, record_fact"
