"""Processes for leads: keys and versions, who deployed when, deploy by upload, each version's diagram."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

import access
from casework import validate
from casework.errors import Conflict, InvalidInput, NotPermitted
from admin.forms import Form
from admin.base import SecureView
from models import InstanceStatus, ProcessDefinition, WorkflowInstance, audit, db
from workflows import processes, routing_check
from workflows.engine import DiagramError


class UploadForm(Form):
    file = FileField("BPMN file", validators=[FileRequired()],
                     description="A .bpmn file with one executable process (e.g. saved from Camunda Modeler).")
    note = TextAreaField("What changed", validators=[InputRequired("Say what changed and why."), Length(max=2000)],
                         description="Other leads approve it and the audit keeps it.")


class ProcessesView(SecureView):
    """Leads deploy and inspect process versions."""

    area = access.Area.PROCESSES

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = UploadForm()
        problems, status = [], 200
        if request.method == "POST":
            if not access.can(current_user, access.Action.DEPLOY, ProcessDefinition):
                abort(403, "Only working-group leads may deploy processes.")
            if form.validate_on_submit():
                try:
                    definition, created = processes.propose(form.file.data.read(), current_user,
                                                            change_note=form.note.data)
                    db.session.commit()
                    flash(f"Deployed {definition.key} version {definition.version}: it takes effect when a lead "
                          "of another organisation approves it." if created else
                          f"No change: identical to {definition.key} version {definition.version}.", "success")
                    return redirect(url_for(".index"))
                except DiagramError as exc:
                    db.session.rollback()
                    problems, status = exc.problems, 422
            else:
                status = 400
        running = dict(db.session.execute(
            select(WorkflowInstance.definition_id, func.count()).where(
                WorkflowInstance.status.in_([InstanceStatus.RUNNING, InstanceStatus.ERROR]))
            .group_by(WorkflowInstance.definition_id)).all())
        versions = db.session.scalars(select(ProcessDefinition)
                                      .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())).all()
        grouped: dict[str, list[ProcessDefinition]] = {}
        for d in versions:
            grouped.setdefault(d.key, []).append(d)
        in_effect = {d.key: d.id for d in processes.latest_per_key()}
        return self.render("processes/index.html", grouped=grouped, running=running, form=form,
                           problems=problems, in_effect=in_effect,
                           can_deploy=access.can(current_user, access.Action.DEPLOY, ProcessDefinition)), status

    @expose("/<int:definition_id>/decide", methods=("POST",))
    def decide(self, definition_id: int):
        """Approve or reject a version waiting for a second lead."""
        definition = self._definition(definition_id)
        try:
            processes.decide(definition, current_user, request.form.get("decision") == "approve")
            db.session.commit()
            flash(f"{definition} {definition.approval}." + (" New cases use it from now on."
                                                              if definition.approval == "approved" else ""),
                  "success")
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        except Conflict as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for(".index"))

    def _definition(self, definition_id: int) -> ProcessDefinition:
        definition = db.session.get(ProcessDefinition, definition_id)
        if definition is None:
            abort(404)
        return definition

    @expose("/<int:definition_id>/")
    def version(self, definition_id: int):
        """One version's diagram."""
        definition = self._definition(definition_id)
        return self.render("processes/version.html", definition=definition)

    @expose("/routing/")
    def routing(self):
        """Who would get each step of a deployed process today, area by area, with every gap highlighted."""
        keys = [d.key for d in processes.latest_per_key()]
        key = request.args.get("key") or (keys[0] if keys else None)
        definition = processes.latest(key) if key else None
        if key and definition is None:
            abort(404)
        report = routing_check.check(definition.bpmn_xml) if definition else None
        audit.record("view", user=current_user, object_type="routing_check", object_id=key)
        db.session.commit()
        return self.render("processes/routing.html", report=report, keys=keys, key=key,
                           title=f"Routing check: {key}" if key else "Routing check", back=url_for(".index"))

    @expose("/<int:definition_id>/rollback", methods=("POST",))
    def rollback(self, definition_id: int):
        """Go back to an earlier version: a new version with its content, approved like any deploy."""
        if not access.can(current_user, access.Action.DEPLOY, ProcessDefinition):
            abort(403, "Only working-group leads may deploy processes.")
        definition = self._definition(definition_id)
        try:
            made, _ = processes.rollback(current_user, definition, request.form.get("note"))
            db.session.commit()
            flash(f"Version {made.version} of {made.key} has the content of version {definition.version}; it takes "
                  "effect when a lead of another organisation approves it.", "success")
        except InvalidInput as exc:
            db.session.rollback()
            flash(f"Not rolled back: {exc}", "error")
        except DiagramError as exc:
            db.session.rollback()
            flash(f"Not rolled back: version {definition.version} no longer passes the checks: "
                  + "; ".join(str(p) for p in exc.problems[:5]), "error")
        return redirect(url_for(".history", key=definition.key))

    @expose("/history/<key>/")
    def history(self, key: str):
        """Every version of a process, and a readable diff between two of them."""
        from workflows import versions

        rows = db.session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                  .order_by(ProcessDefinition.version.desc())).all()
        if not rows:
            abort(404)
        newest = rows[0].version
        to_v = validate.whole_number(request.args.get("to")) or newest
        from_v = validate.whole_number(request.args.get("from")) or max(to_v - 1, 1)
        diff = versions.diff_versions(key, from_v, to_v) if len(rows) > 1 else None
        current = processes.latest(key)
        return self.render("processes/history.html", key=key, rows=rows, diff=diff, from_v=from_v, to_v=to_v,
                           in_effect=current.id if current else None,
                           can_deploy=access.can(current_user, access.Action.DEPLOY, ProcessDefinition))

    @expose("/<int:definition_id>/impact/", methods=("GET", "POST"))
    def impact(self, definition_id: int):
        """Running instances of older versions: which can move to this version safely, and why not."""
        from workflows import migration

        definition = self._definition(definition_id)
        report = None
        if request.method == "POST":
            if not access.can(current_user, access.Action.DEPLOY, ProcessDefinition):
                abort(403, "Only working-group leads may migrate running cases.")
            report = migration.migrate_safe(current_user, definition.key, definition)
            flash(f"Migrated {len(report.migrated)} instance(s); {len(report.skipped)} stay on their version"
                  + (f"; {len(report.failed)} failed" if report.failed else "") + ".",
                  "success" if not report.failed else "warning")
        rows = migration.impact(definition.key, definition)
        return self.render("processes/impact.html", definition=definition, rows=rows, report=report)

    @expose("/<int:definition_id>/diagram.bpmn")
    def download(self, definition_id: int):
        """The stored XML, to open in Camunda Modeler."""
        definition = self._definition(definition_id)
        return Response(definition.bpmn_xml, mimetype="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{definition.key}-v{definition.version}.bpmn"'})
