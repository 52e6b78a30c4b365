"""Standardized Precipitation-Evapotranspiration Index (SPEI).

The climatic water balance ``D = P − PET`` is summed over ``scale`` months, a
three-parameter log-logistic (generalized logistic, "GLO") distribution is fitted
per calendar month over the calibration years by unbiased probability-weighted
moments, exactly as the R package SPEI (default ``fit="ub-pwm"``), and each value is
mapped to a standard normal deviate ``Φ⁻¹(F(D))``.

The numpy core (:func:`_spei_core`) works on ``(..., time)`` arrays with all cells
vectorised; :func:`standardized_precipitation_evapotranspiration_index` lifts it
with ``xr.apply_ufunc(..., dask="parallelized")`` (the ``time`` axis is merged into
one chunk, lazily, because every fit needs the whole series of a cell).

References
----------
Vicente-Serrano, S.M., Beguería, S., López-Moreno, J.I. (2010) A multiscalar drought
index sensitive to global warming: the Standardized Precipitation
Evapotranspiration Index. J. Climate 23:1696-1718. doi:10.1175/2009JCLI2909.1
Beguería, S., Vicente-Serrano, S.M., Reig, F., Latorre, B. (2014) Standardized
precipitation evapotranspiration index (SPEI) revisited. Int. J. Climatol.
34:3001-3023. doi:10.1002/joc.3887
Hosking, J.R.M. (1990) L-moments. J. R. Stat. Soc. B 52:105-124 (GLO: Hosking &
Wallis 1997, Regional Frequency Analysis, Appendix A.7).
"""

from __future__ import annotations

from typing import Literal

import dask.array as dsa
import numpy as np
import xarray as xr
from scipy.special import ndtri

from landwatch.errors import InputError, InsufficientDataError
from landwatch.indices.drought.accumulate import rolling_sum

__all__ = [
    "glo_cdf",
    "glo_parameters_ub_pwm",
    "standardized_precipitation_evapotranspiration_index",
]

#: |k| at or below this is treated as k = 0 (plain logistic), as lmomco ``parglo``.
_GLO_SMALL_K: float = 1e-6
#: 1 - k y must exceed this to be inside the support (R SPEI ``pglo``).
_GLO_SMALL_ARG: float = 1e-15


# ----------------------------------------------------------------------------- distribution


