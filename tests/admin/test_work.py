"""My work, Team work, the task form, the case page's process panel, the Processes screen."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import ItemStatus, ProcessDefinition, WorkItem, db
from tests.factories import make_case, make_org, make_person, make_user
from workflows import processes, tasks

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def world(ctx):
    police = make_org("police_a", "police", "Police A")
    vs = make_org("vs_b", "victim_services", "Victim Services B")
    pc = make_user(police, email="pc@a.example.org")
    cw = make_user(vs, email="cw@b.example.org")
    manager = make_user(vs, "manager", email="mgr@b.example.org")
    lead = make_user(vs, "lead", "practitioner", email="lead@b.example.org")
    processes.deploy((DATA / "referral_test.bpmn").read_text(), lead)
    victim = make_person(pc, "Amira", "Hussain")
    case = make_case(pc, title="Burglary", participants=[(victim.id, "victim")], organisation_ids=[vs.id])
    instance = tasks.start(pc, case, "referral_test")
    db.session.commit()
    item = db.session.scalar(select(WorkItem).where(WorkItem.bpmn_id == "record"))
    return {"case": case.id, "instance": instance.id, "record": item.id, "pc": pc.email, "cw": cw.email,
            "manager": manager.email, "lead": lead.email}


GOOD = {"victim_name": "Amira Hussain", "risk_score": "12", "crime_type": "burglary", "consent": "true",
        "incident_date": "2026-11-20"}


def test_my_work_lists_and_counts(client, login, world):
    login(world["pc"])
    page = client.get("/admin/my_work/").get_data(as_text=True)
    assert "Record referral" in page and "My work (1)" in page and "Team work (1)" in page
    assert "Amira HUSSAIN" in page   # who the step is about
    assert ">referral_test<" not in page   # the process by its name, not its key
    login(world["cw"])
    assert "My work (0)" in client.get("/admin/my_work/").get_data(as_text=True)


def test_task_form_is_built_from_the_diagram(client, login, world):
    login(world["pc"])
    page = client.get(f"/admin/my_work/{world['record']}/").get_data(as_text=True)
    for label in ("Victim name", "Risk score (0-27)", "Crime type", "Victim consents to referral", "Incident date"):
        assert label in page
    assert 'type="radio"' in page and 'value="0"' in page   # default from the diagram
    assert 'placeholder="dd/mm/yyyy"' in page and 'type="date"' not in page   # typed as people write dates
    assert "Burglary" in page and "Amira HUSSAIN" in page                             # case summary beside it
    assert '<label class="font-weight-bold" for="victim_name">' in page


def test_validation_errors_then_success_opens_next_or_list(client, login, world):
    login(world["pc"])
    url = f"/admin/my_work/{world['record']}/"
    bad = client.post(url, data={**GOOD, "victim_name": "", "risk_score": "31", "crime_type": "arson"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "This field is required" in text and "Number must be between 0 and 27" in text
    assert db.session.get(WorkItem, world["record"]).status is ItemStatus.READY
    ok = client.post(url, data=GOOD)
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/admin/my_work/")  # next step is VS's
    db.session.expire_all()
    triage = db.session.scalar(select(WorkItem).where(WorkItem.bpmn_id == "triage"))
    assert triage.organisation.code == "vs_b"
    login(world["cw"])
    assert "Triage referral" in client.get("/admin/team_work/").get_data(as_text=True)


def test_double_post_and_stale_form(client, login, world):
    login(world["pc"])
    url = f"/admin/my_work/{world['record']}/"
    assert client.post(url, data=GOOD).status_code == 302
    again = client.post(url, data=GOOD, follow_redirects=True)
    assert "already completed by" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(WorkItem).where(WorkItem.bpmn_id == "triage")).all()) == 1


def test_other_organisations_item_is_refused(client, login, world):
    login(world["cw"])
    assert client.get(f"/admin/my_work/{world['record']}/").status_code == 403
    assert client.post(f"/admin/my_work/{world['record']}/", data=GOOD).status_code == 403
    assert db.session.get(WorkItem, world["record"]).status is ItemStatus.READY


def test_claim_and_unclaim(client, login, world):
    login(world["pc"])
    client.post(f"/admin/my_work/{world['record']}/claim/")
    db.session.expire_all()
    assert db.session.get(WorkItem, world["record"]).claimed_by.email == world["pc"]
    client.post(f"/admin/my_work/{world['record']}/release/")
    db.session.expire_all()
    assert db.session.get(WorkItem, world["record"]).claimed_by is None


def test_role_qualified_step_only_in_managers_my_work(client, login, world, runner):
    from datetime import timedelta

    from models import utcnow

    login(world["pc"])
    client.post(f"/admin/my_work/{world['record']}/", data=GOOD)
    runner.invoke(args=["timers", "run", "--at", (utcnow() + timedelta(days=3)).isoformat()])
    login(world["cw"])
    assert "Escalate late triage" not in client.get("/admin/my_work/").get_data(as_text=True)
    assert "Escalate late triage" in client.get("/admin/team_work/").get_data(as_text=True)
    login(world["manager"])
    assert "Escalate late triage" in client.get("/admin/my_work/").get_data(as_text=True)


def test_case_page_process_panel(client, login, world):
    login(world["pc"])
    client.post(f"/admin/my_work/{world['record']}/", data=GOOD)
    page = client.get(f"/admin/cases/details/?id={world['case']}").get_data(as_text=True)
    assert 'class="bpmn-canvas"' in page and "&#34;triage&#34;: &#34;ready&#34;" in page.replace('"', "&#34;")
    assert "&#34;record&#34;: &#34;completed&#34;" in page.replace('"', "&#34;")
    assert "Record referral" in page and "Amira Hussain" in page   # history with answers
    xml = client.get(f"/admin/cases/{world['case']}/processes/{world['instance']}/diagram.bpmn")
    assert xml.status_code == 200 and b"referral_test" in xml.data
    login(world["cw"])  # partners see the panel too
    assert client.get(f"/admin/cases/details/?id={world['case']}").status_code == 200


def test_diagram_of_invisible_case_is_404(client, login, world, ctx):
    other = make_user(make_org("council_c", "council"), email="c@c.example.org")
    login(other.email)
    assert client.get(f"/admin/cases/{world['case']}/processes/{world['instance']}/diagram.bpmn").status_code == 404


def test_error_instance_shows_message_and_lead_can_cancel(client, login, world, ctx):
    from models import User, WorkflowInstance

    lead = db.session.scalar(select(User).where(User.email == world["lead"]))
    processes.deploy((DATA / "runtime_error.bpmn").read_text(), lead)
    db.session.commit()
    login(world["pc"])
    client.post(f"/admin/cases/{world['case']}/processes/", data={"key": "runtime_error"})
    ask = db.session.scalar(select(WorkItem).where(WorkItem.bpmn_id == "ask"))
    client.post(f"/admin/my_work/{ask.id}/", data={"answer": "x"})
    page = client.get(f"/admin/cases/details/?id={world['case']}").get_data(as_text=True)
    assert "This process stopped" in page and "Cancel this process" not in page
    broken = db.session.scalar(select(WorkflowInstance).where(WorkflowInstance.status == "error"))
    # The partner's lead takes part in the case but does not decide to stop its processes.
    login(world["lead"])
    page = client.get(f"/admin/cases/details/?id={world['case']}").get_data(as_text=True)
    assert "This process stopped" in page and "Cancel this process" not in page
    client.post(f"/admin/cases/{world['case']}/processes/{broken.id}/cancel/", data={"reason": "mine now"})
    db.session.expire_all()
    assert db.session.get(WorkflowInstance, broken.id).status.value == "error"
    police = db.session.scalar(select(User).where(User.email == world["pc"])).organisation
    make_user(police, "lead", "practitioner", email="lead@a.example.org")
    login("lead@a.example.org")
    page = client.get(f"/admin/cases/details/?id={world['case']}").get_data(as_text=True)
    assert "What to do" in page and "Cancel this process" in page
    client.post(f"/admin/cases/{world['case']}/processes/{broken.id}/cancel/", data={"reason": "bad diagram"})
    db.session.expire_all()
    assert db.session.get(WorkflowInstance, broken.id).status.value == "cancelled"


def test_processes_screen_for_leads(client, login, world):
    login(world["lead"])
    page = client.get("/admin/processes/").get_data(as_text=True)
    assert "referral_test" in page and "v1" in page
    text = (DATA / "one_step.bpmn").read_bytes()
    refused = client.post("/admin/processes/", data={"file": (BytesIO(text), "one.bpmn")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "Say what changed and why." in refused.get_data(as_text=True)
    ok = client.post("/admin/processes/", data={"file": (BytesIO(text), "one.bpmn"), "note": "A one-step process"},
                     content_type="multipart/form-data")
    assert ok.status_code == 302
    bad = client.post("/admin/processes/", content_type="multipart/form-data", data={
        "file": (BytesIO((DATA / "one_step.bpmn").read_bytes().replace(b'candidateGroups="police"',
                                                                        b'candidateGroups="nobody"')), "x.bpmn"),
        "note": "Broken on purpose"})
    assert bad.status_code == 422 and "<code>step</code>" in bad.get_data(as_text=True)
    definition = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "one_step"))
    assert client.get(f"/admin/processes/{definition.id}/").status_code == 200
    login(world["pc"])
    assert client.get("/admin/processes/").status_code == 404


def test_next_step_for_the_same_user_opens(client, login, world):
    from models import User

    lead = db.session.scalar(select(User).where(User.email == world["lead"]))
    bench = Path(__file__).resolve().parents[2] / "bench" / "diagrams" / "bench_ten_steps.bpmn"
    processes.deploy(bench.read_text(), lead)
    pc = db.session.scalar(select(User).where(User.email == world["pc"]))
    case = make_case(pc, title="Chain")
    tasks.start(pc, case, "bench_ten_steps")
    db.session.commit()
    first = db.session.scalar(select(WorkItem).where(WorkItem.bpmn_id == "step_1"))
    login(world["pc"])
    response = client.post(f"/admin/my_work/{first.id}/", data={"note_1": "done", "score_1": "3"})
    second = db.session.scalar(select(WorkItem).where(WorkItem.bpmn_id == "step_2"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/my_work/{second.id}/")


def test_no_aria_attribute_says_none(client, login, world):
    """An ARIA attribute is present with a real value or absent: never the text "None" (axe: critical)."""
    login(world["pc"])
    url = f"/admin/my_work/{world['record']}/"
    fresh = client.get(url).get_data(as_text=True)
    refused = client.post(url, data={**GOOD, "victim_name": ""}).get_data(as_text=True)
    for page in (fresh, refused, client.get(f"/admin/cases/details/?id={world['case']}").get_data(as_text=True)):
        assert '="None"' not in page
    assert 'aria-invalid="true"' in refused
    assert 'data-error-summary' in refused and '<a href="#victim_name">Victim name:' in refused   # links to fields


def test_times_are_shown_in_the_partnerships_time_zone(client, login, world):
    """A summer deadline stored as 16:00 UTC reads 17:00 (British Summer Time), with no zone name."""
    from datetime import datetime, timezone

    item = db.session.get(WorkItem, world["record"])
    item.due_at = datetime(2027, 6, 3, 16, 0, tzinfo=timezone.utc)
    db.session.commit()
    login(world["pc"])
    for url in (f"/admin/my_work/{world['record']}/", "/admin/my_work/"):
        page = client.get(url).get_data(as_text=True)
        assert "03/06/2027 17:00" in page and "UTC" not in page, url


def test_history_reads_in_the_diagrams_words(client, login, world):
    """The case history shows labels and option names, yes/no, dates as people write them, and no empty answer."""
    login(world["pc"])
    answer = client.post(f"/admin/my_work/{world['record']}/", data={**GOOD, "consent": "false"})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
    page = client.get(f"/admin/cases/details/?id={world['case']}").get_data(as_text=True)
    history = page.split("<h4 class=\"h6\">History</h4>", 1)[1]
    assert "Victim name:</span> <span" in history and "Amira Hussain" in history
    assert "Victim consents to referral:</span> <span style=\"white-space: pre-line\">No" in history
    assert "20/11/2026" in history and "2026-11-20" not in history
    assert "victim_name:" not in history and "crime_type:" not in history


def test_closing_a_case_with_open_work_asks_what_happens_to_it(client, login, world):
    """Open work stops a close unless the lead chooses to cancel it (with the reason); a closed case leaves
    nobody's work list."""
    from models import Case, WorkflowInstance

    login(world["pc"])
    url = f"/admin/cases/{world['case']}/close/"
    page = client.get(f"/admin/cases/details/?id={world['case']}").get_data(as_text=True)
    assert "1 step(s) are still open" in page
    kept = client.post(url, data={"outcome": "declined", "reason": "Victim declined", "open_work": "keep"},
                       follow_redirects=True).get_data(as_text=True)
    assert "1 step(s) are still open: finish them first" in kept
    db.session.expire_all()
    assert db.session.get(Case, world["case"]).status.value == "open"
    client.post(url, data={"outcome": "declined", "reason": "Victim declined", "open_work": "cancel"})
    db.session.expire_all()
    assert db.session.get(Case, world["case"]).status.value == "closed"
    assert db.session.get(WorkflowInstance, world["instance"]).status.value == "cancelled"
    assert db.session.get(WorkItem, world["record"]).status.value == "cancelled"
    assert "Record referral" not in client.get("/admin/my_work/").get_data(as_text=True)


