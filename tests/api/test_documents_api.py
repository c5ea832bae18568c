"""The documents contract (issue 16): POST /cases/<id>/documents → 201 {"id","name","size","content_type","scanned"},
refused content → 422 {"error"}; GET /cases/<id>/documents; GET /documents/<id> the file, or 404."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from casework import tokens
from models import AuditEvent, Document, DocumentBlob, db
from tests.factories import make_case, make_org, make_user
from tests.fixtures import files
from tests.fixtures.clamd import EICAR, SIGNATURE, clamd_socket  # noqa: F401  (a fixture)


@pytest.fixture
def parties(ctx, client):
    police, vs = make_org("police", "police", "Notts Police"), make_org("vs", "victim_services", "Victim Services")
    council = make_org("council", "council", "Mansfield DC")
    users = {"pc": make_user(police, "practitioner", email="pc@police.example.org"),
             "pc2": make_user(police, "practitioner", email="pc2@police.example.org"),
             "vs": make_user(vs, "practitioner", email="cw@vs.example.org"),
             "outsider": make_user(council, "practitioner", email="asb@council.example.org")}
    case = make_case(users["pc"], organisation_ids=[vs.id])
    restricted = make_case(users["pc"], title="Restricted", restricted=True)
    headers = {name: {"Authorization": f"Bearer {tokens.issue(user)}"} for name, user in users.items()}
    db.session.commit()
    return {"case": case.id, "restricted": restricted.id, "headers": headers, "users": users}


def upload(client, parties, data: bytes, name: str = "consent.pdf", who: str = "pc", case: str = "case",
           **form):
    return client.post(f"/api/v1/cases/{parties[case]}/documents", headers=parties["headers"][who],
                       data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_upload_list_and_download(client, parties):
    data = files.pdf()
    answer = upload(client, parties, data, "../../Consent form.pdf", title="Signed consent")
    assert answer.status_code == 201, answer.json
    doc = answer.json
    assert set(doc) == {"id", "name", "size", "content_type", "scanned"}
    assert (doc["name"], doc["size"], doc["content_type"], doc["scanned"]) == (
        "Consent form.pdf", len(data), "application/pdf", False)
    listed = client.get(f"/api/v1/cases/{parties['case']}/documents", headers=parties["headers"]["vs"])
    assert listed.status_code == 200
    (row,) = listed.json
    assert set(row) == {"id", "name", "size", "content_type", "uploaded_by", "uploaded_at"}
    assert (row["id"], row["uploaded_by"]) == (doc["id"], parties["users"]["pc"].name)
    assert row["uploaded_at"].endswith("+00:00")
    got = client.get(f"/api/v1/documents/{doc['id']}", headers=parties["headers"]["vs"])
    assert got.status_code == 200 and got.data == data
    assert got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert 'filename="Consent form.pdf"' in got.headers["Content-Disposition"]
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert _count(AuditEvent) and db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "download_document")) == 1


def test_unicode_names_are_sent_with_filename_star(client, parties):
    doc = upload(client, parties, files.pdf(), "Zeugenaussage Müller.pdf").json
    got = client.get(f"/api/v1/documents/{doc['id']}", headers=parties["headers"]["pc"])
    assert "filename*=UTF-8''Zeugenaussage%20M%C3%BCller.pdf" in got.headers["Content-Disposition"]


def test_access_rules(client, parties):
    """The lead and a partner download; an organisation not on the case and a restricted case's non-members
    get 404, the same as for a document that does not exist."""
    doc = upload(client, parties, files.pdf()).json["id"]
    secret = upload(client, parties, files.pdf("secret"), case="restricted").json["id"]
    for who in ("pc", "vs"):
        assert client.get(f"/api/v1/documents/{doc}", headers=parties["headers"][who]).status_code == 200
    for who, target in (("outsider", doc), ("pc2", secret), ("vs", secret), ("outsider", 999999)):
        refused = client.get(f"/api/v1/documents/{target}", headers=parties["headers"][who])
        assert refused.status_code == 404 and refused.is_json and refused.json["error"]
    assert client.get(f"/api/v1/cases/{parties['case']}/documents",
                      headers=parties["headers"]["outsider"]).status_code == 404
    # Every organisation on the case uploads; one not on it does not learn the case exists.
    assert upload(client, parties, files.pdf("partner's"), who="vs").status_code == 201
    assert upload(client, parties, files.pdf(), who="outsider").status_code == 404
    assert client.get(f"/api/v1/documents/{doc}").status_code == 401


@pytest.mark.parametrize("data,name,words", [
    (b"", "empty.pdf", "empty"),
    (files.EXE, "invoice.pdf", "program"),
    (files.zip_bomb_docx(64), "minutes.docx", "zip bomb"),
    (b"<html><body><script>alert(1)</script></body></html>", "x.html", "web pages"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", "SVG"),
])
def test_refused_content_is_422_with_nothing_stored(client, parties, data, name, words):
    answer = upload(client, parties, data, name)
    assert answer.status_code == 422 and answer.is_json
    assert words in answer.json["error"]
    assert _count(Document) == 0 and _count(DocumentBlob) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "refuse_document")) == 1


def test_too_big_is_422_naming_the_limit_and_a_huge_request_is_413_json(app, client, parties):
    app.config["DOCUMENT_MAX_BYTES"] = 2048
    answer = upload(client, parties, b"a" * 3000, "notes.txt")
    assert answer.status_code == 422 and "limit" in answer.json["error"]
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    answer = upload(client, parties, b"a" * 20_000, "notes.txt")
    assert answer.status_code == 413 and answer.is_json
    assert answer.json["error"] == "the request is larger than the 9.8 KB this server accepts; documents may be " \
                                   "at most 2 KB"
    assert _count(Document) == 0


def test_a_missing_file_field_is_a_400_json(client, parties):
    answer = client.post(f"/api/v1/cases/{parties['case']}/documents", headers=parties["headers"]["pc"],
                         data={"title": "no file"}, content_type="multipart/form-data")
    assert answer.status_code == 400 and "file" in answer.json["error"]


def test_eicar_is_refused_and_a_clean_pdf_is_scanned(app, client, parties, clamd_socket):  # noqa: F811
    app.config["CLAMD_SOCKET"] = clamd_socket
    refused = upload(client, parties, EICAR, "eicar.txt")
    assert refused.status_code == 422 and SIGNATURE in refused.json["error"]
    assert _count(Document) == 0
    clean = upload(client, parties, files.pdf())
    assert clean.status_code == 201 and clean.json["scanned"] is True
    got = client.get(f"/api/v1/documents/{clean.json['id']}", headers=parties["headers"]["vs"])
    assert got.data == files.pdf()


def test_scanner_down_is_422_not_500(app, client, parties, tmp_path):
    app.config["CLAMD_SOCKET"] = str(tmp_path / "gone.sock")
    answer = upload(client, parties, files.pdf())
    assert answer.status_code == 422 and "not answering" in answer.json["error"]
