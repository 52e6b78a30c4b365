"""Combined Drought Indicator (CDI) per pixel and month.

The cascade of the European / Global Drought Observatory CDI: a precipitation
deficit (Watch) propagates into the soil (Warning) and then into the vegetation
(Alert); after the rain returns, a pixel passes through Partial recovery (vegetation
still stressed) and Recovery before it is Normal again. Codes are in
``landwatch/data/cdi_classes.csv``; rules and thresholds in
``landwatch/data/cdi_rules.yaml`` (editable; per-land-type overrides).

Rules, evaluated each month t for each pixel (``P`` = SPI-3 < spi3 or SPI-1 < spi1;
``S`` = soil-moisture anomaly < soil_moisture; ``V`` = vegetation anomaly <
vegetation; "recent" = in months t - lag .. t):

* Alert (3): V and P recent within ``alert_months`` (and, when
  ``alert_requires_soil_moisture``, S recent within ``alert_months``);
* else Warning (2): S and P recent within ``warning_months``;
* else Watch (1): P;
* else, if the previous month was Watch, Warning, Alert or Partial recovery:
  Partial recovery (4) when V still holds after a Warning/Alert/Partial recovery,
  otherwise Recovery (5);
* else Recovery (5) continues for ``recovery_months`` months, then Normal (0).

Missing soil-moisture or vegetation anomalies count as "not below the threshold"
(as EDO treats missing inputs); a month without SPI-3 and SPI-1 is NODATA.

Differences from EDO, by design and documented: monthly, not dekadal, steps (the
lags express the dekad offsets of EDO in months); Alert needs the soil-moisture
condition by default (the issue's cascade; EDO v1 did not, v4 does in most cases;
set ``alert_requires_soil_moisture: false`` for v1); the v4 "temporary
soil-moisture / fAPAR recovery" classes are not produced.

References
----------
Sepulcre-Canto, G. et al. (2012) NHESS 12:3519, doi:10.5194/nhess-12-3519-2012.
Cammalleri, C. et al. (2021) NHESS 21:481, doi:10.5194/nhess-21-481-2021.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numba
import numpy as np
import xarray as xr
import yaml

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA

__all__ = [
    "CDI_CLASSES",
    "CdiRules",
    "combined_drought_indicator",
    "load_cdi_rules",
]

NORMAL, WATCH, WARNING, ALERT, PARTIAL_RECOVERY, RECOVERY = 0, 1, 2, 3, 4, 5
_THRESHOLD_KEYS = ("spi3", "spi1", "soil_moisture", "vegetation")


def _load_classes() -> dict[int, str]:
    text = resources.files("landwatch.data").joinpath("cdi_classes.csv").read_text()
    return {int(r["code"]): r["name"] for r in csv.DictReader(text.splitlines())}


#: CDI codes and names (``landwatch/data/cdi_classes.csv``), NODATA included.
CDI_CLASSES: dict[int, str] = _load_classes()


@dataclass(frozen=True)
class CdiRules:
    """Thresholds and lags of the CDI (see ``landwatch/data/cdi_rules.yaml``)."""

    spi3: float = -1.0
    spi1: float = -2.0
    soil_moisture: float = -1.0
    vegetation: float = -1.0
    warning_months: int = 1
    alert_months: int = 2
    alert_requires_soil_moisture: bool = True
    recovery_months: int = 2
    land_types: dict[int, dict[str, float]] = field(default_factory=dict)

    def for_land_type(self, code: int) -> CdiRules:
        """The rules with the thresholds overridden for one land type."""
        return replace(self, **self.land_types.get(int(code), {}))  # type: ignore[arg-type]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"CDI rules: {where} is {value!r}; expected a number such as -1.0.")
    return float(value)


def load_cdi_rules(path: str | Path | None = None) -> CdiRules:
    """Read CDI rules from YAML (default: the packaged ``cdi_rules.yaml``).

    Raises
    ------
    InputError
        Unknown keys, non-numeric thresholds, negative lags, bad land type codes.
    """
    if path is None:
        text = resources.files("landwatch.data").joinpath("cdi_rules.yaml").read_text()
        source = "cdi_rules.yaml (packaged)"
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"CDI rules: file {str(p)!r} not found. Pass an existing YAML file.")
        text, source = p.read_text(), p.name
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"CDI rules: {source} is not valid YAML ({exc}).") from exc
    allowed = {
        "thresholds",
        "lags",
        "alert_requires_soil_moisture",
        "recovery_months",
        "land_types",
    }
    extra = set(raw) - allowed
    if extra:
        raise InputError(
            f"CDI rules: {source} has unknown keys {sorted(extra)}; expected {sorted(allowed)}."
        )
    kw: dict[str, Any] = {}
    th = raw.get("thresholds") or {}
    for k, v in th.items():
        if k not in _THRESHOLD_KEYS:
            raise InputError(
                f"CDI rules: {source} thresholds.{k} is unknown; expected one of {list(_THRESHOLD_KEYS)}."
            )
        kw[k] = _number(v, f"thresholds.{k}")
    lags = raw.get("lags") or {}
    for k, v in lags.items():
        if k not in ("warning_months", "alert_months"):
            raise InputError(
                f"CDI rules: {source} lags.{k} is unknown; expected warning_months or alert_months."
            )
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(f"CDI rules: {source} lags.{k} is {v!r}; expected an integer >= 0.")
        kw[k] = v
    if "recovery_months" in raw:
        v = raw["recovery_months"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(
                f"CDI rules: {source} recovery_months is {v!r}; expected an integer >= 0."
            )
        kw["recovery_months"] = v
    if "alert_requires_soil_moisture" in raw:
        kw["alert_requires_soil_moisture"] = bool(raw["alert_requires_soil_moisture"])
    lt: dict[int, dict[str, float]] = {}
    for code, over in (raw.get("land_types") or {}).items():
        try:
            c = int(code)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"CDI rules: {source} land_types key {code!r} is not an integer land type code."
            ) from exc
        if not isinstance(over, dict) or set(over) - set(_THRESHOLD_KEYS):
            raise InputError(
                f"CDI rules: {source} land_types.{code} must map threshold names "
                f"({list(_THRESHOLD_KEYS)}) to numbers; got {over!r}."
            )
        lt[c] = {k: _number(v, f"land_types.{code}.{k}") for k, v in over.items()}
    kw["land_types"] = lt
    return CdiRules(**kw)


@numba.njit(nogil=True, cache=True)
def _cdi_kernel(
    spi3, spi1, sma, veg, th, warn_lag, alert_lag, need_sm, rec_months, out
):  # pragma: no cover - compiled
    """spi3, spi1, sma, veg: (npix, T); th: (npix, 4) thresholds; out: (npix, T) int16."""
    npix, nt = spi3.shape
    for r in range(npix):
        prev = NORMAL
        rec = 0
        last_p = -(10**9)  # month of the latest precipitation deficit
        last_s = -(10**9)
        t3, t1, ts, tv = th[r, 0], th[r, 1], th[r, 2], th[r, 3]
        for t in range(nt):
            a = spi3[r, t]
            b = spi1[r, t]
            if np.isnan(a) and np.isnan(b):
                out[r, t] = NODATA
                continue  # the state carries over the gap
            p = (a < t3) or (b < t1)  # NaN compares False
            s = sma[r, t] < ts
            v = veg[r, t] < tv
            if p:
                last_p = t
            if s:
                last_s = t
            p_warn = t - last_p <= warn_lag
            p_alert = t - last_p <= alert_lag
            s_alert = t - last_s <= alert_lag
            if v and p_alert and (s_alert or not need_sm):
                c = ALERT
            elif s and p_warn:
                c = WARNING
            elif p:
                c = WATCH
            elif prev == WATCH or prev == WARNING or prev == ALERT or prev == PARTIAL_RECOVERY:
                if v and prev != WATCH:
                    c = PARTIAL_RECOVERY
                else:
                    c = RECOVERY
                    rec = 1
            elif prev == RECOVERY and rec < rec_months:
                c = RECOVERY
                rec += 1
            else:
                c = NORMAL
            if c == RECOVERY and rec_months == 0:
                c = NORMAL
            out[r, t] = c
            prev = c


def _cdi_core(
    spi3: np.ndarray,
    spi1: np.ndarray,
    sma: np.ndarray,
    veg: np.ndarray,
    th: np.ndarray,
    *,
    warn_lag: int,
    alert_lag: int,
    need_sm: bool,
    rec_months: int,
) -> np.ndarray:
    spi3, spi1, sma, veg = np.broadcast_arrays(spi3, spi1, sma, veg)
    lead, nt = spi3.shape[:-1], spi3.shape[-1]

    def flat(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a.reshape(-1, nt), dtype=np.float64)

    thr = np.ascontiguousarray(np.broadcast_to(th, (*lead, 4)).reshape(-1, 4), dtype=np.float64)
    out = np.empty((int(np.prod(lead, dtype=np.int64)), nt), np.int16)
    if out.size:
        _cdi_kernel(
            flat(spi3), flat(spi1), flat(sma), flat(veg), thr,
            warn_lag, alert_lag, need_sm, rec_months, out,
        )  # fmt: skip
    return out.reshape(spi3.shape)


def _threshold_grid(
    rules: CdiRules, like: xr.DataArray, land_type: xr.DataArray | None
) -> xr.DataArray:
    base = np.array([getattr(rules, k) for k in _THRESHOLD_KEYS], dtype=np.float64)
    spatial = [d for d in like.dims if d != "time"]
    if land_type is None or not rules.land_types:
        return xr.DataArray(base, dims=("threshold",))
    missing = set(spatial) - set(land_type.dims)
    if missing or "time" in land_type.dims:
        raise InputError(
            f"land_type has dims {land_type.dims}; expected the spatial dims {tuple(spatial)} of the "
            "drought indices. Pass a land cover raster on the same grid."
        )
    lt = land_type.values
    grid = np.broadcast_to(base, (*lt.shape, 4)).copy()
    for code in rules.land_types:
        grid[lt == code] = [getattr(rules.for_land_type(code), k) for k in _THRESHOLD_KEYS]
    return xr.DataArray(
        grid,
        dims=(*land_type.dims, "threshold"),
        coords={d: land_type[d] for d in land_type.dims if d in land_type.coords},
    )


def combined_drought_indicator(
    spi3: xr.DataArray,
    spi1: xr.DataArray,
    soil_moisture_anomaly: xr.DataArray | None = None,
    vegetation_anomaly: xr.DataArray | None = None,
    *,
    rules: CdiRules | str | Path | None = None,
    land_type: xr.DataArray | None = None,
) -> xr.DataArray:
    """Combined Drought Indicator class per pixel and month.

    Parameters
    ----------
    spi3, spi1 : xarray.DataArray
        SPI-3 and SPI-1 with a monthly ``time`` dim (any other dims are pixels).
    soil_moisture_anomaly, vegetation_anomaly : xarray.DataArray, optional
        z-scores per calendar month (see
        :func:`landwatch.indices.drought.water_balance.monthly_anomaly`) on the same
        time axis; missing ones never trigger Warning / Alert.
    rules : CdiRules, path or None
        Thresholds and lags (default ``landwatch/data/cdi_rules.yaml``).
    land_type : xarray.DataArray, optional
        Land type / land cover codes on the spatial grid, for the rules'
        ``land_types`` overrides.

    Returns
    -------
    xarray.DataArray
        int16 codes 0 normal, 1 watch, 2 warning, 3 alert, 4 partial recovery,
        5 recovery, ``NODATA`` where neither SPI-3 nor SPI-1 is known; dims as ``spi3``.

    Raises
    ------
    InputError
        Inputs on different time axes or grids, bad rules.

    Notes
    -----
    The rules are in the module docstring. The indicator carries state from month to
    month (lags, recovery), so each pixel's series is processed in time order.
    """
    if not isinstance(rules, CdiRules):
        rules = load_cdi_rules(rules)
    inputs = {"spi3": spi3, "spi1": spi1}
    if soil_moisture_anomaly is not None:
        inputs["soil_moisture_anomaly"] = soil_moisture_anomaly
    if vegetation_anomaly is not None:
        inputs["vegetation_anomaly"] = vegetation_anomaly
    for name, da in inputs.items():
        if not isinstance(da, xr.DataArray) or "time" not in da.dims:
            raise InputError(f"{name}: expected an xarray.DataArray with a monthly 'time' dim.")
        if da.sizes["time"] != spi3.sizes["time"] or not np.array_equal(
            da["time"].values, spi3["time"].values
        ):
            raise InputError(
                f"{name} has {da.sizes['time']} months from {str(da['time'].values[0])[:7]}; "
                f"spi3 has {spi3.sizes['time']} from {str(spi3['time'].values[0])[:7]}. Expected the "
                "same months: select the common period, e.g. x.sel(time=spi3.time)."
            )
        if set(da.dims) != set(spi3.dims) or any(da.sizes[d] != spi3.sizes[d] for d in spi3.dims):
            raise InputError(
                f"{name} has dims {dict(da.sizes)}; expected those of spi3 {dict(spi3.sizes)}."
            )
    nan = xr.full_like(spi3, np.nan, dtype=np.float32)
    sma = soil_moisture_anomaly if soil_moisture_anomaly is not None else nan
    veg = vegetation_anomaly if vegetation_anomaly is not None else nan
    th = _threshold_grid(rules, spi3, land_type)

    def one_chunk(x: xr.DataArray) -> xr.DataArray:
        return x.chunk({"time": -1}) if x.chunks else x

    out = xr.apply_ufunc(
        _cdi_core,
        one_chunk(spi3),
        one_chunk(spi1),
        one_chunk(sma),
        one_chunk(veg),
        th,
        input_core_dims=[["time"]] * 4 + [["threshold"]],
        output_core_dims=[["time"]],
        kwargs={
            "warn_lag": int(rules.warning_months),
            "alert_lag": int(rules.alert_months),
            "need_sm": bool(rules.alert_requires_soil_moisture),
            "rec_months": int(rules.recovery_months),
        },
        dask="parallelized",
        output_dtypes=[np.int16],
    ).transpose(*spi3.dims)
    codes = [c for c in CDI_CLASSES if c != NODATA]
    out.attrs = {
        "long_name": "combined drought indicator",
        "units": "1",
        "nodata": NODATA,
        "flag_values": codes,
        "flag_meanings": " ".join(CDI_CLASSES[c] for c in codes),
        "rules": (
            f"spi3<{rules.spi3} or spi1<{rules.spi1}; sma<{rules.soil_moisture}; "
            f"veg<{rules.vegetation}; lags warning {rules.warning_months} alert {rules.alert_months}; "
            f"alert_requires_soil_moisture={rules.alert_requires_soil_moisture}; "
            f"recovery_months={rules.recovery_months}"
        ),
    }
    return out.rename("cdi")
