"""Cases: open, edit with a version check, people in roles, organisations, named users, notes."""
from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.exc import StaleDataError

import access
from casework import agreements, areas, disclosures, notifications, validate
from casework.errors import InvalidInput, NotPermitted, StaleEdit
from models import (Case, CaseMember, CaseNote, CaseOrganisation, CaseParticipant, CaseType, Organisation,
                    ItemStatus, Person, ReferenceCounter, User, WorkItem, audit, db, utcnow)
from models.base import TEXT_MAX, TITLE_MAX
from models.enums import CaseStatus, ParticipantRole, RiskLevel

EDITABLE = ("case_type_code", "area_code", "title", "summary", "status", "risk_level", "restricted")


def next_reference(year: int) -> str:
    """Allocate CB-<year>-<6 digits>; the counter row is locked by the UPDATE so references never repeat."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(ReferenceCounter).values(year=year, last=0).on_conflict_do_nothing())
    last = db.session.execute(sql_update(ReferenceCounter).where(ReferenceCounter.year == year)
                              .values(last=ReferenceCounter.last + 1)
                              .returning(ReferenceCounter.last)).scalar_one()
    return f"CB-{year}-{last:06d}"


def _case_type(code: str | None) -> CaseType:
    ct = db.session.get(CaseType, code) if isinstance(code, str) and code else None
    if ct is None or not ct.active:
        raise InvalidInput({"case_type": f"{code!r} is not an active case type"})
    return ct


def open_case(user: User, *, case_type: str, title: str, lead_organisation_id: int | None = None,
              summary: str | None = None, risk_level: str = RiskLevel.NOT_ASSESSED.value,
              restricted: bool = False, participants: list[tuple[int, str]] | None = None,
              organisation_ids: list[int] | None = None, area: str | None = None,
              external_reference: str | None = None) -> Case:
    """Open a case led by the user's organisation, with people in roles and partner organisations.

    `external_reference` is the sending system's own reference (unique per lead organisation).

    `area` (a code) is where the case belongs: routing by service picks that area's providers.

    :raise InvalidInput: on bad fields, people the user cannot see, or unknown organisations
    :raise NotPermitted: when the user cannot act for the lead organisation
    """
    if not access.can(user, access.Action.CREATE, Case):
        raise NotPermitted("You may not open cases.")
    lead_id = lead_organisation_id or user.organisation_id
    lead = db.session.get(Organisation, lead_id)
    if not access.can_act_for(user, lead):
        name = lead.name if lead else f"organisation {lead_id}"
        raise InvalidInput({"lead_organisation": f"You cannot open a case for {name}: you act for "
                                                 f"{user.organisation.name} only."})
    ct = _case_type(case_type)
    case = Case(reference="pending", case_type_code=ct.code, lead_organisation_id=lead.id,
                area_code=areas.area_or_error(area).code if area else None, title=validate.text(title, "title", TITLE_MAX),
                summary=validate.text(summary, "summary", TEXT_MAX, required=False),
                risk_level=RiskLevel(validate.choice(risk_level, "risk_level", {r.value for r in RiskLevel})),
                restricted=bool(restricted), opened_by_id=user.id, status=CaseStatus.OPEN,
                external_reference=validate.text(external_reference, "external_reference", 64, required=False))
    people = _check_participants(user, participants or [])
    orgs = _check_organisations(organisation_ids or [], exclude=lead.id)
    bases = [agreements.check(lead, org, ct.code) for org in orgs]
    case.reference = next_reference(utcnow().year)
    db.session.add(case)
    for person, role in people:
        case.participants.append(CaseParticipant(person=person, role=ParticipantRole(role)))
    for org in orgs:
        case.organisations.append(CaseOrganisation(organisation=org, added_by_id=user.id))
    if case.restricted:
        case.members.append(CaseMember(user_id=user.id))
    db.session.flush()
    audit.record("create", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"reference": case.reference, "case_type": ct.code, "area": case.area_code,
                         "restricted": case.restricted,
                         "participants": [[p.id, r] for p, r in people], "organisations": [o.code for o in orgs]})
    for org, basis in zip(orgs, bases):
        disclosures.record("case shared", org, case=case, agreement=basis.agreement, user=user,
                           detail={"why": "opened with this partner",
                                   **({"basis": f"none ({basis.warning})"} if basis.warning else {})})
        notifications.case_shared(case, org)
    return case


def _check_participants(user: User, rows: list[tuple[int, str]]) -> list[tuple[Person, str]]:
    out, seen = [], set()
    for person_id, role in rows:
        validate.choice(role, "role", {r.value for r in ParticipantRole})
        person = db.session.get(Person, person_id) if person_id else None
        if person is None or not access.is_visible(user, person):
            raise InvalidInput({"participants": f"person {person_id} was not found"})
        if (person.id, role) not in seen:
            seen.add((person.id, role))
            out.append((person, role))
    return out


def _check_organisations(ids: list[int], exclude: int) -> list[Organisation]:
    out = []
    for org_id in dict.fromkeys(ids):
        org = db.session.get(Organisation, org_id) if isinstance(org_id, int) else None
        if org is None or not org.active:
            raise InvalidInput({"organisations": f"organisation {org_id} was not found"})
        if org.id != exclude:
            out.append(org)
    return out


def update_case(user: User, case: Case, expected_version: int, fields: dict[str, Any]) -> list[str]:
    """Apply edits if nobody changed the case since `expected_version`; returns changed field names.

    :raise StaleEdit: if the stored version differs
    :raise NotPermitted: unless the user's organisation leads the case
    """
    if not access.can(user, access.Action.EDIT, case):
        raise NotPermitted("Only the lead organisation may edit this case.")
    data: dict[str, Any] = {}
    if "case_type_code" in fields:
        data["case_type_code"] = _case_type(fields["case_type_code"]).code
    if "area_code" in fields:
        data["area_code"] = areas.area_or_error(fields["area_code"], "area").code if fields["area_code"] else None
    if "title" in fields:
        data["title"] = validate.text(fields["title"], "title", TITLE_MAX)
    if "summary" in fields:
        data["summary"] = validate.text(fields["summary"], "summary", TEXT_MAX, required=False)
    if "status" in fields:
        data["status"] = CaseStatus(validate.choice(fields["status"], "status", {s.value for s in CaseStatus}))
    if "risk_level" in fields:
        data["risk_level"] = RiskLevel(validate.choice(fields["risk_level"], "risk_level",
                                                       {r.value for r in RiskLevel}))
    if "restricted" in fields:
        data["restricted"] = bool(fields["restricted"])
    if case.version != expected_version:
        raise StaleEdit("case")
    changed = [k for k, v in data.items() if getattr(case, k) != v]
    for k in changed:
        setattr(case, k, data[k])
    if "status" in changed:
        case.closed_at = utcnow() if case.status is CaseStatus.CLOSED else None
    if "restricted" in changed and case.restricted and not any(m.user_id == user.id for m in case.members):
        case.members.append(CaseMember(user_id=user.id))
    if changed:
        try:
            db.session.flush()
        except StaleDataError:
            raise StaleEdit("case") from None
        audit.record("update", user=user, object_type="case", object_id=case.id, case_id=case.id,
                     detail={"changed": changed})
    return changed


def _require(user: User, action: access.Action, case: Case, message: str) -> None:
    if not access.can(user, action, case):
        raise NotPermitted(message)


def add_participant(user: User, case: Case, person_id: int, role: str) -> CaseParticipant:
    """Put a person the user can see on the case in a role."""
    _require(user, access.Action.EDIT, case, "Only the lead organisation may add people to this case.")
    (person, role), = _check_participants(user, [(person_id, role)])
    if any(p.person_id == person.id and p.role == role for p in case.participants):
        raise InvalidInput({"participants": f"{person.full_name} is already on this case as {role}"})
    row = CaseParticipant(person=person, role=ParticipantRole(role))
    case.participants.append(row)
    db.session.flush()
    audit.record("add_participant", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"person_id": person.id, "role": role})
    return row


def add_organisation(user: User, case: Case, organisation_id: int) -> None:
    """Add a participating organisation to the case (the lead organisation, under an agreement in force).

    :raise InvalidInput: unknown, or already on the case; agreements.NotShared without an agreement
    """
    _require(user, access.Action.EDIT, case, "Only the lead organisation may add organisations.")
    orgs = _check_organisations([organisation_id], exclude=case.lead_organisation_id)
    if not orgs or not share_with(case, orgs[0], "added by hand", user):
        raise InvalidInput({"organisations": "that organisation is already on this case"})


REMOVAL_REASON_MAX = 2000


def remove_organisation(user: User, case: Case, organisation_id: object, reason: object) -> Organisation:
    """Take a partner off the case, with the reason (audited). Steps waiting for it wait unassigned, with why,
    for the lead organisation to give to someone else; it no longer sees the case.

    :raise NotPermitted: not the lead organisation
    :raise InvalidInput: not a partner on the case, or no reason
    """
    _require(user, access.Action.EDIT, case, "Only the lead organisation may remove organisations.")
    ident = validate.whole_number(organisation_id)
    row = next((o for o in case.organisations if o.organisation_id == ident), None)
    if row is None:
        raise InvalidInput({"organisation": "that organisation is not a partner on this case"})
    why = validate.text(reason if isinstance(reason, str) else None, "reason", REMOVAL_REASON_MAX)
    org = row.organisation
    waiting = db.session.execute(
        sql_update(WorkItem).where(WorkItem.case_id == case.id, WorkItem.organisation_id == org.id,
                                   WorkItem.status == ItemStatus.READY)
        .values(organisation_id=None, claimed_by_id=None, claimed_at=None,
                unassigned_reason=f"was with {org.name}, removed from the case: give it to another organisation")
        .execution_options(synchronize_session=False)).rowcount
    db.session.delete(row)
    db.session.flush()
    db.session.expire(case, ["organisations"])
    audit.record("remove_organisation", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"organisation": org.code, "reason": why[:500], "steps_unassigned": waiting})
    return org


def remove_participant(user: User, case: Case, participant_id: object, reason: object) -> CaseParticipant:
    """Take a person off the case (in that role), with the reason (audited); their record stays.

    :raise NotPermitted: not the lead organisation
    :raise InvalidInput: not on the case, or no reason
    """
    _require(user, access.Action.EDIT, case, "Only the lead organisation may remove people from this case.")
    ident = validate.whole_number(participant_id)
    row = next((p for p in case.participants if p.id == ident), None)
    if row is None:
        raise InvalidInput({"participant": "that person is not on this case"})
    why = validate.text(reason if isinstance(reason, str) else None, "reason", REMOVAL_REASON_MAX)
    case.participants.remove(row)
    db.session.flush()
    audit.record("remove_participant", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"person_id": row.person_id, "role": row.role.value, "reason": why[:500]})
    return row


def share_with(case: Case, org: Organisation, why: str, user: User | None = None) -> bool:
    """Make the organisation a partner on the case under the agreement in force (or exception) that covers it:
    logged (disclosure log, audit) and its people told. Added? (False when it already takes part.)

    :raise agreements.NotShared: no agreement in force covers the share (when enforcing)
    """
    if org.id == case.lead_organisation_id or db.session.scalar(select(exists().where(
            CaseOrganisation.case_id == case.id, CaseOrganisation.organisation_id == org.id))):
        return False
    basis = agreements.check(case.lead_organisation, org, case.case_type_code, case)
    db.session.add(CaseOrganisation(case_id=case.id, organisation_id=org.id, added_by_id=user.id if user else None))
    db.session.flush()
    db.session.expire(case, ["organisations"])
    agreements.shared(case, org, basis, user, why)
    notifications.case_shared(case, org)
    return True


def add_member(user: User, case: Case, member_email: str) -> CaseMember:
    """Name a user of a participating organisation on a restricted case."""
    _require(user, access.Action.EDIT, case, "Only the lead organisation may name users on this case.")
    member = db.session.scalar(select(User).where(User.email == validate.email(member_email)))
    org_ids = {case.lead_organisation_id} | {o.organisation_id for o in case.organisations}
    if member is None or member.organisation_id not in org_ids or not member.active:
        raise InvalidInput({"email": "no active user with that e-mail in an organisation on this case"})
    if any(m.user_id == member.id for m in case.members):
        raise InvalidInput({"email": f"{member.name} is already named on this case"})
    row = CaseMember(user=member)
    case.members.append(row)
    db.session.flush()
    audit.record("add_member", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"member_id": member.id})
    return row


def add_note(user: User, case: Case, body: str) -> CaseNote:
    """Write a note on a case the user can see."""
    _require(user, access.Action.ADD_NOTE, case, "You may not write notes on this case.")
    note = CaseNote(case=case, author_id=user.id, organisation_id=user.organisation_id,
                    body=validate.text(body, "note", TEXT_MAX))
    db.session.add(note)
    db.session.flush()
    audit.record("add_note", user=user, object_type="case_note", object_id=note.id, case_id=case.id)
    return note


def record_view(user: User, case: Case, *, metadata_only: bool = False) -> None:
    """Audit that the user opened the case page."""
    audit.record("view", user=user, object_type="case", object_id=case.id, case_id=case.id,
                 detail={"metadata_only": True} if metadata_only else None)
