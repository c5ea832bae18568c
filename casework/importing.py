"""Importing legacy spreadsheets (DESIGN.md C9): people and cases from .xlsx workbooks.

Column mapping, a row-by-row report (created / updated / unchanged / refused, and why), all or nothing,
idempotent on `external_reference` within the importing user's organisation, duplicate-person warnings.

The service flushes and never commits. Every edge does the same three steps:

    report = importing.run(user, "people", data, filename=..., dry_run=...)
    if not report.keep:
        db.session.rollback()        # a dry run, a refused row or a bad file: nothing is written
    importing.record(user, report)   # the attempt is audited either way
    db.session.commit()

A dry run goes through exactly the same code as a real import and is then rolled back, so what it
reports (including duplicates between rows of the same file) is what the import would do.

An imported case keeps its legacy reference in `Case.external_reference` (unique per lead
organisation), and re-imports find the case by it among the cases the importing organisation leads.
"""
from __future__ import annotations

import json
import re
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timezone
from io import BytesIO
from typing import Any, Callable

from flask import current_app, has_app_context
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

import access
from casework import cases as case_service
from casework import matching
from casework import people as people_service
from casework import validate
from casework.errors import CasebookError, InvalidInput, NotPermitted
from models import Case, CaseType, Organisation, Person, User, audit, db
from models.base import TEXT_MAX
from models.enums import CaseStatus, ParticipantRole, RiskLevel

KINDS = ("people", "cases")
OUTCOMES = ("created", "updated", "unchanged", "refused")
DEFAULT_MAX_ROWS = 10_000
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024   # 10,000 rows of a template take a few MB
MAX_RATIO = 200          # uncompressed / compressed per part: spreadsheets compress 5-20 times, bombs thousands
MAX_COLUMNS = 100        # columns read per row (the templates have under 20); a cell in column XFD pads no further
BLANK_ROWS_ALLOWED = 10_000   # blank rows read besides the data rows, before the file is refused
HEADER_SCAN_ROWS = 10
_DAMAGED = ("the workbook could not be read ({}); it may be damaged: open it in Excel or LibreOffice and "
            "save it again as .xlsx")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}


@dataclass(frozen=True)
class Column:
    """One template column: its name (the header), the kind of value, whether it is required, guidance."""

    name: str
    kind: str  # text | date | bool
    required: bool
    help: str


PEOPLE_COLUMNS = (
    Column("external_reference", "text", True, "Your legacy system's unique reference for the person "
           "(at most 64 characters). Importing again with the same reference updates that person."),
    Column("given_name", "text", True, "Given (first) name."),
    Column("family_name", "text", True, "Family name (surname)."),
    Column("date_of_birth", "date", True, "A date cell, or text as YYYY-MM-DD. Not in the future."),
    Column("dob_estimated", "bool", False, "yes if the date of birth is an estimate; blank or no otherwise."),
    Column("sex", "text", False, "As recorded (at most 32 characters)."),
    Column("preferred_language", "text", False, "For example English, Polish, Urdu."),
    Column("interpreter_required", "bool", False, "yes or no."),
    Column("email", "text", False, "E-mail address."),
    Column("phone", "text", False, "Phone number; format the column as text to keep a leading 0."),
    Column("address", "text", False, "Postal address."),
    Column("safe_contact", "text", False, "How and when it is safe to make contact."),
)

CASES_COLUMNS = (
    Column("external_reference", "text", True, "Your legacy system's reference for the case. Several rows "
           "with the same reference put several people on one case; their case columns must agree."),
    Column("case_type", "text", True, "A case type code (victim_support, domestic_abuse, asb, ...) "
           "or its name."),
    Column("title", "text", True, "Short title of the case."),
    Column("opened_on", "date", True, "A date cell, or text as YYYY-MM-DD."),
    Column("status", "text", False, "open or closed (blank: open, or closed when closed_on is given)."),
    Column("risk_level", "text", False, "not_assessed, standard, medium or high (blank: not_assessed)."),
    Column("lead_organisation", "text", True, "Your organisation's code: records are imported for "
           "your own organisation only."),
    Column("person_reference", "text", True, "The external_reference of a person your organisation has "
           "registered or imported (import people first)."),
    Column("role", "text", True, "victim, offender, witness, vulnerable_person, family_member or other."),
    Column("closed_on", "date", False, "Required when status is closed; a date cell or YYYY-MM-DD."),
    Column("summary", "text", False, "Free text for the case summary."),
    Column("partner_organisations", "text", False, "Codes of other organisations working on the case, "
           "separated by commas."),
)

