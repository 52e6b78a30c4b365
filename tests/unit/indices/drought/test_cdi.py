"""Combined Drought Indicator rules, rule files, and the bucket water balance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.drought.cdi import CdiRules, combined_drought_indicator, load_cdi_rules
from landwatch.indices.drought.water_balance import bucket_soil_moisture, monthly_anomaly
from landwatch.indices.land.codes import NODATA

T = pd.date_range("2000-01-01", periods=24, freq="MS")


def _series(values: dict[range | int, float], n: int = 24) -> np.ndarray:
    out = np.zeros(n)
    for k, v in values.items():
        idx = [k] if isinstance(k, int) else list(k)
        out[idx] = v
    return out


def _da(rows: list[np.ndarray]) -> xr.DataArray:
    return xr.DataArray(np.array(rows, dtype=np.float32), dims=("cell", "time"), coords={"time": T})


def _cascade() -> tuple[xr.DataArray, ...]:
    """Cell 0: the full cascade; 1: one very dry month; 2: no SPI at all; 3: veg without soil."""
    spi3 = _da(
        [
            _series({range(3, 8): -1.5}),
            _series({}),
            np.full(24, np.nan),
            _series({range(3, 8): -1.5}),
        ]
    )
    spi1 = _da([_series({}), _series({6: -2.5}), np.full(24, np.nan), _series({})])
    sma = _da([_series({range(4, 9): -1.5}), _series({}), _series({}), _series({})])
    veg = _da(
        [_series({range(5, 11): -1.5}), _series({}), _series({}), _series({range(5, 11): -1.5})]
    )
    return spi3, spi1, sma, veg


def test_cdi__cascade_watch_warning_alert_partial_recovery_recovery() -> None:
    cdi = combined_drought_indicator(*_cascade())
    assert cdi.dtype == np.int16
    expected0 = [0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 4, 5, 5, 0] + [0] * 10
    np.testing.assert_array_equal(cdi.isel(cell=0).values, expected0)
    # one month of SPI-1 < -2: Watch, then Recovery for recovery_months
    np.testing.assert_array_equal(cdi.isel(cell=1).values[5:10], [0, 1, 5, 5, 0])
    assert (cdi.isel(cell=2) == NODATA).all()
    # vegetation anomaly without any soil-moisture anomaly: never Alert by default
    c3 = cdi.isel(cell=3).values
    assert ALERT_CODE not in c3 and set(c3[3:8]) == {1}
    assert cdi.attrs["flag_meanings"].split()[:4] == ["normal", "watch", "warning", "alert"]


ALERT_CODE = 3


def test_cdi__edo_v1_alert_without_soil_moisture() -> None:
    rules = CdiRules(alert_requires_soil_moisture=False)
    cdi = combined_drought_indicator(*_cascade(), rules=rules)
    np.testing.assert_array_equal(cdi.isel(cell=3).values[3:11], [1, 1, 3, 3, 3, 3, 3, 4])


def test_cdi__land_type_overrides_thresholds() -> None:
    spi3, spi1, sma, veg = _cascade()
    land = xr.DataArray(np.array([3, 2, 3, 3]), dims=("cell",))
    rules = CdiRules(land_types={3: {"vegetation": -2.0}})
    cdi = combined_drought_indicator(spi3, spi1, sma, veg, rules=rules, land_type=land)
    assert ALERT_CODE not in cdi.isel(cell=0).values  # -1.5 is not below -2 on cropland
    assert 2 in cdi.isel(cell=0).values


def test_cdi__without_anomalies_only_watch_and_recovery() -> None:
    spi3, spi1, _, _ = _cascade()
    cdi = combined_drought_indicator(spi3, spi1)
    assert set(np.unique(cdi.isel(cell=0).values)) == {0, 1, 5}


def test_cdi__dask_equals_numpy() -> None:
    rng = np.random.default_rng(3)
    shape = (30, 7, 5)
    times = pd.date_range("2001-01-01", periods=30, freq="MS")

    def grid(scale: float) -> xr.DataArray:
        return xr.DataArray(
            (rng.normal(0, scale, shape)).astype(np.float32),
            dims=("time", "y", "x"),
            coords={"time": times},
        )

    args = [grid(1.2), grid(1.2), grid(1.0), grid(1.0)]
    a = combined_drought_indicator(*args)
    b = combined_drought_indicator(*(x.chunk({"time": 10, "y": 3, "x": 2}) for x in args))
    assert a.dims == ("time", "y", "x")
    xr.testing.assert_identical(a, b.compute())
    assert {0, 1, 2, 3} <= set(np.unique(a.values))


def test_cdi__mismatched_time_axis_is_an_input_error() -> None:
    spi3, spi1, sma, veg = _cascade()
    with pytest.raises(InputError, match="vegetation_anomaly has 12 months"):
        combined_drought_indicator(spi3, spi1, sma, veg.isel(time=slice(0, 12)))


def test_load_cdi_rules__default_and_errors(tmp_path: Path) -> None:
    r = load_cdi_rules()
    assert (r.spi3, r.spi1, r.soil_moisture, r.vegetation) == (-1.0, -2.0, -1.0, -1.0)
    p = tmp_path / "r.yaml"
    p.write_text("thresholds: {spi3: -1.2}\nland_types: {2: {vegetation: -0.8}}\n")
    r = load_cdi_rules(p)
    assert r.spi3 == -1.2 and r.for_land_type(2).vegetation == -0.8 and r.vegetation == -1.0
    for text, match in [
        ("thresholds: {spi9: -1}\n", "thresholds.spi9 is unknown"),
        ("thresholds: {spi3: dry}\n", "expected a number"),
        ("lags: {alert_months: -1}\n", "expected an integer >= 0"),
        ("colour: red\n", "unknown keys"),
        ("land_types: {grass: {vegetation: -1}}\n", "not an integer land type code"),
        ("thresholds: [\n", "not valid YAML"),
    ]:
        p.write_text(text)
        with pytest.raises(InputError, match=match):
            load_cdi_rules(p)
    with pytest.raises(InputError, match="not found"):
        load_cdi_rules(tmp_path / "missing.yaml")


def test_bucket_soil_moisture__thornthwaite_mather_by_hand() -> None:
    p = np.array([50.0, 0.0, 10.0, 200.0])
    e = np.array([20.0, 60.0, 40.0, 50.0])
    t = pd.date_range("2000-01-01", periods=4, freq="MS")
    sm = bucket_soil_moisture(
        xr.DataArray(p, dims="time", coords={"time": t}),
        xr.DataArray(e, dims="time", coords={"time": t}),
        capacity=100.0,
        spinup_years=0,
    ).values
    s1 = min(100, 100 + 30)  # surplus: full
    s2 = s1 * np.exp(-60 / 100)
    s3 = s2 * np.exp(-30 / 100)
    s4 = min(100, s3 + 150)
    np.testing.assert_allclose(sm, [s1, s2, s3, s4], rtol=1e-6)


def test_bucket_soil_moisture__errors() -> None:
    t = pd.date_range("2000-01-01", periods=4, freq="MS")
    p = xr.DataArray([1.0, -5, 3, 4], dims="time", coords={"time": t})
    e = xr.DataArray([1.0, 1, 1, 1], dims="time", coords={"time": t})
    with pytest.raises(InputError, match="negative values"):
        bucket_soil_moisture(p, e)
    with pytest.raises(InputError, match="capacity"):
        bucket_soil_moisture(abs(p), e, capacity=0)


def test_monthly_anomaly__zscore_per_calendar_month() -> None:
    rng = np.random.default_rng(1)
    t = pd.date_range("1981-01-01", periods=12 * 40, freq="MS")
    x = xr.DataArray(rng.gamma(2, 30, t.size), dims="time", coords={"time": t})
    z = monthly_anomaly(x, calibration=(1981, 2010))
    for m in (1, 7):
        ref = x.sel(time=(t.month == m) & (t.year <= 2010)).values
        got = z.sel(time=t.month == m).values
        want = (x.sel(time=t.month == m).values - ref.mean()) / ref.std(ddof=1)
        np.testing.assert_allclose(got, want, rtol=1e-5)
