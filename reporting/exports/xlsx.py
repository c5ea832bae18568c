"""openpyxl write-only helpers: marked, typed, filterable sheets that stream in constant memory.

Every sheet has a cover row (row 1) carrying the protective marking and what the sheet holds, the field names
tools key on (row 2, hidden), a bold header row people read (row 3) that stays frozen, an autofilter over the
data, and the marking in the printed header and footer. Text that a spreadsheet would run as a formula is
neutralised.

Values in words, codes for tools: a column of codes (a status, an organisation, a case type) given
`Col(..., words=...)` is written as two adjacent columns. The first keeps the column's field name in row 2
(`status`) and holds the code, hidden, so tools that key on that field name still find codes; the second, the one
people see, holds the words under the field name with `_name` added (`status_name`; WORDS_SUFFIX) and the
column's header in row 3. `Col(..., hidden=True)` hides a code column whose words the export already has as a
column of their own under that `_name` field (the cases export's `case_type` beside `case_type_name`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import IO, Any, Callable, Iterable, Mapping, Sequence

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
WORDS_SUFFIX = "_name"   # field name of the words column beside a hidden code column: status -> status_name
Words = Mapping[Any, str] | Callable[[Any], Any]


@dataclass(frozen=True)
class Col:
    """One column of values: header (the snake_case field name tools key on), kind, width, the label people read
    (by default the field name in words); `words` (a mapping or function from code to words) writes the codes
    hidden and the words beside them; `hidden` hides the column."""

    header: str
    kind: str = "text"
    width: float | None = None
    label: str | None = None
    words: Words | None = field(default=None, compare=False)
    hidden: bool = False

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


def _in_words(words: Words) -> Callable[[Any], str | None]:
    """Code -> words as the cell holds them; a code the mapping lacks is shown as it is."""
    look_up = words.get if isinstance(words, Mapping) else None

    def convert(value: Any) -> str | None:
        if value is None:
            return None
        return safe_text(look_up(value, value) if look_up is not None else words(value))
    return convert


def _layout(columns: Sequence[Col]) -> list[tuple[Col, int, Callable[[Any], Any]]]:
    """The columns as written, each with the index of the value it shows and its converter: a column with words
    becomes its hidden code column and, beside it, the words column."""
    out = []
    for i, col in enumerate(columns):
        if col.words is None:
            out.append((col, i, CONVERTERS[col.kind]))
            continue
        code = Col(col.header, col.kind, label=f"{col.title} (code)", hidden=True)
        shown = Col(col.header + WORDS_SUFFIX, "text", col.width, col.title)
        out += [(code, i, CONVERTERS[col.kind]), (shown, i, _in_words(col.words))]
    return out


class Sheet:
    """A write-only sheet with a marked cover row and a frozen, filterable header row."""

    def __init__(self, book: Book, title: str, columns: Sequence[Col], caption: str):
        self.ws = book.wb.create_sheet(title[:31])
        layout = _layout(columns)
        self.columns = [col for col, _, _ in layout]   # as written (a column with words is two)
        self.rows = 0
        self._plan = [(convert, i) for _, i, convert in layout]
        self._direct = all(i == n for n, (_, i) in enumerate(self._plan))   # one written column per value
        self._written: dict[int, int] = {}   # value index -> the first column written from it
        for n, (_, i) in enumerate(self._plan):
            self._written.setdefault(i, n)
        ws = self.ws
        # Views, column widths, hidden columns and print settings precede the rows in the file: set them first.
        # Row 2 holds the field names tools key on (hidden); row 3 the headers people read; data from row 4.
        ws.freeze_panes = f"A{FIRST_DATA_ROW}"
        for i, col in enumerate(self.columns, 1):
            dimension = ws.column_dimensions[get_column_letter(i)]
            dimension.width = col.width or max(DEFAULT_WIDTHS[col.kind], len(col.title) + 3)
            if col.hidden:
                dimension.hidden = True
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

    def column(self, header: str) -> int:
        """The (1-based) number of the written column whose field name is `header`."""
        return next(n for n, col in enumerate(self.columns, 1) if col.header == header)

    def _percent(self, value: Any) -> Any:
        if value is None:
            return None
        cell = WriteOnlyCell(self.ws, value)
        cell.number_format = PERCENT_FORMAT
        return cell

    def _converted(self, values: Sequence[Any]) -> list[Any]:
        """A row's values as its written columns hold them."""
        if self._direct:
            return [f(v) for (f, _), v in zip(self._plan, values)]
        return [f(values[i]) for f, i in self._plan]

    def append(self, values: Sequence[Any], formats: dict[int, str] | None = None) -> None:
        """Write one data row, converting each value to its column's type (`formats`: value index -> number
        format)."""
        if not formats:
            self.extend([values])
            return
        converted = self._converted(values)
        for i, fmt in formats.items():
            n = self._written[i]
            if converted[n] is not None:
                cell = WriteOnlyCell(self.ws, converted[n])
                cell.number_format = fmt
                converted[n] = cell
        self.ws.append(converted)
        self.rows += 1

    def extend(self, rows: Iterable[Sequence[Any]], advance: Callable[[int], None] | None = None) -> int:
        """Write many rows, reporting progress every CHUNK rows; returns how many were written."""
        ws_append, convert = self.ws.append, self._converted
        # Dates and numbers go in as plain values (openpyxl types and formats them); only
        # percentages need a styled cell.
        percent = [c.kind == "percent" for c in self.columns]
        styled = any(percent)
        n = 0
        for values in rows:
            converted = convert(values)
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
