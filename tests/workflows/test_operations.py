"""Service-task operations: facts, risk level, partner organisations, starting processes, closing."""
from __future__ import annotations

from sqlalchemy import select

from models import Case, CaseFact, CaseNote, WorkflowInstance, db
from tests.factories import make_org


def _run(api, deploy_one_step: bool):
    make_org("rj", "rj_service", "RJ Service")
    db.session.commit()
    assert api["lead"].deploy("operations.bpmn").status_code == 201
    if deploy_one_step:
        assert api["lead"].deploy("one_step.bpmn").status_code == 201
    case_id = api["pc"].post("/cases", json={"case_type": "hate_crime", "title": "ops"}).json["id"]
    api["pc"].post(f"/cases/{case_id}/processes", json={"key": "operations"})
    (decide,) = api["pc"].get(f"/tasks?case={case_id}").json
    done = api["pc"].post(f"/tasks/{decide['id']}/complete",
                          json={"data": {"outcome": "support_plan", "due_on": "2026-11-26"}})
    assert done.status_code == 200, done.json
    return case_id, done.json


def test_operations_run_in_order(api):
    case_id, done = _run(api, deploy_one_step=True)
    fact = db.session.scalar(select(CaseFact).where(CaseFact.case_id == case_id))
    assert (fact.kind, fact.code, fact.status, fact.label) == ("referral", "victim_services", "support_plan",
                                                             "Referral to victim services")
    assert fact.owner_organisation.code == "notts_police" and fact.completed_at is not None
    assert fact.due_at.isoformat() == "2026-11-30T17:00:00+00:00" and fact.details == {"note": "recorded by the diagram"}
    case = db.session.get(Case, case_id)
    db.session.refresh(case)
    assert case.risk_level.value == "high"
    assert [o.organisation.code for o in case.organisations] == ["rj"]
    keys = sorted(i.definition.key for i in db.session.scalars(
        select(WorkflowInstance).where(WorkflowInstance.case_id == case_id)))
    assert keys == ["one_step", "operations"]
    rj_step = [t for t in done["next"] if t["bpmn_id"] == "rj_step"]
    assert rj_step and rj_step[0]["organisation"] == "rj"


def test_start_process_not_deployed_is_noted_and_goes_on(api):
    case_id, done = _run(api, deploy_one_step=False)
    notes = db.session.scalars(select(CaseNote.body).where(CaseNote.case_id == case_id)).all()
    assert any("one_step" in n and "not deployed" in n for n in notes), notes
    assert any(t["bpmn_id"] == "rj_step" for t in done["next"])


def test_unknown_operation_is_refused_at_deploy(api):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "data" / "operations.bpmn").read_text()
    bad = api["lead"].deploy(text.replace('camunda:topic="close_case"', 'camunda:topic="send_email"'))
    assert bad.status_code == 422
    (problem,) = bad.json["errors"]
    assert problem["element_id"] == "close" and "send_email" in problem["message"]
