r"""UNCCD Strategic Objective 3 (drought): hazard, exposure and vulnerability.

* **SO3-1 hazard** -- :func:`december_spi` picks the December SPI-12 of each year,
  :func:`drought_hazard_class` maps it to five classes (edges 0 / -1 / -1.5 / -2) with
  the boundary rules of PRAIS 4 or of Trends.Earth, :func:`hazard_table` gives the
  area and per cent of land per class, year and zone (and under drought of any class),
  :func:`land_area_table` the territory / water / land split, and
  :func:`water_mask_from_land_cover` the water cells to leave out.
* **Maps per period** -- :func:`most_severe_drought_class`: the most severe class of
  each cell in each 4-year period, with :func:`most_severe_hazard_table` and
  :func:`most_severe_exposure_table`.
* **SO3-2 exposure** -- :func:`exposure_table`: people per class, year, zone and sex;
  :func:`drought_totals_table` keeps the "any drought" totals.
* **SO3-3 vulnerability** -- :func:`drought_vulnerability_index` (min-max normalised
  factors, component means or DEA scores (:func:`data_envelopment_scores`), DVI =
  mean of components) and :func:`vulnerability_table`.
* :func:`so3_period_summary` compares reporting periods with the 2000-2015 baseline.

The class edges are data (``landwatch/data/so3_drought_classes.csv``). Class rasters
are int16 with ``NODATA = -32768`` (the Trends.Earth convention).

References
----------
UNCCD (2021) Good Practice Guidance for national reporting on UNCCD Strategic
Objective 3 (drought). UNCCD PRAIS 4 Reporting Manual (2026 cycle), ``SO3.md``,
Table 19. Trends.Earth ``te_algorithms/gdal/drought_numba.py::drought_class`` and
``gdal/drought.py``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import InputError, UnitsError
from landwatch.indices.land.area import area_by_class, crosstab_area
from landwatch.indices.land.codes import LC_WATER, NODATA

__all__ = [
    "PRAIS_MAP_PERIODS",
    "DroughtScheme",
    "data_envelopment_scores",
    "december_spi",
    "drought_class_table",
    "drought_hazard_class",
    "drought_totals_table",
    "drought_vulnerability_index",
    "exposure_table",
    "hazard_table",
    "land_area_table",
    "most_severe_drought_class",
    "most_severe_exposure_table",
    "most_severe_hazard_table",
    "so3_period_summary",
    "vulnerability_table",
    "water_mask_from_land_cover",
]

DroughtScheme = Literal["prais", "trends_earth"]
_SCHEMES: tuple[str, ...] = ("prais", "trends_earth")
#: zone label of the whole area (union of all zones with id > 0)
ALL_ZONES = "ALL"
_RTOL = 1e-9


# --------------------------------------------------------------------------------------
# class table (data)
# --------------------------------------------------------------------------------------


def _parse_bool(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes")


@cache
def _class_rows() -> tuple[dict[str, Any], ...]:
    text = (resources.files("landwatch") / "data" / "so3_drought_classes.csv").read_text(
        encoding="utf-8"
    )
    rows: list[dict[str, Any]] = []
    for r in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {"scheme": r["scheme"], "code": int(r["code"]), "name": r["name"]}
        if r["scheme"] != "nodata":
            row |= {
                "lower": float(r["lower"]),
                "upper": float(r["upper"]),
                "lower_inclusive": _parse_bool(r["lower_inclusive"]),
                "upper_inclusive": _parse_bool(r["upper_inclusive"]),
            }
        rows.append(row)
    for scheme in _SCHEMES:
        _check_partition(scheme, [r for r in rows if r["scheme"] == scheme])
    return tuple(rows)


def _check_partition(scheme: str, rows: list[dict[str, Any]]) -> None:
    """The intervals of a scheme must cover the real line once (a broken table is a bug)."""
    rows = sorted(rows, key=lambda r: r["lower"])
    ok = bool(rows) and rows[0]["lower"] == -math.inf and rows[-1]["upper"] == math.inf
    for a, b in zip(rows, rows[1:], strict=False):
        ok &= a["upper"] == b["lower"] and (a["upper_inclusive"] != b["lower_inclusive"])
    if not ok:
        raise RuntimeError(f"so3_drought_classes.csv: scheme {scheme!r} is not a partition")


def drought_class_table(scheme: DroughtScheme = "prais") -> pd.DataFrame:
    """Drought hazard classes of a scheme: code, name, SPI interval and inclusivity.

    Parameters
    ----------
    scheme : {"prais", "trends_earth"}
        Boundary rules, see :func:`drought_hazard_class`.

    Returns
    -------
    pandas.DataFrame
        Columns ``code, name, lower, upper, lower_inclusive, upper_inclusive`` (one row
        per class, codes 0-4) plus the no-data row (code -32768, bounds NaN).
    """
    _check_scheme(scheme)
    rows = [r for r in _class_rows() if r["scheme"] in (scheme, "nodata")]
    df = pd.DataFrame(rows).drop(columns="scheme")
    return df.sort_values("code", key=lambda s: s.where(s != NODATA, 1 << 20)).reset_index(
        drop=True
    )


def _class_names() -> dict[int, str]:
    """Code -> name (identical in both schemes), with NODATA last."""
    out = {r["code"]: r["name"] for r in _class_rows() if r["scheme"] == "prais"}
    out = dict(sorted(out.items()))
    out[NODATA] = next(r["name"] for r in _class_rows() if r["scheme"] == "nodata")
    return out


def _drought_codes() -> list[int]:
    """Codes of the drought classes (mild to extreme): every class but non-drought and
    no data."""
    return [c for c in _class_names() if c not in (0, NODATA)]


def _check_scheme(scheme: str) -> None:
    if scheme not in _SCHEMES:
        raise InputError(
            f"scheme is {scheme!r}; expected one of {', '.join(map(repr, _SCHEMES))}. "
            "Use 'prais' for UNCCD reporting or 'trends_earth' for parity with Trends.Earth."
        )


# --------------------------------------------------------------------------------------
# SO3-1 hazard
# --------------------------------------------------------------------------------------


def _classify_core(
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    lower_inclusive: np.ndarray,
    upper_inclusive: np.ndarray,
    codes: np.ndarray,
) -> np.ndarray:
    """int16 class of each value; NaN (no interval matches) -> NODATA."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, NODATA, dtype=np.int16)
    for lo, up, li, ui, c in zip(
        lower, upper, lower_inclusive, upper_inclusive, codes, strict=True
    ):
        above = x >= lo if li else x > lo
        below = x <= up if ui else x < up
        out[above & below] = c
    return out


