"""Rapid-response briefs: a few pages on one area, from the runs already made.

``landwatch brief`` calls :func:`run_brief`; it computes nothing itself. The brief
reads the output folders of ``landwatch sdg1531``, ``ldn``, ``drought so3`` and
``warn run`` (and the knowledge base), takes the numbers of one area (an admin unit
of the runs' admin layer, an uploaded polygon, or the whole territory), and writes
``brief.html`` (self-contained), ``brief.pdf`` (A4) and ``numbers.json`` into one
folder, atomically. The content (numbers, text, maps, charts, page) is
:mod:`landwatch.reports.brief`.

Where the numbers come from: for an admin unit or the whole territory, the run's own
tables (what the run reported); for a polygon, the run's maps over the pixels whose
centre falls inside it, with ellipsoidal pixel areas, computed the way the run
computes its tables.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

import landwatch
from landwatch.errors import InputError, LandwatchError
from landwatch.indices.land.area import pixel_area_km2
from landwatch.indices.land.codes import LC_WATER, LPD_CLASSES, NODATA
from landwatch.io import outputs as out_io
from landwatch.io import rasters as rio_io
from landwatch.io import vectors as vec_io
from landwatch.reports import brief as rep
from landwatch.workflows.progress import NullProgress, Progress

__all__ = ["TOPICS", "BriefResult", "run_brief"]

#: Topics of a brief.
TOPICS: tuple[str, ...] = ("land_degradation", "drought", "ldn", "hotspots_practices")

_KINDS: dict[str, tuple[str, str]] = {
    # kind: (option, command that writes such a folder)
    "sdg1531": ("--sdg-run", "landwatch sdg1531"),
    "ldn": ("--ldn-run", "landwatch ldn"),
    "so3": ("--so3-run", "landwatch drought so3"),
    "warning": ("--warning-run", "landwatch warn run"),
}

_LABELS = {"sdg1531": "SDG run", "ldn": "LDN run", "so3": "SO3 run", "warning": "warning run"}

#: Checksums of inputs the run did not record are computed for files up to this size.
_HASH_MAX_BYTES = 512 * 1024 * 1024


@dataclass
class BriefResult:
    """What :func:`run_brief` wrote.

    Attributes
    ----------
    out_dir : Path
        The output folder.
    html, pdf : Path
        ``brief.html`` (self-contained) and ``brief.pdf`` (A4).
    numbers : dict
        The key numbers as printed (also ``numbers.json``).
    files : list of Path
        Every file written.
    """

    out_dir: Path
    html: Path
    pdf: Path
    numbers: dict[str, float | str]
    files: list[Path] = field(default_factory=list)


# --------------------------------------------------------------------------- runs


@dataclass
class _Run:
    kind: str
    path: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    manifest_sha256: str

    @property
    def option(self) -> str:
        return _KINDS[self.kind][0]

    @property
    def label(self) -> str:
        return _LABELS[self.kind]

    def file(self, *parts: str) -> Path:
        p = self.path.joinpath(*parts)
        if not p.exists():
            raise InputError(
                f"{self.option}: {str(p)!r} is missing; pass a complete `{_KINDS[self.kind][1]}` "
                "output folder (run it again if it was moved or cut short)."
            )
        return p

    def table(self, name: str, **kwargs: Any) -> pd.DataFrame:
        return pd.read_csv(self.file("tables", f"{name}.csv"), **kwargs)

    def has_table(self, name: str) -> bool:
        return (self.path / "tables" / f"{name}.csv").is_file()

    def input_path(self, role: str) -> Path | None:
        """An input file named by the manifest (``None`` when not given)."""
        v = (self.manifest.get("inputs") or {}).get(role)
        if isinstance(v, dict):
            v = v.get("path")
        if v is None or str(v) in ("", "None") or str(v).startswith("landwatch/data/"):
            return None
        return Path(str(v))

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.manifest.get("parameters") or {})


def _open_run(path: str | Path | None, kind: str) -> _Run | None:
    if path is None:
        return None
    option, command = _KINDS[kind]
    p = Path(path)
    manifest_p = p / "manifest.json"
    if not p.is_dir() or not manifest_p.is_file():
        what = "does not exist" if not p.exists() else "has no manifest.json"
        raise InputError(
            f"{option}: {str(p)!r} {what}; expected an output folder of `{command}`. "
            f"Run `{command}` first and pass its --out folder."
        )
    try:
        manifest = json.loads(manifest_p.read_text())
    except ValueError as exc:
        raise InputError(f"{option}: {str(manifest_p)!r} is not valid JSON ({exc}).") from exc
    found = manifest.get("workflow")
    if found != kind:
        made_by = next((c for k, (_, c) in _KINDS.items() if k == found), f"workflow {found!r}")
        raise InputError(
            f"{option}: {str(p)!r} is an output folder of `{made_by}`, not of `{command}`. "
            f"Pass the --out folder of `{command}`."
        )
    summary: dict[str, Any] = {}
    if kind in ("sdg1531", "ldn"):
        sp = p / "summary.json"
        if not sp.is_file():
            raise InputError(
                f"{option}: {str(p)!r} has no summary.json; run `{command}` again (it was cut "
                "short or moved)."
            )
        try:
            summary = dict(json.loads(sp.read_text()))
        except ValueError as exc:
            raise InputError(f"{option}: {str(sp)!r} is not valid JSON ({exc}).") from exc
        if not summary.get("periods"):
            raise InputError(f"{option}: {str(sp)!r} lists no period; run `{command}` again.")
    return _Run(kind, p.resolve(), manifest, summary, out_io.sha256_of(manifest_p))


# --------------------------------------------------------------------------- grids


def _read_map(path: Path, name: str) -> xr.DataArray:
    da = rio_io.open_raster(path, name=name).load()
    if "time" in da.dims:
        da = da.isel(time=-1, drop=True)
    return da


def _cell_area(grid: xr.DataArray) -> np.ndarray:
    res_x, res_y = (abs(v) for v in grid.rio.resolution())
    row = np.asarray(pixel_area_km2(np.asarray(grid.y), res_x, res_y, grid.rio.crs).values)
    return np.broadcast_to(row[:, None], (grid.sizes["y"], grid.sizes["x"]))


def _on_grid(
    ref: xr.DataArray, path: Path, name: str, *, categorical: bool, sum_preserving: bool = False
) -> xr.DataArray:
    """A (y, x) raster on ``ref``'s grid (resampled when it is on another one)."""
    da = _read_map(path, name)
    try:
        rio_io.check_same_grid(ref, da, ref_name="map", name=name)
    except InputError:
        da = rio_io.align_to(ref, da, categorical=categorical, sum_preserving=sum_preserving)
    return da.assign_coords(y=ref.y, x=ref.x)


def _extent(grid: xr.DataArray) -> tuple[float, float, float, float]:
    left, bottom, right, top = grid.rio.bounds()
    return (float(left), float(right), float(bottom), float(top))


# --------------------------------------------------------------------------- area


@dataclass
class _Admin:
    units: Any  # GeoDataFrame: unit_id, unit_name, geometry
    source: Path


def _admin_layer(sdg: _Run | None, so3: _Run | None, warning: _Run | None) -> _Admin | None:
    """The admin units of the runs (the SDG run's when there is one)."""
    candidates: list[tuple[Path, str | None, str, str]] = []
    if sdg is not None and sdg.input_path("admin") is not None:
        prm = sdg.params
        candidates.append(
            (
                sdg.input_path("admin"),  # type: ignore[arg-type]
                prm.get("admin_layer"),
                prm.get("admin_id_field") or "admin_id",
                prm.get("admin_name_field") or "name",
            )
        )
    for run in (so3, warning):
        if run is not None and run.input_path("admin") is not None:
            candidates.append((run.input_path("admin"), None, "admin_id", "name"))  # type: ignore[arg-type]
    for path, layer, id_f, name_f in candidates:
        if not path.is_file():
            continue
        gdf = vec_io.read_vector(path, name="admin", layer=layer)
        if id_f not in gdf.columns:
            raise InputError(
                f"admin: {path.name} has no field {id_f!r} (fields: "
                f"{[c for c in gdf.columns if c != 'geometry']}); the runs name it as their "
                "admin layer."
            )
        names = gdf[name_f].astype(str) if name_f in gdf.columns else gdf[id_f].astype(str)
        units = gdf.assign(unit_id=gdf[id_f].astype(str), unit_name=names)[
            ["unit_id", "unit_name", "geometry"]
        ]
        return _Admin(units.reset_index(drop=True), path)
    return None


