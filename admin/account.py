"""Your account: the password, the second factor (authenticator app, recovery codes, security keys), where you
are signed in (end any session), and your API tokens (issue, see when each was last used, revoke)."""
from __future__ import annotations

from typing import Callable

from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user, logout_user

import access
from admin.base import SecureView, json_body
from casework import directory, mfa, security_keys, sessions, tokens
from casework.errors import InvalidInput, NotFound
from models import audit, db


class AccountView(SecureView):
    """Every signed-in user's own security settings (nobody reaches anyone else's here)."""

    area = access.Area.ACCOUNT

    def is_visible(self) -> bool:  # reached from the name in the menu bar
        return False

    @expose("/")
    def index(self):
        return self._page()

    def _page(self, new_token: str | None = None, status: int = 200):
        return self.render("account/index.html", user=current_user, sessions=sessions.active(current_user),
                           current=sessions.current_row_id(), tokens=tokens.of_user(current_user),
                           codes_left=mfa.recovery_codes_left(current_user), new_token=new_token,
                           keys=security_keys.of_user(current_user),
                           mfa_needed=mfa.needed(current_user)), status

    @expose("/sessions/<int:session_id>/end", methods=("POST",))
    def end_session(self, session_id: int):
        """End one of my sessions (a browser left signed in elsewhere)."""
        if session_id == sessions.current_row_id():
            return self._log_out_here()
        if not sessions.end_one(current_user, session_id, current_user):
            flash("That session had already ended.", "info")
        else:
            flash("That session has ended: the browser will be asked to log in again.", "success")
        db.session.commit()
        return redirect(url_for(".index"))

    @expose("/sessions/end-others", methods=("POST",))
    def end_others(self):
        ended = sessions.end_all(current_user, current_user, "ended by the user", keep_current=True)
        db.session.commit()
        flash(f"Ended {ended} other session(s).", "success")
        return redirect(url_for(".index"))

    def _log_out_here(self):
        sessions.end_current()
        db.session.commit()
        logout_user()
        return redirect(url_for("auth.login"))

    @expose("/password", methods=("POST",))
    def change_password(self):
        """A new password: the current one first; every other session ends (a thief's included)."""
        new = request.form.get("new_password", "")
        try:
            if new != request.form.get("repeat_password", ""):
                raise InvalidInput({"repeat_password": "the two new passwords differ"})
            ended = directory.change_password(current_user, request.form.get("current_password", ""), new)
        except InvalidInput as exc:
            db.session.commit()   # a wrong current password still counts toward the lockout
            flash(f"The password was not changed: {'; '.join(exc.fields.values())}.", "error")
            if directory.is_locked(current_user):
                return self._log_out_here()
            return self._page(status=400)
        db.session.commit()
        flash(f"Your password is changed{f'; {ended} other session(s) ended' if ended else ''}.", "success")
        return redirect(url_for(".index"))

    @expose("/keys/options", methods=("POST",))
    def key_options(self):
        """The challenge for a new security key (JSON, for the page's script)."""
        if current_user.mfa_enrolled_at is None:
            return jsonify(error="Set up an authenticator app first (at your next login)."), 400
        return current_app.response_class(security_keys.registration_options(current_user),
                                          mimetype="application/json")

    @expose("/keys", methods=("POST",))
    def add_key(self):
        """Keep the new key once its answer checks out (JSON in and out)."""
        data = json_body()
        try:
            if current_user.mfa_enrolled_at is None:
                raise InvalidInput({"credential": "set up an authenticator app first (at your next login)"})
            key = security_keys.register(current_user, data.get("credential"), data.get("label"))
        except InvalidInput as exc:
            db.session.rollback()
            return jsonify(error=f"The key was not added: {'; '.join(exc.fields.values())}."), 400
        db.session.commit()
        flash(f"“{key.label}” is added: you can use it instead of a code when you log in.", "success")
        return jsonify(next=url_for(".index"))

    @expose("/keys/<int:key_id>/remove", methods=("POST",))
    def remove_key(self, key_id: int):
        return self._end(lambda: security_keys.remove(current_user, key_id, current_user),
                         "No such security key (it may already be removed).", "The security key is removed.")

    @expose("/recovery-codes", methods=("POST",))
    def recovery_codes(self):
        """New recovery codes (the old ones stop working); a current code from the app proves it is you."""
        if current_user.mfa_enrolled_at is None:
            flash("Set up an authenticator app first (at your next login).", "error")
            return redirect(url_for(".index"))
        if not mfa.check_code(current_user, request.form.get("code", "")):
            db.session.commit()  # the used time step is kept even so
            flash("That code is not right, or it was already used: no new recovery codes were made.", "error")
            return self._page(status=400)
        codes = mfa.new_recovery_codes(current_user)
        audit.record("new_recovery_codes", user=current_user, object_type="user", object_id=current_user.id)
        db.session.commit()
        return self.render("account/recovery_codes.html", codes=codes)

    @expose("/tokens", methods=("POST",))
    def issue_token(self):
        """A new API token, shown once on the page that answers."""
        try:
            token = tokens.issue(current_user, request.form.get("label", ""), actor=current_user)
        except InvalidInput as exc:
            db.session.rollback()
            flash(f"No token was made: {exc}.", "error")
            return self._page(status=400)
        db.session.commit()
        return self._page(new_token=token)

    @expose("/tokens/<int:token_id>/revoke", methods=("POST",))
    def revoke_token(self, token_id: int):
        return self._end(lambda: tokens.revoke(current_user, token_id, current_user),
                         "No such token (it may already be revoked).",
                         "The token is revoked: programs using it are refused from now on.")

    def _end(self, remove: Callable[[], object], missing: str, done: str):
        """Remove one of the user's own things (a key, a token), saying what happened."""
        try:
            remove()
        except NotFound:
            db.session.rollback()
            flash(missing, "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(done, "success")
        return redirect(url_for(".index"))


def add_views(console) -> None:
    """Add the account page to the console."""
    console.add_view(AccountView(name="Your account", endpoint="account"))
