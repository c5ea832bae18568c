"""What the engine hands back: diagram problems, engine errors and plain results (never Spiff objects)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NoReturn

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
CAMUNDA = "{%s}" % CAMUNDA_NS
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
MAX_STEPS = 1000           # automatic engine steps per request
MAX_XML_BYTES = 5 * 1024 * 1024


@dataclass
class Problem:
    """One thing wrong with a diagram, pointing at the element and line."""

    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    warning: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "element_name": self.element_name, "line": self.line,
                "message": self.message}

    def __str__(self) -> str:
        where = ", ".join(x for x in (f"element {self.element_id!r}" if self.element_id else "",
                                      f"({self.element_name})" if self.element_name else "",
                                      f"line {self.line}" if self.line else "") if x)
        return f"{self.message} [{where}]" if where else self.message


class DiagramError(Exception):
    """The diagram cannot be deployed; `problems` say why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class EngineError(Exception):
    """Running a diagram failed (bad condition, no gateway path, budget exceeded...)."""

    def __init__(self, message: str, element_id: str | None = None, element_name: str | None = None):
        self.element_id, self.element_name = element_id, element_name
        where = f" at {element_id!r}" + (f" ({element_name})" if element_name else "") if element_id else ""
        super().__init__(f"{message}{where}")


@dataclass
class TaskInfo:
    """A ready user task as the app sees it."""

    id: str
    bpmn_id: str
    title: str
    lane: str | None
    documentation: str | None
    candidate_groups: list[str]
    assignee: str | None
    fields: list[dict[str, Any]]
    due_at: datetime | None
    process_key: str
    # A meeting step (camunda:property meeting=<type>): listed on the panel's next meeting, completed there.
    meeting: str | None = None
    meeting_reason: str | None = None
    meeting_research: list[str] | None = None   # earlier steps whose answers go into the agenda pack
    # What the step's page shows first from earlier steps: field ids, or "safe_contact" (camunda:property show).
    shows: list[str] | None = None


@dataclass
class Parsed:
    """A parsed, linted diagram ready to deploy."""

    key: str
    name: str | None
    calls: list[str]
    sha256: str
    warnings: list[Problem] = field(default_factory=list)


def raise_problems(*problems: Problem) -> NoReturn:
    """Raise a DiagramError listing `problems`."""
    raise DiagramError(list(problems))


def json_safe(value: Any) -> Any:
    """Task data as JSON (dates as ISO text)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, (date, datetime))
                                 else str(v) if isinstance(v, timedelta) else repr(v)))
