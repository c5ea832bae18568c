"""Meetings in the console: the panel's coordinator schedules a meeting, invites agencies, keeps the attendance
register, takes each case's minutes, outcome and actions; attendees' organisations see the agenda and minutes;
the agenda pack and the minutes print from the browser or download as PDF marked on every page."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_login import current_user

import access
from admin.base import SecureView, perform
from admin.taskforms import form_class_for, prefill, submitted
from casework import calendar, disclosures, meetings
from casework.errors import Conflict, InvalidData, InvalidInput, NotFound
from models import Case, CaseAccess, Organisation, User, audit, db, utcnow
from models.meetings import AgendaItem, Meeting
from reporting.pdf import html_to_pdf
from sqlalchemy import select
from workflows import panels

MARKING = "OFFICIAL-SENSITIVE"




class MeetingView(SecureView):
    """Upcoming and past meetings the user's organisation holds or is invited to; one meeting's page."""

    area = access.Area.WORK

    @expose("/")
    def index(self):
        kinds = meetings.types_for(current_user)
        audit.record("view", user=current_user, object_type="meetings")
        page = self.render("meetings/index.html", upcoming=meetings.upcoming(current_user),
                           past=meetings.past(current_user), kinds=kinds,
                           organisations=_organisations() if kinds else [])
        db.session.commit()
        return page

    @expose("/schedule", methods=("POST",))
    def schedule(self):
        form = request.form
        made: list[Meeting] = []

        def schedule() -> tuple[str, str]:
            starts = meetings.local_start(form.get("date"), form.get("time"))
            made.append(meetings.schedule(current_user, form.get("meeting_type"), starts, chair=form.get("chair"),
                                          place=form.get("place"), link=form.get("link"),
                                          invite=form.getlist("invite")))
            return f"Scheduled: {made[0].title}; {len(made[0].items)} case(s) listed.", "success"

        if perform(schedule, "Not scheduled: "):
            return redirect(url_for(".meeting", meeting_id=made[0].id))
        return redirect(url_for(".index")), 303

    def _meeting(self, meeting_id: int) -> Meeting:
        try:
            return meetings.get(current_user, meeting_id)
        except NotFound:
            abort(404)

    @expose("/<int:meeting_id>/")
    def meeting(self, meeting_id: int):
        meeting = self._meeting(meeting_id)
        coordinator = meetings.is_coordinator(current_user, meeting)
        items = list(meeting.items)
        steps = panels.steps_of(items)
        open_to_me = _visible_cases([i.case_id for i in items])
        forms = {}
        for item in items:
            step = steps[item.id]
            if coordinator and step is not None and item.outcome_at is None:
                form = form_class_for(step.fields)(prefix=f"i{item.id}")
                prefill(form, step.fields)
                forms[item.id] = form
        audit.record("view", user=current_user, object_type="meeting", object_id=meeting.id)
        page = self.render(
            "meetings/detail.html", meeting=meeting, coordinator=coordinator, items=items, steps=steps,
            forms=forms, actions=meetings.actions_of_meeting(meeting),
            sees={i.id: not i.case.restricted or i.case_id in open_to_me for i in items},
            me=meetings.attendee(meeting, current_user), invited=meetings.organisations_at(meeting),
            waiting=meetings.waiting_steps(meeting) if coordinator and not meeting.closed_at else [],
            organisations=_organisations() if coordinator else [], states=meetings.STATES,
            can_open={i.id: i.case_id in open_to_me for i in items},
            digests={i.id: meetings.digest(i.minutes) for i in items})
        db.session.commit()
        return page

    @expose("/<int:meeting_id>/attend", methods=("POST",))
    def attend(self, meeting_id: int):
        meeting = self._meeting(meeting_id)
        if request.form.get("accept") != "yes":
            flash("Tick that you accept the confidentiality statement to sign the register.", "error")
            return redirect(url_for(".meeting", meeting_id=meeting.id)), 303
        perform(lambda: (meetings.attend(current_user, meeting) and "You are on the register.", "success"),
                "Not signed in: ")
        return redirect(url_for(".meeting", meeting_id=meeting.id))

    @expose("/<int:meeting_id>/absent", methods=("POST",))
    def absent(self, meeting_id: int):
        meeting = self._meeting(meeting_id)
        perform(lambda: (meetings.mark_absent(current_user, meeting, request.form.get("attendee"))
                         and "Marked as not present.", "success"), "Not changed: ")
        return redirect(url_for(".meeting", meeting_id=meeting.id))

    @expose("/<int:meeting_id>/invite", methods=("POST",))
    def invite(self, meeting_id: int):
        meeting = self._meeting(meeting_id)
        perform(lambda: (meetings.invite(current_user, meeting, request.form.get("organisation"))
                         and "Invited.", "success"), "Not invited: ")
        return redirect(url_for(".meeting", meeting_id=meeting.id))

    @expose("/<int:meeting_id>/list", methods=("POST",))
    def list_case(self, meeting_id: int):
        meeting = self._meeting(meeting_id)
        perform(lambda: (f"Listed {meetings.list_case(current_user, meeting, request.form.get('reference'), request.form.get('reason')).case.reference}.",
                         "success"), "Not listed: ")
        return redirect(url_for(".meeting", meeting_id=meeting.id))

    @expose("/<int:meeting_id>/items/<int:item_id>/minutes", methods=("POST",))
    def minutes(self, meeting_id: int, item_id: int):
        meeting = self._meeting(meeting_id)
        item = self._item(meeting, item_id)
        perform(lambda: (meetings.write_minutes(current_user, item, request.form.get("minutes"), request.form.get("was"))
                         and "Minutes saved.", "success"), "Minutes not saved: ")
        return redirect(url_for(".meeting", meeting_id=meeting.id, _anchor=f"item-{item.id}"))

    @expose("/<int:meeting_id>/items/<int:item_id>/actions", methods=("POST",))
    def add_action(self, meeting_id: int, item_id: int):
        meeting = self._meeting(meeting_id)
        item = self._item(meeting, item_id)
        form = request.form
        perform(lambda: (f"Action for {panels.add_action(current_user, item, form.get('owner'), form.get('text'), form.get('due_on')).owner.name} added; it is a step in their work.",
                         "success"), "Action not added: ")
        return redirect(url_for(".meeting", meeting_id=meeting.id, _anchor=f"item-{item.id}"))

    @expose("/<int:meeting_id>/items/<int:item_id>/outcome", methods=("POST",))
    def outcome(self, meeting_id: int, item_id: int):
        meeting = self._meeting(meeting_id)
        item = self._item(meeting, item_id)
        step = panels.step_of(item)
        answers: dict[str, Any] = {}
        if step is not None:
            form = form_class_for(step.fields)(prefix=f"i{item.id}")
            if not form.validate():
                problems = "; ".join(f"{getattr(form, k).label.text}: {' '.join(v)}" for k, v in form.errors.items())
                flash(f"Outcome not recorded: {problems}", "error")
                return redirect(url_for(".meeting", meeting_id=meeting.id, _anchor=f"item-{item.id}")), 303
            answers = submitted(form, step.fields)
        try:
            panels.record_outcome(current_user, item, answers, request.form.get("outcome"))
            db.session.commit()
        except InvalidData as exc:
            db.session.rollback()
            flash("Outcome not recorded: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()), "error")
        except (InvalidInput, Conflict, NotFound) as exc:
            db.session.rollback()
            flash(f"Outcome not recorded: {exc}", "error")
        else:
            flash(f"Outcome recorded for {item.case.reference}" + ("; its process continues." if step else "."),
                  "success")
        return redirect(url_for(".meeting", meeting_id=meeting.id, _anchor=f"item-{item.id}"))

    @expose("/<int:meeting_id>/close", methods=("POST",))
    def close(self, meeting_id: int):
        meeting = self._meeting(meeting_id)
        perform(lambda: (meetings.close(current_user, meeting) and "The meeting is closed; its minutes are final.",
                         "success"), "Not closed: ")
        return redirect(url_for(".meeting", meeting_id=meeting.id))

    @expose("/<int:meeting_id>/<any(pack, minutes):what>.pdf")
    def pdf(self, meeting_id: int, what: str):
        meeting = self._meeting(meeting_id)
        html = _document(meeting, what, for_print=False)
        body = html_to_pdf(html)
        _disclose(meeting, what)
        db.session.commit()
        name = f"{meeting.meeting_type.code}-{calendar.local(meeting.starts_at, '%Y-%m-%d')}-{what}.pdf"
        return Response(body, mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    @expose("/<int:meeting_id>/<any(pack, minutes):what>/print")
    def print_view(self, meeting_id: int, what: str):
        meeting = self._meeting(meeting_id)
        html = _document(meeting, what, for_print=True)
        _disclose(meeting, what)
        db.session.commit()
        return html

    def _item(self, meeting: Meeting, item_id: int) -> AgendaItem:
        try:
            return meetings.item_of(meeting, item_id)
        except NotFound:
            abort(404)


def _organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                                   .order_by(Organisation.name)))


def _document(meeting: Meeting, what: str, for_print: bool) -> str:
    """The agenda pack (cases, reasons, research) or the minutes (with actions), as one HTML document."""
    items = [i for i in meeting.items if meetings.sees_case(current_user, i)]
    research = {i.id: meetings.research(i) for i in items} if what == "pack" else {}
    return render_template("meetings/document.html", meeting=meeting, what=what, items=items,
                           hidden=len(meeting.items) - len(items), research=research,
                           actions=meetings.actions_of_meeting(meeting), states=meetings.STATES,
                           marking=MARKING, for_print=for_print, attendees=meeting.attendees,
                           invited=meetings.organisations_at(meeting), printed=calendar.local(utcnow()))


def _visible_cases(case_ids: list[int]) -> set[int]:
    """Which of these cases the user may open (the agenda's, in one query)."""
    if not case_ids:
        return set()
    return set(db.session.scalars(select(Case.id).where(Case.id.in_(case_ids), access.clause(current_user, Case))))


def _disclose(meeting: Meeting, what: str) -> None:
    """The pack or minutes taken away: audited; an organisation that is not on a case gets a disclosure-log
    entry for it (the basis is the meeting's information-sharing practice)."""
    user: User = current_user
    audit.record("export", user=user, object_type="meeting", object_id=meeting.id, detail={"document": what})
    ids = [i.case_id for i in meeting.items]
    on = set(db.session.scalars(select(CaseAccess.case_id).where(CaseAccess.case_id.in_(ids),
                                                                 CaseAccess.organisation_id == user.organisation_id)))
    for item in meeting.items:
        if item.case_id not in on and meetings.sees_case(user, item):
            disclosures.record(f"{meeting.title}: {'agenda pack' if what == 'pack' else 'minutes'}",
                               user.organisation, case=item.case, user=user,
                               detail={"basis": f"attendance at {meeting.meeting_type.name} "
                                                f"(invited by {meeting.organisation.name})"})


def add_views(console) -> None:
    """Add the meetings pages to the console."""
    console.add_view(MeetingView(name="Meetings", endpoint="meetings"))

