"""The notification centre: my notifications newest first, open or mark them read, and choose per kind how I am
told (immediately, daily digest, off). The bell in the menu bar shows the unread count."""
from __future__ import annotations

from flask import Flask, abort, flash, redirect, request, url_for
from flask_admin import Admin, expose
from flask_login import current_user

import access
from admin.base import SecureView
from casework import notifications
from models import Notification, audit, db
from models.notifications import KINDS, MODES

MODE_LABELS = {"immediate": "E-mail me immediately", "digest": "In my daily digest", "off": "In Casebook only"}


class NotificationsView(SecureView):
    """Every signed-in user's own notifications (nobody sees anyone else's)."""

    area = access.Area.NOTIFICATIONS

    def is_visible(self) -> bool:  # reached from the bell, not the menu
        return False

    @expose("/")
    def index(self):
        rows = notifications.recent(current_user, 200)
        return self.render("notifications/index.html", rows=rows, unread=notifications.unread_count(current_user))

    @expose("/<int:notification_id>/open")
    def open(self, notification_id: int):
        """Mark it read and go to its step (or case)."""
        row = _own(notification_id)
        notifications.mark_read(current_user, row.id)
        db.session.commit()
        if row.work_item_id:
            return redirect(url_for("my_work.task_view", item_id=row.work_item_id))
        if row.case_id:
            return redirect(url_for("cases.details_view", id=row.case_id))
        return redirect(url_for(".index"))

    @expose("/<int:notification_id>/read", methods=("POST",))
    def read(self, notification_id: int):
        notifications.mark_read(current_user, _own(notification_id).id)
        db.session.commit()
        return redirect(url_for(".index"))

    @expose("/read-all", methods=("POST",))
    def read_all(self):
        count = notifications.mark_read(current_user)
        db.session.commit()
        flash(f"Marked {count} notification(s) read.", "success")
        return redirect(url_for(".index"))

    @expose("/settings", methods=("GET", "POST"))
    def settings(self):
        """How I am told about each kind of event."""
        status = 200
        if request.method == "POST":
            # A kind the form does not carry (a page from before it existed) keeps its setting.
            choices = {kind: request.form.get(kind, "") for kind in KINDS if kind in request.form}
            try:
                changed = notifications.set_preferences(current_user, choices)
                audit.record("update", user=current_user, object_type="notification_preferences",
                             object_id=current_user.id, detail={"changed": changed})
                db.session.commit()
                flash("Your notification settings are saved.", "success")
                return redirect(url_for(".settings"))
            except ValueError as exc:
                db.session.rollback()
                flash(f"Nothing was saved: {exc}.", "error")
                status = 400
        return self.render("notifications/settings.html", current=notifications.preferences(current_user),
                           labels=notifications.LABELS, modes=MODES, mode_labels=MODE_LABELS,
                           mail=notifications.mail_enabled()), status


def _own(notification_id: int) -> Notification:
    row = notifications.own(current_user, notification_id)
    if row is None:
        abort(404)
    return row


def add_views(console: Admin, app: Flask) -> None:
    """Add the centre; every console page learns the bell's count."""
    console.add_view(NotificationsView(name="Notifications", endpoint="notifications"))

    @app.context_processor
    def _bell() -> dict:
        def unread_notifications() -> int:
            return notifications.unread_count(current_user) if current_user.is_authenticated else 0

        return {"unread_notifications": unread_notifications}
