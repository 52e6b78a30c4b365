"""Annual composites of sub-annual NDVI (the input of the productivity sub-indicator).

The productivity kernels (:mod:`landwatch.indices.land.productivity`) take one
value per pixel and year. Satellite NDVI comes as 8- or 16-day composites (MODIS
MOD13Q1/MYD13Q1), or monthly; :func:`annual_composite` reduces them to annual
values (mean, maximum or median), optionally over a season window, and masks
pixel-years with too few valid observations.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import xarray as xr

from landwatch.errors import InputError

__all__ = ["annual_composite", "season_years"]

_HOW = ("mean", "max", "median")
_REDUCERS: dict[str, Callable[..., np.ndarray]] = {
    "mean": np.nanmean,
    "max": np.nanmax,
    "median": np.nanmedian,
}


def _check_months(months: tuple[int, int] | None) -> tuple[int, int]:
    if months is None:
        return 1, 12
    try:
        start, end = (int(m) for m in months)
    except (TypeError, ValueError):
        raise InputError(
            f"months={months!r}; expected (first_month, last_month) as two integers 1..12, "
            "e.g. (6, 11) for June-November."
        ) from None
    if not (1 <= start <= 12 and 1 <= end <= 12):
        raise InputError(
            f"months=({start}, {end}); expected months in 1..12, e.g. (6, 11) for June-November "
            "or (11, 3) for a season across the new year."
        )
    return start, end


def season_years(
    time: np.ndarray, months: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Season year of every time step and whether it falls in the season window.

    Parameters
    ----------
    time : numpy.ndarray of datetime64
        Time steps.
    months : (int, int), optional
        Inclusive season window (first month, last month); ``None`` = the calendar
        year. A window with first > last (e.g. ``(11, 3)``) crosses the new year.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        int year of each step (a season across the new year is labelled with the year
        it ends in) and a bool mask of the steps inside the window.
    """
    start, end = _check_months(months)
    t = np.asarray(time).astype("datetime64[M]")
    year = t.astype("datetime64[Y]").astype(int) + 1970
    month = t.astype(int) % 12 + 1
    if start <= end:
        inside = (month >= start) & (month <= end)
        return year, inside
    inside = (month >= start) | (month <= end)
    return np.where(month >= start, year + 1, year), inside


def _season_months(start: int, end: int) -> list[int]:
    if start <= end:
        return list(range(start, end + 1))
    return list(range(start, 13)) + list(range(1, end + 1))


