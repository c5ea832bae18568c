"""The second factor: enrolment with a QR code, codes accepted once, recovery codes, lockout, admins' reset,
who must use it (MFA_REQUIRED, admins always, demo accounts exempt). Codes come from pyotp, as an
authenticator app would make them from the same secret."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from models import AuditEvent, User, UserSession, db
from tests.conftest import PASSWORD
from tests.factories import make_org, make_user


@pytest.fixture
def people(ctx):
    org = make_org()
    out = {"pc": make_user(org, "practitioner", email="pc@example.org"),
           "admin": make_user(org, "admin", email="admin@example.org"),
           "demo": make_user(org, "practitioner", email="demo@example.org")}
    out["pc"].mfa_exempt = out["admin"].mfa_exempt = False
    db.session.commit()
    return out


def _password(browser, email: str):
    return browser.post("/login", data={"email": email, "password": PASSWORD})


def _user(email: str) -> User:
    db.session.rollback()  # a fresh snapshot: requests share this test's session
    return db.session.scalar(select(User).where(User.email == email))


def _signed_in(browser) -> bool:
    return browser.get("/admin/account/").status_code == 200


def _enrol(app, email: str = "pc@example.org"):
    """Sign in for the first time: password, scan (read the secret from the page), confirm; returns
    (browser, secret, recovery codes)."""
    browser = app.test_client()
    assert _password(browser, email).headers["Location"].endswith("/login/enrol")
    page = browser.get("/login/enrol").get_data(as_text=True)
    assert "<svg" in page and "QR code" in page
    secret = re.search(r'id="enrol-secret"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    done = browser.post("/login/enrol", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", done.get_data(as_text=True))
    return browser, secret, codes


def test_first_login_enrols_and_shows_recovery_codes_once(app, people):
    browser, secret, codes = _enrol(app)
    assert len(codes) == 10 and _signed_in(browser)
    user = _user("pc@example.org")
    assert user.mfa_enrolled_at is not None and user.totp_secret == secret
    events = {e.action: e for e in db.session.scalars(select(AuditEvent))}
    assert "mfa_enrolled" in events and events["login"].detail_dict["method"] == "password+totp"
    assert db.session.scalar(select(UserSession.method)) == "password+totp"
    assert codes[0] not in browser.get("/admin/account/").get_data(as_text=True)


def test_between_password_and_code_nothing_is_open(app, people):
    browser = app.test_client()
    _password(browser, "pc@example.org")
    assert browser.get("/admin/").status_code == 302 and not _signed_in(browser)
    assert app.test_client().get("/login/code").status_code == 302   # no password given in that browser
    assert app.test_client().get("/login/enrol").status_code == 302


def test_a_code_works_once_and_wrong_or_old_codes_are_refused(app, people):
    app.config["LOGIN_MAX_FAILURES"] = 10   # lockout is its own test
    _first, secret, _codes = _enrol(app)
    totp = pyotp.TOTP(secret)
    browser = app.test_client()
    assert _password(browser, "pc@example.org").headers["Location"].endswith("/login/code")
    for bad in ("000000", "12345", "abcdef", totp.at(time.time() - 300), totp.now(), "١٢٣٤٥٦"):
        # totp.now() was just used to enrol: a replayed code is refused like a wrong one.
        response = browser.post("/login/code", data={"code": bad})
        assert response.status_code == 401 and "not right" in response.get_data(as_text=True)
    assert not _signed_in(browser)
    ok = browser.post("/login/code", data={"code": totp.at(time.time() + 30)})   # the next step (clock drift)
    assert ok.status_code == 302 and _signed_in(browser)
    reasons = [e.detail_dict.get("reason") for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "login_failed"))]
    assert reasons.count("wrong second factor") == 6


def test_wrong_codes_count_toward_lockout(app, people):
    _enrol(app)
    browser = app.test_client()
    _password(browser, "pc@example.org")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert browser.post("/login/code", data={"code": "000000"}).status_code == 401
    locked = browser.post("/login/code", data={"code": "000000"})
    assert locked.status_code == 302 and locked.headers["Location"].endswith("/login")
    assert _user("pc@example.org").locked_until is not None
    # Locked: the right password no longer leads to the second step.
    assert _password(app.test_client(), "pc@example.org").status_code == 401


def test_recovery_codes_work_once(app, people):
    _browser, _secret, codes = _enrol(app)
    first = app.test_client()
    _password(first, "pc@example.org")
    used = first.post("/login/code", data={"code": codes[0].upper()})
    assert used.status_code == 302 and _signed_in(first)
    assert "9 unused recovery code(s) left" in first.get("/admin/account/").get_data(as_text=True)
    again = app.test_client()
    _password(again, "pc@example.org")
    assert again.post("/login/code", data={"code": codes[0]}).status_code == 401
    assert db.session.scalar(select(UserSession.method).order_by(UserSession.id.desc())) == "password+recovery"


def test_the_second_step_waits_five_minutes(app, people):
    _enrol(app)
    browser = app.test_client()
    _password(browser, "pc@example.org")
    with browser.session_transaction() as cookie:
        cookie["mfa_pending"] = {**cookie["mfa_pending"], "at": cookie["mfa_pending"]["at"] - 301}
    response = browser.post("/login/code", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_admins_always_need_a_second_factor_and_demo_accounts_never(app, people):
    app.config["MFA_REQUIRED"] = False
    pc = app.test_client()
    assert _password(pc, "pc@example.org").headers["Location"] == "/admin/"   # not required, not enrolled
    admin = app.test_client()
    assert _password(admin, "admin@example.org").headers["Location"].endswith("/login/enrol")
    app.config["MFA_REQUIRED"] = True
    demo = app.test_client()
    assert _password(demo, "demo@example.org").headers["Location"] == "/admin/"
    notice = app.test_client().get("/login").get_data(as_text=True)
    assert 'id="demo-notice"' in notice and "password alone" in notice


def test_no_demo_notice_without_demo_accounts(app, people):
    people["demo"].mfa_exempt = False
    db.session.commit()
    assert 'id="demo-notice"' not in app.test_client().get("/login").get_data(as_text=True)


def test_admins_reset_a_lost_factor(app, people):
    victim, _secret, _codes = _enrol(app)
    admin, _s, _c = _enrol(app, "admin@example.org")
    response = admin.post("/admin/users/action/", data={"action": "reset_mfa", "rowid": [str(people["pc"].id)]})
    assert response.status_code == 302
    user = _user("pc@example.org")
    assert user.mfa_enrolled_at is None and user.totp_secret is None and not _signed_in(victim)
    assert "reset_mfa" in db.session.scalars(select(AuditEvent.action)).all()
    assert _password(app.test_client(), "pc@example.org").headers["Location"].endswith("/login/enrol")
    users_page = admin.get("/admin/users/").get_data(as_text=True)
    assert "not set up" in users_page and "exempt (demo)" in users_page


def test_new_recovery_codes_need_a_current_code(app, people):
    browser, secret, old = _enrol(app)
    refused = browser.post("/admin/account/recovery-codes", data={"code": "000000"})
    assert refused.status_code == 400
    fresh = browser.post("/admin/account/recovery-codes", data={"code": pyotp.TOTP(secret).at(time.time() + 30)})
    new = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", fresh.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    again = app.test_client()
    _password(again, "pc@example.org")
    assert again.post("/login/code", data={"code": old[1]}).status_code == 401
    assert again.post("/login/code", data={"code": new[1]}).status_code == 302
