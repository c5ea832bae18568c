"""The managers' dashboard: counts over cases, work items and reportable facts.

Pure queries: every one is limited by access.clause, and none touches workflow state (the
WorkItem and CaseFact rows are the mirror that dashboards read; DESIGN.md §3.1).

Filters: the date range selects cases by when they were opened (open cases, work on them) and
facts by when they were completed, or recorded while still pending. The organisation selects
cases it leads or takes part in, work assigned to it, and facts it owns (a fact without an owner
counts for the case's organisations). The case type applies to everything.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy import case as sql_case

import access
from casework.entitlements import right_of
from casework.errors import InvalidInput
from models import Case, CaseAccess, CaseFact, CaseType, ItemStatus, Organisation, WorkItem, db, utcnow
from models.enums import CaseStatus, label
from reporting.charts import Series, bar_chart
from casework import calendar

FILTER_FIELDS = ("from", "to", "organisation", "case_type")
UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
MAX_PARAM = 64

# Display order for the closed vocabularies of bpmn/README.md "Reporting convention".
REFERRAL_OUTCOMES = ("open", "support_plan", "signposted", "specialist_referral", "declined", "no_contact")
RJ_OUTCOMES = ("open", "not_suitable", "declined", "direct_conference", "indirect", "agreement_completed",
               "withdrawn")
PANEL_STATUSES = ("open", "done", "not_done")
ENTITLEMENT_COLUMNS = ("Met on time", "Met late", "Missed", "Due", "Due, overdue", "Not applicable",
                       "Declined, no contact or deferred")
VICTIM_LED = ("victim_declined", "unable_to_contact", "deferred")   # the victim's choice or reach, not a breach
UNASSIGNED = "Unassigned"
NOBODY = "none"   # the row key of work or actions no organisation holds
# What each row of the entitlements summary counts (its keys, in ENTITLEMENT_COLUMNS order).
ENTITLEMENT_KEYS = ("met_on_time", "met_late", "missed", "due", "overdue", "not_applicable", "victim_led")


@dataclass(frozen=True)
class Filters:
    """Validated dashboard filters (all optional)."""

    date_from: date | None = None
    date_to: date | None = None
    organisation: Organisation | None = None
    case_type: CaseType | None = None

    def as_dict(self) -> dict[str, str]:
        """The filters as GET parameters / audit detail (only those set)."""
        out = {"from": self.date_from.isoformat() if self.date_from else "",
               "to": self.date_to.isoformat() if self.date_to else "",
               "organisation": self.organisation.code if self.organisation else "",
               "case_type": self.case_type.code if self.case_type else ""}
        return {k: v for k, v in out.items() if v}

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end): the local (calendar time zone) days from `date_from` to `date_to` inclusive."""
        zone = calendar.load().zone
        start = datetime.combine(self.date_from, time(), tzinfo=zone) if self.date_from else None
        end = (datetime.combine(self.date_to + timedelta(days=1), time(), tzinfo=zone)
               if self.date_to else None)
        return start, end


@dataclass
class Table:
    """One dashboard panel: a chart and the table of the same figures beneath it."""

    id: str
    title: str
    row_heading: str
    columns: tuple[str, ...]
    rows: list[tuple[str, tuple[int, ...]]]
    note: str = ""
    chart: Markup = field(default_factory=Markup)
    keys: dict[str, str] = field(default_factory=dict)   # row heading -> what the row counts (for its list)

    @property
    def totals(self) -> tuple[int, ...]:
        return tuple(sum(r[1][i] for r in self.rows) for i in range(len(self.columns)))


@dataclass
class Dashboard:
    headline: dict[str, int]
    tables: list[Table]
    as_of: datetime | None = None   # when the shared figures were computed (None: just now)


