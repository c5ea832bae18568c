"""Working days: weekends and England and Wales bank holidays, from data."""
from __future__ import annotations

import json

import pytest

from casework import calendar


@pytest.mark.parametrize("start, days, expected", [
    ("2026-11-26", 2, "2026-11-30T17:00:00+00:00"),          # Thursday + 2 = Monday
    ("2026-11-27", 1, "2026-11-30T17:00:00+00:00"),          # Friday + 1 = Monday
    ("2026-12-24", 1, "2026-12-29T17:00:00+00:00"),          # Christmas, weekend, Boxing Day substitute
    ("2026-08-28", 1, "2026-09-01T16:00:00+00:00"),          # summer bank holiday; 17:00 BST
    ("2026-04-02", 1, "2026-04-07T16:00:00+00:00"),          # Good Friday and Easter Monday
    ("2026-06-30T23:30:00+00:00", 1, "2026-07-02T16:00:00+00:00"),  # already 1 July in London
    ("2026-11-30", 0, "2026-11-30T17:00:00+00:00"),
    ("2026-11-30", -1, "2026-11-27T17:00:00+00:00"),
])
def test_add_working_days(start, days, expected):
    assert calendar.add_working_days(start, days) == expected


def test_calendar_file_can_be_overridden(tmp_path, monkeypatch):
    custom = tmp_path / "cal.json"
    custom.write_text(json.dumps({"timezone": "Europe/London", "end_of_day": "23:59", "weekend": [6],
                                  "bank_holidays": ["2026-11-27"]}))
    monkeypatch.setenv("WORKING_CALENDAR_FILE", str(custom))
    calendar.load.cache_clear()
    try:
        # Friday 27th is a holiday here, Saturday works, Sunday does not.
        assert calendar.add_working_days("2026-11-26", 2) == "2026-11-30T23:59:00+00:00"
    finally:
        monkeypatch.delenv("WORKING_CALENDAR_FILE")
        calendar.load.cache_clear()