@pytest.mark.parametrize("typed, stored", [("20/11/2026", "2026-11-20"), ("20/11/26", "2026-11-20"),
                                           ("2026-11-20", "2026-11-20"), (" 20 / 11 / 2026 ", "2026-11-20")])
def test_step_dates_are_typed_as_people_write_them(client, login, world, typed, stored):
    login(world["pc"])
    answer = client.post(f"/admin/my_work/{world['record']}/", data={**GOOD, "incident_date": typed})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:300]
    db.session.expire_all()
    assert db.session.get(WorkItem, world["record"]).answers["incident_date"] == stored


def test_a_date_that_is_not_one_is_refused_at_its_field(client, login, world):
    login(world["pc"])
    page = client.post(f"/admin/my_work/{world['record']}/", data={**GOOD, "incident_date": "31/02/2026"})
    assert page.status_code == 422
    assert "is not a date (write it as 01/04/2026)" in page.get_data(as_text=True)
    assert 'value="31/02/2026"' in page.get_data(as_text=True)   # what was typed stays to be corrected


def test_removing_a_partner_or_a_person_needs_a_reason_and_is_audited(client, login, world):
    """The partner stops seeing the case; its waiting steps wait unassigned with why; the person's record stays."""
    from models import AuditEvent, Case, CaseParticipant, Organisation

    case = db.session.get(Case, world["case"])
    vs = db.session.scalar(select(Organisation).where(Organisation.code == "vs_b"))
    participant = db.session.scalar(select(CaseParticipant).where(CaseParticipant.case_id == case.id))
    login(world["pc"])
    url = f"/admin/cases/{case.id}/organisations/{vs.id}/remove/"
    refused = client.post(url, data={"reason": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Not removed: reason: is required" in refused
    client.post(url, data={"reason": "Support ended; they asked to come off"})
    client.post(f"/admin/cases/{case.id}/participants/{participant.id}/remove/", data={"reason": "Added in error"})
    db.session.expire_all()
    case = db.session.get(Case, world["case"])
    assert not case.organisations and not case.participants
    actions = {e.action: e.detail_dict for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(("remove_organisation", "remove_participant"))))}
    assert actions["remove_organisation"]["reason"] == "Support ended; they asked to come off"
    assert actions["remove_participant"]["reason"] == "Added in error"
    login(world["cw"])
    assert client.get(f"/admin/cases/details/?id={case.id}").status_code == 404


