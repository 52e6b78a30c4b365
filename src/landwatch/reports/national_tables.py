"""National reporting tables for the UNCCD (PRAIS 4 layout), checked against the maps.

:func:`national_tables` reads the output folders of ``landwatch sdg1531`` (and
optionally ``landwatch drought so3`` and ``landwatch ldn``), lays their tables out as
the PRAIS 4 forms (CP-1.T1, SO1-1 ... SO1-4, SO2-3, SO3-1 ... SO3-3) and cross-checks
them: classes sum to the land area, land + water = territory, tables agree with each
other where the definitions make them equal, and with the COG maps counted again on
the ellipsoid. :func:`write_national_tables` writes CSV, one XLSX and JSON atomically.

Numbers come from the runs' tables; the maps are read only for the checks, for the
no-data margins the runs' cross tables leave out, and for the tables of one admin
unit (``admin_id``) that the runs tabulate for the whole territory only.

References
----------
UNCCD, PRAIS 4 Reporting Manual (2026 reporting cycle): ``SO1.md``, ``SO2.md``,
``SO3.md`` and the country profile (CP-1); summarised in
``../shared/reference/unccd_methods.md`` sections 1.1-1.8, 2 and 5.2.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import landwatch
from landwatch.errors import InputError
from landwatch.indices.land.area import pixel_area_km2, weighted_pair_counts
from landwatch.indices.land.codes import (
    CLASS3_NAMES,
    DEGRADED,
    IMPROVED,
    LC_CLASSES,
    LC_WATER,
    LPD_CLASSES,
    NODATA,
    STABLE,
)
from landwatch.io import outputs as out_io
from landwatch.io import rasters as rio_io
from landwatch.io import vectors as vec_io

__all__ = [
    "CHECK_RTOL",
    "TABLE_DESCRIPTIONS",
    "NationalTables",
    "national_tables",
    "write_national_tables",
]

#: Relative tolerance of every cross-check (0.1 %).
CHECK_RTOL = 1e-3
#: Absolute slack for values that should be 0 (km2, people, t).
CHECK_ATOL = 1e-6
#: Years PRAIS asks for in SO1-1.T4 and in CP-1.T1 / SO1-3.T1.
PRAIS_LC_YEARS = (2000, 2015, 2016, 2019, 2023)
PRAIS_CP_YEARS = (2000, 2015, 2019, 2023)
#: First year of the PRAIS SO3 tables (annual rows 2000 to the latest year).
PRAIS_SO3_FIRST_YEAR = 2000
NO_DATA = "No data"
#: Row order of the PRAIS "improved / stable / degraded / no data" tables.
CLASS4: dict[int, str] = {
    IMPROVED: "Improved",
    STABLE: "Stable",
    DEGRADED: "Degraded",
    NODATA: NO_DATA,
}
#: LPD 5 classes -> 3 classes (PRAIS 4 Table 13): {1, 2} degraded, {3, 4} stable, {5} improved.
LPD5_TO_3: dict[int, int] = {1: DEGRADED, 2: DEGRADED, 3: STABLE, 4: STABLE, 5: IMPROVED}
_SUB_INDICATORS = "land cover (SO1-1); land productivity (SO1-2); soil organic carbon (SO1-3)"
_LC_CODES = list(LC_CLASSES)
_LPD_CODES = list(LPD_CLASSES)
_C3 = [DEGRADED, STABLE, IMPROVED]

TABLE_DESCRIPTIONS: dict[str, str] = {
    "CP-1.T1": "Land area, water bodies and total area (km2) per land cover year",
    "SO1-1.T4": "Land cover area (km2) by UNCCD class and year (water and no data included)",
    "SO1-1.T5": "Land cover change matrix (km2), baseline: initial class x final class",
    "SO1-1.T6": "Land cover change matrix (km2), reporting period(s)",
    "SO1-1.T7": "Land cover degradation: improved / stable / degraded / no data (km2, % of land)",
    "SO1-2.T1": "Land productivity dynamics by land cover class (km2), baseline",
    "SO1-2.T2": "Land productivity dynamics by land cover class (km2), reporting period(s)",
    "SO1-2.T3": "Land productivity degradation: improved / stable / degraded / no data (km2, %)",
    "SO1-3.T1": "SOC stock 0-30 cm (t/ha) by land cover class and year; tier",
    "SO1-3.T2": "SOC degradation: improved / stable / degraded / no data (km2, %)",
    "SO1-4.T1": "Status against the baseline (PRAIS status matrix): areas (km2, %)",
    "SO1-4.T1 matrix": "Status matrix cells: baseline x period assessment (km2, %) and status",
    "SO1-4.T2": "Degraded land (km2) and SDG 15.3.1 (% of land), baseline and reporting periods",
    "SO1-4.T4": "Hotspots (LDN run): location, area, process, basis",
    "SO1-4.T5": "Brightspots (LDN run): location, area, process, basis",
    "SO2-3": "Population on degraded land (SDG 15.3.1 period assessment) and % of population",
    "SO3-1.T1": "Land area (km2, % of land) per drought hazard class and year",
    "SO3-1.T2": "Land area under drought (km2, % of land) per year",
    "SO3-2.T1": "% of the total population per drought class and year; people exposed",
    "SO3-2.T2": "% of the female population per drought class and year",
    "SO3-2.T3": "% of the male population per drought class and year",
    "SO3-3.T1": "Drought Vulnerability Index (0-1): total / female / male",
}


@dataclass
class NationalTables:
    """PRAIS 4 tables of one territory (or admin unit), their cross-checks and notes.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        Keyed by PRAIS table name (``"CP-1.T1"``, ``"SO1-4.T2"`` ...).
    checks : pandas.DataFrame
        ``table, check, expected, got, difference_pct, ok``; ``difference_pct`` is
        ``100 (got - expected) / |expected|``.
    notes : list of str
        What is missing, approximated or taken from where (never silent).
    metadata : dict
        Source runs, versions, units, periods; written to the README sheet.
    """

    tables: dict[str, pd.DataFrame]
    checks: pd.DataFrame
    notes: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> pd.DataFrame:
        """The checks that failed."""
        return self.checks[~self.checks["ok"].astype(bool)]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks["ok"].all()) if len(self.checks) else True


# --------------------------------------------------------------------------- run folders


@dataclass
class _Run:
    """An output folder of a landwatch workflow (tables are read once)."""

    path: Path
    workflow: str
    manifest: dict[str, Any]
    summary: dict[str, Any]
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return {"sdg1531": "sdg run", "so3": "so3 run", "ldn": "ldn run"}[self.workflow]

    def file(self, *parts: str) -> Path:
        p = self.path.joinpath(*parts)
        if not p.is_file():
            raise InputError(
                f"{self.label}: {str(p)!r} is missing; expected a complete output folder of "
                f"`landwatch {_COMMANDS[self.workflow]}`. Run it again (the folder may have "
                "been moved or cut short)."
            )
        return p

    def has_table(self, name: str) -> bool:
        return (self.path / "tables" / f"{name}.csv").is_file()

    def table(self, name: str, *, index_col: int | None = None) -> pd.DataFrame:
        key = f"{name}:{index_col}"
        if key not in self._tables:
            p = self.file("tables", f"{name}.csv")
            try:
                self._tables[key] = pd.read_csv(
                    p,
                    index_col=index_col,
                    dtype={c: str for c in ("admin_id", "admin_name", "zone", "zone_name", "sex")},
                )
            except (ValueError, pd.errors.ParserError) as exc:
                raise InputError(f"{self.label}: {p.name} is not a readable CSV ({exc}).") from exc
        return self._tables[key].copy()

    def input_path(self, key: str) -> Path | None:
        rec = (self.manifest.get("inputs") or {}).get(key)
        if isinstance(rec, dict):
            rec = rec.get("path")
        if rec in (None, "", "None"):
            return None
        return Path(str(rec))


_COMMANDS = {"sdg1531": "sdg1531", "so3": "drought so3", "ldn": "ldn"}
_OPTIONS = {"sdg1531": "--sdg-run", "so3": "--so3-run", "ldn": "--ldn-run"}


def _read_run(path: str | Path, workflow: str) -> _Run:
    p = Path(path)
    option = _OPTIONS[workflow]
    manifest_p = p / "manifest.json"
    if not manifest_p.is_file():
        raise InputError(
            f"{option} {str(p)!r}: no manifest.json there; expected the output folder of "
            f"`landwatch {_COMMANDS[workflow]}` (run that first)."
        )
    try:
        manifest = json.loads(manifest_p.read_text())
        summary_p = p / "summary.json"
        summary = json.loads(summary_p.read_text()) if summary_p.is_file() else {}
    except ValueError as exc:
        raise InputError(f"{option} {str(p)!r}: unreadable manifest/summary ({exc}).") from exc
    got = manifest.get("workflow")
    if got != workflow:
        raise InputError(
            f"{option} {str(p)!r} is the output of `landwatch {_COMMANDS.get(str(got), got)}`; "
            f"expected `landwatch {_COMMANDS[workflow]}`. Pass the right folder."
        )
    if workflow == "sdg1531" and not summary.get("periods"):
        raise InputError(
            f"{option} {str(p)!r}: summary.json names no periods; run `landwatch sdg1531` again."
        )
    return _Run(p, workflow, manifest, summary)


def _need(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} lacks columns {missing} (it has {list(df.columns)}); it was not written "
            "by this landwatch version. Run the workflow again."
        )


# --------------------------------------------------------------------------- maps


class _Grid:
    """Pixel areas and a territory mask on one grid, and area sums over class maps."""

    def __init__(self, like: Any, mask: np.ndarray) -> None:
        res_x, res_y = (abs(v) for v in like.rio.resolution())
        cell = np.asarray(pixel_area_km2(like.y.values, res_x, res_y, like.rio.crs), float)
        self.like = like
        self.shape = (like.sizes["y"], like.sizes["x"])
        self.cell = np.broadcast_to(cell[:, None], self.shape)
        self.mask = np.ascontiguousarray(mask, dtype=bool)

    def by_class(
        self,
        arr: np.ndarray,
        codes: Sequence[int],
        *,
        mask: np.ndarray | None = None,
        values: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """km2 per code over ``mask``; the last entry collects the rest.

        ``values``: sum km2 x values (e.g. t/ha x km2); ``weights``: sum these per-pixel
        weights instead of the area (e.g. people per pixel).
        """
        if weights is not None:
            w = weights
        else:
            w = self.cell if values is None else self.cell * values
        m = self.mask if mask is None else mask
        a = _int_codes(arr)
        return weighted_pair_counts(a, a, w, codes_a=codes, codes_b=[NODATA], mask=m).sum(axis=1)

    def crosstab(
        self,
        a: np.ndarray,
        b: np.ndarray,
        codes_a: Sequence[int],
        codes_b: Sequence[int],
        *,
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """km2 per (a, b) class pair, ``(len(codes_a) + 1, len(codes_b) + 1)``; last = the rest."""
        m = self.mask if mask is None else mask
        return weighted_pair_counts(
            _int_codes(a), _int_codes(b), self.cell, codes_a=codes_a, codes_b=codes_b, mask=m
        )

    def total(self, mask: np.ndarray | None = None) -> float:
        m = self.mask if mask is None else mask
        return float(self.cell[m].sum())


def _int_codes(arr: np.ndarray) -> np.ndarray:
    a = np.asarray(arr)
    if np.issubdtype(a.dtype, np.floating):
        a = np.where(np.isfinite(a), a, NODATA)
    return np.ascontiguousarray(a.astype(np.int32, copy=False))


class _SdgMaps:
    """The COG maps of an SDG run on its grid, the territory (or one admin unit) mask."""

    def __init__(self, run: _Run, admin_id: str | None) -> None:
        self.run = run
        self._cache: dict[str, np.ndarray] = {}
        lc_files = sorted((run.path / "maps" / "land_cover").glob("land_cover_*.tif"))
        if not lc_files:
            raise InputError(
                f"sdg run: {str(run.path)!r} has no maps/land_cover/*.tif; run sdg1531 again."
            )
        self.lc_years = sorted(int(f.stem.rsplit("_", 1)[-1]) for f in lc_files)
        ref = rio_io.open_raster(lc_files[0], name="land cover map")
        self.ref = ref
        params = run.manifest.get("parameters") or {}
        admin = run.input_path("admin")
        self.units: pd.DataFrame | None = None
        self.admin_gdf: Any = None
        if admin is not None:
            gdf = vec_io.read_vector(admin, name="admin", layer=params.get("admin_layer"))
            id_f = params.get("admin_id_field") or "admin_id"
            name_f = params.get("admin_name_field") or "name"
            if id_f not in gdf.columns:
                raise InputError(
                    f"admin: {admin.name} has no field {id_f!r} (the run's admin_id_field); "
                    "the file changed since the run. Run sdg1531 again."
                )
            self.admin_gdf = gdf
            zone = vec_io.rasterize_ids(gdf, ref)
            self.units = pd.DataFrame(
                {
                    "position": np.arange(1, len(gdf) + 1),
                    "admin_id": gdf[id_f].astype(str).to_numpy(),
                    "admin_name": (
                        gdf[name_f].astype(str).to_numpy() if name_f in gdf.columns else ""
                    ),
                }
            )
        else:
            zone = np.ones((ref.sizes["y"], ref.sizes["x"]), dtype=np.int32)
        self.position: int | None = None
        if admin_id is not None:
            if self.units is None:
                raise InputError(
                    f"--admin-id {admin_id!r}: the sdg run has no admin units; run sdg1531 "
                    "with admin: in the config, or leave --admin-id out for the whole territory."
                )
            hit = self.units[self.units["admin_id"] == str(admin_id)]
            if hit.empty:
                raise InputError(
                    f"--admin-id {admin_id!r} is not an admin unit of the run; choose one of "
                    f"{self.units['admin_id'].tolist()[:20]}."
                )
            self.position = int(hit["position"].iloc[0])
            mask = zone == self.position
        else:
            mask = zone > 0
        self.grid = _Grid(ref, mask)

    def path(self, *parts: str) -> Path:
        return self.run.file("maps", *parts)

    def exists(self, *parts: str) -> bool:
        return self.run.path.joinpath("maps", *parts).is_file()

    def read(self, *parts: str) -> np.ndarray:
        """A map of the run as an array; land cover and indicator maps, read by several
        tables, are kept (the others are read once)."""
        key = "/".join(parts)
        if key in self._cache:
            return self._cache[key]
        da = rio_io.open_raster(self.path(*parts), name=f"map {key}")
        rio_io.check_same_grid(self.ref, da, ref_name="land cover map", name=f"map {key}")
        arr = np.asarray(da.values)
        if parts[0] == "land_cover" or parts[-1] in ("sdg.tif", "status3.tif"):
            self._cache[key] = arr
        return arr

    def land_cover(self, year: int) -> np.ndarray:
        return self.read("land_cover", f"land_cover_{year}.tif")

    def land(self, y0: int, y1: int) -> np.ndarray:
        """Territory less water of either land cover year (the run's land of a period)."""
        key = f"land {y0} {y1}"
        if key not in self._cache:
            water = (self.land_cover(y0) == LC_WATER) | (self.land_cover(y1) == LC_WATER)
            self._cache[key] = self.grid.mask & ~water
        return self._cache[key]

    def population(self) -> np.ndarray | None:
        p = self.run.input_path("population")
        if p is None:
            return None
        da = rio_io.open_raster(p, name="population")
        if "time" in da.dims:
            da = da.isel(time=0, drop=True)
        try:
            rio_io.check_same_grid(self.ref, da, ref_name="sdg maps", name="population")
        except InputError:
            if not (self.run.manifest.get("parameters") or {}).get("align"):
                raise
            da = rio_io.align_to(self.ref, da, categorical=False, sum_preserving=True)
        return np.nan_to_num(np.asarray(da.values, dtype=float))


# --------------------------------------------------------------------------- checks


def _difference_pct(expected: float, got: float) -> float:
    if abs(got - expected) <= CHECK_ATOL:
        return 0.0
    if expected == 0:
        return math.copysign(math.inf, got - expected)
    return 100.0 * (got - expected) / abs(expected)


def check_row(
    table: str, check: str, expected: float, got: float, *, kind: str = "equal"
) -> dict[str, Any]:
    """One cross-check: ``got`` against ``expected`` within :data:`CHECK_RTOL`.

    ``kind``: ``"equal"``, ``"at_least"`` (got >= expected) or ``"at_most"``.
    """
    e, g = float(expected), float(got)
    slack = CHECK_RTOL * abs(e) + CHECK_ATOL
    if not (math.isfinite(e) and math.isfinite(g)):
        ok = False
    elif kind == "equal":
        ok = abs(g - e) <= slack
    elif kind == "at_least":
        ok = g >= e - slack
    elif kind == "at_most":
        ok = g <= e + slack
    else:  # pragma: no cover - programming error
        raise ValueError(kind)
    return {
        "table": table,
        "check": check,
        "expected": e,
        "got": g,
        "difference_pct": _difference_pct(e, g)
        if math.isfinite(e) and math.isfinite(g)
        else math.nan,
        "ok": bool(ok),
    }


def worst_element(expected: Mapping[Any, float], got: Mapping[Any, float]) -> Any:
    """Key whose ``got`` is furthest from ``expected`` relative to the tolerance."""

    def score(k: Any) -> float:
        e, g = float(expected[k]), float(got.get(k, math.nan))
        if not (math.isfinite(e) and math.isfinite(g)):
            return math.inf
        return abs(g - e) / (CHECK_RTOL * abs(e) + CHECK_ATOL)

    return max(expected, key=score)


# --------------------------------------------------------------------------- helpers


def _period_years(period: Mapping[str, Any]) -> tuple[int, int]:
    y0, y1 = (int(v) for v in period["land_cover"])
    return y0, y1


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _status_matrix() -> dict[tuple[int, int], int]:
    """PRAIS 4 status matrix ``(baseline, period) -> status3`` from the packaged table."""
    text = (resources.files("landwatch") / "data" / "sdg_status_matrix.csv").read_text("utf-8")
    df = pd.read_csv(pd.io.common.StringIO(text))
    return {(int(r.baseline), int(r.period)): int(r.status3) for r in df.itertuples()}


def _transition_meaning(run: _Run) -> dict[tuple[int, int], int] | None:
    from landwatch.indices.land import land_cover as lc_mod

    path = run.input_path("transition_matrix")
    try:
        matrix = lc_mod.load_transition_matrix(path) if path else lc_mod.load_transition_matrix()
    except InputError:
        return None
    meaning = matrix.as_dict()
    if not all((a, b) in meaning for a in _LC_CODES for b in _LC_CODES):
        return None
    return meaning


def _matrix_from_table(df: pd.DataFrame, rows: Sequence[str], cols: Sequence[str]) -> np.ndarray:
    """Values of a run cross table (index = row names) in the given order; absent = 0."""
    out = df.reindex(index=list(rows), columns=list(cols)).astype(float)
    return out.fillna(0.0).to_numpy()


# --------------------------------------------------------------------------- builder


class _Builder:
    def __init__(
        self, sdg: _Run, maps: _SdgMaps, admin_id: str | None, so3: _Run | None, ldn: _Run | None
    ) -> None:
        self.sdg, self.maps, self.admin_id = sdg, maps, admin_id
        self.so3, self.ldn = so3, ldn
        self.zone = "ALL" if admin_id is None else str(admin_id)
        self.unit = admin_id is not None
        self.tables: dict[str, pd.DataFrame] = {}
        self.checks: list[dict[str, Any]] = []
        self.notes: list[str] = []
        summ = sdg.summary
        self.periods: dict[str, dict[str, Any]] = dict(summ["periods"])
        self.baseline = str(summ.get("baseline") or next(iter(self.periods)))
        if self.baseline not in self.periods:
            raise InputError(
                f"sdg run: summary.json names baseline {self.baseline!r}, which is not one of "
                f"its periods {list(self.periods)}. Run sdg1531 again."
            )
        self.reporting = [p for p in self.periods if p != self.baseline]
        self.lc_years_of = {p: _period_years(v) for p, v in self.periods.items()}
        self.territory_km2 = maps.grid.total()
        self.lc_areas: dict[int, np.ndarray] = {}  # year -> km2 per LC class + no data (table)
        self.change: dict[str, np.ndarray] = {}  # period -> 8 x 8 km2 (classes + no data)
        self.land: dict[str, float] = {}  # period -> land area of the run (km2)
        self.class3: dict[tuple[str, str], dict[int, float]] = {}  # (indicator, period) -> km2
        self.pop_land: dict[str, float] = {}  # period -> population raster on land
        self.cp_land: dict[int, float] = {}  # year -> CP-1.T1 land area
        self.t7_from_matrix: dict[str, dict[int, float]] = {}  # period -> km2 per class
        self.sdg_summary = pd.DataFrame()
        self.corrected = sdg.input_path("corrections") is not None or sdg.has_table("corrections")

    # ------------------------------------------------------------------ plumbing

    def check(
        self, table: str, check: str, expected: float, got: float, kind: str = "equal"
    ) -> None:
        self.checks.append(check_row(table, check, expected, got, kind=kind))

    def check_many(
        self, table: str, what: str, expected: Mapping[Any, float], got: Mapping[Any, float]
    ) -> None:
        k = worst_element(expected, got)
        self.check(
            table,
            f"{what} [{len(expected)} values; largest difference: {k}]",
            float(expected[k]),
            float(got.get(k, math.nan)),
        )

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def areas_by_class(self, indicator: str, period: str) -> dict[int, float]:
        """km2 per class code of a run indicator for the territory / admin unit."""
        key = (indicator, period)
        if key not in self.class3:
            df = self.sdg.table("areas_by_class")
            _need(
                df,
                ["period", "admin_id", "indicator", "class_code", "area_km2"],
                "areas_by_class.csv",
            )
            sel = df[
                (df["period"] == period)
                & (df["admin_id"].astype(str) == self.zone)
                & (df["indicator"] == indicator)
            ]
            if sel.empty:
                raise InputError(
                    f"sdg run: areas_by_class.csv has no rows for {indicator} / {period} / "
                    f"{self.zone}; run sdg1531 again."
                )
            got = sel.groupby("class_code")["area_km2"].sum()
            self.class3[key] = {c: float(got.get(c, 0.0)) for c in CLASS4}
        return self.class3[key]

    # ------------------------------------------------------------------ CP-1.T1, SO1-1

    def land_cover(self) -> None:
        maps, grid = self.maps, self.maps.grid
        codes = _LC_CODES
        names = [*LC_CLASSES.values(), NO_DATA]
        counted = {y: grid.by_class(maps.land_cover(y), codes) for y in maps.lc_years}
        if self.unit:
            self.lc_areas = dict(counted)
            self.note(
                f"SO1-1.T4, SO1-1.T5/T6, SO1-2.T1/T2, SO1-3.T1, SO1-4.T1 matrix and SO2-3 of "
                f"admin unit {self.admin_id}: counted from the run's maps (the run tabulates "
                "them for the whole territory only); their 'table = maps' checks are left out."
            )
        else:
            df = self.sdg.table("land_cover_areas")
            _need(df, ["year", "land_cover_code", "area_km2"], "land_cover_areas.csv")
            for year, g in df.groupby("year"):
                by = g.groupby("land_cover_code")["area_km2"].sum()
                self.lc_areas[int(year)] = np.array(
                    [float(by.get(c, 0.0)) for c in [*codes, NODATA]]
                )
            missing = [y for y in maps.lc_years if y not in self.lc_areas]
            if missing:
                raise InputError(
                    f"sdg run: land_cover_areas.csv has no rows for {missing} although "
                    "maps/land_cover/ has them; run sdg1531 again."
                )
        years = sorted(self.lc_areas)
        t4 = pd.DataFrame(
            [[y, *self.lc_areas[y]] for y in years], columns=["year", *[f"{n}" for n in names]]
        )
        self.tables["SO1-1.T4"] = _km2_columns(t4, names)
        cp_rows = []
        for y in years:
            a = self.lc_areas[y]
            total, water = float(a.sum()), float(a[codes.index(LC_WATER)])
            cp_rows.append(
                {
                    "year": y,
                    "land_area_km2": total - water,
                    "water_bodies_km2": water,
                    "total_area_km2": total,
                    "land_cover_no_data_km2": float(a[-1]),
                }
            )
            self.check(
                "CP-1.T1",
                f"{y}: land + water = territory counted from the maps on the ellipsoid",
                self.territory_km2,
                total,
            )
            self.check(
                "SO1-1.T4",
                f"{y}: classes (water and no data included) sum to the territory",
                self.territory_km2,
                total,
            )
            if not self.unit:
                self.check_many(
                    "SO1-1.T4",
                    f"{y}: class areas = maps/land_cover/land_cover_{y}.tif counted on the ellipsoid",
                    dict(zip(names, counted[y], strict=True)),
                    dict(zip(names, a, strict=True)),
                )
        self.tables["CP-1.T1"] = pd.DataFrame(cp_rows)
        self.cp_land = {int(r["year"]): float(r["land_area_km2"]) for r in cp_rows}
        miss_t4 = [y for y in PRAIS_LC_YEARS if y not in years]
        if miss_t4:
            self.note(
                f"SO1-1.T4: the run has land cover for {years}; PRAIS asks for "
                f"{list(PRAIS_LC_YEARS)} (missing {miss_t4}: add those maps to the run)."
            )
        if any(float(self.lc_areas[y][-1]) > 0 for y in years):
            self.note(
                "CP-1.T1: land area = total - water; land with no land cover data is part of "
                "it (column land_cover_no_data_km2)."
            )
        self._change_matrices()

    def _change_matrices(self) -> None:
        maps, grid = self.maps, self.maps.grid
        names = [*LC_CLASSES.values(), NO_DATA]
        meaning = _transition_meaning(self.sdg)
        if meaning is None:
            self.note(
                "SO1-1.T7: the run's transition matrix is not over the 7 UNCCD classes; the "
                "check of T7 against the change matrices through it is left out."
            )
        frames: dict[str, list[pd.DataFrame]] = {"SO1-1.T5": [], "SO1-1.T6": []}
        for p, (y0, y1) in self.lc_years_of.items():
            counted = grid.crosstab(maps.land_cover(y0), maps.land_cover(y1), _LC_CODES, _LC_CODES)
            full = counted.copy()
            if not self.unit:
                run = self.sdg.table(f"lc_change_{p}", index_col=0)
                inner = _matrix_from_table(
                    run, list(LC_CLASSES.values()), list(LC_CLASSES.values())
                )
                full[:-1, :-1] = inner
                k = len(_LC_CODES)
                exp = {
                    f"{names[i]} -> {names[j]}": counted[i, j] for i in range(k) for j in range(k)
                }
                got = {f"{names[i]} -> {names[j]}": inner[i, j] for i in range(k) for j in range(k)}
                table = "SO1-1.T5" if p == self.baseline else "SO1-1.T6"
                self.check_many(
                    table,
                    f"{p} {y0}->{y1}: cells = land cover maps counted on the ellipsoid",
                    exp,
                    got,
                )
            self.change[p] = full
            table = "SO1-1.T5" if p == self.baseline else "SO1-1.T6"
            if y0 in self.lc_areas:
                self.check_many(
                    table,
                    f"{p}: row sums = SO1-1.T4 {y0}",
                    dict(zip(names, self.lc_areas[y0], strict=True)),
                    dict(zip(names, full.sum(axis=1), strict=True)),
                )
            if y1 in self.lc_areas:
                self.check_many(
                    table,
                    f"{p}: column sums = SO1-1.T4 {y1}",
                    dict(zip(names, self.lc_areas[y1], strict=True)),
                    dict(zip(names, full.sum(axis=0), strict=True)),
                )
            df = pd.DataFrame(full, columns=[f"{n} km2" for n in names])
            df.insert(0, "initial_class", names)
            df.insert(0, "final_year", y1)
            df.insert(0, "initial_year", y0)
            df.insert(0, "period", p)
            frames[table].append(df)
            self._t7_expected(p, full, meaning)
        for name, parts in frames.items():
            if parts:
                self.tables[name] = pd.concat(parts, ignore_index=True)

    def _t7_expected(
        self, period: str, full: np.ndarray, meaning: dict[tuple[int, int], int] | None
    ) -> None:
        """T7 improved / stable / degraded from the change matrix and the transition matrix."""
        if meaning is None:
            return
        exp = {c: 0.0 for c in _C3}
        for i, a in enumerate(_LC_CODES):
            for j, b in enumerate(_LC_CODES):
                if LC_WATER in (a, b):
                    continue
                exp[meaning[(a, b)]] += float(full[i, j])
        self.t7_from_matrix[period] = exp

    # ------------------------------------------------------------------ class tables

    def land_areas(self) -> None:
        df = self.sdg.table("sdg_summary")
        _need(df, ["period", "admin_id", "degraded_km2", "land_area_km2"], "sdg_summary.csv")
        self.sdg_summary = df[df["admin_id"].astype(str) == self.zone].set_index("period")
        missing = [p for p in self.periods if p not in self.sdg_summary.index]
        if missing:
            raise InputError(
                f"sdg run: sdg_summary.csv has no rows for {missing} ({self.zone}); run sdg1531 again."
            )
        for p in self.periods:
            self.land[p] = float(self.sdg_summary.loc[p, "land_area_km2"])

    def class_table(self, name: str, indicator: str, layer: str, periods: Sequence[str]) -> None:
        rows: dict[str, list[Any]] = {"class": list(CLASS4.values())}
        for p in periods:
            areas = self.areas_by_class(indicator, p)
            land = self.land[p]
            rows[f"{p}_km2"] = [areas[c] for c in CLASS4]
            rows[f"{p}_percent_of_land"] = [
                100 * areas[c] / land if land else math.nan for c in CLASS4
            ]
            self.check(
                name,
                f"{p}: classes (no data included) sum to the land area (territory less water)",
                land,
                sum(areas.values()),
            )
            if self.maps.exists(p, f"{layer}.tif"):
                y0, y1 = self.lc_years_of[p]
                counted = self.maps.grid.by_class(
                    self.maps.read(p, f"{layer}.tif"), _C3, mask=self.maps.land(y0, y1)
                )
                exp = dict(zip(["Degraded", "Stable", "Improved", NO_DATA], counted, strict=True))
                got = {CLASS4[c]: areas[c] for c in CLASS4}
                self.check_many(
                    name, f"{p}: = maps/{p}/{layer}.tif counted on the ellipsoid", exp, got
                )
            else:
                self.note(f"{name}: maps/{p}/{layer}.tif is missing; its map check is left out.")
        self.tables[name] = pd.DataFrame(rows)

    def so1_tables(self) -> None:
        self.class_table(
            "SO1-1.T7", "land_cover_degradation", "land_cover_degradation", list(self.periods)
        )
        for p, exp in self.t7_from_matrix.items():
            areas = self.areas_by_class("land_cover_degradation", p)
            self.check_many(
                "SO1-1.T7",
                f"{p}: improved / stable / degraded = SO1-1.T5/T6 through the transition matrix",
                {CLASS4[c]: v for c, v in exp.items()},
                {CLASS4[c]: areas[c] for c in exp},
            )
        self.class_table("SO1-2.T3", "lpd3", "lpd3", list(self.periods))
        self._lpd_by_land_cover()
        self._soc_stock()
        self.class_table("SO1-3.T2", "soc_degradation", "soc_degradation", list(self.periods))
        if self.reporting:
            self.class_table("SO1-4.T1", "status3", "status3", self.reporting)
            self._status_matrix()
        else:
            self.note("SO1-4.T1: the run has only a baseline; there is no status to report.")
        self._sdg_indicator()

    def _lpd_by_land_cover(self) -> None:
        rows_n = [*LC_CLASSES.values(), NO_DATA]
        cols_n = [*LPD_CLASSES.values(), NO_DATA]
        frames: dict[str, list[pd.DataFrame]] = {"SO1-2.T1": [], "SO1-2.T2": []}
        for p, (y0, y1) in self.lc_years_of.items():
            table = "SO1-2.T1" if p == self.baseline else "SO1-2.T2"
            if not self.maps.exists(p, "lpd5.tif"):
                self.note(
                    f"{table}: the run has no 5-class LPD map for {p} (LPD table "
                    f"{(self.sdg.manifest.get('parameters') or {}).get('productivity', {}).get('lpd_table')}"
                    "); PRAIS asks for the 5 LPD classes (use lpd_table: trends_earth)."
                )
                continue
            counted = self.maps.grid.crosstab(
                self.maps.land_cover(y0),
                self.maps.read(p, "lpd5.tif"),
                _LC_CODES,
                _LPD_CODES,
                mask=self.maps.land(y0, y1),
            )
            full = counted.copy()
            if not self.unit:
                if not self.sdg.has_table(f"lpd_by_land_cover_{p}"):
                    raise InputError(
                        f"sdg run: tables/lpd_by_land_cover_{p}.csv is missing although "
                        f"maps/{p}/lpd5.tif exists; run sdg1531 again."
                    )
                run = self.sdg.table(f"lpd_by_land_cover_{p}", index_col=0)
                inner = _matrix_from_table(
                    run, list(LC_CLASSES.values()), list(LPD_CLASSES.values())
                )
                full[:-1, :-1] = inner
                exp = {
                    f"{rows_n[i]} x {cols_n[j]}": counted[i, j]
                    for i in range(len(_LC_CODES))
                    for j in range(len(_LPD_CODES))
                }
                got = {
                    f"{rows_n[i]} x {cols_n[j]}": inner[i, j]
                    for i in range(len(_LC_CODES))
                    for j in range(len(_LPD_CODES))
                }
                self.check_many(
                    table, f"{p}: cells = land cover {y0} x maps/{p}/lpd5.tif counted", exp, got
                )
            self.check(
                table,
                f"{p}: all cells (no data included) sum to the land area",
                self.land[p],
                float(full.sum()),
            )
            if p in self.change:
                m = self.change[p]
                w = _LC_CODES.index(LC_WATER)
                keep = [i for i in range(len(rows_n)) if i != w]
                exp = {rows_n[i]: float(m[i].sum() - m[i, w]) for i in keep}
                got = {rows_n[i]: float(full[i].sum()) for i in keep}
                self.check_many(
                    table,
                    f"{p}: row sums = SO1-1.T4 {y0} less land turned to water (SO1-1.T5/T6)",
                    exp,
                    got,
                )
            lpd3 = self.areas_by_class("lpd3", p)
            grouped = {c: 0.0 for c in CLASS4}
            for j, code in enumerate(_LPD_CODES):
                grouped[LPD5_TO_3[code]] += float(full[:, j].sum())
            grouped[NODATA] = float(full[:, -1].sum())
            self.check_many(
                "SO1-2.T3",
                f"{p}: = {table} columns grouped (declining + moderate decline = degraded, "
                "stable but stressed + stable = stable, increasing = improved)",
                {CLASS4[c]: v for c, v in grouped.items()},
                {CLASS4[c]: lpd3[c] for c in CLASS4},
            )
            df = pd.DataFrame(full, columns=[f"{n} km2" for n in cols_n])
            df.insert(0, "land_cover", rows_n)
            df.insert(0, "land_cover_year", y0)
            df.insert(0, "period", p)
            frames[table].append(df)
        for name, parts in frames.items():
            if parts:
                self.tables[name] = pd.concat(parts, ignore_index=True)
        if self.maps.exists(self.baseline, "lpd5.tif") and not self.unit:
            self.note(
                "SO1-2.T1/T2: the 'No data' row and column are counted from the maps (the "
                "run's tables leave them out); the other cells are the run's."
            )
        if not self.unit:
            self.note(
                "SO1-1.T5/T6: the 'No data' row and column are counted from the land cover "
                "maps (the run's change tables leave them out); the other cells are the run's."
            )

    def _soc_stock(self) -> None:
        years = [y for y in self.maps.lc_years if self.maps.exists("soc", f"soc_{y}.tif")]
        means: dict[int, dict[int, float]] = {}
        if self.unit:
            for y in years:
                soc = np.asarray(self.maps.read("soc", f"soc_{y}.tif"), float)
                ok = self.maps.grid.mask & np.isfinite(soc)
                area = self.maps.grid.by_class(self.maps.land_cover(y), _LC_CODES, mask=ok)
                stock = self.maps.grid.by_class(
                    self.maps.land_cover(y), _LC_CODES, mask=ok, values=np.nan_to_num(soc)
                )
                means[y] = {
                    c: float(stock[i] / area[i]) if area[i] else math.nan
                    for i, c in enumerate(_LC_CODES)
                }
        else:
            df = self.sdg.table("soc_stock_by_land_cover")
            _need(
                df,
                ["year", "land_cover_code", "area_with_soc_km2", "soc_mean_t_ha"],
                "soc_stock_by_land_cover.csv",
            )
            for y, g in df.groupby("year"):
                by = g.set_index("land_cover_code")
                means[int(y)] = {c: float(by["soc_mean_t_ha"].get(c, math.nan)) for c in _LC_CODES}
                if int(y) not in years:
                    continue
                soc = np.asarray(self.maps.read("soc", f"soc_{int(y)}.tif"), float)
                lc = self.maps.land_cover(int(y))
                ok = self.maps.grid.mask & np.isfinite(soc) & np.isin(lc, _LC_CODES)
                raster_t = float((self.maps.grid.cell[ok] * soc[ok]).sum() * 100)
                table_t = float(
                    (by["soc_mean_t_ha"].fillna(0) * by["area_with_soc_km2"]).sum() * 100
                )
                self.check(
                    "SO1-3.T1",
                    f"{int(y)}: SOC stock (mean t/ha x area, all classes) = maps/soc/soc_{int(y)}.tif"
                    " x pixel area",
                    raster_t,
                    table_t,
                )
        if not means:
            self.note("SO1-3.T1: the run has no SOC stock per land cover class.")
            return
        ys = sorted(means)
        out = pd.DataFrame({"land_cover": list(LC_CLASSES.values())})
        for y in ys:
            out[f"{y} t/ha"] = [means[y][c] for c in _LC_CODES]
        out["tier"] = 1
        self.tables["SO1-3.T1"] = out
        self.note(
            "SO1-3.T1: tier 1 (landwatch's default SOC method: reference stock changed by "
            "IPCC land-use factors after land cover transitions); water has no SOC (empty)."
        )
        miss = [y for y in PRAIS_CP_YEARS if y not in ys]
        if miss:
            self.note(f"SO1-3.T1: no SOC stock for {miss} (PRAIS asks for {list(PRAIS_CP_YEARS)}).")

    def _status_matrix(self) -> None:
        smat = _status_matrix()
        base = (
            self.maps.read(self.baseline, "sdg.tif")
            if self.maps.exists(self.baseline, "sdg.tif")
            else None
        )
        rows = []
        names = {**CLASS3_NAMES}
        for p in self.reporting:
            y0, y1 = self.lc_years_of[p]
            counted = None
            if base is not None and self.maps.exists(p, "sdg.tif"):
                counted = self.maps.grid.crosstab(
                    base, self.maps.read(p, "sdg.tif"), _C3, _C3, mask=self.maps.land(y0, y1)
                )
            if self.unit:
                if counted is None:
                    self.note(f"SO1-4.T1 matrix: no sdg maps for {p}; left out.")
                    continue
                inner = counted[:-1, :-1]
            else:
                run = self.sdg.table(f"status_crosstab_{p}", index_col=0)
                inner = _matrix_from_table(run, list(names.values()), list(names.values()))
                if counted is not None:
                    keys = [f"{names[a]} -> {names[b]}" for a in _C3 for b in _C3]
                    self.check_many(
                        "SO1-4.T1 matrix",
                        f"{p}: cells = maps/{self.baseline}/sdg.tif x maps/{p}/sdg.tif counted",
                        dict(zip(keys, counted[:-1, :-1].ravel(), strict=True)),
                        dict(zip(keys, inner.ravel(), strict=True)),
                    )
            land = self.land[p]
            exp = {c: 0.0 for c in CLASS4}
            for i, a in enumerate(_C3):
                for j, b in enumerate(_C3):
                    s = smat[(a, b)]
                    exp[s] += float(inner[i, j])
                    rows.append(
                        {
                            "period": p,
                            "baseline_assessment": names[a],
                            "period_assessment": names[b],
                            "status": names[s],
                            "area_km2": float(inner[i, j]),
                            "percent_of_land": 100 * float(inner[i, j]) / land
                            if land
                            else math.nan,
                        }
                    )
            status = self.areas_by_class("status3", p)
            exp[NODATA] = land - sum(exp[c] for c in _C3)
            if counted is not None:
                nod = float(counted[-1, :].sum() + counted[:-1, -1].sum())
                exp[NODATA] = nod
                rows.append(
                    {
                        "period": p,
                        "baseline_assessment": "No data (either)",
                        "period_assessment": "No data (either)",
                        "status": NO_DATA,
                        "area_km2": nod,
                        "percent_of_land": 100 * nod / land if land else math.nan,
                    }
                )
            self.check_many(
                "SO1-4.T1",
                f"{p}: status areas = SO1-4.T1 matrix cells through the PRAIS status matrix",
                {CLASS4[c]: v for c, v in exp.items()},
                {CLASS4[c]: status[c] for c in CLASS4},
            )
        if rows:
            self.tables["SO1-4.T1 matrix"] = pd.DataFrame(rows)

    def _sdg_indicator(self) -> None:
        s = self.sdg_summary
        base_deg = float(s.loc[self.baseline, "degraded_km2"])
        rows = []
        for p, period in self.periods.items():
            y0, y1 = self.lc_years_of[p]
            prod = period.get("productivity") or [y0, y1]
            land = self.land[p]
            assessed = float(s.loc[p, "degraded_km2"])
            if p == self.baseline:
                degraded = assessed
            elif "status_degraded_km2" in s.columns and pd.notna(s.loc[p, "status_degraded_km2"]):
                degraded = float(s.loc[p, "status_degraded_km2"])
            else:
                raise InputError(
                    f"sdg run: sdg_summary.csv has no status_degraded_km2 for {p}; run sdg1531 again."
                )
            rows.append(
                {
                    "period": p,
                    "year": int(prod[1]),
                    "productivity_years": f"{prod[0]}-{prod[1]}",
                    "land_cover_years": f"{y0}-{y1}",
                    "degraded_km2": degraded,
                    "land_area_km2": land,
                    "sdg_15_3_1_percent": 100 * degraded / land if land else math.nan,
                    "change_vs_baseline_km2": degraded - base_deg,
                    "change_vs_baseline_points": 100 * (degraded - base_deg) / land
                    if land
                    else math.nan,
                    "period_assessment_degraded_km2": assessed,
                    "method": "one-out-all-out",
                    "sub_indicators": _SUB_INDICATORS,
                    "false_positive_negative_corrections": "yes" if self.corrected else "no",
                    "confidence": "",
                }
            )
            t = "SO1-4.T2"
            layer = "sdg" if p == self.baseline else "status3"
            if self.maps.exists(p, f"{layer}.tif"):
                counted = self.maps.grid.by_class(
                    self.maps.read(p, f"{layer}.tif"), [DEGRADED], mask=self.maps.land(y0, y1)
                )[0]
                self.check(
                    t,
                    f"{p}: degraded km2 = maps/{p}/{layer}.tif counted on the ellipsoid",
                    counted,
                    degraded,
                )
            if p != self.baseline:
                self.check(
                    t,
                    f"{p}: degraded km2 = SO1-4.T1 status degraded",
                    self.areas_by_class("status3", p)[DEGRADED],
                    degraded,
                )
                if self.maps.exists(p, "sdg.tif"):
                    counted = self.maps.grid.by_class(
                        self.maps.read(p, "sdg.tif"), [DEGRADED], mask=self.maps.land(y0, y1)
                    )[0]
                    self.check(
                        t,
                        f"{p}: period-assessment degraded km2 = maps/{p}/sdg.tif counted",
                        counted,
                        assessed,
                    )
                if "change_vs_baseline_km2" in s.columns:
                    self.check(
                        t,
                        f"{p}: change vs baseline (run) = degraded - baseline degraded",
                        degraded - base_deg,
                        float(s.loc[p, "change_vs_baseline_km2"]),
                    )
            if p in self.change:
                m = self.change[p]
                w = _LC_CODES.index(LC_WATER)
                water = float(m[w, :].sum() + m[:, w].sum() - m[w, w])
                self.check(
                    t,
                    f"{p}: land area = territory less water of {y0} or {y1} (SO1-1.T4/T5/T6)",
                    float(self.lc_areas[y0].sum()) - water
                    if y0 in self.lc_areas
                    else self.territory_km2 - water,
                    land,
                )
            if y1 in self.cp_land:
                self.check(t, f"{p}: land area = CP-1.T1 land area {y1}", self.cp_land[y1], land)
            if self.corrected:
                continue
            subs = {
                "SO1-1.T7": self.areas_by_class("land_cover_degradation", p)[DEGRADED],
                "SO1-2.T3": self.areas_by_class("lpd3", p)[DEGRADED],
                "SO1-3.T2": self.areas_by_class("soc_degradation", p)[DEGRADED],
            }
            top = max(subs, key=lambda k: subs[k])
            self.check(
                t,
                f"{p}: period-assessment degraded >= each sub-indicator's degraded "
                f"(one-out-all-out; largest: {top})",
                subs[top],
                assessed,
                kind="at_least",
            )
            self.check(
                t,
                f"{p}: period-assessment degraded <= sum of the sub-indicators' degraded "
                "(one-out-all-out)",
                sum(subs.values()),
                assessed,
                kind="at_most",
            )
        if self.corrected:
            self.note(
                "SO1-4.T2: false positive/negative corrections were applied, so the "
                "one-out-all-out bounds against the sub-indicators are not checked."
            )
        self.note(
            "SO1-4.T2: baseline degraded = the baseline assessment; reporting periods = the "
            "status against the baseline (PRAIS status matrix); % = degraded / land area of "
            "the period (territory less water). The confidence level is yours to set."
        )
        self.tables["SO1-4.T2"] = pd.DataFrame(rows)

    # ------------------------------------------------------------------ SO2-3

    def so2_3(self) -> None:
        pop = self.maps.population()
        if pop is None:
            self.note("SO2-3: the sdg run had no population input; table left out.")
            return
        per: dict[str, dict[tuple[str, int], float]] = {}
        if self.unit:
            for p, (y0, y1) in self.lc_years_of.items():
                if not self.maps.exists(p, "sdg.tif"):
                    continue
                v = self.maps.grid.by_class(
                    self.maps.read(p, "sdg.tif"), _C3, mask=self.maps.land(y0, y1), weights=pop
                )
                per[p] = {("total", c): float(v[i]) for i, c in enumerate(_C3)}
        else:
            if not self.sdg.has_table("population_by_sdg_class"):
                raise InputError(
                    "sdg run: it had a population input but tables/population_by_sdg_class.csv "
                    "is missing; run sdg1531 again."
                )
            df = self.sdg.table("population_by_sdg_class")
            _need(df, ["period", "class_code", "population"], "population_by_sdg_class.csv")
            if "sex" not in df.columns:
                df["sex"] = "total"
                self.note(
                    "SO2-3: by sex not available (the sdg run has a total population only); "
                    "give the run female and male population grids to report SO2-3 by sex."
                )
            for (p, sex, code), v in (
                df.groupby(["period", "sex", "class_code"])["population"].sum().items()
            ):
                per.setdefault(str(p), {})[(str(sex), int(code))] = float(v)
        rows = []
        for p, (y0, y1) in self.lc_years_of.items():
            if p not in per:
                continue
            land = self.maps.land(y0, y1)
            on_land = float(pop[land].sum())
            self.pop_land[p] = on_land
            sdg_map = self.maps.read(p, "sdg.tif") if self.maps.exists(p, "sdg.tif") else None
            for sex in sorted({s for s, _ in per[p]}, key=lambda s: (s != "total", s)):
                vals = {c: per[p].get((sex, c), 0.0) for c in _C3}
                total = sum(vals.values())
                rows.append(
                    {
                        "period": p,
                        "year": int((self.periods[p].get("productivity") or [y0, y1])[1]),
                        "sex": sex,
                        "population_on_degraded_land": vals[DEGRADED],
                        "population_on_stable_land": vals[STABLE],
                        "population_on_improved_land": vals[IMPROVED],
                        "population_on_land": total,
                        "percent_exposed": 100 * vals[DEGRADED] / total if total else math.nan,
                    }
                )
                if sex != "total" or self.unit:
                    continue
                self.check(
                    "SO2-3",
                    f"{p}: population of the classes = population raster on land (territory less water)",
                    on_land,
                    total,
                )
                if sdg_map is not None:
                    on_deg = float(pop[land & (sdg_map == DEGRADED)].sum())
                    self.check(
                        "SO2-3",
                        f"{p}: population on degraded land = population raster over maps/{p}/sdg.tif degraded",
                        on_deg,
                        vals[DEGRADED],
                    )
        self.tables["SO2-3"] = pd.DataFrame(rows)
        self.note(
            "SO2-3: exposure to degradation per period uses the SDG 15.3.1 period assessment "
            "(maps/<period>/sdg.tif), as the run's population_by_sdg_class table does."
        )

    # ------------------------------------------------------------------ SO1-4.T4/T5

    def hotspots(self) -> None:
        if self.ldn is None:
            self.note(
                "SO1-4.T4/T5: no LDN run given (--ldn-run); hotspots and brightspots are left "
                "out. Run `landwatch ldn --sdg-run ...` and pass its folder."
            )
            return
        import geopandas as gpd
        from pyproj import Geod

        src = self.ldn.input_path("sdg_run")
        if src is not None and src.resolve() != self.sdg.path.resolve():
            self.note(
                f"SO1-4.T4/T5: the LDN run was made from {str(src)!r}, not from this sdg run "
                f"{str(self.sdg.path)!r}; make sure they are the same assessment."
            )
        geod = Geod(ellps="WGS84")
        periods = list((self.ldn.summary.get("periods") or {}).keys()) or self.reporting
        status = {p: self.areas_by_class("status3", p) for p in periods if p in self.reporting}
        for kind, table, cls in (
            ("hotspot", "SO1-4.T4", DEGRADED),
            ("brightspot", "SO1-4.T5", IMPROVED),
        ):
            frames = []
            for p in periods:
                tab = self.ldn.table(f"{kind}s_{p}")
                _need(tab, ["patch", "area_km2", "process", "basis"], f"{kind}s_{p}.csv")
                gj = self.ldn.file(f"{kind}s_{p}.geojson")
                try:
                    gdf = gpd.read_file(gj)
                except Exception as exc:
                    raise InputError(f"ldn run: {gj.name} is unreadable ({exc}).") from exc
                self.check(
                    table, f"{p}: {kind}s in the table = polygons in {gj.name}", len(tab), len(gdf)
                )
                if len(gdf) and "patch" in gdf.columns:
                    gdf = gdf.set_index("patch")
                    poly = {
                        f"#{int(k)}": abs(geod.geometry_area_perimeter(g)[0]) / 1e6
                        for k, g in gdf.geometry.items()
                    }
                    self.check_many(
                        table,
                        f"{p}: {kind} areas = polygon areas of {gj.name} on the ellipsoid",
                        poly,
                        {
                            f"#{int(k)}": float(a)
                            for k, a in zip(tab["patch"], tab["area_km2"], strict=True)
                        },
                    )
                    cent = gdf.to_crs("EPSG:6933").centroid.to_crs(4326)
                    lon = {int(k): float(pt.x) for k, pt in cent.items()}
                    lat = {int(k): float(pt.y) for k, pt in cent.items()}
                else:
                    lon, lat = {}, {}
                if self.unit and "zone" in tab.columns:
                    tab = tab[tab["zone"].astype(str) == str(self.maps.position)]
                if p in status and not self.unit:
                    self.check(
                        table,
                        f"{p}: total {kind} area <= status {CLASS4[cls].lower()} area (SO1-4.T1)",
                        status[p][cls],
                        float(tab["area_km2"].sum()),
                        kind="at_most",
                    )
                    raster = self.ldn.path / "maps" / p / f"{kind}s.tif"
                    if raster.is_file():
                        da = rio_io.open_raster(raster, name=f"ldn {kind}s map")
                        rio_io.check_same_grid(
                            self.maps.ref, da, ref_name="sdg maps", name=raster.name
                        )
                        labels = np.asarray(da.values)
                        self.check(
                            table,
                            f"{p}: total {kind} area = maps/{p}/{kind}s.tif (ldn run) counted",
                            self.maps.grid.total(self.maps.grid.mask & (labels > 0)),
                            float(tab["area_km2"].sum()),
                        )
                out = pd.DataFrame(
                    {
                        "period": p,
                        "name": [f"{kind} {p} #{int(r)}" for r in tab.get("rank", tab["patch"])],
                        "admin_unit": tab["zone_name"].fillna("") if "zone_name" in tab else "",
                        "centroid_lon": [lon.get(int(k), math.nan) for k in tab["patch"]],
                        "centroid_lat": [lat.get(int(k), math.nan) for k in tab["patch"]],
                        "area_km2": tab["area_km2"].astype(float),
                        "process": tab["process"].fillna(""),
                        "processes": tab["processes"].fillna("") if "processes" in tab else "",
                        "basis": tab["basis"].fillna(""),
                        "suggested_response": tab["response"].fillna("")
                        if "response" in tab
                        else "",
                        "actions_taken_or_planned": "",
                        "priority": tab["priority"] if "priority" in tab else math.nan,
                        "population": tab["population"] if "population" in tab else math.nan,
                    }
                )
                frames.append(out)
            if frames:
                self.tables[table] = pd.concat(frames, ignore_index=True)
        self.note(
            "SO1-4.T4/T5: hotspots = patches of loss (status 1-2), brightspots = patches of "
            "gain (status 6-7) of the LDN run; centroids in WGS84 (equal-area centroid); "
            "'actions_taken_or_planned' is yours to fill."
            + (
                f" Only patches whose larger part lies in unit {self.admin_id} are listed, "
                "with their whole area, so their sum is not checked against the unit's status."
                if self.unit
                else ""
            )
        )

    # ------------------------------------------------------------------ SO3

    def so3_tables(self) -> None:
        if self.so3 is None:
            self.note(
                "SO3-1/SO3-2/SO3-3: no SO3 run given (--so3-run); drought tables are left out. "
                "Run `landwatch drought so3` and pass its folder."
            )
            return
        run = self.so3
        zone = self._so3_zone(run.table("so3_land_area"))
        haz = run.table("so3_1_hazard")
        _need(
            haz,
            ["year", "zone", "class_code", "class_name", "area_km2", "percent", "land_area_km2"],
            "so3_1_hazard.csv",
        )
        haz = haz[haz["zone"].astype(str) == zone]
        if haz.empty:
            raise InputError(f"so3 run: so3_1_hazard.csv has no rows for zone {zone!r}.")
        classes = haz.drop_duplicates("class_code").set_index("class_code")["class_name"].to_dict()
        order = sorted(classes, key=lambda c: (c == NODATA, c))
        rows = []
        sums, lands = {}, {}
        for year, g in haz.groupby("year"):
            by = g.set_index("class_code")
            land = float(g["land_area_km2"].iloc[0])
            row: dict[str, Any] = {"year": int(year), "land_area_km2": land}
            for c in order:
                slug = _slug(str(classes[c]))
                row[f"{slug}_km2"] = float(by["area_km2"].get(c, 0.0))
                if c != NODATA:
                    row[f"{slug}_percent_of_land"] = float(by["percent"].get(c, 0.0))
            if int(year) >= PRAIS_SO3_FIRST_YEAR:
                rows.append(row)
            sums[int(year)] = float(g["area_km2"].sum())
            lands[int(year)] = land
        self.tables["SO3-1.T1"] = pd.DataFrame(rows)
        if min(lands) < PRAIS_SO3_FIRST_YEAR:
            self.note(
                f"SO3-1/SO3-2: the so3 run covers {min(lands)}-{max(lands)}; the PRAIS tables "
                f"list {PRAIS_SO3_FIRST_YEAR} onwards (the checks cover every year)."
            )
        self.check_many("SO3-1.T1", "classes (no data included) sum to the land area", lands, sums)
        drought_codes = [c for c in order if c not in (0, NODATA)]
        from_t1 = {
            int(y): float(g[g["class_code"].isin(drought_codes)]["area_km2"].sum())
            for y, g in haz.groupby("year")
        }
        tot = run.table("so3_1_drought_totals")
        _need(
            tot,
            ["year", "zone", "drought_area_km2", "drought_percent", "land_area_km2"],
            "so3_1_drought_totals.csv",
        )
        tot = tot[tot["zone"].astype(str) == zone]
        self.tables["SO3-1.T2"] = tot.loc[
            tot["year"] >= PRAIS_SO3_FIRST_YEAR,
            ["year", "drought_area_km2", "drought_percent", "land_area_km2"],
        ].reset_index(drop=True)
        t2 = {int(r.year): float(r.drought_area_km2) for r in tot.itertuples()}
        self.check_many(
            "SO3-1.T2", "drought area = SO3-1.T1 mild + moderate + severe + extreme", from_t1, t2
        )
        counted = self._so3_hazard_counted(run, drought_codes)
        if counted is not None:
            self.check_many(
                "SO3-1.T2",
                "drought area = hazard_classes.nc counted on the ellipsoid",
                counted,
                {y: t2.get(y, math.nan) for y in counted},
            )
        land_tab = run.table("so3_land_area")
        lt = land_tab[land_tab["zone"].astype(str) == zone]
        if not lt.empty and self.cp_land:
            ylast = max(self.cp_land)
            cp = self.tables["CP-1.T1"].set_index("year")
            self.check(
                "SO3-1.T1",
                f"SO3 land area = CP-1.T1 land area {ylast}",
                self.cp_land[ylast],
                float(lt["land_km2"].iloc[0]),
            )
            self.check(
                "SO3-1.T1",
                f"SO3 territory = CP-1.T1 total area {ylast}",
                float(cp.loc[ylast, "total_area_km2"]),
                float(lt["territory_km2"].iloc[0]),
            )
        self._so3_exposure(run, zone)
        self._so3_vulnerability(run, zone)

    def _so3_zone(self, land_tab: pd.DataFrame) -> str:
        if not self.unit:
            return "ALL"
        zones = land_tab["zone"].astype(str)
        hit = zones[zones.str.startswith(f"{self.admin_id} ") | (zones == str(self.admin_id))]
        if hit.empty:
            raise InputError(
                f"so3 run: it has no zone for admin unit {self.admin_id!r} (zones: "
                f"{zones.tolist()[:10]}); run it with the same admin units as the sdg run."
            )
        return str(hit.iloc[0])

    def _so3_hazard_counted(self, run: _Run, codes: list[int]) -> dict[int, float] | None:
        p = run.path / "hazard_classes.nc"
        if not p.is_file():
            self.note("SO3-1.T2: the so3 run has no hazard_classes.nc; its map check is left out.")
            return None
        da = rio_io.open_raster(p, name="so3 hazard classes", variable="drought_hazard_class")
        like = da.isel(time=0, drop=True)
        try:
            rio_io.check_same_grid(self.maps.ref, like, ref_name="sdg maps", name="so3 grid")
            mask = self.maps.grid.mask
        except InputError:
            if self.maps.admin_gdf is None:
                mask = np.ones((like.sizes["y"], like.sizes["x"]), dtype=bool)
            else:
                zone = vec_io.rasterize_ids(self.maps.admin_gdf, like)
                mask = zone == self.maps.position if self.unit else zone > 0
        grid = _Grid(like, mask)
        out = {}
        for i, year in enumerate(da["time"].values):
            v = grid.by_class(np.asarray(da.isel(time=i).values), codes)
            out[int(year)] = float(v[:-1].sum())
        self.note(
            "SO3-1.T2: the map check counts hazard_classes.nc over the sdg run's territory "
            "(or admin unit) on the SO3 grid."
        )
        return out

    def _so3_exposure(self, run: _Run, zone: str) -> None:
        if not run.has_table("so3_2_exposure"):
            self.note("SO3-2: the so3 run has no exposure table; left out.")
            return
        ex = run.table("so3_2_exposure")
        _need(
            ex,
            [
                "year",
                "sex",
                "zone",
                "class_code",
                "class_name",
                "population",
                "percent",
                "zone_population",
            ],
            "so3_2_exposure.csv",
        )
        ex = ex[ex["zone"].astype(str) == zone]
        totals: dict[str, dict[int, float]] = {}
        for sex, table in (("total", "SO3-2.T1"), ("female", "SO3-2.T2"), ("male", "SO3-2.T3")):
            g = ex[ex["sex"] == sex]
            if g.empty:
                self.note(f"{table}: the so3 run has no {sex} population; table left out.")
                continue
            rows, sums, pops = [], {}, {}
            for year, gy in g.groupby("year"):
                by = gy.set_index("class_code")
                popn = float(gy["zone_population"].iloc[0])
                row: dict[str, Any] = {"year": int(year), "population": popn}
                for c, name in by["class_name"].items():
                    if c == NODATA:
                        continue
                    row[f"{_slug(str(name))}_percent"] = float(by.loc[c, "percent"])
                if "drought_percent" in gy:
                    row["drought_percent"] = float(gy["drought_percent"].iloc[0])
                    row["drought_population"] = float(gy["drought_population"].iloc[0])
                row["no_data_population"] = float(by["population"].get(NODATA, 0.0))
                if int(year) >= PRAIS_SO3_FIRST_YEAR:
                    rows.append(row)
                sums[int(year)] = float(gy["population"].sum())
                pops[int(year)] = popn
            self.tables[table] = pd.DataFrame(rows)
            self.check_many(
                table, "class populations (no data included) sum to the population", pops, sums
            )
            totals[sex] = pops
        if {"total", "female", "male"} <= set(totals):
            self.check_many(
                "SO3-2.T1",
                "female + male = total population",
                totals["total"],
                {
                    y: totals["female"].get(y, math.nan) + totals["male"].get(y, math.nan)
                    for y in totals["total"]
                },
            )
        so3_pop = run.input_path("population")
        sdg_pop = self.sdg.input_path("population")
        if "total" in totals and self.pop_land and so3_pop is not None and sdg_pop is not None:
            if so3_pop.resolve() == sdg_pop.resolve():
                first = min(totals["total"])
                self.check(
                    "SO3-2.T1",
                    f"population ({first}) = SO2-3 population raster on land ({self.baseline})",
                    self.pop_land[self.baseline],
                    totals["total"][first],
                )
            else:
                self.note(
                    "SO3-2: the so3 and sdg runs use different population grids; their totals "
                    "are not compared."
                )

    def _so3_vulnerability(self, run: _Run, zone: str) -> None:
        if not run.has_table("so3_3_vulnerability"):
            self.note(
                "SO3-3.T1: the so3 run has no vulnerability table (no indicators given); left out."
            )
            return
        v = run.table("so3_3_vulnerability")
        _need(v, ["zone", "dvi_mean"], "so3_3_vulnerability.csv")
        if "year" not in v.columns:
            v["year"] = pd.NA
        mine = v[v["zone"].astype(str) == zone]
        self.tables["SO3-3.T1"] = pd.DataFrame(
            {
                "year": mine["year"].to_numpy(),
                "dvi_total": mine["dvi_mean"].astype(float).to_numpy(),
                "dvi_female": math.nan,
                "dvi_male": math.nan,
            }
        )
        self.note(
            "SO3-3.T1: landwatch computes the total DVI; female and male DVI need "
            "sex-disaggregated indicators (left empty). A DVI without a year is the one map given."
        )
        vals = v["dvi_mean"].astype(float)
        if vals.notna().any():
            self.check("SO3-3.T1", "DVI <= 1", 1.0, float(vals.max()), kind="at_most")
            self.check("SO3-3.T1", "DVI >= 0", 0.0, float(vals.min()), kind="at_least")
        if not self.unit and "weight" in v.columns and (v["zone"] != "ALL").any():
            for year, g in v.groupby(v["year"].fillna(-1)):
                parts = g[g["zone"] != "ALL"]
                allz = g[g["zone"] == "ALL"]
                w = parts["weight"].astype(float)
                if allz.empty or w.sum() <= 0:
                    continue
                label = "" if year == -1 else f"{int(year)}: "
                self.check(
                    "SO3-3.T1",
                    f"{label}territory DVI = weighted mean of the admin units' DVI",
                    float((parts["dvi_mean"].astype(float) * w).sum() / w.sum()),
                    float(allz["dvi_mean"].iloc[0]),
                )

    # ------------------------------------------------------------------ run checks

    def run_checks(self) -> None:
        if not self.sdg.has_table("area_checks"):
            return
        ac = self.sdg.table("area_checks")
        if "ok" in ac.columns:
            okc = ac["ok"].astype(str).str.lower().isin(["true", "1"])
            self.check(
                "SDG run",
                "the run's own area reconciliation rows that pass (area_checks.csv)",
                float(len(ac)),
                float(okc.sum()),
            )


def _km2_columns(df: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    return df.rename(columns={n: f"{n} km2" for n in names})


# --------------------------------------------------------------------------- public API


def national_tables(
    sdg_run: str | Path,
    *,
    so3_run: str | Path | None = None,
    ldn_run: str | Path | None = None,
    admin_id: str | None = None,
) -> NationalTables:
    """UNCCD PRAIS 4 tables from landwatch runs, cross-checked against each other and the maps.

    Parameters
    ----------
    sdg_run : path
        Output folder of ``landwatch sdg1531`` (tables, maps, manifest).
    so3_run : path, optional
        Output folder of ``landwatch drought so3`` for SO3-1, SO3-2 and SO3-3.
    ldn_run : path, optional
        Output folder of ``landwatch ldn`` for the hotspots (SO1-4.T4) and brightspots
        (SO1-4.T5).
    admin_id : str, optional
        One admin unit of the sdg run (its ``admin_id_field`` value) instead of the whole
        territory.

    Returns
    -------
    NationalTables
        ``tables`` (CP-1.T1, SO1-1.T4-T7, SO1-2.T1-T3, SO1-3.T1-T2, SO1-4.T1/T1 matrix/T2/
        T4/T5, SO2-3, SO3-1.T1-T2, SO3-2.T1-T3, SO3-3.T1 as available), ``checks`` and
        ``notes``. Areas in km2 (on the ellipsoid for geographic grids), shares in % of
        the land area (territory less water bodies), SOC in t/ha, people as counts.

    Raises
    ------
    InputError
        A folder is not the output of the expected workflow, or a table, column or
        map the tables need is missing or unreadable (structural problems only; a
        number that does not add up is a failed check, never an error).
    DataSourceError
        An input the sdg run's manifest names (admin units, population) is missing.

    Notes
    -----
    Every check passes when ``|got - expected| <= 0.001 |expected| + 1e-6``. Checks:
    classes sum to the land area; land + water = territory counted from the maps;
    each class table = its COG counted on the ellipsoid; change matrices' margins =
    SO1-1.T4; SO1-1.T7 = the change matrix through the transition matrix; SO1-2.T3 =
    the LPD 5 classes grouped; status areas = the status matrix applied to the
    baseline x period cross table; degraded (SO1-4.T2) = status map counted; the
    period assessment lies between the largest and the sum of the sub-indicators'
    degraded areas (one-out-all-out); SOC stock = SOC maps x area; population =
    population raster on land; hotspot areas = polygon areas on the ellipsoid; SO3
    classes sum to the land area and people, drought area = hazard classes counted.
    """
    sdg = _read_run(sdg_run, "sdg1531")
    so3 = _read_run(so3_run, "so3") if so3_run is not None else None
    ldn = _read_run(ldn_run, "ldn") if ldn_run is not None else None
    maps = _SdgMaps(sdg, None if admin_id is None else str(admin_id))
    b = _Builder(sdg, maps, None if admin_id is None else str(admin_id), so3, ldn)
    b.land_areas()
    b.land_cover()
    b.so1_tables()
    b.so2_3()
    b.hotspots()
    b.so3_tables()
    b.run_checks()
    order = [n for n in TABLE_DESCRIPTIONS if n in b.tables]
    tables = {n: b.tables[n].reset_index(drop=True) for n in order}
    checks = pd.DataFrame(
        b.checks, columns=["table", "check", "expected", "got", "difference_pct", "ok"]
    )
    unit_name = None
    if admin_id is not None and maps.units is not None:
        unit_name = str(
            maps.units.loc[maps.units["admin_id"] == str(admin_id), "admin_name"].iloc[0]
        )

    def source(run: _Run | None) -> dict[str, Any] | None:
        if run is None:
            return None
        m = run.manifest
        return {
            "path": str(run.path.resolve()),
            "workflow": run.workflow,
            "landwatch_version": m.get("version"),
            "finished": m.get("finished"),
        }

    metadata = {
        "title": "UNCCD national reporting tables (PRAIS 4 layout)",
        "landwatch_version": landwatch.__version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "territory": "whole territory"
        if admin_id is None
        else f"admin unit {admin_id} {unit_name}",
        "territory_km2": b.territory_km2,
        "sources": {"sdg1531": source(sdg), "so3": source(so3), "ldn": source(ldn)},
        "baseline": b.baseline,
        "periods": {
            p: {
                "productivity": list(v.get("productivity") or []),
                "land_cover": list(v.get("land_cover") or []),
            }
            for p, v in b.periods.items()
        },
        "units": {
            "area": "km2; on the ellipsoid (pixel area by latitude) for geographic grids",
            "percent_of_land": "% of the land area = territory less water bodies",
            "soc": "t C/ha, 0-30 cm",
            "population": "people",
            "dvi": "0-1 (1 = most vulnerable)",
        },
        "check_tolerance": f"relative {CHECK_RTOL:g} (0.1 %), absolute {CHECK_ATOL:g}",
    }
    return NationalTables(tables=tables, checks=checks, notes=list(b.notes), metadata=metadata)


# --------------------------------------------------------------------------- writing


def _file_stem(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z.\-]+", "_", name)


def readme_table(nt: NationalTables) -> pd.DataFrame:
    """The README sheet: sources, version, units, periods, check summary, notes, tables."""
    md = nt.metadata
    rows: list[tuple[str, str]] = [
        ("title", str(md.get("title", "UNCCD national reporting tables (PRAIS 4 layout)"))),
        ("landwatch version", str(md.get("landwatch_version", landwatch.__version__))),
        ("created", str(md.get("created", ""))),
        ("territory", f"{md.get('territory', '')} ({md.get('territory_km2', math.nan):.3f} km2)"),
    ]
    for key, src in (md.get("sources") or {}).items():
        rows.append(
            (
                f"source: {key}",
                "not given"
                if src is None
                else f"{src['path']} (landwatch {src.get('landwatch_version')}, "
                f"finished {src.get('finished')})",
            )
        )
    for key, unit in (md.get("units") or {}).items():
        rows.append((f"unit: {key}", str(unit)))
    for p, v in (md.get("periods") or {}).items():
        rows.append(
            (
                f"period: {p}" + (" (baseline)" if p == md.get("baseline") else ""),
                f"productivity {v['productivity']}, land cover / SOC {v['land_cover']}",
            )
        )
    n_fail = len(nt.failed)
    rows.append(
        (
            "checks",
            f"{len(nt.checks) - n_fail} of {len(nt.checks)} passed (tolerance "
            f"{md.get('check_tolerance', '0.1 %')}); see the 'checks' sheet",
        )
    )
    for i, r in enumerate(nt.failed.itertuples(), start=1):
        rows.append(
            (
                f"FAILED check {i}",
                f"{r.table}: {r.check}: expected {r.expected:.6g}, got {r.got:.6g} "
                f"({r.difference_pct:+.3g} %)",
            )
        )
    for i, note in enumerate(nt.notes, start=1):
        rows.append((f"note {i}", note))
    for name in nt.tables:
        rows.append((f"table {name}", TABLE_DESCRIPTIONS.get(name, "")))
    return pd.DataFrame(rows, columns=["item", "value"])


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = json.loads(df.to_json(orient="records"))
    return _json_safe(out)  # type: ignore[no-any-return]


def write_national_tables(
    nt: NationalTables, out_dir: str | Path, *, overwrite: bool = False
) -> list[Path]:
    """Write the tables as CSV (one per table, plus ``checks.csv``), one XLSX and JSON.

    Parameters
    ----------
    nt : NationalTables
        Result of :func:`national_tables`.
    out_dir : path
        Output folder; it appears only when everything is written (atomic).
    overwrite : bool
        Replace an existing folder.

    Returns
    -------
    list of pathlib.Path
        ``<table>.csv`` per table (e.g. ``SO1-4.T2.csv``), ``checks.csv``,
        ``national_tables.xlsx`` (sheets ``README``, one per table, ``checks``; failed
        checks filled red) and ``national_tables.json``.

    Raises
    ------
    InputError
        ``out_dir`` exists and ``overwrite`` is False.
    """
    readme = readme_table(nt)
    with out_io.atomic_output_dir(out_dir, overwrite=overwrite) as tmp:
        files: list[Path] = []
        for name, df in nt.tables.items():
            p = tmp / f"{_file_stem(name)}.csv"
            df.to_csv(p, index=False)
            files.append(p)
        p = tmp / "checks.csv"
        nt.checks.to_csv(p, index=False)
        files.append(p)
        xlsx = tmp / "national_tables.xlsx"
        _write_xlsx(xlsx, readme, nt)
        files.append(xlsx)
        js = tmp / "national_tables.json"
        payload = {
            "metadata": _json_safe(nt.metadata),
            "notes": nt.notes,
            "tables": {n: _records(df) for n, df in nt.tables.items()},
            "checks": _records(nt.checks),
        }
        js.write_text(json.dumps(payload, indent=1, default=str))
        files.append(js)
        final = [Path(out_dir).resolve() / f.relative_to(tmp) for f in files]
    return final


def _write_xlsx(path: Path, readme: pd.DataFrame, nt: NationalTables) -> None:
    from openpyxl.styles import Font, PatternFill

    red = PatternFill("solid", fgColor="F4CCCC")
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        sheets = {"README": readme, **nt.tables, "checks": nt.checks}
        for name, df in sheets.items():
            df.to_excel(xw, sheet_name=name[:31], index=False)
            ws = xw.sheets[name[:31]]
            for i, col in enumerate(df.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)])
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(
                    max(10, width + 2), 90
                )
            ws.freeze_panes = "A2"
        ws = xw.sheets["checks"]
        ok_col = list(nt.checks.columns).index("ok") + 1 if "ok" in nt.checks else None
        if ok_col:
            for r, ok in enumerate(nt.checks["ok"], start=2):
                if not bool(ok):
                    for c in range(1, len(nt.checks.columns) + 1):
                        ws.cell(row=r, column=c).fill = red
                    ws.cell(row=r, column=ok_col).font = Font(bold=True, color="990000")
