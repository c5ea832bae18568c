"""Export filters (date range, organisation, case type, baseline) and the context a builder writes through."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select

from casework import calendar, validate
from casework.errors import InvalidInput
from models import CaseType, Organisation, db, utcnow

# Managers think in the partnership's calendar days (TIME_ZONE, else Europe/London), as every screen shows times:
# a date filter covers that whole day, and cells and captions show its local time.
LOCAL: ZoneInfo = calendar.load().zone
FIELDS = ("from", "to", "organisation", "case_type", "baseline_from", "baseline_to")


class BadFilter(ValueError):
    """A filter value is malformed or names nothing; `field` says which."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True)
class Filters:
    """Validated filters; dates are inclusive UK calendar days."""

    date_from: date | None = None
    date_to: date | None = None
    organisation: Organisation | None = None
    case_type: str | None = None
    baseline_from: date | None = None
    baseline_to: date | None = None

    def as_dict(self) -> dict[str, str]:
        """The filters that were set, as text (for the audit log, the cover row and file names)."""
        values = {"from": self.date_from, "to": self.date_to,
                  "organisation": self.organisation.code if self.organisation else None,
                  "case_type": self.case_type, "baseline_from": self.baseline_from,
                  "baseline_to": self.baseline_to}
        return {k: str(v) for k, v in values.items() if v is not None}

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The date range as [start, end) UTC instants."""
        return day_bounds(self.date_from, self.date_to)


def today() -> date:
    """Today in the partnership's time zone (the server's clock may be on UTC)."""
    return utcnow().astimezone(LOCAL).date()


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Inclusive UK days [first, last] as a half-open UTC range."""
    def at(day: date) -> datetime:
        return datetime.combine(day, time.min, LOCAL).astimezone(timezone.utc)
    return (at(first) if first else None, at(last + timedelta(days=1)) if last else None)


def _date(raw: Mapping[str, Any], name: str) -> date | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return validate.date_value(str(value), name)   # 01/04/2026 as people type it, or 2026-04-01
    except InvalidInput:
        raise BadFilter(name, f"{value!r} is not a date (write it as 01/04/2026)") from None


def parse(raw: Mapping[str, Any]) -> Filters:
    """Validate raw filter values (query string, CLI options) into Filters.

    :raise BadFilter: on a malformed date, a range that ends before it starts, or an unknown code
    """
    unknown = sorted(k for k, v in raw.items() if k not in FIELDS and v not in (None, ""))
    if unknown:
        raise BadFilter(unknown[0], f"unknown filter (use {', '.join(FIELDS)})")
    first, last = _date(raw, "from"), _date(raw, "to")
    if first and last and last < first:
        raise BadFilter("to", f"{last} is before from={first}")
    base_first, base_last = _date(raw, "baseline_from"), _date(raw, "baseline_to")
    if base_first and base_last and base_last < base_first:
        raise BadFilter("baseline_to", f"{base_last} is before baseline_from={base_first}")
    org = None
    if raw.get("organisation") not in (None, ""):
        code = str(raw["organisation"]).strip()
        org = db.session.scalar(select(Organisation).where(Organisation.code == code))
        if org is None:
            raise BadFilter("organisation", f"no organisation with code {code!r}")
    case_type = None
    if raw.get("case_type") not in (None, ""):
        case_type = str(raw["case_type"]).strip()
        if db.session.get(CaseType, case_type) is None:
            raise BadFilter("case_type", f"no case type with code {case_type!r}")
    return Filters(first, last, org, case_type, base_first, base_last)


Progress = Callable[[str, int], None]


def in_period(stmt: Any, filters: Filters, date_column: Any) -> Any:
    """Keep rows whose `date_column` falls in the filters' date range."""
    start, end = filters.bounds()
    if start is not None:
        stmt = stmt.where(date_column >= start)
    if end is not None:
        stmt = stmt.where(date_column < end)
    return stmt


def within(stmt: Any, filters: Filters, date_column: Any, case_type_column: Any = None) -> Any:
    """The date range and the case type; callers add their own organisation rule."""
    from models import Case

    stmt = in_period(stmt, filters, date_column)
    if filters.case_type:
        stmt = stmt.where((case_type_column if case_type_column is not None else Case.case_type_code)
                          == filters.case_type)
    return stmt


@dataclass
class Context:
    """What a builder gets: the user, the filters, the workbook, and a progress callback.

    `progress("total", n)` announces n more rows to come; `progress("rows", n)` reports n written.
    """

    user: Any
    filters: Filters
    book: Any
    progress: Progress | None = None
    rows: int = 0
    sheets: list[str] = field(default_factory=list)

    def expect(self, n: int) -> None:
        if self.progress is not None:
            self.progress("total", n)

    def advance(self, n: int) -> None:
        if self.progress is not None and n:
            self.progress("rows", n)
