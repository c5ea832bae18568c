"""Processes for leads: keys and versions, who deployed when, deploy by upload, each version's diagram."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select

import access
from admin.base import SecureView
from models import InstanceStatus, ProcessDefinition, WorkflowInstance, db
from workflows import processes
from workflows.engine import DiagramError


class UploadForm(FlaskForm):
    file = FileField("BPMN file", validators=[FileRequired()],
                     description="A .bpmn file with one executable process (e.g. saved from Camunda Modeler).")


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
                    definition, created = processes.deploy(form.file.data.read(), current_user)
                    db.session.commit()
                    flash(f"Deployed {definition.key} version {definition.version}." if created else
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
        return self.render("processes/index.html", grouped=grouped, running=running, form=form,
                           problems=problems,
                           can_deploy=access.can(current_user, access.Action.DEPLOY, ProcessDefinition)), status

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

    @expose("/<int:definition_id>/diagram.bpmn")
    def download(self, definition_id: int):
        """The stored XML, to open in Camunda Modeler."""
        definition = self._definition(definition_id)
        return Response(definition.bpmn_xml, mimetype="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{definition.key}-v{definition.version}.bpmn"'})
