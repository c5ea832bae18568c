"""Every case type opens with a process in the demo partnership, and `seed-demo` leaves every demo case with work
waiting for someone, no process in error."""
from __future__ import annotations

from sqlalchemy import select

from models import Case, CaseType, CaseTypeProcess, InstanceStatus, ItemStatus, WorkflowInstance, WorkItem, db
from models.facts import MAPPING_IN_EFFECT
from tests.cli.test_demo_routing import Demo
from workflows import processes

OPENER = {"asb": "mansfield", "vulnerable_person": "mansfield", "community_trigger": "mansfield",
          "domestic_abuse": "idva", "troubled_families": "mansfield", "hmo": "mansfield",
          "street_drinkers": "mansfield", "licensed_premises": "mansfield"}   # otherwise the police open it


def test_opening_any_case_type_starts_a_process_with_work_for_someone(client, runner, ctx):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    demo = Demo(client)
    for case_type in db.session.scalars(select(CaseType).where(CaseType.active.is_(True))).all():
        keys = db.session.scalars(select(CaseTypeProcess.process_key).where(
            CaseTypeProcess.case_type_code == case_type.code, CaseTypeProcess.approval.in_(MAPPING_IN_EFFECT))).all()
        assert keys, f"{case_type.code} starts no process"
        assert all(processes.latest(k) is not None for k in keys), (case_type.code, keys)
        opener = demo.user(OPENER.get(case_type.code, "notts_police"), "practitioner")
        opened = demo.call("POST", "/cases", opener, {
            "case_type": case_type.code, "title": f"{case_type.name} walk", "area": "mansfield",
            "people": [{"role": "victim", "given_name": "Demo", "family_name": "Walker",
                        "date_of_birth": "1980-01-01"}]})
        assert opened.status_code == 201, (case_type.code, opened.json)
        # Warnings about a possible duplicate person are expected (the same walker each time); none about processes.
        assert not [w for w in opened.json.get("warnings", []) if "process" in w], (case_type.code, opened.json)
        instances = db.session.scalars(select(WorkflowInstance).where(
            WorkflowInstance.case_id == opened.json["id"])).all()
        assert sorted(i.definition.key for i in instances) == sorted(keys), case_type.code
        assert all(i.status is InstanceStatus.RUNNING for i in instances), [
            (i.definition.key, i.error_message) for i in instances]
        ready = db.session.scalars(select(WorkItem).where(WorkItem.case_id == opened.json["id"],
                                                          WorkItem.status == ItemStatus.READY)).all()
        assert any(item.organisation_id is not None for item in ready), (case_type.code, [
            (i.bpmn_id, i.unassigned_reason) for i in ready])


def test_every_demo_case_has_work_waiting_and_no_process_in_error(runner, ctx):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    errors = db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.status == InstanceStatus.ERROR)).all()
    assert errors == [], [(i.definition.key, i.error_message) for i in errors]
    for case in db.session.scalars(select(Case)).all():
        ready = db.session.scalars(select(WorkItem).where(WorkItem.case_id == case.id,
                                                          WorkItem.status == ItemStatus.READY,
                                                          WorkItem.organisation_id.is_not(None))).all()
        assert ready, f"demo case {case.title!r} has no step waiting for anyone"


def test_every_demo_account_the_readme_lists_exists_and_signs_in(client, runner, ctx, login):
    """The README's table of demo accounts stays true: each exists after seed-demo and signs in with the password
    the README gives."""
    import re
    from pathlib import Path

    from models import User

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    listed = re.findall(r"^\| `([\w.-]+@[\w.-]+\.demo)` \|", readme, flags=re.M)
    assert len(listed) >= 14 and "manager@police.demo" in listed
    for email in listed:
        assert db.session.scalar(select(User.id).where(User.email == email)), email
    answer = client.post("/login", data={"email": "manager@police.demo", "password": "casebook-demo"})
    assert answer.status_code == 302
