"""The registry of service-task operations diagrams may call (DESIGN.md §3.3): power without code.

A lead writes, in Camunda Modeler, an external service task with topic = one of these names and
input parameters. Anything else is refused at deploy time.
"""
from __future__ import annotations

import contextvars
import json
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import select

from casework import agreements, areas, consent, entitlements, incidents, meetings, notifications, share_requests, validate
from casework.errors import CasebookError, Conflict, InvalidInput, NotFound, NotPermitted
from casework import letters
from models import Case, CaseFact, CaseNote, Organisation, User, WorkflowInstance, audit, db, utcnow
from models.enums import CaseStatus, OrgType, RiskLevel, label
from models.notifications import KINDS
from workflows import assignment, engine

OPEN_STATUSES = {"open", "due", "pending", "requested"}
# Starts a process on the case: (key, start data) -> the new instance, or None when it is not deployed.
Starter = Callable[[str, dict[str, Any]], WorkflowInstance | None]


@dataclass
class Context:
    instance: WorkflowInstance
    case: Case
    call: engine.ServiceCall
    start: Starter
    user: User | None = None   # whoever completed the step that led here; None when a timer or a start did


class AnswerRefused(CasebookError):
    """The answers of the step just completed cannot be carried out: the person completing it is told which
    field is wrong and nothing changes (the step stays open), instead of the process stopping with an error."""

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))


_refused: contextvars.ContextVar[AnswerRefused | None] = contextvars.ContextVar("casebook_refused", default=None)


def take_refusal() -> AnswerRefused | None:
    """The refusal an operation raised during the last run, if any (and forget it)."""
    found = _refused.get()
    _refused.set(None)
    return found


def _text(params: dict[str, Any], name: str, default: Any = None, required: bool = False) -> Any:
    value = params.get(name, default)
    if required and value in (None, ""):
        raise CasebookError(f"parameter {name!r} is required")
    return value


