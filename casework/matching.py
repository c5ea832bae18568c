"""One person across agencies: likely matches for a name and date of birth among *all* people, and what the
asking user may be told about each.

- a match the user may see: the person (as people.find_duplicates always did);
- a match they may not see, held by organisations their organisation has an agreement in force with:
  "possibly known to …" — organisation names only, nothing about the person or cases;
- a match on a restricted case, or held only by organisations without an agreement: nothing at all.

Names are compared after folding case, accents, hyphens and punctuation and common nicknames (Bill and William),
with rapidfuzz's token-sort ratio, in either order; dates of birth match exactly or with day and month swapped
(a common slip); a postcode, when both sides have one, must agree. The work per search is bounded: same-birthday
candidates sharing an initial, at most CANDIDATES of them.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select

import access
from casework.errors import InvalidInput
from models import (Case, CaseAccess, CaseParticipant, InformationSharingAgreement, Organisation, Person, User,
                    audit, db)

CANDIDATES = 200
THRESHOLD = 85          # rapidfuzz's 0-100 score a name pair must reach
NAME_MAX = 120
_NICKNAMES_FILE = Path(__file__).resolve().parent / "data" / "nicknames.json"
_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b")


@dataclass
class Matches:
    """What one search may tell its user."""

    visible: list[Person] = field(default_factory=list)
    known_to: list[str] = field(default_factory=list)   # organisation names only
    holders: list[Organisation] = field(default_factory=list)   # the same organisations (for "Ask to share")


def _nicknames() -> dict[str, str]:
    """Each nickname to its usual full name (both folded)."""
    pairs = json.loads(_NICKNAMES_FILE.read_text())
    return {nick: full for full, nicks in pairs.items() for nick in nicks}


NICKNAMES = _nicknames()


def fold(name: str) -> str:
    """Lower case, no accents, hyphens and apostrophes as spaces, nicknames as the full name."""
    decomposed = unicodedata.normalize("NFKD", (name or "").casefold())
    plain = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(NICKNAMES.get(word, word) for word in plain.split())


def score(a_given: str, a_family: str, b_given: str, b_family: str) -> float:
    """0-100: how alike two names are, in either order (Amira Hussain, Hussain Amira, Amira Husain), or an
    initial for the given name (A. Hussain)."""
    ag, af, bg, bf = fold(a_given), fold(a_family), fold(b_given), fold(b_family)
    a, b = f"{ag} {af}", f"{bg} {bf}"
    best = max(fuzz.token_sort_ratio(a, b), fuzz.ratio(a, f"{bf} {bg}"))
    if (len(ag) == 1 or len(bg) == 1) and ag[:1] == bg[:1] and fuzz.ratio(af, bf) >= 90:
        best = max(best, float(THRESHOLD))
    return best


def postcode(text: str | None) -> str | None:
    """A UK postcode found in an address, normalised (NG1 1AA), if any."""
    found = _POSTCODE.search((text or "").upper())
    return f"{found.group(1)} {found.group(2)}" if found else None


def birthdays(dob: date) -> list[date]:
    """The date of birth and, where it is a date, the same with day and month swapped."""
    out = [dob]
    if dob.day <= 12 and dob.day != dob.month:
        out.append(dob.replace(month=dob.day, day=dob.month))
    return out


def check_query(given_name: object, family_name: object, date_of_birth: object) -> tuple[str, str, date]:
    """The search's names and date, or InvalidInput saying what is wrong with them."""
    from casework import validate

    given = validate.text(given_name, "given_name", NAME_MAX)
    family = validate.text(family_name, "family_name", NAME_MAX)
    if not fold(given) or not fold(family):
        raise InvalidInput({"given_name": "names need at least one letter or digit"})
    dob = validate.date_of_birth(date_of_birth)
    if dob is None:
        raise InvalidInput({"date_of_birth": "is required to look for the same person elsewhere"})
    return given, family, dob


def find(user: User, given_name: object, family_name: object, date_of_birth: object,
         address: str | None = None, exclude_id: int | None = None) -> Matches:
    """Likely matches among all people, reduced to what this user may be told; the search is audited."""
    given, family, dob = check_query(given_name, family_name, date_of_birth)
    result = Matches()
    result.visible, unseen = split(user, candidates(given, family, dob, address, exclude_id))
    result.holders = holders_for(user, unseen)
    result.known_to = [o.name for o in result.holders]
    audit.record("person_match", user=user, object_type="person", object_id=audit.term_digest(f"{given} {family}"),
                 detail={"visible": [p.id for p in result.visible], "known_to": result.known_to})
    return result


def for_registration(user: User, fields: dict[str, Any]) -> Matches:
    """The search a registration makes (console, API, import) from its cleaned fields; none without a date of
    birth, which the search needs."""
    if not fields.get("date_of_birth"):
        return Matches()
    return find(user, fields.get("given_name"), fields.get("family_name"), fields["date_of_birth"],
                address=fields.get("address"))