@dataclass
class _Area:
    kind: str  # "admin", "polygon" or "territory"
    label: str
    admin: _Admin | None
    admin_id: str | None = None
    position: int | None = None  # 1-based position of the unit in the admin layer
    polygon: Any = None  # GeoDataFrame of one (multi)polygon
    source: Path | None = None
    touched: set[str] = field(default_factory=set)  # grids where touched cells stood in
    partly_outside: bool = False

    @property
    def zone_name(self) -> str | None:
        """``"<id> <name>"``: how the LDN and SO3 tables name the unit."""
        if self.kind != "admin" or self.admin is None or self.position is None:
            return None
        return f"{self.admin_id} {self.admin.units['unit_name'].iloc[self.position - 1]}"

    def mask(self, grid: xr.DataArray, *, touch_if_empty: bool = False) -> np.ndarray:
        """True on the pixels of ``grid`` in the area (pixel centre inside, as the runs
        count them; with ``touch_if_empty``, every touched pixel when no centre is)."""
        shape = (grid.sizes["y"], grid.sizes["x"])
        if self.kind == "territory":
            if self.admin is None:
                return np.ones(shape, dtype=bool)
            m = vec_io.rasterize_ids(self.admin.units, grid) > 0
        elif self.kind == "admin":
            assert self.admin is not None
            m = vec_io.rasterize_ids(self.admin.units, grid) == self.position
        else:
            m = vec_io.rasterize_ids(self.polygon, grid) > 0
        if not m.any() and touch_if_empty and self.kind != "territory":
            from rasterio.features import rasterize

            g = (
                self.polygon
                if self.kind == "polygon"
                else self.admin.units.iloc[[self.position - 1]]  # type: ignore[union-attr,operator]
            ).to_crs(grid.rio.crs)
            m = (
                rasterize(
                    ((geom, 1) for geom in g.geometry),
                    out_shape=shape,
                    transform=grid.rio.transform(),
                    fill=0,
                    all_touched=True,
                    dtype="uint8",
                )
                > 0
            )
            res = abs(grid.rio.resolution()[0])
            geographic = grid.rio.crs is not None and grid.rio.crs.is_geographic
            self.touched.add(f"{res:g} {'degree' if geographic else 'm'} cells")
        return m

    def outlines(self, crs: Any) -> list[tuple[Any, str, float]]:
        out: list[tuple[Any, str, float]] = []
        if self.admin is not None:
            units = self.admin.units.to_crs(crs)
            out.append((units, "#777777" if self.kind != "territory" else "#333333", 0.6))
            if self.kind == "admin":
                assert self.position is not None
                out.append((units.iloc[[self.position - 1]], "black", 1.4))
        if self.polygon is not None:
            out.append((self.polygon.to_crs(crs), "black", 1.4))
        return out


def _resolve_area(
    admin: _Admin | None,
    admin_id: str | None,
    area: str | Path | None,
    grid: xr.DataArray,
) -> _Area:
    if admin_id is not None and area is not None:
        raise InputError(
            "give either --admin (an admin unit id) or --area (a polygon file), not both."
        )
    if admin_id is not None:
        if admin is None:
            raise InputError(
                f"--admin {admin_id!r}: the runs have no admin layer (none of their manifests "
                "names one). Pass a polygon with --area, or leave both out for the whole territory."
            )
        ids = admin.units["unit_id"].tolist()
        if str(admin_id) not in ids:
            shown = ", ".join(ids[:20]) + (" ..." if len(ids) > 20 else "")
            raise InputError(
                f"--admin {admin_id!r} is not an admin unit of {admin.source.name}; its units "
                f"are {shown}."
            )
        pos = ids.index(str(admin_id)) + 1
        name = admin.units["unit_name"].iloc[pos - 1]
        a = _Area("admin", f"{name} ({admin_id})", admin, str(admin_id), pos)
        if not a.mask(grid).any():
            raise InputError(
                f"--admin {admin_id!r}: the unit covers no pixel centre of the run's maps; "
                "choose a larger unit or draw a polygon with --area."
            )
        return a
    if area is not None:
        return _polygon_area(Path(area), admin, grid)
    n = 0 if admin is None else len(admin.units)
    label = f"the whole territory ({n} admin units)" if n else "the whole territory"
    return _Area("territory", label, admin)


def _polygon_area(path: Path, admin: _Admin | None, grid: xr.DataArray) -> _Area:
    import geopandas as gpd
    from shapely.geometry import box

    if not path.is_file():
        raise InputError(
            f"--area: {str(path)!r} does not exist; pass a polygon file (GeoJSON or GeoPackage)."
        )
    gdf = vec_io.read_vector(path, name="area")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    kinds = set(gdf.geometry.geom_type)
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            f"--area: {path.name} holds {sorted(kinds) or 'no geometry'}; expected polygons."
        )
    geom = gdf.geometry.make_valid().union_all()
    poly = gpd.GeoDataFrame({"name": [path.stem]}, geometry=[geom], crs=gdf.crs)
    on_grid = poly.to_crs(grid.rio.crs)
    w, s, e, n = grid.rio.bounds()
    if not on_grid.geometry.iloc[0].intersects(box(w, s, e, n)):
        ll = gpd.GeoDataFrame(geometry=[box(w, s, e, n)], crs=grid.rio.crs).to_crs(4326)
        gw, gs, ge, gn = ll.total_bounds
        pw, ps, pe, pn = poly.to_crs(4326).total_bounds
        raise InputError(
            f"--area: {path.name} (longitude {pw:.3f}..{pe:.3f}, latitude {ps:.3f}..{pn:.3f}) "
            f"lies outside the run's maps (longitude {gw:.3f}..{ge:.3f}, latitude "
            f"{gs:.3f}..{gn:.3f}). Draw the polygon over the assessed territory (and check its CRS)."
        )
    a = _Area("polygon", f"the polygon {path.stem}", admin, polygon=poly, source=path)
    a.partly_outside = not on_grid.geometry.iloc[0].within(box(w, s, e, n))
    if not a.mask(grid, touch_if_empty=True).any():  # pragma: no cover - intersects above
        raise InputError(f"--area: {path.name} covers no pixel of the run's maps.")
    return a


def _crop(mask: np.ndarray, margin: int = 2) -> tuple[slice, slice]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1 = max(0, rows[0] - margin), min(mask.shape[0], rows[-1] + 1 + margin)
    c0, c1 = max(0, cols[0] - margin), min(mask.shape[1], cols[-1] + 1 + margin)
    return slice(r0, r1), slice(c0, c1)


def _panel(
    arr: np.ndarray,
    grid: xr.DataArray,
    mask: np.ndarray,
    classes: Mapping[int, tuple[str, str]],
    title: str,
    *,
    outline: np.ndarray | None = None,
    outline_label: str = "",
    labels: list[tuple[float, float, str]] | None = None,
) -> tuple[rep.MapPanel, tuple[float, float, float, float]]:
    """A map panel cropped to the area, and the area's bounds (west, south, east, north)."""
    rs, cs = _crop(mask)
    t = grid.rio.transform()
    left, top = t.c + cs.start * t.a, t.f + rs.start * t.e
    right, bottom = t.c + cs.stop * t.a, t.f + rs.stop * t.e
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    focus = (
        float(t.c + cols[0] * t.a),
        float(t.f + (rows[-1] + 1) * t.e),
        float(t.c + (cols[-1] + 1) * t.a),
        float(t.f + rows[0] * t.e),
    )
    panel = rep.MapPanel(
        values=np.asarray(arr)[rs, cs],
        extent=(float(left), float(right), float(bottom), float(top)),
        classes=classes,
        title=title,
        inside=mask[rs, cs],
        outline=None if outline is None else np.asarray(outline)[rs, cs],
        outline_label=outline_label,
        labels=labels or [],
    )
    return panel, focus


# --------------------------------------------------------------------------- content


@dataclass
class _Brief:
    """What the sections have gathered."""

    numbers: rep.KeyNumbers = field(default_factory=rep.KeyNumbers)
    context: dict[str, Any] = field(default_factory=dict)
    lead: list[str] = field(default_factory=list)
    maps: list[dict[str, str]] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)
    practices: list[dict[str, Any]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)

    def facts(self) -> dict[str, Any]:
        return {**self.numbers.as_dict(), **self.context}

    def add_map(self, png: bytes, alt: str, caption: str) -> None:
        self.maps.append({"src": rep.data_uri(png), "alt": alt, "caption": caption})


def _years(period: Mapping[str, Any], key: str = "productivity") -> str:
    y = period.get(key) or []
    return f"{y[0]}-{y[1]}" if len(y) == 2 else ""


def _zone_rows(df: pd.DataFrame, column: str, area: _Area, *, all_value: str) -> pd.DataFrame:
    """Rows of a run table for the area: ``all_value`` for the territory, the unit id
    (or ``"<id> <name>"``) for an admin unit."""
    col = df[column].astype(str)
    if area.kind == "territory":
        return df[col == all_value]
    assert area.admin_id is not None
    return df[
        (col == area.admin_id)
        | (col == str(area.zone_name))
        | col.str.startswith(area.admin_id + " ")
    ]


@dataclass
class _ClassAreas:
    land_km2: float
    km2: dict[int, float]
    pct: dict[int, float]


def _sdg_class_areas(
    sdg: _Run, area: _Area, period: str, indicator: str, ref: xr.DataArray, mask: np.ndarray
) -> _ClassAreas:
    """Area (km²) and share of land (%) of each class of a period's layer in the area:
    from ``areas_by_class.csv`` for an admin unit or the territory, else from the map."""
    if area.kind != "polygon":
        t = sdg.table("areas_by_class", dtype={"admin_id": str})
        rows = _zone_rows(t, "admin_id", area, all_value="ALL")
        rows = rows[(rows["period"] == period) & (rows["indicator"] == indicator)]
        if not rows.empty:
            sdg_rows = _zone_rows(t, "admin_id", area, all_value="ALL")
            sdg_rows = sdg_rows[(sdg_rows["period"] == period) & (sdg_rows["indicator"] == "sdg")]
            return _ClassAreas(
                float(sdg_rows["area_km2"].sum()),
                {int(r.class_code): float(r.area_km2) for r in rows.itertuples()},
                {int(r.class_code): float(r.percent_of_land) for r in rows.itertuples()},
            )
    # the run's rule: land = pixels of the area that are not water in either land cover year
    y0, y1 = (int(v) for v in sdg.summary["periods"][period]["land_cover"])
    lc0 = np.asarray(_read_map(sdg.file("maps", "land_cover", f"land_cover_{y0}.tif"), "lc").values)
    lc1 = np.asarray(_read_map(sdg.file("maps", "land_cover", f"land_cover_{y1}.tif"), "lc").values)
    land = mask & (lc0 != LC_WATER) & (lc1 != LC_WATER)
    cell = _cell_area(ref)
    land_km2 = float(cell[land].sum())
    arr = np.asarray(_read_map(sdg.file("maps", period, f"{indicator}.tif"), indicator).values)
    codes = [int(c) for c in np.unique(arr[land])]
    km2 = {c: float(cell[land & (arr == c)].sum()) for c in codes}
    pct = {c: 100.0 * v / land_km2 if land_km2 else math.nan for c, v in km2.items()}
    return _ClassAreas(land_km2, km2, pct)


