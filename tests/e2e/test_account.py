"""Signing in with a second factor and managing one's sessions and tokens, in a real browser."""
from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from casework import directory, mfa
from models import AuditEvent, SecurityKey, User, UserSession, db, utcnow
from tests.e2e.conftest import shot


def test_new_user_sets_up_an_authenticator_and_manages_sessions(page, live_app, browser):
    """A new worker (not a demo account) signs in: QR code, first code, recovery codes; then sees where they
    are signed in, ends another browser's session, and issues and revokes an API token."""
    _url, app = live_app
    with app.app_context():
        directory.create_user("new.worker@vs.example.org", "New Worker", "victim_services", ["practitioner"],
                              "a-long-enough-password")
        db.session.commit()
    page.goto("/login")
    page.get_by_label("E-mail").fill("new.worker@vs.example.org")
    page.get_by_label("Password").fill("a-long-enough-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Set up your second factor").wait_for()
    assert page.locator("#enrol-qr svg").is_visible()
    shot(page, "mfa-enrol")
    secret = page.locator("#enrol-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and sign in").click()
    page.get_by_role("heading", name="Keep these recovery codes").wait_for()
    assert page.locator("#recovery-codes li").count() == 10
    shot(page, "mfa-recovery-codes")
    page.get_by_role("link", name="continue to Casebook").click()
    page.wait_for_url("**/admin/")

    # A second browser signs in with the next code (each code works once).
    other = browser.new_context(base_url=_url).new_page()
    other.goto("/login")
    other.get_by_label("E-mail").fill("new.worker@vs.example.org")
    other.get_by_label("Password").fill("a-long-enough-password")
    other.get_by_role("button", name="Log in").click()
    other.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    other.get_by_role("button", name="Continue").click()
    other.wait_for_url("**/admin/")

    page.get_by_test_id("whoami").click()
    page.get_by_role("heading", name="Your account").wait_for()
    assert page.locator("#sessions tbody tr").count() == 2
    shot(page, "account-page")
    page.get_by_role("button", name="End all other sessions").click()
    page.get_by_text("Ended 1 other session(s).").wait_for()
    other.goto("/admin/account/")
    assert "/login" in other.url

    page.get_by_label("Name", exact=True).fill("referral intake")
    page.get_by_role("button", name="Issue a new token").click()
    assert page.locator("#new-token code").inner_text().startswith("cbk_")
    page.get_by_role("button", name="Revoke referral intake").click()
    page.get_by_text("The token is revoked").wait_for()
    assert "You have no API tokens." in page.content()


def test_console_runs_under_a_strict_csp(page, live_app):
    """No inline script runs without the response's nonce: the list actions, filters and confirmations still
    work (they are bound by static/casebook.js), and no page breaks the policy."""
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/login")
    page.get_by_label("E-mail").fill("admin@opcc.demo")
    page.get_by_label("Password").fill("casebook-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    page.goto("/admin/users/?search=practitioner%40police.demo")
    page.wait_for_load_state("load")
    page.locator("input[name=rowid]").first.check()
    page.get_by_role("button", name="With selected").click()
    page.get_by_role("link", name="End all sessions").click()
    page.get_by_text(re.compile(r"Ended \d+ session\(s\) of 1 user\(s\)")).wait_for()
    page.wait_for_load_state("load")   # the console's scripts (at the end of the page) are bound
    page.get_by_role("link", name="Add Filter").click()
    page.locator(".field-filters.show a.dropdown-item.filter").first.click()
    page.locator(".filter-val").first.wait_for()
    for path in ("/admin/", "/admin/organisations/", "/admin/account/", "/admin/role_requests/"):
        page.goto(path)
    assert violations == []


def test_a_security_key_is_added_and_then_used_at_login(browser, live_app):
    """Chromium's virtual authenticator (the DevTools WebAuthn domain) plays the key: the real browser API, the
    real signatures, no mock on our side. WebAuthn needs a host name, so the page is opened as localhost."""
    url, app = live_app
    origin = url.replace("127.0.0.1", "localhost")
    with app.app_context():
        user, _ = directory.create_user("key.user@vs.example.org", "Key User", "victim_services", ["practitioner"],
                                        "lantern orbit velvet crane")
        secret = mfa.begin_enrolment(user)
        user.mfa_enrolled_at = utcnow()
        db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=origin)
    page = context.new_page()
    page.set_default_timeout(10_000)
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": False, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})

    def password_step() -> None:
        page.goto("/login")
        page.get_by_label("E-mail").fill("key.user@vs.example.org")
        page.get_by_label("Password").fill("lantern orbit velvet crane")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/login/code")

    password_step()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/admin/")
    page.goto("/admin/account/")
    page.get_by_label("Key name").fill("Blue key")
    page.get_by_role("button", name="Add a security key").click()
    page.get_by_text("“Blue key” is added").wait_for()
    assert page.locator("tr[data-key]").count() == 1
    shot(page, "security-key-added")

    page.get_by_role("button", name="Log out", exact=True).click()
    password_step()
    shot(page, "security-key-login")
    page.get_by_role("button", name="Use security key").click()
    page.wait_for_url("**/admin/")
    with app.app_context():
        method = db.session.scalar(select(UserSession.method).join(User)
                                   .where(User.email == "key.user@vs.example.org"))
        key = db.session.scalar(select(SecurityKey))
        assert method == "password+key" and key.last_used_at is not None and key.label == "Blue key"
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.user_email == "key.user@vs.example.org")).all()
        assert "security_key_added" in actions
    context.close()
