"""Server-side SVG bar charts."""
from __future__ import annotations

import lxml.etree

from reporting.charts import Series, bar_chart, describe

SVG = "{http://www.w3.org/2000/svg}"


def test_a_single_series_chart_is_accessible_svg():
    svg = bar_chart("c1", "Open cases", ["Police", "Council"], [Series("Open", (4, 2))])
    root = lxml.etree.fromstring(str(svg))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Open cases"
    assert root.find(f"{SVG}desc").text == "Police: 4; Council: 2"
    bars = root.findall(f"{SVG}rect")
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] == 2 * widths[1] > 0                       # bars are to scale
    assert [b.find(f"{SVG}title").text for b in bars] == ["Police · Open: 4", "Council · Open: 2"]


def test_grouped_series_have_a_legend_and_one_bar_per_value():
    svg = bar_chart("c2", "Work", ["A", "B"], [Series("Overdue", (1, 0)), Series("Due", (3, 2))])
    root = lxml.etree.fromstring(str(svg))
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 2 + 4                                   # two legend keys, four bars
    assert {t.text for t in root.findall(f"{SVG}text")} >= {"Overdue", "Due", "A", "B"}
    assert describe(["A", "B"], [Series("Overdue", (1, 0)), Series("Due", (3, 2))]) == \
        "A: overdue 1, due 3; B: overdue 0, due 2"


def test_labels_are_escaped_and_nothing_is_drawn_for_no_data():
    svg = str(bar_chart("c3", "T <b>", ["<script>alert(1)</script>"], [Series("N & M", (1,))]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "N &amp; M" in svg
    lxml.etree.fromstring(svg)                                   # still well-formed XML
    assert str(bar_chart("c4", "Empty", ["A"], [Series("N", (0,))])) == ""
    assert str(bar_chart("c5", "Empty", [], [])) == ""
