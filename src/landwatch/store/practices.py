"""SLM practice records: the current state of each record, its versions and its events.

The rules that fill these tables live in :mod:`landwatch.knowledge.records` (what a
record may contain) and :mod:`landwatch.knowledge.practices` (who may do what, and
how versions and statuses move). The matching migration is
``migrations/versions/0005_practices.py``.

A record's content is stored as JSON (``sa.JSON``: ``JSON`` on SQLite, ``JSON`` on
PostgreSQL), without the system fields ``status`` and ``version``, which are columns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from landwatch.store.db import Base

#: Statuses of a record (the vocabulary's ``statuses``; repeated here for the constraint).
PRACTICE_STATUSES: tuple[str, ...] = ("draft", "submitted", "approved", "rejected")
_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in PRACTICE_STATUSES) + ")"


class Practice(Base):
    """An SLM practice record in its latest version.

    ``status`` and ``version`` are those of the latest version; ``record`` is its
    content. ``approved_version`` is the version the public sees (None if no version
    was ever approved, or the approved one was withdrawn): an approved record that is
    being edited stays visible in that version until the new one is approved.
    ``created_by`` is the account that submitted it; ``contributor`` (from the record)
    is who wrote it.
    """

    __tablename__ = "practices"
    __table_args__ = (CheckConstraint(_STATUS_CHECK, name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    approved_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    contributor: Mapped[str] = mapped_column(String(200), index=True)
    language: Mapped[str] = mapped_column(String(35), index=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    versions: Mapped[list[PracticeVersion]] = relationship(
        back_populates="practice",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="PracticeVersion.version",
    )

    def __repr__(self) -> str:
        return f"Practice({self.uuid!r}, {self.name!r}, v{self.version}, {self.status!r})"


class PracticeVersion(Base):
    """One version of a record: its content, status, author and the note on the change."""

    __tablename__ = "practice_versions"
    __table_args__ = (
        UniqueConstraint("practice_id", "version", name="uq_practice_versions_practice_version"),
        CheckConstraint(_STATUS_CHECK, name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    change_note: Mapped[str] = mapped_column(Text, default="")

    practice: Mapped[Practice] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"PracticeVersion(practice_id={self.practice_id}, v{self.version}, {self.status!r})"


class PracticeEvent(Base):
    """Something that happened to a record: submitted, edited, approved, rejected, imported.

    ``from_status`` and ``to_status`` are the record's status before and after;
    ``note`` is the change note or the review reason.
    """

    __tablename__ = "practice_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return (
            f"PracticeEvent(practice_id={self.practice_id}, v{self.version}, {self.action!r} "
            f"by {self.actor!r}: {self.from_status} -> {self.to_status})"
        )


__all__ = ["PRACTICE_STATUSES", "Practice", "PracticeEvent", "PracticeVersion"]
