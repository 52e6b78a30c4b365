"""Map layers and data of published runs: runs, tables, layers, tiles, previews, values,
time series and zonal statistics (``docs/api.md``, "Layers and data").

Thin: the catalog of runs and layers is :mod:`landwatch.api.catalog`, rendering and
point reads :mod:`landwatch.api.tiles`, polygon statistics :mod:`landwatch.api.zonal`.
All routes are public reads (``POST /zonal`` computes, it writes nothing).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from landwatch.api.catalog import Catalog, Layer, read_table, run_input, run_parameter
from landwatch.api.deps import get_settings
from landwatch.api.settings import Settings
from landwatch.api.tiles import MAX_PREVIEW_WIDTH, TILE_CACHE, point_series, point_value
from landwatch.api.tiles import render_preview as _render_preview
from landwatch.api.tiles import render_tile as _render_tile
from landwatch.api.zonal import PolygonTooComplex, parse_polygon, zonal_statistics
from landwatch.errors import InputError, NotFoundError

router = APIRouter(tags=["layers"])

PNG = "image/png"
_PNG_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {PNG: {}}, "description": "PNG image"}
}


def router_setup(app: FastAPI) -> None:
    """One catalog per app; polygons with too many vertices are 413."""
    settings: Settings = app.state.settings
    app.state.layer_catalog = Catalog(settings.runs, settings.jobs_dir)
    TILE_CACHE.resize(settings.tile_cache_mb * 2**20)

    def too_complex(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            status_code=413, content={"detail": str(exc), "type": type(exc).__name__}
        )

    app.add_exception_handler(PolygonTooComplex, too_complex)


def get_catalog(request: Request) -> Catalog:
    """The app's catalog of runs and layers (made on first use if the app has none)."""
    catalog: Catalog | None = getattr(request.app.state, "layer_catalog", None)
    if catalog is None:
        settings: Settings = request.app.state.settings
        catalog = Catalog(settings.runs, settings.jobs_dir)
        request.app.state.layer_catalog = catalog
    return catalog


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TimeQuery = Annotated[
    str | None,
    Query(
        description="Band time of a multi-band layer (one of its `times`, or a unique "
        "prefix such as `2017-03`); default the last.",
        examples=["2017-03-01"],
    ),
]


# --------------------------------------------------------------------------------------
# bodies
# --------------------------------------------------------------------------------------


class RunOut(BaseModel):
    """A published run."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "sdg1531",
                    "workflow": "sdg1531",
                    "title": "SDG 15.3.1 (sdg1531)",
                    "path_name": "sdg1531",
                    "periods": ["baseline", "report_1", "report_2"],
                }
            ]
        }
    )

    id: str
    workflow: str
    title: str
    path_name: str = Field(description="Name of the run folder.")
    periods: list[str]


class LegendClassOut(BaseModel):
    value: int | None = Field(description="Class code; null = every value (patch ids).")
    label: str
    color: str = Field(examples=["#9b2779"])


class LegendRampOut(BaseModel):
    min: float
    max: float
    colormap: str = Field(description="matplotlib colormap name", examples=["BrBG"])
    colors: list[str] = Field(description="9 colours from min to max, to draw a colour bar.")


class LayerOut(BaseModel):
    """A map layer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "sdg1531/maps/report_1/sdg",
                    "run": "sdg1531",
                    "title": "SDG 15.3.1 indicator (one-out-all-out)",
                    "group": "SDG 15.3.1",
                    "period": "report_1",
                    "kind": "categorical",
                    "units": "1",
                    "bounds": [37.0, -1.9, 37.9, -1.0],
                    "times": None,
                    "legend": [
                        {"value": -1, "label": "Degraded", "color": "#9b2779"},
                        {"value": 0, "label": "Stable", "color": "#ffffe0"},
                        {"value": 1, "label": "Improved", "color": "#006500"},
                    ],
                }
            ]
        }
    )

    id: str
    run: str
    title: str
    group: str
    period: str | None
    kind: Literal["categorical", "continuous"]
    units: str | None
    bounds: list[float] = Field(description="[west, south, east, north], WGS84 degrees")
    times: list[str] | None = Field(description="ISO dates (or years) of the bands, or null")
    legend: list[LegendClassOut] | LegendRampOut


class ValueOut(BaseModel):
    value: float | int | None = Field(description="null on no-data pixels")
    label: str | None = Field(description="class name of categorical layers")
    units: str | None


class TimeseriesOut(BaseModel):
    variable: str
    units: str | None
    times: list[str]
    values: list[float | None]
    source: str | None = Field(
        default=None, description="the layer id (spi) or the run input (ndvi) read"
    )


