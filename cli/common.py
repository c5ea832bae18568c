"""What every command shares: finding the named user, reading a file, failing with one line."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import NoReturn

import click
from sqlalchemy import func, select

from models import User, db


def fail(exc: Exception) -> NoReturn:
    """Roll back and exit non-zero with the error as one line."""
    db.session.rollback()
    raise click.ClickException(str(exc).replace("\n", " "))


def user_by_email(email: str, active_only: bool = True) -> User:
    """The user with this e-mail (case-insensitive); exits with a message when there is none."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or (active_only and not user.active):
        raise click.ClickException(f"no {'active ' if active_only else ''}user with e-mail {email!r}")
    return user


def read_bytes(path: str) -> bytes:
    """The file's bytes; exits with the OS's reason when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from None


def parse_at(value: str | None) -> datetime | None:
    """`--at` as an aware date-time (no offset: UTC); exits with a message when it is not ISO-8601."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.ClickException(f"--at {value!r} is not an ISO-8601 date-time") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