def test_a_lead_rolls_back_to_an_earlier_version(client, login, world):
    """Rolling back makes a new version with the earlier content (approved like any deploy); a reason is needed,
    and a version that no longer passes the checks is refused with why."""
    from sqlalchemy import update

    login(world["lead"])
    first = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "referral_test"))
    changed = first.bpmn_xml.replace('name="Record referral"', 'name="Record the referral"')
    second, _ = processes.deploy(changed, None, change_note="Renamed the first step")
    db.session.commit()
    url = f"/admin/processes/{first.id}/rollback"
    page = client.get("/admin/processes/history/referral_test/").get_data(as_text=True)
    assert "Renamed the first step" in page and "Roll back to this version" in page
    refused = client.post(url, data={"note": ""}, follow_redirects=True).get_data(as_text=True)
    assert "say what changed and why" in refused
    done = client.post(url, data={"note": "The new name confused people"}, follow_redirects=True)
    assert "has the content of version 1" in done.get_data(as_text=True)
    third = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "referral_test",
                                                              ProcessDefinition.version == 3))
    assert third.sha256 == first.sha256 and third.approval == "pending"
    assert third.change_note == "Back to version 1: The new name confused people"
    # A version whose content no longer passes the checks is refused with the reason; nothing is made.
    first_id = first.id
    db.session.execute(update(ProcessDefinition).where(ProcessDefinition.id == first_id).values(
        bpmn_xml=changed.replace("<bpmn:userTask", "<bpmn:userTask camunda:candidateGroups=\"nobody\"", 1)
        if "candidateGroups" not in changed else changed.replace('candidateGroups="', 'candidateGroups="nobody,')))
    db.session.commit()
    broken = client.post(f"/admin/processes/{first_id}/rollback", data={"note": "Try it"}, follow_redirects=True)
    assert "no longer passes the checks" in broken.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ProcessDefinition.id)).where(
        ProcessDefinition.key == "referral_test")) == 3


