"""The OpenAPI 3.1 document: generated from the URL map, valid (openapi-spec-validator), and listing every /api/v1
route and method the app registers; served without a token; browsable at /api/docs."""
from __future__ import annotations

import re

from openapi_spec_validator import validate


def _registered(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            out |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def test_the_document_is_valid_and_lists_every_route(app, client):
    response = client.get("/api/v1/openapi.json")            # no token: it describes no data
    assert response.status_code == 200 and response.is_json
    document = response.json
    assert document["openapi"] == "3.1.0"
    validate(document)
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert documented == _registered(app)
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["responses"], (path, method)
            errors = {code for code in op["responses"] if code.startswith(("4", "5"))}
            assert "400" in errors and ("401" in errors or op.get("security") == []), (path, method)
    # Every route that reads a body describes it.
    for path, method in [("/cases", "post"), ("/cases/{case_id}/organisations", "post"),
                         ("/cases/{case_id}/processes", "post"), ("/cases/{case_id}/requests", "post"),
                         ("/people/matches", "post"), ("/processes", "post"), ("/tasks/{item_id}/assign", "post"),
                         ("/tasks/{item_id}/complete", "post")]:
        assert "requestBody" in document["paths"][path][method], (path, method)
    opened = document["paths"]["/cases"]["post"]
    assert opened["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OpenCase"}
    assert {"201", "409", "422"} <= set(opened["responses"])


def test_the_docs_page_loads_the_document(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert 'data-spec-url="/api/v1/openapi.json"' in page.get_data(as_text=True)
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
