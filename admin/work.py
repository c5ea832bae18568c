"""My work and Team work: ready items, overdue first, claim/unclaim; the task form for each step."""
from __future__ import annotations

import time
from typing import Any

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import defer, selectinload

import access
from admin.base import CASE_TYPES, PROCESSES, ScopedModelView, perform
from admin.taskforms import form_class_for, prefill, submitted
from casework import calendar, meetings, validate
from casework.errors import Conflict, InvalidData, NotFound, NotPermitted
from models import Case, CaseParticipant, ItemStatus, Person, WorkItem, audit, db, utcnow
from models.enums import Role
from workflows import processes, tasks


MENU_CAP = 99  # the menu says "99+" beyond this (counting further would cost what the page does not show)
MENU_TTL = 20  # seconds a menu count is reused (per user, per web process)


def _menu_counts() -> dict[tuple[int, str], tuple[float, int]]:
    """This app's menu counts: (user id, view) -> (valid until, count)."""
    return current_app.extensions.setdefault("casebook_menu_counts", {})


def forget_menu_counts(user_id: int) -> None:
    """The user changed something: their next page counts afresh."""
    counts = _menu_counts()
    for key in [k for k in counts if k[0] == user_id]:
        counts.pop(key, None)
# Overdue and soonest due first, undated last: the order of ix_work_item_ready, so lists stop at a page.
READY_ORDER = (WorkItem.due_at.asc().nulls_last(), WorkItem.id)
LIST_DEFERRED = (WorkItem.form, WorkItem.documentation, WorkItem.data, WorkItem.candidate_groups)


def _title(view, context, item: WorkItem, name: str) -> Markup:
    if access.can(current_user, access.Action.COMPLETE, item):
        return Markup('<a href="{}">{}</a>').format(url_for("my_work.task_view", item_id=item.id), item.title)
    return Markup("{}").format(item.title)


def _case(view, context, item: WorkItem, name: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for("cases.details_view", id=item.case_id), item.case.reference)


def _due(view, context, item: WorkItem, name: str) -> Markup:
    if item.due_at is None:
        return Markup('<span class="text-muted">—</span>')
    text = calendar.local(item.due_at)
    if item.due_at < utcnow():
        return Markup('<span class="badge badge-danger">Overdue</span> {}').format(text)
    if calendar.local(item.due_at, "%Y-%m-%d") == calendar.local(utcnow(), "%Y-%m-%d"):
        return Markup('<span class="badge badge-warning">Due today</span> {}').format(text)
    return Markup("{}").format(text)


ABOUT_ROLES = ("victim", "vulnerable_person", "family_member", "witness", "offender", "other")


def _people_on(case_ids: list[int]) -> dict[int, str]:
    """Who each case on the page is about (its victim or vulnerable person first), in one query."""
    found: dict[int, tuple[int, str]] = {}
    if case_ids:
        for case_id, role, person in db.session.execute(
                select(CaseParticipant.case_id, CaseParticipant.role, Person)
                .join(Person, Person.id == CaseParticipant.person_id)
                .where(CaseParticipant.case_id.in_(set(case_ids)))):
            rank = ABOUT_ROLES.index(role.value) if role.value in ABOUT_ROLES else len(ABOUT_ROLES)
            if case_id not in found or rank < found[case_id][0]:
                found[case_id] = (rank, person.full_name)
    return {case_id: name for case_id, (_, name) in found.items()}


def _about(view, context, item: WorkItem, name: str) -> str:
    """The person the step is about, else the case's title."""
    return getattr(g, "work_about", {}).get(item.case_id) or item.case.title


def _organisation(view, context, item: WorkItem, name: str) -> Markup:
    if item.organisation is None:
        return Markup('<span class="badge badge-warning">Unassigned</span> <span class="small">{}</span> '
                      '<a class="small" href="{}#instance-{}">Assign on the case page</a>').format(
            item.unassigned_reason or "", url_for("cases.details_view", id=item.case_id), item.instance_id)
    role = f" ({item.required_role}s)" if item.required_role else ""
    return Markup("{}{}").format(item.organisation.name, role)


def _claimed(view, context, item: WorkItem, name: str) -> Markup:
    csrf = Markup('<input type="hidden" name="csrf_token" value="{}">').format(view.csrf_token())
    if item.claimed_by_id == current_user.id:
        return Markup('<form method="post" action="{}" class="d-inline">{}<button class="btn btn-sm '
                      'btn-outline-secondary">Unclaim</button></form>').format(
            url_for("my_work.release", item_id=item.id), csrf)
    if item.claimed_by is not None:
        return Markup("{}").format(item.claimed_by.name)
    if access.can(current_user, access.Action.COMPLETE, item):
        return Markup('<form method="post" action="{}" class="d-inline">{}<button class="btn btn-sm '
                      'btn-outline-primary">Claim</button></form>').format(
            url_for("my_work.claim", item_id=item.id), csrf)
    return Markup("")


