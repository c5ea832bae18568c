"""Asking another agency (ad-hoc tasking): a shipped, editable diagram (bpmn/agency_request.bpmn) runs on the
case; the asked organisation (or whoever provides the service in the case's area) gets the step and joins
the case."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

import access
from casework import areas, calendar, settings, validate
from casework.errors import InvalidInput, NotFound, NotPermitted
from models import Case, ItemStatus, Organisation, User, WorkflowInstance, WorkItem, audit, db
from workflows import processes, tasks

PROCESS_KEY = "agency_request"
BPMN_FILE = Path(__file__).resolve().parent.parent / "bpmn" / f"{PROCESS_KEY}.bpmn"  # shipped; leads may change it
TEXT_MAX = 4000


def default_due(today: date | None = None) -> date:
    """Today plus the partnership's default number of working days (Reference data → Settings)."""
    days = settings.get_int("request_due_working_days")
    return datetime.fromisoformat(calendar.add_working_days(today or date.today(), days)).date()


def ask(user: User, case: Case, *, organisation: str | None = None, service: str | None = None,
        text: str | None = None, due_on: str | date | None = None) -> tuple[WorkflowInstance, WorkItem | None]:
    """Ask an organisation (by code) or a service's provider on the case for something by a date.

    :raise NotPermitted: the user may not start processes on this case
    :raise InvalidInput: naming the field (unknown or inactive organisation, unknown service, no text, past date)
    :raise NotFound: the agency_request process is not deployed
    """
    if not access.can(user, access.Action.START_PROCESS, case):
        raise NotPermitted("You may not ask agencies on this case.")
    if bool(organisation) == bool(service):
        raise InvalidInput({"organisation": "ask either an organisation or a service (one of the two)"})
    if organisation:
        org = db.session.scalar(select(Organisation).where(Organisation.code == str(organisation).strip()))
        if org is None or not org.active:
            raise InvalidInput({"organisation": f"{organisation!r} is not an active organisation"})
        if org.id == user.organisation_id:
            raise InvalidInput({"organisation": "choose another organisation than your own"})
        group, label = f"organisation:{org.code}", org.name
    else:
        found = areas.service_or_error(service)
        group, label = f"service:{found.code}", found.name
    body = validate.text(text if isinstance(text, str) else None, "text", TEXT_MAX)
    due = _due(due_on)
    if processes.latest(PROCESS_KEY) is None:
        raise NotFound(f"the {PROCESS_KEY} process is not deployed: a working-group lead deploys "
                       f"bpmn/{PROCESS_KEY}.bpmn first")
    instance = tasks.start(user, case, PROCESS_KEY, {
        "asked_group": group, "asker_group": f"organisation:{user.organisation.code}", "request_text": body,
        "due_on": due.isoformat(), "asked_label": label})
    item = db.session.scalar(select(WorkItem).where(WorkItem.instance_id == instance.id,
                                                    WorkItem.status == ItemStatus.READY).order_by(WorkItem.id))
    audit.record("request_agency", user=user, object_type="workflow_instance", object_id=instance.id,
                 case_id=case.id, detail={"asked": group, "due_on": due.isoformat()})
    return instance, item


def _due(value: str | date | None) -> date:
    if value in (None, ""):
        return default_due()
    if isinstance(value, date):
        due = value
    else:
        try:
            due = date.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidInput({"due_on": f"{value!r} is not a date (use YYYY-MM-DD)"}) from None
    if due < date.today():
        raise InvalidInput({"due_on": "is in the past"})
    return due
