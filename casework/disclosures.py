"""The disclosure log and sharing exceptions: every share records what went to whom, on which basis (an
agreement in force, or an exception a manager of the lead organisation recorded with a lawful basis and a
reason), so an information-governance lead can answer "who received this, and why was that allowed?"."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from casework import validate
from casework.errors import InvalidInput, NotPermitted
from models import Case, Disclosure, InformationSharingAgreement, Organisation, SharingException, User, audit, db
from models.enums import Role

TEXT_MAX = 2000


def record(what: str, organisation: Organisation, *, case: Case | None = None, person_id: int | None = None,
           agreement: InformationSharingAgreement | None = None, exception: SharingException | None = None,
           user: User | None = None, detail: dict[str, Any] | None = None) -> Disclosure:
    """One entry: `what` went to `organisation`, under the agreement or exception (or the basis in `detail`)."""
    basis = (f"agreement “{agreement.name}”: {agreement.lawful_basis}" if agreement is not None else
             f"exception: {exception.lawful_basis}" if exception is not None else
             (detail or {}).get("basis") or "not recorded")
    row = Disclosure(what=what, organisation_id=organisation.id, case_id=case.id if case else None,
                     person_id=person_id, agreement_id=agreement.id if agreement else None,
                     exception_id=exception.id if exception else None, basis=basis[:TEXT_MAX],
                     by_user_id=user.id if user else None, detail=_json(detail))
    db.session.add(row)
    return row


def exception_for(case: Case, organisation: Organisation) -> SharingException | None:
    """The exception recorded for sharing this case with this organisation, if any."""
    return db.session.scalar(select(SharingException).where(SharingException.case_id == case.id,
                                                            SharingException.organisation_id == organisation.id)
                             .order_by(SharingException.id.desc()))


def record_exception(user: User, case: Case, organisation: Organisation, lawful_basis: object,
                     reason: object) -> SharingException:
    """A manager of the lead organisation lets this one share go ahead without an agreement; audited.

    :raise NotPermitted: not a manager of the lead organisation
    :raise InvalidInput: no lawful basis or no reason
    """
    if user.organisation_id != case.lead_organisation_id or not user.has_role(Role.MANAGER):
        raise NotPermitted(f"Only a manager of {case.lead_organisation.name} records an exception for this case.")
    basis = validate.text(lawful_basis, "lawful_basis", TEXT_MAX, required=False)
    why = validate.text(reason, "reason", TEXT_MAX, required=False)
    missing = [name for name, value in (("lawful_basis", basis), ("reason", why)) if not (value or "").strip()]
    if missing:
        raise InvalidInput({name: "an exception needs a lawful basis and a reason" for name in missing})
    row = SharingException(case_id=case.id, organisation_id=organisation.id, lawful_basis=basis, reason=why,
                           recorded_by_id=user.id)
    db.session.add(row)
    db.session.flush()
    audit.record("sharing_exception", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"organisation": organisation.code, "lawful_basis": basis, "reason": why})
    return row


def _json(detail: dict[str, Any] | None) -> str | None:
    return json.dumps(detail, ensure_ascii=False, default=str) if detail else None
