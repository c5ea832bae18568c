"""The 6-monthly performance report: periods, headline figures, area sheets, charts."""
from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest

from models import db
from reporting import exports
from reporting.exports.filters import Filters
from reporting.exports.performance import add_months, periods
from tests.fixtures.exports import cells, open_xlsx, table


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 8, 31), -6, date(2026, 2, 28)), (date(2026, 1, 15), -12, date(2025, 1, 15)),
    (date(2024, 2, 29), -12, date(2023, 2, 28)), (date(2026, 11, 30), 3, date(2027, 2, 28)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_default_period_and_baseline():
    """Six months up to today, against the same dates a year earlier; both configurable."""
    p = periods(Filters(), today=date(2026, 6, 30))
    assert (p.start, p.end, p.base_start, p.base_end) == (date(2026, 1, 1), date(2026, 6, 30),
                                                          date(2025, 1, 1), date(2025, 6, 30))
    p = periods(Filters(date_from=date(2026, 1, 1), date_to=date(2026, 6, 30), baseline_from=date(2025, 7, 1)))
    # A baseline given only by its first day runs for as many days as the period.
    assert (p.base_start, p.base_end) == (date(2025, 7, 1), date(2025, 7, 1) + (date(2026, 6, 30) - date(2026, 1, 1)))


def report(user, **raw):
    out = BytesIO()
    result = exports.run("performance_report", user, exports.parse_filters(raw), out)
    db.session.commit()
    return open_xlsx(out.getvalue()), result


def test_report_summary_against_baseline(world):
    """Headline figures for Jan-Jun 2026 against Jan-Jun 2025, as the police manager sees them."""
    wb, result = report(world.users["police_manager"], **{"from": "2026-01-01", "to": "2026-06-30"})
    assert wb.sheetnames == ["Summary", "Cases", "Work", "Victims Code", "Referrals", "Restorative justice",
                             "Panel actions"]
    summary = wb["Summary"]
    assert "2026-01-01 to 2026-06-30" in summary["A1"].value and "2025-01-01 to 2025-06-30" in summary["A1"].value
    figures = {r["measure"]: r for r in table(summary)[1]}
    assert figures["Cases opened"]["period"] == 1 and figures["Cases opened"]["baseline"] == 0
    assert figures["Work items due"]["period"] == 3
    assert figures["Work items late or overdue"]["period"] == 2
    assert figures["Victims' Code rights due"]["period"] == 4
    assert figures["Victims' Code rights missed or late"]["period"] == 3
    assert figures["Victims' Code rights met on time"]["period"] == 0.25
    assert figures["Referrals with a support plan"]["period"] == 1
    assert figures["Panel actions due"]["period"] == 2 and figures["Panel actions done"]["period"] == 1
    assert figures["Work done on time"]["period"] == pytest.approx(1 / 3)
    rate = next(r for r in cells(summary) if r["measure"].value == "Work done on time")
    assert rate["period"].number_format == "0.0%"
    assert all(isinstance(r["period"], (int, float)) for r in figures.values())
    counts_chart, rates_chart = summary._charts
    assert [s.tx.v for s in counts_chart.series] == ["period", "baseline"]
    assert counts_chart.series[0].val.numRef.f == "'Summary'!$B$4:$B$15"
    assert rates_chart.series[0].val.numRef.f == "'Summary'!$B$16:$B$17"
    assert result.rows == sum(wb[s].max_row - 3 for s in wb.sheetnames)


def test_report_baseline_restricted_case_only_for_named_user(world):
    """The 2025 restricted case counts in the baseline for the practitioner named on it, not their manager."""
    raw = {"from": "2026-01-01", "to": "2026-06-30"}
    wb, _ = report(world.users["police_manager"], **raw)
    cases = {r["case_type"]: r for r in table(wb["Cases"])[1]}
    assert "domestic_abuse" not in cases
    assert cases["victim_support"]["opened_period"] == 1 and cases["victim_support"]["opened_baseline"] == 0
    assert len(wb["Cases"]._charts) == 1
    work = {r["organisation"]: r for r in table(wb["Work"])[1]}
    assert work["notts_police"]["due_period"] == 1 and work["victim_services"]["late_or_overdue_period"] == 2


def test_report_for_vs_manager_with_filters(world):
    """Organisation and case-type filters apply to every area."""
    wb, _ = report(world.users["vs_manager"], **{"from": "2026-01-01", "to": "2026-06-30",
                                                 "case_type": "restorative_justice"})
    figures = {r["measure"]: r["period"] for r in table(wb["Summary"])[1]}
    assert figures["Cases opened"] == 1 and figures["Cases closed"] == 1
    assert figures["RJ conferences and agreements"] == 1 and figures["Work items due"] == 0
    assert table(wb["Restorative justice"])[1] == [{"outcome": "direct_conference", "outcome_name": "Direct conference",
                                                   "count_period": 1, "count_baseline": 0}]


def test_report_with_nothing_in_range_is_valid(world):
    """A period with no data still gives every sheet, zero headline figures and no broken charts."""
    wb, _ = report(world.users["police_manager"], **{"from": "2030-01-01", "to": "2030-06-30"})
    figures = table(wb["Summary"])[1]
    assert figures and all(r["period"] in (0, None) for r in figures)
    assert all(wb[s].max_row == 3 for s in wb.sheetnames[1:])


def test_practitioners_may_not_run_it(world):
    with pytest.raises(exports.ExportNotPermitted):
        exports.run("performance_report", world.users["pc"], Filters(), BytesIO())
