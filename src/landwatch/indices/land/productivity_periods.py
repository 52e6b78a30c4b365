"""Trajectory, state and performance means of several periods in one pass per pixel.

An SDG 15.3.1 assessment evaluates the same NDVI stack over a baseline and several
reporting periods whose windows overlap (2000-2015, 2004-2019, 2008-2023). Calling
:func:`~landwatch.indices.land.productivity.productivity_trajectory`,
:func:`~landwatch.indices.land.productivity.productivity_state` and the mean of
:func:`~landwatch.indices.land.productivity.productivity_performance` once per period
reads each pixel's series nine times, materialises seven float arrays per trajectory
and finishes the Mann-Kendall p-value with array-wide numpy passes. This module gives
the same classes from one compiled pass that reads each series once and keeps only
what the assessment needs: the trajectory and state classes and the performance mean
(slope and p-value on request). It shares its per-pixel arithmetic with those
functions (:func:`~landwatch.indices.land.trend.mk_s_and_ties`,
:func:`~landwatch.indices.land.trend.ols_line`,
:func:`~landwatch.indices.land.productivity.state_percentile_classes`) and is tested
to give identical classes (``tests/unit/indices/land/test_productivity_periods.py``).

Scope: NDVI trajectories in ``mode="landwatch"`` (Mann-Kendall p-value and an OLS
dead band). RESTREND, RUE and the Trends.Earth critical-S mode use the per-period
functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.land import productivity as _prod
from landwatch.indices.land import trend as _trend
from landwatch.indices.land.codes import NODATA

__all__ = ["ProductivityWindow", "productivity_periods"]

_ALTERNATIVES = {"two-sided": 0, "greater": 1, "less": 2}
_ROLES = ("trajectory", "baseline", "recent", "performance")
_BLOCK = 64


@dataclass(frozen=True)
class ProductivityWindow:
    """Year windows (inclusive) of one assessment period.

    ``state_baseline`` / ``state_recent`` default as in ``productivity_state`` on the
    trajectory years (recent = last 3, baseline = the years before); ``performance``
    defaults to the trajectory years.
    """

    trajectory: tuple[int, int]
    state_baseline: tuple[int, int] | None = None
    state_recent: tuple[int, int] | None = None
    performance: tuple[int, int] | None = None


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _exact_sf(cdf, s, n):  # pragma: no cover - compiled
    """P(S >= s) for n tie-free values (as ``trend.mann_kendall_exact_sf``)."""
    m = n * (n - 1) // 2
    q = math.floor((m - s) / 2.0)
    if q < 0:
        return 0.0
    if q >= m:
        return 1.0
    return cdf[n, int(q)]


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _mk_p(cdf, s, var, n, ties, alt, exact_max):  # pragma: no cover - compiled
    """Mann-Kendall p-value, the same rule as ``trend.mann_kendall_from_statistics``."""
    if n < 2:
        return np.nan
    if ties == 0 and n <= exact_max:
        if alt == 0:
            if s == 0:
                return 1.0
            return min(1.0, 2.0 * _exact_sf(cdf, abs(s), n))
        if alt == 1:
            return _exact_sf(cdf, s, n)
        return _exact_sf(cdf, -s, n)
    z = 0.0 if s == 0 else (s - np.sign(s)) / np.sqrt(var)
    if alt == 0:
        return math.erfc(abs(z) / math.sqrt(2.0))  # 2 ndtr(-|z|)
    if alt == 1:
        return 0.5 * math.erfc(z / math.sqrt(2.0))  # ndtr(-z)
    return 0.5 * math.erfc(-z / math.sqrt(2.0))  # ndtr(z)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _periods_kernel(
    x,
    t,
    idx,
    cnt,
    cdf,
    alt,
    exact_max,
    significance,
    min_years,
    min_slope,
    zscore,
    min_class_change,
    min_mean_difference,
    z_threshold,
    traj_out,
    state_out,
    mean_out,
    n_out,
    slope_out,
    p_out,
):  # pragma: no cover - compiled
    """x: (nrow, T) (a view of time-major data is fine); idx/cnt: per period and role
    (trajectory, baseline, recent, performance) the time indices; outputs (nrow, W)."""
    nrow, ntime = x.shape
    nwin = idx.shape[0]
    buf = np.empty((_BLOCK, ntime), dtype=np.float64)
    vals = np.empty(ntime, dtype=np.float64)
    ts = np.empty(ntime, dtype=np.float64)
    seen = np.zeros(ntime, dtype=np.bool_)
    ext = np.empty(ntime + 2, dtype=np.float64)
    i0tab, fractab = _prod.decile_positions(ntime + 2)
    bad = False
    for r0 in range(0, nrow, _BLOCK):
        nb = min(_BLOCK, nrow - r0)
        # gather time-outer so that time-major (t, y, x) memory is read sequentially
        for k in range(ntime):
            for rb in range(nb):
                v = x[r0 + rb, k]
                buf[rb, k] = v
                if v > 1.5 or v < -1.5:
                    bad = True
        for rb in range(nb):
            r = r0 + rb
            row = buf[rb]
            for w in range(nwin):
                # trajectory: Mann-Kendall S and OLS slope on the valid years
                m = 0
                for c in range(cnt[w, 0]):
                    k = idx[w, 0, c]
                    v = row[k]
                    if not np.isnan(v):
                        vals[m] = v
                        ts[m] = t[k]
                        m += 1
                s, tie = _trend.mk_s_and_ties(vals, m, seen)
                var = (m * (m - 1) * (2 * m + 5) - tie) / 18.0
                slope = np.nan
                if m >= 2:
                    slope, _, _ = _trend.ols_line(vals, ts, m)
                p = _mk_p(cdf, s, var, m, tie, alt, exact_max)
                if m < min_years:
                    traj_out[r, w] = NODATA
                elif p <= significance and abs(slope) > min_slope:
                    traj_out[r, w] = 1 if s > 0 else (-1 if s < 0 else 0)
                else:
                    traj_out[r, w] = 0
                slope_out[r, w] = slope
                p_out[r, w] = p
                # state: recent mean against the baseline distribution
                kb = 0
                total = 0.0
                for c in range(cnt[w, 1]):
                    v = row[idx[w, 1, c]]
                    if not np.isnan(v):
                        vals[kb] = v
                        kb += 1
                        total += v
                mr = 0
                tsum = 0.0
                for c in range(cnt[w, 2]):
                    v = row[idx[w, 2, c]]
                    if not np.isnan(v):
                        mr += 1
                        tsum += v
                if kb < 3 or mr < 1:  # STATE_MIN_BASELINE_YEARS
                    state_out[r, w] = NODATA
                elif zscore:
                    bl_mean = total / kb
                    tg_mean = tsum / mr
                    ss = 0.0
                    for c in range(kb):
                        d = vals[c] - bl_mean
                        ss += d * d
                    sd = np.sqrt(ss / kb)
                    diff = tg_mean - bl_mean
                    z = 0.0 if diff == 0 else diff / (sd / np.sqrt(mr))
                    if z >= z_threshold:
                        state_out[r, w] = 1
                    elif z <= -z_threshold:
                        state_out[r, w] = -1
                    else:
                        state_out[r, w] = 0
                else:
                    _prod.sort_by_rank(vals, kb, ext)
                    _, _, _, st = _prod.state_percentile_classes(
                        ext,
                        kb,
                        total / kb,
                        tsum / mr,
                        i0tab,
                        fractab,
                        min_class_change,
                        min_mean_difference,
                    )
                    state_out[r, w] = st
                # performance: mean of the valid years
                mp = 0
                psum = 0.0
                for c in range(cnt[w, 3]):
                    v = row[idx[w, 3, c]]
                    if np.isfinite(v):
                        mp += 1
                        psum += v
                mean_out[r, w] = psum / mp if mp > 0 else np.nan
                n_out[r, w] = mp
    return bad


def _periods_core(x: np.ndarray, **kw: Any) -> tuple[np.ndarray, ...]:
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    nrow, nwin = x2.shape[0], kw["idx"].shape[0]
    traj = np.empty((nrow, nwin), np.int16)
    state = np.empty((nrow, nwin), np.int16)
    mean = np.empty((nrow, nwin), np.float32)
    n = np.empty((nrow, nwin), np.int16)
    slope = np.empty((nrow, nwin), np.float32)
    p = np.empty((nrow, nwin), np.float32)
    if nrow:
        bad = _periods_kernel(
            x2,
            kw["t"],
            kw["idx"],
            kw["cnt"],
            _trend._mahonian_cdf(),
            kw["alt"],
            kw["exact_max"],
            kw["significance"],
            kw["min_years"],
            kw["min_slope"],
            kw["zscore"],
            kw["min_class_change"],
            kw["min_mean_difference"],
            kw["z_threshold"],
            traj,
            state,
            mean,
            n,
            slope,
            p,
        )
        if bad:
            _prod._check_ndvi_values(x)  # raises with the full message
    shape = (*lead, nwin)
    outs = [traj, state, mean, n]
    if kw["diagnostics"]:
        outs += [slope, p]
    return tuple(o.reshape(shape) for o in outs)


def productivity_periods(
    ndvi: xr.DataArray,
    windows: Mapping[str, ProductivityWindow],
    *,
    significance: float = 0.05,
    alternative: Literal["two-sided", "greater", "less"] = "two-sided",
    mk_method: Literal["auto", "exact", "normal"] = "auto",
    min_years: int = 10,
    min_slope: float = 0.0,
    state_method: Literal["percentile", "zscore"] = "percentile",
    min_class_change: int = 2,
    min_mean_difference: float = 0.01,
    z_threshold: float = 1.96,
    diagnostics: bool = False,
) -> xr.Dataset:
    """Trajectory and state classes and the performance mean of several periods at once.

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual NDVI in [-1, 1], dims ``(time, y, x)``; NaN = missing. numpy or dask.
    windows : mapping of str to ProductivityWindow
        The periods, e.g. ``{"baseline": ProductivityWindow((2000, 2015)), ...}``.
    significance, alternative, mk_method, min_years, min_slope
        As :func:`~landwatch.indices.land.productivity.productivity_trajectory` with
        ``method="ndvi"``, ``mode="landwatch"``.
    state_method, min_class_change, min_mean_difference, z_threshold
        As :func:`~landwatch.indices.land.productivity.productivity_state`.
    diagnostics : bool
        Also return the OLS ``slope`` and the Mann-Kendall ``p`` (float32).

    Returns
    -------
    xarray.Dataset
        Dims ``(period, y, x)``: ``trajectory``, ``state`` (int16; -1, 0, +1,
        NODATA), ``performance_mean`` (float32, mean NDVI over the performance years)
        and ``performance_n`` (int16, valid years). Feed the mean to
        :func:`~landwatch.indices.land.productivity.performance_from_mean`.

    Raises
    ------
    InputError, InsufficientDataError
        The same checks, with the same messages, as the per-period functions.
    UnitsError
        NDVI outside [-1.5, 1.5] (for dask input, when computed).

    Notes
    -----
    The result equals the per-period functions': the same integer S and tie term,
    the same OLS arithmetic and exact-null table; the normal-approximation p-value
    uses ``erfc`` from the C library instead of scipy's ``ndtr``, which can differ
    in the last bits, so a class can differ only where p is within ~1e-15 of
    ``significance``. The z-score state sums squares sequentially (numpy sums
    pairwise), so z can differ in the last bits.
    """
    years = _prod._check_time(ndvi, "ndvi")
    if not windows:
        raise InputError("windows is empty; expected at least one period, e.g. {'baseline': ...}.")
    if state_method not in ("percentile", "zscore"):
        raise InputError(
            f"state_method={state_method!r} is not supported; expected 'percentile' or 'zscore'."
        )
    if alternative not in _ALTERNATIVES:
        raise InputError(
            f"alternative={alternative!r} is not supported; expected one of "
            f"{', '.join(map(repr, _ALTERNATIVES))}."
        )
    span = _prod._year_span(years)
    positions = np.arange(years.size)
    names = list(windows)
    sets: list[list[np.ndarray]] = []
    for name, win in windows.items():
        tsel = _prod._window(years, win.trajectory, f"{name} trajectory", span)
        wyears = years[tsel]
        _prod.check_trajectory_options(
            wyears, "ndvi", "landwatch", alternative, mk_method, significance, min_years
        )
        bsel, rsel = _prod.state_windows(wyears, win.state_baseline, win.state_recent)
        wpos = positions[tsel]
        psel = (
            _prod._window(years, win.performance, f"{name} performance", span)
            if win.performance is not None
            else tsel
        )
        sets.append([wpos, wpos[bsel], wpos[rsel], positions[psel]])
    nwin = len(sets)
    idx = np.zeros((nwin, len(_ROLES), years.size), np.int64)
    cnt = np.zeros((nwin, len(_ROLES)), np.int64)
    for w, roles in enumerate(sets):
        for j, pos in enumerate(roles):
            idx[w, j, : pos.size] = pos
            cnt[w, j] = pos.size
    kwargs: dict[str, Any] = {
        "t": years.astype(np.float64),
        "idx": idx,
        "cnt": cnt,
        "alt": _ALTERNATIVES[alternative],
        "exact_max": {
            "auto": _trend.EXACT_AUTO_MAX_N,
            "exact": _trend.EXACT_MAX_N,
            "normal": 0,
        }[mk_method],
        "significance": float(significance),
        "min_years": int(min_years),
        "min_slope": float(min_slope),
        "zscore": state_method == "zscore",
        "min_class_change": int(min_class_change),
        "min_mean_difference": float(min_mean_difference),
        "z_threshold": float(z_threshold),
        "diagnostics": bool(diagnostics),
    }
    out_names = ["trajectory", "state", "performance_mean", "performance_n"]
    dtypes: list[Any] = [np.int16, np.int16, np.float32, np.int16]
    if diagnostics:
        out_names += ["slope", "p"]
        dtypes += [np.float32, np.float32]
    results = xr.apply_ufunc(
        _periods_core,
        _prod._single_time_chunk(ndvi),
        input_core_dims=[["time"]],
        output_core_dims=[["period"] for _ in out_names],
        kwargs=kwargs,
        dask="parallelized",
        output_dtypes=dtypes,
        dask_gufunc_kwargs={"output_sizes": {"period": nwin}},
    )
    ds = xr.Dataset(dict(zip(out_names, results, strict=True))).assign_coords(period=names)
    ds = ds.transpose("period", ...)
    ds["trajectory"].attrs = _prod._class_attrs(
        "productivity trajectory",
        _prod._CLASS3_FLAGS,
        significance=float(significance),
        alternative=alternative,
        mk_method=mk_method,
        min_years=int(min_years),
        min_slope=float(min_slope),
    )
    ds["state"].attrs = _prod._class_attrs(
        "productivity state", _prod._CLASS3_FLAGS, method=state_method
    )
    ds["performance_mean"].attrs = _prod._attrs("mean annual NDVI over the performance years")
    ds["performance_n"].attrs = _prod._attrs("number of valid years")
    if diagnostics:
        ds["slope"].attrs = _prod._attrs("OLS slope of annual NDVI per year", "yr-1")
        ds["p"].attrs = _prod._attrs(f"Mann-Kendall p-value ({alternative})", mk_method=mk_method)
    ds.attrs = {"title": "land productivity metrics per period"}
    return ds
