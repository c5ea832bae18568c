"""Ask to share: an organisation told that a person is "possibly known to" another asks it to share, with a
purpose and a lawful basis; a manager of the holding organisation grants (the asker becomes a partner on the
cases the manager chooses, under an agreement in force, so the person is linked for it) or refuses with a
reason. Both sides are told; everything is audited, and granted shares go to the disclosure log.

The asker never learns which person record matched: the request keeps it for the holder only.
"""
from __future__ import annotations

from sqlalchemy import select


from casework import cases as case_service
from casework import matching, notifications, validate
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import (Case, CaseAccess, CaseOrganisation, CaseParticipant, Organisation, Person, ShareRequest, User, audit,
                    db, utcnow)
from models.enums import Role

TEXT_MAX = 2000


def ask(user: User, holder_id: object, given_name: object, family_name: object, date_of_birth: object,
        purpose: object, lawful_basis: object) -> list[ShareRequest]:
    """Ask the holding organisation about the person this search finds there (one request per matching record).

    :raise InvalidInput: no purpose or basis, a bad search, or nobody matching held there under an agreement
        (the same words whether or not such a person exists)
    :raise Conflict: the same request is already waiting
    """
    if not user.has_role(Role.PRACTITIONER, Role.MANAGER, Role.LEAD):
        raise NotPermitted("Only caseworkers ask to share.")
    purpose = validate.text(purpose, "purpose", TEXT_MAX)
    basis = validate.text(lawful_basis, "lawful_basis", TEXT_MAX)
    given, family, dob = matching.check_query(given_name, family_name, date_of_birth)
    holder = db.session.get(Organisation, validate.whole_number(holder_id)) if holder_id is not None else None
    if holder is None or not holder.active:
        raise InvalidInput({"holder": "choose one of the organisations the person is possibly known to"})
    _, unseen = matching.split(user, matching.candidates(given, family, dob))
    held = matching.holds(holder.id, unseen) if holder.id in matching.partners_of(user.organisation_id) else []
    if not held:
        raise InvalidInput({"holder": f"nobody matching is held by {holder.name} under an agreement with "
                                      f"{user.organisation.name}"})
    waiting = set(db.session.scalars(select(ShareRequest.person_id).where(
        ShareRequest.requester_org_id == user.organisation_id, ShareRequest.holder_org_id == holder.id,
        ShareRequest.person_id.in_(held), ShareRequest.status == "pending")))
    if set(held) <= waiting:
        raise Conflict(f"Your organisation has already asked {holder.name}; the request is waiting for them.")
    made = []
    for person_id in held:
        if person_id in waiting:
            continue
        request = ShareRequest(requester_org_id=user.organisation_id, requested_by_id=user.id, holder_org_id=holder.id,
                               person_id=person_id, purpose=purpose, lawful_basis=basis)
        db.session.add(request)
        made.append(request)
    db.session.flush()
    for request in made:
        audit.record("share_request", user=user, object_type="share_request", object_id=request.id,
                     detail={"holder": holder.code, "purpose": purpose, "lawful_basis": basis})
    notifications.share_requested(holder, user.organisation)
    return made


def incoming(user: User) -> list[ShareRequest]:
    """Requests to the user's organisation (its managers decide), waiting ones first."""
    if not user.has_role(Role.MANAGER):
        return []
    return list(db.session.scalars(select(ShareRequest).where(ShareRequest.holder_org_id == user.organisation_id)
                                   .order_by((ShareRequest.status == "pending").desc(), ShareRequest.id.desc())
                                   .limit(200)))


def outgoing(user: User) -> list[ShareRequest]:
    """Requests the user's organisation made, newest first."""
    return list(db.session.scalars(select(ShareRequest).where(ShareRequest.requester_org_id == user.organisation_id)
                                   .order_by(ShareRequest.id.desc()).limit(200)))


def get_incoming(user: User, request_id: int) -> ShareRequest:
    """A request to the user's organisation, for one of its managers.

    :raise NotFound: not theirs to decide
    """
    request = db.session.get(ShareRequest, request_id) if request_id else None
    if request is None or request.holder_org_id != user.organisation_id or not user.has_role(Role.MANAGER):
        raise NotFound("no such share request")
    return request


