"""`flask import people|cases FILE --as EMAIL [--dry-run] [--map ...]` and `flask import-template`."""
from __future__ import annotations

from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from models import AuditEvent, Case, Person, db
from tests.fixtures.imports import CASES_HEADER, PEOPLE_HEADER, xlsx


def _write(tmp_path, data: bytes, name: str = "people.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_dry_run_then_import_then_reimport(runner, team, people_file, tmp_path):
    path = _write(tmp_path, people_file)
    dry = runner.invoke(args=["import", "people", path, "--as", team.pc.email, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = dry.output.strip().splitlines()
    assert lines[:3] == ["row 2: created Amira HUSSAIN", "row 3: created Tomasz NOWAK", "row 5: created Grace OKAFOR"]
    assert lines[-1] == ("people: 3 rows (3 created, 0 updated, 0 unchanged, 0 refused); "
                         "dry run: nothing was written.")
    assert _count(Person) == 0
    real = runner.invoke(args=["import", "people", path, "--as", team.pc.email.upper()])
    assert real.exit_code == 0, real.output
    assert real.output.strip().splitlines()[-1].endswith("imported.")
    assert _count(Person) == 3
    again = runner.invoke(args=["import", "people", path, "--as", team.pc.email])
    assert again.exit_code == 0, again.output
    assert "row 2: unchanged Amira HUSSAIN" in again.output and "(0 created, 0 updated, 3 unchanged" in again.output
    assert _count(Person) == 3
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
    assert [e.detail_dict["committed"] for e in events] == [False, True, True]


def test_refused_row_exits_1_and_writes_nothing(runner, team, tmp_path):
    path = _write(tmp_path, xlsx(PEOPLE_HEADER, ["P-1", "Amira", "Hussain", "1988-03-14"],
                                 ["P-2", "Tomasz", "Nowak", "next tuesday"]))
    for extra in ([], ["--dry-run"]):
        result = runner.invoke(args=["import", "people", path, "--as", team.pc.email, *extra])
        assert result.exit_code == 1, result.output
        assert ("row 3: refused P-2 - column D (date_of_birth): 'next tuesday' is not a valid date "
                "(use a date cell or YYYY-MM-DD)") in result.output
    assert _count(Person) == 0


def test_bad_file_exits_1(runner, team, tmp_path):
    path = _write(tmp_path, b"not a workbook", "people.xlsx")
    result = runner.invoke(args=["import", "people", path, "--as", team.pc.email])
    assert result.exit_code == 1
    assert "error: the file is not an Excel workbook (.xlsx)" in result.output
    assert "people: the file was refused; nothing was written." in result.output


def test_column_mapping_option(runner, team, tmp_path):
    path = _write(tmp_path, xlsx(["Ref", "First name", "Surname", "Born"], ["X1", "Amira", "Hussain", date(1988, 3, 14)]))
    plain = runner.invoke(args=["import", "people", path, "--as", team.pc.email])
    assert plain.exit_code == 1 and "does not have the required columns" in plain.output
    mapped = runner.invoke(args=["import", "people", path, "--as", team.pc.email, "--map", "external_reference=Ref",
                                 "--map", "given_name=First name", "--map", "family_name=Surname",
                                 "--map", "date_of_birth=Born"])
    assert mapped.exit_code == 0, mapped.output
    assert db.session.scalar(select(Person.external_reference)) == "X1"
    bad = runner.invoke(args=["import", "people", path, "--as", team.pc.email, "--map", "given_name"])
    assert bad.exit_code == 1 and "'given_name' is not TEMPLATE_COLUMN=File header" in bad.output


def test_without_as_it_refuses(runner, team, people_file, tmp_path):
    path = _write(tmp_path, people_file)
    result = runner.invoke(args=["import", "people", path])
    assert result.exit_code == 2 and "Missing option '--as'" in result.output
    unknown = runner.invoke(args=["import", "people", path, "--as", "nobody@example.org"])
    assert unknown.exit_code == 1 and "no active user with e-mail 'nobody@example.org'" in unknown.output
    auditor = runner.invoke(args=["import", "people", path, "--as", team.auditor.email])
    assert auditor.exit_code == 1 and "Only practitioners and managers may import" in auditor.output
    missing = runner.invoke(args=["import", "people", str(tmp_path / "nope.xlsx"), "--as", team.pc.email])
    assert missing.exit_code == 1 and "No such file" in missing.output
    assert _count(Person) == 0


def test_import_cases(runner, team, people_file, tmp_path):
    assert runner.invoke(args=["import", "people", _write(tmp_path, people_file), "--as", team.pc.email]).exit_code == 0
    cases = xlsx(CASES_HEADER, ["L-1", "victim_support", "Burglary victim", "2024-02-01", "open", "standard",
                                "notts_police", "P-001", "victim"],
                 ["L-2", "hate_crime", "Hate crime", "2024-03-01", None, None, "victim_services", "P-002", "victim"],
                 title="Cases")
    path = _write(tmp_path, cases, "cases.xlsx")
    result = runner.invoke(args=["import", "cases", path, "--as", team.pc.email])
    assert result.exit_code == 1
    assert ("row 3: refused L-2 - column G (lead_organisation): 'victim_services' is not your organisation: "
            "you import for 'notts_police' only") in result.output
    assert _count(Case) == 0
    fixed = _write(tmp_path, xlsx(CASES_HEADER, ["L-1", "victim_support", "Burglary victim", "2024-02-01", "open",
                                                 "standard", "notts_police", "P-001", "victim"]), "fixed.xlsx")
    ok = runner.invoke(args=["import", "cases", fixed, "--as", team.manager.email])
    assert ok.exit_code == 0, ok.output
    assert "row 2: created CB-" in ok.output and ": Amira HUSSAIN as victim" in ok.output
    assert runner.invoke(args=["import", "cases", fixed, "--as", team.pc.email]).exit_code == 0
    assert _count(Case) == 1


def test_import_template_command(runner, tmp_path):
    out = tmp_path / "people-template.xlsx"
    result = runner.invoke(args=["import-template", "people", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote the people import template to {out}"
    wb = load_workbook(out)
    first = wb.worksheets[0]
    assert [c.value for c in first[1]][:4] == PEOPLE_HEADER and first.max_row == 1
    assert wb.sheetnames == ["People", "Guidance"]
    cases_out = tmp_path / "cases.xlsx"
    assert runner.invoke(args=["import-template", "cases", "--out", str(cases_out)]).exit_code == 0
    assert [c.value for c in load_workbook(cases_out).worksheets[0][1]][:9] == CASES_HEADER
    bad = runner.invoke(args=["import-template", "widgets", "--out", str(out)])
    assert bad.exit_code == 2
