"""Log in (password, then a second factor) and out; every attempt is audited, repeated failures of either
factor lock the account, and each login is a server-side session row."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, abort, current_app, flash, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, logout_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import InputRequired, Length

from admin.forms import Form
from admin.base import json_body
from casework import directory, mfa, security_keys, sessions, sso
from models import Organisation, User, audit, db
from models.enums import Role

bp = Blueprint("auth", __name__)
PENDING = "mfa_pending"


class LoginForm(Form):
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


PENDING_SECONDS = 300  # between a right password and the second factor


class CodeForm(Form):
    code = StringField("Code", validators=[InputRequired(), Length(max=64)],
                       render_kw={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false",
                                  "autocapitalize": "off"})


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; a right password leads to the second factor (or straight in, where none is due)."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = directory.authenticate(form.email.data, form.password.data)
        if user is not None and mfa.needed(user):
            return _await_second_factor(user, "password", _safe_next(request.args.get("next")))
        if user is not None:
            return _sign_in(user, "password", _safe_next(request.args.get("next")))
        db.session.commit()
        flash("E-mail or password is incorrect, or the account is locked after too many attempts.",
              "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, demo=_demo_accounts(), sso_orgs=sso.organisations()), status


def _demo_accounts() -> bool:
    return db.session.scalar(select(User.id).where(User.mfa_exempt.is_(True), User.active.is_(True))
                             .limit(1)) is not None


def _await_second_factor(user: User, first: str, target: str):
    """The first factor was right: remember who (for five minutes) and ask for the code, or to enrol."""
    db.session.commit()
    session.clear()  # nothing of an earlier identity survives into the new one
    session[PENDING] = {"uid": user.id, "at": time.time(), "next": target, "first": first}
    return redirect(url_for("auth.second_factor" if user.mfa_enrolled_at else "auth.enrol"))


def _first_factor() -> str:
    return "sso" if session.get(PENDING, {}).get("first") == "sso" else "password"


def _sign_in(user: User, method: str, target: str):
    _complete(user, method)
    return redirect(target)


def _complete(user: User, method: str) -> None:
    directory.complete_login(user, method)
    sessions.start(user, method)
    db.session.commit()


def _pending_user() -> User | None:
    """The account whose password was right a moment ago in this browser, if it is still waiting."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db.session.get(User, int(pending.get("uid", 0)))
    return user if user is not None and user.active and not directory.is_locked(user) else None


def _start_again():
    session.pop(PENDING, None)
    flash("Please log in again (the second step waits five minutes at most).", "info")
    return redirect(url_for("auth.login"))


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """The second step: a code from the authenticator app, or a recovery code."""
    user = _pending_user()
    if user is None or user.mfa_enrolled_at is None:
        return _start_again()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        code = form.code.data.strip()
        method = None
        if mfa.check_code(user, code):
            method = f"{_first_factor()}+totp"
        elif "-" in code and mfa.use_recovery_code(user, code):
            method = f"{_first_factor()}+recovery"
            flash(f"You used a recovery code; {mfa.recovery_codes_left(user)} are left. Your account page makes "
                  "new ones.", "warning")
        if method:
            return _sign_in(user, method, session[PENDING]["next"])
        directory.count_failure(user, "wrong second factor")
        db.session.commit()
        if directory.is_locked(user):
            session.pop(PENDING, None)
            flash("Too many wrong codes: the account is locked for a while.", "error")
            return redirect(url_for("auth.login"))
        flash("That code is not right, or it was already used. Enter the code your app shows now.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/code.html", form=form, keys=security_keys.has_keys(user)), status


@bp.post("/login/key/options")
def key_options():
    """The challenge for the pending user's security key (JSON, for the page's script)."""
    user = _pending_user()
    if user is None or not security_keys.has_keys(user):
        return jsonify(error="Please log in again (the second step waits five minutes at most)."), 401
    return current_app.response_class(security_keys.authentication_options(user), mimetype="application/json")


