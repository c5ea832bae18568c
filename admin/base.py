"""One base for every console screen: access through access.py, audit of Flask-Admin changes."""
from __future__ import annotations

from enum import Enum
from typing import Any, Callable

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.form import converts
from flask_admin.model import filters
from flask_login import current_user
from sqlalchemy import func, inspect, literal_column, select
from sqlalchemy.orm import Query

import access
from casework import validate
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import audit, db
from workflows import processes
from models.enums import label


def _deny(name: str | None = None, **kwargs: Any):
    """Anonymous users go to the login page; everyone else gets 404 (deny without revealing)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(404)


def json_body() -> dict[str, Any]:
    """The JSON object a console script sent; {} for anything else (the view then says what it needs)."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


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


def _by_value(enum_class: Any, values: list[str], raw: Any) -> list[Any]:
    """Enum members from stored values ("open"), which is what the filters' options offer; an unknown one is
    refused as invalid (Flask-Admin looks values up by member name and fails with a KeyError, a 500)."""
    try:
        return [enum_class(v) for v in values]
    except ValueError:
        raise ValueError(f"not among the choices: {raw!r}") from None


class _ByValue:
    def clean(self, value: Any) -> Any:
        return super().clean(value) if self.enum_class is None else _by_value(self.enum_class, [value], value)[0]


class _ListByValue:
    def clean(self, value: Any) -> Any:
        values = sqla_filters.FilterInList.clean(self, value)
        return values if self.enum_class is None else _by_value(self.enum_class, values, value)


class EnumEquals(_ByValue, sqla_filters.EnumEqualFilter):
    pass


class EnumNotEquals(_ByValue, sqla_filters.EnumFilterNotEqual):
    pass


class EnumInList(_ListByValue, sqla_filters.EnumFilterInList):
    pass


class EnumNotInList(_ListByValue, sqla_filters.EnumFilterNotInList):
    pass


class CasebookFilterConverter(FilterConverter):
    """Date-time filters also for our UTCDateTime columns; enum filters by stored value, with labels."""

    enum = (EnumEquals, EnumNotEquals, sqla_filters.EnumFilterEmpty, EnumInList, EnumNotInList)

    @filters.convert("enum")
    def conv_enum(self, column, name: str, options: Any = None, **kwargs: Any):
        if not options:
            options = [(v, label(v)) for v in column.type.enums]
        return [f(column, name, options, **kwargs) for f in self.enum]

    @filters.convert("utcdatetime")
    def conv_utc_datetime(self, column, name: str, **kwargs: Any):
        return self.conv_datetime(column, name, **kwargs)


COUNT_CAP = 1000   # lists count at most this far ("1,000+") and page no further
MIN_TERM = 3       # a trigram index serves substring search from three characters
MAX_SEARCH = 100


class LazyOptions:
    """A filter's pick-list read when the page is drawn: Flask-Admin asks for options when the view is built,
    before any database or app context (and the list would go stale)."""

    def __init__(self, source: Callable[[], list[tuple[str, str]]]) -> None:
        self.source = source

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        return iter(self.source())


class IdEquals(sqla_filters.FilterEqual):
    """Equality on an integer id column: the value is checked and passed as an int (PostgreSQL will not compare
    an integer column with text, and an id beyond the column's range must not reach it)."""

    def validate(self, value: Any) -> bool:
        return validate.whole_number(value) is not None

    def clean(self, value: Any) -> int:
        return validate.whole_number(value) or 0


def _organisation_options() -> list[tuple[str, str]]:
    from models import Organisation

    return [(str(i), name) for i, name in db.session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name))]


def _case_type_options() -> list[tuple[str, str]]:
    from models import CaseType

    return [(code, name) for code, name in db.session.execute(select(CaseType.code, CaseType.name)
                                                              .order_by(CaseType.name))]


def _process_options() -> list[tuple[str, str]]:
    return sorted(processes.names().items(), key=lambda pair: pair[1])


ORGANISATIONS = LazyOptions(_organisation_options)
CASE_TYPES = LazyOptions(_case_type_options)
PROCESSES = LazyOptions(_process_options)


class CasebookModelConverter(AdminModelConverter):
    """Enum selects on model forms offer their values in words ("Victim services"), storing the value."""

    @converts("sqlalchemy.sql.sqltypes.Enum")
    def convert_enum(self, column, field_args, **extra: Any):
        field = super().convert_enum(column, field_args, **extra)
        field.kwargs["choices"] = [(value, label(value)) for value, _ in field.kwargs["choices"]]
        # Flask-Admin coerces an enum to its *name* (POLICE), which matches no choice: the edit form would show
        # nothing selected and save the first option. Our enums store their values.
        field.kwargs["coerce"] = lambda v: v.value if isinstance(v, Enum) else str(v)
        return field


class Capped(int):
    """A count that stopped at its cap: pagers do arithmetic with it; pages print it as "1,000+"."""

    cap: int

    def __new__(cls, cap: int) -> Capped:
        value = super().__new__(cls, cap + 1)
        value.cap = cap
        return value

    def __str__(self) -> str:
        return f"{self.cap:,}+"


