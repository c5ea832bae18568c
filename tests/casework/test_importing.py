"""The import service for people: dry run, all or nothing, idempotency, mapping, and every refusal."""
from __future__ import annotations

import zipfile
from datetime import date, datetime
from io import BytesIO

import pytest
from sqlalchemy import func, select

from casework import importing
from casework.errors import NotPermitted
from models import AuditEvent, Person, db
from tests.factories import make_person
from tests.fixtures.imports import PEOPLE_HEADER, PEOPLE_ROWS, xlsx


def _finish(user, report) -> None:
    """What every edge does after run()."""
    if not report.keep:
        db.session.rollback()
    importing.record(user, report)
    db.session.commit()


def _import(user, data: bytes, kind: str = "people", **kwargs) -> importing.ImportReport:
    report = importing.run(user, kind, data, filename="legacy.xlsx", **kwargs)
    _finish(user, report)
    return report


def _people() -> list[Person]:
    db.session.expire_all()
    return list(db.session.scalars(select(Person).order_by(Person.external_reference)))


def _outcomes(report) -> list[tuple[int, str]]:
    return [(r.row, r.outcome) for r in report.rows]


def test_import_creates_people_for_the_users_organisation(team, people_file):
    report = _import(team.pc, people_file)
    assert report.ok and report.keep and not report.errors
    assert _outcomes(report) == [(2, "created"), (3, "created"), (5, "created")]  # the blank row 4 is skipped
    people = _people()
    assert [(p.external_reference, p.given_name, p.family_name, p.date_of_birth) for p in people] == [
        ("P-001", "Amira", "Hussain", date(1988, 3, 14)),
        ("P-002", "Tomasz", "Nowak", date(1975, 11, 2)),
        ("P-003", "Grace", "Okafor", date(2001, 7, 30))]
    assert {p.registered_by_org_id for p in people} == {team.pc.organisation_id}
    assert {p.created_by_id for p in people} == {team.pc.id}
    assert people[0].phone == "07700 900001" and people[0].email == "amira@example.org"


def test_dry_run_reports_and_writes_nothing(team, people_file):
    report = _import(team.pc, people_file, dry_run=True)
    assert report.ok and not report.keep
    assert _outcomes(report) == [(2, "created"), (3, "created"), (5, "created")]
    assert report.rows[0].label == "Amira HUSSAIN" and report.rows[0].reference == "P-001"
    assert "dry run: nothing was written" in report.summary()
    assert _people() == []


def test_reimport_is_idempotent_and_updates_changed_values(team, people_file):
    _import(team.pc, people_file)
    again = _import(team.pc, people_file)
    assert again.ok
    assert _outcomes(again) == [(2, "unchanged"), (3, "unchanged"), (5, "unchanged")]
    assert len(_people()) == 3
    rows = [list(r) for r in PEOPLE_ROWS]
    rows[2][1] = "Tomek"          # a corrected name
    rows[1][4] = None             # a blank optional cell keeps the recorded phone
    changed = _import(team.pc, xlsx(*rows))
    assert _outcomes(changed) == [(2, "unchanged"), (3, "updated"), (5, "unchanged")]
    assert changed.rows[1].messages == ["changes given_name"]
    people = {p.external_reference: p for p in _people()}
    assert people["P-002"].given_name == "Tomek" and people["P-001"].phone == "07700 900001"
    assert len(people) == 3


def test_idempotency_is_per_organisation(team, people_file):
    """Another organisation's person with the same reference is neither updated nor a reason to refuse."""
    make_person(team.other, "Someone", "Else", date(1950, 1, 1), external_reference="P-001")
    report = _import(team.pc, people_file)
    assert _outcomes(report)[0] == (2, "created")
    assert db.session.scalar(select(func.count()).where(Person.external_reference == "P-001")) == 2
    assert db.session.scalar(select(Person.given_name).where(
        Person.registered_by_org_id == team.other.organisation_id)) == "Someone"