SHOWING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="showing_test" name="Showing test" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="refer" name="Refer" camunda:candidateGroups="organisation:police_a">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="safe_times" label="Safe times to contact" type="string"/>
        <camunda:formField id="phone_safe" label="Safe to call this number" type="boolean"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="contact" name="Contact the victim" camunda:candidateGroups="organisation:police_a">
      <bpmn:extensionElements>
        <camunda:properties><camunda:property name="show" value="safe_contact,safe_times,phone_safe"/></camunda:properties>
        <camunda:formData><camunda:formField id="contacted" label="Contacted" type="boolean"/></camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="refer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="refer" targetRef="contact"/>
    <bpmn:sequenceFlow id="f3" sourceRef="contact" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_contact_step_shows_safe_contact_and_what_earlier_steps_said_first(client, login, world):
    from models import Case, User

    pc = db.session.scalar(select(User).where(User.email == world["pc"]))
    case = db.session.get(Case, world["case"])
    case.participants[0].person.safe_contact = "Text first; never call after 6pm (partner home)"
    processes.deploy(SHOWING, None)
    tasks.start(pc, case, "showing_test")
    db.session.commit()
    login(world["pc"])
    refer = db.session.scalar(select(WorkItem).where(WorkItem.bpmn_id == "refer"))
    assert client.post(f"/admin/my_work/{refer.id}/", data={"safe_times": "Weekdays 9-12", "phone_safe": "false"}
                       ).status_code in (302, 303)
    contact = db.session.scalar(select(WorkItem).where(WorkItem.bpmn_id == "contact"))
    page = client.get(f"/admin/my_work/{contact.id}/").get_data(as_text=True)
    before = page.split("Before you start", 1)[1].split('id="task-form"', 1)[0]
    assert "Text first; never call after 6pm (partner home)" in before
    assert "Safe times to contact" in before and "Weekdays 9-12" in before
    assert "Safe to call this number" in before and ">No<" in before