@bp.post("/login/key")
def key_answer():
    """The security key's signature: signed in (JSON with where to go), or refused and counted."""
    user = _pending_user()
    if user is None:
        return jsonify(error="Please log in again (the second step waits five minutes at most).",
                       next=url_for("auth.login")), 401
    if security_keys.verify(user, json_body().get("credential")):
        target, method = session[PENDING]["next"], f"{_first_factor()}+key"
        _complete(user, method)
        return jsonify(next=target)
    directory.count_failure(user, "security key refused")
    db.session.commit()
    if directory.is_locked(user):
        session.pop(PENDING, None)
        return jsonify(error="Too many failed attempts: the account is locked for a while.",
                       next=url_for("auth.login")), 401
    return jsonify(error="The key's answer did not check out. Try again, or enter a code instead."), 401


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """First login where a second factor is due: add Casebook to an authenticator app, confirm with a code."""
    user = _pending_user()
    if user is None or user.mfa_enrolled_at is not None:
        return _start_again()
    mfa.begin_enrolment(user)
    db.session.commit()  # the same secret (and QR code) on a reload
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        codes = mfa.confirm_enrolment(user, form.code.data)
        if codes is not None:
            target, method = session[PENDING]["next"], f"{_first_factor()}+totp"
            directory.complete_login(user, method)
            sessions.start(user, method)
            db.session.commit()
            # Shown here once, never stored: the page is the only copy.
            return render_template("auth/recovery_codes.html", codes=codes, target=target)
        directory.count_failure(user, "wrong second factor at enrolment")
        db.session.commit()
        if directory.is_locked(user):
            session.pop(PENDING, None)
            flash("Too many wrong codes: the account is locked for a while.", "error")
            return redirect(url_for("auth.login"))
        flash("That code is not right. Check the app shows Casebook and enter the code it shows now.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    uri = mfa.provisioning_uri(user)
    return render_template("auth/enrol.html", form=form, qr=Markup(mfa.qr_svg(uri)),
                           secret=" ".join(user.totp_secret[i:i + 4] for i in range(0, len(user.totp_secret), 4)),
                           email=user.email), status


@bp.get("/login/sso/<code>")
def sso_start(code: str):
    """Sign in through the organisation's own identity provider."""
    org = _sso_org(code)
    try:
        return sso.begin(org, url_for("auth.sso_callback", code=org.code, _external=True))
    except sso.SsoRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.login"))


@bp.get("/login/sso/<code>/callback")
def sso_callback(code: str):
    """The provider sends the browser back here; the account it vouches for is signed in."""
    org = _sso_org(code)
    try:
        user = sso.finish(org)
    except sso.SsoRefused as exc:
        audit.record("login_failed", organisation_id=org.id,
                     detail={"reason": "single sign-on refused", "organisation": org.code, "why": str(exc)})
        db.session.commit()
        flash(f"Single sign-on with {org.name} failed: {exc}", "error")
        return render_template("auth/login.html", form=LoginForm(), demo=_demo_accounts(),
                               sso_orgs=sso.organisations()), 401
    if directory.is_locked(user):
        flash("The account is locked for a while after too many attempts.", "error")
        return redirect(url_for("auth.login"))
    # The organisation's provider is the proof of identity here, its own second factor included; an admin
    # account can change everyone's access, so it also gives Casebook's second factor.
    if Role.ADMIN in user.roles and mfa.needed(user):
        return _await_second_factor(user, "sso", url_for("admin.index"))
    return _sign_in(user, "sso", url_for("admin.index"))


def _sso_org(code: str) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.code == code, Organisation.active.is_(True)))
    if org is None or not org.sso_enabled:
        abort(404)
    return org


class SetPasswordForm(Form):
    password = PasswordField("New password", validators=[InputRequired(), Length(max=1024)],
                             description="At least 12 characters and hard to guess: three or four unrelated words "
                                         "work well.", render_kw={"autocomplete": "new-password"})
    again = PasswordField("The same password again", validators=[InputRequired(), Length(max=1024)],
                          render_kw={"autocomplete": "new-password"})


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """An invited user sets their password from the e-mailed link (once, before it expires), then logs in."""
    from casework import invites
    from casework.errors import InvalidInput

    try:
        user = invites.user_for(token)
    except InvalidInput as exc:
        return render_template("auth/set_password.html", form=None, problem=str(exc)), 410
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            invites.set_password(token, form.password.data, form.again.data)
            db.session.commit()
            flash("Your password is set: log in with it.", "success")
            return redirect(url_for("auth.login"))
        except InvalidInput as exc:
            db.session.rollback()
            for name, message in exc.fields.items():
                target = getattr(form, name, None) or form.password
                target.errors = [*target.errors, message]
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("auth/set_password.html", form=form, problem=None, email=user.email), status


@bp.post("/logout")
def logout():
    """End the session here and on the server (a copy of the cookie no longer works)."""
    if current_user.is_authenticated:
        audit.record("logout", user=current_user, object_type="user", object_id=current_user.id)
        sessions.end_current()
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Register the blueprint and the optional login rate limit."""
    app.register_blueprint(bp)
    sso.init_app(app)
    limit = app.config.get("RATELIMIT_LOGIN")
    if limit:
        from flask_limiter import Limiter
        from flask_limiter.util import get_remote_address

        limiter = Limiter(get_remote_address, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"],
                          default_limits=[])
        for endpoint in ("auth.login", "auth.second_factor", "auth.enrol"):
            app.view_functions[endpoint] = limiter.limit(limit, methods=["POST"])(app.view_functions[endpoint])
