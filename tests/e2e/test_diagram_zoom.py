"""In the browser: the case page's diagram opens on the current steps and has zoom in, zoom out, whole process
and current steps buttons."""
from __future__ import annotations

from tests.e2e.conftest import log_in, shot


def test_the_case_diagram_opens_on_the_current_steps_and_zooms(page, live_app):
    log_in(page, "practitioner@police.demo")
    page.goto("/admin/cases/details/?id=1")
    canvas = page.locator(".bpmn-canvas[data-rendered='true']").first
    canvas.wait_for()
    viewport = canvas.locator("svg .viewport").first
    opened = viewport.get_attribute("transform")
    bar = page.get_by_role("group", name="Diagram zoom").first
    bar.get_by_role("button", name="Zoom in").click()
    zoomed = viewport.get_attribute("transform")
    assert zoomed != opened
    bar.get_by_role("button", name="Whole process").click()
    whole = viewport.get_attribute("transform")
    assert whole != zoomed
    bar.get_by_role("button", name="Current steps").click()
    assert viewport.get_attribute("transform") == opened   # back where it opened: the work waiting
    shot(page, "case-diagram-zoom")


def test_the_case_summary_prints_with_the_marking_on_top(page, live_app):
    log_in(page, "practitioner@police.demo")
    page.goto("/admin/cases/details/?id=1")
    page.get_by_role("button", name="Print the summary").wait_for()
    page.emulate_media(media="print")
    marking = page.locator(".print-marking")
    assert marking.is_visible() and marking.inner_text() == "OFFICIAL-SENSITIVE"
    assert marking.evaluate("e => getComputedStyle(e).position") == "fixed"   # repeated on every printed page
    assert not page.locator("nav.navbar").is_visible()
    pdf = page.pdf(format="A4")   # what the browser prints
    import io

    from pypdf import PdfReader
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) >= 2 and all("OFFICIAL-SENSITIVE" in text for text in pages)
