r"""Standardized Precipitation Index (SPI).

The numpy core (:func:`spi_core`) works on a time-major ``(time, cells)`` block,
split into column blocks that run on threads when the block is large and the
caller is the main thread (dask supplies the parallelism for chunked input):

1. exact ``scale``-month window sums (:func:`~landwatch.indices.drought.accumulate.rolling_sum`);
2. per calendar month, the sufficient statistics of the calibration sample (one
   numba pass, :func:`~landwatch.indices.drought.distributions.calibration_statistics`);
3. parameters by the chosen estimator (vectorised over months and cells);
4. mixed CDF :math:`H = p_0 + (1-p_0)G(x)`, then :math:`\Phi^{-1}(H)`. For the
   gamma, one fused numba pass
   (:func:`~landwatch.indices.drought.distributions.zero_inflated_gamma_scores`):
   per cell and calendar month the shape-only work once, then
   :math:`P(\alpha, x/\beta)` for all the years at once
   (:func:`~landwatch.indices.drought.distributions.gamma_p_shared_shape`),
   Wichura's AS241 quantile and the clip, no temporaries. It agrees with
   ``scipy.special.gammainc`` + ``ndtri`` to ~1e-14 at a third of their cost (this
   step was ~90 % of the time). Pearson III keeps the vectorised scipy CDFs.

:func:`standardized_precipitation_index` lifts the core over any extra
dimensions with ``xr.apply_ufunc(..., dask="parallelized")``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numba
import numpy as np
import xarray as xr
from scipy import special

from landwatch.errors import InputError, InsufficientDataError, UnitsError
from landwatch.indices.drought.accumulate import MAX_SCALE, rolling_sum
from landwatch.indices.drought.distributions import (
    GAMMA_P_MAX_SHAPE,
    calibration_statistics,
    gamma_parameters,
    pearson3_cdf,
    pearson3_parameters,
    zero_inflated_gamma_scores,
)
from landwatch.indices.drought.timeaxis import monthly_time_axis

__all__ = ["standardized_precipitation_index", "spi_core", "calibration_rows"]

Distribution = Literal["gamma", "pearson3"]
Method = Literal["thom", "mle", "lmoments"]

_METHOD_NAMES = {
    "thom": "Thom (1958) approximate maximum likelihood",
    "mle": "exact maximum likelihood, location 0",
    "lmoments": "L-moments (unbiased PWM, Hosking 1996 approximation)",
}
# accepted spellings of a monthly amount, compared after lower-casing and removing spaces
_MONTHLY_UNITS = {
    "mm",
    "mm/month",
    "mm/mon",
    "mmmonth-1",
    "mmmon-1",
    "mmmonth**-1",
    "mm.month-1",
    "kgm-2month-1",
    "kgm-2mon-1",
    "kg/m2/month",
    "kg/m^2/month",
    "kgm**-2month**-1",
}
_PE3_TRACE = 0.0005  # climate_indices' zero/trace threshold for Pearson III (mm)
_PARALLEL_MIN_VALUES = 200_000
_BLOCKS_PER_THREAD = 4  # column blocks per thread, so that uneven blocks even out


# ----------------------------------------------------------------------------- numpy core


def calibration_rows(month_index: np.ndarray, in_calibration: np.ndarray) -> np.ndarray:
    """Time rows of each calendar month's calibration sample, shape (12, max_years), -1 padded."""
    lists = [np.flatnonzero((month_index == m) & in_calibration) for m in range(12)]
    width = max(1, max(len(r) for r in lists))
    rows = np.full((12, width), -1, dtype=np.int64)
    for m, r in enumerate(lists):
        rows[m, : len(r)] = r
    return rows


