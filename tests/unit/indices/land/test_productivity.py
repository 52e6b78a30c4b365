"""Unit tests of the productivity sub-indicator kernels (xarray level)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from landwatch.errors import InputError, InsufficientDataError, UnitsError
from landwatch.indices.land.codes import NODATA
from landwatch.indices.land.productivity import (
    land_productivity_dynamics,
    lpd5_to_lpd3,
    productivity_performance,
    productivity_state,
    productivity_trajectory,
    recode_lpd,
    recode_state_class_change,
)


def cube(values, start=2001, datetime=False):
    values = np.asarray(values)
    nt, ny, nx = values.shape
    years = np.arange(start, start + nt)
    time = np.array([f"{y}-01-01" for y in years], dtype="datetime64[ns]") if datetime else years
    return xr.DataArray(
        values,
        dims=("time", "y", "x"),
        coords={"time": time, "y": np.arange(ny) * -250.0, "x": np.arange(nx) * 250.0},
        attrs={"units": "1"},
    )


@pytest.fixture(scope="module")
def ndvi():
    rng = np.random.default_rng(42)
    nt, ny, nx = 16, 20, 30
    trend = rng.choice([-0.012, 0.0, 0.012], size=(ny, nx))
    base = rng.uniform(0.2, 0.7, (ny, nx))
    t = np.arange(nt)[:, None, None]
    v = base + trend * t + 0.02 * rng.standard_normal((nt, ny, nx))
    v[rng.random(v.shape) < 0.03] = np.nan
    v[:, 0, :3] = np.nan  # all-missing pixels
    v[:8, 1, :3] = np.nan  # too few valid years
    return cube(v.astype(np.float32))


@pytest.fixture(scope="module")
def units(ndvi):
    rng = np.random.default_rng(7)
    u = rng.integers(0, 4, (ndvi.sizes["y"], ndvi.sizes["x"])).astype(np.int32)
    u[2, :2] = NODATA
    return xr.DataArray(u, dims=("y", "x"), coords={"y": ndvi.y, "x": ndvi.x})


def _chunked(da, **chunks):
    return da.chunk(chunks)


# ----------------------------------------------------------------------------- numpy vs dask


@pytest.mark.parametrize("mode", ["landwatch", "trends_earth"])
def test_productivity_trajectory__numpy_and_dask_identical(ndvi, mode):
    eager = productivity_trajectory(ndvi, mode=mode)
    lazy = productivity_trajectory(_chunked(ndvi, time=5, y=7, x=11), mode=mode)
    assert lazy.trajectory.chunks is not None
    xr.testing.assert_identical(eager, lazy.compute())


@pytest.mark.parametrize("method", ["restrend", "rue"])
def test_productivity_trajectory__climate_methods_numpy_and_dask_identical(ndvi, method):
    rng = np.random.default_rng(3)
    pr = ndvi.copy(data=rng.uniform(200, 900, ndvi.shape))
    eager = productivity_trajectory(ndvi, pr=pr, method=method)
    lazy = productivity_trajectory(
        _chunked(ndvi, y=10, x=10), pr=_chunked(pr, time=4, y=10, x=10), method=method
    )
    xr.testing.assert_identical(eager, lazy.compute())


@pytest.mark.parametrize("method", ["percentile", "zscore"])
def test_productivity_state__numpy_and_dask_identical(ndvi, method):
    eager = productivity_state(ndvi, method=method)
    lazy = productivity_state(_chunked(ndvi, time=3, y=6, x=16), method=method)
    xr.testing.assert_identical(eager, lazy.compute())


def test_productivity_performance__numpy_and_dask_identical(ndvi, units):
    eager = productivity_performance(ndvi, units)
    lazy = productivity_performance(
        _chunked(ndvi, time=4, y=7, x=8), units.chunk({"y": 5, "x": 30})
    )
    assert lazy.performance.chunks is not None
    xr.testing.assert_identical(eager, lazy.compute())


def test_land_productivity_dynamics__numpy_and_dask_identical(ndvi, units):
    tr = productivity_trajectory(ndvi)
    sta = productivity_state(ndvi)
    pf = productivity_performance(ndvi, units)
    for table in ("trends_earth", "gpg_v2", "gpg_v1"):
        eager = land_productivity_dynamics(tr, sta, pf, table=table)
        lazy = land_productivity_dynamics(
            tr.trajectory.chunk({"y": 7}),
            sta.state.chunk({"x": 9}),
            pf.performance.chunk({"y": 4, "x": 4}),
            table=table,
        )
        xr.testing.assert_identical(eager, lazy.compute())
        assert ("lpd5" in eager) == (table == "trends_earth")


def test_recode_functions__numpy_and_dask_identical():
    rng = np.random.default_rng(0)
    jrc = xr.DataArray(
        rng.choice([0, 1, 2, 3, 4, 5, 15], size=(40, 50)).astype(np.uint8), dims=("y", "x")
    )
    xr.testing.assert_identical(recode_lpd(jrc), recode_lpd(jrc.chunk({"y": 9, "x": 13})).compute())
    lpd5 = recode_lpd(jrc).lpd5
    xr.testing.assert_identical(lpd5_to_lpd3(lpd5), lpd5_to_lpd3(lpd5.chunk({"y": 9})).compute())


# ----------------------------------------------------------------------------- trajectory


def test_productivity_trajectory__planted_decline_is_degrading():
    rng = np.random.default_rng(1)
    nt, npx = 24, 2000
    t = np.arange(nt)[:, None, None]
    v = 0.6 - 0.01 * t + 0.01 * rng.standard_normal((nt, 1, npx))
    out = productivity_trajectory(cube(v))
    assert (out.trajectory == -1).mean() >= 0.99
    assert float(out.slope.median()) == pytest.approx(-0.01, abs=0.001)
    assert float(out.sens_slope.median()) == pytest.approx(-0.01, abs=0.001)
    te = productivity_trajectory(cube(v), mode="trends_earth")
    assert (te.trajectory == -1).mean() >= 0.99 and (te.significance_code == -3).mean() >= 0.95


def test_productivity_trajectory__false_positive_rate_on_noise_near_significance():
    rng = np.random.default_rng(2)
    v = 0.5 + 0.05 * rng.standard_normal((24, 40, 50))
    out = productivity_trajectory(cube(v), significance=0.05)
    rate = float((out.trajectory != 0).mean())
    assert 0.02 < rate < 0.08, rate
    # symmetric: about as many spurious declines as improvements
    assert abs(float((out.trajectory == 1).mean()) - float((out.trajectory == -1).mean())) < 0.03


def test_productivity_trajectory__one_sided_alternative_only_detects_its_direction():
    t = np.arange(16)[:, None, None]
    v = np.concatenate([0.3 + 0.01 * t, 0.6 - 0.01 * t], axis=2) + np.zeros((16, 1, 2))
    out = productivity_trajectory(cube(v), alternative="less")
    np.testing.assert_array_equal(out.trajectory.values[0], [0, -1])
    assert float(out.p[0, 0]) == pytest.approx(1.0)


def test_productivity_trajectory__min_years_masks_pixels_and_counts_valid_years(ndvi):
    out = productivity_trajectory(ndvi)
    assert (out.trajectory.values[0, :3] == NODATA).all() and (out.n.values[0, :3] == 0).all()
    assert (out.trajectory.values[1, :3] == NODATA).all() and (out.n.values[1, :3] == 8).all()
    assert (out.trajectory.values[2:] != NODATA).all()
    assert out.trajectory.dtype == np.int16 and out.slope.dtype == np.float32
    attrs = out.trajectory.attrs
    assert (
        attrs["flag_values"] == [-1, 0, 1]
        and attrs["nodata"] == NODATA
        and attrs["method"] == "ndvi"
    )
    assert out.slope.attrs["units"] == "yr-1"


def test_productivity_trajectory__datetime_time_axis_gives_same_result(ndvi):
    a = productivity_trajectory(ndvi)
    b = productivity_trajectory(cube(ndvi.values, datetime=True))
    np.testing.assert_array_equal(a.trajectory.values, b.trajectory.values)
    np.testing.assert_array_equal(a.slope.values, b.slope.values)


def test_productivity_trajectory__trends_earth_dead_band_overrides_significant_s():
    v = (
        0.4 + 0.0005 * np.arange(16)[:, None, None] + np.zeros((16, 1, 1))
    )  # S = max, slope 0.0005/yr
    out = productivity_trajectory(cube(v), mode="trends_earth")
    assert float(out.s[0, 0]) == 120
    assert int(out.significance_code[0, 0]) == 0 and int(out.trajectory[0, 0]) == 0
    assert (
        int(productivity_trajectory(cube(v)).trajectory[0, 0]) == 1
    )  # landwatch mode has no dead band


def test_productivity_trajectory__restrend_removes_rain_driven_trend():
    rng = np.random.default_rng(4)
    nt = 20
    pr = (
        300 + 15 * np.arange(nt)[:, None, None] + 40 * rng.standard_normal((nt, 10, 10))
    )  # wetter years
    v = 0.1 + 0.0008 * pr + 0.005 * rng.standard_normal((nt, 10, 10))
    ndvi, prc = cube(v), cube(pr)
    assert (productivity_trajectory(ndvi).trajectory == 1).mean() > 0.9
    res = productivity_trajectory(ndvi, pr=prc, method="restrend")
    assert (res.trajectory == 0).mean() > 0.85


def test_productivity_trajectory__rue_is_ndvi_per_metre_of_rain():
    v = 0.3 + 0.01 * np.arange(16)[:, None, None] + np.zeros((16, 2, 2))
    pr = np.full(v.shape, 500.0)
    out = productivity_trajectory(cube(v), pr=cube(pr), method="rue")
    np.testing.assert_allclose(out.slope.values, 0.01 / 0.5, rtol=1e-5)
    assert out.slope.attrs["units"] == "m-1 yr-1"


def test_productivity_trajectory__rejects_scaled_ndvi():
    v = np.full((16, 2, 2), 5000.0)
    v[0, 0, 0] = 8734
    with pytest.raises(
        UnitsError, match=r"ndvi looks scaled by 10,000 \(max 8734\); .*[Dd]ivide by 10000"
    ):
        productivity_trajectory(cube(v))
    with pytest.raises(UnitsError, match="looks scaled by 10,000"):
        productivity_trajectory(cube(v).chunk({"y": 1})).compute()
    with pytest.raises(UnitsError, match="looks scaled by 10,000"):
        productivity_state(cube(v))
    with pytest.raises(UnitsError, match="looks scaled by 10,000"):
        productivity_performance(
            cube(v),
            xr.DataArray(
                np.zeros((2, 2), int), dims=("y", "x"), coords={"y": cube(v).y, "x": cube(v).x}
            ),
        )


def test_productivity_trajectory__rejects_too_few_years():
    with pytest.raises(
        InsufficientDataError,
        match=r"ndvi has 7 years \(2016-2022\); the productivity trajectory needs at least 10\. Pass a longer series or",
    ):
        productivity_trajectory(cube(np.full((7, 2, 2), 0.5), start=2016))


def test_productivity_trajectory__rejects_misaligned_pr_years():
    ndvi = cube(np.full((16, 2, 2), 0.5))
    pr = cube(np.full((15, 2, 2), 500.0))
    with pytest.raises(
        InputError,
        match=r"pr has years 2001-2015 \(15\) but ndvi has 2001-2016 \(16\).*missing in pr: \[2016\]",
    ):
        productivity_trajectory(ndvi, pr=pr, method="restrend")
    with pytest.raises(InputError, match="method='rue' needs pr"):
        productivity_trajectory(ndvi, method="rue")
    shifted = cube(np.full((16, 2, 2), 500.0)).assign_coords(x=[1.0, 2.0])
    with pytest.raises(InputError, match="pr coordinates along 'x' differ"):
        productivity_trajectory(ndvi, pr=shifted, method="rue")


def test_productivity_trajectory__rejects_bad_parameters():
    ndvi = cube(np.full((16, 2, 2), 0.5))
    with pytest.raises(InputError, match="significance=1.5"):
        productivity_trajectory(ndvi, significance=1.5)
    with pytest.raises(InputError, match="mode='te' is not supported"):
        productivity_trajectory(ndvi, mode="te")
    with pytest.raises(InputError, match="expected a 'time' dimension"):
        productivity_trajectory(ndvi.rename(time="year"))


# ----------------------------------------------------------------------------- state


def _te_state_reference(bl, tg):
    """Direct transcription of Trends.Earth's state for one pixel (numpy percentiles)."""
    bl = bl[np.isfinite(bl)]
    lo, hi = bl.min(), bl.max()
    ext = np.concatenate([bl, [lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)]])
    breaks = np.percentile(ext, np.arange(10, 100, 10))
    bm, tm = bl.mean(), np.nanmean(tg)
    bc = 1 + int(np.sum(bm > breaks))
    tc = 1 + int(np.sum(tm > breaks))
    change = 0 if abs(bm - tm) <= 0.01 else tc - bc
    return change


