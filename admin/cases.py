"""Cases: list, open, the case page (audited), edit with a version check, people, partners, notes."""
from __future__ import annotations

import json
import re

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select
from wtforms.fields.choices import SelectChoice

import access
from admin.base import CASE_TYPES, ORGANISATIONS, IdEquals, ScopedModelView, perform
from admin.forms import (AddMemberForm, AddOrganisationForm, AddParticipantForm, CaseEditForm, CaseOpenForm,
                         IncidentForm, NoteForm)
from admin.letters import write_letter
from admin.people import as_date, apply_errors, named_like, visible_people
from casework import areas, calendar, cases, disclosures, documents, incidents, validate
from casework.errors import InvalidInput, NotFound, NotPermitted, StaleEdit
from models import (Case, CaseParticipant, CaseType, Incident, InstanceStatus, ItemStatus, Organisation, Person,
                    Service, WorkflowInstance, WorkItem, db, utcnow)
from models.enums import Role, label
from workflows import assignment, closing, engine, processes, requests, tasks

PICK_LIMIT = 200
PEOPLE_CAP = 100   # people a case search follows to their cases
WHOLE_REFERENCE = re.compile(r"^CB-\d{4}-\d{6}[A-Z]?$", re.IGNORECASE)


def _ref_link(view, context, model, name) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for(".details_view", id=model.id), model.reference)


def _risk(view, context, model, name) -> Markup:
    value = model.risk_level.value
    return Markup('<span class="badge badge-risk-{}">{}</span>').format(value, label(value))


def _enum(view, context, model, name) -> str:
    return label(getattr(model, name).value)


def _case_type_choices() -> list[SelectChoice]:
    # Empty first: a case of the wrong type starts the wrong processes, so nobody gets one by not looking.
    return [SelectChoice("", "— choose —")] + [SelectChoice(c.code, c.name) for c in db.session.scalars(
        select(CaseType).where(CaseType.active.is_(True)).order_by(CaseType.name))]


def _area_choices() -> list[SelectChoice]:
    """Active areas; "not set" only when there are none to choose from (routing needs an area)."""
    found = [SelectChoice(a.code, a.name) for a in areas.active_areas()]
    return found or [SelectChoice("", "— no areas defined —")]


def _org_choices(exclude: set[int]) -> list[SelectChoice]:
    return [SelectChoice(o.id, o.name) for o in db.session.scalars(
        select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name))
        if o.id not in exclude]


def _incident_form(case: Case, recorded: list[Incident], form: IncidentForm | None = None) -> IncidentForm:
    """The incident form with this case's choices (each select starts empty: no one-click wrong answer)."""
    form = form or IncidentForm(prefix="incident")
    on_case = [case.lead_organisation, *[o.organisation for o in case.organisations]]
    others = [o for o in db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                                            .order_by(Organisation.name)) if o not in on_case]
    form.kind.choices = [SelectChoice("", "— choose —")] + [SelectChoice(k, v) for k, v in incidents.KINDS.items()]
    form.person.choices = [SelectChoice("", "— none of the people on the case —")] + [
        SelectChoice(str(p.person.id), f"{p.person.full_name} ({label(p.role.value).lower()})")
        for p in case.participants]
    form.reported_to.choices = [SelectChoice("", "— choose —")] + [SelectChoice(o.code, o.name)
                                                                   for o in on_case + others]
    form.same_as.choices = [SelectChoice("", "— no: a separate incident —")] + [
        SelectChoice(str(i.id), f"{i.occurred_on:%d/%m/%Y} · {incidents.KINDS.get(i.kind, i.kind)} · reported to "
                                f"{i.reported_to.name}") for i in recorded if i.same_as_id is None]
    return form


def _person_choices() -> list[SelectChoice]:
    rows = db.session.scalars(access.visible(current_user, Person)
                              .order_by(Person.created_at.desc()).limit(PICK_LIMIT))
    return [SelectChoice(0, "— none —")] + [SelectChoice(p.id, str(p)) for p in rows]


