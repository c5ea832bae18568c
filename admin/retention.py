"""Retention in the console: cases due for disposal (a manager of the lead organisation keeps, anonymises or
deletes each), legal holds, and the disposal report. Rules per case type are reference data for admins."""
from __future__ import annotations

from datetime import datetime, time, timezone

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select
from wtforms.validators import ValidationError

import access
from admin.base import ScopedModelView, SecureView
from casework import retention
from casework.errors import CasebookError, InvalidInput, NotFound, NotPermitted
from models import Case, audit, db
from models.enums import Role


class RetentionView(SecureView):
    """Due for a decision, decided, and legal holds, for the user's organisation."""

    area = access.Area.RETENTION

    @expose("/")
    def index(self):
        held = list(db.session.scalars(select(Case).where(Case.lead_organisation_id == current_user.organisation_id,
                                                          Case.legal_hold_reason.is_not(None))
                                       .order_by(Case.reference).limit(200)))
        audit.record("view", user=current_user, object_type="retention")
        db.session.commit()
        return self.render("retention/index.html", due=retention.reviews(current_user, "due"),
                           disposed=retention.reviews(current_user, "disposed", 100),
                           kept=retention.reviews(current_user, "kept", 100), held=held,
                           is_manager=current_user.has_role(Role.MANAGER))

    @expose("/<int:review_id>/decide", methods=("POST",))
    def decide(self, review_id: int):
        """Keep until a date, anonymise or delete."""
        try:
            review = retention.get_review(current_user, review_id)
        except NotFound:
            abort(404)
        choice = request.form.get("decision", "")
        try:
            if choice == "keep":
                until = _date(request.form.get("keep_until", ""))
                retention.keep(current_user, review, until, request.form.get("note", ""))
                message = f"{review.case_reference} is kept until {until:%d/%m/%Y}."
            else:
                removed = retention.dispose(current_user, review, choice, request.form.get("note"))
                message = (f"{review.case_reference} was {review.outcome}: "
                           + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(removed.items()) if v) + ".")
            db.session.commit()
            flash(message, "success")
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        except CasebookError as exc:
            db.session.rollback()
            flash(f"Nothing was changed: {exc}", "error")
        return redirect(url_for(".index"))

    @expose("/hold", methods=("POST",))
    def hold(self):
        """Place a legal hold on a case by reference, or release one (empty reason)."""
        reference = (request.form.get("reference") or "").strip().upper()
        case = db.session.scalar(access.visible(current_user, Case).where(Case.reference == reference)) \
            if reference else None
        if case is None:
            flash(f"No case {reference!r} that you can see.", "error")
            return redirect(url_for(".index"))
        try:
            retention.hold(current_user, case, request.form.get("reason"))
            db.session.commit()
            flash(f"{case.reference}: " + ("legal hold placed; it will not be disposed of until released."
                                          if case.legal_hold_reason else "legal hold released."), "success")
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        except CasebookError as exc:
            db.session.rollback()
            flash(f"Nothing was changed: {exc}", "error")
        return redirect(url_for(".index"))


def _date(raw: str) -> datetime:
    try:
        return datetime.combine(datetime.strptime(raw.strip(), "%Y-%m-%d").date(), time(12), tzinfo=timezone.utc)
    except ValueError:
        raise InvalidInput({"keep_until": f"{raw!r} is not a date (YYYY-MM-DD)"}) from None


class RetentionRuleView(ScopedModelView):
    """How long each case type is kept after closure, and what is then proposed (admins)."""

    area = access.Area.REFERENCE
    audit_type = "retention_rule"
    column_list = ("case_type", "keep_days", "action", "policy")
    column_labels = {"case_type": "Case type", "keep_days": "Days after closure", "action": "Then"}
    form_columns = ("case_type", "keep_days", "action", "policy")
    form_choices = {"action": [("review", "review (a manager decides)"), ("anonymise", "propose anonymising"),
                               ("delete", "propose deleting")]}
    form_args = {"keep_days": {"description": "Whole days after the case is closed (e.g. 2192 for six years)."},
                 "policy": {"description": "Where the period comes from (the sharing agreement, a policy)."}}
    can_delete = True

    def on_model_change(self, form, model, is_created: bool) -> None:
        try:
            if model.case_type is None:
                raise InvalidInput({"case_type": "is required"})
            model.keep_days, model.action = retention.check_rule(model.keep_days, model.action)
        except InvalidInput as exc:
            raise ValidationError(str(exc)) from None
        super().on_model_change(form, model, is_created)


def add_views(console) -> None:
    """Add the retention screens to the console."""
    console.add_view(RetentionView(name="Retention", endpoint="retention"))
