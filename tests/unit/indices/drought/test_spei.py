"""Unit tests for landwatch.indices.drought.spei."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from landwatch.errors import InputError, InsufficientDataError
from landwatch.indices.drought.spei import (
    _glo_log_likelihood,
    _glo_score_and_hessian,
    glo_cdf,
    glo_parameters_max_likelihood,
    glo_parameters_ub_pwm,
)
from landwatch.indices.drought.spei import (
    standardized_precipitation_evapotranspiration_index as spei,
)


def _wb(nyears=40, cells=(3, 4), seed=0, start="1971-01"):
    rng = np.random.default_rng(seed)
    nt = 12 * nyears
    seas = 40 * np.cos(2 * np.pi * np.arange(nt) / 12)
    vals = rng.gamma(2.0, 30.0, (*cells, nt)) - 60 + seas
    return xr.DataArray(
        vals,
        dims=("y", "x", "time"),
        coords={"time": pd.date_range(start, periods=nt, freq="MS")},
        attrs={"units": "mm/month"},
    )


def test_standardized_precipitation_evapotranspiration_index__numpy_and_dask_equal():
    wb = _wb()
    eager = spei(water_balance=wb, scale=3)
    lazy = spei(water_balance=wb.chunk({"y": 1, "x": 2, "time": 100}), scale=3)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.compute().values, eager.values)
    assert eager.dims == wb.dims


def test_standardized_precipitation_evapotranspiration_index__standard_normal_in_calibration():
    wb = _wb(nyears=60, cells=(2, 2))
    s = spei(water_balance=wb, scale=1, calibration=None, clip=None)
    v = s.values.ravel()
    assert abs(np.nanmean(v)) < 0.05
    assert abs(np.nanstd(v) - 1) < 0.05


def test_standardized_precipitation_evapotranspiration_index__missing_month_blanks_windows():
    wb = _wb(cells=(1, 1))
    wb.values[0, 0, 100] = np.nan
    s = spei(water_balance=wb, scale=6).values[0, 0]
    assert np.isnan(s[:5]).all()  # scale - 1 leading months
    assert np.isnan(s[100:106]).all()  # every window containing month 100
    assert np.isfinite(s[5:100]).all() and np.isfinite(s[106:]).all()


def test_standardized_precipitation_evapotranspiration_index__pr_pet_equals_water_balance():
    wb = _wb(cells=(2, 2))
    pr = (wb + 200).assign_attrs(units="mm/month")
    pet = xr.full_like(wb, 200.0).assign_attrs(units="mm/month")
    a = spei(pr, pet, scale=12)
    b = spei(water_balance=wb, scale=12)
    np.testing.assert_allclose(a.values, b.values, atol=1e-10, equal_nan=True)


def test_standardized_precipitation_evapotranspiration_index__clip_and_calibration_attrs():
    s = spei(water_balance=_wb(), scale=1, clip=1.0)
    assert np.nanmax(np.abs(s.values)) <= 1.0
    assert s.attrs["calibration"] == "1981-2010"


def test_standardized_precipitation_evapotranspiration_index__calibration_outside_record():
    with pytest.raises(
        InputError, match=r"calibration 1950-1980 is outside the record \(1971-2010\)"
    ):
        spei(water_balance=_wb(), calibration=(1950, 1980))


def test_standardized_precipitation_evapotranspiration_index__too_few_calibration_years():
    with pytest.raises(InsufficientDataError, match="has 10 calibration years.*min_years=20"):
        spei(water_balance=_wb(), calibration=(1991, 2000))


def test_standardized_precipitation_evapotranspiration_index__input_errors():
    wb = _wb()
    with pytest.raises(InputError, match="pass pr and pet"):
        spei(wb)
    with pytest.raises(InputError, match="either water_balance"):
        spei(wb, wb, water_balance=wb)
    with pytest.raises(InputError, match="scale must be an integer"):
        spei(water_balance=wb, scale=0)
    with pytest.raises(InputError, match="distribution='gamma' is not implemented"):
        spei(water_balance=wb, distribution="gamma")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="method='pp-pwm' is not implemented"):
        spei(water_balance=wb, method="pp-pwm")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="Pearson III is fitted by L-moments only"):
        spei(water_balance=wb, distribution="pearson3", method="max-lik")
    # the shared monthly check (timeaxis.monthly_time_axis) names the gap and the fix
    with pytest.raises(
        InputError,
        match=r"water_balance time axis is not a complete monthly sequence: step 49 goes "
        r"from 1975-02 to 1975-04.*Resample to monthly totals",
    ):
        spei(water_balance=wb.isel(time=np.r_[0:50, 51:480]))
    with pytest.raises(InputError, match="without coordinates"):
        spei(water_balance=wb.drop_vars("time"))
    with pytest.raises(InputError, match="must be an xarray.DataArray"):
        spei(water_balance=wb.values)  # type: ignore[arg-type]


def test_glo_parameters_ub_pwm__constant_sample_is_nan():
    xi, alpha, kappa = glo_parameters_ub_pwm(np.full((2, 30), 5.0))
    assert np.isnan(xi).all() and np.isnan(alpha).all() and np.isnan(kappa).all()


def test_glo_cdf__support_limits_follow_r_spei():
    # kappa > 0: upper bound at xi + alpha/kappa, F = 1 above it; kappa < 0: F = 0 below
    assert glo_cdf(np.array([10.0]), 0.0, 1.0, 0.5)[0] == 1.0
    assert glo_cdf(np.array([-10.0]), 0.0, 1.0, -0.5)[0] == 0.0
    assert glo_cdf(np.array([0.0]), 0.0, 1.0, 0.0)[0] == 0.5


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(0.1, 10.0),
    b=st.floats(-100.0, 100.0),
    seed=st.integers(0, 1000),
)
def test_standardized_precipitation_evapotranspiration_index__affine_invariant(a, b, seed):
    # GLO fitted by PWM is location-scale equivariant: SPEI of a*D + b equals SPEI of D
    # when D is shifted per month by the same b (scale=1).
    wb = _wb(nyears=25, cells=(1, 2), seed=seed)
    s1 = spei(water_balance=wb, scale=1, calibration=None)
    s2 = spei(water_balance=a * wb + b, scale=1, calibration=None)
    np.testing.assert_allclose(s1.values, s2.values, atol=1e-8, equal_nan=True)


# ----------------------------------------------------------------------------- Pearson III


@pytest.mark.parametrize("method", ["ub-pwm", "max-lik"])
def test_standardized_precipitation_evapotranspiration_index__numpy_and_dask_equal_all_fits(
    method,
):
    wb = _wb(cells=(2, 3), seed=3)
    for distribution in ("log-logistic", "pearson3"):
        if distribution == "pearson3" and method == "max-lik":
            continue
        kw = {"scale": 3, "distribution": distribution, "method": method}
        eager = spei(water_balance=wb, **kw)
        lazy = spei(water_balance=wb.chunk({"y": 1, "x": 2, "time": 100}), **kw)
        # equal up to the order numpy sums the PWMs of differently shaped blocks
        np.testing.assert_allclose(lazy.compute().values, eager.values, rtol=0, atol=1e-12)
        assert eager.attrs["distribution"] == distribution and eager.attrs["method"] == method


def test_standardized_precipitation_evapotranspiration_index__pearson3_standard_normal():
    wb = _wb(nyears=60, cells=(2, 2), seed=5)
    s = spei(water_balance=wb, scale=1, distribution="pearson3", calibration=None)
    v = s.values.ravel()
    # an L-moment fit may leave a few extreme values outside its support (-> +-3.09)
    assert np.isfinite(v).all() and np.mean(np.abs(v) == 3.09) < 0.02
    assert abs(np.mean(v)) < 0.05
    assert abs(np.std(v) - 1) < 0.05
    assert s.attrs["fit"].startswith("Pearson type III")


def test_standardized_precipitation_evapotranspiration_index__pearson3_outside_support_is_inf():
    # positively skewed January balances; a later value far below the fitted lower bound
    wb = _wb(nyears=30, cells=(1, 1), seed=2)
    wb.values[0, 0, -12] = -1e4
    s = spei(water_balance=wb, scale=1, distribution="pearson3", calibration=(1971, 1999))
    raw = spei(
        water_balance=wb, scale=1, distribution="pearson3", calibration=(1971, 1999), clip=None
    )
    assert np.isneginf(raw.values[0, 0, -12])
    assert s.values[0, 0, -12] == -3.09  # as climate_indices: Phi^-1(0.0005) clipped


# ----------------------------------------------------------------------------- max-lik


def _glo_sample(rng, n, xi, alpha, kappa):
    f = rng.uniform(0.0, 1.0, n)  # GLO quantile function (Hosking & Wallis A.7)
    if kappa == 0.0:
        return xi - alpha * np.log((1.0 - f) / f)
    return xi + alpha * (1.0 - ((1.0 - f) / f) ** kappa) / kappa


def test_glo_parameters_max_likelihood__gradient_and_hessian_match_finite_differences():
    rng = np.random.default_rng(0)
    z = np.stack([_glo_sample(rng, 40, 0.0, 1.0, k) for k in (-0.3, 1e-9, 0.2)])
    w = np.ones_like(z)
    theta = np.array([[0.1, 1.1, -0.25], [-0.05, 0.9, 0.01], [0.0, 1.0, 0.15]])
    grad, hess = _glo_score_and_hessian(z, w, theta)
    h = 1e-6
    for a in range(3):
        d = np.zeros(3)
        d[a] = h
        num = (_glo_log_likelihood(z, w, theta + d) - _glo_log_likelihood(z, w, theta - d)) / (
            2 * h
        )
        np.testing.assert_allclose(grad[:, a], num, rtol=1e-6, atol=1e-6)
        gp, _ = _glo_score_and_hessian(z, w, theta + d)
        gm, _ = _glo_score_and_hessian(z, w, theta - d)
        np.testing.assert_allclose(hess[:, :, a], (gp - gm) / (2 * h), rtol=1e-5, atol=1e-5)


def test_glo_parameters_max_likelihood__at_least_as_good_as_nelder_mead():
    from scipy import optimize

    rng = np.random.default_rng(11)
    kappas = rng.uniform(-0.4, 0.4, 30)
    x = np.stack([_glo_sample(rng, 40, 10.0, 5.0, k) for k in kappas])
    x[3, :5] = np.nan  # NaN are ignored
    xi, alpha, kappa = glo_parameters_max_likelihood(x)
    assert np.isfinite(kappa).all()
    for i in range(x.shape[0]):
        xs = x[i][~np.isnan(x[i])]

        def nll(p, xs=xs):
            return -_glo_log_likelihood(xs[None], np.ones((1, xs.size)), np.asarray(p)[None])[0]

        start = [float(v) for v in glo_parameters_ub_pwm(xs)]
        if not np.isfinite(nll(start)):
            start[2] = 0.0  # outside the PWM support: start from the logistic
        ref = optimize.minimize(
            nll,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
        )
        ours = nll([xi[i], alpha[i], kappa[i]])
        assert ours <= ref.fun + 1e-9


def test_glo_parameters_max_likelihood__recovers_parameters_of_a_large_sample():
    rng = np.random.default_rng(4)
    x = np.stack([_glo_sample(rng, 20000, 50.0, 12.0, k) for k in (-0.25, 0.0, 0.2)])
    xi, alpha, kappa = glo_parameters_max_likelihood(x)
    np.testing.assert_allclose(xi, 50.0, atol=0.4)
    np.testing.assert_allclose(alpha, 12.0, rtol=0.03)
    np.testing.assert_allclose(kappa, [-0.25, 0.0, 0.2], atol=0.02)


def test_glo_parameters_max_likelihood__start_outside_support_still_fits():
    # PWM estimates can leave the smallest value below the fitted lower bound (found on
    # R SPEI's "balance" data, valencia, June); the fit must still reach a maximum.
    rng = np.random.default_rng(7)
    x = _glo_sample(rng, 60, 0.0, 1.0, -0.3)
    x[0] = -12.0
    xi0, a0, k0 = glo_parameters_ub_pwm(x)
    assert 1.0 - k0 * (x.min() - xi0) / a0 <= 0  # the start is infeasible
    xi, alpha, kappa = glo_parameters_max_likelihood(x)
    assert np.isfinite([xi, alpha, kappa]).all()
    assert 1.0 - kappa * (x.min() - xi) / alpha > 0


def test_glo_parameters_max_likelihood__no_interior_maximum_gives_nan():
    # U^4 has an infinite density at 0: the GLO likelihood rises towards kappa = -1
    rng = np.random.default_rng(1)
    xi, alpha, kappa = glo_parameters_max_likelihood(rng.uniform(size=(3, 40)) ** 4)
    assert np.isnan(kappa).all() and np.isnan(xi).all() and np.isnan(alpha).all()


def test_glo_parameters_max_likelihood__nan_start_gives_nan():
    xi, alpha, kappa = glo_parameters_max_likelihood(np.full((2, 30), 5.0))
    assert np.isnan(xi).all() and np.isnan(alpha).all() and np.isnan(kappa).all()


@settings(max_examples=20, deadline=None)
@given(a=st.floats(0.1, 10.0), b=st.floats(-100.0, 100.0), seed=st.integers(0, 1000))
def test_glo_parameters_max_likelihood__location_scale_equivariant(a, b, seed):
    rng = np.random.default_rng(seed)
    x = _glo_sample(rng, 40, 0.0, 1.0, rng.uniform(-0.4, 0.4))
    xi1, a1, k1 = glo_parameters_max_likelihood(x)
    xi2, a2, k2 = glo_parameters_max_likelihood(a * x + b)
    np.testing.assert_allclose(
        [xi2, a2, k2], [a * xi1 + b, a * a1, k1], rtol=1e-7, atol=1e-7 * (a + abs(b))
    )