class CaseView(ScopedModelView):
    area = access.Area.CASES
    audit_type = "case"
    can_view_details = True
    column_display_actions = False   # the reference is the link to the case page
    column_list = ("reference", "case_type", "title", "status", "risk_level", "lead_organisation", "opened_at")
    column_labels = {"case_type": "Type", "lead_organisation": "Lead", "opened_at": "Opened"}
    column_searchable_list = ("reference", "title")
    # Case type and lead organisation are picked from lists (by code / id: each served by an index).
    column_filters = ("status", "risk_level", FilterEqual(Case.case_type_code, "Case type", options=CASE_TYPES),
                      IdEquals(Case.lead_organisation_id, "Lead organisation", options=ORGANISATIONS), "opened_at",
                      "restricted")
    # Sorts an index serves (a page of a sorted list reads a page of the index, not every visible case).
    column_sortable_list = ("reference", "status", "opened_at", ("case_type", "case_type_code"))
    column_default_sort = ("opened_at", True)
    column_formatters = {"reference": _ref_link, "risk_level": _risk, "status": _enum}

    @property
    def can_edit(self) -> bool:  # edits go through the versioned form on the case page
        return False

    def search_placeholder(self) -> str:
        return "reference, title, a person's name or date of birth"

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Each word must match the reference, the title or the name of a person on the case.

        People are found first, as the People list finds them (at most PEOPLE_CAP visible matches; more means
        the word needs company), and their cases join the condition as ids: every part of it is then one an
        index answers, so the planner can walk the newest cases for a common word or collect a rare one."""
        for term in search.split():
            if WHOLE_REFERENCE.match(term):   # a whole reference: the unique index, nothing else
                match = Case.reference == term.upper()
                query, count_query = query.filter(match), count_query.filter(match)
                continue
            like = f"%{term}%"
            born = as_date(term)   # a date of birth (31/12/1990): the people born that day, as for a name
            people = visible_people(Person.date_of_birth == born if born else named_like(term), cap=PEOPLE_CAP)
            if len(people) > PEOPLE_CAP:
                flash(f"More than {PEOPLE_CAP} people are called “{term}”: their cases are not all shown. Add a "
                      "first name or the reference.", "warning")
            on_cases = db.session.scalars(select(CaseParticipant.case_id).where(
                CaseParticipant.person_id.in_(people[:PEOPLE_CAP]))).all() if people else []
            match = Case.id.in_(sorted(set(on_cases))) if born else \
                or_(Case.reference.ilike(like), Case.title.ilike(like), Case.id.in_(sorted(set(on_cases))))
            query, count_query = query.filter(match), count_query.filter(match)
        return query, count_query, joins, count_joins

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Open a case led by the user's organisation, with people in roles."""
        form = CaseOpenForm()
        form.case_type.choices = _case_type_choices()
        form.area.choices = _area_choices()
        form.lead_organisation.choices = [SelectChoice(current_user.organisation_id,
                                                       current_user.organisation.name)]
        form.organisations.choices = _org_choices({current_user.organisation_id})
        people_choices = _person_choices()
        for row in form.participants:
            row.person_id.choices = people_choices
        if request.method == "GET":
            form.lead_organisation.data = current_user.organisation_id
            person_id = validate.whole_number(request.args.get("person_id"))
            if person_id:
                form.participants[0].person_id.data = person_id
        if form.validate_on_submit():
            try:
                case = cases.open_case(
                    current_user, case_type=form.case_type.data, title=form.title.data, area=form.area.data,
                    summary=form.summary.data, risk_level=form.risk_level.data,
                    lead_organisation_id=form.lead_organisation.data, restricted=form.restricted.data,
                    participants=[(r.person_id.data, r.role.data) for r in form.participants if r.person_id.data],
                    organisation_ids=form.organisations.data or [])
                warnings = tasks.start_mapped(current_user, case)
                db.session.commit()
                flash(f"Opened case {case.reference}.", "success")
                for warning in warnings:
                    flash(warning[0].upper() + warning[1:] + ".", "warning")
                return redirect(url_for(".details_view", id=case.id))
            except InvalidInput as exc:
                db.session.rollback()
                apply_errors(form, exc)
        status = 400 if request.method == "POST" else 200
        return self.render("cases/open.html", form=form), status

    @expose("/details/")
    def details_view(self):
        """The case page: facts, people, partners, notes; audited as a view."""
        case = self.get_one(request.args.get("id"))
        cases.record_view(current_user, case)
        page = self._render_case(case)
        db.session.commit()   # once, after rendering: the view's audit row is the only write
        return page

    def _render_case(self, case: Case, status: int = 200, **forms):
        can_edit = access.can(current_user, access.Action.EDIT, case)
        org_form = forms.get("org_form") or AddOrganisationForm(prefix="org")
        on_case = {case.lead_organisation_id} | {o.organisation_id for o in case.organisations}
        org_form.organisation_id.choices = [SelectChoice("", "— choose —")] + _org_choices(on_case)
        search = (request.args.get("q") or "").strip()
        found = []
        if search and can_edit:
            like = f"%{search}%"
            found = db.session.scalars(access.visible(current_user, Person).where(
                (Person.family_name.ilike(like)) | (Person.given_name.ilike(like))
                | (Person.external_reference == search)).order_by(Person.family_name).limit(20)).all()
        recorded = incidents.for_case(case)
        return self.render(
            "cases/detail.html", case=case, can_edit=can_edit, search=search, found=found,
            process_panels=_process_panels(case),
            startable=[d for d in processes.latest_per_key() if d.key != requests.PROCESS_KEY],  # own form above
            can_start=access.can(current_user, access.Action.START_PROCESS, case),
            outcomes=closing.OUTCOMES, open_steps=closing.open_work(case) if can_edit else 0,
            ask=_ask_choices(), default_due=requests.default_due(),
            is_lead=current_user.has_role(Role.LEAD) and case.lead_organisation_id == current_user.organisation_id,
            may_except=current_user.has_role(Role.MANAGER) and case.lead_organisation_id == current_user.organisation_id,
            note_form=forms.get("note_form") or NoteForm(prefix="note"),
            incident_form=_incident_form(case, recorded, forms.get("incident_form")), incidents=recorded,
            incident_names={i.id: i.reported_to.name for i in recorded}, incident_kinds=incidents.KINDS,
            documents=documents.list_for_case(case),
            participant_form=forms.get("participant_form") or AddParticipantForm(prefix="part"),
            org_form=org_form, member_form=forms.get("member_form") or AddMemberForm(prefix="member"),
            label=label), status

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        """Edit a case; a stale form (someone saved meanwhile) is refused and nothing changes."""
        case = self.get_one(request.args.get("id"))
        if not access.can(current_user, access.Action.EDIT, case):
            abort(403, "Only the lead organisation can edit this case.")
        form = CaseEditForm(obj=None if request.method == "POST" else case)
        form.case_type.choices = _case_type_choices()
        form.area.choices = _area_choices()
        if case.area_code and case.area_code not in {c.value for c in form.area.choices}:
            form.area.choices.insert(0, SelectChoice(case.area_code, case.area.name))  # retired since
        if request.method == "GET":
            form.case_type.data = case.case_type_code
            form.area.data = case.area_code or ""
            form.risk_level.data = case.risk_level.value
            form.version.data = case.version
        status = 200
        if form.validate_on_submit():
            try:
                changed = cases.update_case(current_user, case, int(form.version.data), {
                    "case_type_code": form.case_type.data, "area_code": form.area.data, "title": form.title.data,
                    "summary": form.summary.data, "risk_level": form.risk_level.data, "restricted": form.restricted.data})
                if "area_code" in changed:  # steps waiting for a provider in the new area may now have one
                    assignment.reassign_unassigned(case)
                db.session.commit()
                flash(f"Saved {len(changed)} change(s)." if changed else "No changes to save.", "success")
                return redirect(url_for(".details_view", id=case.id))
            except StaleEdit as exc:
                db.session.rollback()
                flash(str(exc), "error")
                status = 409
            except InvalidInput as exc:
                db.session.rollback()
                apply_errors(form, exc)
                status = 400
            except ValueError:
                db.session.rollback()
                form.version.errors = ["The form is damaged: reload the page."]
                status = 400
        elif request.method == "POST":
            status = 400
        return self.render("cases/edit.html", form=form, case=case), status

    def _post_action(self, case_id: int, form, action, success: str, form_key: str):
        case = self.get_one(case_id)
        if form.validate_on_submit():
            try:
                action(case, form)
                db.session.commit()
                flash(success, "success")
                return redirect(url_for(".details_view", id=case.id))
            except (InvalidInput, NotPermitted) as exc:
                db.session.rollback()
                case = self.get_one(case_id)
                flash(str(exc) if isinstance(exc, NotPermitted) else "; ".join(exc.fields.values()), "error")
                return self._render_case(case, 400 if isinstance(exc, InvalidInput) else 403)
        return self._render_case(case, 400, **{form_key: form})

    @expose("/<int:case_id>/notes/", methods=("POST",))
    def add_note(self, case_id: int):
        """Write a note on the case."""
        return self._post_action(case_id, NoteForm(prefix="note"),
                                 lambda c, f: cases.add_note(current_user, c, f.body.data),
                                 "Note added.", "note_form")

    @expose("/<int:case_id>/incidents/", methods=("POST",))
    def record_incident(self, case_id: int):
        """Record a report of an incident or complaint on the case."""
        case = self.get_one(case_id)
        f = IncidentForm(prefix="incident")   # its selects get their choices when the page is drawn again
        if f.validate_on_submit():
            try:
                row = incidents.record(current_user, case, {
                    "occurred_on": f.occurred_on.data, "reported_on": f.reported_on.data, "kind": f.kind.data,
                    "person": f.person.data, "reported_to": f.reported_to.data, "reported_by": f.reported_by.data,
                    "reference": f.reference.data, "hate_motivated": f.hate_motivated.data,
                    "description": f.description.data, "same_as": f.same_as.data})
                db.session.commit()
                flash("Incident recorded." + (
                    " It is another agency's report of an incident already on the case (same person, kind and "
                    "day), so it counts once; if it is a separate incident, say so in the list."
                    if row.same_as_id and not f.same_as.data else ""), "success")
                return redirect(url_for(".details_view", id=case.id) + "#incidents")
            except InvalidInput as exc:
                db.session.rollback()
                case = self.get_one(case_id)
                apply_errors(f, exc)
            except NotPermitted as exc:
                db.session.rollback()
                abort(403, str(exc))
        return self._render_case(case, 400, incident_form=f)

    @expose("/<int:case_id>/incidents/<int:incident_id>/separate/", methods=("POST",))
    def separate_incident(self, case_id: int, incident_id: int):
        """A report linked as the same incident is a separate one."""
        case = self.get_one(case_id)
        try:
            incidents.separate(current_user, case, incident_id)
        except NotFound:
            abort(404)
        except NotPermitted as exc:
            abort(403, str(exc))
        db.session.commit()
        flash("Counted as a separate incident.", "success")
        return redirect(url_for(".details_view", id=case.id) + "#incidents")

    @expose("/<int:case_id>/participants/", methods=("POST",))
    def add_participant(self, case_id: int):
        """Put a person on the case in a role."""
        return self._post_action(case_id, AddParticipantForm(prefix="part"),
                                 lambda c, f: cases.add_participant(current_user, c, f.person_id.data, f.role.data),
                                 "Person added to the case.", "participant_form")

    @expose("/<int:case_id>/organisations/", methods=("POST",))
    def add_organisation(self, case_id: int):
        """Add a partner organisation to the case."""
        def add(case: Case, form: AddOrganisationForm) -> None:
            if (form.exception_basis.data or "").strip() or (form.exception_reason.data or "").strip():
                org = db.session.get(Organisation, form.organisation_id.data)
                if org is None:
                    raise InvalidInput({"organisations": "choose an organisation"})
                disclosures.record_exception(current_user, case, org, form.exception_basis.data,
                                             form.exception_reason.data)
            cases.add_organisation(current_user, case, form.organisation_id.data)
            assignment.reassign_unassigned(case)  # steps waiting for such a partner go to it

        return self._post_action(case_id, AddOrganisationForm(prefix="org"), add,
                                 "Organisation added to the case.", "org_form")

    @expose("/<int:case_id>/members/", methods=("POST",))
    def add_member(self, case_id: int):
        """Name a user on a restricted case."""
        return self._post_action(case_id, AddMemberForm(prefix="member"),
                                 lambda c, f: cases.add_member(current_user, c, f.email.data),
                                 "User named on the case.", "member_form")


    @expose("/<int:case_id>/processes/", methods=("POST",))
    def start_process(self, case_id: int):
        """Start a deployed process on the case."""
        case = self.get_one(case_id)
        key = request.form.get("key", "")
        if not key:
            flash("Choose the process to start.", "error")
            return redirect(url_for(".details_view", id=case.id))
        try:
            instance = tasks.start(current_user, case, key)
            db.session.commit()
            if instance.status is InstanceStatus.ERROR:
                flash(f"{key} started but stopped with an error: {instance.error_message}", "error")
            else:
                flash(f"Started {key}.", "success")
        except (NotFound, NotPermitted, InvalidInput) as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for(".details_view", id=case.id))

    @expose("/<int:case_id>/processes/<int:instance_id>/cancel/", methods=("POST",))
    def cancel_process(self, case_id: int, instance_id: int):
        """Leads stop a process instance (e.g. one stuck in error); its open steps are cancelled."""
        case = self.get_one(case_id)
        instance = _instance_of(case, instance_id)
        try:
            tasks.cancel(current_user, instance, request.form.get("reason", ""))
            db.session.commit()
            flash("The process was cancelled.", "success")
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        return redirect(url_for(".details_view", id=case.id))

    @expose("/<int:case_id>/requests/", methods=("POST",))
    def ask_agency(self, case_id: int):
        """Ask another agency (an organisation, or a service's provider in the case's area) by a date."""
        case = self.get_one(case_id)
        kind, _, code = (request.form.get("asked") or "").partition(":")
        sent: list[WorkflowInstance] = []

        def ask() -> tuple[str, str]:
            instance, item = requests.ask(current_user, case, organisation=code if kind == "organisation" else None,
                                          service=code if kind == "service" else None,
                                          text=request.form.get("text"), due_on=request.form.get("due_on"))
            sent.append(instance)
            who = item.organisation.name if item and item.organisation else "the agency (unassigned: see below)"
            return f"Request sent to {who}.", "success"

        if perform(ask, refused_prefix="The request was not sent: "):
            return redirect(url_for(".details_view", id=case.id) + f"#instance-{sent[0].id}")
        return redirect(url_for(".details_view", id=case.id) + "#ask")

    @expose("/<int:case_id>/processes/<int:instance_id>/retry/", methods=("POST",))
    def retry_process(self, case_id: int, instance_id: int):
        """Leads run a stopped process's failed step again once its cause is fixed."""
        case = self.get_one(case_id)
        instance = _instance_of(case, instance_id)

        def retry() -> tuple[str, str]:
            tasks.retry(current_user, instance)
            if instance.status is InstanceStatus.ERROR:
                return f"The step failed again: {instance.error_message}", "error"
            return "The failed step ran again and the process goes on.", "success"

        perform(retry)
        return redirect(url_for(".details_view", id=case.id) + f"#instance-{instance.id}")

    @expose("/<int:case_id>/steps/<int:item_id>/assign/", methods=("POST",))
    def assign_step(self, case_id: int, item_id: int):
        """The lead organisation gives an unassigned step to an organisation, which joins the case."""
        case = self.get_one(case_id)
        item = db.session.get(WorkItem, item_id)
        if item is None or item.case_id != case.id:
            abort(404)

        def assign() -> tuple[str, str]:
            if not request.form.get("organisation"):
                raise InvalidInput("Choose the organisation to give the step to.")
            tasks.assign(current_user, item, validate.whole_number(request.form.get("organisation")))
            return f"“{item.title}” is now with {item.organisation.name}.", "success"

        perform(assign)
        return redirect(url_for(".details_view", id=case.id) + f"#instance-{item.instance_id}")

    @expose("/<int:case_id>/organisations/<int:organisation_id>/remove/", methods=("POST",))
    def remove_organisation(self, case_id: int, organisation_id: int):
        """Take a partner off the case, with the reason."""
        case = self.get_one(case_id)
        perform(lambda: (f"{cases.remove_organisation(current_user, case, organisation_id, request.form.get('reason')).name} "
                         "no longer takes part in this case.", "success"), "Not removed: ")
        return redirect(url_for(".details_view", id=case.id) + "#organisations")

    @expose("/<int:case_id>/participants/<int:participant_id>/remove/", methods=("POST",))
    def remove_participant(self, case_id: int, participant_id: int):
        """Take a person off the case, with the reason (their record stays)."""
        case = self.get_one(case_id)
        perform(lambda: (f"{cases.remove_participant(current_user, case, participant_id, request.form.get('reason')).person.full_name} "
                         "is no longer on this case.", "success"), "Not removed: ")
        return redirect(url_for(".details_view", id=case.id) + "#participants")

    @expose("/<int:case_id>/close/", methods=("POST",))
    def close_case(self, case_id: int):
        """Close the case: how it ended, why, and what happens to its open work."""
        case = self.get_one(case_id)
        form = request.form

        def close() -> tuple[str, str]:
            stopped = closing.close(current_user, case, form.get("outcome"), form.get("reason"),
                                    form.get("open_work") == "cancel")
            return (f"Case {case.reference} closed" + (f"; {stopped} process(es) and their open steps cancelled."
                                                       if stopped else "."), "success")

        perform(close, "The case was not closed: ")
        return redirect(url_for(".details_view", id=case.id) + "#close")

    @expose("/<int:case_id>/reopen/", methods=("POST",))
    def reopen_case(self, case_id: int):
        """Reopen a closed case, with the reason."""
        case = self.get_one(case_id)
        perform(lambda: (closing.reopen(current_user, case, request.form.get("reason")) or
                         f"Case {case.reference} reopened: start the processes it needs again.", "success"),
                "The case was not reopened: ")
        return redirect(url_for(".details_view", id=case.id))

    @expose("/<int:case_id>/letters/new/", methods=("GET", "POST"))
    def new_letter(self, case_id: int):
        """Write a letter for a person on the case, stored on it as a document (admin/letters.py)."""
        return write_letter(self, self.get_one(case_id))

    @expose("/<int:case_id>/processes/<int:instance_id>/diagram.bpmn")
    def process_diagram(self, case_id: int, instance_id: int):
        """The diagram version this instance runs on (for the viewer)."""
        case = self.get_one(case_id)
        instance = _instance_of(case, instance_id)
        return Response(instance.definition.bpmn_xml, mimetype="application/xml")


