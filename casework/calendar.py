"""Working days: weekends and England and Wales bank holidays, shipped as data and overridable."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "calendar.json"


@dataclass(frozen=True)
class WorkingCalendar:
    zone: ZoneInfo
    end_of_day: time
    weekend: frozenset[int]
    holidays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        """Not a weekend day and not a bank holiday."""
        return day.weekday() not in self.weekend and day not in self.holidays


@lru_cache(maxsize=4)
def load(path: str | None = None) -> WorkingCalendar:
    """Read the calendar file (WORKING_CALENDAR_FILE overrides the shipped one)."""
    raw = json.loads(Path(path or os.environ.get("WORKING_CALENDAR_FILE") or DEFAULT_FILE).read_text())
    hour, minute = (int(x) for x in raw.get("end_of_day", "17:00").split(":"))
    # TIME_ZONE (the partnership's) wins over the calendar file's; both default to Europe/London.
    name = os.environ.get("TIME_ZONE") or raw.get("timezone", "Europe/London")
    return WorkingCalendar(zone=ZoneInfo(name), end_of_day=time(hour, minute),
                           weekend=frozenset(raw.get("weekend", [5, 6])),
                           holidays=frozenset(date.fromisoformat(d) for d in raw.get("bank_holidays", [])))


def local(value: datetime | date | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored (UTC) time as people read it: in the partnership's time zone, without a zone name (a plain date
    as it is)."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return value.strftime(fmt)
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(load().zone).strftime(fmt)


def _as_local_date(value: date | datetime | str, cal: WorkingCalendar) -> date:
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        value = datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(cal.zone).date()
    return value


def add_working_days(start: date | datetime | str, days: int) -> str:
    """The end of the working day `days` working days after `start`, as an ISO-8601 UTC datetime.

    `add_working_days("2026-11-26", 2)` is the close of business on Monday 30 November 2026.
    """
    cal = load()
    day = _as_local_date(start, cal)
    remaining = int(days)
    step = 1 if remaining >= 0 else -1
    while remaining:
        day += timedelta(days=step)
        if cal.is_working_day(day):
            remaining -= step
    local = datetime.combine(day, cal.end_of_day, tzinfo=cal.zone)
    return local.astimezone(timezone.utc).isoformat()
