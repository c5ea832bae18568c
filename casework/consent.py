"""Consent as a record: given or refused, for which purpose and organisations, how (verbal, written, online),
recorded by whom and when, withdrawn when. A withdrawal tells the organisations that consent covered which
share the person's cases, and flags those shares for review (a case note and a disclosure-log entry each)."""
from __future__ import annotations

from sqlalchemy import select

import access
from casework import disclosures, notifications, validate
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import (Case, CaseNote, CaseOrganisation, CaseParticipant, Consent, Organisation, Person, User, audit,
                    db, utcnow)

METHODS = ("verbal", "written", "online")
TEXT_MAX = 2000


def history(person: Person) -> list[Consent]:
    """Every consent recorded for the person, newest first."""
    return list(db.session.scalars(select(Consent).where(Consent.person_id == person.id)
                                   .order_by(Consent.id.desc())))


def record(user: User, person: Person, given: object, purpose: object, organisation_codes: list[str],
           method: object, case: Case | None = None) -> Consent:
    """Record a consent decision the user heard or received.

    :raise NotPermitted: the user may not see the person (or does no casework)
    :raise InvalidInput: no purpose, an unknown way of giving it, no or unknown organisations
    """
    if not access.can(user, access.Action.VIEW, person) or not user.has_role(*access.CASEWORK):
        raise NotPermitted("You may not record consent for this person.")
    if not isinstance(given, bool):
        raise InvalidInput({"given": "say whether consent was given or refused"})
    purpose = validate.text(purpose, "purpose", TEXT_MAX)
    method = validate.choice(method, "method", set(METHODS))
    codes = sorted({str(c).strip() for c in organisation_codes if str(c).strip()})
    if not codes:
        raise InvalidInput({"organisations": "name the organisations the consent covers"})
    known = set(db.session.scalars(select(Organisation.code).where(Organisation.code.in_(codes))))
    if set(codes) - known:
        raise InvalidInput({"organisations": f"no organisation {', '.join(sorted(set(codes) - known))}"})
    row = Consent(person_id=person.id, given=given, purpose=purpose, organisations=",".join(codes), method=method,
                  case_id=case.id if case else None, recorded_by_id=user.id, recorded_by_org_id=user.organisation_id)
    db.session.add(row)
    db.session.flush()
    audit.record("consent_recorded", user=user, object_type="person", object_id=person.id,
                 case_id=case.id if case else None,
                 detail={"consent": row.id, "given": given, "organisations": codes, "method": method})
    return row


def withdraw(user: User, consent_id: int) -> list[Case]:
    """Withdraw a consent (once): the organisations it covered that share the person's cases are told, and each
    such share gets a note and a disclosure-log entry to review it. Returns the cases flagged.

    :raise NotFound: no such consent the user may see
    :raise Conflict: already withdrawn
    """
    consent = db.session.get(Consent, consent_id) if consent_id else None
    person = db.session.get(Person, consent.person_id) if consent else None
    if consent is None or person is None or not access.can(user, access.Action.VIEW, person):
        raise NotFound("no such consent")
    locked = db.session.scalar(select(Consent).where(Consent.id == consent.id).with_for_update())
    if locked.withdrawn_at is not None:
        raise Conflict(f"This consent was already withdrawn on {locked.withdrawn_at:%d/%m/%Y}.")
    locked.withdrawn_at, locked.withdrawn_by_id = utcnow(), user.id
    orgs = list(db.session.scalars(select(Organisation).where(Organisation.code.in_(locked.organisation_codes))))
    flagged = []
    for org in orgs:
        shared = db.session.scalars(
            select(Case).join(CaseParticipant, CaseParticipant.case_id == Case.id)
            .join(CaseOrganisation, CaseOrganisation.case_id == Case.id)
            .where(CaseParticipant.person_id == person.id, CaseOrganisation.organisation_id == org.id)).all()
        for case in shared:
            db.session.add(CaseNote(case_id=case.id, author_id=user.id, organisation_id=user.organisation_id,
                                    body=f"Casebook: consent for “{locked.purpose}” was withdrawn; review what is "
                                         f"shared with {org.name} on this case."))
            disclosures.record("consent withdrawn", org, case=case, person_id=person.id, user=user,
                               detail={"consent": locked.id, "review": True,
                                       "basis": "consent withdrawn: share to be reviewed"})
            notifications.notify_organisation(org, None, "consent_withdrawn", case=case)
            flagged.append(case)
    audit.record("consent_withdrawn", user=user, object_type="person", object_id=person.id,
                 detail={"consent": locked.id, "cases_flagged": [c.reference for c in flagged]})
    return flagged
