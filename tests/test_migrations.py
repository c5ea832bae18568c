"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import db
from models.search import include_object


def test_migrations_match_models(ctx):
    """Is there nothing left for autogenerate to find after `init-db`?"""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_init_db_on_a_fresh_sqlite_file(tmp_path):
    from app import create_app
    from tests.conftest import _config

    app = create_app(_config(f"sqlite:///{tmp_path / 'fresh.db'}"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with app.app_context():
        db.engine.dispose()
