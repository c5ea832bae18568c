"""`flask export NAME --out FILE --as EMAIL [filters]`."""
from __future__ import annotations

from sqlalchemy import func, select

from models import AuditEvent, db
from tests.fixtures.exports import open_xlsx, table


def test_export_writes_workbook_and_audits(world, runner, tmp_path):
    """Does the command write the visible rows, report them, and audit the export?"""
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "cases.xlsx"
    result = runner.invoke(args=["export", "cases", "--out", str(out), "--as", "PC@police.example.org",
                                 "--from", "2026-01-01", "--to", "2026-12-31"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{out}: 1 rows (Cases)"
    rows = table(open_xlsx(str(out))["Cases"])[1]
    assert [r["reference"] for r in rows] == [world.cases["police"].reference]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.user_email == "pc@police.example.org"
    assert event.detail_dict["filters"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert event.detail_dict["rows"] == 1
    assert list(folder.iterdir()) == [out]  # no temporary file left beside it


def test_refuses_without_as(world, runner, tmp_path):
    """Without --as: a one-line refusal, a non-zero exit, no file and no audit."""
    out = tmp_path / "cases.xlsx"
    result = runner.invoke(args=["export", "cases", "--out", str(out)])
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1 and "--as" in result.output
    assert not out.exists()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")) == 0


def test_refusals(world, runner, tmp_path):
    """Unknown export, unknown user, a role that may not run it, a bad filter: exit 1, nothing written."""
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "x.xlsx"
    cases = [
        (["export", "nope", "--out", str(out), "--as", "pc@police.example.org"], "no export called 'nope'"),
        (["export", "cases", "--out", str(out), "--as", "ghost@example.org"], "no active user"),
        (["export", "audit", "--out", str(out), "--as", "pc@police.example.org"], "may not run the audit export"),
        (["export", "cases", "--out", str(out), "--as", "pc@police.example.org", "--from", "31/02/2026"],
         "bad filter from"),
        (["export", "cases", "--out", str(out), "--as", "pc@police.example.org", "--organisation", "nobody"],
         "no organisation with code 'nobody'"),
        (["export", "cases", "--out", str(tmp_path / "missing" / "x.xlsx"), "--as", "pc@police.example.org"],
         "folder does not exist"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
    assert list(folder.iterdir()) == []


def test_progress_bar_on_stderr_for_large_exports(world, app, runner, tmp_path):
    """Past the row threshold a progress bar goes to stderr, keeping stdout for the summary line."""
    app.config["EXPORT_PROGRESS_MIN_ROWS"] = 2
    out = tmp_path / "work.xlsx"
    result = runner.invoke(args=["export", "work_items", "--out", str(out), "--as", "manager@police.example.org",
                                 "--organisation", "notts_police", "--case-type", "victim_support"])
    assert result.exit_code == 0, result.output
    assert "work_items" in result.stderr
    assert result.stdout.strip() == f"{out}: 2 rows (Work items)"
    assert [r["step"] for r in table(open_xlsx(str(out))["Work items"])[1]] == ["Record the crime", "Future step"]


def test_performance_report_with_baseline_options(world, runner, tmp_path):
    out = tmp_path / "perf.xlsx"
    result = runner.invoke(args=["export", "performance_report", "--out", str(out), "--as",
                                 "manager@vs.example.org", "--from", "2026-01-01", "--to", "2026-06-30",
                                 "--baseline-from", "2025-01-01", "--baseline-to", "2025-06-30"])
    assert result.exit_code == 0, result.output
    summary = open_xlsx(str(out))["Summary"]
    assert "against baseline 2025-01-01 to 2025-06-30" in summary["A1"].value
