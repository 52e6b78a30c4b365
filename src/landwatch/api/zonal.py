"""Statistics of a map layer inside a polygon drawn by a user (``POST /zonal``).

Which pixels count: those whose **centre** falls inside the polygon (rasterio
``geometry_mask`` with ``all_touched=False``), so the areas of two polygons that
tile the land add up without double counting. Areas are ellipsoidal: each row of a
geographic grid has its own pixel area (:func:`~landwatch.indices.land.area.pixel_area_km2`).

Only the part of the polygon over the layer counts (a polygon entirely off the layer
is refused). Categorical layers: area (km²) and share of each class among the pixels
with data.
Continuous layers: the area-weighted mean, the minimum and the maximum. Population:
the sum of the run's population raster (``inputs.population`` of its manifest, or of
the SDG run an LDN run was made from) over the pixels inside the polygon, when that
raster is on the layer's grid; for categorical layers also per class.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Geod
from rasterio.features import geometry_mask
from rasterio.warp import transform_geom
from rasterio.windows import Window
from shapely.geometry import box, mapping, shape
from shapely.validation import explain_validity

from landwatch.api.catalog import Layer
from landwatch.errors import InputError
from landwatch.indices.land.area import area_by_class, pixel_area_km2

__all__ = ["PolygonTooComplex", "count_vertices", "parse_polygon", "zonal_statistics"]


class PolygonTooComplex(InputError):
    """The polygon has more vertices than the service accepts (HTTP 413)."""


def count_vertices(geometry: Mapping[str, Any]) -> int:
    """Number of positions in the rings of a GeoJSON Polygon or MultiPolygon."""
    coords = geometry.get("coordinates")
    polys = [coords] if geometry.get("type") == "Polygon" else (coords or [])
    n = 0
    for poly in polys:
        for ring in poly or []:
            n += len(ring) if isinstance(ring, list | tuple) else 0
    return n


def parse_polygon(geometry: Mapping[str, Any], *, max_vertices: int, max_km2: float) -> Any:
    """A checked shapely (Multi)Polygon in WGS84 from a GeoJSON geometry.

    Parameters
    ----------
    geometry : mapping
        GeoJSON ``Polygon`` or ``MultiPolygon`` (longitude, latitude).
    max_vertices : int
        Most vertices accepted (``Settings.max_polygon_vertices``).
    max_km2 : float
        Largest area accepted, geodesic on WGS84 (``Settings.max_polygon_km2``).

    Raises
    ------
    PolygonTooComplex
        More than ``max_vertices`` vertices.
    InputError
        Not a Polygon/MultiPolygon, empty, invalid (e.g. self-intersecting), not in
        longitude/latitude, or larger than ``max_km2``.
    """

    if not isinstance(geometry, Mapping) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        got = geometry.get("type") if isinstance(geometry, Mapping) else type(geometry).__name__
        raise InputError(
            f"geometry is a {got}; expected a GeoJSON Polygon or MultiPolygon in longitude/"
            "latitude (a Feature's 'geometry' member, not the Feature)."
        )
    n = count_vertices(geometry)
    if n > max_vertices:
        raise PolygonTooComplex(
            f"geometry has {n} vertices; the limit is {max_vertices}. Simplify the polygon "
            "(or raise LANDWATCH_MAX_POLYGON_VERTICES)."
        )
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises many types for malformed coordinates
        raise InputError(
            f"geometry is not valid GeoJSON ({type(exc).__name__}: {exc}); expected "
            '{"type": "Polygon", "coordinates": [[[lon, lat], ...]]}.'
        ) from None
    if geom.is_empty:
        raise InputError("geometry is empty; draw a polygon with at least 3 corners.")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(
            f"geometry bounds {tuple(round(v, 4) for v in geom.bounds)} are not longitude/"
            "latitude; send WGS84 coordinates (RFC 7946)."
        )
    if not geom.is_valid:
        raise InputError(
            f"geometry is not a valid polygon ({explain_validity(geom)}); fix the rings "
            "(no self-intersections)."
        )
    if geom.area == 0:
        raise InputError("geometry has no area; draw a polygon with at least 3 distinct corners.")
    km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6
    if km2 > max_km2:
        raise InputError(
            f"polygon covers {km2:,.0f} km2; the limit is {max_km2:,.0f} km2. Draw a smaller "
            "area (or raise LANDWATCH_MAX_POLYGON_KM2)."
        )
    return geom


def _window(src: Any, geom_native: Any) -> Any:
    """The pixel window covering ``geom_native``'s bounds, clipped to the raster."""

    t = src.transform
    if t.b != 0 or t.d != 0:
        raise InputError(
            f"{Path(src.name).name} is a rotated grid; zonal statistics need north-up."
        )
    minx, miny, maxx, maxy = geom_native.bounds
    c0, r0 = ~t * (minx, maxy)
    c1, r1 = ~t * (maxx, miny)
    col0, col1 = sorted((c0, c1))
    row0, row1 = sorted((r0, r1))
    col0, row0 = max(0, math.floor(col0)), max(0, math.floor(row0))
    col1, row1 = min(src.width, math.ceil(col1)), min(src.height, math.ceil(row1))
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def _same_grid(a: Any, b: Any) -> bool:
    ta, tb = a.transform, b.transform
    return (
        a.crs == b.crs
        and (a.width, a.height) == (b.width, b.height)
        and all(round(x, 9) == round(y, 9) for x, y in zip(ta[:6], tb[:6], strict=True))
    )


