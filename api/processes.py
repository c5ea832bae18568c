"""Process definitions and reference data over the API."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select

import access
from api.base import bp, error
from models import CaseType, ProcessDefinition, db
from workflows import processes
from workflows.engine import DiagramError


@bp.post("/processes")
def deploy_process():
    """Deploy a .bpmn (multipart field `file`); leads only. 201 new, 200 identical to the latest or to the
    version waiting. A new version waits (`"approval": "pending"`) until a lead of another organisation approves
    it (POST /processes/<id>/approve). An optional form field `note` says what changed (kept with the version)."""
    if not access.can(current_user, access.Action.DEPLOY, ProcessDefinition):
        return error(403, "only working-group leads may deploy processes")
    upload = request.files.get("file")
    if upload is None:
        return error(400, "send the diagram as multipart form field 'file'")
    try:
        note = request.form.get("note")
        definition, created = processes.propose(upload.read(), current_user,
                                                change_note=note[:processes.NOTE_MAX] if note else None)
    except DiagramError as exc:
        db.session.rollback()
        return jsonify(errors=[p.as_dict() for p in exc.problems]), 422
    db.session.commit()
    return jsonify(key=definition.key, version=definition.version, id=definition.id,
                   approval=definition.approval), 201 if created else 200


@bp.post("/processes/<int:definition_id>/approve")
def approve_process(definition_id: int):
    """A lead of another organisation puts a waiting version into effect (403 for the deployer's own org)."""
    return _decide(definition_id, True)


@bp.post("/processes/<int:definition_id>/reject")
def reject_process(definition_id: int):
    """A lead refuses a waiting version; it never takes effect."""
    return _decide(definition_id, False)


def _decide(definition_id: int, approve: bool):
    definition = db.session.get(ProcessDefinition, definition_id)
    if definition is None or not access.can(current_user, access.Action.LIST, ProcessDefinition):
        return error(404, "not found (or not visible to you)")
    processes.decide(definition, current_user, approve)   # NotPermitted -> 403, Conflict -> 409 (api/base.py)
    db.session.commit()
    return jsonify(key=definition.key, version=definition.version, id=definition.id, approval=definition.approval)


@bp.get("/processes")
def list_processes():
    """One row per key with its latest version."""
    if not access.can(current_user, access.Action.LIST, ProcessDefinition):
        return error(403, "not allowed")
    return jsonify([{"key": d.key, "version": d.version, "name": d.name} for d in processes.latest_per_key()])


@bp.get("/case-types")
def list_case_types():
    """Active case types."""
    rows = db.session.scalars(select(CaseType).where(CaseType.active.is_(True)).order_by(CaseType.code))
    return jsonify([{"code": c.code, "name": c.name} for c in rows])
