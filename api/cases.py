"""Cases over the API: open (with people and partners), read, add partners, start processes, history."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import access
from api.base import body, bp, error
from api.tasks import task_json
from casework import agreements, cases, disclosures, incidents, matching, people, validate
from casework.errors import InvalidInput, NotFound
from models import Case, Incident, Organisation, Person, WorkflowInstance, audit, db
from models.enums import ParticipantRole
from workflows import assignment, requests, tasks


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def case_json(case: Case, content: bool = True) -> dict[str, Any]:
    """The case as JSON; auditors get metadata only."""
    out: dict[str, Any] = {
        "id": case.id, "reference": case.reference, "external_reference": case.external_reference,
        "case_type": case.case_type_code,
        "area": case.area_code, "status": case.status.value, "risk_level": case.risk_level.value,
        "lead_organisation": case.lead_organisation.code, "restricted": case.restricted,
        "opened_at": _iso(case.opened_at), "closed_at": _iso(case.closed_at),
        "organisations": [o.organisation.code for o in case.organisations],
        "processes": [{"instance_id": i.id, "key": i.definition.key, "version": i.definition.version,
                       "status": i.status.value, "error": i.error_message} for i in tasks.instances(case)],
    }
    if content:
        out["title"] = case.title
        out["summary"] = case.summary
        out["people"] = [{"id": p.person.id, "role": p.role.value, "given_name": p.person.given_name,
                          "family_name": p.person.family_name,
                          "date_of_birth": _iso(p.person.date_of_birth)} for p in case.participants]
    return out


def _visible_case(case_id: int) -> Case:
    case = db.session.scalar(access.visible(current_user, Case).where(Case.id == case_id))
    if case is None:
        raise NotFound("no such case")
    return case


def _org_by_code(code: Any, field: str) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.code == str(code or "")))
    if org is None or not org.active:
        raise InvalidInput({field: f"no organisation with code {code!r}"})
    return org


@bp.post("/cases")
def open_case():
    """Open a case with people in roles and partner organisations; duplicates and ISAs are warnings.

    With `external_reference` (the sending system's own reference) it is idempotent per lead organisation: the
    same reference again answers 200 with the case it opened, never a second case, even when two arrive at once.
    """
    if not access.can(current_user, access.Action.CREATE, Case):
        return error(403, "your role cannot open cases")
    data = body()
    lead = _org_by_code(data.get("lead_organisation") or current_user.organisation.code, "lead_organisation")
    if not access.can_act_for(current_user, lead):
        return error(403, f"you cannot open a case for {lead.name}: you act for {current_user.organisation.name}")
    external = validate.text(data.get("external_reference"), "external_reference", 64, required=False)
    if external:
        existing = _already_opened(lead, external)
        if existing is not None:
            return existing
    try:
        case, warnings = _open(data, lead, external)
        db.session.commit()
    except IntegrityError:
        # Another request opened this reference between our look and our insert: answer with its case.
        db.session.rollback()
        existing = _already_opened(lead, external) if external else None
        if existing is None:
            raise
        return existing
    return jsonify(id=case.id, reference=case.reference, external_reference=case.external_reference,
                   warnings=warnings), 201


def _already_opened(lead: Organisation, external: str):
    """200 with the case this organisation opened under the reference, or None when there is none."""
    case = db.session.scalar(select(Case).where(Case.lead_organisation_id == lead.id,
                                                Case.external_reference == external))
    if case is None:
        return None
    if not access.is_visible(current_user, case):
        return error(409, f"your organisation already has a case with external reference {external!r}, "
                          "restricted to named workers; ask them or your manager")
    audit.record("view", user=current_user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"external_reference": external, "repeat": True})
    db.session.commit()
    return jsonify(id=case.id, reference=case.reference, external_reference=external, warnings=[]), 200


def _open(data: dict[str, Any], lead: Organisation, external: str | None) -> tuple[Case, list[str]]:
    """Register or find the people, open the case, start its processes (nothing committed)."""
    people_in, orgs_in = data.get("people") or [], data.get("organisations") or []
    if not isinstance(people_in, list) or not isinstance(orgs_in, list):
        raise InvalidInput({"people": "people and organisations must be lists"})
    partners = [_org_by_code(o.get("code") if isinstance(o, dict) else None, "organisations") for o in orgs_in]
    warnings, participants = [], []
    for n, row in enumerate(people_in):
        if not isinstance(row, dict):
            raise InvalidInput({f"people[{n}]": "must be an object"})
        role = row.get("role")
        if role not in {r.value for r in ParticipantRole}:
            raise InvalidInput({f"people[{n}].role": f"{role!r} is not a participant role"})
        person_id = _existing_person(row, n)
        if person_id is None:
            person_id, warning = _register(row, n)
            warnings += warning
        participants.append((person_id, role))
    case = cases.open_case(current_user, case_type=data.get("case_type"), title=data.get("title"),
                           area=data.get("area"),
                           summary=data.get("summary"), risk_level=data.get("risk_level") or "not_assessed",
                           restricted=bool(data.get("restricted")), lead_organisation_id=lead.id,
                           participants=participants, organisation_ids=[p.id for p in partners],
                           external_reference=external)
    warnings += agreements.missing(lead, partners, case.case_type_code)
    warnings += tasks.start_mapped(current_user, case)
    return case, warnings


def _existing_person(row: dict[str, Any], n: int) -> int | None:
    """The person a people entry names: by `id` (one the caller may see), or by the `external_reference` the
    caller's organisation registered them under; None when the entry describes someone to register."""
    if "id" in row:
        person = _person(validate.whole_number(row["id"]))
        if person is None:
            # The same words whether the person does not exist or is not the caller's to see.
            raise InvalidInput({f"people[{n}].id": f"no person {row['id']!r} that you can see"})
        return person.id
    ref = row.get("external_reference")
    if ref is None:
        return None
    ref = validate.text(ref, f"people[{n}].external_reference", 64)
    found = db.session.scalar(select(Person.id).where(Person.registered_by_org_id == current_user.organisation_id,
                                                      Person.external_reference == ref).order_by(Person.id))
    if found is None and not (row.get("given_name") or row.get("family_name")):
        raise InvalidInput({f"people[{n}].external_reference":
                            f"your organisation has registered nobody as {ref!r}; send their names to register them"})
    return found


def _person(person_id: int | None) -> Person | None:
    person = db.session.get(Person, person_id) if person_id else None
    return person if person is not None and access.is_visible(current_user, person) else None


def _register(row: dict[str, Any], n: int) -> tuple[int, list[str]]:
    """Register the person a people entry describes; a warning when they may be registered already."""
    fields = {k: row.get(k) for k in ("given_name", "family_name", "date_of_birth", "external_reference")}
    try:
        clean = people.clean(fields)
    except InvalidInput as exc:
        raise InvalidInput({f"people[{n}].{k}": v for k, v in exc.fields.items()}) from None
    found = matching.for_registration(current_user, clean)
    name = f"{clean['given_name']} {clean['family_name']}"
    warnings = [f"{name} may already be registered (person {', '.join(str(m.id) for m in found.visible)})"] \
        if found.visible else []
    if found.known_to:
        warnings.append(f"{name} is possibly known to {', '.join(found.known_to)}")
    return people.register(current_user, fields, confirm_not_duplicate=True,
                           known_duplicates=found.visible).id, warnings


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int):
    """The case and its processes (audited as a view)."""
    case = _visible_case(case_id)
    content = access.can_see_case_content(current_user, case)
    cases.record_view(current_user, case, metadata_only=not content)
    out = case_json(case, content)
    db.session.commit()
    return jsonify(out)