def _parse_date(raw: str, name: str) -> date | None:
    if not raw:
        return None
    match = UK_DATE.match(raw)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidInput({name: f"{raw[:MAX_PARAM]!r} is not a date: use YYYY-MM-DD (or DD/MM/YYYY)."})


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Validate GET parameters `from`, `to`, `organisation` (code) and `case_type` (code).

    :raise InvalidInput: naming every bad parameter, with a message saying what is expected
    """
    raw = {k: (args.get(k) or "").strip() for k in FILTER_FIELDS}
    errors: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for name in ("from", "to"):
        try:
            dates[name] = _parse_date(raw[name], name)
        except InvalidInput as exc:
            errors.update(exc.fields)
    if dates.get("from") and dates.get("to") and dates["from"] > dates["to"]:
        errors["to"] = "The 'to' date is before the 'from' date."
    org = ct = None
    if raw["organisation"]:
        code = raw["organisation"][:MAX_PARAM]
        org = db.session.scalar(select(Organisation).where(Organisation.code == code))
        if org is None:
            errors["organisation"] = f"No organisation has the code {raw['organisation'][:MAX_PARAM]!r}."
    if raw["case_type"]:
        ct = db.session.get(CaseType, raw["case_type"][:MAX_PARAM])
        if ct is None:
            errors["case_type"] = f"No case type has the code {raw['case_type'][:MAX_PARAM]!r}."
    if errors:
        raise InvalidInput(errors)
    return Filters(dates.get("from"), dates.get("to"), org, ct)


def choices() -> tuple[list[Organisation], list[CaseType]]:
    """Organisations and case types for the filter form."""
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    types = db.session.scalars(select(CaseType).where(CaseType.active.is_(True))
                               .order_by(CaseType.name)).all()
    return list(orgs), list(types)


# ------------------------------------------------------------------ scopes

def _involves(org_id: int) -> ColumnElement[bool]:
    """The organisation leads the case or takes part in it (its access row)."""
    return exists().where(CaseAccess.case_id == Case.id, CaseAccess.organisation_id == org_id)


def _case_scope(cases: ColumnElement[bool], f: Filters, dated: bool = True) -> list[ColumnElement[bool]]:
    conds = [cases]
    if f.case_type is not None:
        conds.append(Case.case_type_code == f.case_type.code)
    if dated:
        start, end = f.bounds()
        if start is not None:
            conds.append(Case.opened_at >= start)
        if end is not None:
            conds.append(Case.opened_at < end)
    return conds


def _fact_scope(cases: ColumnElement[bool], f: Filters, kind: str) -> list[ColumnElement[bool]]:
    # Callers join Case: the visibility of a fact is its case's.
    conds = [CaseFact.kind == kind, *_case_scope(cases, f, dated=False)]
    # Rights count when they fall due, as the 6-monthly report counts them; other facts when completed.
    when = func.coalesce(CaseFact.due_at, CaseFact.completed_at, CaseFact.recorded_at) if kind == "entitlement" \
        else func.coalesce(CaseFact.completed_at, CaseFact.recorded_at)
    start, end = f.bounds()
    if start is not None:
        conds.append(when >= start)
    if end is not None:
        conds.append(when < end)
    if f.organisation is not None:
        org_id = f.organisation.id
        conds.append(or_(CaseFact.owner_organisation_id == org_id,
                         and_(CaseFact.owner_organisation_id.is_(None), _involves(org_id))))
    return conds


# ------------------------------------------------------------------ panels

def open_cases(cases: ColumnElement[bool], f: Filters) -> tuple[Table, Table]:
    """Open cases by case type and by lead organisation."""
    conds = _open_conds(cases, f)
    by_type = db.session.execute(
        select(CaseType.name, func.count(Case.id), CaseType.code).join(CaseType, CaseType.code == Case.case_type_code)
        .where(*conds).group_by(CaseType.code, CaseType.name)
        .order_by(func.count(Case.id).desc(), CaseType.name)).all()
    by_lead = db.session.execute(
        select(Organisation.name, func.count(Case.id), Organisation.id)
        .join(Organisation, Organisation.id == Case.lead_organisation_id)
        .where(*conds).group_by(Organisation.id, Organisation.name)
        .order_by(func.count(Case.id).desc(), Organisation.name)).all()
    return (Table("open-by-type", "Open cases by case type", "Case type", ("Open cases",),
                  [(name, (n,)) for name, n, _ in by_type], keys={name: code for name, _, code in by_type}),
            Table("open-by-agency", "Open cases by lead agency", "Lead agency", ("Open cases",),
                  [(name, (n,)) for name, n, _ in by_lead], keys={name: str(i) for name, _, i in by_lead}))


def _open_conds(cases: ColumnElement[bool], f: Filters) -> list[ColumnElement[bool]]:
    conds = [*_case_scope(cases, f), Case.status == CaseStatus.OPEN]
    if f.organisation is not None:
        conds.append(_involves(f.organisation.id))
    return conds


def work_by_agency(cases: ColumnElement[bool], f: Filters, now: datetime) -> Table:
    """Ready work items per assigned agency: overdue (due before now), due later, no due date."""
    overdue, later, undated = _work_columns(now)
    rows = db.session.execute(
        select(Organisation.name, func.count(WorkItem.id),
               func.sum(_flag(overdue)), func.sum(_flag(later)), func.sum(_flag(undated)), Organisation.id)
        .select_from(WorkItem).join(Case, Case.id == WorkItem.case_id)
        .outerjoin(Organisation, Organisation.id == WorkItem.organisation_id)
        .where(*_work_conds(cases, f)).group_by(Organisation.id, Organisation.name)).all()
    table_rows = [(name or UNASSIGNED, (int(o or 0), int(d or 0), int(n or 0), total))
                  for name, total, o, d, n, _ in rows]
    table_rows.sort(key=lambda r: (-r[1][0], -r[1][3], r[0]))
    return Table("work-by-agency", "Work items due and overdue by agency", "Agency",
                 ("Overdue", "Due", "No due date", "Total ready"), table_rows,
                 note="Ready work items; overdue means the due time has passed.",
                 keys={name or UNASSIGNED: str(i) if i else NOBODY for name, *_, i in rows})


def _work_conds(cases: ColumnElement[bool], f: Filters) -> list[ColumnElement[bool]]:
    conds = [WorkItem.status == ItemStatus.READY, *_case_scope(cases, f)]
    if f.organisation is not None:
        conds.append(WorkItem.organisation_id == f.organisation.id)
    return conds


def _work_columns(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Overdue, due later, no due date: the work panel's columns (its fourth is all three)."""
    return (and_(WorkItem.due_at.is_not(None), WorkItem.due_at < now),
            and_(WorkItem.due_at.is_not(None), WorkItem.due_at >= now), WorkItem.due_at.is_(None))


