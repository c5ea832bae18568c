"""A practitioner completes a workflow form in the browser; the next step reaches victim services."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from casework import cases
from models import Organisation, User, db
from tests.e2e.conftest import log_in, shot
from workflows import processes, tasks

DATA = Path(__file__).resolve().parents[1] / "data"


def _prepare(app) -> int:
    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == "lead@victims.demo"))
        pc = db.session.scalar(select(User).where(User.email == "practitioner@police.demo"))
        processes.deploy((DATA / "referral_test.bpmn").read_text(), lead)
        vs = db.session.scalar(select(Organisation).where(Organisation.code == "victim_services"))
        case = cases.open_case(pc, case_type="hate_crime", title="Racially aggravated criminal damage",
                               organisation_ids=[vs.id])
        tasks.start(pc, case, "referral_test")
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id


def test_complete_form_then_team_work(page, live_app):
    base, app = live_app
    case_id = _prepare(app)
    log_in(page, "practitioner@police.demo")
    page.get_by_role("link", name="Cases").first.click()
    page.get_by_role("link", name=re.compile("CB-")).first.wait_for()
    page.goto(f"/admin/cases/details/?id={case_id}")
    page.locator(".bpmn-canvas[data-rendered='true']").wait_for()
    assert page.locator(".djs-element.cb-ready[data-element-id='record']").count() == 1
    assert re.match(r"^My work \(\d+\)$", page.get_by_role("link", name=re.compile("^My work")).inner_text().strip())
    page.locator("#processes").get_by_role("link", name="Record referral").click()
    page.get_by_label("Risk score (0-27)").fill("31")
    page.get_by_role("button", name="Complete step").click()
    page.locator("#form-error-summary").wait_for()
    assert "This field is required" in page.locator("#victim_name-errors").inner_text()
    assert page.get_by_label("Victim name").get_attribute("aria-invalid") == "true"
    shot(page, "task-form-errors")
    page.get_by_label("Victim name").fill("Amira Hussain")
    page.get_by_label("Risk score (0-27)").fill("12")
    page.get_by_label("Crime type").select_option("burglary")
    page.get_by_label("Yes").check()
    page.get_by_label("Incident date").fill("2026-11-20")
    page.get_by_role("button", name="Complete step").click()
    page.get_by_text("Completed: Record referral.").wait_for()
    page.goto(f"/admin/cases/details/?id={case_id}")
    page.locator(".bpmn-canvas[data-rendered='true']").wait_for()
    assert page.locator(".djs-element.cb-completed[data-element-id='record']").count() == 1
    assert page.locator(".djs-element.cb-ready[data-element-id='triage']").count() == 1
    assert page.locator(".cb-due").count() == 1
    assert page.locator("a.bjs-powered-by").is_visible()  # bpmn.io watermark stays visible (licence)
    shot(page, "case-diagram-current-step")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "practitioner@victims.demo")
    page.get_by_role("link", name=re.compile(r"^Team work \(\d+\)")).click()
    page.get_by_role("link", name="Triage referral").first.wait_for()
    shot(page, "victim-services-team-work")
