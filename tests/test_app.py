"""The application factory and configuration (flaskr's test_factory shape)."""
from __future__ import annotations

import pytest

import config
from app import create_app


def test_config_from_test_config(app):
    assert app.testing
    assert app.config["SECRET_KEY"] == "test-secret-key"


def test_environment_is_read_under_exact_names(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-environment")
    monkeypatch.setenv("FORCE_HTTPS", "1")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db")
    assert app.config["SECRET_KEY"] == "a-real-secret-from-the-environment"
    assert app.config["FORCE_HTTPS"] is True


def test_default_database_is_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-environment")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{app.instance_path}/casebook.db"


def test_dev_secret_refused_outside_debug_and_testing(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "dev")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"] == "dev"


def test_missing_secret_uses_a_private_instance_file(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    key = config.instance_secret(str(tmp_path))
    assert len(key) == 64 and config.instance_secret(str(tmp_path)) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_bad_environment_value_is_named(monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "lots")
    with pytest.raises(ValueError, match="LOGIN_MAX_FAILURES"):
        create_app()


def test_database_session_settings(app):
    """SQLite: foreign keys, WAL, busy timeout. PostgreSQL: UTC timestamps round-trip with their zone."""
    from sqlalchemy import text

    from models import db

    with app.app_context():
        conn = db.session.connection()
        if db.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]
        else:
            assert conn.execute(text("SHOW server_version")).scalar()
        from models import Organisation
        from tests.factories import make_org

        org = make_org()
        db.session.expire_all()
        assert db.session.get(Organisation, org.id).created_at.tzinfo is not None


def test_security_headers(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_force_https_redirects(db_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "FORCE_HTTPS": True})
    response = app.test_client().get("/login")
    assert response.status_code == 301 and response.headers["Location"].startswith("https://")
    secure = app.test_client().get("/login", base_url="https://localhost")
    assert "max-age" in secure.headers["Strict-Transport-Security"]
    cookie = secure.headers["Set-Cookie"]
    assert cookie.startswith("__Host-casebook=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie and "HttpOnly" in cookie


def test_root_redirects_into_console(client):
    assert client.get("/").headers["Location"] == "/admin/"


def test_unknown_page_is_404_html_and_api_json(client):
    assert client.get("/nope").status_code == 404
    api = client.get("/api/v1/nope")
    assert api.status_code in (401, 404) and api.is_json and isinstance(api.json["error"], str)


def test_a_favicon_for_every_page(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301 and answer.headers["Location"].endswith("/static/favicon.svg")
    assert client.get("/static/favicon.svg").status_code == 200
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)
