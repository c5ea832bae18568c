"""Information-sharing agreements: their lifecycle (draft, each party's approval, in force, expired) and the rule
that a case is shared with a partner only under one in force for the lead, the partner and the case type.

`ISA_ENFORCEMENT=enforce` (default) refuses a share without one, naming what is missing; `warn` lets it through
and reports it, as Casebook did before agreements were enforced.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from casework import disclosures, validate
from casework.errors import InvalidInput, NotPermitted
from models import (Case, CaseType, InformationSharingAgreement, IsaApproval, Organisation, SharingException, User,
                    audit, db, utcnow)
from models.base import TITLE_MAX
from models.enums import Role


class NotShared(InvalidInput):
    """No agreement in force covers this share (the message says what is missing)."""

    def __init__(self, message: str) -> None:
        super().__init__({"organisations": message})
        self.message = message

    def __str__(self) -> str:
        return self.message


def enforcing() -> bool:
    """Whether shares without an agreement in force are refused (else only reported)."""
    return current_app.config.get("ISA_ENFORCEMENT", "enforce") != "warn"


def covers(isa: InformationSharingAgreement, a: int, b: int, case_type: str, on: date) -> bool:
    """Does this agreement, in force on that day, cover sharing between the two organisations for the type?"""
    orgs = {o.id for o in isa.organisations}
    types = {t.code for t in isa.case_types}
    return isa.status(on) == "in force" and {a, b} <= orgs and (not types or case_type in types)


def _between(a: int, b: int) -> list[InformationSharingAgreement]:
    """The agreements both organisations are party to (whatever their state)."""
    return [isa for isa in db.session.scalars(select(InformationSharingAgreement)
                                              .where(InformationSharingAgreement.organisations.any(id=a),
                                                     InformationSharingAgreement.organisations.any(id=b)))]


def in_force(lead: Organisation, partner: Organisation, case_type: str, on: date | None = None
             ) -> InformationSharingAgreement | None:
    """The agreement in force that covers the lead, the partner and the case type, if any."""
    on = on or date.today()
    return next((isa for isa in _between(lead.id, partner.id) if covers(isa, lead.id, partner.id, case_type, on)),
                None)


def why_not(lead: Organisation, partner: Organisation, case_type: str, on: date | None = None) -> str:
    """What is missing for this share, in words an information-governance lead would use."""
    on = on or date.today()
    found = _between(lead.id, partner.id)
    base = f"no information-sharing agreement in force covers {lead.name} and {partner.name} for {case_type} cases"
    if not found:
        return f"{base}: they have no agreement"
    reasons = []
    for isa in found:
        types = {t.code for t in isa.case_types}
        state = isa.status(on)
        if types and case_type not in types:
            reasons.append(f"“{isa.name}” does not cover {case_type} cases")
        elif state == "draft":
            waiting = sorted(o.name for o in isa.organisations
                             if o.id not in {a.organisation_id for a in isa.approvals})
            reasons.append(f"“{isa.name}” is a draft, waiting for {', '.join(waiting)} to approve it")
        elif state == "expired":
            reasons.append(f"“{isa.name}” expired on {isa.valid_to:%d/%m/%Y}")
        elif state == "approved":
            reasons.append(f"“{isa.name}” starts on {isa.valid_from:%d/%m/%Y}")
    return f"{base}: {'; '.join(reasons)}"


@dataclass
class Basis:
    """What a share rests on: an agreement in force, or an exception recorded for this case; under `warn`,
    neither, and the warning that says so."""

    agreement: InformationSharingAgreement | None = None
    exception: SharingException | None = None
    warning: str | None = None


def check(lead: Organisation, partner: Organisation, case_type: str, case: Case | None = None) -> Basis:
    """The basis for sharing a case of this type, led by `lead`, with `partner` (an exception recorded for
    `case` counts when no agreement does).

    :raise NotShared: when enforcing and there is neither
    """
    if partner.id == lead.id:
        return Basis()
    isa = in_force(lead, partner, case_type)
    if isa is not None:
        return Basis(agreement=isa)
    exception = disclosures.exception_for(case, partner) if case is not None and case.id else None
    if exception is not None:
        return Basis(exception=exception)
    reason = why_not(lead, partner, case_type)
    if enforcing():
        raise NotShared(reason)
    return Basis(warning=reason)


def shared(case: Case, partner: Organisation, basis: Basis, user: User | None, why: str) -> None:
    """Log a share that has just happened: the disclosure log (with its basis) and the audit."""
    disclosures.record("case shared", partner, case=case, agreement=basis.agreement, exception=basis.exception,
                       user=user, detail={"why": why, **({"basis": f"none ({basis.warning})"} if basis.warning
                                                         else {})})
    audit.record("add_organisation", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"organisation": partner.code, "why": why,
                         "isa": basis.agreement.id if basis.agreement else None,
                         "exception": basis.exception.id if basis.exception else None,
                         **({"isa_warnings": [basis.warning]} if basis.warning else {})})


def missing(lead: Organisation, partners: list[Organisation], case_type: str, on: date | None = None) -> list[str]:
    """Warnings for each partner with no agreement in force with the lead for this case type."""
    return [why_not(lead, p, case_type, on) for p in partners
            if p.id != lead.id and in_force(lead, p, case_type, on) is None]


def approve(isa: InformationSharingAgreement, organisation: Organisation, user: User | None) -> bool:
    """Record one party's approval (a manager of that organisation; `user` None: the operator on the command
    line); the agreement is approved once every party has. Returns whether this changed anything.

    :raise NotPermitted: the user is not a manager of that party
    """
    if organisation.id not in {o.id for o in isa.organisations}:
        raise NotPermitted(f"{organisation.name} is not a party to “{isa.name}”.")
    if user is not None and (user.organisation_id != organisation.id or not user.has_role(Role.MANAGER)):
        raise NotPermitted(f"Only a manager of {organisation.name} approves “{isa.name}” for it.")
    if any(a.organisation_id == organisation.id for a in isa.approvals):
        return False
    isa.approvals.append(IsaApproval(organisation_id=organisation.id, approved_by_id=user.id if user else None))
    parties = {o.id for o in isa.organisations}
    if len(parties) >= 2 and parties <= {a.organisation_id for a in isa.approvals}:
        isa.approved_at = utcnow()
    audit.record("approve_isa", user=user, object_type="isa", object_id=isa.id,
                 detail={"organisation": organisation.code, "approved": isa.approved_at is not None})
    return True


def reset_approvals(isa: InformationSharingAgreement, why: str) -> None:
    """The parties, case types or dates changed: every party approves again (until then it is a draft)."""
    if isa.approvals or isa.approved_at:
        isa.approvals.clear()
        isa.approved_at = None
        audit.record("isa_back_to_draft", object_type="isa", object_id=isa.id, detail={"why": why})


def create(name: str, org_codes: list[str], case_type_codes: list[str], valid_from: object, valid_to: object,
           lawful_basis: str | None = None, review_on: object = None, approve_all: bool = False
           ) -> InformationSharingAgreement:
    """A new agreement (a draft unless `approve_all`, the operator approving for every party).

    :raise InvalidInput: fewer than two parties, unknown organisations or case types, bad or reversed dates
    """
    name = validate.text(name, "name", TITLE_MAX)
    codes = list(dict.fromkeys(org_codes))
    orgs = db.session.scalars(select(Organisation).where(Organisation.code.in_(codes))).all()
    unknown = sorted(set(codes) - {o.code for o in orgs})
    if unknown:
        raise InvalidInput({"org": f"no organisation with code {', '.join(map(repr, unknown))}"})
    if len(orgs) < 2:
        raise InvalidInput({"org": "an agreement needs at least two organisations"})
    types = db.session.scalars(select(CaseType).where(CaseType.code.in_(case_type_codes))).all()
    unknown = sorted(set(case_type_codes) - {t.code for t in types})
    if unknown:
        raise InvalidInput({"case_type": f"no case type {', '.join(map(repr, unknown))}"})
    start = validate.date_value(valid_from, "valid_from", required=True)
    end = validate.date_value(valid_to, "valid_to", required=False)
    if end is not None and end < start:
        raise InvalidInput({"valid_to": "the agreement cannot end before it starts"})
    isa = InformationSharingAgreement(name=name, lawful_basis=validate.text(lawful_basis or "Not recorded",
                                                                            "lawful_basis", 2000),
                                      valid_from=start, valid_to=end,
                                      review_on=validate.date_value(review_on, "review_on", required=False),
                                      organisations=list(orgs), case_types=list(types))
    db.session.add(isa)
    db.session.flush()
    audit.record("create", object_type="isa", object_id=isa.id,
                 detail={"name": name, "organisations": sorted(codes), "case_types": sorted(case_type_codes)})
    if approve_all:
        for org in orgs:
            approve(isa, org, None)
    return isa
