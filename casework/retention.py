"""Retention and disposal: closed cases whose retention period has ended are listed (by the worker), a manager
of the lead organisation decides, and disposal anonymises or deletes the case, its people where no other case
needs them, form answers, notes and workflow state. The audit chain is untouched: its rows hold ids, field
names and hashes, not case content. Legal holds stop disposal. Every decision is audited and kept as a
`DisposalReview` row, which is the disposal report."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from casework import documents, validate
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import (Case, CaseFact, CaseMember, CaseNote, CaseParticipant, DisposalReview, Person, RetentionRule,
                    User, WorkflowInstance, WorkItem, audit, db, utcnow)
from models.enums import CaseStatus, Role
from models.retention import ACTIONS

SWEEP_LIMIT = 500   # cases listed per worker round: a backlog is worked through over several rounds
KEEP_DAYS_MAX = 100 * 366


def check_rule(keep_days: object, action: object) -> tuple[int, str]:
    """A rule's period (whole days, 0 to 100 years) and action (review, anonymise or delete).

    :raise InvalidInput: naming the field
    """
    days = validate.whole_number(keep_days, KEEP_DAYS_MAX) if not isinstance(keep_days, int) else keep_days
    if days is None or not 0 <= days <= KEEP_DAYS_MAX:
        raise InvalidInput({"keep_days": f"must be a whole number of days from 0 to {KEEP_DAYS_MAX}"})
    return days, validate.choice(action, "action", set(ACTIONS))


def sweep(now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """List closed cases past their type's retention period as due (the worker's part); returns how many."""
    now = now or utcnow()
    listed = 0
    for rule in db.session.scalars(select(RetentionRule).order_by(RetentionRule.case_type_code)).all():
        pending = exists().where(DisposalReview.case_id == Case.id,
                                 or_(DisposalReview.status == "due",
                                     and_(DisposalReview.status == "kept", DisposalReview.keep_until > now)))
        cases = db.session.execute(
            select(Case.id, Case.reference, Case.case_type_code, Case.lead_organisation_id, Case.closed_at)
            .where(Case.case_type_code == rule.case_type_code, Case.status == CaseStatus.CLOSED,
                   Case.closed_at <= now - timedelta(days=rule.keep_days), Case.legal_hold_reason.is_(None),
                   Case.anonymised_at.is_(None), ~pending)
            .order_by(Case.closed_at).limit(limit - listed)).all()
        for row in cases:
            db.session.add(DisposalReview(case_id=row.id, case_reference=row.reference,
                                          case_type_code=row.case_type_code,
                                          lead_organisation_id=row.lead_organisation_id, closed_at=row.closed_at,
                                          due_at=row.closed_at + timedelta(days=rule.keep_days),
                                          proposed=rule.action))
        listed += len(cases)
        if listed >= limit:
            break
    if listed:
        audit.record("retention_due", object_type="disposal_review", detail={"listed": listed})
    db.session.flush()
    return listed


def _decider(user: User, review: DisposalReview) -> None:
    if not (user.has_role(Role.MANAGER) and user.organisation_id == review.lead_organisation_id):
        raise NotPermitted("Only a manager of the organisation that leads the case decides on its disposal.")


def reviews(user: User, status: str = "due", limit: int = 200) -> list[DisposalReview]:
    """The lead organisation's reviews in a status, oldest due first (managers only)."""
    if not user.has_role(Role.MANAGER):
        return []
    order = DisposalReview.due_at if status == "due" else DisposalReview.decided_at.desc()
    return list(db.session.scalars(select(DisposalReview).where(
        DisposalReview.lead_organisation_id == user.organisation_id, DisposalReview.status == status)
        .order_by(order, DisposalReview.id).limit(limit)))


def get_review(user: User, review_id: int) -> DisposalReview:
    """One review of the user's organisation.

    :raise NotFound:
    """
    review = db.session.get(DisposalReview, review_id)
    if review is None or review.lead_organisation_id != user.organisation_id or not user.has_role(Role.MANAGER):
        raise NotFound("no such disposal review")
    return review


def keep(user: User, review: DisposalReview, until: datetime, note: str) -> None:
    """Decide to keep the case until a later date (with the reason); it is listed again then."""
    _decider(user, review)
    if review.status != "due":
        raise Conflict(f"this review was already decided ({review.status})")
    note = validate.text(note, "note", 2000)
    if until <= utcnow():
        raise InvalidInput({"keep_until": "must be in the future"})
    review.status, review.outcome, review.keep_until, review.note = "kept", "kept", until, note
    review.decided_by_id, review.decided_at = user.id, utcnow()
    audit.record("retention_keep", user=user, object_type="disposal_review", object_id=review.id,
                 case_id=review.case_id, detail={"reference": review.case_reference, "until": until.date()})


