"""Every table, imported so that ``Base.metadata`` knows them all.

Each capability keeps its models in its own module under ``landwatch/store/`` and
adds a line here; the matching Alembic revision lives in ``migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from landwatch.store.alerts import DroughtAlert, DroughtAlertUpdate, DroughtUnitMonth
from landwatch.store.auth import ApiToken, User
from landwatch.store.db import Base
from landwatch.store.jobs import Job
from landwatch.store.observations import Observation
from landwatch.store.practices import Practice, PracticeEvent, PracticeVersion
from landwatch.store.requests import InfoRequest, InfoRequestEvent


class SchemaInfo(Base):
    __tablename__ = "schema_info"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


__all__ = [
    "ApiToken",
    "DroughtAlert",
    "DroughtAlertUpdate",
    "DroughtUnitMonth",
    "InfoRequest",
    "InfoRequestEvent",
    "Job",
    "Observation",
    "Practice",
    "PracticeEvent",
    "PracticeVersion",
    "SchemaInfo",
    "User",
]
