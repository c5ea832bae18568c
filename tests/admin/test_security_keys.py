"""Security keys as the second step of a login, checked against signatures made here.

`SoftKey` is a software authenticator: a real P-256 key signing real WebAuthn assertions (authenticator data,
client data, ECDSA over both), so the server's checks run on genuine input without a browser. It stands in for
the hardware only; tests/e2e/test_account.py adds and uses a key through Chromium's own WebAuthn API.
"""
from __future__ import annotations

import hashlib
import json
import struct

import cbor2
import pyotp
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from casework import mfa
from models import AuditEvent, SecurityKey, User, UserSession, db, utcnow
from tests.conftest import PASSWORD
from tests.factories import make_org, make_user

ORIGIN, RP_ID = "http://localhost", "localhost"   # where the test client's requests come from


class SoftKey:
    """An authenticator in software: one credential, a signature counter, assertions on request."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = bytes_to_base64url(hashlib.sha256(str(id(self)).encode()).digest()[:16])
        self.counter = 0

    def cose_public_key(self) -> bytes:
        numbers = self.private.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def assert_(self, options: dict, origin: str = ORIGIN, rp_id: str = RP_ID, counter: int | None = None,
                signer: ec.EllipticCurvePrivateKey | None = None) -> dict:
        self.counter = self.counter + 1 if counter is None else counter
        client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"],
                                  "origin": origin}).encode()
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([0x05]) + struct.pack(">I", self.counter)
        signature = (signer or self.private).sign(auth_data + hashlib.sha256(client_data).digest(),
                                                  ec.ECDSA(hashes.SHA256()))
        return {"id": self.credential_id, "rawId": self.credential_id, "type": "public-key",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": bytes_to_base64url(client_data),
                             "authenticatorData": bytes_to_base64url(auth_data),
                             "signature": bytes_to_base64url(signature)}}


@pytest.fixture
def holder(ctx):
    """An account with the authenticator app set up and one security key."""
    user = make_user(make_org(), "practitioner", email="pc@example.org")
    user.mfa_exempt = False
    secret = mfa.begin_enrolment(user)
    user.mfa_enrolled_at = utcnow()
    key = SoftKey()
    db.session.add(SecurityKey(user_id=user.id, credential_id=key.credential_id, public_key=key.cose_public_key(),
                               sign_count=0, label="Blue key"))
    db.session.commit()
    return {"user": user, "key": key, "secret": secret}


def _pending(app):
    browser = app.test_client()
    assert browser.post("/login", data={"email": "pc@example.org", "password": PASSWORD}).status_code == 302
    return browser


def _options(browser) -> dict:
    response = browser.post("/login/key/options")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_the_key_signs_in_and_a_replayed_or_cloned_answer_does_not(app, holder):
    browser = _pending(app)
    assert "Use security key" in browser.get("/login/code").get_data(as_text=True)
    options = _options(browser)
    assert [c["id"] for c in options["allowCredentials"]] == [holder["key"].credential_id]
    answer = holder["key"].assert_(options)
    signed_in = browser.post("/login/key", json={"credential": answer})
    assert signed_in.status_code == 200 and signed_in.json["next"] == "/admin/"
    assert browser.get("/admin/account/").status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(UserSession.method)) == "password+key"
    assert db.session.scalar(select(SecurityKey.sign_count)) == 1
    # The same answer again (a replay), and a clone whose counter did not move on: both refused.
    again = _pending(app)
    replay = dict(answer)
    _options(again)
    assert again.post("/login/key", json={"credential": replay}).status_code == 401
    clone = holder["key"].assert_(_options(again), counter=1)
    assert again.post("/login/key", json={"credential": clone}).status_code == 401
    assert again.get("/admin/account/").status_code == 302


@pytest.mark.parametrize("forge", ["other origin", "other site", "other signer", "someone else's key", "garbage"])
def test_forged_answers_are_refused_and_counted(app, holder, forge):
    browser = _pending(app)
    options = _options(browser)
    key = holder["key"]
    answer = {"other origin": lambda: key.assert_(options, origin="https://evil.example"),
              "other site": lambda: key.assert_(options, rp_id="evil.example"),
              "other signer": lambda: key.assert_(options, signer=ec.generate_private_key(ec.SECP256R1())),
              "someone else's key": lambda: SoftKey().assert_(options),
              "garbage": lambda: {"id": 3, "response": "x"}}[forge]()
    refused = browser.post("/login/key", json={"credential": answer})
    assert refused.status_code == 401 and "did not check out" in refused.json["error"]
    assert browser.get("/admin/account/").status_code == 302
    db.session.rollback()
    assert db.session.get(User, holder["user"].id).failed_logins == 1
    assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "login_failed")).count(
        "security key refused") == 1


def test_an_answer_without_a_challenge_or_login_is_refused(app, holder):
    browser = _pending(app)
    answer = holder["key"].assert_({"challenge": bytes_to_base64url(b"made-up-challenge-0123456789abcd")})
    assert browser.post("/login/key", json={"credential": answer}).status_code == 401   # none was handed out
    assert browser.post("/login/key", json=[1]).status_code == 401
    stranger = app.test_client()
    assert stranger.post("/login/key/options").status_code == 401
    assert stranger.post("/login/key", json={"credential": answer}).status_code == 401


def test_keys_count_toward_the_lockout(app, holder):
    browser = _pending(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _options(browser) if browser.post("/login/key/options").status_code == 200 else None
        last = browser.post("/login/key", json={"credential": {"id": "x", "response": {}}})
    assert last.status_code == 401 and "locked" in last.json["error"]
    code = pyotp.TOTP(holder["secret"]).now()
    assert app.test_client().post("/login", data={"email": "pc@example.org", "password": PASSWORD}).status_code == 401
    assert code   # the right code would not help either: the password step is refused first


def test_adding_keys_needs_the_app_first_and_a_real_answer(client, login, ctx):
    org = make_org()
    make_user(org, "practitioner", email="demo@example.org")   # exempt: no authenticator app set up
    login("demo@example.org")
    refused = client.post("/admin/account/keys/options")
    assert refused.status_code == 400 and "authenticator app first" in refused.json["error"]
    user = db.session.scalar(select(User).where(User.email == "demo@example.org"))
    user.mfa_enrolled_at = utcnow()
    db.session.commit()
    options = client.post("/admin/account/keys/options").json
    assert options["rp"]["id"] == RP_ID and options["user"]["name"] == "demo@example.org"
    assert base64url_to_bytes(options["challenge"])
    for junk in ({"credential": "not json"}, {"credential": {"id": "x", "response": {}}}, {"label": "x" * 65}, [], [1]):
        client.post("/admin/account/keys/options")
        bad = client.post("/admin/account/keys", json=junk)
        assert bad.status_code == 400 and bad.is_json and "was not added" in bad.json["error"], junk
    assert db.session.scalar(select(SecurityKey.id)) is None


def test_a_key_is_removed_by_its_owner_only_and_by_a_factor_reset(client, login, app, holder):
    other = make_user(make_org("other"), "practitioner", email="other@example.org")
    key_id = db.session.scalar(select(SecurityKey.id))
    login(other.email)
    client.post(f"/admin/account/keys/{key_id}/remove")
    assert db.session.scalar(select(SecurityKey.id)) == key_id
    admin = make_user(holder["user"].organisation, "admin", email="admin@example.org")
    mfa.reset(db.session.get(User, holder["user"].id), admin)
    db.session.commit()
    assert db.session.scalar(select(SecurityKey.id)) is None