def _land_degradation(
    b: _Brief, sdg: _Run, area: _Area, *, full: bool, so3: _Run | None, warning: _Run | None
) -> None:
    periods = dict(sdg.summary["periods"])
    baseline = str(sdg.summary.get("baseline") or next(iter(periods)))
    latest = list(periods)[-1]
    ref = _read_map(sdg.file("maps", latest, "sdg.tif"), "sdg")
    mask = area.mask(ref)
    cell = _cell_area(ref)
    sec = "SDG 15.3.1"
    b.context.update(
        baseline_period=baseline,
        baseline_years=_years(periods[baseline]),
        latest_period=latest,
        latest_years=_years(periods[latest]),
    )
    n = b.numbers
    # the headline: sdg_summary.csv for a unit or the territory, the maps for a polygon
    head: dict[str, dict[str, float]] = {}
    if area.kind != "polygon":
        t = sdg.table("sdg_summary", dtype={"admin_id": str})
        rows = _zone_rows(t, "admin_id", area, all_value="ALL")
        for r in rows.to_dict("records"):
            head[str(r["period"])] = {k: float(v) for k, v in r.items() if _is_number(v)}
    for p in {baseline, latest}:
        if p in head:
            continue
        ca = _sdg_class_areas(sdg, area, p, "sdg", ref, mask)
        deg = ca.km2.get(-1, 0.0)
        head[p] = {
            "land_area_km2": ca.land_km2,
            "degraded_km2": deg,
            "sdg_15_3_1_percent": 100 * deg / ca.land_km2 if ca.land_km2 else math.nan,
        }
        if p != baseline:
            st = _sdg_class_areas(sdg, area, p, "status3", ref, mask)
            s_deg = st.km2.get(-1, 0.0)
            head[p]["status_degraded_km2"] = s_deg
    base_h, last_h = head[baseline], head[latest]
    if "change_vs_baseline_km2" not in last_h and "status_degraded_km2" in last_h:
        last_h["change_vs_baseline_km2"] = last_h["status_degraded_km2"] - base_h["degraded_km2"]
    land = last_h["land_area_km2"]
    n.km2("land_area_km2", "Land area (water excluded)", land, sec)
    n.pct_km2(
        "degraded_baseline",
        f"Degraded land, baseline ({_years(periods[baseline])})",
        base_h["sdg_15_3_1_percent"],
        base_h["degraded_km2"],
        sec,
    )
    if latest != baseline:
        n.pct_km2(
            "degraded_latest",
            f"Degraded land, {latest} ({_years(periods[latest])})",
            last_h["sdg_15_3_1_percent"],
            last_h["degraded_km2"],
            sec,
        )
        n.change(
            "degraded_change_pp",
            "Change of the degraded share since the baseline",
            round(last_h["sdg_15_3_1_percent"], 1) - round(base_h["sdg_15_3_1_percent"], 1),
            "percentage points",
            sec,
        )
        if full and "status_degraded_km2" in last_h and land:
            n.pct_km2(
                "status_degraded_latest",
                f"Degraded by status against the baseline, {latest}",
                100 * last_h["status_degraded_km2"] / land,
                last_h["status_degraded_km2"],
                sec,
            )
            n.change(
                "status_change_vs_baseline_km2",
                "Degraded by status minus degraded in the baseline",
                last_h.get("change_vs_baseline_km2"),
                "km²",
                sec,
            )
    _sdg_caveats(b, sdg, area, latest, so3, warning)
    prm = sdg.params.get("productivity") or {}
    soc_opts = sdg.params.get("soc_options") or {}
    b.methods.append(
        "SDG 15.3.1 follows the UNCCD Good Practice Guidance: land productivity (trajectory, "
        f"state by the {prm.get('state_method', 'percentile')} method, performance), land cover "
        "change (UNCCD transition matrix) and soil organic carbon change "
        f"(threshold {soc_opts.get('threshold', 10)} %) are combined one out, all out; the "
        "status of each reporting period is set against the baseline (7 classes, collapsed "
        f"to 3). Pixel areas: {sdg.summary.get('pixel_area', 'from the grid')}. Water (land "
        "cover class 7 at the start or end of a period) is left out of the land area."
    )
    if not full:
        return
    sdg_areas = _sdg_class_areas(sdg, area, latest, "sdg", ref, mask)
    n.pct("improved_latest_pct", f"Improved land, {latest}", sdg_areas.pct.get(1), sec)
    lpd_latest = _sdg_class_areas(sdg, area, latest, "lpd5", ref, mask)
    lpd_base = _sdg_class_areas(sdg, area, baseline, "lpd5", ref, mask)
    lsec = f"Land productivity dynamics, {latest}"
    for code, cname in LPD_CLASSES.items():
        key = "lpd_" + cname.lower().replace(" ", "_")
        n.pct_km2(key, cname, lpd_latest.pct.get(code, 0.0), lpd_latest.km2.get(code, 0.0), lsec)
    # SOC: mean stock of the land cover years of the latest period, from the maps
    y0, y1 = (int(v) for v in periods[latest]["land_cover"])
    ssec = "Soil organic carbon"
    soc_p0 = sdg.path / "maps" / "soc" / f"soc_{y0}.tif"
    soc_p1 = sdg.path / "maps" / "soc" / f"soc_{y1}.tif"
    if soc_p0.is_file() and soc_p1.is_file():
        soc0 = np.asarray(_read_map(soc_p0, "soc").values, float)
        soc1 = np.asarray(_read_map(soc_p1, "soc").values, float)
        ok = mask & np.isfinite(soc0) & np.isfinite(soc1) & (soc0 >= 0) & (soc1 >= 0)
        if ok.any():
            w = cell[ok]
            m0 = float((soc0[ok] * w).sum() / w.sum())
            m1 = float((soc1[ok] * w).sum() / w.sum())
            b.context.update(soc_initial_year=str(y0), soc_final_year=str(y1))
            n.number("soc_initial_t_ha", f"Mean SOC stock {y0}", m0, 1, "t C/ha", ssec)
            n.number("soc_final_t_ha", f"Mean SOC stock {y1}", m1, 1, "t C/ha", ssec)
            if m0 > 0:
                n.change("soc_change_pct", f"SOC change {y0}-{y1}", 100 * (m1 - m0) / m0, "%", ssec)
    soc_deg = _sdg_class_areas(sdg, area, latest, "soc_degradation", ref, mask)
    n.km2(
        "soc_degraded_km2", f"Land with SOC degradation, {latest}", soc_deg.km2.get(-1, 0.0), ssec
    )
    # people on degraded land: the population input of the run, on its grid
    pop_path = sdg.input_path("population")
    if pop_path is not None and pop_path.is_file():
        pop = _on_grid(ref, pop_path, "population", categorical=False, sum_preserving=True)
        pv = np.asarray(pop.values, dtype=float)
        pv = np.where(np.isfinite(pv) & (pv > 0), pv, 0.0)
        sdg_arr = np.asarray(ref.values)
        total = float(pv[mask].sum())
        degraded = float(pv[mask & (sdg_arr == -1)].sum())
        psec = "People"
        n.count("population_total", "People in the area", total, psec)
        n.count("population_degraded_latest", f"People on degraded land, {latest}", degraded, psec)
        if total > 0:
            n.pct(
                "population_degraded_latest_pct",
                "Share of people on degraded land",
                100 * degraded / total,
                psec,
            )
    elif pop_path is not None:
        b.caveats.append(
            f"The population input of the SDG run ({pop_path}) is no longer there: people on "
            "degraded land are not given."
        )

    # maps and charts
    cls = rep.colour_table("class3")
    panels = []
    focus = None
    for p in [baseline, latest] if latest != baseline else [baseline]:
        arr = np.asarray(_read_map(sdg.file("maps", p, "sdg.tif"), "sdg").values)
        panel, focus = _panel(arr, ref, mask, cls, f"SDG 15.3.1, {p} ({_years(periods[p])})")
        panels.append(panel)
    png = rep.area_map_png(
        panels, crs=ref.rio.crs, focus=focus, outlines=area.outlines(ref.rio.crs)
    )
    b.add_map(
        png,
        f"Map of SDG 15.3.1 in {area.label}: degraded, stable and improved land",
        f"SDG 15.3.1 (one out, all out) of {area.label}: degraded, stable and improved land in "
        f"the baseline and in {latest}. Pixels outside the area are left blank.",
    )
    lpd_colours = rep.colour_table("lpd5")
    lpd_df = pd.DataFrame(
        {
            baseline: [lpd_base.km2.get(c, 0.0) for c in LPD_CLASSES],
            latest: [lpd_latest.km2.get(c, 0.0) for c in LPD_CLASSES],
        }
    )
    chart = rep.lpd_chart_png(
        lpd_df,
        labels=list(LPD_CLASSES.values()),
        colours=[lpd_colours[c][0] for c in LPD_CLASSES],
    )
    b.sections.append(
        {
            "title": "Land degradation: what the numbers say",
            "paragraphs": rep.land_degradation_text({**b.facts(), "area": area.label}),
            "table": None,
            "charts": [
                {
                    "src": rep.data_uri(chart),
                    "alt": "Bar chart of the land productivity dynamics areas",
                    "caption": f"Land productivity dynamics of {area.label} (km²), baseline and "
                    f"{latest}.",
                }
            ],
        }
    )


