"""Exports show values in words; the codes stay, hidden, under their original field names for tools.

Each test writes the real workbook and opens it back with openpyxl.
"""
from __future__ import annotations

import re
from io import BytesIO

from sqlalchemy import event, select

from models import ProcessDefinition, WorkItem, db
from models.enums import CaseStatus, RiskLevel
from reporting import exports
from tests.fixtures.exports import at, cells, hidden_fields, open_xlsx, table


def build(user, name: str, **raw):
    out = BytesIO()
    exports.run(name, user, exports.parse_filters(raw), out)
    db.session.commit()
    return open_xlsx(out.getvalue())


def titles(ws) -> dict[str, str]:
    """Field name (row 2) -> the header people read (row 3)."""
    return {c.value: ws.cell(3, c.column).value for c in ws[2]}


def test_cases_show_type_status_and_lead_in_words(world):
    """A case's type, status, risk and lead organisation read as words; the codes are hidden beside them."""
    council = world.cases["council"]
    council.status, council.risk_level = CaseStatus.CLOSED, RiskLevel.NOT_ASSESSED
    db.session.commit()
    ws = build(world.users["auditor"], "cases")["Cases"]
    headers, rows = table(ws)
    row = next(r for r in rows if r["reference"] == council.reference)
    assert (row["case_type"], row["case_type_name"]) == ("asb", "Anti-social behaviour")
    assert (row["status"], row["status_name"]) == ("closed", "Closed")
    assert (row["risk_level"], row["risk_level_name"]) == ("not_assessed", "Not assessed")
    assert (row["lead_organisation"], row["lead_organisation_name"]) == ("mansfield", "Mansfield District Council")
    # The codes keep the field names tools used before; the words beside them are what people see.
    assert hidden_fields(ws) == {"case_type", "status", "risk_level", "lead_organisation"}
    for field in hidden_fields(ws):
        assert headers[headers.index(field) + 1] == f"{field}_name"
    shown = titles(ws)
    assert (shown["case_type_name"], shown["status_name"], shown["lead_organisation_name"]) == \
        ("Case type", "Status", "Lead organisation")
    assert shown["status"] == "Status (code)"
    assert cells(ws)[0]["restricted"].data_type == "b"   # booleans stay typed


def test_work_items_show_status_organisation_and_process_in_words(world):
    """A work item's status, organisation, process, case type and role read as words; codes hidden."""
    first = db.session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == "victim_referral")).one()
    first.name = "Victim referral (first draft)"
    db.session.add(ProcessDefinition(key="victim_referral", version=2, name="Refer a victim for support",
                                     bpmn_xml="<x/>", sha256="1" * 64))
    item = db.session.scalars(select(WorkItem).where(WorkItem.title == "Contact the victim")).one()
    item.required_role = "manager"
    db.session.commit()
    ws = build(world.users["police_manager"], "work_items")["Work items"]
    rows = table(ws)[1]
    row = next(r for r in rows if r["step"] == "Contact the victim")
    assert (row["status"], row["status_name"]) == ("completed", "Completed")
    assert (row["organisation"], row["organisation_name"]) == ("victim_services", "Victim Services")
    assert (row["process"], row["process_name"]) == ("victim_referral", "Refer a victim for support")  # newest
    assert (row["case_type"], row["case_type_name"]) == ("victim_support", "Victim support")
    assert (row["required_role"], row["required_role_name"]) == ("manager", "Manager")
    ready = next(r for r in rows if r["step"] == "Future step")
    assert (ready["status"], ready["status_name"], ready["organisation_name"]) == \
        ("ready", "Ready", "Nottinghamshire Police")
    assert ready["required_role"] is None and ready["required_role_name"] is None
    assert hidden_fields(ws) == {"case_type", "process", "organisation", "required_role", "status"}
    assert "lane" not in hidden_fields(ws) and row["lane"] == "Victim Services"   # the lane's name as drawn
    assert next(c for c in cells(ws) if c["step"].value == "Record the crime")["completed_on_time"].data_type == "b"


def test_overdue_caption_is_local_time(world):
    """The overdue export says when it was taken, in local time, without "UTC"."""
    ws = build(world.users["council"], "overdue")["Overdue work"]
    assert "UTC" not in ws["A1"].value
    assert re.search(r"as of \d{4}-\d{2}-\d{2} \d{2}:\d{2} \|", ws["A1"].value)
    row = table(ws)[1][0]
    assert (row["organisation"], row["organisation_name"]) == ("mansfield", "Mansfield District Council")
    assert {"status", "organisation", "process"} <= hidden_fields(ws)


