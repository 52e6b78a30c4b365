"""Confirmed drought-impact observations as evidence for a drought alert (hand-made data)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from landwatch.errors import InputError
from landwatch.observations.confidence import (
    adjust_confidence_level,
    alert_evidence,
    confidence_adjustment,
    drought_evidence,
    level_shift,
    summarise_drought_evidence,
)
from landwatch.observations.records import create_observation, set_validation_status
from landwatch.store import init_db, session_scope

_n = 0


def obs(**kw: Any) -> SimpleNamespace:
    global _n
    _n += 1
    base: dict[str, Any] = {
        "uuid": f"u{_n}",
        "category": "crop_failure",
        "impact_severity": None,
        "land_state": None,
        "validation_status": "confirmed",
        "admin_id": "KE-01",
        "observed_on": dt.date(2024, 3, 10),
    }
    base.update(kw)
    return SimpleNamespace(**base)


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"category": "crop_failure"}, "confirms"),
        ({"category": "water_scarcity", "impact_severity": "severe"}, "confirms"),
        ({"category": "livestock_loss", "impact_severity": "none"}, "contradicts"),
        ({"category": "vegetation_state", "land_state": "degraded"}, "confirms"),
        ({"category": "vegetation_state", "land_state": "stable"}, "contradicts"),
        ({"category": "vegetation_state", "land_state": "improved"}, "contradicts"),
        ({"category": "restoration_result", "land_state": "improved"}, None),
        ({"category": "land_degradation_sign", "land_state": "degraded"}, None),
    ],
)
def test_drought_evidence__table(kw: dict[str, Any], expected: str | None) -> None:
    assert drought_evidence(obs(**kw)) == expected


def test_confidence_adjustment__documented_values() -> None:
    assert confidence_adjustment(0, 0) == 0.0
    assert confidence_adjustment(1, 0) == pytest.approx(1 / 3)
    assert confidence_adjustment(2, 0) == pytest.approx(0.5)
    assert confidence_adjustment(5, 0) == pytest.approx(5 / 7)
    assert confidence_adjustment(2, 2) == 0.0
    assert confidence_adjustment(0, 2) == pytest.approx(-0.5)
    assert [level_shift(confidence_adjustment(c, 0)) for c in (0, 1, 2, 5)] == [0, 0, 1, 1]
    assert level_shift(confidence_adjustment(0, 3)) == -1
    with pytest.raises(InputError, match="cannot be negative"):
        confidence_adjustment(-1, 0)


def test_summarise_drought_evidence__counts_only_confirmed_in_unit_and_month() -> None:
    rows = [
        obs(),  # confirms
        obs(category="water_scarcity", impact_severity="moderate"),  # confirms
        obs(category="vegetation_state", land_state="degraded"),  # confirms
        obs(category="livestock_loss", impact_severity="none"),  # contradicts
        obs(validation_status="submitted"),  # not confirmed
        obs(validation_status="rejected"),
        obs(admin_id="KE-02"),  # another unit
        obs(observed_on=dt.date(2024, 4, 1)),  # another month
        obs(observed_on=dt.date(2024, 2, 29)),
        obs(category="restoration_result", land_state="improved"),  # not drought evidence
    ]
    ev = summarise_drought_evidence(rows, "KE-01", "2024-03")
    assert (ev.confirming, ev.contradicting) == (3, 1)
    assert ev.adjustment == pytest.approx((3 - 1) / (3 + 1 + 2))
    assert ev.level_shift == 0
    assert ev.confirming_uuids == (rows[0].uuid, rows[1].uuid, rows[2].uuid)
    assert ev.contradicting_uuids == (rows[3].uuid,)
    assert ev.as_dict()["month"] == "2024-03"
    assert adjust_confidence_level("medium", ev) == "medium"
    strong = summarise_drought_evidence(rows[:3], "KE-01", dt.date(2024, 3, 1))
    assert strong.level_shift == 1
    assert adjust_confidence_level("medium", strong) == "high"
    assert adjust_confidence_level("high", strong) == "high"  # stays on the scale
    with pytest.raises(InputError, match="YYYY-MM"):
        summarise_drought_evidence(rows, "KE-01", "March 2024")
    with pytest.raises(InputError, match="expected one of low, medium, high"):
        adjust_confidence_level("very high", strong)


def test_alert_evidence__from_the_database(tmp_path: Path) -> None:
    engine = init_db(f"sqlite:///{tmp_path / 'c.db'}")
    base = {
        "lon": 37.2,
        "lat": -1.4,
        "observer_role": "community_monitor",
        "admin_id": "KE-01",
    }
    with session_scope(engine) as s:
        a = create_observation(s, {**base, "category": "crop_failure", "observed_on": "2024-03-03"})
        b = create_observation(
            s, {**base, "category": "water_scarcity", "observed_on": "2024-03-31"}
        )
        c = create_observation(
            s,
            {
                **base,
                "category": "vegetation_state",
                "land_state": "stable",
                "observed_on": "2024-03-15",
            },
        )
        create_observation(s, {**base, "category": "crop_failure", "observed_on": "2024-03-20"})
        for o in (a, b, c):
            set_validation_status(s, o.uuid, "confirmed", by="monitor lead")
    with session_scope(engine) as s:
        ev = alert_evidence(s, "KE-01", "2024-03")
        assert (ev.confirming, ev.contradicting) == (2, 1)  # the 4th is not confirmed
        assert set(ev.confirming_uuids) == {a.uuid, b.uuid}
        assert alert_evidence(s, "KE-01", "2024-04").total == 0
