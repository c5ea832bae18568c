"""People: registration with duplicate detection, edits with a version check."""
from __future__ import annotations

import difflib
import unicodedata
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm.exc import StaleDataError

import access
from casework import validate
from casework.errors import NotPermitted, PossibleDuplicates, StaleEdit
from models import Person, PersonChange, User, audit, db
from models.base import NAME_MAX, TEXT_MAX

EDITABLE = ("given_name", "family_name", "date_of_birth", "dob_estimated", "sex", "preferred_language",
            "interpreter_required", "email", "phone", "address", "safe_contact", "external_reference")
SIMILARITY = 0.8


def clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise person fields.

    :raise InvalidInput: naming the first bad field
    """
    out: dict[str, Any] = {}
    out["given_name"] = validate.text(fields.get("given_name"), "given_name", NAME_MAX)
    out["family_name"] = validate.text(fields.get("family_name"), "family_name", NAME_MAX)
    out["date_of_birth"] = validate.date_of_birth(fields.get("date_of_birth"))
    out["dob_estimated"] = bool(fields.get("dob_estimated"))
    out["sex"] = validate.text(fields.get("sex"), "sex", 32, required=False)
    out["preferred_language"] = validate.text(fields.get("preferred_language"), "preferred_language", 64,
                                              required=False)
    out["interpreter_required"] = bool(fields.get("interpreter_required"))
    raw_email = (fields.get("email") or "").strip()
    out["email"] = validate.email(raw_email) if raw_email else None
    out["phone"] = validate.text(fields.get("phone"), "phone", 32, required=False)
    out["address"] = validate.text(fields.get("address"), "address", 2000, required=False)
    out["safe_contact"] = validate.text(fields.get("safe_contact"), "safe_contact", TEXT_MAX, required=False)
    out["external_reference"] = validate.text(fields.get("external_reference"), "external_reference", 64,
                                              required=False)
    return out


def _fold(name: str) -> str:
    """Lowercase, strip accents and punctuation for name comparison."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() or ch == " ").strip()


def name_similarity(a_given: str, a_family: str, b_given: str, b_family: str) -> float:
    """0..1 similarity of two names; tolerant of typos, initials and swapped order."""
    a, b = _fold(f"{a_given} {a_family}"), _fold(f"{b_given} {b_family}")
    matcher = difflib.SequenceMatcher(None, a, b)
    straight = matcher.ratio()
    matcher.set_seq2(_fold(f"{b_family} {b_given}"))
    swapped = matcher.ratio()
    family = difflib.SequenceMatcher(None, _fold(a_family), _fold(b_family)).ratio()
    initial = _fold(a_given)[:1] == _fold(b_given)[:1]
    return max(straight, swapped, family if (family >= 0.9 and initial) else 0.0)


DUPLICATE_CANDIDATES = 50  # same-birthday people compared per registration: bounded work, even in a large import


def find_duplicates(user: User, given_name: str, family_name: str, date_of_birth: date | None,
                    exclude_id: int | None = None) -> list[Person]:
    """People the user can see with the same date of birth and a similar name.

    Work per call is bounded: only same-birthday people sharing an initial with the name (in either order)
    are compared, at most DUPLICATE_CANDIDATES of them, reading names only; whole rows are loaded for matches.
    """
    if date_of_birth is None:
        return []
    initials = {_fold(n)[:1] for n in (given_name, family_name) if _fold(n)}
    first = lambda column: func.lower(func.substr(column, 1, 1))  # noqa: E731 - two uses, one line
    stmt = (select(Person.id, Person.given_name, Person.family_name)
            .where(access.clause(user, Person), Person.date_of_birth == date_of_birth,
                   or_(first(Person.given_name).in_(initials), first(Person.family_name).in_(initials)))
            .order_by(Person.id.desc()).limit(DUPLICATE_CANDIDATES))
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    with db.session.no_autoflush:
        ids = [row.id for row in db.session.execute(stmt)
               if name_similarity(given_name, family_name, row.given_name, row.family_name) >= SIMILARITY]
    return list(db.session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id))) if ids else []


def register(user: User, fields: dict[str, Any], *, confirm_not_duplicate: bool = False,
             known_duplicates: list[Person] | None = None) -> Person:
    """Register a person for the user's organisation (`known_duplicates`: the search was already made).

    :raise InvalidInput: on bad fields
    :raise PossibleDuplicates: when likely duplicates exist and the user has not confirmed
    """
    if not access.can(user, access.Action.CREATE, Person):
        raise NotPermitted("You may not register people.")
    data = clean(fields)
    matches = known_duplicates if known_duplicates is not None else \
        find_duplicates(user, data["given_name"], data["family_name"], data["date_of_birth"])
    if matches and not confirm_not_duplicate:
        raise PossibleDuplicates(matches)
    person = Person(registered_by_org_id=user.organisation_id, created_by_id=user.id, **data)
    db.session.add(person)
    db.session.flush()
    audit.record("create", user=user, object_type="person", object_id=person.id,
                 detail={"fields": sorted(k for k, v in data.items() if v not in (None, False)),
                         "duplicates_overridden": [p.id for p in matches]})
    return person


def _text_of(value: Any) -> str | None:
    return None if value is None else value.isoformat() if isinstance(value, date) else str(value)


def update(user: User, person: Person, expected_version: int, fields: dict[str, Any]) -> list[str]:
    """Apply edits if nobody changed the person since `expected_version`; returns changed field names.

    :raise StaleEdit: if the stored version differs
    :raise InvalidInput: on bad fields
    """
    if not access.can(user, access.Action.EDIT, person):
        raise NotPermitted("Only the registering organisation may edit this person.")
    data = clean({**{k: getattr(person, k) for k in EDITABLE}, **fields})
    if person.version != expected_version:
        raise StaleEdit("person")
    changed = [k for k, v in data.items() if getattr(person, k) != v]
    for k in changed:
        # Before and after kept (rectification); the audit row below names the fields only.
        db.session.add(PersonChange(person_id=person.id, field=k, before=_text_of(getattr(person, k)),
                                    after=_text_of(data[k]), changed_by_id=user.id,
                                    organisation_id=user.organisation_id))
        setattr(person, k, data[k])
    if changed:
        try:
            db.session.flush()
        except StaleDataError:
            raise StaleEdit("person") from None
        audit.record("update", user=user, object_type="person", object_id=person.id,
                     detail={"changed": changed})
    return changed

