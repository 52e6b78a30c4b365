"""SO1-3 soil organic carbon sub-indicator (UNCCD modified Tier 1, as Trends.Earth).

Code tables (``landwatch/data``):

* ``soc_land_use_factors.csv`` - 7x7 IPCC land-use stock-change factors
  (symbols ``f`` and ``1/f`` for the climate-dependent cropland factor).
* ``soc_climate_regimes.csv`` - cropland factor f per climate regime.
* ``ipcc_climate_zone_to_regime.csv`` - IPCC climate-zone raster code -> regime.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path

import numba
import numpy as np
import xarray as xr

from landwatch.errors import DataSourceError, InputError
from landwatch.indices.land.codes import (
    CLASS3_NAMES,
    DEGRADED,
    IMPROVED,
    NODATA,
    STABLE,
    isin_codes,
)
from landwatch.indices.land.timeaxis import years_of

__all__ = [
    "SocFactors",
    "climate_regimes",
    "cropland_factor",
    "load_soc_factors",
    "soc_degradation",
    "soc_stock_series",
]


def _data_rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("landwatch") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def climate_regimes() -> dict[str, float]:
    """Cropland factor f by climate regime name (lower case), from the packaged table."""
    return {_norm(r["name"]): float(r["f"]) for r in _data_rows("soc_climate_regimes.csv")}


def climate_zone_names() -> dict[int, str]:
    """IPCC climate-zone raster code -> zone name, from the packaged table."""
    return {
        int(r["zone_code"]): r["zone_name"] for r in _data_rows("ipcc_climate_zone_to_regime.csv")
    }


def _zone_factor_table() -> np.ndarray:
    """Array ``t[zone] -> f`` for IPCC climate-zone codes 0..12 (0 -> NaN)."""
    regimes = {int(r["regime_code"]): float(r["f"]) for r in _data_rows("soc_climate_regimes.csv")}
    zones = {
        int(r["zone_code"]): int(r["regime_code"])
        for r in _data_rows("ipcc_climate_zone_to_regime.csv")
    }
    table = np.full(max(zones) + 1, np.nan, dtype=np.float64)
    for z, reg in zones.items():
        table[z] = regimes[reg]
    return table


# --------------------------------------------------------------------------------------
# land-use factor matrix
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SocFactors:
    """Land-use stock-change factor per transition, ``base * f ** power``.

    Attributes
    ----------
    codes : tuple of int
        Land-cover classes, in row/column order (rows = initial class).
    base : numpy.ndarray
        ``(k, k)`` numeric part of the factor.
    power : numpy.ndarray
        ``(k, k)`` int8 exponent of the cropland factor f: 1 for ``f``, -1 for ``1/f``,
        0 for a plain number.
    """

    codes: tuple[int, ...]
    base: np.ndarray = field(repr=False)
    power: np.ndarray = field(repr=False)

    def factor(self, f: float) -> np.ndarray:
        """The ``(k, k)`` factor matrix for one value of f."""
        return self.base * np.where(self.power == 1, f, np.where(self.power == -1, 1.0 / f, 1.0))


def _parse_factor(cell: str, where: str) -> tuple[float, int]:
    c = cell.replace(" ", "").lower()
    if c == "f":
        return 1.0, 1
    if c == "1/f":
        return 1.0, -1
    try:
        if c.startswith("1/"):
            v = 1.0 / float(c[2:])
        else:
            v = float(c)
    except (ValueError, ZeroDivisionError):
        raise InputError(
            f"{where} is {cell!r}; expected a positive number, '1/<number>', 'f' or '1/f'. "
            "Fix the CSV cell."
        ) from None
    if not np.isfinite(v) or v <= 0:
        raise InputError(f"{where} is {cell!r}; expected a positive factor. Fix the CSV cell.")
    return v, 0


def load_soc_factors(path: str | PathLike[str] | None = None) -> SocFactors:
    """Load a land-use stock-change factor matrix (default: IPCC/UNCCD 7-class table).

    Parameters
    ----------
    path : path-like, optional
        CSV in the landwatch layout (``initial_code,initial_name,<code>,...`` header;
        rows ``<code>,<name>,<factor>,...``) or the Trends.Earth layout
        (``initial\\final,<name>,...``, codes 1..k by position). Cells are numbers,
        ``1/<number>``, ``f`` or ``1/f``.

    Returns
    -------
    SocFactors

    Raises
    ------
    InputError
        The table is not square or a cell cannot be read.
    """
    if path is None:
        text = (resources.files("landwatch") / "data" / "soc_land_use_factors.csv").read_text(
            encoding="utf-8"
        )
        label = "packaged table soc_land_use_factors.csv"
    else:
        try:
            text, label = Path(path).read_text(encoding="utf-8-sig"), str(path)
        except OSError as exc:
            raise DataSourceError(
                f"SOC factor table {str(path)!r} could not be read ({exc}). Check the path."
            ) from exc
    rows = [
        [c.strip() for c in r]
        for r in csv.reader(io.StringIO(text))
        if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")
    ]
    header, body = rows[0], rows[1:]
    te_layout = "\\" in header[0] or "/" in header[0]
    lead = 1 if te_layout else 2
    k = len(body)
    if len(header) - lead != k or any(len(r) - lead != k for r in body):
        raise InputError(
            f"SOC factor table {label} is not square ({k} rows, {len(header) - lead} columns);"
            " expected one row and one column per land-cover class. Fix the table."
        )
    codes = tuple(range(1, k + 1)) if te_layout else tuple(int(r[0]) for r in body)
    base = np.ones((k, k))
    power = np.zeros((k, k), dtype=np.int8)
    for i, r in enumerate(body):
        for j, c in enumerate(r[lead:]):
            base[i, j], power[i, j] = _parse_factor(
                c, f"SOC factor table {label} cell {i + 1},{j + 1}"
            )
    return SocFactors(codes, base, power)


# --------------------------------------------------------------------------------------
# cropland factor
# --------------------------------------------------------------------------------------


def _zones_core(z: np.ndarray, table: np.ndarray) -> np.ndarray:
    zf = np.asarray(z, dtype=np.float64)
    ok = np.isfinite(zf) & (zf >= 0) & (zf < table.size) & (zf == np.round(zf))
    idx = np.where(ok, zf, 0).astype(np.intp)
    return np.where(ok, table[idx], np.nan).astype(np.float32)


def cropland_factor(
    climate_zones: xr.DataArray | None = None,
    *,
    regime: str | None = None,
    value: float | None = None,
) -> xr.DataArray | float:
    """Cropland land-use factor f: per pixel, for a named climate regime, or a number.

    Parameters
    ----------
    climate_zones : xarray.DataArray, optional
        IPCC climate-zone codes 1..12 (legend of Trends.Earth ``ipcc_climate_zones.tif``).
        Zones 1-8 (temperate, polar, boreal; odd moist, even dry) -> temperate moist 0.69 /
        dry 0.80; 9 tropical montane 0.64; 10, 11 tropical moist 0.48; 12 tropical dry 0.58.
        0 and any other value (e.g. nodata 15, -128, 255) -> NaN.
    regime : str, optional
        ``"temperate dry"``, ``"temperate moist"``, ``"tropical dry"``, ``"tropical moist"``
        or ``"tropical montane"`` (case, ``_`` and ``-`` are ignored).
    value : float, optional
        A custom f (> 0).

    Returns
    -------
    xarray.DataArray or float
        float32 per-pixel f (dims of ``climate_zones``), or a float.

    Raises
    ------
    InputError
        Not exactly one option given, an unknown regime, or a non-positive value.

    References
    ----------
    IPCC (2006) Guidelines, Vol. 4, Table 5.5; PRAIS4-M sec. 1.3.3 step 4.
    """
    given = [o is not None for o in (climate_zones, regime, value)]
    if sum(given) != 1:
        raise InputError(
            "cropland_factor needs exactly one of climate_zones, regime or value; got "
            f"{sum(given)}. Pass a climate-zone raster, a regime name, or a number."
        )
    if value is not None:
        v = float(value)
        if not np.isfinite(v) or v <= 0:
            raise InputError(
                f"cropland factor value is {value!r}; expected a positive number "
                "(IPCC defaults 0.48-0.80). Pass e.g. value=0.8."
            )
        return v
    if regime is not None:
        table = climate_regimes()
        key = _norm(regime)
        if key not in table:
            raise InputError(
                f"climate regime {regime!r} is unknown; expected one of "
                f"{', '.join(repr(k) for k in table)}. Pass one of these or value=<f>."
            )
        return table[key]
    assert climate_zones is not None
    out = xr.apply_ufunc(
        _zones_core,
        climate_zones,
        kwargs={"table": _zone_factor_table()},
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    out.attrs = {
        "long_name": "SOC land-use stock-change factor for conversion to cropland",
        "units": "1",
    }
    return out.rename("soc_cropland_factor")


# --------------------------------------------------------------------------------------
# stock series
# --------------------------------------------------------------------------------------


def _annual_land_cover(lc: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand LC given at ``years`` (last axis) to every year, transition at mid-interval.

    Returns the annual LC (``..., n_years``) and a bool array, True where the year lies
    in an interval with a missing end (or the first year is missing).
    """
    first, last = int(years[0]), int(years[-1])
    n = last - first + 1
    shape = lc.shape[:-1] + (n,)
    annual = np.empty(shape, dtype=lc.dtype)
    bad = np.zeros(shape, dtype=bool)
    annual[..., 0] = lc[..., 0]
    bad[..., 0] = lc[..., 0] == NODATA
    for k in range(len(years) - 1):
        t0, t1 = int(years[k]), int(years[k + 1])
        t_mid = t0 + (t1 - t0) // 2  # TE: floor, so 1-year intervals change in t1
        a, b = lc[..., k], lc[..., k + 1]
        miss = (a == NODATA) | (b == NODATA)
        for t in range(t0 + 1, t1 + 1):
            annual[..., t - first] = a if t <= t_mid else b
            bad[..., t - first] = miss
    return annual, bad


