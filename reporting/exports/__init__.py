"""The export registry: named spreadsheet builders the console, the API and the CLI share (DESIGN.md C8).

    report = exports.get("cases")                      # UnknownExport if there is none
    filters = exports.parse_filters({"from": "2026-01-01", "organisation": "notts_police"})
    result = exports.run("cases", user, filters, "cases.xlsx", progress=None)   # audits; caller commits

Every builder queries through access.clause, so an export is never wider than the screen.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import IO, Any, Callable

import access
from casework import disclosures
from models import audit
from models.enums import Role
from reporting.exports import audit_log, cases, facts, performance, sharing, work
from reporting.exports.filters import BadFilter, Context, Filters, Progress
from reporting.exports.filters import parse as parse_filters
from reporting.exports.filters import today as local_today
from reporting.exports.xlsx import MARKING, Book

__all__ = ["REPORTS", "BadFilter", "ExportNotPermitted", "Filters", "Report", "Result", "UnknownExport",
           "available", "filename", "get", "parse_filters", "run", "MARKING"]

CASEWORK = frozenset(access.CASEWORK)
MANAGERS = frozenset({Role.MANAGER, Role.LEAD})


class UnknownExport(LookupError):
    """No export has that name."""


class ExportNotPermitted(PermissionError):
    """The user's roles do not include one this export is for."""


@dataclass(frozen=True)
class Report:
    """A named export: what it is called, who may run it, and the builder that writes it."""

    name: str
    title: str
    description: str
    build: Callable[[Context], None]
    roles: frozenset[Role]

    def allowed(self, user: Any) -> bool:
        """May this user run the export? (the Reports area, and one of the export's roles)"""
        return access.can_open(user, access.Area.REPORTS) and bool(set(getattr(user, "roles", ())) & self.roles)


REPORTS: dict[str, Report] = {r.name: r for r in (
    Report("cases", "Cases", "One row per case: type, status, risk, lead organisation, dates.",
           cases.cases, cases.CASE_ROLES),
    Report("people", "People", "One row per person: identity fields, never contact details or notes.",
           cases.people, CASEWORK),
    Report("work_items", "Work items", "Every work item: step, organisation, due, completed, on time.",
           work.work_items, CASEWORK),
    Report("overdue", "Overdue work", "Work not done by its due time, most overdue first.",
           work.overdue, CASEWORK),
    Report("victims_code", "Victims' Code compliance", "Entitlements met on time, late, missed; a summary per right.",
           facts.victims_code, CASEWORK),
    Report("rj_outcomes", "Restorative-justice outcomes", "RJ cases and their outcomes.",
           facts.rj_outcomes, CASEWORK),
    Report("panel_actions", "Panel actions", "Actions from panels: owner, due, done or not.",
           facts.panel_actions, CASEWORK),
    Report("audit", "Audit log", "Every audited event with its hash chain (auditors only).",
           audit_log.audit, frozenset({Role.AUDITOR})),
    Report("sharing", "Sharing and exceptions",
           "The disclosure log (every share, to whom, on which agreement or exception) and the exceptions "
           "managers recorded to share without an agreement (auditors: the information-governance lead).",
           sharing.sharing, frozenset({Role.AUDITOR})),
    Report("performance_report", "6-monthly performance report",
           "Headline figures with charts and a sheet per area; the period against a baseline "
           "(default: the same dates a year earlier).",
           performance.performance_report, MANAGERS),
)}


@dataclass(frozen=True)
class Result:
    name: str
    rows: int
    sheets: list[str]
    filename: str


def get(name: str) -> Report:
    """The export called `name`.

    :raise UnknownExport: if there is none
    """
    try:
        return REPORTS[name]
    except KeyError:
        raise UnknownExport(f"no export called {name!r} (there are: {', '.join(REPORTS)})") from None


def available(user: Any) -> list[Report]:
    """The exports this user may run, in registry order."""
    return [r for r in REPORTS.values() if r.allowed(user)]


def filename(name: str, filters: Filters, today: date | None = None) -> str:
    """A download name such as cases-2026-01-01-to-2026-06-30.xlsx (or cases-<today>.xlsx)."""
    if filters.date_from or filters.date_to:
        span = f"{filters.date_from or 'start'}-to-{filters.date_to or 'now'}"
    else:
        span = str(today or local_today())
    return f"{name}-{span}.xlsx"


def run(name: str, user: Any, filters: Filters, out: str | IO[bytes], progress: Progress | None = None) -> Result:
    """Build the export into `out` (a path or binary file) and audit it; the caller commits.

    :raise UnknownExport: if there is no such export
    :raise ExportNotPermitted: if the user may not run it
    """
    report = get(name)
    if not report.allowed(user):
        raise ExportNotPermitted(f"{getattr(user, 'email', 'this user')} may not run the {name} export")
    shown = filters.as_dict()
    line = f"{report.title} | exported {local_today()} by {user.email}" + \
        (" | " + ", ".join(f"{k}={v}" for k, v in shown.items()) if shown else "")
    ctx = Context(user, filters, Book(report.title, line), progress)
    report.build(ctx)
    ctx.book.save(out)
    audit.record("export", user=user, object_type="export", object_id=name,
                 detail={"export": name, "filters": shown, "rows": ctx.rows, "sheets": ctx.sheets})
    # An export takes data out of Casebook into a file the user's organisation holds: a disclosure too.
    disclosures.record("export", user.organisation, user=user,
                       detail={"export": name, "filters": shown, "rows": ctx.rows,
                               "basis": "the exporting user's own access"})
    return Result(name, ctx.rows, ctx.sheets, filename(name, filters))