def _num(v: Any) -> float | None:
    """``v`` as a float when it is a finite number, else None."""
    if _is_number(v) and math.isfinite(float(v)):
        return float(v)
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _sdg_caveats(
    b: _Brief, sdg: _Run, area: _Area, latest: str, so3: _Run | None, warning: _Run | None
) -> None:
    if sdg.has_table("corrections"):
        corr = sdg.table("corrections")
        b.caveats.append(
            f"{len(corr)} false-positive/negative correction polygon(s) were applied by the SDG "
            "run (tables/corrections.csv); elsewhere the map has not been checked on the ground."
        )
    else:
        b.caveats.append(
            "No false-positive/negative corrections were applied in the SDG run: degraded pixels "
            "have not been checked on the ground (correct known errors with correction polygons)."
        )
    fails = sdg.summary.get("area_check_failures") or []
    if fails:
        b.caveats.append(
            f"{len(fails)} area reconciliation check(s) of the SDG run failed "
            "(tables/area_checks.csv): its tables do not add up everywhere."
        )
    prm = sdg.params.get("productivity") or {}
    period = sdg.summary["periods"][latest]
    y0, y1 = (int(v) for v in period["productivity"])
    recent = period.get("state_recent") or [y1 - 2, y1]
    years = list(range(int(recent[0]), int(recent[-1]) + 1))
    if prm.get("state_method", "percentile") == "percentile":
        b.caveats.append(
            "The productivity state (percentile method) is not corrected for climate: a drought "
            f"in the last years of {latest} ({years[0]}-{years[-1]}) reads as decline."
        )
    dry = _drought_years(so3, warning, area, years)
    if dry:
        b.caveats.append(
            "Drought in the state window of "
            f"{latest}: {dry}. Part of the productivity decline flagged there may be drought, "
            "not degradation (a known false alarm); check on the ground or use the z-score state."
        )


def _drought_years(
    so3: _Run | None, warning: _Run | None, area: _Area, years: list[int]
) -> str | None:
    """A phrase naming the years in ``years`` with much of the area in drought, if any."""
    if so3 is not None and so3.has_table("so3_1_drought_totals") and area.kind != "polygon":
        t = so3.table("so3_1_drought_totals", dtype={"zone": str})
        rows = _zone_rows(t, "zone", area, all_value="ALL")
        rows = rows[rows["year"].isin(years) & (rows["drought_percent"] >= 30)]
        if not rows.empty:
            return ", ".join(
                f"{int(r.year)} ({float(r.drought_percent):.0f} % of the land in drought by "
                "December SPI-12)"
                for r in rows.itertuples()
            )
    if warning is not None and warning.has_table("unit_months") and area.kind != "polygon":
        t = warning.table("unit_months", dtype={"unit_id": str})
        if area.kind == "admin":
            t = t[t["unit_id"] == area.admin_id]
        t = t[t["month"].str[:4].astype(int).isin(years)]
        if not t.empty:
            share = t.groupby(t["month"].str[:4])["level_rank"].apply(
                lambda s: float((s > 0).mean())
            )
            dry = share[share >= 0.25]
            if not dry.empty:
                return ", ".join(
                    f"{y} (drought alert levels in {100 * v:.0f} % of the unit-months)"
                    for y, v in dry.items()
                )
    return None


# --------------------------------------------------------------------------- drought


def _alert_rules(warning: _Run) -> Any:
    from landwatch.warning.thresholds import load_alert_rules

    src = (warning.manifest.get("inputs") or {}).get("rules")
    p = Path(str(src)) if src and not str(src).startswith("landwatch/data/") else None
    return load_alert_rules(p if p is not None and p.is_file() else None)


def _area_mean(cube: xr.DataArray, area: _Area) -> pd.Series:
    """Area-weighted mean over the cells of the area (touched cells when the area is
    smaller than a cell), per time step."""
    grid = cube.isel(time=0, drop=True)
    m = area.mask(grid, touch_if_empty=True)
    w = np.where(m, _cell_area(grid), 0.0)
    v = np.asarray(cube.values, dtype=float)
    ok = np.isfinite(v) & (w[None] > 0)
    num = np.where(ok, v * w[None], 0.0).sum(axis=(1, 2))
    den = np.where(ok, w[None], 0.0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / den, np.nan)
    return pd.Series(mean, index=pd.DatetimeIndex(cube["time"].values))


def _drought(
    b: _Brief,
    so3: _Run | None,
    warning: _Run | None,
    area: _Area,
    database_url: str | None,
    progress: Progress,
) -> None:
    sec = "Drought"
    n = b.numbers
    charts: list[dict[str, str]] = []
    panels: list[rep.MapPanel] = []
    focus = None
    map_crs = None
    outlines: list[tuple[Any, str, float]] = []
    spi: dict[str, pd.Series] = {}
    if warning is not None:
        rules = _alert_rules(warning)
        months = warning.table("unit_months", dtype={"unit_id": str})
        month = str(warning.manifest.get("bulletin_month") or months["month"].max())
        b.context["drought_month"] = month
        cdi_path = warning.input_path("cdi")
        cube = None
        if cdi_path is not None and cdi_path.exists():
            variable = "cdi" if cdi_path.suffix.lower() in (".nc", ".zarr") else None
            try:
                cube = rio_io.open_raster(cdi_path, name="cdi", variable=variable)
            except InputError:
                cube = rio_io.open_raster(cdi_path, name="cdi")
        if area.kind == "polygon":
            if cube is None:
                raise InputError(
                    f"--warning-run: its CDI input ({cdi_path}) is not there; a polygon's alert "
                    "level is computed from it. Pass an admin unit instead, or restore the file."
                )
            series = _polygon_alerts(warning, cube, area, rules)
            row = series[series["month"] == month]
            r = row.iloc[0].to_dict() if not row.empty else {}
            _alert_numbers(b, r, rules, sec)
            timeline = pd.DataFrame([series.set_index("month")["level_rank"].rename(area.label)])
        else:
            rows = (
                months if area.kind == "territory" else months[months["unit_id"] == area.admin_id]
            )
            now = rows[rows["month"] == month]
            if area.kind == "admin":
                r = now.iloc[0].to_dict() if not now.empty else {}
                _alert_numbers(b, r, rules, sec)
                since = _alert_since(warning, area.admin_id, database_url)
                if since:
                    b.context["alert_since"] = since
                    n.text("alert_since", "Alert open since", since, sec)
            else:
                top = now.sort_values("level_rank", ascending=False)
                lvl = str(top["level"].iloc[0]) if not top.empty else "none"
                n.text("alert_level", "Highest alert level", lvl, sec)
                lv = rules.level(lvl)
                if lv is not None:
                    b.context["alert_severity"] = lv.severity
                n.count(
                    "units_under_alert",
                    "Admin units under an alert level",
                    float((now["level"] != "none").sum()),
                    sec,
                )
                n.count(
                    "units_assessed",
                    "Admin units assessed",
                    float((now["status"] == "assessed").sum()),
                    sec,
                )
                n.count(
                    "drought_months",
                    "Longest run of drought months",
                    float(now["consecutive_months"].max()) if not now.empty else None,
                    sec,
                )
                pop = float(now["population_exposed"].sum())
                tot = float(now["population"].sum())
                n.count("population_exposed", "People exposed (CDI Warning or Alert)", pop, sec)
                if tot > 0:
                    n.pct("population_exposed_pct", "Share of people exposed", 100 * pop / tot, sec)
                land = now["land_area_km2"].astype(float)
                if land.sum() > 0:
                    n.pct("land_warning_pct", "Land at Warning or Alert",
                          100 * float((now["land_warning_share"] * land).sum() / land.sum()), sec)  # fmt: skip
                    n.pct("land_alert_pct", "Land at Alert",
                          100 * float((now["land_alert_share"] * land).sum() / land.sum()), sec)  # fmt: skip
            timeline = rows.pivot_table(
                index="unit_name", columns="month", values="level_rank", aggfunc="max"
            )
        colours = {0: "#f0f0f0", **{lv.rank: lv.color for lv in rules.levels}}
        names = {0: "none", **{lv.rank: lv.name for lv in rules.levels}}
        if not timeline.empty and timeline.to_numpy().size:
            charts.append(
                {
                    "src": rep.data_uri(
                        rep.alert_timeline_png(timeline.fillna(0), colours=colours, names=names)
                    ),
                    "alt": "Timeline of the drought alert levels",
                    "caption": f"Drought alert level per month, last 10 years to {month} "
                    f"(rules: {rules.source}).",
                }
            )
        if cube is not None:
            t_index = pd.DatetimeIndex(cube["time"].values).strftime("%Y-%m")
            i = int(np.flatnonzero(t_index == month)[0]) if month in set(t_index) else -1
            cdi_now = cube.isel(time=i, drop=True).load()
            m = area.mask(cdi_now, touch_if_empty=True)
            vals = np.asarray(cdi_now.values, dtype=float)
            vals = np.where(np.isfinite(vals), vals, NODATA).astype(np.int32)
            panel, focus = _panel(
                vals, cdi_now, m, rep.colour_table("cdi"), f"Combined Drought Indicator, {month}"
            )
            panels.append(panel)
            map_crs = cdi_now.rio.crs
            outlines = area.outlines(map_crs)
            cdi_names = {c: lbl for c, (_, lbl) in rep.colour_table("cdi").items()}
            cell = _cell_area(cdi_now)
            by_class = {c: float(cell[m & (vals == c)].sum()) for c in cdi_names}
            if sum(by_class.values()) > 0:
                top_class = max(by_class, key=lambda c: by_class[c])
                n.text(
                    "cdi_class",
                    f"CDI class over most of the area, {month}",
                    cdi_names[top_class],
                    sec,
                )
            if cdi_path is not None and cdi_path.suffix.lower() in (".nc", ".zarr"):
                try:
                    s3 = rio_io.open_raster(cdi_path, name="spi_3", variable="spi_3")
                    spi["SPI-3"] = _area_mean(s3, area)
                except LandwatchError:
                    pass
            _forecast_caveats(b, warning, cdi_path)
        else:
            b.caveats.append(
                f"The CDI input of the warning run ({cdi_path}) is no longer there: no CDI map "
                "or SPI-3 from it."
            )
        if warning.params.get("is_forecast"):
            b.caveats.append(
                "The alerts of the warning run are forecasts (CAP certainty "
                f"{warning.params.get('certainty') or 'Likely'}), not observations."
            )
        missing = warning.manifest.get("units_without_pixels") or []
        if missing:
            b.caveats.append(
                f"Admin units without a pixel of the CDI grid (no alert level): {', '.join(missing)}."
            )
        b.methods.append(
            "Drought alert levels come from the monthly Combined Drought Indicator (SPI, soil "
            "moisture and vegetation anomalies) of each unit's cropland and grazing land, against "
            f"the alert rules ({rules.source}); people exposed live in pixels at Warning or "
            "Alert. For a polygon the same rules are applied to the pixels inside it."
        )
    progress.step("alert levels" if warning is not None else "no warning run")
    if so3 is not None:
        _so3(b, so3, area, spi, sec)
        if not panels:
            cube_hz = rio_io.open_raster(
                so3.file("hazard_classes.nc"), name="hazard", variable="drought_hazard_class"
            )
            year = int(cube_hz["time"].values[-1])
            grid = cube_hz.isel(time=-1, drop=True).load()
            arr = np.asarray(grid.values)
            m = area.mask(grid, touch_if_empty=True)
            panel, focus = _panel(
                arr,
                grid,
                m,
                rep.colour_table("drought_hazard"),
                f"Drought hazard class, December SPI-12, {year}",
            )
            panels.append(panel)
            map_crs = grid.rio.crs
            outlines = area.outlines(map_crs)
    if spi:
        charts.insert(
            0,
            {
                "src": rep.data_uri(rep.spi_chart_png(spi)),
                "alt": "Time series of the Standardized Precipitation Index of the area",
                "caption": "Monthly SPI of the area (area-weighted mean of the cells in it), last "
                "10 years; below -1 is drought.",
            },
        )
        last = {k: s.dropna() for k, s in spi.items()}
        for k, s in last.items():
            if len(s):
                scale = k.split("-")[1]
                n.number(
                    f"spi{scale}_latest", f"{k}, {s.index[-1]:%Y-%m}", float(s.iloc[-1]), 2, "", sec
                )
                b.context["spi_month"] = f"{s.index[-1]:%Y-%m}"
    if panels:
        png = rep.area_map_png(panels, crs=map_crs, focus=focus, outlines=outlines)
        b.add_map(
            png,
            f"Map of the drought situation in {area.label}",
            f"Drought in {area.label}: "
            + "; ".join(p.title for p in panels)
            + ". Pixels outside the area are left blank.",
        )
    progress.step("SO3 hazard, SPI, map and charts")
    table = None
    if database_url:
        open_alerts = _open_alerts(database_url, area)
        if open_alerts:
            table = {
                "caption": "Alerts open in the database (observed and forecast streams):",
                "header": ["unit", "stream", "level", "peak", "since", "last month", "certainty"],
                "rows": open_alerts,
            }
    b.sections.append(
        {
            "title": "Drought: what the numbers say",
            "paragraphs": rep.drought_text({**b.facts(), "area": area.label}),
            "table": table,
            "charts": charts,
        }
    )