def test_productivity_state__percentile_matches_transcription_of_trends_earth(ndvi):
    out = productivity_state(ndvi)
    v = ndvi.values.astype(np.float64)
    checked = 0
    for iy in range(2, ndvi.sizes["y"]):
        for ix in range(ndvi.sizes["x"]):
            change = _te_state_reference(v[:13, iy, ix], v[13:, iy, ix])
            assert int(out.class_change[iy, ix]) == change, (iy, ix)
            checked += 1
    assert checked == 18 * 30
    np.testing.assert_array_equal(
        out.state.values[2:], recode_state_class_change(out.class_change.values[2:])
    )
    assert (out.state.values[0, :3] == NODATA).all()
    assert out.state.attrs["baseline"] == "2001-2013" and out.state.attrs["recent"] == "2014-2016"
    assert set(np.unique(out.state.values[2:])) == {-1, 0, 1}


def test_productivity_state__planted_drop_is_degrading_and_small_drop_is_stable():
    rng = np.random.default_rng(8)
    v = 0.5 + 0.02 * rng.standard_normal((16, 5, 40))
    v[:, :, 20:] = 0.5 + 0.002 * rng.standard_normal((16, 5, 20))
    v[13:, :, :20] -= 0.1  # clear drop
    v[13:, :, 20:] -= 0.005  # many deciles down, but |mean difference| <= 0.01 NDVI
    out = productivity_state(cube(v))
    assert (out.state.values[:, :20] == -1).mean() >= 0.95
    assert (out.class_change.values[:, 20:] == 0).all() and (out.state.values[:, 20:] == 0).all()
    loose = productivity_state(cube(v), min_mean_difference=0.0)
    assert (loose.state.values[:, 20:] == -1).mean() >= 0.9


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_productivity_state__zscore_formula_with_population_sd(ndvi):
    out = productivity_state(ndvi, method="zscore", baseline=(2001, 2012), recent=(2014, 2016))
    v = ndvi.values.astype(np.float64)
    bl, tg = v[:12], v[13:]
    ntg = np.isfinite(tg).sum(0)
    z = (np.nanmean(tg, 0) - np.nanmean(bl, 0)) / (np.nanstd(bl, 0, ddof=0) / np.sqrt(ntg))
    np.testing.assert_allclose(out.z.values[2:], z[2:], rtol=1e-5)
    np.testing.assert_array_equal(
        out.state.values[2:], np.where(z[2:] >= 1.96, 1, np.where(z[2:] <= -1.96, -1, 0))
    )