def _flag(condition: ColumnElement[bool]):
    """1 where the condition holds, else 0 (summed for per-group counts)."""
    return sql_case((condition, 1), else_=0)


def _code_key(code: str) -> tuple[str, int, str]:
    match = re.match(r"^([A-Za-z]*)(\d+)(.*)$", code)
    return (match[1], int(match[2]), match[3]) if match else (code, 0, "")


def entitlement_outcomes(now: datetime) -> dict[str, ColumnElement[bool]]:
    """What each of ENTITLEMENT_KEYS counts: the dashboard's figures and the lists behind them share it."""
    late = and_(CaseFact.completed_at.is_not(None), CaseFact.due_at.is_not(None),
                CaseFact.completed_at > CaseFact.due_at)
    overdue = and_(CaseFact.due_at.is_not(None), CaseFact.due_at < now)
    return {"met_on_time": and_(CaseFact.status == "met", ~late), "met_late": and_(CaseFact.status == "met", late),
            "missed": CaseFact.status == "missed", "due": and_(CaseFact.status == "due", ~overdue),
            "overdue": and_(CaseFact.status == "due", overdue),
            "not_applicable": CaseFact.status == "not_applicable", "victim_led": CaseFact.status.in_(VICTIM_LED)}


def entitlements(cases: ColumnElement[bool], f: Filters, now: datetime) -> tuple[Table, Table]:
    """Victims' Code entitlements: met on time, met late, missed, still due — overall and per right."""
    outcomes = entitlement_outcomes(now)
    rows = db.session.execute(
        select(CaseFact.code, *[func.sum(_flag(outcomes[key])) for key in ENTITLEMENT_KEYS])
        .join(Case, Case.id == CaseFact.case_id).where(*_fact_scope(cases, f, "entitlement"))
        .group_by(CaseFact.code)).all()
    per_code: dict[str, list[int]] = {}
    for code, *sums in rows:
        counts = per_code.setdefault(right_of(code), [0] * len(ENTITLEMENT_COLUMNS))
        for i, n in enumerate(sums):
            counts[i] += int(n or 0)
    overall = [sum(c[i] for c in per_code.values()) for i in range(len(ENTITLEMENT_COLUMNS))]
    summary = Table("entitlements", "Victims' Code entitlements: met on time vs missed", "Outcome",
                    ("Entitlements",),
                    [(name, (overall[i],)) for i, name in enumerate(ENTITLEMENT_COLUMNS)] if per_code else [],
                    note="Rights counted in the period they fall due (a right with no due time: when it was met "
                         "or recorded), as in the 6-monthly report. On time: completed no later than its due time "
                         "(a right met with no due time counts as on time). Due, overdue: still due and past its "
                         "due time.",
                    keys=dict(zip(ENTITLEMENT_COLUMNS, ENTITLEMENT_KEYS)))
    by_right = Table("entitlements-by-right", "Victims' Code entitlements by right", "Right",
                     ENTITLEMENT_COLUMNS,
                     [(code, tuple(per_code[code])) for code in sorted(per_code, key=_code_key)],
                     keys={code: code for code in per_code})
    return summary, by_right


