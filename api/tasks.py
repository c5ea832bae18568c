"""Work items over the API: list, claim, complete."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import and_, func, or_, select

import access
from api.base import body, bp, error
from casework import validate
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


PAGE, MAX_PAGE = 100, 500


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _cursor(item: WorkItem) -> str:
    """Where the next page starts: the last item's due time (microseconds since 1970, URL-safe) and id."""
    due = "-" if item.due_at is None else str((item.due_at - EPOCH) // timedelta(microseconds=1))
    return f"{due}~{item.id}"


def _after(raw: str) -> Any:
    """The keyset condition for `after=<cursor>`; ValueError for anything this API did not hand out."""
    due_text, _, id_text = raw.partition("~")
    last_id = int(id_text)
    if not 0 <= last_id < 2**63 or len(due_text) > 20:
        raise ValueError("cursor out of range")
    if due_text == "-":
        return and_(WorkItem.due_at.is_(None), WorkItem.id > last_id)
    try:
        due = EPOCH + timedelta(microseconds=int(due_text))
    except OverflowError:
        raise ValueError("cursor out of range") from None
    return or_(WorkItem.due_at > due, and_(WorkItem.due_at == due, WorkItem.id > last_id),
               WorkItem.due_at.is_(None))


@bp.get("/tasks")
def list_tasks():
    """Items the caller may see, optionally for one case and by status (ready by default), soonest due first, a
    page at a time (`limit`, default 100, at most 500; the `Link` header carries the next page's `after`)."""
    if not access.can(current_user, access.Action.LIST, WorkItem):
        return error(403, "your role has no work items")
    status = request.args.get("status", "ready")
    if status not in ("ready", "completed", "cancelled", "all"):
        return error(400, "status must be ready, completed, cancelled or all")
    limit = validate.whole_number(request.args.get("limit", str(PAGE)), MAX_PAGE)
    if not limit:
        return error(400, f"limit must be a whole number from 1 to {MAX_PAGE}")
    stmt = access.visible(current_user, WorkItem).order_by(WorkItem.due_at.asc().nulls_last(), WorkItem.id)
    if status != "all":
        stmt = stmt.where(WorkItem.status == ItemStatus(status))
    if request.args.get("after"):
        try:
            stmt = stmt.where(_after(request.args["after"]))
        except ValueError:
            return error(400, "after must be the cursor from the previous page's Link header")
    raw_case = request.args.get("case")
    if raw_case is not None:
        case_id = validate.whole_number(raw_case)
        if case_id is None or db.session.scalar(
                access.visible(current_user, Case).where(Case.id == case_id)) is None:
            return error(404, "no such case")
        stmt = stmt.where(WorkItem.case_id == case_id)
        audit.record("view", user=current_user, object_type="case_tasks", object_id=case_id, case_id=case_id)
    else:
        stmt = stmt.where(WorkItem.organisation_id == current_user.organisation_id)
        audit.record("view", user=current_user, object_type="task_list", detail={"status": status})
    items = db.session.scalars(stmt.limit(limit + 1)).all()
    more, items = len(items) > limit, items[:limit]
    rows = [task_json(i) for i in items]
    db.session.commit()
    response = jsonify(rows)
    if more:
        args = {**request.args.to_dict(), "after": _cursor(items[-1])}
        response.headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
    return response


@bp.get("/tasks/<int:item_id>")
def get_task(item_id: int):
    """One work item (audited as a view)."""
    item = tasks.get_item(current_user, item_id)
    out = task_json(item)
    audit.record("view", user=current_user, object_type="work_item", object_id=item.id, case_id=item.case_id)
    db.session.commit()
    return jsonify(out)


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
    payload = body()
    item, instance = tasks.lock_for_completion(current_user, item_id)
    item, created = tasks.complete(current_user, item, payload.get("data", {}), locked=instance)
    out = {"task": task_json(item), "next": [task_json(i) for i in created]}
    db.session.commit()
    return jsonify(out)
