"""Land productivity sub-indicator (SDG 15.3.1 / UNCCD SO1-2): trajectory, state,
performance and their combination into land productivity dynamics (LPD).

All functions take and return xarray objects with dims ``(time, y, x)`` (any
non-``time`` dims are treated as independent pixels); ``time`` is annual, as
integer years or datetime64. Categorical outputs are int16 with
``NODATA = -32768``; continuous outputs are float32. The numpy cores are lifted
with ``xr.apply_ufunc(..., dask="parallelized")`` so numpy and dask inputs give the
same result; a ``time`` axis split over several dask chunks is merged into one
chunk (lazily) because every statistic needs the whole series of a pixel.

Which variant is implemented (see ``unccd_methods.md`` §1.4.1):

* trajectory: ``mode="landwatch"`` (default) uses the Mann-Kendall p-value
  (exact for short tie-free series, else normal with tie correction) at
  ``significance``; ``mode="trends_earth"`` reproduces Trends.Earth's
  Hollander-Wolfe critical-S table, OLS-slope sign and 0.001 NDVI/yr dead band.
* state: ``method="percentile"`` = Trends.Earth / GPG v1 decile classes;
  ``method="zscore"`` = GPG v2 z-score.
* performance: GPG / Trends.Earth ratio of the pixel mean to the 90th percentile
  of its ecological unit, ``<= 0.5`` degraded (no improving class).
* combination: Trends.Earth 5-class table (PRAIS 4 Table 13) or the GPG v1 / v2
  3-class tables, read from ``landwatch/data/lpd_combination.csv``.

References
----------
UNCCD (2021) Good Practice Guidance SDG Indicator 15.3.1, version 2.0, §4.2.
Trends.Earth ``te_algorithms`` @ 35b2b7d: ``gee/productivity.py``,
``gdal/land_deg/land_deg_numba.py`` (``calc_prod5``, ``prod5_to_prod3``,
``recode_traj``, ``recode_state``).
"""

from __future__ import annotations

import csv
import warnings
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

import dask
import dask.array as dsa
import numba
import numpy as np
import xarray as xr

from landwatch.errors import InputError, InsufficientDataError, UnitsError
from landwatch.indices.land import trend as _trend
from landwatch.indices.land.codes import DEGRADED, IMPROVED, LPD_CLASSES, NODATA, STABLE, isin_codes
from landwatch.indices.land.timeaxis import years_of

__all__ = [
    "NDVI_MAX_ABS",
    "TE_MIN_SLOPE",
    "land_productivity_dynamics",
    "lpd5_to_lpd3",
    "productivity_performance",
    "productivity_state",
    "productivity_trajectory",
    "recode_lpd",
    "recode_state_class_change",
    "recode_trajectory_significance",
]

#: NDVI beyond +-1.5 means the input is scaled (e.g. x 10000) or not NDVI.
NDVI_MAX_ABS: float = 1.5
#: Trends.Earth's dead band: |OLS slope| <= 10 NDVI x 10000 / yr -> no trend.
TE_MIN_SLOPE: float = 0.001
#: State needs at least this many valid baseline years per pixel (else NODATA).
STATE_MIN_BASELINE_YEARS: int = 3

_CLASS3_FLAGS = {
    "flag_values": [DEGRADED, STABLE, IMPROVED],
    "flag_meanings": "degrading stable improving",
}
_MISSING = -9999  # look-up sentinel: combination not in the table


# ----------------------------------------------------------------------------- helpers


def _attrs(long_name: str, units: str = "1", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"long_name": long_name, "units": units}
    out.update(extra)
    return out


