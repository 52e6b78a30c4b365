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
    glo_cdf,
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
    with pytest.raises(InputError, match="not implemented"):
        spei(water_balance=wb, distribution="gamma")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="monthly with no gaps"):
        spei(water_balance=wb.isel(time=np.r_[0:50, 51:480]))


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
