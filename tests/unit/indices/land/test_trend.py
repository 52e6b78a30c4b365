"""Unit tests of the numpy-level trend statistics (landwatch.indices.land.trend)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from landwatch.errors import InputError
from landwatch.indices.land import trend
from landwatch.indices.land.trend import (
    kendall_critical_s,
    mann_kendall,
    mann_kendall_exact_sf,
    ols_slope,
    sens_slope,
    trend_statistics,
)


def _s_bruteforce(x):
    return sum(np.sign(x[k] - x[j]) for j in range(len(x)) for k in range(j + 1, len(x)))


def _null_distribution(n):
    """Exact null distribution of S by enumerating all n! orderings."""
    counts = {}
    for perm in itertools.permutations(range(n)):
        s = _s_bruteforce(np.array(perm))
        counts[s] = counts.get(s, 0) + 1
    return {s: c / math.factorial(n) for s, c in counts.items()}


@pytest.mark.parametrize("n", range(2, 9))
def test_mann_kendall_exact_sf__matches_enumeration_of_permutations(n):
    dist = _null_distribution(n)
    for s in range(-n * (n - 1) // 2 - 1, n * (n - 1) // 2 + 2):
        upper = sum(p for v, p in dist.items() if v >= s)
        assert mann_kendall_exact_sf(s, n) == pytest.approx(upper, abs=1e-12), (n, s)


@pytest.mark.parametrize("n", [5, 7, 8])
def test_mann_kendall__exact_p_matches_enumeration(n):
    dist = _null_distribution(n)
    rng = np.random.default_rng(n)
    for _ in range(20):
        x = rng.permutation(n).astype(float)
        s = _s_bruteforce(x)
        res = mann_kendall(x, method="exact")
        assert res.s == s
        assert res.p == pytest.approx(
            sum(p for v, p in dist.items() if abs(v) >= abs(s)), abs=1e-12
        )
        greater = mann_kendall(x, method="exact", alternative="greater").p
        less = mann_kendall(x, method="exact", alternative="less").p
        assert greater == pytest.approx(sum(p for v, p in dist.items() if v >= s), abs=1e-12)
        assert less == pytest.approx(sum(p for v, p in dist.items() if v <= s), abs=1e-12)


def test_mann_kendall_exact_sf__reference_levels_of_trends_earth_table():
    # ../shared/reference/trends_earth_algorithms.md §2.1: the "95 %" critical S is one-sided ~0.05-0.06
    assert mann_kendall_exact_sf(36, 16) == pytest.approx(0.058, abs=0.0015)
    assert mann_kendall_exact_sf(33, 15) == pytest.approx(0.057, abs=0.0015)
    assert mann_kendall_exact_sf(93, 30) == pytest.approx(0.0505, abs=0.0015)
    # for n = 4 the 90 % and 95 % values (S = 4) have p = 0.167 one-sided
    assert mann_kendall_exact_sf(4, 4) == pytest.approx(4 / 24, abs=1e-12)


def test_mann_kendall__auto_uses_exact_only_for_short_tie_free_series():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(12)
    exact = mann_kendall(x, method="exact").p
    normal = mann_kendall(x, method="normal").p
    assert exact != pytest.approx(normal, abs=1e-6)
    assert mann_kendall(x, method="auto").p == exact
    tied = np.round(x, 0)
    assert len(np.unique(tied)) < tied.size
    assert mann_kendall(tied, method="auto").p == mann_kendall(tied, method="normal").p
    long = rng.standard_normal(trend.EXACT_AUTO_MAX_N + 1)
    assert mann_kendall(long, method="auto").p == mann_kendall(long, method="normal").p
    assert mann_kendall(long, method="exact").p != mann_kendall(long, method="normal").p


def test_mann_kendall__normal_alternatives_are_consistent():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 25)) + np.linspace(0, 1, 25)
    two = mann_kendall(x, method="normal").p
    g = mann_kendall(x, method="normal", alternative="greater").p
    l_ = mann_kendall(x, method="normal", alternative="less").p
    np.testing.assert_allclose(g + l_, 1.0, atol=1e-12)
    np.testing.assert_allclose(two, 2 * np.minimum(g, l_), atol=1e-12)


def test_mann_kendall__too_few_values_give_nan():
    res = mann_kendall(np.array([[np.nan, 1.0, np.nan], [np.nan] * 3]))
    np.testing.assert_array_equal(res.n, [1, 0])
    np.testing.assert_array_equal(res.s, [0, 0])
    assert np.isnan(res.p).all() and np.isnan(res.z).all() and np.isnan(res.tau).all()


def test_mann_kendall__all_tied_series_has_p_one():
    res = mann_kendall(np.full(10, 0.3), method="normal")
    assert res.s == 0 and res.var_s == 0 and res.z == 0 and res.p == 1


def test_mann_kendall__rejects_unknown_options():
    with pytest.raises(InputError, match="method='fast' is not supported"):
        mann_kendall(np.arange(5.0), method="fast")
    with pytest.raises(InputError, match="alternative='up' is not supported"):
        mann_kendall(np.arange(5.0), alternative="up")


series = hnp.arrays(
    np.float64,
    st.integers(3, 25),
    elements=st.one_of(st.integers(-20, 20).map(float), st.just(np.nan)),
)


@settings(max_examples=200, deadline=None)
@given(series, st.integers(1, 1000), st.integers(-1000, 1000))
def test_mann_kendall__invariant_under_positive_affine_scaling(x, a, b):
    r1 = mann_kendall(x, method="normal")
    r2 = mann_kendall(a * x + b, method="normal")
    assert r1.s == r2.s and r1.var_s == r2.var_s and r1.n == r2.n
    np.testing.assert_array_equal(r1.p, r2.p)


@settings(max_examples=200, deadline=None)
@given(series)
def test_mann_kendall__reversing_time_negates_s(x):
    r1 = mann_kendall(x, method="auto")
    r2 = mann_kendall(x[::-1], method="auto")
    assert r2.s == -r1.s and r2.var_s == r1.var_s
    np.testing.assert_array_equal(r1.p, r2.p)  # two-sided p is symmetric


@settings(max_examples=200, deadline=None)
@given(series, st.data())
def test_mann_kendall__nan_placement_only_drops_values(x, data):
    valid = x[np.isfinite(x)]
    positions = data.draw(st.lists(st.integers(0, len(valid)), max_size=6))
    y = valid.copy()
    for pos in sorted(positions, reverse=True):
        y = np.insert(y, pos, np.nan)
    r1 = mann_kendall(valid, method="auto")
    r2 = mann_kendall(y, method="auto")
    assert (r1.s, r1.var_s, r1.n) == (r2.s, r2.var_s, r2.n)
    np.testing.assert_array_equal(r1.p, r2.p)


def test_mann_kendall__s_and_variance_match_bruteforce_with_ties():
    rng = np.random.default_rng(5)
    for _ in range(200):
        x = rng.integers(0, 4, rng.integers(2, 20)).astype(float)
        res = mann_kendall(x, method="normal")
        n = len(x)
        _, t = np.unique(x, return_counts=True)
        var = (n * (n - 1) * (2 * n + 5) - np.sum(t * (t - 1) * (2 * t + 5))) / 18
        assert res.s == _s_bruteforce(x) and res.var_s == var


def test_sens_slope__uses_original_positions_of_valid_values():
    slope, icpt = sens_slope(np.array([0.0, np.nan, 2.0]))
    assert slope == 1.0  # (2 - 0) / (2 - 0), not / (1 - 0)
    assert icpt == 0.0  # median(x) 1 - median(t) 1 * slope 1
    slope, icpt = sens_slope(
        np.array([np.nan, 5.0, 5.0, 9.0]), t=np.array([2000.0, 2001, 2002, 2003])
    )
    assert slope == 2.0 and icpt == pytest.approx(5.0 - 2002 * 2.0)


def test_sens_slope__matches_numpy_median_of_pairwise_slopes():
    rng = np.random.default_rng(11)
    x = np.round(rng.standard_normal((300, 24)), 1)  # many tied slopes
    x[rng.random(x.shape) < 0.1] = np.nan
    slope, _ = sens_slope(x)
    t = np.arange(24.0)
    for i in range(300):
        ok = np.flatnonzero(np.isfinite(x[i]))
        d = [(x[i, k] - x[i, j]) / (t[k] - t[j]) for a, j in enumerate(ok) for k in ok[a + 1 :]]
        assert slope[i] == np.median(d)


def test_ols_slope__recovers_exact_line_and_handles_gaps():
    t = np.arange(2001, 2017, dtype=float)
    x = 0.4 - 0.01 * (t - 2001)
    x[[3, 9]] = np.nan
    slope, icpt = ols_slope(x, t)
    assert slope == pytest.approx(-0.01, abs=1e-12)
    assert icpt + slope * 2001 == pytest.approx(0.4, abs=1e-9)


def test_trend_statistics__layout_threads_and_dtype_do_not_change_results():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 300, 500)).astype(np.float32)  # time-major, 150k series
    x[rng.random(x.shape) < 0.05] = np.nan
    view = np.moveaxis(x, 0, -1)  # non-contiguous (y, x, time) view -> threaded path
    copy = np.ascontiguousarray(view)
    a = trend_statistics(view)
    b = trend_statistics(copy[:10])  # single block
    c = trend_statistics(copy.astype(np.float64))
    for f in a._fields:
        np.testing.assert_array_equal(getattr(a, f)[:10], getattr(b, f), err_msg=f)
        np.testing.assert_array_equal(getattr(a, f), getattr(c, f), err_msg=f)


def test_trend_statistics__rejects_bad_time_coordinate():
    with pytest.raises(InputError, match="t is not strictly increasing"):
        ols_slope(np.arange(4.0), t=np.array([2000.0, 2002, 2001, 2003]))
    with pytest.raises(InputError, match=r"t has shape \(3,\); expected \(4,\)"):
        sens_slope(np.arange(4.0), t=np.arange(3.0))


def test_kendall_critical_s__table_values_and_limits():
    assert kendall_critical_s(16, 0.95) == 36
    assert kendall_critical_s(16, 95) == 36
    assert kendall_critical_s(4, 0.90) == 4
    assert kendall_critical_s(60, 0.95) == 258
    with pytest.raises(
        InputError,
        match=r"n=60 is outside the Hollander-Wolfe table at level 0.99 \(covers n=4..59\)",
    ):
        kendall_critical_s(60, 0.99)
    with pytest.raises(InputError, match="n=3 is outside"):
        kendall_critical_s(3, 0.95)
    with pytest.raises(InputError, match="level=0.8 is not in the Hollander-Wolfe table"):
        kendall_critical_s(10, 0.8)
