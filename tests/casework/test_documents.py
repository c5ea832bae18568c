"""Documents on cases and people: checked by content, scanned by a real clamd, stored in the database or a
directory, versioned, deleted with a reason, and seen only by whom the case (or person) allows."""
from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import func, select

from casework import documents
from casework.errors import InvalidInput, NotFound, NotPermitted
from models import AuditEvent, Case, Document, DocumentBlob, db
from tests.factories import make_case, make_org, make_person, make_user
from tests.fixtures import files
from tests.fixtures.clamd import EICAR, SIGNATURE, clamd_socket  # noqa: F401  (a fixture)


@pytest.fixture
def world(ctx):
    police, vs = make_org("police", "police", "Notts Police"), make_org("vs", "victim_services", "Victim Services")
    council = make_org("council", "council", "Mansfield DC")
    pc = make_user(police, "practitioner", email="pc@police.example.org")
    pc2 = make_user(police, "practitioner", email="pc2@police.example.org")
    worker = make_user(vs, "practitioner", email="cw@vs.example.org")
    outsider = make_user(council, "practitioner", email="asb@council.example.org")
    victim = make_person(pc, "Margaret", "Ellison")
    case = make_case(pc, participants=[(victim.id, "victim")], organisation_ids=[vs.id])
    restricted = make_case(pc, title="Restricted", restricted=True)
    return {"pc": pc, "pc2": pc2, "vs": worker, "outsider": outsider, "victim": victim, "case": case,
            "restricted": restricted}


def store(world, data: bytes, name: str = "consent.pdf", by: str = "pc", **kwargs) -> Document:
    kwargs.setdefault("case", world["case"])
    doc = documents.store(world[by], name=name, data=data, **kwargs)
    db.session.commit()
    return doc


def refused(world, data: bytes, name: str = "x.pdf", **kwargs) -> str:
    with pytest.raises(InvalidInput) as caught:
        store(world, data, name, **kwargs)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Document.id))) == 0
    assert db.session.scalar(select(func.count()).select_from(DocumentBlob)) == 0
    return caught.value.fields.get("file") or str(caught.value)


def test_a_clean_pdf_is_stored_and_read_back(world):
    data = files.pdf()
    doc = store(world, data, title="Signed consent form")
    assert (doc.name, doc.content_type, doc.size, doc.version, doc.family_id) == (
        "consent.pdf", "application/pdf", len(data), 1, doc.id)
    assert doc.scanned == documents.NOT_SCANNED and doc.storage == "db" and doc.kind == "upload"
    assert documents.read(doc) == data
    assert [d.id for d in documents.list_for_case(world["case"])] == [doc.id]
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "document",
                                                        AuditEvent.object_id == str(doc.id))) \
        == "upload_document"


def test_the_list_is_one_query_and_never_loads_the_bytes(world, app):
    for n in range(3):
        store(world, files.pdf(f"page {n}"), f"doc{n}.pdf")
    case_id = world["case"].id
    db.session.expunge_all()   # nothing cached: the list loads its rows and their uploaders itself
    case = db.session.get(Case, case_id)
    statements = []
    from sqlalchemy import event

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        rows = documents.list_for_case(case)
        names = [(d.name, d.uploaded_by.name) for d in rows]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert [n for n, _ in names] == ["doc2.pdf", "doc1.pdf", "doc0.pdf"]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len([s for s in selects if "document" in s]) == 1
    assert not any("document_blob" in s for s in statements)


def test_empty_and_too_big_files_are_refused(world, app):
    assert "empty" in refused(world, b"")
    app.config["DOCUMENT_MAX_BYTES"] = 1000
    message = refused(world, b"a" * 1001, "notes.txt")
    assert "larger than the" in message and "limit" in message


