"""Every registered export, opened back with openpyxl: contents, types, marking, access and auditing."""
from __future__ import annotations

import json
from datetime import datetime
from io import BytesIO

import pytest
from sqlalchemy import select

from models import AuditEvent, db
from reporting import exports
from tests.fixtures.exports import cells, hidden_fields, open_xlsx, table


def build(user, name: str, **raw):
    out = BytesIO()
    result = exports.run(name, user, exports.parse_filters(raw), out)
    db.session.commit()
    return open_xlsx(out.getvalue()), result


def rows_of(wb, sheet: str) -> list[dict]:
    return table(wb[sheet])[1]


def test_registry_names_and_roles(world):
    """Are all the exports the issue names registered, each for the right roles?"""
    assert {"cases", "people", "work_items", "overdue", "victims_code", "rj_outcomes", "panel_actions", "audit",
            "performance_report"} <= set(exports.REPORTS)
    u = world.users
    assert "audit" not in [r.name for r in exports.available(u["pc"])]
    assert [r.name for r in exports.available(u["auditor"])] == ["cases", "audit", "sharing"]
    assert "performance_report" in [r.name for r in exports.available(u["police_manager"])]
    assert "performance_report" not in [r.name for r in exports.available(u["pc"])]
    assert exports.available(u["admin"]) == []
    with pytest.raises(exports.ExportNotPermitted):
        exports.run("audit", u["pc"], exports.Filters(), BytesIO())
    with pytest.raises(exports.UnknownExport):
        exports.get("nope")


@pytest.mark.parametrize("name", sorted(exports.REPORTS))
def test_every_export_is_marked_frozen_filtered_and_audited(world, name):
    """Does each export carry the marking, a frozen header and an autofilter, and get audited once?"""
    user = world.users["auditor" if name in ("audit", "sharing") else "police_manager"]
    wb, result = build(user, name, **{"from": "2026-01-01", "to": "2026-06-30"})
    for ws in wb:
        assert ws["A1"].value.startswith("OFFICIAL-SENSITIVE")
        assert ws.oddHeader.center.text == "OFFICIAL-SENSITIVE" and ws.oddFooter.center.text == "OFFICIAL-SENSITIVE"
        assert ws.freeze_panes == "A4" and ws.row_dimensions[2].hidden   # field names hidden; row 3 for people
        assert ws.auto_filter.ref.startswith("A3:") and ws.auto_filter.ref.endswith(str(ws.max_row))
        assert all(c.value and "_" not in c.value for c in ws[3]), [c.value for c in ws[3]]
        assert "UTC" not in ws["A1"].value   # captions give times in the partnership's local time
        fields = [c.value for c in ws[2]]
        for field in hidden_fields(ws):   # each code column sits, hidden, just before its words
            code = fields.index(field)   # 0-based: the column's number is code + 1
            assert fields[code + 1] == f"{field}_name" and fields[code + 1] not in hidden_fields(ws), field
            assert ws.cell(3, code + 1).value.endswith("(code)")
        assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.user_id == user.id and event.object_id == name
    assert event.detail_dict == {"export": name, "filters": {"from": "2026-01-01", "to": "2026-06-30"},
                                 "rows": result.rows, "sheets": wb.sheetnames}


