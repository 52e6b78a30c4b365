"""Confirmed community observations move the confidence of a drought alert."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from shapely.geometry import box
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from landwatch.observations.records import create_observation, set_validation_status
from landwatch.store import init_db, session_scope
from landwatch.store.alerts import DroughtAlert, DroughtAlertUpdate
from landwatch.warning.alerts import update_alerts
from landwatch.warning.cap import build_cap, validate_cap
from landwatch.warning.messages import compose_message, unit_area
from landwatch.warning.thresholds import load_alert_rules

RULES = load_alert_rules()


def _assessment(unit: str) -> pd.DataFrame:
    level = RULES.level("severe")
    return pd.DataFrame(
        [
            {
                "unit_id": unit,
                "unit_name": unit,
                "month": "2024-03",
                "status": "assessed",
                "level": "severe",
                "level_rank": level.rank,
                "severity": level.severity,
                "consecutive_months": 1,
                "cropland_warning_share": 0.5,
                "cropland_alert_share": 0.4,
                "grazing_warning_share": 0.5,
                "grazing_alert_share": 0.3,
                "population_exposed": 1000.0,
            }
        ]
    )


def _params(tmp_path: Path, reports: list[dict[str, object]]) -> dict[str, str]:
    engine = init_db(f"sqlite:///{tmp_path / 'a.db'}")
    with session_scope(engine) as s:
        for r in reports:
            o = create_observation(
                s, {"lon": 37.2, "lat": -1.4, "observer_role": "farmer", "admin_id": "U1", **r}
            )
            set_validation_status(s, o.uuid, "confirmed", by="officer")
        update_alerts(s, _assessment("U1"), RULES, sent=dt.datetime(2024, 4, 2, tzinfo=dt.UTC))
    with session_scope(engine) as s:
        upd = s.scalars(
            select(DroughtAlertUpdate).options(
                selectinload(DroughtAlertUpdate.alert).selectinload(DroughtAlert.updates)
            )
        ).one()
        msg = compose_message(
            upd,
            rules=RULES,
            sender="ews@example.org",
            area=unit_area("U1", "U1", box(37, -2, 38, -1)),
        )
        validate_cap(build_cap(msg))
    return {k.removeprefix("landwatch:"): v for k, v in msg.parameters}


def test_alert_confidence__confirmed_reports_raise_it(tmp_path: Path) -> None:
    p = _params(
        tmp_path,
        [
            {"category": "crop_failure", "observed_on": "2024-03-05"},
            {"category": "livestock_loss", "observed_on": "2024-03-20"},
        ],
    )
    assert (p["community_confirming"], p["community_contradicting"]) == ("2", "0")
    assert p["confidence"] == "high"


def test_alert_confidence__contradicting_reports_lower_it(tmp_path: Path) -> None:
    p = _params(
        tmp_path,
        [
            {"category": "vegetation_state", "land_state": "stable", "observed_on": "2024-03-05"},
            {"category": "crop_failure", "impact_severity": "none", "observed_on": "2024-03-09"},
        ],
    )
    assert p["community_contradicting"] == "2"
    assert p["confidence"] == "low"


def test_alert_confidence__no_reports_keeps_medium(tmp_path: Path) -> None:
    p = _params(tmp_path, [{"category": "crop_failure", "observed_on": "2024-05-05"}])
    assert p["community_confirming"] == "0"  # another month does not count
    assert p["confidence"] == "medium"
