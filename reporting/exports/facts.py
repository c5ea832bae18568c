"""Exports of reportable facts (bpmn/README.md "Reporting convention"): Victims' Code entitlements,
restorative-justice outcomes and panel actions, each with a summary sheet and a row per fact."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

import access
from casework.entitlements import right_of
from models import Case, CaseFact, Organisation, db, utcnow
from reporting.exports import names
from reporting.exports.filters import Context, within
from reporting.exports.stream import table
from reporting.exports.xlsx import Col, local_datetime

OPEN_STATUSES = ("open", "due", "pending", "requested")


def fact_scope(ctx: Context, stmt: Select, kind: str, date_column: Any) -> Select:
    """Visible facts of one kind matching the filters (organisation = the fact's owner)."""
    f = ctx.filters
    stmt = stmt.where(CaseFact.kind == kind, access.clause(ctx.user, CaseFact))
    stmt = within(stmt, f, date_column)
    if f.organisation is not None:
        stmt = stmt.where(CaseFact.owner_organisation_id == f.organisation.id)
    return stmt


def _base() -> tuple[Any, Select]:
    owner = aliased(Organisation)
    stmt = select(CaseFact.id).select_from(CaseFact).join(Case, Case.id == CaseFact.case_id) \
        .outerjoin(owner, owner.id == CaseFact.owner_organisation_id)
    return owner, stmt


def outcome(status: str, due: datetime | None, completed: datetime | None, now: datetime) -> str:
    """met_on_time, met_late, missed, overdue, due or the status itself."""
    if status == "met":
        return "met_late" if due is not None and completed is not None and completed > due else "met_on_time"
    if status in OPEN_STATUSES:
        return "overdue" if due is not None and due < now else "due"
    return status


def victims_code(ctx: Context) -> None:
    """Victims' Code rights by case: met on time, late, missed, overdue; a summary per right."""
    now = utcnow()
    owner, stmt = _base()
    when = func.coalesce(CaseFact.due_at, CaseFact.recorded_at)
    stmt = fact_scope(ctx, stmt, "entitlement", when)
    summary_rows = db_rows(stmt.with_only_columns(CaseFact.code, CaseFact.status, CaseFact.due_at,
                                                  CaseFact.completed_at, maintain_column_froms=True))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, status, due, completed in summary_rows:
        counts[right_of(code)][outcome(status, due, completed, now)] += 1
    kinds = ("met_on_time", "met_late", "missed", "overdue", "due", "not_applicable", "victim_declined",
             "unable_to_contact", "deferred")
    sheet = ctx.book.sheet("Summary", [Col("right", width=10, words=names.right), Col("total", "int"),
                                       *[Col(k, "int", 14) for k in kinds], Col("percent_met_on_time", "percent", 20)],
                           f"Victims' Code compliance by right, as of {local_datetime(now):%Y-%m-%d}")
    ctx.sheets.append(sheet.ws.title)
    for code in sorted(counts, key=right_order):
        c = counts[code]
        decided = c["met_on_time"] + c["met_late"] + c["missed"]
        sheet.append([code, sum(c.values()), *[c[k] for k in kinds],
                      c["met_on_time"] / decided if decided else None])
    ctx.rows += sheet.rows
    columns = [
        (Col("case_reference", width=16), Case.reference),
        (Col("case_type", width=26, words=names.case_types()), Case.case_type_code),
        # The entitlement's code as the Code cites it (R3a); its title is the words.
        (Col("right", width=8), CaseFact.code), (Col("label", width=40, label="Entitlement"), CaseFact.label),
        (Col("owner_organisation", width=30, words=names.organisations()), owner.code),
        (Col("due_at", "datetime"), CaseFact.due_at), (Col("status", words=names.words), CaseFact.status),
        (Col("completed_at", "datetime"), CaseFact.completed_at),
        (Col("outcome", width=14, words=names.words), CaseFact.status),
    ]

    def derive(row: Sequence[Any]) -> list[Any]:
        return [*row[:-1], outcome(row[6], row[5], row[7], now)]

    table(ctx, "Entitlements", columns, stmt.order_by(when, CaseFact.id),
          "Victims' Code entitlements due in the period", row_fn=derive)


def right_order(code: str) -> tuple[int, str]:
    """Sort key for rights: R2 before R10."""
    digits = "".join(ch for ch in code if ch.isdigit())
    return (int(digits) if digits else 999, code)


def db_rows(stmt: Select) -> Any:
    """The rows of a statement, streamed."""
    return db.session.execute(stmt.execution_options(yield_per=1000))


def _status_summary(ctx: Context, stmt: Select, title: str, caption: str) -> None:
    grouped = stmt.with_only_columns(CaseFact.status, func.count(CaseFact.id), maintain_column_froms=True) \
        .group_by(CaseFact.status).order_by(CaseFact.status)
    rows = list(db_rows(grouped))
    total = sum(n for _, n in rows)
    sheet = ctx.book.sheet(title, [Col("status", width=24, words=names.words), Col("count", "int"),
                                   Col("share", "percent")], caption)
    ctx.sheets.append(sheet.ws.title)
    for status, n in rows:
        sheet.append([status, n, n / total if total else None])
    ctx.rows += sheet.rows


def rj_outcomes(ctx: Context) -> None:
    """Restorative-justice outcomes recorded in the range, summarised by outcome."""
    owner, stmt = _base()
    stmt = fact_scope(ctx, stmt, "rj_outcome", CaseFact.recorded_at)
    _status_summary(ctx, stmt, "Summary", "Restorative-justice outcomes recorded in the period")
    columns = [
        (Col("case_reference", width=16), Case.reference),
        (Col("case_type", width=26, words=names.case_types()), Case.case_type_code),
        (Col("outcome", width=22, words=names.words), CaseFact.status), (Col("label", width=30), CaseFact.label),
        (Col("owner_organisation", width=30, words=names.organisations()), owner.code),
        (Col("recorded_at", "datetime"), CaseFact.recorded_at),
        (Col("completed_at", "datetime"), CaseFact.completed_at),
    ]
    table(ctx, "RJ outcomes", columns, stmt.order_by(CaseFact.recorded_at, CaseFact.id),
          "Restorative-justice cases and their outcomes")


def panel_actions(ctx: Context) -> None:
    """Panel actions due in the range: owner, due, done / not done / open and overdue."""
    now = utcnow()
    owner, stmt = _base()
    when = func.coalesce(CaseFact.due_at, CaseFact.recorded_at)
    stmt = fact_scope(ctx, stmt, "panel_action", when)
    _status_summary(ctx, stmt, "Summary", "Panel actions due in the period, by status")
    columns = [
        (Col("case_reference", width=16), Case.reference),
        (Col("case_type", width=26, words=names.case_types()), Case.case_type_code),
        (Col("action", width=16), CaseFact.code), (Col("label", width=40), CaseFact.label),
        (Col("owner_organisation", width=30, words=names.organisations()), owner.code),
        (Col("due_at", "datetime"), CaseFact.due_at), (Col("status", words=names.words), CaseFact.status),
        (Col("completed_at", "datetime"), CaseFact.completed_at), (Col("overdue", "bool"), CaseFact.due_at),
    ]

    def derive(row: Sequence[Any]) -> list[Any]:
        due, status = row[5], row[6]
        return [*row[:-1], status in OPEN_STATUSES and due is not None and due < now]

    table(ctx, "Panel actions", columns, stmt.order_by(when, CaseFact.id), "Panel actions and their status",
          row_fn=derive)
