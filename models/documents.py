"""Documents on cases and people (casework/documents.py): uploads, generated letters, versions. The bytes live in
`document_blob` (or a file in DOCUMENT_DIR) so that lists never load them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import TITLE_MAX, UTCDateTime, db, utcnow
from models.organisation import User

NAME_MAX = 160   # a safe file name, extension included


class Document(db.Model):
    """One version of a document on a case, a person, or both. Versions of one document share `family_id` (the
    first version's id); only the newest is `latest`. Deleted documents are kept for the audit, never listed
    or served."""

    __tablename__ = "document"
    __table_args__ = (
        # The case page and the API list one case's documents, newest first: this index serves that list alone,
        # whatever the number of cases.
        Index("ix_document_case_listed", "case_id", "deleted_at", "uploaded_at"),
        Index("ix_document_person_listed", "person_id", "deleted_at", "uploaded_at"),
        UniqueConstraint("family_id", "version", name="uq_document_family_version"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    name: Mapped[str] = mapped_column(String(NAME_MAX))            # safe file name, never the sender's path
    content_type: Mapped[str] = mapped_column(String(128))          # decided from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    scanned: Mapped[str] = mapped_column(String(16))                # 'clean' | 'not_scanned'
    kind: Mapped[str] = mapped_column(String(32), default="upload")  # 'upload' | 'letter' | ...
    sent_by: Mapped[str | None] = mapped_column(String(32))         # how a letter went: post, email, by hand
    family_id: Mapped[int | None] = mapped_column(Integer, index=True)  # set just after the first insert
    version: Mapped[int] = mapped_column(Integer, default=1)
    latest: Mapped[bool] = mapped_column(Boolean, default=True)
    storage: Mapped[str] = mapped_column(String(8), default="db")   # 'db' | 'dir'
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    delete_reason: Mapped[str | None] = mapped_column(String(TITLE_MAX * 5))

    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id], lazy="joined")


class DocumentBlob(db.Model):
    """A document's bytes, apart from its row so that no list query reads them."""

    __tablename__ = "document_blob"
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
