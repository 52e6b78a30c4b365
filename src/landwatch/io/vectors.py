"""Vector input: admin units and correction polygons (GeoPackage, GeoJSON, Shapefile)."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import DataSourceError, InputError


def read_vector(
    path: str | os.PathLike[str], *, name: str, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read a vector file; the error names the input and the fix."""
    p = Path(path)
    if not p.exists():
        raise DataSourceError(
            f"{name}: file {str(p)!r} does not exist. Check the path in the config."
        )
    try:
        gdf = gpd.read_file(p, layer=layer) if layer else gpd.read_file(p)
    except Exception as exc:
        raise DataSourceError(
            f"{name}: could not read {str(p)!r} ({type(exc).__name__}: {exc}). "
            "Expected a GeoPackage, GeoJSON or Shapefile."
        ) from exc
    if gdf.empty:
        raise InputError(f"{name}: {p.name} has no features; it needs at least one polygon.")
    if gdf.crs is None:
        raise InputError(
            f"{name}: {p.name} has no CRS. Save it with a CRS (GeoJSON is WGS84 by definition)."
        )
    return gdf


def rasterize_ids(gdf: gpd.GeoDataFrame, like: xr.DataArray) -> np.ndarray:
    """Burn 1-based feature positions into an int32 grid like ``like`` (0 = no feature).

    Later features win where polygons overlap.
    """
    from rasterio.features import rasterize

    g = gdf.to_crs(like.rio.crs)
    shapes = ((geom, i + 1) for i, geom in enumerate(g.geometry) if geom is not None)
    return rasterize(
        shapes,
        out_shape=(like.sizes["y"], like.sizes["x"]),
        transform=like.rio.transform(),
        fill=0,
        dtype="int32",
    )


def write_points_geojson(
    table: pd.DataFrame, path: Path, *, crs: object, x: str = "x", y: str = "y"
) -> Path:
    """Write a table with x/y columns (in ``crs``) as GeoJSON points in WGS84."""
    import json

    if table.empty:
        path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
        return path
    gdf = gpd.GeoDataFrame(
        table.drop(columns=[x, y]), geometry=gpd.points_from_xy(table[x], table[y]), crs=crs
    ).to_crs(4326)
    gdf.to_file(path, driver="GeoJSON")
    return path
