"""The one-pass multi-period kernel gives the per-period functions' classes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from landwatch.errors import InputError, InsufficientDataError, UnitsError
from landwatch.indices.land import productivity as prod
from landwatch.indices.land import trend
from landwatch.indices.land.productivity_periods import ProductivityWindow, productivity_periods

YEARS = np.arange(2000, 2024)


def _ndvi(seed: int, ny: int = 40, nx: int = 50, quantum: float | None = None) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    trend_ = rng.normal(0, 0.004, (ny, nx))
    x = 0.5 + trend_ * (YEARS - 2000)[:, None, None] + rng.normal(0, 0.02, (24, ny, nx))
    if quantum:  # ties, as in NDVI stored as integers x 10000 or coarsely rounded
        x = np.round(x / quantum) * quantum
    x[rng.random(x.shape) < 0.08] = np.nan  # missing years
    x[:, :2, :3] = np.nan  # all-missing pixels
    x[3:, 5, 5] = np.nan  # too few years
    return xr.DataArray(
        x.astype(np.float32),
        dims=("time", "y", "x"),
        coords={"time": YEARS, "y": np.arange(ny), "x": np.arange(nx)},
    )


WINDOWS = {
    "baseline": ProductivityWindow((2000, 2015)),
    "report_1": ProductivityWindow((2004, 2019)),
    "report_2": ProductivityWindow(
        (2008, 2023),
        state_baseline=(2008, 2018),
        state_recent=(2020, 2023),
        performance=(2012, 2023),
    ),
}


def _separate(
    ndvi: xr.DataArray, win: ProductivityWindow, **kw: object
) -> tuple[xr.Dataset, xr.Dataset, xr.DataArray]:
    w = ndvi.sel(time=slice(*win.trajectory))
    traj = prod.productivity_trajectory(
        w,
        significance=kw.get("significance", 0.05),  # type: ignore[arg-type]
        alternative=kw.get("alternative", "two-sided"),  # type: ignore[arg-type]
        mk_method=kw.get("mk_method", "auto"),  # type: ignore[arg-type]
        min_years=kw.get("min_years", 10),  # type: ignore[arg-type]
        min_slope=kw.get("min_slope", 0.0),  # type: ignore[arg-type]
        sens_slope=False,
    )
    state = prod.productivity_state(
        w,
        baseline=win.state_baseline,
        recent=win.state_recent,
        method=kw.get("state_method", "percentile"),  # type: ignore[arg-type]
    )
    perf_years = win.performance or win.trajectory
    mean = ndvi.sel(time=slice(*perf_years)).mean("time", skipna=True)
    return traj, state, mean


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"min_slope": 0.001, "significance": 0.1},
        {"alternative": "greater", "mk_method": "exact"},
        {"alternative": "less", "mk_method": "normal", "min_years": 12},
        {"state_method": "zscore"},
    ],
)
@pytest.mark.parametrize("quantum", [None, 0.01])
def test_productivity_periods__same_classes_as_per_period_functions(
    kw: dict[str, object], quantum: float | None
) -> None:
    ndvi = _ndvi(1, quantum=quantum)
    ds = productivity_periods(ndvi, WINDOWS, diagnostics=True, **kw)  # type: ignore[arg-type]
    assert ds["trajectory"].dims == ("period", "y", "x")
    for name, win in WINDOWS.items():
        traj, state, mean = _separate(ndvi, win, **kw)
        one = ds.sel(period=name)
        np.testing.assert_array_equal(one["trajectory"].values, traj["trajectory"].values)
        np.testing.assert_array_equal(one["slope"].values, traj["slope"].values)
        np.testing.assert_allclose(one["p"].values, traj["p"].values, rtol=1e-6, equal_nan=True)
        np.testing.assert_array_equal(one["state"].values, state["state"].values)
        np.testing.assert_allclose(
            one["performance_mean"].values, mean.values, rtol=1e-6, equal_nan=True
        )
    # the data exercise every class and NODATA, so equality above means something
    classes = set(np.unique(ds["trajectory"].values)) | set(np.unique(ds["state"].values))
    assert {-1, 0, 1, -32768} <= classes


def test_productivity_periods__dask_equals_numpy() -> None:
    ndvi = _ndvi(2)
    a = productivity_periods(ndvi, WINDOWS, diagnostics=True)
    b = productivity_periods(ndvi.chunk({"time": 5, "y": 17, "x": 23}), WINDOWS, diagnostics=True)
    assert b["trajectory"].chunks is not None
    xr.testing.assert_identical(a, b.compute())


def test_productivity_periods__performance_from_mean_equals_productivity_performance() -> None:
    ndvi = _ndvi(3)
    units = xr.DataArray(
        np.arange(40 * 50).reshape(40, 50) % 4, dims=("y", "x"), coords={"y": ndvi.y, "x": ndvi.x}
    )
    ds = productivity_periods(ndvi, WINDOWS)
    for name, win in WINDOWS.items():
        years = win.performance or win.trajectory
        ref = prod.productivity_performance(ndvi.sel(time=slice(*years)), units)
        one = ds.sel(period=name, drop=True)
        got = prod.performance_from_mean(
            one["performance_mean"],
            one["performance_n"],
            units,
            percentile=90,
            threshold=0.5,
            period="x",
        )
        np.testing.assert_array_equal(got["performance"].values, ref["performance"].values)
        np.testing.assert_array_equal(got["ratio"].values, ref["ratio"].values)


def test_productivity_periods__p_matches_mann_kendall_near_the_exact_limit() -> None:
    # n = 30 is the last exact n in "auto"; 31 switches to the normal approximation
    rng = np.random.default_rng(5)
    years = np.arange(1990, 2021)
    x = (0.4 + 0.002 * (years - 1990)[:, None] + rng.normal(0, 0.02, (31, 200))).astype(np.float32)
    da = xr.DataArray(x, dims=("time", "x"), coords={"time": years})
    for last in (2019, 2020):  # 30 and 31 years
        ds = productivity_periods(
            da, {"w": ProductivityWindow((1990, last))}, diagnostics=True, min_years=10
        )
        ref = trend.mann_kendall(x[: last - 1989].T.astype(np.float64))
        np.testing.assert_allclose(ds["p"].sel(period="w").values, ref.p, rtol=1e-6)


def test_productivity_periods__scaled_ndvi_is_a_units_error() -> None:
    ndvi = _ndvi(4) * 10000
    with pytest.raises(UnitsError, match="scaled by 10,000"):
        productivity_periods(ndvi, WINDOWS)


def test_productivity_periods__window_errors_name_the_period() -> None:
    ndvi = _ndvi(4)
    with pytest.raises(InputError, match="report trajectory=.*no years in ndvi"):
        productivity_periods(ndvi, {"report": ProductivityWindow((2030, 2040))})
    with pytest.raises(InsufficientDataError, match="needs at least 10"):
        productivity_periods(ndvi, {"short": ProductivityWindow((2015, 2020))})
    with pytest.raises(InputError, match="overlaps recent"):
        productivity_periods(
            ndvi,
            {
                "w": ProductivityWindow(
                    (2000, 2015), state_baseline=(2000, 2014), state_recent=(2013, 2015)
                )
            },
        )
    with pytest.raises(InputError, match="windows is empty"):
        productivity_periods(ndvi, {})
