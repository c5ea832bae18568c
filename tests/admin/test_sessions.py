"""Server-side sessions: a login is a row; logout, timeouts, password reset, deactivation and the "end" buttons
delete it, so a copied cookie stops working (ASVS 3.2.1, 3.3.1-3.3.4)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from casework import tokens
from models import ApiToken, AuditEvent, UserSession, db, utcnow
from tests.conftest import PASSWORD
from tests.factories import make_org, make_user


@pytest.fixture
def people(ctx):
    org = make_org()
    return {"pc": make_user(org, "practitioner", email="pc@example.org"),
            "admin": make_user(org, "admin", email="admin@example.org")}


def _sign_in(app, email: str):
    browser = app.test_client()
    assert browser.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return browser


def _signed_in(browser) -> bool:
    return browser.get("/admin/account/").status_code == 200


def _rows(user_id: int | None = None) -> int:
    db.session.rollback()  # a fresh snapshot: the requests share this test's session (one app context)
    stmt = select(func.count()).select_from(UserSession)
    return db.session.scalar(stmt.where(UserSession.user_id == user_id) if user_id else stmt)


def test_a_cookie_replayed_after_logout_signs_nobody_in(app, people):
    browser = _sign_in(app, "pc@example.org")
    copied = browser.get_cookie("session").value
    assert _signed_in(browser) and _rows() == 1
    browser.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/admin/account/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _rows() == 0


def test_each_login_is_a_new_session_id(app, people):
    first = _sign_in(app, "pc@example.org")
    second = _sign_in(app, "pc@example.org")
    assert first.get_cookie("session").value != second.get_cookie("session").value
    assert _rows() == 2 and _signed_in(first) and _signed_in(second)


def test_idle_sessions_end(app, people):
    browser = _sign_in(app, "pc@example.org")
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    assert not _signed_in(browser) and _rows() == 0


def test_sessions_end_at_their_absolute_lifetime_however_busy(app, people):
    browser = _sign_in(app, "pc@example.org")
    db.session.execute(update(UserSession).values(created_at=utcnow() - timedelta(minutes=481)))
    db.session.commit()
    assert not _signed_in(browser)


def test_activity_keeps_a_session_alive(app, people):
    browser = _sign_in(app, "pc@example.org")
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=20)))
    db.session.commit()
    assert _signed_in(browser)
    db.session.rollback()
    assert utcnow() - db.session.scalar(select(UserSession.last_seen_at)) < timedelta(minutes=1)


def test_users_see_their_sessions_and_end_them(app, people):
    laptop, phone = _sign_in(app, "pc@example.org"), _sign_in(app, "pc@example.org")
    page = laptop.get("/admin/account/").get_data(as_text=True)
    assert page.count("data-session=") == 2 and "this browser" in page
    phone_row = db.session.scalars(select(UserSession.id).order_by(UserSession.id.desc())).first()
    assert laptop.post(f"/admin/account/sessions/{phone_row}/end").status_code == 302
    assert not _signed_in(phone) and _signed_in(laptop)
    third = _sign_in(app, "pc@example.org")
    laptop.post("/admin/account/sessions/end-others")
    assert not _signed_in(third) and _signed_in(laptop)
    # Someone else's session id is not theirs to end.
    other = _sign_in(app, "admin@example.org")
    admin_row = db.session.scalar(select(UserSession.id).where(UserSession.user_id == people["admin"].id))
    laptop.post(f"/admin/account/sessions/{admin_row}/end")
    assert _signed_in(other)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "end_session" in actions and "end_sessions" in actions


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_password_reset_and_deactivation_end_sessions_and_tokens(app, people, change):
    victim = _sign_in(app, "pc@example.org")
    token = tokens.issue(people["pc"])
    db.session.commit()
    admin = _sign_in(app, "admin@example.org")
    form = {"email": "pc@example.org", "name": "User pc", "organisation": str(people["pc"].organisation_id),
            "role_codes": "practitioner", "active": "y"}
    if change == "password":
        form["new_password"] = "a-brand-new-password-1"
    else:
        form.pop("active")
    response = admin.post(f"/admin/users/edit/?id={people['pc'].id}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert not _signed_in(victim) and _rows(people["pc"].id) == 0
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _signed_in(admin)


def test_admins_end_all_sessions_of_a_user(app, people):
    victim = _sign_in(app, "pc@example.org")
    admin = _sign_in(app, "admin@example.org")
    response = admin.post("/admin/users/action/", data={"action": "end_sessions", "rowid": [str(people["pc"].id)]})
    assert response.status_code == 302
    assert not _signed_in(victim) and _signed_in(admin)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "end_sessions")).one()
    assert event.user_email == "admin@example.org" and event.detail_dict["reason"] == "ended by an admin"


def test_practitioners_cannot_end_others_sessions(app, people):
    victim = _sign_in(app, "admin@example.org")
    pc = _sign_in(app, "pc@example.org")
    response = pc.post("/admin/users/action/", data={"action": "end_sessions", "rowid": [str(people["admin"].id)]})
    assert response.status_code == 404 and _signed_in(victim)


def test_tokens_expire_are_listed_and_revoked(app, people):
    browser = _sign_in(app, "pc@example.org")
    page = browser.post("/admin/account/tokens", data={"label": "referral intake"}).get_data(as_text=True)
    token = page.split('<code class="h6 text-break">')[1].split("<")[0]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/tasks", headers=headers).status_code == 200
    row = db.session.scalar(select(ApiToken).where(ApiToken.label == "referral intake"))
    db.session.refresh(row)
    assert row.last_used_at is not None and row.expires_at - utcnow() > timedelta(days=89)
    listing = browser.get("/admin/account/").get_data(as_text=True)
    assert "referral intake" in listing and token not in listing   # shown once only
    # Expired: refused.
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert api.get("/api/v1/tasks", headers=headers).status_code == 401
    row.expires_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert browser.post(f"/admin/account/tokens/{row.id}/revoke").status_code == 302
    assert api.get("/api/v1/tasks", headers=headers).status_code == 401
    bad = browser.post("/admin/account/tokens", data={"label": "x" * 500})
    assert bad.status_code == 400 and "too long" in bad.get_data(as_text=True)


def test_admins_list_and_revoke_anyones_tokens(app, people):
    token = tokens.issue(people["pc"], "robot")
    db.session.commit()
    admin = _sign_in(app, "admin@example.org")
    assert "robot" in admin.get("/admin/api_tokens/").get_data(as_text=True)
    token_id = db.session.scalar(select(ApiToken.id))
    assert admin.post("/admin/api_tokens/action/", data={"action": "revoke", "rowid": [str(token_id)]}).status_code == 302
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    pc = _sign_in(app, "pc@example.org")
    assert pc.get("/admin/api_tokens/").status_code == 404   # owners use their account page


def test_users_change_their_password_and_their_other_sessions_end(app, people):
    laptop, phone = _sign_in(app, "pc@example.org"), _sign_in(app, "pc@example.org")
    url = "/admin/account/password"
    for current, new, repeat, message in [
            ("wrong password!", "a-brand-new-password-1", "a-brand-new-password-1", "current password is not right"),
            (PASSWORD, "short", "short", "at least 12 characters"),
            (PASSWORD, "password1234", "password1234", "too easy to guess"),
            (PASSWORD, "pc@example.org1", "pc@example.org1", "too easy to guess"),   # their own e-mail
            (PASSWORD, "a-brand-new-password-1", "a-brand-new-password-2", "differ")]:
        refused = laptop.post(url, data={"current_password": current, "new_password": new,
                                         "repeat_password": repeat})
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), (new, message)
    assert _signed_in(phone)
    done = laptop.post(url, data={"current_password": PASSWORD, "new_password": "lantern orbit velvet crane",
                                  "repeat_password": "lantern orbit velvet crane"})
    assert done.status_code == 302 and _signed_in(laptop) and not _signed_in(phone)
    assert app.test_client().post("/login", data={"email": "pc@example.org",
                                                  "password": "lantern orbit velvet crane"}).status_code == 302
    db.session.rollback()
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "password_changed" in actions and actions.count("login_failed") == 1   # the wrong current password
