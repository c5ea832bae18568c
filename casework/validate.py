"""Small validators shared by services, the CLI and forms."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email

from casework.errors import InvalidInput

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")
ID_MAX = 2**31 - 1  # the largest id or count a 32-bit integer column holds (access.ID_MAX)


def whole_number(value: object, maximum: int = ID_MAX) -> int | None:
    """ASCII digits from 0 to `maximum` as an int; None for anything else ("²" and "١٢" are digits to
    str.isdigit but not to int, and 10**20 overflows the database's integer columns)."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > 12 or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number <= maximum else None


def _as_text(value: object, field: str) -> str:
    """The value as a string to check, or a message when a client sent a number, list or object instead."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput({field: f"must be text, not {type(value).__name__}"})
    return value


def text(value: str | None, field: str, max_len: int, *, required: bool = True) -> str | None:
    """Strip and check a free-text value: required, length, no control characters."""
    value = _as_text(value, field).strip()
    if not value:
        if required:
            raise InvalidInput({field: "is required"})
        return None
    if len(value) > max_len:
        raise InvalidInput({field: f"is too long ({len(value)} characters; the limit is {max_len})"})
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in value):
        raise InvalidInput({field: "contains control characters"})
    return value


def code(value: str | None, field: str = "code") -> str:
    """A lowercase identifier such as an organisation code."""
    value = _as_text(value, field).strip()
    if not _CODE.match(value):
        raise InvalidInput({field: f"{value!r} is not a valid code (2-32 of a-z, 0-9, _ and -, "
                                   "starting with a letter or digit)"})
    return value


def email(value: str | None, field: str = "email") -> str:
    """Check e-mail syntax only (no DNS look-ups) and normalise it."""
    value = _as_text(value, field)
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput({field: f"{value!r} is not a valid e-mail address ({exc})"}) from None


def date_of_birth(value: date | str | None, field: str = "date_of_birth", *,
                  today: date | None = None) -> date | None:
    """Parse YYYY-MM-DD (or take a date); refuse the future and the implausibly old."""
    if value in (None, ""):
        return None
    if not isinstance(value, (str, date)):
        raise InvalidInput({field: "must be a date as text (YYYY-MM-DD)"})
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput({field: f"{value!r} is not a valid date (use YYYY-MM-DD)"}) from None
    today = today or date.today()
    if value > today:
        raise InvalidInput({field: "is in the future"})
    if value.year < today.year - 130:
        raise InvalidInput({field: "is more than 130 years ago"})
    return value


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y")


def _short_year(text_value: str) -> date | None:
    """1/4/26: a two-digit year is the one within twenty years from now or before (so 1/4/56 is 1956)."""
    found = re.fullmatch(r"(\d{1,2})([/.\- ])(\d{1,2})\2(\d{2})", text_value)
    if found is None:
        return None
    year = 2000 + int(found.group(4))
    if year > date.today().year + 20:
        year -= 100
    try:
        return date(year, int(found.group(3)), int(found.group(1)))
    except ValueError:
        return None


def date_value(value: object, field: str, *, required: bool = True) -> date | None:
    """A date as people type it in England: 01/04/2026 is the first of April (also 2026-04-01, 1-4-2026,
    1.4.2026, 1/4/26, with spaces around the separators); years 1900 to 2999 only."""
    if value in (None, ""):
        if required:
            raise InvalidInput({field: "is required (a date such as 01/04/2026)"})
        return None
    if isinstance(value, date):
        parsed: date | None = value
    else:
        # Spaces pasted around the separators ("01 / 04 / 2026") are not part of the date.
        text_value = re.sub(r"\s*([/.\-])\s*", r"\1", _as_text(value, field).strip())
        parsed = _short_year(text_value)
        for fmt in DATE_FORMATS if parsed is None else ():
            try:
                parsed = datetime.strptime(text_value, fmt).date()
                break
            except ValueError:
                continue
        if parsed is None:
            raise InvalidInput({field: f"{text_value[:40]!r} is not a date (write it as 01/04/2026)"})
    if not 1900 <= parsed.year <= 2999:
        raise InvalidInput({field: f"{parsed:%d/%m/%Y} is outside the years 1900 to 2999"})
    return parsed


def choice(value: str | None, field: str, allowed: list[str] | set[str]) -> str:
    """A value from a closed list."""
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput({field: f"{value!r} is not one of: {', '.join(sorted(allowed))}"})
    return value
