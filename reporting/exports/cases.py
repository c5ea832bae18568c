"""Cases and people exports: one row per visible case / person; people never carry contact details."""
from __future__ import annotations

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import aliased

import access
from models import (Case, CaseOrganisation, CaseParticipant, CaseType, ItemStatus, Organisation, Person,
                    WorkItem)
from models.enums import Role
from reporting.exports import names
from reporting.exports.filters import Context, in_period, within
from reporting.exports.stream import table
from reporting.exports.xlsx import Col


def case_scope(ctx: Context, stmt: Select, date_column=Case.opened_at) -> Select:
    """Restrict a statement over Case to visible cases matching the filters (dates on `date_column`)."""
    f = ctx.filters
    stmt = stmt.where(access.clause(ctx.user, Case))
    stmt = within(stmt, f, date_column)
    if f.organisation is not None:
        stmt = stmt.where(or_(Case.lead_organisation_id == f.organisation.id,
                              exists().where(CaseOrganisation.case_id == Case.id,
                                             CaseOrganisation.organisation_id == f.organisation.id)))
    return stmt


def cases(ctx: Context) -> None:
    """One row per visible case opened in the range; auditors get metadata without titles."""
    lead = aliased(Organisation)
    people = select(func.count(CaseParticipant.id)).where(CaseParticipant.case_id == Case.id).scalar_subquery()
    open_work = select(func.count(WorkItem.id)).where(
        WorkItem.case_id == Case.id, WorkItem.status == ItemStatus.READY).scalar_subquery()
    content = bool(ctx.user.roles & access.CASEWORK)
    columns = [
        (Col("reference", width=16), Case.reference),
        # The type and lead organisation come as codes (hidden, for tools) and names joined in the query.
        (Col("case_type", width=20, label="Case type (code)", hidden=True), Case.case_type_code),
        (Col("case_type_name", width=26, label="Case type"), CaseType.name),
        *([(Col("title", width=40), Case.title)] if content else []),
        (Col("status", words=names.words), Case.status),
        (Col("risk_level", words=names.words), Case.risk_level),
        (Col("lead_organisation", width=20, label="Lead organisation (code)", hidden=True), lead.code),
        (Col("lead_organisation_name", width=30, label="Lead organisation"), lead.name),
        (Col("restricted", "bool"), Case.restricted),
        (Col("opened_at", "datetime"), Case.opened_at),
        (Col("closed_at", "datetime"), Case.closed_at),
        (Col("people", "int"), people),
        (Col("open_work_items", "int"), open_work),
    ]
    stmt = select(Case.id).select_from(Case).join(CaseType, CaseType.code == Case.case_type_code) \
        .join(lead, lead.id == Case.lead_organisation_id)
    stmt = case_scope(ctx, stmt).order_by(Case.opened_at, Case.id)
    note = "" if content else " (metadata only: titles are case content)"
    table(ctx, "Cases", columns, stmt, f"Cases opened in the period{note}")


def people(ctx: Context) -> None:
    """One row per visible person registered in the range: identity fields only, never contact details."""
    f = ctx.filters
    org = aliased(Organisation)
    columns = [
        (Col("external_reference", width=20), Person.external_reference),
        (Col("given_name", width=18), Person.given_name),
        (Col("family_name", width=18), Person.family_name),
        (Col("date_of_birth", "date"), Person.date_of_birth),
        (Col("dob_estimated", "bool"), Person.dob_estimated),
        (Col("sex", words=names.words), Person.sex),
        (Col("preferred_language", width=20), Person.preferred_language),
        (Col("interpreter_required", "bool"), Person.interpreter_required),
        (Col("registered_by", width=30, words=names.organisations()), org.code),
        (Col("created_at", "datetime"), Person.created_at),
    ]
    stmt = select(Person.id).select_from(Person).join(org, org.id == Person.registered_by_org_id) \
        .where(access.clause(ctx.user, Person))
    stmt = in_period(stmt, f, Person.created_at)
    if f.organisation is not None:
        stmt = stmt.where(Person.registered_by_org_id == f.organisation.id)
    if f.case_type:
        on_type = select(CaseParticipant.person_id).join(Case, Case.id == CaseParticipant.case_id) \
            .where(Case.case_type_code == f.case_type, access.clause(ctx.user, Case))
        stmt = stmt.where(Person.id.in_(on_type))
    stmt = stmt.order_by(Person.family_name, Person.given_name, Person.id)
    table(ctx, "People", columns, stmt, "People registered in the period (no contact details, addresses or notes)")


CASE_ROLES = frozenset({Role.PRACTITIONER, Role.MANAGER, Role.LEAD, Role.AUDITOR})
