"""Running instances and a new version: impact preview, migrating the safe ones (workflows/migration.py)."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from models import AuditEvent, InstanceStatus, ProcessDefinition, User, WorkflowInstance, WorkItem, db
from models import audit as audit_log
from tests.fixtures.api import DATA
from workflows import engine, migration

V1 = (DATA / "referral_test.bpmn").read_text()
KEY = "referral_test"

# (a) triage gets a new field and a relabelled one: nothing that already happened changes.
V2_FIELD = V1.replace('<camunda:formField id="needs" label="Needs" type="enum">',
                      '<camunda:formField id="urgent" label="Urgent?" type="boolean" />'
                      '<camunda:formField id="needs" label="Support needs" type="enum">')


def _without_triage() -> str:
    """(b) triage, its timer and the escalation are gone; consent now ends the process directly."""
    text = V1
    gone = "triage|late|escalate|end_escalated"
    for pattern in (r'<bpmn:userTask id="triage".*?</bpmn:userTask>',
                    r'<bpmn:boundaryEvent id="late".*?</bpmn:boundaryEvent>',
                    r'<bpmn:userTask id="escalate".*?</bpmn:userTask>',
                    r'<bpmn:endEvent id="end_escalated".*?</bpmn:endEvent>',
                    r'<bpmn:sequenceFlow id="f[345]" [^>]*/>',
                    rf'<bpmn:flowNodeRef>({gone})</bpmn:flowNodeRef>',
                    rf'<bpmndi:BPMN(Shape|Edge) id="({gone}|f3|f4|f5)_di".*?</bpmndi:BPMN\1>'):
        text, count = re.subn(pattern, "", text, flags=re.DOTALL)
        assert count, pattern
    return text.replace('targetRef="triage"', 'targetRef="end_done"') \
        .replace("<bpmn:incoming>f3</bpmn:incoming>", "<bpmn:incoming>f_yes</bpmn:incoming>")


V2_NO_TRIAGE = _without_triage()
RECORD_DATA = {"victim_name": "Amira Hussain", "consent": True}


def _open_case(api) -> int:
    response = api["pc"].post("/cases", json={"case_type": "victim_support", "title": "Burglary",
                                              "lead_organisation": "notts_police",
                                              "organisations": [{"code": "victim_services"}]})
    assert response.status_code == 201, response.json
    return response.json["id"]


def _start(api) -> tuple[int, int]:
    """A new case with referral_test running: (case id, instance id)."""
    case_id = _open_case(api)
    started = api["pc"].post(f"/cases/{case_id}/processes", json={"key": KEY})
    assert started.status_code == 201, started.json
    return case_id, started.json["instance_id"]


def _ready(api, who: str, case_id: int) -> list[dict]:
    response = api[who].get(f"/tasks?case={case_id}&status=ready")
    assert response.status_code == 200
    return response.json


def _to_triage(api) -> tuple[int, int, dict]:
    """An instance whose first step is done: (case id, instance id, the triage item)."""
    case_id, instance_id = _start(api)
    (record,) = _ready(api, "pc", case_id)
    done = api["pc"].post(f"/tasks/{record['id']}/complete", json={"data": RECORD_DATA})
    assert done.status_code == 200, done.json
    (triage,) = done.json["next"]
    return case_id, instance_id, triage


def _deploy(api, xml: str) -> ProcessDefinition:
    response = api["lead"].deploy(xml)
    assert response.status_code == 201, response.json
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == KEY,
                                                             ProcessDefinition.version == response.json["version"]))


def _instance(instance_id: int) -> WorkflowInstance:
    db.session.expire_all()
    return db.session.get(WorkflowInstance, instance_id)


def _lead() -> User:
    return db.session.scalar(select(User).where(User.email == "lead@vs.example.org"))


@pytest.fixture
def v1(api) -> ProcessDefinition:
    return _deploy(api, V1)


def test_added_field_migrates_waiting_instances(api, v1):
    at_record_case, at_record = _start(api)
    at_triage_case, at_triage, triage = _to_triage(api)
    declined_case, declined = _start(api)
    (record,) = _ready(api, "pc", declined_case)
    api["pc"].post(f"/tasks/{record['id']}/complete", json={"data": {"victim_name": "X", "consent": False}})
    assert _instance(declined).status is InstanceStatus.COMPLETED
    v2 = _deploy(api, V2_FIELD)
    triage_task = db.session.get(WorkItem, triage["id"]).spiff_task_id

    preview = migration.impact(KEY)
    assert [(i.instance_id, i.version, i.status, i.current_steps, i.can_migrate, i.reasons) for i in preview] == [
        (at_record, 1, "running", ["record"], True, []), (at_triage, 1, "running", ["triage"], True, [])]
    assert preview[1].case_reference.startswith("CB-") and preview[1].current_titles == ["Triage referral"]
    assert _instance(at_triage).definition_id == v1.id   # a preview changes nothing

    report = migration.migrate_safe(_lead(), KEY)
    assert (report.migrated, report.skipped, report.failed, report.to_version) == ([at_record, at_triage], {}, {}, 2)
    assert {_instance(i).definition_id for i in (at_record, at_triage)} == {v2.id}
    assert _instance(declined).definition_id == v1.id

    # The triage item is the same row and task, now showing the v2 form; its deadline did not restart.
    item = db.session.get(WorkItem, triage["id"])
    assert item.status.value == "ready" and item.spiff_task_id == triage_task
    assert engine.task_state(engine.loads(_instance(at_triage).state), triage_task) == "ready"
    fields = json.loads(item.form)
    assert [f["id"] for f in fields] == ["urgent", "needs", "notes"] and fields[1]["label"] == "Support needs"
    shown = api["vs"].get(f"/tasks/{triage['id']}").json
    assert shown["form"]["fields"][0]["id"] == "urgent" and shown["due_at"] == triage["due_at"]
    assert [t["id"] for t in _ready(api, "vs", at_triage_case)] == [triage["id"]]

    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "migrate").order_by(AuditEvent.id)).all()
    assert [(e.object_id, e.case_id, e.user_email) for e in events] == [
        (str(at_record), at_record_case, "lead@vs.example.org"), (str(at_triage), at_triage_case, "lead@vs.example.org")]
    assert {k: events[1].detail_dict[k] for k in ("key", "from_version", "to_version")} == {
        "key": KEY, "from_version": 1, "to_version": 2}
    assert audit_log.verify().ok

    again = migration.migrate_safe(_lead(), KEY)
    assert (again.migrated, again.skipped, again.failed) == ([], {}, {})
    assert migration.impact(KEY) == []
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "migrate").order_by(AuditEvent.id.desc())) \
        == events[-1].id

    # Both carry on under v2: the new field is accepted and kept.
    done = api["vs"].post(f"/tasks/{triage['id']}/complete", json={"data": {"urgent": True, "needs": ["housing"]}})
    assert done.status_code == 200, done.json
    assert _instance(at_triage).status is InstanceStatus.COMPLETED
    assert api["pc"].get(f"/cases/{at_triage_case}/history").json[-1]["data"]["urgent"] is True
    (record,) = _ready(api, "pc", at_record_case)
    nxt = api["pc"].post(f"/tasks/{record['id']}/complete", json={"data": RECORD_DATA}).json["next"]
    assert nxt[0]["form"]["fields"][0]["id"] == "urgent"


def test_removed_step_blocks_instances_waiting_there(api, v1):
    at_record_case, at_record = _start(api)
    _, at_triage, triage = _to_triage(api)
    v2 = _deploy(api, V2_NO_TRIAGE)

    preview = {i.instance_id: i for i in migration.impact(KEY)}
    blocked = preview[at_triage]
    assert not blocked.can_migrate and blocked.current_steps == ["triage"]
    assert "current step 'triage' (Triage referral) is removed in the new version" in blocked.reasons
    assert any("'gw_consent'" in r and "changed" in r for r in blocked.reasons)   # already routed to triage
    # The guide's rule: nothing the instance at `record` has done changed, and `triage` was only predicted.
    assert preview[at_record].can_migrate and preview[at_record].reasons == []

    report = migration.migrate_safe(_lead(), KEY)
    assert report.migrated == [at_record] and report.failed == {}
    assert list(report.skipped) == [at_triage] and any("'triage'" in r for r in report.skipped[at_triage])
    assert _instance(at_triage).definition_id == v1.id and _instance(at_record).definition_id == v2.id

    again = migration.migrate_safe(_lead(), KEY)   # idempotent: nothing more moves, the blocked one is still listed
    assert (again.migrated, list(again.skipped), again.failed) == ([], [at_triage], {})

    # The blocked instance finishes on v1; the migrated one skips triage under v2.
    done = api["vs"].post(f"/tasks/{triage['id']}/complete", json={"data": {"needs": ["housing"]}})
    assert done.status_code == 200 and done.json["next"] == []
    assert _instance(at_triage).status is InstanceStatus.COMPLETED
    (record,) = _ready(api, "pc", at_record_case)
    done = api["pc"].post(f"/tasks/{record['id']}/complete", json={"data": RECORD_DATA})
    assert done.status_code == 200 and done.json["next"] == []
    assert _instance(at_record).status is InstanceStatus.COMPLETED
    assert [e.object_id for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "migrate"))] \
        == [str(at_record)]
    assert audit_log.verify().ok


def test_error_instances_are_listed_not_migrated(api, v1):
    _, failed = _start(api)
    _, broken = _start(api)
    instance, other = _instance(failed), _instance(broken)
    instance.status, instance.error_message = InstanceStatus.ERROR, "no outgoing flow matched at 'gw_consent'"
    other.status, other.error_message, other.state = InstanceStatus.ERROR, "could not start: boom", "{}"
    db.session.commit()
    _deploy(api, V2_FIELD)

    preview = {i.instance_id: i for i in migration.impact(KEY)}
    assert set(preview) == {failed, broken}
    assert preview[failed].status == "error" and not preview[failed].can_migrate
    assert "gw_consent" in preview[failed].reasons[0] and "stopped with an error" in preview[failed].reasons[0]
    assert not preview[broken].can_migrate
    report = migration.migrate_safe(_lead(), KEY)
    assert report.migrated == [] and set(report.skipped) == {failed, broken}
    assert _instance(failed).definition_id == v1.id


def test_unloadable_state_is_a_reason_not_a_crash():
    plan = engine.migration_plan("{}", V2_FIELD, KEY, {})
    assert not plan.can_migrate and plan.reasons[0].startswith("the migration could not be checked")
    with pytest.raises(engine.EngineError):
        engine.migrate("{}", V2_FIELD, KEY, {})


def test_changed_timer_restarts_and_says_so(api, v1):
    _, at_triage, triage = _to_triage(api)
    _deploy(api, V2_FIELD.replace("P2D", "P3D"))
    (row,) = migration.impact(KEY)
    assert row.can_migrate and row.notes == [
        "'late' (2 days elapsed) changed: its timer or event starts again from the time of migration"]
    assert migration.migrate_safe(_lead(), KEY).migrated == [at_triage]
    later = api["vs"].get(f"/tasks/{triage['id']}").json["due_at"]
    assert later > triage["due_at"]   # P3D from now is later than P2D from when triage began


def test_a_failing_instance_rolls_back_alone(api, v1, monkeypatch):
    first_case, first = _start(api)
    _, second = _start(api)
    v2 = _deploy(api, V2_FIELD)
    real = engine.migrate

    def flaky(state, *args):
        wf = real(state, *args)
        if engine.loads(state).get_tasks()[0].data.get("case_id") == first_case:
            raise engine.EngineError("simulated failure")
        return wf

    monkeypatch.setattr(engine, "migrate", flaky)
    report = migration.migrate_safe(_lead(), KEY)
    assert report.migrated == [second] and report.failed == {first: "simulated failure"}
    assert _instance(first).definition_id == v1.id and _instance(second).definition_id == v2.id
    assert [e.object_id for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "migrate"))] \
        == [str(second)]
    assert audit_log.verify().ok
