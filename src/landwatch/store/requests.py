"""Requests for information products (briefs) and their audit trail.

* :class:`InfoRequest`: one request: who asks (``email`` is personal data: it is never
  logged, shown only to the requester and moderators, and left out of ``repr``), what
  about (topic, area, question, deadline, intended use, the runs to use), its status
  and, once a brief was produced, the job and the links delivered.
* :class:`InfoRequestEvent`: one step of a request (submitted, triaged, accepted,
  delivered, closed, rejected, a failed job): who, when, status before and after, note.

The rules (validation, the status workflow, the priority) live in
:mod:`landwatch.intake`. The job of a request is stored as its id (no foreign key:
jobs and requests have separate migrations). The matching migration is
``migrations/versions/0007_requests.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from landwatch.store.db import Base

#: Statuses of a request, in workflow order (``rejected`` may follow received or triaged).
REQUEST_STATUSES: tuple[str, ...] = (
    "received",
    "triaged",
    "in_progress",
    "delivered",
    "closed",
    "rejected",
)
_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in REQUEST_STATUSES) + ")"


class InfoRequest(Base):
    """A request for an information product (a brief on one topic for one area)."""

    __tablename__ = "info_requests"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        CheckConstraint("(admin_id IS NULL) <> (area IS NULL)", name="one_area"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requester: Mapped[str] = mapped_column(String(200))
    organization: Mapped[str] = mapped_column(String(200))
    requester_type: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    country: Mapped[str] = mapped_column(String(2))
    topic: Mapped[str] = mapped_column(String(32))
    admin_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # SQL NULL (not JSON null) when the area is an admin unit, for the check above
    area: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    deadline: Mapped[dt.date] = mapped_column(Date, index=True)
    intended_use: Mapped[str] = mapped_column(String(32))
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sdg_run: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    ldn_run: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    so3_run: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    warning_run: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    #: admin units of the area: [admin_id], or the units of the warning run a polygon touches
    units: Mapped[list[str]] = mapped_column(JSON, default=list)
    population_exposed: Mapped[float | None] = mapped_column(Float, nullable=True)
    population_source: Mapped[str] = mapped_column(String(300), default="")
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(120), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    events: Mapped[list[InfoRequestEvent]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="InfoRequestEvent.id",
    )

    def __repr__(self) -> str:  # never the e-mail address
        return f"InfoRequest({self.id}, {self.topic!r}, {self.status!r}, by {self.created_by!r})"


class InfoRequestEvent(Base):
    """One step of a request: ``action`` by ``actor`` at ``created_at``, from
    ``from_status`` to ``to_status`` (None before the first step), with a note."""

    __tablename__ = "info_request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("info_requests.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    request: Mapped[InfoRequest] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return (
            f"InfoRequestEvent(request_id={self.request_id}, {self.action!r} by {self.actor!r}: "
            f"{self.from_status} -> {self.to_status})"
        )


__all__ = ["REQUEST_STATUSES", "InfoRequest", "InfoRequestEvent"]