@bp.post("/cases/<int:case_id>/organisations")
def add_organisation(case_id: int):
    """Add a participating organisation under an agreement in force (422 naming what is missing otherwise), or
    under an exception a manager of the lead organisation records here: {"code", "exception": {"lawful_basis",
    "reason"}}; items waiting for its type are assigned to it."""
    case = _visible_case(case_id)
    if not access.can(current_user, access.Action.EDIT, case):
        return error(403, "only the lead organisation may add organisations")
    data = body()
    org = _org_by_code(data.get("code"), "code")
    if org.id != case.lead_organisation_id and all(o.organisation_id != org.id for o in case.organisations):
        if "exception" in data:
            given = data["exception"] if isinstance(data["exception"], dict) else {}
            disclosures.record_exception(current_user, case, org, given.get("lawful_basis"), given.get("reason"))
        cases.add_organisation(current_user, case, org.id)
    assignment.reassign_unassigned(case)
    out = case_json(case)
    db.session.commit()
    return jsonify(out), 200


@bp.post("/cases/<int:case_id>/processes")
def start_process(case_id: int):
    """Start the latest version of a deployed process on the case."""
    case = _visible_case(case_id)
    if not access.can(current_user, access.Action.START_PROCESS, case):
        return error(403, "your role cannot start processes")
    data = body()
    key = data.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidInput({"key": "is required"})
    instance = tasks.start(current_user, case, key, data.get("data"))
    out = {"instance_id": instance.id, "key": instance.definition.key, "version": instance.definition.version,
           "status": instance.status.value, "error": instance.error_message,
           # The steps it made ready, as completing returns "next": the client need not list tasks.
           "tasks": [task_json(i) for i in tasks.ready_items(instance)]}
    db.session.commit()
    return jsonify(out), 201