def _soc_series_core(
    soc0: np.ndarray,
    lc: np.ndarray,
    f: np.ndarray,
    *,
    years: np.ndarray,
    base: np.ndarray,
    power: np.ndarray,
    codes: np.ndarray,
    transition_years: int,
    water: int | None,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    lc = np.asarray(lc)
    if np.issubdtype(lc.dtype, np.floating):
        lc = np.where(np.isnan(lc), NODATA, lc)
    lc = lc.astype(np.int32)
    invalid = ~isin_codes(lc, codes) & (lc != NODATA)
    if invalid.any():
        shown = ", ".join(str(v) for v in np.unique(lc[invalid])[:10])
        raise InputError(
            f"land_cover has codes {shown}; expected the classes of the SOC factor table "
            f"({', '.join(str(c) for c in codes)}) or {NODATA}. Reclassify it with "
            "reclassify_land_cover() first."
        )
    # index of each class in the factor table; NODATA -> -1
    lut = np.full(max(int(codes.max()), 0) + 1, -1, dtype=np.int64)
    lut[codes] = np.arange(codes.size)
    f = np.asarray(f, dtype=np.float64)
    soc = np.asarray(soc0, dtype=np.float64)
    shape = np.broadcast_shapes(soc.shape, lc.shape[:-1], f.shape)
    soc = np.where(soc == NODATA, np.nan, np.broadcast_to(soc, shape)).reshape(-1)
    f = np.ascontiguousarray(np.broadcast_to(f, shape)).reshape(-1)
    idx = np.where(lc == NODATA, -1, lut[np.clip(lc, 0, lut.size - 1)])
    idx = np.ascontiguousarray(np.broadcast_to(idx, shape + lc.shape[-1:])).reshape(
        -1, lc.shape[-1]
    )
    water_idx = int(lut[water]) if water is not None and water < lut.size else -2
    n_all = int(years[-1] - years[0] + 1)
    if keep is None:
        keep = np.arange(n_all, dtype=np.int64)
    out = _soc_series_kernel(
        soc,
        idx,
        f,
        np.asarray(years, dtype=np.int64),
        np.asarray(base, dtype=np.float64),
        np.asarray(power, dtype=np.int64),
        int(transition_years),
        water_idx,
        np.asarray(keep, dtype=np.int64),
        int(keep.max()) + 1 if keep.size else 0,
    )
    return out.reshape(shape + (out.shape[-1],))


@numba.njit(parallel=True, nogil=True, cache=True)
def _soc_series_kernel(
    soc0, idx, f, years, base, power, transition_years, water_idx, keep, n_keep
):  # pragma: no cover
    """Per-pixel Trends.Earth SOC recursion (see :func:`soc_stock_series`, Notes).

    ``idx``: (pixels, k) factor-table index of the class at each land-cover year
    (-1 = missing). Land cover between two map years changes at the interval's
    middle, ``t_mid = t0 + (t1 - t0) // 2``; the new class holds from ``t_mid + 1``.
    """
    npix, k = idx.shape
    first = years[0]
    n = years[k - 1] - first + 1
    out = np.empty((npix, n_keep), dtype=np.float32)
    for p in numba.prange(npix):
        stock = soc0[p]
        chg = 0.0
        remaining = 0
        bad = idx[p, 0] < 0 or np.isnan(stock)
        prev = idx[p, 0]
        cls = prev
        if keep[0] >= 0:
            out[p, keep[0]] = np.nan if (bad or prev == water_idx) else stock
        seg = 0
        for t in range(1, n):
            year = first + t
            while seg < k - 1 and year > years[seg + 1]:
                seg += 1
            t0 = years[seg]
            t1 = years[seg + 1]
            a = idx[p, seg]
            b = idx[p, seg + 1]
            if a < 0 or b < 0:
                bad = True  # once unknown, stays unknown
            if bad:
                if keep[t] >= 0:
                    out[p, keep[t]] = np.nan
                continue
            t_mid = t0 + (t1 - t0) // 2
            cls = a if year <= t_mid else b
            if cls != prev:
                pw = power[prev, cls]
                fac = base[prev, cls]
                if pw == 1:
                    fac = fac * f[p]
                elif pw == -1:
                    fac = fac / f[p]
                chg = (stock - stock * fac) / transition_years
                remaining = transition_years
            if remaining > 0:
                stock = stock - chg
                remaining -= 1
            prev = cls
            if keep[t] >= 0:
                out[p, keep[t]] = np.nan if cls == water_idx else stock
    return out


def soc_stock_series(
    soc_initial: xr.DataArray,
    land_cover: xr.DataArray,
    *,
    f: float | xr.DataArray,
    transition_years: int = 20,
    factors: SocFactors | str | PathLike[str] | None = None,
    output_years: Sequence[int] | None = None,
) -> xr.DataArray:
    """Annual soil organic carbon stock driven by land-cover change (UNCCD Tier 1).

    Parameters
    ----------
    soc_initial : xarray.DataArray
        SOC stock 0-30 cm at the first land-cover year (t C/ha; SoilGrids is taken to
        represent 2000). NaN or -32768 = missing.
    land_cover : xarray.DataArray
        ``(time, y, x)`` UNCCD 7-class land cover at the years available (e.g. 2000, 2015,
        2019, 2023; need not be annual). ``NODATA`` = missing.
    f : float or xarray.DataArray
        Cropland factor (see :func:`cropland_factor`); per pixel or one number.
    transition_years : int, default 20
        Years over which a conversion reaches its full factor (IPCC default D = 20).
    output_years : sequence of int, optional
        Return only these years (default: every year from the first to the last land
        cover year); the recursion still runs over every year. Saves memory on large grids.
    factors : SocFactors or path-like, optional
        Land-use factor matrix; default the packaged IPCC/UNCCD table.

    Returns
    -------
    xarray.DataArray
        float32 ``(time, y, x)`` SOC (t C/ha) for every year from the first to the last
        land-cover year; NaN on water (class 7) in that year, where the initial stock is
        missing, and from the first interval with missing land cover onwards.

    Raises
    ------
    InputError
        Years not strictly increasing, a class not in the factor table, or a bad
        ``transition_years``.

    Notes
    -----
    Trends.Earth dynamics: when the class changes between year t-1 and t, the annual
    change is ``dSOC = (SOC_{t-1} - SOC_{t-1} * F) / 20`` with F the land-use factor of
    the transition (initial -> final row/column of the matrix, with f and 1/f), and
    ``SOC_t = SOC_{t-1} - dSOC`` for 20 years, after which the stock is
    ``F * SOC_{t-1}`` and stays constant. A new transition recomputes dSOC from the
    current stock (and stops the previous change). Between two land-cover years the
    class is taken as constant except that the transition is placed at the middle of
    the interval, ``t_mid = t0 + floor((t1 - t0) / 2)`` (the Trends.Earth local
    version "assumes the transition happened mid-interval"): the new class holds from
    ``t_mid + 1``. For annual land cover this is the plain annual recursion of the
    Trends.Earth GEE script. Unlike the Trends.Earth local code, each of the 20 years
    of change is applied exactly once when more than two land-cover years are given.

    References
    ----------
    IPCC (2006) Guidelines Vol. 4, eq. 2.25; UNCCD GPG for SDG 15.3.1 v2 (2021) sec. 4.3;
    Trends.Earth ``te_algorithms/gee/soc.py`` and ``LDMP/localexecution/soilorganiccarbon.py``.
    """
    if not isinstance(transition_years, int | np.integer) or transition_years < 1:
        raise InputError(
            f"transition_years is {transition_years!r}; expected a positive integer "
            "(IPCC default 20). Pass transition_years=20."
        )
    if "time" not in land_cover.dims:
        raise InputError(
            f"land_cover has dims {land_cover.dims}; expected a 'time' dimension with the "
            "land-cover years. Stack the yearly maps along 'time'."
        )
    years = years_of(land_cover)
    if years.size > 1 and np.any(np.diff(years) <= 0):
        raise InputError(
            f"land_cover years are {years.tolist()}; expected strictly increasing years. "
            "Sort by time and drop duplicates (land_cover.sortby('time'))."
        )
    if factors is None or not isinstance(factors, SocFactors):
        factors = load_soc_factors(factors)
    codes = np.asarray(factors.codes)
    water = 7 if 7 in factors.codes else None

    if land_cover.chunks is not None:
        land_cover = land_cover.chunk({"time": -1})
    f_arg: xr.DataArray | float = f if isinstance(f, xr.DataArray) else float(f)
    annual = np.arange(years[0], years[-1] + 1)
    if output_years is None:
        wanted = annual
    else:
        wanted = np.asarray(sorted({int(y) for y in output_years}), dtype=np.int64)
        outside = [int(y) for y in wanted if y < annual[0] or y > annual[-1]]
        if outside:
            raise InputError(
                f"output_years {outside} lie outside the land cover years "
                f"{annual[0]}-{annual[-1]}; the SOC series covers only that span. "
                "Pass years within it."
            )
    keep = np.full(annual.size, -1, dtype=np.int64)
    keep[wanted - annual[0]] = np.arange(wanted.size)
    n = int(wanted.size)
    out = xr.apply_ufunc(
        _soc_series_core,
        soc_initial,
        land_cover,
        f_arg,
        input_core_dims=[[], ["time"], []],
        output_core_dims=[["year"]],
        kwargs={
            "years": years,
            "base": factors.base,
            "power": factors.power,
            "codes": codes,
            "transition_years": int(transition_years),
            "water": water,
            "keep": keep,
        },
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"year": n}},
    )
    tvals = land_cover["time"].values
    if np.issubdtype(tvals.dtype, np.datetime64):
        time = np.array([f"{y}-01-01" for y in wanted], dtype="datetime64[ns]")
    else:
        time = wanted
    out = out.rename(year="time").assign_coords(time=time).transpose("time", ...)
    out.attrs = {
        "long_name": "soil organic carbon stock 0-30 cm",
        "units": "t ha-1",
        "comment": "UNCCD Tier 1: IPCC land-use factors, 20-year linear change, "
        "transitions placed mid-interval between land-cover years",
    }
    return out.rename("soc")