def _by_status(cases: ColumnElement[bool], f: Filters, kind: str,
               order: tuple[str, ...]) -> list[tuple[str, tuple[int]]]:
    rows = dict(db.session.execute(
        select(CaseFact.status, func.count(CaseFact.id)).join(Case, Case.id == CaseFact.case_id)
        .where(*_fact_scope(cases, f, kind)).group_by(CaseFact.status)).all())
    ordered = [s for s in order if s in rows] + sorted(s for s in rows if s not in order)
    return [(label(s), (rows[s],)) for s in ordered]


def _status_keys(rows: list[tuple[str, tuple[int]]], order: tuple[str, ...]) -> dict[str, str]:
    return {label(s): s for s in order} | {name: name.lower().replace(" ", "_") for name, _ in rows
                                           if name not in {label(s) for s in order}}


def referrals(cases: ColumnElement[bool], f: Filters) -> Table:
    """Referrals by outcome (`open` while no outcome is recorded)."""
    rows = _by_status(cases, f, "referral", REFERRAL_OUTCOMES)
    return Table("referrals", "Referrals and their outcomes", "Outcome", ("Referrals",), rows,
                 keys=_status_keys(rows, REFERRAL_OUTCOMES))


def rj_outcomes(cases: ColumnElement[bool], f: Filters) -> Table:
    """Restorative-justice cases by outcome."""
    rows = _by_status(cases, f, "rj_outcome", RJ_OUTCOMES)
    return Table("rj-outcomes", "Restorative justice outcomes", "Outcome", ("Cases",), rows,
                 keys=_status_keys(rows, RJ_OUTCOMES))