def _open_alerts(database_url: str, area: _Area) -> list[list[str]]:
    """Open alerts of the database (observed and forecast) of the units in the area."""
    from landwatch.store import init_db, session_scope
    from landwatch.warning.alerts import active_alerts, month_label

    units: set[str] | None = None
    if area.kind == "admin":
        units = {str(area.admin_id)}
    elif area.kind == "polygon" and area.admin is not None:
        poly = area.polygon.to_crs(area.admin.units.crs).geometry.iloc[0]
        units = set(area.admin.units[area.admin.units.intersects(poly)]["unit_id"])
    engine = init_db(database_url)
    try:
        with session_scope(engine) as s:
            return [
                [
                    f"{a.unit_name} ({a.unit_id})",
                    "forecast" if a.is_forecast else "observed",
                    a.level,
                    a.peak_level,
                    month_label(a.start_month),
                    month_label(a.last_month),
                    a.certainty,
                ]
                for a in active_alerts(s)
                if units is None or a.unit_id in units
            ]
    finally:
        engine.dispose()


def _alert_numbers(b: _Brief, r: Mapping[str, Any], rules: Any, sec: str) -> None:
    n = b.numbers
    if not r:
        n.text("alert_level", "Alert level", "no data", sec)
        return
    level = str(r.get("level", "none"))
    n.text("alert_level", "Alert level", level, sec)
    lv = rules.level(level)
    if lv is not None:
        b.context["alert_severity"] = lv.severity
        b.context["alert_instruction"] = lv.instruction
    n.count("drought_months", "Drought months in a row", r.get("consecutive_months"), sec)
    n.count(
        "population_exposed",
        "People exposed (CDI Warning or Alert)",
        r.get("population_exposed"),
        sec,
    )
    share = _num(r.get("population_exposed_share"))
    if share is not None:
        n.pct("population_exposed_pct", "Share of people exposed", 100 * share, sec)
    for key, label, col in (
        ("land_warning_pct", "Land at Warning or Alert", "land_warning_share"),
        ("land_alert_pct", "Land at Alert", "land_alert_share"),
    ):
        v = _num(r.get(col))
        if v is not None:
            n.pct(key, label, 100 * v, sec)


def _alert_since(warning: _Run, unit_id: str | None, database_url: str | None) -> str | None:
    """Start month of the unit's open observed alert: from the database when given, else
    from the run's ``alerts.csv``."""
    if database_url:
        from landwatch.store import init_db, session_scope
        from landwatch.warning.alerts import active_alerts, month_label

        engine = init_db(database_url)
        try:
            with session_scope(engine) as s:
                for a in active_alerts(s, is_forecast=False):
                    if a.unit_id == unit_id:
                        return month_label(a.start_month)
        finally:
            engine.dispose()
        return None
    if warning.has_table("alerts"):
        t = warning.table("alerts", dtype={"unit_id": str})
        t = t[(t["unit_id"] == unit_id) & (t["status"] == "active")]
        if not t.empty:
            return str(t["start_month"].iloc[-1])
    return None


def _polygon_alerts(warning: _Run, cube: xr.DataArray, area: _Area, rules: Any) -> pd.DataFrame:
    """The alert level the rules give the polygon, month by month."""
    from landwatch.warning.thresholds import assess_units, unit_drought_statistics

    ref = cube.isel(time=0, drop=True)
    lc_p, pop_p = warning.input_path("land_cover"), warning.input_path("population")
    if lc_p is None or pop_p is None or not lc_p.is_file() or not pop_p.is_file():
        raise InputError(
            "--warning-run: its land cover and population inputs are not there; a polygon's "
            "alert level is computed from them. Pass an admin unit instead."
        )
    lc = _on_grid(ref, lc_p, "land_cover", categorical=True)
    pop = _on_grid(ref, pop_p, "population", categorical=False, sum_preserving=True)
    zones = area.mask(ref, touch_if_empty=True).astype(np.int32)
    stats = unit_drought_statistics(
        cube, zones, np.asarray(lc.values), np.nan_to_num(np.asarray(pop.values, float)),
        _cell_area(ref), rules=rules,
    )  # fmt: skip
    return assess_units(stats, rules).sort_values("month").reset_index(drop=True)


def _forecast_caveats(b: _Brief, warning: _Run, cdi_path: Path | None) -> None:
    """The forecast's own caveat and measured skill, when the CDI is a forecast."""
    if cdi_path is None or cdi_path.suffix.lower() != ".nc":
        return
    try:
        with xr.open_dataset(cdi_path) as ds:
            attrs = {**ds.attrs, **(ds["cdi"].attrs if "cdi" in ds else {})}
    except (OSError, ValueError):
        return
    if str(attrs.get("is_forecast", "")).lower() == "true" or warning.params.get("is_forecast"):
        if attrs.get("caveat"):
            b.caveats.append(str(attrs["caveat"]))
        skill = {k[6:].replace("_", " "): v for k, v in attrs.items() if k.startswith("skill_")}
        skill_json = cdi_path.parent / "skill.json"
        if not skill and skill_json.is_file():
            try:
                skill = dict(json.loads(skill_json.read_text()).get("verdicts") or {})
            except ValueError:
                skill = {}
        if skill:
            b.caveats.append(
                "Forecast skill measured by the hindcast: "
                + "; ".join(f"{k}: {v}" for k, v in skill.items())
                + "."
            )


