"""WCAG 2.2 AA in the browser: axe-core (the npm package, installed into tests/axe by `npm ci --prefix tests/axe`,
which .ci/run does) finds no violation of serious or critical impact on fifteen pages, each as the user who works
there; and My work, a step form, the case page, people and cases do not scroll sideways on a 390-pixel phone."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

AXE = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


@pytest.fixture
def axe_page(browser, live_app):
    """A page that may have axe injected: the check runs with the content security policy bypassed (the test's
    own script, not the app's pages, needs it)."""
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("axe-core is missing: .ci/run runs npm ci --prefix tests/axe")
        pytest.skip("accessibility tests need axe-core: npm ci --prefix tests/axe")
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_app[0], bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN)


def _check(page, name: str, found: dict[str, list[str]]) -> None:
    found[name] = _violations(page)


def test_fifteen_pages_have_no_serious_or_critical_violations(axe_page, live_app):
    page, found = axe_page, {}
    page.goto("/login")
    _check(page, "login", found)

    log_in(page, "practitioner@police.demo")
    page.goto("/admin/my_work/")
    _check(page, "my work", found)
    page.goto(_first_step(page))
    page.locator("#task-form").wait_for()
    page.locator("#task-form button[type=submit]").click()   # nothing filled in: the form with its errors
    page.locator(".invalid-feedback").first.wait_for()
    expect(page.locator("#form-error-summary")).to_be_focused()   # read out first; its links go to the fields
    _check(page, "step form with errors", found)
    page.goto("/admin/cases/")
    page.locator("table a[href*='details']").first.click()
    page.locator("#participants").wait_for()
    _check(page, "case page", found)
    page.goto("/admin/people/new/")
    _check(page, "register a person", found)
    page.goto("/admin/cases/new/")
    _check(page, "open a case", found)
    page.get_by_role("button", name="Log out").click()

    log_in(page, "lead@victims.demo")
    page.goto("/admin/processes/")
    _check(page, "processes", found)
    page.get_by_role("button", name="Edit in designer: victim_referral").click()
    page.locator(".designer[data-ready='true']").wait_for(timeout=20_000)
    _check(page, "designer", found)
    page.get_by_role("button", name="Test run the saved draft").click()
    page.locator(".bpmn-canvas[data-rendered='true']").wait_for(timeout=20_000)
    _check(page, "test run", found)
    page.get_by_role("button", name="Log out").click()

    log_in(page, "manager@victims.demo")
    for name, url in (("dashboard", "/admin/dashboard/"), ("reports", "/admin/reports/"),
                      ("import", "/admin/imports/")):
        page.goto(url)
        _check(page, name, found)
    page.goto("/admin/dashboard/")
    page.locator("#headline a").first.click()
    page.locator("#drill-list").wait_for()
    _check(page, "the cases behind a dashboard figure", found)
    page.get_by_role("button", name="Log out").click()

    log_in(page, "auditor@opcc.demo")
    page.goto("/admin/audit/")
    _check(page, "audit", found)
    page.get_by_role("button", name="Log out").click()

    log_in(page, "admin@opcc.demo")
    page.goto("/admin/organisations/new/")
    # Nothing filled in (the browser's own check switched off, as a screen reader user may meet the server's).
    page.evaluate("() => document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#form-error-summary")).to_be_focused()
    _check(page, "new organisation with errors", found)
    assert len(found) == 15
    assert not {name: v for name, v in found.items() if v}, found


def _first_step(page) -> str:
    """The first step listed in My work (the page the browser is on)."""
    for link in page.locator("a[href^='/admin/my_work/']").all():
        href = link.get_attribute("href") or ""
        if re.fullmatch(r"/admin/my_work/\d+/", href):
            return href
    raise AssertionError("no step in My work")


def _overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_no_sideways_scrolling_on_a_phone(browser, live_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_app[0], is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, "practitioner@police.demo")
        page.goto("/admin/my_work/")
        widths = {"my work": _overflow(page)}
        page.goto(_first_step(page))
        widths["step form"] = _overflow(page)
        page.goto("/admin/cases/details/?id=1")
        widths["case page"] = _overflow(page)
        page.goto("/admin/people/")
        widths["people"] = _overflow(page)
        page.goto("/admin/cases/")
        widths["cases"] = _overflow(page)
        assert widths == {"my work": 0, "step form": 0, "case page": 0, "people": 0, "cases": 0}, widths
    finally:
        context.close()
