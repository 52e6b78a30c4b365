"""Unit tests of SPI, its fits and the exact window sum."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

from landwatch.errors import InputError, InsufficientDataError, UnitsError
from landwatch.indices.drought import rolling_sum, standardized_precipitation_index
from landwatch.indices.drought.distributions import (
    fit_gamma,
    fit_pearson3,
    gamma_cdf,
    pearson3_cdf,
    sample_pwm,
)

spi = standardized_precipitation_index


def _series(values: np.ndarray, start: str = "1981-01", units: str | None = "mm") -> xr.DataArray:
    t = pd.date_range(start, periods=len(values), freq="MS")
    attrs = {} if units is None else {"units": units}
    return xr.DataArray(
        np.asarray(values, dtype=float), dims=("time",), coords={"time": t}, attrs=attrs
    )


def _gamma_values(n_years: int = 40, seed: int = 1, shape: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seasonal = 20.0 + 15.0 * np.sin(np.arange(12 * n_years) * 2 * np.pi / 12)
    return rng.gamma(shape, 1.0, size=12 * n_years) * seasonal


# ----------------------------------------------------------------------------- rolling_sum


def test_rolling_sum__all_zero_windows_are_exactly_zero() -> None:
    # big then tiny values: a running add/subtract sum leaves round-off here
    x = np.array([1234.567, 0.1, 0.7, 0.0, 0.0, 0.0, 0.0, 3.3, 0.0, 0.0, 0.0])
    out = rolling_sum(x, 3)
    assert np.isnan(out[:2]).all()
    assert out[5] == 0.0 and out[6] == 0.0 and out[10] == 0.0
    np.testing.assert_allclose(out[2:5], [1235.367, 0.8, 0.7], rtol=1e-15)


def test_rolling_sum__nan_blanks_exactly_scale_windows() -> None:
    x = np.arange(1.0, 21.0)
    x[10] = np.nan
    out = rolling_sum(x, 4)
    assert np.flatnonzero(np.isnan(out)).tolist() == [0, 1, 2, 10, 11, 12, 13]
    assert out[14] == x[11:15].sum()


def test_rolling_sum__rejects_bad_scale() -> None:
    with pytest.raises(InputError, match="scale is 0; expected an integer"):
        rolling_sum(np.ones(5), 0)
    with pytest.raises(InputError, match="1 to 72"):
        rolling_sum(np.ones(5), 73)


# ----------------------------------------------------------------------------- fits


def test_fit_gamma__mle_matches_scipy_floc0() -> None:
    rng = np.random.default_rng(3)
    x = rng.gamma(1.7, 23.0, size=60)
    a, b, p0 = fit_gamma(x, "mle")
    a_ref, _, b_ref = scipy.stats.gamma.fit(x, floc=0)
    np.testing.assert_allclose([a, b], [a_ref, b_ref], rtol=1e-5)
    assert p0 == 0.0


def test_fit_gamma__thom_formula_and_zeros_excluded() -> None:
    rng = np.random.default_rng(4)
    pos = rng.gamma(3.0, 10.0, size=30)
    x = np.concatenate([pos, np.zeros(10), [np.nan]])
    a, b, p0 = fit_gamma(x, "thom")
    big_a = np.log(pos.mean()) - np.log(pos).mean()
    alpha = (1 + np.sqrt(1 + 4 * big_a / 3)) / (4 * big_a)
    np.testing.assert_allclose([a, b], [alpha, pos.mean() / alpha], rtol=1e-13)
    assert p0 == 10 / 40


def test_sample_pwm__unbiased_formula() -> None:
    x = np.array([3.0, 1.0, 4.0, 1.5, 9.0, 2.6])
    s = np.sort(x)
    n = len(s)
    i = np.arange(n)
    b1 = np.sum(i / (n - 1) * s) / n
    b2 = np.sum(i * (i - 1) / ((n - 1) * (n - 2)) * s) / n
    np.testing.assert_allclose(sample_pwm(x), (s.mean(), b1, b2), rtol=1e-14)


def test_pearson3_cdf__matches_scipy() -> None:
    x = np.linspace(-20.0, 200.0, 97)
    for skew in (1.3, -0.8, 1e-7, 0.05):
        ref = scipy.stats.pearson3.cdf(x, skew, loc=60.0, scale=25.0)
        np.testing.assert_allclose(pearson3_cdf(x, 60.0, 25.0, skew), ref, rtol=1e-10, atol=1e-14)


def test_fit_pearson3__matches_independent_lmoments() -> None:
    rng = np.random.default_rng(5)
    x = rng.gamma(2.5, 12.0, size=50) + 3.0
    loc, scale, skew, p0 = fit_pearson3(x)
    b0, b1, b2 = sample_pwm(x)
    l2 = 2 * b1 - b0
    t3 = (6 * b2 - 6 * b1 + b0) / l2
    # the fitted distribution must reproduce the sample L-moments (Hosking's
    # approximation is accurate to ~1e-4 in tau3); mean = loc exactly
    dist = scipy.stats.pearson3(skew, loc=loc, scale=scale)
    q = np.linspace(1e-6, 1 - 1e-6, 200001)
    xs = dist.ppf(q)
    l2_fit = np.trapezoid(xs * (2 * q - 1), q)
    l3_fit = np.trapezoid(xs * (6 * q * q - 6 * q + 1), q)
    assert loc == pytest.approx(b0, rel=1e-14)
    assert l2_fit == pytest.approx(l2, rel=2e-3)
    assert l3_fit / l2_fit == pytest.approx(t3, abs=2e-3)
    assert p0 == 0.0


# ----------------------------------------------------------------------------- SPI values


def test_standardized_precipitation_index__all_zero_windows_score_ndtri_p0_exactly() -> None:
    values = _gamma_values(40, seed=7) + 500.0  # large values before the zeros
    years = np.arange(40)
    # July-September all zero in every 3rd year (a 3-month window ending in
    # September is then all zero), and a tiny value in one year
    for y in years[::3]:
        values[12 * y + 6 : 12 * y + 9] = 0.0
    values[12 * 4 + 6] = 1e-9
    pr = _series(values)
    out = spi(pr, scale=3, calibration=(1981, 2020), clip=None)
    acc = rolling_sum(values, 3)
    sep = np.arange(8, len(values), 12)
    zero = sep[acc[sep] == 0.0]
    assert len(zero) == 14
    p0 = 14 / 40
    assert np.all(out.values[zero] == special.ndtri(p0))
    # the 1e-9 window is not a zero: it scores above the zero mass
    assert out.values[12 * 4 + 8] > special.ndtri(p0)


def test_standardized_precipitation_index__matches_handmade_thom_spi() -> None:
    values = _gamma_values(35, seed=8)
    values[[5, 17, 29]] = 0.0  # three zero Junes
    pr = _series(values)
    out = spi(pr, scale=1, calibration=(1981, 2010), clip=None).values
    years = 1981 + np.arange(len(values)) // 12
    exp = np.empty_like(values)
    for m in range(12):
        sel = np.arange(m, len(values), 12)
        cal = values[sel][years[sel] <= 2010]
        a, b, p0 = fit_gamma(cal, "thom")
        cdf = np.where(values[sel] == 0, 0.0, scipy.stats.gamma.cdf(values[sel], a, scale=b))
        exp[sel] = scipy.stats.norm.ppf(p0 + (1 - p0) * cdf)
    np.testing.assert_allclose(out, exp, rtol=0, atol=1e-10)
    assert out[5] == scipy.stats.norm.ppf(3 / 30)


def test_standardized_precipitation_index__nan_month_blanks_exactly_scale_windows() -> None:
    values = _gamma_values(40, seed=9)
    values[200] = np.nan
    for scale in (1, 3, 12):
        out = spi(_series(values), scale=scale).values
        nan_at = np.flatnonzero(np.isnan(out))
        expected = list(range(scale - 1)) + list(range(200, 200 + scale))
        assert nan_at.tolist() == expected


def test_standardized_precipitation_index__clip() -> None:
    values = _gamma_values(40, seed=10)
    values[300] = 5000.0
    pr = _series(values)
    raw = spi(pr, scale=1, clip=None).values
    assert raw[300] > 3.09
    clipped = spi(pr, scale=1).values
    assert clipped[300] == 3.09
    assert np.nanmax(np.abs(clipped)) <= 3.09
    two = spi(pr, scale=1, clip=2.0)
    assert float(abs(two).max()) == 2.0
    assert two.attrs["clip"] == 2.0


def test_standardized_precipitation_index__nan_rule_few_nonzero_or_few_years() -> None:
    values = _gamma_values(30, seed=11)
    jan = np.arange(0, 360, 12)
    values[jan] = 0.0
    values[jan[:3]] = [5.0, 7.0, 9.0]  # 3 non-zero Januaries: < 4, no fit
    feb = jan + 1
    values[feb] = 0.0
    values[feb[:4]] = [5.0, 7.0, 9.0, 2.0]  # 4 non-zero: fitted
    mar = jan + 2
    values[mar[:11]] = np.nan  # 19 valid Marches < min_years=20
    out = spi(_series(values), scale=1, calibration=(1981, 2010)).values
    assert np.isnan(out[jan]).all()
    assert np.isfinite(out[feb]).all()
    assert np.isnan(out[mar]).all()
    assert np.isfinite(out[jan + 3]).all()
    assert np.isfinite(spi(_series(values), scale=1, min_years=19).values[mar[11:]]).all()


def test_standardized_precipitation_index__pearson3_equals_scipy_with_independent_fit() -> None:
    values = _gamma_values(30, seed=12) + 1.0  # no zeros
    out = spi(_series(values), scale=1, distribution="pearson3", method="lmoments", clip=None)
    exp = np.empty_like(values)
    for m in range(12):
        x = values[m::12]
        s = np.sort(x)
        n = len(s)
        i = np.arange(n)
        b0, b1 = s.mean(), np.sum(i / (n - 1) * s) / n
        b2 = np.sum(i * (i - 1) / ((n - 1) * (n - 2)) * s) / n
        l2, t3 = 2 * b1 - b0, (6 * b2 - 6 * b1 + b0) / (2 * b1 - b0)
        # Hosking (1996) PELPE3 rational approximation for alpha = 4 / skew^2
        if abs(t3) < 1 / 3:
            z = 3 * np.pi * t3 * t3
            alpha = (1 + 0.2906 * z) / (z + 0.1882 * z * z + 0.0442 * z**3)
        else:
            z = 1 - abs(t3)
            alpha = (0.36067 * z - 0.59567 * z * z + 0.25361 * z**3) / (
                1 - 2.78861 * z + 2.56096 * z * z - 0.77045 * z**3
            )
        scale = (
            np.sqrt(np.pi)
            * l2
            * np.sqrt(alpha)
            * np.exp(special.gammaln(alpha) - special.gammaln(alpha + 0.5))
        )
        skew = np.sign(t3) * 2 / np.sqrt(alpha)
        cdf = scipy.stats.pearson3.cdf(x, skew, loc=b0, scale=scale)
        # outside the fitted support climate_indices scores 0.0005 / 0.9995
        cdf = np.where(cdf == 0.0, 0.0005, np.where(cdf == 1.0, 0.9995, cdf))
        exp[m::12] = scipy.stats.norm.ppf(cdf)
    assert np.sum(exp == scipy.stats.norm.ppf(0.0005)) >= 1  # the support rule is exercised
    np.testing.assert_allclose(out.values, exp, rtol=0, atol=1e-8)


# ----------------------------------------------------------------------------- layouts, dask


def _grid(seed: int = 13) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    g = rng.gamma(2.0, 30.0, size=(12 * 32, 4, 5)).astype(np.float32)
    g[rng.random(g.shape) < 0.1] = 0.0
    g[50, 1, 1] = np.nan
    t = pd.date_range("1979-01", periods=g.shape[0], freq="MS")
    return xr.DataArray(
        g,
        dims=("time", "y", "x"),
        coords={"time": t, "y": np.arange(4), "x": np.arange(5)},
        attrs={"units": "kg m-2 month-1"},
    )


@pytest.mark.parametrize("method", ["thom", "mle", "lmoments"])
def test_standardized_precipitation_index__numpy_equals_dask(method: str) -> None:
    g = _grid()
    eager = spi(g, method=method)
    lazy = spi(g.chunk({"time": 100, "y": 2, "x": 3}), method=method)
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.compute().values, eager.values, rtol=0, atol=1e-12)
    assert eager.dims == ("time", "y", "x")


def test_standardized_precipitation_index__series_table_and_grid_agree() -> None:
    g = _grid()
    full = spi(g, scale=6)
    one = spi(g.isel(y=2, x=3), scale=6)
    table = spi(g.stack(station=("y", "x")).transpose("time", "station"), scale=6)
    np.testing.assert_array_equal(one.values, full.values[:, 2, 3])
    np.testing.assert_array_equal(table.values[:, 2 * 5 + 3], full.values[:, 2, 3])
    np.testing.assert_array_equal(full.time.values, g.time.values)


def test_standardized_precipitation_index__attrs() -> None:
    out = spi(_series(_gamma_values(40)), scale=12, method="lmoments")
    assert out.attrs["units"] == "1"
    assert out.attrs["long_name"] == "Standardized Precipitation Index (12-month)"
    assert out.attrs["fit"].startswith("gamma, L-moments")
    assert out.attrs["calibration_period"] == "1981-2010"
    assert out.attrs["accumulation_months"] == 12
    assert out.attrs["clip"] == 3.09
    assert out.name == "spi"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    factor=st.floats(1e-3, 1e3),
    method=st.sampled_from(["thom", "mle", "lmoments"]),
    zero_share=st.sampled_from([0.0, 0.15]),
)
def test_standardized_precipitation_index__invariant_to_positive_scaling(
    seed: int, factor: float, method: str, zero_share: float
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.gamma(rng.uniform(0.5, 5.0), 20.0, size=12 * 30)
    values[rng.random(values.size) < zero_share] = 0.0
    pr = _series(values)
    a = spi(pr, scale=3, method=method, calibration=None).values
    b = spi(pr * factor, scale=3, method=method, calibration=None).values
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


# ----------------------------------------------------------------------------- errors


def test_standardized_precipitation_index__calibration_overlap_rules() -> None:
    pr = _series(_gamma_values(26), start="1995-01")  # 1995-2020
    with pytest.raises(
        InsufficientDataError, match=r"overlaps it in 16 years \(1995-2010\).*min_years=20"
    ):
        spi(pr)
    out = spi(pr, min_years=16)
    assert out.attrs["calibration_period"] == "1995-2010"
    assert out.attrs["calibration_requested"] == "1981-2010"
    with pytest.raises(InsufficientDataError, match="full record has 26 years.*min_years=30"):
        spi(pr, calibration=None, min_years=30)
    with pytest.raises(InsufficientDataError, match="overlaps it in 0 years"):
        spi(pr, calibration=(1950, 1980))
    with pytest.raises(InputError, match="first year must not be after the last"):
        spi(pr, calibration=(2010, 1981))


@pytest.mark.parametrize("units", ["mm", "mm/month", "mm month-1", "kg m-2 month-1", None])
def test_standardized_precipitation_index__accepts_monthly_mm(units: str | None) -> None:
    assert spi(_series(_gamma_values(30), units=units)).attrs["units"] == "1"


@pytest.mark.parametrize(
    ("units", "fix"),
    [
        ("m", "multiply by 1000"),
        ("mm/day", "resample"),
        ("mm d-1", "resample"),
        ("kg m-2 s-1", "seconds in each month"),
        ("K", "monthly precipitation totals in 'mm'"),
    ],
)
def test_standardized_precipitation_index__rejects_other_units(units: str, fix: str) -> None:
    with pytest.raises(UnitsError, match=fix):
        spi(_series(_gamma_values(30), units=units))


def test_standardized_precipitation_index__rejects_negative_values() -> None:
    values = _gamma_values(30)
    values[7] = -1.0
    with pytest.raises(InputError, match="pr has negative values.*clip"):
        spi(_series(values))


def test_standardized_precipitation_index__rejects_bad_arguments() -> None:
    pr = _series(_gamma_values(30))
    with pytest.raises(InputError, match="Pass method='lmoments'"):
        spi(pr, distribution="pearson3")
    with pytest.raises(InputError, match="freq is 'D'"):
        spi(pr, freq="D")
    with pytest.raises(InputError, match="scale is 0"):
        spi(pr, scale=0)
    with pytest.raises(InputError, match="method is 'ml'"):
        spi(pr, method="ml")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="expected an xarray.DataArray"):
        spi(pr.values)  # type: ignore[arg-type]
    gappy = pr.drop_isel(time=[40])
    with pytest.raises(InputError, match="not a complete monthly sequence.*1984-04 to 1984-06"):
        spi(gappy)


def test_gamma_cdf__zero_and_negative_are_zero() -> None:
    assert np.all(gamma_cdf(np.array([0.0, -1.0]), 2.0, 3.0) == 0.0)
