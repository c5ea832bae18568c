"""The cases behind a dashboard figure: the same conditions the figure counts, listed a page at a time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

import access
from casework.errors import NotFound
from models import Case, CaseFact, CaseType, Organisation, WorkItem, db
from reporting.dashboard import (ENTITLEMENT_COLUMNS, ENTITLEMENT_KEYS, NOBODY, PANEL_STATUSES,
                                 entitlement_outcomes,
                                 Filters, _fact_scope, _open_conds, _work_columns, _work_conds)

PAGE = 50
MAX_PAGE = 200   # deeper than this is an export, not a page


@dataclass(frozen=True)
class Listing:
    """What a figure counts, for the list page."""

    kind: str            # "cases", "work" or "facts"
    title: str
    stmt: Select         # the rows, newest first


def _org_id(row: str) -> int | None:
    if not row.isdigit():
        raise NotFound("no such row on the dashboard")
    return int(row)


def _entitlement(key: str, now: datetime) -> ColumnElement[bool]:
    conds = entitlement_outcomes(now)
    if key not in conds:
        raise NotFound("no such row on the dashboard")
    return conds[key]


def _right(code: str) -> ColumnElement[bool]:
    """Facts of one right (R6 holds R6, R6a:2, not R60), as casework.entitlements.right_of groups them."""
    return or_(CaseFact.code == code, and_(CaseFact.code.like(code + "%"),
                                           func.substr(CaseFact.code, len(code) + 1, 1).not_in(list("0123456789"))))


def _cases(title: str, conds: list[ColumnElement[bool]]) -> Listing:
    return Listing("cases", title, select(Case).where(*conds).order_by(Case.opened_at.desc(), Case.id.desc()))


def _facts(title: str, conds: list[ColumnElement[bool]]) -> Listing:
    # Newest recorded first, by primary key: a page reads the index backwards until it has 50 matches instead of
    # sorting every fact behind a large figure.
    return Listing("facts", title, select(CaseFact, Case).join(Case, Case.id == CaseFact.case_id).where(*conds)
                   .order_by(CaseFact.id.desc()))


def listing(cases: ColumnElement[bool], f: Filters, panel: str, row: str, column: int, now: datetime) -> Listing:
    """The rows behind one figure of a panel (row "" = every row of the panel).

    :raise NotFound: a panel, row or column the dashboard does not have
    """
    if panel in ("open-by-type", "open-by-agency"):
        conds = _open_conds(cases, f)
        if row and panel == "open-by-type":
            conds.append(Case.case_type_code == row)
            name = db.session.get(CaseType, row)
            title = f"Open cases: {name.name if name else row}"
        elif row:
            lead = db.session.get(Organisation, _org_id(row))
            conds.append(Case.lead_organisation_id == _org_id(row))
            title = f"Open cases led by {lead.name if lead else 'that organisation'}"
        else:
            title = "Open cases"
        return _cases(title, conds)
    if panel == "work-by-agency":
        if column not in range(4):
            raise NotFound("no such column on the dashboard")
        conds = _work_conds(cases, f)
        if row == NOBODY:
            conds.append(WorkItem.organisation_id.is_(None))
        elif row:
            conds.append(WorkItem.organisation_id == _org_id(row))
        if column < 3:
            conds.append(_work_columns(now)[column])
        words = ("Overdue work", "Work due later", "Work with no due date", "Ready work")[column]
        stmt = select(WorkItem, Case).join(Case, Case.id == WorkItem.case_id).where(*conds) \
            .order_by(WorkItem.due_at.asc().nulls_last(), WorkItem.id)   # ix_work_item_ready's order
        return Listing("work", words, stmt)
    if panel in ("entitlements", "entitlements-by-right"):
        conds = _fact_scope(cases, f, "entitlement")
        if panel == "entitlements":
            key = row
        else:
            if column not in range(len(ENTITLEMENT_KEYS)):
                raise NotFound("no such column on the dashboard")
            key = ENTITLEMENT_KEYS[column]
            if row:
                conds.append(_right(row))
        conds.append(_entitlement(key, now))
        words = ENTITLEMENT_COLUMNS[ENTITLEMENT_KEYS.index(key)]
        return _facts(f"Victims' Code entitlements{' of ' + row if panel != 'entitlements' and row else ''}: "
                      f"{words.lower()}", conds)
    if panel in ("referrals", "rj-outcomes"):
        kind = "referral" if panel == "referrals" else "rj_outcome"
        conds = _fact_scope(cases, f, kind)
        if row:
            conds.append(CaseFact.status == row)
        what = "Referrals" if kind == "referral" else "Restorative justice outcomes"
        return _facts(f"{what}: {row.replace('_', ' ')}" if row else what, conds)
    if panel == "panel-actions":
        if column not in range(4):
            raise NotFound("no such column on the dashboard")
        conds = _fact_scope(cases, f, "panel_action")
        if row == NOBODY:
            conds.append(CaseFact.owner_organisation_id.is_(None))
        elif row:
            conds.append(CaseFact.owner_organisation_id == _org_id(row))
        if column < 3:
            conds.append(CaseFact.status == PANEL_STATUSES[column])
        else:
            conds += [CaseFact.status == "open", CaseFact.due_at.is_not(None), CaseFact.due_at < now]
        return _facts("Panel actions: " + ("open", "done", "not done", "open and overdue")[column], conds)
    raise NotFound("no such panel on the dashboard")


def page_of(user: Any, f: Filters, panel: str, row: str, column: int, page: int,
            now: datetime) -> tuple[Listing, list[Any], bool]:
    """One page of the rows behind a figure, over the cases the user sees (shared and their restricted ones):
    (listing, rows, whether there are more)."""
    shared, personal = access.case_parts(user)
    found = listing(or_(shared, personal), f, panel, row, column, now)
    page = min(max(page, 1), MAX_PAGE)
    rows = db.session.execute(found.stmt.limit(PAGE + 1).offset((page - 1) * PAGE)).all()
    return found, [r if len(r) > 1 else r[0] for r in rows[:PAGE]], len(rows) > PAGE


__all__ = ["Listing", "listing", "page_of", "PAGE", "MAX_PAGE"]
