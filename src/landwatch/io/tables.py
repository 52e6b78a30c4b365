"""Station tables: CSV with a ``time`` column (YYYY-MM) and one column per series."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import DataSourceError, InputError


def read_station_csv(
    path: str | os.PathLike[str], *, name: str, units: str | None = None
) -> xr.DataArray:
    """Read a monthly station table into a ``(time, station)`` DataArray.

    The file needs a ``time`` column (``YYYY-MM`` for monthly values, or full dates, e.g.
    daily) and one numeric column per station; empty cells are missing values.
    """
    p = Path(path)
    if not p.exists():
        raise DataSourceError(f"{name}: file {str(p)!r} does not exist. Check the path.")
    try:
        df = pd.read_csv(p)
    except Exception as exc:
        raise DataSourceError(f"{name}: could not read {p.name} as CSV ({exc}).") from exc
    if "time" not in df.columns:
        raise InputError(
            f"{name}: {p.name} has no 'time' column (columns: {list(df.columns)[:6]}); expected a "
            "'time' column with YYYY-MM values and one column per station."
        )
    try:
        time = pd.to_datetime(df["time"].astype(str), format="mixed")
        if df["time"].astype(str).str.len().max() <= 7:  # YYYY-MM: monthly values
            time = time.dt.to_period("M").dt.to_timestamp()
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{name}: {p.name} has time values that are not dates such as 1981-01 ({exc})."
        ) from exc
    values = df.drop(columns=["time"])
    bad = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
    if bad:
        raise InputError(
            f"{name}: {p.name} has non-numeric station columns {bad[:5]}; expected numbers."
        )
    if values.shape[1] == 0:
        raise InputError(f"{name}: {p.name} has a time column but no station columns.")
    da = xr.DataArray(
        values.to_numpy(dtype=float),
        dims=("time", "station"),
        coords={"time": time.values, "station": [str(c) for c in values.columns]},
        name=name,
    )
    if units:
        da.attrs["units"] = units
    return da


def write_station_csv(da: xr.DataArray, path: str | os.PathLike[str], *, decimals: int = 6) -> Path:
    """Write a ``(time, station)`` DataArray as a CSV table (time as YYYY-MM)."""
    p = Path(path)
    if set(da.dims) != {"time", "station"}:
        raise InputError(f"write_station_csv: expected dims (time, station), got {da.dims}.")
    df = da.transpose("time", "station").to_pandas()
    df.index = pd.DatetimeIndex(df.index).strftime("%Y-%m")
    df.index.name = "time"
    tmp = p.with_name(f".{p.name}.partial")
    df.round(decimals).replace([np.inf, -np.inf], np.nan).to_csv(tmp)
    tmp.replace(p)
    return p
