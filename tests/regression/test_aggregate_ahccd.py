"""daily_to_monthly on real station data against an independent pandas computation.

Data: ``../shared/data/xclim_ahccd/ahccd_1950-2013.nc`` (xclim-testdata
``data/sdba/ahccd_1950-2013.nc``, see that folder's README): daily precipitation
``pr`` in mm day-1 at 3 AHCCD stations (Vancouver, Kugluktuk, Amos), 1950-2013,
``noleap`` calendar, with 947 NaN values.

The reference is a plain pandas resample of each station on Gregorian timestamps
(every noleap date is a valid Gregorian date); the missing-day count per month is
taken against a hard-coded noleap month-length table, so the test does not share
the calendar logic of the kernel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.indices.drought.aggregate import daily_to_monthly

pytestmark = pytest.mark.shared_data

NOLEAP_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@pytest.fixture(scope="module")
def ahccd_pr(shared_dir: Path) -> xr.DataArray:
    path = shared_dir / "data" / "xclim_ahccd" / "ahccd_1950-2013.nc"
    with xr.open_dataset(path) as ds:
        return ds["pr"].load()


def _reference(pr: xr.DataArray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Pandas monthly sums, valid-day counts and longest missing runs per station."""
    stamps = pd.to_datetime([f"{t.year:04d}-{t.month:02d}-{t.day:02d}" for t in pr.time.values])
    df = pd.DataFrame(
        pr.transpose("time", "location").values.astype(np.float64),
        index=stamps,
        columns=pr.location.values,
    )
    monthly = df.resample("MS")
    sums = monthly.sum(min_count=1)
    valid = monthly.count()

    def longest_nan_run(s: pd.Series) -> int:
        best = run = 0
        for v in s.isna().to_numpy():
            run = run + 1 if v else 0
            best = max(best, run)
        return best

    runs = monthly.agg(longest_nan_run)
    return sums, valid, runs


def test_daily_to_monthly__ahccd_pr_matches_pandas(ahccd_pr: xr.DataArray) -> None:
    pr = ahccd_pr
    assert pr.attrs["units"] == "mm day-1"
    assert pr.sizes == {"location": 3, "time": 23360}
    assert int(pr.isnull().sum()) == 947  # README

    out = daily_to_monthly(pr, how="sum")
    sums, valid, _ = _reference(pr)
    assert out.sizes["time"] == 64 * 12 == len(sums)
    assert out.attrs["units"] == "mm/month"
    assert out.indexes["time"].calendar == "noleap"
    assert [t.day for t in out.time.values] == [1] * 768

    got = out.transpose("time", "location").values
    n_days = np.tile(NOLEAP_DAYS, 64)[:, None]
    missing = n_days - valid.to_numpy()
    # the file has every noleap day in its index, so missing = NaN values only
    assert int(missing.sum()) == 947

    complete = missing == 0
    np.testing.assert_allclose(got[complete], sums.to_numpy()[complete], rtol=1e-12, atol=0)
    # accepted months with 1-3 missing days: sum of the valid days, not scaled up
    partial = (missing > 0) & (missing <= 3)
    assert partial.any()
    np.testing.assert_allclose(got[partial], sums.to_numpy()[partial], rtol=1e-12, atol=0)

    expected_nan = missing > 3
    np.testing.assert_array_equal(np.isnan(got), expected_nan)
    assert int(np.isnan(got).sum()) == int(expected_nan.sum()) > 0
    # facts of the file (Vancouver, Kugluktuk, Amos), as counted when this test was written
    assert np.isnan(got).sum(axis=0).tolist() == [7, 2, 39]


def test_daily_to_monthly__ahccd_pr_wmo_3_5_rule(ahccd_pr: xr.DataArray) -> None:
    out = daily_to_monthly(ahccd_pr, how="sum", max_missing_days=5, max_consecutive_missing=3)
    _, valid, runs = _reference(ahccd_pr)
    missing = np.tile(NOLEAP_DAYS, 64)[:, None] - valid.to_numpy()
    expected_nan = (missing > 5) | (runs.to_numpy() > 3)
    got_nan = np.isnan(out.transpose("time", "location").values)
    np.testing.assert_array_equal(got_nan, expected_nan)
    assert got_nan.sum(axis=0).tolist() == [7, 2, 30]
    # the 3/5 rule is looser than the default 3-in-total on this data
    default_nan = np.isnan(daily_to_monthly(ahccd_pr, how="sum").values).sum()
    assert got_nan.sum() <= default_nan


def test_daily_to_monthly__ahccd_dask_per_station_equals_numpy(ahccd_pr: xr.DataArray) -> None:
    pytest.importorskip("dask")
    eager = daily_to_monthly(ahccd_pr, how="sum")
    lazy = daily_to_monthly(ahccd_pr.chunk({"location": 1}), how="sum")
    xr.testing.assert_identical(eager, lazy.compute())
