"""Monotonic trend statistics per series: Mann-Kendall, Sen's slope, OLS slope.

Numpy level: arrays carry time on the **last** axis, ``NaN`` marks a missing
value. All leading axes are treated as independent series (pixels). The per-series
work runs in one fused numba kernel (``nogil``), so the same pass yields
Mann-Kendall S, its tie-corrected variance, the OLS line and the Theil-Sen line.
Large in-memory arrays are split over threads when called from the main thread;
inside dask tasks (worker threads) each call stays single-threaded and dask
supplies the parallelism.

Conventions (chosen to match ``pymannkendall.original_test`` / ``sens_slope``
1.4.3 exactly with ``method="normal"``):

* NaNs are dropped per series; ``n``, S, Var(S), z and p use the valid values.
* The time coordinate of each valid value is its ORIGINAL position (``t[k]``,
  default ``k``), as pymannkendall does for Sen's slope (it forms pairwise slopes
  on the series with the NaNs in place, then takes the NaN-median).
* Sen intercept (Conover 1980): ``median(x_valid) - median(t_valid) * slope``.

References
----------
Mann, H. B. (1945) Nonparametric tests against trend. Econometrica 13, 245-259.
Kendall, M. G. (1975) Rank Correlation Methods, 4th ed.
Sen, P. K. (1968) doi:10.1080/01621459.1968.10480934.
Hussain, M. & Mahmud, I. (2019) pyMannKendall, doi:10.21105/joss.01556.
Hollander, M. & Wolfe, D. A. Nonparametric Statistical Methods, 2nd ed., table A.30.
"""

from __future__ import annotations

import csv
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources
from typing import Literal, NamedTuple

import numba
import numpy as np
from scipy.special import ndtr

from landwatch.errors import InputError

__all__ = [
    "EXACT_AUTO_MAX_N",
    "EXACT_MAX_N",
    "MannKendallResult",
    "TrendStatistics",
    "kendall_critical_s",
    "kendall_critical_s_table",
    "mann_kendall",
    "mann_kendall_exact_sf",
    "mann_kendall_from_statistics",
    "ols_slope",
    "sens_slope",
    "trend_statistics",
]

#: ``method="auto"`` uses the exact null distribution for tie-free series up to this length.
EXACT_AUTO_MAX_N: int = 30
#: Longest series for which ``method="exact"`` is available.
EXACT_MAX_N: int = 60

_BLOCK = 256  # rows gathered per block inside the kernel (cache-friendly for time-major data)
_ROWS_PER_THREAD = 65_536

Method = Literal["auto", "exact", "normal"]
Alternative = Literal["two-sided", "greater", "less"]


class MannKendallResult(NamedTuple):
    """Mann-Kendall test per series (arrays shaped like ``x.shape[:-1]``).

    Attributes
    ----------
    s : ndarray of float64
        Kendall's S = sum_{j<k} sign(x_k - x_j) over the valid values.
    var_s : ndarray of float64
        Var(S) under H0 with the tie correction.
    z : ndarray of float64
        Normal score with continuity correction, (S - sign(S)) / sqrt(Var S).
    p : ndarray of float64
        p-value for the requested ``alternative`` (two-sided by default).
    tau : ndarray of float64
        Kendall's tau-a, S / (n (n - 1) / 2) (no tie correction, as pymannkendall).
    n : ndarray of int64
        Number of valid (non-NaN) values.
    """

    s: np.ndarray
    var_s: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray
    n: np.ndarray


class TrendStatistics(NamedTuple):
    """Everything the fused kernel computes in one pass (see :func:`trend_statistics`)."""

    s: np.ndarray
    var_s: np.ndarray
    n: np.ndarray
    has_ties: np.ndarray
    ols_slope: np.ndarray
    ols_intercept: np.ndarray
    sen_slope: np.ndarray
    sen_intercept: np.ndarray


# ----------------------------------------------------------------------------- kernel