def _ask_choices() -> dict[str, list[tuple[str, str]]]:
    """Whom a practitioner may ask: any other active organisation, or whoever provides a service."""
    orgs = [(f"organisation:{o.code}", o.name) for o in db.session.scalars(
        select(Organisation).where(Organisation.active.is_(True), Organisation.id != current_user.organisation_id)
        .order_by(Organisation.name))]
    services = [(f"service:{s.code}", f"{s.name} (the provider in the case's area)") for s in db.session.scalars(
        select(Service).where(Service.active.is_(True)).order_by(Service.name))]
    return {"Organisations": orgs, "Services": services}


def _instance_of(case: Case, instance_id: int) -> WorkflowInstance:
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None or instance.case_id != case.id:
        abort(404)
    return instance


def _process_panels(case: Case) -> list[dict]:
    """Per instance: states for the diagram, due dates on current steps, completed steps."""
    panels = []
    now = utcnow()
    can_assign = access.can(current_user, access.Action.EDIT, case)
    by_instance: dict[int, list[WorkItem]] = {}
    for item in db.session.scalars(select(WorkItem).where(WorkItem.case_id == case.id)
                                   .order_by(WorkItem.completed_at, WorkItem.id)):
        # The case is visible (it was loaded through access.clause), so its work items are too.
        access.remember_visible(current_user, item)
        by_instance.setdefault(item.instance_id, []).append(item)
    for instance in tasks.instances(case):
        items = by_instance.get(instance.id, [])
        ready = [i for i in items if i.status is ItemStatus.READY]
        due = {i.bpmn_id: {"text": calendar.local(i.due_at), "overdue": i.due_at < now}
               for i in ready if i.due_at}
        doable = {i.id for i in ready if access.can(current_user, access.Action.COMPLETE, i)}
        choices = {i.id: assignment.candidates(case, i.groups, i.lane) for i in ready
                   if i.organisation_id is None and can_assign}
        panels.append({"instance": instance, "states": _steps(instance), "due": due,
                       "ready": ready, "doable": doable, "choices": choices,
                       "done": [i for i in items if i.status is ItemStatus.COMPLETED]})
    return panels


