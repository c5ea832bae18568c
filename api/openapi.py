"""The OpenAPI 3.1 document of /api/v1, generated with apispec from the app's URL map (paths, methods, path
parameters) and the body and answer schemas below, so a route added without them fails tests/api/test_openapi.py.
Served at GET /api/v1/openapi.json (no token needed: it describes no data) and browsable at /api/docs."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from flask import Flask, current_app, jsonify, render_template

from api.base import bp

TEXT = {"type": "string"}
ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": TEXT}},
    "FieldErrors": {"type": "object", "properties": {"error": TEXT, "errors": {
        "oneOf": [{"type": "object", "additionalProperties": TEXT},
                  {"type": "array", "items": {"type": "object"}}]}}},
    "PersonEntry": {"type": "object", "required": ["role"], "properties": {
        "role": {"enum": ["victim", "offender", "witness", "vulnerable_person", "family_member", "other"]},
        "id": ID, "external_reference": TEXT, "given_name": TEXT, "family_name": TEXT, "date_of_birth": DATE}},
    "OpenCase": {"type": "object", "required": ["case_type", "title"], "properties": {
        "case_type": TEXT, "title": TEXT, "summary": TEXT, "area": TEXT, "risk_level": TEXT, "restricted":
        {"type": "boolean"}, "lead_organisation": TEXT, "external_reference": {"type": "string", "maxLength": 64},
        "people": {"type": "array", "items": {"$ref": "#/components/schemas/PersonEntry"}},
        "organisations": {"type": "array", "items": {"type": "object", "properties": {"code": TEXT}}}}},
    "CaseOpened": {"type": "object", "properties": {"id": ID, "reference": TEXT, "external_reference":
                                                    {"type": ["string", "null"]},
                                                    "warnings": {"type": "array", "items": TEXT}}},
    "Case": {"type": "object", "properties": {
        "id": ID, "reference": TEXT, "external_reference": {"type": ["string", "null"]}, "case_type": TEXT,
        "area": {"type": ["string", "null"]}, "status": TEXT, "risk_level": TEXT, "lead_organisation": TEXT,
        "restricted": {"type": "boolean"}, "opened_at": DATETIME, "closed_at": DATETIME,
        "organisations": {"type": "array", "items": TEXT}, "processes": {"type": "array", "items": {"type": "object"}},
        "title": TEXT, "summary": {"type": ["string", "null"]}, "people": {"type": "array", "items": {"type": "object"}}}},
    "AddOrganisation": {"type": "object", "required": ["code"], "properties": {"code": TEXT, "exception": {
        "type": "object", "properties": {"lawful_basis": TEXT, "reason": TEXT}}}},
    "StartProcess": {"type": "object", "required": ["key"], "properties": {"key": TEXT, "data": {"type": "object"}}},
    "Instance": {"type": "object", "properties": {"instance_id": ID, "key": TEXT, "version": {"type": "integer"},
                                                  "status": TEXT, "error": {"type": ["string", "null"]},
                                                  "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}}},
    "AskAgency": {"type": "object", "properties": {"organisation": TEXT, "service": TEXT, "text": TEXT,
                                                   "due_on": DATE}},
    "Asked": {"type": "object", "properties": {"instance_id": ID, "task_id": ID}},
    "Task": {"type": "object", "properties": {
        "id": ID, "case_id": ID, "instance_id": ID, "bpmn_id": TEXT, "title": TEXT, "status": TEXT,
        "organisation": {"type": ["string", "null"]}, "due_at": DATETIME, "form": {"type": "object"}}},
    "Complete": {"type": "object", "properties": {"data": {"type": "object"}}},
    "Completed": {"type": "object", "properties": {"task": {"$ref": "#/components/schemas/Task"},
                                                   "next": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}}},
    "Assign": {"type": "object", "properties": {"organisation": TEXT, "user": {"type": "string", "format": "email"}}},
    "Deployed": {"type": "object", "properties": {"key": TEXT, "version": {"type": "integer"}, "id": ID,
                                                  "approval": TEXT}},
    "Upload": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string",
                                                                                "contentMediaType": "application/xml"}}},
    "Process": {"type": "object", "properties": {"key": TEXT, "version": {"type": "integer"}, "name": TEXT}},
    "Export": {"type": "object", "properties": {"name": TEXT, "title": TEXT, "description": TEXT}},
    "Notification": {"type": "object", "properties": {"id": ID, "kind": TEXT, "text": TEXT,
                                                      "case_id": {"type": ["integer", "null"]},
                                                      "task_id": {"type": ["integer", "null"]},
                                                      "created_at": DATETIME, "read_at": DATETIME}},
    "MatchQuery": {"type": "object", "required": ["given_name", "family_name", "date_of_birth"], "properties": {
        "given_name": TEXT, "family_name": TEXT, "date_of_birth": DATE, "address": TEXT}},
    "Matches": {"type": "object", "properties": {
        "visible": {"type": "array", "items": {"type": "object", "properties": {
            "id": ID, "given_name": TEXT, "family_name": TEXT, "date_of_birth": {"type": ["string", "null"]}}}},
        "known_to": {"type": "array", "items": TEXT}}},
    "RecordIncident": {"type": "object", "required": ["occurred_on", "reported_on", "reported_to", "reported_by",
                                                      "kind", "description"], "properties": {
        "occurred_on": DATE, "reported_on": DATE, "reported_to": TEXT, "reported_by": TEXT,
        "kind": {"enum": ["asb", "domestic_abuse", "hate", "crime", "other"]}, "description": TEXT,
        "person": ID, "hate_motivated": {"type": "boolean"}, "reference": TEXT, "same_as": ID}},
    "Incident": {"type": "object", "properties": {
        "id": ID, "kind": TEXT, "occurred_on": DATE, "reported_on": DATE, "reported_to": TEXT, "reported_by": TEXT,
        "reference": {"type": ["string", "null"]}, "hate_motivated": {"type": "boolean"}, "description": TEXT,
        "person_id": {"type": ["integer", "null"]}, "same_as": {"type": ["integer", "null"]},
        "recorded_at": DATETIME}},
    "Document": {"type": "object", "description": "The OpenAPI document itself"},
    "DocumentUpload": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream"}, "title": TEXT}},
    "DocumentStored": {"type": "object", "properties": {
        "id": ID, "name": TEXT, "size": {"type": "integer"}, "content_type": TEXT,
        "scanned": {"type": "boolean", "description": "true: ClamAV found it clean; false: no scanner configured"}}},
    "CaseDocument": {"type": "object", "properties": {
        "id": ID, "name": TEXT, "size": {"type": "integer"}, "content_type": TEXT,
        "uploaded_by": {"type": ["string", "null"]}, "uploaded_at": DATETIME}},
}
ERRORS = {400: ("Bad request: the body or a parameter is malformed", "Error"),
          401: ("No, expired or revoked token", "Error"), 403: ("Your role may not do this", "Error"),
          404: ("Not found, or not visible to you", "Error"), 405: ("Method not allowed", "Error"),
          409: ("Conflict: already done, claimed or changed", "Error"),
          413: ("The request is larger than the server accepts", "Error"),
          422: ("A field is wrong (per-field messages)", "FieldErrors")}


@dataclass
class Op:
    """One operation: what it does, its body, its answers, the errors it gives besides 400/401."""

    summary: str
    body: str | None = None
    answer: tuple[int, str | list[str] | None] = (200, None)
    errors: tuple[int, ...] = ()
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    multipart: bool = False
    xlsx: bool = False
    file: bool = False
    public: bool = False


LIST = lambda name: [name]  # noqa: E731 - a list of items of a schema

OPERATIONS: dict[str, Op] = {
    "api.open_case": Op("Open a case (idempotent on external_reference per lead organisation: 200 with the case "
                        "already opened)", "OpenCase", (201, "CaseOpened"), (403, 409, 422)),
    "api.list_cases": Op("Cases you may see, newest first", answer=(200, LIST("Case")),
                         query={"limit": {"type": "integer", "minimum": 1, "maximum": 500}}),
    "api.get_case": Op("One case and its processes (audited)", answer=(200, "Case"), errors=(404,)),
    "api.add_organisation": Op("Add a partner under an agreement in force (or a manager's exception)",
                               "AddOrganisation", (200, "Case"), (403, 404, 422)),
    "api.start_process": Op("Start a deployed process on the case", "StartProcess", (201, "Instance"),
                            (403, 404, 409, 422)),
    "api.retry_process": Op("Leads: run a stopped instance's failed step again", answer=(200, "Instance"),
                            errors=(403, 404, 409)),
    "api.ask_agency": Op("Ask another agency (a step for it, with a due date)", "AskAgency", (201, "Asked"),
                         (403, 404, 422)),
    "api.list_incidents": Op("Incidents and complaints recorded on the case", answer=(200, LIST("Incident")),
                             errors=(403, 404)),
    "api.record_incident": Op("Record a report of an incident (another agency's report of the same incident, "
                              "same person, kind and day, is linked so thresholds count it once)",
                              "RecordIncident", (201, "Incident"), (403, 404, 422)),
    "api.upload_document": Op("Upload a document to the case (checked by content, virus-scanned when ClamAV is "
                              "configured)", "DocumentUpload", (201, "DocumentStored"), (403, 404, 413, 422),
                              multipart=True),
    "api.list_documents": Op("The case's documents, latest version of each, newest first",
                             answer=(200, LIST("CaseDocument")), errors=(403, 404)),
    "api.download_document": Op("One document's file, as an attachment (audited)", file=True, errors=(404,)),
    "api.case_history": Op("Completed steps, oldest first", answer=(200, LIST("Task")), errors=(404,)),
    "api.list_exports": Op("The exports you may run", answer=(200, LIST("Export"))),
    "api.download_export": Op("One export as a workbook", xlsx=True, errors=(403, 404),
                              query={k: {"type": "string"} for k in ("from", "to", "organisation", "case_type")}),
    "api.list_notifications": Op("Your notifications, newest first", answer=(200, LIST("Notification")),
                                 query={"limit": {"type": "integer", "minimum": 1, "maximum": 500}}),
    "api.read_notification": Op("Mark a notification read", answer=(200, "Notification"), errors=(404,)),
    "api.match_people": Op("Likely matches across the partnership, told as you may be told; registers nobody",
                           "MatchQuery", (200, "Matches"), (403, 422)),
    "api.deploy_process": Op("Deploy a BPMN file (leads; pending until a lead of another organisation approves)",
                             "Upload", (201, "Deployed"), (403, 422), multipart=True),
    "api.approve_process": Op("Approve a waiting version (a lead of another organisation)",
                              answer=(200, "Deployed"), errors=(403, 404, 409)),
    "api.reject_process": Op("Refuse a waiting version", answer=(200, "Deployed"), errors=(403, 404, 409)),
    "api.list_processes": Op("Latest version per process key", answer=(200, LIST("Process"))),
    "api.list_case_types": Op("Active case types", answer=(200, LIST("Process"))),
    "api.list_tasks": Op("Work items with forms and due dates, soonest first (Link: rel=next pages)",
                         answer=(200, LIST("Task")), errors=(404,),
                         query={"case": {"type": "integer"}, "status": {"enum": ["ready", "completed", "all"]},
                                "limit": {"type": "integer", "minimum": 1, "maximum": 500}, "after": TEXT}),
    "api.get_task": Op("One work item with its form", answer=(200, "Task"), errors=(404,)),
    "api.claim_task": Op("Claim a step", answer=(200, "Task"), errors=(403, 404, 409)),
    "api.release_task": Op("Release a claimed step", answer=(200, "Task"), errors=(403, 404, 409)),
    "api.assign_task": Op("Give an unassigned step to an organisation, or to a colleague", "Assign",
                          (200, "Task"), (403, 404, 409, 422)),
    "api.complete_task": Op("Complete a step with its form's answers", "Complete", (200, "Completed"),
                            (403, 404, 409, 422)),
    "api.openapi": Op("This document", answer=(200, "Document"), public=True),
}


def _path(rule: str) -> str:
    """/cases/<int:case_id> → /cases/{case_id}"""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _content(schema: str | list[str] | None) -> dict[str, Any]:
    if schema is None:
        return {}
    ref = {"type": "array", "items": {"$ref": f"#/components/schemas/{schema[0]}"}} if isinstance(schema, list) \
        else {"$ref": f"#/components/schemas/{schema}"}
    return {"content": {"application/json": {"schema": ref}}}


def _operation(op: Op, rule: Any) -> dict[str, Any]:
    status, schema = op.answer
    answer = {"description": "OK" if status == 200 else "Created", **_content(schema)}
    if op.xlsx:
        answer = {"description": "The workbook", "content": {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "contentMediaType":
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}}}}
    if op.file:
        answer = {"description": "The file, as an attachment", "content": {
            "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}
    responses: dict[Any, Any] = {str(status): answer}
    for code in sorted({400, *(() if op.public else (401,)), *op.errors}):
        text, error_schema = ERRORS[code]
        responses[str(code)] = {"description": text, **_content(error_schema)}
    params = [{"name": name, "in": "path", "required": True, "schema": ID if name.endswith("_id") else TEXT}
              for name in sorted(rule.arguments)]
    params += [{"name": name, "in": "query", "required": False, "schema": schema}
               for name, schema in op.query.items()]
    out: dict[str, Any] = {"summary": op.summary, "operationId": rule.endpoint.split(".", 1)[1],
                           "responses": responses}
    if params:
        out["parameters"] = params
    if op.body:
        media = "multipart/form-data" if op.multipart else "application/json"
        out["requestBody"] = {"required": True, "content": {
            media: {"schema": {"$ref": f"#/components/schemas/{op.body}"}}}}
    if op.public:
        out["security"] = []
    return out


def build(app: Flask) -> dict[str, Any]:
    """The document, from the URL map: every /api/v1 route that has an entry in OPERATIONS."""
    spec = APISpec(title="Casebook API", version="1", openapi_version="3.1.0",
                   info={"description": "Multi-agency case management. Bearer tokens from `flask --app app users "
                                        "token EMAIL` or Your account; errors are JSON."},
                   servers=[{"url": "/api/v1"}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint not in OPERATIONS:
            continue
        path = _path(rule.rule.removeprefix("/api/v1"))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(OPERATIONS[rule.endpoint], rule)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["security"] = [{"bearer": []}]
    return document


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(build(current_app))


def init_app(app: Flask) -> None:
    """The browsable documentation at /api/docs (Swagger UI, vendored in static/vendor/swagger-ui)."""

    @app.get("/api/docs")
    def api_docs():
        return render_template("api/docs.html")
