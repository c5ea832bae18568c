"""Saving and loading workflow state as JSON (the sandboxed script engine is re-attached on load)."""
from __future__ import annotations

from datetime import date

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from workflows.engine.scripting import SCRIPT_ENGINE

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
SERIALIZER.registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))


def dumps(wf: BpmnWorkflow, verify: bool = True) -> str:
    """Serialize; with `verify`, prove it loads again before anything is committed.

    Only scripts can put unloadable values (a dict with a "typename" key) into task data: form answers
    are validated scalars and start data is checked, so callers verify when the diagram has scripts.
    """
    text = SERIALIZER.serialize_json(wf)
    if verify:
        SERIALIZER.deserialize_json(text)
    return text


def has_scripts(wf: BpmnWorkflow) -> bool:
    """Does this workflow's spec (or a called one) carry scripts? (a few dozen attribute reads)"""
    specs = [wf.spec, *wf.subprocess_specs.values()]
    return any(getattr(ts, attr, None) for spec in specs for ts in spec.task_specs.values()
               for attr in ("script", "prescript", "postscript"))


def loads(text: str) -> BpmnWorkflow:
    """Deserialize and re-attach the sandboxed script engine (it is never serialized)."""
    wf = SERIALIZER.deserialize_json(text)
    wf.script_engine = SCRIPT_ENGINE
    return wf