class WorkView(ScopedModelView):
    """Base list of ready work items; subclasses narrow it."""

    area = access.Area.WORK
    can_view_details = False
    column_list = ("due_at", "title", "about", "case", "process_key", "organisation", "claimed_by")
    column_labels = {"due_at": "Due", "title": "Step", "about": "About", "process_key": "Process",
                     "claimed_by": "Claimed by", "claimed_by.email": "Claimed by (e-mail)"}
    column_formatters = {"title": _title, "case": _case, "due_at": _due, "organisation": _organisation,
                         "claimed_by": _claimed, "about": _about,
                         "process_key": lambda v, c, m, n: getattr(g, "process_names", {}).get(m.process_key,
                                                                                               m.process_key)}
    column_filters = (FilterEqual(WorkItem.process_key, "Process", options=PROCESSES),
                      FilterEqual("case.case_type_code", "Case type", options=CASE_TYPES), "due_at",
                      "claimed_by.email")
    column_sortable_list = ("due_at", "title", "process_key")
    column_searchable_list = ("title",)

    read_only = True
    column_auto_select_related = False   # see get_query

    def csrf_token(self) -> str:
        from flask_wtf.csrf import generate_csrf

        return generate_csrf()

    def scope(self):
        """Extra WHERE clause for this list."""
        raise NotImplementedError

    def _ordered(self, query):
        if request.args.get("sort") is None:
            # Overdue and soonest due first; items without a due date last.
            query = query.order_by(*READY_ORDER)
        return query

    def get_query(self):
        # The list never shows a step's form or answers: leaving them out keeps the rows it sorts narrow.
        # Related rows load after the page is chosen (selectin), so the sort works on work items alone.
        return self._ordered(super().get_query().filter(WorkItem.status == ItemStatus.READY, self.scope())
                             .options(*(defer(c) for c in LIST_DEFERRED), selectinload(WorkItem.case),
                                      selectinload(WorkItem.organisation), selectinload(WorkItem.claimed_by)))

    def get_count_query(self):
        return super().get_count_query().filter(WorkItem.status == ItemStatus.READY, self.scope())

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        # Rows came through access.clause: the per-row "can complete?" checks need not ask again.
        for item in rows or []:
            access.remember_visible(current_user, item)
        g.work_about = _people_on([item.case_id for item in rows or []])
        keys = {item.process_key for item in rows or []}
        g.process_names = processes.names(keys) if keys else {}
        return count, rows

    def menu_count(self) -> int | None:
        """The number shown in the menu: counted at most every MENU_TTL seconds per user and process (and
        afresh after the user changes anything), so browsing pages does not recount on every page."""
        if not current_user.is_authenticated or not self.is_accessible():
            return None
        key = (current_user.id, self.endpoint)
        now = time.monotonic()
        cached = _menu_counts().get(key)
        if cached is None or cached[0] <= now:
            cached = (now + MENU_TTL, self.get_count_query().capped_at(MENU_CAP).scalar())
            _menu_counts()[key] = cached
        return cached[1]


class TeamWorkView(WorkView):
    """Everything ready for my organisation, plus unassigned items on cases we lead."""

    def scope(self):
        org = current_user.organisation_id
        # Correlated: only the few unassigned items are checked against their case (an IN over the cases the
        # organisation leads would list hundreds of thousands of them).
        unassigned = and_(WorkItem.organisation_id.is_(None), WorkItem.status == ItemStatus.READY,
                          exists().where(Case.id == WorkItem.case_id, Case.lead_organisation_id == org))
        if not db.session.scalar(select(exists().where(unassigned))):
            # Usually none: then the list is one organisation's, which its index returns already in order.
            return WorkItem.organisation_id == org
        return or_(WorkItem.organisation_id == org, unassigned)


