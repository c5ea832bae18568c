"""Letters from Word templates: leads upload .docx files with placeholders (versioned like processes); a
practitioner, or a diagram, writes a letter for a person on a case and it is stored on the case.

Uploaded templates are data, never code: casework/docx_templates.py accepts only the documented placeholders
(`{{ case.reference }}`) and plain `{% if placeholder %}` blocks at upload, and fills letters in inside Jinja's
sandbox with autoescaping. docs/letters.md is the leads' guide.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

import access
from casework import documents, validate
from casework.docx_templates import inspect, render
from casework.errors import InvalidInput, NotPermitted
from models import Case, Document, ItemStatus, LetterTemplate, Person, User, WorkItem, audit, db
from models.base import TEXT_MAX
from models.enums import label

DATA = Path(__file__).resolve().parent / "data" / "letters"
LONDON = ZoneInfo("Europe/London")
SENT_BY = {"post": "By post", "email": "By e-mail", "by_hand": "By hand", "not_sent": "Not sent yet"}
# The shipped letters: key, name, file under casework/data/letters/.
DEFAULTS = [
    ("right3_confirmation", "Right 3: written confirmation of a crime report", "right3_confirmation.docx"),
    ("door_open", "Support declined: the door stays open", "door_open.docx"),
    ("asb_threshold_met", "ASB case review: the threshold is met", "asb_threshold_met.docx"),
    ("asb_threshold_not_met", "ASB case review: the threshold is not met", "asb_threshold_not_met.docx"),
    ("asb_review_outcome", "ASB case review: the outcome", "asb_review_outcome.docx"),
    ("marac_victim", "MARAC: letter to the victim", "marac_victim.docx"),
]


# ---- versions ----------------------------------------------------------------------------------------------

def latest(key: str) -> LetterTemplate | None:
    """The version of a letter in use: the newest that is not retired."""
    return db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == key,
                                                          LetterTemplate.retired.is_(False))
                             .order_by(LetterTemplate.version.desc()).limit(1))


def in_use() -> list[LetterTemplate]:
    """The version in use of every letter, by name."""
    rows = db.session.scalars(select(LetterTemplate).where(LetterTemplate.retired.is_(False))
                              .order_by(LetterTemplate.key, LetterTemplate.version.desc()))
    seen: dict[str, LetterTemplate] = {}
    for row in rows:
        seen.setdefault(row.key, row)
    return sorted(seen.values(), key=lambda t: t.name.lower())


def _require_lead(user: User | None) -> None:
    if user is not None and not access.can(user, access.Action.CREATE, LetterTemplate):
        raise NotPermitted("Only working-group leads change letter templates.")


def upload(user: User | None, key: str, name: str | None, data: bytes, change_note: str | None) -> LetterTemplate:
    """Store a new version of a letter (version 1 for a new key); audited. `user` None: the shipped defaults
    (loaded with the reference data, not audited).

    :raise NotPermitted: not a working-group lead
    :raise InvalidInput: a bad key, name, note or template, or the same file as the version in use
    """
    _require_lead(user)
    key = validate.code(key, "key")
    previous = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == key)
                                 .order_by(LetterTemplate.version.desc()).limit(1))
    name = validate.text(name, "name", 200, required=previous is None) or previous.name
    note = validate.text(change_note, "change_note", TEXT_MAX, required=previous is not None)
    if not isinstance(data, bytes):
        raise InvalidInput({"file": "choose a .docx file"})
    used = _shipped(data) if user is None else inspect(data)
    sha = hashlib.sha256(data).hexdigest()
    current = latest(key)
    if current is not None and current.sha256 == sha:
        raise InvalidInput({"file": f"this file is the same as version {current.version}, which is in use"})
    version = (db.session.scalar(select(func.max(LetterTemplate.version)).where(LetterTemplate.key == key)) or 0) + 1
    row = LetterTemplate(key=key, version=version, name=name, content=data, size=len(data), sha256=sha,
                         placeholders=json.dumps(used), change_note=note, created_by_id=user.id if user else None)
    db.session.add(row)
    db.session.flush()
    if user is not None:   # the shipped defaults load with the reference data, which is not audited either
        audit.record("upload", user=user, object_type="letter_template", object_id=row.id,
                     detail={"key": key, "version": version, "sha256": sha, "placeholders": used,
                             "change_note": note})
    return row


def retire(user: User, template: LetterTemplate, retired: bool = True) -> None:
    """Retire a version (letters then use the newest version before it) or bring it back; audited.

    :raise NotPermitted: not a working-group lead
    """
    _require_lead(user)
    template.retired = retired
    audit.record("retire" if retired else "unretire", user=user, object_type="letter_template",
                 object_id=template.id, detail={"key": template.key, "version": template.version})


@lru_cache(maxsize=len(DEFAULTS))
def _shipped(data: bytes) -> list[str]:
    """A shipped letter's placeholders, checked once per process (tests load the defaults into every database)."""
    return inspect(data)


def ensure_defaults() -> int:
    """Load each shipped letter as version 1 where no version of its key exists; returns how many."""
    have = set(db.session.scalars(select(LetterTemplate.key).distinct()))
    added = 0
    for key, name, filename in DEFAULTS:
        if key not in have:
            upload(None, key, name, (DATA / filename).read_bytes(), "Shipped with Casebook.")
            added += 1
    return added


