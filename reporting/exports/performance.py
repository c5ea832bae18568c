"""The 6-monthly performance report: headline figures with charts, then one sheet per area, each
comparing the period with a baseline (by default the same dates a year earlier)."""
from __future__ import annotations

from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Callable

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.utils import get_column_letter
from sqlalchemy import func, or_, select

from casework.entitlements import right_of
from models import Case, CaseFact, ItemStatus, Organisation, WorkItem, db, utcnow
from reporting.exports import names
from reporting.exports.cases import case_scope
from reporting.exports.facts import fact_scope, outcome, right_order
from reporting.exports.filters import Context, Filters
from reporting.exports.filters import today as local_today
from reporting.exports.work import work_scope
from reporting.exports.xlsx import FIRST_DATA_ROW, PERCENT_FORMAT, WORDS_SUFFIX, Col, Sheet, Words

Counts = dict[str, dict[str, float]]  # category -> measure -> value
RJ_ACHIEVED = ("direct_conference", "indirect", "agreement_completed")


def add_months(day: date, months: int) -> date:
    """The same day `months` later (clamped to the month's end)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


@dataclass(frozen=True)
class Periods:
    start: date
    end: date
    base_start: date
    base_end: date


def periods(f: Filters, today: date | None = None) -> Periods:
    """The period (default: the six months up to `to` or today) and its baseline (default: a year earlier)."""
    end = f.date_to or today or local_today()
    start = f.date_from or add_months(end + timedelta(days=1), -6)
    base_start = f.baseline_from or add_months(start, -12)
    base_end = f.baseline_to or (base_start + (end - start) if f.baseline_from else add_months(end, -12))
    return Periods(start, end, base_start, base_end)


def _within(ctx: Context, first: date, last: date) -> Context:
    return Context(ctx.user, replace(ctx.filters, date_from=first, date_to=last), ctx.book)


def _count_by(stmt, key) -> dict[str, int]:
    grouped = stmt.with_only_columns(key, func.count(), maintain_column_froms=True).group_by(key)
    return {(names.NONE if k is None else str(getattr(k, "value", k))): n for k, n in db.session.execute(grouped)}


def cases_area(ctx: Context) -> Counts:
    out: Counts = defaultdict(dict)
    base = select(Case.id).select_from(Case)
    for name, column in (("opened", Case.opened_at), ("closed", Case.closed_at)):
        for k, n in _count_by(case_scope(ctx, base, column), Case.case_type_code).items():
            out[k][name] = n
    return out


def work_area(ctx: Context) -> Counts:
    out: Counts = defaultdict(dict)
    now = utcnow()
    base = select(WorkItem.id).select_from(WorkItem).join(Case, Case.id == WorkItem.case_id) \
        .outerjoin(Organisation, Organisation.id == WorkItem.organisation_id) \
        .where(WorkItem.status != ItemStatus.CANCELLED)
    due = work_scope(ctx, base, WorkItem.due_at)
    on_time = due.where(WorkItem.completed_at.is_not(None), WorkItem.completed_at <= WorkItem.due_at)
    late = due.where(WorkItem.due_at < now, or_(WorkItem.completed_at.is_(None),
                                                WorkItem.completed_at > WorkItem.due_at))
    completed = work_scope(ctx, base, WorkItem.completed_at)
    for name, stmt in (("due", due), ("done_on_time", on_time), ("late_or_overdue", late), ("completed", completed)):
        for k, n in _count_by(stmt, Organisation.code).items():
            out[k][name] = n
    return out


def victims_code_area(ctx: Context) -> Counts:
    out: Counts = defaultdict(lambda: defaultdict(int))
    now = utcnow()
    # A right counts in the period it falls due (no due time: when met, else recorded), as on the dashboard.
    when = func.coalesce(CaseFact.due_at, CaseFact.completed_at, CaseFact.recorded_at)
    stmt = fact_scope(ctx, select(CaseFact.id).select_from(CaseFact).join(Case, Case.id == CaseFact.case_id),
                      "entitlement", when)
    rows = stmt.with_only_columns(CaseFact.code, CaseFact.status, CaseFact.due_at, CaseFact.completed_at,
                                  maintain_column_froms=True)
    for code, status, due, completed in db.session.execute(rows.execution_options(yield_per=1000)):
        result = outcome(status, due, completed, now)
        if result == "not_applicable":
            continue
        right = out[right_of(code)]   # by right, as the area's category says (R6a and R6a:2 are both Right 6)
        right["due"] += 1
        right["met_on_time"] += int(result == "met_on_time")
        right["missed_or_late"] += int(result in ("missed", "met_late", "overdue"))
    return out


def fact_area(kind: str, date_of: Callable[[], Any]) -> Callable[[Context], Counts]:
    def measure(ctx: Context) -> Counts:
        stmt = fact_scope(ctx, select(CaseFact.id).select_from(CaseFact).join(Case, Case.id == CaseFact.case_id),
                          kind, date_of())
        return {k: {"count": n} for k, n in _count_by(stmt, CaseFact.status).items()}
    return measure


def _organisations() -> Words:
    return {**names.organisations(), names.NONE: "Unassigned"}


@dataclass(frozen=True)
class Area:
    """One area sheet: rows by `category` (codes, shown by `words`, loaded once per sheet), a column pair
    (period, baseline) per measure."""

    title: str
    category: str
    measures: tuple[str, ...]
    compute: Callable[[Context], Counts]
    words: Callable[[], Words] = lambda: names.words
    order: Callable[[str], Any] = str


AREAS = (
    Area("Cases", "case_type", ("opened", "closed"), cases_area, names.case_types),
    Area("Work", "organisation", ("due", "done_on_time", "late_or_overdue", "completed"), work_area,
         _organisations),
    Area("Victims Code", "right", ("due", "met_on_time", "missed_or_late"), victims_code_area,
         lambda: names.right, right_order),
    Area("Referrals", "outcome", ("count",), fact_area("referral", lambda: CaseFact.recorded_at)),
    Area("Restorative justice", "outcome", ("count",), fact_area("rj_outcome", lambda: CaseFact.recorded_at)),
    Area("Panel actions", "status", ("count",),
         fact_area("panel_action", lambda: func.coalesce(CaseFact.due_at, CaseFact.recorded_at))),
)


def _total(counts: Counts, measure: str, keys: tuple[str, ...] | None = None) -> float:
    return sum(v.get(measure, 0) for k, v in counts.items() if keys is None or k in keys)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def headlines(now: dict[str, Counts], base: dict[str, Counts]) -> list[tuple[str, Any, Any, bool]]:
    """(measure, period, baseline, is_percent) rows: counts first, then rates."""
    def pair(fn: Callable[[dict[str, Counts]], Any]) -> tuple[Any, Any]:
        return fn(now), fn(base)
    counts = [
        ("Cases opened", *pair(lambda d: _total(d["Cases"], "opened"))),
        ("Cases closed", *pair(lambda d: _total(d["Cases"], "closed"))),
        ("Work items due", *pair(lambda d: _total(d["Work"], "due"))),
        ("Work items late or overdue", *pair(lambda d: _total(d["Work"], "late_or_overdue"))),
        ("Victims' Code rights due", *pair(lambda d: _total(d["Victims Code"], "due"))),
        ("Victims' Code rights missed or late", *pair(lambda d: _total(d["Victims Code"], "missed_or_late"))),
        ("Referrals", *pair(lambda d: _total(d["Referrals"], "count"))),
        ("Referrals with a support plan", *pair(lambda d: _total(d["Referrals"], "count", ("support_plan",)))),
        ("RJ outcomes recorded", *pair(lambda d: _total(d["Restorative justice"], "count"))),
        ("RJ conferences and agreements", *pair(lambda d: _total(d["Restorative justice"], "count", RJ_ACHIEVED))),
        ("Panel actions due", *pair(lambda d: _total(d["Panel actions"], "count"))),
        ("Panel actions done", *pair(lambda d: _total(d["Panel actions"], "count", ("done",)))),
    ]
    rates = [
        ("Work done on time", *pair(lambda d: _ratio(_total(d["Work"], "done_on_time"), _total(d["Work"], "due")))),
        ("Victims' Code rights met on time",
         *pair(lambda d: _ratio(_total(d["Victims Code"], "met_on_time"), _total(d["Victims Code"], "due")))),
    ]
    return [(m, int(a), int(b), False) for m, a, b in counts] + [(m, a, b, True) for m, a, b in rates]


def _chart(sheet: Sheet, title: str, first_row: int, last_row: int, percent: bool = False,
           names_col: int = 1) -> BarChart:
    """A bar chart of the two columns after `names_col` (period, baseline) for rows first_row..last_row, each
    bar named by `names_col` (words: a chart draws no hidden column)."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.y_axis.title = "share" if percent else "number"
    chart.height, chart.width = 7 + (last_row - first_row) * 0.5, 18
    chart.add_data(Reference(sheet.ws, min_col=names_col + 1, max_col=names_col + 2, min_row=first_row,
                             max_row=last_row))
    for series, name in zip(chart.series, ("period", "baseline")):
        series.tx = SeriesLabel(v=name)
    chart.set_categories(Reference(sheet.ws, min_col=names_col, min_row=first_row, max_row=last_row))
    if percent:
        chart.y_axis.number_format = "0%"
    return chart


