"""openpyxl write-only helpers: marked, typed, filterable sheets that stream in constant memory.

Every sheet has a cover row (row 1) carrying the protective marking and what the sheet holds, the field names
tools key on (row 2, hidden), a bold header row people read (row 3) that stays frozen, an autofilter over the
data, and the marking in the
printed header and footer. Text that a spreadsheet would run as a formula is neutralised.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import IO, Any, Callable, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reporting.exports.filters import LOCAL

MARKING = "OFFICIAL-SENSITIVE"
# =, +, - and @ start formulas in Excel and LibreOffice; tab and CR do in some importers (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PERCENT_FORMAT = "0.0%"
DEFAULT_WIDTHS = {"text": 18, "int": 10, "number": 12, "percent": 10, "date": 12, "datetime": 17, "bool": 9}
CHUNK = 1000  # rows fetched per round trip and between progress reports


def safe_text(value: Any) -> str | None:
    """Text as the cell will hold it: formula-like text gets a leading apostrophe; characters XML
    cannot carry (which would abort the whole export) are dropped."""
    if value is None:
        return None
    text = ILLEGAL_CHARACTERS_RE.sub("", value.value if isinstance(value, Enum) else str(value))
    if text and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def local_datetime(value: datetime | None) -> datetime | None:
    """An aware instant as naive UK local time (Excel has no time zones)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value
    return value.astimezone(LOCAL).replace(tzinfo=None)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return local_datetime(value).date()
    return value


def _as_number(value: Any) -> int | float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    return float(value)  # Decimal from numeric columns, numeric text


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _as_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": safe_text, "int": _as_int, "number": _as_number, "percent": _as_number,
    "date": _as_date, "datetime": local_datetime, "bool": _as_bool,
}


CODES_ROW, HEADER_ROW, FIRST_DATA_ROW = 2, 3, 4   # row 1: the marking and caption


@dataclass(frozen=True)
class Col:
    """One output column: header (the snake_case field name tools key on), kind, width, and the label people
    read (by default the field name in words)."""

    header: str
    kind: str = "text"
    width: float | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CONVERTERS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    @property
    def title(self) -> str:
        """The header people read: "case_reference" → "Case reference", "due_at" → "Due"."""
        if self.label:
            return self.label
        words = self.header.removesuffix("_at").removesuffix("_on").replace("_", " ").strip()
        return (words[:1].upper() + words[1:]) if words else self.header


class Sheet:
    """A write-only sheet with a marked cover row and a frozen, filterable header row."""

    def __init__(self, book: Book, title: str, columns: Sequence[Col], caption: str):
        self.ws = book.wb.create_sheet(title[:31])
        self.columns = list(columns)
        self.rows = 0
        self._convert = [CONVERTERS[c.kind] for c in self.columns]
        ws = self.ws
        # Views, column widths and print settings precede the rows in the file: set them first. Row 2 holds the
        # field names tools key on (hidden); row 3 the headers people read; data from row 4.
        ws.freeze_panes = f"A{FIRST_DATA_ROW}"
        for i, col in enumerate(self.columns, 1):
            width = col.width or max(DEFAULT_WIDTHS[col.kind], len(col.title) + 3)
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.row_dimensions[CODES_ROW].hidden = True
        ws.print_title_rows = f"1:{HEADER_ROW}"
        ws.page_setup.orientation = "landscape"
        ws.oddHeader.center.text = MARKING
        ws.oddHeader.right.text = book.title
        ws.oddFooter.center.text = MARKING
        ws.oddFooter.right.text = "Page &P of &N"
        cover = WriteOnlyCell(ws, f"{MARKING} | {caption} | {book.line}")
        cover.font = Font(bold=True, color="C00000")
        ws.append([cover])
        codes = []
        for col in self.columns:
            cell = WriteOnlyCell(ws, col.header)
            cell.font = Font(color="808080", size=8)
            codes.append(cell)
        ws.append(codes)
        header = []
        for col in self.columns:
            cell = WriteOnlyCell(ws, col.title)
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="D9E1F2")
            cell.alignment = Alignment(vertical="top")
            header.append(cell)
        ws.append(header)

    def _percent(self, value: Any) -> Any:
        if value is None:
            return None
        cell = WriteOnlyCell(self.ws, value)
        cell.number_format = PERCENT_FORMAT
        return cell

    def append(self, values: Sequence[Any], formats: dict[int, str] | None = None) -> None:
        """Write one data row, converting each value to its column's type (`formats`: index -> number format)."""
        if not formats:
            self.extend([values])
            return
        converted: list[Any] = [f(v) for f, v in zip(self._convert, values)]
        for i, fmt in formats.items():
            if converted[i] is not None:
                cell = WriteOnlyCell(self.ws, converted[i])
                cell.number_format = fmt
                converted[i] = cell
        self.ws.append(converted)
        self.rows += 1

    def extend(self, rows: Iterable[Sequence[Any]], advance: Callable[[int], None] | None = None) -> int:
        """Write many rows, reporting progress every CHUNK rows; returns how many were written."""
        ws_append, convert = self.ws.append, self._convert
        # Dates and numbers go in as plain values (openpyxl types and formats them); only
        # percentages need a styled cell.
        percent = [c.kind == "percent" for c in self.columns]
        styled = any(percent)
        n = 0
        for values in rows:
            converted = [f(v) for f, v in zip(convert, values)]
            if styled:
                converted = [self._percent(v) if p else v for p, v in zip(percent, converted)]
            ws_append(converted)
            n += 1
            if advance is not None and n % CHUNK == 0:
                advance(CHUNK)
        if advance is not None and n % CHUNK:
            advance(n % CHUNK)
        self.rows += n
        return n

    def finish(self) -> None:
        """Set the autofilter over header and data (written after the rows in the file)."""
        last_col = get_column_letter(max(len(self.columns), 1))
        self.ws.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{self.rows + HEADER_ROW}"


class Book:
    """A write-only workbook whose sheets all carry the marking."""

    def __init__(self, title: str, line: str):
        self.wb = Workbook(write_only=True)
        self.title = title
        self.line = line
        self.sheets: list[Sheet] = []
        props = self.wb.properties
        props.title = f"{title} ({MARKING})"
        props.creator = "Casebook"
        props.category = MARKING
        props.keywords = MARKING

    def sheet(self, title: str, columns: Sequence[Col], caption: str | None = None) -> Sheet:
        """Add a sheet with its cover row and header row written."""
        sheet = Sheet(self, title, columns, caption or title)
        self.sheets.append(sheet)
        return sheet

    def save(self, out: str | IO[bytes]) -> None:
        """Finish every sheet and write the file (a path or a binary file object)."""
        if not self.sheets:
            self.sheet("Empty", [Col("note")], "nothing to export")
        for sheet in self.sheets:
            sheet.finish()
        self.wb.save(out)
