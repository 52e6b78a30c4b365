"""UNCCD Strategic Objective 3 (drought): hazard, exposure, vulnerability and drought
events for reporting, from monthly precipitation, a population grid and admin units.

``landwatch drought so3`` calls :func:`run_so3`; it computes nothing itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

import landwatch
from landwatch.errors import InputError
from landwatch.indices.drought import (
    december_spi,
    drought_area_fraction,
    drought_event_catalog,
    drought_hazard_class,
    drought_vulnerability_index,
    exposure_table,
    hazard_table,
    regional_drought_events,
    so3_period_summary,
    standardized_precipitation_index,
    vulnerability_table,
)
from landwatch.indices.land.area import pixel_area_km2
from landwatch.io import outputs as out_io
from landwatch.io import rasters as rio_io
from landwatch.io import vectors as vec_io
from landwatch.workflows.progress import NullProgress, Progress

DEFAULT_PERIODS: dict[str, tuple[int, int]] = {"report_1": (2016, 2019), "report_2": (2016, 2023)}


@dataclass
class So3Result:
    out_dir: Path
    tables: dict[str, pd.DataFrame]
    files: list[Path]


def _read_admin(
    admin: Path | None, id_field: str, name_field: str, layer: str | None
) -> tuple[Any, dict[int, str]]:
    """Admin polygons (or None) and their names by 1-based position."""
    if admin is None:
        return None, {}
    gdf = vec_io.read_vector(admin, name="admin", layer=layer)
    for fld in (id_field, name_field):
        if fld not in gdf.columns:
            raise InputError(
                f"admin: {admin.name} has no field {fld!r}; fields are "
                f"{[c for c in gdf.columns if c != 'geometry']}. Pass --admin-id-field/--admin-name-field."
            )
    names = {i + 1: f"{gdf[id_field].iloc[i]} {gdf[name_field].iloc[i]}" for i in range(len(gdf))}
    return gdf, names


def _zones_on(grid: xr.DataArray, gdf: Any) -> xr.DataArray | None:
    """Admin positions (1..n, 0 outside) burnt onto ``grid``."""
    if gdf is None:
        return None
    ids = vec_io.rasterize_ids(gdf, grid)
    return xr.DataArray(ids, dims=("y", "x"), coords={"y": grid.y, "x": grid.x})


def run_so3(
    climate: str | Path,
    out_dir: str | Path,
    *,
    population: str | Path,
    population_female: str | Path | None = None,
    population_male: str | Path | None = None,
    admin: str | Path | None = None,
    admin_layer: str | None = None,
    admin_id_field: str = "admin_id",
    admin_name_field: str = "name",
    pr_variable: str = "pr",
    vulnerability: Mapping[str, Any] | None = None,
    scheme: str = "prais",
    calibration: tuple[int, int] | None = (1981, 2010),
    baseline: tuple[int, int] = (2000, 2015),
    periods: Mapping[str, tuple[int, int]] | None = None,
    event_threshold: float = -1.0,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> So3Result:
    """SO3-1 hazard, SO3-2 exposure, SO3-3 vulnerability and drought events.

    Steps: SPI-12 from monthly ``pr`` (gamma, Thom; calibration 1981-2010); the SPI-12
    of each December gives the year's hazard class (PRAIS edges by default); the class
    map is put on the population grid by nearest neighbour (as PRAIS resamples hazard to
    the population grid; population is never resampled); areas per class, year and
    admin unit on the ellipsoid; population per class (by sex when given); the
    Drought Vulnerability Index from user indicators when given; baseline vs reporting
    periods; drought events by run theory on SPI-3 (threshold -1) per cell and per
    admin unit (area fraction in drought >= 20 %).

    ``vulnerability``: ``{"indicators": {name: raster path}, "groups": {group: [names]},
    "directions": {name: +1|-1}, "weights": {...}}`` (rasters on the population grid).
    """
    progress = progress or NullProgress()
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise InputError(
            f"output folder {str(out_dir)!r} already exists. Choose another --out or pass --overwrite."
        )
    progress.start(8)
    pr = rio_io.open_raster(Path(climate), name="precipitation", variable=pr_variable)
    if "time" not in pr.dims:
        raise InputError(
            f"precipitation: {Path(climate).name} has no time dimension; expected monthly (time, y, x)."
        )
    pr.attrs.setdefault("units", "mm/month")
    pop = rio_io.open_raster(Path(population), name="population").load()
    if "time" in pop.dims:
        raise InputError("population: expected one population map (y, x); give one year.")
    pop = pop.where(pop >= 0)
    progress.step("read precipitation and population")

    spi12 = standardized_precipitation_index(pr, scale=12, calibration=calibration).compute()
    spi3 = standardized_precipitation_index(pr, scale=3, calibration=calibration).compute()
    progress.step("SPI-12 and SPI-3")
    dec = december_spi(spi12)
    classes_coarse = drought_hazard_class(dec, scheme=scheme)  # type: ignore[arg-type]
    # hazard onto the population grid: nearest neighbour, year by year
    years = dec["year"].values.tolist()
    fine = []
    for i in range(len(years)):
        c = classes_coarse.isel(year=i).astype(np.int16)
        c.attrs["nodata"] = -32768
        c = c.rio.write_crs(pr.rio.crs) if c.rio.crs is None else c
        fine.append(rio_io.align_to(pop, c, categorical=True).astype(np.int16))
    classes = xr.concat(fine, dim="year").assign_coords(year=years)
    progress.step("hazard classes on the population grid")

    res_x, res_y = (abs(v) for v in pop.rio.resolution())
    area = pixel_area_km2(pop.y.values, res_x, res_y, pop.rio.crs)
    admin_gdf, zone_names = _read_admin(
        Path(admin) if admin else None, admin_id_field, admin_name_field, admin_layer
    )
    zones = _zones_on(pop, admin_gdf)
    tables: dict[str, pd.DataFrame] = {}
    tables["so3_1_hazard"] = hazard_table(classes, area, zones=zones, zone_names=zone_names or None)
    tables["so3_1_periods"] = so3_period_summary(
        tables["so3_1_hazard"], baseline=baseline, periods=dict(periods or DEFAULT_PERIODS)
    )
    progress.step("SO3-1 hazard tables")
    female = (
        rio_io.open_raster(Path(population_female), name="population_female").load()
        if population_female
        else None
    )
    male = (
        rio_io.open_raster(Path(population_male), name="population_male").load()
        if population_male
        else None
    )
    for name, extra in (("population_female", female), ("population_male", male)):
        if extra is not None:
            rio_io.check_same_grid(pop, extra, ref_name="population", name=name)
    tables["so3_2_exposure"] = exposure_table(
        classes,
        pop.fillna(0),
        zones=zones,
        zone_names=zone_names or None,
        population_female=female.fillna(0).assign_coords(y=pop.y, x=pop.x)
        if female is not None
        else None,
        population_male=male.fillna(0).assign_coords(y=pop.y, x=pop.x)
        if male is not None
        else None,
    )
    progress.step("SO3-2 exposure")
    if vulnerability:
        indicators = {
            k: rio_io.open_raster(Path(p), name=f"vulnerability indicator {k}").load()
            for k, p in vulnerability["indicators"].items()
        }
        for k, da in indicators.items():
            rio_io.check_same_grid(pop, da, ref_name="population", name=f"indicator {k}")
        indicators = {k: da.assign_coords(y=pop.y, x=pop.x) for k, da in indicators.items()}
        dvi = drought_vulnerability_index(
            indicators,
            groups=vulnerability["groups"],
            directions=vulnerability["directions"],
            weights=vulnerability.get("weights"),
        )
        tables["so3_3_vulnerability"] = vulnerability_table(
            dvi["dvi"], zones, zone_names or None, area_km2=area
        )
    progress.step("SO3-3 vulnerability" if vulnerability else "SO3-3 skipped (no indicators)")

    catalog = drought_event_catalog(spi3, threshold=event_threshold)
    tables["drought_events_cells"] = catalog
    regional = []
    cres_x, cres_y = (abs(v) for v in pr.rio.resolution())
    coarse_area = pixel_area_km2(pr.y.values, cres_x, cres_y, pr.rio.crs)
    coarse_zones = _zones_on(pr.isel(time=0, drop=True), admin_gdf)
    zone_items = list(zone_names.items()) if zone_names else [(0, "ALL")]
    for zid, zname in zone_items:
        mask = None if coarse_zones is None else (coarse_zones == zid)
        if mask is not None and not bool(mask.any()):
            continue
        frac = drought_area_fraction(
            spi3,
            threshold=event_threshold,
            area=coarse_area.broadcast_like(spi3.isel(time=0, drop=True)),
            mask=mask,
        )
        ev = regional_drought_events(frac)
        ev.insert(0, "zone", zname)
        regional.append(ev)
    tables["drought_events_regional"] = (
        pd.concat(regional, ignore_index=True) if regional else pd.DataFrame()
    )
    progress.step("drought events")

    with out_io.atomic_output_dir(out_dir, overwrite=overwrite) as tmp:
        files = out_io.write_tables(tables, tmp / "tables")
        files.append(
            vec_io.write_points_geojson(
                catalog, tmp / "drought_events_cells.geojson", crs=pr.rio.crs
            )
        )
        classes_path = tmp / "hazard_classes.nc"
        ds = classes.to_dataset(name="drought_hazard_class").drop_vars(
            "spatial_ref", errors="ignore"
        )
        ds = ds.rio.write_crs(pop.rio.crs)
        attrs = {
            k: v
            for k, v in ds["drought_hazard_class"].attrs.items()
            if k not in ("_FillValue", "nodata")
        }
        attrs.update(
            {
                "grid_mapping": "spatial_ref",
                "scheme": scheme,
                "long_name": "drought hazard class of December SPI-12",
            }
        )
        ds["drought_hazard_class"].attrs = attrs
        ds.to_netcdf(
            classes_path, encoding={"drought_hazard_class": {"zlib": True, "_FillValue": -32768}}
        )
        files.append(classes_path)
        manifest = {
            "tool": "landwatch",
            "version": landwatch.__version__,
            "workflow": "so3",
            "finished": dt.datetime.now(dt.UTC).isoformat(),
            "inputs": {"climate": str(climate), "population": str(population), "admin": str(admin)},
            "parameters": {
                "scheme": scheme,
                "calibration": calibration,
                "baseline": baseline,
                "periods": dict(periods or DEFAULT_PERIODS),
                "event_threshold": event_threshold,
                "spi": "SPI-12 (hazard, December) and SPI-3 (events), gamma, Thom",
            },
            "outputs": sorted(str(f.relative_to(tmp)) for f in files),
        }
        out_io.write_json(manifest, tmp / "manifest.json")
    progress.step("wrote tables")
    return So3Result(
        out_dir=out_dir, tables=tables, files=[out_dir / f.relative_to(tmp) for f in files]
    )
