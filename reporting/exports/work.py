"""Work-item exports: every visible work item, and the ready ones past their due date."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Select, and_, case, select
from sqlalchemy.orm import aliased

import access
from models import Case, ItemStatus, Organisation, User, WorkItem, utcnow
from reporting.exports import names
from reporting.exports.filters import Context, within
from reporting.exports.stream import table
from reporting.exports.xlsx import Col, local_datetime


def work_scope(ctx: Context, stmt: Select, date_column=WorkItem.created_at) -> Select:
    """Visible work items matching the filters (organisation = the assigned organisation)."""
    f = ctx.filters
    stmt = stmt.where(access.clause(ctx.user, WorkItem))
    stmt = within(stmt, f, date_column)
    if f.organisation is not None:
        stmt = stmt.where(WorkItem.organisation_id == f.organisation.id)
    return stmt


def _columns() -> tuple[list[tuple[Col, Any]], Select]:
    org, claimer, completer = aliased(Organisation), aliased(User), aliased(User)
    on_time = case((and_(WorkItem.completed_at.is_not(None), WorkItem.due_at.is_not(None)),
                    case((WorkItem.completed_at <= WorkItem.due_at, 1), else_=0)), else_=None)
    columns = [
        (Col("case_reference", width=16), Case.reference),
        (Col("case_type", width=26, words=names.case_types()), Case.case_type_code),
        (Col("process", width=30, words=names.processes()), WorkItem.process_key),
        (Col("step", width=36), WorkItem.title),
        (Col("lane", width=18), WorkItem.lane),   # the lane's name as drawn in the diagram: words already
        (Col("organisation", width=30, words=names.organisations()), org.code),
        (Col("required_role", words=names.words), WorkItem.required_role),
        (Col("status", words=names.words), WorkItem.status),
        (Col("claimed_by", width=28), claimer.email),
        (Col("created_at", "datetime"), WorkItem.created_at),
        (Col("due_at", "datetime"), WorkItem.due_at),
        (Col("completed_at", "datetime"), WorkItem.completed_at),
        (Col("completed_by", width=28), completer.email),
        (Col("completed_on_time", "bool"), on_time),
    ]
    stmt = select(WorkItem.id).select_from(WorkItem).join(Case, Case.id == WorkItem.case_id) \
        .outerjoin(org, org.id == WorkItem.organisation_id) \
        .outerjoin(claimer, claimer.id == WorkItem.claimed_by_id) \
        .outerjoin(completer, completer.id == WorkItem.completed_by_id)
    return columns, stmt


def work_items(ctx: Context) -> None:
    """One row per visible work item created in the range."""
    columns, stmt = _columns()
    stmt = work_scope(ctx, stmt).order_by(WorkItem.created_at, WorkItem.id)
    table(ctx, "Work items", columns, stmt, "Work items created in the period")


def overdue(ctx: Context) -> None:
    """Ready work items whose due time has passed (now), due in the range; most overdue first."""
    now = utcnow()
    columns, stmt = _columns()
    columns = [c for c in columns if c[0].header not in ("completed_at", "completed_by", "completed_on_time")]
    columns.append((Col("days_overdue", "number"), WorkItem.due_at))
    stmt = work_scope(ctx, stmt, WorkItem.due_at) \
        .where(WorkItem.status == ItemStatus.READY, WorkItem.due_at < now) \
        .order_by(WorkItem.due_at, WorkItem.id)

    def days(row: Sequence[Any]) -> list[Any]:
        due: datetime = row[-1]
        return [*row[:-1], round((now - due).total_seconds() / 86400, 1)]

    table(ctx, "Overdue work", columns, stmt,
          f"Work not done by its due time, as of {local_datetime(now):%Y-%m-%d %H:%M}", row_fn=days)