def candidates(given: str, family: str, dob: date, address: str | None = None, exclude_id: int | None = None,
               within: Any = None) -> list[int]:
    """Ids of people (all, or those `within` a visibility clause) whose name scores THRESHOLD or more against this
    one, born that day or with day and month swapped, and at the same postcode when both have one."""
    initials = {w[:1] for w in (fold(given) + " " + fold(family)).split()} | \
               {w[:1] for w in (given + " " + family).casefold().split()}
    first = lambda column: func.lower(func.substr(column, 1, 1))  # noqa: E731 - two uses, one line
    stmt = (select(Person.id, Person.given_name, Person.family_name, Person.address)
            .where(Person.date_of_birth.in_(birthdays(dob)), Person.merged_into_id.is_(None),
                   or_(first(Person.given_name).in_(initials), first(Person.family_name).in_(initials)))
            .order_by(Person.id.desc()).limit(CANDIDATES))
    if within is not None:
        stmt = stmt.where(within)
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    wanted_postcode = postcode(address)
    with db.session.no_autoflush:
        return [row.id for row in db.session.execute(stmt)
                if score(given, family, row.given_name, row.family_name) >= THRESHOLD
                and (wanted_postcode is None or postcode(row.address) in (None, wanted_postcode))]


def split(user: User, ids: list[int]) -> tuple[list[Person], list[int]]:
    """These people as the user may see them (loaded), and the ids of the others."""
    if not ids:
        return [], []
    visible = list(db.session.scalars(access.visible(user, Person).where(Person.id.in_(ids)).order_by(Person.id)))
    seen = {p.id for p in visible}
    return visible, [i for i in ids if i not in seen]


def _holdings(person_ids: list[int]) -> set[tuple[int, int]]:
    """(person, organisation) pairs: who registered each person and who takes part in a case they are on
    (case_access: lead and partners); nobody on a restricted case."""
    if not person_ids:
        return set()
    restricted = set(db.session.scalars(
        select(CaseParticipant.person_id).join(Case, Case.id == CaseParticipant.case_id)
        .where(CaseParticipant.person_id.in_(person_ids), Case.restricted.is_(True))))
    allowed = [i for i in person_ids if i not in restricted]
    if not allowed:
        return set()
    pairs = db.session.execute(select(Person.id, Person.registered_by_org_id).where(Person.id.in_(allowed))).all()
    pairs += db.session.execute(select(CaseParticipant.person_id, CaseAccess.organisation_id)
                                .join(CaseAccess, CaseAccess.case_id == CaseParticipant.case_id)
                                .where(CaseParticipant.person_id.in_(allowed))).all()
    return {(person, org) for person, org in pairs}


def holders_for(user: User, person_ids: list[int]) -> list[Organisation]:
    """The organisations holding these people that the user's organisation has an agreement in force with (the
    names "possibly known to" shows), by name; none for a person on a restricted case."""
    holders = {org for _, org in _holdings(person_ids)} - {user.organisation_id}
    allowed = holders & partners_of(user.organisation_id) if holders else set()
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(allowed))
                                   .order_by(Organisation.name))) if allowed else []


def holds(organisation_id: int, person_ids: list[int]) -> list[int]:
    """Which of these people the organisation holds (registered them, or takes part in a case they are on),
    leaving out anyone on a restricted case."""
    return sorted({person for person, org in _holdings(person_ids) if org == organisation_id})


def partners_of(organisation_id: int, on: date | None = None) -> set[int]:
    """The organisations this one shares an agreement in force with (any case type)."""
    on = on or date.today()
    found: set[int] = set()
    for isa in db.session.scalars(select(InformationSharingAgreement).where(
            InformationSharingAgreement.approved_at.is_not(None),
            InformationSharingAgreement.organisations.any(id=organisation_id))):
        if isa.status(on) == "in force":
            found |= {o.id for o in isa.organisations}
    found.discard(organisation_id)
    return found


def also_known_to(user: User, person: Person) -> list[str]:
    """For a person the user sees: the organisations (under an agreement in force with the user's) on the
    person's other cases, those the user cannot see; never a restricted case's."""
    hidden = select(Case.id).join(CaseParticipant, CaseParticipant.case_id == Case.id).where(
        CaseParticipant.person_id == person.id, Case.restricted.is_(False), ~access.clause(user, Case))
    holders = set(db.session.scalars(select(CaseAccess.organisation_id).where(CaseAccess.case_id.in_(hidden))))
    holders.discard(user.organisation_id)
    allowed = holders & partners_of(user.organisation_id)
    return sorted(db.session.scalars(select(Organisation.name).where(Organisation.id.in_(allowed)))) if allowed else []
