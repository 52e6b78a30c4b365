"""Climate driver tables (e.g. ENSO indices): CSV with a ``time`` column and one column per driver."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from landwatch.errors import DataSourceError, InputError

__all__ = ["read_driver_csv"]


def read_driver_csv(path: str | os.PathLike[str], *, name: str = "drivers") -> pd.DataFrame:
    """Read a monthly driver table as it is in the file.

    Parameters
    ----------
    path : path-like
        CSV with a ``time`` column (``YYYY-MM``) and one numeric column per driver
        (e.g. ``nino34``); the value of a row is that of its month. Empty cells are
        missing values.
    name : str, default "drivers"
        What the table is, for messages.

    Returns
    -------
    pandas.DataFrame
        The table with ``time`` as a string column; checking months and columns is
        left to :func:`landwatch.forecast.features.prepare_drivers`.

    Raises
    ------
    DataSourceError
        Missing or unreadable file.
    InputError
        No ``time`` column.
    """
    p = Path(path)
    if not p.exists():
        raise DataSourceError(f"{name}: file {str(p)!r} does not exist. Check the path.")
    try:
        df = pd.read_csv(p, dtype={"time": str})
    except Exception as exc:
        raise DataSourceError(f"{name}: could not read {p.name} as CSV ({exc}).") from exc
    if "time" not in df.columns:
        raise InputError(
            f"{name}: {p.name} has no 'time' column (columns: {list(df.columns)[:6]}); expected "
            "a 'time' column of YYYY-MM months and one column per driver, e.g. time,nino34."
        )
    return df
