"""SDG 15.3.1 assessment: load and check inputs, compute sub-indicators per period,
one-out-all-out, status against the baseline, write maps, tables and a manifest.

The CLI and the API both call :func:`run_sdg1531`; neither computes anything itself.
"""

from __future__ import annotations

import datetime as dt
import platform
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine

import landwatch
from landwatch.errors import CRSMismatchError, InputError, InsufficientDataError, UnitsError
from landwatch.indices.land import area as area_mod
from landwatch.indices.land import land_cover as lc_mod
from landwatch.indices.land import productivity as prod_mod
from landwatch.indices.land import productivity_periods as periods_mod
from landwatch.indices.land import sdg1531 as sdg_mod
from landwatch.indices.land import soc as soc_mod
from landwatch.indices.land.codes import (
    CLASS3_NAMES,
    LC_CLASSES,
    LC_WATER,
    LPD_CLASSES,
    NODATA,
    STATUS7_CLASSES,
)
from landwatch.indices.land.timeaxis import select_years, years_of
from landwatch.io import outputs as out_io
from landwatch.io import rasters as rio_io
from landwatch.io import vectors as vec_io
from landwatch.workflows.cluster import spatial_chunks
from landwatch.workflows.config import PeriodConfig, Sdg1531Config
from landwatch.workflows.memory import release_free_memory
from landwatch.workflows.progress import NullProgress, Progress

#: Relative tolerance of the area reconciliation check (classes + no data + water = territory).
RECONCILE_RTOL = 1e-6


@dataclass
class ZoneGrid:
    """Polygons burnt as their 1-based position (0 = no polygon; later polygons win where
    they overlap) on a grid, a strip of rows at a time: no full grid of ids is held.

    ``rows(r0, r1)`` equals rows ``r0:r1`` of :func:`landwatch.io.vectors.rasterize_ids`.
    """

    shapes: list[tuple[Any, int]]  # (geometry in the grid's CRS, position)
    bounds: np.ndarray  # (len(shapes), 4): minx, miny, maxx, maxy of each geometry
    transform: Affine
    shape: tuple[int, int]
    n: int  # number of polygons; positions are 1..n

    @classmethod
    def from_frame(cls, gdf: Any, like: xr.DataArray) -> ZoneGrid:
        g = gdf.to_crs(like.rio.crs)
        shapes = [(geom, i + 1) for i, geom in enumerate(g.geometry) if geom is not None]
        bounds = np.array([geom.bounds for geom, _ in shapes], dtype=float).reshape(-1, 4)
        return cls(
            shapes=shapes,
            bounds=bounds,
            transform=like.rio.transform(),
            shape=(like.sizes["y"], like.sizes["x"]),
            n=len(gdf),
        )

    def rows(self, r0: int, r1: int) -> np.ndarray:
        """int32 ids of rows ``r0:r1``."""
        from rasterio.features import rasterize

        out_shape = (r1 - r0, self.shape[1])
        t = self.transform * Affine.translation(0, r0)
        # the strip's extent (all four corners: the grid may be rotated)
        xs, ys = zip(
            *(t * (c, r) for c in (0, out_shape[1]) for r in (0, out_shape[0])), strict=True
        )
        b = self.bounds
        with np.errstate(invalid="ignore"):  # empty geometries have NaN bounds: skipped
            near = (
                (b[:, 0] <= max(xs))
                & (b[:, 2] >= min(xs))
                & (b[:, 1] <= max(ys))
                & (b[:, 3] >= min(ys))
            )
        shapes = [self.shapes[i] for i in np.flatnonzero(near)]
        if not shapes or out_shape[0] == 0:
            return np.zeros(out_shape, dtype=np.int32)
        return np.asarray(
            rasterize(shapes, out_shape=out_shape, transform=t, fill=0, dtype="int32")
        )


@dataclass
class Inputs:
    """Inputs on the NDVI grid, validated."""

    ndvi: xr.DataArray
    land_cover: dict[int, xr.DataArray]
    soc: xr.DataArray
    precipitation: xr.DataArray | None = None
    climate_zones: xr.DataArray | None = None
    soil_units: xr.DataArray | None = None
    ecological_units: xr.DataArray | None = None
    population: xr.DataArray | None = None
    lpd: dict[str, xr.DataArray] = field(default_factory=dict)
    admin_zones: ZoneGrid | None = None  # admin units, rasterised strip by strip
    admin_table: pd.DataFrame | None = None  # position -> id, name
    corrections: np.ndarray | None = None
    correction_rules: dict[str, dict[int, tuple[int, int, int]]] = field(default_factory=dict)
    correction_table: pd.DataFrame | None = None
    soc_years: dict[int, xr.DataArray] = field(default_factory=dict)


@dataclass
class RunResult:
    out_dir: Path
    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    files: list[Path]


# --------------------------------------------------------------------------- loading


def _load_2d(
    cfg: Sdg1531Config,
    key: str,
    ref: xr.DataArray,
    *,
    categorical: bool,
    sum_preserving: bool = False,
    variable: str | None = None,
) -> xr.DataArray:
    """Load the config's input ``key`` (e.g. ``"soc"``) onto the NDVI grid."""
    path = cfg.path(getattr(cfg, key))
    assert path is not None
    return _load_path_2d(
        cfg,
        path,
        key,
        ref,
        categorical=categorical,
        sum_preserving=sum_preserving,
        variable=variable,
    )


def _load_path_2d(
    cfg: Sdg1531Config,
    path: Path,
    name: str,
    ref: xr.DataArray,
    *,
    categorical: bool,
    sum_preserving: bool = False,
    variable: str | None = None,
) -> xr.DataArray:
    # chunked runs read 2-D inputs lazily, so that no full map sits in the client or is
    # shipped inside a task graph; workers read their windows from the file
    chunks = spatial_chunks(cfg.chunks)
    da = rio_io.open_raster(path, name=name, variable=variable, chunks=chunks)
    if "time" in da.dims:
        if da.sizes["time"] != 1:
            raise InputError(f"{name}: expected a single-band map, got {da.sizes['time']} bands.")
        da = da.isel(time=0, drop=True)
    if cfg.align:
        try:
            rio_io.check_same_grid(ref, da, ref_name="ndvi", name=name)
        except CRSMismatchError:
            da = rio_io.align_to(ref, da, categorical=categorical, sum_preserving=sum_preserving)
    else:
        rio_io.check_same_grid(ref, da, ref_name="ndvi", name=name)
    da = da.assign_coords(y=ref.y, x=ref.x)
    da = da.chunk(chunks) if chunks else da.load()
    if categorical:
        nod = da.attrs.get("nodata")
        vals = da.data  # numpy, or dask (np.where / np.isnan dispatch to dask)
        if np.issubdtype(vals.dtype, np.floating):
            bad = np.isnan(vals) | ((vals == nod) if nod is not None else False)
            vals = np.where(bad, NODATA, vals)
        elif nod is not None:
            vals = np.where(vals == nod, NODATA, vals)
        da = da.copy(data=vals.astype(np.int32, copy=False))
        da.attrs["nodata"] = NODATA
    return da


def _ndvi_name(ndvi: xr.DataArray) -> str:
    return Path(str(ndvi.attrs.get("source", "input"))).name