def test_productivity_state__rejects_bad_windows(ndvi):
    with pytest.raises(InputError, match=r"baseline=\(2001, 2015\) overlaps recent=\(2014, 2016\)"):
        productivity_state(ndvi, baseline=(2001, 2015), recent=(2014, 2016))
    with pytest.raises(
        InputError, match=r"recent=\(2020, 2022\) has no years in ndvi \(2001-2016\)"
    ):
        productivity_state(ndvi, recent=(2020, 2022))
    with pytest.raises(InsufficientDataError, match="the baseline window has 2 years"):
        productivity_state(ndvi, baseline=(2001, 2002))
    with pytest.raises(InsufficientDataError, match="ndvi has 5 years"):
        productivity_state(ndvi.isel(time=slice(0, 5)))


# ----------------------------------------------------------------------------- performance


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_productivity_performance__unit_percentile_and_ratio(ndvi, units):
    out = productivity_performance(ndvi, units)
    mean = np.nanmean(ndvi.values.astype(np.float64), axis=0).astype(np.float32)
    u = units.values
    for code in range(4):
        sel = (u == code) & np.isfinite(mean)
        p90 = np.percentile(mean[sel].astype(np.float64), 90)
        np.testing.assert_allclose(out.unit_p90.values[sel], p90, rtol=1e-6)
    np.testing.assert_allclose(out["mean"].values, mean, rtol=1e-6, equal_nan=True)
    ratio = out.ratio.values
    perf = out.performance.values
    fin = np.isfinite(ratio)
    np.testing.assert_array_equal(perf[fin] == -1, ratio[fin] <= 0.5)
    assert (perf[~fin] == NODATA).all()
    assert (perf[2, :2] == NODATA).all()  # unit NODATA
    assert (perf[0, :3] == NODATA).all()  # no valid NDVI
    assert set(np.unique(perf)) <= {-1, 0, NODATA} and (perf == -1).any() and (perf == 0).any()


