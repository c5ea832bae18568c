"""Asking another agency (ad-hoc tasking): a shipped, editable diagram (bpmn/agency_request.bpmn) runs on the
case; the asked organisation (or whoever provides the service in the case's area) gets the step and joins
the case. Asking to share what another organisation holds about a person runs the same way
(bpmn/share_request.bpmn): the holder's managers get a step on the holder's case and decide in it."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

import access
from casework import areas, calendar, settings, share_requests, validate
from casework.errors import InvalidInput, NotFound, NotPermitted
from models import Case, ItemStatus, Organisation, ShareRequest, User, WorkflowInstance, WorkItem, audit, db
from workflows import processes, tasks

PROCESS_KEY = "agency_request"
BPMN_FILE = Path(__file__).resolve().parent.parent / "bpmn" / f"{PROCESS_KEY}.bpmn"  # shipped; leads may change it
SHARE_KEY = "share_request"
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


def ask_to_share(user: User, holder_id: object, given_name: object, family_name: object, date_of_birth: object,
                 purpose: object, lawful_basis: object) -> list[ShareRequest]:
    """Ask the organisation a person is possibly known to (share_requests.ask); each request becomes a step for
    the holder's managers, on the holder's case, through the share_request process.

    :raise NotFound: the share_request process is not deployed (nothing is asked)
    :raise InvalidInput, Conflict, NotPermitted: as share_requests.ask
    """
    if processes.latest(SHARE_KEY) is None:
        raise NotFound(f"the {SHARE_KEY} process is not deployed: a working-group lead deploys "
                       f"bpmn/{SHARE_KEY}.bpmn first")
    made = share_requests.ask(user, holder_id, given_name, family_name, date_of_birth, purpose, lawful_basis)
    for request in made:
        shareable = share_requests.cases_to_share(request)
        case = share_requests.home_case(request, shareable)
        if case is None:   # matching found the person on a case the holder no longer takes part in
            continue
        # Started by nobody: the asker may not see the holder's case (and is not told which it is).
        instance = tasks.start(None, case, SHARE_KEY, {
            "share_request_id": request.id, "holder_group": f"organisation:{request.holder_org.code}:manager",
            "asker": request.requester_org.name, "about": share_requests.about(request),
            "purpose": request.purpose, "lawful_basis": request.lawful_basis,
            "shareable_cases": share_requests.choices(shareable), "due_on": default_due().isoformat()})
        request.instance_id = instance.id
    db.session.flush()
    return made


def share_steps(requests: list[ShareRequest]) -> dict[int, WorkItem | None]:
    """The open decision step of each share request (None when its process waits for no one), in one query."""
    by_instance = {r.instance_id: r.id for r in requests if r.instance_id is not None}
    found: dict[int, WorkItem | None] = {r.id: None for r in requests}
    if by_instance:
        for item in db.session.scalars(select(WorkItem).where(WorkItem.instance_id.in_(by_instance),
                                                              WorkItem.status == ItemStatus.READY)
                                       .order_by(WorkItem.id.desc())):
            found[by_instance[item.instance_id]] = item   # newest first, so each ends with its first open step
    return found


def share_step(request: ShareRequest) -> WorkItem | None:
    """The open decision step of one share request."""
    return share_steps([request])[request.id]


def _due(value: str | date | None) -> date:
    if value in (None, ""):
        return default_due()
    if isinstance(value, date):
        due = value
    else:
        due = validate.date_value(str(value), "due_on")   # 01/04/2026 as people type it, or 2026-04-01
    if due < date.today():
        raise InvalidInput({"due_on": "is in the past"})
    return due
