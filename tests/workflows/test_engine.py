"""The engine wrapper: lint messages, running, timers, the sandbox, the budget."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from workflows import engine
from workflows.engine import DiagramError

DATA = Path(__file__).resolve().parents[1] / "data"
ORG_TYPES = {"police", "victim_services", "rj_service", "council"}
ROLES = {"practitioner", "manager", "lead"}


def xml(name: str) -> str:
    return (DATA / name).read_text()


def with_script(payload: str) -> str:
    return xml("script_task.bpmn").replace("PAYLOAD", escape(payload))


def run_to_first(text: str, data: dict | None = None):
    parsed = engine.lint(text, {}, ORG_TYPES, ROLES)
    wf = engine.start(text, parsed.key, {}, data or {})
    engine.run(wf)
    return wf


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


def test_route_on_answer_and_camunda_condition():
    wf = run_to_first(xml("referral_test.bpmn"))
    (task,) = engine.ready_user_tasks(wf)
    engine.complete(wf, task.id, {"victim_name": "A", "consent": False, "risk_score": 0, "crime_type": None,
                                  "incident_date": None})
    engine.run(wf)
    assert engine.is_completed(wf) and engine.ready_user_tasks(wf) == []


def test_bare_iso_timer_is_calendar_time_and_fires_on_the_clock():
    wf = run_to_first(xml("referral_test.bpmn"))
    (task,) = engine.ready_user_tasks(wf)
    engine.complete(wf, task.id, {"victim_name": "A", "consent": True})
    engine.run(wf)
    (triage,) = engine.ready_user_tasks(wf)
    due = engine.next_timer_at(wf)
    assert triage.due_at == due
    assert timedelta(hours=47, minutes=59) < due - datetime.now(timezone.utc) <= timedelta(hours=48)
    wf = engine.loads(engine.dumps(wf))
    with engine.clock(due - timedelta(seconds=1)):
        engine.run(wf)
    assert [t.bpmn_id for t in engine.ready_user_tasks(wf)] == ["triage"]
    with engine.clock(due + timedelta(seconds=1)):
        engine.run(wf)
    assert [(t.bpmn_id, t.candidate_groups) for t in engine.ready_user_tasks(wf)] == \
        [("escalate", ["victim_services:manager"])]
    assert engine.task_state(wf, triage.id) == "cancelled"


def test_working_day_timer():
    wf = run_to_first(xml("working_days.bpmn"), {"referred_on": "2026-12-24"})
    (task,) = engine.ready_user_tasks(wf)
    # 25th and 28th are bank holidays, 26th-27th the weekend: two working days is 30 December.
    assert task.due_at == datetime(2026, 12, 30, 17, 0, tzinfo=timezone.utc)


def test_runtime_error_names_the_element():
    wf = run_to_first(xml("runtime_error.bpmn"))
    (task,) = engine.ready_user_tasks(wf)
    engine.complete(wf, task.id, {"answer": "x"})
    with pytest.raises(engine.EngineError, match="gw"):
        engine.run(wf)


@pytest.mark.parametrize("name, payload", [
    ("import os", "import os\nout = os.popen('id -un').read()"),
    ("__import__", "out = __import__('os').system('touch /tmp/casebook-pwned')"),
    ("open file", "out = open('/etc/hostname').read()"),
    ("subclass escape", "w = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()\n"
                        "out = w._module.__builtins__['__import__']('os').popen('id').read()"),
    ("getattr string", "out = getattr(1, '__class__')"),
    ("format escape", "out = '{0.__class__}'.format(1)"),
    ("type walk", "out = type(1).mro()"),
    ("globals", "out = globals()"),
    ("eval", "out = eval('1+1')"),
    ("exec", "exec('x = 1')"),
])
def test_sandbox_blocks_attacks(name, payload, tmp_path):
    """Does every attack from the guide §6 fail both at deploy and at run time?"""
    text = with_script(payload)
    with pytest.raises(DiagramError):
        engine.lint(text, {}, ORG_TYPES, ROLES)
    wf = engine.start(text, "script_task", {}, {})  # even if lint were bypassed
    with pytest.raises(engine.EngineError):
        engine.run(wf)
    assert not Path("/tmp/casebook-pwned").exists()


@pytest.mark.parametrize("payload", ["while True:\n    pass", "x = 0\nwhile x >= 0:\n    x += 1",
                                     "out = 'a' * (10 ** 9)", "out = 2 ** (10 ** 8)", "out = 1 << 10 ** 9",
                                     "out = sum(range(10 ** 12))", "out = [1] * 10 ** 9"])
def test_budget_stops_runaway_scripts(payload):
    """A loop or a huge allocation puts the run in error instead of hanging the request."""
    text = with_script(payload)
    engine.lint(text, {}, ORG_TYPES, ROLES)
    wf = engine.start(text, "script_task", {}, {})
    started = datetime.now()
    with pytest.raises(engine.EngineError, match="stopped|limit|exponent|shift"):
        engine.run(wf)
    assert datetime.now() - started < timedelta(seconds=10)


def test_normal_scripts_work():
    text = with_script("total = sum([1, 2, 3])\nneeds = sorted(['b', 'a'])\nwhen = add_working_days('2026-11-26', 2)\n"
                       "msg = 'Case has %d needs' % len(needs)\nsquare = 3 ** 2\nrepeat = 'ab' * 2")
    wf = run_to_first(text)
    data = engine.ready_user_tasks(wf) and wf.get_tasks()[-1].data
    (task,) = engine.ready_user_tasks(wf)
    data = wf.get_task_from_id(__import__("uuid").UUID(task.id)).data
    assert data["total"] == 6 and data["needs"] == ["a", "b"] and data["when"] == "2026-11-30T17:00:00+00:00"
    assert data["square"] == 9 and data["repeat"] == "abab" and data["msg"] == "Case has 2 needs"


def test_step_budget():
    loop = xml("script_task.bpmn").replace("PAYLOAD", "n = 1")
    wf = engine.start(loop, "script_task", {}, {})
    with pytest.raises(engine.EngineError, match="automatic steps"):
        engine.run(wf, max_steps=1)


@pytest.mark.parametrize("mutate, message, element", [
    (lambda x: x.replace('camunda:candidateGroups="victim_services:manager"',
                         'camunda:candidateGroups="spaceforce"'), "not an organisation type", "escalate"),
    (lambda x: x.replace('type="date"', 'type="colour"'), "supported: string", "record"),
    (lambda x: x.replace("${consent == True}", "${consent ==}"), "condition", "gw_consent"),
    (lambda x: x.replace('name="Victim Services"', 'name="Space Force"'), "lane 'Space Force'", "triage"),
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


def test_serialization_round_trip_keeps_the_spec():
    wf = run_to_first(xml("one_step.bpmn"))
    again = engine.loads(engine.dumps(wf))
    assert [t.bpmn_id for t in engine.ready_user_tasks(again)] == ["step"]
