"""Documents on cases and people: upload (checked by content, scanned by ClamAV when configured), list, download,
versions, deletion with a reason (kept for the audit).

`store` is the one way in: the console, the API, letters and meetings all call it, so every stored file passed
the same checks. Services flush; the caller commits. Bytes live in `document_blob` by default (every app server
sees them) or, with DOCUMENT_DIR, in a file named by id and SHA-256 (never by the sender's name).
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy import delete as sql_delete
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, lazyload

import access
from casework import clamd, filecheck, validate
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import Case, Document, DocumentBlob, Person, User, audit, db, utcnow
from models.base import TITLE_MAX

CLEAN, NOT_SCANNED = "clean", "not_scanned"
REASON_MAX = 1000
_KIND = re.compile(r"^[a-z][a-z_]{0,31}$")
SCANNER_SILENT = "the virus scanner is not answering; try again or tell your administrator"


def store(user: User, *, case: Case | None = None, person: Person | None = None, name: str, data: bytes,
          title: str | None = None, kind: str = "upload", sent_by: str | None = None,
          replaces: Document | None = None) -> Document:
    """Check, scan and store a file on a case, a person or both; with `replaces`, as its next version (on the
    same case and person). Nothing is stored when it is refused.

    :raise InvalidInput: {"file": why} (empty, too big, a type not allowed, a zip bomb, a virus, scanner down) or
        {"title": why}
    :raise NotPermitted: the user may not add documents there
    """
    if replaces is not None:
        case, person = _owner_case(replaces), _owner_person(replaces)
        if not access.can(user, access.Action.EDIT, replaces):
            raise NotPermitted("You may not add a version of this document.")
    if case is None and person is None:
        raise InvalidInput({"file": "a document belongs to a case or a person"})
    if not _may_add(user, case, person):
        raise NotPermitted("You may not add documents here.")
    if not _KIND.match(kind or ""):
        raise InvalidInput({"kind": f"{kind!r} is not a kind of document"})
    sent_by = validate.text(sent_by, "sent_by", 32, required=False)
    checked = filecheck.check(name, data, max_bytes())
    title = validate.text(title, "title", TITLE_MAX, required=False) \
        or (replaces.title if replaces is not None else checked.name.rsplit(".", 1)[0])
    scanned = _scan(data)
    doc = Document(case_id=case.id if case else None, person_id=person.id if person else None, title=title,
                   name=checked.name, content_type=checked.content_type, size=len(data),
                   sha256=hashlib.sha256(data).hexdigest(), scanned=scanned, kind=kind, sent_by=sent_by,
                   version=1, latest=True, uploaded_by_id=user.id, uploaded_at=utcnow(),
                   storage="dir" if current_app.config.get("DOCUMENT_DIR") else "db")
    if replaces is not None:
        previous = _latest_locked(replaces)
        doc.family_id, doc.version = previous.family_id, previous.version + 1
        previous.latest = False
    db.session.add(doc)
    db.session.flush()
    if doc.family_id is None:
        doc.family_id = doc.id
    _write(doc, data)
    db.session.flush()
    audit.record("new_document_version" if replaces is not None else "upload_document", user=user,
                 object_type="document", object_id=doc.id, case_id=doc.case_id,
                 detail={"name": doc.name, "size": doc.size, "content_type": doc.content_type, "scanned": scanned,
                         "sha256": doc.sha256, "kind": kind, "person_id": doc.person_id, "version": doc.version,
                         "family_id": doc.family_id})
    return doc


def new_version(user: User, doc: Document, name: str, data: bytes, title: str | None = None) -> Document:
    """Store `data` as the next version of `doc` (its title kept unless given).

    :raise InvalidInput, NotPermitted: as store
    """
    return store(user, name=name, data=data, title=title, kind=doc.kind, sent_by=doc.sent_by, replaces=doc)


def record_refusal(user: User, *, case: Case | None = None, person: Person | None = None, name: str | None,
                   refused: InvalidInput) -> None:
    """Audit a refused upload (the caller rolled back the request's changes and commits this alone)."""
    audit.record("refuse_document", user=user, object_type="document", case_id=case.id if case else None,
                 detail={"name": (name or "")[:200], "person_id": person.id if person else None,
                         "reason": "; ".join(refused.fields.values())[:500]})


def get(user: User, document_id: object) -> Document:
    """A document the user may see (not deleted).

    :raise NotFound: no such document, deleted, or not visible to the user
    """
    number = validate.whole_number(document_id)
    doc = db.session.scalar(access.visible(user, Document).where(Document.id == number)) if number else None
    if doc is None:
        raise NotFound("no such document")
    access.remember_visible(user, doc)
    return doc


def download(user: User, doc: Document) -> bytes:
    """The document's bytes for the user, audited as a download.

    :raise NotFound: the user may not see it
    """
    if not access.can(user, access.Action.VIEW, doc):
        raise NotFound("no such document")
    data = read(doc)
    audit.record("download_document", user=user, object_type="document", object_id=doc.id, case_id=doc.case_id,
                 detail={"name": doc.name, "version": doc.version, "person_id": doc.person_id})
    return data


def read(doc: Document) -> bytes:
    """The stored bytes, checked against the SHA-256 taken at upload.

    :raise NotFound: the bytes are missing or changed since (the file store was altered)
    """
    if doc.storage == "dir":
        try:
            data = _path(doc).read_bytes()
        except OSError:
            raise NotFound("the document's file is missing from the document store") from None
    else:
        data = db.session.scalar(select(DocumentBlob.data).where(DocumentBlob.document_id == doc.id))
        if data is None:
            raise NotFound("the document's bytes are missing")
    if hashlib.sha256(data).hexdigest() != doc.sha256:
        raise NotFound("the document's bytes no longer match what was uploaded")
    return bytes(data)


def list_for_case(case: Case) -> list[Document]:
    """The latest version of each document on the case, deleted ones left out, newest first (one query)."""
    return list(db.session.scalars(
        select(Document).where(Document.case_id == case.id, Document.deleted_at.is_(None),
                               Document.latest.is_(True))
        .order_by(Document.uploaded_at.desc(), Document.id.desc())))


def list_for_person(person: Person, user: User | None = None) -> list[Document]:
    """The latest version of each document on the person, newest first; with `user`, only those the user may see
    (a document that also names a case follows the case's rules)."""
    stmt = select(Document).where(Document.person_id == person.id, Document.deleted_at.is_(None),
                                  Document.latest.is_(True))
    if user is not None:
        stmt = stmt.where(access.clause(user, Document))
    return list(db.session.scalars(stmt.order_by(Document.uploaded_at.desc(), Document.id.desc())))


def versions(doc: Document) -> list[Document]:
    """Every version of the document (deleted ones left out), newest first."""
    return list(db.session.scalars(
        select(Document).where(Document.family_id == doc.family_id, Document.deleted_at.is_(None))
        .order_by(Document.version.desc())))


def delete(user: User, doc: Document, reason: str | None) -> Document:
    """Delete a document (every version of it) with a reason: kept for the audit, no longer listed or served.

    :raise InvalidInput: {"reason": ...} when none is given
    :raise NotPermitted: the user may not delete it
    """
    if not access.can(user, access.Action.DELETE, doc):
        raise NotPermitted("You may not delete this document.")
    reason = validate.text(reason, "reason", REASON_MAX)
    now = utcnow()
    done = db.session.execute(
        update(Document).where(Document.family_id == doc.family_id, Document.deleted_at.is_(None))
        .values(deleted_at=now, deleted_by_id=user.id, delete_reason=reason)
        .execution_options(synchronize_session="fetch")).rowcount
    audit.record("delete_document", user=user, object_type="document", object_id=doc.id, case_id=doc.case_id,
                 detail={"name": doc.name, "reason": reason, "versions": done, "person_id": doc.person_id})
    db.session.flush()
    return doc


def remove_all(case_ids: list[int], person_ids: list[int]) -> int:
    """Erase every document (all versions, deleted ones too) on these cases or people, for retention: the rows
    and blobs now, files in DOCUMENT_DIR once the transaction commits (a rollback keeps them). Returns how many."""
    if not case_ids and not person_ids:
        return 0
    found = db.session.execute(select(Document.id, Document.sha256, Document.storage).where(
        or_(Document.case_id.in_(case_ids or [0]), Document.person_id.in_(person_ids or [0])))).all()
    if not found:
        return 0
    ids = [row.id for row in found]
    db.session.execute(sql_delete(DocumentBlob).where(DocumentBlob.document_id.in_(ids)))
    db.session.execute(sql_delete(Document).where(Document.id.in_(ids)))
    if current_app.config.get("DOCUMENT_DIR"):
        folder = Path(current_app.config["DOCUMENT_DIR"])
        db.session.info.setdefault(_UNLINK, []).extend(
            folder / f"{row.id:010d}-{row.sha256}" for row in found if row.storage == "dir")
    return len(found)


_UNLINK = "documents_to_unlink"


@event.listens_for(Session, "after_commit")
def _unlink_committed(session: Session) -> None:
    """The files of documents a committed transaction erased go too (a file never outlives its row)."""
    for path in session.info.pop(_UNLINK, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep_on_rollback(session: Session) -> None:
    session.info.pop(_UNLINK, None)


def max_bytes() -> int:
    """The largest document that may be stored (DOCUMENT_MAX_BYTES)."""
    return int(current_app.config["DOCUMENT_MAX_BYTES"])


def scanner() -> clamd.Scanner | None:
    """The configured ClamAV daemon, or None when uploads go unscanned."""
    cfg = current_app.config
    if cfg.get("CLAMD_SOCKET"):
        return clamd.Scanner(socket_path=cfg["CLAMD_SOCKET"], timeout=cfg.get("CLAMD_TIMEOUT", 30.0))
    if cfg.get("CLAMD_HOST"):
        return clamd.Scanner(host=cfg["CLAMD_HOST"], port=int(cfg.get("CLAMD_PORT") or 3310),
                             timeout=cfg.get("CLAMD_TIMEOUT", 30.0))
    return None


def _scan(data: bytes) -> str:
    found = scanner()
    if found is None:
        return NOT_SCANNED
    try:
        signature = found.scan(data)
    except clamd.ScannerUnavailable:
        current_app.logger.error("clamd at %s is not answering: an upload was refused", found.where)
        raise InvalidInput({"file": SCANNER_SILENT}) from None
    except clamd.ScanError as exc:
        raise InvalidInput({"file": f"the virus scanner could not check the file ({exc}); tell your "
                                    "administrator"}) from None
    if signature:
        raise InvalidInput({"file": f"the virus scanner found {signature} in the file: it was not stored"})
    return CLEAN


def _may_add(user: User, case: Case | None, person: Person | None) -> bool:
    if case is not None:
        # Every agency on the case attaches what it holds (a signed consent form, a referral, a photo).
        return access.can(user, access.Action.ADD_NOTE, case)
    return person is not None and access.can(user, access.Action.EDIT, person)


def _owner_case(doc: Document) -> Case | None:
    return db.session.get(Case, doc.case_id) if doc.case_id else None


def _owner_person(doc: Document) -> Person | None:
    return db.session.get(Person, doc.person_id) if doc.person_id else None


def _latest_locked(doc: Document) -> Document:
    """The family's latest version, locked: two new versions at once get numbers one after the other."""
    if doc.deleted_at is not None:
        raise NotFound("no such document")
    latest = db.session.scalar(select(Document).where(Document.family_id == doc.family_id,
                                                      Document.latest.is_(True))
                               .options(lazyload(Document.uploaded_by)).with_for_update(of=Document))
    if latest is None or latest.deleted_at is not None:
        raise Conflict("this document was deleted meanwhile")
    return latest


def _path(doc: Document) -> Path:
    return Path(current_app.config["DOCUMENT_DIR"]) / f"{doc.id:010d}-{doc.sha256}"


def _write(doc: Document, data: bytes) -> None:
    if doc.storage == "db":
        db.session.add(DocumentBlob(document_id=doc.id, data=data))
        return
    target = _path(doc)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then renamed: a reader never sees half a file.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
