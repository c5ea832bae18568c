"""The process designer for leads: bpmn-js modeler with Casebook's own properties panel (the Camunda one folded
away), drafts with a version check, validate, deploy, upload/download, and throw-away test runs with their own
clock. Drafts never touch real cases."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from flask import Response, abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

import access
from admin.base import SecureView, json_body
from admin.taskforms import form_class_for, submitted
from casework import calendar, validate
from casework.errors import CasebookError, Conflict, InvalidData, InvalidInput, NotFound
from models import ProcessDefinition, ProcessDraft, ProcessTestRun, db
from workflows import assignment, drafts, engine


def _log_for_people(raw: str | None) -> list[dict]:
    """A test run's log with its times as datetimes (the page shows them in local time)."""
    entries = json.loads(raw or "[]")
    for entry in entries:
        for key in ("at", "clock"):
            if isinstance(entry.get(key), str):
                try:
                    entry[key] = datetime.fromisoformat(entry[key])
                except ValueError:
                    entry.pop(key)
    return entries


def _problems(items: list[engine.Problem]) -> list[dict]:
    return [p.as_dict() for p in items]


class DesignerView(SecureView):
    """Leads and admins only; reached from the Processes screen (not a menu entry of its own)."""

    area = access.Area.PROCESSES

    def is_visible(self) -> bool:
        return False

    def _draft(self, draft_id: int) -> ProcessDraft:
        try:
            return drafts.get(draft_id)
        except NotFound:
            abort(404)

    def _require_lead(self) -> None:
        # Leads only: a deploy changes what every agency's cases do (admins manage users, not processes).
        if not access.can(current_user, access.Action.DEPLOY, ProcessDefinition):
            abort(403, "Only working-group leads may change processes.")

    @expose("/")
    def index(self):
        """Drafts open from the Processes screen."""
        return redirect(url_for("processes.index"))

    @expose("/new/", methods=("POST",))
    def new(self):
        """Open a draft from a deployed version (or a blank process)."""
        self._require_lead()
        definition = db.session.get(ProcessDefinition, validate.whole_number(request.form.get("from")) or 0)
        draft = drafts.open_draft(current_user, definition)
        db.session.commit()
        return redirect(url_for(".edit", draft_id=draft.id))

    @expose("/<int:draft_id>/")
    def edit(self, draft_id: int):
        """The modeler page."""
        draft = self._draft(draft_id)
        runs = db.session.query(ProcessTestRun).filter(ProcessTestRun.draft_id == draft.id).all()
        return self.render("designer/edit.html", draft=draft, runs=runs)

    @expose("/<int:draft_id>/diagram.bpmn")
    def xml(self, draft_id: int):
        """The saved draft XML (the modeler loads it; a lead downloads it for Camunda Modeler)."""
        draft = self._draft(draft_id)
        headers = {"X-Draft-Version": str(draft.row_version)}
        if request.args.get("download"):
            # The key comes from the diagram: only safe characters reach the header.
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", draft.key or "draft")[:100]
            headers["Content-Disposition"] = f'attachment; filename="{name}.bpmn"'
        return Response(draft.bpmn_xml, mimetype="application/xml", headers=headers)

    def _payload(self) -> tuple[str, int]:
        data = json_body()
        xml, version = data.get("xml"), data.get("version")
        if not isinstance(xml, str) or not isinstance(version, int):
            abort(400, "send {xml, version}")
        return xml, version

    @expose("/<int:draft_id>/save", methods=("POST",))
    def save(self, draft_id: int):
        """Save the draft; a stale version is refused (409), never a silent overwrite."""
        self._require_lead()
        draft = self._draft(draft_id)
        xml, version = self._payload()
        try:
            drafts.save(current_user, draft, xml, version)
            db.session.commit()
        except (Conflict, InvalidInput) as exc:
            db.session.rollback()
            return jsonify(error=str(exc)), 409 if isinstance(exc, Conflict) else 400
        return jsonify(version=draft.row_version, key=draft.key)

    @expose("/<int:draft_id>/validate", methods=("POST",))
    def validate(self, draft_id: int):
        """The deploy lint on the XML in the browser (nothing is saved)."""
        self._draft(draft_id)
        xml = json_body().get("xml")
        if not isinstance(xml, str):
            abort(400, "send {xml}")
        errors, warnings = drafts.validate(xml)
        return jsonify(ok=not errors, problems=_problems(errors), warnings=_problems(warnings))

    @expose("/<int:draft_id>/deploy", methods=("POST",))
    def deploy(self, draft_id: int):
        """Save and deploy as a new version; refused with the lint's messages (the draft is kept)."""
        self._require_lead()
        draft = self._draft(draft_id)
        xml, version = self._payload()
        try:
            definition, created = drafts.deploy(current_user, draft, xml, version, json_body().get("note"))
            db.session.commit()
        except engine.DiagramError as exc:
            db.session.rollback()
            try:  # keep the lead's work even though it cannot go live
                drafts.save(current_user, self._draft(draft_id), xml, version)
                db.session.commit()
            except CasebookError:
                db.session.rollback()
            return jsonify(ok=False, problems=_problems(exc.problems), version=self._draft(draft_id).row_version), 422
        except (Conflict, InvalidInput) as exc:
            db.session.rollback()
            return jsonify(ok=False, error=str(exc)), 409 if isinstance(exc, Conflict) else 400
        return jsonify(ok=True, key=definition.key, version=definition.version, created=created,
                       approval=definition.approval,
                       impact_url=url_for("processes.impact", definition_id=definition.id)), 201 if created else 200

    @expose("/<int:draft_id>/preview")
    def preview(self, draft_id: int):
        """Before deploying the saved draft: what changes against the latest version, and which running
        instances could move to it safely."""
        from workflows import migration, processes, versions

        draft = self._draft(draft_id)
        errors, _warnings = drafts.validate(draft.bpmn_xml)
        latest = processes.latest(draft.key) if draft.key else None
        diff, rows = None, []
        if not errors and latest is not None:
            diff = versions.diff_xml(latest.bpmn_xml, draft.bpmn_xml)
            parsed = processes.check(draft.bpmn_xml)
            # A transient definition (never added to the session) stands for the version a deploy would make.
            candidate = ProcessDefinition(key=draft.key, version=latest.version + 1, bpmn_xml=draft.bpmn_xml,
                                          calls=json.dumps(parsed.calls), sha256="")
            rows = migration.impact(draft.key, candidate)
        return self.render("designer/preview.html", draft=draft, errors=errors, latest=latest, diff=diff,
                           rows=rows)

    @expose("/<int:draft_id>/routing")
    def routing(self, draft_id: int):
        """The routing check for the saved draft, before it is deployed."""
        from workflows import routing_check

        draft = self._draft(draft_id)
        try:
            report, problems = routing_check.check(draft.bpmn_xml), []
        except engine.DiagramError as exc:
            report, problems = None, exc.problems
        return self.render("processes/routing.html", report=report, keys=[], key=draft.key, problems=problems,
                           title=f"Routing check of the draft: {draft.key or 'new process'}",
                           back=url_for(".edit", draft_id=draft.id))

    @expose("/<int:draft_id>/upload", methods=("POST",))
    def upload(self, draft_id: int):
        """Replace the draft with a .bpmn file (e.g. saved from Camunda Modeler)."""
        self._require_lead()
        draft = self._draft(draft_id)
        upload = request.files.get("file")
        if upload is None:
            flash("Choose a .bpmn file to upload.", "error")
            return redirect(url_for(".edit", draft_id=draft.id))
        try:
            text = upload.read().decode("utf-8")
            drafts.save(current_user, draft, text, validate.whole_number(request.form.get("version")) or -1)
            db.session.commit()
            flash("Uploaded into the draft. Validate, then deploy.", "success")
        except (UnicodeDecodeError, Conflict, InvalidInput) as exc:
            db.session.rollback()
            flash(str(exc) if not isinstance(exc, UnicodeDecodeError) else "The file is not UTF-8 text.", "error")
        return redirect(url_for(".edit", draft_id=draft.id))

    @expose("/<int:draft_id>/discard", methods=("POST",))
    def discard(self, draft_id: int):
        self._require_lead()
        drafts.discard(current_user, self._draft(draft_id))
        db.session.commit()
        flash("Draft discarded; nothing live changed.", "success")
        return redirect(url_for("processes.index"))

    @expose("/<int:draft_id>/test-runs/", methods=("POST",))
    def start_test(self, draft_id: int):
        """Start a throw-away instance of the saved draft."""
        self._require_lead()
        draft = self._draft(draft_id)
        try:
            run = drafts.start_test_run(current_user, draft)
            db.session.commit()
        except engine.DiagramError as exc:
            db.session.rollback()
            flash("The draft does not validate yet: " + "; ".join(str(p) for p in exc.problems), "error")
            return redirect(url_for(".edit", draft_id=draft.id))
        return redirect(url_for(".test_run", run_id=run.id))

    def _run(self, run_id: int) -> ProcessTestRun:
        run = db.session.get(ProcessTestRun, run_id)
        if run is None:
            abort(404)
        return run

    @expose("/test-runs/<int:run_id>/", methods=("GET", "POST"))
    def test_run(self, run_id: int):
        """Step through a test run's forms as any agency, on the diagram, with its own clock."""
        run = self._run(run_id)
        shown = drafts.view(run)
        steps = shown.steps
        forms = {s.id: form_class_for(s.fields)(prefix=f"t{n}") for n, s in enumerate(steps)}
        status = 200
        if request.method == "POST":
            self._require_lead()
            task_id = request.form.get("task_id", "")
            step = next((s for s in steps if s.id == task_id), None)
            if step is None:
                flash("That step is no longer waiting (it was done, or time moved on): nothing was saved.", "warning")
                return redirect(url_for(".test_run", run_id=run.id))
            if forms[task_id].validate():
                try:
                    drafts.complete_test_step(run, task_id, submitted(forms[task_id], step.fields))
                    db.session.commit()
                    return redirect(url_for(".test_run", run_id=run.id))
                except InvalidData as exc:
                    db.session.rollback()
                    for field_id, message in exc.errors.items():
                        target = getattr(forms[task_id], field_id, None)
                        if target is not None:
                            target.errors = list(target.errors) + [message]
                except Conflict as exc:
                    db.session.rollback()
                    flash(str(exc), "warning")
            status = 422
        now = drafts.clock_of(run)
        due = {s.bpmn_id: {"text": calendar.local(s.due_at), "overdue": s.due_at < now}
               for s in steps if s.due_at is not None}
        return self.render("designer/test_run.html", run=run, steps=steps, forms=forms, now=now, due=due,
                           states=shown.path, next_timer=shown.next_timer,
                           who={s.id: assignment.describe(s.candidate_groups, s.lane) for s in steps},
                           log=_log_for_people(run.log)), status

    @expose("/test-runs/<int:run_id>/diagram.bpmn")
    def test_run_diagram(self, run_id: int):
        """The diagram the test run started from (the draft may have changed since)."""
        run = self._run(run_id)
        return Response(run.bpmn_xml or run.draft.bpmn_xml, mimetype="application/xml")

    @expose("/test-runs/<int:run_id>/clock", methods=("POST",))
    def test_run_clock(self, run_id: int):
        """Move the test run's clock ahead (hours or days, or to its next timer) so its timers fire."""
        self._require_lead()
        run = self._run(run_id)
        try:
            if request.form.get("to") == "next_timer":
                drafts.advance_clock(current_user, run, to_next_timer=True)
            else:
                amount = validate.whole_number(request.form.get("amount"))
                unit = request.form.get("unit")
                if amount is None or amount < 1 or unit not in ("hours", "days"):
                    raise InvalidInput("say how far to move the clock: a whole number of hours or days")
                drafts.advance_clock(current_user, run, by=timedelta(**{unit: amount}))
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            flash(f"The clock did not move: {exc}.", "error")
            return redirect(url_for(".test_run", run_id=run.id))
        flash(f"The test run's clock now reads {calendar.local(drafts.clock_of(run))}.", "success")
        return redirect(url_for(".test_run", run_id=run.id))

    @expose("/test-runs/<int:run_id>/discard", methods=("POST",))
    def discard_test(self, run_id: int):
        run = self._run(run_id)
        draft_id = run.draft_id
        db.session.delete(run)
        db.session.commit()
        flash("Test run discarded.", "success")
        return redirect(url_for(".edit", draft_id=draft_id))
