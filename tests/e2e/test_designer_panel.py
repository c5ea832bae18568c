"""The designer's Casebook panel in the browser: a step's form fields listed by label and edited, its due date set,
a choice field added, all through bpmn-js's command stack (undo works) and saved to the draft; the full Camunda
panel folded behind a toggle; zoom buttons; problems named by element in plain words."""
from __future__ import annotations

import re

from lxml import etree
from playwright.sync_api import expect
from sqlalchemy import select

from models import ProcessDraft, db
from tests.e2e import test_accessibility as a11y
from tests.e2e.conftest import log_in, shot
from workflows import processes
from workflows.engine.parse import read_form, read_xml
from workflows.engine.results import NS

axe_page = a11y.axe_page   # the accessibility tests' fixture: a page axe-core can be injected into
STEP = "Step \u201cRecord the crime report and victim contact\u201d"


def _open_designer(page) -> list[str]:
    """Open victim_referral in the designer as its lead; returns the page's script errors as they happen."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, "lead@victims.demo")
    page.get_by_role("link", name="Processes").click()
    page.get_by_role("button", name="Edit in designer: victim_referral").click()
    page.locator(".designer[data-ready='true']").wait_for(timeout=20_000)
    return errors


def _select(page, element_id: str) -> None:
    # The designer opens on the start of a long process: bring the element into view first, as a lead scrolls.
    page.evaluate("""id => { const m = window.casebookModeler;
                             m.get('canvas').scrollToElement(m.get('elementRegistry').get(id)); }""", element_id)
    page.locator(f'.djs-element[data-element-id="{element_id}"]').first.click()
    expect(page.locator("#casebook-panel")).to_have_attribute("data-element-id", element_id)


def _commit(locator, value: str) -> None:
    """Type into a panel input and leave it, as a lead does (the panel writes on change)."""
    locator.fill(value)
    locator.press("Tab")


def _saved_step(app, element_id: str) -> tuple[str, etree._Element]:
    with app.app_context():
        xml = db.session.scalars(select(ProcessDraft.bpmn_xml).order_by(ProcessDraft.id.desc())).first()
        processes.check(xml)   # the saved draft still passes the deploy checks
        db.session.remove()
    (node,) = read_xml(xml).xpath("//bpmn:userTask[@id=$id]", namespaces=NS, id=element_id)
    return xml, node


def test_a_lead_edits_a_step_in_plain_words_and_the_draft_keeps_it(page, live_app):
    _base, app = live_app
    errors = _open_designer(page)
    panel = page.locator("#casebook-panel")
    _select(page, "record_report")
    expect(panel.get_by_role("heading", name=STEP)).to_be_visible()
    labels = panel.locator(".cb-field-label")
    assert labels.all_inner_texts()[:3] == ["Crime reference number", "Date the crime was reported", "Offence category"]
    assert panel.locator(".cb-field-meta").all_inner_texts()[:3] == ["text \u00b7 required", "date \u00b7 required",
                                                                      "choice \u00b7 required"]
    assert "crime_reference" not in panel.locator("#cbp-fields").inner_text()   # by label, not by id

    panel.get_by_role("button", name="Edit \u201cCrime reference number\u201d").click()
    expect(panel.get_by_label("Id (the name the answer is kept under)")).to_have_value("crime_reference")
    _commit(panel.get_by_label("Label", exact=True), "Police crime reference (CRN)")
    expect(labels.first).to_have_text("Police crime reference (CRN)")
    _commit(panel.get_by_label("Due date"), "${add_working_days(reported_on, 3)}")

    count = labels.count()
    panel.get_by_role("button", name="Add a field").click()
    label = panel.get_by_label("Label", exact=True)
    expect(label).to_be_focused()
    _commit(label, "Referral priority")
    expect(panel.get_by_label("Id (the name the answer is kept under)")).to_have_value("referral_priority")
    panel.get_by_label("Type", exact=True).select_option("enum")
    panel.get_by_role("button", name="Add a choice").click()
    _commit(panel.get_by_label("Choice 1", exact=True), "High")
    panel.get_by_role("button", name="Add a choice").click()
    _commit(panel.get_by_label("Choice 2", exact=True), "Low")
    panel.get_by_label("Required").check()
    expect(labels).to_have_count(count + 1)
    expect(panel.locator(".cb-field-meta").last).to_have_text("choice \u00b7 required")

    # Moving a field is a command like any other: undo puts it back.
    panel.get_by_role("button", name="Up \u201cReferral priority\u201d").click()
    expect(labels.nth(count - 1)).to_have_text("Referral priority")
    page.get_by_role("button", name="Undo").click()
    expect(labels.last).to_have_text("Referral priority")
    shot(page, "designer-casebook-panel")

    page.get_by_role("button", name="Save draft").click()
    page.get_by_text(re.compile(r"Draft saved \(version \d+\)")).wait_for()
    _xml, node = _saved_step(app, "record_report")
    assert node.get("{http://camunda.org/schema/1.0/bpmn}dueDate") == "${add_working_days(reported_on, 3)}"
    fields = read_form(node)
    assert fields[0]["id"] == "crime_reference" and fields[0]["label"] == "Police crime reference (CRN)"
    added = fields[-1]
    assert (added["id"], added["label"], added["type"]) == ("referral_priority", "Referral priority", "enum")
    assert added["options"] == [["high", "High"], ["low", "Low"]] and "required" in added["validation"]
    assert errors == []


def test_the_camunda_panel_is_folded_away_and_the_zoom_buttons_zoom(page, live_app):
    errors = _open_designer(page)
    _select(page, "record_report")
    toggle = page.get_by_role("button", name="All BPMN properties (advanced)")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#properties")).to_be_hidden()
    expect(page.locator("#properties .bio-properties-panel-group-header", has_text="Asynchronous continuations")
           ).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#properties .bio-properties-panel-group-header", has_text="Asynchronous continuations")
           ).to_be_visible()
    expect(page.locator("#casebook-panel")).to_be_hidden()
    toggle.click()
    expect(page.locator("#properties")).to_be_hidden()
    expect(page.locator("#casebook-panel")).to_be_visible()

    viewport = page.locator("#canvas svg .viewport").first
    opened = viewport.get_attribute("transform")
    bar = page.get_by_role("group", name="Diagram zoom")
    bar.get_by_role("button", name="Zoom in").click()
    zoomed_in = viewport.get_attribute("transform")
    assert zoomed_in != opened
    bar.get_by_role("button", name="Zoom out").click()
    bar.get_by_role("button", name="Zoom out").click()
    assert viewport.get_attribute("transform") not in (opened, zoomed_in)
    bar.get_by_role("button", name="Whole process").click()
    whole = viewport.get_attribute("transform")
    assert whole not in (opened, zoomed_in)
    # victim_referral is long: the designer opens it at a readable size from its start, not shrunk to fit;
    # Whole process shows all of it, smaller.
    scale = lambda matrix: float(re.split(r"[ ,]", matrix.split("(")[1])[0])  # noqa: E731
    assert scale(opened) >= 0.7 > scale(whole)
    assert errors == []


def test_problems_lead_with_the_element_name_in_plain_words(page, live_app):
    errors = _open_designer(page)
    _select(page, "record_report")
    _commit(page.locator("#casebook-panel").get_by_label("Who does it"), "spaceforce")
    _select(page, "start")
    page.get_by_role("button", name="Validate").click()
    item = page.locator("#problem-list li", has=page.locator("a[data-element-id='record_report']"))
    item.wait_for()
    text = item.inner_text()
    assert re.match(STEP + r" \(line \d+\): in Who does it, \u201cspaceforce\u201d is not an organisation type", text), text
    assert "candidateGroups" not in text and "record_report" not in text
    item.get_by_role("link", name=STEP).click()
    page.locator(".djs-element.selected[data-element-id='record_report']").wait_for()
    expect(page.locator("#casebook-panel").get_by_label("Who does it")).to_have_value("spaceforce")
    shot(page, "designer-plain-problems")
    assert errors == []


def test_the_panel_with_a_field_open_has_no_serious_accessibility_violations(axe_page, live_app):
    page = axe_page
    log_in(page, "lead@victims.demo")
    page.goto("/admin/processes/")
    page.get_by_role("button", name="Edit in designer: victim_referral").click()
    page.locator(".designer[data-ready='true']").wait_for(timeout=20_000)
    _select(page, "record_report")
    page.get_by_role("button", name="Edit \u201cOffence category\u201d").click()
    expect(page.get_by_label("Choice 1", exact=True)).to_have_value("Domestic abuse")
    assert a11y._violations(page) == []
    for element_id in ("start_victims_code", "gw_enhanced", "referral_overdue"):   # an operation, a decision, a timer
        _select(page, element_id)
        assert a11y._violations(page) == [], element_id
