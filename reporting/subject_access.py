"""Subject access: for one person, a workbook of everything Casebook holds about them that the requesting
organisation controls — the person record (if it registered them) and its changes before and after, the cases
it leads that they are on, notes and form answers there, and who viewed or received their information (the
audit and disclosure logs), and the consent they gave or refused. Other people's names are marked for review
before release, never silently kept or removed: whether to disclose them is a data protection officer's decision."""
from __future__ import annotations

import re
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select

from casework.errors import NotPermitted
from models import (AuditEvent, Case, CaseNote, CaseOrganisation, CaseParticipant, Consent, Disclosure, Document,
                    Organisation,
                    Person, PersonChange, User, WorkItem, audit, db, utcnow)
from models.enums import Role, label
from reporting.exports.xlsx import Book, Col, local_datetime
from workflows import formdata

PERSON_FIELDS = ("given_name", "family_name", "date_of_birth", "dob_estimated", "sex", "preferred_language",
                 "interpreter_required", "email", "phone", "address", "address_unsafe", "safe_contact",
                 "external_reference", "created_at", "updated_at")
VIEW_LIMIT = 10_000   # audit rows listed (a person viewed more often than this is listed newest first)


class NotController(NotPermitted):
    """The organisation neither registered the person nor leads a case they are on."""


def controlled_cases(user: User, person: Person) -> list[Case]:
    """Cases the user's organisation leads that the person is on."""
    return list(db.session.scalars(select(Case).join(CaseParticipant, CaseParticipant.case_id == Case.id)
                                   .where(CaseParticipant.person_id == person.id,
                                          Case.lead_organisation_id == user.organisation_id)
                                   .distinct().order_by(Case.opened_at)))


def check(user: User, person: Person) -> list[Case]:
    """The cases the pack covers, after checking the user may make it.

    :raise NotPermitted: not a manager; NotController: the organisation does not control the person's data
    """
    if not user.has_role(Role.MANAGER):
        raise NotPermitted("Subject access packs are made by managers.")
    cases = controlled_cases(user, person)
    if person.registered_by_org_id != user.organisation_id and not cases:
        raise NotController(f"{user.organisation.name} neither registered this person nor leads a case they are "
                            "on: the organisation that does answers the request")
    return cases


def _third_parties(person: Person, cases: list[Case]) -> dict[str, str]:
    """Other people on those cases: full name -> how they appear (role on which case)."""
    out: dict[str, str] = {}
    rows = db.session.execute(select(Person.given_name, Person.family_name, CaseParticipant.role, Case.reference)
                              .join(CaseParticipant, CaseParticipant.person_id == Person.id)
                              .join(Case, Case.id == CaseParticipant.case_id)
                              .where(Case.id.in_([c.id for c in cases]), Person.id != person.id))
    for given, family, role, reference in rows:
        out.setdefault(f"{given} {family}", f"{role.value} on {reference}")
    return out


