"""In the browser: the MARAC coordinator signs the register, lists a case, writes its minutes, agrees an action for
City Homes and records the outcome; City Homes finds the action in My work; the minutes print marked."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from casework import cases
from models import Case, Organisation, db
from tests.e2e.conftest import log_in, shot


def _case_known_to_the_marac(app) -> str:
    """The demo burglary case, shared with the MARAC (as a referral would)."""
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.title.like("Burglary%")))
        marac = db.session.scalar(select(Organisation).where(Organisation.code == "notts_marac"))
        cases.share_with(case, marac, "MARAC referral")
        db.session.commit()
        reference = case.reference
        db.session.remove()
    return reference


def test_a_coordinator_runs_a_meeting_and_the_owner_sees_the_action(page, live_app):
    base, app = live_app
    reference = _case_known_to_the_marac(app)
    log_in(page, "practitioner@notts-marac.demo")
    page.goto("/admin/meetings/")
    page.locator("[data-meeting] a").first.click()
    page.get_by_role("heading", name="Attendance register").wait_for()
    page.get_by_label("I accept the confidentiality statement").check()
    page.get_by_role("button", name="Sign the register").click()
    page.get_by_text("You are on the register.").wait_for()

    page.get_by_label("Case reference").fill(reference)
    page.get_by_label("Why it is listed").fill("Professional judgement: repeat victimisation")
    page.get_by_role("button", name="List the case").click()
    page.get_by_text(f"Listed {reference}.").wait_for()
    item = page.locator(f"[data-agenda-case='{reference}']")
    item.get_by_label("Minutes").fill("Police and housing shared what they hold; the risk is rising.")
    item.get_by_role("button", name="Save the minutes").click()
    page.get_by_text("Minutes saved.").wait_for()

    item = page.locator(f"[data-agenda-case='{reference}']")
    item.get_by_label("Action").fill("Fit a door chain and check the locks")
    item.get_by_label("Owner").select_option("city_homes")
    item.get_by_label("Due").fill((date.today() + timedelta(days=10)).strftime("%d/%m/%Y"))
    shot(page, "meeting-action-form")
    item.get_by_role("button", name="Add the action").click()
    page.get_by_text("Action for Nottingham City Homes added").wait_for()

    item = page.locator(f"[data-agenda-case='{reference}']")
    item.get_by_label("Outcome in a line").fill("Heard; action agreed for City Homes")
    item.get_by_role("button", name="Record the outcome").click()
    page.get_by_text(f"Outcome recorded for {reference}").wait_for()
    shot(page, "meeting-minutes")
    page.get_by_role("link", name="print").nth(1).click()   # the minutes, as the browser prints them
    page.get_by_text("OFFICIAL-SENSITIVE").first.wait_for()
    assert "the risk is rising" in page.content()
    page.go_back()
    page.get_by_role("button", name="Log out").click()

    log_in(page, "practitioner@cityhomes.demo")
    page.goto("/admin/my_work/")
    row = page.get_by_role("link", name=re.compile("Carry out the panel action"))
    row.first.click()
    page.get_by_label("The action", exact=True).wait_for()
    assert "door chain" in page.get_by_label("The action", exact=True).input_value()
    shot(page, "meeting-action-in-my-work")