def _steps(instance: WorkflowInstance) -> dict[str, str]:
    """Where each step of the diagram stands: saved with the state (older rows: read from the state once)."""
    if instance.steps is not None:
        return json.loads(instance.steps)
    return engine.step_states(instance.state)


class CaseRegisterView(ScopedModelView):
    """Auditors: case metadata only (no titles, people or notes); opening a record is audited."""

    area = access.Area.CASE_REGISTER
    audit_type = "case"
    can_view_details = True
    column_list = ("reference", "case_type", "status", "risk_level", "lead_organisation", "restricted",
                   "opened_at", "closed_at")
    column_details_list = column_list
    column_labels = {"case_type": "Type", "lead_organisation": "Lead", "opened_at": "Opened",
                     "closed_at": "Closed"}
    column_searchable_list = ("reference",)
    column_filters = ("status", FilterEqual(Case.case_type_code, "Case type", options=CASE_TYPES),
                      IdEquals(Case.lead_organisation_id, "Lead organisation", options=ORGANISATIONS), "opened_at",
                      "restricted")
    column_default_sort = ("opened_at", True)
    column_formatters = {"status": _enum, "risk_level": _enum}

    read_only = True

    @expose("/details/")
    def details_view(self):
        """Case metadata (audited)."""
        case = self.get_one(request.args.get("id"))
        cases.record_view(current_user, case, metadata_only=True)
        db.session.commit()
        return super().details_view()
