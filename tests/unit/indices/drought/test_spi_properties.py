"""Property tests of SPI (Hypothesis): standard normal on long gamma samples, cells are
independent, and any dask chunking gives the same numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from landwatch.indices.drought import standardized_precipitation_index


def _grid(values: np.ndarray) -> xr.DataArray:
    n = values.shape[0]
    return xr.DataArray(
        values,
        dims=("time", "y", "x"),
        coords={"time": pd.date_range("1961-01-01", periods=n, freq="MS")},
        attrs={"units": "mm/month"},
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.floats(0.8, 6.0), scale=st.floats(1.0, 200.0), seed=st.integers(0, 10_000))
def test_spi__long_gamma_sample_is_standard_normal(shape: float, scale: float, seed: int) -> None:
    """60 years of gamma(shape, scale) months, calibrated on all of them: SPI-1 is N(0, 1)
    (Kolmogorov-Smirnov p > 0.001, mean within 0.1, sd within 0.1)."""
    rng = np.random.default_rng(seed)
    pr = _grid(rng.gamma(shape, scale, size=(720, 1, 1)))
    spi = standardized_precipitation_index(pr, scale=1, calibration=None).values.ravel()
    spi = spi[np.isfinite(spi)]
    assert spi.size == 720
    assert abs(spi.mean()) < 0.1 and abs(spi.std() - 1) < 0.1
    assert stats.kstest(spi, "norm").pvalue > 0.001


@settings(max_examples=10, deadline=None)
@given(i=st.integers(0, 3), j=st.integers(0, 4), t=st.integers(0, 479), seed=st.integers(0, 1000))
def test_spi__nan_in_one_cell_never_changes_another(i: int, j: int, t: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.gamma(2.0, 30.0, size=(480, 4, 5))
    base = standardized_precipitation_index(_grid(values), scale=3).values
    holed = values.copy()
    holed[t, i, j] = np.nan
    got = standardized_precipitation_index(_grid(holed), scale=3).values
    other = np.ones((4, 5), dtype=bool)
    other[i, j] = False
    np.testing.assert_array_equal(got[:, other], base[:, other])
    assert np.isnan(got[t, i, j])


@settings(max_examples=8, deadline=None)
@given(cy=st.integers(1, 4), cx=st.integers(1, 5), ct=st.sampled_from([-1, 120, 200]))
def test_spi__any_dask_chunking_is_identical(cy: int, cx: int, ct: int) -> None:
    rng = np.random.default_rng(7)
    values = rng.gamma(1.5, 40.0, size=(480, 4, 5)) * (rng.random((480, 4, 5)) > 0.05)
    pr = _grid(values)
    want = standardized_precipitation_index(pr, scale=6).values
    got = standardized_precipitation_index(pr.chunk({"time": ct, "y": cy, "x": cx}), scale=6).values
    np.testing.assert_array_equal(got, want)