COLUMNS = {"people": PEOPLE_COLUMNS, "cases": CASES_COLUMNS}
_CASE_LEVEL = ("case_type", "title", "opened_on", "status", "risk_level", "lead_organisation", "closed_on",
               "summary", "partner_organisations")


class ImportFileError(CasebookError):
    """The file as a whole cannot be imported (unreadable, wrong sheet, missing columns, too many rows)."""


@dataclass
class RowResult:
    """What happened (or would happen) to one spreadsheet row."""

    row: int
    outcome: str
    reference: str | None = None
    label: str = ""
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """The row-by-row outcome of an import or dry run."""

    kind: str
    filename: str
    dry_run: bool
    mapping: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    header_row: int | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per outcome."""
        out = dict.fromkeys(OUTCOMES, 0)
        for r in self.rows:
            out[r.outcome] += 1
        return out

    @property
    def ok(self) -> bool:
        """Every row valid and the file readable (the CLI exits 0)."""
        return not self.errors and not any(r.outcome == "refused" for r in self.rows)

    @property
    def keep(self) -> bool:
        """Should the edge commit what was flushed?"""
        return self.ok and not self.dry_run

    def summary(self) -> str:
        """One line: counts and whether anything was written."""
        if self.errors:
            return f"{self.kind}: the file was refused; nothing was written."
        c = self.counts
        counts = ", ".join(f"{c[o]} {o}" for o in OUTCOMES)
        if self.dry_run:
            tail = "dry run: nothing was written." if self.ok else \
                "dry run: nothing was written; fix the refused rows before importing."
        else:
            tail = "imported." if self.ok else "nothing was written because some rows were refused."
        return f"{self.kind}: {len(self.rows)} rows ({counts}); {tail}"

    def to_json(self) -> str:
        """The report as JSON (an import job keeps it for the page that shows it)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ImportReport:
        """A report kept by `to_json`."""
        data = json.loads(text)
        data["rows"] = [RowResult(**r) for r in data.get("rows", [])]
        return cls(**data)

    def lines(self) -> list[str]:
        """The report as text, one line per row (then warnings, then the summary)."""
        out = [f"error: {e}" for e in self.errors]
        for r in self.rows:
            what = r.label or r.reference or ""
            text = f"row {r.row}: {r.outcome}" + (f" {what}" if what else "")
            if r.messages:
                text += " - " + "; ".join(r.messages)
            out.append(text)
            out.extend(f"row {r.row}: warning: {w}" for w in r.warnings)
        out.extend(f"warning: {w}" for w in self.warnings)
        out.append(self.summary())
        return out


# ---------------------------------------------------------------- templates

def template(kind: str) -> Workbook:
    """The template workbook: sheet 1 holds only the header row; guidance is on sheet 2.

    :raise InvalidInput: for an unknown kind
    """
    columns = _columns(kind)
    wb = Workbook()
    ws = wb.active
    ws.title = kind.capitalize()
    ws.append([c.name for c in columns])
    for i, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True, color="FFFFFF" if col.required else "000000")
        cell.fill = PatternFill("solid", fgColor="1F4E78" if col.required else "DDEBF7")
        ws.column_dimensions[get_column_letter(i)].width = max(14, len(col.name) + 4)
    ws.freeze_panes = "A2"
    for name, values in _choices(kind).items():
        letter = get_column_letter([c.name for c in columns].index(name) + 1)
        dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        dv.add(f"{letter}2:{letter}{DEFAULT_MAX_ROWS + 1}")
        ws.add_data_validation(dv)
    guide = wb.create_sheet("Guidance")
    guide.append(["column", "required", "what to enter"])
    for col in columns:
        guide.append([col.name, "required" if col.required else "optional", col.help])
    guide.append([])
    guide.append(["Fill in the first sheet from row 2, one row per "
                  + ("person." if kind == "people" else "person on a case.")])
    guide.append(["Blank rows are skipped. Formulas are refused: paste values only."])
    guide.append(["Importing the same file again changes nothing; changed values update the records."])
    guide.append(["Blank optional cells leave what is already recorded as it is."])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    guide.column_dimensions["A"].width = 24
    guide.column_dimensions["B"].width = 10
    guide.column_dimensions["C"].width = 100
    for row in guide.iter_rows(min_row=2):
        row[-1].alignment = Alignment(wrap_text=True, vertical="top")
    return wb


