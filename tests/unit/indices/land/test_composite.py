"""Unit tests of the annual NDVI composite."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.land.composite import annual_composite, season_years


def series(dates, values):
    """(time, y, x) cube on the given dates; values shaped (time, y, x)."""
    values = np.asarray(values, dtype=np.float32)
    nt, ny, nx = values.shape
    return xr.DataArray(
        values,
        dims=("time", "y", "x"),
        coords={
            "time": pd.to_datetime(dates).values,
            "y": np.arange(ny) * -250.0,
            "x": np.arange(nx) * 250.0,
        },
        name="ndvi",
        attrs={"units": "1"},
    )


@pytest.fixture(scope="module")
def modis_like():
    """16-day steps 2001-01-01 .. 2004-12-31 (23 per year), 5 x 6 px, 10 % NaN."""
    dates = pd.DatetimeIndex(
        [d for y in range(2001, 2005) for d in pd.date_range(f"{y}-01-01", periods=23, freq="16D")]
    )
    rng = np.random.default_rng(3)
    doy = dates.day_of_year.values[:, None, None]
    v = 0.4 + 0.2 * np.sin(2 * np.pi * doy / 365.0) + 0.01 * rng.standard_normal((dates.size, 5, 6))
    v[rng.random(v.shape) < 0.1] = np.nan
    return series(dates, v)


def test_annual_composite__integer_years_and_mean(modis_like):
    out = annual_composite(modis_like)
    assert out.dims == ("time", "y", "x")
    assert out["time"].values.tolist() == [2001, 2002, 2003, 2004]
    assert out["time"].dtype.kind == "i"
    assert out.dtype == np.float32
    yrs = modis_like.time.dt.year
    expected = modis_like.where(yrs == 2003, drop=True).mean("time", skipna=True)
    np.testing.assert_allclose(out.sel(time=2003).values, expected.values, rtol=1e-6)
    assert out.attrs["units"] == "1"
    assert out.attrs["method"] == "mean"
    assert "mean" in out.attrs["long_name"] and "cell_methods" in out.attrs


@pytest.mark.parametrize("how", ["mean", "max", "median"])
def test_annual_composite__dask_equals_numpy(modis_like, how):
    ref = annual_composite(modis_like, how=how, min_obs=20)
    lazy = annual_composite(modis_like.chunk({"time": 30, "y": 2, "x": 4}), how=how, min_obs=20)
    assert lazy.chunks is not None  # stays lazy
    got = lazy.compute()
    xr.testing.assert_identical(got, ref)
    assert np.isnan(ref.values).any()  # min_obs=20 of 23 with 10 % NaN masks some pixel-years


def test_annual_composite__keeps_crs(modis_like):
    pytest.importorskip("rioxarray")
    da = modis_like.rio.write_crs("EPSG:32719")
    out = annual_composite(da)
    assert out.rio.crs.to_epsg() == 32719


@pytest.mark.parametrize("how", ["max", "median"])
def test_annual_composite__reducers(modis_like, how):
    out = annual_composite(modis_like, how=how, min_obs=1)
    sub = modis_like.sel(time=modis_like.time.dt.year == 2002)
    fn = {"max": np.nanmax, "median": np.nanmedian}[how]
    np.testing.assert_allclose(out.sel(time=2002).values, fn(sub.values, axis=0), rtol=1e-6)


def test_annual_composite__min_obs_rule():
    dates = pd.date_range("2010-01-01", "2010-12-31", freq="MS")  # 12 monthly steps
    v = np.full((12, 1, 3), 0.5, np.float32)
    v[:1, 0, 1] = np.nan  # 11 valid
    v[:, 0, 2] = np.nan
    v[5, 0, 2] = 0.3  # 1 valid
    da = series(dates, v)
    out = annual_composite(da, min_obs=12)
    assert out.values[0, 0].tolist()[0] == pytest.approx(0.5)
    assert np.isnan(out.values[0, 0, 1])  # 11 < 12
    assert np.isnan(out.values[0, 0, 2])
    out11 = annual_composite(da, min_obs=11)
    assert out11.values[0, 0, 1] == pytest.approx(0.5)  # exactly min_obs counts
    assert annual_composite(da, min_obs=1).values[0, 0, 2] == pytest.approx(0.3)


def test_annual_composite__partial_years_drop_out():
    # starts 18 Feb 2000 and ends 26 Jun 2003, 8-day steps: 2000 and 2003 are partial
    dates = pd.date_range("2000-02-18", "2003-06-26", freq="8D")
    da = series(dates, np.full((dates.size, 1, 1), 0.4))
    assert (dates.year == 2000).sum() > 12  # min_obs alone would keep 2000 ...
    out = annual_composite(da)
    assert out["time"].values.tolist() == [2001, 2002]  # ... the coverage rule drops it
    kept = annual_composite(da, drop_incomplete=False)
    assert kept["time"].values.tolist() == [2000, 2001, 2002, 2003]
    assert np.isfinite(kept.values).all()  # 2003 has 22 steps >= 12


def test_annual_composite__season_window():
    dates = pd.date_range("2001-01-01", "2003-12-31", freq="D")
    # value = month number, so a season mean is the mean month of its days
    v = dates.month.values.astype(np.float32)[:, None, None] / 100.0
    da = series(dates, v)
    jja = annual_composite(da, months=(6, 8))
    assert jja["time"].values.tolist() == [2001, 2002, 2003]
    np.testing.assert_allclose(
        jja.values[:, 0, 0], (6 * 30 + 7 * 31 + 8 * 31) / 92 / 100, rtol=1e-6
    )
    assert jja.attrs["months"] == "6-8"
    # across the new year: Nov-Feb, labelled with the year it ends; first and last incomplete
    djf = annual_composite(da, months=(11, 2), how="max")
    assert djf["time"].values.tolist() == [2002, 2003]
    np.testing.assert_allclose(djf.values[:, 0, 0], 0.12)


def test_season_years__wraps():
    t = pd.to_datetime(["2001-10-31", "2001-11-01", "2002-02-28", "2002-03-01"]).values
    year, inside = season_years(t, (11, 2))
    assert year.tolist() == [2001, 2002, 2002, 2002]
    assert inside.tolist() == [False, True, True, False]


def test_annual_composite__all_nan_pixel_is_nan_without_warning(modis_like):
    da = modis_like.copy()
    da[:, 0, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = annual_composite(da, how="median")
    assert np.isnan(out.values[:, 0, 0]).all()


def test_annual_composite__errors(modis_like):
    with pytest.raises(InputError, match="expected datetime64"):
        annual_composite(modis_like.assign_coords(time=np.arange(modis_like.sizes["time"])))
    with pytest.raises(InputError, match="how='sum' is not supported"):
        annual_composite(modis_like, how="sum")
    with pytest.raises(InputError, match="min_obs=0"):
        annual_composite(modis_like, min_obs=0)
    with pytest.raises(InputError, match=r"months=\(0, 13\)"):
        annual_composite(modis_like, months=(0, 13))
    with pytest.raises(InputError, match="'time' dimension"):
        annual_composite(modis_like.rename(time="band"))
    with pytest.raises(InputError, match="not strictly increasing"):
        annual_composite(modis_like.isel(time=slice(None, None, -1)))
    short = modis_like.sel(time=slice("2001-03-01", "2001-05-01"))
    with pytest.raises(InputError, match="no complete year"):
        annual_composite(short)
