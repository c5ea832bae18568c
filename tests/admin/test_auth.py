"""Login, lockout, logout, safe redirects; every attempt audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEvent, User, UserSession, db
from tests.conftest import PASSWORD
from tests.factories import make_org, make_user


@pytest.fixture
def user(ctx):
    return make_user(make_org(), email="pc@example.org")


def _actions() -> list[tuple[str, str | None]]:
    db.session.expire_all()
    return [(e.action, e.user_email) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_login_and_logout(client, user):
    response = client.post("/login", data={"email": "PC@example.org", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert "Welcome, User pc" in client.get("/admin/").get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert client.get("/admin/").status_code == 302
    assert ("login", "pc@example.org") in _actions() and ("logout", "pc@example.org") in _actions()
    assert db.session.scalar(select(UserSession)) is None   # the server-side session is gone


@pytest.mark.parametrize("email", ["pc@example.org", "nobody@example.org"])
def test_failed_login_is_audited_and_generic(client, user, email):
    response = client.post("/login", data={"email": email, "password": "wrong-password"})
    assert response.status_code == 401
    assert "E-mail or password is incorrect" in response.get_data(as_text=True)
    # An account's failures name it; what was typed for no account is not kept (it may be a password).
    assert ("login_failed", email if email == "pc@example.org" else None) in _actions()


def test_what_was_typed_for_no_account_is_kept_only_as_a_digest(client, user):
    client.post("/login", data={"email": "my-secret-password-typed-here", "password": "x"})
    client.post("/login", data={"email": "My-Secret-Password-Typed-Here ", "password": "y"})
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).all()
    assert len(events) == 2 and all("secret" not in (e.detail or "") and e.user_email is None for e in events)
    digests = {e.detail_dict["typed_sha256"] for e in events}
    assert len(digests) == 1 and len(digests.pop()) == 16   # the same name tried twice is still recognisable


def test_lockout_after_repeated_failures(client, app, user):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        client.post("/login", data={"email": "pc@example.org", "password": "wrong-password"})
    locked = client.post("/login", data={"email": "pc@example.org", "password": PASSWORD})
    assert locked.status_code == 401
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.email == "pc@example.org")).locked_until is not None
    details = [e.detail_dict.get("reason") for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "login_failed"))]
    assert details[-1] == "account locked"


def test_inactive_user_cannot_log_in(client, user):
    user.active = False
    db.session.commit()
    assert client.post("/login", data={"email": "pc@example.org", "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize("target, expected", [("/admin/people/", "/admin/people/"),
                                              ("https://evil.example/", "/admin/"),
                                              ("//evil.example/x", "/admin/")])
def test_next_parameter_is_same_site_only(client, user, target, expected):
    response = client.post(f"/login?next={target}", data={"email": "pc@example.org", "password": PASSWORD})
    assert response.headers["Location"] == expected


def test_missing_fields_are_a_clear_400(client, user):
    response = client.post("/login", data={"email": ""})
    assert response.status_code == 400
    assert "This field is required" in response.get_data(as_text=True)


def test_csrf_is_enforced_when_enabled(app, db_url):
    from app import create_app
    from tests.conftest import _config

    with app.app_context():
        make_user(make_org(), email="pc@example.org")
    app = create_app(_config(db_url, WTF_CSRF_ENABLED=True))
    client = app.test_client()
    response = client.post("/login", data={"email": "pc@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    ok = client.post("/login", data={"email": "pc@example.org", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302
    with app.app_context():
        db.engine.dispose()


def test_login_is_rate_limited_by_default(db_url):
    import config
    from app import create_app
    from tests.conftest import _config

    default = config.ENVIRONMENT["RATELIMIT_LOGIN"][2]
    assert default == "10 per minute"
    app = create_app(_config(db_url, RATELIMIT_LOGIN=default))
    client = app.test_client()
    codes = [client.post("/login", data={"email": "x@example.org", "password": "y"}).status_code
             for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429
    # The second step is limited too (guessing six digits is the attack it invites).
    codes = [client.post("/login/code", data={"code": "000000"}).status_code for _ in range(11)]
    assert codes[-1] == 429
    with app.app_context():
        db.engine.dispose()