def template_bytes(kind: str) -> bytes:
    """The template workbook as .xlsx bytes."""
    out = BytesIO()
    template(kind).save(out)
    return out.getvalue()


def _choices(kind: str) -> dict[str, list[str]]:
    if kind == "people":
        return {"dob_estimated": ["yes", "no"], "interpreter_required": ["yes", "no"]}
    return {"status": [s.value for s in CaseStatus], "risk_level": [r.value for r in RiskLevel],
            "role": [r.value for r in ParticipantRole]}


def _columns(kind: str) -> tuple[Column, ...]:
    if kind not in COLUMNS:
        raise InvalidInput({"kind": f"{kind!r} is not one of: {', '.join(KINDS)}"})
    return COLUMNS[kind]


# ---------------------------------------------------------------- reading

@dataclass
class _Cell:
    value: Any
    data_type: str
    letter: str


@dataclass
class _Row:
    number: int
    cells: dict[str, _Cell]


def _norm(value: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower()) if value is not None else ""


def parse_mapping(pairs: list[str] | tuple[str, ...] | str | None) -> dict[str, str]:
    """`TEMPLATE_COLUMN=File header` pairs (a list, or text with one pair per line) as a dict.

    :raise InvalidInput: on a pair without `=`
    """
    if isinstance(pairs, str):
        pairs = [line for line in pairs.splitlines() if line.strip()]
    out: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, header = pair.partition("=")
        if not sep or not column.strip() or not header.strip():
            raise InvalidInput({"mapping": f"{pair.strip()!r} is not TEMPLATE_COLUMN=File header"})
        out[column.strip()] = header.strip()
    return out


