"""Substring search on names and references: trigram indexes on PostgreSQL.

They are created by migration 0010 (they need the pg_trgm extension and have no SQLite form), so the
models do not declare them and Alembic's comparison leaves them out.
"""
from __future__ import annotations

from typing import Any

# (index name, table, column): what the console's searches match with ILIKE '%term%'.
TRIGRAM_INDEXES = (
    ("ix_trgm_person_family_name", "person", "family_name"),
    ("ix_trgm_person_given_name", "person", "given_name"),
    ("ix_trgm_person_external_reference", "person", "external_reference"),
    ("ix_trgm_case_reference", "case", "reference"),
    ("ix_trgm_case_title", "case", "title"),
)
_NAMES = frozenset(name for name, _, _ in TRIGRAM_INDEXES)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic filter: compare everything but the PostgreSQL-only trigram indexes."""
    return not (type_ == "index" and name in _NAMES)
