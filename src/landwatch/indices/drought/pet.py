"""Potential / reference evapotranspiration (PET) for drought indices.

Three methods, each a pure function of ``xarray.DataArray`` inputs with a ``time``
dim (other dims are independent cells); the arithmetic is element-wise xarray code,
so numpy and dask inputs run the same graph lazily:

* :func:`potential_evapotranspiration_thornthwaite` (Thornthwaite 1948), monthly.
* :func:`potential_evapotranspiration_hargreaves` (FAO-56 eq. 52), daily or monthly.
* :func:`potential_evapotranspiration_penman_monteith` (FAO-56 eq. 6), daily or
  monthly, with an ``variant="icid"`` switch that reproduces R ``SPEI::penman``.

Conventions (see each docstring): temperatures in °C (Kelvin raises
:class:`~landwatch.errors.UnitsError` with the fix), latitude in degrees in
[-90, 90], monthly output in mm/month and daily output in mm/day.

References
----------
Allen, R.G., Pereira, L.S., Raes, D., Smith, M. (1998) Crop evapotranspiration.
FAO Irrigation and Drainage Paper 56 ("FAO-56"), chapters 3-4.
Thornthwaite, C.W. (1948) An approach toward a rational classification of
climate. Geographical Review 38(1):55-94. doi:10.2307/210739
Hargreaves, G.H., Samani, Z.A. (1985) Reference crop evapotranspiration from
temperature. Applied Engineering in Agriculture 1(2):96-99. doi:10.13031/2013.26773
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from landwatch.errors import InputError, UnitsError

__all__ = [
    "extraterrestrial_radiation",
    "potential_evapotranspiration_hargreaves",
    "potential_evapotranspiration_penman_monteith",
    "potential_evapotranspiration_thornthwaite",
]

#: Solar constant, MJ m-2 min-1 (FAO-56 eq. 21).
SOLAR_CONSTANT: float = 0.0820
#: Stefan-Boltzmann constant, MJ K-4 m-2 day-1 (FAO-56 eq. 39).
STEFAN_BOLTZMANN: float = 4.903e-9

_CELSIUS_UNITS = {"degc", "°c", "c", "celsius", "deg_c", "degree_celsius", "degrees_celsius"}
_KELVIN_UNITS = {"k", "kelvin", "degk", "deg_k"}
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)


# ----------------------------------------------------------------------------- checks


def _require_time(da: xr.DataArray, name: str) -> None:
    if not isinstance(da, xr.DataArray) or "time" not in da.dims:
        got = type(da).__name__ if not isinstance(da, xr.DataArray) else f"dims {da.dims}"
        raise InputError(
            f"{name} must be an xarray.DataArray with a 'time' dimension; got {got}. "
            f"Wrap the array with xr.DataArray(values, dims=('time', ...), coords={{'time': ...}})."
        )


def _check_celsius(da: xr.DataArray, name: str) -> xr.DataArray:
    """Refuse temperatures that are (or look) in Kelvin."""
    _require_time(da, name)
    units = str(da.attrs.get("units", "")).strip().lower().replace(" ", "_")
    if units in _KELVIN_UNITS:
        raise UnitsError(
            f"{name} is in Kelvin (units={da.attrs['units']!r}); this method expects °C. "
            f"Convert first: {name} = ({name} - 273.15).assign_attrs(units='degC')."
        )
    if units and units not in _CELSIUS_UNITS:
        raise UnitsError(
            f"{name} has units={da.attrs['units']!r}; expected °C ('degC'). "
            f"Convert to degrees Celsius and set attrs['units'] = 'degC'."
        )
    if not units and isinstance(da.data, np.ndarray) and da.size:
        with np.errstate(all="ignore"):
            med = np.nanmedian(da.values) if np.isfinite(da.values).any() else np.nan
        if med > 150.0:
            raise UnitsError(
                f"{name} has no 'units' attribute and a median of {med:.1f}, which looks like "
                f"Kelvin; this method expects °C. Subtract 273.15 and set attrs['units'] = 'degC'."
            )
    return da


def _check_lat(lat: float | xr.DataArray) -> xr.DataArray | float:
    vals = lat.values if isinstance(lat, xr.DataArray) else np.asarray(lat, dtype=float)
    finite = np.asarray(vals, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size and (finite.min() < -90.0 or finite.max() > 90.0):
        raise InputError(
            f"lat must be in degrees within [-90, 90]; got values from {finite.min():g} to "
            f"{finite.max():g}. Pass latitude in decimal degrees (not radians, not a "
            f"projected y coordinate)."
        )
    if isinstance(lat, xr.DataArray):
        return lat
    if np.ndim(lat) != 0:
        raise InputError(
            f"lat must be a float or an xarray.DataArray; got an array of shape {np.shape(lat)}. "
            f"Wrap it as xr.DataArray(lat, dims=('y',)) so it broadcasts by name."
        )
    return float(lat)


def _check_same_units(da: xr.DataArray, name: str, allowed: set[str], expected: str) -> None:
    units = str(da.attrs.get("units", "")).strip().lower()
    if units and units not in allowed:
        raise UnitsError(
            f"{name} has units={da.attrs['units']!r}; expected {expected}. "
            f"Convert it and set attrs['units'] accordingly."
        )


def _time_step(time: xr.DataArray) -> Literal["daily", "monthly"]:
    """Daily or monthly from the median spacing of the time coordinate."""
    if time.size < 2:
        raise InputError(
            "time has fewer than 2 steps; cannot tell daily from monthly data. "
            "Pass freq='daily' or freq='monthly'."
        )
    t = time.values
    try:
        days = np.diff(t).astype("timedelta64[s]").astype(float) / 86400.0
    except (TypeError, ValueError):  # cftime objects
        days = np.array(
            [(b - a).total_seconds() / 86400.0 for a, b in zip(t[:-1], t[1:], strict=True)]
        )
    step = float(np.median(days))
    if 0.5 <= step <= 1.5:
        return "daily"
    if 27.0 <= step <= 32.0:
        return "monthly"
    raise InputError(
        f"time has a median step of {step:g} days; expected daily (1) or monthly (28-31). "
        f"Resample the input to daily or monthly values first."
    )


def _degrees_to_radians(lat: xr.DataArray | float) -> xr.DataArray | float:
    if isinstance(lat, xr.DataArray):
        return lat * (np.pi / 180.0)
    return float(np.deg2rad(lat))


# ----------------------------------------------------------------------------- astronomy


def _solar_geometry(doy: xr.DataArray, lat_rad: xr.DataArray | float):
    """Inverse relative distance dr (eq. 23), declination δ (eq. 24), sunset angle ωs (eq. 25)."""
    b = 2.0 * np.pi * doy / 365.0
    dr = 1.0 + 0.033 * np.cos(b)
    delta = 0.409 * np.sin(b - 1.39)
    ws = np.arccos((-np.tan(lat_rad) * np.tan(delta)).clip(-1.0, 1.0))
    return dr, delta, ws


def extraterrestrial_radiation(
    doy: xr.DataArray, lat: float | xr.DataArray
) -> tuple[xr.DataArray, xr.DataArray]:
    """Extraterrestrial radiation Ra and day length N for day(s) of year.

    Parameters
    ----------
    doy : DataArray
        Day of the year J (1-366).
    lat : float or DataArray
        Latitude, degrees north.

    Returns
    -------
    (Ra, N) : DataArrays
        Ra in MJ m-2 day-1 and N in hours.

    Notes
    -----
    FAO-56 chapter 3, eq. 21-25 and 34:
    ``Ra = 24·60/π · Gsc · dr · [ωs sinφ sinδ + cosφ cosδ sin ωs]``,
    ``dr = 1 + 0.033 cos(2πJ/365)``, ``δ = 0.409 sin(2πJ/365 - 1.39)``,
    ``ωs = arccos(-tanφ tanδ)`` (clipped for polar day/night), ``N = 24 ωs / π``.
    """
    lat_rad = _degrees_to_radians(_check_lat(lat))
    dr, delta, ws = _solar_geometry(doy, lat_rad)
    ra = (
        24.0
        * 60.0
        / np.pi
        * SOLAR_CONSTANT
        * dr
        * (ws * np.sin(lat_rad) * np.sin(delta) + np.cos(lat_rad) * np.cos(delta) * np.sin(ws))
    )
    return ra.clip(min=0.0), 24.0 / np.pi * ws


# ----------------------------------------------------------------------------- Thornthwaite


def _daily_mean_day_length(lat_rad: xr.DataArray | float, leap: bool) -> xr.DataArray:
    """Mean over the days of each month of the astronomical day length (climate_indices)."""
    ndays = 366 if leap else 365
    doy = xr.DataArray(np.arange(1, ndays + 1, dtype=float), dims="_doy")
    _, _, ws = _solar_geometry(doy, lat_rad)
    n_hours = 24.0 / np.pi * ws
    mdays = _MONTH_DAYS.copy()
    mdays[1] += leap
    month_of_day = np.repeat(np.arange(1, 13), mdays.astype(int))
    return n_hours.assign_coords(_month=("_doy", month_of_day)).groupby("_month").mean("_doy")


def potential_evapotranspiration_thornthwaite(
    tas: xr.DataArray,
    lat: float | xr.DataArray,
    *,
    convention: Literal["climate_indices", "r_spei"] = "climate_indices",
) -> xr.DataArray:
    """Thornthwaite (1948) potential evapotranspiration, monthly.

    Parameters
    ----------
    tas : DataArray
        Monthly mean air temperature, °C, with a monthly ``time`` dim. NaN months give
        NaN PET and are left out of the heat index.
    lat : float or DataArray
        Latitude in degrees north, [-90, 90]; a DataArray broadcasts by dim name.
    convention : {"climate_indices", "r_spei"}
        How day length and the heat index are computed (see Notes). The default matches
        ``climate_indices.eto.eto_thornthwaite``; ``"r_spei"`` matches R
        ``SPEI::thornthwaite`` (1.8.x) called with a plain vector.

    Returns
    -------
    DataArray
        PET in mm/month (float64), same dims as ``tas``.

    Raises
    ------
    UnitsError
        ``tas`` in Kelvin (by ``units`` or, without units, a median above 150).
    InputError
        ``lat`` outside [-90, 90]; ``tas`` not monthly.

    Notes
    -----
    ``PET = 16 · K · (10 T⁺ / I)^a`` with ``T⁺ = max(T, 0)`` (so PET = 0 for
    months at or below 0 °C), the heat index ``I = Σ_m (T̄_m / 5)^1.514`` over the 12
    calendar-month means ``T̄_m`` of the **whole record** (not per year), and
    ``a = 6.75e-7 I³ − 7.71e-5 I² + 1.792e-2 I + 0.49239``. ``K = (N/12)(d/30)``
    corrects for the mean day length N (h) and the number of days d in the month.

    The two conventions differ only in details, by up to ~2 mm/month (~3 %):

    =================  ======================================  ====================================
    item               ``climate_indices``                     ``r_spei``
    =================  ======================================  ====================================
    negative T in I    each month clipped to 0, then averaged  averaged, then the mean clipped to 0
    N                  mean of the daily FAO-56 day length     day length on day 15 of the month,
                       (eq. 24, 25, 34) over the month's days  δ = 0.4093 sin(2πJ/365 − 1.405)
    d (days in month)  leap-year aware (Feb = 29)              always 28 for February
    =================  ======================================  ====================================

    Neither applies Willmott's (1985) formula above 26.5 °C; nor does this function.
    xclim's ``thornthwaite48`` differs further (~3 % mean, see the shared validation
    README) because it computes the heat index per year.

    References
    ----------
    Thornthwaite (1948) doi:10.2307/210739; FAO-56 eq. 24, 25, 34 (day length);
    climate_indices ``eto.py``; Beguería & Vicente-Serrano, R package SPEI 1.8.1.
    """
    _check_celsius(tas, "tas")
    lat = _check_lat(lat)
    if _time_step(tas["time"]) != "monthly":
        raise InputError(
            "tas must be monthly for Thornthwaite PET; got daily time steps. "
            "Resample first: tas.resample(time='MS').mean()."
        )
    if convention not in ("climate_indices", "r_spei"):
        raise InputError(f"convention must be 'climate_indices' or 'r_spei'; got {convention!r}.")
    lat_rad = _degrees_to_radians(lat)
    month = tas["time"].dt.month
    tpos = tas.clip(min=0.0)  # keeps NaN
    if convention == "climate_indices":
        clim = tpos.groupby(month).mean("time")
        year = tas["time"].dt.year
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        n_tab = xr.concat(
            [_daily_mean_day_length(lat_rad, False), _daily_mean_day_length(lat_rad, True)],
            dim="_leap",
        )
        n_hours = n_tab.sel(_month=month, _leap=leap.astype(int)).drop_vars(
            ["_month"], errors="ignore"
        )
        days = tas["time"].dt.days_in_month.astype(float)
    else:
        clim = tas.groupby(month).mean("time").clip(min=0.0)
        mid = xr.DataArray(np.cumsum(_MONTH_DAYS) - _MONTH_DAYS + 15.0, dims="_month")
        delta = 0.4093 * np.sin(2.0 * np.pi * mid / 365.0 - 1.405)
        ws = np.arccos((-np.tan(lat_rad) * np.tan(delta)).clip(-1.0, 1.0))
        n_tab = (24.0 / np.pi * ws).assign_coords(_month=np.arange(1, 13))
        n_hours = n_tab.sel(_month=month)
        days = xr.DataArray(_MONTH_DAYS, dims="_m").isel(_m=month - 1)
    heat = ((clim / 5.0) ** 1.514).sum("month", skipna=True)
    a = 6.75e-7 * heat**3 - 7.71e-5 * heat**2 + 1.792e-2 * heat + 0.49239
    k = (n_hours / 12.0) * (days / 30.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pet = 16.0 * k * (10.0 * tpos / heat.where(heat > 0)) ** a
    pet = pet.where(~((heat <= 0) & tpos.notnull()), 0.0)
    pet = pet.drop_vars([c for c in pet.coords if c not in tas.coords], errors="ignore")
    pet = pet.transpose(*tas.dims, ...)
    pet.name = "pet"
    pet.attrs = {
        "units": "mm/month",
        "long_name": "potential evapotranspiration (Thornthwaite 1948)",
        "standard_name": "water_potential_evaporation_amount",
        "method": f"thornthwaite48, convention={convention}",
    }
    return pet


# ----------------------------------------------------------------------------- Hargreaves


def _day_of_year_for(time: xr.DataArray, step: str, mid_month: Literal["fao56", "r_spei"]):
    if step == "daily":
        return time.dt.dayofyear.astype(float)
    m = time.dt.month
    if mid_month == "r_spei":
        mids = np.cumsum(_MONTH_DAYS) - _MONTH_DAYS + 15.0
        return xr.DataArray(mids, dims="_m").isel(_m=m - 1).drop_vars("_m", errors="ignore")
    # FAO-56 chapter 3, note to eq. 21: J = INT(30.4 M - 15) for the middle of month M.
    return np.floor(30.4 * m - 15.0).astype(float)


def potential_evapotranspiration_hargreaves(
    tasmin: xr.DataArray,
    tasmax: xr.DataArray,
    lat: float | xr.DataArray,
    *,
    tas: xr.DataArray | None = None,
    coefficient: Literal["fao56", "samani2000"] = "fao56",
    latent_heat: Literal["constant", "temperature"] = "constant",
    freq: Literal["auto", "daily", "monthly"] = "auto",
) -> xr.DataArray:
    """Hargreaves-Samani (1985) reference evapotranspiration, FAO-56 eq. 52.

    Parameters
    ----------
    tasmin, tasmax : DataArray
        Daily (or monthly mean of daily) minimum and maximum air temperature, °C.
    lat : float or DataArray
        Latitude in degrees north, [-90, 90].
    tas : DataArray, optional
        Mean temperature, °C; defaults to ``(tasmin + tasmax) / 2`` (FAO-56 eq. 9).
    coefficient : {"fao56", "samani2000"}
        ``"fao56"``: the constant 0.0023 of FAO-56 eq. 52 (default).
        ``"samani2000"``: 0.0135 · (0.00185 ΔT² − 0.0433 ΔT + 0.4023) with
        ΔT = Tmax − Tmin (Samani 2000), as McMahon et al. (2013, S19) and the R package
        Evapotranspiration (Guo et al. 2016) use.
    latent_heat : {"constant", "temperature"}
        λ = 2.45 MJ kg-1 (FAO-56 eq. 52, default) or λ = 2.501 − 0.002361 T
        (FAO-56 Annex 3 eq. 3-1; pyet's default).
    freq : {"auto", "daily", "monthly"}
        Time step; ``"auto"`` infers it from the ``time`` coordinate.

    Returns
    -------
    DataArray
        ET0 in mm/day for daily input, mm/month for monthly input (daily rate × days
        in the month).

    Raises
    ------
    UnitsError
        A temperature in Kelvin.
    InputError
        ``lat`` outside [-90, 90]; ``tasmax < tasmin`` somewhere is not an error:
        the range is clipped at 0 (ET0 = 0 there).

    Notes
    -----
    ``ET0 = 0.0023 · 0.408 Ra · (T + 17.8) · √(Tmax − Tmin)`` (FAO-56 eq. 52), with
    ``0.408 = 1/λ``, λ = 2.45 MJ kg-1 (eq. 20), and Ra from eq. 21 via the solar
    declination (eq. 24), inverse Earth-Sun distance (eq. 23) and sunset hour angle
    (eq. 25). Monthly input uses the middle day of the month ``J = INT(30.4 M − 15)``
    (FAO-56, note to eq. 21). Negative ET0 (T < −17.8 °C) is set to 0.

    References
    ----------
    FAO-56 chapter 3 eq. 21-25, chapter 4 eq. 52; Hargreaves & Samani (1985)
    doi:10.13031/2013.26773; Samani (2000) J. Irrig. Drain. Eng. 126(4):265-267,
    doi:10.1061/(ASCE)0733-9437(2000)126:4(265); McMahon et al. (2013) HESS 17:1331,
    doi:10.5194/hess-17-1331-2013.
    """
    _check_celsius(tasmin, "tasmin")
    _check_celsius(tasmax, "tasmax")
    if tas is None:
        tas = (tasmin + tasmax) / 2.0
    else:
        _check_celsius(tas, "tas")
    lat = _check_lat(lat)
    step = _time_step(tasmin["time"]) if freq == "auto" else freq
    if step not in ("daily", "monthly"):
        raise InputError(f"freq must be 'auto', 'daily' or 'monthly'; got {freq!r}.")
    doy = _day_of_year_for(tasmin["time"], step, "fao56")
    ra, _ = extraterrestrial_radiation(doy, lat)
    trange = (tasmax - tasmin).clip(min=0.0)
    if coefficient == "fao56":
        c_hs: xr.DataArray | float = 0.0023
    elif coefficient == "samani2000":
        c_hs = 0.0135 * (0.00185 * trange**2 - 0.0433 * trange + 0.4023)
    else:
        raise InputError(f"coefficient must be 'fao56' or 'samani2000'; got {coefficient!r}.")
    if latent_heat == "constant":
        inv_lambda: xr.DataArray | float = 0.408
    elif latent_heat == "temperature":
        inv_lambda = 1.0 / (2.501 - 0.002361 * tas)
    else:
        raise InputError(f"latent_heat must be 'constant' or 'temperature'; got {latent_heat!r}.")
    et0 = (c_hs * inv_lambda * ra * (tas + 17.8) * np.sqrt(trange)).clip(min=0.0)
    units = "mm/d"
    if step == "monthly":
        et0 = et0 * tasmin["time"].dt.days_in_month
        units = "mm/month"
    et0 = et0.transpose(*tasmin.dims, ...)
    et0.name = "pet"
    et0.attrs = {
        "units": units,
        "long_name": "reference evapotranspiration (Hargreaves-Samani, FAO-56 eq. 52)",
        "standard_name": "water_potential_evaporation_amount"
        if step == "monthly"
        else "water_potential_evaporation_flux",
    }
    return et0


# ----------------------------------------------------------------------------- Penman-Monteith


def _svp(t: xr.DataArray, a: float = 0.6108) -> xr.DataArray:
    """Saturation vapour pressure e°(T), kPa (FAO-56 eq. 11)."""
    out: xr.DataArray = a * np.exp(17.27 * t / (t + 237.3))  # type: ignore[assignment]
    return out


def potential_evapotranspiration_penman_monteith(
    tasmin: xr.DataArray,
    tasmax: xr.DataArray,
    lat: float | xr.DataArray,
    *,
    sfcWind: xr.DataArray | float = 2.0,  # noqa: N803 - CF short name
    hurs: xr.DataArray | None = None,
    vapour_pressure: xr.DataArray | None = None,
    rsds: xr.DataArray | None = None,
    sunshine_duration: xr.DataArray | None = None,
    net_radiation: xr.DataArray | None = None,
    elevation: float | xr.DataArray | None = None,
    pressure: xr.DataArray | float | None = None,
    soil_heat_flux: Literal["auto", "zero"] = "auto",
    variant: Literal["fao56", "icid"] = "fao56",
    freq: Literal["auto", "daily", "monthly"] = "auto",
) -> xr.DataArray:
    """FAO-56 Penman-Monteith reference evapotranspiration ET0 (short grass).

    Parameters
    ----------
    tasmin, tasmax : DataArray
        Minimum and maximum air temperature, °C (daily, or monthly means of daily).
    lat : float or DataArray
        Latitude, degrees north, [-90, 90].
    sfcWind : DataArray or float
        Wind speed at 2 m, m s-1 (default 2 m s-1, FAO-56 chapter 3 recommendation when
        no wind data exist).
    hurs : DataArray, optional
        Mean relative humidity, %. Used for the actual vapour pressure ea unless
        ``vapour_pressure`` is given. Without both, ea = e°(Tmin) (FAO-56 eq. 48).
    vapour_pressure : DataArray, optional
        Actual vapour pressure ea, kPa.
    rsds : DataArray, optional
        Incoming solar radiation Rs, MJ m-2 day-1.
    sunshine_duration : DataArray, optional
        Bright sunshine n, hours per day; Rs = (0.25 + 0.5 n/N) Ra (eq. 35).
    net_radiation : DataArray, optional
        Net radiation Rn, MJ m-2 day-1; overrides ``rsds``/``sunshine_duration``.
    elevation : float or DataArray, optional
        Station elevation z, m; gives pressure (eq. 7) and Rso (eq. 37). Default 0.
    pressure : DataArray or float, optional
        Surface pressure, kPa; overrides the estimate from ``elevation``.
    soil_heat_flux : {"auto", "zero"}
        ``"auto"``: G = 0 for daily data (eq. 42); for monthly data
        G = 0.07 (T_{i+1} − T_{i−1}) (eq. 43), and 0.14 (T_i − T_{i−1}) (eq. 44) at the
        ends (first step: 0.14 (T_2 − T_1), as R SPEI). ``"zero"``: G = 0.
    variant : {"fao56", "icid"}
        ``"fao56"``: the FAO-56 equations (default). ``"icid"``: the ICID/Allen (1994)
        constants used by R ``SPEI::penman(method="ICID")`` (its default), which this
        function then reproduces: λ-dependent γ (1.63e-3 P/λ), e° with 0.611, Δ from
        the mean of e°(Tmax), e°(Tmin) with 4099, ea = RH / (50/e°(Tmin) + 50/e°(Tmax)),
        Ra = 37.6 dr (...), J of the mid-month = day 15, σ = 4.9e-9, 273.15 K.
    freq : {"auto", "daily", "monthly"}
        Time step; monthly output is the daily rate × days in the month
        (``"icid"``: × the non-leap days, as R).

    Returns
    -------
    DataArray
        ET0 in mm/day (daily) or mm/month (monthly), never negative.

    Raises
    ------
    UnitsError
        Temperatures in Kelvin; ``hurs`` given as a fraction (all values <= 1).
    InputError
        ``lat`` out of range; no radiation input (one of ``rsds``,
        ``sunshine_duration`` or ``net_radiation`` is required).

    Notes
    -----
    FAO-56 eq. 6::

        ET0 = [0.408 Δ (Rn − G) + γ 900/(T + 273) u2 (es − ea)] / [Δ + γ (1 + 0.34 u2)]

    with T = (Tmax + Tmin)/2 (eq. 9), P = 101.3 ((293 − 0.0065 z)/293)^5.26 (eq. 7),
    γ = 0.665e-3 P (eq. 8), es = (e°(Tmax) + e°(Tmin))/2 (eq. 11-12),
    Δ = 4098 e°(T)/(T + 237.3)² (eq. 13), ea = RHmean/100 · es (eq. 19),
    Rso = (0.75 + 2e-5 z) Ra (eq. 37), Rns = 0.77 Rs (eq. 38),
    Rnl = σ (Tmax,K⁴ + Tmin,K⁴)/2 (0.34 − 0.14 √ea)(1.35 Rs/Rso − 0.35) (eq. 39),
    Rn = Rns − Rnl (eq. 40). Ra and N from eq. 21-25 and 34; monthly J as in
    :func:`potential_evapotranspiration_hargreaves`.

    References
    ----------
    FAO-56 chapter 2 eq. 6, chapter 3 eq. 7-40, 42-44; Allen et al. (1994) ICID
    Bulletin 43(2); R package SPEI 1.8.1 ``penman``.
    """
    _check_celsius(tasmin, "tasmin")
    _check_celsius(tasmax, "tasmax")
    lat = _check_lat(lat)
    if variant not in ("fao56", "icid"):
        raise InputError(f"variant must be 'fao56' or 'icid'; got {variant!r}.")
    if net_radiation is None and rsds is None and sunshine_duration is None:
        raise InputError(
            "penman_monteith needs radiation: none of net_radiation, rsds or "
            "sunshine_duration was given. Pass one of them (rsds in MJ m-2 day-1, "
            "sunshine_duration in hours/day), or use potential_evapotranspiration_hargreaves."
        )
    if hurs is not None:
        _check_same_units(hurs, "hurs", {"%", "percent", "pct"}, "% (0-100)")
        if isinstance(hurs.data, np.ndarray) and hurs.size and np.nanmax(hurs.values) <= 1.0:
            raise UnitsError(
                "hurs has all values <= 1, i.e. a fraction; expected percent (0-100). "
                "Multiply by 100 and set attrs['units'] = '%'."
            )
    step = _time_step(tasmin["time"]) if freq == "auto" else freq
    icid = variant == "icid"
    lat_rad = _degrees_to_radians(lat)
    z = 0.0 if elevation is None else elevation
    tmean = (tasmin + tasmax) / 2.0

    # pressure and psychrometric constant
    p = 101.3 * ((293.0 - 0.0065 * z) / 293.0) ** 5.26 if pressure is None else pressure
    if icid:
        lam = 2.501 - 2.361e-3 * tmean
        gamma = 1.63e-3 * p / lam
    else:
        gamma = 0.665e-3 * p

    # vapour pressures
    a0 = 0.611 if icid else 0.6108
    e_tmax, e_tmin = _svp(tasmax, a0), _svp(tasmin, a0)
    es = (e_tmax + e_tmin) / 2.0
    if icid:
        slope = 4099.0 * es / (tmean + 237.3) ** 2
    else:
        slope = 4098.0 * _svp(tmean, a0) / (tmean + 237.3) ** 2
    if vapour_pressure is not None:
        ea = vapour_pressure
    elif hurs is not None:
        ea = hurs / (50.0 / e_tmin + 50.0 / e_tmax) if icid else hurs / 100.0 * es
    else:
        ea = e_tmin  # FAO-56 eq. 48 (Tdew ≈ Tmin)

    # radiation
    if net_radiation is not None:
        rn = net_radiation
    else:
        time = tasmin["time"]
        doy = _day_of_year_for(time, step, "r_spei" if icid else "fao56")
        if icid:
            delta = 0.409 * np.sin(0.0172 * doy - 1.39)
            dr = 1.0 + 0.033 * np.cos(0.0172 * doy)
            ws = np.arccos((-np.tan(lat_rad) * np.tan(delta)).clip(-1.0, 1.0))
            ra = (
                37.6
                * dr
                * (
                    ws * np.sin(lat_rad) * np.sin(delta)
                    + np.cos(lat_rad) * np.cos(delta) * np.sin(ws)
                )
            )
            ra = ra.clip(min=0.0)
            n_hours = 7.64 * ws
        else:
            ra, n_hours = extraterrestrial_radiation(doy, lat)
        if rsds is not None:
            rs = rsds
        else:
            assert sunshine_duration is not None  # checked at entry
            rs = (0.25 + 0.5 * sunshine_duration / n_hours) * ra  # FAO-56 eq. 35
        rso = (0.75 + 2e-5 * z) * ra
        sigma, tk = (4.9e-9, 273.15) if icid else (STEFAN_BOLTZMANN, 273.16)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (rs / rso).clip(max=1.0) if not icid else rs / rso
        rnl = (
            sigma
            * ((tasmax + tk) ** 4 + (tasmin + tk) ** 4)
            / 2.0
            * (0.34 - 0.14 * np.sqrt(ea))
            * (1.35 * ratio - 0.35)
        )
        rn = (1.0 - 0.23) * rs - rnl
        rn = rn.where(rs != 0, 0.0)

    # soil heat flux
    if soil_heat_flux == "zero" or step == "daily":
        g = xr.zeros_like(tmean)
    else:
        nxt = tmean.shift(time=-1)
        prv = tmean.shift(time=1)
        g = 0.07 * (nxt - prv)
        first = 0.14 * (tmean.isel(time=1) - tmean.isel(time=0))
        last = 0.14 * (tmean.isel(time=-1) - tmean.isel(time=-2))
        is_first = xr.DataArray(np.arange(tmean.sizes["time"]) == 0, dims="time")
        is_last = xr.DataArray(
            np.arange(tmean.sizes["time"]) == tmean.sizes["time"] - 1, dims="time"
        )
        g = xr.where(is_first, first, xr.where(is_last, last, g))

    u2 = sfcWind
    t_k = tmean + 273.0
    et0 = (0.408 * slope * (rn - g) + gamma * (900.0 / t_k) * u2 * (es - ea)) / (
        slope + gamma * (1.0 + 0.34 * u2)
    )
    et0 = et0.clip(min=0.0)
    units = "mm/d"
    if step == "monthly":
        if icid:
            days = xr.DataArray(_MONTH_DAYS, dims="_m").isel(_m=tasmin["time"].dt.month - 1)
            days = days.drop_vars("_m", errors="ignore")
        else:
            days = tasmin["time"].dt.days_in_month
        et0 = et0 * days
        units = "mm/month"
    et0 = et0.transpose(*tasmin.dims, ...)
    et0.name = "pet"
    et0.attrs = {
        "units": units,
        "long_name": "reference evapotranspiration (FAO-56 Penman-Monteith)",
        "method": f"penman_monteith, variant={variant}",
    }
    return et0