def test_all_or_nothing(team):
    data = xlsx(PEOPLE_HEADER, ["P-1", "Amira", "Hussain", "1988-03-14"], ["P-2", "Bad", "Date", "1988-02-30"],
                ["P-3", "Grace", "Okafor", "2001-07-30"])
    report = _import(team.pc, data)
    assert not report.ok and not report.keep
    assert _outcomes(report) == [(2, "created"), (3, "refused"), (4, "created")]
    assert report.rows[1].messages == ["column D (date_of_birth): '1988-02-30' is not a valid date "
                                       "(use a date cell or YYYY-MM-DD)"]
    assert "nothing was written" in report.summary()
    assert _people() == []


@pytest.mark.parametrize("cells, expected", [
    (["P-1", "Amira", "Hussain", "14/03/1988"], "column D (date_of_birth): '14/03/1988' is not a valid date"),
    (["P-1", "Amira", "Hussain", 32216], "column D (date_of_birth): 32216 is a number, not a date"),
    (["P-1", "Amira", "Hussain", "2999-01-01"], "column D (date_of_birth): is in the future"),
    (["P-1", "Amira", None, "1988-03-14"], "column C (family_name): is required"),
    (["P-1", "Amira", "Hussain", None], "column D (date_of_birth): is required"),
    ([None, "Amira", "Hussain", "1988-03-14"], "column A (external_reference): is required"),
    (["P-1", "Amira", "Hussain", "1988-03-14", "not-an-email"], "column E (email): 'not-an-email' is not a valid"),
    (["P-1", "Amira", "Hussain", "1988-03-14", None, "maybe"], "column F (interpreter_required): 'maybe' is not yes"),
    (["P-1", "=HYPERLINK(\"http://x\")", "Hussain", "1988-03-14"], "column B (given_name): contains a formula"),
    (["P-1", True, "Hussain", "1988-03-14"], "column B (given_name): True is a true/false cell"),
    (["P-" + "9" * 70, "Amira", "Hussain", "1988-03-14"], "column A (external_reference): is too long"),
])
def test_bad_cells_are_refused_with_row_and_column(team, cells, expected):
    data = xlsx(PEOPLE_HEADER + ["email", "interpreter_required"], cells)
    report = _import(team.pc, data)
    assert _outcomes(report) == [(2, "refused")]
    assert any(m.startswith(expected) for m in report.rows[0].messages), report.rows[0].messages
    assert report.lines()[0].startswith("row 2: refused")
    assert _people() == []


def test_text_that_looks_like_a_formula_is_refused(team):
    data = xlsx(PEOPLE_HEADER, ["P-1", "x", "Hussain", "1988-03-14"], text_cells={"B2": "=cmd|' /C calc'!A0"})
    report = _import(team.pc, data)
    assert report.rows[0].messages == ["column B (given_name): contains a formula; paste values only "
                                       "(formulas are never imported)"]


def test_formula_cell_is_refused(team):
    data = xlsx(PEOPLE_HEADER, ["P-1", "Amira", "Hussain", "=DATE(1988,3,14)"])
    report = _import(team.pc, data)
    assert report.rows[0].outcome == "refused"
    assert report.rows[0].messages[0].startswith("column D (date_of_birth): contains a formula")


def test_typed_cells_are_accepted(team):
    data = xlsx(PEOPLE_HEADER + ["phone", "interpreter_required", "dob_estimated"],
                [1001, "Amira", "Hussain", datetime(1988, 3, 14, 0, 0), 7700900001, "Yes", False])
    report = _import(team.pc, data)
    assert report.ok, report.lines()
    person = _people()[0]
    assert (person.external_reference, person.date_of_birth, person.phone) == ("1001", date(1988, 3, 14),
                                                                              "7700900001")
    assert person.interpreter_required is True and person.dob_estimated is False


