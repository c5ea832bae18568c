"""In the browser: a police practitioner asks City Homes for information with a due date; a City Homes officer sees
the bell count, answers; the police practitioner is told and sees the answer on the case."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from models import Case, db
from tests.e2e.conftest import log_in, shot


def _burglary_case(app) -> tuple[int, str]:
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.title.like("Burglary%")))
        found = case.id, case.reference
        db.session.remove()
    return found


def test_ask_city_homes_and_see_the_answer(page, live_app):
    base, app = live_app
    case_id, reference = _burglary_case(app)
    due = (date.today() + timedelta(days=7)).isoformat()

    log_in(page, "practitioner@police.demo")
    page.goto(f"/admin/cases/details/?id={case_id}")
    page.get_by_label("Who", exact=True).select_option("organisation:city_homes")
    page.get_by_label("What you need").fill("Has the victim's landlord had reports of damage at this address?")
    page.get_by_label("Answer by").fill(due)
    shot(page, "request-ask-form")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Request sent to Nottingham City Homes.").wait_for()
    page.get_by_role("button", name="Log out").click()

    log_in(page, "practitioner@cityhomes.demo")
    bell = page.locator("#bell")
    assert int(bell.locator("[data-testid='bell-count']").inner_text()) >= 1
    shot(page, "request-bell")
    bell.click()
    page.get_by_role("link", name=re.compile(f"New step for your organisation: “Answer the request” on {reference}")).click()
    page.get_by_label("The request").wait_for()
    assert "reports of damage" in page.get_by_label("The request").input_value()
    page.get_by_label("Outcome").select_option("done")
    page.get_by_label(re.compile("^Your answer")).fill("Two reports in 2025; the door was repaired in March.")
    shot(page, "request-answer-form")
    page.get_by_role("button", name="Complete step").click()
    page.get_by_text("Completed: Answer the request.").wait_for()
    page.get_by_role("button", name="Log out").click()

    log_in(page, "practitioner@police.demo")
    page.locator("#bell").click()
    page.get_by_role("link", name=f"Your request on {reference} was answered").click()
    page.wait_for_url(re.compile(r".*/admin/cases/details/.*"))
    history = page.locator("[data-instance] table").filter(has_text="Answer the request")
    assert "the door was repaired in March" in history.inner_text()
    shot(page, "request-answer-seen")