def _check_container(data: bytes) -> None:
    """Refuse what openpyxl should never be asked to parse: not a zip, not a workbook, a zip bomb."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError("this is an old .xls file or a password-protected workbook; "
                              "save it as an unprotected Excel workbook (.xlsx) and try again")
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = set(archive.namelist())
            total = sum(info.file_size for info in archive.infolist())
            bomb = any(info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1)
                       for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportFileError("the file is not an Excel workbook (.xlsx); it may be damaged, or a CSV or "
                              "another format saved with an .xlsx name") from None
    if "xl/workbook.xml" not in names:
        raise ImportFileError("the file is a zip archive but not an Excel workbook (.xlsx)")
    if total > MAX_UNCOMPRESSED_BYTES or bomb:
        raise ImportFileError("the workbook is too large once uncompressed; split it into smaller files")


def _open(data: bytes):
    _check_container(data)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (extensions, styles); none matter for values.
            warnings.simplefilter("ignore")
            return load_workbook(BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged parts
        raise ImportFileError(_DAMAGED.format(type(exc).__name__)) from None


def _read(data: bytes, kind: str, mapping: dict[str, str], sheet: str | None, max_rows: int,
          report: ImportReport) -> list[_Row]:
    """Rows of the chosen sheet as template-column cells.

    :raise ImportFileError: naming what is wrong with the file as a whole
    """
    columns = _columns(kind)
    known = {c.name for c in columns}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ImportFileError(f"the column mapping names {', '.join(map(repr, unknown))}, which "
                              f"{'is not a template column' if len(unknown) == 1 else 'are not template columns'}"
                              f"; the {kind} template columns are: {', '.join(c.name for c in columns)}")
    wanted = {c.name: _norm(mapping.get(c.name, c.name)) for c in columns}
    clash = [h for h in set(wanted.values()) if list(wanted.values()).count(h) > 1]
    if clash:
        raise ImportFileError(f"the column mapping uses the file header {clash[0]!r} for more than one column")
    wb = _open(data)
    try:
        sheets = [ws.title for ws in wb.worksheets]
        if not sheets:
            raise ImportFileError("the workbook has no worksheets")
        if sheet:
            if sheet not in sheets:
                raise ImportFileError(f"the workbook has no sheet named {sheet!r}; its sheets are: "
                                      + ", ".join(map(repr, sheets)))
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        report.sheet = ws.title
        ws.reset_dimensions()  # some writers record wrong dimensions; read every cell that exists
        try:
            return _rows(ws, columns, wanted, sheets, max_rows, report)
        except ImportFileError:
            raise
        except Exception as exc:  # damage inside the sheet only shows while reading its rows
            raise ImportFileError(_DAMAGED.format(type(exc).__name__)) from None
    finally:
        wb.close()


def _rows(ws, columns, wanted, sheets, max_rows, report) -> list[_Row]:
    header_at: dict[str, int] | None = None
    first_seen: list[str] | None = None
    out: list[_Row] = []
    most = max_rows + HEADER_SCAN_ROWS + BLANK_ROWS_ALLOWED
    for number, cells in enumerate(ws.iter_rows(max_col=MAX_COLUMNS), start=1):
        if number > most:
            # Blank rows cost reading too: a few bytes of XML can stand for a million of them.
            raise ImportFileError(f"sheet {ws.title!r} has more than {most} rows counting blank ones; delete the "
                                  "blank rows below the data, or split it into smaller files")
        values = [c.value for c in cells]
        if header_at is None:
            if number > HEADER_SCAN_ROWS:
                break
            normalised = [_norm(v) for v in values]
            if first_seen is None and any(normalised):
                first_seen = [str(v).strip() for v in values if v is not None and str(v).strip()]
            header_at = _header(normalised, columns, wanted, number, report)
            if header_at is not None:
                report.header_row = number
            continue
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        if len(out) >= max_rows:
            raise ImportFileError(f"sheet {ws.title!r} has more than {max_rows} data rows (the limit); "
                                  "split it into smaller files")
        row = {}
        for name, index in header_at.items():
            cell = cells[index] if index < len(cells) else None
            row[name] = _Cell(None if cell is None else cell.value,
                              "n" if cell is None else cell.data_type, get_column_letter(index + 1))
        out.append(_Row(number, row))
    if header_at is None:
        required = [c.name for c in columns if c.required]
        shown = [wanted[n] for n in required]
        raise ImportFileError(
            f"sheet {ws.title!r} does not have the required columns {', '.join(shown)} in row 1"
            + (f" (it has: {', '.join(first_seen[:20])})" if first_seen else " (the sheet is empty)")
            + ". Use the template, or map your headers to the template columns"
            + (f"; the workbook's sheets are: {', '.join(map(repr, sheets))}" if len(sheets) > 1 else ""))
    return out


def _header(normalised: list[str], columns, wanted, number: int, report: ImportReport) -> dict[str, int] | None:
    """Template column -> 0-based index, if this row holds every required header."""
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(normalised):
        if h:
            positions.setdefault(h, []).append(i)
    if any(wanted[c.name] not in positions for c in columns if c.required):
        return None
    found: dict[str, int] = {}
    for col in columns:
        where = positions.get(wanted[col.name], [])
        if len(where) > 1:
            letters = " and ".join(get_column_letter(i + 1) for i in where)
            raise ImportFileError(f"row {number}: the header {wanted[col.name]!r} appears more than once "
                                  f"(columns {letters})")
        if where:
            found[col.name] = where[0]
    used = set(found.values())
    ignored = [f"{get_column_letter(i + 1)} ({h})" for h, idxs in positions.items() for i in idxs if i not in used]
    if ignored:
        report.warnings.append(f"column(s) not imported: {', '.join(sorted(ignored))}")
    return found


def _convert(row: _Row, columns: tuple[Column, ...], inherit: Callable[[dict[str, Any]], None] | None = None
             ) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Typed values, the column letter of each, and cell errors naming column and header.

    `inherit` may fill blank cells (from an earlier row) before required cells are checked.
    """
    values: dict[str, Any] = dict.fromkeys((c.name for c in columns), None)
    letters: dict[str, str] = {}
    errors: list[str] = []
    failed: set[str] = set()
    for col in columns:
        cell = row.cells.get(col.name)
        if cell is None:
            continue
        letters[col.name] = cell.letter
        try:
            values[col.name] = _value(cell, col)
        except ValueError as exc:
            errors.append(f"column {cell.letter} ({col.name}): {exc}")
            failed.add(col.name)
    if inherit is not None:
        inherit(values)
    errors.extend(f"column {letters[c.name]} ({c.name}): is required" for c in columns
                  if c.required and values[c.name] is None and c.name not in failed)
    return values, letters, errors


