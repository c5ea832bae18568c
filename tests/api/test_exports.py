"""GET /api/v1/exports and /api/v1/exports/<name>.xlsx."""
from __future__ import annotations

from sqlalchemy import select

from models import AuditEvent, db
from tests.fixtures.exports import open_xlsx, table


def get(client, world, who: str, url: str):
    return client.get(f"/api/v1{url}", headers={"Authorization": f"Bearer {world.tokens[who]}"})


def test_download_with_filters(world, client):
    """The workbook comes back as an attachment with a dated name, only visible rows, audited."""
    response = get(client, world, "vs", "/exports/cases.xlsx?from=2026-01-01&to=2026-06-30&organisation=notts_police")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename=cases-2026-01-01-to-2026-06-30.xlsx' in response.headers["Content-Disposition"]
    assert response.headers["X-Export-Rows"] == "1"
    wb = open_xlsx(response.get_data())
    assert [r["reference"] for r in table(wb["Cases"])[1]] == [world.cases["police"].reference]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.user_email == "cw@vs.example.org"
    assert event.detail_dict["filters"]["organisation"] == "notts_police"


def test_list_shows_only_what_the_caller_may_run(world, client):
    names = [e["name"] for e in get(client, world, "auditor", "/exports").get_json()]
    assert names == ["cases", "audit", "sharing"]
    names = [e["name"] for e in get(client, world, "vs_manager", "/exports").get_json()]
    assert "performance_report" in names and "audit" not in names


def test_errors_are_json(world, client):
    """Unknown export 404, no permission 403, bad filter 400, no credentials 401; nothing audited."""
    response = get(client, world, "pc", "/exports/nope.xlsx")
    assert response.status_code == 404 and "no export called 'nope'" in response.get_json()["error"]
    response = get(client, world, "pc", "/exports/audit.xlsx")
    assert response.status_code == 403 and "audit" in response.get_json()["error"]
    response = get(client, world, "admin", "/exports/cases.xlsx")
    assert response.status_code == 403
    response = get(client, world, "pc", "/exports/cases.xlsx?from=2026-02-30")
    assert response.status_code == 400 and response.get_json()["field"] == "from"
    response = get(client, world, "pc", "/exports/cases.xlsx?case_type=unknown")
    assert response.status_code == 400 and "unknown" in response.get_json()["error"]
    assert client.get("/api/v1/exports/cases.xlsx").status_code == 401
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all() == []


def test_empty_result_is_a_valid_workbook(world, client):
    response = get(client, world, "pc", "/exports/overdue.xlsx?case_type=hmo")
    assert response.status_code == 200
    ws = open_xlsx(response.get_data())["Overdue work"]
    assert ws.max_row == 3 and ws["A1"].value.startswith("OFFICIAL-SENSITIVE") and ws["A2"].value == "case_reference"
    assert ws["A3"].value == "Case reference"


def test_auditor_downloads_audit_log(world, client):
    response = get(client, world, "auditor", "/exports/audit.xlsx")
    assert response.status_code == 200
    rows = table(open_xlsx(response.get_data())["Audit"])[1]
    assert rows and {"create"} <= {r["action"] for r in rows}