def drought_hazard_class(spi: xr.DataArray, *, scheme: DroughtScheme = "prais") -> xr.DataArray:
    """Drought hazard class of the SPI (SO3-1): non-drought, mild, moderate, severe, extreme.

    Parameters
    ----------
    spi : xarray.DataArray
        Float SPI (dimensionless), any dims, numpy or dask backed; usually the December
        SPI-12 of each year (:func:`december_spi`). NaN is missing.
    scheme : {"prais", "trends_earth"}
        Boundary rules (edges 0 / -1 / -1.5 / -2 in both):

        ``"prais"`` (PRAIS 4 Table 19, UNCCD reporting; default): upper bounds
        inclusive -- 0 non-drought ``SPI > 0``; 1 mild ``-1 < SPI <= 0``; 2 moderate
        ``-1.5 < SPI <= -1``; 3 severe ``-2 < SPI <= -1.5``; 4 extreme ``SPI <= -2``.

        ``"trends_earth"`` (``drought_numba.drought_class``): lower bounds inclusive
        -- 0 non-drought ``SPI >= 0``; 1 mild ``-1 <= SPI < 0``; 2 moderate
        ``-1.5 <= SPI < -1``; 3 severe ``-2 <= SPI < -1.5``; 4 extreme ``SPI < -2``.

    Returns
    -------
    xarray.DataArray
        int16 codes 0-4, ``-32768`` where the SPI is NaN; same dims and chunks as
        ``spi``; CF flag attributes and ``scheme``.

    Raises
    ------
    UnitsError
        Integer input (e.g. Trends.Earth's SPI x 1000 int16 rasters).
    InputError
        Unknown ``scheme``.

    Notes
    -----
    The two schemes differ only for SPI exactly 0, -1, -1.5 and -2 (e.g. SPI = 0 is
    mild drought under PRAIS and non-drought in Trends.Earth). +inf is non-drought,
    -inf extreme. The intervals are read from ``data/so3_drought_classes.csv``.

    References
    ----------
    UNCCD PRAIS 4 Reporting Manual, SO3-1 (Table 19 and glossary); UNCCD (2021) GPG SO3.
    """
    _check_scheme(scheme)
    if not isinstance(spi, xr.DataArray):
        raise InputError(
            f"spi is a {type(spi).__name__}; expected an xarray.DataArray. "
            "Wrap it with xr.DataArray(values, dims=...)."
        )
    if spi.dtype.kind in "iub":
        raise UnitsError(
            f"spi has integer dtype {spi.dtype}; expected float SPI values. Trends.Earth "
            "stores SPI x 1000 as int16: pass spi.where(spi != -32768) / 1000."
        )
    rows = sorted((r for r in _class_rows() if r["scheme"] == scheme), key=lambda r: r["code"])
    kwargs = {
        k: np.array([r[k] for r in rows])
        for k in ("lower", "upper", "lower_inclusive", "upper_inclusive", "code")
    }
    kwargs["codes"] = kwargs.pop("code")
    out = xr.apply_ufunc(
        _classify_core,
        spi,
        kwargs=kwargs,
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    names = _class_names()
    out.attrs = {
        "long_name": "drought hazard class (SO3-1)",
        "units": "1",
        "nodata": NODATA,
        "flag_values": list(names),
        "flag_meanings": " ".join(
            v.lower().replace(" ", "_").replace("-", "_") for v in names.values()
        ),
        "scheme": scheme,
    }
    return out.rename("drought_class")


def december_spi(spi12: xr.DataArray, years: Sequence[int] | None = None) -> xr.DataArray:
    """December value of the 12-month SPI of each year (the SO3-1 indicator).

    Parameters
    ----------
    spi12 : xarray.DataArray
        Monthly SPI-12 with a datetime ``time`` dimension (numpy or dask backed). The
        December SPI-12 is the standardised January-December precipitation of the year.
    years : sequence of int, optional
        Years to return (default: every year with a December time step).

    Returns
    -------
    xarray.DataArray
        ``time`` replaced by an int ``year`` dimension (lazy for dask input).

    Raises
    ------
    InputError
        No ``time`` dimension, more than one December step in a year (not monthly), or a
        requested year without December.
    """
    if "time" not in spi12.dims:
        raise InputError(
            f"spi12 has dims {spi12.dims}; expected a 'time' dimension of monthly steps. "
            "Rename the time dimension to 'time'."
        )
    t = pd.DatetimeIndex(np.asarray(spi12["time"].values))
    idx = np.flatnonzero(t.month == 12)
    yrs = t.year[idx]
    dup = sorted(set(yrs[pd.Index(yrs).duplicated()]))
    if dup:
        raise InputError(
            f"spi12 has more than one December time step in {dup[:5]}; expected monthly "
            "SPI-12. Resample to months first."
        )
    if years is not None:
        want = [int(y) for y in years]
        missing = [y for y in want if y not in set(yrs)]
        if missing:
            raise InputError(
                f"spi12 has no December value for {missing}; its Decembers cover "
                f"{', '.join(map(str, yrs)) or 'no year'}. Pass a longer series or fewer years."
            )
        pos = {y: i for y, i in zip(yrs, idx, strict=True)}
        idx = np.array([pos[y] for y in want], dtype=np.intp)
        yrs = pd.Index(want)
    out = spi12.isel(time=idx).drop_vars("time").rename(time="year")
    out = out.assign_coords(year=np.asarray(yrs, dtype=np.int64))
    out.attrs = dict(spi12.attrs) | {"cell_methods": "time: December value of SPI-12"}
    return out


# --------------------------------------------------------------------------------------
# tables (SO3-1 area, SO3-2 population)
# --------------------------------------------------------------------------------------


def _zone_layer(zones: xr.DataArray | None, like: xr.DataArray) -> xr.DataArray:
    if zones is None:
        return xr.ones_like(like, dtype=np.int32).rename("zone")
    if not isinstance(zones, xr.DataArray):
        raise InputError(
            "zones is not an xarray.DataArray; expected integer zone ids on the class grid "
            "(0 = outside). Wrap it with xr.DataArray(values, dims=('y', 'x'), coords=...)."
        )
    if zones.dtype.kind == "f":
        zones = zones.fillna(0)
    return zones.astype(np.int64).rename("zone")


def _zone_ids(
    found: Sequence[int], zones: xr.DataArray | None, zone_names: Mapping[int, str] | None
) -> dict[int, str]:
    if zones is None:
        return {}
    ids = {int(z) for z in found if int(z) not in (0, NODATA)}
    ids |= {int(k) for k in (zone_names or {})}
    names = dict(zone_names or {})
    return {z: str(names.get(z, z)) for z in sorted(ids)}


def _weights(
    w: xr.DataArray | np.ndarray | float, like: xr.DataArray, what: str
) -> xr.DataArray | float:
    """Area / population as a DataArray broadcastable to ``like`` (1-D numpy = per row)."""
    if isinstance(w, xr.DataArray):
        out = w
    elif np.ndim(w) == 0:
        return float(w)  # type: ignore[arg-type]
    else:
        arr = np.asarray(w, dtype=np.float64)
        ydim = like.dims[0]
        if arr.ndim == 1 and arr.shape[0] == like.shape[0]:
            out = xr.DataArray(
                arr, dims=(ydim,), coords={ydim: like[ydim]} if ydim in like.coords else {}
            )
        elif arr.shape == like.shape:
            out = xr.DataArray(
                arr, dims=like.dims, coords={d: like[d] for d in like.dims if d in like.coords}
            )
        else:
            raise InputError(
                f"{what} has shape {arr.shape}; expected {like.shape} or ({like.shape[0]},) "
                f"(one value per row). Pass a DataArray on ({', '.join(map(str, like.dims))})."
            )
    if out.dtype.kind == "f":
        out = out.fillna(0.0)
    return out


def _check_codes(table: pd.DataFrame, what: str) -> None:
    bad = sorted(set(table.columns) - set(_class_names()))
    if bad:
        raise InputError(
            f"{what} has class codes {bad}; expected 0-4 and {NODATA} (no data). "
            "Pass the output of drought_hazard_class."
        )


def _year_slices(classes: xr.DataArray) -> list[tuple[int, xr.DataArray]]:
    if "year" not in classes.dims or classes.ndim != 3:
        raise InputError(
            f"classes has dims {classes.dims}; expected (year, y, x). Use "
            "drought_hazard_class(december_spi(spi12)); add a year with .expand_dims(year=[2023])."
        )
    classes = classes.transpose("year", ...)
    return [(int(y), classes.isel(year=i, drop=True)) for i, y in enumerate(classes["year"].values)]


def _long_rows(
    year: int,
    tab: pd.DataFrame,
    totals: Mapping[int, float],
    ids: Mapping[int, str],
    value: str,
    total_col: str,
) -> list[dict[str, Any]]:
    """Rows of one year: every zone (and ALL) x every class incl. no data."""
    names = _class_names()
    tab = tab.reindex(columns=list(names), fill_value=0.0)
    zones: list[tuple[Any, str, pd.Series, float]] = []
    keep = [z for z in tab.index if z != 0] if ids else list(tab.index)
    for z, name in ids.items():
        row = tab.loc[z] if z in tab.index else pd.Series(0.0, index=tab.columns)
        zones.append((z, name, row, float(totals.get(z, 0.0))))
    all_row = tab.loc[keep].sum(axis=0) if keep else pd.Series(0.0, index=tab.columns)
    all_total = sum(float(v) for k, v in totals.items() if (k != 0 or not ids))
    zones.append((pd.NA, ALL_ZONES, all_row, all_total))
    out = []
    drought_codes = _drought_codes()
    for zid, zname, row, total in zones:
        ok = bool(abs(float(row.sum()) - total) <= _RTOL * max(abs(total), 1e-300))
        drought = float(sum(float(row[c]) for c in drought_codes))
        for code, cname in names.items():
            v = float(row[code])
            out.append(
                {
                    "year": year,
                    "zone_id": zid,
                    "zone": zname,
                    "class_code": code,
                    "class_name": cname,
                    value: v,
                    "percent": 100.0 * v / total if total > 0 else np.nan,
                    total_col: total,
                    f"drought_{value}": drought,
                    "drought_percent": 100.0 * drought / total if total > 0 else np.nan,
                    "check": ok,
                }
            )
    return out


def _finish(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["zone_id"] = df["zone_id"].astype("Int64")
    df["class_code"] = df["class_code"].astype(np.int16)
    return df


def hazard_table(
    classes: xr.DataArray,
    area_km2: xr.DataArray | np.ndarray | float,
    zones: xr.DataArray | None = None,
    zone_names: Mapping[int, str] | None = None,
    water_mask: xr.DataArray | np.ndarray | None = None,
) -> pd.DataFrame:
    """Land area and per cent of land per drought class, year and zone (SO3-1.T1).

    Parameters
    ----------
    classes : xarray.DataArray
        ``(year, y, x)`` int16 classes from :func:`drought_hazard_class`.
    area_km2 : xarray.DataArray, ndarray or float
        Cell area in km^2: ``(y, x)``, ``(y,)`` (one per row, e.g.
        :func:`~landwatch.indices.land.area.pixel_area_km2`) or a scalar. NaN = 0 km^2.
    zones : xarray.DataArray, optional
        ``(y, x)`` integer zone ids (e.g. rasterised admin units); 0 or NaN = outside.
        Without zones only the ``"ALL"`` rows are produced.
    zone_names : mapping of int to str, optional
        Zone id -> name (zones listed here but absent from the raster get 0 km^2 rows).
    water_mask : xarray.DataArray or ndarray of bool, optional
        ``(y, x)``, True = water; excluded from land area (Trends.Earth masks ESA CCI
        class 210 of the first year).

    Returns
    -------
    pandas.DataFrame
        One row per year x zone (each zone, then ``"ALL"`` = all cells with zone id > 0)
        x class (0-4 and -32768 "No data"): ``year, zone_id (Int64, <NA> for ALL), zone,
        class_code, class_name, area_km2, percent`` (of the zone's land area),
        ``land_area_km2``, ``drought_area_km2`` and ``drought_percent`` (land under
        drought of any class, mild + moderate + severe + extreme, the same on every
        class row of a year and zone: PRAIS SO3-1.T2) and ``check`` -- True when the
        classes plus no data add up to the land area, computed independently from
        ``area_km2``, ``zones`` and ``water_mask``, within 1e-9 relative.
        :func:`drought_totals_table` keeps one row per year and zone.

    Raises
    ------
    InputError
        Wrong dims, grids that do not align, or codes outside the class table.

    Notes
    -----
    Triggers computation for dask input (one pass per year). The percentage uses the
    land area of the grid; PRAIS computes % of the CP-1.T1 land area, which differs
    when the grid does not match the national boundary exactly.
    """
    slices = _year_slices(classes)
    like = slices[0][1]
    z = _zone_layer(zones, like)
    w = _weights(area_km2, like, "area_km2")
    land = area_by_class(z, w, mask=water_mask)
    rows: list[dict[str, Any]] = []
    ids: dict[int, str] | None = None
    for year, c in slices:
        tab = crosstab_area(z, c, w, mask=water_mask)
        _check_codes(tab, "classes")
        if ids is None:
            ids = _zone_ids(list(land), zones, zone_names)
        rows += _long_rows(year, tab, land, ids, "area_km2", "land_area_km2")
    return _finish(rows)


def exposure_table(
    classes: xr.DataArray,
    population: xr.DataArray,
    *,
    zones: xr.DataArray | None = None,
    zone_names: Mapping[int, str] | None = None,
    population_female: xr.DataArray | None = None,
    population_male: xr.DataArray | None = None,
    water_mask: xr.DataArray | np.ndarray | None = None,
) -> pd.DataFrame:
    """People per drought class, year, zone and sex (SO3-2).

    Parameters
    ----------
    classes : xarray.DataArray
        ``(year, y, x)`` int16 classes from :func:`drought_hazard_class`.
    population : xarray.DataArray
        People per cell, ``(y, x)`` (same for every year) or ``(year, y, x)`` covering
        every year of ``classes``. It must already be on the class grid: moving people
        between grids needs sum-preserving resampling (or, as PRAIS does, moving the
        hazard to the population grid by nearest neighbour), which is the caller's job.
        NaN = 0 people.
    zones, zone_names :
        As in :func:`hazard_table`.
    population_female, population_male : xarray.DataArray, optional
        Same layout as ``population``; each adds rows with ``sex`` ``"female"`` /
        ``"male"``.
    water_mask : xarray.DataArray or ndarray of bool, optional
        True = water, excluded (as Trends.Earth does).

    Returns
    -------
    pandas.DataFrame
        ``year, sex, zone_id, zone, class_code, class_name, population, percent``
        (of the zone's population of that sex), ``zone_population``,
        ``drought_population`` and ``drought_percent`` (people exposed to drought of
        any class, mild to extreme, repeated on each class row: the "total exposed" of
        PRAIS SO3-2.T1) and ``check`` (classes plus no data add up to
        ``zone_population`` within 1e-9 relative).

    Notes
    -----
    The denominator is the gridded population of the zone (water cells excluded);
    PRAIS uses the CP-1.T2 national totals (by sex), so per cents differ where the
    grids and the national statistics disagree. Triggers computation for dask input.
    """
    slices = _year_slices(classes)
    like = slices[0][1]
    z = _zone_layer(zones, like)
    layers = {"total": population, "female": population_female, "male": population_male}
    rows: list[dict[str, Any]] = []
    for sex, pop in layers.items():
        if pop is None:
            continue
        if not isinstance(pop, xr.DataArray):
            raise InputError(
                f"population ({sex}) is a {type(pop).__name__}; expected an xarray.DataArray "
                "on (y, x) or (year, y, x) of the class grid."
            )
        if "year" in pop.dims:
            have = set(int(y) for y in pop["year"].values)
            missing = [y for y, _ in slices if y not in have]
            if missing:
                raise InputError(
                    f"population ({sex}) has no year {missing}; expected every year of "
                    "classes. Fill gap years with the nearest available year first."
                )
        ids: dict[int, str] | None = None
        for year, c in slices:
            p = pop.sel(year=year, drop=True) if "year" in pop.dims else pop
            w = _weights(p, like, f"population ({sex})")
            total = area_by_class(z, w, mask=water_mask)
            tab = crosstab_area(z, c, w, mask=water_mask)
            _check_codes(tab, "classes")
            if ids is None:
                ids = _zone_ids(list(total), zones, zone_names)
            part = _long_rows(year, tab, total, ids, "population", "zone_population")
            rows += [r | {"sex": sex} for r in part]
    df = _finish(rows)
    return df[["year", "sex", *[c for c in df.columns if c not in ("year", "sex")]]]


def drought_totals_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per year (or period), sex and zone: the area or people under drought of
    any class (PRAIS SO3-1.T2 and the "total exposed" of SO3-2.T1).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`hazard_table`, :func:`exposure_table`,
        :func:`most_severe_hazard_table` or :func:`most_severe_exposure_table`.

    Returns
    -------
    pandas.DataFrame
        The key columns (``year`` or ``period, start, end, n_years``; ``sex`` for
        population; ``zone_id, zone``) and ``drought_area_km2`` (or
        ``drought_population``), ``drought_percent`` and the denominator
        (``land_area_km2`` or ``zone_population``).
    """
    if "drought_area_km2" in table.columns:
        cols = ["drought_area_km2", "drought_percent", "land_area_km2"]
    elif "drought_population" in table.columns:
        cols = ["drought_population", "drought_percent", "zone_population"]
    else:
        raise InputError(
            "table has neither drought_area_km2 nor drought_population; expected the output "
            "of hazard_table or exposure_table."
        )
    keys = [
        c
        for c in ("period", "start", "end", "n_years", "year", "sex", "zone_id", "zone")
        if c in table.columns
    ]
    out = table.drop_duplicates([k for k in keys if k != "zone_id"])
    return out[[*keys, *cols]].reset_index(drop=True)


def water_mask_from_land_cover(
    land_cover: xr.DataArray, water_codes: Sequence[int] = (LC_WATER,)
) -> xr.DataArray:
    """Water cells of a land cover map (True = water), to leave out of SO3 areas.

    Parameters
    ----------
    land_cover : xarray.DataArray
        Integer land cover classes; the UNCCD 7-class legend by default
        (:data:`~landwatch.indices.land.codes.LC_CLASSES`, 7 = water body). No data is
        not water.
    water_codes : sequence of int
        Classes that are water (default ``(7,)``; e.g. ``(210,)`` for ESA CCI).

    Returns
    -------
    xarray.DataArray
        bool, same dims and chunks as ``land_cover``.

    References
    ----------
    Trends.Earth masks water (ESA CCI class 210) out of the SO3 summary; UNCCD
    PRAIS 4 CP-1.T1 separates land from water bodies, and SO3-1 percentages are of land.
    """
    if land_cover.dtype.kind == "f":
        land_cover = land_cover.fillna(NODATA)
    codes = [int(c) for c in water_codes]
    if not codes:
        raise InputError("water_codes is empty; expected at least one class, e.g. (7,).")
    return land_cover.isin(codes).rename("water")


def land_area_table(
    like: xr.DataArray,
    area_km2: xr.DataArray | np.ndarray | float,
    zones: xr.DataArray | None = None,
    zone_names: Mapping[int, str] | None = None,
    water_mask: xr.DataArray | np.ndarray | None = None,
) -> pd.DataFrame:
    """Territory, water and land area per zone (the CP-1.T1 split of PRAIS 4).

    Parameters
    ----------
    like : xarray.DataArray
        A ``(y, x)`` layer of the grid (e.g. one year of the class map).
    area_km2, zones, zone_names, water_mask :
        As in :func:`hazard_table`.

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone, territory_km2, water_km2, land_km2, check``; ``check`` is True
        when land + water = territory within 1e-9 relative (the three are summed
        independently). ``land_km2`` is the denominator of the SO3-1 percentages.
    """
    if "year" in like.dims:
        like = like.isel(year=0, drop=True)
    z = _zone_layer(zones, like)
    w = _weights(area_km2, like, "area_km2")
    territory = area_by_class(z, w)
    if water_mask is None:
        land, water = dict(territory), {k: 0.0 for k in territory}
    else:
        wm = water_mask if isinstance(water_mask, xr.DataArray) else np.asarray(water_mask)
        land = area_by_class(z, w, mask=wm)
        water = area_by_class(z, w, mask=~wm.astype(bool))
    ids = _zone_ids(list(territory), zones, zone_names)
    rows: list[dict[str, Any]] = []
    sel = list(ids.items()) if ids else []
    for zid, name in [*sel, (None, ALL_ZONES)]:
        if zid is None:
            keep = [k for k in territory if (k != 0 or not ids) and k != NODATA]
            t, wa, la = (sum(float(d.get(k, 0.0)) for k in keep) for d in (territory, water, land))
        else:
            t, wa, la = (float(d.get(zid, 0.0)) for d in (territory, water, land))
        ok = bool(abs(la + wa - t) <= _RTOL * max(abs(t), 1e-300))
        rows.append(
            {
                "zone_id": pd.NA if zid is None else zid,
                "zone": name,
                "territory_km2": t,
                "water_km2": wa,
                "land_km2": la,
                "check": ok,
            }
        )
    df = pd.DataFrame(rows)
    df["zone_id"] = df["zone_id"].astype("Int64")
    return df


# --------------------------------------------------------------------------------------
# most severe class of a period (SO3-1 / SO3-2 maps)
# --------------------------------------------------------------------------------------

#: The 4-year periods of the SO3-1 maps in the 2026 PRAIS cycle (PRAIS 4 SO3-1 text).
PRAIS_MAP_PERIODS: dict[str, tuple[int, int]] = {
    f"{a}-{a + 3}": (a, a + 3) for a in range(2000, 2024, 4)
}


def most_severe_drought_class(
    classes: xr.DataArray, periods: Mapping[str, tuple[int, int]] | None = None
) -> xr.DataArray:
    """Most severe drought hazard class each cell reaches in each period (SO3-1 maps).

    Parameters
    ----------
    classes : xarray.DataArray
        ``(year, y, x)`` int16 classes from :func:`drought_hazard_class` (of the
        December SPI-12), numpy or dask backed.
    periods : mapping of str to (int, int), optional
        Period name -> first and last year, inclusive. Default
        :data:`PRAIS_MAP_PERIODS`: 2000-2003, 2004-2007, 2008-2011, 2012-2015 (the
        baseline) and 2016-2019, 2020-2023 (the reporting period). Periods may overlap
        (e.g. add ``{"baseline": (2000, 2015)}``).

    Returns
    -------
    xarray.DataArray
        int16 ``(period, y, x)``, with coordinates ``period_start``, ``period_end``
        and ``n_years`` (years of the period present in ``classes``) on ``period``;
        codes 0-4, ``-32768`` where no year of the period has a class. A period none of
        whose years is in ``classes`` is left out; the CF flag attributes of
        ``classes`` are kept.

    Raises
    ------
    InputError
        ``classes`` without a ``year`` dimension, a reversed period, or no period with
        any year of ``classes``.

    Notes
    -----
    The class codes rise with severity and the class of an SPI value falls as the SPI
    falls, so the most severe class of the years is the maximum code, and equals the
    class of the lowest December SPI-12 of the period -- the way Trends.Earth computes
    these maps (minimum SPI of the period). Years without data (no-data code) are
    skipped; a missing year is not regrouped into a neighbouring period (PRAIS asks to
    regroup available years "as close as possible" to the periods: pass your own
    ``periods`` for that), and ``n_years`` says how many years each map covers.

    References
    ----------
    UNCCD PRAIS 4 Reporting Manual (2026 cycle), SO3-1: "maps of the highest drought
    intensity per 4-year period" (2000-2003, ..., 2020-2023) and SO3-2: population
    exposed to the highest class per period. UNCCD (2021) GPG SO3.
    """
    if "year" not in classes.dims:
        raise InputError(
            f"classes has dims {classes.dims}; expected (year, y, x). Use "
            "drought_hazard_class(december_spi(spi12))."
        )
    periods = dict(PRAIS_MAP_PERIODS if periods is None else periods)
    years = [int(y) for y in classes["year"].values]
    maps, names, starts, ends, counts = [], [], [], [], []
    for name, (a, b) in periods.items():
        if a > b:
            raise InputError(
                f"period {name!r} is ({a}, {b}); expected (first, last) with first <= last."
            )
        sel = [y for y in years if a <= y <= b]
        if not sel:
            continue
        c = classes.sel(year=sel)
        worst = xr.where(c != NODATA, c, -1).max("year")
        maps.append(xr.where(worst >= 0, worst, NODATA).astype(np.int16))
        names.append(str(name))
        starts.append(int(a))
        ends.append(int(b))
        counts.append(len(sel))
    if not maps:
        raise InputError(
            f"no period has a year of classes ({years[0] if years else '-'}-"
            f"{years[-1] if years else '-'}); periods are {periods}. Pass periods within "
            "the years of the SPI series."
        )
    out = xr.concat(maps, dim="period").assign_coords(
        period=names,
        period_start=("period", starts),
        period_end=("period", ends),
        n_years=("period", counts),
    )
    attrs = {k: v for k, v in classes.attrs.items() if k in ("flag_values", "flag_meanings")}
    out.attrs = attrs | {
        "long_name": "most severe drought hazard class of the period",
        "units": "1",
        "nodata": NODATA,
        "cell_methods": "year: maximum (most severe class = class of the lowest SPI)",
    }
    if "scheme" in classes.attrs:
        out.attrs["scheme"] = classes.attrs["scheme"]
    return out.rename("most_severe_drought_class")


def _period_as_year(most_severe: xr.DataArray) -> xr.DataArray:
    if "period" not in most_severe.dims:
        raise InputError(
            f"most_severe has dims {most_severe.dims}; expected (period, y, x) from "
            "most_severe_drought_class."
        )
    n = most_severe.sizes["period"]
    out = most_severe.rename(period="year")
    out = out.drop_vars([c for c in ("period_start", "period_end", "n_years") if c in out.coords])
    return out.assign_coords(year=np.arange(n))


def _year_to_period(df: pd.DataFrame, most_severe: xr.DataArray) -> pd.DataFrame:
    info = pd.DataFrame(
        {
            "year": np.arange(most_severe.sizes["period"]),
            "period": [str(p) for p in most_severe["period"].values],
            "start": most_severe["period_start"].values.astype(int)
            if "period_start" in most_severe.coords
            else pd.NA,
            "end": most_severe["period_end"].values.astype(int)
            if "period_end" in most_severe.coords
            else pd.NA,
            "n_years": most_severe["n_years"].values.astype(int)
            if "n_years" in most_severe.coords
            else pd.NA,
        }
    )
    out = df.merge(info, on="year", how="left", sort=False)
    front = ["period", "start", "end", "n_years"]
    return out[[*front, *[c for c in df.columns if c != "year"]]]


def most_severe_hazard_table(
    most_severe: xr.DataArray,
    area_km2: xr.DataArray | np.ndarray | float,
    zones: xr.DataArray | None = None,
    zone_names: Mapping[int, str] | None = None,
    water_mask: xr.DataArray | np.ndarray | None = None,
) -> pd.DataFrame:
    """Land area per most-severe drought class, period and zone.

    Parameters
    ----------
    most_severe : xarray.DataArray
        ``(period, y, x)`` from :func:`most_severe_drought_class`.
    area_km2, zones, zone_names, water_mask :
        As in :func:`hazard_table`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`hazard_table` with ``year`` replaced by ``period, start,
        end, n_years``: area and per cent of land whose most severe class over the
        period is each class, and ``drought_area_km2`` / ``drought_percent`` (land in
        drought of any class in at least one year of the period).
    """
    df = hazard_table(_period_as_year(most_severe), area_km2, zones, zone_names, water_mask)
    return _year_to_period(df, most_severe)


def most_severe_exposure_table(
    most_severe: xr.DataArray,
    population: xr.DataArray,
    *,
    zones: xr.DataArray | None = None,
    zone_names: Mapping[int, str] | None = None,
    population_female: xr.DataArray | None = None,
    population_male: xr.DataArray | None = None,
    water_mask: xr.DataArray | np.ndarray | None = None,
) -> pd.DataFrame:
    """People per most-severe drought class, period, zone and sex (PRAIS SO3-2 maps).

    Parameters
    ----------
    most_severe : xarray.DataArray
        ``(period, y, x)`` from :func:`most_severe_drought_class`.
    population, population_female, population_male : xarray.DataArray
        ``(y, x)`` people per cell on the class grid (one map for every period).
    zones, zone_names, water_mask :
        As in :func:`hazard_table`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`exposure_table` with ``year`` replaced by ``period, start,
        end, n_years``.
    """
    for what, pop in (("population", population), ("population_female", population_female)):
        if pop is not None and "year" in pop.dims:
            raise InputError(
                f"{what} has a year dimension; expected one (y, x) map for the periods. "
                "Pick the population of the period's last year."
            )
    if population_male is not None and "year" in population_male.dims:
        raise InputError(
            "population_male has a year dimension; expected one (y, x) map for the periods."
        )
    df = exposure_table(
        _period_as_year(most_severe),
        population,
        zones=zones,
        zone_names=zone_names,
        population_female=population_female,
        population_male=population_male,
        water_mask=water_mask,
    )
    out = _year_to_period(df, most_severe)
    front = ["period", "start", "end", "n_years", "sex"]
    return out[[*front, *[c for c in out.columns if c not in front]]]


# --------------------------------------------------------------------------------------
# SO3-3 vulnerability
# --------------------------------------------------------------------------------------


def _pareto_maximal(u: np.ndarray, block: int = 1024) -> np.ndarray:
    """Rows of ``u`` (unique, non-negative) that no other row dominates (>= everywhere).

    A dominated row's DEA constraint is implied by its dominator's (weights are >= 0),
    so only these rows are needed as constraints.
    """
    order = np.argsort(-u.sum(axis=1), kind="stable")
    srt = u[order]
    keep = np.empty((0, u.shape[1]))
    for start in range(0, srt.shape[0], block):
        blk = srt[start : start + block]
        if keep.shape[0]:
            # a dominator has a sum >= the row's, so it is already kept or in this block
            dom = np.zeros(blk.shape[0], dtype=bool)
            for k0 in range(0, keep.shape[0], block):
                kb = keep[k0 : k0 + block]
                dom |= np.any(np.all(kb[None, :, :] >= blk[:, None, :], axis=2), axis=1)
            blk = blk[~dom]
        pair = np.asarray(np.all(blk[None, :, :] >= blk[:, None, :], axis=2))
        np.fill_diagonal(pair, False)
        keep = np.vstack([keep, blk[~np.any(pair, axis=1)]])
    return keep[keep.max(axis=1) > 0] if keep.size else keep


def _bod_linprog(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Optimal weights of the units ``y`` (rows), one block-diagonal programme."""
    from scipy import sparse
    from scipy.optimize import linprog

    b, m = y.shape[0], ref.shape[0]
    res = linprog(
        -y.ravel(),
        A_ub=sparse.kron(sparse.identity(b, format="csr"), sparse.csr_matrix(ref)),
        b_ub=np.ones(b * m),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:  # feasible (w = 0) and bounded by construction: a solver failure
        raise RuntimeError(f"DEA linear programme failed: {res.message}")
    return np.asarray(res.x).reshape(b, -1)


def _bod_programmes(
    u: np.ndarray, ref: np.ndarray, batch: int, tol: float = 1e-9, chunk: int = 1 << 16
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and weights of every row of ``u`` against the constraints ``ref``.

    Every optimum is a vertex of the weight polytope ``{w >= 0: ref @ w <= 1}``, and few
    vertices serve many units. So: solve the programmes of a batch of units, keep their
    optimal vertices, give every other unit its best known vertex, and accept it when
    the KKT conditions prove it optimal (the unit's indicator vector is a non-negative
    combination of the constraint normals active at the vertex); units left unproven
    go to the next batch. Exact up to the solver tolerance; typically a few hundred
    programmes for any number of units; memory O(units).
    """
    n, k = u.shape
    g = np.vstack([ref, -np.eye(k)])  # constraints g @ w <= h
    h = np.concatenate([np.ones(ref.shape[0]), np.zeros(k)])
    scores, weights = np.zeros(n), np.zeros((n, k))
    todo = np.ones(n, dtype=bool)
    best_val = np.full(n, -np.inf)
    best = np.full(n, -1)
    stale = np.zeros(n, dtype=bool)  # best vertex known not to be provably optimal
    verts = np.empty((0, k))
    dual_maps: list[np.ndarray | None] = []  # per vertex: inv(active normals), if simple

    def add_vertices(w: np.ndarray) -> None:
        nonlocal verts
        new = np.unique(np.round(w, 12), axis=0)
        for v in new:
            active = np.abs(g @ v - h) <= 10 * tol + 1e-7 * np.abs(h)
            a = g[active]
            simple = a.shape[0] == k and abs(np.linalg.det(a)) > 1e-12
            dual_maps.append(np.linalg.inv(a) if simple else None)
        first = verts.shape[0]
        verts = np.vstack([verts, new])
        rest = np.flatnonzero(todo)
        for c0 in range(0, rest.size, chunk):  # units whose best vertex improves
            idx = rest[c0 : c0 + chunk]
            vals = u[idx] @ new.T
            j = vals.argmax(axis=1)
            v = vals[np.arange(idx.size), j]
            up = v > best_val[idx]
            best_val[idx[up]] = v[up]
            best[idx[up]] = first + j[up]
            stale[idx[up]] = False

    # the frontier rows span the vertices: start with their programmes
    add_vertices(_bod_linprog(ref[:batch], ref))
    while True:
        cand = np.flatnonzero(todo & ~stale & (best >= 0))
        for j in np.unique(best[cand]):
            sel = cand[best[cand] == j]
            dmap = dual_maps[j]
            if dmap is None:
                stale[sel] = True
                continue
            lam = u[sel] @ dmap  # multipliers of the active constraints
            ok = (lam >= -tol * np.abs(u[sel]).max(axis=1, keepdims=True)).all(axis=1)
            scores[sel[ok]] = best_val[sel[ok]]
            weights[sel[ok]] = verts[j]
            todo[sel[ok]] = False
            stale[sel[~ok]] = True
        rest = np.flatnonzero(todo)
        if not rest.size:
            return scores, weights
        # spread the next batch over the remaining units (rows are sorted, neighbours alike)
        pending = rest[np.unique(np.linspace(0, rest.size - 1, min(batch, rest.size)).astype(int))]
        w = _bod_linprog(u[pending], ref)
        scores[pending] = (u[pending] * w).sum(axis=1)
        weights[pending] = w
        todo[pending] = False
        add_vertices(w)


def data_envelopment_scores(
    values: np.ndarray, *, batch: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    r"""Benefit-of-the-doubt Data Envelopment Analysis scores and weights of a set of units.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n_units, n_indicators)``, non-negative, larger = more of what is measured
        (e.g. min-max normalised vulnerability factors). A row with any NaN is not a
        unit: its score and weights are NaN and it constrains nobody.
    batch : int
        Units solved together as one block-diagonal linear programme (the blocks are
        independent, so the optimum of the sum is the optimum of each). Speed only.

    Returns
    -------
    scores : numpy.ndarray
        ``(n_units,)`` in [0, 1].
    weights : numpy.ndarray
        ``(n_units, n_indicators)`` optimal weights :math:`w_o` (one optimum when there
        are several; 0 for an indicator that is 0 for every unit).

    Raises
    ------
    InputError
        Not 2-D, or negative values.

    Notes
    -----
    For each unit :math:`o` with indicators :math:`y_{io}`, the linear programme
    (Melyn and Moesen 1991; Cherchye et al. 2007; OECD/JRC 2008 Handbook, sec. 6.1.4)

    .. math::

        C_o = \max_{w} \sum_i w_i y_{io} \quad \text{s.t.} \quad
        \sum_i w_i y_{ij} \le 1 \;\; \forall j, \qquad w_i \ge 0,

    is the input-oriented, constant-returns DEA (CCR) model with the indicators as
    outputs and one unit input per unit: every unit gets the weights most favourable
    to it, under the condition that no unit scores above 1 with those weights.
    :math:`C_o = 1` for units on the (convex) frontier, :math:`0 \le C_o \le 1`.
    Scaling an indicator by :math:`c > 0` scales its optimal weight by :math:`1/c`
    and leaves every score unchanged; a unit that is 0 everywhere scores 0.

    Solved with :func:`scipy.optimize.linprog` (HiGHS). Ties: identical rows are solved
    once; when several weight vectors are optimal the score is unique, the weights
    returned are one optimal vertex. Only the rows on the Pareto frontier enter as
    constraints (a dominated row's constraint is implied), and indicators that are 0
    for every unit are left out (weight 0). Optimal weights are vertices of the weight
    polytope and few vertices serve many units: a unit whose best already-found vertex
    is proven optimal by the KKT conditions takes it without a programme of its own
    (same result, a few hundred programmes instead of one per unit). With one
    indicator the programme has the closed form :math:`C_o = y_o / \max_j y_j`,
    which is used.

    References
    ----------
    Carrao H., Naumann G., Barbosa P. (2016) Mapping global patterns of drought risk:
    an empirical framework based on sub-national estimates of hazard, exposure and
    vulnerability. Global Environmental Change 39, 108-124,
    doi:10.1016/j.gloenvcha.2016.04.012. Cherchye L., Moesen W., Rogge N., Van
    Puyenbroeck T. (2007) An introduction to 'benefit of the doubt' composite
    indicators. Social Indicators Research 82, 111-145. OECD/JRC (2008) Handbook on
    constructing composite indicators.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(
            f"values has shape {x.shape}; expected (n_units, n_indicators). Stack the "
            "indicators as columns."
        )
    n, k = x.shape
    scores = np.full(n, np.nan)
    weights = np.full((n, k), np.nan)
    ok = np.isfinite(x).all(axis=1)
    xv = x[ok]
    if xv.size and float(xv.min()) < 0:
        raise InputError(
            f"values has negative entries (min {float(xv.min()):.4g}); DEA needs "
            "non-negative indicators. Min-max normalise them first."
        )
    if not xv.shape[0]:
        return scores, weights
    uniq, inv = np.unique(xv, axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    active = uniq.max(axis=0) > 0
    s_u = np.zeros(uniq.shape[0])
    w_u = np.zeros(uniq.shape)
    u = uniq[:, active]
    if u.shape[1] == 1:
        top = float(u.max())
        s_u = u[:, 0] / top
        w_u[:, active] = 1.0 / top
    elif u.shape[1] > 1:
        ref = _pareto_maximal(u)
        if ref.shape[0] > 4 * batch:
            # a frontier row inside the convex hull (score < 1) has an implied constraint
            ref_scores, _ = _bod_programmes(ref, ref, batch)
            ref = ref[ref_scores >= 1.0 - 1e-7]
        s_u, w = _bod_programmes(u, ref, batch)
        w_u[:, active] = w
    scores[ok] = np.clip(s_u, 0.0, 1.0)[inv]
    weights[ok] = w_u[inv]
    return scores, weights


def _dea_block(*arrays: np.ndarray) -> np.ndarray:
    shape = np.shape(arrays[0])
    stack = np.stack([np.asarray(a, dtype=np.float64).ravel() for a in arrays], axis=1)
    return data_envelopment_scores(stack)[0].reshape(shape)


def _dea_component(factors: list[xr.DataArray]) -> xr.DataArray:
    """DEA score of every element of broadcast ``factors``: all elements are the units."""
    fs = xr.broadcast(*factors)
    like = fs[0]
    if any(f.chunks is not None for f in fs):
        import dask
        import dask.array as dsa

        arrays = [dsa.asarray(f.data) for f in fs]
        lazy = dask.delayed(_dea_block)(*arrays)
        data = dsa.from_delayed(lazy, shape=like.shape, dtype=np.float64)
        data = data.rechunk(arrays[0].chunks)
    else:
        data = _dea_block(*[f.values for f in fs])
    return like.copy(data=data)


def drought_vulnerability_index(
    indicators: Mapping[str, xr.DataArray],
    *,
    groups: Mapping[str, Sequence[str]],
    directions: Mapping[str, int],
    weights: Mapping[str, float] | Literal["dea"] | None = None,
    method: Literal["minmax"] = "minmax",
) -> xr.Dataset:
    r"""Drought Vulnerability Index from social, economic and infrastructural factors (SO3-3).

    Parameters
    ----------
    indicators : mapping of str to xarray.DataArray
        Factor name -> values on one common layout (e.g. ``(year, y, x)`` gridded,
        ``(year, unit)`` per admin unit, or ``(year,)`` country level). NaN = missing.
    groups : mapping of str to sequence of str
        Component -> its factor names, e.g. ``{"social": ["literacy"], "economic":
        ["poverty"], "infrastructure": ["water_access"]}``. Every factor belongs to
        exactly one component.
    directions : mapping of str to int
        Factor -> +1 (higher value = more vulnerable, e.g. poverty) or -1 (higher = less
        vulnerable, e.g. literacy, GDP, irrigation, water access).
    weights : mapping of str to float, or "dea", optional
        Positive weights of factors within their component (default 1 each: the
        component is the mean of its factors, as the UNCCD GPG asks), or ``"dea"``:
        weights from Data Envelopment Analysis, chosen for every unit (cell, admin unit,
        year) separately, as in the JRC global DVI -- see Notes and
        :func:`data_envelopment_scores`.
    method : {"minmax"}
        Normalisation; only min-max is implemented.

    Returns
    -------
    xarray.Dataset
        ``<factor>_normalised`` (0-1, 1 = most vulnerable), one variable per component
        (0-1) and ``dvi`` (0-1), all lazy for dask input.

    Raises
    ------
    InputError
        Names missing from ``groups`` / ``directions`` / ``indicators``, directions not
        +-1, weights not positive, a factor with no valid value, or (numpy input) a
        constant factor.

    Notes
    -----
    Normalisation over all valid values of a factor (every year and every spatial
    unit together, as PRAIS asks for Tier 3): :math:`f = (X - X_{min})/(X_{max} -
    X_{min})` for direction +1 and :math:`f = 1 - (X - X_{min})/(X_{max} - X_{min})`
    for direction -1. Component :math:`C_k = \sum_i w_i f_i / \sum_i w_i` over its
    factors (weights on factors, not components); :math:`DVI = \frac{1}{K}\sum_k C_k`
    (K = 3 for the UNCCD components). This is the aggregation of the UNCCD GPG for SO3
    and PRAIS 4 SO3-3 (``DVI = (C_social + C_economic + C_infrastructural) / 3``).

    Missing values: a component is NaN where any of its factors is NaN, and the DVI is
    NaN where any component is NaN (no re-weighting over the factors present, so
    values stay comparable across cells and years).

    ``weights="dea"`` (JRC global DVI, Carrao et al. 2016, the PRAIS/Trends.Earth
    default layer): two steps. (1) Each component is the "benefit of the doubt" DEA
    score of its normalised factors: for unit :math:`o` the weights :math:`w \ge 0`
    that maximise :math:`C_o = \sum_i w_i f_{io}` subject to :math:`\sum_i w_i f_{ij}
    \le 1` for every unit :math:`j` (all cells and years of the input together, the
    set the min-max normalisation uses), i.e. the weights most favourable to a high
    vulnerability of :math:`o`; :math:`C_o \in [0, 1]`, and units on the frontier
    score one; (2) DVI = arithmetic mean of the components, as with explicit weights
    (Carrao et al. 2016: vulnerability is "the arithmetic composite of high level
    factors of social, economic and infrastructural indicators"). A component with one
    factor scores :math:`f / \max f` = ``f`` (the min-max maximum is 1). Ties, factors
    that are 0 everywhere and the solver: see :func:`data_envelopment_scores`. NaN
    rule as above (a unit with a NaN factor is no unit of the programme and scores
    NaN). For dask input the DEA step runs lazily as one task over the whole array
    (every unit is a constraint of every other).

    A constant factor has no min-max range: numpy input raises InputError; for dask
    input (checked lazily) its normalised values and the dependent scores are NaN.

    References
    ----------
    UNCCD (2021) Good Practice Guidance for SO3, Level 3 (vulnerability); PRAIS 4
    Reporting Manual SO3-3. Carrao H., Naumann G., Barbosa P. (2016) Mapping global
    patterns of drought risk. Global Environmental Change 39, 108-124,
    doi:10.1016/j.gloenvcha.2016.04.012.
    """
    if method != "minmax":
        raise InputError(f"method is {method!r}; expected 'minmax' (the only one implemented).")
    use_dea = isinstance(weights, str)
    if use_dea and weights != "dea":
        raise InputError(
            f"weights is {weights!r}; expected a mapping of factor -> weight, or 'dea' for "
            "Data Envelopment Analysis weights."
        )
    weights = {} if use_dea else dict(weights or {})  # type: ignore[arg-type]
    grouped = [n for names in groups.values() for n in names]
    dup = sorted({n for n in grouped if grouped.count(n) > 1})
    unknown = sorted(set(grouped) - set(indicators))
    unused = sorted(set(indicators) - set(grouped))
    no_dir = sorted(set(indicators) - set(directions))
    bad_dir = sorted(n for n, d in directions.items() if d not in (1, -1))
    bad_w = sorted(n for n, v in weights.items() if not (np.isfinite(v) and v > 0))
    problems = [
        (dup, "are in more than one group; put each factor in one component"),
        (unknown, "are in groups but not in indicators; pass them or drop them from groups"),
        (unused, "are indicators in no group; add them to a group or drop them"),
        (no_dir, "have no direction; give +1 (more = more vulnerable) or -1"),
        (bad_dir, "have a direction other than +1 / -1"),
        (bad_w, "have weights that are not positive finite numbers"),
    ]
    for names, fix in problems:
        if names:
            raise InputError(f"factors {names} {fix}.")
    empty = [g for g, names in groups.items() if not names]
    if empty or not groups:
        raise InputError(f"groups {empty} have no factors; expected at least one per component.")

    out: dict[str, xr.DataArray] = {}
    for name in grouped:
        x = indicators[name].astype(np.float64)
        lo, hi = x.min(), x.max()
        if x.chunks is None:
            if not np.isfinite(float(lo)):
                raise InputError(
                    f"indicator {name!r} has no valid value; expected at least two distinct "
                    "values. Drop the factor."
                )
            if float(hi) == float(lo):
                raise InputError(
                    f"indicator {name!r} is constant ({float(lo)}); min-max normalisation "
                    "needs at least two distinct values. Drop the factor."
                )
        f = (x - lo) / (hi - lo)
        if directions[name] == -1:
            f = 1.0 - f
        f.attrs = {
            "long_name": f"{name}, min-max normalised (1 = most vulnerable)",
            "units": "1",
            "direction": int(directions[name]),
        }
        out[f"{name}_normalised"] = f.rename(f"{name}_normalised")

    comps: list[xr.DataArray] = []
    for g, members in groups.items():
        if use_dea:
            score = _dea_component([out[f"{n}_normalised"] for n in members])
        else:
            ws = [float(weights.get(n, 1.0)) for n in members]
            total = sum(ws)
            score = sum(
                (out[f"{n}_normalised"] * (w / total) for n, w in zip(members, ws, strict=True)),
                start=xr.zeros_like(out[f"{members[0]}_normalised"]),
            )
        score.attrs = {"long_name": f"{g} vulnerability component", "units": "1"}
        out[g] = score.rename(g)
        comps.append(score)
    dvi = sum(comps[1:], start=comps[0]) / len(comps)
    how = (
        "DEA (benefit of the doubt) score of the min-max factors"
        if use_dea
        else "weighted mean of min-max factors"
    )
    dvi.attrs = {
        "long_name": "drought vulnerability index (SO3-3)",
        "units": "1",
        "aggregation": f"mean of components; component = {how}",
        "weights": "dea" if use_dea else "explicit" if weights else "equal",
    }
    out["dvi"] = dvi.rename("dvi")
    return xr.Dataset(out)


def vulnerability_table(
    dvi: xr.DataArray,
    zones: xr.DataArray | None = None,
    zone_names: Mapping[int, str] | None = None,
    area_km2: xr.DataArray | np.ndarray | float | None = None,
) -> pd.DataFrame:
    """Mean DVI per zone (and year when ``dvi`` has one).

    Parameters
    ----------
    dvi : xarray.DataArray
        ``(y, x)`` or ``(year, y, x)`` DVI, NaN = missing.
    zones, zone_names :
        As in :func:`hazard_table`; ``zones`` is ``(y, x)``. Zone ids are taken from
        ``zone_names`` when given, else read from ``zones`` (which loads it).
    area_km2 : optional
        Cell area; when given the mean is area-weighted, otherwise a plain mean of the
        valid cells (Trends.Earth's DVI summary is a plain mean over AOI pixels).

    Returns
    -------
    pandas.DataFrame
        ``[year,] zone_id, zone, dvi_mean, n_cells`` (valid cells) and ``weight``
        (valid area in km^2, or the cell count). ``"ALL"`` covers zone ids > 0.

    Notes
    -----
    Triggers computation for dask input.
    """
    has_year = "year" in dvi.dims
    like = dvi.isel(year=0, drop=True) if has_year else dvi
    z = _zone_layer(zones, like)
    w = 1.0 if area_km2 is None else _weights(area_km2, like, "area_km2")
    if zones is None:
        ids: dict[int, str] = {}
    elif zone_names is not None:
        ids = {int(k): str(v) for k, v in sorted(zone_names.items())}
    else:
        ids = {int(k): str(k) for k in np.unique(np.asarray(z)) if int(k) != 0}
    valid = dvi.notnull()
    sel: list[tuple[Any, str, xr.DataArray]] = [(k, v, z == k) for k, v in ids.items()]
    sel.append((pd.NA, ALL_ZONES, z != 0 if zones is not None else xr.ones_like(z, dtype=bool)))
    spatial = [d for d in dvi.dims if d != "year"]
    parts = []
    for _, _, m in sel:
        mv = valid & m
        wt = (mv * w) if area_km2 is not None else mv.astype(np.float64)
        parts.append(((dvi.fillna(0.0) * wt).sum(spatial), wt.sum(spatial), mv.sum(spatial)))
    if any(p.chunks is not None for trio in parts for p in trio):
        import dask

        parts = list(dask.compute(*parts))
    rows = []
    years = [int(y) for y in dvi["year"].values] if has_year else [None]
    for (zid, zname, _), (num, den, n) in zip(sel, parts, strict=True):
        for i, year in enumerate(years):
            nu, de, nn = (
                (float(a.isel(year=i)) for a in (num, den, n))
                if has_year
                else (float(num), float(den), float(n))
            )
            row = {"zone_id": zid, "zone": zname, "dvi_mean": nu / de if de > 0 else np.nan}
            row |= {"n_cells": int(nn), "weight": de}
            rows.append(({"year": year} if has_year else {}) | row)
    df = pd.DataFrame(rows)
    df["zone_id"] = df["zone_id"].astype("Int64")
    return df


# --------------------------------------------------------------------------------------
# periods
# --------------------------------------------------------------------------------------


def so3_period_summary(
    hazard_df: pd.DataFrame,
    *,
    baseline: tuple[int, int] = (2000, 2015),
    periods: Mapping[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Mean annual per cent of land per drought class over the baseline and reporting periods.

    Parameters
    ----------
    hazard_df : pandas.DataFrame
        Output of :func:`hazard_table` (needs ``year, zone, class_code, class_name,
        percent``).
    baseline : (int, int)
        First and last year of the baseline, inclusive (UNCCD: 2000-2015).
    periods : mapping of str to (int, int), optional
        Reporting periods, inclusive; default ``{"report_1": (2016, 2019),
        "report_2": (2016, 2023)}``.

    Returns
    -------
    pandas.DataFrame
        ``zone, period ("baseline" first), start, end, n_years`` (years present),
        ``class_code, class_name, mean_percent``, ``baseline_percent`` and
        ``change_pp`` = mean_percent - baseline_percent (percentage points; 0 for the
        baseline rows, NaN when either has no year).

    Notes
    -----
    The mean of the annual percentages of land in each class; years missing from
    ``hazard_df`` are left out (``n_years`` says how many were used).
    """
    if periods is None:
        periods = {"report_1": (2016, 2019), "report_2": (2016, 2023)}
    need = {"year", "zone", "class_code", "class_name", "percent"}
    if missing := sorted(need - set(hazard_df.columns)):
        raise InputError(f"hazard_df lacks columns {missing}; expected the output of hazard_table.")
    allp = {"baseline": baseline, **dict(periods)}
    for name, (a, b) in allp.items():
        if a > b:
            raise InputError(
                f"period {name!r} is ({a}, {b}); expected (first, last) with first <= last."
            )
    keys = ["zone", "class_code", "class_name"]
    frames = []
    for name, (a, b) in allp.items():
        sub = hazard_df[(hazard_df["year"] >= a) & (hazard_df["year"] <= b)]
        g = sub.groupby(keys, sort=False, dropna=False)["percent"].mean().rename("mean_percent")
        n = sub.groupby("zone", sort=False)["year"].nunique().rename("n_years")
        base = hazard_df.drop_duplicates(keys)[keys].set_index(keys)
        f = base.join(g).reset_index()
        f = f.merge(n, left_on="zone", right_index=True, how="left")
        f["n_years"] = f["n_years"].fillna(0).astype(int)
        f.insert(1, "period", name)
        f.insert(2, "start", a)
        f.insert(3, "end", b)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    bl = frames[0].set_index(keys)["mean_percent"].rename("baseline_percent")
    out = out.merge(bl, left_on=keys, right_index=True, how="left")
    out["change_pp"] = out["mean_percent"] - out["baseline_percent"]
    cols = ["zone", "period", "start", "end", "n_years", *keys[1:]]
    return out[[*cols, "mean_percent", "baseline_percent", "change_pp"]]
