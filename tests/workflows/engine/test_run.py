"""Running diagrams: routes, timers on the engine clock, working days, errors naming the element, the step
budget, serialisation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.workflows.engine.diagrams import run_to_first, xml
from workflows import engine


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


def test_step_budget():
    loop = xml("script_task.bpmn").replace("PAYLOAD", "n = 1")
    wf = engine.start(loop, "script_task", {}, {})
    with pytest.raises(engine.EngineError, match="automatic steps"):
        engine.run(wf, max_steps=1)


def test_serialization_round_trip_keeps_the_spec():
    wf = run_to_first(xml("one_step.bpmn"))
    again = engine.loads(engine.dumps(wf))
    assert [t.bpmn_id for t in engine.ready_user_tasks(again)] == ["step"]


def _choice_diagram(options: str) -> str:
    """The shipped share_request diagram with its `cases` choices read from `options`."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "bpmn" / "share_request.bpmn").read_text()
    return text.replace('value="${shareable_cases}"', f'value="{options}"')


@pytest.mark.parametrize("data,expected", [
    ([["7", "CB-1 — Victim support"], ["9", "CB-2 — ASB"]], [["7", "CB-1 — Victim support"], ["9", "CB-2 — ASB"]]),
    ([{"id": 7, "label": "Seven"}, {"id": "", "label": "no id"}], [["7", "Seven"]]),
    (["a", 3, True, None], [["a", "a"], ["3", "3"]]),
    ("not a list", []),
    (None, []),
])
def test_an_enum_offers_the_choices_its_options_property_reads_from_the_process_data(data, expected):
    wf = run_to_first(_choice_diagram("${choices}"), {"choices": data, "holder_group": "organisation:x:manager"})
    (task,) = engine.ready_user_tasks(wf)
    cases = next(f for f in task.fields if f["id"] == "cases")
    assert cases["options"] == expected


def test_an_options_expression_that_does_not_parse_is_named_by_lint():
    from tests.workflows.engine.diagrams import ORG_TYPES, ROLES

    with pytest.raises(engine.DiagramError) as refused:
        engine.lint(_choice_diagram("${choices +}"), {}, ORG_TYPES, ROLES)
    assert "form field “Cases to share (when sharing)”: the choices read from the process data (options)" \
        in str(refused.value) and "'decide_share'" in str(refused.value)