class ZonalIn(BaseModel):
    """A polygon over a layer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "layer": "sdg1531/maps/report_1/sdg",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [[37.1, -1.5], [37.3, -1.5], [37.3, -1.3], [37.1, -1.3], [37.1, -1.5]]
                        ],
                    },
                }
            ]
        }
    )

    layer: str
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, WGS84")
    time: str | None = None


class ZonalClassOut(BaseModel):
    value: int
    label: str | None
    area_km2: float
    percent: float = Field(description="share of area_km2, 0-100")
    population: float | None


class ZonalStatsOut(BaseModel):
    mean: float | None = Field(description="area-weighted mean")
    min: float | None
    max: float | None


class ZonalOut(BaseModel):
    """Area per class (categorical) or mean/min/max (continuous) inside the polygon.

    Pixels count when their centre is inside the polygon; areas are ellipsoidal.
    ``area_km2`` is the area of those pixels that have data.
    """

    area_km2: float
    classes: list[ZonalClassOut] | ZonalStatsOut
    population: float | None = Field(
        description="persons on the pixels inside the polygon (the run's population raster, "
        "when on the layer's grid), else null"
    )


# --------------------------------------------------------------------------------------
# runs and tables
# --------------------------------------------------------------------------------------


@router.get("/runs", summary="Published runs", response_model=list[RunOut])
def list_runs(catalog: CatalogDep) -> list[dict[str, Any]]:
    """Folders of ``LANDWATCH_RUNS`` (id = folder name) and outputs of successful jobs
    (id ``job-<id>``)."""
    return [r.to_dict() for r in catalog.runs()]


@router.get("/runs/{run}/tables", summary="Names of a run's tables", response_model=list[str])
def list_tables(run: str, catalog: CatalogDep) -> list[str]:
    """Names of the CSV tables under the run's ``tables/`` folder."""
    return sorted(catalog.run(run).tables)


@router.get(
    "/runs/{run}/tables/{name}",
    summary="A table of a run as JSON records",
    response_model=list[dict[str, Any]],
)
def get_table(
    run: str,
    name: str,
    catalog: CatalogDep,
    admin: Annotated[
        str | None,
        Query(
            description="Only the rows of this admin unit (admin_id, admin_name, zone, "
            "unit_id or unit_name column)"
        ),
    ] = None,
) -> JSONResponse:
    """The rows of ``tables/<name>.csv`` (empty cells are null)."""
    return JSONResponse(read_table(catalog.table(run, name), admin=admin))


# --------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------


@router.get("/layers", summary="Map layers of every run", response_model=list[LayerOut])
def list_layers(
    catalog: CatalogDep,
    run: Annotated[str | None, Query(description="Only the layers of this run")] = None,
) -> list[dict[str, Any]]:
    """Every raster of every run: ``maps/**/*.tif``, top-level ``*.tif`` and the gridded
    variables of top-level NetCDF files (id ``<run>/<file>/<variable>``)."""
    return [lyr.to_dict() for lyr in catalog.layers(run)]


@router.get(
    "/layers/{layer_id:path}/legend",
    summary="Legend of a layer",
    response_model=list[LegendClassOut] | LegendRampOut,
)
def layer_legend(layer_id: str, catalog: CatalogDep) -> Any:
    return catalog.layer(layer_id).legend()


@router.get(
    "/layers/{layer_id:path}/preview.png",
    summary="PNG of the whole layer, with its legend",
    response_class=Response,
    responses=_PNG_RESPONSE,
)
def layer_preview(
    layer_id: str,
    catalog: CatalogDep,
    time: TimeQuery = None,
    width: Annotated[int, Query(ge=16, le=MAX_PREVIEW_WIDTH, description="map width, px")] = 800,
    legend: Annotated[bool, Query(description="draw title and legend beside the map")] = True,
) -> Response:
    """The whole layer in its own CRS, ``width`` px wide; with ``legend`` (default) its
    title and legend are drawn beside it."""
    png = _render_preview(catalog.layer(layer_id), time=time, width=width, legend=legend)
    return Response(png, media_type=PNG, headers={"Cache-Control": "public, max-age=60"})


@router.get(
    "/layers/{layer_id:path}/tiles/{z}/{x}/{y}.png",
    summary="XYZ tile (WebMercator, 256 px; transparent outside the data)",
    response_class=Response,
    responses=_PNG_RESPONSE,
)
def layer_tile(
    layer_id: str, z: int, x: int, y: int, catalog: CatalogDep, time: TimeQuery = None
) -> Response:
    """256 px PNG of XYZ tile ``z/x/y`` (WebMercator); categorical layers in their colour
    table, continuous ones on their colormap; no data and outside are transparent."""
    png = _render_tile(catalog.layer(layer_id), z, x, y, time=time)
    return Response(png, media_type=PNG, headers={"Cache-Control": "public, max-age=60"})


@router.get(
    "/layers/{layer_id:path}/value",
    summary="Value (and class label) at a point",
    response_model=ValueOut,
)
def layer_value(
    layer_id: str,
    catalog: CatalogDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    time: TimeQuery = None,
) -> dict[str, Any]:
    """The pixel under ``lon``/``lat`` (WGS84): value (null on no data), class label and
    units. A point outside the layer is 404."""
    return point_value(catalog.layer(layer_id), lon, lat, time=time)