def _month_scores(
    acc_m: np.ndarray, params: tuple[np.ndarray, ...], distribution: str
) -> np.ndarray:
    """Non-exceedance probability of the accumulations of one calendar month (rows x cells)."""
    if distribution == "gamma":
        alpha, beta, p0 = params
        with np.errstate(divide="ignore", invalid="ignore"):
            g = special.gammainc(alpha, acc_m / beta)
        prob = np.where(acc_m == 0.0, p0, p0 + (1.0 - p0) * g)
        return prob
    loc, scale, skew, p0 = params
    # climate_indices 3.1 transform_fitted_pearson, "classic" zero handling
    cdf = pearson3_cdf(acc_m, loc, scale, skew)
    with np.errstate(invalid="ignore"):
        lowest = loc - 2.0 * scale / np.where(skew == 0, np.nan, skew)
        small = acc_m < _PE3_TRACE
        cdf = np.where(small & (p0 > 0), 0.0, cdf)
        cdf = np.where(small & (p0 <= 0), _PE3_TRACE, cdf)
        cdf = np.where((acc_m <= lowest) & (skew >= 0), _PE3_TRACE, cdf)
        cdf = np.where((acc_m >= lowest) & (skew < 0), 1.0 - _PE3_TRACE, cdf)
        prob = np.clip(p0 + (1.0 - p0) * cdf, 0.0, 1.0)
    return np.where(np.isnan(acc_m), np.nan, prob)


@numba.njit(nogil=True, cache=True)
def _any_negative(x: np.ndarray, j0: int, j1: int) -> bool:
    for t in range(x.shape[0]):
        for j in range(j0, j1):
            if x[t, j] < 0:
                return True
    return False


def _score_block(
    tm: np.ndarray,
    j0: int,
    j1: int,
    out: np.ndarray,
    *,
    month_rows: np.ndarray,
    rows: np.ndarray,
    scale: int,
    distribution: str,
    method: str,
    clip: float | None,
    min_years: int,
) -> None:
    """Steps 1-4 for the columns ``j0:j1`` of ``tm``, written into the same columns of ``out``."""
    if _any_negative(tm, j0, j1):
        bad = float(np.nanmin(tm))
        raise InputError(
            f"pr has negative values (minimum {bad:g}); precipitation must be >= 0 mm/month. "
            "Set negative values to 0 (e.g. pr.clip(min=0)) or to NaN if they are fill values."
        )
    acc = rolling_sum(tm[:, j0:j1], scale, axis=0)
    kind = 2 if distribution == "pearson3" else (1 if method == "lmoments" else 0)
    stats = calibration_statistics(acc, rows, kind, 0.0)
    bound = np.inf if clip is None else clip
    if distribution == "gamma":
        alpha, beta, p0 = gamma_parameters(stats, method, min_valid=min_years)  # type: ignore[arg-type]
        with np.errstate(divide="ignore"):
            z_zero = np.clip(special.ndtri(p0), -bound, bound)
        zero_inflated_gamma_scores(acc, month_rows, alpha, beta, p0, z_zero, bound, out, j0)
        big_months, big_cols = np.nonzero(alpha > GAMMA_P_MAX_SHAPE)
        todo: dict[int, list[int]] = {}
        for m, j in zip(big_months.tolist(), big_cols.tolist(), strict=True):
            todo.setdefault(m, []).append(j)
        for m, cols in todo.items():
            r = month_rows[m][month_rows[m] >= 0]
            c = np.asarray(cols)
            prob = _month_scores(acc[np.ix_(r, c)], (alpha[m, c], beta[m, c], p0[m, c]), "gamma")
            out[np.ix_(r, j0 + c)] = np.clip(special.ndtri(prob), -bound, bound)
        return
    params = pearson3_parameters(stats, min_valid=min_years)
    for m in range(month_rows.shape[0]):
        r = month_rows[m][month_rows[m] >= 0]
        if len(r) == 0:
            continue
        prob = _month_scores(acc[r], tuple(p[m] for p in params), distribution)
        z = special.ndtri(prob)
        if clip is not None:
            np.clip(z, -clip, clip, out=z)
        out[r, j0:j1] = z