def _value(cell: _Cell, col: Column) -> Any:
    v = cell.value
    if cell.data_type == "f" or (isinstance(v, str) and v.lstrip().startswith("=")):
        raise ValueError("contains a formula; paste values only (formulas are never imported)")
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if col.kind == "date":
        if isinstance(v, datetime):
            return v.date()
        if isinstance(v, date):
            return v
        if isinstance(v, str) and _ISO_DATE.match(v.strip()):
            try:
                return date.fromisoformat(v.strip())
            except ValueError:
                pass
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise ValueError(f"{v!r} is a number, not a date (format the cell as a date or type YYYY-MM-DD)")
        raise ValueError(f"{str(v)!r} is not a valid date (use a date cell or YYYY-MM-DD)")
    if col.kind == "bool":
        if isinstance(v, bool):
            return v
        text = str(int(v)) if isinstance(v, (int, float)) and float(v).is_integer() else str(v).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{str(v)!r} is not yes or no")
    if isinstance(v, bool):
        raise ValueError(f"{v!r} is a true/false cell, not text")
    if isinstance(v, (datetime, date)):
        raise ValueError(f"{v:%Y-%m-%d} is a date cell, not text")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


# ---------------------------------------------------------------- the service

def check_allowed(user: User) -> None:
    """:raise NotPermitted: unless the user may import (practitioners and managers, for their own organisation)"""
    if not getattr(user, "active", False) or not access.can_open(user, access.Area.IMPORT):
        raise NotPermitted("Only practitioners and managers may import records, for their own organisation.")


def run(user: User, kind: str, data: bytes, *, filename: str = "upload.xlsx",
        mapping: dict[str, str] | None = None, sheet: str | None = None, dry_run: bool = False,
        max_rows: int | None = None) -> ImportReport:
    """Check every row and apply the valid ones to the session (flushed, never committed).

    The caller commits only when `report.keep`; otherwise it rolls back (see the module docstring).

    :raise NotPermitted: unless the user may import (practitioners and managers, for their own organisation)
    :raise InvalidInput: for an unknown kind
    """
    check_allowed(user)
    _columns(kind)
    report = ImportReport(kind=kind, filename=safe_filename(filename), dry_run=dry_run, mapping=dict(mapping or {}))
    if max_rows is None:
        configured = current_app.config.get("IMPORT_MAX_ROWS") if has_app_context() else None
        max_rows = int(configured or DEFAULT_MAX_ROWS)
    try:
        rows = _read(data, kind, report.mapping, sheet, max_rows, report)
    except ImportFileError as exc:
        report.errors.append(str(exc))
        return report
    if not rows:
        report.warnings.append(f"sheet {report.sheet!r} has no data rows below the header")
    if kind == "people":
        _import_people(user, rows, report)
    else:
        _import_cases(user, rows, report)
    return report


def record(user: User, report: ImportReport) -> None:
    """Audit the import attempt: who, which file, kind, mapping, counts, refused rows, committed or not."""
    audit.record("import", user=user, object_type=report.kind,
                 detail={"file": report.filename, "sheet": report.sheet, "dry_run": report.dry_run,
                         "committed": report.keep, "mapping": report.mapping, "counts": report.counts,
                         "refused_rows": [r.row for r in report.rows if r.outcome == "refused"][:200],
                         "errors": report.errors})


def safe_filename(filename: str | None) -> str:
    """The file's base name, printable characters only, for reports and the audit log."""
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    return "".join(ch for ch in name if ch.isprintable())[:200] or "upload.xlsx"