def panel_actions(cases: ColumnElement[bool], f: Filters, now: datetime) -> Table:
    """Panel actions by owner agency: open (and how many of those are overdue), done, not done."""
    overdue = and_(CaseFact.status == "open", CaseFact.due_at.is_not(None), CaseFact.due_at < now)
    rows = db.session.execute(
        select(Organisation.name, CaseFact.status, func.count(CaseFact.id), func.sum(_flag(overdue)),
               Organisation.id)
        .select_from(CaseFact).join(Case, Case.id == CaseFact.case_id)
        .outerjoin(Organisation, Organisation.id == CaseFact.owner_organisation_id)
        .where(*_fact_scope(cases, f, "panel_action"))
        .group_by(Organisation.id, Organisation.name, CaseFact.status)).all()
    per_owner: dict[str, list[int]] = {}
    keys: dict[str, str] = {}
    for name, status, n, late, org_id in rows:
        counts = per_owner.setdefault(name or UNASSIGNED, [0, 0, 0, 0])
        keys[name or UNASSIGNED] = str(org_id) if org_id else NOBODY
        if status in PANEL_STATUSES:
            counts[PANEL_STATUSES.index(status)] += n
        counts[3] += int(late or 0)
    return Table("panel-actions", "Panel actions by owner agency", "Owner agency",
                 ("Open", "Done", "Not done", "Open, overdue"),
                 [(name, tuple(per_owner[name])) for name in sorted(per_owner)], keys=keys)


# ------------------------------------------------------------------ the page

CHART_COLUMNS = {"work-by-agency": 3, "entitlements-by-right": 5, "panel-actions": 3}


def tables(cases: ColumnElement[bool], f: Filters, now: datetime) -> list[Table]:
    """Every panel's figures over the cases matching `cases` (a condition on Case), without charts."""
    by_type, by_lead = open_cases(cases, f)
    summary, by_right = entitlements(cases, f, now)
    return [by_type, by_lead, work_by_agency(cases, f, now), summary, by_right, referrals(cases, f),
            rj_outcomes(cases, f), panel_actions(cases, f, now)]


def merge(shared: list[Table], personal: list[Table]) -> list[Table]:
    """Add a user's restricted-case figures to the organisation's: row by row, new rows at the end."""
    out = []
    for a, b in zip(shared, personal):
        rows = {label_: list(values) for label_, values in a.rows}
        for label_, values in b.rows:
            rows[label_] = [x + y for x, y in zip(rows[label_], values)] if label_ in rows else list(values)
        out.append(Table(a.id, a.title, a.row_heading, a.columns, [(k, tuple(v)) for k, v in rows.items()],
                         a.note, keys={**b.keys, **a.keys}))
    return out


def finish(panels: list[Table]) -> Dashboard:
    """Charts and headline figures for the panels."""
    by_type, _by_lead, work, summary = panels[0], panels[1], panels[2], panels[3]
    for table in panels:
        # Some columns restate others (totals, "of which overdue"); charts show the distinct parts only.
        width = CHART_COLUMNS.get(table.id, len(table.columns))
        series = [Series(table.columns[i], tuple(r[1][i] for r in table.rows)) for i in range(width)]
        table.chart = bar_chart(f"chart-{table.id}", table.title, [r[0] for r in table.rows], series)
    headline = {"Open cases": sum(by_type.totals), "Overdue work items": work.totals[0] if work.rows else 0,
                "Entitlements met on time": summary.rows[0][1][0] if summary.rows else 0,
                "Entitlements missed": summary.rows[2][1][0] if summary.rows else 0}
    return Dashboard(headline, panels)


# Each headline figure's list: (panel, row key or "" for every row, column).
HEADLINE_LISTS = {"Open cases": ("open-by-type", "", 0), "Overdue work items": ("work-by-agency", "", 0),
                  "Entitlements met on time": ("entitlements", "met_on_time", 0),
                  "Entitlements missed": ("entitlements", "missed", 0)}


def build(user: Any, f: Filters, now: datetime | None = None) -> Dashboard:
    """Every panel for the user under the filters, with its chart, computed now (no snapshot)."""
    now = now or utcnow()
    if not access.can_open(user, access.Area.DASHBOARD):
        # Belt and braces: the view already refuses, and every query is scoped anyway.
        return Dashboard({}, [])
    shared, personal = access.case_parts(user)
    return finish(merge(tables(shared, f, now), tables(personal, f, now)))


__all__ = ["Dashboard", "Filters", "Table", "build", "finish", "merge", "tables",
           "choices", "entitlements", "open_cases", "panel_actions",
           "parse_filters", "referrals", "rj_outcomes", "work_by_agency"]
