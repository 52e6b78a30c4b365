"""Planted droughts in the sample region raise Watch, then Warning, then Alert, and recover.

The Combined Drought Indicator runs on the sample's climate grid (SPI from its
monthly precipitation, soil moisture from the bucket model, vegetation anomaly from
``ndvi_monthly.nc``). A unit is at a stage (1 Watch, 2 Warning, 3 Alert) in a month
when at least ``UNIT_SHARE`` of its cells are at that stage or worse. Checked for the
planted episodes that start after the monthly NDVI does (2000-01):

* Watch within 2 months of the planted start, Warning not before Watch and within 3
  months, Alert not before Warning and within 5 months;
* back to stage 0 within 9 months of the planted end (recovery classes in between);
* planted-normal unit-months (outside every episode and its 3 following months)
  at stage Alert: below 5 %.

Measured on seed 0, size 400 (2026-11-26): Watch at +0, Warning at +1, Alert at
+2..+5 months; stage 0 again 2-5 months after the planted end; 0.6 % of
planted-normal unit-months at Alert (2.2 % at Warning or worse).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.io.vectors import rasterize_ids, read_vector
from landwatch.sample import SampleRegion
from landwatch.workflows.cdi import run_cdi

UNIT_SHARE = 0.3


@pytest.fixture(scope="module")
def stages(sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    d = sample_region.out_dir
    out = run_cdi(
        d / "climate_monthly.nc",
        tmp_path_factory.mktemp("cdi") / "cdi",
        ndvi=d / "ndvi_monthly.nc",
    )
    cdi = xr.open_dataset(out / "cdi.nc", decode_coords="all")["cdi"].load()
    ids = rasterize_ids(
        read_vector(d / "admin.gpkg", name="admin", layer="admin1"), cdi.isel(time=0)
    )
    months = pd.PeriodIndex(pd.DatetimeIndex(cdi["time"].values), freq="M")
    v = cdi.values
    rows = []
    for k in range(1, int(ids.max()) + 1):
        x = v[:, ids == k]
        valid = (x != -32768).sum(axis=1)
        stage = np.zeros(len(months), int)
        for s in (1, 2, 3):
            share = ((x >= s) & (x <= 3)).sum(axis=1) / valid
            stage[share >= UNIT_SHARE] = s
        rows.append(pd.DataFrame({"unit": k, "month": months, "stage": stage}))
    df = pd.concat(rows, ignore_index=True)
    return df[df["month"] >= pd.Period("2000-01", "M")]


def _episodes(sample_region: SampleRegion) -> list[dict[str, object]]:
    truth = json.loads(Path(sample_region.out_dir / "truth.json").read_text())
    return list(truth["drought_episodes"])


def test_planted_droughts__watch_warning_alert_in_order_then_recovery(
    stages: pd.DataFrame, sample_region: SampleRegion
) -> None:
    checked = 0
    for ep in _episodes(sample_region):
        start, end = pd.Period(str(ep["start"]), "M"), pd.Period(str(ep["end"]), "M")
        if start < pd.Period("2000-01", "M"):
            continue  # no monthly NDVI before 2000: the cascade cannot be seen whole
        for unit, g in stages.groupby("unit"):
            s = g.set_index("month")["stage"]
            window = s.loc[start : end + 3]
            first = {
                st: next(((p - start).n for p in window.index if window[p] >= st), None)
                for st in (1, 2, 3)
            }
            where = f"{ep['id']} unit {unit}: first month per stage {first}"
            assert None not in first.values(), where
            assert first[1] <= 2, where
            assert first[1] <= first[2] <= 3, where
            assert first[2] <= first[3] <= 5, where
            after = s.loc[end + 1 : end + 9]
            assert (after == 0).any(), f"{ep['id']} unit {unit}: no recovery within 9 months"
            checked += 1
    assert checked >= 3 * 3  # three episodes after 2000, at least three units


def test_planted_normal_periods__rarely_raise_alert(
    stages: pd.DataFrame, sample_region: SampleRegion
) -> None:
    inside = np.zeros(len(stages), bool)
    for ep in _episodes(sample_region):
        start, end = pd.Period(str(ep["start"]), "M"), pd.Period(str(ep["end"]), "M")
        inside |= ((stages["month"] >= start) & (stages["month"] <= end + 3)).to_numpy()
    normal = stages[~inside]
    assert len(normal) > 500
    false_alarm = float((normal["stage"] == 3).mean())
    assert false_alarm < 0.05, f"{false_alarm:.1%} of planted-normal unit-months at Alert"
    # and the drought periods do reach Alert
    assert float((stages[inside]["stage"] == 3).mean()) > 0.3
