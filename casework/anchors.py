"""Checkpoints of the audit chain kept outside the database: a signed line per checkpoint (newest event id,
its hash, the count, when), appended to a file and written to the log, so that `audit verify` can tell when the
newest events were removed or the whole chain recomputed, which the chain alone cannot show."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from models import audit, utcnow

log = logging.getLogger("casebook.audit")


class AnchorError(Exception):
    """The checkpoint file cannot be trusted (unreadable, malformed or not signed with the audit key)."""


def _signature(key: bytes, entry: dict) -> str:
    body = json.dumps([entry["id"], entry["hash"], entry["count"], entry["at"]], separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _key() -> bytes:
    key = audit.audit_key()
    if key is None:
        raise AnchorError("checkpoints are signed with the audit key: set AUDIT_HMAC_KEY")
    return key


def write(path: str | Path) -> dict | None:
    """Append a signed checkpoint of the chain's head to the file (and the log); None while the log is empty."""
    key = _key()
    event_id, last_hash, count = audit.checkpoint()
    if not count:
        return None
    entry = {"id": event_id, "hash": last_hash, "count": count, "at": utcnow().isoformat(timespec="seconds")}
    entry["sig"] = _signature(key, entry)
    line = json.dumps(entry, separators=(",", ":"))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    log.info("audit checkpoint %s", line)  # a second copy wherever the logs go (a SIEM, syslog)
    return entry


def read(path: str | Path) -> dict[int, tuple[str, int, str]]:
    """Every checkpoint in the file as event id -> (hash, count, when), each signature checked.

    :raise AnchorError: naming the line that is malformed or not signed with the audit key
    """
    key = _key()
    out: dict[int, tuple[str, int, str]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AnchorError(f"cannot read the checkpoint file {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            good = hmac.compare_digest(str(entry["sig"]), _signature(key, entry))
        except (ValueError, KeyError, TypeError):
            raise AnchorError(f"line {number} of {path} is not a checkpoint") from None
        if not good:
            raise AnchorError(f"line {number} of {path} is not signed with the audit key (altered, or another key)")
        out[int(entry["id"])] = (str(entry["hash"]), int(entry["count"]), str(entry["at"]))
    return out


def due(path: str | Path, now: datetime | None = None) -> bool:
    """Whether the newest checkpoint in the file is older than AUDIT_ANCHOR_MINUTES (or there is none)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            tail = fh.read().decode("utf-8", "replace").strip().splitlines()
        newest = datetime.fromisoformat(json.loads(tail[-1])["at"])
    except (OSError, ValueError, KeyError, IndexError):
        return True
    minutes = current_app.config["AUDIT_ANCHOR_MINUTES"]
    return (now or utcnow()) - newest >= timedelta(minutes=minutes)


def anchor_if_due() -> dict | None:
    """The worker's part: a checkpoint when one is configured and due."""
    path = current_app.config.get("AUDIT_ANCHOR_FILE")
    if not path or audit.audit_key() is None or not due(path):
        return None
    return write(path)
