"""People: list, register (with the duplicate warning), page, edit with a version check."""
from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select
from wtforms import FieldList

import access
from admin.base import ORGANISATIONS, IdEquals, ScopedModelView
from admin.forms import PersonForm
from casework import consent, documents, matching, people, validate
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted, PossibleDuplicates, StaleEdit
from models import Case, CaseParticipant, Consent, Organisation, Person, audit, db
from models.enums import Role
from reporting import subject_access

FIELDS = ("given_name", "family_name", "date_of_birth", "dob_estimated", "sex", "preferred_language",
          "interpreter_required", "email", "phone", "address", "address_unsafe", "safe_contact",
          "external_reference")


SEARCH_CAP = 100


def named_like(term: str) -> Any:
    """Given or family name contains the term (a trigram index serves it on PostgreSQL)."""
    like = f"%{term}%"
    return or_(Person.family_name.ilike(like), Person.given_name.ilike(like))


def visible_people(*conditions: Any, cap: int = SEARCH_CAP) -> list[int]:
    """Ids of the first cap + 1 people the user may see who meet the conditions: candidates come from the
    indexes and each is checked for visibility only until there are enough, however common the name."""
    return db.session.scalars(select(Person.id).where(access.clause(current_user, Person), *conditions)
                              .limit(cap + 1)).all()


def as_date(term: str) -> date | None:
    """A date as people type it (31/12/1990, 31/12/90) or as ISO (1990-12-31); None for anything else."""
    if not any(ch.isdigit() for ch in term):   # a name: no need to try
        return None
    try:
        return validate.date_value(term, "search")
    except InvalidInput:
        return None


def _name_link(view, context, model, name) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for(".details_view", id=model.id), model.full_name)


def apply_errors(form, exc: InvalidInput) -> None:
    """Attach service validation messages to the form's fields."""
    for field, message in exc.fields.items():
        target = getattr(form, field, None)
        if target is not None and not isinstance(target, FieldList) and field != "__all__":
            target.errors = list(target.errors) + [message]
        else:
            form.form_errors.append(message)