def add_organisation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Bring an organisation onto the case: by `service` (the provider in the case's area), `type` or `code`.

    A routing gap (no provider, or several to choose from) is not an error: the case gets a note, and the
    steps waiting for that organisation stay unassigned with the reason until the lead assigns them. A `code`
    naming no active organisation is an error a lead retries once the organisation exists.
    """
    code, org_type, service = _text(params, "code"), _text(params, "type"), _text(params, "service")
    orgs = assignment.participating(ctx.case)
    if service:
        org, gap = assignment.by_service(ctx.case, orgs, str(service))
        wanted = f"a {areas.service_name(str(service))} provider"
    elif code:  # a named organisation that does not exist is broken reference data: fix it, then retry
        org = db.session.scalar(select(Organisation).where(Organisation.code == code, Organisation.active.is_(True)))
        if org is None:
            raise CasebookError(f"there is no active organisation {code!r} (add it, then retry this step)")
        gap, wanted = None, repr(code)
    elif org_type in {t.value for t in OrgType}:
        if any(o.type.value == org_type for o in orgs):
            return {"organisation": org_type, "added": False}
        found = db.session.scalars(select(Organisation).where(Organisation.active.is_(True),
                                                              Organisation.type == OrgType(org_type))
                                   .order_by(Organisation.name)).all()
        org = found[0] if len(found) == 1 else None
        wanted = f"a {label(org_type).lower()} organisation"
        gap = None if org else (f"there is no active {label(org_type).lower()} organisation" if not found else
                                f"{len(found)} organisations are of that type: choose one on the case page")
    else:
        raise CasebookError("add_organisation needs a 'service', a 'type' (organisation type) or a 'code'")
    if org is None:
        _note(ctx, f"{ctx.call.name or ctx.call.bpmn_id} could not bring {wanted} onto the case: {gap}")
        audit.record("add_organisation_skipped", object_type="case", object_id=ctx.case.id, case_id=ctx.case.id,
                     detail={"params": {k: str(v) for k, v in params.items()}, "reason": gap,
                             "by_process": ctx.instance.id})
        return {"added": False, "reason": gap}
    try:
        added = assignment.bring_on(ctx.case, org, f"process {ctx.instance.id}")
    except agreements.NotShared as exc:
        # A share the agreements do not allow is a gap for people to resolve, never an error in the process.
        _note(ctx, f"{ctx.call.name or ctx.call.bpmn_id} did not bring {org.name} onto the case: {exc}")
        audit.record("add_organisation_refused", object_type="case", object_id=ctx.case.id, case_id=ctx.case.id,
                     detail={"organisation": org.code, "reason": str(exc), "by_process": ctx.instance.id})
        return {"organisation": org.code, "added": False, "reason": str(exc)}
    assignment.reassign_unassigned(ctx.case)
    return {"organisation": org.code, "added": added}


def _note(ctx: Context, text: str) -> None:
    """A note on the case from Casebook, written as the person who started the process (or opened the case)."""
    author = ctx.instance.started_by_id or ctx.case.opened_by_id
    if author:
        db.session.add(CaseNote(case_id=ctx.case.id, author_id=author, organisation_id=ctx.case.lead_organisation_id,
                                body=f"Casebook: {text}."))


def set_risk_level(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Set the case's risk level (standard, medium, high)."""
    level = _text(params, "level", required=True)
    if level not in {r.value for r in RiskLevel}:
        raise CasebookError(f"{level!r} is not a risk level")
    ctx.case.risk_level = RiskLevel(level)
    audit.record("update", object_type="case", object_id=ctx.case.id, case_id=ctx.case.id,
                 detail={"changed": ["risk_level"], "by_process": ctx.instance.id})
    return {"risk_level": level}


def close_case(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Close the case (the reason is audited)."""
    ctx.case.status, ctx.case.closed_at = CaseStatus.CLOSED, utcnow()
    audit.record("update", object_type="case", object_id=ctx.case.id, case_id=ctx.case.id,
                 detail={"changed": ["status"], "reason": str(_text(params, "reason", ""))[:500],
                         "by_process": ctx.instance.id})
    return {"status": "closed"}


def start_process(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Start another deployed process on the same case (e.g. a needs assessment referring to RJ)."""
    key = _text(params, "key", required=True)
    started = ctx.start(key, {k: v for k, v in params.items() if k != "key"})
    if started is None:
        # Like a case type's mapped process: skipped, and the case says so; the calling process goes on.
        _note(ctx, f"{ctx.call.name or ctx.call.bpmn_id} asked to start process {key!r}, which is not deployed, "
                   "so it was not started")
        audit.record("start_process_skipped", object_type="case", object_id=ctx.case.id, case_id=ctx.case.id,
                     detail={"key": key, "by_process": ctx.instance.id})
        return {"started": False, "reason": "not deployed"}
    return {"started": True, "instance_id": started.id, "status": started.status.value}


def record_fact(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Upsert a reportable fact: kind, code, label, owner (organisation type or code), due, status."""
    kind, code = _text(params, "kind", required=True), _text(params, "code", required=True)
    fact = db.session.scalar(select(CaseFact).where(CaseFact.case_id == ctx.case.id, CaseFact.kind == kind,
                                                    CaseFact.code == str(code)))
    # Without a status, an existing fact keeps its own (a later step may only add extras).
    status = str(params["status"]) if params.get("status") not in (None, "") else (fact.status if fact else "open")
    if fact is None:
        fact = CaseFact(case_id=ctx.case.id, kind=str(kind)[:32], code=str(code)[:64], status=status)
        db.session.add(fact)
    fact.instance_id = ctx.instance.id
    fact.status = status[:32]
    if params.get("label"):
        fact.label = str(params["label"])[:255]
    owner = params.get("owner")
    if owner:
        org = _participant(ctx.case, str(owner))
        fact.owner_organisation_id = org.id if org else fact.owner_organisation_id
    if params.get("due"):
        fact.due_at = engine.to_datetime(params["due"]) or fact.due_at
    fact.completed_at = None if status in OPEN_STATUSES else (fact.completed_at or utcnow())
    extra = {k: v for k, v in params.items() if k not in ("kind", "code", "label", "owner", "due", "status")}
    if extra:
        fact.detail = json.dumps(engine.json_safe({**fact.details, **extra}))
    db.session.flush()
    return {"fact": fact.id, "status": fact.status}


def _participant(case: Case, owner: str) -> Organisation | None:
    """An organisation on the case by code or type (the lead first)."""
    orgs = [case.lead_organisation, *[o.organisation for o in case.organisations]]
    return next((o for o in orgs if o.code == owner), None) or next(
        (o for o in orgs if o.type.value == owner), None)


def notify(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Tell people about the case: `to` is "starter" (whoever started this process) or a candidate group;
    `kind` one of the notification kinds (what is said is fixed and safe for an inbox)."""
    kind, to = _text(params, "kind", required=True), str(_text(params, "to", "starter"))
    if kind not in KINDS:
        raise CasebookError(f"notify: kind must be one of {', '.join(KINDS)}")
    if to != "starter":
        who = assignment.resolve(ctx.case, [to], None)
        if who.organisation is not None:
            notifications.notify_organisation(who.organisation, who.role, kind, case=ctx.case)
        return {"notified": who.organisation.code if who.organisation else None}
    starter = db.session.get(User, ctx.instance.started_by_id) if ctx.instance.started_by_id else None
    notifications.notify([starter] if starter is not None else [], kind, case=ctx.case)
    return {"notified": starter.id if starter is not None else None}


def record_consent(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Record a consent decision (usually a form field's answer) for the case's people in a `role` (default
    victim): `given` (true/false), `purpose`, `organisations` (codes, comma-separated), `method` (verbal,
    written, online)."""
    given = params.get("given")
    if isinstance(given, str):
        given = {"true": True, "yes": True, "false": False, "no": False}.get(given.strip().lower())
    orgs = params.get("organisations") or ""
    codes = orgs if isinstance(orgs, list) else str(orgs).split(",")
    role = str(_text(params, "role", "victim"))
    recorder_id = ctx.instance.started_by_id or ctx.case.opened_by_id
    recorder = db.session.get(User, recorder_id) if recorder_id else None
    if recorder is None:
        raise CasebookError("record_consent needs a person who started the process or opened the case")
    made = []
    for part in ctx.case.participants:
        if part.role.value == role:
            try:
                made.append(consent.record(recorder, part.person, given, _text(params, "purpose", required=True),
                                           codes, _text(params, "method", "verbal"), ctx.case).id)
            except (InvalidInput, NotPermitted) as exc:
                why = "; ".join(exc.fields.values()) if isinstance(exc, InvalidInput) else str(exc)
                raise CasebookError(f"record_consent: {why}") from None
    return {"consents": made}


def answer_share_request(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Carry out a holding organisation's decision on a request to share (the answers of the step before):
    `request` (its id), `decision` ("grant" or "refuse"), `cases` (ids of the holder's cases to share), `reason`
    (why refused). Only a manager of the holder decides; a decision that cannot be carried out (no case
    chosen, no reason, not covered by an agreement) goes back to them with the reason."""
    if ctx.user is None:
        raise CasebookError("answer_share_request follows the step in which a manager decides")
    decision = params.get("decision")
    try:
        request = share_requests.get_incoming(ctx.user, validate.whole_number(params.get("request")) or 0)
        if request.instance_id not in (None, ctx.instance.id):
            raise NotFound("this share request is decided in another process")
        if decision not in ("grant", "refuse"):
            raise InvalidInput({"decision": "choose whether to share or refuse"})
        cases = params.get("cases") or []
        shared = share_requests.decide(ctx.user, request, decision == "grant",
                                       list(cases) if isinstance(cases, (list, tuple)) else [cases],
                                       params.get("reason"))
    except InvalidInput as exc:
        raise AnswerRefused(exc.fields) from None
    except (Conflict, NotFound, NotPermitted, agreements.NotShared) as exc:
        raise AnswerRefused({"cases" if isinstance(exc, agreements.NotShared) else "decision": str(exc)}) from None
    return {"status": request.status, "shared": [c.reference for c in shared]}


def _whole(params: dict[str, Any], name: str, default: int, low: int = 0, high: int = 120) -> int:
    value = params.get(name, default)
    value = default if value in (None, "") else value
    number = validate.whole_number(value)
    if number is None or not low <= number <= high:
        raise CasebookError(f"parameter {name!r} must be a whole number from {low} to {high}, not {value!r}")
    return number


def _date(params: dict[str, Any], name: str) -> Any:
    try:
        return validate.date_value(params.get(name), name)
    except InvalidInput as exc:
        raise CasebookError(f"parameter {name!r}: {exc.fields[name]}") from None


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


def _codes(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [c.strip() for c in str(value).split(",")
                                                                             if c.strip()]


def _owner_finder(case: Case) -> Callable[[str], Organisation | None]:
    """The organisation owing a service's entitlement on this case (a partner providing it, else the area's)."""
    orgs = assignment.participating(case)
    return lambda service: assignment.by_service(case, orgs, service)[0]


def open_entitlements(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Victims' Code entitlements a trigger gives (Reference data → Victims' Code): `trigger` (report,
    event:arrest, court:listing, ...), `clock_start` (the date the clock starts), `enhanced`, `offence`,
    `sentence_months`, `hospital_order`, `occurrence` (to tell repeated events apart), `exclude` (codes another
    process evidences), `version` (2020). Keep the answer with camunda:resultVariable: codes, choices,
    choices_by_owner, due, first_due."""
    months = params.get("sentence_months")
    try:
        return entitlements.open_for(
            ctx.case, str(_text(params, "trigger", required=True)), _date(params, "clock_start"),
            enhanced=_flag(params.get("enhanced")), offence=params.get("offence") or None,
            sentence_months=None if months in (None, "") else _whole(params, "sentence_months", 0, 0, 1200),
            hospital_order=_flag(params.get("hospital_order")),
            occurrence=str(params["occurrence"]) if params.get("occurrence") not in (None, "") else None,
            exclude=_codes(params.get("exclude")), version=str(params.get("version") or "2020"),
            instance_id=ctx.instance.id, owner_of=_owner_finder(ctx.case))
    except InvalidInput as exc:
        raise CasebookError("; ".join(exc.fields.values())) from None


def close_entitlements(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Record what happened to entitlements: `codes` (a list or comma-separated) with one `status` (met, missed,
    not_applicable, victim_declined, unable_to_contact, deferred), or `statuses` ({code: status}); `done_on` (when
    the information was given: after the due time it reads as met late), `method`, `evidence`."""
    done_on = params.get("done_on")
    options = {"done_on": _date(params, "done_on") if done_on not in (None, "") else None,
               "method": params.get("method") or None, "evidence": params.get("evidence") or None,
               "instance_id": ctx.instance.id}
    try:
        if isinstance(params.get("statuses"), dict):
            done = entitlements.close_each(ctx.case, {str(k): str(v) for k, v in params["statuses"].items()},
                                           **options)
        else:
            done = entitlements.close(ctx.case, _codes(params.get("codes")), str(params.get("status") or ""),
                                      **options)
    except InvalidInput as exc:
        raise CasebookError("; ".join(exc.fields.values())) from None
    return {"recorded": done}


def vcs_eligibility(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Victim Contact Scheme eligibility computed from `offence`, `sentence_months` and `hospital_order` by the
    rule in the reference data (Right 11a). Keep the answer: eligible, reason."""
    months = params.get("sentence_months")
    return entitlements.vcs(params.get("offence") or None,
                            None if months in (None, "") else _whole(params, "sentence_months", 0, 0, 1200),
                            _flag(params.get("hospital_order")), str(params.get("version") or "2020"))


def update_meeting_action(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The owner's report on a panel action (the step before): `action` (its id), `state` (in_progress, done,
    not_achievable), `update`, `reason` (needed when not achievable). A report that cannot be recorded goes back
    to the owner with the message."""
    try:
        action = meetings.update_action(params.get("action"), params.get("state"), params.get("update"),
                                        params.get("reason"), user=ctx.user)
    except InvalidInput as exc:
        fields = {"reason": "not_achievable_reason", "state": "action_state", "update": "action_update"}
        answer = {fields.get(k, k): v for k, v in exc.fields.items()}
        if ctx.user is None:
            raise CasebookError(str(exc)) from None
        raise AnswerRefused(answer) from None
    if action.case_id != ctx.case.id:
        raise CasebookError("the action belongs to another case")
    return {"state": action.state}


def meeting_actions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """This case's actions at meetings of `type` (a meeting type code): how many are open (or in progress),
    done and not achievable, and `carried`, the most meetings an open one has been carried forward to."""
    return meetings.summary(ctx.case.id, str(_text(params, "type", required=True)))


def generate_letter(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Write a letter from a template (Letter templates) to each person on the case in a `role` (default victim)
    and store it on the case: `template` (its key), `sent_by` (post, email, by_hand, not_sent; default not_sent).
    A person whose address is marked unsafe for letters gets none: the case gets a note saying so, and someone
    writes it from the case page with an override and the reason. Keep the answer: letters (document ids),
    skipped (people)."""
    key, role = str(_text(params, "template", required=True)), str(_text(params, "role", "victim"))
    sent_by = str(_text(params, "sent_by", "not_sent"))
    if sent_by not in letters.SENT_BY:
        raise CasebookError(f"sent_by must be one of {', '.join(letters.SENT_BY)}, not {sent_by!r}")
    if letters.latest(key) is None:
        raise CasebookError(f"there is no letter template {key!r} (upload it under Letter templates, then retry)")
    writer = next((u for u in (ctx.user, *[db.session.get(User, i) for i in (ctx.instance.started_by_id,
                                                                             ctx.case.opened_by_id) if i])
                   if u is not None and letters.may_write(u, ctx.case)), None)
    if writer is None:
        raise CasebookError("nobody who may add letters to the case started this process or opened the case")
    people = list({p.person_id: p.person for p in ctx.case.participants if p.role.value == role}.values())
    written, skipped = [], []
    for person in people:
        if person.address_unsafe:
            skipped.append(person.id)
            _note(ctx, f"{ctx.call.name or ctx.call.bpmn_id} did not write the letter {key!r} to {person.full_name}: "
                       "their address is marked unsafe for letters (write it from the case page with an override "
                       "and the reason, or contact them the safe way)")
            audit.record("generate_letter_skipped", object_type="person", object_id=person.id,
                         case_id=ctx.case.id, detail={"template": key, "by_process": ctx.instance.id,
                                                      "reason": "address marked unsafe"})
            continue
        try:
            written.append(letters.generate(writer, ctx.case, person, key, sent_by).id)
        except (InvalidInput, NotPermitted) as exc:
            raise CasebookError("; ".join(exc.fields.values()) if isinstance(exc, InvalidInput) else str(exc)) \
                from None
    return {"letters": written, "skipped": skipped}


def check_answer(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """A rule across a step's answers that a form cannot say (e.g. a reason is needed when overriding): when
    `when` (default true) holds and `ok` does not, the person completing the step is told `message` next to
    `field`, and nothing is recorded (the step stays open)."""
    field, message = _text(params, "field", required=True), _text(params, "message", required=True)
    if params.get("when", True) and not params.get("ok"):
        if ctx.user is None:
            raise CasebookError(f"{field}: {message}")
        raise AnswerRefused({str(field): str(message)})
    return {"checked": str(field)}


def asb_threshold(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The ASB case review threshold computed from the complaints recorded on the case: `application_on`,
    `count` (3), `report_within_months` (1), `window_months` (6), `anchor` (`per_complaint` or
    `first_complaint`), `hate_window_months` (0: no local hate rule). Keep the answer with
    camunda:resultVariable (e.g. `threshold`): met, qualifying, summary, complaints."""
    try:
        return incidents.asb_threshold(
            ctx.case, _date(params, "application_on"), count=_whole(params, "count", 3, 1, 50),
            report_within_months=_whole(params, "report_within_months", 1, 1, 24),
            window_months=_whole(params, "window_months", 6, 1, 60),
            anchor=str(params.get("anchor") or "per_complaint"),
            hate_window_months=_whole(params, "hate_window_months", 0, 0, 60))
    except InvalidInput as exc:
        raise CasebookError("; ".join(exc.fields.values())) from None


def marac_checks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """MARAC repeat and potential escalation for the case's victims across agencies: `on` (the referral date),
    `repeat_months` (12), `escalation_count` (3), `escalation_months` (12). Keep the answer with
    camunda:resultVariable: repeat, last_referral_on, police_incidents, escalation, summary."""
    return incidents.marac_checks(ctx.case, _date(params, "on"),
                                  repeat_months=_whole(params, "repeat_months", 12, 1, 60),
                                  escalation_count=_whole(params, "escalation_count", 3, 1, 50),
                                  escalation_months=_whole(params, "escalation_months", 12, 1, 60),
                                  exclude_instance=ctx.instance.id)


OPERATIONS: dict[str, Callable[[Context, dict[str, Any]], dict[str, Any]]] = {
    "add_organisation": add_organisation,
    "set_risk_level": set_risk_level,
    "close_case": close_case,
    "start_process": start_process,
    "record_fact": record_fact,
    "notify": notify,
    "record_consent": record_consent,
    "answer_share_request": answer_share_request,
    "check_answer": check_answer,
    "open_entitlements": open_entitlements,
    "close_entitlements": close_entitlements,
    "vcs_eligibility": vcs_eligibility,
    "asb_threshold": asb_threshold,
    "marac_checks": marac_checks,
    "generate_letter": generate_letter,
    "update_meeting_action": update_meeting_action,
    "meeting_actions": meeting_actions,
}


def handler_for(instance: WorkflowInstance, start: Starter,
                user: User | None = None) -> Callable[[engine.ServiceCall], Any]:
    """The callback engine.services() runs service tasks through, bound to one instance (and the person whose
    completed step set them off).

    `start` is how start_process starts another process (workflows/tasks.py passes it in, so this
    registry sits below the module that runs processes)."""
    _refused.set(None)

    def handle(call: engine.ServiceCall) -> Any:
        operation = OPERATIONS.get(call.operation)
        if operation is None:
            raise engine.EngineError(f"unknown operation {call.operation!r}", call.bpmn_id, call.name)
        try:
            return operation(Context(instance, instance.case, call, start, user), call.params)
        except AnswerRefused as exc:
            _refused.set(exc)   # the engine wraps what we raise; the caller looks here to tell the person
            raise engine.EngineError(f"{call.operation}: {exc}", call.bpmn_id, call.name) from None
        except CasebookError as exc:
            raise engine.EngineError(f"{call.operation}: {exc}", call.bpmn_id, call.name) from None

    return handle