def _so3(b: _Brief, so3: _Run, area: _Area, spi: dict[str, pd.Series], sec: str) -> None:
    n = b.numbers
    prm = so3.params
    base = prm.get("baseline") or [2000, 2015]
    periods = dict(prm.get("periods") or {})
    last_name = list(periods)[-1] if periods else None
    if area.kind != "polygon":
        t1 = so3.table("so3_1_drought_totals", dtype={"zone": str})
        t2 = so3.table("so3_2_drought_totals", dtype={"zone": str})
        r1 = _zone_rows(t1, "zone", area, all_value="ALL")
        r2 = _zone_rows(t2, "zone", area, all_value="ALL")
        r2 = r2[r2["sex"] == "total"] if "sex" in r2 else r2
        year = int(r1["year"].max())
        a = r1[r1["year"] == year].iloc[0]
        p = r2[r2["year"] == year]
        by_year = r1.set_index("year")["drought_percent"].astype(float)
        land_pct, land_km2 = float(a["drought_percent"]), float(a["drought_area_km2"])
        people = float(p["drought_population"].iloc[0]) if not p.empty else None
    else:
        by_year, land_km2, people = _so3_polygon(so3, area)
        year = int(by_year.index.max())
        land_pct = float(by_year.loc[year])
    b.context["so3_year"] = str(year)
    n.pct_km2("drought_land", f"Land in drought, {year} (December SPI-12)", land_pct, land_km2, sec)
    n.count("drought_population", f"People on land in drought, {year}", people, sec)
    base_mean = float(by_year[(by_year.index >= base[0]) & (by_year.index <= base[1])].mean())
    n.pct("drought_baseline_mean_pct", f"Land in drought, mean {base[0]}-{base[1]}", base_mean, sec)
    b.context["drought_baseline_years"] = f"{base[0]}-{base[1]}"
    if last_name:
        y0, y1 = periods[last_name]
        recent = float(by_year[(by_year.index >= y0) & (by_year.index <= y1)].mean())
        n.pct("drought_recent_mean_pct", f"Land in drought, mean {y0}-{y1}", recent, sec)
        b.context["drought_recent_years"] = f"{y0}-{y1}"
    # SPI of the area from the run's climate input
    climate = so3.input_path("climate")
    if climate is not None and climate.exists():
        from landwatch.indices.drought import standardized_precipitation_index

        try:
            pr = rio_io.open_raster(climate, name="precipitation", variable="pr")
        except LandwatchError:
            pr = rio_io.open_raster(climate, name="precipitation")
        if "time" in pr.dims:
            cal = prm.get("calibration")
            calibration = (int(cal[0]), int(cal[1])) if cal else None
            pr = pr.load()
            for scale in (3, 12):
                if scale == 3 and "SPI-3" in spi:
                    continue
                s = standardized_precipitation_index(pr, scale=scale, calibration=calibration)
                spi[f"SPI-{scale}"] = _area_mean(s.compute(), area)
    b.methods.append(
        "Drought hazard (UNCCD SO3-1) is the class of the December 12-month SPI of each year "
        f"({prm.get('scheme', 'prais')} classes, gamma fit calibrated on "
        f"{'-'.join(str(v) for v in prm.get('calibration') or []) or 'the full record'}); land in "
        "drought is land of class mild or worse, people (SO3-2) are those living on it. "
        f"Water: {prm.get('water', 'see the run manifest')}."
    )
    water = str(prm.get("water", ""))
    if water.startswith("none given"):
        b.caveats.append(
            "The SO3 run was given no land cover or water mask: water bodies count as land in "
            "its drought areas."
        )


def _so3_polygon(so3: _Run, area: _Area) -> tuple[pd.Series, float, float | None]:
    """Drought share per year (%), the latest year's area (km²) and people for a polygon."""
    hz = rio_io.open_raster(
        so3.file("hazard_classes.nc"), name="drought hazard", variable="drought_hazard_class"
    ).load()
    years = [int(v) for v in np.asarray(hz["time"].values)] if "time" in hz.dims else []
    ref = hz.isel(time=0, drop=True)
    m = area.mask(ref, touch_if_empty=True)
    water_p = so3.path / "maps" / "water_mask.tif"
    if water_p.is_file():
        w = np.asarray(_on_grid(ref, water_p, "water", categorical=True).values)
        m &= w != 1
    cell = _cell_area(ref)
    land = float(cell[m].sum())
    vals = np.asarray(hz.values)
    share = [
        100 * float(cell[m & (v >= 1) & (v <= 4)].sum()) / land if land else math.nan for v in vals
    ]
    by_year = pd.Series(share, index=years)
    last = vals[-1]
    km2 = float(cell[m & (last >= 1) & (last <= 4)].sum())
    people = None
    pop_p = so3.input_path("population")
    if pop_p is not None and pop_p.is_file():
        pop = np.asarray(
            _on_grid(ref, pop_p, "population", categorical=False, sum_preserving=True).values, float
        )
        pop = np.where(np.isfinite(pop) & (pop > 0), pop, 0.0)
        people = float(pop[m & (last >= 1) & (last <= 4)].sum())
    return by_year, km2, people


# --------------------------------------------------------------------------- LDN


def _ldn(b: _Brief, ldn: _Run, area: _Area, *, full: bool) -> tuple[str, np.ndarray, xr.DataArray]:
    """LDN verdict and hotspots of the area; returns the period, the area mask and the grid."""
    from landwatch.ldn import neutrality_balance, neutrality_summary

    n = b.numbers
    sec = "Land Degradation Neutrality"
    period = list(ldn.summary["periods"])[-1]
    b.context["ldn_period"] = period
    gl_map = _read_map(ldn.file("maps", period, "gains_losses.tif"), "gains_losses")
    mask = area.mask(gl_map)
    cell = _cell_area(gl_map)
    if area.kind == "territory":
        summ = ldn.table(f"neutrality_summary_{period}")
        row = summ[summ["zone_id"] == 0].iloc[0].to_dict()
        bal = ldn.table(f"neutrality_{period}")
    elif area.kind == "admin":
        summ = ldn.table(f"neutrality_summary_{period}", dtype={"zone": str})
        hit = summ[(summ["zone_id"] > 0) & (summ["zone"] == area.zone_name)]
        if hit.empty:
            raise InputError(
                f"--ldn-run: its tables have no admin unit {area.zone_name!r}; was it made from "
                "the SDG run of this admin layer?"
            )
        row = hit.iloc[0].to_dict()
        bal = ldn.table(f"neutrality_by_admin_{period}", dtype={"zone": str})
        bal = bal[bal["zone"] == area.zone_name]
    else:
        lt = _read_map(ldn.file("maps", "land_types.tif"), "land_types")
        legend = ldn.table("land_types")
        names = {int(r.land_type): str(r.label) for r in legend.itertuples()}
        bal = neutrality_balance(
            np.asarray(lt.values),
            np.asarray(gl_map.values),
            cell,
            zones=mask.astype(np.int64),
            zone_names={1: area.label},
            land_type_names=names,
        )
        if bal.empty:
            raise InputError(f"--area: {area.label} holds no land of a land type of the LDN run.")
        row = neutrality_summary(bal).iloc[0].to_dict()
    n.text("ldn_verdict", f"LDN verdict, {period}", str(row["status"]), sec)
    n.count("ldn_land_types", "Land types", row["land_types"], sec)
    n.count(
        "ldn_land_types_not_achieved",
        "Land types short of neutrality",
        row["land_types_not_achieved"],
        sec,
    )
    if full:
        n.km2("ldn_gain_km2", "Gains", row["gain_km2"], sec)
        n.km2("ldn_loss_km2", "Losses", row["loss_km2"], sec)
        n.change(
            "ldn_net_km2",
            "Net (all land types, for information)",
            row["aggregate_net_km2"],
            "km²",
            sec,
        )
    n.km2("ldn_shortfall_km2", "Shortfall to neutrality", row["shortfall_km2"], sec)
    worst = row.get("worst_land_type")
    if isinstance(worst, str) and worst:
        b.context["ldn_worst_land_type"] = worst
    if full and not bal.empty:
        b.sections.append(
            {
                "key": "ldn",
                "title": "Land Degradation Neutrality: what the numbers say",
                "paragraphs": [],
                "table": {
                    "caption": "Neutrality balance of the largest land types (like for like):",
                    "header": [
                        "land type",
                        "area km²",
                        "gain km²",
                        "loss km²",
                        "net km²",
                        "verdict",
                    ],
                    "rows": [
                        [
                            str(r.land_type_name),
                            f"{r.area_km2:,.1f}",
                            f"{r.gain_km2:,.1f}",
                            f"{r.loss_km2:,.1f}",
                            f"{r.net_km2:+,.1f}",
                            str(r.status),
                        ]
                        for r in bal.sort_values("area_km2", ascending=False).head(12).itertuples()
                    ],  # fmt: skip
                },
                "charts": [
                    {
                        "src": rep.data_uri(rep.ldn_balance_chart_png(bal)),
                        "alt": "Bar chart of gains and losses per land type",
                        "caption": f"Gains and losses per land type in {area.label}, {period} "
                        "(the 10 largest land types; the table lists up to 12).",
                    }
                ],
            }
        )
    rules = ldn.summary.get("rules") or {}
    b.methods.append(
        "Land Degradation Neutrality: gains (status classes 6-7) and losses (1-2) against the "
        "baseline are balanced like for like within each land type "
        f"({(ldn.summary.get('land_types') or {}).get('source', 'land types of the run')}); "
        "neutrality holds only when every land type has net >= 0. Hotspots: "
        f"{rules.get('hotspots', 'patches of loss')}, ranked by priority."
    )
    for note in ldn.summary.get("notes") or []:
        b.caveats.append(f"LDN run: {note}.")
    return period, mask, gl_map


def _hotspots_in_area(
    ldn: _Run, period: str, mask: np.ndarray, grid: xr.DataArray, kind: str = "hotspot"
) -> tuple[pd.DataFrame, np.ndarray, float]:
    """The patches of ``kind`` with pixels in the area (by rank), their label map and
    the area of their pixels inside it (km²)."""
    labels = np.asarray(_read_map(ldn.file("maps", period, f"{kind}s.tif"), kind).values)
    tab = ldn.table(f"{kind}s_{period}")
    inside = mask & (labels > 0)
    km2 = float(_cell_area(grid)[inside].sum())
    patches = set(int(v) for v in np.unique(labels[inside]))
    hit = tab[tab["patch"].isin(patches)].sort_values("rank").copy()
    cell = _cell_area(grid)
    hit["area_in_km2"] = [float(cell[inside & (labels == p)].sum()) for p in hit["patch"]]
    return hit, labels, km2


def _hotspot_label(r: Mapping[str, Any]) -> str:
    return f"hotspot {int(r['rank'])} ({r.get('process', '')}, {float(r['area_km2']):,.1f} km²)"


