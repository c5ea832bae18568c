"""The yardstick for bench/list_ratio.py: a bare Flask-Admin list of the same cases table, with the same
columns, sort and page size, and nothing of Casebook's (no login, access rules, audit, menus or counts caps).

    DATABASE_URL=... gunicorn -w 1 'bench.bare_admin:create_app()'
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models import Case, db  # noqa: E402  (the same mapped table, read through plain Flask-SQLAlchemy)


class BareCases(ModelView):
    column_list = ("reference", "case_type", "title", "status", "risk_level", "lead_organisation", "opened_at")
    column_default_sort = ("opened_at", True)
    page_size = 20
    can_create = can_edit = can_delete = False


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"], SECRET_KEY="bench-bare-admin")
    db.init_app(app)
    admin = Admin(app, name="bare", theme=Bootstrap4Theme())
    admin.add_view(BareCases(Case, db.session, endpoint="cases", url="/bare/cases"))
    return app