def _class_attrs(long_name: str, flags: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return _attrs(long_name, "1", **flags, nodata=NODATA, **extra)


def _year_span(years: np.ndarray) -> str:
    return f"{years.min()}-{years.max()}" if years.size else "none"


def _check_time(da: xr.DataArray, name: str) -> np.ndarray:
    if not isinstance(da, xr.DataArray):
        raise InputError(
            f"{name} is a {type(da).__name__}; expected an xarray.DataArray with dims (time, y, x). "
            "Wrap the array with xarray.DataArray(values, dims=('time', 'y', 'x'))."
        )
    if "time" not in da.dims:
        raise InputError(
            f"{name} has dims {da.dims}; expected a 'time' dimension of annual values. "
            "Rename the time dimension, e.g. da.rename({'year': 'time'})."
        )
    years = years_of(da)
    if years.size > 1 and not np.all(np.diff(years) > 0):
        raise InputError(
            f"{name} years are not strictly increasing and unique (got {years.tolist()}); expected "
            "one value per year. Aggregate to annual values and sort by time (da.sortby('time'))."
        )
    return years


@numba.njit(nogil=True, cache=True)
def _finite_range(a):  # pragma: no cover
    """(min, max) of the finite values of a 1-D array; (inf, -inf) when there are none."""
    lo = np.inf
    hi = -np.inf
    for v in a:
        if np.isfinite(v):
            if v < lo:
                lo = v
            if v > hi:
                hi = v
    return float(lo), float(hi)


def _check_ndvi_values(a: np.ndarray, name: str = "ndvi") -> None:
    """Raise UnitsError if a block of NDVI is clearly not in [-1, 1] (runs inside the core)."""
    if a.size == 0:
        return
    lo, hi = _finite_range(np.ravel(a))
    if lo > hi:  # no finite value
        return
    if hi > NDVI_MAX_ABS and hi > 100:
        raise UnitsError(
            f"{name} looks scaled by 10,000 (max {hi:g}); expected NDVI in [-1, 1]. "
            f"Divide by 10000 ({name} / 10000) and mask the nodata value before calling."
        )
    if hi > NDVI_MAX_ABS or lo < -NDVI_MAX_ABS:
        raise UnitsError(
            f"{name} has values in [{lo:g}, {hi:g}]; expected NDVI in [-1, 1]. "
            "Rescale it to NDVI units and set nodata/fill values to NaN before calling."
        )


def _single_time_chunk(da: xr.DataArray) -> xr.DataArray:
    if da.chunks is not None:
        tchunks = da.chunksizes.get("time") if hasattr(da, "chunksizes") else None
        if tchunks is not None and len(tchunks) > 1:
            return da.chunk({"time": -1})
    return da


def _align_exact(
    a: xr.DataArray, b: xr.DataArray, name_a: str, name_b: str, dims: list[str]
) -> None:
    for d in dims:
        if d in a.dims and d in b.dims:
            if a.sizes[d] != b.sizes[d]:
                raise InputError(
                    f"{name_b} has {b.sizes[d]} cells along {d!r} but {name_a} has {a.sizes[d]}; "
                    f"expected the same grid. Reproject/align {name_b} to the {name_a} grid first."
                )
            if d in a.coords and d in b.coords and not np.array_equal(a[d].values, b[d].values):
                raise InputError(
                    f"{name_b} coordinates along {d!r} differ from those of {name_a}; expected the "
                    f"same grid. Reproject/align {name_b} to the {name_a} grid "
                    f"(e.g. {name_b}.rio.reproject_match({name_a}))."
                )


def _spatial_dims(da: xr.DataArray) -> list[str]:
    return [str(d) for d in da.dims if d != "time"]


def _window(years: np.ndarray, window: tuple[int, int], name: str, ndvi_years: str) -> np.ndarray:
    start, end = int(window[0]), int(window[1])
    if start > end:
        raise InputError(
            f"{name}=({start}, {end}) starts after it ends; expected (first_year, last_year)."
        )
    sel = (years >= start) & (years <= end)
    if not sel.any():
        raise InputError(
            f"{name}=({start}, {end}) has no years in ndvi ({ndvi_years}); expected a window inside the "
            "ndvi years. Choose years the series covers."
        )
    return sel


# ----------------------------------------------------------------------------- trajectory


def _restrend_residuals(x: np.ndarray, pr: np.ndarray) -> np.ndarray:
    """Residuals of the per-pixel OLS fit x = a + b pr over years where both are valid."""
    x = x.astype(np.float64)
    pr = np.broadcast_to(pr, x.shape).astype(np.float64)
    ok = np.isfinite(x) & np.isfinite(pr)
    cnt = ok.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pm = np.where(ok, pr, 0.0).sum(axis=-1, keepdims=True) / cnt
        xm = np.where(ok, x, 0.0).sum(axis=-1, keepdims=True) / cnt
        dp = np.where(ok, pr - pm, 0.0)
        sxx = (dp * dp).sum(axis=-1, keepdims=True)
        sxy = (dp * np.where(ok, x - xm, 0.0)).sum(axis=-1, keepdims=True)
        b = np.where(sxx > 0, sxy / sxx, 0.0)
    return np.where(ok, x - (xm + b * (pr - pm)), np.nan)


def _te_significance_code(s: np.ndarray, slope: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Trends.Earth ``signif`` band: sign(OLS slope) x level (1 = 90 %, 2 = 95 %, 3 = 99 %)."""
    crit = _trend.kendall_critical_s_table()
    nn = np.clip(n, 0, crit.shape[1] - 1)
    c90, c95, c99 = crit[0, nn], crit[1, nn], crit[2, nn]
    abs_s = np.abs(s)
    level = (abs_s >= c90).astype(np.int16) + (abs_s >= c95) + ((c99 >= 0) & (abs_s >= c99))
    with np.errstate(invalid="ignore"):
        code = (np.sign(np.nan_to_num(slope)) * level).astype(np.int16)
        code = np.where(abs_s <= c90, 0, code)
        code = np.where(np.abs(slope) <= TE_MIN_SLOPE, 0, code)
    return np.where(c90 >= 0, code, NODATA).astype(np.int16)


def recode_trajectory_significance(code: np.ndarray) -> np.ndarray:
    """Trends.Earth ``recode_traj``: significance code -3..3 -> trajectory -1/0/+1.

    Only the 95 % and 99 % levels count: code <= -2 -> -1, code >= 2 -> +1,
    else 0; NODATA stays NODATA. Numpy level (used by ``mode="trends_earth"``).
    """
    code = np.asarray(code)
    out = np.where(code <= -2, DEGRADED, np.where(code >= 2, IMPROVED, STABLE))
    return np.where(code == NODATA, NODATA, out).astype(np.int16)


def recode_state_class_change(change: np.ndarray, *, min_class_change: int = 2) -> np.ndarray:
    """Trends.Earth ``recode_state``: change in decile class -> state -1/0/+1.

    change <= -min_class_change -> -1, >= min_class_change -> +1, else 0; values
    below -10 (impossible class changes, Trends.Earth's nodata) -> NODATA. Numpy
    level; :func:`productivity_state` applies the same rule per pixel.
    """
    change = np.asarray(change)
    out = np.where(
        change <= -min_class_change,
        DEGRADED,
        np.where(change >= min_class_change, IMPROVED, STABLE),
    )
    return np.where(change < -10, NODATA, out).astype(np.int16)


def _trajectory_core(
    x: np.ndarray,
    *rest: np.ndarray,
    t: np.ndarray,
    method: str,
    mk_method: str,
    alternative: str,
    significance: float,
    mode: str,
    min_years: int,
    sens: bool,
    min_slope: float = 0.0,
) -> tuple[np.ndarray, ...]:
    _check_ndvi_values(x)
    if method == "ndvi":
        series = x
    elif method == "restrend":
        series = _restrend_residuals(x, rest[0])
    else:  # rue: NDVI per metre of precipitation, as Trends.Earth (precip / 1000)
        pr_m = np.broadcast_to(rest[0], x.shape).astype(np.float64) / 1000.0
        with np.errstate(divide="ignore", invalid="ignore"):
            series = np.where(pr_m > 0, x / pr_m, np.nan)
    st = _trend.trend_statistics(series, t, sen=sens)
    mk = _trend.mann_kendall_from_statistics(
        st.s,
        st.var_s,
        st.n,
        st.has_ties,
        method=mk_method,  # type: ignore[arg-type]
        alternative=alternative,  # type: ignore[arg-type]
    )
    enough = st.n >= min_years
    if mode == "landwatch":
        with np.errstate(invalid="ignore"):
            trend = (mk.p <= significance) & (np.abs(st.ols_slope) > min_slope)
            traj = np.where(trend, np.sign(st.s), 0).astype(np.int16)
        code = None
    else:
        code = np.where(enough, _te_significance_code(st.s, st.ols_slope, st.n), NODATA).astype(
            np.int16
        )
        traj = recode_trajectory_significance(code)
    traj = np.where(enough, traj, NODATA).astype(np.int16)
    f32 = np.float32
    outs = [
        st.ols_slope.astype(f32),
        st.sen_slope.astype(f32),
        np.where(st.n > 0, st.s, np.nan).astype(f32),
        mk.p.astype(f32),
        mk.z.astype(f32),
        st.n.astype(np.int16),
        traj,
    ]
    if code is not None:
        outs.append(code)
    return tuple(np.asarray(o) for o in outs)


def check_trajectory_options(
    years: np.ndarray,
    method: str,
    mode: str,
    alternative: str,
    mk_method: str,
    significance: float,
    min_years: int,
) -> None:
    """Raise InputError / InsufficientDataError for bad trajectory options."""
    for name, value, allowed in (
        ("method", method, ("ndvi", "restrend", "rue")),
        ("mode", mode, ("landwatch", "trends_earth")),
        ("alternative", alternative, ("two-sided", "greater", "less")),
        ("mk_method", mk_method, ("auto", "exact", "normal")),
    ):
        if value not in allowed:
            raise InputError(
                f"{name}={value!r} is not supported; expected one of {', '.join(map(repr, allowed))}."
            )
    if not 0 < significance < 1:
        raise InputError(
            f"significance={significance!r}; expected a p-value threshold in (0, 1), e.g. 0.05."
        )
    if int(min_years) < 2:
        raise InputError(f"min_years={min_years!r}; expected at least 2 (Trends.Earth needs 4).")
    if years.size < min_years:
        raise InsufficientDataError(
            f"ndvi has {years.size} years ({_year_span(years)}); the productivity trajectory needs at "
            f"least {min_years}. Pass a longer series or lower min_years (the UNCCD default period is 16 years)."
        )
    if mode == "trends_earth":
        crit = _trend.kendall_critical_s_table()
        if min_years < 4:
            raise InputError(
                f"min_years={min_years} with mode='trends_earth'; the Hollander-Wolfe table starts at n=4. "
                "Use min_years >= 4."
            )
        if years.size > crit.shape[1] - 1:
            raise InputError(
                f"ndvi has {years.size} years; mode='trends_earth' uses the Hollander-Wolfe table, which ends "
                f"at n={crit.shape[1] - 1}. Use a shorter period or mode='landwatch'."
            )


def productivity_trajectory(
    ndvi: xr.DataArray,
    *,
    pr: xr.DataArray | None = None,
    method: Literal["ndvi", "restrend", "rue"] = "ndvi",
    significance: float = 0.05,
    alternative: Literal["two-sided", "greater", "less"] = "two-sided",
    mode: Literal["landwatch", "trends_earth"] = "landwatch",
    min_years: int = 10,
    mk_method: Literal["auto", "exact", "normal"] = "auto",
    sens_slope: bool = True,
    min_slope: float = 0.0,
) -> xr.Dataset:
    """Productivity trajectory: the direction and significance of the NDVI trend.

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual NDVI (growing-season mean or integral in NDVI units, [-1, 1]),
        dims ``(time, y, x)``; NaN = missing.
    pr : xarray.DataArray, optional
        Annual precipitation in mm for exactly the years of ``ndvi``, dims
        ``(time, y, x)`` or ``(time,)``. Required for ``method="restrend"`` / ``"rue"``.
    method : {"ndvi", "restrend", "rue"}
        ``"ndvi"``: trend of NDVI. ``"restrend"``: per pixel, OLS of NDVI on
        ``pr`` over the valid years, trend of the residuals. ``"rue"``: trend of
        rain-use efficiency NDVI / (pr / 1000), i.e. per metre of rain as in
        Trends.Earth; years with pr <= 0 are missing.
    significance : float
        ``mode="landwatch"``: largest p-value counted as a trend (default 0.05).
    alternative : {"two-sided", "greater", "less"}
        Sidedness of the Mann-Kendall p-value (``mode="landwatch"``). Default
        two-sided: p = P(|S| >= |s|).
    mode : {"landwatch", "trends_earth"}
        ``"landwatch"``: trajectory = sign(S) where p <= ``significance``, else 0.
        ``"trends_earth"``: Trends.Earth's rule (see Notes); adds ``significance_code``.
    min_years : int
        Pixels with fewer valid years get NODATA; the series must be at least this long.
    mk_method : {"auto", "exact", "normal"}
        How the Mann-Kendall p-value is computed (see :func:`trend.mann_kendall`).
    sens_slope : bool
        Compute the Theil-Sen slope (about 5x the cost of Mann-Kendall + OLS);
        NaN when False.
    min_slope : float
        ``mode="landwatch"``: a significant trend also needs |OLS slope| greater
        than this (units per year), so that statistically significant but
        negligible trends stay stable. Default 0 (no dead band); the workflow
        default is 0.001 NDVI/yr, Trends.Earth's dead band.

    Returns
    -------
    xarray.Dataset
        ``slope`` (OLS, units per year, float32), ``sens_slope`` (per year,
        float32), ``s`` (Mann-Kendall S), ``p``, ``z`` (float32), ``n`` (valid
        years, int16), ``trajectory`` (int16: -1 degrading, 0 stable, +1
        improving, NODATA) and, in ``trends_earth`` mode, ``significance_code``
        (int16, -3..3).

    Raises
    ------
    InsufficientDataError
        Fewer than ``min_years`` years in ``ndvi``.
    UnitsError
        ``ndvi`` outside [-1.5, 1.5] (e.g. scaled by 10000). For dask input this
        is raised when the result is computed.
    InputError
        Bad parameters, ``pr`` missing or for other years, or misaligned grids.

    Notes
    -----
    Slopes use the calendar years as time coordinate. Mann-Kendall ignores
    missing years (NaN dropped per pixel).

    ``mode="trends_earth"`` (``te_algorithms gee/productivity.py``): with the
    critical values s90, s95, s99 for the pixel's number of valid years n
    (:func:`trend.kendall_critical_s`), level = #{s_k : |S| >= s_k}, code =
    sign(OLS slope) x level, then code = 0 where |S| <= s90 or
    |OLS slope| <= 0.001 per year (Trends.Earth's 10 NDVI x 10000 units, applied
    to RESTREND / RUE units as well, as Trends.Earth does); trajectory = -1 for
    code <= -2, +1 for code >= 2, else 0 (``recode_traj``). Divergence: Trends.Earth
    takes n = the length of the period; we take the valid years per pixel.
    Trends.Earth's "95 %" is a one-sided level of about 0.05-0.06.

    References
    ----------
    Trends.Earth ``te_algorithms`` @ 35b2b7d ``gee/productivity.py::productivity_trajectory``;
    UNCCD GPG v2 (2021) §4.2.5.1; Wessels et al. (2007) RESTREND,
    doi:10.1016/j.jaridenv.2006.12.007.
    """
    years = _check_time(ndvi, "ndvi")
    check_trajectory_options(years, method, mode, alternative, mk_method, significance, min_years)
    args = [_single_time_chunk(ndvi)]
    core_dims = [["time"]]
    if method in ("restrend", "rue"):
        if pr is None:
            raise InputError(
                f"method={method!r} needs pr (annual precipitation, mm) for the ndvi years "
                f"({_year_span(years)}); pass pr=... or use method='ndvi'."
            )
        pr_years = _check_time(pr, "pr")
        if not np.array_equal(pr_years, years):
            missing = sorted(set(years.tolist()) - set(pr_years.tolist()))
            raise InputError(
                f"pr has years {_year_span(pr_years)} ({pr_years.size}) but ndvi has {_year_span(years)} "
                f"({years.size}); expected the same years in the same order"
                + (f" (missing in pr: {missing})" if missing else "")
                + ". Select matching years, e.g. pr.sel(time=ndvi.time)."
            )
        _align_exact(ndvi, pr, "ndvi", "pr", _spatial_dims(pr))
        args.append(_single_time_chunk(pr.assign_coords(time=ndvi["time"].values)))
        core_dims.append(["time"])
    elif pr is not None:
        raise InputError(
            "pr was given but method='ndvi' ignores it; pass method='restrend' or 'rue', or drop pr."
        )

    names = ["slope", "sens_slope", "s", "p", "z", "n", "trajectory"]
    dtypes: list[Any] = [np.float32] * 5 + [np.int16, np.int16]
    if mode == "trends_earth":
        names.append("significance_code")
        dtypes.append(np.int16)
    results = xr.apply_ufunc(
        _trajectory_core,
        *args,
        input_core_dims=core_dims,
        output_core_dims=[[] for _ in names],
        kwargs={
            "t": years.astype(np.float64),
            "method": method,
            "mk_method": mk_method,
            "alternative": alternative,
            "significance": float(significance),
            "mode": mode,
            "min_years": int(min_years),
            "sens": bool(sens_slope),
            "min_slope": float(min_slope),
        },
        dask="parallelized",
        output_dtypes=dtypes,
        join="exact",
    )
    ds = xr.Dataset(dict(zip(names, results, strict=True)))
    vunits = {"ndvi": "1", "restrend": "1", "rue": "m-1"}[method]
    per_year = "yr-1" if vunits == "1" else f"{vunits} yr-1"
    params = {
        "method": method,
        "mode": mode,
        "significance": float(significance),
        "alternative": alternative,
        "mk_method": mk_method,
        "min_years": int(min_years),
        "min_slope": float(min_slope),
        "period": _year_span(years),
    }
    ds["slope"].attrs = _attrs(f"OLS slope of annual {method} per year", per_year)
    ds["sens_slope"].attrs = _attrs(f"Theil-Sen slope of annual {method} per year", per_year)
    ds["s"].attrs = _attrs("Mann-Kendall S statistic")
    ds["p"].attrs = _attrs(f"Mann-Kendall p-value ({alternative})", mk_method=mk_method)
    ds["z"].attrs = _attrs("Mann-Kendall normal score (continuity corrected)")
    ds["n"].attrs = _attrs("number of valid years", "1")
    ds["trajectory"].attrs = _class_attrs("productivity trajectory", _CLASS3_FLAGS, **params)
    if mode == "trends_earth":
        ds["significance_code"].attrs = _class_attrs(
            "Trends.Earth trajectory significance (sign of OLS slope x level; 1=90%, 2=95%, 3=99%)",
            {
                "flag_values": [-3, -2, -1, 0, 1, 2, 3],
                "flag_meanings": "decline_99 decline_95 decline_90 no_trend increase_90 increase_95 increase_99",
            },
            slope_dead_band=TE_MIN_SLOPE,
        )
    ds.attrs = {"title": "land productivity trajectory", **params}
    return ds


# ----------------------------------------------------------------------------- state


@numba.njit(nogil=True, cache=True, inline="always")
def sort_by_rank(vals, k, ext):  # pragma: no cover
    """Write ``vals[:k]`` ascending into ``ext[1 : k + 1]``.

    Each value's rank is counted with branch-free comparisons (k^2 of them, which
    vectorise); for the 13-16 baseline years of a state window this is about twice
    as fast as an insertion sort, whose branches the CPU cannot predict.
    """
    for i in range(k):
        vi = vals[i]
        rk = 0
        for j in range(k):
            vj = vals[j]
            rk += (vj < vi) | ((vj == vi) & (j < i))
        ext[rk + 1] = vi


@numba.njit(nogil=True, cache=True)
def decile_positions(max_size):  # pragma: no cover
    """For each sample size, the lower index and fraction of numpy's 'linear' p10..p90."""
    i0 = np.zeros((max_size + 1, 9), np.int64)
    frac = np.zeros((max_size + 1, 9), np.float64)
    for size in range(1, max_size + 1):
        for q in range(1, 10):
            pos = q / 10.0 * (size - 1)
            f = int(np.floor(pos))
            i0[size, q - 1] = f
            frac[size, q - 1] = pos - f
    return i0, frac


@numba.njit(nogil=True, cache=True, inline="always")
def state_percentile_classes(
    ext, k, bl_mean, tg_mean, i0tab, fractab, min_class_change, min_mean_difference
):  # pragma: no cover
    """Decile classes, class change and state of one pixel.

    ``ext[1 : k + 1]`` holds the pixel's k >= 3 sorted baseline values; ``ext[0]`` and
    ``ext[k + 1]`` are overwritten with the two synthetic extremes. ``i0tab`` and
    ``fractab`` come from :func:`decile_positions`.
    """
    lo = ext[1]
    hi = ext[k]
    rng = hi - lo
    ext[0] = lo - 0.05 * rng
    ext[k + 1] = hi + 0.05 * rng
    size = k + 2
    bl_class = 1
    tg_class = 1
    for q in range(9):  # breaks p10..p90, numpy 'linear' percentile of ext[:size]
        i0 = i0tab[size, q]
        i1 = min(i0 + 1, size - 1)
        frac = fractab[size, q]
        a = ext[i0]
        b = ext[i1]
        d = b - a
        brk = b - d * (1.0 - frac) if frac >= 0.5 else a + d * frac
        bl_class += bl_mean > brk
        tg_class += tg_mean > brk
    change = tg_class - bl_class
    if abs(bl_mean - tg_mean) <= min_mean_difference:
        change = 0
    if change <= -min_class_change:
        state = -1
    elif change >= min_class_change:
        state = 1
    else:
        state = 0
    return bl_class, tg_class, change, state


@numba.njit(nogil=True, cache=True)
def _state_percentile_kernel(
    bl, tg, min_class_change, min_mean_difference, out_f, out_i
):  # pragma: no cover
    nrow, nb = bl.shape
    ntg = tg.shape[1]
    vals = np.empty(nb, np.float64)
    ext = np.empty(nb + 2, np.float64)
    i0tab, fractab = decile_positions(nb + 2)
    for r in range(nrow):
        k = 0
        total = 0.0
        for j in range(nb):
            v = bl[r, j]
            if not np.isnan(v):
                vals[k] = v
                k += 1
                total += v
        m = 0
        tsum = 0.0
        for j in range(ntg):
            v = tg[r, j]
            if not np.isnan(v):
                m += 1
                tsum += v
        if k < 3 or m < 1:  # STATE_MIN_BASELINE_YEARS
            out_f[r, 0] = np.nan
            out_f[r, 1] = np.nan
            for c in range(4):
                out_i[r, c] = -32768
            continue
        sort_by_rank(vals, k, ext)
        bl_mean = total / k
        tg_mean = tsum / m
        bl_class, tg_class, change, state = state_percentile_classes(
            ext, k, bl_mean, tg_mean, i0tab, fractab, min_class_change, min_mean_difference
        )
        out_f[r, 0] = bl_mean
        out_f[r, 1] = tg_mean
        out_i[r, 0] = bl_class
        out_i[r, 1] = tg_class
        out_i[r, 2] = change
        out_i[r, 3] = state


def _state_percentile_core(
    bl: np.ndarray,
    tg: np.ndarray,
    *,
    min_class_change: int,
    min_mean_difference: float,
) -> tuple[np.ndarray, ...]:
    _check_ndvi_values(bl)
    _check_ndvi_values(tg)
    lead = bl.shape[:-1]
    b2 = bl.reshape(-1, bl.shape[-1])
    t2 = np.broadcast_to(tg, lead + tg.shape[-1:]).reshape(-1, tg.shape[-1])
    out_f = np.empty((b2.shape[0], 2), np.float64)
    out_i = np.empty((b2.shape[0], 4), np.int16)
    if b2.shape[0]:
        _state_percentile_kernel(
            b2, t2, int(min_class_change), float(min_mean_difference), out_f, out_i
        )
    f = [out_f[:, i].astype(np.float32).reshape(lead) for i in range(2)]
    i = [out_i[:, c].reshape(lead) for c in range(4)]
    return (*f, *i)


def _state_zscore_core(
    bl: np.ndarray, tg: np.ndarray, *, z_threshold: float
) -> tuple[np.ndarray, ...]:
    _check_ndvi_values(bl)
    _check_ndvi_values(tg)
    bl = bl.astype(np.float64)
    tg = tg.astype(np.float64)
    k = np.isfinite(bl).sum(axis=-1)
    ntg = np.isfinite(tg).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels -> NODATA below
        bl_mean = np.nanmean(bl, axis=-1)
        tg_mean = np.nanmean(tg, axis=-1)
        sd = np.nanstd(bl, axis=-1, ddof=0)
        diff = tg_mean - bl_mean
        z = np.where(diff == 0, 0.0, diff / (sd / np.sqrt(ntg)))
        state = np.where(z >= z_threshold, IMPROVED, np.where(z <= -z_threshold, DEGRADED, STABLE))
    valid = (k >= STATE_MIN_BASELINE_YEARS) & (ntg >= 1)
    f32 = np.float32
    return (
        np.where(valid, bl_mean, np.nan).astype(f32),
        np.where(valid, tg_mean, np.nan).astype(f32),
        np.where(valid, z, np.nan).astype(f32),
        np.where(valid, state, NODATA).astype(np.int16),
    )


def state_windows(
    years: np.ndarray, baseline: tuple[int, int] | None, recent: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over ``years`` of the state baseline and recent windows (checked)."""
    span = _year_span(years)
    if recent is None:
        if years.size < 3 + STATE_MIN_BASELINE_YEARS:
            raise InsufficientDataError(
                f"ndvi has {years.size} years ({span}); the productivity state needs at least "
                f"{3 + STATE_MIN_BASELINE_YEARS} (3 recent + {STATE_MIN_BASELINE_YEARS} baseline). "
                "Pass a longer series."
            )
        recent = (int(years[-3]), int(years[-1]))
    rec = _window(years, recent, "recent", span)
    if baseline is None:
        bsel = years < int(recent[0])
        if bsel.sum() == 0:
            raise InsufficientDataError(
                f"ndvi has no years before recent={tuple(recent)} ({span}); the productivity state needs a "
                "baseline. Pass a longer series or baseline=(first, last)."
            )
    else:
        bsel = _window(years, baseline, "baseline", span)
        if (bsel & rec).any():
            raise InputError(
                f"baseline={tuple(baseline)} overlaps recent={tuple(recent)}; expected disjoint windows. "
                "End the baseline before the recent window starts."
            )
    if bsel.sum() < STATE_MIN_BASELINE_YEARS:
        raise InsufficientDataError(
            f"the baseline window has {int(bsel.sum())} years ({_year_span(years[bsel])}); the productivity "
            f"state needs at least {STATE_MIN_BASELINE_YEARS}. Pass a longer baseline."
        )
    return bsel, rec


def productivity_state(
    ndvi: xr.DataArray,
    *,
    baseline: tuple[int, int] | None = None,
    recent: tuple[int, int] | None = None,
    method: Literal["percentile", "zscore"] = "percentile",
    min_class_change: int = 2,
    min_mean_difference: float = 0.01,
    z_threshold: float = 1.96,
) -> xr.Dataset:
    """Productivity state: recent NDVI against the pixel's own baseline distribution.

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual NDVI in [-1, 1], dims ``(time, y, x)``; NaN = missing.
    baseline, recent : (int, int), optional
        Inclusive year windows. Default: ``recent`` = the last 3 years of ``ndvi``,
        ``baseline`` = every year before ``recent`` (Trends.Earth: first n-3 years).
    method : {"percentile", "zscore"}
        ``"percentile"`` (Trends.Earth / GPG v1) or ``"zscore"`` (GPG v2).
    min_class_change : int
        Percentile method: a change of at least this many decile classes counts (2).
    min_mean_difference : float
        Percentile method: |recent mean - baseline mean| <= this (NDVI) forces no
        change (Trends.Earth: 100 in NDVI x 10000 = 0.01).
    z_threshold : float
        Z-score method: |z| >= this counts (1.96; GPG v2's "potential" level is 1.28).

    Returns
    -------
    xarray.Dataset
        ``baseline_mean``, ``recent_mean`` (float32) and ``state`` (int16: -1
        degrading, 0 stable, +1 improving, NODATA); percentile method adds
        ``baseline_class``, ``recent_class`` (1..10) and ``class_change``; zscore
        adds ``z``. NODATA where fewer than 3 baseline years or no recent year is valid.

    Raises
    ------
    InputError
        Windows outside the series or overlapping, unknown method.
    InsufficientDataError
        Baseline window with fewer than 3 years.
    UnitsError
        ``ndvi`` not in NDVI units.

    Notes
    -----
    Percentile (``te_algorithms gee/productivity.py::productivity_state``): the
    baseline values of a pixel plus two synthetic values min - 0.05 (max - min)
    and max + 0.05 (max - min) give the 10th..90th percentiles (linear
    interpolation, numpy's default; Google Earth Engine's percentile reducer
    may interpolate differently) as class breaks; class = 1 + #{breaks < mean};
    class_change = class(recent mean) - class(baseline mean), set to 0 where
    |mean difference| <= ``min_mean_difference``; state = -1 if change <= -2,
    +1 if >= 2 (``recode_state``).

    Z-score (GPG v2 §4.2.5.2): z = (mean_recent - mean_baseline) /
    (sd_baseline / sqrt(n_recent)) with the population SD (ddof = 0) and
    n_recent the valid recent years; state = sign(z) where |z| >= ``z_threshold``.
    """
    years = _check_time(ndvi, "ndvi")
    if method not in ("percentile", "zscore"):
        raise InputError(f"method={method!r} is not supported; expected 'percentile' or 'zscore'.")
    bsel, rec = state_windows(years, baseline, recent)
    bl = _single_time_chunk(ndvi.isel(time=np.flatnonzero(bsel)))
    tg = _single_time_chunk(ndvi.isel(time=np.flatnonzero(rec)).rename({"time": "time_recent"}))
    params = {
        "method": method,
        "baseline": _year_span(years[bsel]),
        "recent": _year_span(years[rec]),
    }
    if method == "percentile":
        names = [
            "baseline_mean",
            "recent_mean",
            "baseline_class",
            "recent_class",
            "class_change",
            "state",
        ]
        dtypes: list[Any] = [np.float32, np.float32, np.int16, np.int16, np.int16, np.int16]
        kwargs: dict[str, Any] = {
            "min_class_change": int(min_class_change),
            "min_mean_difference": float(min_mean_difference),
        }
        core = _state_percentile_core
        params.update(kwargs)
    else:
        names = ["baseline_mean", "recent_mean", "z", "state"]
        dtypes = [np.float32, np.float32, np.float32, np.int16]
        kwargs = {"z_threshold": float(z_threshold)}
        core = _state_zscore_core  # type: ignore[assignment]
        params.update(kwargs)
    results = xr.apply_ufunc(
        core,
        bl,
        tg,
        input_core_dims=[["time"], ["time_recent"]],
        output_core_dims=[[] for _ in names],
        kwargs=kwargs,
        dask="parallelized",
        output_dtypes=dtypes,
        join="exact",
    )
    ds = xr.Dataset(dict(zip(names, results, strict=True)))
    ds["baseline_mean"].attrs = _attrs(f"mean annual NDVI {params['baseline']}")
    ds["recent_mean"].attrs = _attrs(f"mean annual NDVI {params['recent']}")
    if method == "percentile":
        cls = {
            "flag_values": list(range(1, 11)),
            "flag_meanings": " ".join(f"decile_{i}" for i in range(1, 11)),
        }
        ds["baseline_class"].attrs = _class_attrs("decile class of the baseline mean", cls)
        ds["recent_class"].attrs = _class_attrs("decile class of the recent mean", cls)
        ds["class_change"].attrs = _attrs(
            "change in decile class (recent - baseline)", nodata=NODATA
        )
    else:
        ds["z"].attrs = _attrs("z-score of the recent mean against the baseline (population SD)")
    ds["state"].attrs = _class_attrs("productivity state", _CLASS3_FLAGS, **params)
    ds.attrs = {"title": "land productivity state", **params}
    return ds


# ----------------------------------------------------------------------------- performance


@numba.njit(nogil=True, cache=True)
def _nanmean_axis0(x):  # pragma: no cover
    """Mean and count of finite values along axis 0 of a (T, N) array; flags |x| > 1.5."""
    t_len, n = x.shape
    total = np.zeros(n, dtype=np.float64)
    cnt = np.zeros(n, dtype=np.int64)
    bad = False
    for t in range(t_len):
        for i in range(n):
            v = x[t, i]
            if np.isfinite(v):
                total[i] += v
                cnt[i] += 1
                if v > 1.5 or v < -1.5:
                    bad = True
    mean = np.empty(n, dtype=np.float32)
    for i in range(n):
        mean[i] = total[i] / cnt[i] if cnt[i] > 0 else np.nan
    return mean, cnt.astype(np.int16), bad


@numba.njit(nogil=True, cache=True)
def _nanmean_lastaxis3(x):  # pragma: no cover
    """Like :func:`_nanmean_axis0` for a (Y, X, T) array, looping time outermost so that a
    transposed view of a (T, Y, X) block is read in memory order (no copy)."""
    ny, nx, t_len = x.shape
    total = np.zeros((ny, nx), dtype=np.float64)
    cnt = np.zeros((ny, nx), dtype=np.int64)
    bad = False
    for t in range(t_len):
        for i in range(ny):
            for j in range(nx):
                v = x[i, j, t]
                if np.isfinite(v):
                    total[i, j] += v
                    cnt[i, j] += 1
                    if v > 1.5 or v < -1.5:
                        bad = True
    mean = np.empty((ny, nx), dtype=np.float32)
    for i in range(ny):
        for j in range(nx):
            mean[i, j] = total[i, j] / cnt[i, j] if cnt[i, j] > 0 else np.nan
    return mean, cnt.astype(np.int16), bad


@numba.njit(nogil=True, cache=True)
def _nanmean_rows(x):  # pragma: no cover
    """Mean and count of finite values of each row of a C-contiguous (N, T) array."""
    n, t_len = x.shape
    mean = np.empty(n, dtype=np.float32)
    cnt = np.zeros(n, dtype=np.int16)
    bad = False
    for i in range(n):
        total = 0.0
        c = 0
        for t in range(t_len):
            v = x[i, t]
            if np.isfinite(v):
                total += v
                c += 1
                if v > 1.5 or v < -1.5:
                    bad = True
        mean[i] = total / c if c > 0 else np.nan
        cnt[i] = c
    return mean, cnt, bad


def _mean_core(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    if x.flags.c_contiguous:  # time is the fastest axis: one row per pixel
        mean, cnt, bad = _nanmean_rows(x.reshape(-1, x.shape[-1]))
        mean, cnt = mean.reshape(x.shape[:-1]), cnt.reshape(x.shape[:-1])
    elif x.ndim == 3:  # a transposed view of a (time, y, x) block: loop time outermost
        mean, cnt, bad = _nanmean_lastaxis3(x)
    else:
        xt = np.moveaxis(x, -1, 0)
        flat = np.ascontiguousarray(xt).reshape(xt.shape[0], -1)
        mean, cnt, bad = _nanmean_axis0(flat)
        mean, cnt = mean.reshape(xt.shape[1:]), cnt.reshape(xt.shape[1:])
    if bad:
        _check_ndvi_values(x)  # raises with the full message
    return mean, cnt


def _valid_units(units: np.ndarray) -> np.ndarray:
    u = np.asarray(units)
    if np.issubdtype(u.dtype, np.floating):
        return np.isfinite(u) & (u >= 0)
    return u >= 0


def _group_by_code(vals: np.ndarray, codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Scatter ``vals`` so that each code's values are contiguous (counting sort)."""
    out = np.empty_like(vals)
    _scatter_by_code(out, vals, codes, offsets.copy())
    return out


def _unit_percentiles(
    mean: np.ndarray, units: np.ndarray, percentile: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per ecological unit, the ``percentile`` of the pixel means (numpy 'linear' method).

    Groups pixels by unit with one stable integer sort, then reads the two order
    statistics around the percentile position of each group with ``np.partition``
    (linear time), which gives exactly numpy's 'linear' percentile without sorting
    the values.
    """
    mean = np.asarray(mean, dtype=np.float64).ravel()
    units = np.asarray(units).ravel()
    ok = np.isfinite(mean) & _valid_units(units)
    vals = mean[ok]
    u = units[ok].astype(np.int64)
    if vals.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    if u.min() >= 0 and u.max() < 50_000_000:
        # counting sort: O(n), no comparison sort of 10^7 values
        counts_all = np.bincount(u)
        codes = np.flatnonzero(counts_all)
        count = counts_all[codes]
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        vals = _group_by_code(vals, u, np.concatenate([[0], np.cumsum(counts_all)[:-1]]))
    else:
        order = np.argsort(u, kind="stable")
        vals = vals[order]
        us = u[order]
        start = np.concatenate([[0], np.flatnonzero(us[1:] != us[:-1]) + 1])
        codes = us[start]
        count = np.diff(np.concatenate([start, [us.size]]))
    return codes, _group_percentiles(vals, start, count, percentile)


@numba.njit(nogil=True, cache=True)
def _scatter_by_code(out, vals, codes, pos):  # pragma: no cover
    """Append ``vals`` to their code's run of ``out`` (``pos``: next free slot per code)."""
    for i in range(vals.size):
        c = codes[i]
        out[pos[c]] = vals[i]
        pos[c] += 1


def _unit_percentiles_of_blocks(
    mean_blocks: list[np.ndarray], unit_blocks: list[np.ndarray], percentile: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_unit_percentiles` over matching lists of blocks (the order is irrelevant).

    Groups the values block by block (a counting sort in three passes) instead of
    concatenating the whole area first: the task then holds its input blocks plus one
    copy of the valid means in their own dtype, not several float64/int64 copies of the
    grid (about 2 GB instead of 6 GB at 144 Mpx). Each group's order statistics, hence
    the percentiles, are the same as :func:`_unit_percentiles` computes.
    """

    def valid(m: Any, u: Any) -> tuple[np.ndarray, np.ndarray]:
        m = np.asarray(m).ravel()
        u = np.asarray(u).ravel()
        ok = np.isfinite(m) & _valid_units(u)
        return m[ok], u[ok].astype(np.int64)

    blocks = list(zip(mean_blocks, unit_blocks, strict=True))
    umax, n = -1, 0
    for m, u in blocks:
        _, ub = valid(m, u)
        if ub.size:
            umax = max(umax, int(ub.max()))
            n += ub.size
    if n == 0 or umax >= 50_000_000:
        mean = np.concatenate([np.asarray(b).ravel() for b in mean_blocks])
        units = np.concatenate([np.asarray(b).ravel() for b in unit_blocks])
        return _unit_percentiles(mean, units, percentile)
    counts_all = np.zeros(umax + 1, dtype=np.int64)
    for m, u in blocks:
        counts_all += np.bincount(valid(m, u)[1], minlength=umax + 1)
    dtype = np.result_type(*[np.asarray(m).dtype for m, _ in blocks], np.float32)
    vals = np.empty(n, dtype=dtype)  # float32 means stay float32: exact order statistics
    pos = np.concatenate([[0], np.cumsum(counts_all)[:-1]]).astype(np.int64)
    for m, u in blocks:
        mb, ub = valid(m, u)
        _scatter_by_code(vals, mb.astype(dtype, copy=False), ub, pos)
    codes = np.flatnonzero(counts_all)
    count = counts_all[codes]
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return codes, _group_percentiles(vals, start, count, percentile)


def _group_percentiles(
    vals: np.ndarray, start: np.ndarray, count: np.ndarray, percentile: float
) -> np.ndarray:
    """numpy's 'linear' percentile of each contiguous group ``vals[start:start+count]``."""
    out = np.empty(count.size, dtype=np.float64)
    for g in range(count.size):
        n = int(count[g])
        pos = percentile / 100.0 * (n - 1)
        i0 = int(np.floor(pos))
        i1 = min(i0 + 1, n - 1)
        frac = pos - i0
        part = np.partition(vals[start[g] : start[g] + n], [i0, i1])
        a, b = np.float64(part[i0]), np.float64(part[i1])
        diff = b - a
        # numpy's _lerp: a + d t, computed from the upper end for t >= 0.5
        out[g] = b - diff * (1 - frac) if frac >= 0.5 else a + diff * frac
    return out


def _apply_unit_lookup(
    mean: np.ndarray, units: np.ndarray, lut: tuple[np.ndarray, np.ndarray], *, threshold: float
) -> tuple[np.ndarray, ...]:
    codes, p = lut
    u = np.asarray(units)
    ok_u = _valid_units(u)
    ui = np.where(ok_u, u, -1).astype(np.int64)
    if codes.size and codes.min() >= 0 and codes.max() < 50_000_000:
        table = np.full(int(codes.max()) + 2, np.nan)
        table[codes] = p
        unit_p = table[np.clip(ui, -1, codes.max() + 1)]  # -1 and unknown -> last (NaN)
    elif codes.size:
        idx = np.clip(np.searchsorted(codes, ui), 0, codes.size - 1)
        found = ok_u & (codes[idx] == ui)
        unit_p = np.where(found, p[idx], np.nan)
    else:
        unit_p = np.full(u.shape, np.nan)
    mean64 = mean.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(unit_p > 0, mean64 / unit_p, np.nan)
        perf = np.where(ratio <= threshold, DEGRADED, STABLE)
    perf = np.where(np.isfinite(ratio), perf, NODATA).astype(np.int16)
    return unit_p.astype(np.float32), ratio.astype(np.float32), perf


def check_units(ndvi: xr.DataArray, units: xr.DataArray, percentile: float) -> xr.DataArray:
    """Check the ecological units raster against the NDVI grid; return it without extra coords."""
    if not isinstance(units, xr.DataArray):
        raise InputError(
            f"units is a {type(units).__name__}; expected an xarray.DataArray of ecological unit codes "
            "on the ndvi (y, x) grid."
        )
    if "time" in units.dims:
        raise InputError(
            f"units has dims {units.dims}; expected a 2-D (y, x) raster of ecological unit codes. "
            "Select one year, e.g. units.isel(time=0)."
        )
    if not 0 < percentile <= 100:
        raise InputError(f"percentile={percentile!r}; expected a value in (0, 100], e.g. 90.")
    _align_exact(ndvi, units, "ndvi", "units", [str(d) for d in units.dims])
    missing_dims = set(units.dims) - set(ndvi.dims)
    if missing_dims:
        raise InputError(
            f"units has dims {units.dims} not in ndvi {ndvi.dims}; expected the ndvi spatial dims. "
            "Rename or align the unit raster to the ndvi grid."
        )
    units = units.drop_vars([c for c in units.coords if c not in units.dims], errors="ignore")
    return units


def productivity_performance(
    ndvi: xr.DataArray,
    units: xr.DataArray,
    *,
    percentile: float = 90,
    threshold: float = 0.5,
) -> xr.Dataset:
    """Productivity performance: pixel mean NDVI against the best of its ecological unit.

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual NDVI in [-1, 1] over the performance period, dims ``(time, y, x)``.
    units : xarray.DataArray
        Ecological units (e.g. soil type x land cover codes), integer raster on
        the same ``(y, x)`` grid; negative values (incl. NODATA) and NaN are excluded.
    percentile : float
        Percentile of the unit's pixel means taken as its potential (90).
    threshold : float
        ratio <= threshold is degraded (0.5; exactly 0.5 counts as degraded).

    Returns
    -------
    xarray.Dataset
        ``mean`` (mean NDVI, float32), ``n`` (valid years), ``unit_p90``
        (float32), ``ratio`` = mean / unit_p90 (float32) and ``performance``
        (int16: -1 degraded, 0 not degraded, NODATA where the mean or the unit
        is missing or the unit percentile is <= 0). No improving class exists.

    Raises
    ------
    InputError
        ``units`` on another grid, bad parameters.
    UnitsError
        ``ndvi`` not in NDVI units.

    Notes
    -----
    The unit percentile is a reduction over the whole area: with dask input the
    2-D mean array (one float32 per pixel, 64 MB for 4000 x 4000) is
    materialised in a single task that computes the look-up table; every other
    step stays chunked. Percentiles use numpy's linear interpolation (Trends.Earth
    uses Earth Engine's grouped percentile reducer with ``bestEffort``, possibly
    on a coarsened grid for large areas). Pixels of a unit whose percentile is
    <= 0 (water, bare ground with negative NDVI) get NODATA: the ratio is not
    meaningful there (Trends.Earth would divide anyway).
    """
    years = _check_time(ndvi, "ndvi")
    units = check_units(ndvi, units, percentile)
    mean, cnt = xr.apply_ufunc(
        _mean_core,
        _single_time_chunk(ndvi),
        input_core_dims=[["time"]],
        output_core_dims=[[], []],
        dask="parallelized",
        output_dtypes=[np.float32, np.int16],
    )
    return performance_from_mean(
        mean, cnt, units, percentile=percentile, threshold=threshold, period=_year_span(years)
    )


def performance_from_mean(
    mean: xr.DataArray,
    cnt: xr.DataArray,
    units: xr.DataArray,
    *,
    percentile: float,
    threshold: float,
    period: str,
) -> xr.Dataset:
    """The second half of :func:`productivity_performance`, from the pixel means.

    ``mean`` (float32) and ``cnt`` (int16, valid years) over the performance period,
    ``units`` already checked to be on the same grid; ``period`` labels the metadata.
    """
    units_b = units.broadcast_like(mean).transpose(*mean.dims)
    if isinstance(mean.data, dsa.Array) or isinstance(units_b.data, dsa.Array):
        mean_d = mean.data if isinstance(mean.data, dsa.Array) else dsa.from_array(mean.data)
        units_d = (
            units_b.data if isinstance(units_b.data, dsa.Array) else dsa.from_array(units_b.data)
        )
        units_d = units_d.rechunk(mean_d.chunks)
        # blocks as delayed objects WITHOUT graph optimisation, so that the per-unit
        # percentile task shares the mean's tasks with the map_blocks below instead of
        # recomputing them under fused key names
        mean_blocks = mean_d.to_delayed(optimize_graph=False).ravel().tolist()
        unit_blocks = units_d.to_delayed(optimize_graph=False).ravel().tolist()
        lut = dask.delayed(_unit_percentiles_of_blocks, pure=True)(
            mean_blocks, unit_blocks, float(percentile)
        )

        def _lookup_block(m: np.ndarray, u: np.ndarray, lut: Any) -> np.ndarray:
            # one pass per block; the three outputs fit float32 exactly (codes -1, 0, -32768)
            return np.stack(
                [
                    o.astype(np.float32)
                    for o in _apply_unit_lookup(m, u, lut, threshold=float(threshold))
                ]
            )

        stacked = dsa.map_blocks(
            _lookup_block,
            mean_d,
            units_d,
            lut,
            dtype=np.float32,
            new_axis=0,
            chunks=((3,), *mean_d.chunks),
        )
        outs = [stacked[0], stacked[1], stacked[2].astype(np.int16)]
    else:
        lut_np = _unit_percentiles(mean.values, units_b.values, float(percentile))
        outs = list(
            _apply_unit_lookup(mean.values, units_b.values, lut_np, threshold=float(threshold))
        )
    unit_p, ratio, perf = (mean.copy(data=o) for o in outs)
    params = {
        "percentile": float(percentile),
        "threshold": float(threshold),
        "period": period,
    }
    ds = xr.Dataset(
        {"mean": mean, "n": cnt, "unit_p90": unit_p, "ratio": ratio, "performance": perf}
    )
    ds["mean"].attrs = _attrs(f"mean annual NDVI {params['period']}")
    ds["n"].attrs = _attrs("number of valid years")
    ds["unit_p90"].attrs = _attrs(
        f"{percentile:g}th percentile of mean NDVI in the ecological unit"
    )
    ds["ratio"].attrs = _attrs("mean NDVI / unit percentile")
    ds["performance"].attrs = _class_attrs(
        "productivity performance",
        {"flag_values": [DEGRADED, STABLE], "flag_meanings": "degraded not_degraded"},
        **params,
    )
    ds.attrs = {"title": "land productivity performance", **params}
    return ds


# ----------------------------------------------------------------------------- combination


@lru_cache(maxsize=1)
def _combination_rows() -> tuple[tuple[str, int, int, int, int | None, int], ...]:
    path = resources.files("landwatch").joinpath("data", "lpd_combination.csv")
    rows = []
    with path.open("r", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append(
                (
                    r["table"],
                    int(r["trajectory"]),
                    int(r["state"]),
                    int(r["performance"]),
                    int(r["lpd5"]) if r["lpd5"].strip() else None,
                    int(r["lpd3"]),
                )
            )
    return tuple(rows)


TABLES = ("trends_earth", "gpg_v2", "gpg_v1")


@cache
def combination_lookup(table: str) -> tuple[np.ndarray | None, np.ndarray]:
    """Look-up arrays (lpd5 or None, lpd3) indexed by 9 (traj+1) + 3 (state+1) + (perf+1).

    Combinations absent from the table hold ``-9999``. Loaded from
    ``landwatch/data/lpd_combination.csv``.
    """
    if table not in TABLES:
        raise InputError(
            f"table={table!r} is not supported; expected one of {', '.join(map(repr, TABLES))}."
        )
    l5 = np.full(27, _MISSING, np.int16)
    l3 = np.full(27, _MISSING, np.int16)
    has5 = False
    for name, tr, st, pf, v5, v3 in _combination_rows():
        if name != table:
            continue
        i = 9 * (tr + 1) + 3 * (st + 1) + (pf + 1)
        l3[i] = v3
        if v5 is not None:
            l5[i] = v5
            has5 = True
    return (l5 if has5 else None), l3


def _as_codes(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.floating):
        a = np.where(np.isfinite(a), a, NODATA)
    return a.astype(np.int64)


def _bad_codes(a: np.ndarray, allowed: tuple[int, ...]) -> list[int]:
    bad = np.unique(a[~isin_codes(a, allowed)])
    return [int(v) for v in bad[:10]]


@numba.njit(nogil=True, cache=True)
def _lpd_kernel(t, s, p, l5, l3, out5, out3):  # pragma: no cover - compiled
    """Table look-up of (trajectory, state, performance); False on any code or
    combination the table does not hold (the numpy path then names it)."""
    for i in range(t.size):
        a = t[i]
        b = s[i]
        c = p[i]
        if a == NODATA or b == NODATA or c == NODATA:
            out3[i] = NODATA
            out5[i] = NODATA
            continue
        if a < -1 or a > 1 or b < -1 or b > 1 or c < -1 or c > 1:
            return False
        k = 9 * (a + 1) + 3 * (b + 1) + (c + 1)
        if l3[k] == _MISSING:
            return False
        out3[i] = l3[k]
        out5[i] = l5[k]
    return True


def _lpd_fast(
    traj: np.ndarray, state: np.ndarray, perf: np.ndarray, table: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Compiled path for int16 inputs of one shape; None to use the numpy path."""
    arrs = [np.asarray(a) for a in (traj, state, perf)]
    if any(a.dtype != np.int16 or a.shape != arrs[0].shape for a in arrs):
        return None
    l5, l3 = combination_lookup(table)
    out5 = np.empty(arrs[0].shape, np.int16)
    out3 = np.empty(arrs[0].shape, np.int16)
    t, st, p = (np.ascontiguousarray(a).ravel() for a in arrs)
    ok = _lpd_kernel(t, st, p, l3 if l5 is None else l5, l3, out5.ravel(), out3.ravel())
    return (out5, out3) if ok else None


def _lpd_core(
    traj: np.ndarray, state: np.ndarray, perf: np.ndarray, *, table: str
) -> tuple[np.ndarray, ...]:
    fast = _lpd_fast(traj, state, perf, table)
    if fast is not None:
        return fast if combination_lookup(table)[0] is not None else fast[1]  # type: ignore[return-value]
    l5, l3 = combination_lookup(table)
    arrs = []
    for name, a in (("trajectory", traj), ("state", state), ("performance", perf)):
        a = _as_codes(a)
        bad = _bad_codes(a, (DEGRADED, STABLE, IMPROVED, NODATA))
        if bad:
            raise InputError(
                f"{name} has codes {bad}; expected -1 (degrading), 0 (stable), 1 (improving) or "
                f"{NODATA} (nodata). Pass the '{name}' variable of the productivity_{name} result."
            )
        arrs.append(a)
    t, s, p = np.broadcast_arrays(*arrs)
    nod = (t == NODATA) | (s == NODATA) | (p == NODATA)
    idx = np.where(nod, 0, 9 * (t + 1) + 3 * (s + 1) + (p + 1))
    v3 = l3[idx]
    miss = ~nod & (v3 == _MISSING)
    if miss.any():
        combos = sorted(
            {
                (int(a), int(b), int(c))
                for a, b, c in zip(t[miss][:1000], s[miss][:1000], p[miss][:1000], strict=True)
            }
        )
        raise InputError(
            f"(trajectory, state, performance) combinations {combos[:5]} are not in the {table!r} look-up table; "
            "performance has only -1 (degraded) and 0 (not degraded) there. Recode performance to -1/0."
        )
    out3 = np.where(nod, NODATA, v3).astype(np.int16)
    if l5 is None:
        return out3  # type: ignore[return-value]  # one output: apply_ufunc wants the bare array
    return np.where(nod, NODATA, l5[idx]).astype(np.int16), out3


def _pick(obj: xr.DataArray | xr.Dataset, var: str) -> xr.DataArray:
    if isinstance(obj, xr.Dataset):
        if var not in obj:
            raise InputError(
                f"the dataset passed as {var} has no {var!r} variable; pass the {var} DataArray."
            )
        return obj[var]
    if not isinstance(obj, xr.DataArray):
        raise InputError(
            f"{var} is a {type(obj).__name__}; expected an xarray.DataArray of -1/0/1 codes."
        )
    return obj


_LPD5_ATTRS = {
    "flag_values": list(LPD_CLASSES),
    "flag_meanings": " ".join(v.lower().replace(" ", "_") for v in LPD_CLASSES.values()),
}


def land_productivity_dynamics(
    trajectory: xr.DataArray | xr.Dataset,
    state: xr.DataArray | xr.Dataset,
    performance: xr.DataArray | xr.Dataset,
    *,
    table: Literal["trends_earth", "gpg_v2", "gpg_v1"] = "trends_earth",
) -> xr.Dataset:
    """Combine trajectory, state and performance into land productivity dynamics.

    Parameters
    ----------
    trajectory, state : xarray.DataArray or Dataset
        -1 degrading / 0 stable / +1 improving / NODATA (a Dataset returned by
        :func:`productivity_trajectory` / :func:`productivity_state` is accepted).
    performance : xarray.DataArray or Dataset
        -1 degraded / 0 not degraded / NODATA. For ``table="trends_earth"`` a
        +1 is accepted and combined as Trends.Earth's ``calc_prod5`` does.
    table : {"trends_earth", "gpg_v2", "gpg_v1"}
        Look-up table (``landwatch/data/lpd_combination.csv``):
        Trends.Earth / PRAIS 4 Table 13 (default), GPG v2 (2021) or v1 (2017).

    Returns
    -------
    xarray.Dataset
        ``lpd5`` (int16 1..5, NODATA; ``trends_earth`` only) and ``lpd3``
        (int16 -1/0/1, NODATA). NODATA wherever any input is NODATA (or NaN).

    Raises
    ------
    InputError
        Codes other than -1/0/1/NODATA, or a combination absent from the table.

    Notes
    -----
    Trends.Earth's ``calc_prod5`` applies rules in order (trajectory decides, then
    (0, 0, -1) -> 3, (1, -1, -1) -> 2, (0, -1, 0) -> 2, (0, -1, -1) -> 1); with
    performance = +1, which our performance never emits, (0, -1, +1) -> 4. The
    table reproduces all 27 cases. The GPG tables define 3 classes only.
    """
    t = _pick(trajectory, "trajectory")
    s = _pick(state, "state")
    p = _pick(performance, "performance")
    l5, _ = combination_lookup(table)
    names = ["lpd5", "lpd3"] if l5 is not None else ["lpd3"]
    res = xr.apply_ufunc(
        _lpd_core,
        t,
        s,
        p,
        kwargs={"table": table},
        output_core_dims=[[] for _ in names],
        dask="parallelized",
        output_dtypes=[np.int16] * len(names),
        join="exact",
    )
    if len(names) == 1 and not isinstance(res, tuple):
        res = (res,)
    ds = xr.Dataset(dict(zip(names, res, strict=True)))
    if "lpd5" in ds:
        ds["lpd5"].attrs = _class_attrs(
            "land productivity dynamics (5 classes)", _LPD5_ATTRS, table=table
        )
    ds["lpd3"].attrs = _class_attrs(
        "land productivity degradation (3 classes)",
        {"flag_values": [DEGRADED, STABLE, IMPROVED], "flag_meanings": "degraded stable improved"},
        table=table,
    )
    ds.attrs = {"title": "land productivity dynamics", "table": table}
    return ds


_LPD5_TO_3 = {1: DEGRADED, 2: DEGRADED, 3: STABLE, 4: STABLE, 5: IMPROVED}


def _lpd5_to_lpd3_core(a: np.ndarray, *, name: str = "lpd5") -> np.ndarray:
    a = _as_codes(a)
    bad = _bad_codes(a, (*_LPD5_TO_3, NODATA))
    if bad:
        raise InputError(
            f"{name} has codes {bad}; expected LPD classes 1..5 or {NODATA} (nodata). "
            "Recode the raster first (recode_lpd for JRC/FAO-WOCAT layers)."
        )
    out = np.full(a.shape, NODATA, np.int16)
    for k, v in _LPD5_TO_3.items():
        out[a == k] = v
    return out


def lpd5_to_lpd3(lpd5: xr.DataArray) -> xr.DataArray:
    """Collapse 5-class LPD to 3 classes: {1, 2} -> -1, {3, 4} -> 0, {5} -> +1.

    Parameters
    ----------
    lpd5 : xarray.DataArray
        LPD classes 1..5 with NODATA (-32768) or NaN for missing.

    Returns
    -------
    xarray.DataArray
        int16 -1/0/1/NODATA (Trends.Earth ``prod5_to_prod3``).

    Raises
    ------
    InputError
        Any other code (the message lists them).
    """
    out = xr.apply_ufunc(_lpd5_to_lpd3_core, lpd5, dask="parallelized", output_dtypes=[np.int16])
    out.name = "lpd3"
    out.attrs = _class_attrs(
        "land productivity degradation (3 classes)",
        {"flag_values": [DEGRADED, STABLE, IMPROVED], "flag_meanings": "degraded stable improved"},
    )
    return out


_RECODE_SCHEMES: dict[str, tuple[int, ...]] = {
    "jrc": (0, 15),  # JRC LPD: 0 = no data, 15 = water / no data
    "trends_earth": (),
}


def _recode_core(a: np.ndarray, *, nodata_codes: tuple[int, ...], scheme: str) -> np.ndarray:
    a = _as_codes(a)
    a = np.where(isin_codes(a, nodata_codes), NODATA, a)
    bad = _bad_codes(a, (1, 2, 3, 4, 5, NODATA))
    if bad:
        expected = (
            "1..5" + (f", nodata {list(nodata_codes)}" if nodata_codes else "") + f" or {NODATA}"
        )
        raise InputError(
            f"lpd ({scheme}) has codes {bad}; expected {expected}. Check that the raster is a 5-class LPD "
            "layer and mask other values to nodata first."
        )
    return a.astype(np.int16)


def recode_lpd(lpd: xr.DataArray, *, scheme: Literal["jrc", "trends_earth"] = "jrc") -> xr.Dataset:
    """Read a precomputed 5-class LPD layer (JRC, FAO-WOCAT, Trends.Earth) into our codes.

    Parameters
    ----------
    lpd : xarray.DataArray
        Classes 1 Declining, 2 Moderate decline (early signs), 3 Stable but
        stressed, 4 Stable, 5 Increasing.
    scheme : {"jrc", "trends_earth"}
        ``"jrc"``: 0 and 15 are no data; ``"trends_earth"``: only -32768 / NaN.

    Returns
    -------
    xarray.Dataset
        ``lpd5`` (int16 1..5, NODATA) and ``lpd3`` (int16 -1/0/1, NODATA).

    Raises
    ------
    InputError
        Unknown scheme, or codes other than 1..5 and the scheme's no-data codes.
    """
    if scheme not in _RECODE_SCHEMES:
        raise InputError(
            f"scheme={scheme!r} is not supported; expected one of {', '.join(map(repr, _RECODE_SCHEMES))}."
        )
    lpd5 = xr.apply_ufunc(
        _recode_core,
        lpd,
        kwargs={"nodata_codes": _RECODE_SCHEMES[scheme], "scheme": scheme},
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    lpd5.attrs = _class_attrs(
        "land productivity dynamics (5 classes)", _LPD5_ATTRS, source_scheme=scheme
    )
    ds = xr.Dataset({"lpd5": lpd5, "lpd3": lpd5_to_lpd3(lpd5)})
    ds.attrs = {"title": "land productivity dynamics", "source_scheme": scheme}
    return ds