def _field_errors(exc: InvalidInput, letters: dict[str, str]) -> list[str]:
    return [f"column {letters[k]} ({k}): {v}" if k in letters else (v if k == "__all__" else f"{k}: {v}")
            for k, v in exc.fields.items()]


def _refuse(report: ImportReport, row: _Row, ref: str | None, messages: list[str]) -> None:
    report.rows.append(RowResult(row.number, "refused", ref, messages=messages))


def _import_people(user: User, rows: list[_Row], report: ImportReport) -> None:
    existing = {p.external_reference: p for p in db.session.scalars(
        select(Person).where(Person.registered_by_org_id == user.organisation_id,
                             Person.external_reference.is_not(None)))}
    seen: dict[str, int] = {}
    for row in rows:
        values, letters, errors = _convert(row, PEOPLE_COLUMNS)
        ref = values["external_reference"]
        if ref is not None:
            if ref in seen:
                errors.append(f"column {letters['external_reference']} (external_reference): {ref!r} is also "
                              f"on row {seen[ref]}; each person must appear once")
            else:
                seen[ref] = row.number
        if errors:
            _refuse(report, row, ref, errors)
            continue
        fields = {k: v for k, v in values.items() if v is not None}
        try:
            result = _apply_person(user, existing.get(ref), fields, row, letters)
        except InvalidInput as exc:
            _refuse(report, row, ref, _field_errors(exc, letters))
            continue
        except CasebookError as exc:
            _refuse(report, row, ref, [str(exc)])
            continue
        if result.outcome == "created":
            existing[ref] = result.person
        report.rows.append(result.as_row())


@dataclass
class _PersonResult:
    row: int
    outcome: str
    person: Person
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_row(self) -> RowResult:
        return RowResult(self.row, self.outcome, self.person.external_reference, self.person.full_name,
                         self.messages, self.warnings)


def _apply_person(user: User, person: Person | None, fields: dict[str, Any], row: _Row,
                  letters: dict[str, str]) -> _PersonResult:
    if person is None:
        data = people_service.clean(fields)
        # One bounded search per row across the partnership (matching.CANDIDATES); the person is registered
        # either way and the report warns about likely duplicates, or names who may know them.
        found = matching.for_registration(user, data)
        person = people_service.register(user, fields, confirm_not_duplicate=True, known_duplicates=found.visible)
        warnings = [_duplicate_text(p) for p in found.visible]
        if found.known_to:
            warnings.append(f"possibly known to {', '.join(found.known_to)} (ask them before relying on this record)")
        return _PersonResult(row.number, "created", person, warnings=warnings)
    # Blank optional cells keep what is recorded; only filled cells can change a person.
    data = people_service.clean({**{k: getattr(person, k) for k in people_service.EDITABLE}, **fields})
    changed = [k for k in people_service.EDITABLE if getattr(person, k) != data[k]]
    if not changed:
        return _PersonResult(row.number, "unchanged", person)
    people_service.update(user, person, person.version, {k: data[k] for k in changed})
    return _PersonResult(row.number, "updated", person, messages=[f"changes {', '.join(changed)}"])


def _duplicate_text(p: Person) -> str:
    ref = f", ref {p.external_reference}" if p.external_reference else ""
    return (f"possible duplicate of {p} (person {p.id}{ref}, registered by {p.registered_by_org.name}); "
            f"check, and if it is the same person merge them on /admin/people/details/?id={p.id} (Merge)")


# ---------------------------------------------------------------- cases

@dataclass
class _First:
    """The first valid row of a case: its number, cell values as read, and as checked."""

    row: int
    raw: dict[str, Any]
    checked: dict[str, Any]


@dataclass
class _CaseContext:
    user: User
    cases: dict[str, Case]
    people: dict[str, Person]
    organisations: dict[str, Organisation]
    case_types: dict[str, CaseType]
    first: dict[str, _First] = field(default_factory=dict)
    created_here: set[str] = field(default_factory=set)


def legacy_reference(case: Case) -> str | None:
    """The legacy (external) reference an import stored on the case, if any."""
    return case.external_reference