class PersonView(ScopedModelView):
    area = access.Area.PEOPLE
    audit_type = "person"
    can_view_details = True
    column_display_actions = False   # the name is the link to the person's page
    column_list = ("family_name", "given_name", "date_of_birth", "external_reference", "registered_by_org",
                   "created_at")
    column_labels = {"registered_by_org": "Registered by", "created_at": "Registered"}
    column_searchable_list = ("family_name", "given_name", "external_reference")
    column_filters = ("date_of_birth", IdEquals(Person.registered_by_org_id, "Registered by",
                                                   options=ORGANISATIONS))
    column_default_sort = ("family_name", False)
    column_formatters = {"family_name": _name_link}

    column_sortable_list = ("family_name", "date_of_birth", "created_at")

    @property
    def can_edit(self) -> bool:  # edits go through the versioned form below
        return False

    def exact_term(self, term: str) -> bool:
        return as_date(term) is not None

    def search_placeholder(self) -> str:
        return "name, reference or date of birth"

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """Search first: with no search or filter the list shows the people the user's organisation registered
        (everyone the user may see is found by name or date of birth; listing two million people helps no one)."""
        g.people_unsearched = not self.search_terms(search)[0] and not filters   # per request: views are shared
        g.people_listing = True   # lists leave out merged records (their pages stay reachable by id)
        return super().get_list(page, sort_column, sort_desc, search, filters, execute, page_size)

    def get_query(self):
        query = super().get_query()
        if g.get("people_listing"):
            query = query.filter(Person.merged_into_id.is_(None))
        return query.filter(Person.registered_by_org_id == current_user.organisation_id) \
            if g.get("people_unsearched") else query

    def get_count_query(self):
        query = super().get_count_query().capped_at(self.count_cap())
        if g.get("people_listing"):
            query = query.filter(Person.merged_into_id.is_(None))
        return query.filter(Person.registered_by_org_id == current_user.organisation_id) \
            if g.get("people_unsearched") else query

    def count_cap(self) -> int:
        # A search that matches over a hundred people needs another word (first name, date of birth), not paging;
        # each match costs a visibility check, so counting stops early.
        return SEARCH_CAP

    @expose("/")
    def index_view(self):
        """The list, with a hint while it shows only the organisation's own registrations."""
        if not self.search_terms(request.args.get("search"))[0] and not any(k.startswith("flt") for k in request.args):
            flash("Showing the people your organisation registered. Search by name, reference or date of birth "
                  "(31/12/1990) to find anyone on a case you can see.", "info")
        return super().index_view()

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Dates of birth (31/12/1990 or 1990-12-31) match exactly; other words match names and references.

        The list and its count work on the first SEARCH_CAP + 1 visible matches: the indexes find candidates
        and each is checked for visibility only until there are enough, however common the name."""
        conds = []
        for term in search.split():
            born = as_date(term)
            if born is not None:
                conds.append(Person.date_of_birth == born)
                continue
            conds.append(or_(named_like(term), Person.external_reference.ilike(f"%{term}%")))
        # Found once and handed to both the list and its count as ids (at most SEARCH_CAP + 1 of them).
        found = Person.id.in_(visible_people(*conds))
        return query.filter(found), count_query.filter(found), joins, count_joins

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Register a person; likely duplicates are shown before anything is saved."""
        form = PersonForm()
        matches, holders = [], []
        if form.validate_on_submit():
            data = {f: getattr(form, f).data for f in FIELDS}
            try:
                found = matching.for_registration(current_user, data)
                if (found.visible or found.known_to) and not form.confirm_not_duplicate.data:
                    db.session.commit()   # the search's audit row; nothing is registered
                    matches, holders = found.visible, found.holders
                else:
                    person = people.register(current_user, data, confirm_not_duplicate=True,
                                             known_duplicates=found.visible)
                    db.session.commit()
                    flash(f"Registered {person.full_name}.", "success")
                    return redirect(url_for(".details_view", id=person.id))
            except PossibleDuplicates as exc:
                db.session.rollback()
                matches = exc.matches
            except InvalidInput as exc:
                db.session.rollback()
                apply_errors(form, exc)
        status = 400 if request.method == "POST" else 200
        return self.render("people/form.html", form=form, matches=matches, holders=holders, person=None), status

    @expose("/details/")
    def details_view(self):
        """The person page (audited): details and the cases the user can see them on."""
        person = self.get_one(request.args.get("id"))
        case_rows = db.session.execute(
            select(CaseParticipant, Case).join(Case, Case.id == CaseParticipant.case_id)
            .where(CaseParticipant.person_id == person.id, access.clause(current_user, Case))
            .order_by(Case.opened_at.desc())).all()
        audit.record("view", user=current_user, object_type="person", object_id=person.id)
        also = matching.also_known_to(current_user, person)
        db.session.commit()
        merged_into = db.session.get(Person, person.merged_into_id) if person.merged_into_id else None
        consents = consent.history(person)
        organisations = db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                                           .order_by(Organisation.name)).all()
        return self.render("people/detail.html", person=person, case_rows=case_rows, also_known_to=also,
                           consents=consents, organisations=organisations, consent_methods=consent.METHODS,
                           merged_into=merged_into if merged_into and access.is_visible(current_user, merged_into)
                           else None,
                           can_edit=access.can(current_user, access.Action.EDIT, person),
                           documents=documents.list_for_person(person, current_user),
                           can_pack=current_user.has_role(Role.MANAGER))

    @expose("/<int:person_id>/consents", methods=("POST",))
    def record_consent(self, person_id: int):
        """Record a consent decision: given or refused, purpose, organisations, how."""
        person = self.get_one(str(person_id))
        given = {"given": True, "refused": False}.get(request.form.get("decision", ""))
        try:
            consent.record(current_user, person, given, request.form.get("purpose"),
                           request.form.getlist("organisations"), request.form.get("method"))
        except (InvalidInput, NotPermitted) as exc:
            db.session.rollback()
            flash(f"Not recorded: {str(exc) if isinstance(exc, NotPermitted) else '; '.join(exc.fields.values())}.",
                  "error")
            return redirect(url_for(".details_view", id=person.id) + "#consent")
        db.session.commit()
        flash("Consent recorded.", "success")
        return redirect(url_for(".details_view", id=person.id) + "#consent")

    @expose("/consents/<int:consent_id>/withdraw", methods=("POST",))
    def withdraw_consent(self, consent_id: int):
        """Withdraw a consent: the organisations it covered are told and their shares flagged for review."""
        try:
            flagged = consent.withdraw(current_user, consent_id)
        except NotFound:
            abort(404)
        except Conflict as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(request.referrer or url_for(".index_view"))
        db.session.commit()
        person_id = db.session.get(Consent, consent_id).person_id
        flash(f"Consent withdrawn; {len(flagged)} shared case(s) flagged for review." if flagged
              else "Consent withdrawn.", "success")
        return redirect(url_for(".details_view", id=person_id) + "#consent")

    @expose("/<int:person_id>/merge", methods=("POST",))
    def merge(self, person_id: int):
        """Merge another record of the same person into this one (managers who see both)."""
        keep = self.get_one(str(person_id))
        other_id = validate.whole_number(request.form.get("other"))
        other = db.session.get(Person, other_id) if other_id else None
        try:
            if other is None or not access.is_visible(current_user, other):
                raise InvalidInput({"other": "no record with that number that you can see"})
            if request.form.get("confirm") != "y":
                raise InvalidInput({"confirm": "tick the box to confirm they are the same person"})
            moved = people.merge(current_user, keep, other)
        except (InvalidInput, NotPermitted) as exc:
            db.session.rollback()
            flash(f"Not merged: {str(exc) if isinstance(exc, NotPermitted) else '; '.join(exc.fields.values())}.",
                  "error")
            return redirect(url_for(".details_view", id=keep.id))
        db.session.commit()
        flash(f"Merged person {other.id} into this record ({moved} case role(s) moved); the other record now "
              "points here.", "success")
        return redirect(url_for(".details_view", id=keep.id))

    @expose("/<int:person_id>/subject-access.xlsx")
    def subject_access(self, person_id: int):
        """The subject access pack for this person, for the user's organisation (managers)."""
        person = self.get_one(person_id)
        out = BytesIO()
        try:
            subject_access.build(current_user, person, out)
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        db.session.commit()
        out.seek(0)
        return send_file(out, as_attachment=True, download_name=f"subject-access-person-{person.id}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        """Edit a person; a stale form (someone saved meanwhile) is refused and nothing changes."""
        person = self.get_one(request.args.get("id"))
        if not access.can(current_user, access.Action.EDIT, person):
            abort(403, "Only the organisation that registered this person can edit their details.")
        form = PersonForm(obj=None if request.method == "POST" else person)
        if request.method == "GET":
            form.version.data = person.version
        if form.validate_on_submit():
            try:
                version = int(form.version.data or 0)
                changed = people.update(current_user, person, version, {f: getattr(form, f).data for f in FIELDS})
                db.session.commit()
                flash(f"Saved {len(changed)} change(s)." if changed else "No changes to save.", "success")
                return redirect(url_for(".details_view", id=person.id))
            except StaleEdit as exc:
                db.session.rollback()
                flash(str(exc), "error")
                return self.render("people/form.html", form=form, matches=[], person=person), 409
            except (InvalidInput, NotPermitted, ValueError) as exc:
                db.session.rollback()
                apply_errors(form, exc if isinstance(exc, InvalidInput) else InvalidInput(str(exc)))
        status = 400 if request.method == "POST" else 200
        return self.render("people/form.html", form=form, matches=[], person=person), status
