r"""Drought events by run theory (Yevjevich 1967), per series and per region.

A *run* of a monthly drought index (SPI, SPEI, ...) is a spell of consecutive months
below a truncation level. The per-series scan is one numba loop over time for every
series (:func:`event_ids_core`); :func:`drought_runs` lifts it over any extra
dimensions (station, or y/x) with ``xr.apply_ufunc(..., dask="parallelized")`` and
returns per-month event labels plus summary maps. :func:`drought_event_catalog` turns
the same labels into a table (one row per event per series), and
:func:`drought_area_fraction` / :func:`regional_drought_events` describe drought at
the scale of a region.

Conventions (shared by every function here)
-------------------------------------------
* onset: the first month with ``index < threshold`` (strict);
* end: the last month before the index rises back to ``>= end_threshold``
  (default ``end_threshold = threshold``), or the last month before a missing month,
  or the last month of the record (the event is then flagged ``ongoing``);
* pooling (inter-event time criterion, Tallaksen et al. 1997): two events whose gap,
  ``onset_2 - end_1 - 1`` months, is ``<= pooling_gap`` become one event spanning the
  gap, unless a gap month is missing (pooling never bridges ``NaN``);
* minimum duration: applied after pooling; shorter events are dropped;
* severity: cumulative deficit below the *onset* threshold,
  :math:`S = \sum_{t \in E} \max(\text{threshold} - x_t, 0)`.
* missing (``NaN``) months are never in drought and end a running event.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import CRSMismatchError, InputError
from landwatch.indices.drought.timeaxis import monthly_time_axis

__all__ = [
    "drought_area_fraction",
    "drought_event_catalog",
    "drought_runs",
    "event_ids_core",
    "regional_drought_events",
]

_CATALOG_COLUMNS = [
    "event",
    "onset",
    "end",
    "duration",
    "severity",
    "intensity",
    "peak",
    "peak_time",
    "ongoing",
]
_REGIONAL_COLUMNS = [
    "event",
    "onset",
    "end",
    "duration",
    "mean_area_fraction",
    "peak_area_fraction",
    "peak_time",
    "ongoing",
]
_SEVERITY_NOTE = (
    "sum over event months of max(threshold - index, 0); months between threshold "
    "and end_threshold and pooled gap months add 0"
)
_REFERENCES = (
    "Yevjevich (1967) Hydrology Papers 23, Colorado State University; "
    "Tallaksen et al. (1997) doi:10.1080/02626669709492003; McKee et al. (1993)"
)


# ----------------------------------------------------------------------------- numba core


@numba.njit(nogil=True, cache=True)
def _label_events(
    x: np.ndarray,
    threshold: float,
    end_threshold: float,
    min_duration: int,
    pooling_gap: int,
    ids: np.ndarray,
) -> None:
    """Write event numbers (1, 2, ... per row, 0 = none) of the rows of ``x`` (cells, time)."""
    ncell, nt = x.shape
    starts = np.empty(nt, np.int64)
    ends = np.empty(nt, np.int64)
    for c in range(ncell):
        row = x[c]
        # 1. raw runs; NaN compares False, so it never starts nor continues a run
        n = 0
        t = 0
        while t < nt:
            if row[t] < threshold:
                starts[n] = t
                t += 1
                while t < nt and row[t] < end_threshold:
                    t += 1
                ends[n] = t - 1
                n += 1
            else:
                t += 1
        # 2. pooling by inter-event time, never across a missing month
        m = 0
        for i in range(n):
            if m > 0 and starts[i] - ends[m - 1] - 1 <= pooling_gap:
                bridged = True
                for k in range(ends[m - 1] + 1, starts[i]):
                    if np.isnan(row[k]):
                        bridged = False
                        break
                if bridged:
                    ends[m - 1] = ends[i]
                    continue
            starts[m] = starts[i]
            ends[m] = ends[i]
            m += 1
        # 3. minimum duration, then number the survivors
        for t in range(nt):
            ids[c, t] = 0
        k = 0
        for i in range(m):
            if ends[i] - starts[i] + 1 >= min_duration:
                k += 1
                for t in range(starts[i], ends[i] + 1):
                    ids[c, t] = k


@numba.njit(nogil=True, cache=True)
def _summaries(
    x: np.ndarray,
    ids: np.ndarray,
    threshold: float,
    n_events: np.ndarray,
    total: np.ndarray,
    longest: np.ndarray,
    max_sev: np.ndarray,
) -> None:
    """Per-row number of events, months in drought, longest event and largest severity."""
    ncell, nt = x.shape
    for c in range(ncell):
        any_valid = False
        n = 0
        months = 0
        best_len = 0
        best_sev = 0.0
        cur = 0
        cur_len = 0
        cur_sev = 0.0
        for t in range(nt):
            v = x[c, t]
            if not np.isnan(v):
                any_valid = True
            e = ids[c, t]
            if e != cur:
                cur = e
                cur_len = 0
                cur_sev = 0.0
                if e > 0:
                    n += 1
            if e > 0:
                months += 1
                cur_len += 1
                d = threshold - v
                if d > 0:
                    cur_sev += d
                best_len = max(best_len, cur_len)
                best_sev = max(best_sev, cur_sev)
        n_events[c] = n
        total[c] = months
        longest[c] = best_len
        max_sev[c] = best_sev if any_valid else np.nan


@numba.njit(nogil=True, cache=True)
def _records(x: np.ndarray, ids: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
    """One record per event: row, event, onset, end, severity, peak, peak index."""
    ncell, nt = x.shape
    count = 0
    for c in range(ncell):
        count += ids[c].max() if nt > 0 else 0
    cell = np.empty(count, np.int64)
    event = np.empty(count, np.int64)
    onset = np.empty(count, np.int64)
    end = np.empty(count, np.int64)
    sev = np.zeros(count, np.float64)
    peak = np.empty(count, np.float64)
    peak_at = np.empty(count, np.int64)
    r = -1
    for c in range(ncell):
        cur = 0
        for t in range(nt):
            e = ids[c, t]
            v = x[c, t]
            if e > 0 and e != cur:
                r += 1
                cell[r] = c
                event[r] = e
                onset[r] = t
                peak[r] = v
                peak_at[r] = t
            cur = e
            if e > 0:
                end[r] = t
                d = threshold - v
                if d > 0:
                    sev[r] += d
                if v < peak[r]:
                    peak[r] = v
                    peak_at[r] = t
    return cell, event, onset, end, sev, peak, peak_at


def _as_rows(x: np.ndarray) -> np.ndarray:
    """(..., time) block -> C-contiguous float64 (cells, time)."""
    arr = np.asarray(x, dtype=np.float64)
    return np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]))


def event_ids_core(
    x: np.ndarray,
    *,
    threshold: float = -1.0,
    end_threshold: float | None = None,
    min_duration: int = 1,
    pooling_gap: int = 0,
) -> np.ndarray:
    """Event numbers of every month of a block with time on the LAST axis (numpy level).

    Parameters
    ----------
    x : ndarray, shape (..., time)
        Monthly drought index, ``NaN`` = missing.
    threshold, end_threshold, min_duration, pooling_gap
        As :func:`drought_runs` (not validated here).

    Returns
    -------
    ndarray of int32, shape of ``x``
        0 outside events, 1, 2, ... numbering the events of each series in time order.
    """
    rows = _as_rows(x)
    ids = np.empty(rows.shape, np.int32)
    end = threshold if end_threshold is None else end_threshold
    _label_events(rows, float(threshold), float(end), int(min_duration), int(pooling_gap), ids)
    return ids.reshape(np.shape(x))


def _runs_block(
    x: np.ndarray,
    *,
    threshold: float,
    end_threshold: float,
    min_duration: int,
    pooling_gap: int,
) -> tuple[np.ndarray, ...]:
    """All :func:`drought_runs` outputs of one (..., time) block."""
    lead = np.shape(x)[:-1]
    rows = _as_rows(x)
    ids = np.empty(rows.shape, np.int32)
    _label_events(rows, threshold, end_threshold, min_duration, pooling_gap, ids)
    n = rows.shape[0]
    n_events = np.empty(n, np.int32)
    total = np.empty(n, np.int32)
    longest = np.empty(n, np.int32)
    max_sev = np.empty(n, np.float64)
    _summaries(rows, ids, threshold, n_events, total, longest, max_sev)
    ids = ids.reshape(np.shape(x))
    return (
        (ids > 0).astype(np.int8),
        ids,
        n_events.reshape(lead),
        total.reshape(lead),
        longest.reshape(lead),
        max_sev.reshape(lead),
    )


# ----------------------------------------------------------------------------- checks


def _check_index(index: Any, name: str = "index") -> None:
    if not isinstance(index, xr.DataArray):
        raise InputError(
            f"{name} is a {type(index).__name__}; expected an xarray.DataArray with a monthly "
            "'time' dimension. Wrap it: xr.DataArray(values, dims=('time',), coords={'time': dates})."
        )
    if index.sizes.get("time", 1) == 0:
        raise InputError(f"{name} has an empty 'time' axis; expected at least one month.")
    if index.dtype.kind not in "fiu":
        raise InputError(
            f"{name} has dtype {index.dtype}; expected a numeric drought index (e.g. SPI). "
            "Convert it with .astype('float64')."
        )
    monthly_time_axis(
        index,
        name,
        gap_fix="Durations and pooling gaps are counted in months: reindex to a full "
        "monthly axis with NaN for missing months.",
    )


def _is_int(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | np.integer)


def _check_run_parameters(
    threshold: float, end_threshold: float | None, min_duration: int, pooling_gap: int
) -> tuple[float, float, int, int]:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number):
        raise InputError(f"threshold is {threshold!r}; expected a number, e.g. -1.0 for SPI.")
    if not np.isfinite(threshold):
        raise InputError(f"threshold is {threshold!r}; expected a finite number, e.g. -1.0.")
    end = float(threshold) if end_threshold is None else end_threshold
    if (
        isinstance(end, bool)
        or not isinstance(end, int | float | np.number)
        or not np.isfinite(end)
    ):
        raise InputError(
            f"end_threshold is {end_threshold!r}; expected a finite number or None "
            "(None = threshold)."
        )
    if end < threshold:
        raise InputError(
            f"end_threshold is {end_threshold!r}, below threshold {threshold!r}; expected "
            "end_threshold >= threshold (an event cannot end before it starts). Pass "
            "end_threshold=None to end events at the threshold, or e.g. 0 for full recovery."
        )
    if not _is_int(min_duration) or min_duration < 1:
        raise InputError(
            f"min_duration is {min_duration!r}; expected an integer number of months >= 1."
        )
    if not _is_int(pooling_gap) or pooling_gap < 0:
        raise InputError(
            f"pooling_gap is {pooling_gap!r}; expected an integer number of months >= 0 "
            "(0 = no pooling)."
        )
    return float(threshold), float(end), int(min_duration), int(pooling_gap)


# ----------------------------------------------------------------------------- per series


def drought_runs(
    index: xr.DataArray,
    *,
    threshold: float = -1.0,
    end_threshold: float | None = None,
    min_duration: int = 1,
    pooling_gap: int = 0,
) -> xr.Dataset:
    r"""Drought events of every series by run theory: monthly labels and summary maps.

    Parameters
    ----------
    index : xarray.DataArray
        Monthly drought index [1] (SPI, SPEI, ...; lower = drier), dims ``(time, ...)``
        with any extra dims (station, or y/x), ``time`` a complete monthly axis.
        ``NaN`` = missing. numpy or dask backed; dask may be chunked in space (time is
        rechunked to one chunk lazily).
    threshold : float, default -1.0
        Onset (truncation) level: a month is a drought month when ``index < threshold``.
    end_threshold : float, optional
        Recovery level, ``>= threshold``: a running event continues while
        ``index < end_threshold``. Default ``threshold``; e.g. ``0`` ends an event only
        at full recovery to normal.
    min_duration : int, default 1
        Events shorter than this many months (after pooling) are dropped.
    pooling_gap : int, default 0
        Events separated by at most this many months are pooled into one event that
        spans the gap (inter-event time criterion). 0 = no pooling.

    Returns
    -------
    xarray.Dataset
        On the input's grid:

        ``in_drought`` (int8, ``(time, ...)``)
            1 in event months, 0 elsewhere (including missing months).
        ``event_id`` (int32, ``(time, ...)``)
            0 outside events, else 1, 2, ... numbering the events of each series.
        ``n_events`` (int32, ``(...)``)
            Number of events.
        ``total_duration`` (int32, ``(...)``) [months]
            Months in drought (sum of event durations).
        ``max_duration`` (int32, ``(...)``) [months]
            Longest event.
        ``max_severity`` (float64, ``(...)``) [index units x months]
            Largest event severity; 0 without events, NaN where the series has no
            valid month.

    Raises
    ------
    InputError
        Not a DataArray, no ``time`` dimension / coordinate, a non-monthly or gappy
        time axis, a non-numeric index, or invalid parameters.

    Notes
    -----
    For a series :math:`x_t` an event :math:`E = [t_0, t_1]` starts at the first month
    with :math:`x_{t_0} < \theta` (``threshold``) and ends at the last month
    before :math:`x_t \ge \theta_e` (``end_threshold``), before a missing month, or at
    the end of the record. Its duration is :math:`D = t_1 - t_0 + 1` months and its
    severity (cumulative deficit) is

    .. math::

        S = \sum_{t = t_0}^{t_1} \max(\theta - x_t,\ 0),

    so only the part of the index below the onset threshold counts: months between
    :math:`\theta` and :math:`\theta_e` (allowed by ``end_threshold``) and the months
    of a pooled gap lengthen the event but add no deficit, and the severity of a
    pooled event is the sum of the deficits of its parts (Tallaksen et al. 1997).
    Another common measure, McKee et al.'s (1993) drought magnitude
    :math:`\sum_{t \in E} |x_t|` (with :math:`\theta = 0`), equals :math:`S` plus
    :math:`|\theta| D` for events that stay below :math:`\theta`; compute it from
    ``event_id`` when needed. Pooling is applied before ``min_duration`` and never
    bridges a missing month. Output is identical for numpy and dask input.

    References
    ----------
    Yevjevich, V. (1967) An objective approach to definitions and investigations of
    continental hydrologic droughts. Hydrology Papers 23, Colorado State University.
    Tallaksen, L. M., Madsen, H. & Clausen, B. (1997) On the definition and modelling
    of streamflow drought duration and deficit volume. Hydrol. Sci. J. 42(1), 15-33,
    doi:10.1080/02626669709492003.
    McKee, T. B., Doesken, N. J. & Kleist, J. (1993) The relationship of drought
    frequency and duration to time scales. 8th Conf. Applied Climatology, 179-184.
    """
    _check_index(index)
    thr, end, min_dur, gap = _check_run_parameters(
        threshold, end_threshold, min_duration, pooling_gap
    )
    data = index
    if data.chunks is not None and len(data.chunksizes.get("time", ())) > 1:
        data = data.chunk({"time": -1})

    outs = xr.apply_ufunc(
        _runs_block,
        data,
        input_core_dims=[["time"]],
        output_core_dims=[["time"], ["time"], [], [], [], []],
        kwargs={
            "threshold": thr,
            "end_threshold": end,
            "min_duration": min_dur,
            "pooling_gap": gap,
        },
        dask="parallelized",
        output_dtypes=[np.int8, np.int32, np.int32, np.int32, np.int32, np.float64],
    )
    dims: list[Hashable] = list(index.dims)
    map_dims = [d for d in dims if d != "time"]
    in_drought, event_id, n_events, total, longest, max_sev = outs
    params = {
        "threshold": thr,
        "end_threshold": end,
        "min_duration": min_dur,
        "pooling_gap": gap,
    }
    # a sum of monthly deficits keeps the index's units (SPI: dimensionless)
    sev_units = str(index.attrs.get("units", "1"))
    ds = xr.Dataset(
        {
            "in_drought": in_drought.transpose(*dims).assign_attrs(
                units="1",
                long_name="month in a drought event (1) or not (0)",
                flag_values=[0, 1],
                flag_meanings="no_drought drought",
            ),
            "event_id": event_id.transpose(*dims).assign_attrs(
                units="1",
                long_name="drought event number within the series (0 = none)",
            ),
            "n_events": n_events.transpose(*map_dims).assign_attrs(
                units="1", long_name="number of drought events"
            ),
            "total_duration": total.transpose(*map_dims).assign_attrs(
                units="months", long_name="months in drought events"
            ),
            "max_duration": longest.transpose(*map_dims).assign_attrs(
                units="months", long_name="duration of the longest drought event"
            ),
            "max_severity": max_sev.transpose(*map_dims).assign_attrs(
                units=sev_units,
                long_name="largest drought event severity (cumulative deficit)",
                severity=_SEVERITY_NOTE,
            ),
        }
    )
    ds.attrs = {
        **params,
        "method": "run theory",
        "severity": _SEVERITY_NOTE,
        "missing": "NaN months are not in drought and end a running event",
        "index_name": str(index.name) if index.name is not None else "index",
        "references": _REFERENCES,
    }
    return ds


def _iso_dates(time: xr.DataArray, positions: np.ndarray) -> np.ndarray:
    """ISO dates (YYYY-MM-DD) of time positions; formats each month once, then indexes."""
    labels = np.asarray(time.dt.strftime("%Y-%m-%d").values, dtype=object)
    return labels[np.asarray(positions, dtype=np.int64)]


def drought_event_catalog(
    index: xr.DataArray,
    *,
    threshold: float = -1.0,
    end_threshold: float | None = None,
    min_duration: int = 1,
    pooling_gap: int = 0,
) -> pd.DataFrame:
    r"""Table of drought events: one row per event per series.

    Events are those of :func:`drought_runs` with the same parameters (same
    conventions). This function builds a table, so it reads all values of ``index``
    (a dask array is computed); for large grids use :func:`drought_runs` maps.

    Parameters
    ----------
    index : xarray.DataArray
        Monthly drought index, as :func:`drought_runs`.
    threshold, end_threshold, min_duration, pooling_gap
        As :func:`drought_runs`.

    Returns
    -------
    pandas.DataFrame
        Rows ordered by series then time, with columns:

        * one per non-time dimension of ``index``, in its order (e.g. ``station``, or
          ``y`` and ``x``): the coordinate value (the position when the dimension has
          no coordinate);
        * ``event`` (int): event number within the series, as ``event_id``;
        * ``onset``, ``end`` (str): first and last month, ISO dates ``YYYY-MM-DD``;
        * ``duration`` (int): months, :math:`t_1 - t_0 + 1`;
        * ``severity`` (float): :math:`\sum \max(\theta - x_t, 0)` over the event,
          positive (see :func:`drought_runs` Notes);
        * ``intensity`` (float): severity / duration;
        * ``peak`` (float): minimum index value in the event;
        * ``peak_time`` (str): ISO date of the (first) minimum;
        * ``ongoing`` (bool): the event reaches the last month of the record, so its
          end, duration and severity are censored.

    Raises
    ------
    InputError
        As :func:`drought_runs`.

    References
    ----------
    Yevjevich (1967); Tallaksen et al. (1997), doi:10.1080/02626669709492003.
    """
    _check_index(index)
    thr, end, min_dur, gap = _check_run_parameters(
        threshold, end_threshold, min_duration, pooling_gap
    )
    series_dims = [d for d in index.dims if d != "time"]
    ordered = index.transpose(*series_dims, "time")
    rows = _as_rows(ordered.values)
    nt = rows.shape[1]
    ids = np.empty(rows.shape, np.int32)
    _label_events(rows, thr, end, min_dur, gap, ids)
    cell, event, onset, last, sev, peak, peak_at = _records(rows, ids, thr)

    columns: dict[str, Any] = {}
    shape = tuple(index.sizes[d] for d in series_dims)
    positions = np.unravel_index(cell, shape) if series_dims else ()
    for d, pos in zip(series_dims, positions, strict=True):
        values = index[d].values if d in index.coords else np.arange(index.sizes[d])
        columns[str(d)] = values[pos]
    duration = last - onset + 1
    columns.update(
        {
            "event": event,
            "onset": _iso_dates(index["time"], onset),
            "end": _iso_dates(index["time"], last),
            "duration": duration,
            "severity": sev,
            "intensity": sev / np.maximum(duration, 1),
            "peak": peak,
            "peak_time": _iso_dates(index["time"], peak_at),
            "ongoing": last == nt - 1,
        }
    )
    table = pd.DataFrame(columns, columns=[*map(str, series_dims), *_CATALOG_COLUMNS])
    table.attrs = {
        "threshold": thr,
        "end_threshold": end,
        "min_duration": min_dur,
        "pooling_gap": gap,
        "severity": _SEVERITY_NOTE,
        "references": _REFERENCES,
    }
    return table


# ----------------------------------------------------------------------------- regional


def _check_weights(
    w: Any, name: str, index: xr.DataArray, space: list[Hashable], fix: str
) -> xr.DataArray:
    if not isinstance(w, xr.DataArray):
        raise InputError(
            f"{name} is a {type(w).__name__}; expected an xarray.DataArray on the index grid "
            f"(dims among {tuple(space)}). {fix}"
        )
    extra = [d for d in w.dims if d not in space]
    if extra:
        raise InputError(
            f"{name} has dims {w.dims}; expected dims among the non-time dims of index "
            f"{tuple(space)}, got extra {tuple(extra)}. {fix}"
        )
    try:
        xr.align(index, w, join="exact")
    except ValueError as exc:
        raise CRSMismatchError(
            f"{name} coordinates differ from the index grid ({exc}); expected the same "
            f"coordinates on {w.dims}. Build {name} from the index grid or reproject it."
        ) from None
    return w


def drought_area_fraction(
    index: xr.DataArray,
    *,
    threshold: float = -1.0,
    area: xr.DataArray | None = None,
    mask: xr.DataArray | None = None,
) -> xr.DataArray:
    r"""Area-weighted fraction of the region in drought, per time step.

    Parameters
    ----------
    index : xarray.DataArray
        Drought index, dims ``(time, ...)`` (e.g. ``(time, y, x)`` or
        ``(time, station)``), numpy or dask backed. ``NaN`` cells are left out.
    threshold : float, default -1.0
        A cell is in drought when ``index < threshold``.
    area : xarray.DataArray, optional
        Non-negative, finite per-cell weights (e.g. km2 from
        :func:`landwatch.indices.land.area.pixel_area_km2`, dims ``(y,)``), with dims
        among the non-time dims of ``index`` and the same coordinates. Default equal
        weights (only right for an equal-area grid or stations).
    mask : xarray.DataArray of bool, optional
        True for the cells of the region (e.g. a country); default all cells.

    Returns
    -------
    xarray.DataArray
        float64 ``(time,)`` fraction [1] in [0, 1]; NaN at time steps without any
        valid cell.

    Raises
    ------
    InputError
        Bad index, threshold, weights or mask (dims, dtype, negative or non-finite area).
    CRSMismatchError
        ``area`` or ``mask`` coordinates differ from those of ``index``.

    Notes
    -----
    With :math:`V_t` the valid cells at time *t* (inside ``mask``, index not missing)
    and :math:`a_i` the weights,

    .. math::

        F_t = \frac{\sum_{i \in V_t} a_i\,[x_{i,t} < \theta]}{\sum_{i \in V_t} a_i}.

    The denominator changes with the missing cells at each time step, so a partly
    missing map gives the fraction of the observed area.

    References
    ----------
    UNCCD good practice guidance for national reporting on strategic objective 3
    (SO3-2, proportion of land under drought).
    """
    _check_index(index)
    thr, _, _, _ = _check_run_parameters(threshold, None, 1, 0)
    space = [d for d in index.dims if d != "time"]
    valid = index.notnull()
    if mask is not None:
        _check_weights(mask, "mask", index, space, "Pass a boolean DataArray, True = inside.")
        if mask.dtype != bool:
            raise InputError(
                f"mask has dtype {mask.dtype}; expected bool (True = cell in the region). "
                "Convert it, e.g. mask == 1 or mask.astype(bool)."
            )
        valid = valid & mask
    if area is None:
        weights: xr.DataArray = xr.ones_like(index, dtype=np.float64).where(valid, 0.0)
    else:
        _check_weights(area, "area", index, space, "Pass e.g. pixel_area_km2(index.y, ...).")
        if area.dtype.kind not in "fiu":
            raise InputError(f"area has dtype {area.dtype}; expected numeric weights (km2).")
        if area.chunks is None:
            a = np.asarray(area.values, dtype=np.float64)
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise InputError(
                    f"area has values from {np.nanmin(a):g} to {np.nanmax(a):g} with "
                    f"{int(np.sum(~np.isfinite(a)))} non-finite; expected finite weights >= 0. "
                    "Set cells outside the region to 0 or exclude them with mask."
                )
        weights = (area.astype(np.float64) * xr.ones_like(index, dtype=np.float64)).where(
            valid, 0.0
        )
    below = (index < thr) & valid
    num = weights.where(below, 0.0).sum(space)
    den = weights.sum(space)
    frac = (num / den.where(den > 0)).clip(0.0, 1.0)
    frac.name = "drought_area_fraction"
    frac.attrs = {
        "units": "1",
        "long_name": f"area fraction with index < {thr:g}",
        "threshold": thr,
        "weights": "equal" if area is None else str(area.attrs.get("units", "given")),
    }
    return frac


def regional_drought_events(
    fraction: xr.DataArray,
    *,
    min_area_fraction: float = 0.2,
    min_duration: int = 2,
) -> pd.DataFrame:
    r"""Regional drought events: spells with a large enough area in drought.

    Parameters
    ----------
    fraction : xarray.DataArray
        Monthly area fraction in drought, ``(time,)`` in [0, 1], e.g. from
        :func:`drought_area_fraction`. ``NaN`` ends an event.
    min_area_fraction : float, default 0.2
        A month is a regional drought month when ``fraction >= min_area_fraction``.
    min_duration : int, default 2
        Shorter spells (months) are dropped.

    Returns
    -------
    pandas.DataFrame
        One row per event in time order: ``event`` (1, 2, ...), ``onset``, ``end``
        (ISO dates), ``duration`` (months), ``mean_area_fraction``,
        ``peak_area_fraction``, ``peak_time`` (ISO date of the first maximum) and
        ``ongoing`` (reaches the last month of the record).

    Raises
    ------
    InputError
        ``fraction`` is not a monthly ``(time,)`` DataArray, or bad parameters.

    Notes
    -----
    Run theory applied to the regional fraction :math:`F_t` with truncation level
    ``min_area_fraction`` (a regional event as an area-time spell, in the spirit of
    Andreadis et al. 2005, J. Hydrometeorol. 6, 985-1001, without tracking where the
    drought area lies).
    """
    _check_index(fraction, "fraction")
    if fraction.ndim != 1:
        raise InputError(
            f"fraction has dims {fraction.dims}; expected only 'time'. Reduce it first with "
            "drought_area_fraction(index, ...)."
        )
    if (
        isinstance(min_area_fraction, bool)
        or not isinstance(min_area_fraction, int | float | np.number)
        or not (0.0 < min_area_fraction <= 1.0)
    ):
        raise InputError(
            f"min_area_fraction is {min_area_fraction!r}; expected a number in (0, 1], e.g. 0.2."
        )
    if not _is_int(min_duration) or min_duration < 1:
        raise InputError(
            f"min_duration is {min_duration!r}; expected an integer number of months >= 1."
        )
    f = np.asarray(fraction.values, dtype=np.float64)
    on = np.concatenate([[False], f >= min_area_fraction, [False]])
    starts = np.flatnonzero(on[1:] & ~on[:-1])
    ends = np.flatnonzero(~on[1:] & on[:-1]) - 1
    keep = ends - starts + 1 >= min_duration
    starts, ends = starts[keep], ends[keep]
    means = np.array([f[s : e + 1].mean() for s, e in zip(starts, ends, strict=True)])
    peaks_at = np.array(
        [s + int(np.argmax(f[s : e + 1])) for s, e in zip(starts, ends, strict=True)],
        dtype=np.int64,
    )
    time = fraction["time"]
    table = pd.DataFrame(
        {
            "event": np.arange(1, len(starts) + 1, dtype=np.int64),
            "onset": _iso_dates(time, starts),
            "end": _iso_dates(time, ends),
            "duration": (ends - starts + 1).astype(np.int64),
            "mean_area_fraction": means.astype(np.float64),
            "peak_area_fraction": f[peaks_at] if peaks_at.size else np.array([], np.float64),
            "peak_time": _iso_dates(time, peaks_at),
            "ongoing": ends == f.size - 1,
        },
        columns=_REGIONAL_COLUMNS,
    )
    table.attrs = {"min_area_fraction": float(min_area_fraction), "min_duration": int(min_duration)}
    return table
