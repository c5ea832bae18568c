"""In the browser: on the demo ASB case review application, the council records a complaint (a date typed the
English way; a report dated before the incident is refused next to the field, keeping what was typed); the police
record their report of the same incident and are told it counts once."""
from __future__ import annotations

from sqlalchemy import select

from models import Case, db
from tests.e2e.conftest import log_in, shot


def _review_case(app) -> int:
    with app.app_context():
        found = db.session.scalar(select(Case.id).where(Case.title.like("ASB case review application%")))
        db.session.remove()
    return found


def _fill(page, reported_to: str, reported_on: str) -> None:
    page.get_by_text("Record an incident or complaint").click()
    page.get_by_label("When it happened").fill("02/11/2026")
    page.get_by_label("Kind").select_option(label="Anti-social behaviour")
    page.get_by_label("Who it affected").select_option(index=1)
    page.get_by_label("Reported to").select_option(label=reported_to)
    page.get_by_label("When it was reported").fill(reported_on)
    page.get_by_label("Reported by").fill("The victim, by phone")
    page.get_by_label("What happened").fill("Youths kicked the door and shouted abuse at 11pm.")


def test_record_a_complaint_and_another_agencys_report_of_it(page, live_app):
    _base, app = live_app
    case_id = _review_case(app)
    log_in(page, "practitioner@council.demo")
    page.goto(f"/admin/cases/details/?id={case_id}")
    _fill(page, "Mansfield District Council", "01/11/2026")
    page.get_by_role("button", name="Record the incident").click()
    error = page.locator("#incident-reported_on-errors")
    error.wait_for()
    assert "is before the incident happened" in error.inner_text()
    assert page.get_by_label("When it was reported").input_value() == "01/11/2026"
    shot(page, "incident-refused")
    page.get_by_label("When it was reported").fill("03/11/2026")
    page.get_by_role("button", name="Record the incident").click()
    page.get_by_text("Incident recorded.").wait_for()
    assert "Mansfield District Council" in page.locator("[data-incidents]").inner_text()
    page.get_by_role("button", name="Log out", exact=True).click()

    log_in(page, "practitioner@police.demo")
    page.goto(f"/admin/cases/details/?id={case_id}")
    _fill(page, "Nottinghamshire Police", "02/11/2026")
    page.get_by_role("button", name="Record the incident").click()
    page.get_by_text("so it counts once").wait_for()
    rows = page.locator("[data-incident]")
    assert rows.count() == 2
    assert "same incident as the report to Mansfield District Council" in page.locator("[data-incidents]").inner_text()
    shot(page, "incidents-on-the-case")