@pytest.mark.parametrize("data,name,words", [
    (files.EXE, "invoice.pdf", "program"),
    (b"#!/bin/sh\nrm -rf /\n", "notes.txt", "script"),
    (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "page.txt", "web pages"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>', "logo.png", "SVG"),
    (files.plain_zip(), "letters.docx", "archives"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(40), "x.gz", "archives"),
    (files.docx(extra={"word/vbaProject.bin": b"macro"}), "letter.docx", "macros"),
])
def test_dangerous_content_is_refused_whatever_its_name(world, data, name, words):
    assert words in refused(world, data, name)


def test_a_zip_bomb_dressed_as_a_docx_is_refused_without_extracting(world, tmp_path):
    bomb = files.zip_bomb_docx(64)
    assert len(bomb) < 1024 * 1024
    assert "zip bomb" in refused(world, bomb, "minutes.docx")
    assert list(tmp_path.iterdir()) == [] or all(p.name != "word" for p in tmp_path.iterdir())


def test_a_real_docx_is_stored_as_a_word_document(world):
    doc = store(world, files.docx("Dear Margaret"), "letter.docx")
    assert doc.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("given,expected", [
    ("../../x", "x.pdf"),
    ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
    ("rep\x00ort\x1b\x07.pdf", "report.pdf"),
    ("invoice\u202egpj.pdf", "invoicegpj.pdf"),          # right-to-left override: no "fdp.jpg" trick
    ("a<b>c:d|e?f*.pdf", "a_b_c_d_e_f_.pdf"),
    ("CON.pdf", "_CON.pdf"),
    ("...", "document.pdf"),
    ("", "document.pdf"),
    ("Zeugenaussage – Müller 日本.pdf", "Zeugenaussage – Müller 日本.pdf"),
    ("scan.jpg", "scan.pdf"),                            # the extension follows the content
    ("minutes v2.3", "minutes v2.3.pdf"),
    ("x" * 300 + ".pdf", "x" * 156 + ".pdf"),
])
def test_names_are_made_safe(world, given, expected):
    assert store(world, files.pdf(), given).name == expected


def test_the_extension_follows_the_content(world):
    assert store(world, files.PNG, "photo.jpg").name == "photo.png"
    doc = store(world, b"name,age\nA,1\n", "people.csv")
    assert (doc.name, doc.content_type) == ("people.csv", "text/csv")


def test_a_bad_title_is_refused_at_its_field(world):
    with pytest.raises(InvalidInput) as caught:
        store(world, files.pdf(), title="x" * 201)
    assert "title" in caught.value.fields


def test_versions_share_a_family_and_the_list_shows_the_latest(world):
    first = store(world, files.pdf("one"), "plan.pdf", title="Safety plan")
    second = documents.new_version(world["pc"], first, "plan-v2.pdf", files.pdf("two"))
    db.session.commit()
    assert (second.family_id, second.version, second.title) == (first.id, 2, "Safety plan")
    assert [d.id for d in documents.list_for_case(world["case"])] == [second.id]
    assert [d.version for d in documents.versions(first)] == [2, 1]
    assert documents.read(first) == files.pdf("one") and documents.read(second) == files.pdf("two")
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("%document%"))
                                .order_by(AuditEvent.id)).all()
    assert actions == ["upload_document", "new_document_version"]


def test_delete_needs_a_reason_and_keeps_the_rows(world):
    doc = store(world, files.pdf())
    with pytest.raises(InvalidInput) as caught:
        documents.delete(world["pc"], doc, "  ")
    assert "reason" in caught.value.fields
    db.session.rollback()
    documents.delete(world["pc"], doc, "uploaded to the wrong case")
    db.session.commit()
    assert documents.list_for_case(world["case"]) == []
    with pytest.raises(NotFound):
        documents.get(world["pc"], doc.id)
    kept = db.session.get(Document, doc.id)
    assert kept.deleted_at is not None and kept.delete_reason == "uploaded to the wrong case"
    assert kept.deleted_by_id == world["pc"].id and documents.read(kept) == files.pdf()
    assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "delete_document"))


