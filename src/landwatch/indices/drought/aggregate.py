"""Daily to monthly aggregation with a WMO-style missing-day rule.

SPI and SPEI work on monthly totals, but most station and gridded sources are
daily. This module turns a daily series into monthly values and blanks months with
too many missing days, counting against the days the month has *in the series'
calendar* (28/29/30/31 in ``standard``, always 28 in a ``noleap`` February, 30 in
every ``360_day`` month), so days absent from the time index count as missing just
like ``NaN`` values.
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import InputError, UnitsError

__all__ = ["daily_to_monthly"]

_HOW_CODES: dict[str, int] = {"sum": 0, "mean": 1, "min": 2, "max": 3}

# Daily precipitation given as an amount per day (mm per day).
_MM_PER_DAY = {"mm/day", "mmday-1", "mmd-1", "mm/d", "mmday^-1", "mmday**-1", "mm", "kgm-2d-1"}
# Precipitation flux in SI units; 1 kg m-2 of water = 1 mm, so x 86400 s/day gives mm/day.
_KG_M2_S1 = {"kgm-2s-1", "kg/m2/s", "kgm**-2s**-1", "kgm^-2s^-1", "kg/m^2/s", "mm/s", "mms-1"}
_SECONDS_PER_DAY = 86400.0


@numba.njit(nogil=True, cache=True)
def _monthly_kernel(
    full: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    how: int,
    max_missing: int,
    max_consecutive: int,
    min_valid: np.ndarray,
    out: np.ndarray,
) -> None:
    """Monthly reduction of a (cells, days) array laid out on the full calendar.

    ``full`` holds one column per calendar day, ``NaN`` for missing or absent days.
    ``max_consecutive < 0`` disables the run rule; ``min_valid[m]`` is the least
    number of valid days month ``m`` needs.
    """
    nc = full.shape[0]
    nm = starts.shape[0]
    for j in range(nc):
        for m in range(nm):
            s = starts[m]
            n_days = lengths[m]
            n_valid = 0
            acc = 0.0
            run = 0
            longest = 0
            for k in range(s, s + n_days):
                v = full[j, k]
                if np.isnan(v):
                    run += 1
                    if run > longest:
                        longest = run
                    continue
                run = 0
                n_valid += 1
                if how <= 1:
                    acc += v
                elif n_valid == 1:
                    acc = v
                elif how == 2:
                    acc = min(acc, v)
                else:
                    acc = max(acc, v)
            bad = (
                n_valid == 0
                or n_days - n_valid > max_missing
                or (max_consecutive >= 0 and longest > max_consecutive)
                or n_valid < min_valid[m]
            )
            if bad:
                out[j, m] = np.nan
            elif how == 1:
                out[j, m] = acc / n_valid
            else:
                out[j, m] = acc


def _aggregate_numpy(
    x: np.ndarray,
    pos: np.ndarray,
    n_full: int,
    starts: np.ndarray,
    lengths: np.ndarray,
    how: int,
    max_missing: int,
    max_consecutive: int,
    min_valid: np.ndarray,
    scale: float,
) -> np.ndarray:
    """Numpy core: ``x`` (..., time) -> (..., month) in float64."""
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
    full = np.full((flat.shape[0], n_full), np.nan)
    full[:, pos] = flat * scale if scale != 1.0 else flat
    out = np.empty((flat.shape[0], starts.shape[0]), dtype=np.float64)
    _monthly_kernel(full, starts, lengths, how, max_missing, max_consecutive, min_valid, out)
    return out.reshape((*lead, starts.shape[0]))


def _check_options(
    how: str,
    max_missing_days: int,
    max_consecutive_missing: int | None,
    min_valid_fraction: float | None,
) -> None:
    if how not in _HOW_CODES:
        raise InputError(
            f"how is {how!r}; expected one of 'sum', 'mean', 'min', 'max'. Pass "
            f"how='sum' for precipitation totals, how='mean' for temperature."
        )

    def _is_count(v: object) -> bool:
        return not isinstance(v, bool) and isinstance(v, int | np.integer) and int(v) >= 0

    if not _is_count(max_missing_days):
        raise InputError(
            f"max_missing_days is {max_missing_days!r}; expected an integer >= 0. "
            f"Pass e.g. max_missing_days=3 (the default) or 0 to require complete months."
        )
    if max_consecutive_missing is not None and not _is_count(max_consecutive_missing):
        raise InputError(
            f"max_consecutive_missing is {max_consecutive_missing!r}; expected None or "
            f"an integer >= 0. Pass e.g. max_consecutive_missing=3 (WMO 3/5 rule)."
        )
    if min_valid_fraction is not None and not (
        isinstance(min_valid_fraction, float | int | np.floating | np.integer)
        and not isinstance(min_valid_fraction, bool)
        and 0.0 <= float(min_valid_fraction) <= 1.0
    ):
        raise InputError(
            f"min_valid_fraction is {min_valid_fraction!r}; expected None or a number "
            f"from 0 to 1. Pass e.g. min_valid_fraction=0.9."
        )


def _check_time(da: xr.DataArray) -> pd.Index:
    name = da.name or "the input"
    if "time" not in da.dims:
        raise InputError(
            f"{name} has dims {da.dims}; expected a 'time' dimension of daily steps. "
            f"Rename the time dimension to 'time'."
        )
    try:
        idx = da.indexes["time"]
    except KeyError:
        idx = None
    if not isinstance(idx, pd.DatetimeIndex | xr.CFTimeIndex):
        raise InputError(
            f"{name} has a 'time' coordinate of type {type(idx).__name__}; expected "
            f"datetime64 or cftime dates. Decode times (xr.decode_cf) before aggregating."
        )
    if not idx.is_unique:
        dup = idx[idx.duplicated()]
        raise InputError(
            f"{name} has {len(dup)} duplicated time step(s) (first: {dup[0]}); expected "
            f"unique daily dates. Drop duplicates, e.g. da.drop_duplicates('time')."
        )
    if not idx.is_monotonic_increasing:
        raise InputError(
            f"{name} has an unsorted time index; expected increasing daily dates. "
            f"Sort it first: da.sortby('time')."
        )
    if len(idx) >= 2:
        steps = pd.TimedeltaIndex(idx[1:] - idx[:-1])
        one_day = pd.Timedelta(days=1)
        smallest = steps.min()
        if smallest != one_day or (steps % one_day != pd.Timedelta(0)).any():
            odd = smallest if smallest != one_day else steps[steps % one_day != pd.Timedelta(0)][0]
            raise InputError(
                f"{name} has a time step of {odd}; expected daily data (steps of 1 day, "
                f"gaps of whole days allowed). Resample sub-daily data to daily first, "
                f"or skip this step for data that are already monthly."
            )
    return idx


def _units_for(da: xr.DataArray, how: str) -> tuple[float, str | None]:
    """Scale factor applied to daily values and the output units."""
    units = da.attrs.get("units")
    if how != "sum":
        return 1.0, units
    name = da.name or "the input"
    key = None if units is None else str(units).strip().lower().replace(" ", "")
    if key in _MM_PER_DAY:
        return 1.0, "mm/month"
    if key in _KG_M2_S1:
        return _SECONDS_PER_DAY, "mm/month"
    raise UnitsError(
        f"{name} has units {units!r}; how='sum' expects daily precipitation in "
        f"'mm/day' (or 'mm day-1', 'mm' per day) or a flux in 'kg m-2 s-1'. Set the "
        f"units attribute (e.g. da.attrs['units'] = 'mm/day'), or use how='mean' for "
        f"variables such as temperature that are not summed."
    )


def daily_to_monthly(
    da: xr.DataArray,
    *,
    how: Literal["sum", "mean", "min", "max"],
    max_missing_days: int = 3,
    max_consecutive_missing: int | None = None,
    min_valid_fraction: float | None = None,
) -> xr.DataArray:
    r"""Monthly values from a daily series, blanking months with too many missing days.

    Parameters
    ----------
    da : xarray.DataArray
        Daily values with a ``time`` dimension (datetime64 or cftime in any calendar:
        ``standard``/``gregorian``/``proleptic_gregorian``, ``noleap``/``365_day``,
        ``all_leap``/``366_day``, ``360_day``, ``julian``) and any other dims.
        ``NaN`` marks a missing value; days may also be absent from the index.
        For ``how="sum"`` the ``units`` attribute must be a daily precipitation
        amount (``mm/day``, ``mm day-1``, ``mm``) or a flux in ``kg m-2 s-1``.
    how : {"sum", "mean", "min", "max"}
        Reduction over the valid days of each month. ``"sum"`` for precipitation
        totals (SPI/SPEI input), ``"mean"`` for temperature.
    max_missing_days : int, default 3
        A month with more missing days than this is ``NaN``.
    max_consecutive_missing : int or None, default None
        A month with a run of missing days longer than this is ``NaN``. ``None``
        turns the run rule off; with the default ``max_missing_days=3`` no run can
        exceed 3 anyway.
    min_valid_fraction : float or None, default None
        A month whose valid days are fewer than this fraction (0-1) of its calendar
        days is ``NaN``. ``None`` turns the rule off.

    Returns
    -------
    xarray.DataArray
        float64, same dims with ``time`` now monthly, stamped at the first day of
        each month (``"MS"``) in the input's calendar (cftime stays cftime). Every
        month from the first to the last month touched by the input is present.
        For ``how="sum"`` of precipitation, ``units="mm/month"``; otherwise units
        are kept. ``cell_methods`` records the reduction and the missing-day rule.

    Raises
    ------
    InputError
        No ``time`` dimension, time not decoded to dates, duplicated or unsorted
        time, a step other than whole days (the error names the step found), or an
        invalid option.
    UnitsError
        ``how="sum"`` on a variable whose units are not daily precipitation.

    Notes
    -----
    A month :math:`m` with :math:`D_m` days in the calendar (e.g. February: 29 in a
    leap year of ``standard``, 28 in ``noleap``, 30 in ``360_day``) and valid days
    :math:`V_m` is ``NaN`` when any of

    * :math:`D_m - V_m >` ``max_missing_days`` (``NaN`` values and days absent from
      the index both count, so a series starting on the 10th leaves its first month
      ``NaN`` under the default rule);
    * the longest run of consecutive missing days :math:`>` ``max_consecutive_missing``;
    * :math:`V_m < \lceil` ``min_valid_fraction`` :math:`\cdot D_m \rceil`;
    * :math:`V_m = 0`.

    Default rule. WMO's "3/5 rule" (WMO/TD-No. 341, 1989; restated in WMO-No. 1203)
    drops a monthly value when more than 5 daily values in total, or more than 3
    consecutive ones, are missing; WMO-No. 1203 relaxes it for means and asks for
    complete months for precipitation totals. The default here, at most 3 missing
    days in total and no separate run rule, is stricter than 3/5 (a run can be at
    most 3 long) and a compromise for SPI input where a complete-month rule would
    discard too many station months. Pass ``max_missing_days=5,
    max_consecutive_missing=3`` for the classic 3/5 rule or ``max_missing_days=0``
    for complete months only.

    ``how="sum"`` is the sum of the valid days; it is **not** scaled up by
    :math:`D_m / V_m` for the missing days, so an accepted month with missing days
    may be slightly low (by at most ``max_missing_days`` days of rain). A flux in
    ``kg m-2 s-1`` is multiplied by 86 400 s/day (1 kg m-2 of water = 1 mm) before
    summing. The computation is in float64 and identical for numpy and dask arrays
    (dask may be chunked along any dim; ``time`` is gathered into one chunk).

    References
    ----------
    WMO (2017) WMO Guidelines on the Calculation of Climate Normals, WMO-No. 1203,
    Geneva. ISBN 978-92-63-11203-3.

    WMO (1989) Calculation of Monthly and Annual 30-Year Standard Normals,
    WCDP-No. 10, WMO/TD-No. 341, Geneva.
    """
    _check_options(how, max_missing_days, max_consecutive_missing, min_valid_fraction)
    idx = _check_time(da)
    scale, out_units = _units_for(da, how)

    is_cftime = isinstance(idx, xr.CFTimeIndex)
    calendar = idx.calendar if is_cftime else "standard"
    years = np.asarray(idx.year, dtype=np.int64)
    months = np.asarray(idx.month, dtype=np.int64)
    days = np.asarray(idx.day, dtype=np.int64)
    if len(idx) == 0:
        raise InputError(
            f"{da.name or 'the input'} has an empty time axis; expected daily values. "
            f"Check the selection that produced it."
        )
    y0, m0 = int(years[0]), int(months[0])
    n_months = (int(years[-1]) - y0) * 12 + int(months[-1]) - m0 + 1
    month_starts = xr.date_range(
        start=f"{y0:04d}-{m0:02d}-01",
        periods=n_months,
        freq="MS",
        calendar=calendar,
        use_cftime=is_cftime,
    )
    lengths = np.asarray(month_starts.days_in_month, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    month_of = (years - y0) * 12 + months - m0
    pos = starts[month_of] + days - 1
    if min_valid_fraction is None:
        min_valid = np.zeros(n_months, dtype=np.int64)
    else:
        # ceil with a tolerance so 0.9 * 30 = 27.000000000000004 needs 27 days, not 28
        min_valid = np.ceil(float(min_valid_fraction) * lengths - 1e-9).astype(np.int64)
    max_consecutive = -1 if max_consecutive_missing is None else int(max_consecutive_missing)

    src = da
    if da.chunks is not None:
        src = da.chunk({"time": -1})
    # "month" is a placeholder core dim so apply_ufunc may change the time length.
    out = xr.apply_ufunc(
        _aggregate_numpy,
        src,
        input_core_dims=[["time"]],
        output_core_dims=[["month"]],
        exclude_dims={"time"},
        kwargs={
            "pos": pos,
            "n_full": int(lengths.sum()),
            "starts": starts,
            "lengths": lengths,
            "how": _HOW_CODES[how],
            "max_missing": int(max_missing_days),
            "max_consecutive": max_consecutive,
            "min_valid": min_valid,
            "scale": scale,
        },
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"month": n_months}},
        keep_attrs=False,
    )
    out = out.rename({"month": "time"}).assign_coords(time=month_starts)
    out = out.transpose(*da.dims)
    # keep non-time coords of the input (e.g. lat/lon of stations)
    extra = {k: v for k, v in da.coords.items() if "time" not in v.dims and k not in out.coords}
    out = out.assign_coords(extra)

    attrs = dict(da.attrs)
    if out_units is not None:
        attrs["units"] = out_units
    if how == "sum":
        # a monthly total is an amount, not the daily flux the input may have declared
        attrs.pop("standard_name", None)
        attrs["long_name"] = "Monthly total precipitation (sum of valid days)"
    rule = f"max {max_missing_days} missing days"
    if max_consecutive_missing is not None:
        rule += f", max {max_consecutive_missing} consecutive"
    if min_valid_fraction is not None:
        rule += f", min valid fraction {min_valid_fraction}"
    method = f"time: {how} within months (daily values; month NaN if {rule})"
    prev = attrs.get("cell_methods")
    attrs["cell_methods"] = f"{prev} {method}" if prev else method
    out.attrs = attrs
    out.name = da.name
    return out
