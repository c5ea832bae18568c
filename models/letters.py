"""Letter templates: Word (.docx) files with placeholders, versioned like processes."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.organisation import User


class LetterTemplate(db.Model):
    """One uploaded version of a letter; never changed after it is stored except to retire it. The newest
    version of a key that is not retired is the one letters are written from."""

    __tablename__ = "letter_template"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_letter_template_key_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    # The .docx itself: loaded only to render or download, never by lists.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=False)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    placeholders: Mapped[str] = mapped_column(Text, default="[]")   # the placeholders it uses (JSON list)
    change_note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    created_by: Mapped[User | None] = relationship()

    @property
    def used_placeholders(self) -> list[str]:
        return json.loads(self.placeholders or "[]")

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"
