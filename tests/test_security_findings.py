"""Regression tests for the defects a security test of the landed code found (issue 13): each input that gave
a 500 now gets a 4xx with a message, and each privilege that was too wide is narrowed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from models import AuditEvent, CaseTypeProcess, ItemStatus, ProcessDraft, User, WorkItem, audit, db
from tests.factories import make_org, make_user
from workflows import drafts, processes

DATA = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize("query", ["case=%C2%B2", "case=%D9%A1%D9%A2", "case=99999999999999999999",
                                   "limit=%D9%A3", "limit=99999999999999999999"])
def test_odd_numbers_in_query_strings_are_4xx(api, query):
    response = api["pc"].get(f"/tasks?{query}")
    assert response.status_code in (400, 404) and "error" in response.json


@pytest.mark.parametrize("url", ["/api/v1/tasks/99999999999", "/api/v1/cases/2147483648"])
def test_ids_beyond_the_column_range_are_404_json(api, url):
    response = api["pc"].client.get(url, headers=api["pc"]._headers())
    assert response.status_code == 404 and response.is_json


def test_console_ids_beyond_the_column_range_are_404(client, login, partnership):
    login("pc@police.example.org")
    assert client.get("/admin/cases/details/?id=99999999999999").status_code == 404
    assert client.get("/admin/people/details/?id=-3").status_code == 404


def test_nul_characters_are_refused(api, client, login):
    assert api["pc"].get("/tasks?status=rea%00dy").status_code == 400
    response = api["pc"].post("/cases", {"case_type": "victim_support", "title": "A\u0000B"})
    assert response.status_code == 400 and "NUL" in response.json["error"]
    login("pc@police.example.org")
    assert client.get("/admin/cases/?search=ab%00cd").status_code == 400


def test_lone_surrogates_are_refused_and_pairs_kept(api):
    api = api["pc"]
    raw = b'{"case_type": "victim_support", "title": "bad \\ud800 text"}'
    response = api.client.post("/api/v1/cases", data=raw, content_type="application/json", headers=api._headers())
    assert response.status_code == 400 and "surrogate" in response.json["error"]
    pair = b'{"case_type": "victim_support", "title": "smile \\ud83d\\ude00"}'
    ok = api.client.post("/api/v1/cases", data=pair, content_type="application/json", headers=api._headers())
    assert ok.status_code == 201
    assert api.get(f"/cases/{ok.json['id']}").json["title"] == "smile \U0001F600"


def test_a_surrogate_stored_before_the_check_no_longer_breaks_the_case_page(api, client, login):
    """Answers are JSON text, where a lone surrogate is stored escaped; the page shows it as "?" instead of a 500."""
    assert api["lead"].deploy("one_step.bpmn").status_code == 201
    case_id = api["pc"].post("/cases", {"case_type": "victim_support", "title": "t"}).json["id"]
    api["pc"].post(f"/cases/{case_id}/processes", {"key": "one_step"})
    item = db.session.scalar(select(WorkItem).where(WorkItem.case_id == case_id))
    item.data, item.status = '{"note": "bad \\ud800 text"}', ItemStatus.COMPLETED
    db.session.commit()
    login("pc@police.example.org")
    page = client.get(f"/admin/cases/details/?id={case_id}")
    assert page.status_code == 200 and "bad ? text" in page.get_data(as_text=True)


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_refused(api, depth):
    api = api["pc"]
    raw = '{"case_type": "victim_support", "title": "x", "extra": ' + "[" * depth + "]" * depth + "}"
    response = api.client.post("/api/v1/cases", data=raw, content_type="application/json", headers=api._headers())
    assert response.status_code == 400 and "nested" in response.json["error"]


def test_admins_may_not_deploy_map_or_migrate(client, login, ctx):
    org = make_org("vs", "victim_services")
    lead = make_user(org, "lead", "practitioner", email="lead@vs.example.org")
    make_user(org, "admin", email="admin@vs.example.org")
    definition, _ = processes.deploy((DATA / "referral_test.bpmn").read_text(), lead)
    draft = drafts.open_draft(lead, definition)
    db.session.commit()
    login("admin@vs.example.org")
    assert client.post("/admin/designer/new/", data={"from": str(definition.id)}).status_code == 403
    deploy = client.post(f"/admin/designer/{draft.id}/deploy", json={"xml": draft.bpmn_xml, "version": 1})
    assert deploy.status_code == 403
    assert client.post(f"/admin/processes/{definition.id}/impact/").status_code == 403
    assert client.get("/admin/case_type_processes/").status_code == 200       # admins still see the mapping
    before = db.session.scalars(select(CaseTypeProcess.id)).all()
    client.post("/admin/case_type_processes/new/", data={"case_type": "victim_support",
                                                         "process_key": "referral_test", "position": "9"})
    db.session.rollback()
    assert db.session.scalars(select(CaseTypeProcess.id)).all() == before


def test_designer_download_name_cannot_inject_headers(client, login, ctx):
    org = make_org("vs", "victim_services")
    lead = make_user(org, "lead", "practitioner", email="lead@vs.example.org")
    definition, _ = processes.deploy((DATA / "referral_test.bpmn").read_text(), lead)
    draft = drafts.open_draft(lead, definition)
    draft.key = 'x";\r\nSet-Cookie: stolen=1; a="'
    db.session.commit()
    login("lead@vs.example.org")
    response = client.get(f"/admin/designer/{draft.id}/diagram.bpmn?download=1")
    disposition = response.headers["Content-Disposition"]
    assert response.status_code == 200 and "stolen" not in response.headers.get("Set-Cookie", "")
    assert disposition == 'attachment; filename="x____Set-Cookie__stolen_1__a__.bpmn"'
    assert db.session.get(ProcessDraft, draft.id) is not None


def test_settings_refuse_non_ascii_digits(client, login, ctx):
    make_user(make_org(), "admin", email="admin@x.example.org")
    login("admin@x.example.org")
    from models import Setting

    setting = db.session.scalars(select(Setting)).first()
    if setting is None:
        pytest.skip("no settings rows in this schema")
    response = client.post(f"/admin/settings/edit/?id={setting.key}", data={"key": setting.key, "value": "²"})
    assert response.status_code == 200 and "whole number" in response.get_data(as_text=True)


def test_unknown_typed_login_names_are_not_kept(client, ctx):
    make_user(make_org(), email="pc@x.example.org")
    client.post("/login", data={"email": "hunter2-secret", "password": "x"})

    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).one()
    assert "hunter2" not in json.dumps([event.user_email, event.detail])
    assert db.session.scalar(select(User).where(User.email == "hunter2-secret")) is None


def test_denials_leave_audit_rows(app, api, client, login):

    login("pc@police.example.org")
    assert client.get("/admin/cases/details/?id=424242").status_code == 404          # invisible or absent
    assert client.get("/admin/users/").status_code == 404                             # a screen not theirs
    assert api["pc"].get("/tasks/424242").status_code == 404
    bad = app.test_client().get("/api/v1/tasks", headers={"Authorization": "Bearer cbk_not-a-real-token"})
    assert bad.status_code == 401
    db.session.rollback()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")
                                .order_by(AuditEvent.id)).all()
    seen = [(e.detail_dict["status"], e.detail_dict["path"], e.user_email) for e in events]
    assert (404, "/admin/cases/details/", "pc@police.example.org") in seen
    assert (404, "/admin/users/", "pc@police.example.org") in seen
    assert (404, "/api/v1/tasks/424242", "pc@police.example.org") in seen
    assert (401, "/api/v1/tasks", None) in seen
    assert app.test_client().get("/apple-touch-icon.png").status_code == 404   # browsers' own requests
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "denied",
                                                      AuditEvent.detail.contains("apple-touch-icon"))) is None


def test_a_bad_csrf_token_is_refused_and_audited(db_url, ctx):
    from app import create_app
    from tests.conftest import _config

    app = create_app(_config(db_url, WTF_CSRF_ENABLED=True))
    response = app.test_client().post("/login", data={"email": "x@example.org", "password": "y", "csrf_token": "no"})
    assert response.status_code == 400
    db.session.rollback()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).one()
    assert event.detail_dict["status"] == 400 and "CSRF" in event.detail_dict["reason"]
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("host", ["a" * 5000, "evil host", "[::1", "x.example.org:99999999"])
def test_a_bad_host_header_is_400(client, host):
    response = client.get("/login", headers={"Host": host})
    assert response.status_code == 400 and b"Bad Host header" in response.data


def test_a_normal_host_header_is_served(client):
    assert client.get("/login", headers={"Host": "casebook.example.org:8443"}).status_code == 200


@pytest.mark.parametrize("body", [{"case_type": "victim_support", "title": ["a list"]},
                                  {"case_type": {"an": "object"}, "title": "x"},
                                  {"case_type": "victim_support", "title": "x", "risk_level": {"a": 1}},
                                  {"case_type": "victim_support", "title": 12345}])
def test_wrong_json_types_are_422_not_500(api, body):
    response = api["pc"].post("/cases", body)
    assert response.status_code == 422 and response.json["errors"]


def test_content_views_leave_audit_rows(api, client, login):

    assert api["lead"].deploy("one_step.bpmn").status_code == 201
    case_id = api["pc"].post("/cases", json={"case_type": "victim_support", "title": "t"}).json["id"]
    (task,) = api["pc"].post(f"/cases/{case_id}/processes", json={"key": "one_step"}).json["tasks"]
    assert api["pc"].get(f"/tasks/{task['id']}").status_code == 200
    assert api["pc"].get("/tasks").status_code == 200
    login("pc@police.example.org")
    assert client.get(f"/admin/my_work/{task['id']}/").status_code == 200
    assert client.get("/admin/people/?search=Husain").status_code == 200
    login("auditor@police.example.org")
    first = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id))
    assert client.get(f"/admin/audit/details/?id={first}").status_code == 200
    db.session.rollback()
    rows = {(e.action, e.object_type) for e in db.session.scalars(select(AuditEvent))}
    assert {("view", "work_item"), ("view", "task_list"), ("search", "person"),
            ("view", "audit_event")} <= rows
    search = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "search")).first()
    # The name typed is kept as a keyed digest (the log outlives the person's records), found by the same name.
    assert search.user_email == "pc@police.example.org" and "Husain" not in (search.detail or "")
    assert search.object_id == audit.term_digest("  HUSAIN ")
    found = client.get("/admin/audit/searched/?name=husain", follow_redirects=True).get_data(as_text=True)
    assert "pc@police.example.org" in found and search.object_id in found


def test_the_csp_allows_no_inline_script_but_the_consoles_own(client, login, ctx):
    make_user(make_org(), "admin", email="admin@x.example.org")
    login("admin@x.example.org")
    page = client.get("/admin/users/")
    policy = page.headers["Content-Security-Policy"]
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'nonce-" in script_src
    nonce = script_src.split("'nonce-")[1].split("'")[0]
    html = page.get_data(as_text=True)
    assert f'nonce="{nonce}"' in html and "onclick=" not in html and "data-model-action=" in html



def test_a_return_address_with_a_line_break_is_refused(client, login, partnership):
    """Found by tests/test_bad_input.py: Flask-Admin put `url` into the Location header and answered 500."""
    login("lead@vs.example.org")
    response = client.post("/admin/case_type_processes/action/", data={"action": "approve", "url": "\n"})
    assert response.status_code == 400 and "control character" in response.get_data(as_text=True)
    assert client.get("/login?next=/admin/%0d%0aSet-Cookie:x=1").status_code in (302, 400)


def test_ids_typed_into_console_forms_beyond_the_column_range_are_refused(client, login, api):
    """Found by tests/test_bad_input.py: giving a step to user 99999999999999999999 was a 500 on SQLite."""
    assert api["lead"].deploy("one_step.bpmn").status_code == 201
    case_id = api["pc"].post("/cases", {"case_type": "victim_support", "title": "t"}).json["id"]
    task = api["pc"].post(f"/cases/{case_id}/processes", {"key": "one_step"}).json["tasks"][0]
    manager = make_user(db.session.get(User, 1).organisation, "manager", email="boss@police.example.org")
    login(manager.email)
    response = client.post(f"/admin/my_work/{task['id']}/give/", data={"user": "99999999999999999999"})
    assert response.status_code in (302, 400)
    assert client.get("/admin/processes/history/one_step/?to=99999999999999999999&from=%D9%A1").status_code in (
        200, 404)


@pytest.mark.parametrize("body", [True, [1, 2], [["a"]], {"body": 5}, {"body": {"x": 1}}])
def test_json_sent_to_a_console_form_is_a_400(client, login, api, body):
    """Found by tests/test_bad_input.py: Flask-WTF read a JSON body as the form's data, untyped, and failed."""
    case_id = api["pc"].post("/cases", {"case_type": "victim_support", "title": "t"}).json["id"]
    login("pc@police.example.org")
    assert client.post(f"/admin/cases/{case_id}/notes/", json=body).status_code == 400
    lead = db.session.scalar(select(User).where(User.email == "lead@vs.example.org"))
    draft = drafts.open_draft(lead)
    db.session.commit()
    login(lead.email)
    assert client.post(f"/admin/designer/{draft.id}/validate", json=[1]).status_code == 400


def test_a_bearer_token_outranks_a_session_cookie(api, client, login):
    """Found while writing the intake tests: a request with a council token and a police cookie acted as police."""
    login("pc@police.example.org")
    who = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {api['council'].token}"})
    assert who.status_code == 200
    opened = client.post("/api/v1/cases", json={"case_type": "victim_support", "title": "t"},
                         headers={"Authorization": f"Bearer {api['council'].token}"})
    assert opened.status_code == 201
    assert api["council"].get(f"/cases/{opened.json['id']}").json["lead_organisation"] == "mansfield"
    bad = client.get("/api/v1/cases", headers={"Authorization": "Bearer cbk_not-a-token"})
    assert bad.status_code == 401    # a bad token never falls back to the cookie
