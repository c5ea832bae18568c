"""The sandboxed script engine: every expression and script a diagram carries runs through
workflows/sandbox.py, and service tasks call back into the app through `services(handler)`."""
from __future__ import annotations

import contextvars
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from workflows import sandbox
from workflows.engine.results import EngineError, json_safe


class SandboxEnvironment(TaskDataEnvironment):
    """Every evaluate/execute runs RestrictedPython-compiled code under the line and time budget."""

    def __init__(self) -> None:
        super().__init__(dict(sandbox.GLOBALS))

    def evaluate(self, expression, context, external_context=None):
        expr = sandbox.normalize(expression)
        if sandbox.ISO_LITERAL.match(expr) and expr not in context:
            return expr
        code = sandbox.compile_source(expr, "eval")
        return sandbox.run_limited(lambda: super(SandboxEnvironment, self).evaluate(code, context, external_context))

    def execute(self, script, context, external_context=None):
        code = sandbox.compile_source(script, "exec")
        return sandbox.run_limited(lambda: super(SandboxEnvironment, self).execute(code, context, external_context))


_services: contextvars.ContextVar[Any] = contextvars.ContextVar("casebook_services", default=None)


@dataclass
class ServiceCall:
    """What a service task asks the app to do."""

    operation: str
    params: dict[str, Any]
    bpmn_id: str
    name: str | None
    data: dict[str, Any]


@contextmanager
def services(handler) -> Iterator[None]:
    """Let service tasks run `handler(ServiceCall) -> JSON-able result` during engine work."""
    token = _services.set(handler)
    try:
        yield
    finally:
        _services.reset(token)


class SandboxScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=SandboxEnvironment())

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        handler = _services.get()
        spec = task.task_spec
        if handler is None:
            raise EngineError(f"operation {operation_name!r} cannot run here", spec.bpmn_id, spec.bpmn_name)
        params = {k: v["value"] for k, v in (operation_params or {}).items()}
        result = handler(ServiceCall(operation_name, params, spec.bpmn_id, spec.bpmn_name, dict(task.data)))
        return json.dumps(json_safe(result))


SCRIPT_ENGINE = SandboxScriptEngine()
