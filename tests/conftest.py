"""Fixtures (flaskr shape): app, client, runner, login; the database comes from TEST_DATABASE_URL.

Unset: SQLite files copied per test from a template built by `init-db` (the real migrations).
`postgresql+psycopg://...`: the schema is rebuilt once per session by `init-db`, tables are
truncated before each test.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from casework import reference
from models import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
IS_PG = TEST_DATABASE_URL.startswith("postgresql")
BASE_CONFIG = {
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "SECRET_KEY": "test-secret-key",
    # A cheap scrypt keeps the suite fast; production uses the default N=32768.
    "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    # Tests log in many times a minute from one address; tests/admin/test_auth.py checks the default limit.
    "RATELIMIT_LOGIN": "",
    # Most tests share cases between the organisations they make without writing agreements for them; the
    # tests of sharing (tests/casework/test_sharing.py) and the browser tests run with the default, enforce.
    "ISA_ENFORCEMENT": "warn",
}
PASSWORD = "correct-horse-battery"
# Shared fixtures (API clients, import and export partnerships) for tests in any folder.
pytest_plugins = ["tests.fixtures.api", "tests.fixtures.exports", "tests.fixtures.imports", "tests.fixtures.mail",
                  "tests.fixtures.oidc"]


def _config(url: str, **extra) -> dict:
    return {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, **extra}


def _init_db(url: str, instance: Path) -> None:
    app = create_app(_config(url))
    app.instance_path = str(instance)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> str:
    """Build the schema once through the migrations; return the template (file or URL)."""
    base = tmp_path_factory.mktemp("db")
    if IS_PG:
        engine = create_engine(TEST_DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _init_db(TEST_DATABASE_URL, base)
        return TEST_DATABASE_URL
    path = base / "template.db"
    _init_db(f"sqlite:///{path}", base)
    return str(path)


def _truncate_pg(app) -> None:
    with app.app_context():
        names = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
            conn.execute(text("INSERT INTO audit_head (id, last_hash, count) VALUES (1, :h, 0)"),
                         {"h": "0" * 64})
        reference.ensure_defaults()
        db.session.commit()


@pytest.fixture
def db_url(database_template, tmp_path) -> str:
    """A clean database for this test."""
    if IS_PG:
        return database_template
    target = tmp_path / "test.db"
    shutil.copy(database_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app(db_url, tmp_path):
    app = create_app(_config(db_url))
    app.instance_path = str(tmp_path / "instance")
    if IS_PG:
        _truncate_pg(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(app):
    """An application context for service-level tests."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    """Log the test client in as a user (by e-mail)."""

    def _login(email: str, password: str = PASSWORD):
        client.post("/logout")
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return _login