def _import_cases(user: User, rows: list[_Row], report: ImportReport) -> None:
    led = db.session.scalars(select(Case).where(Case.lead_organisation_id == user.organisation_id,
                                                Case.external_reference.is_not(None)))
    ctx = _CaseContext(
        user=user,
        cases={ref: c for c in led if (ref := legacy_reference(c))},
        people={p.external_reference: p for p in db.session.scalars(
            select(Person).where(Person.registered_by_org_id == user.organisation_id,
                                 Person.external_reference.is_not(None)))},
        organisations={o.code: o for o in db.session.scalars(select(Organisation))},
        case_types={ct.code: ct for ct in db.session.scalars(select(CaseType))})
    for row in rows:
        filled: list[str] = []

        def inherit(values: dict[str, Any]) -> None:
            # Later rows of a case may leave the case columns blank: they inherit the first row's.
            filled.extend(k for k in _CASE_LEVEL if values[k] is not None)
            prior = ctx.first.get(values["external_reference"])
            if prior is not None:
                values.update({k: prior.raw[k] for k in _CASE_LEVEL if values[k] is None})

        values, letters, errors = _convert(row, CASES_COLUMNS, inherit)
        ref = values["external_reference"]
        prior = ctx.first.get(ref)
        raw = dict(values)
        if not errors:
            errors = _check_case_row(ctx, values, letters)
        if not errors and prior is not None:
            errors = _same_case(prior, values, raw, letters, filled)
        if errors:
            _refuse(report, row, ref, errors)
            continue
        if prior is None:
            ctx.first[ref] = _First(row.number, raw, dict(values))
        try:
            result = _apply_case(ctx, values, row)
        except InvalidInput as exc:
            _refuse(report, row, ref, _field_errors(exc, letters))
            continue
        except CasebookError as exc:
            _refuse(report, row, ref, [str(exc)])
            continue
        report.rows.append(result)


def _check_case_row(ctx: _CaseContext, v: dict[str, Any], letters: dict[str, str]) -> list[str]:
    """Turn codes into objects (in place) and check the rules the case services do not know."""
    errors: list[str] = []

    def bad(name: str, message: str) -> None:
        errors.append(f"column {letters.get(name, '?')} ({name}): {message}")

    ct = ctx.case_types.get(_norm(v["case_type"])) or next(
        (c for c in ctx.case_types.values() if _norm(c.name) == _norm(v["case_type"])), None)
    if ct is None or not ct.active:
        bad("case_type", f"{v['case_type']!r} is not an active case type")
    else:
        v["case_type"] = ct.code
    for name, enum_cls in (("status", CaseStatus), ("risk_level", RiskLevel), ("role", ParticipantRole)):
        if v[name] is not None:
            if _norm(v[name]) in {m.value for m in enum_cls}:
                v[name] = _norm(v[name])
            else:
                bad(name, f"{v[name]!r} is not one of: {', '.join(m.value for m in enum_cls)}")
    lead = ctx.organisations.get(v["lead_organisation"].strip().lower())
    own = ctx.user.organisation
    if lead is None:
        bad("lead_organisation", f"{v['lead_organisation']!r} is not a known organisation code")
    elif lead.id != own.id:
        bad("lead_organisation", f"{lead.code!r} is not your organisation: you import for {own.code!r} only")
    partners = [c for c in re.split(r"[,;\s]+", (v["partner_organisations"] or "").lower()) if c]
    unknown = [c for c in partners if c not in ctx.organisations or not ctx.organisations[c].active]
    if unknown:
        bad("partner_organisations", f"unknown or inactive organisation code(s): {', '.join(unknown)}")
    v["partner_organisations"] = ",".join(sorted({c for c in partners if c != own.code}))
    if v["person_reference"] not in ctx.people:
        bad("person_reference", f"no person with external_reference {v['person_reference']!r} in your "
                                "organisation; import people first")
    today = date.today()
    for name in ("opened_on", "closed_on"):
        if v[name] is not None and v[name] > today:
            bad(name, "is in the future")
    if v["closed_on"] is not None and v["closed_on"] < v["opened_on"]:
        bad("closed_on", "is before opened_on")
    if v["status"] is None:
        v["status"] = CaseStatus.CLOSED.value if v["closed_on"] else CaseStatus.OPEN.value
    if v["status"] == CaseStatus.CLOSED and v["closed_on"] is None:
        bad("closed_on", "is required when status is closed")
    if v["status"] == CaseStatus.OPEN and v["closed_on"] is not None:
        bad("closed_on", "is given but status is open")
    v["risk_level"] = v["risk_level"] or RiskLevel.NOT_ASSESSED.value
    if v["external_reference"] and len(v["external_reference"]) > 64:
        bad("external_reference", "is too long (the limit is 64 characters)")
    return errors