def test_duplicate_reference_within_the_file(team):
    data = xlsx(PEOPLE_HEADER, ["P-1", "Amira", "Hussain", "1988-03-14"], ["P-1", "Grace", "Okafor", "2001-07-30"])
    report = _import(team.pc, data)
    assert _outcomes(report) == [(2, "created"), (3, "refused")]
    assert report.rows[1].messages == ["column A (external_reference): 'P-1' is also on row 2; each person "
                                       "must appear once"]
    assert _people() == []


def test_possible_duplicates_are_warnings(team):
    existing = make_person(team.police_pc2, "Amira", "Hussain", date(1988, 3, 14))
    data = xlsx(PEOPLE_HEADER, ["P-1", "Amira", "Husain", "1988-03-14"], ["P-2", "amira", "HUSSAIN", "1988-03-14"])
    report = _import(team.pc, data, dry_run=True)
    assert report.ok and _outcomes(report) == [(2, "created"), (3, "created")]
    assert len(report.rows[0].warnings) == 1
    assert f"possible duplicate of Amira HUSSAIN (14/03/1988) (person {existing.id}" in report.rows[0].warnings[0]
    # The second row resembles both the existing person and the first row of the same file.
    assert len(report.rows[1].warnings) == 2
    assert any("row" not in w and "Amira HUSAIN" in w for w in report.rows[1].warnings)
    assert any("row 2: warning: possible duplicate" in line for line in report.lines())


def test_column_mapping_for_other_layouts(team):
    data = xlsx(["Client ID", "Forename", "Surname", "DOB", "Notes"],
                ["L-9", "Amira", "Hussain", date(1988, 3, 14), "ignored"])
    refused = _import(team.pc, data)
    assert refused.errors and "does not have the required columns" in refused.errors[0]
    assert "(it has: Client ID, Forename, Surname, DOB, Notes)" in refused.errors[0]
    mapping = importing.parse_mapping(["external_reference=Client ID", "given_name=Forename",
                                       "family_name = surname", "date_of_birth=dob"])
    report = _import(team.pc, data, mapping=mapping)
    assert report.ok, report.lines()
    assert report.warnings == ["column(s) not imported: E (notes)"]
    assert [(p.external_reference, p.given_name) for p in _people()] == [("L-9", "Amira")]


def test_mapping_errors(team, people_file):
    bad = _import(team.pc, people_file, mapping={"forename": "Given"})
    assert bad.errors[0].startswith("the column mapping names 'forename', which is not a template column")
    clash = _import(team.pc, people_file, mapping={"given_name": "Name", "family_name": "name"})
    assert clash.errors == ["the column mapping uses the file header 'name' for more than one column"]
    with pytest.raises(importing.InvalidInput, match="is not TEMPLATE_COLUMN=File header"):
        importing.parse_mapping(["given_name"])


def test_header_row_below_a_title_row(team):
    data = xlsx(["OFFICIAL-SENSITIVE: people export"], [], PEOPLE_HEADER, ["P-1", "Amira", "Hussain", "1988-03-14"])
    report = _import(team.pc, data)
    assert report.header_row == 3 and _outcomes(report) == [(4, "created")]


