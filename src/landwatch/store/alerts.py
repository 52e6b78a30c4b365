"""Drought alerts per admin unit, every message they sent, and the monthly situation.

* :class:`DroughtAlert`: one drought event of one unit (observed or forecast), from
  the month it started to the month it ended; its current and peak level.
* :class:`DroughtAlertUpdate`: one message of an alert per month (start, continue,
  escalate, de-escalate, below the thresholds, end), with the CAP identifier, the
  time it was sent and the unit's metrics; the alert's history.
* :class:`DroughtUnitMonth`: every assessed unit-month (level and metrics), whether
  or not it belongs to an alert; its key makes reprocessing a month idempotent.

Migration: ``migrations/versions/0002_alerts.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from landwatch.store.db import Base

ALERT_STATUSES = ("active", "ended")
UPDATE_KINDS = ("start", "continue", "escalate", "deescalate", "below", "end")
MSG_TYPES = ("Alert", "Update", "Cancel")


class DroughtAlert(Base):
    """A drought event of one admin unit, observed or forecast."""

    __tablename__ = "drought_alerts"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'ended')", name="status"),
        Index("ix_drought_alerts_unit_stream", "unit_id", "is_forecast", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    unit_name: Mapped[str] = mapped_column(String(200))
    is_forecast: Mapped[bool] = mapped_column(Boolean)
    certainty: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(32))
    level_rank: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    peak_level: Mapped[str] = mapped_column(String(32))
    peak_rank: Mapped[int] = mapped_column(Integer)
    start_month: Mapped[dt.date] = mapped_column(Date)
    last_month: Mapped[dt.date] = mapped_column(Date)
    end_month: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    months_below: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    updates: Mapped[list[DroughtAlertUpdate]] = relationship(
        back_populates="alert",
        order_by="DroughtAlertUpdate.seq",
        cascade="all, delete-orphan",
    )


class DroughtAlertUpdate(Base):
    """One monthly message of an alert (its history)."""

    __tablename__ = "drought_alert_updates"
    __table_args__ = (
        UniqueConstraint("alert_id", "month", name="uq_drought_alert_updates_alert_month"),
        CheckConstraint(
            "kind IN ('start', 'continue', 'escalate', 'deescalate', 'below', 'end')", name="kind"
        ),
        CheckConstraint("msg_type IN ('Alert', 'Update', 'Cancel')", name="msg_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("drought_alerts.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    month: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    msg_type: Mapped[str] = mapped_column(String(8))
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    sent: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    level: Mapped[str] = mapped_column(String(32))
    level_rank: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    certainty: Mapped[str] = mapped_column(String(16))
    months_below: Mapped[int] = mapped_column(Integer)
    consecutive_months: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    alert: Mapped[DroughtAlert] = relationship(back_populates="updates")


class DroughtUnitMonth(Base):
    """The assessed situation of one unit in one month (observed or forecast)."""

    __tablename__ = "drought_unit_months"

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_forecast: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24))
    level: Mapped[str] = mapped_column(String(32))
    level_rank: Mapped[int] = mapped_column(Integer)
    consecutive_months: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("drought_alerts.id", ondelete="SET NULL"), nullable=True
    )
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


__all__ = ["DroughtAlert", "DroughtAlertUpdate", "DroughtUnitMonth"]