class CappedCount:
    """Stands in for Flask-Admin's count query: filters and joins pass through; the count stops at `cap`."""

    def __init__(self, query: Any, cap: int):
        self._query, self._cap = query, cap

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._query, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            return CappedCount(result, self._cap) if isinstance(result, Query) else result
        return call

    def capped_at(self, cap: int) -> CappedCount:
        """The same count with another cap (menus show "99+")."""
        return CappedCount(self._query, cap)

    def scalar(self) -> int:
        """COUNT over at most cap + 1 matching rows: the cost follows the page, not the table."""
        inner = self._query.with_entities(literal_column("1")).limit(self._cap + 1).subquery()
        found = self._query.session.query(func.count()).select_from(inner).scalar()
        return Capped(self._cap) if found > self._cap else found


def count_upto(stmt: Any, cap: int = COUNT_CAP) -> int:
    """COUNT of a select's rows, stopping at `cap` (a Capped beyond it)."""
    inner = stmt.with_only_columns(literal_column("1")).limit(cap + 1).subquery()
    found = db.session.scalar(select(func.count()).select_from(inner))
    return Capped(cap) if found > cap else found


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
    model_form_converter = CasebookModelConverter
    create_template = "admin/model/casebook_create.html"
    list_template = "admin/model/casebook_list.html"
    edit_template = "admin/model/casebook_edit.html"
    can_set_page_size = True
    page_size = 20

    def get_column_name(self, field: str) -> str:
        """A column's heading in sentence case ("Date of birth", not Flask-Admin's "Date Of Birth")."""
        if self.column_labels and field in self.column_labels:
            return self.column_labels[field]
        return label(field.split(".")[-1]) if field else field

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
        return CappedCount(super().get_count_query().filter(access.clause(current_user, self.model)), COUNT_CAP)

    def count_cap(self) -> int:
        """How far this list counts (and pages)."""
        return COUNT_CAP

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """Pages stop at the count cap and searches need terms an index can serve, so no list scans a table."""
        size, cap = page_size or self.page_size, self.count_cap()
        page = max(page or 0, 0)   # ?page=-4 is the first page (PostgreSQL refuses a negative OFFSET)
        if page and size and page * size >= cap:
            flash(f"Only the first {cap:,} matches can be paged through; search or filter to find the rest. "
                  "Showing the last of those pages.", "warning")
            page = (cap - 1) // size
        usable = self.checked_search(search)
        if usable or filters:
            # A searched or filtered list shows content chosen by what was typed: the terms are recorded, as
            # keyed digests where they may be names (the object id holds the search's, so it can be looked up).
            audit.record("search", user=current_user, object_type=self.audit_type or self.model.__tablename__,
                         object_id=audit.term_digest(usable) if usable else None,
                         detail={"words": len(usable.split()) if usable else 0,
                                 "filters": [self._audited_filter(flt) for flt in filters or []]})
        return super().get_list(page, sort_column, sort_desc, usable, filters, execute, page_size)

    def _audited_filter(self, flt: tuple) -> list[str]:
        """A filter as the audit log keeps it: its name, and its value unless that was typed (then a digest)."""
        index, name, value = flt[0], str(flt[1]), str(flt[2])
        chosen = self._filters and 0 <= index < len(self._filters) and self._filters[index].get_options(self)
        return [name, value if chosen else f"digest {audit.term_digest(value)}"]

    @expose("/")
    def index_view(self):
        """The list; a searched list's audit row is written once it has been rendered."""
        page = super().index_view()
        if db.session.info.get("audit_pending"):
            db.session.commit()
        return page

    def checked_search(self, search: str | None) -> str | None:
        """The search terms worth running, saying which were left out."""
        usable, message = self.search_terms(search)
        if message:
            flash(*message)
        return usable

    def search_terms(self, search: str | None) -> tuple[str | None, tuple[str, str] | None]:
        """(the words worth running: each at least MIN_TERM characters, all within MAX_SEARCH; a message)."""
        if not search or not search.strip():
            return None, None
        if len(search) > MAX_SEARCH:
            return None, (f"Search text is limited to {MAX_SEARCH} characters; the list is not searched.", "error")
        terms = search.split()
        kept = [t for t in terms if len(t) >= MIN_TERM or self.exact_term(t)]
        message = None
        if len(kept) < len(terms):
            message = (f"Search words need at least {MIN_TERM} characters; shorter ones were left out.", "warning")
        return " ".join(kept) or None, message

    def exact_term(self, term: str) -> bool:
        """Is this short term still answered by an index (a view's own search, such as a date)?"""
        return False

    def get_one(self, id: Any) -> Any:
        pk = inspect(self.model).primary_key[0]
        try:
            ident = pk.type.python_type(id)
        except (TypeError, ValueError):
            abort(404)
        if isinstance(ident, int) and not 0 < ident <= access.ID_MAX:
            abort(404)  # beyond the column's range: nothing there (PostgreSQL would refuse the query)
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
