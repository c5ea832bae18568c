"""The audit-log export (auditors only): every event in the range, with its hash-chain fields."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

import access
from models import AuditEvent, Case, Organisation
from reporting.exports import names
from reporting.exports.filters import Context, within
from reporting.exports.stream import table
from reporting.exports.xlsx import Col


def audit(ctx: Context) -> None:
    """One row per audit event in the range (organisation = the acting user's organisation)."""
    f = ctx.filters
    org, case = aliased(Organisation), aliased(Case)
    columns = [
        (Col("id", "int"), AuditEvent.id),
        (Col("at", "datetime"), AuditEvent.at),
        (Col("user_email", width=30), AuditEvent.user_email),
        (Col("organisation", width=30, words=names.organisations()), org.code),
        # Actions and objects in words as the console's audit log shows them; the codes stay for tools.
        (Col("action", width=18, words=names.words), AuditEvent.action),
        (Col("object_type", width=16, label="Object", words=names.words), AuditEvent.object_type),
        (Col("object_id", width=12), AuditEvent.object_id),
        (Col("case_reference", width=16), case.reference),
        (Col("detail", width=60), AuditEvent.detail),
        (Col("hash", width=20), AuditEvent.hash),
    ]
    stmt = select(AuditEvent.id).select_from(AuditEvent) \
        .outerjoin(org, org.id == AuditEvent.organisation_id) \
        .outerjoin(case, case.id == AuditEvent.case_id) \
        .where(access.clause(ctx.user, AuditEvent))
    stmt = within(stmt, f, AuditEvent.at, case.case_type_code)
    if f.organisation is not None:
        stmt = stmt.where(AuditEvent.organisation_id == f.organisation.id)
    table(ctx, "Audit", columns, stmt.order_by(AuditEvent.id), "Audit events in the period")
