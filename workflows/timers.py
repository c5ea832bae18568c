"""Timers: fire due deadlines, reminders and escalations, one instance per transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import undefer

from models import InstanceStatus, WorkflowInstance, audit, db, utcnow
from models.base import skip_locked
from workflows import engine, tasks


def fire_due_timers(at: datetime | None = None, limit: int | None = None) -> int:
    """Fire every timer due as of `at` (default now), one instance per transaction; returns how many.

    Several workers may run at once: on PostgreSQL each takes rows with FOR UPDATE SKIP LOCKED.
    Commits, because each instance is its own unit of work.
    """
    at = at or utcnow()
    done, attempts = 0, {}
    while limit is None or done < limit:
        stmt = select(WorkflowInstance).where(WorkflowInstance.status == InstanceStatus.RUNNING,
                                              WorkflowInstance.next_timer_at < at,
                                              WorkflowInstance.id.not_in([k for k, v in attempts.items() if v >= 10]
                                                                         or [0])) \
            .order_by(WorkflowInstance.next_timer_at).limit(1).options(undefer(WorkflowInstance.state))
        instance = db.session.scalars(skip_locked(stmt, of=WorkflowInstance)).first()
        if instance is None:
            db.session.rollback()
            break
        attempts[instance.id] = attempts.get(instance.id, 0) + 1
        with engine.clock(at):
            before = instance.next_timer_at
            wf = engine.loads(instance.state)
            created = tasks.advance(instance, wf)
        audit.record("timer", object_type="workflow_instance", object_id=instance.id, case_id=instance.case_id,
                     detail={"due": before.isoformat() if before else None, "as_of": at.isoformat(),
                             "new_items": [i.bpmn_id for i in created], "status": instance.status.value})
        db.session.commit()
        done += 1
    return done
