"""The sheet helpers: marking, frozen header, autofilter, widths, typed cells, formula neutralisation."""
from __future__ import annotations

from datetime import date, datetime, timezone
from io import BytesIO

import pytest
from openpyxl import load_workbook

from reporting.exports.xlsx import MARKING, Book, Col, local_datetime, safe_text


@pytest.mark.parametrize("raw, held", [
    ("=1+1", "'=1+1"), ("+44 115", "'+44 115"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=cmd", "'\t=cmd"), ("plain", "plain"), ("bell\x07", "bell"), ("\x00=x", "'=x"),
    ("a=b", "a=b"), ("", ""), (None, None),
])
def test_safe_text(raw, held):
    """Does formula-like text get a leading apostrophe, and other text stay as it is?"""
    assert safe_text(raw) == held


def test_local_datetime_is_uk_time_without_zone():
    """Are aware instants written as naive UK local time (BST in summer, GMT in winter)?"""
    assert local_datetime(datetime(2026, 7, 1, 11, 0, tzinfo=timezone.utc)) == datetime(2026, 7, 1, 12, 0)
    assert local_datetime(datetime(2026, 1, 1, 11, 0, tzinfo=timezone.utc)) == datetime(2026, 1, 1, 11, 0)


def _book() -> bytes:
    book = Book("Test export", "exported by tester")
    sheet = book.sheet("Data", [Col("name", width=30), Col("count", "int"), Col("ratio", "percent"),
                                Col("born", "date"), Col("at", "datetime"), Col("flag", "bool")], "Some rows")
    sheet.append(["=HYPERLINK(\"http://x\")", 3, 0.25, date(1990, 5, 6),
                  datetime(2026, 2, 1, 9, 30, tzinfo=timezone.utc), True])
    sheet.append(["@evil", "7", None, None, None, None])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_sheet_layout_and_marking():
    """Cover row with the marking, bold frozen header, autofilter, widths, marked header/footer?"""
    ws = load_workbook(BytesIO(_book()))["Data"]
    assert ws["A1"].value.startswith(MARKING) and "Some rows" in ws["A1"].value
    assert [c.value for c in ws[2]] == ["name", "count", "ratio", "born", "at", "flag"]   # what tools key on
    assert ws.row_dimensions[2].hidden
    assert [c.value for c in ws[3]] == ["Name", "Count", "Ratio", "Born", "At", "Flag"]   # what people read
    assert ws["A3"].font.b
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref == "A3:F5"
    assert ws.column_dimensions["A"].width == 30
    assert ws.column_dimensions["E"].width >= 17
    assert ws.oddHeader.center.text == MARKING
    assert ws.oddFooter.center.text == MARKING
    assert ws.print_title_rows == "$1:$3"


def test_cells_are_typed_and_formulas_neutralised():
    """Numbers as numbers, dates as dates, percentages formatted, formula text held as text?"""
    ws = load_workbook(BytesIO(_book()))["Data"]
    name, count, ratio, born, at, flag = ws[4]
    assert name.data_type == "s" and name.value == "'=HYPERLINK(\"http://x\")"
    assert count.data_type == "n" and count.value == 3
    assert ratio.value == 0.25 and ratio.number_format == "0.0%"
    assert born.is_date and born.value == datetime(1990, 5, 6)
    assert at.is_date and at.value == datetime(2026, 2, 1, 9, 30)
    assert flag.data_type == "b" and flag.value is True
    assert ws["A5"].value == "'@evil" and ws["B5"].value == 7
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_empty_book_is_still_a_valid_marked_workbook():
    """Does a book with no sheets save as one marked sheet?"""
    out = BytesIO()
    Book("Nothing", "line").save(out)
    wb = load_workbook(BytesIO(out.getvalue()))
    assert wb.active["A1"].value.startswith(MARKING)
    assert wb.properties.category == MARKING


def test_words_columns_keep_codes_hidden_beside_them():
    """A column with words writes the code (hidden, its field name kept) and the words after it (`_name`)."""
    book = Book("Test export", "exported by tester")
    sheet = book.sheet("Data", [Col("org", width=30, words={"city_homes": "City Homes"}),
                                Col("status", words=lambda code: code.replace("_", " ").capitalize()),
                                Col("code", hidden=True), Col("ratio", "percent")], "Words")
    sheet.append(["city_homes", "not_assessed", "x", 0.5], {3: "0.00%"})
    sheet.extend([["unknown_org", None, None, None], ["=evil", "=evil", None, None]])
    out = BytesIO()
    book.save(out)
    ws = load_workbook(BytesIO(out.getvalue()))["Data"]
    assert [c.value for c in ws[2]] == ["org", "org_name", "status", "status_name", "code", "ratio"]
    assert [c.value for c in ws[3]] == ["Org (code)", "Org", "Status (code)", "Status", "Code", "Ratio"]
    assert [c.value for c in ws[4]] == ["city_homes", "City Homes", "not_assessed", "Not assessed", "x", 0.5]
    assert ws["F4"].number_format == "0.00%"
    # A code the mapping lacks is shown as it is; none stays empty; formula text is neutralised in both.
    assert [c.value for c in ws[5]][:4] == ["unknown_org", "unknown_org", None, None]
    assert [c.value for c in ws[6]][:4] == ["'=evil", "'=evil", "'=evil", "'=evil"]
    hidden = {letter for letter, dim in ws.column_dimensions.items() if dim.hidden}
    assert hidden == {"A", "C", "E"}
    assert ws.column_dimensions["B"].width == 30 and ws.auto_filter.ref == "A3:F6"