# ---- writing a letter ----------------------------------------------------------------------------------------

def long_date(value: date | datetime | None) -> str:
    """3 March 2027 (a datetime as the day it is in London)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    return f"{value.day} {value:%B %Y}"


def _answer(value: Any, field: dict[str, Any] | None) -> str:
    options = dict(tuple(o) for o in (field or {}).get("options") or [] if len(o) == 2)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(options.get(v, v)) for v in value)
    if value is None:
        return ""
    if (field or {}).get("type") == "date" or re.match(r"^\d{4}-\d{2}-\d{2}$", str(value)):
        try:
            return long_date(date.fromisoformat(str(value)[:10]))
        except ValueError:
            return str(value)
    return str(options.get(value, value))


def process_answers(case: Case) -> dict[str, str]:
    """Every answer given in the case's completed steps (the latest wins), as letters write it."""
    out: dict[str, str] = {}
    for item in db.session.scalars(select(WorkItem).where(WorkItem.case_id == case.id,
                                                          WorkItem.status == ItemStatus.COMPLETED)
                                   .order_by(WorkItem.completed_at, WorkItem.id)):
        fields = {f.get("id"): f for f in item.fields}
        for name, value in item.answers.items():
            if isinstance(name, str) and re.match(r"^[a-z][a-z0-9_]{0,63}$", name) and value not in (None, ""):
                out[name] = _answer(value, fields.get(name))
    return out


def context_for(case: Case, person: Person, user: User, today: date | None = None) -> dict[str, Any]:
    """The values a letter about this case to this person, written by this user, fills in."""
    roles = [label(p.role.value) for p in case.participants if p.person_id == person.id]
    answers = process_answers(case)
    org = user.organisation
    return {
        "today": long_date(today or datetime.now(LONDON).date()),
        "case": {"reference": case.reference, "title": case.title, "type": case.case_type.name,
                 "opened_on": long_date(case.opened_at), "area": case.area.name if case.area else "",
                 "lead_organisation": case.lead_organisation.name},
        "person": {"name": f"{person.given_name} {person.family_name}", "full_name": person.full_name,
                   "given_name": person.given_name, "family_name": person.family_name,
                   "address": person.address or "", "date_of_birth": long_date(person.date_of_birth),
                   "role": ", ".join(roles)},
        "organisation": {"name": org.name, "email": org.mailbox or "", "area": org.area or ""},
        "sender": {"name": user.name, "email": user.email},
        "crime_reference": answers.get("crime_reference", ""),
        "offence": answers.get("offence_category", answers.get("offence", "")),
        "process": answers,
    }


def empty_placeholders(template: LetterTemplate, context: dict[str, Any]) -> list[str]:
    """The placeholders the template uses that have no value on this case (the letter shows nothing there)."""
    empty = []
    for name in template.used_placeholders:
        value: Any = context
        for part in name.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        if value in ("", None):
            empty.append(name)
    return empty


def check_address(person: Person, override_reason: str | None) -> str | None:
    """The override reason when the person's address is marked unsafe for letters (None when it is not).

    :raise InvalidInput: on "override_reason" when the address is unsafe and no reason is given
    """
    if not person.address_unsafe:
        return None
    reason = validate.text(override_reason, "override_reason", 2000, required=False)
    if not reason:
        raise InvalidInput({"override_reason": f"{person.full_name}'s address is marked unsafe for letters: "
                                               "write it only with an override and the reason"})
    return reason


def may_write(user: User, case: Case) -> bool:
    """May the user write letters on this case? Any agency on it (as for any document: casework/documents.py)."""
    return access.can(user, access.Action.ADD_NOTE, case)


def generate(user: User, case: Case, person: Person, key: str, sent_by: str, *,
             override_reason: str | None = None) -> Document:
    """Write a letter from the template in use for `key` to a person on the case and store it on the case as a
    document, with how it was (or will be) sent; audited, and so is an unsafe-address override.

    :raise NotPermitted: the user may not work on the case
    :raise InvalidInput: naming the field: no such template, not a person on the case, a bad way of sending, or
        an address marked unsafe without an override reason
    """
    if not may_write(user, case):
        raise NotPermitted("You may not add letters to this case.")
    if not any(p.person_id == person.id for p in case.participants):
        raise InvalidInput({"person": "choose a person on this case"})
    template = latest(key) if isinstance(key, str) else None
    if template is None:
        raise InvalidInput({"template": "choose a letter template"})
    sent_by = validate.choice(sent_by, "sent_by", list(SENT_BY))
    reason = check_address(person, override_reason)
    context = context_for(case, person, user)
    data = render(template.content, context)
    document = documents.store(user, case=case, person=person, data=data,
                               name=f"{template.key}-{case.reference}-{date.today():%Y%m%d}.docx",
                               title=f"{template.name}: {person.full_name}", kind="letter", sent_by=sent_by)
    detail = {"template": template.key, "version": template.version, "person": person.id, "sent_by": sent_by,
              "document": document.id}
    if reason:
        audit.record("letter_address_override", user=user, object_type="person", object_id=person.id,
                     case_id=case.id, detail={**detail, "reason": reason})
    audit.record("generate_letter", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail=detail)
    return document