def cases_to_share(request: ShareRequest) -> list[Case]:
    """The holder's cases the person is on that could be shared: led by the holder (only a lead shares), not restricted,
    not already shared with the asker."""
    if request.person_id is None:
        return []
    return list(db.session.scalars(
        select(Case).join(CaseParticipant, CaseParticipant.case_id == Case.id)
        .where(CaseParticipant.person_id == request.person_id, Case.restricted.is_(False),
               Case.lead_organisation_id == request.holder_org_id,
               ~Case.id.in_(select(CaseOrganisation.case_id)
                            .where(CaseOrganisation.organisation_id == request.requester_org_id)))
        .order_by(Case.opened_at.desc())))


def home_case(request: ShareRequest, shareable: list[Case]) -> Case | None:
    """The holder's case its managers' decision step runs on: the newest it could share, else the newest
    unrestricted case of the person it takes part in (matching found the person there). `shareable`:
    cases_to_share(request)."""
    if shareable:
        return shareable[0]
    return db.session.scalar(
        select(Case).join(CaseParticipant, CaseParticipant.case_id == Case.id)
        .join(CaseAccess, CaseAccess.case_id == Case.id)
        .where(CaseParticipant.person_id == request.person_id, CaseAccess.organisation_id == request.holder_org_id,
               Case.restricted.is_(False))
        .order_by(Case.opened_at.desc()).limit(1))


def about(request: ShareRequest) -> str:
    """Who the request is about, for the holder (their own record): name and date of birth."""
    person = db.session.get(Person, request.person_id) if request.person_id else None
    if person is None:
        return "a person no longer held"
    born = f", born {person.date_of_birth:%d/%m/%Y}" if person.date_of_birth else ""
    return f"{person.given_name} {person.family_name.upper()}{born}"


def choices(shareable: list[Case]) -> list[list[str]]:
    """The cases the decision step offers, as [id, label]: reference, type and when opened (no titles: the
    step is in the history of a case that other partners may see)."""
    return [[str(c.id), f"{c.reference} — {c.case_type.name}, opened {c.opened_at:%d/%m/%Y}"]
            for c in shareable]


def decide(user: User, request: ShareRequest, grant: bool, case_ids: list[object], reason: object) -> list[Case]:
    """Grant (share the chosen cases with the asker, each under an agreement in force) or refuse with a reason.

    :raise Conflict: already decided (granting twice)
    :raise InvalidInput: no case chosen, a case that is not the holder's to share, or a refusal without a reason
    :raise agreements.NotShared: a chosen case's type is not covered by an agreement in force
    """
    locked = db.session.scalar(select(ShareRequest).where(ShareRequest.id == request.id).with_for_update())
    if locked is None or locked.status != "pending":
        raise Conflict(f"This request was already {locked.status if locked else 'removed'}.")
    if grant:
        eligible = {c.id: c for c in cases_to_share(request)}
        wanted = [validate.whole_number(c) for c in case_ids]
        if not wanted or any(w not in eligible for w in wanted):
            raise InvalidInput({"cases": "choose one or more of the listed cases to share"})
        shared = [eligible[w] for w in dict.fromkeys(wanted)]
        for case in shared:
            case_service.share_with(case, request.requester_org, f"share request {request.id} granted", user)
        request.status, request.shared_cases = "granted", ", ".join(c.reference for c in shared)
    else:
        why = validate.text(reason, "reason", TEXT_MAX, required=False)
        if not (why or "").strip():
            raise InvalidInput({"reason": "say why the request is refused (the asker is told)"})
        request.status, request.refusal_reason, shared = "refused", why, []
    request.decided_by_id, request.decided_at = user.id, utcnow()
    audit.record("share_request_" + request.status, user=user, object_type="share_request", object_id=request.id,
                 detail={"requester": request.requester_org.code, "cases": [c.reference for c in shared],
                         **({"reason": request.refusal_reason} if not grant else {})})
    notifications.share_decided(request.requested_by, request.holder_org)
    return shared