def glo_parameters_ub_pwm(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Generalized-logistic parameters from unbiased PWMs, along the last axis.

    Parameters
    ----------
    sample : ndarray
        ``(..., n)``; NaN entries are ignored (each cell uses its own valid count).

    Returns
    -------
    xi, alpha, kappa : ndarray
        Location, scale and shape (Hosking's sign convention, κ = −τ3); NaN where the
        cell has fewer than 3 valid values, zero spread, or invalid L-moments
        (λ2 <= 0 or |τ3| >= 1).

    Notes
    -----
    Unbiased PWMs of the ascending order statistics ``x_(1..n)`` (Hosking 1990):
    ``b0 = mean``, ``b1 = Σ (j−1)/(n−1) x_(j) / n``,
    ``b2 = Σ (j−1)(j−2)/((n−1)(n−2)) x_(j) / n``; L-moments ``λ1 = b0``,
    ``λ2 = 2b1 − b0``, ``λ3 = 6b2 − 6b1 + b0``, ``τ3 = λ3/λ2``. GLO (Hosking & Wallis
    1997 A.7): ``κ = −τ3``, ``α = λ2 sin(κπ)/(κπ)``,
    ``ξ = λ1 − α (1/κ − π/sin(κπ))``; for ``|κ| <= 1e-6``: ``κ = 0, α = λ2, ξ = λ1``
    (lmomco ``parglo``, which R SPEI calls).
    """
    x = np.sort(np.asarray(sample, dtype=np.float64), axis=-1)  # NaN sort last
    valid = ~np.isnan(x)
    n = valid.sum(axis=-1).astype(np.float64)
    xz = np.where(valid, x, 0.0)
    j = np.arange(x.shape[-1], dtype=np.float64)  # j - 1 for 1-based ranks
    with np.errstate(divide="ignore", invalid="ignore"):
        nn = n[..., None]
        w1 = j / (nn - 1.0)
        w2 = j * (j - 1.0) / ((nn - 1.0) * (nn - 2.0))
        b0 = xz.sum(axis=-1) / n
        b1 = (w1 * xz).sum(axis=-1) / n
        b2 = (w2 * xz).sum(axis=-1) / n
        l1 = b0
        l2 = 2.0 * b1 - b0
        l3 = 6.0 * b2 - 6.0 * b1 + b0
        t3 = l3 / l2
        k = -t3
        small = np.abs(k) <= _GLO_SMALL_K
        kpi = np.where(small, 1.0, k * np.pi)
        kk = kpi / np.sin(kpi)
        alpha = np.where(small, l2, l2 / kk)
        xi = np.where(small, l1, l1 - alpha * (1.0 - kk) / np.where(small, 1.0, k))
        k = np.where(small, 0.0, k)
    # zero spread: R SPEI skips months with sd == 0
    spread = np.where(valid, x, -np.inf).max(axis=-1) - np.where(valid, x, np.inf).min(axis=-1)
    bad = (n < 3) | ~(l2 > 0) | ~(np.abs(t3) < 1.0) | ~(spread > 0)
    nan = np.nan
    return np.where(bad, nan, xi), np.where(bad, nan, alpha), np.where(bad, nan, k)


def glo_cdf(x: np.ndarray, xi: np.ndarray, alpha: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    r"""CDF of the generalized logistic distribution (Hosking's parametrisation).

    Notes
    -----
    ``y = (x − ξ)/α``; ``F = 1/(1 + e^{−y})`` for κ = 0, else
    ``F = 1/(1 + e^{log(1 − κy)/κ})`` inside the support (``1 − κy > 1e-15``) and 0
    (κ < 0) or 1 (κ > 0) outside it, as R SPEI ``pglo``. This is the 3-parameter
    log-logistic of Vicente-Serrano et al. (2010) reparametrised.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = (x - xi) / alpha
        arg = 1.0 - kappa * y
        inside = arg > _GLO_SMALL_ARG
        safe_k = np.where(kappa == 0.0, 1.0, kappa)
        yk = np.where(kappa == 0.0, y, -np.log(np.where(inside, arg, 1.0)) / safe_k)
        f = 1.0 / (1.0 + np.exp(-yk))
        outside = np.where(kappa < 0.0, 0.0, 1.0)
        f = np.where((kappa != 0.0) & ~inside, outside, f)
    return np.where(np.isnan(x) | np.isnan(alpha), np.nan, f)


# ----------------------------------------------------------------------------- core


def _spei_core(
    d: np.ndarray,
    *,
    month: np.ndarray,
    in_calibration: np.ndarray,
    scale: int,
    clip: float | None,
    min_years: int,
) -> np.ndarray:
    """SPEI of a ``(..., time)`` water-balance array (numpy; dask blocks call it)."""
    acc = rolling_sum(np.asarray(d, dtype=np.float64), scale, axis=-1)
    out = np.full(acc.shape, np.nan, dtype=np.float64)
    for m in range(1, 13):
        sel = month == m
        if not sel.any():
            continue
        cal = sel & in_calibration
        xi, alpha, kappa = glo_parameters_ub_pwm(acc[..., cal])
        n_valid = np.sum(~np.isnan(acc[..., cal]), axis=-1)
        too_short = n_valid < min_years
        xi = np.where(too_short, np.nan, xi)
        cdf = glo_cdf(acc[..., sel], xi[..., None], alpha[..., None], kappa[..., None])
        out[..., sel] = ndtri(cdf)
    if clip is not None:
        out = np.clip(out, -clip, clip)
    return out


# ----------------------------------------------------------------------------- public API


def _monthly_time(da: xr.DataArray, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(da, xr.DataArray) or "time" not in da.dims:
        raise InputError(
            f"{name} must be an xarray.DataArray with a 'time' dimension; got "
            f"{type(da).__name__}. Wrap it with xr.DataArray(values, dims=('time', ...), "
            f"coords={{'time': dates}})."
        )
    if "time" not in da.coords:
        raise InputError(
            f"{name} has a 'time' dim without coordinates; SPEI needs dates to know the "
            f"calendar month. Assign them: {name}.assign_coords(time=dates)."
        )
    try:
        month = np.asarray(da["time"].dt.month.values, dtype=np.int64)
        year = np.asarray(da["time"].dt.year.values, dtype=np.int64)
    except (TypeError, AttributeError) as exc:
        raise InputError(
            f"{name}.time is not a datetime coordinate; got dtype {da['time'].dtype}. "
            f"Use datetime64 or cftime dates (e.g. pd.date_range('1981-01', periods=n, freq='MS'))."
        ) from exc
    idx = year * 12 + month - 1
    if idx.size > 1 and not np.all(np.diff(idx) == 1):
        step = np.unique(np.diff(idx))
        raise InputError(
            f"{name} must be monthly with no gaps (one value per consecutive month); got "
            f"month steps {step[:5].tolist()}. Resample to months (e.g. "
            f"{name}.resample(time='MS').sum()) and keep missing months as NaN."
        )
    return month, year


def standardized_precipitation_evapotranspiration_index(
    pr: xr.DataArray | None = None,
    pet: xr.DataArray | None = None,
    *,
    water_balance: xr.DataArray | None = None,
    scale: int = 3,
    distribution: Literal["log-logistic"] = "log-logistic",
    method: Literal["ub-pwm"] = "ub-pwm",
    calibration: tuple[int, int] | None = (1981, 2010),
    clip: float | None = 3.09,
    min_years: int = 20,
) -> xr.DataArray:
    """Standardized Precipitation-Evapotranspiration Index (Vicente-Serrano et al. 2010).

    Parameters
    ----------
    pr : DataArray, optional
        Monthly precipitation, mm/month, dims ``(time, ...)``.
    pet : DataArray, optional
        Monthly potential evapotranspiration, mm/month, same grid as ``pr``.
    water_balance : DataArray, optional
        Monthly climatic water balance ``P − PET`` (mm/month); give this **or**
        ``pr`` and ``pet``.
    scale : int, default 3
        Accumulation window in months (1-72); ``D_k(t) = Σ_{i=t−k+1..t} D(i)``.
    distribution : {"log-logistic"}
        Three-parameter log-logistic (generalized logistic).
    method : {"ub-pwm"}
        Unbiased probability-weighted moments (R SPEI default ``fit="ub-pwm"``).
    calibration : (int, int) or None, default (1981, 2010)
        First and last calendar year (inclusive) of the fitting period; ``None`` fits
        on the whole record (R SPEI's default).
    clip : float or None, default 3.09
        Clip the index to ``[-clip, clip]``; ``None`` keeps ``±inf`` where the value
        is outside the fitted support (as R SPEI does).
    min_years : int, default 20
        Fewer valid calibration values than this for a calendar month gives NaN for
        that month (R SPEI has no such limit; pass ``min_years=3`` to mimic it).

    Returns
    -------
    DataArray
        SPEI (dimensionless, float64) on the grid and time axis of the input; the first
        ``scale − 1`` months and every window containing a missing month are NaN.

    Raises
    ------
    InputError
        Inputs missing or given twice, not monthly, ``scale`` out of range, unknown
        ``distribution``/``method``, a calibration period outside the record.
    InsufficientDataError
        The calibration period holds fewer than ``min_years`` years.

    Notes
    -----
    For each calendar month the accumulated balances of the calibration years are
    fitted by a generalized logistic (GLO) distribution with unbiased PWMs (see
    :func:`glo_parameters_ub_pwm`); ``SPEI = Φ⁻¹(F(D_k))`` (:func:`glo_cdf`,
    ``scipy.special.ndtri``). With ``calibration=None`` and ``clip=None`` this equals
    R ``SPEI::spei(x, scale)$fitted`` (package 1.8.1) to about 1e-12.

    References
    ----------
    Vicente-Serrano et al. (2010) doi:10.1175/2009JCLI2909.1; Beguería et al. (2014)
    doi:10.1002/joc.3887; Hosking & Wallis (1997) Regional Frequency Analysis, A.7.
    """
    if water_balance is not None and (pr is not None or pet is not None):
        raise InputError(
            "Got water_balance together with pr/pet; pass either water_balance (P - PET) "
            "or both pr and pet, not both."
        )
    if water_balance is None:
        if pr is None or pet is None:
            raise InputError(
                "SPEI needs the climatic water balance: pass pr and pet (mm/month) or "
                "water_balance=pr - pet; got "
                f"pr={'given' if pr is not None else 'None'}, "
                f"pet={'given' if pet is not None else 'None'}."
            )
        for name, da in (("pr", pr), ("pet", pet)):
            units = str(da.attrs.get("units", "")).strip().lower()
            if units and units not in {"mm", "mm/month", "mm month-1", "mm/mon"}:
                from landwatch.errors import UnitsError

                raise UnitsError(
                    f"{name} has units={da.attrs['units']!r}; SPEI expects monthly totals in "
                    f"mm/month. Convert it (e.g. kg m-2 s-1 × seconds in the month)."
                )
        water_balance = pr - pet
    if distribution != "log-logistic":
        raise InputError(
            f"distribution={distribution!r} is not implemented; use 'log-logistic' "
            f"(the SPEI definition)."
        )
    if method != "ub-pwm":
        raise InputError(
            f"method={method!r} is not implemented; use 'ub-pwm' (unbiased "
            f"probability-weighted moments, as R SPEI)."
        )
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or not 1 <= scale <= 72:
        raise InputError(f"scale must be an integer number of months in 1..72; got {scale!r}.")
    month, year = _monthly_time(water_balance, "water_balance")
    if calibration is None:
        in_cal = np.ones(month.shape, dtype=bool)
    else:
        try:
            y0, y1 = (int(calibration[0]), int(calibration[1]))
        except (TypeError, ValueError, IndexError) as exc:
            raise InputError(
                f"calibration must be (first_year, last_year) or None; got {calibration!r}."
            ) from exc
        if y1 < y0:
            raise InputError(
                f"calibration ends before it starts: {calibration!r}. Pass (first, last)."
            )
        if y0 < year.min() or y1 > year.max():
            raise InputError(
                f"calibration {y0}-{y1} is outside the record ({year.min()}-{year.max()}). "
                f"Choose years inside the data, or calibration=None for the whole record."
            )
        in_cal = (year >= y0) & (year <= y1)
    n_cal_years = np.unique(year[in_cal]).size
    if n_cal_years < min_years:
        raise InsufficientDataError(
            f"water_balance has {n_cal_years} calibration years "
            f"({year[in_cal].min()}-{year[in_cal].max()}); SPEI needs at least "
            f"min_years={min_years}. Pass a longer record, widen calibration, or lower "
            f"min_years."
        )
    wb = water_balance
    if isinstance(wb.data, dsa.Array):
        wb = wb.chunk({"time": -1})
    out = xr.apply_ufunc(
        _spei_core,
        wb,
        input_core_dims=[["time"]],
        output_core_dims=[["time"]],
        kwargs={
            "month": month,
            "in_calibration": in_cal,
            "scale": int(scale),
            "clip": None if clip is None else float(clip),
            "min_years": int(min_years),
        },
        dask="parallelized",
        output_dtypes=[np.float64],
        keep_attrs=False,
    )
    out = out.transpose(*water_balance.dims)
    out.name = "spei"
    cal_txt = "whole record" if calibration is None else f"{calibration[0]}-{calibration[1]}"
    out.attrs = {
        "units": "1",
        "long_name": f"standardized precipitation-evapotranspiration index ({scale}-month)",
        "scale_months": int(scale),
        "distribution": distribution,
        "method": method,
        "calibration": cal_txt,
        "clip": "none" if clip is None else float(clip),
    }
    return out