def _same_case(first: _First, v: dict[str, Any], raw: dict[str, Any], letters: dict[str, str],
               filled: list[str]) -> list[str]:
    return [f"column {letters[k]} ({k}): {raw[k]!s} differs from row "
            f"{first.row} ({first.raw[k]!s}); rows for the same external_reference must agree on the case columns"
            for k in filled if v[k] != first.checked[k]]


def _at(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=timezone.utc)


def _apply_case(ctx: _CaseContext, v: dict[str, Any], row: _Row) -> RowResult:
    user, ref = ctx.user, v["external_reference"]
    person = ctx.people[v["person_reference"]]
    partners = [ctx.organisations[c] for c in v["partner_organisations"].split(",") if c]
    label = f"{person.full_name} as {v['role']}"
    case = ctx.cases.get(ref)
    if case is None:
        case = case_service.open_case(
            user, case_type=v["case_type"], title=v["title"], lead_organisation_id=user.organisation_id,
            summary=v["summary"], risk_level=v["risk_level"],
            participants=[(person.id, v["role"])], organisation_ids=[o.id for o in partners])
        case.opened_at = _at(v["opened_on"])
        case.external_reference = ref
        if v["status"] == CaseStatus.CLOSED:
            case.status, case.closed_at = CaseStatus.CLOSED, _at(v["closed_on"])
        db.session.flush()
        ctx.cases[ref] = case
        ctx.created_here.add(ref)
        return RowResult(row.number, "created", ref, f"{case.reference}: {label}")
    if not access.is_visible(user, case):
        raise NotPermitted(f"a case with external_reference {ref!r} exists but is restricted and you are not "
                           "named on it; ask a named colleague to import this row")
    changes = _update_case(user, case, v, partners)
    if not any(p.person_id == person.id and p.role == v["role"] for p in case.participants):
        case_service.add_participant(user, case, person.id, v["role"])
        changes.append(f"adds {label}")
    outcome = "unchanged" if not changes else ("created" if ref in ctx.created_here else "updated")
    return RowResult(row.number, outcome, ref, f"{case.reference}: {label}", messages=changes)


def _update_case(user: User, case: Case, v: dict[str, Any], partners: list[Organisation]) -> list[str]:
    """Bring an existing case in line with the row; returns what changed (blank cells keep what is there)."""
    wanted = {"case_type_code": v["case_type"], "title": v["title"], "status": v["status"],
              "risk_level": v["risk_level"]}
    fields = {k: val for k, val in wanted.items() if getattr(case, k) != val}
    changed = case_service.update_case(user, case, case.version, fields) if fields else []
    direct: dict[str, Any] = {}
    if case.opened_at.date() != v["opened_on"]:
        direct["opened_at"] = _at(v["opened_on"])
    closed = _at(v["closed_on"]) if case.status is CaseStatus.CLOSED else None
    if case.closed_at != closed:
        direct["closed_at"] = closed
    summary = validate.text(v["summary"], "summary", TEXT_MAX, required=False)
    if v["summary"] is not None and case.summary != summary:
        direct["summary"] = summary
    for k, val in direct.items():
        setattr(case, k, val)
    if direct:
        db.session.flush()
        audit.record("update", user=user, object_type="case", object_id=case.id, case_id=case.id,
                     detail={"changed": sorted(direct), "source": "import"})
    changes = [f"changes {', '.join(changed + sorted(direct))}"] if changed or direct else []
    have = {o.organisation_id for o in case.organisations} | {case.lead_organisation_id}
    for org in partners:
        if org.id not in have:
            case_service.add_organisation(user, case, org.id)
            changes.append(f"adds partner {org.code}")
    return changes
