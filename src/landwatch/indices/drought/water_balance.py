"""Monthly soil moisture from a single-bucket water balance, and monthly z-score anomalies.

The Combined Drought Indicator needs a soil-moisture anomaly. Where no soil-moisture
product is given, :func:`bucket_soil_moisture` estimates it from precipitation and
potential evapotranspiration with the Thornthwaite-Mather (1955) bucket, the scheme
behind many monthly water balances (e.g. TerraClimate's, Abatzoglou et al. 2018):

* surplus month (P >= PET): SM_t = min(C, SM_{t-1} + P - PET) (the excess runs off);
* deficit month (P < PET): SM_t = SM_{t-1} exp(-(PET - P) / C) (drying slows as the
  soil dries).

C is the available water capacity of the root zone (mm; 150 mm by default, a
common global value). The bucket starts full and is spun up by running the first
``spinup_years`` years once before the series (their states are discarded).
"""

from __future__ import annotations

import numba
import numpy as np
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.drought.timeaxis import monthly_time_axis

__all__ = ["bucket_soil_moisture", "monthly_anomaly"]

_GAP_FIX = "Insert the missing months as NaN, e.g. da.resample(time='MS').asfreq()."


@numba.njit(nogil=True, cache=True)
def _bucket_kernel(p, pet, capacity, spinup, out):  # pragma: no cover - compiled
    nrow, nt = p.shape
    for r in range(nrow):
        c = capacity[r]
        sm = c
        for it in range(-spinup, nt):
            t = it if it >= 0 else it + spinup  # spin-up replays the first months
            pp = p[r, t]
            ee = pet[r, t]
            if np.isnan(pp) or np.isnan(ee) or not c > 0:
                if it >= 0:
                    out[r, it] = np.nan
                continue
            if pp >= ee:
                sm = min(c, sm + pp - ee)
            else:
                sm = sm * np.exp(-(ee - pp) / c)
            if it >= 0:
                out[r, it] = sm


def _bucket_core(p: np.ndarray, pet: np.ndarray, capacity: np.ndarray, spinup: int) -> np.ndarray:
    p, pet = np.broadcast_arrays(p, pet)
    lead = p.shape[:-1]
    cap = np.broadcast_to(capacity, lead).astype(np.float64).ravel()
    p2 = np.ascontiguousarray(p.reshape(-1, p.shape[-1]), dtype=np.float64)
    e2 = np.ascontiguousarray(pet.reshape(-1, pet.shape[-1]), dtype=np.float64)
    out = np.empty(p2.shape, np.float64)
    if p2.size:
        _bucket_kernel(p2, e2, cap, min(int(spinup), p2.shape[1]), out)
    return out.reshape(p.shape).astype(np.float32)


def bucket_soil_moisture(
    pr: xr.DataArray,
    pet: xr.DataArray,
    *,
    capacity: float | xr.DataArray = 150.0,
    spinup_years: int = 1,
) -> xr.DataArray:
    """Monthly root-zone soil moisture (mm) from a Thornthwaite-Mather bucket.

    Parameters
    ----------
    pr, pet : xarray.DataArray
        Monthly precipitation and potential evapotranspiration totals (mm/month),
        same dims with a monthly ``time``.
    capacity : float or xarray.DataArray
        Available water capacity (mm), a number or a raster on the spatial grid.
    spinup_years : int
        Years replayed before the series to forget the full-bucket start.

    Returns
    -------
    xarray.DataArray
        float32 soil moisture at the end of each month (mm), NaN where P or PET is
        missing (the bucket keeps its last state across the gap).

    Raises
    ------
    InputError
        Negative inputs, mismatched time axes, non-positive capacity.

    References
    ----------
    Thornthwaite, C.W., Mather, J.R. (1955) The water balance. Publ. Climatol. 8(1).
    Abatzoglou, J.T. et al. (2018) TerraClimate, Sci. Data 5:170191.
    """
    for name, da in (("pr", pr), ("pet", pet)):
        if not isinstance(da, xr.DataArray) or "time" not in da.dims:
            raise InputError(f"{name}: expected an xarray.DataArray with a monthly 'time' dim.")
        monthly_time_axis(da, name, gap_fix=_GAP_FIX)
    if pr.sizes["time"] != pet.sizes["time"] or not np.array_equal(
        pr["time"].values, pet["time"].values
    ):
        raise InputError(
            "pr and pet have different time axes; expected the same months. "
            "Select the common period, e.g. pet.sel(time=pr.time)."
        )
    if float(pr.min()) < 0 or float(pet.min()) < 0:
        raise InputError(
            "pr or pet has negative values; expected monthly totals in mm >= 0. "
            "Mask fill values (e.g. -9999) as NaN first."
        )
    cap = capacity if isinstance(capacity, xr.DataArray) else xr.DataArray(float(capacity))
    if float(cap.min()) <= 0:
        raise InputError(
            f"capacity has values <= 0 (min {float(cap.min()):g}); expected the available water "
            "capacity in mm, e.g. 150."
        )
    sm = xr.apply_ufunc(
        _bucket_core,
        pr.chunk({"time": -1}) if pr.chunks else pr,
        pet.chunk({"time": -1}) if pet.chunks else pet,
        cap,
        kwargs={"spinup": 12 * int(spinup_years)},
        input_core_dims=[["time"], ["time"], []],
        output_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=[np.float32],
    ).transpose(*pr.dims)
    sm.attrs = {
        "long_name": "root-zone soil moisture (Thornthwaite-Mather bucket)",
        "units": "mm",
        "capacity_mm": float(capacity) if not isinstance(capacity, xr.DataArray) else "raster",
    }
    return sm.rename("soil_moisture")


def monthly_anomaly(
    x: xr.DataArray,
    *,
    calibration: tuple[int, int] | None = (1981, 2010),
    min_years: int = 10,
) -> xr.DataArray:
    """Standardized anomaly (z-score) per calendar month against a calibration period.

    z = (x - mean_m) / sd_m with the mean and sample SD (ddof=1) of the same calendar
    month over the calibration years; NaN where fewer than ``min_years`` values or SD = 0.
    ``calibration=None`` uses every year.
    """
    monthly_time_axis(x, str(x.name or "x"), gap_fix=_GAP_FIX)
    years = x["time"].dt.year
    ref = (
        x if calibration is None else x.where((years >= calibration[0]) & (years <= calibration[1]))
    )
    grp = ref.groupby("time.month")
    n = grp.count("time")
    mean = grp.mean("time")
    sd = grp.std("time", ddof=1)
    ok = (n >= min_years) & (sd > 0)
    mean = mean.where(ok)
    sd = sd.where(ok)
    z = (x.groupby("time.month") - mean).groupby("time.month") / sd
    z = z.drop_vars("month", errors="ignore").astype(np.float32)
    z.attrs = {
        "long_name": f"standardized anomaly of {x.attrs.get('long_name', x.name or 'x')}",
        "units": "1",
        "calibration": "all years" if calibration is None else f"{calibration[0]}-{calibration[1]}",
    }
    return z
