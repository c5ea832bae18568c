"""Case types start their processes; a mapped process that is not deployed is skipped and noted."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select

from models import AuditEvent, CaseNote, CaseTypeProcess, WorkflowInstance, db
from models.facts import DEFAULT_CASE_TYPE_PROCESSES
from tests.factories import make_case, make_org, make_user
from workflows import processes, tasks

DATA = Path(__file__).resolve().parents[1] / "data"


def test_defaults_are_reference_data(ctx):
    rows = {(r.case_type_code, r.process_key) for r in db.session.scalars(select(CaseTypeProcess))}
    assert rows == set(DEFAULT_CASE_TYPE_PROCESSES)
    # One entry: victim_referral starts victims_code with the report's facts, so only it is mapped.
    assert ("victim_support", "victim_referral") in rows and ("victim_support", "victims_code") not in rows


def test_opening_a_case_starts_mapped_processes(api, ctx):
    db.session.add(CaseTypeProcess(case_type_code="hate_crime", process_key="one_step", position=0))
    db.session.add(CaseTypeProcess(case_type_code="hate_crime", process_key="not_there", position=1))
    db.session.commit()
    assert api["lead"].deploy("one_step.bpmn").status_code == 201
    response = api["pc"].post("/cases", json={"case_type": "hate_crime", "title": "Racist graffiti"})
    assert response.status_code == 201
    assert any("not_there" in w and "not deployed" in w for w in response.json["warnings"])
    case_id = response.json["id"]
    keys = [i.definition.key for i in db.session.scalars(select(WorkflowInstance)
                                                         .where(WorkflowInstance.case_id == case_id))]
    assert keys == ["one_step"]
    note = db.session.scalar(select(CaseNote).where(CaseNote.case_id == case_id))
    assert "not_there" in note.body
    assert [t["bpmn_id"] for t in api["pc"].get(f"/tasks?case={case_id}").json] == ["step"]


def test_console_open_flashes_skipped_process(client, login, ctx):
    org = make_org("police_a", "police")
    user = make_user(org, email="pc@a.example.org")
    login(user.email)
    response = client.post("/admin/cases/new/", data={"case_type": "victim_support", "title": "x",
                                                      "risk_level": "standard", "lead_organisation": str(org.id)},
                           follow_redirects=True)
    assert "is not deployed, so it was not started" in response.get_data(as_text=True)


def _unmapped(code: str = "hmo") -> None:
    """A case type with no process of its own (the defaults map every type), for these tests to map."""
    db.session.execute(delete(CaseTypeProcess).where(CaseTypeProcess.case_type_code == code))
    db.session.commit()


def test_leads_edit_the_mapping_practitioners_cannot(client, login, ctx):
    _unmapped()
    org = make_org("vs", "victim_services")
    lead = make_user(org, "lead", email="lead@vs.example.org")
    pc = make_user(org, "practitioner", email="pc@vs.example.org")
    processes.deploy((DATA / "one_step.bpmn").read_text(), lead)
    db.session.commit()
    login(lead.email)
    assert client.get("/admin/case_type_processes/").status_code == 200
    created = client.post("/admin/case_type_processes/new/", data={"case_type": "hmo", "process_key": "one_step",
                                                                   "position": "0"})
    assert created.status_code == 302
    row = db.session.scalar(select(CaseTypeProcess).where(CaseTypeProcess.case_type_code == "hmo"))
    assert row is not None and row.approval == "pending"
    login(pc.email)
    assert client.get("/admin/case_type_processes/").status_code == 404


def test_a_new_mapping_starts_processes_once_another_organisations_lead_approves(client, login, ctx):
    _unmapped()
    org = make_org("vs", "victim_services")
    lead = make_user(org, "lead", "practitioner", email="lead@vs.example.org")
    colleague = make_user(org, "lead", email="lead2@vs.example.org")
    police = make_org("police_a", "police")
    police_lead = make_user(police, "lead", email="lead@police-a.example.org")
    processes.deploy((DATA / "one_step.bpmn").read_text(), lead)
    db.session.commit()
    login(lead.email)
    client.post("/admin/case_type_processes/new/", data={"case_type": "hmo", "process_key": "one_step",
                                                         "position": "0"})
    row = db.session.scalar(select(CaseTypeProcess).where(CaseTypeProcess.case_type_code == "hmo"))
    opened = make_case(lead, case_type="hmo", title="before approval")
    tasks.start_mapped(lead, opened)
    assert not db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == opened.id)).all()
    for who in (lead, colleague):     # the asker and their own organisation are not a second pair of eyes
        login(who.email)
        client.post("/admin/case_type_processes/action/", data={"action": "approve", "rowid": [str(row.id)]})
        db.session.expire_all()
        assert db.session.get(CaseTypeProcess, row.id).approval == "pending"
    login(police_lead.email)
    client.post("/admin/case_type_processes/action/", data={"action": "approve", "rowid": [str(row.id)]})
    db.session.expire_all()
    assert db.session.get(CaseTypeProcess, row.id).approval == "approved"
    after = make_case(lead, case_type="hmo", title="after approval")
    tasks.start_mapped(lead, after)
    assert db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == after.id)).all()


def test_removing_a_mapping_in_effect_waits_for_another_organisations_lead(client, login, ctx):
    _unmapped()
    org = make_org("vs", "victim_services")
    lead = make_user(org, "lead", "practitioner", email="lead@vs.example.org")
    colleague = make_user(org, "lead", email="lead2@vs.example.org")
    police_lead = make_user(make_org("police_a", "police"), "lead", email="lead@police-a.example.org")
    processes.deploy((DATA / "one_step.bpmn").read_text(), lead)
    kept = CaseTypeProcess(case_type_code="hmo", process_key="one_step", position=0)
    fresh = CaseTypeProcess(case_type_code="hmo", process_key="other", position=1, approval="pending",
                            requested_by_id=lead.id)
    db.session.add_all([kept, fresh])
    db.session.commit()
    login(lead.email)
    client.post("/admin/case_type_processes/delete/", data={"id": str(kept.id)})
    client.post("/admin/case_type_processes/delete/", data={"id": str(fresh.id)})   # never in effect: goes at once
    db.session.expire_all()
    assert db.session.get(CaseTypeProcess, fresh.id) is None
    assert db.session.get(CaseTypeProcess, kept.id).approval == "removal_pending"
    still = make_case(lead, case_type="hmo", title="while the removal waits")
    tasks.start_mapped(lead, still)
    assert db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == still.id)).all()
    login(colleague.email)   # the same organisation is not a second pair of eyes
    client.post("/admin/case_type_processes/action/", data={"action": "approve", "rowid": [str(kept.id)]})
    db.session.expire_all()
    assert db.session.get(CaseTypeProcess, kept.id).approval == "removal_pending"
    login(police_lead.email)
    client.post("/admin/case_type_processes/action/", data={"action": "reject", "rowid": [str(kept.id)]})
    db.session.expire_all()
    assert db.session.get(CaseTypeProcess, kept.id).approval == "approved"     # refused: stays in effect
    login(lead.email)
    client.post("/admin/case_type_processes/delete/", data={"id": str(kept.id)})
    login(police_lead.email)
    client.post("/admin/case_type_processes/action/", data={"action": "approve", "rowid": [str(kept.id)]})
    db.session.expire_all()
    assert db.session.get(CaseTypeProcess, kept.id) is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "case_type_process")).all()
    assert {"request_mapping_removal", "reject_mapping_removal", "approve_mapping_removal"} <= set(actions)