def _composite_core(
    x: np.ndarray, *, groups: tuple[np.ndarray, ...], how: str, min_obs: int
) -> np.ndarray:
    out_dtype = np.result_type(x.dtype, np.float32)
    xf = x.astype(out_dtype, copy=False)
    out = np.empty(x.shape[:-1] + (len(groups),), dtype=out_dtype)
    reduce = _REDUCERS[how]
    for k, idx in enumerate(groups):
        sub = xf[..., idx]
        count = np.isfinite(sub).sum(axis=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels -> NaN
            val = reduce(sub, axis=-1)
        out[..., k] = np.where(count >= min_obs, val, np.nan)
    return out


def annual_composite(
    ndvi: xr.DataArray,
    *,
    how: Literal["mean", "max", "median"] = "mean",
    min_obs: int = 12,
    months: tuple[int, int] | None = None,
    drop_incomplete: bool = True,
) -> xr.DataArray:
    """Annual composite of sub-annual NDVI: one value per pixel and year (or season).

    Parameters
    ----------
    ndvi : xarray.DataArray
        NDVI (or another vegetation index) with a ``time`` dimension of datetime64
        values, e.g. 16-day or 8-day MODIS composites, dims ``(time, y, x)``; NaN =
        missing (mask fill values and divide scaled data, e.g. x 10000, before).
    how : {"mean", "max", "median"}
        Reduction over the valid observations of a year. ``"mean"`` approximates the
        annual integral of evenly spaced composites (the Trends.Earth default).
    min_obs : int
        A pixel-year with fewer valid (finite) observations is NaN (default 12, i.e.
        about half the 16-day composites of a year, or a quarter of Terra + Aqua).
    months : (int, int), optional
        Season window (first month, last month), inclusive; ``None`` = calendar year.
        A window with first > last (e.g. ``(11, 3)``) crosses the new year and is
        labelled with the year in which it ends.
    drop_incomplete : bool
        Drop years whose time axis has no time step in at least one month of the
        window, e.g. a series starting in February or ending in June (default True).
        This catches partial first and last years that ``min_obs`` alone lets
        through when the sampling density changes (MODIS Terra-only 2000-2002: 23
        composites a year; Terra + Aqua: 46).

    Returns
    -------
    xarray.DataArray
        Annual values, dims as ``ndvi`` with ``time`` holding integer years,
        float32 (float64 for float64 input); other coordinates (e.g. the CRS in
        ``spatial_ref``) are kept. Attributes ``units`` (from ``ndvi``, default
        ``"1"``), ``long_name``, ``cell_methods``, ``method``, ``min_obs``, ``months``.

    Raises
    ------
    InputError
        ``ndvi`` is not a DataArray, has no datetime64 ``time``, its time steps are
        not increasing, bad ``how``/``min_obs``/``months``, or no year is left.

    Notes
    -----
    For year (season) *y* with valid observations :math:`x_1..x_n` of a pixel:
    value = mean / max / median of :math:`x_i` if :math:`n \\ge` ``min_obs``, else
    NaN. Observations are not weighted by the length of their composite period.
    The same numpy core runs on numpy and dask arrays (``xr.apply_ufunc(...,
    dask="parallelized")``); a ``time`` axis split over several dask chunks is
    merged into one chunk (lazily).

    References
    ----------
    UNCCD (2021) Good Practice Guidance SDG Indicator 15.3.1, version 2.0, §4.2.2
    (annual integrals of NDVI as the productivity metric).
    """
    if not isinstance(ndvi, xr.DataArray):
        raise InputError(
            f"ndvi is a {type(ndvi).__name__}; expected an xarray.DataArray with dims "
            "(time, y, x). Wrap the array with xarray.DataArray(values, dims=('time', 'y', 'x'))."
        )
    if "time" not in ndvi.dims:
        raise InputError(
            f"ndvi has dims {ndvi.dims}; expected a 'time' dimension of observation dates. "
            "Rename the time dimension, e.g. da.rename({'band': 'time'})."
        )
    time = ndvi["time"].values
    if not np.issubdtype(time.dtype, np.datetime64):
        raise InputError(
            f"ndvi time is {time.dtype} (e.g. {time[:1].tolist()}); expected datetime64 "
            "observation dates. Assign dates, e.g. "
            "da.assign_coords(time=pandas.to_datetime(dates))."
        )
    if time.size > 1 and not np.all(np.diff(time) > np.timedelta64(0)):
        raise InputError(
            "ndvi time steps are not strictly increasing and unique; expected one step per "
            "date. Sort by time (da.sortby('time')) and drop duplicate dates."
        )
    if how not in _HOW:
        raise InputError(
            f"how={how!r} is not supported; expected one of {', '.join(map(repr, _HOW))}."
        )
    if isinstance(min_obs, bool) or int(min_obs) != min_obs or min_obs < 1:
        raise InputError(f"min_obs={min_obs!r}; expected a whole number >= 1, e.g. 12.")
    start, end = _check_months(months)
    year, inside = season_years(time, (start, end))
    candidates = np.unique(year[inside])
    keep_years = []
    wanted = set(_season_months(start, end))
    month = time.astype("datetime64[M]").astype(int) % 12 + 1
    for y in candidates:
        sel = inside & (year == y)
        if drop_incomplete and set(month[sel].tolist()) != wanted:
            continue
        keep_years.append(int(y))
    if not keep_years:
        span = f"{str(time.min())[:10]}..{str(time.max())[:10]}" if time.size else "empty"
        raise InputError(
            f"ndvi ({span}) has no complete year for months=({start}, {end}); expected at "
            "least one year with time steps in every month of the window. Pass a longer "
            "series or drop_incomplete=False."
        )
    groups = tuple(np.flatnonzero(inside & (year == y)) for y in keep_years)
    data = ndvi
    if data.chunks is not None and len(data.chunksizes.get("time", ())) > 1:
        data = data.chunk({"time": -1})
    out_dtype = np.result_type(ndvi.dtype, np.float32)
    out = xr.apply_ufunc(
        _composite_core,
        data,
        input_core_dims=[["time"]],
        output_core_dims=[["year"]],
        exclude_dims={"time"},
        kwargs={"groups": groups, "how": how, "min_obs": int(min_obs)},
        dask="parallelized",
        output_dtypes=[out_dtype],
        dask_gufunc_kwargs={"output_sizes": {"year": len(keep_years)}},
        keep_attrs=True,  # keeps coordinate attrs (e.g. the CRS in spatial_ref)
    )
    out = out.rename({"year": "time"}).assign_coords(time=np.asarray(keep_years, dtype=np.int64))
    out = out.transpose(*ndvi.dims)
    window = "calendar year" if months is None else f"months {start}-{end}"
    attrs: dict[str, Any] = {
        "units": ndvi.attrs.get("units", "1"),
        "long_name": f"annual {how} of {ndvi.name or 'ndvi'} ({window})",
        "cell_methods": f"time: {'maximum' if how == 'max' else how} within years",
        "method": how,
        "min_obs": int(min_obs),
        "months": f"{start}-{end}",
    }
    out.attrs = attrs
    out.name = ndvi.name
    return out
