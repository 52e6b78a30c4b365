"""Socio-economic drought level of admin units from the monthly Combined Drought Indicator.

The per-pixel Combined Drought Indicator (CDI; codes in ``data/cdi_classes.csv``) says
where a drought is; a unit's alert level says how much it matters there: the share of
the unit's cropland and grazing land at Warning or Alert, the people living in those
pixels, and how many months in a row the unit has been in drought. The rules that turn
these numbers into a level (none / minor / moderate / severe / extreme, mapped to CAP
severities) are data: ``data/alert_rules.yaml`` by default, or a regional copy.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from landwatch.errors import DataSourceError, InputError

#: no-data code of the CDI class raster
CDI_NODATA: int = -32768

#: metrics computed per unit and month (all usable in rules)
METRICS: tuple[str, ...] = (
    "land_area_km2",
    "valid_share",
    "land_warning_share",
    "land_alert_share",
    "cropland_area_km2",
    "cropland_warning_share",
    "cropland_alert_share",
    "grazing_area_km2",
    "grazing_warning_share",
    "grazing_alert_share",
    "population",
    "population_exposed",
    "population_exposed_share",
    "consecutive_months",
)

#: CAP 1.2 severities a level may map to
CAP_SEVERITIES: tuple[str, ...] = ("Minor", "Moderate", "Severe", "Extreme")

#: level name of a unit below every rule
NO_LEVEL = "none"

_TOP_KEYS = {
    "version",
    "cdi_classes",
    "land_cover",
    "min_class_area_km2",
    "min_valid_share",
    "drought_month",
    "levels",
    "end_after_months",
    "cap",
}
_LEVEL_KEYS = {"name", "severity", "when", "instruction", "color"}
_CAP_KEYS = {"sender_name", "expires_months", "contact", "web"}


@cache
def cdi_class_table() -> dict[int, str]:
    """Codes and names of the CDI classes (``data/cdi_classes.csv``), no-data included."""
    text = (resources.files("landwatch") / "data" / "cdi_classes.csv").read_text(encoding="utf-8")
    return {int(r["code"]): r["name"] for r in csv.DictReader(io.StringIO(text))}


@dataclass(frozen=True)
class AlertLevel:
    """One alert level of the rules.

    Attributes
    ----------
    name : str
        Level name (``minor`` ...).
    rank : int
        1 for the lowest level, increasing; 0 is reserved for "none".
    severity : str
        CAP 1.2 severity.
    when : tuple of dict
        Alternatives (any holds); each maps metric -> minimum (all must hold).
    instruction : str
        Advice for the CAP message and the bulletin.
    color : str
        Map colour (CSS colour).
    """

    name: str
    rank: int
    severity: str
    when: tuple[dict[str, float], ...]
    instruction: str = ""
    color: str = "#fe9929"


@dataclass(frozen=True)
class AlertRules:
    """Parsed alert rules (see ``data/alert_rules.yaml`` for the meaning of each field)."""

    levels: tuple[AlertLevel, ...]
    drought_month: tuple[dict[str, float], ...]
    warning_codes: tuple[int, ...]
    alert_codes: tuple[int, ...]
    cropland_codes: tuple[int, ...]
    grazing_codes: tuple[int, ...]
    water_codes: tuple[int, ...]
    min_class_area_km2: float
    min_valid_share: float
    end_after_months: int
    sender_name: str
    expires_months: int
    contact: str | None
    web: str | None
    source: str

    def level(self, name: str) -> AlertLevel | None:
        """The level called ``name`` (None for ``"none"``)."""
        for lv in self.levels:
            if lv.name == name:
                return lv
        if name == NO_LEVEL:
            return None
        raise InputError(
            f"alert rules ({self.source}): no level {name!r}; levels are "
            f"{[lv.name for lv in self.levels]}."
        )

    def by_rank(self, rank: int) -> AlertLevel | None:
        """The level of rank ``rank`` (None for 0)."""
        return None if rank == 0 else self.levels[rank - 1]


def _rule_error(source: str, where: str, msg: str) -> InputError:
    return InputError(
        f"alert rules ({source}): {where}: {msg}. Fix the rule file "
        "(see landwatch/data/alert_rules.yaml for the documented defaults)."
    )


def _conditions(value: Any, source: str, where: str, *, allow_consecutive: bool) -> tuple:
    if not isinstance(value, list) or not value:
        raise _rule_error(
            source, where, f"expected a non-empty list of {{metric: minimum}} items, got {value!r}"
        )
    allowed = (
        METRICS if allow_consecutive else tuple(m for m in METRICS if m != "consecutive_months")
    )
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not item:
            raise _rule_error(
                source, f"{where}[{i}]", f"expected a mapping metric: minimum, got {item!r}"
            )
        cond: dict[str, float] = {}
        for metric, minimum in item.items():
            if metric not in allowed:
                raise _rule_error(
                    source,
                    f"{where}[{i}]",
                    f"unknown metric {metric!r}; expected one of {list(allowed)}",
                )
            if isinstance(minimum, bool) or not isinstance(minimum, int | float):
                raise _rule_error(
                    source,
                    f"{where}[{i}].{metric}",
                    f"the minimum must be a number, got {minimum!r}",
                )
            if metric.endswith("_share") and not 0 <= minimum <= 1:
                raise _rule_error(
                    source,
                    f"{where}[{i}].{metric}",
                    f"shares are fractions 0-1, got {minimum} (write 0.25 for 25 %)",
                )
            cond[str(metric)] = float(minimum)
        out.append(cond)
    return tuple(out)


def _codes_by_name(value: Any, source: str, where: str) -> tuple[int, ...]:
    names = {v: k for k, v in cdi_class_table().items() if k != CDI_NODATA}
    if not isinstance(value, list) or not value:
        raise _rule_error(source, where, f"expected a list of CDI class names, got {value!r}")
    out = []
    for v in value:
        if v not in names:
            raise _rule_error(
                source, where, f"unknown CDI class {v!r}; expected names of {list(names)}"
            )
        out.append(names[v])
    return tuple(out)


def _int_codes(
    value: Any, source: str, where: str, *, allow_empty: bool = False
) -> tuple[int, ...]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise _rule_error(source, where, f"expected a list of land cover codes, got {value!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise _rule_error(source, where, f"land cover codes must be integers, got {value!r}")
    return tuple(int(v) for v in value)


def parse_alert_rules(doc: Any, *, source: str = "<mapping>") -> AlertRules:
    """Check and parse a rules mapping (the content of an ``alert_rules.yaml``).

    Parameters
    ----------
    doc : mapping
        The parsed YAML document.
    source : str
        Where it came from (for error messages).

    Returns
    -------
    AlertRules

    Raises
    ------
    InputError
        A key, metric, class name, severity or number is wrong; the message names it.
    """
    if not isinstance(doc, dict):
        raise _rule_error(source, "top level", f"expected a mapping, got {type(doc).__name__}")
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise _rule_error(
            source, "top level", f"unknown keys {unknown}; allowed {sorted(_TOP_KEYS)}"
        )
    for key in ("cdi_classes", "land_cover", "levels"):
        if key not in doc:
            raise _rule_error(source, "top level", f"missing {key!r}")
    cdi = doc["cdi_classes"]
    if not isinstance(cdi, dict) or set(cdi) != {"warning_or_worse", "alert"}:
        raise _rule_error(
            source, "cdi_classes", "expected the keys warning_or_worse and alert (lists of names)"
        )
    warning = _codes_by_name(cdi["warning_or_worse"], source, "cdi_classes.warning_or_worse")
    alert = _codes_by_name(cdi["alert"], source, "cdi_classes.alert")
    if not set(alert) <= set(warning):
        raise _rule_error(
            source, "cdi_classes", "every alert class must also be in warning_or_worse"
        )
    lc = doc["land_cover"]
    if not isinstance(lc, dict) or not {"cropland", "grazing"} <= set(lc):
        raise _rule_error(source, "land_cover", "expected the keys cropland, grazing (and water)")
    extra_lc = sorted(set(lc) - {"cropland", "grazing", "water"})
    if extra_lc:
        raise _rule_error(source, "land_cover", f"unknown keys {extra_lc}")

    levels_doc = doc["levels"]
    if not isinstance(levels_doc, list) or not levels_doc:
        raise _rule_error(source, "levels", "expected a non-empty list of levels, lowest first")
    levels = []
    seen: set[str] = set()
    for i, lv in enumerate(levels_doc):
        where = f"levels[{i}]"
        if not isinstance(lv, dict):
            raise _rule_error(source, where, f"expected a mapping, got {lv!r}")
        bad = sorted(set(lv) - _LEVEL_KEYS)
        if bad:
            raise _rule_error(source, where, f"unknown keys {bad}; allowed {sorted(_LEVEL_KEYS)}")
        name = lv.get("name")
        if not isinstance(name, str) or not name or name == NO_LEVEL or name in seen:
            raise _rule_error(
                source,
                where,
                f"name must be a unique non-empty string other than 'none', got {name!r}",
            )
        seen.add(name)
        sev = lv.get("severity")
        if sev not in CAP_SEVERITIES:
            raise _rule_error(
                source, f"{where}.severity", f"expected one of {list(CAP_SEVERITIES)}, got {sev!r}"
            )
        when = _conditions(lv.get("when"), source, f"{where}.when", allow_consecutive=True)
        levels.append(
            AlertLevel(
                name=name,
                rank=i + 1,
                severity=str(sev),
                when=when,
                instruction=str(lv.get("instruction") or "").strip(),
                color=str(lv.get("color") or "#fe9929"),
            )
        )

    def number(key: str, default: float, lo: float, hi: float) -> float:
        v = doc.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise _rule_error(source, key, f"expected a number in [{lo}, {hi}], got {v!r}")
        return float(v)

    end_after = doc.get("end_after_months", 2)
    if isinstance(end_after, bool) or not isinstance(end_after, int) or end_after < 1:
        raise _rule_error(
            source, "end_after_months", f"expected an integer >= 1, got {end_after!r}"
        )
    cap = doc.get("cap") or {}
    if not isinstance(cap, dict) or set(cap) - _CAP_KEYS:
        raise _rule_error(source, "cap", f"expected a mapping with keys among {sorted(_CAP_KEYS)}")
    expires = cap.get("expires_months", 2)
    if isinstance(expires, bool) or not isinstance(expires, int) or expires < 1:
        raise _rule_error(
            source, "cap.expires_months", f"expected an integer >= 1, got {expires!r}"
        )
    drought_month = doc.get("drought_month") or [dict(c) for c in levels[0].when]
    return AlertRules(
        levels=tuple(levels),
        drought_month=_conditions(drought_month, source, "drought_month", allow_consecutive=False),
        warning_codes=warning,
        alert_codes=alert,
        cropland_codes=_int_codes(lc["cropland"], source, "land_cover.cropland"),
        grazing_codes=_int_codes(lc["grazing"], source, "land_cover.grazing"),
        water_codes=_int_codes(lc.get("water", []), source, "land_cover.water", allow_empty=True),
        min_class_area_km2=number("min_class_area_km2", 1.0, 0.0, math.inf),
        min_valid_share=number("min_valid_share", 0.5, 0.0, 1.0),
        end_after_months=int(end_after),
        sender_name=str(cap.get("sender_name") or "landwatch drought early warning"),
        expires_months=int(expires),
        contact=cap.get("contact"),
        web=cap.get("web"),
        source=source,
    )


def load_alert_rules(path: str | os.PathLike[str] | None = None) -> AlertRules:
    """Load the alert rules from a YAML file, or the documented defaults.

    Parameters
    ----------
    path : path-like, optional
        A regional rules file in the layout of ``landwatch/data/alert_rules.yaml``;
        None loads that file.

    Returns
    -------
    AlertRules

    Raises
    ------
    DataSourceError
        The file does not exist or cannot be read.
    InputError
        The file is not valid YAML or a rule is wrong (the message names the key).
    """
    if path is None:
        text = (resources.files("landwatch") / "data" / "alert_rules.yaml").read_text(
            encoding="utf-8"
        )
        source = "landwatch/data/alert_rules.yaml"
    else:
        p = Path(path)
        if not p.is_file():
            raise DataSourceError(
                f"alert rules: file {str(p)!r} does not exist. Pass a YAML file laid out like "
                "landwatch/data/alert_rules.yaml, or omit --rules for the defaults."
            )
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataSourceError(f"alert rules: cannot read {str(p)!r} ({exc}).") from exc
        source = p.name
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            f"alert rules ({source}): not valid YAML{at} ({problem}). Check the indentation "
            "and quoting near that line."
        ) from None
    return parse_alert_rules(doc, source=source)


# --------------------------------------------------------------------------------------
# statistics per unit and month
# --------------------------------------------------------------------------------------


def month_labels(time: xr.DataArray | Sequence[Any]) -> list[str]:
    """``YYYY-MM`` of each time value (numpy datetimes, pandas timestamps or cftime).

    Raises
    ------
    InputError
        Values that are not dates (e.g. plain years).
    """
    values = np.asarray(time.values if isinstance(time, xr.DataArray) else time)
    if values.dtype.kind == "M":
        return [str(v)[:7] for v in values.astype("datetime64[M]")]
    out = []
    for v in values.ravel():
        if hasattr(v, "year") and hasattr(v, "month"):
            out.append(f"{int(v.year):04d}-{int(v.month):02d}")
        else:
            raise InputError(
                f"cdi: time values must be dates (one per month), got {v!r} "
                f"({type(v).__name__}). Give the CDI a datetime time coordinate."
            )
    return out


def _plain(da: xr.DataArray | np.ndarray, name: str, ndim: int) -> np.ndarray:
    a = np.asarray(da)
    if a.ndim != ndim:
        want = "(time, y, x)" if ndim == 3 else "(y, x)"
        raise InputError(f"{name} has {a.ndim} dimensions {a.shape}; expected {want}.")
    return a


def _check_dims(da: xr.DataArray | np.ndarray, name: str, dims: tuple[str, ...]) -> None:
    if isinstance(da, xr.DataArray) and tuple(da.dims) != dims:
        raise InputError(
            f"{name} has dims {tuple(map(str, da.dims))}; expected {dims}. "
            f"Rename or transpose it (da.transpose{dims})."
        )


def _same_grid(cdi: xr.DataArray, other: xr.DataArray | np.ndarray, name: str) -> None:
    shape = (cdi.sizes["y"], cdi.sizes["x"])
    if np.shape(other) != shape:
        raise InputError(
            f"{name} grid is {np.shape(other)[0]} x {np.shape(other)[1]} px but the CDI grid is "
            f"{shape[0]} x {shape[1]} px. Put {name} on the CDI grid (same CRS, transform "
            "and size), or pass --align to let landwatch resample it."
            if len(np.shape(other)) == 2
            else f"{name} has shape {np.shape(other)}; expected the CDI grid {shape} (y, x)."
        )
    if isinstance(other, xr.DataArray):
        for dim in ("y", "x"):
            if dim in other.coords and dim in cdi.coords:
                a, b = np.asarray(other[dim], float), np.asarray(cdi[dim], float)
                tol = 1e-6 * max(1.0, float(np.nanmax(np.abs(b))) if b.size else 1.0)
                if not np.allclose(a, b, rtol=0, atol=tol):
                    raise InputError(
                        f"{name} has the CDI's shape but other {dim} coordinates "
                        f"({a[0]:.6f}.. vs {b[0]:.6f}..); the grids do not align. "
                        f"Resample {name} onto the CDI grid or pass --align."
                    )


def _as_codes(a: np.ndarray, name: str, nodata: int) -> np.ndarray:
    """Integer codes; NaN -> ``nodata``; non-integral floats are an error."""
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind != "f":
        raise InputError(f"{name} has dtype {a.dtype}; expected integer class codes.")
    finite = np.isfinite(a)
    frac = finite & (a != np.round(a))
    if frac.any():
        raise InputError(
            f"{name} holds non-integer values (e.g. {float(a[frac][0]):g}); expected integer "
            "class codes. Pass the classified raster, not a continuous index."
        )
    return np.where(finite, a, nodata).astype(np.int64)


def unit_drought_statistics(
    cdi: xr.DataArray,
    units: xr.DataArray | np.ndarray,
    land_cover: xr.DataArray | np.ndarray,
    population: xr.DataArray | np.ndarray,
    pixel_area: xr.DataArray | np.ndarray,
    *,
    rules: AlertRules | None = None,
) -> pd.DataFrame:
    """Drought shares and exposure per admin unit and month.

    Parameters
    ----------
    cdi : xarray.DataArray
        Monthly Combined Drought Indicator classes ``(time, y, x)``, codes of
        ``data/cdi_classes.csv`` (0 normal, 1 watch, 2 warning, 3 alert,
        4 partial_recovery, 5 recovery; -32768 or NaN no data); one map per month.
    units : xarray.DataArray or numpy.ndarray
        ``(y, x)`` integer unit ids (e.g. :func:`landwatch.io.vectors.rasterize_ids`);
        0 is outside every unit.
    land_cover : xarray.DataArray or numpy.ndarray
        ``(y, x)`` UNCCD 7-class land cover (codes in the rules, default cropland 3,
        grassland 2 as grazing land, water 7).
    population : xarray.DataArray or numpy.ndarray
        ``(y, x)`` persons per pixel; NaN counts as 0.
    pixel_area : xarray.DataArray or numpy.ndarray
        Pixel areas in km^2, ``(y, x)`` or per row ``(y,)``
        (:func:`landwatch.indices.land.area.pixel_area_km2`).
    rules : AlertRules, optional
        Which CDI classes and land cover codes count (default rules when None).

    Returns
    -------
    pandas.DataFrame
        One row per month and unit id present on the grid: ``month`` (``YYYY-MM``),
        ``unit`` (the id) and the metrics of :data:`METRICS` except
        ``consecutive_months`` (see :func:`assess_units`). Shares are fractions; a
        share whose land class has less than ``rules.min_class_area_km2`` of valid
        area is NaN.

    Raises
    ------
    InputError
        Wrong dims or grid shapes, class codes that are not CDI codes, non-integer
        classes, negative population, non-positive pixel areas, repeated months.

    Notes
    -----
    With A the pixel area and V the pixels of the unit's land (water excluded) that
    have a valid CDI, for a land class L (cropland, grazing, all land):

    ``L_warning_share = sum(A | L, V, CDI in warning_or_worse) / sum(A | L, V)``,
    ``L_alert_share`` likewise with the alert classes;
    ``valid_share = sum(A | land, V) / sum(A | land)``;
    ``population_exposed = sum(population | CDI in warning_or_worse)`` over all
    pixels of the unit, and ``population_exposed_share`` its share of the unit's
    population.
    """
    rules = rules or load_alert_rules()
    if not isinstance(cdi, xr.DataArray):
        raise InputError("cdi must be an xarray.DataArray (time, y, x) with a time coordinate.")
    _check_dims(cdi, "cdi", ("time", "y", "x"))
    months = month_labels(cdi["time"])
    dup = sorted({m for m in months if months.count(m) > 1})
    if dup:
        raise InputError(
            f"cdi has several maps in {dup}; expected one map per month (the monthly CDI). "
            "Aggregate dekads to months first."
        )
    for name, da in (("units", units), ("land_cover", land_cover), ("population", population)):
        _check_dims(da, name, ("y", "x"))
        _same_grid(cdi, da, name)
    ny, nx = cdi.sizes["y"], cdi.sizes["x"]
    area = np.asarray(pixel_area, dtype=np.float64)
    if area.shape == (ny,):
        area = np.broadcast_to(area[:, None], (ny, nx))
    elif area.shape != (ny, nx):
        raise InputError(
            f"pixel_area has shape {area.shape}; expected ({ny},) per row or ({ny}, {nx}) "
            "like the CDI grid. Use landwatch.indices.land.area.pixel_area_km2(cdi.y, ...)."
        )

    zone = _as_codes(_plain(units, "units", 2), "units", 0).ravel()
    lc = _as_codes(_plain(land_cover, "land_cover", 2), "land_cover", CDI_NODATA).ravel()
    pop = np.asarray(population, dtype=np.float64).ravel()
    if np.any(pop < 0):
        raise InputError(
            f"population has negative values (min {np.nanmin(pop):g}); expected persons per "
            "pixel >= 0 with NaN for no data."
        )
    pop = np.where(np.isfinite(pop), pop, 0.0)
    a = area.ravel()
    inside = zone != 0
    if np.any(inside & ~(np.isfinite(a) & (a > 0))):
        raise InputError("pixel_area must be positive and finite inside the units (km2 per pixel).")

    ids, inv = np.unique(zone, return_inverse=True)
    k = ids.size
    keep = ids != 0
    a0 = np.where(inside, a, 0.0)
    land = ~np.isin(lc, rules.water_codes) if rules.water_codes else np.ones_like(inside)
    crop = np.isin(lc, rules.cropland_codes)
    graz = np.isin(lc, rules.grazing_codes)
    w_land, w_crop, w_graz = a0 * land, a0 * crop, a0 * graz
    pop0 = np.where(inside, pop, 0.0)

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(inv, weights=weights, minlength=k)

    land_area, crop_area, graz_area = total(w_land), total(w_crop), total(w_graz)
    unit_pop = total(pop0)
    known = np.asarray(sorted(cdi_class_table()), dtype=np.int64)
    warn_codes, alert_codes = rules.warning_codes, rules.alert_codes
    min_area = rules.min_class_area_km2
    frames = []
    for t, month in enumerate(months):
        c = _as_codes(np.asarray(cdi.isel(time=t).values), "cdi", CDI_NODATA).ravel()
        unknown = np.setdiff1d(np.unique(c[inside]), known)
        if unknown.size:
            raise InputError(
                f"cdi ({month}) has class codes {unknown[:10].tolist()} that are not CDI codes "
                f"{ {int(k_): v for k_, v in cdi_class_table().items()} }. Pass landwatch's "
                "monthly CDI classes (EDO's dekadal v4 codes 4-8 differ: recode them first)."
            )
        valid = c != CDI_NODATA
        warn = np.isin(c, warn_codes)
        alrt = np.isin(c, alert_codes)

        def share(weights: np.ndarray, mask: np.ndarray, denom: np.ndarray) -> np.ndarray:
            num = total(weights * mask)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = num / denom
            return np.where(denom >= max(min_area, 1e-12), out, np.nan)

        land_valid = total(w_land * valid)
        crop_valid = total(w_crop * valid)
        graz_valid = total(w_graz * valid)
        exposed = total(pop0 * warn)
        with np.errstate(invalid="ignore", divide="ignore"):
            valid_share = np.where(land_area > 0, land_valid / land_area, np.nan)
            exposed_share = np.where(unit_pop > 0, exposed / unit_pop, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "month": month,
                    "unit": ids[keep],
                    "land_area_km2": land_area[keep],
                    "valid_share": valid_share[keep],
                    "land_warning_share": share(w_land, warn, land_valid)[keep],
                    "land_alert_share": share(w_land, alrt, land_valid)[keep],
                    "cropland_area_km2": crop_area[keep],
                    "cropland_warning_share": share(w_crop, warn, crop_valid)[keep],
                    "cropland_alert_share": share(w_crop, alrt, crop_valid)[keep],
                    "grazing_area_km2": graz_area[keep],
                    "grazing_warning_share": share(w_graz, warn, graz_valid)[keep],
                    "grazing_alert_share": share(w_graz, alrt, graz_valid)[keep],
                    "population": unit_pop[keep],
                    "population_exposed": exposed[keep],
                    "population_exposed_share": exposed_share[keep],
                }
            )
        )
    if not frames:
        raise InputError("cdi has no time steps; expected at least one monthly map.")
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["month", "unit"], kind="stable", ignore_index=True)


# --------------------------------------------------------------------------------------
# levels
# --------------------------------------------------------------------------------------


def _holds(conditions: Iterable[Mapping[str, float]], metrics: Mapping[str, Any]) -> bool:
    """Any item holds; an item holds when every metric is present, finite and >= its value."""
    for cond in conditions:
        ok = True
        for metric, minimum in cond.items():
            v = metrics.get(metric)
            if v is None or not np.isfinite(v) or float(v) < minimum:
                ok = False
                break
        if ok:
            return True
    return False


def level_for(metrics: Mapping[str, Any], rules: AlertRules | None = None) -> AlertLevel | None:
    """The highest level whose rule holds for one unit-month, or None.

    Parameters
    ----------
    metrics : mapping
        Metric name -> value (see :data:`METRICS`); missing or NaN metrics make every
        condition that uses them false.
    rules : AlertRules, optional
        Default rules when None.
    """
    rules = rules or load_alert_rules()
    for lv in reversed(rules.levels):
        if _holds(lv.when, metrics):
            return lv
    return None


def _next_month(month: str) -> str:
    p = pd.Period(month, freq="M") + 1
    return f"{p.year:04d}-{p.month:02d}"


def assess_units(
    stats: pd.DataFrame,
    rules: AlertRules | None = None,
    *,
    prior: Mapping[Any, tuple[str, int]] | None = None,
) -> pd.DataFrame:
    """Consecutive drought months and the alert level of every unit-month.

    Parameters
    ----------
    stats : pandas.DataFrame
        Output of :func:`unit_drought_statistics` (columns ``month``, ``unit`` and
        metrics).
    rules : AlertRules, optional
        Default rules when None.
    prior : mapping, optional
        unit -> (month, consecutive_months) recorded before ``stats`` (e.g. from the
        database); used when that month is the one just before the unit's first month.

    Returns
    -------
    pandas.DataFrame
        ``stats`` with ``consecutive_months``, ``drought_month`` (bool), ``status``
        (``assessed`` or ``insufficient_data``), ``level`` (a level name or
        ``"none"``), ``level_rank`` (0 none, 1.. by level) and ``severity`` (CAP,
        None for none).

    Notes
    -----
    A drought month is one where an item of ``rules.drought_month`` holds;
    ``consecutive_months`` counts drought months in a row up to the current one (0
    when the current month is not one). A month with less than
    ``rules.min_valid_share`` of the land valid is ``insufficient_data``: it gets no
    level and keeps the previous count unchanged. A missing calendar month breaks
    the run.
    """
    rules = rules or load_alert_rules()
    prior = prior or {}
    missing = {"month", "unit"} - set(stats.columns)
    if missing:
        raise InputError(
            f"stats lacks the columns {sorted(missing)}; pass the table of unit_drought_statistics."
        )
    df = stats.sort_values(["unit", "month"], kind="stable").reset_index(drop=True)
    consecutive = np.zeros(len(df), dtype=np.int64)
    is_drought = np.zeros(len(df), dtype=bool)
    status = np.empty(len(df), dtype=object)
    level = np.empty(len(df), dtype=object)
    rank = np.zeros(len(df), dtype=np.int64)
    severity = np.empty(len(df), dtype=object)
    last_unit: Any = object()
    last_month = ""
    run = 0
    for i, row in enumerate(df.to_dict("records")):
        unit, month = row["unit"], str(row["month"])
        if unit != last_unit:
            before = prior.get(unit)
            run = int(before[1]) if before is not None and _next_month(before[0]) == month else 0
        elif _next_month(last_month) != month:
            run = 0
        last_unit, last_month = unit, month
        valid = row.get("valid_share")
        if valid is None or not np.isfinite(valid) or valid < rules.min_valid_share:
            status[i], level[i], severity[i] = "insufficient_data", NO_LEVEL, None
            consecutive[i] = run
            continue
        status[i] = "assessed"
        is_drought[i] = _holds(rules.drought_month, row)
        run = run + 1 if is_drought[i] else 0
        consecutive[i] = run
        lv = level_for({**row, "consecutive_months": run}, rules)
        level[i] = lv.name if lv else NO_LEVEL
        rank[i] = lv.rank if lv else 0
        severity[i] = lv.severity if lv else None
    df["consecutive_months"] = consecutive
    df["drought_month"] = is_drought
    df["status"] = status
    df["level"] = level
    df["level_rank"] = rank
    df["severity"] = severity
    return df.sort_values(["month", "unit"], kind="stable", ignore_index=True)
