"""Information-sharing agreements: recorded now, reported as warnings; enforcement is a later step."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from models import InformationSharingAgreement, Organisation, db


def covers(isa: InformationSharingAgreement, a: int, b: int, case_type: str, on: date) -> bool:
    """Does this agreement cover sharing between two organisations for a case type today?"""
    orgs = {o.id for o in isa.organisations}
    types = {t.code for t in isa.case_types}
    in_force = isa.valid_from <= on and (isa.valid_to is None or on <= isa.valid_to)
    return in_force and {a, b} <= orgs and (not types or case_type in types)


def missing(lead: Organisation, partners: list[Organisation], case_type: str, on: date | None = None) -> list[str]:
    """Warnings for each partner with no agreement in force with the lead for this case type."""
    on = on or date.today()
    agreements = db.session.scalars(select(InformationSharingAgreement)).all()
    return [f"no information-sharing agreement in force covers {lead.name} and {p.name} for {case_type} cases"
            for p in partners if p.id != lead.id
            and not any(covers(isa, lead.id, p.id, case_type, on) for isa in agreements)]
