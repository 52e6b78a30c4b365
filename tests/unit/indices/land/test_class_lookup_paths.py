"""The compiled int16 fast paths of the class look-ups equal the numpy paths."""

from __future__ import annotations

import numpy as np
import pytest

from landwatch.errors import InputError
from landwatch.indices.land import productivity as prod
from landwatch.indices.land import sdg1531 as sdg
from landwatch.indices.land import soc
from landwatch.indices.land.codes import NODATA, isin_codes

RNG = np.random.default_rng(7)


def _classes(n: int = 20_000) -> np.ndarray:
    return RNG.choice(np.array([-1, 0, 1, NODATA], np.int16), n, p=[0.3, 0.3, 0.3, 0.1])


def test_one_out_all_out__int16_fast_path_equals_numpy_path() -> None:
    a, b, c = _classes(), _classes(), _classes()
    fast = sdg._oaoo_core(a, b, c)
    slow = sdg._oaoo_core(*(x.astype(np.float64) for x in (a, b, c)))  # floats: numpy path
    np.testing.assert_array_equal(fast, slow)
    assert set(np.unique(fast)) == {-1, 0, 1, NODATA}


def test_status__int16_fast_path_equals_numpy_path() -> None:
    s7, s3 = sdg._status_tables()
    a, b = _classes(), _classes()
    fast = sdg._status_core(a, b, s7, s3)
    slow = sdg._status_core(a.astype(np.float64), b.astype(np.float64), s7, s3)
    for f, s in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(f, s)


@pytest.mark.parametrize("table", ["trends_earth", "gpg_v2", "gpg_v1"])
def test_lpd__int16_fast_path_equals_numpy_path(table: str) -> None:
    t, s = _classes(), _classes()
    p = RNG.choice(np.array([-1, 0, NODATA], np.int16), t.size)
    fast = prod._lpd_core(t, s, p, table=table)
    slow = prod._lpd_core(
        t.astype(np.float32), s.astype(np.float32), p.astype(np.float32), table=table
    )
    for f, sl in zip(np.atleast_2d(fast), np.atleast_2d(slow), strict=True):
        np.testing.assert_array_equal(f, sl)


def test_fast_paths__bad_codes_still_raise_the_named_error() -> None:
    a = _classes()
    a[5] = 7
    with pytest.raises(InputError, match="has values 7"):
        sdg._oaoo_core(a, _classes())
    p = np.zeros(a.size, np.int16)
    p[3] = 1  # performance has no improving class in the GPG tables
    with pytest.raises(InputError, match="not in the 'gpg_v2' look-up table"):
        prod._lpd_core(
            np.ones(a.size, np.int16), np.ones(a.size, np.int16), p, table="gpg_v2"
        )


def test_soc_degradation_kernel__matches_the_formula() -> None:
    bl = RNG.uniform(-5, 80, 5000).astype(np.float32)
    tg = (bl * RNG.uniform(0.8, 1.2, bl.size)).astype(np.float32)
    bl[:10] = np.nan
    tg[10:20] = NODATA
    tg[20] = bl[20] * np.float32(0.9)  # exactly -10 % in float32 arithmetic, or close to it
    water = RNG.random(bl.size) < 0.05
    pct, deg = soc._soc_deg_core(bl, tg, water, 10.0)
    b, t = bl.astype(np.float64), tg.astype(np.float64)
    miss = np.isnan(b) | np.isnan(t) | (t == NODATA) | (b <= 0) | (t < 0)
    d = (t - b) * 100.0
    want = np.where(d <= -10 * b, -1, np.where(d >= 10 * b, 1, 0))
    want = np.where(miss | water, NODATA, want)
    np.testing.assert_array_equal(deg, want)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(
            pct, np.where(miss, np.nan, (t - b) / b * 100), rtol=1e-6, equal_nan=True
        )


def test_isin_codes__equals_numpy_isin() -> None:
    a = RNG.integers(-40000, 40000, 10_000).astype(np.int32)
    codes = [-32768, -1, 0, 1, 39999]
    a[:5] = codes
    np.testing.assert_array_equal(isin_codes(a, codes), np.isin(a, codes))
    u = RNG.integers(0, 255, 1000).astype(np.uint8)
    np.testing.assert_array_equal(isin_codes(u, [3, 200]), np.isin(u, [3, 200]))
