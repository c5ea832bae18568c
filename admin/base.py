"""One base for every console screen: access through access.py, audit of Flask-Admin changes."""
from __future__ import annotations

from typing import Any, Callable

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.model import filters
from flask_login import current_user
from sqlalchemy import inspect

import access
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import audit, db


def _deny(name: str | None = None, **kwargs: Any):
    """Anonymous users go to the login page; everyone else gets 404 (deny without revealing)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(404)


def perform(action: Callable[[], tuple[str, str]], refused_prefix: str = "") -> bool:
    """Run a console action that changes data: commit and flash the (message, category) it returns. A refusal
    rolls back and says why (403 when the user may not); returns whether it went through."""
    try:
        message, category = action()
        db.session.commit()
    except NotPermitted as exc:
        db.session.rollback()
        abort(403, str(exc))
    except (Conflict, InvalidInput, NotFound) as exc:
        db.session.rollback()
        flash(f"{refused_prefix}{exc}", "error")
        return False
    flash(message, category)
    return True


class CasebookFilterConverter(FilterConverter):
    """Date-time filters also for our UTCDateTime columns."""

    @filters.convert("utcdatetime")
    def conv_utc_datetime(self, column, name: str, **kwargs: Any):
        return self.conv_datetime(column, name, **kwargs)


class SecureView(BaseView):
    """A custom screen open to the roles of its `area`."""

    area: access.Area

    def is_accessible(self) -> bool:
        return access.can_open(current_user, self.area)

    def inaccessible_callback(self, name: str, **kwargs: Any):
        return _deny(name, **kwargs)


class ScopedModelView(ModelView):
    """A model screen whose every query goes through access.clause; invisible rows answer 404."""

    area: access.Area
    audit_type: str = ""
    can_delete = False
    filter_converter = CasebookFilterConverter()
    can_set_page_size = True
    page_size = 20

    def is_accessible(self) -> bool:
        return access.can_open(current_user, self.area)

    def inaccessible_callback(self, name: str, **kwargs: Any):
        return _deny(name, **kwargs)

    read_only = False  # lists that nobody creates or edits through the generic forms

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return not self.read_only and access.can(current_user, access.Action.CREATE, self.model)

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return not self.read_only and access.can(current_user, access.Action.EDIT, self.model)

    def get_query(self):
        return super().get_query().filter(access.clause(current_user, self.model))

    def get_count_query(self):
        return super().get_count_query().filter(access.clause(current_user, self.model))

    def get_one(self, id: Any) -> Any:
        pk = inspect(self.model).primary_key[0]
        try:
            ident = pk.type.python_type(id)
        except (TypeError, ValueError):
            abort(404)
        obj = self.get_query().filter(pk == ident).one_or_none()
        if obj is None:
            abort(404)
        return obj

    def on_model_change(self, form, model, is_created: bool) -> None:
        changed = [a.key for a in inspect(model).attrs if a.history.has_changes()]
        db.session.flush()
        pk = inspect(model).identity[0]
        audit.record("create" if is_created else "update", user=current_user,
                     object_type=self.audit_type or self.model.__tablename__, object_id=pk,
                     detail={"changed": sorted(c for c in changed if c != "password_hash")
                             + (["password"] if "password_hash" in changed else [])})