def _hotspots(
    b: _Brief, ldn: _Run, area: _Area, period: str, mask: np.ndarray, grid: xr.DataArray, *,
    topic: str,
) -> pd.DataFrame:  # fmt: skip
    n = b.numbers
    sec = "Hotspots"
    hot, labels, km2 = _hotspots_in_area(ldn, period, mask, grid)
    bright, _, bkm2 = _hotspots_in_area(ldn, period, mask, grid, "brightspot")
    n.count("hotspots_count", f"Hotspots in the area, {period}", float(len(hot)), sec)
    n.km2("hotspots_km2", "Hotspot land in the area", km2, sec)
    n.count("brightspots_count", "Brightspots in the area", float(len(bright)), sec)
    n.km2("brightspots_km2", "Brightspot land in the area", bkm2, sec)
    if not hot.empty:
        top = hot.iloc[0].to_dict()
        b.context["top_hotspot"] = _hotspot_label(top)
        n.count("top_hotspot_rank", "Highest-priority hotspot (rank)", float(top["rank"]), sec)
    # the map: gains and losses (LDN) or the response hierarchy (practices), hotspots outlined
    gl = np.asarray(_read_map(ldn.file("maps", period, "gains_losses.tif"), "gl").values)
    ids = set(hot["patch"].astype(int))
    t = grid.rio.transform()
    marks = []
    for r in hot.head(8).itertuples():
        rr, cc = np.nonzero(mask & (labels == int(r.patch)))
        if rr.size:
            k = int(np.argmin((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2))
            marks.append((t.c + (cc[k] + 0.5) * t.a, t.f + (rr[k] + 0.5) * t.e, str(int(r.rank))))
    outline = np.isin(labels, list(ids)) if ids else None
    if topic == "hotspots_practices":
        resp = np.asarray(_read_map(ldn.file("maps", period, "response.tif"), "response").values)
        panel, focus = _panel(
            resp, grid, mask, rep.colour_table("response"),
            f"LDN response and hotspots, {period}", outline=outline,
            outline_label="hotspot (number = priority rank)", labels=marks,
        )  # fmt: skip
        title = "the LDN response hierarchy (maintain, avoid, reduce, reverse)"
    else:
        panel, focus = _panel(
            gl, grid, mask, rep.colour_table("gains_losses"),
            f"LDN gains and losses, {period}", outline=outline,
            outline_label="hotspot (number = priority rank)", labels=marks,
        )  # fmt: skip
        title = "LDN gains and losses against the baseline"
    png = rep.area_map_png(
        [panel], crs=grid.rio.crs, focus=focus, outlines=area.outlines(grid.rio.crs)
    )
    b.add_map(
        png,
        f"Map of {title} in {area.label}",
        f"{title[0].upper()}{title[1:]} in {area.label}, {period}; hotspots outlined, numbered "
        "by priority rank. Pixels outside the area are left blank.",
    )
    if topic == "hotspots_practices" and not hot.empty:
        b.sections.append(
            {
                "title": "Hotspots in the area",
                "paragraphs": [],
                "table": {
                    "caption": "Hotspots with land in the area, by priority rank:",
                    "header": [
                        "rank",
                        "area km² (in the area)",
                        "process",
                        "response",
                        "land type",
                        "people",
                    ],
                    "rows": [
                        [
                            str(int(r.rank)),
                            f"{r.area_km2:,.1f} ({r.area_in_km2:,.1f})",
                            str(r.process),
                            str(getattr(r, "response", "")),
                            str(getattr(r, "land_type_name", "")),
                            f"{float(getattr(r, 'population', 0) or 0):,.0f}",
                        ]
                        for r in hot.head(10).itertuples()
                    ],  # fmt: skip
                },
                "charts": [],
            }
        )
    return hot


def _practices(
    b: _Brief, hot: pd.DataFrame, database_url: str | None, *, required: bool, top_hotspots: int = 3
) -> None:
    from landwatch.knowledge.matching import match_practices, profile_from_hotspot
    from landwatch.knowledge.practices import approved_records
    from landwatch.store import init_db, session_scope

    engine = init_db(database_url)
    try:
        with session_scope(engine) as s:
            records = approved_records(s)
        url = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    b.context["knowledge_base"] = f"{url} ({len(records)} approved records)"
    if not records:
        if required:
            raise InputError(
                "the knowledge base has no approved practice; load the curated records with "
                "`landwatch practices seed` (or import your own), and pass its --db."
            )
        b.caveats.append("The knowledge base given has no approved practice: none is recommended.")
        return
    matched: list[dict[str, Any]] = []
    for row in hot.head(top_hotspots).to_dict("records"):
        label = _hotspot_label(row)
        try:
            profile = profile_from_hotspot(row)
        except InputError as exc:
            b.practices.append({"hotspot": label, "profile": "", "practices": [], "note": str(exc)})
            continue
        ms = match_practices(profile, records, top=3)
        items = []
        for m in ms:
            src = (m.record.get("sources") or [{}])[0]
            source = ", ".join(
                str(v) for v in (src.get("title"), src.get("publisher"), src.get("year")) if v
            )
            items.append(
                {
                    "rank": m.rank,
                    "name": m.name,
                    "score": f"{m.score:.2f}",
                    "summary": str(m.record.get("summary") or ""),
                    "reasons": "; ".join(m.reasons[:4]),
                    "source": source,
                }
            )
        b.practices.append(
            {
                "hotspot": label[0].upper() + label[1:],
                "profile": (
                    f"Processes: {', '.join(profile.processes) or 'none'}; climate zone "
                    f"{profile.climate_zone.replace('_', ' ')}; LDN response {profile.response}."
                ),
                "practices": items,
                "note": "",
            }
        )
        matched.append(
            {"hotspot": label, "practices": [{"name": m.name, "score": m.score} for m in ms]}
        )
    if matched and matched[0]["practices"]:
        best = matched[0]["practices"][0]
        b.numbers.text(
            "top_practice", "Best-matching practice (top hotspot)", str(best["name"]), "Practices"
        )
        b.numbers.number(
            "top_practice_score", "Its match score (0-1)", float(best["score"]), 2, "", "Practices"
        )
    b.context["practices_sentences"] = rep.practices_text(matched)


# --------------------------------------------------------------------------- provenance


def _sources(runs: list[_Run], area: _Area) -> list[dict[str, str]]:
    rows = []
    for run in runs:
        for role, v in (run.manifest.get("inputs") or {}).items():
            if role in ("database", "sdg_run") or v is None:
                continue
            path = v.get("path") if isinstance(v, dict) else v
            if path is None or str(path) == "None":
                continue
            sha = v.get("sha256") if isinstance(v, dict) else None
            p = Path(str(path))
            if str(path).startswith("landwatch/data/"):
                sha = f"packaged with landwatch {run.manifest.get('version', '')}".strip()
            elif sha is None and p.is_file() and p.stat().st_size <= _HASH_MAX_BYTES:
                sha = out_io.sha256_of(p) + " (computed by the brief)"
            elif sha is None and not p.exists():
                sha = "file no longer there"
            rows.append(
                {"run": run.label, "role": role, "file": str(path), "sha256": sha or "not recorded"}
            )
    if area.source is not None:
        rows.append(
            {
                "run": "--area",
                "role": "polygon",
                "file": str(area.source),
                "sha256": out_io.sha256_of(area.source),
            }
        )
    return rows


def _compact(v: Any, limit: int = 400) -> str:
    text = json.dumps(v, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- entry point


def run_brief(
    out_dir: str | Path,
    *,
    topic: str,
    sdg_run: str | Path | None = None,
    ldn_run: str | Path | None = None,
    so3_run: str | Path | None = None,
    warning_run: str | Path | None = None,
    admin_id: str | None = None,
    area: str | Path | None = None,
    database_url: str | None = None,
    title: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> BriefResult:
    """A rapid-response brief on one topic for one area, from existing runs.

    Parameters
    ----------
    out_dir : path
        Output folder (written atomically): ``brief.html``, ``brief.pdf``,
        ``numbers.json``.
    topic : str
        ``land_degradation`` (needs an SDG run), ``drought`` (an SO3 and/or a warning
        run), ``ldn`` or ``hotspots_practices`` (an LDN run; its SDG run is found from
        it).
    sdg_run, ldn_run, so3_run, warning_run : path, optional
        Output folders of ``landwatch sdg1531``, ``ldn``, ``drought so3``, ``warn run``.
    admin_id : str, optional
        An admin unit id of the runs' admin layer.
    area : path, optional
        A polygon file (GeoJSON, GeoPackage); numbers are computed from the maps over
        the pixels whose centre is inside it.
    database_url : str, optional
        The database: approved practices of the knowledge base (recommended for the
        hotspots in the area when an LDN run is given) and open alerts. The
        ``hotspots_practices`` topic uses the default database when none is given.
    title : str, optional
        Title of the brief (default: the topic and the area).
    overwrite : bool
        Replace an existing output folder.
    progress : Progress, optional
        Receives step messages.

    Returns
    -------
    BriefResult

    Raises
    ------
    InputError
        Unknown topic, a run that is missing or of the wrong kind, a run the topic
        needs that is not given, an unknown admin id, a polygon outside the maps, both
        an admin id and a polygon, an existing output folder. Nothing is written.
    """
    progress = progress or NullProgress()
    if topic not in TOPICS:
        raise InputError(f"--topic {topic!r} is unknown; choose one of {', '.join(TOPICS)}.")
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise InputError(
            f"output folder {str(out)!r} already exists. Choose another --out or pass --overwrite."
        )
    if admin_id is not None and area is not None:
        raise InputError(
            "give either --admin (an admin unit id) or --area (a polygon file), not both."
        )
    sdg = _open_run(sdg_run, "sdg1531")
    ldn = _open_run(ldn_run, "ldn")
    so3 = _open_run(so3_run, "so3")
    warning = _open_run(warning_run, "warning")
    if sdg is None and ldn is not None and ldn.summary.get("sdg_run"):
        sdg_path = Path(str(ldn.summary["sdg_run"]))
        if (sdg_path / "manifest.json").is_file():
            sdg = _open_run(sdg_path, "sdg1531")
    needs = {
        "land_degradation": (sdg is not None, "an SDG run: pass --sdg-run (the --out folder of `landwatch sdg1531`)"),
        "drought": (so3 is not None or warning is not None, "a drought run: pass --so3-run (`landwatch drought so3`) and/or --warning-run (`landwatch warn run`)"),
        "ldn": (ldn is not None and sdg is not None, "an LDN run: pass --ldn-run (the --out folder of `landwatch ldn`; its SDG run must still be there, or pass --sdg-run)"),
        "hotspots_practices": (ldn is not None, "an LDN run: pass --ldn-run (the --out folder of `landwatch ldn`)"),
    }  # fmt: skip
    ok, what = needs[topic]
    if not ok:
        raise InputError(f"--topic {topic} needs {what}.")
    progress.start(6)
    started = dt.datetime.now(dt.UTC)

    # the grid the area is checked against: the topic's main maps
    if topic in ("ldn", "hotspots_practices") and ldn is not None:
        period = list(ldn.summary["periods"])[-1]
        grid = _read_map(ldn.file("maps", period, "gains_losses.tif"), "gains_losses")
    elif topic == "drought" and sdg is None:
        grid = _drought_grid(so3, warning)
    else:
        assert sdg is not None
        latest = list(sdg.summary["periods"])[-1]
        grid = _read_map(sdg.file("maps", latest, "sdg.tif"), "sdg")
    admin = _admin_layer(sdg, so3, warning)
    where = _resolve_area(admin, admin_id, area, grid)
    progress.step("read the runs and the area")

    b = _Brief()
    b.numbers.text("area", "Area", where.label, "Area")
    if topic == "land_degradation":
        assert sdg is not None
        _land_degradation(b, sdg, where, full=True, so3=so3, warning=warning)
        progress.step("land degradation numbers, map and chart")
        if ldn is not None:
            period, mask, g = _ldn(b, ldn, where, full=False)
            hot = _hotspots(b, ldn, where, period, mask, g, topic=topic)
            if database_url:
                _practices(b, hot, database_url, required=False)
        progress.step("LDN and practices" if ldn is not None else "no LDN run")
    elif topic == "drought":
        _drought(b, so3, warning, where, database_url, progress)
    elif topic == "ldn":
        assert ldn is not None and sdg is not None
        _land_degradation(b, sdg, where, full=False, so3=so3, warning=warning)
        b.maps.clear()
        progress.step("land degradation headline")
        period, mask, g = _ldn(b, ldn, where, full=True)
        hot = _hotspots(b, ldn, where, period, mask, g, topic=topic)
        if database_url:
            _practices(b, hot, database_url, required=False)
        progress.step("LDN balance, hotspots and map")
    else:
        assert ldn is not None
        period, mask, g = _ldn(b, ldn, where, full=False)
        hot = _hotspots(b, ldn, where, period, mask, g, topic=topic)
        progress.step("hotspots and map")
        if hot.empty:
            b.caveats.append(
                f"No hotspot of the LDN run lies in {where.label}: no practice is matched."
            )
        else:
            _practices(b, hot, database_url, required=True)
        progress.step("practices from the knowledge base")

    facts = {**b.facts(), "area": where.label}
    ldn_sentences = rep.ldn_text(facts) if ldn is not None and topic != "drought" else []
    if ldn_sentences:
        ldn_sec = next((x for x in b.sections if x.get("key") == "ldn"), None)
        if ldn_sec is None:
            ldn_sec = {"key": "ldn", "title": "Land Degradation Neutrality and hotspots",
                       "paragraphs": [], "table": None, "charts": []}  # fmt: skip
            b.sections.insert(0 if topic == "hotspots_practices" else len(b.sections), ldn_sec)
        ldn_sec["paragraphs"] = ldn_sentences
    if where.partly_outside:
        b.caveats.append(
            f"Part of {where.label} lies outside the runs' maps: only the part over them counts."
        )
    if where.touched:
        b.caveats.append(
            f"{where.label[0].upper()}{where.label[1:]} is smaller than a cell of the coarse "
            f"grid(s) ({', '.join(sorted(where.touched))}): numbers on those grids are those of "
            "the cells it touches, which reach beyond it."
        )
    lead = _lead(topic, facts)
    b.limits = rep.limits_text(topic)
    if where.kind == "polygon":
        b.methods.append(
            "The area is a polygon: its numbers are computed from the runs' maps over the pixels "
            "whose centre falls inside it (every touched cell on the coarse climate grid when no "
            "centre does), with ellipsoidal pixel areas, as the runs compute their tables."
        )
    else:
        b.methods.append(
            f"The numbers of {where.label} are those of the runs' tables; people and soil carbon "
            "are summed from the runs' maps over the same pixels, with ellipsoidal pixel areas."
        )
    runs = [r for r in (sdg, ldn, so3, warning) if r is not None]
    issued = dt.datetime.now(dt.UTC)
    numbers = b.numbers.as_dict()
    primary = {"Area", *_PRIMARY[topic]}
    main = _number_rows(b.numbers.rows(primary))
    more = _number_rows([i for i in b.numbers.rows() if i.section not in primary])
    params: list[tuple[str, str]] = [
        ("topic", topic),
        ("area", where.label if where.kind != "polygon" else f"{where.label} ({where.source})"),
        ("title", title or ""),
        ("knowledge base", str(b.context.get("knowledge_base", "not used"))),
    ]
    for r in runs:
        params.append((f"{r.label} parameters", _compact(r.params)))
    context = {
        "title": title or f"{rep.TOPIC_TITLES[topic]}: {where.label}",
        "subtitle": f"area: {where.label}",
        "topic_title": rep.TOPIC_TITLES[topic],
        "issued": issued.strftime("%Y-%m-%d %H:%M UTC"),
        "lead": lead,
        "numbers": main,
        "more_numbers": more,
        "maps": b.maps,
        "sections": b.sections,
        "practices": b.practices,
        "limits": b.limits,
        "caveats": b.caveats,
        "methods": b.methods,
        "sources": _sources(runs, where),
        "runs": [
            {
                "name": r.label,
                "folder": str(r.path),
                "workflow": f"{r.manifest.get('workflow')}, landwatch {r.manifest.get('version', '?')}",
                "finished": str(r.manifest.get("finished", "")),
                "manifest_sha256": r.manifest_sha256,
            }
            for r in runs
        ],
        "parameters": params,
    }
    html = rep.render_brief_html(context)
    progress.step("HTML page")
    with out_io.atomic_output_dir(out, overwrite=overwrite) as tmp:
        html_p = tmp / "brief.html"
        html_p.write_text(html, encoding="utf-8")
        rep.write_pdf(html, tmp / "brief.pdf")
        progress.step("PDF (A4)")
        out_io.write_json(
            {
                "landwatch_version": landwatch.__version__,
                "topic": topic,
                "area": where.label,
                "issued": issued.isoformat(timespec="seconds"),
                "seconds": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 2),
                "runs": {r.option: str(r.path) for r in runs},
                "numbers": numbers,
            },
            tmp / "numbers.json",
        )
        names = ["brief.html", "brief.pdf", "numbers.json"]
    progress.step("wrote brief.html, brief.pdf, numbers.json")
    files = [out / n for n in names]
    return BriefResult(out_dir=out, html=files[0], pdf=files[1], numbers=numbers, files=files)


#: Sections of key numbers printed before the map, per topic (the rest follow it).
_PRIMARY: dict[str, tuple[str, ...]] = {
    "land_degradation": ("SDG 15.3.1",),
    "drought": ("Drought",),
    "ldn": ("Land Degradation Neutrality",),
    "hotspots_practices": ("Hotspots", "Practices"),
}


def _number_rows(items: list[rep.KeyNumber]) -> list[dict[str, str]]:
    rows = []
    last = None
    for item in items:
        start = item.section if item.section not in (last, "Area") else ""
        rows.append(
            {"key": item.key, "label": item.label, "text": item.text, "section_start": start}
        )
        last = item.section
    return rows


def _drought_grid(so3: _Run | None, warning: _Run | None) -> xr.DataArray:
    if so3 is not None:
        hz = rio_io.open_raster(
            so3.file("hazard_classes.nc"), name="drought hazard", variable="drought_hazard_class"
        )
        return hz.isel(time=0, drop=True) if "time" in hz.dims else hz
    assert warning is not None
    cdi = warning.input_path("cdi")
    if cdi is None or not cdi.exists():
        raise InputError(
            f"--warning-run: its CDI input ({cdi}) is not there any more; restore it or pass "
            "--so3-run."
        )
    variable = "cdi" if cdi.suffix.lower() in (".nc", ".zarr") else None
    cube = rio_io.open_raster(cdi, name="cdi", variable=variable)
    return cube.isel(time=0, drop=True)


def _lead(topic: str, facts: Mapping[str, Any]) -> list[str]:
    """The two or three sentences at the top of the brief."""
    if topic == "land_degradation":
        return rep.land_degradation_text(facts)[:2]
    if topic == "drought":
        return rep.drought_text(facts)[:2]
    if topic == "ldn":
        return rep.ldn_text(facts)[:2]
    s = rep.ldn_text(facts)
    hot = [x for x in s if "hotspot" in x][:1]
    best, score = facts.get("top_practice"), facts.get("top_practice_score")
    if best and score is not None:
        hot.append(
            f"The practice of the knowledge base that fits it best is {best} (score "
            f"{float(score):.2f}); see the recommendations below."
        )
    return hot