@numba.njit(nogil=True, cache=True, inline="always")
def _select(a, n, k):  # pragma: no cover - compiled
    """Quickselect on a[:n] (median-of-3 pivot, branchless Lomuto partition).

    Rearranges a[:n] so that a[k] is the k-th smallest and every a[i < k] <= a[k];
    returns a[k]. Branchless partitioning is ~2x faster than Hoare's on the
    ~100-300 pairwise slopes of an annual series (no mispredicted branches).
    """
    lo = 0
    hi = n - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        x0 = a[lo]
        x1 = a[mid]
        x2 = a[hi]
        if x0 > x1:
            x0, x1 = x1, x0
        if x1 > x2:
            x1, x2 = x2, x1
        if x0 > x1:
            x0, x1 = x1, x0
        piv = x1
        if a[mid] == piv:
            a[mid] = a[hi]
            a[hi] = piv
        elif a[lo] == piv:
            a[lo] = a[hi]
            a[hi] = piv
        store = lo
        for i in range(lo, hi):
            v = a[i]
            a[i] = a[store]
            a[store] = v
            store += v < piv
        a[hi] = a[store]
        a[store] = piv
        if store == k:
            return piv
        elif store < k:
            lo = store + 1
        else:
            hi = store - 1
    return a[k]


@numba.njit(nogil=True, cache=True)
def _median_inplace(a, n):  # pragma: no cover - compiled
    """Median of a[:n] (mean of the two middle values when n is even); reorders a."""
    k = n // 2
    upper = _select(a, n, k)
    if n % 2 == 1:
        return upper
    lower = a[0]
    for i in range(1, k):
        lower = max(lower, a[i])
    return (lower + upper) / 2.0


@numba.njit(nogil=True, cache=True, inline="always")
def mk_s_and_ties(vals, m, seen):  # pragma: no cover - compiled
    """Mann-Kendall S of ``vals[:m]`` and the tie term sum g(g-1)(2g+5) of its tie groups."""
    # branchless pass (vectorises), counting tied pairs on the way
    s = 0
    tied_pairs = 0
    for i in range(m - 1):
        vi = vals[i]
        for j in range(i + 1, m):
            vj = vals[j]
            s += (vj > vi) - (vj < vi)
            tied_pairs += vj == vi
    tie = 0
    if tied_pairs > 0:
        # tie groups: the first member i of a group of size g sees g - 1 equal later values
        for i in range(m):
            seen[i] = False
        for i in range(m - 1):
            if seen[i]:
                continue
            vi = vals[i]
            eq = 0
            for j in range(i + 1, m):
                if vals[j] == vi:
                    eq += 1
                    seen[j] = True
            tie += eq * (eq + 1) * (2 * eq + 7)  # g(g-1)(2g+5) with g = eq + 1
    return s, tie


@numba.njit(nogil=True, cache=True, inline="always")
def ols_line(vals, ts, m):  # pragma: no cover - compiled
    """OLS slope of ``vals[:m]`` on ``ts[:m]`` (m >= 2), and the two means."""
    tm = 0.0
    xm = 0.0
    for i in range(m):
        tm += ts[i]
        xm += vals[i]
    tm /= m
    xm /= m
    sxy = 0.0
    sxx = 0.0
    for i in range(m):
        dt = ts[i] - tm
        sxy += dt * (vals[i] - xm)
        sxx += dt * dt
    return sxy / sxx, xm, tm


