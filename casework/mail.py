"""Sending the outbox over SMTP (Python's smtplib): one connection per batch, each message committed as sent,
temporary failures retried with backoff, refused addresses given up at once; every send is audited."""
from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import select

from casework.notifications import backoff, mail_enabled
from models import OutboxMessage, audit, db, utcnow
from models.base import skip_locked

BATCH = 100
MAX_ATTEMPTS = 10  # about two days of retries with the backoff before a message is given up
TIMEOUT_SECONDS = 20


def _message(row: OutboxMessage) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Message-ID"] = make_msgid(domain="casebook")
    msg.set_content(row.body)
    return msg


def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    smtp = smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=TIMEOUT_SECONDS)
    if cfg["MAIL_USE_TLS"]:
        smtp.starttls(context=ssl.create_default_context())
    if cfg["MAIL_USERNAME"]:
        smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
    return smtp


def send_due(at: datetime | None = None) -> dict[str, int]:
    """Send pending messages whose time has come; commits after each one. Returns counts by outcome."""
    counts = {"sent": 0, "failed": 0, "retry": 0}
    if not mail_enabled():
        return counts
    at = at or utcnow()
    ids = list(db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= at)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(BATCH)))
    db.session.commit()
    if not ids:
        return counts
    try:
        smtp = _connect()
    except (OSError, smtplib.SMTPException) as exc:  # server down: every message waits for the next try
        for message_id in ids:
            row = db.session.get(OutboxMessage, message_id)
            row.attempts += 1
            counts[_retry(row, at, f"cannot reach the mail server: {exc}")] += 1
        db.session.commit()
        return counts
    try:
        for message_id in ids:
            # Locked while it is sent (PostgreSQL): another worker skips it rather than sending it twice.
            row = db.session.scalar(skip_locked(select(OutboxMessage).where(OutboxMessage.id == message_id,
                                                                             OutboxMessage.status == "pending")))
            if row is None:
                db.session.rollback()
                continue
            counts[_send_one(smtp, row, at)] += 1
            db.session.commit()
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return counts


def _send_one(smtp: smtplib.SMTP, row: OutboxMessage, at: datetime) -> str:
    row.attempts += 1
    try:
        refused = smtp.send_message(_message(row))
    except smtplib.SMTPRecipientsRefused as exc:
        return _fail(row, f"address refused: {_reason(exc.recipients.get(row.to_address))}")
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:  # a permanent refusal: sending again will not help
            return _fail(row, f"refused by the mail server: {exc.smtp_code} {_text(exc.smtp_error)}")
        return _retry(row, at, f"mail server said {exc.smtp_code} {_text(exc.smtp_error)}")
    except (OSError, smtplib.SMTPException) as exc:
        return _retry(row, at, f"{type(exc).__name__}: {exc}")
    if refused:
        return _fail(row, f"address refused: {_reason(refused.get(row.to_address))}")
    row.status, row.sent_at, row.last_error = "sent", at, None
    audit.record("email_sent", object_type="outbox_message", object_id=row.id,
                 organisation_id=row.organisation_id, detail={"kind": row.kind, "to_user": row.user_id,
                                                               "attempts": row.attempts})
    return "sent"


def _retry(row: OutboxMessage, at: datetime, error: str) -> str:
    row.last_error = error[:1000]
    if row.attempts >= MAX_ATTEMPTS:
        return _fail(row, f"gave up after {row.attempts} attempts: {error}")
    row.next_attempt_at = at + backoff(row.attempts or 1)
    return "retry"


def _fail(row: OutboxMessage, error: str) -> str:
    row.status, row.last_error = "failed", error[:1000]
    audit.record("email_failed", object_type="outbox_message", object_id=row.id,
                 organisation_id=row.organisation_id, detail={"kind": row.kind, "to_user": row.user_id,
                                                               "error": error[:300]})
    return "failed"


def _reason(value: tuple[int, bytes] | None) -> str:
    return f"{value[0]} {_text(value[1])}" if value else "no reason given"


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