# --------------------------------------------------------------------------------------
# degradation
# --------------------------------------------------------------------------------------


@numba.njit(nogil=True, cache=True)
def _soc_deg_kernel(bl, tg, water, threshold, pct, deg):  # pragma: no cover - compiled
    for i in range(bl.size):
        b = np.float64(bl[i])
        t = np.float64(tg[i])
        if np.isnan(b) or np.isnan(t) or b == NODATA or t == NODATA or b <= 0 or t < 0:
            pct[i] = np.nan
            deg[i] = NODATA
            continue
        pct[i] = (t - b) / b * 100.0
        # compare without dividing so exact -10 % / +10 % cases are not lost to rounding
        d = (t - b) * 100.0
        if water[i]:
            deg[i] = NODATA
        elif d <= -threshold * b:
            deg[i] = DEGRADED
        elif d >= threshold * b:
            deg[i] = IMPROVED
        else:
            deg[i] = STABLE


def _soc_deg_core(
    bl: np.ndarray, tg: np.ndarray, water: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    bl, tg, water = np.broadcast_arrays(bl, tg, np.asarray(water, dtype=bool))
    shape = bl.shape
    pct = np.empty(shape, np.float32)
    deg = np.empty(shape, np.int16)
    _soc_deg_kernel(
        np.ascontiguousarray(bl).ravel(),
        np.ascontiguousarray(tg).ravel(),
        np.ascontiguousarray(water).ravel(),
        float(threshold),
        pct.ravel(),
        deg.ravel(),
    )
    return pct, deg


def soc_degradation(
    soc_initial: xr.DataArray,
    soc_final: xr.DataArray,
    *,
    threshold: float = 10.0,
    water_mask: xr.DataArray | None = None,
) -> xr.Dataset:
    """SOC degradation from the relative change of the stock between two years.

    Parameters
    ----------
    soc_initial, soc_final : xarray.DataArray
        SOC stock (t C/ha) at the start and end of the period; NaN or -32768 = missing.
    threshold : float, default 10.0
        Percent change that counts as degradation / improvement (inclusive).
    water_mask : xarray.DataArray of bool, optional
        True on water; those pixels get ``NODATA`` in ``soc_degradation``.

    Returns
    -------
    xarray.Dataset
        ``pct_change`` (float32, %, NaN where missing or the initial stock <= 0;
        water is *not* masked, as in Trends.Earth) and ``soc_degradation`` (int16:
        -1 if ``pct_change <= -threshold``, +1 if ``>= +threshold``, else 0; ``NODATA``
        where missing or water).

    Raises
    ------
    InputError
        ``threshold`` not positive.

    Notes
    -----
    ``pct_change = (SOC_final - SOC_initial) / SOC_initial * 100``. Exactly -10 % is
    degraded and +10 % improved (Trends.Earth ``calc_deg_soc``, ``recode_deg_soc``).

    References
    ----------
    PRAIS4-M sec. 1.3.3 step 5; UNCCD GPG for SDG 15.3.1 v2 (2021) sec. 4.3.
    """
    if not np.isfinite(threshold) or threshold <= 0:
        raise InputError(
            f"threshold is {threshold!r}; expected a positive percentage (default 10). "
            "Pass threshold=10."
        )
    water = water_mask if water_mask is not None else xr.zeros_like(soc_initial, dtype=bool)
    pct, deg = xr.apply_ufunc(
        _soc_deg_core,
        soc_initial,
        soc_final,
        water,
        kwargs={"threshold": float(threshold)},
        dask="parallelized",
        output_dtypes=[np.float32, np.int16],
        output_core_dims=[[], []],
    )
    pct.attrs = {"long_name": "relative change of soil organic carbon stock", "units": "%"}
    deg.attrs = {
        "long_name": "soil organic carbon degradation",
        "units": "1",
        "nodata": NODATA,
        "threshold_percent": float(threshold),
        "flag_values": list(CLASS3_NAMES),
        "flag_meanings": " ".join(v.lower() for v in CLASS3_NAMES.values()),
    }
    return xr.Dataset({"pct_change": pct, "soc_degradation": deg})
