"""Observation against map class: the contradiction table, periods, layer codes."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from landwatch.indices.land.codes import NODATA
from landwatch.observations.checks import (
    check_observation,
    choose_period,
    contradiction_flag,
    map_class,
    observed_land_state,
)

PERIODS = {"baseline": (2000, 2015), "report_1": (2004, 2019), "report_2": (2008, 2023)}


@pytest.mark.parametrize(
    ("observed", "mapped", "flag"),
    [
        ("degraded", -1, "consistent"),
        ("degraded", 0, "possible_false_negative"),
        ("degraded", 1, "possible_false_negative"),
        ("stable", -1, "possible_false_positive"),
        ("improved", -1, "possible_false_positive"),
        ("stable", 1, "consistent"),  # both are "not degraded" for SDG 15.3.1
        ("improved", 0, "consistent"),
        (None, -1, "not_comparable"),
        ("degraded", None, "no_data"),
    ],
)
def test_contradiction_flag__table(observed: str | None, mapped: int | None, flag: str) -> None:
    assert contradiction_flag(observed, mapped) == flag


def test_map_class__layers() -> None:
    assert map_class(-1, "sdg") == -1 and map_class(1, "sdg_uncorrected") == 1
    assert map_class(NODATA, "sdg") is None and map_class(np.nan, "sdg") is None
    assert [map_class(v, "lpd5") for v in (1, 2, 3, 4, 5)] == [-1, -1, 0, 0, 1]
    with pytest.raises(ValueError, match="expected one of"):
        map_class(1, "ndvi")


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (dt.date(2001, 5, 1), "baseline"),
        (dt.date(2010, 5, 1), "baseline"),  # in every window: the one ending soonest
        (dt.date(2017, 5, 1), "report_1"),
        (dt.date(2021, 5, 1), "report_2"),
        (dt.date(2026, 1, 1), "report_2"),  # after every window: the latest
        (dt.date(1995, 1, 1), "baseline"),  # before every window: the earliest
    ],
)
def test_choose_period__window_holding_the_date(day: dt.date, period: str) -> None:
    assert choose_period(day, PERIODS) == period


def test_check_observation__implied_state_and_outside() -> None:
    sign = SimpleNamespace(
        category="land_degradation_sign", land_state=None, observed_on=dt.date(2020, 1, 1)
    )
    crop = SimpleNamespace(
        category="crop_failure", land_state=None, observed_on=dt.date(2020, 1, 1)
    )
    assert observed_land_state(sign) == "degraded"
    assert observed_land_state(crop) is None
    res = check_observation(sign, 0.0, inside=True, period="report_2", layer="sdg")
    assert (res.flag, res.map_value, res.layer) == ("possible_false_negative", 0, "report_2/sdg")
    assert check_observation(crop, 0.0, inside=True, period="p", layer="sdg").flag == (
        "not_comparable"
    )
    out = check_observation(sign, np.nan, inside=False, period="p", layer="sdg")
    assert (out.flag, out.map_value) == ("outside_map", None)
    nod = check_observation(sign, np.nan, inside=True, period="p", layer="sdg")
    assert nod.flag == "no_data"