def test_facts_show_outcomes_statuses_and_owners_in_words(world):
    """Victims' Code, RJ and panel exports: outcomes, statuses, rights and owners in words; codes hidden."""
    wb = build(world.users["police_manager"], "victims_code", **{"from": "2026-01-01", "to": "2026-06-30"})
    detail = {r["right"]: r for r in table(wb["Entitlements"])[1]}
    r2 = detail["R2"]
    assert (r2["status"], r2["status_name"], r2["outcome"], r2["outcome_name"]) == ("met", "Met", "met_late", "Met late")
    assert (r2["owner_organisation"], r2["owner_organisation_name"]) == ("notts_police", "Nottinghamshire Police")
    assert detail["R5"]["outcome_name"] == "Not applicable"
    assert {"status", "outcome", "owner_organisation", "case_type"} <= hidden_fields(wb["Entitlements"])
    summary = table(wb["Summary"])[1]
    assert [(r["right"], r["right_name"]) for r in summary][:2] == [("R1", "Right 1"), ("R2", "Right 2")]
    assert hidden_fields(wb["Summary"]) == {"right"}
    wb = build(world.users["police_manager"], "panel_actions")
    rows = table(wb["Panel actions"])[1]
    assert [(r["status"], r["status_name"]) for r in rows] == [("done", "Done"), ("open", "Open")]
    assert {r["status_name"] for r in table(wb["Summary"])[1]} == {"Done", "Open"}
    wb = build(world.users["council"], "rj_outcomes")
    assert [(r["outcome_name"], r["case_type_name"]) for r in table(wb["RJ outcomes"])[1]] == \
        [("Declined", "Anti-social behaviour")]


def test_audit_and_sharing_show_words(world):
    """Audit: the organisation's name and the action in words; sharing: the case type's name."""
    build(world.users["police_manager"], "cases")
    wb = build(world.users["auditor"], "audit", organisation="notts_police")
    ws = wb["Audit"]
    exported = next(r for r in table(ws)[1] if r["action"] == "export")
    assert (exported["action_name"], exported["organisation_name"]) == ("Export", "Nottinghamshire Police")
    assert {"organisation", "action", "object_type"} <= hidden_fields(ws)
    wb = build(world.users["auditor"], "sharing")
    shared = [r for r in table(wb["Disclosures"])[1] if r["case_type"]]
    assert shared and all(r["case_type_name"] == "Victim support" for r in shared)


def test_performance_rows_are_labelled_in_words(world):
    """Every area sheet labels its rows in words (codes hidden beside them) and charts the words."""
    wb = build(world.users["police_manager"], "performance_report", **{"from": "2026-01-01", "to": "2026-06-30"})
    assert [r["case_type_name"] for r in table(wb["Cases"])[1]] == ["Victim support"]
    work = {r["organisation"]: r["organisation_name"] for r in table(wb["Work"])[1]}
    assert work == {"notts_police": "Nottinghamshire Police", "victim_services": "Victim Services"}
    rights = [(r["right"], r["right_name"]) for r in table(wb["Victims Code"])[1]]
    assert rights == [("R1", "Right 1"), ("R2", "Right 2"), ("R3", "Right 3"), ("R4", "Right 4")]
    assert [r["status_name"] for r in table(wb["Panel actions"])[1]] == ["Done", "Open"]
    for title in wb.sheetnames[1:]:
        ws = wb[title]
        category = ws["A2"].value
        assert hidden_fields(ws) == {category} and ws["B2"].value == f"{category}_name"
        for chart in ws._charts:   # bars named by the words column (a chart leaves hidden columns out)
            names = chart.series[0].cat.numRef or chart.series[0].cat.strRef
            assert "!$B$" in names.f and "!$C$" in chart.series[0].val.numRef.f


def _statements(user, name: str) -> int:
    """How many SQL statements one export runs."""
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        build(user, name)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return len(seen)


def test_words_are_looked_up_once_per_export_not_per_row(world):
    """Names come from one query per look-up: ten times the work items, the same number of statements."""
    manager = world.users["police_manager"]
    before = _statements(manager, "work_items")
    police, vs, case = world.orgs["police"], world.orgs["vs"], world.cases["police"]
    for n in range(40):
        world.item(case, police if n % 2 else vs, f"Extra {n}", created=at(2026, 3, 2), due=at(2026, 3, 9))
    db.session.commit()
    assert _statements(manager, "work_items") == before
