"""Settings: defaults, then the environment (exact unprefixed names), then the test config."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

DEV_SECRET = "dev"

# Every environment variable Casebook reads: name -> (config key, parser, default, README text).
ENVIRONMENT: dict[str, tuple[str, Any, Any, str]] = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str, None,
                     "Database URL. Default: SQLite file `instance/casebook.db` (WAL, foreign keys on). "
                     "PostgreSQL: `postgresql+psycopg://user:pass@host/db`."),
    "INSTANCE_PATH": ("INSTANCE_PATH", str, None,
                      "Absolute path of the instance folder (the default SQLite file and `secret_key`). Default: "
                      "`instance/` beside `app.py`. Nothing else is kept there, so app servers need not share it."),
    "SECRET_KEY": ("SECRET_KEY", str, None,
                   "Signs sessions and CSRF tokens. Default: a random key created once in "
                   "`instance/secret_key`. The value `dev` is refused unless debugging or testing."),
    "FORCE_HTTPS": ("FORCE_HTTPS", "bool", False,
                    "`1` redirects HTTP to HTTPS, sends HSTS and marks cookies Secure. Off by default."),
    "TRUSTED_PROXIES": ("TRUSTED_PROXIES", int, 0,
                        "Number of reverse proxies whose X-Forwarded-* headers are trusted. Default 0."),
    "RATELIMIT_LOGIN": ("RATELIMIT_LOGIN", str, "10 per minute",
                        "Rate limit for password and second-factor attempts per client address. Default "
                        "`10 per minute`; empty: none (the account lockout still applies)."),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str, "memory://",
                              "Where rate-limit counters live; `redis://127.0.0.1:6379` (with the `redis` "
                              "package installed) shares them between workers. Default `memory://`."),
    "LOGIN_MAX_FAILURES": ("LOGIN_MAX_FAILURES", int, 5,
                           "Failed logins in a row before an account is locked. Default 5."),
    "LOGIN_LOCKOUT_MINUTES": ("LOGIN_LOCKOUT_MINUTES", int, 15,
                              "How long a locked account stays locked. Default 15."),
    "SESSION_LIFETIME_MINUTES": ("SESSION_LIFETIME_MINUTES", int, 480,
                                 "A login ends this long after it began, however busy (absolute lifetime). "
                                 "Default 480 (a working day)."),
    "SESSION_IDLE_MINUTES": ("SESSION_IDLE_MINUTES", int, 30,
                             "A login ends after this long without a request. Default 30."),
    "MFA_REQUIRED": ("MFA_REQUIRED", "bool", True,
                     "`1` (default): every account signs in with a second factor (an authenticator app), "
                     "enrolling at its first login. `0`: only accounts that enrolled, and admins (always). "
                     "Demo accounts made by `seed-demo` are exempt, and the login page says so."),
    "MFA_ISSUER": ("MFA_ISSUER", str, "Casebook",
                   "The name authenticator apps show beside the account. Default `Casebook`."),
    "ISA_ENFORCEMENT": ("ISA_ENFORCEMENT", str, "enforce",
                        "`enforce` (default): a case is shared with a partner organisation (by hand, over the API, "
                        "by a process or by routing) only under an information-sharing agreement in force for the "
                        "lead, the partner and the case type; otherwise it is refused, naming what is missing. "
                        "`warn`: the share goes ahead and the gap is reported (warnings and the audit log)."),
    "API_TOKEN_DAYS": ("API_TOKEN_DAYS", int, 90,
                       "API tokens expire this many days after they are issued. Default 90."),
    "SQLITE_BUSY_TIMEOUT_MS": ("SQLITE_BUSY_TIMEOUT_MS", int, 10_000,
                               "How long a SQLite writer waits for the lock. Default 10000."),
    "TIMERS_IN_PROCESS": ("TIMERS_IN_PROCESS", "bool", True,
                          "`1` (default): the web process fires due timers itself every "
                          "`TIMER_INTERVAL_SECONDS`. Set `0` when `flask --app app timers run --loop` runs "
                          "as a separate worker."),
    "TIMER_INTERVAL_SECONDS": ("TIMER_INTERVAL_SECONDS", int, 30,
                               "How often the in-process timer worker checks for due timers. Default 30."),
    "DASHBOARD_MAX_AGE_SECONDS": ("DASHBOARD_MAX_AGE_SECONDS", int, 300,
                                  "How old the dashboard's shared figures may be before a view recomputes them; "
                                  "the worker refreshes viewed ones before then. Default 300."),
    "WORKING_CALENDAR_FILE": ("WORKING_CALENDAR_FILE", str, "",
                              "A JSON working-day calendar (time zone, end of day, weekend, bank holidays) "
                              "replacing the shipped England and Wales one (`casework/data/calendar.json`)."),
    "TIME_ZONE": ("TIME_ZONE", str, "",
                  "The partnership's time zone (an IANA name): every date and time is shown, and typed, in it; "
                  "stored in UTC. Empty (default): the working calendar's, `Europe/London`."),
    "IMPORT_MAX_ROWS": ("IMPORT_MAX_ROWS", int, 10_000,
                        "Most data rows one spreadsheet import may carry. Default 10000."),
    "EXPORT_PROGRESS_MIN_ROWS": ("EXPORT_PROGRESS_MIN_ROWS", int, 5000,
                                 "Exports with at least this many rows show a progress bar on the command line. "
                                 "Default 5000."),
    "MAIL_SERVER": ("MAIL_SERVER", str, "",
                    "SMTP server for e-mail notifications. Empty (default): notifications are in-app only."),
    "MAIL_PORT": ("MAIL_PORT", int, 25, "SMTP port. Default 25 (587 with `MAIL_USE_TLS`)."),
    "MAIL_USE_TLS": ("MAIL_USE_TLS", "bool", False, "`1`: upgrade the SMTP connection with STARTTLS. Off by default."),
    "MAIL_USERNAME": ("MAIL_USERNAME", str, "", "SMTP login name, if the server needs one."),
    "MAIL_PASSWORD": ("MAIL_PASSWORD", str, "", "SMTP password, if the server needs one."),
    "MAIL_DEFAULT_SENDER": ("MAIL_DEFAULT_SENDER", str, "casebook@localhost",
                            "The From address of notification e-mails. Default `casebook@localhost`."),
    "CONSOLE_URL": ("CONSOLE_URL", str, "http://127.0.0.1:5000",
                    "The console's address, for links in e-mails. Default `http://127.0.0.1:5000`."),
    "INVITE_LINK_HOURS": ("INVITE_LINK_HOURS", int, 72,
                          "How long an invited user's set-your-password link works (it works once). Default 72."),
    "AUDIT_HMAC_KEY": ("AUDIT_HMAC_KEY", str, "",
                       "A long random key for the audit chain's HMAC and its checkpoints, kept outside the database "
                       "(a vault, the service's environment), so that whoever can write the database cannot forge "
                       "audit rows. Empty (default): plain SHA-256, which shows accidents but not a forger."),
    "AUDIT_ANCHOR_FILE": ("AUDIT_ANCHOR_FILE", str, "",
                          "Where the worker appends signed checkpoints of the audit chain (and `audit verify` "
                          "checks them); put it on storage the database's administrators cannot rewrite. Needs "
                          "`AUDIT_HMAC_KEY`. Empty (default): no checkpoints."),
    "AUDIT_ANCHOR_MINUTES": ("AUDIT_ANCHOR_MINUTES", int, 60,
                             "How often the worker writes a checkpoint. Default 60."),
    "DOCUMENT_MAX_BYTES": ("DOCUMENT_MAX_BYTES", int, 20 * 1024 * 1024,
                           "Largest document a user may upload, in bytes. Default 20971520 (20 MB). Requests may "
                           "be this plus 1 MB (`MAX_CONTENT_LENGTH` follows it)."),
    "DOCUMENT_DIR": ("DOCUMENT_DIR", str, "",
                     "A directory for uploaded documents' bytes, named by id and SHA-256 (shared by every app "
                     "server, e.g. a network mount). Empty (default): the bytes are kept in the database."),
    "CLAMD_SOCKET": ("CLAMD_SOCKET", str, "",
                     "Unix socket of ClamAV's daemon (Debian's `clamav-daemon`: `/run/clamav/clamd.ctl`); every "
                     "upload is scanned and refused if a signature matches or clamd does not answer. Empty "
                     "(default) and no `CLAMD_HOST`: uploads are stored marked \"not scanned\"."),
    "CLAMD_HOST": ("CLAMD_HOST", str, "",
                   "Host of ClamAV's daemon over TCP (instead of `CLAMD_SOCKET`). Empty (default): not used."),
    "CLAMD_PORT": ("CLAMD_PORT", int, 3310, "TCP port of ClamAV's daemon with `CLAMD_HOST`. Default 3310."),
    "PASSWORD_HASH_METHOD": ("PASSWORD_HASH_METHOD", str, "scrypt",
                             "Werkzeug password hash method (a memory-hard KDF). Default `scrypt` "
                             "(N=32768, r=8, p=1)."),
}


def _parse(kind: Any, raw: str) -> Any:
    if kind == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return kind(raw)


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read the documented variables that are set; raises ValueError naming a bad one."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, (key, kind, _default, _doc) in ENVIRONMENT.items():
        if name in environ and environ[name] != "":
            try:
                out[key] = _parse(kind, environ[name])
            except ValueError as exc:
                raise ValueError(f"environment variable {name}: {exc}") from None
    if "DOCUMENT_MAX_BYTES" in out:
        out["MAX_CONTENT_LENGTH"] = request_limit(out["DOCUMENT_MAX_BYTES"])
    return out


FORM_ALLOWANCE = 1024 * 1024   # a form's other fields and multipart framing, beside the largest document


def request_limit(document_max_bytes: int) -> int:
    """The largest request body accepted (Flask's MAX_CONTENT_LENGTH): the largest document and its form."""
    return max(16 * 1024 * 1024, document_max_bytes + FORM_ALLOWANCE)


def defaults(instance_path: str) -> dict[str, Any]:
    """Built-in defaults; the database and secret default to files in the instance folder."""
    out = {key: default for key, _kind, default, _doc in ENVIRONMENT.values()}
    out.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{Path(instance_path) / 'casebook.db'}",
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,
        FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION=False,
        MAX_CONTENT_LENGTH=request_limit(out["DOCUMENT_MAX_BYTES"]),
    )
    out.pop("SECRET_KEY")
    return out


def instance_secret(instance_path: str) -> str:
    """The per-installation random key, created on first use with owner-only permissions."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()