def zonal_statistics(
    layer: Layer,
    polygon: Any,
    *,
    time: str | None = None,
    population: Path | None = None,
) -> dict[str, Any]:
    """Area per class (categorical) or mean/min/max (continuous) of a layer in a polygon.

    Parameters
    ----------
    layer : Layer
        The layer.
    polygon : shapely Polygon or MultiPolygon
        In WGS84 (:func:`parse_polygon`).
    time : str, optional
        Band time of a multi-band layer (default the last).
    population : path, optional
        Persons per pixel; used when on the layer's grid, else ``population`` is None.

    Returns
    -------
    dict
        ``{"area_km2", "classes", "population"}``: ``area_km2`` is the area of the
        pixels inside the polygon that have data (the area the classes share);
        categorical ``classes`` is a list of ``{"value", "label", "area_km2",
        "percent", "population"}`` (every legend class, 0 when absent, and any other
        value found); continuous ``classes`` is ``{"mean", "min", "max"}``
        (area-weighted mean; None without data). ``population`` is None when the run
        has no population raster on the layer's grid.

    Raises
    ------
    InputError
        The polygon does not overlap the layer, or a bad ``time``.
    """
    import rasterio
    import xarray as xr

    w, s, e, n = layer.bounds
    if not polygon.intersects(box(w, s, e, n)):
        raise InputError(
            f"polygon lies outside layer {layer.id!r}, which covers longitude {w:.4f}..{e:.4f} "
            f"and latitude {s:.4f}..{n:.4f}. Draw it over the layer."
        )
    band = layer.band(time)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        src = rasterio.open(layer.source)
    with src:
        geom = mapping(polygon)
        if src.crs.to_epsg() != 4326:
            geom = transform_geom("EPSG:4326", src.crs, geom)
        win = _window(src, shape(geom))
        if win is None:
            raise InputError(f"polygon lies outside layer {layer.id!r}; draw it over the layer.")
        data = src.read(band, window=win)
        wt = src.window_transform(win)
        inside = geometry_mask([geom], out_shape=data.shape, transform=wt, invert=True)
        rows = wt.f + (np.arange(data.shape[0]) + 0.5) * wt.e
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # planar areas of projected grids
            row_area = pixel_area_km2(rows, wt.a, wt.e, src.crs.to_wkt()).values
        pop = None
        if population is not None and Path(population).is_file():
            with rasterio.open(population) as psrc:
                if _same_grid(src, psrc):
                    p = psrc.read(1, window=win).astype("float64")
                    if psrc.nodata is not None and not math.isnan(psrc.nodata):
                        p[p == psrc.nodata] = np.nan
                    pop = np.where(np.isfinite(p), p, 0.0)
    valid = inside.copy()
    if data.dtype.kind == "f":
        valid &= np.isfinite(data)
    if layer.nodata is not None and not math.isnan(layer.nodata):
        valid &= data != layer.nodata
    area = np.broadcast_to(row_area[:, None], data.shape)
    total = float(area[valid].sum())
    out: dict[str, Any] = {
        "area_km2": total,
        "population": None if pop is None else float(pop[inside].sum()),
    }
    if layer.categorical:
        classes = xr.DataArray(data.astype(np.int64), dims=("y", "x"))
        by_class = area_by_class(classes, area, mask=~valid)
        pop_by_class = area_by_class(classes, pop, mask=~valid) if pop is not None else {}
        values = [c.value for c in layer.classes if c.value is not None]
        values += sorted(v for v, a in by_class.items() if a > 0 and v not in values)
        out["classes"] = [
            {
                "value": v,
                "label": layer.label_of(v),
                "area_km2": by_class.get(v, 0.0),
                "percent": 100.0 * by_class.get(v, 0.0) / total if total > 0 else 0.0,
                "population": pop_by_class.get(v, 0.0) if pop is not None else None,
            }
            for v in values
        ]
    else:
        vals = data[valid].astype("float64")
        wts = area[valid]
        out["classes"] = {
            "mean": float(np.sum(vals * wts) / wts.sum()) if vals.size else None,
            "min": float(vals.min()) if vals.size else None,
            "max": float(vals.max()) if vals.size else None,
        }
    return out
