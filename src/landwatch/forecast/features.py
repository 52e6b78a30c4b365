r"""Predictors of SPI-3 at month *t + h* from what is known at the issue month *t*.

A forecast is issued once the precipitation of month *t* is known. Every feature of
issue month *t* reads precipitation of months :math:`\le t` and driver values
published by *t*; the climatology (SPI fit, monthly normals) comes from a
:class:`~landwatch.forecast.climatology.TrainingClimatology` fixed beforehand.
:func:`check_causality` proves it by rebuilding the features from data cut at *t*.

Feature table (``h`` = lead in months, ``m(t)`` = calendar month of *t*):

=========================  ===============================================================
``spi{s}_lag{l}``          SPI-*s* at :math:`t - l` (training-year fit)
``pr_anomaly_lag{l}``      :math:`(P_{t-l} - \mu_{m(t-l)}) / \sigma_{m(t-l)}`, training normals
``known_fraction``         precipitation already fallen in the target window (months
                           :math:`t+h-2 \ldots t`) over the window's normal total; 0 for h >= 3
``target_season_share``    normal total of the target window / (normal annual total / 4)
``log_annual_normal``      :math:`\log(1 + \text{normal annual total [mm]})` (cell wetness)
``month_sin, month_cos``   issue month on the unit circle
``{driver}``               driver value of month :math:`t - L_{pub}` (latest published)
``{driver}_change{k}``     its change over *k* months
=========================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import InputError, LandwatchError
from landwatch.forecast.climatology import TrainingClimatology
from landwatch.indices.drought.timeaxis import monthly_time_axis

__all__ = [
    "TARGET_SCALE",
    "WATCH_THRESHOLD",
    "FeatureSet",
    "FeatureSpec",
    "LeakageError",
    "build_features",
    "check_causality",
    "prepare_drivers",
    "target_spi",
]

TARGET_SCALE = 3
# CDI "watch": SPI-3 below -1 (EDO/GDO combined drought indicator, level 1)
WATCH_THRESHOLD = -1.0


class LeakageError(LandwatchError, AssertionError):
    """A feature of issue month *t* changed when data after *t* were removed."""


def _default_spi_lags() -> tuple[tuple[int, tuple[int, ...]], ...]:
    return ((1, (0, 1, 2)), (2, (0,)), (3, (0, 3)), (6, (0,)), (12, (0,)))


@dataclass(frozen=True)
class FeatureSpec:
    """Which predictors to build.

    Parameters
    ----------
    spi_lags : tuple of (scale, lags)
        SPI accumulation periods [months] and the lags [months] of each.
    anomaly_lags : tuple of int
        Lags of the standardized monthly precipitation anomaly.
    publication_lag : int, default 1
        Months between the end of a driver's month and its publication: at issue
        month *t* the latest usable driver value is that of :math:`t - L_{pub}`
        (monthly ENSO indices appear early in the following month, so 1 is safe).
    driver_change : int, default 3
        Months over which the change of each driver is taken (0: no change feature).
    """

    spi_lags: tuple[tuple[int, tuple[int, ...]], ...] = field(default_factory=_default_spi_lags)
    anomaly_lags: tuple[int, ...] = (0, 1)
    publication_lag: int = 1
    driver_change: int = 3

    def __post_init__(self) -> None:
        for scale, lags in self.spi_lags:
            if not (1 <= int(scale) <= 72) or any(int(lag) < 0 for lag in lags):
                raise InputError(
                    f"spi_lags has ({scale}, {lags}); expected scales 1-72 and lags >= 0."
                )
        if any(int(lag) < 0 for lag in self.anomaly_lags):
            raise InputError(f"anomaly_lags is {self.anomaly_lags}; lags must be >= 0.")
        if self.publication_lag < 0:
            raise InputError(
                f"publication_lag is {self.publication_lag}; a driver value cannot be used "
                "before its month ends. Pass 0 or more (1 for monthly ENSO indices)."
            )
        if self.driver_change < 0:
            raise InputError(f"driver_change is {self.driver_change}; expected >= 0 months.")

    @property
    def scales(self) -> tuple[int, ...]:
        """SPI scales to compute (the target scale always included)."""
        return tuple(sorted({int(s) for s, _ in self.spi_lags} | {TARGET_SCALE}))

    def lookback(self, *, drivers: bool) -> int:
        """Months before the issue month that any feature reads (the footprint).

        Parameters
        ----------
        drivers : bool
            Whether driver features are built.
        """
        spans = [int(s) - 1 + int(lag) for s, lags in self.spi_lags for lag in lags]
        spans += [int(lag) for lag in self.anomaly_lags]
        spans.append(TARGET_SCALE - 2)  # known_fraction at lead 1
        if drivers:
            spans.append(self.publication_lag + self.driver_change)
        return max(spans)


@dataclass
class FeatureSet:
    """Features of every issue month of a record, for one lead.

    Attributes
    ----------
    values : ndarray of float32, shape (time, cell, feature)
        Row *t* holds the features of issue month ``time[t]``.
    names : tuple of str
        Feature names, in the order of the last axis.
    time : ndarray of datetime64
        Issue months.
    lead : int
        Months from the issue month to the target month.
    """

    values: np.ndarray
    names: tuple[str, ...]
    time: np.ndarray
    lead: int

    def column(self, name: str) -> np.ndarray:
        """One feature, shape (time, cell)."""
        return self.values[:, :, self.names.index(name)]


def prepare_drivers(
    drivers: pd.DataFrame, *, columns: Sequence[str] | None = None, name: str = "drivers"
) -> pd.DataFrame:
    """Check a table of climate drivers and index it by month.

    Parameters
    ----------
    drivers : pandas.DataFrame
        A ``time`` column (or index) of months (``YYYY-MM`` or dates) and one numeric
        column per driver, e.g. ``nino34``. Values are those of the month itself
        (not of the publication date).
    columns : sequence of str, optional
        Drivers to use; default all columns.
    name : str
        What the table is, for messages.

    Returns
    -------
    pandas.DataFrame
        Float columns, indexed by month-start timestamps, a complete monthly axis.

    Raises
    ------
    InputError
        No time column, unknown or non-numeric columns, repeated or missing months.
    """
    df = drivers.copy()
    if "time" in df.columns:
        df = df.set_index("time")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(df.index.astype(str), format="mixed"))
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{name}: the time values are not months such as 1950-01 ({exc}). Give a 'time' "
            "column of YYYY-MM months."
        ) from exc
    df.index = index.to_period("M").to_timestamp()
    use = list(df.columns) if columns is None else list(columns)
    unknown = [c for c in use if c not in df.columns]
    if unknown:
        raise InputError(
            f"{name}: unknown columns {unknown}; the table has {[str(c) for c in df.columns]}. "
            "Pass column names from that list."
        )
    if not use:
        raise InputError(f"{name}: no driver columns; add e.g. a 'nino34' column.")
    bad = [c for c in use if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise InputError(f"{name}: columns {bad} are not numeric; expected numbers.")
    df = df[use].astype(np.float64)
    if df.index.has_duplicates:
        dup = df.index[df.index.duplicated()][0]
        raise InputError(f"{name}: month {dup:%Y-%m} appears twice; keep one row per month.")
    df = df.sort_index()
    full = pd.date_range(df.index[0], df.index[-1], freq="MS")
    if len(full) != len(df):
        missing = full.difference(df.index)
        shown = ", ".join(f"{m:%Y-%m}" for m in missing[:5])
        raise InputError(
            f"{name}: {len(missing)} missing months ({shown}{', ...' if len(missing) > 5 else ''}); "
            "expected consecutive months. Add the missing rows (empty values are allowed)."
        )
    df.columns = [str(c) for c in df.columns]
    return df


def _shift(a: np.ndarray, lag: int) -> np.ndarray:
    """``out[t] = a[t - lag]`` along axis 0 (NaN where t - lag < 0); ``lag`` may be < 0."""
    out = np.full_like(a, np.nan, dtype=np.float64)
    n = a.shape[0]
    if lag >= 0:
        if lag < n:
            out[lag:] = a[: n - lag]
    elif -lag < n:
        out[: n + lag] = a[-lag:]
    return out


def target_spi(spi3: np.ndarray, lead: int) -> np.ndarray:
    """The target of issue month *t*: SPI-3 of month *t + lead*, shape (time, cell).

    The last ``lead`` rows are NaN (the target lies beyond the record).
    """
    return _shift(np.asarray(spi3, dtype=np.float64), -int(lead))


def _driver_features(
    drivers: pd.DataFrame, serial: np.ndarray, spec: FeatureSpec, ncells: int
) -> tuple[list[np.ndarray], list[str]]:
    lookup: dict[int, int] = {}
    if len(drivers):
        first = drivers.index[0]
        d_serial = first.year * 12 + first.month - 1 + np.arange(len(drivers))
        lookup = dict(zip(d_serial.tolist(), range(len(drivers)), strict=True))
    values = drivers.to_numpy(np.float64)

    def at(months: np.ndarray) -> np.ndarray:
        idx = np.array([lookup.get(int(m), -1) for m in months])
        out = np.full((len(months), values.shape[1]), np.nan)
        ok = idx >= 0
        out[ok] = values[idx[ok]]
        return out

    latest = at(serial - spec.publication_lag)
    cols: list[np.ndarray] = []
    names: list[str] = []
    for j, c in enumerate(drivers.columns):
        cols.append(np.repeat(latest[:, j : j + 1], ncells, axis=1))
        names.append(str(c))
    if spec.driver_change > 0:
        before = at(serial - spec.publication_lag - spec.driver_change)
        for j, c in enumerate(drivers.columns):
            cols.append(np.repeat(latest[:, j : j + 1] - before[:, j : j + 1], ncells, axis=1))
            names.append(f"{c}_change{spec.driver_change}")
    return cols, names


def build_features(
    pr: xr.DataArray,
    climatology: TrainingClimatology,
    *,
    leads: Iterable[int] = (1, 2, 3),
    drivers: pd.DataFrame | None = None,
    spec: FeatureSpec | None = None,
    spi: Mapping[int, np.ndarray] | None = None,
) -> dict[int, FeatureSet]:
    """Features of every issue month of ``pr``, for each lead.

    Parameters
    ----------
    pr : xarray.DataArray
        Monthly precipitation [mm], dims ``(time, cell)`` as the climatology's, a
        complete monthly axis; may end at any issue month.
    climatology : TrainingClimatology
        SPI fit and normals of the training years.
    leads : iterable of int, default (1, 2, 3)
        Forecast leads [months].
    drivers : pandas.DataFrame, optional
        Output of :func:`prepare_drivers`; months it does not cover give NaN features.
    spec : FeatureSpec, optional
        Which predictors; default :class:`FeatureSpec()`.
    spi : mapping of int to ndarray, optional
        Precomputed ``climatology.spi(pr, scale).values`` per scale (to share work).

    Returns
    -------
    dict of int to FeatureSet
        One :class:`FeatureSet` per lead.
    """
    spec = spec or FeatureSpec()
    leads = tuple(int(h) for h in leads)
    if not leads or any(h < 1 for h in leads):
        raise InputError(f"leads are {leads}; expected whole months >= 1, e.g. 1,2,3.")
    years, months = monthly_time_axis(
        pr, "pr", gap_fix="Reindex to a complete monthly axis with NaN for missing months."
    )
    serial = years * 12 + months - 1
    month0 = months - 1
    values = np.asarray(pr.values, dtype=np.float64)
    nt, nc = values.shape
    spi = dict(spi or {})
    for scale in spec.scales:
        if scale not in spi:
            spi[scale] = np.asarray(climatology.spi(pr, scale).values)

    common: list[np.ndarray] = []
    names: list[str] = []
    for scale, lags in spec.spi_lags:
        for lag in lags:
            common.append(_shift(spi[int(scale)], int(lag)))
            names.append(f"spi{int(scale)}_lag{int(lag)}")
    mean, std = climatology.monthly_normals()
    with np.errstate(invalid="ignore", divide="ignore"):
        anomaly = (values - mean[month0]) / np.where(std[month0] > 0, std[month0], np.nan)
    for lag in spec.anomaly_lags:
        common.append(_shift(anomaly, int(lag)))
        names.append(f"pr_anomaly_lag{int(lag)}")
    annual = mean.sum(axis=0)  # NaN when a month's normal is missing
    common.append(np.broadcast_to(np.log1p(annual), (nt, nc)))
    names.append("log_annual_normal")
    angle = 2.0 * np.pi * month0 / 12.0
    common.append(np.broadcast_to(np.sin(angle)[:, None], (nt, nc)))
    common.append(np.broadcast_to(np.cos(angle)[:, None], (nt, nc)))
    names += ["month_sin", "month_cos"]
    if drivers is not None:
        cols, dnames = _driver_features(drivers, serial, spec, nc)
        common += cols
        names += dnames

    # normal total of the TARGET_SCALE-month window ending in each calendar month
    window = np.sum([np.roll(mean, k, axis=0) for k in range(TARGET_SCALE)], axis=0)
    out: dict[int, FeatureSet] = {}
    for h in leads:
        target_month = (month0 + h) % 12
        window_normal = window[target_month]
        known = np.zeros((nt, nc))
        for k in range(max(0, TARGET_SCALE - h)):
            known += _shift(values, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            known_fraction = known / window_normal
            share = window_normal / (annual * TARGET_SCALE / 12.0)
        cols = [*common, known_fraction, share]
        stacked = np.empty((nt, nc, len(cols)), dtype=np.float32)
        for j, c in enumerate(cols):
            stacked[:, :, j] = c
        out[h] = FeatureSet(
            values=stacked,
            names=(*names, "known_fraction", "target_season_share"),
            time=np.asarray(pr["time"].values),
            lead=h,
        )
    return out


Builder = Callable[..., Mapping[int, FeatureSet]]


def check_causality(
    pr: xr.DataArray,
    climatology: TrainingClimatology,
    issue_times: Iterable[object],
    *,
    leads: Iterable[int] = (1, 2, 3),
    drivers: pd.DataFrame | None = None,
    spec: FeatureSpec | None = None,
    builder: Builder = build_features,
    atol: float = 1e-6,
) -> int:
    """Prove that no feature of issue month *t* uses data after *t*.

    For each issue month the features are rebuilt from ``pr`` cut at *t* and from
    the drivers cut at the last month published by *t* (:math:`t - L_{pub}`), and
    compared with the features built from the full record.

    Parameters
    ----------
    pr, climatology, leads, drivers, spec
        As :func:`build_features`.
    issue_times : iterable of datetime-like
        Issue months to check (e.g. a few dozen spread over the record).
    builder : callable, default build_features
        The feature builder under test.
    atol : float, default 1e-6
        Largest allowed difference (features are float32).

    Returns
    -------
    int
        Number of issue months checked.

    Raises
    ------
    LeakageError
        A feature differs; the message names it, the issue month and the difference.
    """
    spec = spec or FeatureSpec()
    leads = tuple(leads)
    full = builder(pr, climatology, leads=leads, drivers=drivers, spec=spec)
    times = pd.DatetimeIndex(pr["time"].values)
    checked = 0
    for t in issue_times:
        stamp = pd.Timestamp(t).to_period("M").to_timestamp()
        if stamp not in times:
            raise InputError(f"issue month {stamp:%Y-%m} is not in the record of pr.")
        i = int(times.get_loc(stamp))
        cut_drivers = None
        if drivers is not None:
            last = stamp - pd.DateOffset(months=spec.publication_lag)
            cut_drivers = drivers.loc[:last]
        part = builder(
            pr.isel(time=slice(0, i + 1)),
            climatology,
            leads=leads,
            drivers=cut_drivers,
            spec=spec,
        )
        for h in leads:
            a = np.asarray(full[h].values[i], dtype=np.float64)
            b = np.asarray(part[h].values[-1], dtype=np.float64)
            same = (np.abs(a - b) <= atol) | (np.isnan(a) & np.isnan(b))
            if not same.all():
                j = int(np.flatnonzero(~same.all(axis=0))[0])
                name = full[h].names[j]
                delta = np.abs(a[:, j] - b[:, j])
                diff = float(np.nanmax(delta)) if np.isfinite(delta).any() else float("nan")
                raise LeakageError(
                    f"feature {name!r} (lead {h}) of issue month {stamp:%Y-%m} changes by "
                    f"{diff:.3g} when data after {stamp:%Y-%m} are removed: it uses the future."
                )
        checked += 1
    return checked
