"""Share requests in the console: ask the organisation a person is possibly known to; its managers decide in the
step the share_request process gives them (linked from here), granting with the cases to share or refusing with
a reason."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

import access
from admin.base import SecureView
from casework import agreements, share_requests
from casework.errors import CasebookError, NotFound
from models import ShareRequest, User, audit, db
from workflows import requests as agency_requests
from workflows import tasks


class ShareRequestView(SecureView):
    """Requests to my organisation (managers decide) and the ones my organisation made."""

    area = access.Area.WORK

    @expose("/")
    def index(self):
        incoming = share_requests.incoming(current_user)
        audit.record("view", user=current_user, object_type="share_requests")
        pending = [r for r in incoming if r.status == "pending"]
        steps = agency_requests.share_steps(pending)
        page = self.render("share_requests/index.html", incoming=incoming,
                           outgoing=share_requests.outgoing(current_user), steps=steps,
                           cases={r.id: share_requests.cases_to_share(r) for r in pending if steps[r.id] is None})
        db.session.commit()
        return page

    @expose("/ask", methods=("POST",))
    def ask(self):
        """Ask the chosen organisation (from the "possibly known to" message)."""
        form = request.form
        try:
            made = agency_requests.ask_to_share(current_user, form.get("holder"), form.get("given_name"),
                                      form.get("family_name"), form.get("date_of_birth"), form.get("purpose"),
                                      form.get("lawful_basis"))
        except CasebookError as exc:
            db.session.rollback()
            flash(f"Nothing was asked: {_message(exc)}", "error")
            return redirect(url_for(".index")), 303
        db.session.commit()
        flash(f"Asked {made[0].holder_org.name}; you will be told when they answer.", "success")
        return redirect(url_for(".index"))

    @expose("/<int:request_id>/decide", methods=("POST",))
    def decide(self, request_id: int):
        """Grant with the cases to share, or refuse with a reason."""
        try:
            share = share_requests.get_incoming(current_user, request_id)
        except NotFound:
            abort(404)
        grant = request.form.get("decision") == "grant"
        try:
            _decide(current_user, share, grant, request.form.getlist("case"), request.form.get("reason"))
        except (CasebookError, agreements.NotShared) as exc:
            db.session.rollback()
            flash(f"Not decided: {_message(exc)}", "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(f"Shared {share.shared_cases} with {share.requester_org.name}." if grant
              else f"Refused; {share.requester_org.name} is told why.", "success")
        return redirect(url_for(".index"))


def _decide(user: User, share: ShareRequest, grant: bool, case_ids: list[str], reason: str | None) -> None:
    """Decide through the request's open step when it has one (so its process moves on), else directly (a request
    made while the share_request process was not deployed, or whose process stopped)."""
    step = agency_requests.share_step(share)
    if step is None:
        share_requests.decide(user, share, grant, case_ids, reason)
        return
    item, instance = tasks.lock_for_completion(user, step.id)
    tasks.complete(user, item, {"decision": "grant" if grant else "refuse", "cases": case_ids, "reason": reason},
                   locked=instance)
    db.session.refresh(share)


def _message(exc: CasebookError) -> str:
    fields = getattr(exc, "fields", None) or getattr(exc, "errors", None)
    return "; ".join(fields.values()) if fields else str(exc)


def add_views(console) -> None:
    """Add the share-requests page to the console."""
    console.add_view(ShareRequestView(name="Share requests", endpoint="share_requests"))
