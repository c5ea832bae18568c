"""Reference data every database carries after `init-db`: case types, their processes, settings, the Victims'
Code entitlements."""
from __future__ import annotations

from sqlalchemy import select

from casework import entitlements, letters, meetings, settings

from models import CaseType, CaseTypeProcess, db
from models.facts import DEFAULT_CASE_TYPE_PROCESSES
from models.reference import DEFAULT_CASE_TYPES


def ensure_defaults() -> int:
    """Add any missing default case types and settings (existing ones keep what admins gave them); returns how
    many case types were added."""
    have = set(db.session.scalars(select(CaseType.code)))
    added = 0
    for code, name in DEFAULT_CASE_TYPES:
        if code not in have:
            db.session.add(CaseType(code=code, name=name, active=True))
            added += 1
    db.session.flush()
    if not db.session.scalar(select(CaseTypeProcess.id).limit(1)):
        # Only on a database that has never had a mapping: an admin who removed them all meant it.
        for position, (code, key) in enumerate(DEFAULT_CASE_TYPE_PROCESSES):
            db.session.add(CaseTypeProcess(case_type_code=code, process_key=key, position=position))
        db.session.flush()
    settings.ensure_settings()
    entitlements.ensure_defaults()
    letters.ensure_defaults()
    meetings.ensure_types()
    return added
