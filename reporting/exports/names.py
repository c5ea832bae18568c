"""Words for the codes exports write: look-ups loaded once per export (never one query per row) and the app's
own labels for closed vocabularies (`models.enums.label`, as the console shows them)."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from models import CaseType, Organisation, db
from models.enums import label
from workflows import processes as deployed

NONE = "(none)"   # the key counts use for rows without a value (a work item nobody is assigned)


@lru_cache(maxsize=4096)   # a closed vocabulary: a handful of values over up to a million rows
def words(value: Any) -> str | None:
    """A code in words as the console shows it: "not_assessed" -> "Not assessed", "case_view" -> "Case view"."""
    if value is None:
        return None
    return label(str(getattr(value, "value", value)))


def organisations() -> dict[str, str]:
    """Organisation code -> name (one query)."""
    return dict(db.session.execute(select(Organisation.code, Organisation.name)).all())


def case_types() -> dict[str, str]:
    """Case type code -> name (one query)."""
    return dict(db.session.execute(select(CaseType.code, CaseType.name)).all())


def processes() -> dict[str, str]:
    """Process key -> the name My work shows."""
    return deployed.names()


def right(code: Any) -> str | None:
    """A Victims' Code right or entitlement in words: "R6" -> "Right 6", "R6a:2" -> "Right 6a (2)"."""
    if code is None:
        return None
    match = re.match(r"^R(\d+[a-z]?)(?::(\d+))?$", str(code))
    if match is None:
        return str(code)
    return f"Right {match[1]}" + (f" ({match[2]})" if match[2] else "")
