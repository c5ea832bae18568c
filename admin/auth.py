"""Log in and out (Flask-Login); every attempt is audited, repeated failures lock the account."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from casework import directory
from models import audit, db

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[InputRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on success start a fresh session."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = directory.authenticate(form.email.data, form.password.data)
        db.session.commit()
        if user is not None:
            session.clear()  # no session fixation: a new session for the new identity
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        flash("E-mail or password is incorrect, or the account is locked after too many attempts.",
              "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """End the session."""
    if current_user.is_authenticated:
        audit.record("logout", user=current_user, object_type="user", object_id=current_user.id)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Register the blueprint and the optional login rate limit."""
    app.register_blueprint(bp)
    limit = app.config.get("RATELIMIT_LOGIN")
    if limit:
        from flask_limiter import Limiter
        from flask_limiter.util import get_remote_address

        limiter = Limiter(get_remote_address, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"],
                          default_limits=[])
        app.view_functions["auth.login"] = limiter.limit(limit, methods=["POST"])(app.view_functions["auth.login"])
