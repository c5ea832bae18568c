"""Work items over the API: list, claim, complete."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import func, select

import access
from api.base import body, bp, error
from casework.errors import InvalidInput
from models import Case, ItemStatus, Organisation, User, WorkItem, audit, db
from workflows import tasks
from workflows.formdata import is_multiple


def field_json(field: dict[str, Any]) -> dict[str, Any]:
    """A form field as the API describes it."""
    return {"id": field["id"], "label": field["label"], "type": field["type"],
            "required": "required" in field.get("validation", {}),
            "multiple": is_multiple(field),
            "options": [{"id": o[0], "label": o[1]} for o in field.get("options", [])],
            "validation": {k: v for k, v in field.get("validation", {}).items() if k != "required"},
            "properties": field.get("properties", {}), "default": field.get("default")}


def task_json(item: WorkItem) -> dict[str, Any]:
    """A work item as JSON (the API contract)."""
    return {
        "id": item.id, "case_id": item.case_id, "instance_id": item.instance_id, "bpmn_id": item.bpmn_id,
        "title": item.title, "lane": item.lane, "candidate_groups": item.groups,
        "organisation": item.organisation.code if item.organisation else None,
        "required_role": item.required_role, "unassigned_reason": item.unassigned_reason,
        "documentation": item.documentation,
        "due_at": item.due_at.isoformat() if item.due_at else None, "status": item.status.value,
        "claimed_by": item.claimed_by.email if item.claimed_by else None,
        "completed_by": item.completed_by.email if item.completed_by else None,
        "completed_at": item.completed_at.isoformat() if item.completed_at else None,
        "form": {"fields": [field_json(f) for f in item.fields]},
    }


@bp.get("/tasks")
def list_tasks():
    """Items the caller may see, optionally for one case and by status (ready by default)."""
    if not access.can(current_user, access.Action.LIST, WorkItem):
        return error(403, "your role has no work items")
    status = request.args.get("status", "ready")
    if status not in ("ready", "completed", "cancelled", "all"):
        return error(400, "status must be ready, completed, cancelled or all")
    stmt = access.visible(current_user, WorkItem).order_by(WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id)
    if status != "all":
        stmt = stmt.where(WorkItem.status == ItemStatus(status))
    case_id = request.args.get("case")
    if case_id is not None:
        if not case_id.isdigit() or db.session.scalar(
                access.visible(current_user, Case).where(Case.id == int(case_id))) is None:
            return error(404, "no such case")
        stmt = stmt.where(WorkItem.case_id == int(case_id))
        audit.record("view", user=current_user, object_type="case_tasks", object_id=case_id, case_id=int(case_id))
    else:
        stmt = stmt.where(WorkItem.organisation_id == current_user.organisation_id).limit(500)
    rows = [task_json(i) for i in db.session.scalars(stmt)]
    db.session.commit()
    return jsonify(rows)


@bp.get("/tasks/<int:item_id>")
def get_task(item_id: int):
    return jsonify(task_json(tasks.get_item(current_user, item_id)))


@bp.post("/tasks/<int:item_id>/claim")
def claim_task(item_id: int):
    """Claim an item (409 if someone else has it)."""
    item = tasks.claim(current_user, tasks.get_item(current_user, item_id))
    out = task_json(item)
    db.session.commit()
    return jsonify(out)


@bp.post("/tasks/<int:item_id>/release")
def release_task(item_id: int):
    """Give a claimed item back to the team."""
    item = tasks.claim(current_user, tasks.get_item(current_user, item_id), release=True)
    out = task_json(item)
    db.session.commit()
    return jsonify(out)


@bp.post("/tasks/<int:item_id>/assign")
def assign_task(item_id: int):
    """The lead organisation gives an unassigned step to {"organisation": CODE} (it joins the case), or a
    manager of the step's organisation gives it to a colleague, {"user": EMAIL}."""
    item = tasks.get_item(current_user, item_id)
    data = body()
    if "user" in data:
        person = db.session.scalar(select(User).where(func.lower(User.email) == str(data["user"] or "").lower()))
        out = task_json(tasks.give_to(current_user, item, person.id if person else None))
        db.session.commit()
        return jsonify(out)
    code = data.get("organisation")
    org = db.session.scalar(select(Organisation).where(Organisation.code == str(code or "")))
    if org is None or not org.active:
        raise InvalidInput({"organisation": f"no active organisation with code {code!r}"})
    out = task_json(tasks.assign(current_user, item, org.id))
    db.session.commit()
    return jsonify(out)


@bp.post("/tasks/<int:item_id>/complete")
def complete_task(item_id: int):
    """Complete with {"data": {...}}: 200 with the next items, 409 / 422 / 403 / 404 otherwise."""
    item = tasks.get_item(current_user, item_id)
    payload = body()
    item, created = tasks.complete(current_user, item, payload.get("data", {}))
    out = {"task": task_json(item), "next": [task_json(i) for i in created]}
    db.session.commit()
    return jsonify(out)
