"""A readable diff between two process versions (workflows/versions.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from casework.errors import NotFound
from workflows import processes, versions
from workflows.engine import DiagramError

DATA = Path(__file__).resolve().parents[1] / "data"
V1 = (DATA / "referral_test.bpmn").read_text()


def edit(text: str, *pairs: tuple[str, str]) -> str:
    """Replace each old text (which must be there) with the new one."""
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


def texts(entries) -> list[str]:
    return [e.text for e in entries]


def test_identical_and_layout_only_are_empty():
    assert versions.diff_xml(V1, V1).is_empty
    moved = edit(V1, ('<dc:Bounds x="175" y="30"', '<dc:Bounds x="190" y="40"'))
    diff = versions.diff_xml(V1, moved)
    assert diff.is_empty and diff.lines() == [] and diff.entries == []


def test_step_added_and_removed():
    """Replacing `escalate` with a new step is a removal plus an addition (ids align versions)."""
    v2 = edit(V1, ('<bpmn:userTask id="escalate" name="Escalate late triage"',
                   '<bpmn:userTask id="notify" name="Notify police"'),
              ("<bpmn:flowNodeRef>escalate</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>notify</bpmn:flowNodeRef>"),
              ('targetRef="escalate"', 'targetRef="notify"'), ('sourceRef="escalate"', 'sourceRef="notify"'),
              ('bpmnElement="escalate"', 'bpmnElement="notify"'))
    diff = versions.diff_xml(V1, v2)
    assert texts(diff.added) == ["'notify' (Notify police): user task added"]
    assert texts(diff.removed) == ["'escalate' (Escalate late triage): user task removed"]
    assert [(e.element_id, e.change, e.before, e.after) for e in diff.flows] == [
        ("f4", "flow re-routed", "late → escalate", "late → notify"),
        ("f5", "flow re-routed", "escalate → end_escalated", "notify → end_escalated")]
    assert diff.changed == [] and diff.fields == [] and not diff.is_empty


def test_form_fields_added_removed_relabelled():
    v2 = edit(V1, ('<camunda:formField id="needs" label="Needs" type="enum">',
                   '<camunda:formField id="urgent" label="Urgent?" type="boolean" />'
                   '<camunda:formField id="needs" label="Support needs" type="enum">'),
              ('<camunda:formField id="notes" label="Notes" type="string">\n'
               '            <camunda:properties>\n'
               '              <camunda:property id="multiline" value="true" />\n'
               '            </camunda:properties>\n'
               '          </camunda:formField>', ''),
              ('<camunda:constraint name="maxlength" config="60" />', '<camunda:constraint name="maxlength" config="80" />'),
              ('<camunda:value id="assault" name="Assault" />', ''),
              ('id="incident_date" label="Incident date" type="date"', 'id="incident_date" label="Incident date" type="string"'))
    diff = versions.diff_xml(V1, v2)
    by_change = {(e.element_id, e.change): (e.before, e.after) for e in diff.fields}
    assert by_change == {
        ("triage", "form field 'urgent' added"): (None, "Urgent? (boolean)"),
        ("triage", "form field 'notes' removed"): ("Notes (string)", None),
        ("triage", "form field 'needs' relabelled"): ("Needs", "Support needs"),
        ("record", "form field 'victim_name' constraints changed"): ("maxlength=60, required", "maxlength=80, required"),
        ("record", "form field 'crime_type' options changed"): ("burglary=Burglary, assault=Assault",
                                                                "burglary=Burglary"),
        ("record", "form field 'incident_date' type changed"): ("date", "string"),
    }
    assert "'triage' (Triage referral): form field 'needs' relabelled: 'Needs' → 'Support needs'" in diff.lines()
    assert diff.added == diff.removed == diff.changed == diff.conditions == []


def test_condition_timer_candidate_group_and_lane():
    v2 = edit(V1, ("${consent == True}", "${consent == True and risk_score &gt; 5}"),
              ("P2D", "P3D"),
              ('camunda:candidateGroups="victim_services:manager"', 'camunda:candidateGroups="victim_services:lead"'),
              ('<bpmn:lane id="lane_vs" name="Victim Services">', '<bpmn:lane id="lane_vs" name="Victim Support">'),
              ('<bpmn:userTask id="record" name="Record referral">', '<bpmn:userTask id="record" name="Record the referral">'))
    diff = versions.diff_xml(V1, v2)
    assert texts(diff.conditions) == [
        "'f_yes' (Consent? → Triage referral): condition changed: '${consent == True}' → "
        "'${consent == True and risk_score > 5}'"]
    assert [(e.element_id, e.element_name, e.change, e.before, e.after) for e in diff.timers] == [
        ("late", "2 days elapsed", "timer changed", "timeDuration P2D", "timeDuration P3D")]
    assert [(e.element_id, e.change, e.before, e.after) for e in diff.changed] == [
        ("record", "name changed", "Record referral", "Record the referral"),
        ("escalate", "candidate groups changed", "victim_services:manager", "victim_services:lead")]
    assert [(e.element_id, e.change, e.before, e.after) for e in diff.lanes] == [
        ("lane_vs", "lane renamed", "Victim Services", "Victim Support")]
    assert diff.added == diff.removed == diff.fields == diff.flows == []


def test_condition_added_and_removed_type_and_documentation_changed():
    v2 = edit(V1, ('<bpmn:sequenceFlow id="f_no" sourceRef="gw_consent" targetRef="end_declined" />',
                   '<bpmn:sequenceFlow id="f_no" sourceRef="gw_consent" targetRef="end_declined">'
                   '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${not consent}'
                   '</bpmn:conditionExpression></bpmn:sequenceFlow>'),
              ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${consent == True}</bpmn:conditionExpression>', ''),
              ("<bpmn:documentation>Police record the victim's details and consent.</bpmn:documentation>", ''),
              ('<bpmn:exclusiveGateway id="gw_consent" name="Consent?" default="f_no">',
               '<bpmn:inclusiveGateway id="gw_consent" name="Consent?" default="f_no">'),
              ('</bpmn:exclusiveGateway>', '</bpmn:inclusiveGateway>'))
    diff = versions.diff_xml(V1, v2)
    assert [(e.element_id, e.change) for e in diff.conditions] == [("f_yes", "condition removed"),
                                                                   ("f_no", "condition added")]
    assert [(e.element_id, e.change, e.before, e.after) for e in diff.changed] == [
        ("record", "documentation changed", "Police record the victim's details and consent.", None),
        ("gw_consent", "type changed", "exclusive gateway", "inclusive gateway")]


def test_task_moved_to_another_lane():
    v2 = edit(V1, ("<bpmn:flowNodeRef>record</bpmn:flowNodeRef>", ""),
              ("<bpmn:flowNodeRef>triage</bpmn:flowNodeRef>",
               "<bpmn:flowNodeRef>triage</bpmn:flowNodeRef><bpmn:flowNodeRef>record</bpmn:flowNodeRef>"))
    (entry,) = versions.diff_xml(V1, v2).entries
    assert (entry.element_id, entry.change, entry.before, entry.after) == (
        "record", "moved to another lane", "Police", "Victim Services")


def test_unreadable_xml_is_a_diagram_error():
    with pytest.raises(DiagramError):
        versions.diff_xml(V1, '<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>')


def test_diff_versions_loads_deployed_rows(ctx):
    processes.deploy(V1)
    processes.deploy(edit(V1, ("P2D", "P5D")))
    diff = versions.diff_versions("referral_test", 1, 2)
    assert texts(diff.entries) == ["'late' (2 days elapsed): timer changed: 'timeDuration P2D' → 'timeDuration P5D'"]
    assert versions.diff_versions("referral_test", 2, 2).is_empty
    as_json = diff.as_dict()
    assert as_json["timers"][0]["after"] == "timeDuration P5D" and as_json["added"] == []
    with pytest.raises(NotFound):
        versions.diff_versions("referral_test", 1, 3)
