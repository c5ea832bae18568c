"""Designer endpoints: drafts with a version check, validate, deploy refusals, upload, test runs, access."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import ProcessDefinition, ProcessDraft, ProcessTestRun, db
from tests.factories import make_org, make_user
from workflows import processes

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def lead(ctx):
    org = make_org("vs", "victim_services")
    user = make_user(org, "lead", "practitioner", email="lead@vs.example.org")
    make_user(org, "practitioner", email="pc@vs.example.org")
    definition, _ = processes.deploy((DATA / "referral_test.bpmn").read_text(), user)
    db.session.commit()
    return {"email": user.email, "definition": definition.id}


def _open(client, definition_id: int) -> int:
    response = client.post("/admin/designer/new/", data={"from": str(definition_id)})
    assert response.status_code == 302
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_open_edit_save_deploy(client, login, lead):
    login(lead["email"])
    draft_id = _open(client, lead["definition"])
    assert _open(client, lead["definition"]) == draft_id   # the open draft is reused
    xml = client.get(f"/admin/designer/{draft_id}/diagram.bpmn").get_data(as_text=True)
    edited = xml.replace("Record referral", "Record the referral")
    saved = client.post(f"/admin/designer/{draft_id}/save", json={"xml": edited, "version": 1})
    assert saved.status_code == 200 and saved.json["version"] == 2
    assert client.post(f"/admin/designer/{draft_id}/validate", json={"xml": edited}).json["ok"] is True
    deployed = client.post(f"/admin/designer/{draft_id}/deploy", json={"xml": edited, "version": 2, "note": "Relabelled a field"})
    assert deployed.status_code == 201 and (deployed.json["key"], deployed.json["version"]) == ("referral_test", 2)
    assert _count(ProcessDefinition) == 2
    assert db.session.get(ProcessDraft, draft_id).status == "deployed"


def test_second_save_of_the_same_version_is_refused(client, login, lead):
    login(lead["email"])
    draft_id = _open(client, lead["definition"])
    xml = client.get(f"/admin/designer/{draft_id}/diagram.bpmn").get_data(as_text=True)
    assert client.post(f"/admin/designer/{draft_id}/save", json={"xml": xml.replace("Triage", "A"),
                                                                 "version": 1}).status_code == 200
    second = client.post(f"/admin/designer/{draft_id}/save", json={"xml": xml.replace("Triage", "B"), "version": 1})
    assert second.status_code == 409 and "saved this draft after you opened it" in second.json["error"]
    db.session.expire_all()
    stored = db.session.get(ProcessDraft, draft_id).bpmn_xml
    assert 'name="A referral"' in stored and "B referral" not in stored


@pytest.mark.parametrize("mutate, needle", [
    (lambda x: x.replace("<bpmn:process", "<bpmn:proces", 1), "not well-formed"),
    (lambda x: x.replace("${consent == True}", "${consent ==}"), "condition"),
    (lambda x: x.replace('<bpmn:userTask id="escalate"', '<bpmn:approvalTask id="escalate"')
     .replace("</bpmn:userTask>\n    <bpmn:endEvent id=\"end_done\"", "</bpmn:approvalTask>\n    <bpmn:endEvent id=\"end_done\""),
     "escalate"),
])
def test_refused_deploy_keeps_the_draft_and_changes_nothing_live(client, login, lead, mutate, needle):
    login(lead["email"])
    draft_id = _open(client, lead["definition"])
    xml = client.get(f"/admin/designer/{draft_id}/diagram.bpmn").get_data(as_text=True)
    bad = mutate(xml)
    checked = client.post(f"/admin/designer/{draft_id}/validate", json={"xml": bad}).json
    assert checked["ok"] is False and needle in str(checked["problems"])
    refused = client.post(f"/admin/designer/{draft_id}/deploy", json={"xml": bad, "version": 1})
    assert refused.status_code == 422 and refused.json["problems"]
    assert _count(ProcessDefinition) == 1
    db.session.expire_all()
    draft = db.session.get(ProcessDraft, draft_id)
    assert draft.bpmn_xml == bad and draft.status == "open"


def test_upload_replaces_the_draft(client, login, lead):
    login(lead["email"])
    draft_id = _open(client, lead["definition"])
    text = (DATA / "one_step.bpmn").read_bytes()
    client.post(f"/admin/designer/{draft_id}/upload", data={"file": (BytesIO(text), "x.bpmn"), "version": "1"},
                content_type="multipart/form-data")
    db.session.expire_all()
    assert db.session.get(ProcessDraft, draft_id).key == "one_step"


def test_test_run_touches_no_case(client, login, lead):
    from models import Case, WorkItem

    login(lead["email"])
    draft_id = _open(client, lead["definition"])
    started = client.post(f"/admin/designer/{draft_id}/test-runs/")
    assert started.status_code == 302
    run = db.session.scalar(select(ProcessTestRun))
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "Record referral" in page and "Victim name" in page
    from workflows import drafts

    (step,) = drafts.ready_steps(run)
    bad = client.post(started.headers["Location"], data={"task_id": step.id, "t0-risk_score": "99"})
    assert bad.status_code == 422
    ok = client.post(started.headers["Location"], data={"task_id": step.id, "t0-victim_name": "Test",
                                                        "t0-consent": "true", "t0-risk_score": "3"})
    assert ok.status_code == 302
    assert "Triage referral" in client.get(started.headers["Location"]).get_data(as_text=True)
    assert _count(Case) == 0 and _count(WorkItem) == 0
    client.post(f"/admin/designer/test-runs/{run.id}/discard")
    assert _count(ProcessTestRun) == 0


def test_drafts_are_invisible_to_practitioners(client, login, lead):
    login(lead["email"])
    draft_id = _open(client, lead["definition"])
    login("pc@vs.example.org")
    assert client.get(f"/admin/designer/{draft_id}/").status_code == 404
    assert client.get(f"/admin/designer/{draft_id}/diagram.bpmn").status_code == 404
    assert client.post(f"/admin/designer/{draft_id}/save", json={"xml": "x", "version": 1}).status_code == 404


def test_preview_lists_changes_and_running_instances(client, login, lead, ctx):
    from models import User
    from tests.factories import make_case
    from workflows import tasks

    user = db.session.scalar(select(User).where(User.email == lead["email"]))
    case = make_case(user, title="running")
    tasks.start(user, case, "referral_test")
    db.session.commit()
    login(lead["email"])
    draft_id = _open(client, lead["definition"])
    xml = client.get(f"/admin/designer/{draft_id}/diagram.bpmn").get_data(as_text=True)
    client.post(f"/admin/designer/{draft_id}/save", json={"xml": xml.replace('label="Victim name"',
                                                                             'label="Name of the victim"'), "version": 1})
    page = client.get(f"/admin/designer/{draft_id}/preview").get_data(as_text=True)
    assert "relabelled" in page and "Name of the victim" in page
    assert "<strong>1</strong> running instance(s)" in page and "<td>yes</td>" in page
    assert _count(ProcessDefinition) == 1   # a preview deploys nothing


def test_history_and_impact_pages(client, login, lead, ctx):
    from models import User

    user = db.session.scalar(select(User).where(User.email == lead["email"]))
    text = (DATA / "referral_test.bpmn").read_text()
    processes.deploy(text.replace('label="Victim name"', 'label="Name of the victim"'), user)
    db.session.commit()
    login(lead["email"])
    history = client.get("/admin/processes/history/referral_test/").get_data(as_text=True)
    assert "v2" in history and "relabelled" in history
    v2 = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.version == 2))
    impact = client.get(f"/admin/processes/{v2.id}/impact/")
    assert impact.status_code == 200 and "running instance(s) of older versions" in impact.get_data(as_text=True)
    assert client.post(f"/admin/processes/{v2.id}/impact/").status_code == 200


def test_a_deploy_takes_effect_when_another_organisations_lead_approves(client, login, lead):
    from models import User
    from workflows import processes as procs

    police_lead = make_user(make_org("police_x", "police"), "lead", email="lead@police-x.example.org")
    same_org = db.session.scalar(select(User).where(User.email == lead["email"])).organisation
    colleague = make_user(same_org, "lead", email="lead2@vs.example.org")
    login(lead["email"])
    draft_id = _open(client, lead["definition"])
    xml = client.get(f"/admin/designer/{draft_id}/diagram.bpmn").get_data(as_text=True).replace(
        "Record referral", "Record the referral")
    deployed = client.post(f"/admin/designer/{draft_id}/deploy", json={"xml": xml, "version": 1, "note": "New process"})
    assert deployed.status_code == 201
    waiting = db.session.get(ProcessDefinition, deployed.json["id"]) if "id" in deployed.json else \
        procs.waiting("referral_test")
    assert waiting.approval == "pending" and procs.latest("referral_test").version == 1
    page = client.get("/admin/processes/").get_data(as_text=True)
    assert "waiting for approval" in page and "a lead of another organisation approves it" in page
    login(colleague.email)   # the same organisation: not a second pair of eyes
    assert client.post(f"/admin/processes/{waiting.id}/decide", data={"decision": "approve"}).status_code == 403
    login(police_lead.email)
    assert client.post(f"/admin/processes/{waiting.id}/decide", data={"decision": "approve"}).status_code == 302
    db.session.expire_all()
    assert procs.latest("referral_test").version == 2
    assert db.session.get(ProcessDefinition, waiting.id).approved_by_id == police_lead.id


def test_a_test_run_shows_due_dates_the_path_and_moves_its_clock(client, login, lead):
    """Due dates from the run's clock, answers in the diagram's words, the path for the diagram, and timers that
    fire when the lead moves the clock ahead (refusals change nothing)."""
    from workflows import drafts

    login(lead["email"])
    definition, _ = processes.deploy((DATA / "deadline_test.bpmn").read_text(),
                                     db.session.get(ProcessDefinition, lead["definition"]).deployed_by)
    db.session.commit()
    draft_id = _open(client, definition.id)
    url = client.post(f"/admin/designer/{draft_id}/test-runs/").headers["Location"]
    run = db.session.scalar(select(ProcessTestRun))
    (triage,) = drafts.ready_steps(run)
    page = client.get(url).get_data(as_text=True)
    assert "Victim services" in page and "Test clock" in page
    assert client.post(url, data={"task_id": triage.id, "t0-urgency": "high", "t0-intimidated": "true"}).status_code == 302
    db.session.expire_all()
    run = db.session.get(ProcessTestRun, run.id)
    (contact,) = drafts.ready_steps(run)
    assert contact.due_at is not None and 47 * 3600 < (contact.due_at - drafts.clock_of(run)).total_seconds() <= 48 * 3600
    page = client.get(url).get_data(as_text=True)
    # The answers read in the diagram's words; the step says when it is due; the diagram gets the path.
    assert "How urgent" in page and "High: contact today" in page and "The victim feels intimidated" in page
    assert "Due " in page and "Go to the next timer" in page
    assert drafts.path_of(run) == {"start": "completed", "triage": "completed", "contact": "ready",
                                   "two_days": "waiting"}
    assert client.get(f"/admin/designer/test-runs/{run.id}/diagram.bpmn").get_data(as_text=True) \
        .count('id="two_days"') == 1

    # Refused moves change nothing.
    for bad in ({"amount": "0", "unit": "days"}, {"amount": "x", "unit": "days"}, {"amount": "2", "unit": "weeks"},
                {"amount": "5000", "unit": "days"}):
        assert client.post(f"/admin/designer/test-runs/{run.id}/clock", data=bad).status_code == 302
        db.session.expire_all()
        assert db.session.get(ProcessTestRun, run.id).time_offset == 0
    assert "The clock did not move" in client.get(url).get_data(as_text=True)

    # A day ahead: still waiting, now due in about a day. Then to the next timer: the escalation.
    client.post(f"/admin/designer/test-runs/{run.id}/clock", data={"amount": "1", "unit": "days"})
    db.session.expire_all()
    run = db.session.get(ProcessTestRun, run.id)
    assert run.time_offset == 86400 and [s.bpmn_id for s in drafts.ready_steps(run)] == ["contact"]
    client.post(f"/admin/designer/test-runs/{run.id}/clock", data={"to": "next_timer"})
    db.session.expire_all()
    run = db.session.get(ProcessTestRun, run.id)
    (escalate,) = drafts.ready_steps(run)
    assert escalate.bpmn_id == "escalate"
    assert drafts.path_of(run)["two_days"] == "completed" and drafts.path_of(run).get("contact") != "ready"
    page = client.get(url).get_data(as_text=True)
    assert "The clock was moved to" in page and "Victim services (manager)" in page
    assert "Now waiting: Contact overdue: manager to act" in page and "Nothing new fell due" in page
    assert "UTC" not in page
