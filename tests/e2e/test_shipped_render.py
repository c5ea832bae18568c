"""Every shipped diagram renders in the bpmn-js viewer (seed-demo deploys them all)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from models import ProcessDefinition, db
from tests.e2e.conftest import log_in, shot

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
SHIPPED = sorted(p.stem for p in BPMN.glob("*.bpmn"))


def test_every_shipped_diagram_renders(page, live_app):
    _base, app = live_app
    with app.app_context():
        ids = {d.key: d.id for d in db.session.scalars(select(ProcessDefinition))}
        db.session.remove()
    assert sorted(ids) == SHIPPED
    log_in(page, "lead@victims.demo")
    for key in SHIPPED:
        page.goto(f"/admin/processes/{ids[key]}/")
        canvas = page.locator(".bpmn-canvas")
        canvas.wait_for()
        # A locator, not wait_for_function: polling a JavaScript string needs eval, which the CSP refuses.
        page.locator(".bpmn-canvas[data-rendered]").wait_for()
        assert canvas.get_attribute("data-rendered") == "true", key
        # Every shape the file draws is on the canvas (labels are shapes too, so at least as many).
        drawn = (BPMN / f"{key}.bpmn").read_text().count("<bpmndi:BPMNShape ")
        assert page.locator(".djs-element.djs-shape").count() >= drawn, key
        assert page.locator("a.bjs-powered-by").is_visible()
        shot(page, f"diagram-{key}")