def test_productivity_performance__ratio_exactly_half_is_degraded():
    v = np.zeros((3, 1, 11), np.float64)
    v[:] = np.array([0.25] + [0.5] * 10)[None, None, :]  # unit p90 = 0.5, first pixel ratio 0.5
    units = xr.DataArray(np.zeros((1, 11), int), dims=("y", "x"))
    ndvi = cube(v)
    out = productivity_performance(ndvi, units.assign_coords(y=ndvi.y, x=ndvi.x))
    assert float(out.ratio[0, 0]) == 0.5 and int(out.performance[0, 0]) == -1
    assert (out.performance.values[0, 1:] == 0).all()


def test_productivity_performance__rejects_units_on_another_grid(ndvi, units):
    with pytest.raises(InputError, match="units coordinates along 'x' differ from those of ndvi"):
        productivity_performance(ndvi, units.assign_coords(x=units.x + 10))
    with pytest.raises(InputError, match="units has 5 cells along 'y' but ndvi has 20"):
        productivity_performance(ndvi, units.isel(y=slice(0, 5)))


# ----------------------------------------------------------------------------- combination


def _codes(vals):
    return xr.DataArray(np.array(vals, np.int16), dims=("x",))


def test_land_productivity_dynamics__gpg_tables_differ_from_trends_earth_in_documented_cells():
    combos = [(t, s, p) for t in (-1, 0, 1) for s in (-1, 0, 1) for p in (-1, 0)]
    t, s, p = (_codes([c[i] for c in combos]) for i in range(3))
    te = land_productivity_dynamics(t, s, p).lpd3.values
    v2 = land_productivity_dynamics(t, s, p, table="gpg_v2").lpd3.values
    v1 = land_productivity_dynamics(t, s, p, table="gpg_v1").lpd3.values
    diff_v2 = {combos[i] for i in np.flatnonzero(te != v2)}
    diff_v1 = {combos[i] for i in np.flatnonzero(v1 != v2)}
    assert diff_v2 == {(-1, 0, 0), (0, -1, 0), (0, 0, -1)}  # unccd_methods.md §1.4.2
    assert diff_v1 == {(-1, 0, 0), (0, 0, -1)}


