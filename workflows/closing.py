"""Closing and reopening a case: the lead organisation says how it ended and why, and what happens to its open
work — it is cancelled with the reason, or the case cannot close yet. A closed case leaves nobody's work list."""
from __future__ import annotations

from sqlalchemy import func, select

import access
from casework import validate
from casework.errors import InvalidInput, NotPermitted
from models import Case, InstanceStatus, ItemStatus, User, WorkflowInstance, WorkItem, audit, db, utcnow
from models.enums import CaseStatus
from workflows import tasks

# How a case ended; what reports count. Words a lead may not need to change (not domain law).
OUTCOMES = {"objectives_met": "Support completed, objectives met", "declined": "Support declined",
            "no_contact": "No contact after every attempt", "moved": "Moved away or transferred elsewhere",
            "no_further_action": "No further action possible", "duplicate": "Opened in error or a duplicate",
            "other": "Other (say in the reason)"}
REASON_MAX = 2000


def open_work(case: Case) -> int:
    """How many steps wait for someone on the case."""
    return db.session.scalar(select(func.count(WorkItem.id)).where(WorkItem.case_id == case.id,
                                                                   WorkItem.status == ItemStatus.READY)) or 0


def close(user: User, case: Case, outcome: object, reason: object, cancel_open_work: bool) -> int:
    """Close the case with its outcome and reason. Open work is cancelled (with the reason) only when asked;
    otherwise the case cannot close yet. Returns how many processes were stopped.

    :raise NotPermitted: not the lead organisation
    :raise InvalidInput: closed already, no outcome or reason, open work and no leave to cancel it
    """
    if not access.can(user, access.Action.EDIT, case):
        raise NotPermitted("Only the lead organisation may close this case.")
    if case.status is CaseStatus.CLOSED:
        raise InvalidInput({"__all__": "the case is closed already"})
    chosen = validate.choice(str(outcome or ""), "outcome", set(OUTCOMES)) if outcome else None
    if chosen is None:
        raise InvalidInput({"outcome": "choose how the case ended"})
    why = validate.text(reason if isinstance(reason, str) else None, "reason", REASON_MAX)
    waiting = open_work(case)
    if waiting and not cancel_open_work:
        raise InvalidInput({"open_work": f"{waiting} step(s) are still open: finish them first, or choose to "
                                         "cancel them with this reason"})
    running = db.session.scalars(select(WorkflowInstance).where(
        WorkflowInstance.case_id == case.id,
        WorkflowInstance.status.in_((InstanceStatus.RUNNING, InstanceStatus.ERROR)))).all()
    for instance in running:
        tasks.stop(user, instance, f"case closed: {why}")
    case.status, case.closed_at = CaseStatus.CLOSED, utcnow()
    case.closure_outcome, case.closure_reason = chosen, why
    db.session.flush()
    audit.record("close_case", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"outcome": chosen, "reason": why[:500], "processes_cancelled": len(running),
                         "steps_cancelled": waiting})
    return len(running)


def reopen(user: User, case: Case, reason: object) -> None:
    """Reopen a closed case (its stopped processes stay stopped: start what it needs again)."""
    if not access.can(user, access.Action.EDIT, case):
        raise NotPermitted("Only the lead organisation may reopen this case.")
    if case.status is not CaseStatus.CLOSED:
        raise InvalidInput({"__all__": "the case is open"})
    why = validate.text(reason if isinstance(reason, str) else None, "reason", REASON_MAX)
    case.status, case.closed_at, case.closure_outcome, case.closure_reason = CaseStatus.OPEN, None, None, None
    db.session.flush()
    audit.record("reopen_case", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"reason": why[:500]})
