"""Meetings with processes: a meeting step waits on the panel's next meeting, is completed when the meeting
records the case's outcome, and each action agreed is a step for its owner that carries forward while open."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from casework import meetings
from casework.errors import InvalidData, InvalidInput, NotPermitted
from models import User, WorkflowInstance, WorkItem, db
from models.meetings import AgendaItem, MeetingAction
from workflows import panels, processes

LISTING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="listing_test" name="Listing test" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="prep" name="Research for the meeting" camunda:candidateGroups="service:policing">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="police_info" label="What the police hold" type="string"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="hear" name="Hear the case" camunda:candidateGroups="service:marac">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="meeting" value="marac"/>
          <camunda:property name="meeting_reason" value="${'Score ' + str(score)}"/>
          <camunda:property name="meeting_research" value="prep"/>
        </camunda:properties>
        <camunda:formData>
          <camunda:formField id="risk_analysis" label="Risk analysis" type="string">
            <camunda:validation><camunda:constraint name="required"/></camunda:validation>
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="after" name="After the meeting" camunda:candidateGroups="service:policing">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="prep"/>
    <bpmn:sequenceFlow id="f1" sourceRef="prep" targetRef="hear"/>
    <bpmn:sequenceFlow id="f2" sourceRef="hear" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def panel(walk):
    walk.deploy("panel_action")
    processes.deploy(LISTING)
    db.session.commit()
    return walk


def _schedule(days: int = 7, invite=("notts_police", "health")):
    coordinator = _user("practitioner@vpp-panel.example.org")
    when = datetime.now(timezone.utc) + timedelta(days=days)
    meeting = meetings.schedule(coordinator, "marac", when, chair="Chair Person", place="Room 1", invite=list(invite))
    db.session.commit()
    return coordinator, meeting


def test_a_meeting_step_waits_for_the_meeting_and_continues_with_its_outcome(panel):
    waiting = panel.open_case(partners=("vpp_panel",))
    panel.start(waiting, "listing_test", {"score": 15})
    panel.complete(waiting, "prep", "notts_police", {"police_info": "Two call-outs"})
    step = panel.step(waiting, "hear", "vpp_panel")
    # Not from My work: only the meeting completes it.
    answer = panel.post(f"/tasks/{step['id']}/complete", {"data": {"risk_analysis": "x"}}, org="vpp_panel")
    assert answer.status_code == 409 and "completed at the meeting" in answer.json["error"]

    coordinator, meeting = _schedule()
    later = panel.open_case(partners=("vpp_panel",))
    panel.start(later, "listing_test", {"score": 21})
    panel.complete(later, "prep", "notts_police", {"police_info": "None"})
    db.session.refresh(meeting)
    assert [(i.case_id, i.source, i.reason) for i in meeting.items] == [
        (waiting, "process", "Score 15"), (later, "process", "Score 21")]

    item = meeting.items[0]
    with pytest.raises(InvalidInput, match="attendance register"):
        meetings.write_minutes(coordinator, item, "Discussed.")
    meetings.attend(coordinator, meeting)
    police = _user("practitioner@notts-police.example.org")
    meetings.attend(police, meeting)
    with pytest.raises(NotPermitted):
        meetings.write_minutes(police, item, "Police minutes")   # minutes are the panel's
    meetings.write_minutes(coordinator, item, "Risk discussed; agencies shared what they hold.")
    action = panels.add_action(coordinator, item, "health", "Flag the GP record", date.today() + timedelta(days=10))
    db.session.commit()   # each console request commits on its own
    with pytest.raises(InvalidInput, match="owns the action"):
        panels.add_action(coordinator, item, "", "No owner", date.today())
    with pytest.raises(InvalidData):
        panels.record_outcome(coordinator, item, {}, "Heard")   # the step's own form still applies
    db.session.rollback()
    panels.record_outcome(coordinator, item, {"risk_analysis": "High, escalating"}, "Heard; plan agreed")
    db.session.commit()

    after = panel.step(waiting, "after", "notts_police")
    instance = db.session.get(WorkflowInstance, db.session.get(WorkItem, after["id"]).instance_id)
    assert instance.status.value == "running"
    heard = db.session.get(WorkItem, step["id"])
    data = heard.answers
    assert data["meeting_id"] == meeting.id and data["open_actions"] == 1
    assert data["meeting_actions"][0]["owner"] == "health"

    # The action is a step for its owner; "in progress" keeps it open.
    (owned,) = [t for t in panel.ready(waiting, "health") if t["bpmn_id"] == "report_action"]
    assert owned["organisation"] == "health"
    refused = panel.post(f"/tasks/{owned['id']}/complete", {"data": {
        "action_state": "not_achievable", "action_update": "Tried"}}, org="health")
    assert refused.status_code == 422 and "not_achievable_reason" in refused.json["errors"]
    done = panel.post(f"/tasks/{owned['id']}/complete", {"data": {
        "action_state": "in_progress", "action_update": "Asked the GP"}}, org="health")
    assert done.status_code == 200, done.json
    db.session.expire_all()
    assert db.session.get(MeetingAction, action.id).state == "in_progress"
    fact = panel.facts(waiting, "panel_action")[f"action-{action.id}"]   # what the dashboard and exports count
    assert fact.status == "open" and fact.owner_organisation_id is not None and fact.due_at is not None

    # The next meeting carries the open action's case forward.
    _, following = _schedule(days=35)
    listed = {i.case_id: i for i in following.items}
    assert listed[waiting].source == "carried" and "1 action(s) still open" in listed[waiting].reason
    assert db.session.get(MeetingAction, action.id).carried == 1
    assert meetings.summary(waiting, "marac") == {"open": 1, "done": 0, "not_achievable": 0, "carried": 1}


def test_bad_meeting_input_is_refused(panel):
    coordinator = _user("practitioner@vpp-panel.example.org")
    with pytest.raises(InvalidInput, match="future"):
        meetings.schedule(coordinator, "marac", datetime.now(timezone.utc) - timedelta(hours=1), chair="C",
                          place="Room")
    with pytest.raises(InvalidInput, match="place or a link"):
        meetings.schedule(coordinator, "marac", datetime.now(timezone.utc) + timedelta(days=1), chair="C")
    police = _user("practitioner@notts-police.example.org")
    with pytest.raises(NotPermitted):
        meetings.schedule(police, "marac", datetime.now(timezone.utc) + timedelta(days=1), chair="C", place="R")
    _, meeting = _schedule()
    case_id = panel.open_case(partners=("vpp_panel",))
    reference = db.session.get(AgendaItem.case.property.mapper.class_, case_id).reference
    meetings.list_case(coordinator, meeting, reference, "Professional judgement")
    with pytest.raises(InvalidInput, match="already on this meeting's agenda"):
        meetings.list_case(coordinator, meeting, reference, "Again")
    fire = _user("practitioner@notts-fire.example.org")
    with pytest.raises(NotPermitted):
        meetings.attend(fire, meeting)   # not invited
    assert json.loads("[]") == []


def _pdf_pages(body: bytes) -> list[str]:
    import io

    from pypdf import PdfReader
    return [page.extract_text() for page in PdfReader(io.BytesIO(body)).pages]


def test_a_coordinator_runs_the_meeting_in_the_console_and_the_packs_are_marked(panel, client, login):
    cases = []
    for score in (15, 16, 17):
        case_id = panel.open_case(partners=("vpp_panel",))
        panel.start(case_id, "listing_test", {"score": score})
        panel.complete(case_id, "prep", "notts_police", {"police_info": f"Police research {score} " + "detail " * 80})
        cases.append(case_id)
    db.session.get(AgendaItem.case.property.mapper.class_, cases[2]).restricted = True
    db.session.commit()
    login("practitioner@vpp-panel.example.org")
    day = (date.today() + timedelta(days=3)).strftime("%d/%m/%Y")
    answer = client.post("/admin/meetings/schedule", data={"meeting_type": "marac", "date": day, "time": "09:30",
                                                     "place": "Room 1", "chair": "Sam Chair",
                                                     "invite": ["notts_police", "health"]})
    assert answer.status_code == 302, answer.text
    meeting_url = answer.headers["Location"]
    page = client.get(meeting_url).text
    assert page.count("listed by its process") == 2 and "Score 16" in page
    assert "A restricted case" in page   # listed, but only the people named on it see which
    refused = client.post("/admin/meetings/schedule", data={"meeting_type": "marac", "date": "01/01/2020", "time": "09:30",
                                                      "place": "Room", "chair": "C"}, follow_redirects=True)
    assert "must start in the future" in refused.text

    meeting = db.session.scalar(select(AgendaItem.meeting.property.mapper.class_).order_by(
        AgendaItem.meeting.property.mapper.class_.id.desc()))
    first = meeting.items[0]
    assert client.post(f"{meeting_url}attend", data={"accept": "yes"}).status_code == 302
    client.post(f"{meeting_url}items/{first.id}/minutes", data={"minutes": "Agencies shared; risk is high."})
    client.post(f"{meeting_url}items/{first.id}/actions", data={"owner": "health", "text": "Flag the GP record",
                                                                 "due_on": (date.today() + timedelta(days=9)).strftime("%d/%m/%Y")})
    no_owner = client.post(f"{meeting_url}items/{first.id}/actions", data={"owner": "", "text": "x", "due_on": day},
                           follow_redirects=True)
    assert "choose the organisation that owns the action" in no_owner.text
    done = client.post(f"{meeting_url}items/{first.id}/outcome",
                       data={f"i{first.id}-risk_analysis": "High", "outcome": "Heard; plan agreed"},
                       follow_redirects=True)
    assert "Outcome recorded" in done.text and "Flag the GP record" in done.text
    assert panel.step(cases[0], "after", "notts_police")

    pack = client.get(f"{meeting_url}pack.pdf")
    assert pack.status_code == 200 and pack.mimetype == "application/pdf"
    pages = _pdf_pages(pack.data)
    assert len(pages) >= 2 and all("OFFICIAL-SENSITIVE" in p for p in pages)
    text = " ".join(pages)
    assert "Score 15" in text and "Police research 15" in text and "What the police hold" in text
    minutes = _pdf_pages(client.get(f"{meeting_url}minutes.pdf").data)
    assert all("OFFICIAL-SENSITIVE" in p for p in minutes)
    assert "Agencies shared; risk is high." in " ".join(minutes) and "Flag the GP record" in " ".join(minutes)
    printable = client.get(f"{meeting_url}minutes/print").text
    assert 'class="marking"' in printable and "Sam Chair" in printable

    # An invited organisation sees the agenda and minutes but not the restricted case; one not invited sees nothing.
    client.post("/logout")
    login("practitioner@health.example.org")
    seen = client.get(meeting_url).text
    assert "Agencies shared; risk is high." in seen and "A restricted case" in seen
    restricted_ref = db.session.get(AgendaItem.case.property.mapper.class_, cases[2]).reference
    assert restricted_ref not in seen
    assert restricted_ref not in " ".join(_pdf_pages(client.get(f"{meeting_url}pack.pdf").data))
    client.post("/logout")
    login("practitioner@notts-fire.example.org")
    assert client.get(meeting_url).status_code == 404
    assert client.get(f"{meeting_url}pack.pdf").status_code == 404


def test_two_coordinators_never_overwrite_each_others_minutes_or_outcome(panel):
    from casework.errors import Conflict

    coordinator, meeting = _schedule()
    case_id = panel.open_case(partners=("vpp_panel",))
    reference = db.session.get(AgendaItem.case.property.mapper.class_, case_id).reference
    item = meetings.list_case(coordinator, meeting, reference, "Professional judgement")
    meetings.attend(coordinator, meeting)
    shown = meetings.digest(item.minutes)
    meetings.write_minutes(coordinator, item, "First writer's minutes", shown)
    db.session.commit()
    with pytest.raises(Conflict, match="nothing was overwritten"):
        meetings.write_minutes(coordinator, item, "Second writer's minutes", shown)
    db.session.rollback()
    assert db.session.get(AgendaItem, item.id).minutes == "First writer's minutes"
    panels.record_outcome(coordinator, item, {}, "Heard")
    db.session.commit()
    with pytest.raises(InvalidInput, match="recorded already"):
        panels.record_outcome(coordinator, item, {}, "Heard again")


def test_meetings_booked_ahead_take_open_actions_and_the_next_step_once_heard(panel):
    coordinator, first = _schedule(days=7)
    _, second = _schedule(days=35)
    _, third = _schedule(days=63)
    case_id = panel.open_case(partners=("vpp_panel",))
    panel.start(case_id, "listing_test", {"score": 14})
    panel.complete(case_id, "prep", "notts_police", {"police_info": "x"})
    db.session.refresh(first)
    (item,) = first.items
    meetings.attend(coordinator, first)
    meetings.write_minutes(coordinator, item, "Heard")
    action = panels.add_action(coordinator, item, "health", "Share the discharge plan",
                               date.today() + timedelta(days=20))
    db.session.commit()
    panels.record_outcome(coordinator, item, {"risk_analysis": "High"}, "Heard")   # before the meeting's start
    db.session.commit()
    # Heard at the first meeting: the open action goes to the second (booked already), once.
    assert [i.source for i in second.items if i.case_id == case_id] == ["carried"]
    assert db.session.get(MeetingAction, action.id).carried == 1
    assert not any(i.case_id == case_id for i in third.items)
    db.session.refresh(first)
    assert len(first.items) == 1   # nothing listed again on the meeting that heard the case

    meetings.attend(coordinator, second)
    (again,) = [i for i in second.items if i.case_id == case_id]
    meetings.write_minutes(coordinator, again, "Still open")
    panels.record_outcome(coordinator, again, {}, "Reviewed; action still open")
    db.session.commit()
    assert db.session.get(MeetingAction, action.id).carried == 2
    assert [i.source for i in third.items if i.case_id == case_id] == ["carried"]
    assert meetings.summary(case_id, "marac")["carried"] == 2
