"""Jobs of the web service: one row per execution of a process (OGC API - Processes).

A job is ``accepted`` when submitted, ``running`` once its worker process claimed it,
then ``successful``, ``failed`` or ``dismissed`` (cancelled). The worker writes its
progress, message, log and a heartbeat here; the server's job manager reads them to
start, watch, cancel and recover jobs (see :mod:`landwatch.api.jobs`). Outputs are
files under the data directory (``output_dir`` is relative to it, normally
``jobs/<id>``). The log keeps its last :data:`LOG_MAX_LINES` lines, each prefixed with
a UTC timestamp. The matching migration is ``migrations/versions/0006_jobs.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from landwatch.store.db import Base

#: Job states (OGC API - Processes ``statusCode``).
JOB_STATUSES: tuple[str, ...] = ("accepted", "running", "successful", "failed", "dismissed")
#: States a job does not leave.
FINAL_STATUSES: tuple[str, ...] = ("successful", "failed", "dismissed")
#: Lines of log kept per job (the oldest are dropped).
LOG_MAX_LINES = 500

_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in JOB_STATUSES) + ")"


class Job(Base):
    """One execution of a process, with its inputs, state, progress and log."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(120), index=True)
    output_dir: Mapped[str] = mapped_column(String(1024))
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    def __repr__(self) -> str:
        return f"Job({self.id!r}, {self.process_id!r}, {self.status!r}, {self.progress:.0f}%)"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite returns them naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def log_line(message: str, when: dt.datetime | None = None) -> str:
    """One log line: ``2026-11-26T21:38:43Z message`` (line breaks folded)."""
    stamp = (when or utcnow()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{stamp} {' '.join(str(message).split())}"


def append_log(log: str, *lines: str, max_lines: int = LOG_MAX_LINES) -> str:
    """``log`` with ``lines`` added at the end, keeping the last ``max_lines`` lines."""
    kept = [*(log.splitlines() if log else []), *lines]
    return "\n".join(kept[-max_lines:])


__all__ = [
    "FINAL_STATUSES",
    "JOB_STATUSES",
    "LOG_MAX_LINES",
    "Job",
    "append_log",
    "as_utc",
    "log_line",
    "utcnow",
]
