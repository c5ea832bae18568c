"""Casebook application factory."""
from __future__ import annotations

import gc
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, redirect, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import access
import admin
import api
import cli
import config
import errors
import models
from casework import calendar
from workflows import formdata


class CasebookResponse(Response):
    """A page holding text UTF-8 cannot carry (a lone surrogate in JSON stored before input was checked) shows
    "?" there rather than failing with a 500 every time it is opened."""

    def set_data(self, value: bytes | str) -> None:
        super().set_data(value.encode("utf-8", "replace") if isinstance(value, str) else value)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Casebook app: defaults, then environment, then `test_config`."""
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None, instance_relative_config=True)
    app.response_class = CasebookResponse
    app.url_map.converters["int"] = IdConverter
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.defaults(app.instance_path))
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    _check_secret(app)
    app.permanent_session_lifetime = timedelta(minutes=app.config["SESSION_LIFETIME_MINUTES"])
    app.wsgi_app = _host_check(app.wsgi_app)  # type: ignore[method-assign]
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    if app.config["FORCE_HTTPS"]:
        # __Host-: browsers accept it only Secure, for this host alone and the whole path (ASVS 3.4.4).
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True,
                          SESSION_COOKIE_NAME="__Host-casebook", SESSION_COOKIE_PATH="/", SESSION_COOKIE_DOMAIN=None)

    models.init_app(app)
    # Every time shown is in the partnership's time zone (TIME_ZONE), as people read it: {{ when|local }}.
    app.jinja_env.filters["local"] = calendar.local
    # A completed step's answers by the diagram's labels and option names: {% for label, text in item|readable %}.
    app.jinja_env.filters["readable"] = lambda item: formdata.readable(item.fields, item.answers)
    access.init_app(app)
    cli.init_app(app)
    admin.init_app(app)
    api.init_app(app)
    errors.init_app(app)
    _security_headers(app)

    @app.get("/")
    def root():
        return redirect(url_for("admin.index"))

    @app.get("/favicon.ico")
    def favicon():   # what browsers ask for on their own (pages link the SVG)
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    if not app.testing:
        # Everything built so far (modules, models, the console) lives as long as the process: keeping it out
        # of the garbage collector's full sweeps removes a 40 ms pause every few dozen requests.
        gc.freeze()
    return app


class IdConverter(IntegerConverter):
    """`<int:...>` in routes: ids beyond a 32-bit column match no route (a 404, not a database error)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", access.ID_MAX)
        super().__init__(map, *args, **kwargs)


_HOST = re.compile(r"^(?:[A-Za-z0-9_.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")


def _host_check(wsgi_app: Any) -> Any:
    """A Host header that is not a host name (or address) and port is refused with 400 before Flask routes on
    it (werkzeug cannot build URLs for it, which ended as a 500)."""

    def checked(environ: dict, start_response: Any) -> Any:
        host = environ.get("HTTP_HOST")
        if host is not None and not _HOST.match(host):
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Bad Host header\n"]
        return wsgi_app(environ, start_response)

    return checked


def _check_secret(app: Flask) -> None:
    """Refuse the well-known development key outside debugging and testing."""
    key = app.config.get("SECRET_KEY")
    if not key:
        app.config["SECRET_KEY"] = config.instance_secret(app.instance_path)
    elif key == config.DEV_SECRET and not (app.debug or app.testing):
        raise RuntimeError("SECRET_KEY is the development value 'dev'; set a long random SECRET_KEY "
                           "(or unset it to use instance/secret_key)")


def _security_headers(app: Flask) -> None:
    """CSP and friends on every response; HTTPS redirect and HSTS when FORCE_HTTPS is on."""

    @app.before_request
    def _https_only():
        if app.config["FORCE_HTTPS"] and not request.is_secure:
            return redirect(request.url.replace("http://", "https://", 1), code=301)
        return None

    @app.after_request
    def _headers(response):
        # Scripts only from this origin, or inline with this response's nonce (Flask-Admin's few inline
        # scripts carry it); inline event handlers are refused (templates/admin/ overrides bind them instead).
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; script-src 'self' 'nonce-{admin.csp_nonce()}'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["FORCE_HTTPS"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint and not request.endpoint.endswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
