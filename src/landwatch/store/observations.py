"""Community observations: field reports that confirm or correct the maps.

One row per report (location, date, observer role, category, optional land state,
free text in a BCP 47 language, optional photo, local or indigenous knowledge tag),
with its validation status and the result of the last check against a map. The
rules that fill these columns live in :mod:`landwatch.observations.records`; the
table only stores what they accepted. The matching migration is
``migrations/versions/0003_observations.py``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from landwatch.store.db import Base


class Observation(Base):
    """A community observation (a field report), including local and indigenous knowledge.

    Coordinates are WGS84 degrees. ``area_wkt`` is an optional WGS84 polygon the
    observation is about (a field, a grazing area); without it a correction uses a
    buffer around the point. Photos are files under the data directory, named by
    their SHA-256 (``photo_path`` is relative to that directory).
    """

    __tablename__ = "observations"
    __table_args__ = (
        CheckConstraint("lon >= -180 AND lon <= 180", name="lon_range"),
        CheckConstraint("lat >= -90 AND lat <= 90", name="lat_range"),
        CheckConstraint(
            "validation_status IN ('submitted', 'confirmed', 'rejected', 'needs_review')",
            name="validation_status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    area_wkt: Mapped[str | None] = mapped_column(Text, nullable=True)
    observed_on: Mapped[dt.date] = mapped_column(Date, index=True)
    observer_role: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32), index=True)
    land_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    impact_severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(35))
    photo_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    photo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    photo_media_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    photo_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lik_indicator: Mapped[bool] = mapped_column(Boolean, default=False)
    lik_indicator_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    admin_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    validation_status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    validated_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    validated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    validation_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    map_flag: Mapped[str | None] = mapped_column(String(32), nullable=True)
    map_value: Mapped[int | None] = mapped_column(Integer, nullable=True)
    map_layer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    map_run: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    map_checked_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(200), default="")

    def __repr__(self) -> str:
        return (
            f"Observation({self.uuid!r}, {self.category!r}, {self.observed_on}, "
            f"({self.lon:.5f}, {self.lat:.5f}), {self.validation_status!r})"
        )
