"""Stream a query into a sheet: rows come from the database in chunks and leave for the file at once."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from sqlalchemy import Select, func, select

from models import db
from reporting.exports.filters import Context
from reporting.exports.xlsx import CHUNK, Col


def table(ctx: Context, title: str, columns: Sequence[tuple[Col, object]], stmt: Select,
          caption: str | None = None, row_fn: Callable[[Sequence[Any]], Sequence[Any]] | None = None) -> int:
    """Add a sheet of `columns` (each a Col and its SQL expression) filled by `stmt`; returns rows written.

    `stmt` must already be restricted with access.clause and the filters; its selected columns are
    replaced by the expressions given here, in order. `row_fn` may derive values from each row.
    """
    cols = [c for c, _ in columns]
    query = stmt.with_only_columns(*[expr for _, expr in columns], maintain_column_froms=True)
    sheet = ctx.book.sheet(title, cols, caption)
    ctx.sheets.append(sheet.ws.title)
    if ctx.progress is not None:
        ctx.expect(db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
    # yield_per streams (a server-side cursor on PostgreSQL) so memory stays flat however many rows.
    result = db.session.execute(query.execution_options(yield_per=CHUNK))
    rows = result if row_fn is None else map(row_fn, result)
    n = sheet.extend(rows, ctx.advance if ctx.progress is not None else None)
    ctx.rows += n
    return n