def _check_ndvi(ndvi: xr.DataArray, cfg: Sdg1531Config) -> None:
    """Door checks on a sample window (reading the whole cube here would double the I/O).

    A fully empty cube is caught after the productivity step (``_check_not_empty``);
    values out of NDVI range anywhere are caught by the kernels.
    """
    ny, nx = ndvi.sizes["y"], ndvi.sizes["x"]
    half = 128
    window = ndvi.isel(
        y=slice(max(0, ny // 2 - half), ny // 2 + half),
        x=slice(max(0, nx // 2 - half), nx // 2 + half),
    )
    values = np.asarray(window.values, dtype=float)
    vmax = float(np.nanmax(values)) if np.isfinite(values).any() else np.nan
    if np.isfinite(vmax) and vmax > 1.5:
        raise UnitsError(
            f"ndvi looks scaled (maximum {vmax:.0f}; NDVI lies in [-1, 1]). It is probably NDVI x "
            "10,000 as in MODIS products: divide it by 10000 (or set scale_factor in the file)."
        )
    years = years_of(ndvi)
    needed = sorted(
        {y for p in cfg.periods.values() for y in range(p.productivity[0], p.productivity[1] + 1)}
    )
    missing = sorted(set(needed) - set(years.tolist()))
    if missing:
        raise InsufficientDataError(
            f"ndvi has years {years.min()}-{years.max()} ({len(years)} years) but the periods need "
            f"{needed[0]}-{needed[-1]}; missing {_years_str(missing)}. Pass a longer series or "
            "change the productivity years of the periods."
        )


def _years_str(years: list[int]) -> str:
    return ", ".join(map(str, years[:10])) + (" ..." if len(years) > 10 else "")


def load_inputs(cfg: Sdg1531Config, progress: Progress) -> Inputs:
    """Open every input, check it against the NDVI grid, and return it on that grid."""
    chunks = spatial_chunks(cfg.chunks)
    ndvi_path = cfg.path(cfg.ndvi)
    assert ndvi_path is not None
    ndvi = rio_io.open_raster(
        ndvi_path, name="ndvi", variable=cfg.ndvi_variable, chunks=chunks, years=cfg.ndvi_years
    )
    if "time" not in ndvi.dims:
        raise InputError("ndvi: expected an annual cube (time, y, x), got a single map.")
    ndvi = ndvi.astype(np.float32)
    if np.issubdtype(ndvi["time"].dtype, np.datetime64):
        ndvi = ndvi.assign_coords(time=years_of(ndvi))
    _check_ndvi(ndvi, cfg)
    ref = ndvi.isel(time=0, drop=True)
    progress.step("read NDVI")

    needed_lc = sorted({y for p in cfg.periods.values() for y in p.land_cover})
    missing_lc = [y for y in needed_lc if y not in cfg.land_cover]
    if missing_lc:
        raise InputError(
            f"land_cover: the periods need maps for {needed_lc} but the config gives "
            f"{sorted(cfg.land_cover)}; missing {missing_lc}. Add them under land_cover: or change "
            "the land_cover years of the periods."
        )
    nesting = None
    if cfg.land_cover_nesting is not None:
        # "esa_cci" names the packaged ESA CCI -> UNCCD table; anything else is a CSV path
        key = str(cfg.land_cover_nesting)
        nesting = lc_mod.load_nesting(key if key == "esa_cci" else cfg.path(cfg.land_cover_nesting))  # type: ignore[arg-type]
    identity = {k: k for k in LC_CLASSES}
    land_cover = {}
    for year in sorted(cfg.land_cover):
        path = cfg.path(cfg.land_cover[year])
        assert path is not None
        raw = _load_path_2d(cfg, path, f"land_cover {year}", ref, categorical=True)
        lc = lc_mod.reclassify_land_cover(raw, nesting or identity, nodata=NODATA)
        land_cover[year] = lc if cfg.chunks else lc.load()
    progress.step("read land cover")

    soc = _load_2d(cfg, "soc", ref, categorical=False)
    soc = soc.where(soc >= 0)
    inputs = Inputs(ndvi=ndvi, land_cover=land_cover, soc=soc)
    if cfg.climate_zones:
        inputs.climate_zones = _load_2d(cfg, "climate_zones", ref, categorical=True)
    if cfg.soil_units:
        inputs.soil_units = _load_2d(cfg, "soil_units", ref, categorical=True)
    if cfg.ecological_units:
        inputs.ecological_units = _load_2d(cfg, "ecological_units", ref, categorical=True)
    if cfg.population:
        inputs.population = _load_2d(cfg, "population", ref, categorical=False, sum_preserving=True)
    if cfg.precipitation:
        pr_path = cfg.path(cfg.precipitation)
        assert pr_path is not None
        pr = rio_io.open_raster(pr_path, name="precipitation", variable=cfg.precipitation_variable)
        if cfg.align:
            pr = rio_io.align_to(ref, pr, categorical=False)
        rio_io.check_same_grid(
            ref, pr.isel(time=0) if "time" in pr.dims else pr, ref_name="ndvi", name="precipitation"
        )
        inputs.precipitation = _annual_precipitation(pr.assign_coords(y=ref.y, x=ref.x))
    for period, p in (cfg.lpd or {}).items():
        if period not in cfg.periods:
            raise InputError(
                f"lpd: period {period!r} is not one of the periods {list(cfg.periods)}."
            )
        inputs.lpd[period] = _load_path_2d(cfg, cfg.path(p), f"lpd {period}", ref, categorical=True)  # type: ignore[arg-type]
    progress.step("read SOC, climate, soil, population")

    if cfg.admin:
        admin_path = cfg.path(cfg.admin)
        assert admin_path is not None
        gdf = vec_io.read_vector(admin_path, name="admin", layer=cfg.admin_layer)
        for fld in (cfg.admin_id_field, cfg.admin_name_field):
            if fld not in gdf.columns:
                raise InputError(
                    f"admin: {admin_path.name} has no field {fld!r}; fields are "
                    f"{[c for c in gdf.columns if c != 'geometry']}. Set admin_id_field / "
                    "admin_name_field in the config."
                )
        inputs.admin_zones = ZoneGrid.from_frame(gdf, ref)
        inputs.admin_table = pd.DataFrame(
            {
                "position": np.arange(1, len(gdf) + 1),
                "admin_id": gdf[cfg.admin_id_field].astype(str).values,
                "admin_name": gdf[cfg.admin_name_field].astype(str).values,
            }
        )
        zones = inputs.admin_zones
        if not any((zones.rows(r0, r1) > 0).any() for r0, r1 in _strips(zones.shape[0])):
            raise InputError(
                f"admin: no polygon of {admin_path.name} overlaps the NDVI grid. Check that both "
                "cover the same region."
            )
    if cfg.corrections:
        _load_corrections(cfg, inputs, ref)
    progress.step("read admin units and corrections")
    return inputs


def _annual_precipitation(pr: xr.DataArray) -> xr.DataArray:
    """Annual totals from monthly precipitation, or the input when already annual."""
    if "time" not in pr.dims:
        raise InputError("precipitation: expected (time, y, x) monthly or annual totals.")
    t = pr["time"].values
    if np.issubdtype(t.dtype, np.datetime64):
        years = t.astype("datetime64[Y]").astype(int) + 1970
        if len(np.unique(years)) < len(years):
            counts = pd.Series(years).value_counts()
            full = counts[counts == 12].index
            ann = pr.groupby(xr.DataArray(years, dims="time", name="year")).sum(
                "time", min_count=12
            )
            ann = ann.rename(year="time").sel(time=sorted(full))
            return ann.load()
        return pr.assign_coords(time=years).load()
    return pr.load()


_RECODE_FIELDS = ("recode_deg_to", "recode_stable_to", "recode_imp_to")


def _load_corrections(cfg: Sdg1531Config, inputs: Inputs, ref: xr.DataArray) -> None:
    path = cfg.path(cfg.corrections)
    assert path is not None
    gdf = vec_io.read_vector(path, name="corrections")
    missing = [f for f in _RECODE_FIELDS if f not in gdf.columns]
    if missing:
        raise InputError(
            f"corrections: {path.name} lacks fields {missing}. Each polygon needs recode_deg_to, "
            "recode_stable_to, recode_imp_to (-1, 0, 1, or empty to keep) and periods_affected."
        )
    period_names = list(cfg.periods)
    rules: dict[str, dict[int, tuple[int, int, int]]] = {p: {} for p in period_names}
    rows = []
    for i, rec in enumerate(gdf.itertuples(index=False), start=1):
        targets = []
        for f in _RECODE_FIELDS:
            v = getattr(rec, f)
            targets.append(-9999 if v is None or (isinstance(v, float) and np.isnan(v)) else int(v))
        affected = getattr(rec, "periods_affected", None)
        if affected is None or (isinstance(affected, float) and np.isnan(affected)):
            affected_list = period_names
        elif isinstance(affected, str):
            affected_list = [
                a.strip() for a in affected.strip("[]").replace('"', "").split(",") if a.strip()
            ]
        else:
            affected_list = list(affected)
        for a in affected_list:
            if a not in rules:
                raise InputError(
                    f"corrections: polygon {i} names period {a!r}; periods are {period_names}."
                )
            rules[a][i] = (targets[0], targets[1], targets[2])
        rows.append(
            {
                "polygon": i,
                "location_name": getattr(rec, "location_name", ""),
                "process_driving_change": getattr(rec, "process_driving_change", ""),
                "basis_for_judgement": getattr(rec, "basis_for_judgement", ""),
                "recode_deg_to": targets[0],
                "recode_stable_to": targets[1],
                "recode_imp_to": targets[2],
                "periods_affected": ",".join(affected_list),
            }
        )
    inputs.corrections = vec_io.rasterize_ids(gdf, ref)
    inputs.correction_rules = rules
    inputs.correction_table = pd.DataFrame(rows)


# --------------------------------------------------------------------------- computing


def _lc_at_or_before(land_cover: dict[int, xr.DataArray], year: int) -> xr.DataArray:
    earlier = [y for y in land_cover if y <= year]
    return land_cover[max(earlier)] if earlier else land_cover[min(land_cover)]


def _ecological_units(inputs: Inputs, year: int) -> xr.DataArray:
    if inputs.ecological_units is not None:
        return inputs.ecological_units
    lc = _lc_at_or_before(inputs.land_cover, year)
    if inputs.soil_units is None:
        return lc
    soil = inputs.soil_units
    units = xr.where((lc == NODATA) | (soil == NODATA) | (soil < 0), NODATA, soil * 100 + lc)
    return units.astype(np.int32)


def _productivity_lazy(
    cfg: Sdg1531Config, inputs: Inputs, name: str, period: PeriodConfig
) -> dict[str, Any]:
    """Trajectory, state and performance of one period, not yet computed."""
    opts = cfg.productivity
    y0, y1 = period.productivity
    if name in inputs.lpd:
        lpd = prod_mod.recode_lpd(inputs.lpd[name])
        return {"lpd5": lpd["lpd5"], "lpd3": lpd["lpd3"]}
    ndvi = select_years(inputs.ndvi, y0, y1)
    pr = None
    if opts.trajectory_method != "ndvi":
        if inputs.precipitation is None:
            raise InputError(
                f"productivity.trajectory_method is {opts.trajectory_method!r}, which needs "
                "precipitation; add precipitation: (annual or monthly totals) to the config."
            )
        pr = select_years(inputs.precipitation, y0, y1)
    traj = prod_mod.productivity_trajectory(
        ndvi,
        pr=pr,
        method=opts.trajectory_method,
        significance=opts.significance,
        mode=opts.mode,
        min_years=opts.min_years,
        sens_slope=False,
        min_slope=opts.min_slope if opts.mode == "landwatch" else 0.0,
    )
    state = prod_mod.productivity_state(
        ndvi, baseline=period.state_baseline, recent=period.state_recent, method=opts.state_method
    )
    p0, p1 = period.performance or period.productivity
    perf = prod_mod.productivity_performance(
        select_years(inputs.ndvi, p0, p1),
        _ecological_units(inputs, y0),
        percentile=opts.performance_percentile,
        threshold=opts.performance_threshold,
    )
    # keep diagnostics only when they will be written: at 10^7-10^8 px every layer counts
    diag = cfg.all_layers
    return {
        "traj": traj[["trajectory", "slope", "p"] if diag else ["trajectory"]],
        "state": state[["state"]],
        "perf": perf[["performance", "ratio"] if diag else ["performance"]],
    }


def _fused_productivity(cfg: Sdg1531Config, inputs: Inputs) -> dict[str, dict[str, Any]]:
    """Trajectory, state and performance of every eligible period from one pass per pixel.

    Eligible: NDVI trajectory in landwatch mode and no precomputed LPD; the others go
    through :func:`_productivity_lazy`. Same classes as the per-period functions
    (``tests/unit/indices/land/test_productivity_periods.py``).
    """
    opts = cfg.productivity
    if opts.trajectory_method != "ndvi" or opts.mode != "landwatch":
        return {}
    names = [n for n in cfg.periods if n not in inputs.lpd]
    if not names:
        return {}
    windows = {
        n: periods_mod.ProductivityWindow(
            trajectory=tuple(cfg.periods[n].productivity),  # type: ignore[arg-type]
            state_baseline=cfg.periods[n].state_baseline,  # type: ignore[arg-type]
            state_recent=cfg.periods[n].state_recent,  # type: ignore[arg-type]
            performance=cfg.periods[n].performance,  # type: ignore[arg-type]
        )
        for n in names
    }
    diag = cfg.all_layers
    ds = periods_mod.productivity_periods(
        inputs.ndvi,
        windows,
        significance=opts.significance,
        min_years=opts.min_years,
        min_slope=opts.min_slope,
        state_method=opts.state_method,
        diagnostics=diag,
    )
    out: dict[str, dict[str, Any]] = {}
    for n in names:
        one = ds.sel(period=n, drop=True)
        y0 = cfg.periods[n].productivity[0]
        p0, p1 = cfg.periods[n].performance or cfg.periods[n].productivity
        units = prod_mod.check_units(
            inputs.ndvi, _ecological_units(inputs, y0), opts.performance_percentile
        )
        perf = prod_mod.performance_from_mean(
            one["performance_mean"],
            one["performance_n"],
            units,
            percentile=opts.performance_percentile,
            threshold=opts.performance_threshold,
            period=f"{p0}-{p1}",
        )
        traj = one[["trajectory", "slope", "p"] if diag else ["trajectory"]]
        out[n] = {
            "traj": traj,
            "state": one[["state"]],
            "perf": perf[["performance", "ratio"] if diag else ["performance"]],
        }
    return out


def _lpd_layers(cfg: Sdg1531Config, parts: dict[str, xr.Dataset]) -> dict[str, xr.DataArray]:
    if "lpd5" in parts:  # a precomputed LPD raster
        return dict(parts)  # type: ignore[arg-type]
    traj, state, perf = parts["traj"], parts["state"], parts["perf"]
    lpd = prod_mod.land_productivity_dynamics(
        traj["trajectory"], state["state"], perf["performance"], table=cfg.productivity.lpd_table
    )
    out = {
        "trajectory": traj["trajectory"],
        "state": state["state"],
        "performance": perf["performance"],
        "lpd3": lpd["lpd3"],
    }
    if "slope" in traj:
        out.update(
            trajectory_slope=traj["slope"], trajectory_p=traj["p"], performance_ratio=perf["ratio"]
        )
    if "lpd5" in lpd:
        out["lpd5"] = lpd["lpd5"]
    return out


def _soc_series(cfg: Sdg1531Config, inputs: Inputs) -> dict[int, xr.DataArray]:
    """SOC stock at each land cover year (the annual series is computed chunk by chunk)."""
    years = sorted(inputs.land_cover)
    lc_cube = xr.concat([inputs.land_cover[y] for y in years], dim="time").assign_coords(time=years)
    soc0 = inputs.soc
    f_opt = cfg.soc_options.cropland_factor
    if isinstance(f_opt, int | float):
        f: Any = soc_mod.cropland_factor(value=float(f_opt))
    elif f_opt == "per_pixel":
        if inputs.climate_zones is None:
            raise InputError(
                "soc_options.cropland_factor is 'per_pixel' but no climate_zones raster is given. "
                "Add climate_zones: to the config, or set cropland_factor to a regime name "
                "(e.g. 'tropical dry') or a number such as 0.8."
            )
        f = soc_mod.cropland_factor(inputs.climate_zones)
    else:
        f = soc_mod.cropland_factor(regime=str(f_opt))
    if cfg.chunks:
        spatial = {"y": cfg.chunks, "x": cfg.chunks}
        lc_cube = lc_cube.chunk({"time": -1, **spatial})
        soc0 = soc0.chunk(spatial)
        if isinstance(f, xr.DataArray):
            f = f.chunk(spatial)
    picked = soc_mod.soc_stock_series(
        soc0, lc_cube, f=f, transition_years=cfg.soc_options.transition_years, output_years=years
    )
    if not cfg.chunks:  # chunked runs compute it with the other layers (see compute)
        picked = picked.load()
    return {y: picked.isel(time=i, drop=True) for i, y in enumerate(years)}


def _check_not_empty(cfg: Sdg1531Config, inputs: Inputs, name: str, first: Any) -> None:
    if not bool(np.asarray((first != NODATA).any())):
        raise InsufficientDataError(
            f"ndvi: {_ndvi_name(inputs.ndvi)} holds no valid values in {name} "
            f"{cfg.periods[name].productivity[0]}-{cfg.periods[name].productivity[1]} "
            "(all nodata, or fewer valid years than productivity.min_years everywhere). Check "
            "the file, its nodata value and the period years."
        )


def _store_layers(
    layers: dict[str, dict[str, xr.DataArray]],
    soc_years: dict[int, xr.DataArray],
    store: Path,
) -> tuple[dict[str, dict[str, xr.DataArray]], dict[int, xr.DataArray]]:
    """Compute every lazy layer in one dask pass into a Zarr store; return them read lazily.

    Chunked runs keep no full map in memory: the layers (and the SOC stock of each land
    cover year) are written chunk by chunk by the workers, then tables and maps read
    them back one at a time. Values, dtypes and NaNs are stored as they are.
    """
    names: dict[str, tuple[str, Any]] = {}
    data: dict[str, xr.DataArray] = {}
    for period, layer in layers.items():
        for key, v in layer.items():
            var = f"{period}.{key}"
            names[var] = (period, key)
            data[var] = v.reset_coords(drop=True)
    for year, v in soc_years.items():
        names[f"soc_{year}"] = ("", str(year))
        data[f"soc_{year}"] = v.reset_coords(drop=True)
    ds = xr.Dataset(data)
    for v in ds.data_vars.values():
        v.attrs = {}
        v.encoding = {}
    ds.to_zarr(store, mode="w", consolidated=False)
    # read back without dask and without caching: tables and maps read one layer at a
    # time in this process (through the cluster, each read would be a task plus a transfer)
    back = xr.open_dataset(
        store, engine="zarr", chunks=None, cache=False, mask_and_scale=False, consolidated=False
    )
    out: dict[str, dict[str, xr.DataArray]] = {p: {} for p in layers}
    soc_out: dict[int, xr.DataArray] = {}
    for var, (period, key) in names.items():
        da = back[var].rename(None)
        if period:
            da.attrs = dict(layers[period][key].attrs)
            out[period][key] = da
        else:
            da.attrs = dict(soc_years[int(key)].attrs)
            soc_out[int(key)] = da
    return out, soc_out


def compute(
    cfg: Sdg1531Config, inputs: Inputs, progress: Progress, *, scratch: Path | None = None
) -> dict[str, dict[str, xr.DataArray]]:
    """All layers per period (and ``status_<period>`` for each reporting period).

    In memory (numpy) without ``cfg.chunks``. With ``cfg.chunks`` every layer stays a
    lazy dask array until one pass computes them all into a Zarr store in ``scratch``
    (a folder the caller removes after writing the outputs); the layers returned then
    read from that store. The values are the same either way.
    """
    chunked = bool(cfg.chunks)
    if chunked and scratch is None:
        raise InputError("compute: a chunked run needs a scratch folder for its layers.")
    matrix = (
        lc_mod.load_transition_matrix(cfg.path(cfg.transition_matrix))
        if cfg.transition_matrix
        else lc_mod.load_transition_matrix()
    )
    inputs.soc_years = _soc_series(cfg, inputs)
    release_free_memory()
    progress.step("SOC stock series")
    # all periods in one dask pass, so each NDVI chunk is read once
    lazy: dict[str, Any] = _fused_productivity(cfg, inputs)
    lazy.update(
        {
            name: _productivity_lazy(cfg, inputs, name, p)
            for name, p in cfg.periods.items()
            if name not in lazy
        }
    )
    if chunked:
        computed = lazy
    else:
        (computed,) = dask.compute(lazy)
        for name, parts in computed.items():
            first = parts["lpd5"] if "lpd5" in parts else parts["traj"]["trajectory"]
            _check_not_empty(cfg, inputs, name, first)
    release_free_memory()
    progress.step("land productivity, all periods")
    layers: dict[str, dict[str, xr.DataArray]] = {}
    for name, period in cfg.periods.items():
        prod = _lpd_layers(cfg, computed[name])
        ly0, ly1 = period.land_cover
        lc0, lc1 = inputs.land_cover[ly0], inputs.land_cover[ly1]
        lc_deg = lc_mod.land_cover_degradation(lc0, lc1, matrix=matrix)
        water = (lc0 == LC_WATER) | (lc1 == LC_WATER)
        soc0, soc1 = inputs.soc_years[ly0], inputs.soc_years[ly1]
        soc_ds = soc_mod.soc_degradation(
            soc0, soc1, threshold=cfg.soc_options.threshold, water_mask=water
        )
        lpd3 = prod["lpd3"] if chunked else prod["lpd3"].compute()
        sdg = sdg_mod.one_out_all_out(lpd3, lc_deg, soc_ds["soc_degradation"])
        layer: dict[str, xr.DataArray] = dict(prod)
        if inputs.corrections is not None and inputs.correction_rules.get(name):
            # water is excluded from land area: never a class of its own
            layer["sdg_uncorrected"] = xr.where(water, NODATA, sdg).astype(np.int16)
            corr = xr.DataArray(
                inputs.corrections, dims=("y", "x"), coords={"y": sdg.y, "x": sdg.x}
            )
            sdg = sdg_mod.apply_corrections(sdg, corr, inputs.correction_rules[name])
        sdg = xr.where(water, NODATA, sdg).astype(np.int16)
        layer.update(
            {
                "land_cover_initial": lc0,
                "land_cover_final": lc1,
                "land_cover_degradation": lc_deg,
                "soc_initial": soc0,
                "soc_final": soc1,
                "soc_degradation": soc_ds["soc_degradation"],
                "sdg": sdg,
                "water": water,
            }
        )
        if cfg.all_layers:
            layer["land_cover_transition"] = lc_mod.land_cover_transition(lc0, lc1)
            layer["soc_change_pct"] = soc_ds["pct_change"]
        layers[name] = (
            layer
            if chunked
            else {k: v.compute() if hasattr(v, "compute") else v for k, v in layer.items()}
        )
        release_free_memory()
        progress.step(f"{name}: LPD, land cover, SOC, one-out-all-out")
    base = cfg.baseline_name
    for name in list(cfg.periods)[1:]:
        st = sdg_mod.status_expanded(layers[base]["sdg"], layers[name]["sdg"])
        layers[name]["status7"] = st["status7"].astype(np.int16)
        layers[name]["status3"] = st["status3"].astype(np.int16)
    if chunked:
        assert scratch is not None
        layers, inputs.soc_years = _store_layers(layers, inputs.soc_years, scratch / "layers.zarr")
        for name in cfg.periods:
            first = layers[name]["lpd5"] if "lpd5" in layers[name] else layers[name]["trajectory"]
            _check_not_empty(cfg, inputs, name, first.data)
        release_free_memory()
    if len(cfg.periods) > 1:
        progress.step(
            "status; all layers computed to Zarr" if chunked else "status against the baseline"
        )
    return layers


# --------------------------------------------------------------------------- tables


def _territory(zone_ids: np.ndarray) -> np.ndarray:
    """Pixels inside the territory (an admin unit, or anywhere without admin units)."""
    return zone_ids > 0


#: Rows per strip of the area tables. Tables read every map a strip of rows at a time
#: and add up the strips' sums, so a chunked run holds no full grid in this process.
#: In-memory runs use the same strips, so both sum in the same order (equal tables).
TABLE_STRIP_ROWS = 1024


def _strips(ny: int) -> list[tuple[int, int]]:
    step = max(1, int(TABLE_STRIP_ROWS))
    return [(r0, min(ny, r0 + step)) for r0 in range(0, ny, step)]


def _rows(da: Any, r0: int, r1: int, dtype: Any = None) -> np.ndarray:
    """Rows ``r0:r1`` of a 2-D map as numpy: a view of an in-memory map, a read of a
    Zarr-backed one, a computed strip of a dask one."""
    part = da[r0:r1] if isinstance(da, np.ndarray) else da.isel(y=slice(r0, r1))
    return np.asarray(part, dtype=dtype)


CLASS_TABLES: dict[str, dict[int, str]] = {
    "sdg": CLASS3_NAMES,
    "lpd3": CLASS3_NAMES,
    "lpd5": LPD_CLASSES,
    "land_cover_degradation": CLASS3_NAMES,
    "soc_degradation": CLASS3_NAMES,
    "status7": STATUS7_CLASSES,
    "status3": CLASS3_NAMES,
}


class _ZoneSums:
    """Area sums per zone and class, strip by strip (numba, no temporaries).

    Zones are the admin units (1..n) or, without admin units, the whole grid (1);
    zone 0 is outside the territory. "ALL" is the sum over zones. ``strip(zone_ids,
    cell)`` sets the pixels of the current strip; ``select(mask)`` fixes the pixels
    counted by the following ``by_class`` calls; ``add(key, part)`` adds a strip's
    sums to the running total ``sums[key]``.
    """

    def __init__(self, nz: int) -> None:
        self.nz = nz
        self.zones = list(range(nz))
        self.sums: dict[Any, Any] = {}

    def strip(self, zone_ids: np.ndarray, cell: np.ndarray) -> None:
        self.zone = np.ascontiguousarray(zone_ids, dtype=np.int32)
        self.cell = np.ascontiguousarray(np.broadcast_to(cell, zone_ids.shape), dtype=np.float64)
        self.select(np.ones(zone_ids.shape, dtype=bool))

    def select(self, mask: np.ndarray) -> None:
        self._m = np.ascontiguousarray(mask, dtype=bool)

    def by_class(
        self, arr: np.ndarray, codes: list[int], values: np.ndarray | None = None
    ) -> np.ndarray:
        """Sum of cell area (times ``values``) per (zone, class index) over the selection.

        The last class index collects every value not in ``codes`` (no data).
        """
        w = self.cell if values is None else self.cell * values
        out = area_mod.weighted_pair_counts(
            self.zone, np.asarray(arr), w, codes_a=self.zones, codes_b=codes, mask=self._m
        )
        return out[: self.nz]

    def total(self, mask: np.ndarray) -> np.ndarray:
        out = area_mod.weighted_pair_counts(
            self.zone,
            self.zone,
            self.cell,
            codes_a=self.zones,
            codes_b=[0],
            mask=np.ascontiguousarray(mask, dtype=bool),
        )
        return out[: self.nz].sum(axis=1)

    def pairs(
        self, a: np.ndarray, b: np.ndarray, mask: np.ndarray, a_codes: list[int], b_codes: list[int]
    ) -> np.ndarray:
        """km2 of each (a class, b class) pair inside ``mask`` in this strip."""
        return area_mod.weighted_pair_counts(
            np.asarray(a), np.asarray(b), self.cell, codes_a=a_codes, codes_b=b_codes, mask=mask
        )

    def add(self, key: Any, part: Any) -> None:
        self.sums[key] = part if key not in self.sums else self.sums[key] + part


def _crosstab(counts: np.ndarray, a_names: dict[int, str], b_names: dict[int, str]) -> pd.DataFrame:
    """km2 of each (a class, b class) pair (other values ignored), from summed counts."""
    return pd.DataFrame(
        counts[:-1, :-1], index=list(a_names.values()), columns=list(b_names.values())
    )


def _table_sums(
    cfg: Sdg1531Config,
    inputs: Inputs,
    layers: dict[str, dict[str, xr.DataArray]],
    cell: np.ndarray,
    shape: tuple[int, int],
    soc_sources: dict[int, tuple[str, str]],
    lc_sources: dict[int, Any],
) -> _ZoneSums:
    """Every sum the tables need, over the grid a strip of rows at a time."""
    admin = inputs.admin_zones
    sums = _ZoneSums(admin.n + 1 if admin is not None else 2)
    lc_codes = list(LC_CLASSES)
    for r0, r1 in _strips(shape[0]):
        if admin is not None:
            zone_ids = admin.rows(r0, r1)
        else:
            zone_ids = np.ones((r1 - r0, shape[1]), dtype=np.int32)
        territory = _territory(zone_ids)
        sums.strip(zone_ids, cell[r0:r1].reshape(-1, 1))
        sums.add("zone_area", sums.total(territory))
        for period, layer in layers.items():
            water = _rows(layer["water"], r0, r1) & territory
            sums.add(("water_area", period), sums.total(water))
            notwater = territory & ~water
            sums.select(notwater)
            sdg = None
            for indicator, names in CLASS_TABLES.items():
                if indicator not in layer:
                    continue
                arr = _rows(layer[indicator], r0, r1)
                if indicator == "sdg":
                    sdg = arr
                sums.add(("areas", period, indicator), sums.by_class(arr, list(names)))
            lc0 = _rows(layer["land_cover_initial"], r0, r1)
            lc1 = _rows(layer["land_cover_final"], r0, r1)
            sums.add(("lc_change", period), sums.pairs(lc0, lc1, territory, lc_codes, lc_codes))
            if "lpd5" in layer:
                lpd5 = _rows(layer["lpd5"], r0, r1)
                sums.add(
                    ("lpd_by_land_cover", period),
                    sums.pairs(lc0, lpd5, notwater, lc_codes, list(LPD_CLASSES)),
                )
            if "status7" in layer:
                base = _rows(layers[cfg.baseline_name]["sdg"], r0, r1)
                codes3 = list(CLASS3_NAMES)
                sums.add(
                    ("status_crosstab", period),
                    sums.pairs(base, _rows(layer["sdg"], r0, r1), notwater, codes3, codes3),
                )
            if inputs.population is not None:
                if sdg is None:
                    sdg = _rows(layer["sdg"], r0, r1)
                pop = np.nan_to_num(_rows(inputs.population, r0, r1, dtype=float))
                for code in CLASS3_NAMES:
                    sums.add(("population", period, code), pop[territory & (sdg == code)].sum())
        # land cover area per class and year, water included
        sums.select(territory)
        for year, lc in sorted(lc_sources.items()):
            sums.add(("land_cover", year), sums.by_class(_rows(lc, r0, r1), lc_codes))
        # SOC stock per land cover class at each land cover year
        for year, (period, which) in soc_sources.items():
            lc_arr = _rows(layers[period][f"land_cover_{which}"], r0, r1)
            soc = _rows(layers[period][f"soc_{which}"], r0, r1, dtype=float)
            sums.select(territory & np.isfinite(soc))
            sums.add(("soc_area", year), sums.by_class(lc_arr, lc_codes))
            sums.add(
                ("soc_stock", year), sums.by_class(lc_arr, lc_codes, values=np.nan_to_num(soc))
            )
    return sums


def build_tables(
    cfg: Sdg1531Config,
    inputs: Inputs,
    layers: dict[str, dict[str, xr.DataArray]],
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Area tables per period, indicator, class and admin unit, with reconciliation checks.

    Every table is a sum over pixels: the maps are read a strip of rows at a time
    (:data:`TABLE_STRIP_ROWS`), the strips' sums added up, and the tables built from
    the totals.
    """
    ref = inputs.ndvi.isel(time=0, drop=True)
    res_x, res_y = (abs(v) for v in ref.rio.resolution())
    cell = np.asarray(area_mod.pixel_area_km2(ref.y.values, res_x, res_y, ref.rio.crs), dtype=float)
    cell = np.broadcast_to(cell.reshape(-1), (ref.shape[0],))
    # SOC per land cover year: from the first period (initial, then final) with that year
    soc_sources: dict[int, tuple[str, str]] = {}
    # land cover per year: the stored layer where a period has it (no recomputation)
    lc_sources: dict[int, Any] = dict(inputs.land_cover)
    for period, layer in layers.items():
        for i, which in enumerate(("initial", "final")):
            year = cfg.periods[period].land_cover[i]
            soc_sources.setdefault(year, (period, which))
            lc_sources[year] = layer[f"land_cover_{which}"]
    shape = (ref.sizes["y"], ref.sizes["x"])
    sums = _table_sums(cfg, inputs, layers, cell, shape, soc_sources, lc_sources)
    s = sums.sums

    zones: list[tuple[str, str, list[int]]] = [("ALL", "Territory", list(range(1, sums.nz)))]
    if inputs.admin_table is not None:
        for row in inputs.admin_table.itertuples(index=False):
            zones.append((str(row.admin_id), str(row.admin_name), [int(row.position)]))
    zone_area = s["zone_area"]

    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for period, layer in layers.items():
        water_area = s[("water_area", period)]
        for indicator, names in CLASS_TABLES.items():
            if indicator not in layer:
                continue
            table = s[("areas", period, indicator)]
            labels = [*names.items(), (NODATA, "No data")]
            for zone_id, zone_name, members in zones:
                z_area = float(zone_area[members].sum())
                w_area = float(water_area[members].sum())
                land = z_area - w_area
                per_class = table[members].sum(axis=0)
                for (code, cname), a in zip(labels, per_class, strict=True):
                    rows.append(
                        {
                            "period": period,
                            "admin_id": zone_id,
                            "admin_name": zone_name,
                            "indicator": indicator,
                            "class_code": code,
                            "class_name": cname,
                            "area_km2": float(a),
                            "percent_of_land": 100 * float(a) / land if land else np.nan,
                        }
                    )
                classes, nod = float(per_class[:-1].sum()), float(per_class[-1])
                checks.append(
                    {
                        "period": period,
                        "admin_id": zone_id,
                        "indicator": indicator,
                        "territory_km2": z_area,
                        "water_km2": w_area,
                        "classes_km2": classes,
                        "no_data_km2": nod,
                        "ok": bool(
                            np.isclose(
                                classes + nod + w_area, z_area, rtol=RECONCILE_RTOL, atol=1e-9
                            )
                        ),
                    }
                )
    areas = pd.DataFrame(rows)

    # SDG 15.3.1 headline per period and zone
    headline = []
    sdg = areas[areas.indicator == "sdg"]
    for (period, zid, zname), g in sdg.groupby(["period", "admin_id", "admin_name"], sort=False):
        deg = float(g.loc[g.class_code == -1, "area_km2"].sum())
        land = float(g["area_km2"].sum())
        nod = float(g.loc[g.class_code == NODATA, "area_km2"].sum())
        headline.append(
            {
                "period": period,
                "admin_id": zid,
                "admin_name": zname,
                "degraded_km2": deg,
                "land_area_km2": land,
                "no_data_km2": nod,
                "sdg_15_3_1_percent": 100 * deg / land if land else np.nan,
            }
        )
    headline_df = pd.DataFrame(headline)
    if "status3" in areas.indicator.values:
        st = areas[(areas.indicator == "status3") & (areas.class_code == -1)]
        status_deg = {(r.period, r.admin_id): r.area_km2 for r in st.itertuples()}
        base_deg = {
            r.admin_id: r.degraded_km2
            for r in headline_df[headline_df.period == cfg.baseline_name].itertuples()
        }
        headline_df["status_degraded_km2"] = [
            status_deg.get(
                (r.period, r.admin_id), r.degraded_km2 if r.period == cfg.baseline_name else np.nan
            )
            for r in headline_df.itertuples()
        ]
        headline_df["change_vs_baseline_km2"] = [
            r.status_degraded_km2 - base_deg.get(r.admin_id, np.nan)
            for r in headline_df.itertuples()
        ]

    tables: dict[str, pd.DataFrame] = {"sdg_summary": headline_df, "areas_by_class": areas}
    lc_labels = [*LC_CLASSES.items(), (NODATA, "No data")]
    # land cover area per class and year, water included (PRAIS SO1-1 T4)
    lc_rows = []
    for year in sorted(lc_sources):
        per = s[("land_cover", year)][1:].sum(axis=0)
        for (code, cname), a in zip(lc_labels, per, strict=True):
            lc_rows.append(
                {"year": year, "land_cover_code": code, "land_cover": cname, "area_km2": float(a)}
            )
    tables["land_cover_areas"] = pd.DataFrame(lc_rows)
    for period, layer in layers.items():
        y0, y1 = cfg.periods[period].land_cover
        mat = _crosstab(s[("lc_change", period)], LC_CLASSES, LC_CLASSES)
        mat.index.name = f"{y0} \\ {y1}"
        tables[f"lc_change_{period}"] = mat.reset_index()
        if "lpd5" in layer:
            m = _crosstab(s[("lpd_by_land_cover", period)], LC_CLASSES, LPD_CLASSES)
            m.index.name = f"land cover {y0} \\ LPD"
            tables[f"lpd_by_land_cover_{period}"] = m.reset_index()
        if "status7" in layer:
            m = _crosstab(s[("status_crosstab", period)], CLASS3_NAMES, CLASS3_NAMES)
            m.index.name = f"baseline \\ {period}"
            tables[f"status_crosstab_{period}"] = m.reset_index()
    # SOC stock per land cover class at each land cover year (PRAIS SO1-3 T1)
    soc_rows = []
    for year in soc_sources:
        area = s[("soc_area", year)][1:].sum(axis=0)
        stock = s[("soc_stock", year)][1:].sum(axis=0)
        for j, (code, cname) in enumerate(LC_CLASSES.items()):
            soc_rows.append(
                {
                    "year": year,
                    "land_cover_code": code,
                    "land_cover": cname,
                    "area_with_soc_km2": float(area[j]),
                    "soc_mean_t_ha": float(stock[j] / area[j]) if area[j] else np.nan,
                    "soc_total_t": float(stock[j] * 100),  # t/ha x km2 x 100 ha/km2
                }
            )
    tables["soc_stock_by_land_cover"] = pd.DataFrame(soc_rows).sort_values(
        ["year", "land_cover_code"]
    )
    if inputs.population is not None:
        prow = []
        for period in layers:
            for code, cname in CLASS3_NAMES.items():
                prow.append(
                    {
                        "period": period,
                        "class_code": code,
                        "class_name": cname,
                        "population": float(s[("population", period, code)]),
                    }
                )
        tables["population_by_sdg_class"] = pd.DataFrame(prow)
    if inputs.correction_table is not None:
        tables["corrections"] = inputs.correction_table
    tables["area_checks"] = pd.DataFrame(checks)
    meta = {
        "territory_km2": float(zone_area.sum()),
        "pixel_area": "ellipsoidal (geographic CRS)"
        if ref.rio.crs.is_geographic
        else "planar (projected CRS)",
        "all_areas_reconcile": bool(all(c["ok"] for c in checks)),
    }
    return tables, meta


# --------------------------------------------------------------------------- writing

#: Per-period layers: key -> (long name, class names, units, written by default).
LAYER_META: dict[str, tuple[str, dict[int, str] | None, str, bool]] = {
    "trajectory": ("Productivity trajectory", CLASS3_NAMES, "1", True),
    "trajectory_slope": ("Productivity trajectory OLS slope", None, "NDVI yr-1", False),
    "trajectory_p": ("Productivity trajectory Mann-Kendall p-value", None, "1", False),
    "state": ("Productivity state", CLASS3_NAMES, "1", True),
    "performance": ("Productivity performance", {-1: "Degraded", 0: "Not degraded"}, "1", True),
    "performance_ratio": ("Productivity performance ratio (mean / unit p90)", None, "1", False),
    "lpd5": ("Land productivity dynamics (5 classes)", LPD_CLASSES, "1", True),
    "lpd3": ("Land productivity degradation", CLASS3_NAMES, "1", True),
    "land_cover_transition": ("Land cover transition (10*initial + final)", None, "1", False),
    "land_cover_degradation": ("Land cover degradation", CLASS3_NAMES, "1", True),
    "soc_change_pct": ("SOC stock change", None, "%", False),
    "soc_degradation": ("SOC degradation", CLASS3_NAMES, "1", True),
    "sdg_uncorrected": ("SDG 15.3.1 before corrections", CLASS3_NAMES, "1", False),
    "sdg": ("SDG 15.3.1 indicator (one-out-all-out)", CLASS3_NAMES, "1", True),
    "status7": ("Status against baseline (7 classes)", STATUS7_CLASSES, "1", True),
    "status3": ("Status against baseline (3 classes)", CLASS3_NAMES, "1", True),
}


@dataclass
class _Map:
    """A map to write: its values (numpy, dask or a lazily read Zarr layer, read only
    when the map is written), the dtype they are written as, and its metadata."""

    values: Any
    dtype: np.dtype[Any]
    attrs: dict[str, str]


def _as_map(arr: Any, long_name: str, units: str) -> _Map:
    integer = np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool
    return _Map(
        arr,
        np.dtype(np.int16 if integer else np.float32),
        {"long_name": long_name, "units": units},
    )


def write_layers(
    layers: dict[str, dict[str, xr.DataArray]],
    inputs: Inputs,
    folder: Path,
    ref: xr.DataArray,
    provenance: dict[str, Any],
    progress: Progress,
    *,
    all_layers: bool = False,
    corrected: bool = False,
) -> list[Path]:
    """Write the maps as COGs, two at a time (GDAL compresses outside the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    jobs: list[tuple[_Map, Path, dict[int, str] | None, dict[str, Any]]] = []
    base_tags = {"landwatch_version": landwatch.__version__, "history": provenance["history"]}
    for year, lc in sorted(inputs.land_cover.items()):
        jobs.append(
            (
                _as_map(lc, f"Land cover {year} (UNCCD 7 classes)", "1"),
                folder / "land_cover" / f"land_cover_{year}.tif",
                LC_CLASSES,
                {**base_tags, "year": year, "layer": "land_cover"},
            )
        )
    for year, soc in sorted(inputs.soc_years.items()):
        jobs.append(
            (
                _as_map(soc, f"SOC stock 0-30 cm, {year}", "t C ha-1"),
                folder / "soc" / f"soc_{year}.tif",
                None,
                {**base_tags, "year": year, "layer": "soc"},
            )
        )
    for period, layer in layers.items():
        for key, (long_name, names, units, default) in LAYER_META.items():
            wanted = default or all_layers or (key == "sdg_uncorrected" and corrected)
            if key not in layer or not wanted:
                continue
            jobs.append(
                (
                    _as_map(layer[key], long_name, units),
                    folder / period / f"{key}.tif",
                    names,
                    {**base_tags, "period": period, "layer": key},
                )
            )
    for _, path, _, _ in jobs:
        path.parent.mkdir(parents=True, exist_ok=True)

    crs_wkt = ref.rio.crs.to_wkt()
    transform = tuple(ref.rio.transform())[:6]
    # each map is read inside its job, so at most two are in memory at a time
    kwargs_list = [
        {
            "arr": da.values,
            "dtype": da.dtype,
            "path": path,
            "crs_wkt": crs_wkt,
            "transform": transform,
            "nodata": NODATA if np.issubdtype(da.dtype, np.integer) else np.nan,
            "class_names": names,
            "tags": {**tags, "units": da.attrs["units"], "long_name": da.attrs["long_name"]},
            "description": da.attrs["long_name"],
        }
        for da, path, names, tags in jobs
    ]
    # The COG copy releases the GIL for part of its work: two threads gain ~25 %.
    files = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, p in enumerate(pool.map(_write_cog_job, kwargs_list), start=1):
            files.append(p)
            if i % max(1, len(jobs) // 4) == 0:
                progress.step(f"wrote {i} of {len(jobs)} maps")
    return files


def _write_cog_job(kwargs: dict[str, Any]) -> Path:
    kwargs = dict(kwargs)
    arr = np.asarray(kwargs.pop("arr")).astype(kwargs.pop("dtype"), copy=False)
    return rio_io.write_cog_array(arr=arr, **kwargs)


def _map_png(
    layers: dict[str, dict[str, xr.DataArray]], cfg: Sdg1531Config, folder: Path, ref: xr.DataArray
) -> Path:
    """Overview figure: the baseline indicator and the status of each reporting period."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    names = list(layers)
    left, bottom, right, top = ref.rio.bounds()
    unit = "deg" if ref.rio.crs.is_geographic else "m"
    fig, axes = plt.subplots(1, len(names), figsize=(4.4 * len(names), 5.0), squeeze=False)
    cmap = ListedColormap(["#d7191c", "#ffffbf", "#1a9641"])
    for ax, name in zip(axes[0], names, strict=True):
        key = "status3" if "status3" in layers[name] else "sdg"
        arr = np.asarray(layers[name][key])
        step = max(1, max(arr.shape) // 1000)
        arr = arr[::step, ::step].astype(float)
        arr[arr == NODATA] = np.nan
        ax.imshow(
            arr,
            cmap=cmap,
            vmin=-1.5,
            vmax=1.5,
            interpolation="nearest",
            extent=(left, right, bottom, top),
        )
        years = cfg.periods[name].productivity
        title = (
            f"SDG 15.3.1, {name} ({years[0]}-{years[1]})"
            if key == "sdg"
            else f"Status {name} ({years[0]}-{years[1]}) vs {cfg.baseline_name}"
        )
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(f"x ({unit})", fontsize=8)
    axes[0][0].set_ylabel(f"y ({unit}), {ref.rio.crs.to_string()}", fontsize=8)
    fig.legend(
        handles=[
            Patch(facecolor="#d7191c", edgecolor="k", label="Degraded"),
            Patch(facecolor="#ffffbf", edgecolor="k", label="Stable"),
            Patch(facecolor="#1a9641", edgecolor="k", label="Improved"),
            Patch(facecolor="white", edgecolor="k", label="No data / water"),
        ],
        loc="lower center",
        ncol=4,
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    p = folder / "sdg1531_map.png"
    fig.savefig(p, dpi=90)
    plt.close(fig)
    return p


def _input_files(cfg: Sdg1531Config) -> dict[str, Path]:
    """Every input file of a run, by role."""
    files: dict[str, Path] = {
        "ndvi": cfg.ndvi,
        "soc": cfg.soc,
        **{f"land_cover_{y}": p for y, p in cfg.land_cover.items()},
    }
    for key in (
        "precipitation",
        "land_cover_nesting",
        "transition_matrix",
        "climate_zones",
        "soil_units",
        "ecological_units",
        "population",
        "admin",
        "corrections",
    ):
        if getattr(cfg, key) is not None:
            files[key] = getattr(cfg, key)
    for k, p in (cfg.lpd or {}).items():
        files[f"lpd_{k}"] = p
    return files


def _input_record(cfg: Sdg1531Config, p: Path) -> dict[str, str]:
    if str(p) == "esa_cci":
        return {"path": "landwatch/data/lc_nesting_esa_cci.csv (packaged)"}
    full = cfg.path(p)
    assert full is not None
    return {"path": str(full), "sha256": out_io.sha256_of(full)}


def run_sdg1531(
    cfg: Sdg1531Config,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run the full SDG 15.3.1 assessment and write one output folder.

    Outputs: a COG per sub-indicator, indicator and status per period; area tables as
    CSV/XLSX/JSON; ``summary.json``; ``manifest.json`` with input checksums and
    parameters. The folder appears only when the whole run succeeded. A chunked run
    (``cfg.chunks``) keeps its intermediate layers in a Zarr store in a hidden folder
    beside ``out_dir``, removed when the run ends.
    """
    if not cfg.chunks:
        return _run_sdg1531(cfg, Path(out_dir), overwrite=overwrite, progress=progress)
    parent = Path(out_dir).resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{Path(out_dir).name}.scratch-", dir=parent))
    try:
        return _run_sdg1531(
            cfg, Path(out_dir), overwrite=overwrite, progress=progress, scratch=scratch
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_sdg1531(
    cfg: Sdg1531Config,
    out_dir: Path,
    *,
    overwrite: bool,
    progress: Progress | None,
    scratch: Path | None = None,
) -> RunResult:
    progress = progress or NullProgress()
    n_periods = len(cfg.periods)
    progress.start(4 + 1 + 1 + n_periods + (1 if n_periods > 1 else 0) + 1 + 4 + 1)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise InputError(
            f"output folder {str(out_dir)!r} already exists. Choose another --out or pass --overwrite."
        )
    # checksums of the inputs for the manifest, computed alongside the run (I/O bound)
    hasher = ThreadPoolExecutor(max_workers=1)
    hashes = {k: hasher.submit(_input_record, cfg, p) for k, p in _input_files(cfg).items()}
    try:
        inputs = load_inputs(cfg, progress)
        layers = compute(cfg, inputs, progress, scratch=scratch)
    except BaseException:
        for f in hashes.values():
            f.cancel()
        hasher.shutdown(wait=False)
        raise
    tables, meta = build_tables(cfg, inputs, layers)
    release_free_memory()
    progress.step("area tables")
    params = cfg.model_dump(mode="json")
    history = f"landwatch {landwatch.__version__} sdg1531 {started.isoformat(timespec='seconds')}"
    ref = inputs.ndvi.isel(time=0, drop=True)
    with out_io.atomic_output_dir(out_dir, overwrite=overwrite) as tmp:
        files = write_layers(
            layers,
            inputs,
            tmp / "maps",
            ref,
            {"history": history},
            progress,
            all_layers=cfg.all_layers,
            corrected=inputs.corrections is not None,
        )
        files += out_io.write_tables(tables, tmp / "tables")
        files.append(_map_png(layers, cfg, tmp, ref))
        summary = {
            "landwatch_version": landwatch.__version__,
            "baseline": cfg.baseline_name,
            "periods": {k: v.model_dump(mode="json") for k, v in cfg.periods.items()},
            **meta,
            "sdg_summary": tables["sdg_summary"].to_dict(orient="records"),
            "area_check_failures": [
                c for c in tables["area_checks"].to_dict(orient="records") if not c["ok"]
            ],
        }
        files.append(out_io.write_json(summary, tmp / "summary.json"))
        manifest = {
            "tool": "landwatch",
            "version": landwatch.__version__,
            "workflow": "sdg1531",
            "started": started.isoformat(),
            "finished": dt.datetime.now(dt.UTC).isoformat(),
            "wall_time_s": round(time.perf_counter() - t0, 3),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "numpy": np.__version__,
            "xarray": xr.__version__,
            "parameters": params,
            "inputs": {k: f.result() for k, f in hashes.items()},
            "outputs": sorted(str(f.relative_to(tmp)) for f in files),
        }
        out_io.write_json(manifest, tmp / "manifest.json")
        hasher.shutdown()
        progress.step("summary and manifest")
    final = [out_dir / f.relative_to(tmp) for f in files]
    return RunResult(out_dir=out_dir, summary=summary, tables=tables, files=final)
