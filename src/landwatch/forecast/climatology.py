"""The reference climate of one training sample: SPI fitted on training years only.

A hindcast fold may train on years on both sides of the held-out block, so the
calibration sample is a *set* of years, not the one contiguous period that
:func:`~landwatch.indices.drought.standardized_precipitation_index` takes. This
module lifts that function to any set of years without touching its internals:
the training-year precipitation and the series to score are laid end to end on a
synthetic monthly axis, separated by missing years, and the synthetic calibration
period covers the training copy only (see :meth:`TrainingClimatology.spi`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.drought import standardized_precipitation_index
from landwatch.indices.drought.timeaxis import monthly_time_axis

__all__ = ["TrainingClimatology"]

_SYNTHETIC_FIRST_YEAR = 1700  # datetime64[ns] reaches 2262, so copies of up to ~270 years fit
_SYNTHETIC_LAST_YEAR = 2261


def _serial_months(da: xr.DataArray, name: str) -> np.ndarray:
    years, months = monthly_time_axis(
        da,
        name,
        gap_fix="Reindex to a complete monthly axis with NaN for the missing months "
        "(e.g. pr.resample(time='MS').sum(min_count=1)).",
    )
    return years * 12 + (months - 1)


def _as_cells(pr: xr.DataArray, name: str) -> xr.DataArray:
    if pr.ndim != 2 or pr.dims[0] != "time":
        raise InputError(
            f"{name} has dims {pr.dims}; expected (time, cell), e.g. (time, station). "
            "Stack a grid first: pr.stack(cell=('y', 'x'))."
        )
    return pr


class TrainingClimatology:
    """Monthly precipitation of the training years, the only data any fit may see.

    Parameters
    ----------
    pr : xarray.DataArray
        Monthly precipitation totals [mm], dims ``(time, cell)`` (any name for the
        second dim), a complete monthly axis. Months outside ``training_years`` are
        never used for a fit, except as the first ``scale - 1`` months of a window
        that ends in a training year (as with a contiguous ``calibration``).
    training_years : iterable of int
        Calendar years whose months form the calibration sample.
    method : {"thom", "mle", "lmoments"}, default "thom"
        Gamma estimator, passed to the SPI.
    min_years : int, default 20
        Minimum valid accumulations per calendar month in the calibration sample.

    Raises
    ------
    InputError
        ``pr`` is not ``(time, cell)`` with a complete monthly axis, or fewer than
        ``min_years`` training years lie in the record.

    Notes
    -----
    For ``scale``-month SPI the calibration sample is every accumulation whose last
    month lies in a training year. When the training years are one run starting at
    the first year of ``pr`` this is exactly ``standardized_precipitation_index(pr,
    calibration=(first, last))``; in general, hold-out blocks must be separated from
    training years by at least ``scale - 1`` months (a gap year for SPI-12), so that
    no calibration window reaches into a held-out block.
    """

    def __init__(
        self,
        pr: xr.DataArray,
        training_years: Iterable[int],
        *,
        method: Literal["thom", "mle", "lmoments"] = "thom",
        min_years: int = 20,
    ) -> None:
        self.pr = _as_cells(pr, "pr")
        self._serial = _serial_months(self.pr, "pr")
        present = set((self._serial // 12).tolist())
        years = tuple(sorted({int(y) for y in training_years} & present))
        if len(years) < min_years:
            raise InputError(
                f"training years: {len(years)} of them lie in the record "
                f"({int(self._serial[0] // 12)}-{int(self._serial[-1] // 12)}); the SPI fit "
                f"needs at least min_years={min_years}. Use a longer record or smaller "
                "hold-out blocks."
            )
        self.training_years = years
        self.method: Literal["thom", "mle", "lmoments"] = method
        self.min_years = int(min_years)
        self._references: dict[int, np.ndarray] = {}
        self._normals: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        return (
            f"TrainingClimatology({self.pr.sizes[self.cell_dim]} cells, "
            f"training years {_years_text(self.training_years)}, method={self.method!r})"
        )

    # ------------------------------------------------------------------ helpers

    @property
    def cell_dim(self) -> str:
        """Name of the cell dimension."""
        return str(self.pr.dims[1])

    def training_months(self) -> np.ndarray:
        """Boolean per time step of :attr:`pr`: the month lies in a training year."""
        return np.isin(self._serial // 12, np.asarray(self.training_years))

    def _reference(self, scale: int) -> np.ndarray:
        """Training-year values plus the ``scale - 1`` lead-in months of each run; NaN elsewhere."""
        if scale not in self._references:
            train = self.training_months()
            # keep month i if a training month lies in i .. i + scale - 1
            pad = np.concatenate([train, np.zeros(scale - 1, dtype=bool)])
            keep = np.asarray(np.lib.stride_tricks.sliding_window_view(pad, scale).any(axis=1))
            ref = np.where(keep[:, None], np.asarray(self.pr.values, dtype=np.float64), np.nan)
            self._references[scale] = ref
        return self._references[scale]

    def _check_cells(self, pr: xr.DataArray) -> None:
        dim = self.cell_dim
        if pr.dims != self.pr.dims:
            raise InputError(
                f"pr has dims {pr.dims}; the training climatology has {self.pr.dims}. "
                "Pass the same cells in the same layout."
            )
        if pr.sizes[dim] != self.pr.sizes[dim] or (
            dim in pr.coords
            and dim in self.pr.coords
            and not np.array_equal(pr[dim].values, self.pr[dim].values)
        ):
            raise InputError(
                f"pr has {pr.sizes[dim]} {dim} values that differ from the "
                f"{self.pr.sizes[dim]} of the training climatology. Pass the same cells."
            )

    # ------------------------------------------------------------------ public

    def spi(self, pr: xr.DataArray, scale: int) -> xr.DataArray:
        """SPI of ``pr`` with the distribution fitted on the training years only.

        Parameters
        ----------
        pr : xarray.DataArray
            Monthly precipitation [mm] of the same cells, any complete monthly
            period (e.g. the record truncated at an issue month).
        scale : int
            Accumulation period in months.

        Returns
        -------
        xarray.DataArray
            SPI [1], dims and coords of ``pr``, clipped to +/-3.09.

        Notes
        -----
        Three blocks on one synthetic monthly axis starting in 1700: the training
        values (:meth:`_reference`, whole years), ``ceil(scale / 12)`` missing years,
        then ``pr`` (whole years). The synthetic calibration period is the first
        block, so the fit sees training values only; windows that touch the missing
        years are missing, as they are at the start of a record. Each value of ``pr``
        is then scored by its own window and the training fit only.
        """
        self._check_cells(pr)
        ref = self._reference(scale)
        ref_serial = self._serial
        serial = _serial_months(pr, "pr")

        def whole_years(values: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, int]:
            front = int(s[0] % 12)
            back = 11 - int(s[-1] % 12)
            pad = ((front, back), (0, 0))
            return np.pad(values, pad, constant_values=np.nan), front

        a, _ = whole_years(ref, ref_serial)
        b, front_b = whole_years(np.asarray(pr.values, dtype=np.float64), serial)
        gap_years = max(1, -(-scale // 12))
        ncells = a.shape[1]
        gap = np.full((12 * gap_years, ncells), np.nan)
        stacked = np.concatenate([a, gap, b], axis=0)
        n_years = stacked.shape[0] // 12
        last = _SYNTHETIC_FIRST_YEAR + n_years - 1
        if last > _SYNTHETIC_LAST_YEAR:
            raise InputError(
                f"pr spans {a.shape[0] // 12} years; the training-year SPI handles records of "
                "up to about 270 years. Pass a shorter record."
            )
        time = pd.date_range(f"{_SYNTHETIC_FIRST_YEAR}-01-01", periods=stacked.shape[0], freq="MS")
        synthetic = xr.DataArray(stacked, dims=("time", "cell"), coords={"time": time})
        # the SPI checks the units of the caller's data (none given: mm assumed)
        synthetic.attrs["units"] = self.pr.attrs.get("units", "mm")
        calibration = (_SYNTHETIC_FIRST_YEAR, _SYNTHETIC_FIRST_YEAR + a.shape[0] // 12 - 1)
        out = standardized_precipitation_index(
            synthetic,
            scale=scale,
            method=self.method,
            calibration=calibration,
            min_years=self.min_years,
        )
        start = a.shape[0] + gap.shape[0] + front_b
        values = np.asarray(out.values[start : start + pr.sizes["time"]])
        result = xr.DataArray(values, dims=pr.dims, coords=pr.coords, name=f"spi_{scale}")
        result.attrs = {
            "units": "1",
            "long_name": f"Standardized Precipitation Index ({scale}-month), training-year fit",
            "abbreviation": f"SPI-{scale}",
            "method": self.method,
            "calibration_years": _years_text(self.training_years),
        }
        return result

    def monthly_normals(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation [mm] of each calendar month over training years.

        Returns
        -------
        mean, std : ndarray, shape (12, cells)
            Row 0 is January. A month with fewer than 2 valid values is NaN.
        """
        if self._normals is None:
            values = np.asarray(self.pr.values, dtype=np.float64)
            train = self.training_months()
            month = self._serial % 12
            mean = np.full((12, values.shape[1]), np.nan)
            std = np.full((12, values.shape[1]), np.nan)
            for m in range(12):
                sel = values[train & (month == m)]
                ok = np.isfinite(sel).sum(axis=0) >= 2
                if ok.any():
                    mean[m, ok] = np.nanmean(sel[:, ok], axis=0)
                    std[m, ok] = np.nanstd(sel[:, ok], axis=0, ddof=1)
            self._normals = (mean, std)
        return self._normals


def _years_text(years: tuple[int, ...]) -> str:
    """``(1900, 1901, 1902, 1910)`` -> ``"1900-1902, 1910"``."""
    runs: list[str] = []
    start = 0
    for k in range(1, len(years) + 1):
        if k == len(years) or years[k] != years[k - 1] + 1:
            a, b = years[start], years[k - 1]
            runs.append(f"{a}-{b}" if b != a else f"{a}")
            start = k
    return ", ".join(runs)
