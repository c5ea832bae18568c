"""Share requests in the console: ask the organisation a person is possibly known to, and (its managers) grant
with the cases to share, or refuse with a reason."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

import access
from admin.base import SecureView
from casework import agreements, share_requests
from casework.errors import CasebookError, NotFound
from models import audit, db


class ShareRequestView(SecureView):
    """Requests to my organisation (managers decide) and the ones my organisation made."""

    area = access.Area.WORK

    @expose("/")
    def index(self):
        incoming = share_requests.incoming(current_user)
        audit.record("view", user=current_user, object_type="share_requests")
        page = self.render("share_requests/index.html", incoming=incoming,
                           outgoing=share_requests.outgoing(current_user),
                           cases={r.id: share_requests.cases_to_share(r) for r in incoming if r.status == "pending"})
        db.session.commit()
        return page

    @expose("/ask", methods=("POST",))
    def ask(self):
        """Ask the chosen organisation (from the "possibly known to" message)."""
        form = request.form
        try:
            made = share_requests.ask(current_user, form.get("holder"), form.get("given_name"),
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
            shared = share_requests.decide(current_user, share, grant, request.form.getlist("case"),
                                           request.form.get("reason"))
        except (CasebookError, agreements.NotShared) as exc:
            db.session.rollback()
            flash(f"Not decided: {_message(exc)}", "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(f"Shared {', '.join(c.reference for c in shared)} with {share.requester_org.name}." if grant
              else f"Refused; {share.requester_org.name} is told why.", "success")
        return redirect(url_for(".index"))


def _message(exc: CasebookError) -> str:
    fields = getattr(exc, "fields", None)
    return "; ".join(fields.values()) if fields else str(exc)


def add_views(console) -> None:
    """Add the share-requests page to the console."""
    console.add_view(ShareRequestView(name="Share requests", endpoint="share_requests"))
