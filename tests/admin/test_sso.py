"""Single sign-on with OpenID Connect against a real provider (panva/oidc-provider, tests/fixtures/oidc.py):
ID tokens are checked for signature, issuer, audience, nonce and expiry; accounts are matched by e-mail, never
made. The bad tokens below are made with the provider's own signing key (or a stranger's) and handed to the
same check the sign-in uses, because a well-behaved provider will not issue them; the whole browser round
trip is in tests/e2e/test_sso.py."""
from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from casework import sso
from models import AuditEvent, Organisation, db
from tests.factories import make_org, make_user
from tests.fixtures.oidc import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def setup(ctx, oidc_provider):
    org = make_org("notts_police", "police", "Nottinghamshire Police")
    make_user(org, "practitioner", email="pc@police.example.org")
    make_user(make_org("other_org"), "practitioner", email="pc@other.example.org")
    provider = oidc_provider(["http://localhost/login/sso/notts_police/callback"],
                             {"pc": {"email": "pc@police.example.org", "email_verified": True}})
    org.sso_issuer, org.sso_client_id, org.sso_client_secret = provider.issuer, CLIENT_ID, CLIENT_SECRET
    db.session.commit()
    return org, provider


def _token(provider, key: RSAKey | None = None, **claims) -> dict:
    now = int(time.time())
    body = {"iss": provider.issuer, "aud": CLIENT_ID, "sub": "pc", "nonce": "n-1", "iat": now, "exp": now + 300,
            "email": "pc@police.example.org", "email_verified": True, **claims}
    key = key or provider.key
    return {"id_token": jwt.encode({"alg": "RS256", "kid": key.kid}, body, key), "access_token": "at"}


def test_a_token_the_provider_signed_for_us_is_accepted(setup):
    org, provider = setup
    claims = sso.check_id_token(org, _token(provider), nonce="n-1")
    assert sso.account_for(org, claims).email == "pc@police.example.org"


@pytest.mark.parametrize("bad", [{"iss": "http://127.0.0.1:1/evil"}, {"aud": "someone-else"}, {"nonce": "replayed"},
                                 {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}])
def test_wrong_issuer_audience_nonce_or_expired_tokens_are_refused(setup, bad):
    org, provider = setup
    with pytest.raises(sso.SsoRefused, match="not accepted"):
        sso.check_id_token(org, _token(provider, **bad), nonce="n-1")


def test_a_token_signed_by_another_key_is_refused(setup):
    org, provider = setup
    forger = RSAKey.generate_key(2048, parameters={"kid": provider.key.kid, "alg": "RS256"})   # same key id
    with pytest.raises(sso.SsoRefused, match="not accepted"):
        sso.check_id_token(org, _token(provider, key=forger), nonce="n-1")


@pytest.mark.parametrize("claims, message", [
    ({"sub": "x"}, "no e-mail address"),
    ({"email": "pc@police.example.org", "email_verified": False}, "not verified"),
    ({"email": "nobody@police.example.org"}, "no active Casebook account"),
    ({"email": "pc@other.example.org"}, "no active Casebook account"),     # another organisation's user
])
def test_accounts_are_matched_never_made(setup, claims, message):
    org, _provider = setup
    with pytest.raises(sso.SsoRefused, match=message):
        sso.account_for(org, claims)
    assert db.session.scalar(select(Organisation).where(Organisation.code == "notts_police")).users[0].email \
        == "pc@police.example.org"


def test_the_claim_carrying_the_e_mail_is_configurable(setup):
    org, _provider = setup
    org.sso_email_claim = "upn"
    assert sso.account_for(org, {"upn": "PC@police.example.org"}).email == "pc@police.example.org"


def test_login_page_offers_the_organisations_provider(client, setup):
    page = client.get("/login").get_data(as_text=True)
    assert 'id="sso"' in page and "Nottinghamshire Police" in page
    assert client.get("/login/sso/nowhere").status_code == 404
    start = client.get("/login/sso/notts_police")
    assert start.status_code == 302 and start.headers["Location"].startswith(setup[1].issuer + "/auth?")
    assert "code_challenge=" in start.headers["Location"] and "nonce=" in start.headers["Location"]


def test_a_callback_without_our_state_is_refused_and_audited(client, setup):
    response = client.get("/login/sso/notts_police/callback?code=stolen&state=forged")
    assert response.status_code == 401 and "Single sign-on with Nottinghamshire Police failed" in \
        response.get_data(as_text=True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).one()
    assert event.detail_dict["reason"] == "single sign-on refused"
    assert client.get("/admin/account/").status_code == 302


def test_admins_configure_it_and_the_secret_is_never_shown(client, login, setup):
    org, _provider = setup
    make_user(org, "admin", email="admin@police.example.org")
    login("admin@police.example.org")
    form = {"code": "notts_police", "name": "Nottinghamshire Police", "type": "police", "active": "y",
            "sso_issuer": "http://evil.example.org", "sso_client_id": "casebook", "new_sso_secret": ""}
    bad = client.post(f"/admin/organisations/edit/?id={org.id}", data=form)
    assert bad.status_code == 200 and "https address" in bad.get_data(as_text=True)
    form["sso_issuer"] = "https://login.example.org/tenant/v2.0/"
    assert client.post(f"/admin/organisations/edit/?id={org.id}", data=form).status_code == 302
    db.session.rollback()
    org = db.session.get(Organisation, org.id)
    assert org.sso_issuer == "https://login.example.org/tenant/v2.0" and org.sso_client_secret == CLIENT_SECRET
    page = client.get(f"/admin/organisations/edit/?id={org.id}").get_data(as_text=True)
    assert CLIENT_SECRET not in page