class MyWorkView(WorkView):
    """What I can do now: my organisation's items for my roles, unclaimed or claimed by me."""

    def scope(self):
        roles = [r.value for r in current_user.roles]
        return and_(WorkItem.organisation_id == current_user.organisation_id,
                    or_(WorkItem.required_role.is_(None), WorkItem.required_role.in_(roles)),
                    or_(WorkItem.claimed_by_id.is_(None), WorkItem.claimed_by_id == current_user.id))

    def _item(self, item_id: int) -> WorkItem:
        try:
            return tasks.get_item(current_user, item_id)
        except NotFound:
            abort(404)

    @expose("/<int:item_id>/claim/", methods=("POST",))
    def claim(self, item_id: int):
        """Claim an item from a list."""
        return self._claim(item_id, release=False)

    @expose("/<int:item_id>/release/", methods=("POST",))
    def release(self, item_id: int):
        """Give a claimed item back."""
        return self._claim(item_id, release=True)

    def _claim(self, item_id: int, release: bool):
        item = self._item(item_id)
        try:
            tasks.claim(current_user, item, release=release)
            db.session.commit()
            flash(f"{'Released' if release else 'Claimed'}: {item.title}.", "success")
        except (Conflict, NotPermitted) as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(request.referrer or url_for(".index_view"))

    @expose("/<int:item_id>/", methods=("GET", "POST"))
    def task_view(self, item_id: int):
        """The step's form, built from the diagram, with the case beside it."""
        item = self._item(item_id)
        if not access.can(current_user, access.Action.COMPLETE, item):
            abort(403, "This step is for another organisation or role.")
        form = form_class_for(item.fields)()
        if item.status is not ItemStatus.READY:
            flash(_done_message(item), "warning")
            return redirect(url_for(".index_view"))
        if item.meeting_type:   # completed at its meeting, where the coordinator records the outcome
            listed = meetings.listing_of(item)
            if listed is not None:
                return redirect(url_for("meetings.meeting", meeting_id=listed.meeting_id, _anchor=f"item-{listed.id}"))
            flash("This step waits for the next meeting: it is listed on the agenda as soon as your organisation "
                  "schedules one (Meetings).", "info")
            return redirect(url_for("meetings.index"))
        if request.method == "GET":
            prefill(form, item.fields)
        status = 200
        if request.method == "POST":
            if form.validate():
                try:
                    item, created = tasks.complete(current_user, item, submitted(form, item.fields))
                    db.session.commit()
                    flash(f"Completed: {item.title}.", "success")
                    return self._after_complete(created)
                except InvalidData as exc:
                    db.session.rollback()
                    for field_id, message in exc.errors.items():
                        target = getattr(form, field_id, None)
                        if target is not None:
                            target.errors = list(target.errors) + [message]
                        else:   # an operation after the step refused something the form does not name
                            flash(f"Not completed: {message}", "error")
                    status = 422
                except Conflict as exc:
                    db.session.rollback()
                    flash(str(exc) + " Nothing was changed.", "warning")
                    return redirect(url_for(".index_view")), 303
                except NotPermitted as exc:
                    db.session.rollback()
                    abort(403, str(exc))
            else:
                status = 422
        case = db.session.get(Case, item.case_id)
        can_give = item.organisation_id == current_user.organisation_id and current_user.has_role(
            Role.MANAGER, Role.LEAD)
        audit.record("view", user=current_user, object_type="work_item", object_id=item.id, case_id=item.case_id)
        page = self.render("work/task.html", item=item, form=form, case=case,
                           earlier=tasks.earlier_answers(item), show_safe="safe_contact" in item.shown_first,
                           overdue=item.due_at is not None and item.due_at < utcnow(),
                           colleagues=tasks.colleagues(item) if can_give else [])
        db.session.commit()   # the view's audit row (a refused completion was rolled back above)
        return page, status

    @expose("/<int:item_id>/give/", methods=("POST",))
    def give(self, item_id: int):
        """A manager gives the step to a colleague."""
        item = self._item(item_id)

        def give() -> tuple[str, str]:
            tasks.give_to(current_user, item, validate.whole_number(request.form.get("user")))
            return f"“{item.title}” is now with {item.claimed_by.name}.", "success"

        perform(give)
        return redirect(url_for(".task_view", item_id=item.id))

    def _after_complete(self, created: list[WorkItem]):
        for nxt in created:
            if access.can(current_user, access.Action.COMPLETE, nxt):
                return redirect(url_for(".task_view", item_id=nxt.id))
        return redirect(url_for(".index_view"))


def _done_message(item: WorkItem) -> str:
    if item.status is ItemStatus.COMPLETED:
        who = item.completed_by.name if item.completed_by else "someone else"
        return f"This step was already completed by {who}; nothing was changed."
    return "This step is no longer open (the process moved on); nothing was changed."


def counts_for_menu(views: list[Any]) -> None:
    """Wrap the menu entries of work views so their names carry live counts."""
    for view in views:
        menu = view.menu
        base = view.name

        class CountingMenu(type(menu)):  # type: ignore[misc]
            _base_name = base
            _count_view = view

            @property
            def name(self) -> str:
                count = self._count_view.menu_count()
                return f"{self._base_name} ({count})" if count is not None else self._base_name

            @name.setter
            def name(self, value: str) -> None:
                pass

        menu.__class__ = CountingMenu

