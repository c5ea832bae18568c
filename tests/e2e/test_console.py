"""Walk the console in a real browser as practitioners would."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import log_in, shot


def test_practitioner_registers_person_and_opens_case(page):
    """A police practitioner registers a victim (meeting the duplicate warning) and opens a case."""
    log_in(page, "practitioner@police.demo")
    page.get_by_role("link", name="People").first.click()
    page.get_by_role("link", name="Create").click()
    page.get_by_label("Given name(s)").fill("Amira")
    page.get_by_label("Family name").fill("Husain")
    page.get_by_label("Date of birth", exact=True).fill("1988-03-14")
    page.get_by_role("button", name="Register person").click()
    warning = page.locator("#duplicate-warning")
    warning.wait_for()
    assert "Amira HUSSAIN" in warning.inner_text()
    shot(page, "duplicate-warning")
    page.get_by_label("I have checked").check()
    page.get_by_role("button", name="Register person").click()
    page.get_by_role("heading", name="Amira HUSAIN").wait_for()
    page.get_by_role("link", name="Open a case for this person").click()
    page.get_by_label("Case type").select_option("victim_support")
    page.get_by_label("Title").fill("Theft from vehicle")
    page.get_by_role("button", name="Open case").click()
    page.get_by_role("heading", name="Theft from vehicle").wait_for()
    assert "Amira HUSAIN" in page.locator("#participants").inner_text()
    page.get_by_label("New note").fill("Victim contacted; wants support.")
    page.get_by_role("button", name="Add note").click()
    page.get_by_text("Victim contacted; wants support.").wait_for()
    shot(page, "case-page")


def test_restricted_case_is_invisible_to_others(page, live_app):
    """The restricted DA case is visible to the named police user but not to victim services."""
    log_in(page, "practitioner@police.demo")
    page.get_by_role("link", name="Cases").first.click()
    assert "Domestic abuse, high risk" in page.content()
    shot(page, "case-list")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "practitioner@victims.demo")
    page.get_by_role("link", name="Cases").first.click()
    assert "Domestic abuse, high risk" not in page.content()
    assert "Burglary at home address" in page.content()


def test_keyboard_only_login(page):
    page.goto("/login")
    expect(page.locator("#email")).to_be_focused()   # (wait_for_function would need eval, which the CSP refuses)
    page.keyboard.type("practitioner@police.demo")  # the e-mail field has focus on load
    page.keyboard.press("Tab")
    page.keyboard.type("casebook-demo")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/")
    assert "Welcome, PC Alex Carter" in page.content()


def test_the_api_documentation_is_browsable(page, live_app):
    """Swagger UI on the generated document, under the console's strict CSP."""
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/api/docs")
    page.get_by_text("Casebook API").first.wait_for()
    page.get_by_text("/cases/{case_id}/organisations").first.wait_for()
    shot(page, "api-docs")
    assert violations == []