@pytest.mark.parametrize("data, expected", [
    (b"", "the file is not an Excel workbook (.xlsx)"),
    (b"external_reference,given_name\nP-1,Amira\n", "the file is not an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "this is an old .xls file or a password-protected"),
])
def test_non_xlsx_files_are_refused(team, data, expected):
    report = _import(team.pc, data)
    assert report.errors[0].startswith(expected) and report.rows == []
    assert not report.ok and report.lines()[0].startswith("error: ")


def test_corrupt_workbook_is_refused(team, people_file):
    truncated = people_file[: len(people_file) // 2]
    assert _import(team.pc, truncated).errors[0].startswith("the file is not an Excel workbook")
    for keep in (40, -60):  # valid zips whose worksheet XML is damaged at the start, or in the rows
        out = BytesIO()
        with zipfile.ZipFile(BytesIO(people_file)) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                body = src.read(item.filename)
                dst.writestr(item, body[:keep] if item.filename.startswith("xl/worksheets/") else body)
        report = _import(team.pc, out.getvalue())
        assert len(report.errors) == 1 and report.errors[0].startswith("the workbook could not be read ("), keep
        assert report.errors[0].endswith("it may be damaged: open it in Excel or LibreOffice and save it again "
                                         "as .xlsx")
    other_zip = BytesIO()
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert _import(team.pc, other_zip.getvalue()).errors == [
        "the file is a zip archive but not an Excel workbook (.xlsx)"]
    assert _people() == []


def test_wrong_sheet(team):
    data = xlsx(["Read me first"], title="Guidance", sheets={"People": PEOPLE_ROWS})
    first = _import(team.pc, data)
    assert "sheet 'Guidance' does not have the required columns" in first.errors[0]
    assert "the workbook's sheets are: 'Guidance', 'People'" in first.errors[0]
    missing = _import(team.pc, data, sheet="Clients")
    assert missing.errors == ["the workbook has no sheet named 'Clients'; its sheets are: 'Guidance', 'People'"]
    chosen = _import(team.pc, data, sheet="People")
    assert chosen.ok and chosen.sheet == "People" and len(_people()) == 3


def test_missing_required_column(team):
    data = xlsx(["external_reference", "given_name", "family_name"], ["P-1", "Amira", "Hussain"])
    report = _import(team.pc, data)
    assert report.errors == ["sheet 'People' does not have the required columns external_reference, given_name, "
                             "family_name, date_of_birth in row 1 (it has: external_reference, given_name, "
                             "family_name). Use the template, or map your headers to the template columns"]


def test_duplicate_header_is_refused(team):
    data = xlsx(PEOPLE_HEADER + ["Given Name"], ["P-1", "Amira", "Hussain", "1988-03-14", "Amy"])
    assert _import(team.pc, data).errors == ["row 1: the header 'given_name' appears more than once "
                                             "(columns B and E)"]


def test_rows_beyond_the_limit(team, app):
    rows = [["P-%d" % i, "Given", f"Family{i}", "1990-01-01"] for i in range(6)]
    report = _import(team.pc, xlsx(PEOPLE_HEADER, *rows), max_rows=5)
    assert report.errors == ["sheet 'People' has more than 5 data rows (the limit); split it into smaller files"]
    app.config["IMPORT_MAX_ROWS"] = 3
    assert "more than 3 data rows" in _import(team.pc, xlsx(PEOPLE_HEADER, *rows)).errors[0]
    assert _people() == []


def test_empty_sheet_and_header_only(team):
    assert "(the sheet is empty)" in _import(team.pc, xlsx()).errors[0]
    report = _import(team.pc, xlsx(PEOPLE_HEADER))
    assert report.ok and report.rows == [] and report.warnings == ["sheet 'People' has no data rows below the header"]


def test_sparse_rows_keep_their_sheet_row_numbers(team):
    """Rows far down the sheet, past a gap, are read and reported with their real row number."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(PEOPLE_HEADER)
    for col, value in enumerate(["P-40", "Amira", "Hussain", "1988-03-14"], start=1):
        ws.cell(row=40, column=col, value=value)
    out = BytesIO()
    wb.save(out)
    assert _outcomes(_import(team.pc, out.getvalue())) == [(40, "created")]


@pytest.mark.parametrize("who", ["auditor", "lead", "admin"])
def test_only_practitioners_and_managers_import(team, people_file, who):
    with pytest.raises(NotPermitted):
        importing.run(getattr(team, who), "people", people_file)


def test_managers_import(team, people_file):
    assert _import(team.manager, people_file).ok


def test_imports_are_audited(team, people_file):
    _import(team.pc, people_file, dry_run=True)
    _import(team.pc, xlsx(PEOPLE_HEADER, ["P-1", "A", "B", "nope"]))
    _import(team.pc, people_file)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")
                                .order_by(AuditEvent.id)).all()
    details = [e.detail_dict for e in events]
    assert [(d["dry_run"], d["committed"]) for d in details] == [(True, False), (False, False), (False, True)]
    assert details[0]["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "refused": 0}
    assert details[1]["refused_rows"] == [2] and details[2]["file"] == "legacy.xlsx"
    assert {e.user_id for e in events} == {team.pc.id} and {e.object_type for e in events} == {"people"}
    creates = db.session.scalar(select(func.count()).where(AuditEvent.action == "create",
                                                           AuditEvent.object_type == "person"))
    assert creates == 3


def test_template_workbook():
    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(importing.template_bytes("people")))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]][:4] == PEOPLE_HEADER
    assert [c.value for c in ws[1]] == [c.name for c in importing.PEOPLE_COLUMNS]
    assert ws.max_row == 1 and ws.freeze_panes == "A2"
    assert "OFFICIAL" not in " ".join(str(c.value) for row in ws.iter_rows() for c in row)
    guide = wb.worksheets[1]
    assert guide.title == "Guidance"
    assert [r[0].value for r in guide.iter_rows(min_row=2, max_row=5)] == PEOPLE_HEADER
    assert guide["B2"].value == "required" and guide["B6"].value == "optional"
    cases = load_workbook(BytesIO(importing.template_bytes("cases"))).worksheets[0]
    assert [c.value for c in cases[1]][:9] == ["external_reference", "case_type", "title", "opened_on", "status",
                                                "risk_level", "lead_organisation", "person_reference", "role"]
    assert cases.max_row == 1
    with pytest.raises(importing.InvalidInput):
        importing.template("organisations")


def test_the_template_filled_in_imports(team):
    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(importing.template_bytes("people")))
    wb.worksheets[0].append(["T-1", "Amira", "Hussain", date(1988, 3, 14), "yes"])
    out = BytesIO()
    wb.save(out)
    report = _import(team.pc, out.getvalue())
    assert report.ok and report.warnings == [] and _outcomes(report) == [(2, "created")]
    assert _people()[0].dob_estimated is True


def _rewrite_sheet(workbook: bytes, rows_xml: str) -> bytes:
    """The workbook with its first sheet's rows replaced by hand-written XML (what a hostile writer makes)."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(workbook)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                start, end = text.index("<sheetData>") + len("<sheetData>"), text.index("</sheetData>")
                body = (text[:start] + rows_xml + text[end:]).encode()
            dst.writestr(item.filename, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_a_small_file_cannot_hold_the_worker(team):
    """A cell in the last column (XFD) pads every row to 16,384 cells, and a few bytes stand for a row: a
    ~100 KB file that once took minutes is refused after reading a bounded number of rows of 100 columns."""
    import time

    header = '<row r="1">' + "".join(f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>'
                                    for c, h in zip("ABCD", PEOPLE_HEADER)) + "</row>"
    blank = "".join(f'<row r="{n}"><c r="XFD{n}" t="inlineStr"><is><t> </t></is></c></row>' for n in range(2, 200_002))
    hostile = _rewrite_sheet(xlsx(PEOPLE_HEADER), header + blank)
    assert len(hostile) < 2 * 1024 * 1024
    started = time.monotonic()
    report = _import(team.pc, hostile)
    assert "rows counting blank ones" in report.errors[0] and report.rows == []
    assert time.monotonic() - started < 60   # generous: the point is seconds, not the minutes it took


def test_a_zip_bomb_is_refused_before_parsing(team):
    bomb = _rewrite_sheet(xlsx(PEOPLE_HEADER), '<row r="2">' + "<c/>" * 2_000_000 + "</row>")
    assert _import(team.pc, bomb).errors == ["the workbook is too large once uncompressed; split it into smaller "
                                             "files"]