def test_cases_contents_types_and_access(world):
    """Cases: the required columns, typed dates, neutralised titles, only visible cases?"""
    c = world.cases
    wb, result = build(world.users["pc"], "cases")
    headers, rows = table(wb["Cases"])
    assert headers[:4] == ["reference", "case_type", "case_type_name", "title"]
    assert {"status", "risk_level", "lead_organisation", "opened_at", "closed_at"} <= set(headers)
    # pc sees their own cases (incl. the restricted one they are named on), not the council's or VS-only ones.
    assert sorted(r["reference"] for r in rows) == sorted([c["police"].reference, c["restricted"].reference])
    assert result.rows == 2
    row = next(r for r in rows if r["reference"] == c["police"].reference)
    assert row["title"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert row["lead_organisation"] == "notts_police" and row["status"] == "open"
    assert row["opened_at"] == datetime(2026, 2, 10, 12, 0)
    assert row["people"] == 1 and row["open_work_items"] == 2
    typed = next(r for r in cells(wb["Cases"]) if r["reference"].value == c["police"].reference)
    assert typed["opened_at"].is_date and typed["people"].data_type == "n" and typed["restricted"].data_type == "b"


def test_cases_for_vs_include_partnered_case_but_not_restricted(world):
    """Does Victim Services see its own case and the police case it partners on, not the restricted one?"""
    c = world.cases
    wb, _ = build(world.users["vs_manager"], "cases")
    refs = {r["reference"] for r in rows_of(wb, "Cases")}
    assert refs == {c["police"].reference, c["vs"].reference}


def test_cases_for_auditors_are_metadata_only(world):
    """Auditors see every case's metadata but no titles."""
    wb, _ = build(world.users["auditor"], "cases")
    headers, rows = table(wb["Cases"])
    assert "title" not in headers and len(rows) == 4


def test_cases_filters(world):
    """Date range, organisation and case type narrow the rows; no match gives a valid empty sheet."""
    c, vs = world.cases, world.users["vs"]
    wb, _ = build(vs, "cases", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert [r["reference"] for r in rows_of(wb, "Cases")] == [c["vs"].reference]
    wb, _ = build(vs, "cases", organisation="notts_police")
    assert [r["reference"] for r in rows_of(wb, "Cases")] == [c["police"].reference]
    wb, _ = build(vs, "cases", case_type="restorative_justice")
    assert [r["reference"] for r in rows_of(wb, "Cases")] == [c["vs"].reference]
    wb, result = build(vs, "cases", case_type="hmo")
    ws = wb["Cases"]
    assert result.rows == 0 and ws.max_row == 3 and ws.auto_filter.ref.endswith("3")
    assert ws["A2"].value == "reference" and ws["A3"].value == "Reference"


def test_people_have_no_contact_details(world):
    """People: identity fields, typed date of birth, no e-mail, phone, address or safe contact."""
    wb, _ = build(world.users["pc"], "people")
    headers, rows = table(wb["People"])
    assert headers[:4] == ["external_reference", "given_name", "family_name", "date_of_birth"]
    assert not {"email", "phone", "address", "safe_contact", "notes"} & set(headers)
    assert [r["family_name"] for r in rows] == ["Adams"]
    assert rows[0]["external_reference"] == "'=EXT-1"
    assert cells(wb["People"])[0]["date_of_birth"].is_date
    everything = " ".join(str(v) for r in rows for v in r.values())
    assert "Secret Street" not in everything and "07700" not in everything and "alice@" not in everything


def test_people_visible_through_cases(world):
    """Victim Services sees its own registrations and the victim on the police case it partners on."""
    wb, _ = build(world.users["vs"], "people")
    assert sorted(r["family_name"] for r in rows_of(wb, "People")) == ["Adams", "Brown"]
    wb, _ = build(world.users["vs"], "people", organisation="victim_services")
    assert [r["family_name"] for r in rows_of(wb, "People")] == ["Brown"]
    wb, _ = build(world.users["vs"], "people", case_type="victim_support")
    assert [r["family_name"] for r in rows_of(wb, "People")] == ["Adams"]


def test_work_items_and_overdue(world):
    """Work items: on-time flags and visibility; overdue: only ready items past due, with days overdue."""
    wb, _ = build(world.users["police_manager"], "work_items")
    rows = rows_of(wb, "Work items")
    assert [r["step"] for r in rows] == ["Record the crime", "Contact the victim", "'=Assess needs", "Future step"]
    assert [r["completed_on_time"] for r in rows] == [True, False, None, None]
    wb, _ = build(world.users["police_manager"], "work_items", organisation="victim_services")
    assert [r["step"] for r in rows_of(wb, "Work items")] == ["Contact the victim", "'=Assess needs"]
    wb, _ = build(world.users["council"], "overdue")
    rows = rows_of(wb, "Overdue work")
    assert [r["step"] for r in rows] == ["Council step"]
    # A number of days to one decimal (a whole number such as 244.0 reads back from the workbook as 244).
    assert isinstance(rows[0]["days_overdue"], (int, float)) and rows[0]["days_overdue"] > 30
    assert "completed_at" not in table(wb["Overdue work"])[0]


def test_victims_code_compliance(world):
    """Entitlements: outcome per right (met on time / late / missed / overdue) and a summary per right."""
    wb, _ = build(world.users["police_manager"], "victims_code", **{"from": "2026-01-01", "to": "2026-06-30"})
    detail = {r["right"]: r["outcome"] for r in rows_of(wb, "Entitlements")}
    assert detail == {"R1": "met_on_time", "R2": "met_late", "R3": "missed", "R4": "overdue",
                      "R5": "not_applicable"}
    summary = {r["right"]: r for r in rows_of(wb, "Summary")}
    assert list(summary) == ["R1", "R2", "R3", "R4", "R5"]
    assert summary["R1"]["met_on_time"] == 1 and summary["R1"]["percent_met_on_time"] == 1
    assert summary["R3"]["missed"] == 1 and summary["R3"]["percent_met_on_time"] == 0
    assert summary["R4"]["overdue"] == 1 and summary["R4"]["percent_met_on_time"] is None
    pct = cells(wb["Summary"])[0]["percent_met_on_time"]
    assert pct.number_format == "0.0%"


def test_rj_outcomes_and_panel_actions(world):
    """RJ outcomes and panel actions: rows, status summaries, overdue flags, neutralised labels."""
    wb, _ = build(world.users["vs_manager"], "rj_outcomes")
    rows = rows_of(wb, "RJ outcomes")
    assert [(r["outcome"], r["label"]) for r in rows] == [("direct_conference", "'=cmd|' /C calc'!A0")]
    assert rows_of(wb, "Summary") == [{"status": "direct_conference", "status_name": "Direct conference",
                                       "count": 1, "share": 1}]
    wb, _ = build(world.users["council"], "rj_outcomes")
    assert [r["outcome"] for r in rows_of(wb, "RJ outcomes")] == ["declined"]
    wb, _ = build(world.users["police_manager"], "panel_actions")
    rows = rows_of(wb, "Panel actions")
    assert [(r["action"], r["status"], r["overdue"]) for r in rows] == [("A-1", "done", False), ("A-2", "open", True)]
    assert {r["status"]: r["count"] for r in rows_of(wb, "Summary")} == {"done": 1, "open": 1}


def test_audit_export_for_auditors(world):
    """The audit export lists events with their hashes; previous exports are themselves in it."""
    build(world.users["police_manager"], "cases")
    wb, _ = build(world.users["auditor"], "audit", organisation="notts_police")
    rows = rows_of(wb, "Audit")
    assert rows and all(r["organisation"] == "notts_police" for r in rows)
    exported = [r for r in rows if r["action"] == "export"]
    assert exported and json.loads(exported[0]["detail"])["export"] == "cases"
    assert all(len(r["hash"]) == 64 for r in rows)
    wb, _ = build(world.users["auditor"], "audit", case_type="victim_support")
    assert {r["case_reference"] for r in rows_of(wb, "Audit")} == {world.cases["police"].reference}


@pytest.mark.parametrize("raw, field", [
    ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "to"), ({"organisation": "nobody"}, "organisation"),
    ({"case_type": "nothing"}, "case_type"), ({"colour": "red"}, "colour"),
    ({"baseline_from": "2025-06-01", "baseline_to": "2025-01-01"}, "baseline_to"),
])
def test_bad_filters_name_the_field(world, raw, field):
    """Is each bad filter refused with a message naming it?"""
    with pytest.raises(exports.BadFilter) as exc:
        exports.parse_filters(raw)
    assert exc.value.field == field and field in str(exc.value)


def test_date_filters_are_whole_uk_days(world):
    """Is `to` inclusive of that whole (UK) day?"""
    wb, _ = build(world.users["vs"], "cases", **{"from": "2026-03-15", "to": "2026-03-15"})
    assert [r["reference"] for r in rows_of(wb, "Cases")] == [world.cases["vs"].reference]
