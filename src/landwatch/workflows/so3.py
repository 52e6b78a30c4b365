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

import dask
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
from landwatch.indices.drought.so3 import (
    PRAIS_MAP_PERIODS,
    drought_class_table,
    drought_totals_table,
    land_area_table,
    most_severe_drought_class,
    most_severe_exposure_table,
    most_severe_hazard_table,
    water_mask_from_land_cover,
)
from landwatch.indices.land.area import pixel_area_km2
from landwatch.indices.land.codes import LC_WATER, NODATA
from landwatch.io import outputs as out_io
from landwatch.io import rasters as rio_io
from landwatch.io import vectors as vec_io
from landwatch.workflows.cluster import spatial_chunks, time_series_cube
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


def _water(
    pop: xr.DataArray,
    land_cover: Path | None,
    water_mask: Path | None,
    water_codes: tuple[int, ...],
    align: bool,
) -> xr.DataArray | None:
    """True = water: land cover classes ``water_codes`` and/or the cells a water-mask
    raster marks non-zero (its no data is land); None when neither is given."""
    water = None
    if land_cover is not None:
        lc = rio_io.open_on_grid(
            pop, land_cover, "land_cover", align=align, categorical=True, ref_name="population"
        )
        water = water_mask_from_land_cover(lc, water_codes)
    if water_mask is not None:
        wm = rio_io.open_on_grid(
            pop, water_mask, "water_mask", align=align, categorical=True, ref_name="population"
        )
        nodata = wm.attrs.get("nodata")
        wet = wm.fillna(0) != 0
        if nodata is not None and not np.isnan(nodata):
            wet &= wm != nodata
        water = wet if water is None else (water | wet)
    return None if water is None else water.rename("water").assign_coords(y=pop.y, x=pop.x)


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
    map_periods: Mapping[str, tuple[int, int]] | None = None,
    land_cover: str | Path | None = None,
    water_mask: str | Path | None = None,
    water_codes: tuple[int, ...] = (LC_WATER,),
    align: bool = False,
    event_threshold: float = -1.0,
    overwrite: bool = False,
    progress: Progress | None = None,
    chunks: int | None = None,
    memory_budget: int | None = None,
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
    "directions": {name: +1|-1}, "weights": {...} or "dea"}`` (rasters on the population
    grid; ``"dea"``: Data Envelopment Analysis weights as the JRC global DVI).

    Water: cells of class ``water_codes`` (default 7, UNCCD water body) in the
    ``land_cover`` raster and/or non-zero cells of the ``water_mask`` raster are left out
    of every area and population (land area is the denominator of SO3-1, as PRAIS
    CP-1.T1 separates land from water) and are no data in the maps. Both rasters must be
    on the population grid, or be resampled to it by nearest neighbour with ``align``.
    With neither, no cell is water (the whole territory counts as land) and the
    manifest says so.

    Maps: for each of ``map_periods`` (default the PRAIS 4-year periods 2000-2003 ...
    2020-2023) the most severe hazard class of each cell (class of the lowest December
    SPI-12 of the period's years) as a COG ``maps/most_severe_<period>.tif``, with area
    and population tables per class, period and admin unit.

    ``chunks``: spatial dask chunks of the climate cube (None: in memory); the SPI runs
    on the active Dask scheduler. A cube over ``memory_budget`` bytes is rechunked
    through a temporary Zarr store next to ``out_dir``
    (:func:`landwatch.workflows.cluster.time_series_cube`).
    """
    progress = progress or NullProgress()
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise InputError(
            f"output folder {str(out_dir)!r} already exists. Choose another --out or pass --overwrite."
        )
    progress.start(8)
    pr = rio_io.open_raster(
        Path(climate), name="precipitation", variable=pr_variable, chunks=spatial_chunks(chunks)
    )
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

    with time_series_cube(pr, work_dir=out_dir.parent, budget=memory_budget) as series:
        spi12 = standardized_precipitation_index(series, scale=12, calibration=calibration)
        spi3 = standardized_precipitation_index(series, scale=3, calibration=calibration)
        spi12, spi3 = dask.compute(spi12, spi3)
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

    water = _water(
        pop,
        Path(land_cover) if land_cover else None,
        Path(water_mask) if water_mask else None,
        tuple(int(c) for c in water_codes),
        align,
    )
    res_x, res_y = (abs(v) for v in pop.rio.resolution())
    area = pixel_area_km2(pop.y.values, res_x, res_y, pop.rio.crs)
    admin_gdf, zone_names = _read_admin(
        Path(admin) if admin else None, admin_id_field, admin_name_field, admin_layer
    )
    zones = _zones_on(pop, admin_gdf)
    names = zone_names or None
    tables: dict[str, pd.DataFrame] = {}
    tables["so3_land_area"] = land_area_table(
        classes.isel(year=0, drop=True), area, zones, names, water
    )
    tables["so3_1_hazard"] = hazard_table(classes, area, zones, names, water_mask=water)
    tables["so3_1_drought_totals"] = drought_totals_table(tables["so3_1_hazard"])
    tables["so3_1_periods"] = so3_period_summary(
        tables["so3_1_hazard"], baseline=baseline, periods=dict(periods or DEFAULT_PERIODS)
    )
    worst = most_severe_drought_class(classes, dict(map_periods or PRAIS_MAP_PERIODS))
    tables["so3_1_most_severe"] = most_severe_hazard_table(
        worst, area, zones, names, water_mask=water
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
    by_sex: dict[str, Any] = {
        "population": pop.fillna(0),
        "population_female": female.fillna(0).assign_coords(y=pop.y, x=pop.x)
        if female is not None
        else None,
        "population_male": male.fillna(0).assign_coords(y=pop.y, x=pop.x)
        if male is not None
        else None,
    }
    tables["so3_2_exposure"] = exposure_table(
        classes, zones=zones, zone_names=names, water_mask=water, **by_sex
    )
    tables["so3_2_drought_totals"] = drought_totals_table(tables["so3_2_exposure"])
    tables["so3_2_most_severe"] = most_severe_exposure_table(
        worst, zones=zones, zone_names=names, water_mask=water, **by_sex
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
        files += _write_maps(worst, water, pop, tmp / "maps", scheme=scheme)
        classes_path = tmp / "hazard_classes.nc"
        if water is not None:  # water is no data in every map
            classes = classes.where(~water, NODATA).astype(np.int16)
        ds = classes.to_dataset(name="drought_hazard_class").drop_vars(
            "spatial_ref", errors="ignore"
        )
        ds = ds.rio.write_crs(pop.rio.crs).rio.write_transform(pop.rio.transform())
        # CF coordinate attributes, so GDAL (and the map service) can place the grid
        geographic = bool(pop.rio.crs and pop.rio.crs.is_geographic)
        ds["x"].attrs.update(
            {"standard_name": "longitude", "units": "degrees_east"}
            if geographic
            else {"standard_name": "projection_x_coordinate", "units": "m"}
        )
        ds["y"].attrs.update(
            {"standard_name": "latitude", "units": "degrees_north"}
            if geographic
            else {"standard_name": "projection_y_coordinate", "units": "m"}
        )
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
            "inputs": {
                "climate": str(climate),
                "population": str(population),
                "admin": str(admin),
                "land_cover": str(land_cover) if land_cover else None,
                "water_mask": str(water_mask) if water_mask else None,
            },
            "parameters": {
                "scheme": scheme,
                "calibration": calibration,
                "baseline": baseline,
                "periods": dict(periods or DEFAULT_PERIODS),
                "map_periods": dict(map_periods or PRAIS_MAP_PERIODS),
                "water": _water_note(land_cover, water_mask, water_codes),
                "align": align,
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


def _water_note(
    land_cover: str | Path | None, water_mask: str | Path | None, water_codes: tuple[int, ...]
) -> str:
    parts = []
    if land_cover:
        parts.append(f"land cover classes {list(water_codes)} of {Path(land_cover).name}")
    if water_mask:
        parts.append(f"non-zero cells of {Path(water_mask).name}")
    return (
        "excluded: " + " and ".join(parts)
        if parts
        else "none given: every cell counted as land (pass land_cover or water_mask)"
    )


def _write_maps(
    worst: xr.DataArray, water: xr.DataArray | None, pop: xr.DataArray, folder: Path, *, scheme: str
) -> list[Path]:
    """One COG per period of the most severe class (water = no data), and the water mask."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {
        int(r.code): str(r.name)
        for r in drought_class_table(scheme).itertuples()  # type: ignore[arg-type]
    }
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    files = []
    for i, period in enumerate(worst["period"].values):
        m = worst.isel(period=i, drop=True)
        if water is not None:
            m = m.where(~water, NODATA)
        m = m.astype(np.int16).rio.write_crs(pop.rio.crs)
        start, end = int(worst["period_start"][i]), int(worst["period_end"][i])
        n_years = int(worst["n_years"][i])
        tags = {
            "period": str(period),
            "first_year": start,
            "last_year": end,
            "n_years": n_years,
            "scheme": scheme,
            "rule": "most severe class of the period = class of the lowest December SPI-12 "
            "of its years (PRAIS 4 SO3-1 maps)",
            "history": f"{stamp} landwatch {landwatch.__version__} drought so3",
        }
        m.attrs = {"long_name": f"most severe drought hazard class {period}", "units": "1"}
        files.append(
            rio_io.write_cog(
                m, folder / f"most_severe_{period}.tif", nodata=NODATA, class_names=names, tags=tags
            )
        )
    if water is not None:
        wm = water.astype(np.uint8).rio.write_crs(pop.rio.crs)
        wm.attrs = {"long_name": "water mask (1 = water, left out of SO3 areas)", "units": "1"}
        files.append(
            rio_io.write_cog(
                wm,
                folder / "water_mask.tif",
                nodata=255,
                class_names={0: "Land", 1: "Water"},
                tags={"history": f"{stamp} landwatch {landwatch.__version__} drought so3"},
            )
        )
    return files
