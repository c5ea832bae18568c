"""A lead tries a draft's deadline in a test run: the due date on the step and the diagram, the path taken in
green, and the escalation once the test clock passes the timer."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from models import User, db
from tests.e2e.conftest import log_in, shot
from workflows import drafts, processes

DEADLINE = Path(__file__).resolve().parents[1] / "data" / "deadline_test.bpmn"


def _draft(app) -> int:
    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == "lead@victims.demo"))
        definition, _ = processes.deploy(DEADLINE.read_text(), lead)
        draft = drafts.open_draft(lead, definition)
        db.session.commit()
        draft_id = draft.id
        db.session.remove()
    return draft_id


def test_a_lead_steps_a_test_run_through_its_deadline(page, live_app):
    _base, app = live_app
    draft_id = _draft(app)
    log_in(page, "lead@victims.demo")
    page.goto(f"/admin/designer/{draft_id}/")
    page.get_by_role("button", name="Test run the saved draft").click()
    page.get_by_label("How urgent").select_option("high")
    page.get_by_role("button", name='Complete "Triage the referral"').click()
    # The next step says when it is due, on the page and on the diagram; the path so far is green.
    step = page.locator(".test-step[data-step='contact']")
    step.locator(".step-due").wait_for()
    page.locator(".bpmn-canvas[data-rendered='true']").wait_for(timeout=20_000)
    assert page.locator(".djs-element.cb-completed[data-element-id='triage']").count() == 1
    assert page.locator(".djs-element.cb-ready[data-element-id='contact']").count() == 1
    assert page.locator(".djs-element.cb-taken[data-element-id='f2']").count() == 1
    assert "Due " in page.locator(".cb-due").first.inner_text()
    assert "High: contact today" in page.locator(".test-log").inner_text()
    shot(page, "test-run-due-date")
    page.get_by_role("button", name="Go to the next timer").click()
    page.get_by_text("The test run's clock now reads").wait_for()
    page.locator(".test-step[data-step='escalate']").wait_for()
    page.locator(".bpmn-canvas[data-rendered='true']").wait_for(timeout=20_000)
    assert page.locator(".djs-element.cb-ready[data-element-id='escalate']").count() == 1
    assert page.locator(".djs-element.cb-taken[data-element-id='f4']").count() == 1
    assert "The clock was moved to" in page.locator(".test-log").inner_text()
    shot(page, "test-run-after-timer")