def spi_core(
    x: np.ndarray,
    *,
    month_index: np.ndarray,
    rows: np.ndarray,
    scale: int,
    distribution: str = "gamma",
    method: str = "thom",
    clip: float | None = 3.09,
    min_years: int = 20,
    threads: int | None = None,
) -> np.ndarray:
    """SPI of a block with time on the LAST axis (numpy level, as ``xr.apply_ufunc`` passes it).

    Parameters
    ----------
    x : ndarray, shape (..., time)
        Monthly precipitation totals (mm), ``NaN`` = missing.
    month_index : ndarray of int, shape (time,)
        Calendar month 0..11 of every time step.
    rows : ndarray of int64, shape (12, max_years)
        Calibration rows per month (see :func:`calibration_rows`).
    scale, distribution, method, clip, min_years
        As :func:`standardized_precipitation_index`.
    threads : int, optional
        Threads over column blocks; default all cores (at most 12) when called
        from the main thread on a block of at least 200,000 values, else 1
        (inside dask tasks). The result does not depend on it.

    Returns
    -------
    ndarray of float64, shape of ``x``.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        arr = arr.astype(np.float64)
    lead = arr.shape[:-1]
    nt = arr.shape[-1]
    # time-major (time, cells); a view when the caller's array was (time, ...) C-ordered
    tm = np.moveaxis(arr, -1, 0).reshape(nt, -1)
    ncells = tm.shape[1]
    out = np.empty((nt, ncells))
    month_rows = calibration_rows(np.asarray(month_index), np.ones(nt, dtype=bool))
    if threads is None:
        threads = (
            min(os.cpu_count() or 1, 12)
            if tm.size >= _PARALLEL_MIN_VALUES
            and threading.current_thread() is threading.main_thread()
            else 1
        )
    nblocks = max(1, min(ncells, threads * _BLOCKS_PER_THREAD if threads > 1 else 1))
    edges = np.linspace(0, ncells, nblocks + 1).round().astype(int)

    def run(b: int) -> None:
        _score_block(
            tm,
            int(edges[b]),
            int(edges[b + 1]),
            out,
            month_rows=month_rows,
            rows=rows,
            scale=scale,
            distribution=distribution,
            method=method,
            clip=clip,
            min_years=min_years,
        )

    if nblocks > 1:
        with ThreadPoolExecutor(min(threads, nblocks)) as pool:
            list(pool.map(run, range(nblocks)))
    else:
        run(0)
    return np.moveaxis(out.reshape(nt, *lead), 0, -1)


# ----------------------------------------------------------------------------- checks


def _check_units(pr: xr.DataArray) -> None:
    units = pr.attrs.get("units")
    if units is None:
        return
    key = str(units).strip().lower().replace(" ", "")
    if key in _MONTHLY_UNITS:
        return
    hint = "convert to monthly totals in mm"
    if key in {"m", "m/month", "mmonth-1"}:
        hint = "multiply by 1000 and set units='mm'"
    elif "s-1" in key or "/s" in key:
        hint = "multiply the rate by the seconds in each month (pr * 86400 * days_in_month)"
    elif "d-1" in key or "day" in key or "/d" in key:
        hint = (
            "sum daily amounts per month (pr.resample(time='MS').sum()) or multiply a "
            "daily-mean rate by the days in each month"
        )
    elif key in {"cm", "in", "inch", "inches"}:
        hint = "convert to mm (x10 for cm, x25.4 for inches)"
    raise UnitsError(
        f"pr has units {units!r}; SPI expects monthly precipitation totals in 'mm' "
        f"(or 'mm/month', 'mm month-1', 'kg m-2 month-1'). Fix: {hint}."
    )


def _time_axis(pr: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    years, months = monthly_time_axis(
        pr,
        "pr",
        gap_fix="Resample to monthly totals (pr.resample(time='MS').sum()) or reindex to a "
        "full monthly axis with NaN for missing months.",
    )
    return years, months - 1


def _calibration_years(
    years: np.ndarray, calibration: tuple[int, int] | None, min_years: int
) -> tuple[int, int]:
    first, last = int(years[0]), int(years[-1])
    if calibration is None:
        c0, c1 = first, last
    else:
        try:
            c0, c1 = (int(v) for v in calibration)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"calibration is {calibration!r}; expected (first_year, last_year), e.g. "
                "(1981, 2010), or None for the full record."
            ) from exc
        if c0 > c1:
            raise InputError(
                f"calibration is {calibration!r}; the first year must not be after the last. "
                "Pass e.g. (1981, 2010)."
            )
    o0, o1 = max(c0, first), min(c1, last)
    n = o1 - o0 + 1
    if n < min_years:
        what = (
            f"the full record has {max(n, 0)} years"
            if calibration is None
            else f"the calibration period {c0}-{c1} overlaps it in {max(n, 0)} years"
            + (f" ({o0}-{o1})" if n > 0 else "")
        )
        raise InsufficientDataError(
            f"pr covers {first}-{last}; {what}, and SPI needs at least min_years={min_years}. "
            "Pass a longer series, a calibration period inside the record "
            "(or calibration=None for the full record), or a smaller min_years."
        )
    return o0, o1


# ----------------------------------------------------------------------------- public API


def standardized_precipitation_index(
    pr: xr.DataArray,
    *,
    scale: int = 3,
    distribution: Distribution = "gamma",
    method: Method = "thom",
    calibration: tuple[int, int] | None = (1981, 2010),
    clip: float | None = 3.09,
    min_years: int = 20,
    freq: str = "MS",
) -> xr.DataArray:
    r"""Standardized Precipitation Index (SPI) of monthly precipitation.

    Parameters
    ----------
    pr : xarray.DataArray
        Monthly precipitation totals [mm] (``units`` attribute, when present, must
        be ``mm``, ``mm/month``, ``mm month-1`` or ``kg m-2 month-1``), dims
        ``(time, ...)`` with any extra dims (station, or y/x), ``time`` a complete
        monthly axis (datetime64 or cftime). ``NaN`` = missing. numpy or dask
        backed; dask may be chunked in space (time is rechunked to one chunk lazily).
    scale : int, default 3
        Accumulation period in months, 1-72 (SO3-1 reporting uses 12).
    distribution : {"gamma", "pearson3"}, default "gamma"
        Distribution of the accumulations. ``"pearson3"`` needs ``method="lmoments"``.
    method : {"thom", "mle", "lmoments"}, default "thom"
        Estimator: Thom's approximate MLE (as climate_indices / xclim ``APP``),
        exact MLE with location 0, or L-moments (as R ``SPEI`` / xclim ``PWM``).
    calibration : (int, int) or None, default (1981, 2010)
        First and last year of the reference period (the WMO normal). Where the
        record covers it only in part the overlap is used if it has at least
        ``min_years`` years; ``None`` uses the full record.
    clip : float or None, default 3.09
        Clip SPI to ``[-clip, clip]`` (Guttman 1999; climate_indices). ``None``
        keeps the raw values (a CDF of exactly 0 or 1 then gives -inf / inf).
    min_years : int, default 20
        Minimum calibration years; also the minimum number of valid accumulations
        per calendar month in the calibration sample.
    freq : {"MS"}
        Time step; only monthly is supported.

    Returns
    -------
    xarray.DataArray
        SPI [1], float64, same dims and coords as ``pr``.

    Raises
    ------
    InputError
        Bad parameters, a non-monthly or gappy time axis, negative precipitation
        (raised at compute time for dask input).
    UnitsError
        ``pr`` units are not a monthly amount in mm.
    InsufficientDataError
        The calibration period in the record is shorter than ``min_years``.

    Notes
    -----
    With :math:`X_t` the ``scale``-month sum ending at month *t*, and for each
    calendar month separately over the calibration years:

    .. math::

        p_0 = \frac{\#\{X = 0\}}{\#\{X \text{ valid}\}}, \qquad
        H(x) = p_0 + (1 - p_0)\,G(x;\hat\theta), \qquad
        \mathrm{SPI} = \Phi^{-1}(H(X_t)),

    where *G* is fitted to the non-zero values (gamma, location 0) and
    :math:`G(0) = 0`, so a zero accumulation scores exactly :math:`\Phi^{-1}(p_0)`
    (climate_indices, xclim ``zero_inflated=True``). A window containing a
    missing month is missing and is left out of the fit.

    Rules for missing output: a calendar month whose calibration sample has fewer
    than ``min_years`` valid accumulations or fewer than 4 non-zero values, or
    whose fit is degenerate (all non-zero values equal), is NaN in every year.

    Pearson III follows climate_indices 3.1 exactly: L-moments of *all* valid
    calibration values (zeros included), ``p0`` mixed on top, values below
    0.0005 treated as zero (or as probability 0.0005 when ``p0 = 0``), values
    outside the fitted support scored 0.0005 / 0.9995.

    References
    ----------
    McKee, T. B., Doesken, N. J. & Kleist, J. (1993) The relationship of drought
    frequency and duration to time scales. 8th Conf. Applied Climatology, 179-184.
    WMO (2012) Standardized Precipitation Index User Guide, WMO-No. 1090.
    Guttman, N. B. (1999) doi:10.1111/j.1752-1688.1999.tb03592.x.
    UNCCD PRAIS4 reporting manual, SO3-1 (SPI-12, reference 1981-2010).
    """
    if not isinstance(pr, xr.DataArray):
        raise InputError(
            f"pr is a {type(pr).__name__}; expected an xarray.DataArray with a monthly "
            "'time' dimension. Wrap it: xr.DataArray(values, dims=('time',), coords={'time': dates})."
        )
    if freq != "MS":
        raise InputError(
            f"freq is {freq!r}; only monthly SPI (freq='MS') is supported. Resample to "
            "monthly totals first: pr.resample(time='MS').sum()."
        )
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | np.integer)
        or not (1 <= scale <= MAX_SCALE)
    ):
        raise InputError(
            f"scale is {scale!r}; expected an integer number of months from 1 to {MAX_SCALE}. "
            "Pass e.g. scale=12 for SO3-1 reporting."
        )
    if distribution not in ("gamma", "pearson3"):
        raise InputError(f"distribution is {distribution!r}; expected 'gamma' or 'pearson3'.")
    if method not in _METHOD_NAMES:
        raise InputError(f"method is {method!r}; expected 'thom', 'mle' or 'lmoments'.")
    if distribution == "pearson3" and method != "lmoments":
        raise InputError(
            f"method is {method!r} with distribution='pearson3'; Pearson III is fitted by "
            "L-moments only. Pass method='lmoments'."
        )
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise InputError(f"clip is {clip!r}; expected a positive number (3.09) or None.")
    if isinstance(min_years, bool) or not isinstance(min_years, int | np.integer) or min_years < 4:
        raise InputError(
            f"min_years is {min_years!r}; expected an integer >= 4 (default 20, WMO advises 30)."
        )
    _check_units(pr)
    years, month_index = _time_axis(pr)
    c0, c1 = _calibration_years(years, calibration, int(min_years))
    rows = calibration_rows(month_index, (years >= c0) & (years <= c1))

    data = pr
    if data.chunks is not None and len(data.chunksizes.get("time", ())) > 1:
        data = data.chunk({"time": -1})

    out = xr.apply_ufunc(
        spi_core,
        data,
        input_core_dims=[["time"]],
        output_core_dims=[["time"]],
        kwargs={
            "month_index": month_index,
            "rows": rows,
            "scale": int(scale),
            "distribution": distribution,
            "method": method,
            "clip": None if clip is None else float(clip),
            "min_years": int(min_years),
        },
        dask="parallelized",
        output_dtypes=[np.float64],
    )
    dims: list[Hashable] = list(pr.dims)
    out = out.transpose(*dims)
    out.name = "spi"
    dist_name = "gamma" if distribution == "gamma" else "Pearson type III"
    requested = "full record" if calibration is None else f"{calibration[0]}-{calibration[1]}"
    out.attrs = {
        "units": "1",
        "long_name": f"Standardized Precipitation Index ({scale}-month)",
        "abbreviation": f"SPI-{scale}",
        "accumulation_months": int(scale),
        "distribution": distribution,
        "method": method,
        "fit": f"{dist_name}, {_METHOD_NAMES[method]}",
        "zero_handling": "p0 mixture: H = p0 + (1 - p0) G(x); zero -> norm.ppf(p0)",
        "calibration_period": f"{c0}-{c1}",
        "calibration_requested": requested,
        "min_years": int(min_years),
        "clip": "none" if clip is None else float(clip),
        "references": "McKee et al. (1993); WMO-No. 1090 (2012); Guttman (1999)",
    }
    return out