def dispose(user: User, review: DisposalReview, how: str, note: str | None = None) -> dict[str, int]:
    """Anonymise or delete the case now; returns what was removed. Audited; the review row is the report.

    :raise NotPermitted, Conflict (decided already, or under legal hold), InvalidInput:
    """
    _decider(user, review)
    how = validate.choice(how, "how", {"anonymise", "delete"})
    if review.status != "due":
        raise Conflict(f"this review was already decided ({review.status})")
    case = db.session.get(Case, review.case_id) if review.case_id else None
    if case is None:
        raise Conflict("the case no longer exists")
    if case.legal_hold_reason:
        raise Conflict(f"the case is under a legal hold ({case.legal_hold_reason}); release the hold first")
    removed = _anonymise(case) if how == "anonymise" else _delete(case)
    review.status, review.outcome = "disposed", "anonymised" if how == "anonymise" else "deleted"
    review.note = validate.text(note, "note", 2000, required=False)
    review.removed = json.dumps(removed, sort_keys=True)
    review.decided_by_id, review.decided_at = user.id, utcnow()
    audit.record("dispose", user=user, object_type="case", object_id=review.case_id or review.case_reference,
                 case_id=review.case_id, detail={"reference": review.case_reference, "how": how, **removed})
    return removed


def hold(user: User, case: Case, reason: str | None) -> None:
    """Place (with a reason) or release (no reason) a legal hold; managers and leads of the lead organisation."""
    if not (user.has_role(Role.MANAGER, Role.LEAD) and user.organisation_id == case.lead_organisation_id):
        raise NotPermitted("Only a manager or lead of the organisation that leads the case sets a legal hold.")
    reason = validate.text(reason, "reason", 500, required=False)
    case.legal_hold_reason = reason
    audit.record("legal_hold" if reason else "legal_hold_released", user=user, object_type="case",
                 object_id=case.id, case_id=case.id, detail={"reason": reason} if reason else None)


def _people_only_here(case_id: int) -> list[int]:
    """People on this case whom no other case needs."""
    elsewhere = aliased(CaseParticipant)
    others = exists().where(elsewhere.person_id == Person.id, elsewhere.case_id != case_id)
    return list(db.session.scalars(select(Person.id).join(CaseParticipant, CaseParticipant.person_id == Person.id)
                                   .where(CaseParticipant.case_id == case_id, ~others).distinct()))


def _strip_workflow(case_id: int) -> dict[str, int]:
    answers = db.session.execute(update(WorkItem).where(WorkItem.case_id == case_id, WorkItem.data.is_not(None))
                                 .values(data=None)).rowcount
    states = db.session.execute(update(WorkflowInstance).where(WorkflowInstance.case_id == case_id)
                                .values(state="{}", steps=None)).rowcount
    return {"form_answers": answers, "workflow_states": states}


def _anonymise(case: Case) -> dict[str, int]:
    people = _people_only_here(case.id)
    removed = {"documents": documents.remove_all([case.id], people),   # letters and uploads hold personal data
               "notes": db.session.execute(delete(CaseNote).where(CaseNote.case_id == case.id)).rowcount,
               "people_links": db.session.execute(delete(CaseParticipant)
                                                  .where(CaseParticipant.case_id == case.id)).rowcount,
               **_strip_workflow(case.id)}
    removed["people"] = db.session.execute(delete(Person).where(Person.id.in_(people))).rowcount if people else 0
    case.title, case.summary, case.external_reference = f"[anonymised {utcnow():%Y-%m-%d}]", None, None
    case.anonymised_at = utcnow()
    db.session.flush()
    db.session.expire(case, ["participants", "notes"])
    return removed


def _delete(case: Case) -> dict[str, int]:
    case_id, people = case.id, _people_only_here(case.id)
    # Before the case goes: its documents' files are found through their rows (the rows would go by cascade).
    removed = {"documents": documents.remove_all([case_id], people),
               "notes": db.session.scalar(select(func.count()).select_from(CaseNote)
                                          .where(CaseNote.case_id == case_id)),
               "people_links": db.session.scalar(select(func.count()).select_from(CaseParticipant)
                                                 .where(CaseParticipant.case_id == case_id)),
               "facts": db.session.execute(delete(CaseFact).where(CaseFact.case_id == case_id)).rowcount,
               "form_answers": db.session.scalar(select(func.count()).select_from(WorkItem)
                                                 .where(WorkItem.case_id == case_id, WorkItem.data.is_not(None)))}
    removed["work_items"] = db.session.execute(delete(WorkItem).where(WorkItem.case_id == case_id)).rowcount
    removed["workflow_states"] = db.session.execute(delete(WorkflowInstance)
                                                    .where(WorkflowInstance.case_id == case_id)).rowcount
    db.session.execute(delete(CaseMember).where(CaseMember.case_id == case_id))
    db.session.expunge(case)
    # Participants, partner organisations, notes, access rows and notifications go with the case (ON DELETE
    # CASCADE); the review keeps its reference (ON DELETE SET NULL).
    db.session.execute(delete(Case).where(Case.id == case_id))
    removed["people"] = db.session.execute(delete(Person).where(Person.id.in_(people))).rowcount if people else 0
    removed["cases"] = 1
    return removed