@router.get("/layers/{layer_id:path}", summary="One layer", response_model=LayerOut)
def get_layer(layer_id: str, catalog: CatalogDep) -> dict[str, Any]:
    return catalog.layer(layer_id).to_dict()


# --------------------------------------------------------------------------------------
# time series and zonal statistics
# --------------------------------------------------------------------------------------


def _spi_layer(catalog: Catalog, run: str, scale: int | None) -> Layer:
    def months(lyr: Layer) -> int:
        m = re.search(r"(\d+)", lyr.name)
        return int(m.group(1)) if m else 0

    found = [
        lyr
        for lyr in catalog.layers(run)
        if lyr.times and lyr.name.lower().startswith("spi") and not lyr.categorical
    ]
    if scale is not None:
        found = [lyr for lyr in found if months(lyr) == scale]
    if not found:
        what = f"SPI-{scale} " if scale is not None else "SPI "
        raise InputError(
            f"run {run!r} has no {what}layer with times (a monthly SPI NetCDF or multi-band "
            "COG); choose a drought run (GET /runs)."
        )
    return sorted(found, key=lambda lyr: (months(lyr), lyr.id))[0]


def _ndvi_series(
    catalog: Catalog, run: str, lon: float, lat: float
) -> tuple[str | None, list[str], list[float | None]]:
    import numpy as np
    from pyproj import Transformer

    from landwatch.api.catalog import iso_time
    from landwatch.io.rasters import open_raster

    r = catalog.run(run)
    path = run_input(r, "ndvi")
    if path is None:
        raise InputError(
            f"run {run!r} names no NDVI input (manifest inputs.ndvi); choose an sdg1531 run."
        )
    variable = run_parameter(r, "ndvi_variable")
    da = open_raster(path, name="ndvi", variable=variable if isinstance(variable, str) else None)
    x, y = lon, lat
    if da.rio.crs is not None and da.rio.crs.to_epsg() != 4326:
        x, y = Transformer.from_crs("EPSG:4326", da.rio.crs, always_xy=True).transform(lon, lat)
    xs, ys = np.asarray(da.x), np.asarray(da.y)
    hx = abs(float(xs[1] - xs[0])) / 2 if xs.size > 1 else 0.5
    hy = abs(float(ys[1] - ys[0])) / 2 if ys.size > 1 else 0.5
    if not (xs.min() - hx <= x <= xs.max() + hx and ys.min() - hy <= y <= ys.max() + hy):
        raise NotFoundError(
            f"point ({lon}, {lat}) is outside the NDVI of run {run!r}; pick a point inside "
            "the run's area."
        )
    cell = da.sel(x=x, y=y, method="nearest").load()
    if "time" not in cell.dims:
        raise InputError(f"the NDVI input of run {run!r} has no time dimension.")
    values = [None if not math.isfinite(float(v)) else float(v) for v in cell.values]
    units = da.attrs.get("units")
    return (str(units) if units else None), [iso_time(t) for t in cell["time"].values], values


@router.get(
    "/timeseries", summary="NDVI or SPI time series at a point", response_model=TimeseriesOut
)
def timeseries(
    catalog: CatalogDep,
    run: Annotated[str, Query(description="run id (GET /runs)")],
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    variable: Annotated[
        Literal["ndvi", "spi"],
        Query(
            description="ndvi: the annual NDVI input of an SDG run (or of the SDG run of an "
            "LDN run); spi: a monthly SPI output of a drought run"
        ),
    ],
    scale: Annotated[
        int | None, Query(ge=1, le=72, description="SPI accumulation months (default smallest)")
    ] = None,
) -> dict[str, Any]:
    """The values of every year (ndvi) or month (spi) at the pixel under ``lon``/``lat``."""
    if variable == "ndvi":
        units, times, values = _ndvi_series(catalog, run, lon, lat)
        return {
            "variable": "ndvi",
            "units": units,
            "times": times,
            "values": values,
            "source": f"{run}:inputs.ndvi",
        }
    layer = _spi_layer(catalog, run, scale)
    times, values = point_series(layer, lon, lat)
    return {
        "variable": "spi",
        "units": layer.units,
        "times": times,
        "values": values,
        "source": layer.id,
    }


@router.post("/zonal", summary="Statistics of a layer inside a polygon", response_model=ZonalOut)
def zonal(body: ZonalIn, catalog: CatalogDep, settings: SettingsDep) -> dict[str, Any]:
    """Categorical layers: area (km², ellipsoidal) and share of each class, and the people
    living there; continuous: area-weighted mean, min and max. A pixel counts when its
    centre is inside the polygon. More than ``max_polygon_vertices`` vertices: 413;
    more than ``max_polygon_km2``, not a polygon, or off the layer: 422."""
    layer = catalog.layer(body.layer)
    polygon = parse_polygon(
        body.geometry,
        max_vertices=settings.max_polygon_vertices,
        max_km2=settings.max_polygon_km2,
    )
    population = run_input(catalog.run(layer.run), "population")
    return zonal_statistics(layer, polygon, time=body.time, population=population)