def test_land_productivity_dynamics__nodata_and_nan_propagate():
    out = land_productivity_dynamics(
        _codes([1, NODATA, 0]), _codes([0, 0, 0]), xr.DataArray([np.nan, 0.0, 0.0], dims=("x",))
    )
    np.testing.assert_array_equal(out.lpd5.values, [NODATA, NODATA, 4])
    assert out.lpd5.attrs["nodata"] == NODATA and out.lpd5.attrs["flag_values"] == [1, 2, 3, 4, 5]


def test_land_productivity_dynamics__rejects_bad_codes():
    with pytest.raises(InputError, match=r"state has codes \[2, 7\]; expected -1 \(degrading\)"):
        land_productivity_dynamics(_codes([0, 0, 0]), _codes([2, 7, 0]), _codes([0, 0, 0]))
    with pytest.raises(InputError, match="not in the 'gpg_v2' look-up table"):
        land_productivity_dynamics(_codes([0]), _codes([0]), _codes([1]), table="gpg_v2")
    with pytest.raises(InputError, match="table='jrc' is not supported"):
        land_productivity_dynamics(_codes([0]), _codes([0]), _codes([0]), table="jrc")


def test_recode_lpd__jrc_codes():
    out = recode_lpd(_codes([0, 1, 2, 3, 4, 5, 15]))
    np.testing.assert_array_equal(out.lpd5.values, [NODATA, 1, 2, 3, 4, 5, NODATA])
    np.testing.assert_array_equal(out.lpd3.values, [NODATA, -1, -1, 0, 0, 1, NODATA])
    with pytest.raises(InputError, match=r"lpd \(jrc\) has codes \[6, 9\]"):
        recode_lpd(_codes([1, 6, 9]))
    with pytest.raises(InputError, match=r"lpd5 has codes \[0\]"):
        lpd5_to_lpd3(_codes([0, 1]))