def _marker(names: dict[str, str]):
    """A function marking third parties' names (whole name, or the family name alone) in a text."""
    words = sorted({n for full in names for n in (full, full.split()[-1]) if len(n) >= 3}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None

    def mark(text: Any) -> tuple[str | None, str]:
        if text is None or pattern is None:
            return (None if text is None else str(text)), ""
        found = sorted({m.group(0) for m in pattern.finditer(str(text))})
        return pattern.sub(lambda m: f"[REVIEW: {m.group(0)}]", str(text)), ", ".join(found)
    return mark


def build(user: User, person: Person, out: IO[bytes]) -> dict[str, int]:
    """Write the pack; returns rows per sheet. Audited as a subject access disclosure.

    :raise NotPermitted, NotController:
    """
    cases = check(user, person)
    case_ids = [c.id for c in cases]
    references = {c.id: c.reference for c in cases}
    parties = _third_parties(person, cases)
    mark = _marker(parties)
    book = Book(f"Subject access pack: person {person.id}",
                f"made by {user.email} ({user.organisation.name}) on {local_datetime(utcnow()):%d/%m/%Y %H:%M}")
    counts: dict[str, int] = {}

    summary = book.sheet("Summary", [Col("item", width=34), Col("value", width=90)], "What this pack holds")
    controls_record = person.registered_by_org_id == user.organisation_id
    held = _documents(person, case_ids, controls_record)
    summary.extend([
        ("person", f"{person.given_name} {person.family_name} (Casebook person {person.id})"),
        ("organisation answering", user.organisation.name),
        ("person record", "included (registered by this organisation)" if controls_record else
         f"not included: registered by {person.registered_by_org.name}, who answers for it"),
        ("cases included", ", ".join(c.reference for c in cases) or "none led by this organisation"),
        ("third parties", f"{len(parties)} other people appear on these cases; their names are marked "
                          "[REVIEW: …] wherever they occur, for the data protection officer to decide"),
        ("documents", f"{len(held)} document{'' if len(held) == 1 else 's'} (uploads and letters) on these cases or "
                      "this person, listed on the "
                      "Documents sheet; their files are taken from Casebook and reviewed before release"
                      if held else "Casebook holds no documents for these cases or this person"),
        ("made", f"{local_datetime(utcnow()):%d/%m/%Y %H:%M} by {user.email}"),
    ])

    record = book.sheet("Person record", [Col("field", width=24), Col("value", width=60)], "The person record")
    if controls_record:
        record.extend((f, _plain(getattr(person, f))) for f in PERSON_FIELDS)
    counts["person record"] = record.rows

    changes = book.sheet("Changes", [Col("changed_at", "datetime"), Col("field"), Col("before", width=40),
                                     Col("after", width=40), Col("changed_by", width=30)],
                         "Changes to the person record (rectification): before and after")
    if controls_record:
        changes.extend(db.session.execute(
            select(PersonChange.changed_at, PersonChange.field, PersonChange.before, PersonChange.after, User.email)
            .outerjoin(User, User.id == PersonChange.changed_by_id)
            .where(PersonChange.person_id == person.id).order_by(PersonChange.id)))
    counts["changes"] = changes.rows

    case_sheet = book.sheet("Cases", [Col("reference"), Col("case_type"), Col("their_role"), Col("status"),
                                      Col("opened_at", "datetime"), Col("closed_at", "datetime"),
                                      Col("title", width=40), Col("summary", width=60), Col("review", width=30)],
                            "Cases this organisation leads that the person is on")
    roles = dict(db.session.execute(select(CaseParticipant.case_id, CaseParticipant.role)
                                    .where(CaseParticipant.person_id == person.id,
                                           CaseParticipant.case_id.in_(case_ids))).all())
    for case in cases:
        title, t_names = mark(case.title)
        summary_text, s_names = mark(case.summary)
        case_sheet.append((case.reference, case.case_type.name if case.case_type else case.case_type_code,
                           label(roles[case.id].value), label(case.status.value),
                           case.opened_at, case.closed_at, title, summary_text, _join(t_names, s_names)))
    counts["cases"] = case_sheet.rows

    notes = book.sheet("Notes", [Col("case"), Col("written_at", "datetime"), Col("organisation", width=30),
                                 Col("note", width=80), Col("review", width=30)], "Notes on those cases")
    for reference, written, org, body in db.session.execute(
            select(Case.reference, CaseNote.created_at, Organisation.name, CaseNote.body)
            .join(Case, Case.id == CaseNote.case_id).join(Organisation, Organisation.id == CaseNote.organisation_id)
            .where(CaseNote.case_id.in_(case_ids)).order_by(CaseNote.created_at)):
        text, names = mark(body)
        notes.append((reference, written, org, text, names))
    counts["notes"] = notes.rows

    answers = book.sheet("Answers", [Col("case"), Col("step", width=30), Col("completed_at", "datetime"),
                                     Col("field", width=24), Col("answer", width=60), Col("review", width=30)],
                         "Answers given in the processes on those cases")
    for reference, item in db.session.execute(
            select(Case.reference, WorkItem).join(Case, Case.id == WorkItem.case_id)
            .where(WorkItem.case_id.in_(case_ids), WorkItem.data.is_not(None)).order_by(WorkItem.id)):
        # In the diagram's words, as the case history shows them; what the form did not ask follows by name.
        for field, value in formdata.readable(item.fields, item.answers):
            text, names = mark(value)
            answers.append((reference, item.title, item.completed_at, field, text, names))
    counts["answers"] = answers.rows

    files = book.sheet("Documents", [Col("case"), Col("title", width=36), Col("file", width=30), Col("kind"),
                                     Col("uploaded_at", "datetime"), Col("uploaded_by", width=30),
                                     Col("state", width=30), Col("document", "int"), Col("review", width=30)],
                       "Documents on those cases or on the person (every version; deleted ones are still held)")
    for doc, organisation in held:
        (title, in_title), (name, in_name) = mark(doc.title), mark(doc.name)
        files.append((references.get(doc.case_id), title, name, label(doc.kind), doc.uploaded_at, organisation,
                      f"deleted {local_datetime(doc.deleted_at):%d/%m/%Y}: {doc.delete_reason}" if doc.deleted_at
                      else f"version {doc.version}" + ("" if doc.latest else " (an earlier version)"), doc.id,
                      _join(in_title, in_name)))
    counts["documents"] = files.rows

    consents = book.sheet("Consent", [Col("recorded_at", "datetime"), Col("given"), Col("purpose", width=40),
                                      Col("organisations", width=30), Col("method"), Col("recorded_by", width=30),
                                      Col("case"), Col("withdrawn_at", "datetime")],
                          "Consent they gave or refused, recorded by this organisation or on its cases")
    for row in db.session.scalars(select(Consent).where(
            Consent.person_id == person.id,
            (Consent.recorded_by_org_id == user.organisation_id) | Consent.case_id.in_(case_ids))
            .order_by(Consent.recorded_at)):
        consents.append((row.recorded_at, "given" if row.given else "refused", row.purpose, row.organisations,
                         row.method, row.recorded_by.email if row.recorded_by else None,
                         references.get(row.case_id), row.withdrawn_at))
    counts["consent"] = consents.rows

    views = book.sheet("Views and disclosures", [Col("at", "datetime"), Col("who", width=30),
                                                 Col("organisation", width=30), Col("what", width=20),
                                                 Col("object", width=24), Col("case")],
                       "Who viewed, changed, exported or received this information (audit and disclosure logs)")
    orgs = dict(db.session.execute(select(Organisation.id, Organisation.name)).all())
    # Two index probes (case_id, object_id) rather than one OR, which PostgreSQL may answer by walking the
    # whole log backwards by id for a person seen rarely.
    columns = (AuditEvent.id, AuditEvent.at, AuditEvent.user_email, AuditEvent.organisation_id, AuditEvent.action,
               AuditEvent.object_type, AuditEvent.object_id, AuditEvent.case_id)
    found = {}
    searched = {audit.term_digest(n) for n in _name_forms(person)}
    for condition in (AuditEvent.case_id.in_(case_ids),
                      (AuditEvent.object_id == str(person.id)) & (AuditEvent.object_type == "person"),
                      AuditEvent.object_id.in_(searched) & (AuditEvent.action == "search")):
        for row in db.session.execute(select(*columns).where(condition).order_by(AuditEvent.id.desc())
                                      .limit(VIEW_LIMIT)):
            found[row.id] = row
    for _id, at, email, org_id, action, object_type, object_id, case_id in \
            sorted(found.values(), key=lambda r: r.id, reverse=True)[:VIEW_LIMIT]:
        what = f"{object_type} {object_id}" if object_id not in searched else f"{object_type} list, by their name"
        views.append((at, email, orgs.get(org_id), action, what, references.get(case_id)))
    for reference, org, added in db.session.execute(
            select(Case.reference, Organisation.name, CaseOrganisation.added_at)
            .join(Case, Case.id == CaseOrganisation.case_id)
            .join(Organisation, Organisation.id == CaseOrganisation.organisation_id)
            .where(CaseOrganisation.case_id.in_(case_ids))):
        views.append((added, None, org, "shared with", "case", reference))
    # The disclosure log: what went to whom, under which agreement or basis (shares, exports, granted requests).
    for at, email, org, what, basis, case_id in db.session.execute(
            select(Disclosure.at, User.email, Organisation.name, Disclosure.what, Disclosure.basis, Disclosure.case_id)
            .join(Organisation, Organisation.id == Disclosure.organisation_id)
            .outerjoin(User, User.id == Disclosure.by_user_id)
            .where(Disclosure.case_id.in_(case_ids) | (Disclosure.person_id == person.id))
            .order_by(Disclosure.id).limit(VIEW_LIMIT)):
        views.append((at, email, org, f"disclosed: {what}", basis, references.get(case_id)))
    counts["views and disclosures"] = views.rows

    others = book.sheet("Third parties", [Col("name", width=30), Col("appears_as", width=40),
                                          Col("decision", width=30)],
                        "Other people whose names are marked for review (not for release without a decision)")
    others.extend((name, how, "review before release") for name, how in sorted(parties.items()))
    book.save(out)
    audit.record("subject_access", user=user, object_type="person", object_id=person.id,
                 detail={"cases": [c.reference for c in cases], "rows": counts})
    return counts


def _documents(person: Person, case_ids: list[int], controls_record: bool) -> list[tuple[Document, str | None]]:
    """Documents on the cases the pack covers and, when this organisation controls the person record, on the
    person; with the uploading organisation's name."""
    where = Document.case_id.in_(case_ids or [0])
    if controls_record:
        where = where | (Document.person_id == person.id)
    return list(db.session.execute(
        select(Document, Organisation.name).outerjoin(User, User.id == Document.uploaded_by_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id).where(where)
        .order_by(Document.uploaded_at, Document.id)).all())


def _name_forms(person: Person) -> list[str]:
    """The ways someone would type this person's name into a search box."""
    given, family = person.given_name or "", person.family_name or ""
    return [n for n in (f"{given} {family}", f"{family} {given}", family, given) if n.strip()]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return f"{local_datetime(value):%d/%m/%Y %H:%M}"
    return None if value is None else str(value)


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)

