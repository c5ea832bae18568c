"""One person across agencies in a real browser, on the demo partnership with its agreement enforced: victim
services registers someone the council holds, is told only "possibly known to", asks to share; the council's
manager decides in the step the request gave them (from the share-requests screen), sharing the case, and victim
services then sees it."""
from __future__ import annotations

import re

from tests.e2e.conftest import log_in, shot


def test_possibly_known_to_ask_grant_and_see(page, live_app):
    log_in(page, "practitioner@victims.demo")
    page.goto("/admin/people/new/")
    page.get_by_label("Given name(s)").fill("Maggie")                    # a nickname of Margaret
    page.get_by_label("Family name").fill("Ellison")
    page.get_by_label("Date of birth", exact=True).fill("1941-11-23")
    page.get_by_role("button", name="Register person").click()
    known = page.locator("#known-to")
    known.wait_for()
    assert "Possibly known to Mansfield District Council" in known.inner_text()
    shot(page, "possibly-known-to")
    known.get_by_text("Ask to share").click()
    page.get_by_label("Ask").select_option(label="Mansfield District Council")
    page.get_by_label("Purpose").fill("Support for an elderly victim of repeated ASB")
    page.get_by_label("Lawful basis").fill("Victims' Code; consent given by phone")
    page.get_by_role("button", name="Send the request").click()
    page.get_by_text("Asked Mansfield District Council").wait_for()

    page.get_by_role("button", name="Log out", exact=True).click()
    log_in(page, "manager@mansfield.demo")
    page.goto("/admin/share_requests/")
    request = page.locator("[data-request]").first
    request.get_by_text("Support for an elderly victim").wait_for()
    shot(page, "share-request-incoming")
    request.get_by_role("link", name="Decide").click()
    page.get_by_role("heading", name="Decide a request to share").wait_for()
    page.get_by_label("Your decision").select_option(label="Share the cases chosen below")
    page.get_by_label(re.compile("Anti-social behaviour")).check()   # not the case review application
    shot(page, "share-request-step")
    page.get_by_role("button", name="Complete step").click()
    page.get_by_text("Completed: Decide a request to share").wait_for()

    page.get_by_role("button", name="Log out", exact=True).click()
    log_in(page, "practitioner@victims.demo")
    page.goto("/admin/share_requests/")
    assert "shared CB-" in page.locator("[data-outgoing]").first.inner_text()
    page.goto("/admin/cases/?search=Ellison")
    page.get_by_text("Repeated ASB towards elderly resident").first.wait_for()
    shot(page, "shared-after-grant")
