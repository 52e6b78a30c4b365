"""Reading years off an annual ``time`` axis (integer years or datetime64)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def years_of(da: xr.DataArray, dim: str = "time") -> np.ndarray:
    """Return the calendar years of ``da[dim]`` as an int array.

    Annual cubes carry ``time`` either as integer years (2000, 2001, ...) or as
    datetime64 values; both are accepted.
    """
    values = da[dim].values
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[Y]").astype(int) + 1970
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(int)
    if values.dtype == object:  # cftime
        return np.array([v.year for v in values], dtype=int)
    return values.astype(int)


def select_years(da: xr.DataArray, start: int, end: int, dim: str = "time") -> xr.DataArray:
    """Slice ``da`` to the inclusive year range [start, end]."""
    yrs = years_of(da, dim)
    return da.isel({dim: (yrs >= start) & (yrs <= end)})
