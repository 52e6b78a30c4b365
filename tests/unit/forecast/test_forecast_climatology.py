"""SPI fitted on training years only: equal to the public SPI, to an independent fit, and
blind to the held-out years."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special

from landwatch.errors import InputError, UnitsError
from landwatch.forecast.climatology import TrainingClimatology
from landwatch.indices.drought import standardized_precipitation_index


def synthetic_pr(
    n_cells: int = 4, first: int = 1951, n_years: int = 45, seed: int = 0
) -> xr.DataArray:
    """Gamma-like monthly precipitation [mm] with a seasonal cycle and an AR(1) wet/dry signal."""
    rng = np.random.default_rng(seed)
    nt = 12 * n_years
    season = 60 + 40 * np.cos(2 * np.pi * (np.arange(nt) % 12) / 12)
    z = np.zeros((nt, n_cells))
    for t in range(1, nt):
        z[t] = 0.7 * z[t - 1] + rng.normal(0, 0.5, n_cells)
    pr = season[:, None] * np.exp(0.4 * z) * rng.gamma(4.0, 0.25, (nt, n_cells))
    pr[rng.random(pr.shape) < 0.02] = 0.0  # a few dry months
    time = pd.date_range(f"{first}-01-01", periods=nt, freq="MS")
    return xr.DataArray(
        pr,
        dims=("time", "station"),
        coords={"time": time, "station": [f"s{i}" for i in range(n_cells)]},
        attrs={"units": "mm"},
    )


def thom_spi(acc: np.ndarray, fit_sample: np.ndarray) -> np.ndarray:
    """Independent SPI of ``acc`` with Thom's gamma fitted on ``fit_sample`` (one month, one cell)."""
    sample = fit_sample[np.isfinite(fit_sample)]
    p0 = np.mean(sample == 0)
    x = sample[sample > 0]
    a = np.log(x.mean()) - np.log(x).mean()
    alpha = (1 + np.sqrt(1 + 4 * a / 3)) / (4 * a)
    beta = x.mean() / alpha
    prob = np.where(acc == 0, p0, p0 + (1 - p0) * special.gammainc(alpha, acc / beta))
    return np.clip(special.ndtri(prob), -3.09, 3.09)


def test_training_climatology__contiguous_years_equal_public_spi() -> None:
    pr = synthetic_pr()
    for scale in (1, 3, 12):
        ours = TrainingClimatology(pr, range(1951, 1981)).spi(pr, scale)
        public = standardized_precipitation_index(pr, scale=scale, calibration=(1951, 1980))
        np.testing.assert_allclose(ours.values, public.values, rtol=0, atol=1e-12)
        assert ours.dims == pr.dims


def test_training_climatology__fit_sees_training_years_only() -> None:
    pr = synthetic_pr()
    years = pr.time.dt.year.values
    held_out = (1971, 1980)  # a block with one gap year on each side
    training = [y for y in range(1951, 1996) if not (1970 <= y <= 1981)]
    clim = TrainingClimatology(pr, training)
    spi3 = clim.spi(pr, 3).values

    # 1) an independent Thom fit on the windows that end in training years reproduces
    #    the SPI of the held-out months
    acc = pr.rolling(time=3).sum().values
    month = pr.time.dt.month.values
    in_training = np.isin(years, training)
    block = (years >= held_out[0]) & (years <= held_out[1])
    for m in (1, 7, 12):
        for j in range(pr.sizes["station"]):
            expected = thom_spi(acc[block & (month == m), j], acc[in_training & (month == m), j])
            np.testing.assert_allclose(spi3[block & (month == m), j], expected, atol=1e-9)

    # 2) the full-period fit is a different fit
    full = standardized_precipitation_index(pr, scale=3, calibration=None).values
    assert np.nanmax(np.abs(full[block] - spi3[block])) > 0.02

    # 3) changing the held-out years changes no SPI value whose window lies outside them:
    #    the fit is blind to them (the gap years may feed training windows, so they stay)
    wetter = pr.copy()
    wetter.values[block] *= 3.0
    again = TrainingClimatology(wetter, training).spi(wetter, 3).values
    untouched = years < 1971
    untouched[np.flatnonzero(years > 1980)[0] + 2 :] = True  # windows that start after the block
    np.testing.assert_allclose(again[untouched], spi3[untouched], rtol=0, atol=1e-12)
    assert np.nanmax(np.abs(again[block] - spi3[block])) > 0.5


def test_training_climatology__scores_any_slice_with_the_same_fit() -> None:
    pr = synthetic_pr()
    clim = TrainingClimatology(pr, range(1960, 1990))
    full = clim.spi(pr, 6).values
    part = clim.spi(pr.isel(time=slice(100, 300)), 6).values
    np.testing.assert_allclose(part[5:], full[105:300], atol=1e-12)
    assert np.isnan(part[:5]).all()  # windows before the slice's start are missing


def test_training_climatology__errors() -> None:
    pr = synthetic_pr()
    with pytest.raises(InputError, match="training years: 10 of them"):
        TrainingClimatology(pr, range(1951, 1961))
    with pytest.raises(InputError, match=r"expected \(time, cell\)"):
        TrainingClimatology(pr.transpose("station", "time"), range(1951, 1990))
    gappy = pr.drop_isel(time=[30])
    with pytest.raises(InputError, match="not a complete monthly sequence"):
        TrainingClimatology(gappy, range(1951, 1990))
    metres = pr / 1000
    metres.attrs["units"] = "m"
    with pytest.raises(UnitsError, match="multiply by 1000"):
        TrainingClimatology(metres, range(1951, 1990)).spi(metres, 3)
    other = pr.isel(station=slice(0, 2))
    with pytest.raises(InputError, match="Pass the same cells"):
        TrainingClimatology(pr, range(1951, 1990)).spi(other, 3)
