"""The sharing export for the information-governance lead (auditors): the disclosure log (every share, to whom,
on which basis) and the exceptions managers recorded to share without an agreement."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

import access
from models import Case, Disclosure, InformationSharingAgreement, Organisation, SharingException, User
from reporting.exports import names
from reporting.exports.filters import Context, within
from reporting.exports.stream import table
from reporting.exports.xlsx import Col


def sharing(ctx: Context) -> None:
    """Two sheets: disclosures and sharing exceptions in the period."""
    f = ctx.filters
    to, case, by, isa = aliased(Organisation), aliased(Case), aliased(User), aliased(InformationSharingAgreement)
    columns = [
        (Col("at", "datetime"), Disclosure.at),
        (Col("what", width=14), Disclosure.what),
        (Col("to_organisation", width=30), to.name),
        (Col("case_reference", width=16), case.reference),
        (Col("case_type", width=26, words=names.case_types()), case.case_type_code),
        (Col("agreement", width=36), isa.name),
        (Col("exception_id", "int"), Disclosure.exception_id),
        (Col("basis", width=60), Disclosure.basis),
        (Col("by", width=30), by.email),
        (Col("detail", width=40), Disclosure.detail),
    ]
    stmt = select(Disclosure.id).select_from(Disclosure) \
        .join(to, to.id == Disclosure.organisation_id) \
        .outerjoin(case, case.id == Disclosure.case_id) \
        .outerjoin(by, by.id == Disclosure.by_user_id) \
        .outerjoin(isa, isa.id == Disclosure.agreement_id) \
        .where(access.clause(ctx.user, Disclosure))
    stmt = within(stmt, f, Disclosure.at, case.case_type_code)
    if f.organisation is not None:
        stmt = stmt.where(Disclosure.organisation_id == f.organisation.id)
    table(ctx, "Disclosures", columns, stmt.order_by(Disclosure.id), "What went to whom, and on which basis")

    to, case, by, lead = aliased(Organisation), aliased(Case), aliased(User), aliased(Organisation)
    columns = [
        (Col("id", "int"), SharingException.id),
        (Col("recorded_at", "datetime"), SharingException.recorded_at),
        (Col("case_reference", width=16), case.reference),
        (Col("lead_organisation", width=30), lead.name),
        (Col("shared_with", width=30), to.name),
        (Col("lawful_basis", width=50), SharingException.lawful_basis),
        (Col("reason", width=50), SharingException.reason),
        (Col("recorded_by", width=30), by.email),
    ]
    stmt = select(SharingException.id).select_from(SharingException) \
        .join(to, to.id == SharingException.organisation_id) \
        .join(case, case.id == SharingException.case_id) \
        .join(lead, lead.id == case.lead_organisation_id) \
        .join(by, by.id == SharingException.recorded_by_id) \
        .where(access.clause(ctx.user, SharingException))
    stmt = within(stmt, f, SharingException.recorded_at, case.case_type_code)
    if f.organisation is not None:
        stmt = stmt.where(case.lead_organisation_id == f.organisation.id)
    table(ctx, "Exceptions", columns, stmt.order_by(SharingException.id),
          "Shares without an agreement, each with the manager's lawful basis and reason")