def performance_report(ctx: Context) -> None:
    """Summary with headline figures and charts, then one comparison sheet per area."""
    p = periods(ctx.filters)
    now = {a.title: a.compute(_within(ctx, p.start, p.end)) for a in AREAS}
    base = {a.title: a.compute(_within(ctx, p.base_start, p.base_end)) for a in AREAS}
    label = f"period {p.start} to {p.end} against baseline {p.base_start} to {p.base_end}"
    rows = headlines(now, base)
    summary = ctx.book.sheet("Summary", [Col("measure", width=36), Col("period", "number", 12),
                                         Col("baseline", "number", 12), Col("change", "number", 12),
                                         Col("change_percent", "percent", 16)],
                             f"6-monthly performance report: {label}")
    for measure, a, b, is_rate in rows:
        change = None if a is None or b is None else a - b
        values = [measure, a, b, change, None if is_rate or not b else change / b]
        summary.append(values, {1: PERCENT_FORMAT, 2: PERCENT_FORMAT, 3: PERCENT_FORMAT} if is_rate else None)
    n_counts = sum(1 for r in rows if not r[3])
    top = FIRST_DATA_ROW
    summary.ws.add_chart(_chart(summary, "Period against baseline", top, top - 1 + n_counts), "G3")
    summary.ws.add_chart(_chart(summary, "On-time rates", top + n_counts, top - 1 + len(rows), percent=True), "G32")
    ctx.sheets.append(summary.ws.title)
    ctx.rows += summary.rows
    for area in AREAS:
        _area_sheet(ctx, area, now[area.title], base[area.title], label)


def _area_sheet(ctx: Context, area: Area, now: Counts, base: Counts, label: str) -> None:
    cols = [Col(area.category, width=30, words=area.words())]
    for m in area.measures:
        cols += [Col(f"{m}_period", "number", len(m) + 10), Col(f"{m}_baseline", "number", len(m) + 12)]
    sheet = ctx.book.sheet(area.title, cols, f"{area.title}: {label}")
    for key in sorted(set(now) | set(base), key=area.order):
        values: list[Any] = [key]
        for m in area.measures:
            values += [now.get(key, {}).get(m, 0), base.get(key, {}).get(m, 0)]
        sheet.append(values)
    if sheet.rows:
        first = area.measures[0]
        chart = _chart(sheet, f"{area.title}: {names.words(first).lower()}", FIRST_DATA_ROW,
                       FIRST_DATA_ROW - 1 + sheet.rows, names_col=sheet.column(area.category + WORDS_SUFFIX))
        sheet.ws.add_chart(chart, f"{get_column_letter(len(sheet.columns) + 2)}3")
    ctx.sheets.append(sheet.ws.title)
    ctx.rows += sheet.rows
