"""Unit tests of landwatch.indices.land.soc."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA
from landwatch.indices.land.soc import (
    cropland_factor,
    load_soc_factors,
    soc_degradation,
    soc_stock_series,
)


def _lc(years, classes) -> xr.DataArray:
    """(time, y=1, x=n) land cover; ``classes`` is (n_years, n_pixels)."""
    arr = np.asarray(classes, dtype=np.int16).reshape(len(years), 1, -1)
    return xr.DataArray(arr, dims=("time", "y", "x"), coords={"time": list(years)})


def _soc0(values) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=np.float32).reshape(1, -1), dims=("y", "x"))


def _series(out: xr.DataArray, px: int = 0) -> dict[int, float]:
    return dict(zip(out.time.values.tolist(), out.isel(y=0, x=px).values.tolist(), strict=True))


def test_soc_stock_series__forest_to_cropland_linear_20_years() -> None:
    years = list(range(2000, 2031))
    lc = [[1] if y < 2005 else [3] for y in years]
    out = soc_stock_series(_soc0([100.0]), _lc(years, lc), f=0.58)
    assert out.dims == ("time", "y", "x")
    assert out.time.values.tolist() == years
    s = _series(out)
    step = (100.0 - 58.0) / 20
    for y in range(2000, 2005):
        assert s[y] == pytest.approx(100.0)
    for k in range(0, 21):
        assert s[2004 + k] == pytest.approx(100.0 - k * step, rel=1e-6)
    assert s[2024] == pytest.approx(58.0, rel=1e-6)
    for y in range(2024, 2031):  # change stops after 20 years
        assert s[y] == pytest.approx(58.0, rel=1e-6)


def test_soc_stock_series__unchanged_pixel_keeps_stock_and_water_is_nan() -> None:
    years = [2000, 2015, 2019, 2023]
    lc = [[2, 7, 1], [2, 7, 1], [2, 7, 7], [2, 7, 7]]
    out = soc_stock_series(_soc0([55.0, 80.0, 70.0]), _lc(years, lc), f=0.69)
    assert out.sizes["time"] == 24
    np.testing.assert_allclose(out.isel(y=0, x=0).values, 55.0)
    assert np.isnan(out.isel(y=0, x=1).values).all()
    s = _series(out, 2)
    # tree -> water between 2015 and 2019: mid-interval, water from 2018
    assert s[2017] == pytest.approx(70.0)
    assert all(np.isnan(s[y]) for y in range(2018, 2024))


def test_soc_stock_series__transition_placed_mid_interval() -> None:
    years = [2000, 2015, 2019, 2023]
    lc = [[1], [3], [3], [3]]
    s = _series(soc_stock_series(_soc0([100.0]), _lc(years, lc), f=0.58))
    step = 42.0 / 20
    # t_mid = 2000 + floor(15 / 2) = 2007: cropland from 2008
    assert s[2007] == pytest.approx(100.0)
    assert s[2008] == pytest.approx(100.0 - step, rel=1e-6)
    assert s[2015] == pytest.approx(100.0 - 8 * step, rel=1e-6)
    # each year of change counted once across later intervals
    assert s[2019] == pytest.approx(100.0 - 12 * step, rel=1e-6)
    assert s[2023] == pytest.approx(100.0 - 16 * step, rel=1e-6)


def test_soc_stock_series__second_transition_recomputes_rate() -> None:
    years = list(range(2000, 2035))
    lc = [[1] if y < 2005 else ([3] if y < 2010 else [1]) for y in years]
    f = 0.58
    s = _series(soc_stock_series(_soc0([100.0]), _lc(years, lc), f=f))
    s2009 = 100.0 - 5 * (100.0 - 100.0 * f) / 20
    assert s[2009] == pytest.approx(s2009, rel=1e-6)
    step2 = (s2009 - s2009 / f) / 20  # cropland -> tree: factor 1/f
    assert s[2010] == pytest.approx(s2009 - step2, rel=1e-6)
    assert s[2020] == pytest.approx(s2009 - 11 * step2, rel=1e-6)
    assert s[2029] == pytest.approx(s2009 / f, rel=1e-6)
    assert s[2034] == pytest.approx(s2009 / f, rel=1e-6)


def test_soc_stock_series__per_pixel_factor_and_nan_f() -> None:
    years = [2000, 2001]
    lc = [[1, 1, 1], [3, 3, 5]]
    f = xr.DataArray(np.array([[0.48, np.nan, np.nan]]), dims=("y", "x"))
    out = soc_stock_series(_soc0([100.0, 100.0, 100.0]), _lc(years, lc), f=f)
    v = out.sel(time=2001).values.ravel()
    assert v[0] == pytest.approx(100.0 - 52.0 / 20, rel=1e-6)
    assert np.isnan(v[1])  # the transition needs f, which is unknown there
    assert v[2] == pytest.approx(100.0 - 90.0 / 20, rel=1e-6)  # tree -> artificial 0.1


def test_soc_stock_series__missing_land_cover_is_nan_from_that_interval() -> None:
    years = [2000, 2010, 2020]
    lc = [[1], [1], [NODATA]]
    s = _series(soc_stock_series(_soc0([100.0]), _lc(years, lc), f=0.8))
    assert s[2010] == pytest.approx(100.0)
    assert all(np.isnan(s[y]) for y in range(2011, 2021))


def test_soc_stock_series__datetime_time_and_errors() -> None:
    lc = _lc([2000, 2003], [[1], [3]]).assign_coords(
        time=np.array(["2000-01-01", "2003-01-01"], dtype="datetime64[ns]")
    )
    out = soc_stock_series(_soc0([10.0]), lc, f=0.8)
    assert np.issubdtype(out.time.dtype, np.datetime64) and out.sizes["time"] == 4
    with pytest.raises(InputError, match=r"years are \[2003, 2000\]; expected strictly increasing"):
        soc_stock_series(_soc0([10.0]), _lc([2003, 2000], [[1], [3]]), f=0.8)
    with pytest.raises(InputError, match=r"land_cover has codes 9; expected the classes"):
        _ = soc_stock_series(_soc0([10.0]), _lc([2000, 2001], [[1], [9]]), f=0.8).values


def test_soc_stock_series__dask_equals_numpy() -> None:
    rng = np.random.default_rng(5)
    years = [2000, 2005, 2015, 2019, 2023]
    lc = xr.DataArray(
        rng.integers(1, 8, size=(5, 20, 30)).astype(np.int16),
        dims=("time", "y", "x"),
        coords={"time": years},
    )
    soc0 = xr.DataArray(rng.uniform(10, 120, (20, 30)), dims=("y", "x"))
    f = cropland_factor(xr.DataArray(rng.integers(0, 13, (20, 30)), dims=("y", "x")))
    eager = soc_stock_series(soc0, lc, f=f)
    lazy = soc_stock_series(soc0.chunk(8), lc.chunk({"time": 2, "y": 8, "x": 11}), f=f.chunk(8))
    assert lazy.chunks is not None
    xr.testing.assert_allclose(eager, lazy.compute())
    assert eager.sizes["time"] == 24


def test_load_soc_factors__symbols() -> None:
    fac = load_soc_factors()
    m = fac.factor(0.5)
    assert m[0, 2] == 0.5 and m[2, 0] == 2.0 and m[3, 2] == 0.71
    assert m[2, 3] == pytest.approx(1 / 0.71) and m[4, 0] == 2.0 and m[6, 6] == 1.0


def test_cropland_factor__zones_regime_value() -> None:
    z = xr.DataArray(np.array([0, 1, 2, 9, 10, 11, 12, 15, 255]), dims=("x",))
    out = cropland_factor(z).values
    np.testing.assert_allclose(out[1:7], [0.69, 0.80, 0.64, 0.48, 0.48, 0.58], rtol=1e-6)
    assert np.isnan(out[[0, 7, 8]]).all()
    assert cropland_factor(regime="Tropical_Montane") == 0.64
    assert cropland_factor(value=0.7) == 0.7
    with pytest.raises(InputError, match=r"regime 'boreal' is unknown; expected one of"):
        cropland_factor(regime="boreal")
    with pytest.raises(InputError, match="exactly one of"):
        cropland_factor(z, value=0.5)
    with pytest.raises(InputError, match="expected a positive number"):
        cropland_factor(value=-1)


def test_soc_degradation__thresholds_and_water() -> None:
    bl = xr.DataArray(np.array([100, 100, 100, 100, 100, 50, np.nan, 100.0]), dims=("x",))
    tg = xr.DataArray(np.array([90, 91, 110, 109, 80, 45, 10, 80.0]), dims=("x",))
    water = xr.DataArray(np.array([0, 0, 0, 0, 1, 0, 0, 0], bool), dims=("x",))
    ds = soc_degradation(bl, tg, water_mask=water)
    np.testing.assert_array_equal(ds.soc_degradation.values, [-1, 0, 1, 0, NODATA, -1, NODATA, -1])
    assert ds.pct_change.dtype == np.float32 and ds.soc_degradation.dtype == np.int16
    assert ds.pct_change.values[4] == pytest.approx(-20.0)
    assert np.isnan(ds.pct_change.values[6])
    ds15 = soc_degradation(bl, tg, threshold=15)
    assert ds15.soc_degradation.values[0] == 0 and ds15.soc_degradation.values[7] == -1
    with pytest.raises(InputError, match="threshold is -5"):
        soc_degradation(bl, tg, threshold=-5)


def test_soc_degradation__dask_equals_numpy() -> None:
    rng = np.random.default_rng(6)
    bl = xr.DataArray(rng.integers(1, 100, (30, 30)).astype(float), dims=("y", "x"))
    tg = xr.DataArray(rng.integers(0, 120, (30, 30)).astype(float), dims=("y", "x"))
    xr.testing.assert_identical(
        soc_degradation(bl, tg), soc_degradation(bl.chunk(7), tg.chunk(9)).compute()
    )


def test_soc_stock_series__output_years_equal_full_series() -> None:
    """Selecting years inside the kernel gives exactly the same stocks as the full series."""
    import numpy as np
    import xarray as xr

    from landwatch.errors import InputError
    from landwatch.indices.land.soc import soc_stock_series

    rng = np.random.default_rng(3)
    lc = rng.integers(1, 8, size=(4, 6, 5)).astype(np.int16)
    cube = xr.DataArray(lc, dims=("time", "y", "x"), coords={"time": [2000, 2008, 2015, 2023]})
    soc0 = xr.DataArray(rng.uniform(10, 80, (6, 5)), dims=("y", "x"))
    full = soc_stock_series(soc0, cube, f=0.58)
    some = soc_stock_series(soc0, cube, f=0.58, output_years=[2023, 2000, 2015])
    assert some["time"].values.tolist() == [2000, 2015, 2023]
    np.testing.assert_array_equal(some.values, full.sel(time=[2000, 2015, 2023]).values)
    with pytest.raises(InputError, match="outside the land cover years"):
        soc_stock_series(soc0, cube, f=0.58, output_years=[1999])
