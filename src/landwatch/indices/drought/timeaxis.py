"""The monthly ``time`` axis that the drought kernels require."""

from __future__ import annotations

import numpy as np
import xarray as xr

from landwatch.errors import InputError


def monthly_time_axis(
    da: xr.DataArray, name: str, *, gap_fix: str
) -> tuple[np.ndarray, np.ndarray]:
    """Years and months (1-12) of ``da["time"]``, checked to be consecutive months.

    Raises :class:`InputError` when ``time`` is missing, has no coordinates, holds no
    dates, or skips or repeats a month; ``gap_fix`` is the last sentence of that last
    message (what the caller's user should do).
    """
    if "time" not in da.dims:
        raise InputError(
            f"{name} has dims {da.dims}; expected a 'time' dimension of monthly steps. "
            "Rename the time dimension to 'time'."
        )
    if "time" not in da.coords:
        raise InputError(
            f"{name} has a 'time' dimension without coordinates; expected monthly dates. "
            f"Assign them, e.g. {name}.assign_coords(time=pd.date_range('1981-01', periods=n, freq='MS'))."
        )
    try:
        years = np.asarray(da["time"].dt.year.values, dtype=np.int64)
        months = np.asarray(da["time"].dt.month.values, dtype=np.int64)
    except (TypeError, AttributeError) as exc:
        raise InputError(
            f"{name} time coordinate has dtype {da['time'].dtype}; expected datetime64 or "
            "cftime dates. Decode times (xr.decode_cf) or assign monthly dates."
        ) from exc
    serial = years * 12 + months - 1
    steps = np.diff(serial)
    if np.any(steps != 1):
        k = int(np.flatnonzero(steps != 1)[0])
        raise InputError(
            f"{name} time axis is not a complete monthly sequence: step {k} goes from "
            f"{years[k]}-{months[k]:02d} to {years[k + 1]}-{months[k + 1]:02d}; expected "
            f"consecutive months. {gap_fix}"
        )
    return years, months
