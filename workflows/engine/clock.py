"""The engine's clock: `timers run --at` runs engine work as if it were another time."""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module

_now: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("casebook_now", default=None)


class _ClockDatetime(datetime):
    """The timer module's `datetime`, whose now() honours `clock(at)`."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        fixed = _now.get()
        if fixed is None:
            return datetime.now(tz)
        return fixed.astimezone(tz) if tz else fixed.astimezone(timezone.utc).replace(tzinfo=None)


_timer_module.datetime = _ClockDatetime  # type: ignore[misc]


@contextmanager
def clock(at: datetime | None) -> Iterator[None]:
    """Run engine work as if it were `at` (aware UTC); None means the real time."""
    token = _now.set(at.astimezone(timezone.utc) if at else None)
    try:
        yield
    finally:
        _now.reset(token)


def now() -> datetime:
    """The engine's current time (aware UTC)."""
    return _now.get() or datetime.now(timezone.utc)
