"""Test diagrams and a helper the engine tests share."""
from __future__ import annotations

from xml.sax.saxutils import escape

from tests.factories import DATA
from workflows import engine

ORG_TYPES = {"police", "victim_services", "rj_service", "council"}
ROLES = {"practitioner", "manager", "lead"}


def xml(name: str) -> str:
    return (DATA / name).read_text()


def with_script(payload: str) -> str:
    return xml("script_task.bpmn").replace("PAYLOAD", escape(payload))


def run_to_first(text: str, data: dict | None = None):
    parsed = engine.lint(text, {}, ORG_TYPES, ROLES)
    wf = engine.start(text, parsed.key, {}, data or {})
    engine.run(wf)
    return wf
