"""Unit tests for landwatch.indices.drought.events (run theory drought events)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from landwatch.errors import CRSMismatchError, InputError
from landwatch.indices.drought.events import (
    drought_area_fraction,
    drought_event_catalog,
    drought_runs,
    event_ids_core,
    regional_drought_events,
)
from landwatch.indices.land.area import pixel_area_km2

# months 0..7; with threshold -1: events at months 1-2 and 5-6
SERIES = [0.0, -1.5, -2.0, -0.5, 0.3, -1.2, -1.1, 0.5]


def _series(values, start="2000-01", name="spi"):
    v = np.asarray(values, dtype=np.float64)
    return xr.DataArray(
        v,
        dims=("time",),
        coords={"time": pd.date_range(start, periods=v.size, freq="MS")},
        name=name,
        attrs={"units": "1"},
    )


def _cube(nt=120, ny=5, nx=4, seed=0, nan_fraction=0.05):
    rng = np.random.default_rng(seed)
    # AR(1) so that runs of several months occur
    e = rng.standard_normal((nt, ny, nx))
    v = np.empty_like(e)
    v[0] = e[0]
    for t in range(1, nt):
        v[t] = 0.7 * v[t - 1] + np.sqrt(1 - 0.49) * e[t]
    v[rng.random(v.shape) < nan_fraction] = np.nan
    v[:, 0, 0] = np.nan  # an all-missing pixel (e.g. sea)
    return xr.DataArray(
        v,
        dims=("time", "y", "x"),
        coords={
            "time": pd.date_range("1990-01", periods=nt, freq="MS"),
            "y": 10.0 - 0.5 * np.arange(ny),
            "x": 30.0 + 0.5 * np.arange(nx),
        },
        attrs={"units": "1"},
    )


def _reference_ids(x, threshold, end_threshold, min_duration, pooling_gap):
    """Plain-python run theory, written independently of the numba core."""
    x = list(x)
    n = len(x)
    runs = []
    t = 0
    while t < n:
        if not np.isnan(x[t]) and x[t] < threshold:
            s = t
            while t + 1 < n and not np.isnan(x[t + 1]) and x[t + 1] < end_threshold:
                t += 1
            runs.append([s, t])
        t += 1
    pooled: list[list[int]] = []
    for s, e in runs:
        if pooled:
            gap = range(pooled[-1][1] + 1, s)
            if len(gap) <= pooling_gap and not any(np.isnan(x[k]) for k in gap):
                pooled[-1][1] = e
                continue
        pooled.append([s, e])
    ids = np.zeros(n, dtype=np.int32)
    k = 0
    for s, e in pooled:
        if e - s + 1 >= min_duration:
            k += 1
            ids[s : e + 1] = k
    return ids


# ----------------------------------------------------------------------------- drought_runs


def test_drought_runs__known_series():
    ds = drought_runs(_series(SERIES))
    np.testing.assert_array_equal(ds.in_drought.values, [0, 1, 1, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(ds.event_id.values, [0, 1, 1, 0, 0, 2, 2, 0])
    assert ds.in_drought.dtype == np.int8
    assert ds.event_id.dtype == np.int32
    assert int(ds.n_events) == 2
    assert int(ds.total_duration) == 4
    assert int(ds.max_duration) == 2
    # event 1: (-1 - -1.5) + (-1 - -2) = 0.5 + 1.0
    assert float(ds.max_severity) == pytest.approx(1.5)
    assert ds.attrs["threshold"] == -1.0 and ds.attrs["end_threshold"] == -1.0


def test_drought_runs__threshold_is_strict():
    ds = drought_runs(_series([0.0, -1.0, -1.0, -1.0001, 0.0]))
    np.testing.assert_array_equal(ds.event_id.values, [0, 0, 0, 1, 0])


def test_drought_runs__end_threshold_extends_event_without_adding_deficit():
    ds = drought_runs(_series(SERIES), end_threshold=0.0)
    # month 3 (-0.5) is below 0, so event 1 runs through it; month 4 (0.3) ends it
    np.testing.assert_array_equal(ds.event_id.values, [0, 1, 1, 1, 0, 2, 2, 0])
    assert int(ds.total_duration) == 5
    assert int(ds.max_duration) == 3
    assert float(ds.max_severity) == pytest.approx(1.5)  # month 3 adds max(-1 + 0.5, 0) = 0


def test_drought_runs__end_threshold_does_not_start_events():
    # -0.5 is below end_threshold 0 but above threshold -1: no onset
    ds = drought_runs(_series([-0.5, -0.5, 0.2, -1.5, -0.5, 0.1]), end_threshold=0.0)
    np.testing.assert_array_equal(ds.event_id.values, [0, 0, 0, 1, 1, 0])


def test_drought_runs__pooling_gap_merges_events():
    # gap between the events: months 3 and 4 (2 months)
    one = drought_runs(_series(SERIES), pooling_gap=1)
    np.testing.assert_array_equal(one.event_id.values, [0, 1, 1, 0, 0, 2, 2, 0])
    two = drought_runs(_series(SERIES), pooling_gap=2)
    np.testing.assert_array_equal(two.event_id.values, [0, 1, 1, 1, 1, 1, 1, 0])
    assert int(two.n_events) == 1
    assert int(two.total_duration) == 6
    # pooled severity = sum of the parts' deficits (gap months add 0)
    assert float(two.max_severity) == pytest.approx(1.5 + 0.3)


def test_drought_runs__min_duration_drops_short_events():
    x = _series([-1.5, 0.0, -1.2, -1.3, -1.4, 0.0, -2.0, 0.0])
    np.testing.assert_array_equal(drought_runs(x).event_id.values, [1, 0, 2, 2, 2, 0, 3, 0])
    ds = drought_runs(x, min_duration=2)
    np.testing.assert_array_equal(ds.event_id.values, [0, 0, 1, 1, 1, 0, 0, 0])
    assert int(ds.n_events) == 1
    # the dropped 1-month event at month 6 (deficit 1.0) does not count
    assert float(ds.max_severity) == pytest.approx(0.2 + 0.3 + 0.4)


def test_drought_runs__min_duration_applies_after_pooling():
    x = _series([-1.5, 0.0, -1.5, 0.0, 0.0])
    assert int(drought_runs(x, min_duration=2).n_events) == 0
    ds = drought_runs(x, min_duration=2, pooling_gap=1)
    np.testing.assert_array_equal(ds.event_id.values, [1, 1, 1, 0, 0])


def test_drought_runs__nan_ends_event_and_is_not_pooled_over():
    x = _series([-1.5, -2.0, np.nan, -1.5, 0.0, -1.5])
    ds = drought_runs(x)
    np.testing.assert_array_equal(ds.event_id.values, [1, 1, 0, 2, 0, 3])
    np.testing.assert_array_equal(ds.in_drought.values, [1, 1, 0, 1, 0, 1])
    pooled = drought_runs(x, pooling_gap=1)
    # the gap at month 4 is valid -> pooled; the gap at month 2 is missing -> not pooled
    np.testing.assert_array_equal(pooled.event_id.values, [1, 1, 0, 2, 2, 2])
    # NaN also ends an event that end_threshold would continue
    ext = drought_runs(_series([-1.5, np.nan, -0.5, 0.0]), end_threshold=0.0)
    np.testing.assert_array_equal(ext.event_id.values, [1, 0, 0, 0])


def test_drought_runs__all_missing_and_no_drought_series():
    x = xr.concat(
        [_series([np.nan] * 6), _series([0.5, 0.2, -0.9, 0.0, 1.0, 0.3])],
        dim=pd.Index(["sea", "wet"], name="station"),
    ).transpose("time", "station")
    ds = drought_runs(x)
    np.testing.assert_array_equal(ds.n_events.values, [0, 0])
    np.testing.assert_array_equal(ds.total_duration.values, [0, 0])
    assert np.isnan(ds.max_severity.sel(station="sea"))
    assert float(ds.max_severity.sel(station="wet")) == 0.0
    assert not ds.in_drought.values.any()


def test_drought_runs__keeps_dims_order_and_coords():
    cube = _cube(nt=36).transpose("y", "time", "x")
    ds = drought_runs(cube)
    assert ds.event_id.dims == ("y", "time", "x")
    assert ds.n_events.dims == ("y", "x")
    xr.testing.assert_equal(ds.event_id["time"], cube["time"])
    np.testing.assert_array_equal(ds.x.values, cube.x.values)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"end_threshold": 0.0, "pooling_gap": 2, "min_duration": 2}, {"threshold": -0.5}],
)
def test_drought_runs__numpy_and_dask_equal(kwargs):
    cube = _cube()
    eager = drought_runs(cube, **kwargs)
    lazy = drought_runs(cube.chunk({"time": 50, "y": 2, "x": 3}), **kwargs)
    assert lazy.event_id.chunks is not None and lazy.n_events.chunks is not None
    computed = lazy.compute()
    for name in eager.data_vars:
        assert computed[name].dtype == eager[name].dtype, name
        np.testing.assert_array_equal(computed[name].values, eager[name].values, err_msg=name)
    assert int(eager.n_events.sum()) > 20  # the cube really has events


def test_drought_runs__summaries_consistent_with_monthly_labels():
    ds = drought_runs(_cube(), pooling_gap=1)
    np.testing.assert_array_equal(ds.in_drought.sum("time").values, ds.total_duration.values)
    np.testing.assert_array_equal(ds.event_id.max("time").values, ds.n_events.values)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(-3, 3, allow_nan=False, allow_infinity=False),
            st.just(float("nan")),
        ),
        min_size=1,
        max_size=40,
    ),
    threshold=st.sampled_from([-1.5, -1.0, -0.5, 0.0]),
    lift=st.sampled_from([0.0, 0.5, 1.0]),
    min_duration=st.integers(1, 4),
    pooling_gap=st.integers(0, 3),
)
def test_event_ids_core__matches_plain_python_reference(
    values, threshold, lift, min_duration, pooling_gap
):
    x = np.asarray(values)
    got = event_ids_core(
        x,
        threshold=threshold,
        end_threshold=threshold + lift,
        min_duration=min_duration,
        pooling_gap=pooling_gap,
    )
    want = _reference_ids(x, threshold, threshold + lift, min_duration, pooling_gap)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"end_threshold": -2.0}, "end_threshold is -2.0, below threshold -1.0"),
        ({"min_duration": 0}, "min_duration is 0; expected an integer"),
        ({"min_duration": 1.5}, "min_duration is 1.5"),
        ({"pooling_gap": -1}, "pooling_gap is -1; expected an integer number of months >= 0"),
        ({"threshold": float("nan")}, "threshold is nan; expected a finite number"),
        ({"end_threshold": float("inf")}, "end_threshold is inf"),
    ],
)
def test_drought_runs__bad_parameters(kwargs, match):
    with pytest.raises(InputError, match=match):
        drought_runs(_series(SERIES), **kwargs)


def test_drought_runs__bad_inputs():
    with pytest.raises(InputError, match="index is a ndarray; expected an xarray.DataArray"):
        drought_runs(np.asarray(SERIES))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="expected a 'time' dimension"):
        drought_runs(xr.DataArray(SERIES, dims=("t",)))
    with pytest.raises(InputError, match="without coordinates"):
        drought_runs(xr.DataArray(SERIES, dims=("time",)))
    gappy = _series(SERIES).assign_coords(
        time=pd.to_datetime([f"2000-{m:02d}-01" for m in (1, 2, 3, 5, 6, 7, 8, 9)])
    )
    with pytest.raises(InputError, match="step 2 goes from 2000-03 to 2000-05"):
        drought_runs(gappy)


# ----------------------------------------------------------------------------- catalog


def test_drought_event_catalog__known_series():
    cat = drought_event_catalog(_series(SERIES))
    assert list(cat.columns) == [
        "event",
        "onset",
        "end",
        "duration",
        "severity",
        "intensity",
        "peak",
        "peak_time",
        "ongoing",
    ]
    assert cat["event"].tolist() == [1, 2]
    assert cat["onset"].tolist() == ["2000-02-01", "2000-06-01"]
    assert cat["end"].tolist() == ["2000-03-01", "2000-07-01"]
    assert cat["duration"].tolist() == [2, 2]
    np.testing.assert_allclose(cat["severity"], [1.5, 0.3])
    np.testing.assert_allclose(cat["intensity"], [0.75, 0.15])
    assert cat["peak"].tolist() == [-2.0, -1.2]
    assert cat["peak_time"].tolist() == ["2000-03-01", "2000-06-01"]
    assert cat["ongoing"].tolist() == [False, False]


def test_drought_event_catalog__end_threshold_and_pooling():
    ext = drought_event_catalog(_series(SERIES), end_threshold=0.0)
    assert ext["end"].tolist() == ["2000-04-01", "2000-07-01"]
    assert ext["duration"].tolist() == [3, 2]
    np.testing.assert_allclose(ext["severity"], [1.5, 0.3])
    np.testing.assert_allclose(ext["intensity"], [0.5, 0.15])
    pooled = drought_event_catalog(_series(SERIES), pooling_gap=2)
    assert len(pooled) == 1
    row = pooled.iloc[0]
    assert (row.onset, row.end, row.duration) == ("2000-02-01", "2000-07-01", 6)
    assert row.severity == pytest.approx(1.8)
    assert row.peak == -2.0


def test_drought_event_catalog__ongoing_event_at_end_of_record():
    cat = drought_event_catalog(_series([-1.2, 0.0, -1.5, -1.8], start="2020-11"))
    assert cat["onset"].tolist() == ["2020-11-01", "2021-01-01"]
    assert cat["ongoing"].tolist() == [False, True]
    assert cat["peak_time"].tolist() == ["2020-11-01", "2021-02-01"]


def test_drought_event_catalog__peak_time_is_first_minimum():
    cat = drought_event_catalog(_series([0.0, -1.5, -2.0, -2.0, -1.1, 0.0]))
    assert cat["peak_time"].tolist() == ["2000-03-01"]
    assert cat["peak"].tolist() == [-2.0]


def test_drought_event_catalog__station_coordinates_and_no_events():
    wet = _series([0.1] * 8)
    x = xr.concat([_series(SERIES), wet], dim=pd.Index(["A", "B"], name="station"))
    cat = drought_event_catalog(x)
    assert list(cat.columns[:2]) == ["station", "event"]
    assert cat["station"].tolist() == ["A", "A"]
    empty = drought_event_catalog(wet)
    assert empty.empty
    assert "severity" in empty.columns


def test_drought_event_catalog__positions_when_dims_have_no_coords():
    v = np.stack([np.zeros(8), np.asarray(SERIES)])  # (cell, time)
    x = xr.DataArray(
        v, dims=("cell", "time"), coords={"time": pd.date_range("2000-01", periods=8, freq="MS")}
    )
    cat = drought_event_catalog(x)
    assert cat["cell"].tolist() == [1, 1]


def test_drought_event_catalog__rows_match_maps():
    cube = _cube()
    kwargs = {"end_threshold": -0.5, "pooling_gap": 1, "min_duration": 2}
    maps = drought_runs(cube, **kwargs)
    cat = drought_event_catalog(cube.chunk({"y": 2}), **kwargs)
    assert len(cat) == int(maps.n_events.sum()) > 0
    g = cat.groupby(["y", "x"])
    counts = g.size().to_xarray().reindex_like(maps.n_events).fillna(0)
    np.testing.assert_array_equal(counts.values, maps.n_events.values)
    total = g["duration"].sum().to_xarray().reindex_like(maps.n_events).fillna(0)
    np.testing.assert_array_equal(total.values, maps.total_duration.values)
    longest = g["duration"].max().to_xarray().reindex_like(maps.n_events).fillna(0)
    np.testing.assert_array_equal(longest.values, maps.max_duration.values)
    sev = g["severity"].max().to_xarray().reindex_like(maps.n_events)
    has = maps.n_events.values > 0
    np.testing.assert_allclose(sev.values[has], maps.max_severity.values[has], rtol=1e-12)
    assert (cat["severity"] >= 0).all() and (cat["peak"] < -1.0).all()
    assert (cat["duration"] >= 2).all()


# ----------------------------------------------------------------------------- area fraction


def _grid(values):
    v = np.asarray(values, dtype=np.float64)  # (time, 2, 2)
    return xr.DataArray(
        v,
        dims=("time", "y", "x"),
        coords={
            "time": pd.date_range("2001-01", periods=v.shape[0], freq="MS"),
            "y": [1.0, 0.0],
            "x": [0.0, 1.0],
        },
    )


def test_drought_area_fraction__equal_and_area_weights():
    idx = _grid(
        [
            [[-2.0, 0.0], [0.0, 0.0]],
            [[-2.0, -2.0], [0.0, np.nan]],
            [[np.nan, np.nan], [np.nan, np.nan]],
        ]
    )
    eq = drought_area_fraction(idx)
    np.testing.assert_allclose(eq.values, [0.25, 2 / 3, np.nan])
    area = xr.DataArray([3.0, 1.0], dims=("y",), coords={"y": [1.0, 0.0]}, attrs={"units": "km2"})
    w = drought_area_fraction(idx, area=area)
    # t0: 3 / (3+3+1+1); t1: (3+3) / (3+3+1), the missing cell drops out of the denominator
    np.testing.assert_allclose(w.values, [3 / 8, 6 / 7, np.nan])
    assert w.dims == ("time",) and w.attrs["units"] == "1"


def test_drought_area_fraction__mask_and_threshold():
    idx = _grid([[[-2.0, -0.7], [0.0, -3.0]]])
    mask = xr.DataArray(
        [[True, True], [True, False]], dims=("y", "x"), coords={"y": idx.y, "x": idx.x}
    )
    np.testing.assert_allclose(drought_area_fraction(idx, mask=mask).values, [1 / 3])
    np.testing.assert_allclose(drought_area_fraction(idx, threshold=-0.5).values, [3 / 4])


def test_drought_area_fraction__pixel_area_weights_numpy_and_dask():
    cube = _cube(ny=6, nx=4)
    area = pixel_area_km2(cube.y, 0.5, 0.5, "EPSG:4326")
    eager = drought_area_fraction(cube, area=area)
    lazy = drought_area_fraction(cube.chunk({"time": 40, "y": 3}), area=area)
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.compute().values, eager.values, rtol=1e-12)
    # cross-check with an explicit weighted mean
    valid = cube.notnull()
    w = area.broadcast_like(cube).where(valid)
    want = (w * (cube < -1.0)).sum(("y", "x")) / w.sum(("y", "x"))
    np.testing.assert_allclose(eager.values, want.values, rtol=1e-12)
    # rows differ in area, so equal weights give a different answer
    assert not np.allclose(drought_area_fraction(cube).values, eager.values)


def test_drought_area_fraction__bad_weights():
    idx = _grid([[[-2.0, 0.0], [0.0, 0.0]]])
    shifted = xr.DataArray([1.0, 1.0], dims=("y",), coords={"y": [1.5, 0.5]})
    with pytest.raises(CRSMismatchError, match="area coordinates differ from the index grid"):
        drought_area_fraction(idx, area=shifted)
    negative = xr.DataArray([1.0, -1.0], dims=("y",), coords={"y": idx.y})
    with pytest.raises(InputError, match="expected finite weights >= 0"):
        drought_area_fraction(idx, area=negative)
    timed = xr.DataArray(np.ones(1), dims=("time",), coords={"time": idx.time})
    with pytest.raises(InputError, match="got extra \\('time',\\)"):
        drought_area_fraction(idx, area=timed)
    intmask = xr.DataArray([[1, 0], [1, 1]], dims=("y", "x"), coords={"y": idx.y, "x": idx.x})
    with pytest.raises(InputError, match="mask has dtype int64; expected bool"):
        drought_area_fraction(idx, mask=intmask)


# ----------------------------------------------------------------------------- regional events


def test_regional_drought_events__planted_sequence():
    # planted: a 1-month spike (dropped), a 3-month event, a NaN-split spell, an ongoing event
    f = _series(
        [0.1, 0.5, 0.1, 0.25, 0.6, 0.2, 0.1, 0.3, 0.3, np.nan, 0.4, 0.0, 0.2, 0.35],
        start="2010-01",
        name="drought_area_fraction",
    )
    ev = regional_drought_events(f, min_area_fraction=0.2, min_duration=2)
    assert ev["onset"].tolist() == ["2010-04-01", "2010-08-01", "2011-01-01"]
    assert ev["end"].tolist() == ["2010-06-01", "2010-09-01", "2011-02-01"]
    assert ev["duration"].tolist() == [3, 2, 2]
    np.testing.assert_allclose(ev["mean_area_fraction"], [0.35, 0.3, 0.275])
    np.testing.assert_allclose(ev["peak_area_fraction"], [0.6, 0.3, 0.35])
    assert ev["peak_time"].tolist() == ["2010-05-01", "2010-08-01", "2011-02-01"]
    assert ev["ongoing"].tolist() == [False, False, True]
    assert ev["event"].tolist() == [1, 2, 3]
    # a higher level keeps only the strong event, and min_duration=1 keeps the spike
    strong = regional_drought_events(f, min_area_fraction=0.5, min_duration=1)
    assert strong["onset"].tolist() == ["2010-02-01", "2010-05-01"]


def test_regional_drought_events__from_area_fraction_end_to_end():
    nt = 24
    v = np.full((nt, 2, 2), 0.5)
    v[5:9, 0, :] = -2.0  # half the grid dry for 4 months
    v[15, :, :] = -2.0  # whole grid dry for 1 month
    frac = drought_area_fraction(_grid(v))
    ev = regional_drought_events(frac, min_area_fraction=0.5, min_duration=2)
    assert len(ev) == 1
    assert (ev.onset[0], ev.end[0], ev.duration[0]) == ("2001-06-01", "2001-09-01", 4)
    assert ev.mean_area_fraction[0] == pytest.approx(0.5)
    assert regional_drought_events(frac, min_area_fraction=0.6).empty


def test_regional_drought_events__bad_inputs():
    f = _series([0.1, 0.5])
    with pytest.raises(InputError, match="min_area_fraction is 0; expected a number in \\(0, 1\\]"):
        regional_drought_events(f, min_area_fraction=0)
    with pytest.raises(InputError, match="min_duration is 0"):
        regional_drought_events(f, min_duration=0)
    with pytest.raises(InputError, match="fraction has dims \\('time', 'y', 'x'\\)"):
        regional_drought_events(_grid([[[0.1, 0.2], [0.3, 0.4]]]))
