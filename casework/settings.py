"""Partnership defaults leads and admins change in Reference data → Settings, never constants in code."""
from __future__ import annotations

from sqlalchemy import select

from models import Setting, db

# key: (default, what it means). The defaults are starting points, not rules: change them to local agreements.
DEFAULTS: dict[str, tuple[str, str]] = {
    "due_soon_working_days": ("1", "Working days before a step's due date when its people are told it is due soon."),
    "request_due_working_days": ("5", "Working days an agency has to answer a request when the asker gives no due "
                                      "date (UNSOURCED ASSUMPTION: set your partnership's agreed time)."),
    "digest_hour": ("7", "Hour of the day (local time) from which each day's digest e-mail is sent."),
}


def ensure_settings() -> int:
    """Add any missing settings with their defaults (existing values are kept)."""
    have = set(db.session.scalars(select(Setting.key)))
    added = [Setting(key=k, value=v, description=d) for k, (v, d) in DEFAULTS.items() if k not in have]
    db.session.add_all(added)
    db.session.flush()
    return len(added)


def get_int(key: str) -> int:
    """A whole-number setting; a missing or unreadable value falls back to the shipped default."""
    row = db.session.get(Setting, key)
    try:
        return int(row.value) if row is not None else int(DEFAULTS[key][0])
    except ValueError:
        return int(DEFAULTS[key][0])