def test_who_sees_and_who_changes(world):
    """Lead and partner download; another organisation and a restricted case's non-members get nothing."""
    doc = store(world, files.pdf())
    secret = store(world, files.pdf("secret"), case=world["restricted"])
    for who in ("pc", "vs"):
        assert documents.get(world[who], doc.id) == doc
        assert documents.download(world[who], doc) == files.pdf()
    for who, target in (("outsider", doc), ("pc2", secret), ("vs", secret), ("outsider", secret)):
        with pytest.raises(NotFound):
            documents.get(world[who], target.id)
        with pytest.raises(NotFound):
            documents.download(world[who], target)
    assert documents.get(world["pc"], secret.id) == secret
    # Every agency on the case attaches documents; only the uploader's organisation or the lead deletes one.
    theirs = documents.store(world["vs"], case=world["case"], name="consent.pdf", data=files.pdf("consent"))
    with pytest.raises(NotPermitted):
        documents.delete(world["vs"], doc, "no")
    with pytest.raises(NotPermitted):
        documents.store(world["outsider"], case=world["case"], name="x.pdf", data=files.pdf())
    documents.delete(world["vs"], theirs, "uploaded twice")
    documents.delete(world["pc"], doc, "superseded")   # the lead may
    db.session.rollback()


def test_a_persons_documents_follow_the_person(world):
    doc = store(world, files.pdf(), case=None, person=world["victim"])
    assert [d.id for d in documents.list_for_person(world["victim"], world["pc"])] == [doc.id]
    assert documents.get(world["pc"], doc.id) == doc
    with pytest.raises(NotFound):
        documents.get(world["outsider"], doc.id)
    assert documents.list_for_person(world["victim"], world["outsider"]) == []


def test_document_dir_keeps_bytes_in_files_named_by_id_and_hash(world, app, tmp_path):
    app.config["DOCUMENT_DIR"] = str(tmp_path / "store")
    data = files.pdf()
    doc = store(world, data, "../../etc/passwd.pdf")
    assert doc.storage == "dir"
    assert db.session.get(DocumentBlob, doc.id) is None
    stored = list((tmp_path / "store").iterdir())
    assert [p.name for p in stored] == [f"{doc.id:010d}-{doc.sha256}"]
    assert stored[0].read_bytes() == data and documents.read(doc) == data
    stored[0].write_bytes(b"tampered")
    with pytest.raises(NotFound):
        documents.read(doc)


def test_letters_record_their_kind_and_how_they_were_sent(world):
    doc = store(world, files.docx("Dear Margaret"), "letter.docx", kind="letter", sent_by="post",
                person=world["victim"])
    assert (doc.kind, doc.sent_by, doc.case_id, doc.person_id) == ("letter", "post", world["case"].id,
                                                                   world["victim"].id)


# --- the virus scanner -------------------------------------------------------------------------------------


def test_eicar_is_refused_by_a_real_clamd(world, app, clamd_socket):  # noqa: F811
    app.config["CLAMD_SOCKET"] = clamd_socket
    message = refused(world, EICAR, "eicar.txt")
    assert SIGNATURE in message and "not stored" in message


def test_a_clean_pdf_is_scanned_by_a_real_clamd(world, app, clamd_socket):  # noqa: F811
    app.config["CLAMD_SOCKET"] = clamd_socket
    doc = store(world, files.pdf())
    assert doc.scanned == documents.CLEAN and documents.read(doc) == files.pdf()


def test_an_unreachable_scanner_refuses_rather_than_stores_unscanned(world, app, tmp_path):
    app.config["CLAMD_SOCKET"] = str(tmp_path / "nobody.sock")
    assert refused(world, files.pdf()) == documents.SCANNER_SILENT


def test_a_silent_scanner_times_out(world, app, tmp_path):
    path = str(tmp_path / "silent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    app.config.update(CLAMD_SOCKET=path, CLAMD_TIMEOUT=0.5)
    try:
        assert refused(world, files.pdf()) == documents.SCANNER_SILENT
    finally:
        for conn, _ in held:
            conn.close()
        server.close()


def test_clamd_over_tcp_is_configured_by_host_and_port(app):
    with app.app_context():
        app.config.update(CLAMD_SOCKET="", CLAMD_HOST="127.0.0.1", CLAMD_PORT=3999)
        found = documents.scanner()
        assert (found.host, found.port, found.socket_path) == ("127.0.0.1", 3999, None)
        app.config.update(CLAMD_HOST="")
        assert documents.scanner() is None
