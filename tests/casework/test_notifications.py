"""People are told: in-app notifications with a bell and the API, and e-mail through a real SMTP server in the
test process, sent from the outbox by `notifications send` (immediately or in a daily digest, as each user
chooses), retried while the server is down, given up on an address that bounces; inboxes get only safe text."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from casework import tokens
from models import AuditEvent, Notification, NotificationPreference, OutboxMessage, WorkItem, db, utcnow
from tests.factories import DATA, make_case, make_org, make_person, make_user
from workflows import processes, tasks

SECRET_TITLE = "Amira Hussain assaulted at 12 Acacia Road"


@pytest.fixture
def team(ctx):
    """A police force with two practitioners and a manager, and a victim-support charity; one-step diagram."""
    police = make_org("notts_police", "police", "Nottinghamshire Police")
    victims = make_org("victim_services", "victim_services", "Victim Services")
    users = {"pc": make_user(police, "practitioner", email="pc@police.example.org"),
             "pc2": make_user(police, "practitioner", email="pc2@police.example.org"),
             "sgt": make_user(police, "manager", email="sgt@police.example.org"),
             "vs": make_user(victims, "practitioner", email="vs@victims.example.org")}
    processes.deploy((DATA / "one_step.bpmn").read_text())
    db.session.commit()
    return police, victims, users


def _open_with_step(user) -> tuple:
    person = make_person(user, "Amira", "Hussain")
    case = make_case(user, case_type="hate_crime", title=SECRET_TITLE, participants=[(person.id, "victim")])
    tasks.start(user, case, "one_step")
    db.session.commit()
    item = db.session.scalar(select(WorkItem).where(WorkItem.case_id == case.id))
    return case, item


def _send(runner, at: datetime | None = None) -> str:
    args = ["notifications", "send"] + (["--at", at.isoformat()] if at else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_new_step_is_emailed_at_once_with_safe_content_only(team, smtp, runner):
    police, _, users = team
    case, item = _open_with_step(users["pc"])
    # Told in the app: every practitioner and manager of the organisation (no role asked for).
    told = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.kind == "new_step"))}
    assert told == {users["pc"].id, users["pc2"].id, users["sgt"].id}
    assert smtp.received == []  # nothing is sent in the request: the outbox waits for the worker
    output = _send(runner)
    assert "e-mails sent: 3" in output
    assert {r for rcpts, _ in smtp.received for r in rcpts} == {"pc@police.example.org", "pc2@police.example.org",
                                                                 "sgt@police.example.org"}
    (message,) = smtp.to("pc@police.example.org")
    body = message.get_content()
    assert message["Subject"] == f"Casebook: New step for your organisation: “The only step” on {case.reference}"
    assert message["From"] == "casebook@example.org"
    assert f"https://casebook.example.org/admin/my_work/{item.id}/" in body
    for secret in ("Amira", "Hussain", "Acacia", "assaulted"):
        assert secret not in body and secret not in message["Subject"]
    sent = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "email_sent")).all()
    assert len(sent) == 3 and {e.detail_dict["kind"] for e in sent} == {"new_step"}
    assert "e-mails sent: 0" in _send(runner)  # each message goes once


def test_due_soon_and_overdue_go_in_the_daily_digest(team, smtp, runner):
    police, _, users = team
    case, item = _open_with_step(users["pc"])
    _send(runner)
    smtp.received.clear()
    tasks.claim(users["pc"], item)
    # Due tomorrow at noon (a working day), seen this morning at 06:00 UTC, before the 07:00 digest.
    at = datetime(2030, 3, 5, 6, 0, tzinfo=timezone.utc)  # a Tuesday
    item.due_at = at + timedelta(days=1, hours=6)
    db.session.commit()
    output = _send(runner, at)
    assert "reminders: 1" in output and "digests: 0" in output and smtp.received == []
    (soon,) = db.session.scalars(select(Notification).where(Notification.kind == "due_soon")).all()
    assert soon.user_id == users["pc"].id and soon.digest_pending  # claimed: only the person who has it
    # The next morning after 07:00 local time: overdue now too, and one digest with both.
    later = datetime(2030, 3, 6, 13, 0, tzinfo=timezone.utc)
    output = _send(runner, later)
    assert "reminders: 1" in output and "digests: 1" in output and "e-mails sent: 1" in output
    (digest,) = smtp.to("pc@police.example.org")
    assert digest["Subject"] == "Casebook: your daily summary (2 items)"
    body = digest.get_content()
    assert f"Due soon: “The only step” on {case.reference}, due 06/03/2030 12:00" in body
    assert f"Overdue: “The only step” on {case.reference}, was due 06/03/2030 12:00" in body
    assert "Amira" not in body and SECRET_TITLE not in body
    assert "digests: 0" in _send(runner, later + timedelta(hours=2))  # once a day
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.kind.in_(("due_soon", "overdue")))) == 2


def test_with_the_server_down_messages_wait_in_the_outbox_and_go_when_it_returns(team, smtp, runner, client, login):
    police, _, users = team
    smtp.stop()
    case, item = _open_with_step(users["pc"])
    output = _send(runner)
    assert "e-mails sent: 0" in output and "waiting to retry: 3" in output
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    assert all("cannot reach the mail server" in r.last_error for r in rows)
    login(users["pc"].email)  # the console keeps working meanwhile
    assert client.get("/admin/my_work/").status_code == 200
    smtp.start()
    assert "e-mails sent: 0" in _send(runner)  # not yet: the backoff waits a minute
    output = _send(runner, utcnow() + timedelta(minutes=2))
    assert "e-mails sent: 3" in output and len(smtp.received) == 3
    db.session.expire_all()
    assert {r.status for r in db.session.scalars(select(OutboxMessage))} == {"sent"}


def test_an_address_that_bounces_is_given_up_and_the_rest_go(team, smtp, runner):
    police, _, users = team
    smtp.refuse.add("pc2@police.example.org")
    _open_with_step(users["pc"])
    output = _send(runner)
    assert "e-mails sent: 2" in output and "failed: 1" in output
    failed = db.session.scalar(select(OutboxMessage).where(OutboxMessage.status == "failed"))
    assert failed.to_address == "pc2@police.example.org" and "550" in failed.last_error
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "email_failed"))
    assert event.detail_dict["to_user"] == users["pc2"].id
    assert "failed: 0" in _send(runner, utcnow() + timedelta(days=1))  # never tried again


def test_choices_per_kind_and_the_shared_mailbox(team, smtp, runner, client, login):
    police, _, users = team
    police.mailbox = "control-room@police.example.org"
    db.session.commit()
    login(users["pc2"].email)
    page = client.get("/admin/notifications/settings").get_data(as_text=True)
    assert 'id="new_step-immediate" value="immediate" checked' in page
    response = client.post("/admin/notifications/settings", data={
        "new_step": "off", "assigned_to_me": "immediate", "due_soon": "digest", "overdue": "digest",
        "escalated": "immediate", "request_answered": "immediate", "case_shared": "digest"})
    assert response.status_code == 302
    bad = client.post("/admin/notifications/settings", data={"new_step": "always"})
    assert bad.status_code == 400 and "Nothing was saved" in bad.get_data(as_text=True)
    assert db.session.get(NotificationPreference, (users["pc2"].id, "new_step")).mode == "off"
    _open_with_step(users["pc"])
    _send(runner)
    recipients = {r for rcpts, _ in smtp.received for r in rcpts}
    assert recipients == {"pc@police.example.org", "sgt@police.example.org", "control-room@police.example.org"}
    # "Off" still tells them in Casebook.
    assert db.session.scalar(select(Notification).where(Notification.user_id == users["pc2"].id)) is not None


def test_without_a_mail_server_notifications_are_in_app_only(team, runner):
    police, _, users = team
    _open_with_step(users["pc"])
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 3
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert "e-mails sent: 0" in _send(runner)


def test_a_case_shared_with_an_organisation_tells_its_people(team, client, login):
    police, victims, users = team
    case, _ = _open_with_step(users["pc"])
    login(users["pc"].email)
    client.post(f"/admin/cases/{case.id}/organisations/", data={"org-organisation_id": victims.id})
    (row,) = db.session.scalars(select(Notification).where(Notification.kind == "case_shared")).all()
    assert row.user_id == users["vs"].id and row.text == f"Case {case.reference} was shared with Victim Services"


def test_the_bell_the_centre_and_the_api(team, client, login):
    police, _, users = team
    case, item = _open_with_step(users["pc"])
    other, _ = _open_with_step(users["pc2"])
    login(users["pc"].email)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'aria-label="Notifications: 2 unread"' in home and 'data-testid="bell-count">2<' in home
    centre = client.get("/admin/notifications/").get_data(as_text=True)
    assert centre.index(other.reference) < centre.index(case.reference)  # newest first
    first = db.session.scalars(select(Notification).where(Notification.user_id == users["pc"].id)
                               .order_by(Notification.id)).first()
    opened = client.get(f"/admin/notifications/{first.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/admin/my_work/{item.id}/")
    assert 'aria-label="Notifications: 1 unread"' in client.get("/admin/").get_data(as_text=True)
    client.post("/admin/notifications/read-all")
    assert 'aria-label="Notifications: 0 unread"' in client.get("/admin/").get_data(as_text=True)
    theirs = db.session.scalar(select(Notification).where(Notification.user_id == users["pc2"].id))
    assert client.get(f"/admin/notifications/{theirs.id}/open").status_code == 404

    client.post("/logout")  # the API call below is pc2's bearer token, not pc's console session
    token = tokens.issue(users["pc2"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/notifications", headers=headers).json
    assert [n["case_id"] for n in listed] == [other.id, case.id]
    assert set(listed[0]) == {"id", "kind", "text", "case_id", "task_id", "created_at", "read_at"}
    assert listed[0]["kind"] == "new_step" and listed[0]["read_at"] is None
    read = client.post(f"/api/v1/notifications/{listed[0]['id']}/read", headers=headers)
    assert read.status_code == 200 and read.json["read_at"] is not None
    assert client.post(f"/api/v1/notifications/{first.id}/read", headers=headers).status_code == 404
    assert client.get("/api/v1/notifications?limit=0", headers=headers).status_code == 400
    assert client.get("/api/v1/notifications").status_code == 401


def test_a_step_for_a_named_assignee_is_claimed_for_them_and_they_are_told(team):
    police, _, users = team
    text = (DATA / "one_step.bpmn").read_text().replace(
        'camunda:candidateGroups="police"', 'camunda:candidateGroups="police" camunda:assignee="pc2@police.example.org"')
    processes.deploy(text)
    db.session.commit()
    _, item = _open_with_step(users["pc"])
    assert item.claimed_by_id == users["pc2"].id
    told = {n.kind: n for n in db.session.scalars(select(Notification).where(Notification.user_id == users["pc2"].id))}
    assert set(told) == {"new_step", "assigned_to_me"}
    assert told["assigned_to_me"].case_id == item.case_id and told["assigned_to_me"].work_item_id == item.id
    assert told["assigned_to_me"].text == f"Assigned to you: “The only step” on {item.case.reference}"


def test_a_manager_gives_a_step_to_a_colleague_who_is_told(team, client, login):
    police, _, users = team
    case, item = _open_with_step(users["pc"])
    login(users["pc"].email)  # a practitioner: no such form, and the action is refused
    assert 'id="give-step"' not in client.get(f"/admin/my_work/{item.id}/").get_data(as_text=True)
    assert client.post(f"/admin/my_work/{item.id}/give/", data={"user": users["pc2"].id}).status_code == 403
    login(users["sgt"].email)
    page = client.get(f"/admin/my_work/{item.id}/").get_data(as_text=True)
    assert 'id="give-step"' in page and users["pc2"].name in page
    response = client.post(f"/admin/my_work/{item.id}/give/", data={"user": users["pc2"].id}, follow_redirects=True)
    assert f"is now with {users['pc2'].name}" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).claimed_by_id == users["pc2"].id
    (told,) = db.session.scalars(select(Notification).where(Notification.kind == "assigned_to_me")).all()
    assert told.user_id == users["pc2"].id and told.work_item_id == item.id
    refused = client.post(f"/admin/my_work/{item.id}/give/", data={"user": users["vs"].id}, follow_redirects=True)
    assert "choose an active colleague" in refused.get_data(as_text=True)

    client.post("/logout")
    token = tokens.issue(users["sgt"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    back = client.post(f"/api/v1/tasks/{item.id}/assign", json={"user": "PC@police.example.org"}, headers=headers)
    assert back.status_code == 200 and back.json["claimed_by"] == "pc@police.example.org"
    assert client.post(f"/api/v1/tasks/{item.id}/assign", json={"user": "nobody@example.org"},
                       headers=headers).status_code == 422


def test_the_bell_counts_no_further_than_99_plus(team, client, login):
    police, _, users = team
    db.session.add_all([Notification(user_id=users["pc"].id, kind="new_step", text=f"n{i}") for i in range(120)])
    db.session.commit()
    login(users["pc"].email)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'data-testid="bell-count">99+<' in home and "Notifications: more than 99 unread" in home