@bp.post("/cases/<int:case_id>/processes/<int:instance_id>/retry")
def retry_process(case_id: int, instance_id: int):
    """Leads: run a stopped instance's failed step again once its cause is fixed."""
    case = _visible_case(case_id)
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None or instance.case_id != case.id:
        raise NotFound("no such process on this case")
    tasks.retry(current_user, instance)
    out = {"instance_id": instance.id, "key": instance.definition.key, "version": instance.definition.version,
           "status": instance.status.value, "error": instance.error_message}
    db.session.commit()
    return jsonify(out)


@bp.post("/cases/<int:case_id>/requests")
def ask_agency(case_id: int):
    """Ask another agency: {"organisation": CODE} or {"service": CODE}, "text", "due_on" (default from reference
    data) → 201 {"instance_id", "task_id"}."""
    case = _visible_case(case_id)
    data = body()
    instance, item = requests.ask(current_user, case, organisation=data.get("organisation"),
                                  service=data.get("service"), text=data.get("text"), due_on=data.get("due_on"))
    out = {"instance_id": instance.id, "task_id": item.id if item else None}
    db.session.commit()
    return jsonify(out), 201


def incident_json(row: Incident) -> dict[str, Any]:
    """One report of an incident, as the API gives it."""
    return {"id": row.id, "kind": row.kind, "occurred_on": _iso(row.occurred_on), "reported_on": _iso(row.reported_on),
            "reported_to": row.reported_to.code, "reported_by": row.reported_by, "reference": row.reference,
            "hate_motivated": row.hate_motivated, "description": row.description, "person_id": row.person_id,
            "same_as": row.same_as_id, "recorded_at": _iso(row.recorded_at)}


@bp.get("/cases/<int:case_id>/incidents")
def list_incidents(case_id: int):
    """The incidents and complaints recorded on the case (audited as a view)."""
    case = _visible_case(case_id)
    if not access.can_see_case_content(current_user, case):
        return error(403, "case metadata only")
    rows = [incident_json(r) for r in incidents.for_case(case)]
    audit.record("view", user=current_user, object_type="incidents", object_id=case.id, case_id=case.id)
    db.session.commit()
    return jsonify(rows)


@bp.post("/cases/<int:case_id>/incidents")
def record_incident(case_id: int):
    """Record a report of an incident: occurred_on, reported_on, reported_to (organisation code), reported_by,
    kind, description, person (id on the case), hate_motivated, reference, same_as → 201 the record."""
    case = _visible_case(case_id)
    row = incidents.record(current_user, case, body())
    out = incident_json(row)
    db.session.commit()
    return jsonify(out), 201


@bp.get("/cases/<int:case_id>/history")
def case_history(case_id: int):
    """Completed steps, oldest first (audited as a view)."""
    case = _visible_case(case_id)
    if not access.can_see_case_content(current_user, case):
        return error(403, "case metadata only")
    rows = [{"task_id": i.id, "bpmn_id": i.bpmn_id, "title": i.title,
             "completed_by": {"email": i.completed_by.email, "name": i.completed_by.name} if i.completed_by else None,
             "organisation": {"code": i.organisation.code, "name": i.organisation.name} if i.organisation else None,
             "completed_at": _iso(i.completed_at), "data": i.answers} for i in tasks.history(case)]
    audit.record("view", user=current_user, object_type="case_history", object_id=case.id, case_id=case.id)
    db.session.commit()
    return jsonify(rows)


@bp.get("/cases")
def list_cases():
    """Cases the caller can see (newest first, `limit` default 50, max 500)."""
    limit = min(max(request.args.get("limit", 50, type=int), 1), 500)
    rows = db.session.scalars(access.visible(current_user, Case).order_by(Case.id.desc()).limit(limit))
    return jsonify([{"id": c.id, "reference": c.reference, "case_type": c.case_type_code,
                     "status": c.status.value, "lead_organisation": c.lead_organisation.code} for c in rows])