@numba.njit(nogil=True, cache=True)
def _trend_kernel(
    x, t, do_sen, s_out, var_out, n_out, ties_out, ob_out, oa_out, sb_out, sa_out
):  # pragma: no cover - compiled
    nrow, ntime = x.shape
    buf = np.empty((_BLOCK, ntime), dtype=np.float64)
    vals = np.empty(ntime, dtype=np.float64)
    ts = np.empty(ntime, dtype=np.float64)
    work = np.empty(ntime, dtype=np.float64)
    seen = np.zeros(ntime, dtype=np.bool_)
    pairs = np.empty(max(ntime * (ntime - 1) // 2, 1), dtype=np.float64)
    for r0 in range(0, nrow, _BLOCK):
        nb = min(_BLOCK, nrow - r0)
        # gather time-outer so that time-major (t, y, x) memory is read sequentially
        for k in range(ntime):
            for rb in range(nb):
                buf[rb, k] = x[r0 + rb, k]
        for rb in range(nb):
            r = r0 + rb
            m = 0
            for k in range(ntime):
                v = buf[rb, k]
                if not np.isnan(v):
                    vals[m] = v
                    ts[m] = t[k]
                    m += 1
            n_out[r] = m
            s, tie = mk_s_and_ties(vals, m, seen)
            s_out[r] = s
            var_out[r] = (m * (m - 1) * (2 * m + 5) - tie) / 18.0
            ties_out[r] = tie > 0
            if m < 2:
                ob_out[r] = np.nan
                oa_out[r] = np.nan
                sb_out[r] = np.nan
                sa_out[r] = np.nan
                continue
            b, xm, tm = ols_line(vals, ts, m)
            ob_out[r] = b
            oa_out[r] = xm - b * tm
            if do_sen:
                c = 0
                for i in range(m - 1):
                    vi = vals[i]
                    ti = ts[i]
                    for j in range(i + 1, m):
                        pairs[c + j - i - 1] = (vals[j] - vi) / (ts[j] - ti)
                    c += m - 1 - i
                sb = _median_inplace(pairs, c)
                for i in range(m):
                    work[i] = vals[i]
                xmed = _median_inplace(work, m)
                h = m // 2  # ts is increasing, so its median is read off directly
                tmed = ts[h] if m % 2 == 1 else (ts[h - 1] + ts[h]) / 2.0
                sb_out[r] = sb
                sa_out[r] = xmed - tmed * sb
            else:
                sb_out[r] = np.nan
                sa_out[r] = np.nan


# ----------------------------------------------------------------------------- numpy layer


def _as_series(x: np.ndarray, name: str = "x") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 0:
        raise InputError(
            f"{name} is a scalar; expected an array with time on the last axis. "
            "Pass a 1-D series or an array shaped (..., time)."
        )
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _time_coordinate(t: np.ndarray | None, ntime: int) -> np.ndarray:
    if t is None:
        return np.arange(ntime, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if t.shape != (ntime,):
        raise InputError(
            f"t has shape {t.shape}; expected ({ntime},), one coordinate per time step of x. "
            "Pass the years of the series, e.g. t=np.arange(2001, 2017)."
        )
    if ntime > 1 and not np.all(np.diff(t) > 0):
        raise InputError(
            f"t is not strictly increasing (got {t.tolist()}); expected one increasing "
            "coordinate per time step. Sort the series by time first."
        )
    return t


def trend_statistics(
    x: np.ndarray, t: np.ndarray | None = None, *, sen: bool = True
) -> TrendStatistics:
    """Mann-Kendall S, Var(S), OLS and Theil-Sen lines of every series in one pass.

    Parameters
    ----------
    x : ndarray
        Values, time on the last axis, NaN = missing (float32 or float64).
    t : ndarray, optional
        Strictly increasing time coordinate (e.g. years) of length ``x.shape[-1]``;
        default ``0..T-1``. Slopes are per unit of ``t``.
    sen : bool
        Compute the Theil-Sen line (the costliest part); NaN when False.

    Returns
    -------
    TrendStatistics
        Arrays shaped ``x.shape[:-1]``; ``s`` and ``var_s`` float64, ``n`` int64,
        ``has_ties`` bool, slopes and intercepts float64 (NaN where n < 2).
    """
    x = _as_series(x)
    ntime = x.shape[-1]
    t = _time_coordinate(t, ntime)
    lead = x.shape[:-1]
    x2 = x.reshape(int(np.prod(lead, dtype=np.int64)), ntime)
    nrow = x2.shape[0]
    s = np.empty(nrow, np.int64)
    var = np.empty(nrow, np.float64)
    n = np.empty(nrow, np.int64)
    ties = np.empty(nrow, np.bool_)
    ob = np.empty(nrow, np.float64)
    oa = np.empty(nrow, np.float64)
    sb = np.empty(nrow, np.float64)
    sa = np.empty(nrow, np.float64)
    outs = (s, var, n, ties, ob, oa, sb, sa)

    def run(a: int, b: int) -> None:
        _trend_kernel(x2[a:b], t, bool(sen), *(o[a:b] for o in outs))

    nthreads = min(os.cpu_count() or 1, nrow // _ROWS_PER_THREAD)
    if nthreads > 1 and threading.current_thread() is threading.main_thread():
        edges = np.linspace(0, nrow, nthreads + 1).astype(int)
        with ThreadPoolExecutor(nthreads) as pool:
            list(pool.map(run, edges[:-1], edges[1:]))
    elif nrow:
        run(0, nrow)
    return TrendStatistics(
        s.astype(np.float64).reshape(lead),
        var.reshape(lead),
        n.reshape(lead),
        ties.reshape(lead),
        ob.reshape(lead),
        oa.reshape(lead),
        sb.reshape(lead),
        sa.reshape(lead),
    )


@lru_cache(maxsize=1)
def _mahonian_cdf() -> np.ndarray:
    """cdf[n, q] = P(Q <= q) for Q = number of inversions of a random permutation of n."""
    qmax = EXACT_MAX_N * (EXACT_MAX_N - 1) // 2
    cdf = np.ones((EXACT_MAX_N + 1, qmax + 1), dtype=np.float64)
    pmf = np.array([1.0])
    for n in range(1, EXACT_MAX_N + 1):
        # Q_n = Q_{n-1} + U, U uniform on 0..n-1 (insert element n at any position)
        new = np.zeros(pmf.size + n - 1)
        for u in range(n):
            new[u : u + pmf.size] += pmf
        pmf = new / n
        c = np.cumsum(pmf)
        cdf[n, : c.size] = np.minimum(c, 1.0)
    return cdf


def mann_kendall_exact_sf(s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Exact upper tail P(S >= s) of Kendall's S under H0 for n values without ties.

    Parameters
    ----------
    s : array_like
        Observed S (integer-valued).
    n : array_like of int
        Series lengths, 1 <= n <= ``EXACT_MAX_N``; other n give NaN.

    Returns
    -------
    ndarray of float64
        P(S >= s) by the inversion-count (Mahonian) distribution of all n!
        equally likely orderings: S = M - 2 Q with M = n (n - 1) / 2 and Q the
        number of inversions, so P(S >= s) = P(Q <= floor((M - s) / 2)).
    """
    s = np.asarray(s, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    s, n = np.broadcast_arrays(s, n)
    cdf = _mahonian_cdf()
    ok = (n >= 1) & (n <= EXACT_MAX_N) & np.isfinite(s)
    nn = np.where(ok, n, 1)
    m = nn * (nn - 1) // 2
    q = np.floor((m - np.where(ok, s, 0)) / 2.0)
    out = np.where(q < 0, 0.0, 1.0)
    inside = ok & (q >= 0) & (q < m)
    out = np.where(inside, cdf[nn, np.clip(q, 0, cdf.shape[1] - 1).astype(np.int64)], out)
    return np.where(ok, out, np.nan)


def _p_values(
    s: np.ndarray,
    z: np.ndarray,
    n: np.ndarray,
    has_ties: np.ndarray,
    method: str,
    alternative: str,
) -> np.ndarray:
    if alternative == "two-sided":
        p = 2.0 * ndtr(-np.abs(z))
    elif alternative == "greater":
        p = ndtr(-z)
    else:
        p = ndtr(z)
    if method == "normal":
        return p
    nmax = EXACT_AUTO_MAX_N if method == "auto" else EXACT_MAX_N
    exact = (~has_ties) & (n >= 2) & (n <= nmax)
    if not np.any(exact):
        return p
    if alternative == "two-sided":
        pe = np.minimum(1.0, 2.0 * mann_kendall_exact_sf(np.abs(s), n))
        pe = np.where(s == 0, 1.0, pe)
    elif alternative == "greater":
        pe = mann_kendall_exact_sf(s, n)
    else:
        pe = mann_kendall_exact_sf(-s, n)
    return np.where(exact, pe, p)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(
            f"{name}={value!r} is not supported; expected one of {', '.join(map(repr, allowed))}."
        )


def mann_kendall_from_statistics(
    s: np.ndarray,
    var_s: np.ndarray,
    n: np.ndarray,
    has_ties: np.ndarray,
    *,
    method: Method = "auto",
    alternative: Alternative = "two-sided",
) -> MannKendallResult:
    """Finish the Mann-Kendall test from S, Var(S), n and the tie flag (see :func:`mann_kendall`)."""
    _check_choice("method", method, ("auto", "exact", "normal"))
    _check_choice("alternative", alternative, ("two-sided", "greater", "less"))
    s = np.asarray(s, dtype=np.float64)
    var_s = np.asarray(var_s, dtype=np.float64)
    n = np.asarray(n)
    valid = n >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s == 0, 0.0, (s - np.sign(s)) / np.sqrt(var_s))
        tau = s / (0.5 * n * (n - 1))
    z = np.where(valid, z, np.nan)
    tau = np.where(valid, tau, np.nan)
    p = _p_values(s, z, n, np.asarray(has_ties), method, alternative)
    p = np.where(valid, p, np.nan)
    return MannKendallResult(s, var_s, z, p, tau, n)


def mann_kendall(
    x: np.ndarray,
    *,
    method: Method = "auto",
    alternative: Alternative = "two-sided",
) -> MannKendallResult:
    """Mann-Kendall trend test of every series along the last axis.

    Parameters
    ----------
    x : ndarray
        Values with time on the last axis; NaN = missing (dropped per series).
    method : {"auto", "exact", "normal"}
        How p is computed.

        * ``"normal"``: normal approximation with the tie-corrected variance and
          continuity correction (identical to ``pymannkendall.original_test``).
        * ``"exact"``: exact permutation distribution of S for every tie-free
          series with n <= ``EXACT_MAX_N`` (60); series with ties or longer fall
          back to the normal approximation (the exact law of S given ties is not
          implemented).
        * ``"auto"`` (default): exact for tie-free series with
          n <= ``EXACT_AUTO_MAX_N`` (30), normal otherwise.
    alternative : {"two-sided", "greater", "less"}
        ``"two-sided"`` (default): p = P(|S| >= |s|) (normal: 2 (1 - Phi(|z|)));
        ``"greater"``: p = P(S >= s), evidence of an increase;
        ``"less"``: p = P(S <= s), evidence of a decrease.

    Returns
    -------
    MannKendallResult
        ``s, var_s, z, p, tau, n``, arrays shaped ``x.shape[:-1]``. Where fewer
        than 2 values are valid, ``s = 0``, ``var_s = 0`` and z, p, tau are NaN.
        ``z`` is always the normal score, also when p is exact.

    Raises
    ------
    InputError
        Unknown ``method`` or ``alternative``.

    Notes
    -----
    S = sum_{j<k} sign(x_k - x_j);
    Var(S) = [n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)] / 18 over tie groups g;
    z = (S - sign(S)) / sqrt(Var S); tau = S / (n(n-1)/2).
    """
    _check_choice("method", method, ("auto", "exact", "normal"))
    _check_choice("alternative", alternative, ("two-sided", "greater", "less"))
    st = trend_statistics(x, sen=False)
    return mann_kendall_from_statistics(
        st.s, st.var_s, st.n, st.has_ties, method=method, alternative=alternative
    )


def sens_slope(x: np.ndarray, t: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Theil-Sen slope and Conover intercept of every series along the last axis.

    Parameters
    ----------
    x : ndarray
        Values with time on the last axis; NaN = missing.
    t : ndarray, optional
        Strictly increasing time coordinate; default ``0..T-1`` (as pymannkendall).

    Returns
    -------
    slope, intercept : ndarray of float64
        slope = median over valid pairs j<k of (x_k - x_j) / (t_k - t_j), with the
        ORIGINAL positions t of the valid values (pymannkendall's handling of NaN);
        intercept = median(x_valid) - median(t_valid) * slope. NaN where < 2 valid.
    """
    st = trend_statistics(x, t, sen=True)
    return st.sen_slope, st.sen_intercept


def ols_slope(x: np.ndarray, t: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary least-squares slope and intercept of every series along the last axis.

    Parameters
    ----------
    x : ndarray
        Values with time on the last axis; NaN = missing (dropped per series).
    t : ndarray, optional
        Strictly increasing time coordinate; default ``0..T-1``.

    Returns
    -------
    slope, intercept : ndarray of float64
        slope = sum (t - t_mean)(x - x_mean) / sum (t - t_mean)^2 over the valid
        values, intercept = x_mean - slope * t_mean. NaN where < 2 valid.
    """
    st = trend_statistics(x, t, sen=False)
    return st.ols_slope, st.ols_intercept


# ----------------------------------------------------------------------------- Kendall table

_LEVEL_COLUMNS = {0.90: "S_crit_90", 0.95: "S_crit_95", 0.99: "S_crit_99"}


@lru_cache(maxsize=1)
def _kendall_rows() -> dict[int, dict[float, int | None]]:
    text = resources.files("landwatch").joinpath("data", "kendall_critical_s_hollander_wolfe.csv")
    out: dict[int, dict[float, int | None]] = {}
    with text.open("r", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[int(row["n"])] = {
                lev: (int(row[col]) if row[col].strip() else None)
                for lev, col in _LEVEL_COLUMNS.items()
            }
    return out


def _normalise_level(level: float) -> float:
    lev = float(level)
    if lev > 1:
        lev /= 100.0
    for known in _LEVEL_COLUMNS:
        if abs(lev - known) < 1e-9:
            return known
    raise InputError(
        f"level={level!r} is not in the Hollander-Wolfe table; expected 0.90, 0.95 or 0.99."
    )


def kendall_critical_s(n: int, level: float) -> int:
    """Critical |S| of Trends.Earth's Mann-Kendall table (Hollander & Wolfe A.30).

    Parameters
    ----------
    n : int
        Number of years, 4..60 (4..59 at the 0.99 level).
    level : {0.90, 0.95, 0.99}
        Trends.Earth's "confidence" level (90, 95, 99 also accepted). By exact
        enumeration these are one-sided levels of roughly 0.10-0.14, 0.05-0.06
        and 0.01 (see the module notes), not two-sided ones.

    Returns
    -------
    int
        The critical value s. Trends.Earth assigns a level when |S| >= s, but
        then forces "no trend" wherever |S| <= s_0.90, so at the 0.90 level
        (and wherever s_0.95 == s_0.90, n = 4, 5) |S| must exceed s.

    Raises
    ------
    InputError
        ``n`` outside the table or an unknown level.
    """
    lev = _normalise_level(level)
    rows = _kendall_rows()
    value = rows.get(int(n), {}).get(lev)
    if value is None:
        lo, hi = min(rows), max(k for k, v in rows.items() if v[lev] is not None)
        raise InputError(
            f"n={n} is outside the Hollander-Wolfe table at level {lev:.2f} (covers n={lo}..{hi}); "
            "use a series of that length or the p-value of mann_kendall()."
        )
    return value


def kendall_critical_s_table() -> np.ndarray:
    """Array ``crit[level_index, n]`` (levels 0.90, 0.95, 0.99; -1 where not tabulated)."""
    rows = _kendall_rows()
    nmax = max(rows)
    table = np.full((3, nmax + 1), -1, dtype=np.int64)
    for n, vals in rows.items():
        for i, lev in enumerate(_LEVEL_COLUMNS):
            if vals[lev] is not None:
                table[i, n] = int(vals[lev])  # type: ignore[arg-type]
    return table
