"""People: registration with duplicate detection, edits with a version check."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm.exc import StaleDataError

import access
from casework import matching, validate
from casework.errors import InvalidInput, NotPermitted, PossibleDuplicates, StaleEdit
from models import (CaseParticipant, Consent, Disclosure, Document, Incident, Person, PersonChange, ShareRequest, User, audit, db,
                    utcnow)
from models.enums import Role
from models.base import NAME_MAX, TEXT_MAX

EDITABLE = ("given_name", "family_name", "date_of_birth", "dob_estimated", "sex", "preferred_language",
            "interpreter_required", "email", "phone", "address", "address_unsafe", "safe_contact",
            "external_reference")


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
    out["address_unsafe"] = bool(fields.get("address_unsafe"))
    out["safe_contact"] = validate.text(fields.get("safe_contact"), "safe_contact", TEXT_MAX, required=False)
    out["external_reference"] = validate.text(fields.get("external_reference"), "external_reference", 64,
                                              required=False)
    return out


def find_duplicates(user: User, given_name: str, family_name: str, date_of_birth: date | None,
                    exclude_id: int | None = None) -> list[Person]:
    """People the user can see with the same date of birth (or day and month swapped) and a similar name, as
    casework/matching.py compares them; matches the user cannot see are matching.find's business."""
    if date_of_birth is None:
        return []
    ids = matching.candidates(given_name, family_name, date_of_birth, exclude_id=exclude_id,
                              within=access.clause(user, Person))
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



def merge(user: User, keep: Person, other: Person) -> int:
    """Merge `other` into `keep` (two records of one person): its case participations, share requests and
    disclosure entries move to the kept record; `other` stays as a tombstone pointing to it (its details and
    their history stay with it). Returns how many participations moved.

    :raise NotPermitted: not a manager, or either record not visible to the user
    :raise InvalidInput: the same record, or one already merged
    """
    if not user.has_role(Role.MANAGER):
        raise NotPermitted("Only a manager merges records.")
    if not (access.is_visible(user, keep) and access.is_visible(user, other)):
        raise NotPermitted("You can merge only records your organisation sees both of.")
    if keep.id == other.id:
        raise InvalidInput({"other": "choose another record than this one"})
    if keep.merged_into_id or other.merged_into_id:
        raise InvalidInput({"other": "one of these records was already merged"})
    # Both rows locked, in id order, so two managers merging the same pair cannot both succeed.
    for row in sorted((keep, other), key=lambda p: p.id):
        db.session.refresh(row, with_for_update=True)
    if keep.merged_into_id or other.merged_into_id:
        raise InvalidInput({"other": "one of these records was already merged"})
    moved = 0
    already = {(p.case_id, p.role) for p in db.session.scalars(select(CaseParticipant)
                                                              .where(CaseParticipant.person_id == keep.id))}
    for part in db.session.scalars(select(CaseParticipant).where(CaseParticipant.person_id == other.id)).all():
        if (part.case_id, part.role) in already:
            db.session.delete(part)
        else:
            part.person_id = keep.id
            moved += 1
    for model in (ShareRequest, Disclosure, Consent, Incident, Document):   # their history follows them
        db.session.execute(sql_update(model).where(model.person_id == other.id).values(person_id=keep.id))
    other.merged_into_id, other.merged_at = keep.id, utcnow()
    db.session.flush()
    for person, role in ((keep, "kept"), (other, "merged")):
        audit.record("merge", user=user, object_type="person", object_id=person.id,
                     detail={"kept": keep.id, "merged": other.id, "as": role, "participations_moved": moved})
    return moved
