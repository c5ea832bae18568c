"""Single sign-on in a real browser against a real OpenID Connect provider (tests/fixtures/oidc.py)."""
from __future__ import annotations

import pyotp
from sqlalchemy import select

from casework import directory, mfa
from models import AuditEvent, Organisation, User, UserSession, db, utcnow
from tests.e2e.conftest import shot
from tests.fixtures.oidc import CLIENT_ID, CLIENT_SECRET


def _provider_sign_in(page, login: str) -> None:
    """The provider's own (development) sign-in and consent pages."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    consent = page.locator("button[type=submit]")
    if "/interaction/" in page.url:
        consent.click()


def test_police_officer_signs_in_through_the_forces_provider(page, live_app, oidc_provider):
    url, app = live_app
    provider = oidc_provider([f"{url}/login/sso/notts_police/callback"],
                             {"alex": {"email": "practitioner@police.demo", "email_verified": True},
                              "stranger": {"email": "stranger@police.demo", "email_verified": True}})
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == "notts_police"))
        org.sso_issuer, org.sso_client_id, org.sso_client_secret = provider.issuer, CLIENT_ID, CLIENT_SECRET
        db.session.commit()

    # Someone the provider knows but Casebook does not: refused, nothing created.
    page.goto("/login")
    page.get_by_role("link", name="Nottinghamshire Police").click()
    _provider_sign_in(page, "stranger")
    page.get_by_text("no active Casebook account for stranger@police.demo").wait_for()
    shot(page, "sso-refused")

    page.context.clear_cookies()   # the provider remembers "stranger": a new browser session at the provider
    page.goto("/login")
    page.get_by_role("link", name="Nottinghamshire Police").click()
    _provider_sign_in(page, "alex")
    page.wait_for_url("**/admin/")
    assert "PC Alex Carter" in page.get_by_test_id("whoami").inner_text()
    shot(page, "sso-signed-in")
    with app.app_context():
        assert db.session.scalar(select(UserSession.method)) == "sso"
        logins = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).all()
        assert logins[-1].detail_dict["method"] == "sso" and logins[-1].user_email == "practitioner@police.demo"
        refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).all()
        assert any("stranger@police.demo" in (e.detail or "") for e in refused)


def test_an_admin_signing_in_through_the_provider_also_gives_casebooks_second_factor(page, live_app, oidc_provider):
    """Admins can change everyone's access: the provider's word is the first factor, Casebook's code the second."""
    url, app = live_app
    provider = oidc_provider([f"{url}/login/sso/notts_police/callback"],
                             {"pat": {"email": "sysadmin@police.demo", "email_verified": True}})
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == "notts_police"))
        org.sso_issuer, org.sso_client_id, org.sso_client_secret = provider.issuer, CLIENT_ID, CLIENT_SECRET
        admin, _ = directory.create_user("sysadmin@police.demo", "Pat Admin", "notts_police", ["admin"])
        secret = mfa.begin_enrolment(admin)
        admin.mfa_enrolled_at = utcnow()
        db.session.commit()

    page.goto("/login")
    page.get_by_role("link", name="Nottinghamshire Police").click()
    _provider_sign_in(page, "pat")
    page.wait_for_url("**/login/code")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/admin/")
    with app.app_context():
        method = db.session.scalar(select(UserSession.method).join(User).where(User.email == "sysadmin@police.demo"))
        assert method == "sso+totp"
