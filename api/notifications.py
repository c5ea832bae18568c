"""The caller's notifications over the API: newest first, and marking one read."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user

from api.base import bp, error
from casework import notifications
from casework.errors import NotFound
from models import Notification, db


def notification_json(row: Notification) -> dict[str, Any]:
    """A notification as JSON (the API contract)."""
    return {"id": row.id, "kind": row.kind, "text": row.text, "case_id": row.case_id, "task_id": row.work_item_id,
            "created_at": row.created_at.isoformat(), "read_at": row.read_at.isoformat() if row.read_at else None}


@bp.get("/notifications")
def list_notifications():
    """The caller's notifications, newest first (`limit` default 100, at most 500)."""
    limit = request.args.get("limit", 100, type=int)
    if not 1 <= limit <= 500:
        return error(400, "limit must be between 1 and 500")
    return jsonify([notification_json(n) for n in notifications.recent(current_user, limit)])


@bp.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int):
    """Mark one of the caller's notifications read (someone else's: 404)."""
    row = notifications.own(current_user, notification_id)
    if row is None:
        raise NotFound("no such notification")
    notifications.mark_read(current_user, notification_id)
    db.session.commit()
    db.session.refresh(row)
    return jsonify(notification_json(row))
