"""STAC catalogs in and out: read COGs listed in a STAC catalog, publish a run as STAC.

Three entry points:

- :func:`read_stac` loads one asset (e.g. ``ndvi``) of every item of a local STAC
  Catalog, Collection, Item or ItemCollection (FeatureCollection) of COGs as a lazy,
  dask-backed ``xarray.DataArray`` with dims ``(time, y, x)`` (``(y, x)`` when there is
  one item), a CRS and NaN for nodata in float data, as :func:`~landwatch.io.rasters.
  open_raster` returns. Loading goes through ``odc.stac.load``; the grid is read from
  the COG headers so items need no projection metadata. :func:`open_raster`
  dispatches here for a ``.json`` path, so any raster input of a workflow may be a
  STAC file.
- :func:`publish_stac` writes a self-contained STAC Catalog (relative links) for a
  landwatch run folder: one Collection for the run, one Item per period (or year, or
  static map) with an asset per output COG, projection / raster / file /
  classification / processing extension fields, and the run's ``manifest.json``
  (inputs with sha256, parameters, versions) as provenance.
- :func:`validate_stac` validates every object of a catalog with pystac's JSON-schema
  validator **offline**: the core STAC schemas ship with pystac; extension schemas are
  read from a local folder when one is given (``schema_dir`` or the environment
  variable ``LANDWATCH_STAC_SCHEMA_DIR``, laid out as ``<name>/v<version>/schema.json``)
  and are otherwise reported as not validated. The extension fields landwatch writes
  are then checked through pystac's typed extension classes, and ``file:checksum`` /
  ``file:size`` against the files themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from landwatch.errors import DataSourceError, InputError
from landwatch.io.outputs import atomic_output_dir

__all__ = [
    "STAC_SCHEMA_DIR_ENV",
    "StacValidationReport",
    "is_stac_file",
    "publish_stac",
    "read_stac",
    "validate_stac",
]

#: Environment variable naming a local folder of STAC extension schemas.
STAC_SCHEMA_DIR_ENV = "LANDWATCH_STAC_SCHEMA_DIR"

PROCESSING_SCHEMA_URI = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
_EXT_URI = re.compile(
    r"^https://stac-extensions\.github\.io/(?P<name>[^/]+)/(?P<ver>v[^/]+)/schema\.json$"
)
_STAC_TYPES = ("Catalog", "Collection", "Feature", "FeatureCollection")
_SLUG = re.compile(r"[^0-9A-Za-z_-]+")


# --------------------------------------------------------------------------- reading


def _read_json(path: Path, name: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataSourceError(f"{name}: could not read {str(path)!r} ({exc}).") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: {path.name} is not valid JSON ({exc}). Expected a STAC catalog.json, "
            "collection.json, item or ItemCollection (FeatureCollection) of COGs."
        ) from exc


def _stac_kind(doc: Any) -> str | None:
    """``Catalog``/``Collection``/``Feature``/``FeatureCollection`` for a STAC document."""
    if not isinstance(doc, dict):
        return None
    kind = doc.get("type")
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if isinstance(feats, list) and (
            not feats or all(isinstance(f, dict) and "stac_version" in f for f in feats)
        ):
            return kind
        return None
    if kind in _STAC_TYPES and "stac_version" in doc:
        return str(kind)
    return None


def is_stac_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a ``.json`` file holding a STAC object or ItemCollection."""
    p = Path(path)
    if p.suffix.lower() != ".json" or not p.is_file():
        return False
    try:
        return _stac_kind(json.loads(p.read_text(encoding="utf-8"))) is not None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False


def _load_items(path: Path, name: str) -> list[Any]:
    import pystac

    doc = _read_json(path, name)
    kind = _stac_kind(doc)
    if kind is None:
        raise InputError(
            f"{name}: {path.name} is JSON but not STAC (no stac_version / type Catalog, "
            "Collection, Feature or FeatureCollection of STAC items). Point the input to a "
            "STAC catalog.json, collection.json, item or ItemCollection, or to a GeoTIFF/"
            "NetCDF/Zarr raster."
        )
    try:
        if kind == "FeatureCollection":
            items = list(pystac.ItemCollection.from_file(str(path)).items)
        elif kind == "Feature":
            items = [pystac.Item.from_file(str(path))]
        else:
            cat = pystac.read_file(str(path))
            assert isinstance(cat, pystac.Catalog)
            items = list(cat.get_items(recursive=True))
    except (InputError, DataSourceError):
        raise
    except Exception as exc:
        raise DataSourceError(
            f"{name}: could not read the STAC {kind} {str(path)!r} ({type(exc).__name__}: "
            f"{exc}). Check that its child and item links point to existing files."
        ) from exc
    if not items:
        raise InputError(
            f"{name}: the STAC {kind} {path.name} holds no items. Add one item per date (e.g. "
            "one per year) with the COG as an asset."
        )
    return items


@dataclass(frozen=True)
class _Grid:
    crs: Any
    shape: tuple[int, int]
    transform: tuple[float, ...]
    dtype: str
    nodata: float | None
    count: int

    @classmethod
    def of(cls, src: Any) -> _Grid:
        """The grid of an open rasterio dataset."""
        return cls(
            src.crs,
            (src.height, src.width),
            tuple(src.transform)[:6],
            src.dtypes[0],
            src.nodata,
            src.count,
        )

    def signature(self) -> tuple[Any, ...]:
        return (self.crs, self.shape, tuple(round(v, 9) for v in self.transform))

    def describe(self) -> str:
        t = self.transform
        crs = self.crs.to_string() if self.crs is not None else "no CRS"
        return (
            f"{crs}, {self.shape[0]} x {self.shape[1]} px, origin ({t[2]:.6f}, {t[5]:.6f}), "
            f"pixel {t[0]:.6g} x {t[4]:.6g}"
        )


def _local_path(href: str) -> Path:
    if href.startswith("file://"):
        href = href[len("file://") :]
    return Path(href)


def _grid_of(path: Path) -> _Grid:
    import rasterio

    with rasterio.open(path) as src:
        return _Grid.of(src)


def _tags_of(path: Path) -> dict[str, str]:
    import rasterio

    with rasterio.open(path) as src:
        return dict(src.tags())


def _item_time(item: Any) -> dt.datetime | None:
    if item.datetime is not None:
        return item.datetime  # type: ignore[no-any-return]
    start = item.common_metadata.start_datetime
    return start  # type: ignore[no-any-return]


def read_stac(
    path: str | os.PathLike[str],
    asset: str | None = None,
    *,
    name: str = "raster",
    chunks: Mapping[str, int] | None = None,
    crs: Any = None,
    resolution: float | None = None,
) -> xr.DataArray:
    """Load one asset of the items of a local STAC catalog of COGs.

    Items without the asset are left out (a catalog may mix products); none having it
    is an error that lists the asset keys there are.

    Parameters
    ----------
    path
        A STAC ``catalog.json`` / ``collection.json`` (items found recursively), a STAC
        item, or an ItemCollection (GeoJSON FeatureCollection of items).
    asset
        Asset key to load (e.g. ``"ndvi"``); default: the first word of ``name``
        (``"land_cover 2000"`` -> ``land_cover``).
    name
        What the input is, for error messages.
    chunks
        Spatial dask chunks, e.g. ``{"y": 1024, "x": 1024}``; default one chunk per COG.
        ``time`` is always one chunk.
    crs, resolution
        Target grid when the assets are on different grids (they are reprojected to it,
        nearest neighbour for integer data, bilinear otherwise). Without them, assets on
        different grids are an :class:`InputError`.

    Returns
    -------
    xarray.DataArray
        Dims ``(time, y, x)`` with the items' datetimes (``start_datetime`` where
        ``datetime`` is null) as ``time``, sorted; ``(y, x)`` for a single item (its
        time in ``attrs["time"]``). Float data has NaN for nodata; integer data keeps
        its dtype with ``attrs["nodata"]``.
    """
    import odc.stac
    from odc.geo.geobox import GeoBox

    from landwatch.io.rasters import _normalise_dims

    p = Path(path)
    if not p.exists():
        raise DataSourceError(
            f"{name}: file {str(p)!r} does not exist. Check the path in the config "
            "(relative paths are read from the config file's folder)."
        )
    key = asset or name.split()[0]
    items = _load_items(p, name)
    keys = sorted({k for it in items for k in it.assets})
    items = [it for it in items if key in it.assets]  # mixed items: those with the asset
    if not items:
        raise InputError(
            f"{name}: no item of {p.name} has an asset {key!r}; asset keys are {keys}. "
            f"Name the asset to read in the config ({name.split()[0]}_variable: <key> for "
            "ndvi and precipitation) or add it to the items."
        )
    # resolve hrefs; check the files exist; read their grids from the headers
    grids: dict[str, _Grid] = {}
    missing = []
    for it in items:
        href = it.assets[key].get_absolute_href() or it.assets[key].href
        f = _local_path(href)
        if "://" in href and not href.startswith("file://"):
            raise InputError(
                f"{name}: asset {key!r} of item {it.id!r} is a remote URL ({href}); landwatch "
                "reads local STAC catalogs only. Download the COGs and point the hrefs to them."
            )
        if not f.is_file():
            missing.append(f"{it.id}: {f}")
            continue
        try:
            grids[it.id] = _grid_of(f)
        except Exception as exc:
            raise DataSourceError(
                f"{name}: asset {key!r} of item {it.id!r} ({str(f)!r}) is not a readable "
                f"GeoTIFF/COG ({type(exc).__name__}: {exc})."
            ) from exc
    if missing:
        raise DataSourceError(
            f"{name}: {len(missing)} of the {len(items)} {key!r} files listed in {p.name} do "
            f"not exist ({'; '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}). Fix "
            "the asset hrefs (relative hrefs are read from the item's folder) or copy the COGs."
        )
    multi = [i for i, g in grids.items() if g.count != 1]
    if multi:
        raise InputError(
            f"{name}: asset {key!r} of item {multi[0]!r} has {grids[multi[0]].count} bands; "
            "expected one band per item (one item per date)."
        )
    first = grids[items[0].id]
    differ = [i for i, g in grids.items() if g.signature() != first.signature()]
    if differ and (crs is None or resolution is None):
        raise InputError(
            f"{name}: the {key!r} assets of {p.name} are not on one grid: item "
            f"{items[0].id!r} is {first.describe()}, item {differ[0]!r} is "
            f"{grids[differ[0]].describe()}. Reproject the COGs to one grid, or give a "
            "target grid (read_stac(..., crs=, resolution=))."
        )
    if first.crs is None and crs is None:
        raise InputError(
            f"{name}: the {key!r} COGs of {p.name} have no coordinate reference system. "
            "Write one into the files (gdal_edit.py -a_srs EPSG:4326)."
        )
    no_time = [it.id for it in items if _item_time(it) is None]
    if no_time:
        raise InputError(
            f"{name}: items {no_time[:5]} of {p.name} have neither datetime nor "
            "start_datetime; give every item its date."
        )
    # odc-stac takes datetime; an item with only a range gets its start
    loadable = []
    for it in items:
        if it.datetime is None:
            it = it.clone()
            it.datetime = _item_time(it)
        loadable.append(it)
    nodata = first.nodata
    dtype = first.dtype
    cfg_nodata: Any = None if nodata is None else ("nan" if math.isnan(nodata) else nodata)
    stac_cfg = {"*": {"assets": {key: {"data_type": dtype, "nodata": cfg_nodata}}}}
    cy = int(chunks.get("y", -1)) if chunks else -1
    cx = int(chunks.get("x", -1)) if chunks else -1
    kwargs: dict[str, Any] = {}
    if differ:
        kwargs.update(crs=crs, resolution=resolution)
        kwargs["resampling"] = (
            "nearest" if np.issubdtype(np.dtype(dtype), np.integer) else "bilinear"
        )
    else:
        from affine import Affine

        kwargs["geobox"] = GeoBox(
            first.shape, Affine(*first.transform), first.crs if first.crs is not None else crs
        )
    try:
        ds = odc.stac.load(
            loadable,
            bands=[key],
            chunks={
                "time": 1,
                "y": cy if cy > 0 else first.shape[0],
                "x": cx if cx > 0 else first.shape[1],
            },
            stac_cfg=stac_cfg,
            dtype=dtype,
            groupby="time",
            **kwargs,
        )
    except Exception as exc:
        raise DataSourceError(
            f"{name}: odc-stac could not load asset {key!r} of {p.name} "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    da = ds[key]
    if "time" in da.dims:
        da = da.sortby("time").chunk({"time": -1})
    da = _normalise_dims(da, name)
    da = da.drop_vars([c for c in da.coords if c not in ("time", "y", "x")])
    if not differ:  # pixel-centre coordinates exactly as rioxarray derives them from a COG
        from affine import Affine

        centre = Affine(*first.transform) * Affine.translation(0.5, 0.5)
        h, w = first.shape
        ca, cb, cc, cd, ce, cf = tuple(centre)[:6]
        xs = np.arange(w) * ca + np.zeros(w) * cb + cc  # the operations of Affine * (x, y)
        ys = np.zeros(h) * cd + np.arange(h) * ce + cf
        da = da.assign_coords(y=ys.astype(float), x=xs.astype(float))
    da.attrs = {}
    if nodata is not None:
        da.attrs["nodata"] = nodata
        if np.issubdtype(da.dtype, np.floating) and not math.isnan(nodata):
            da = da.where(da != nodata)
    if "time" in da.dims and da.sizes["time"] == 1:
        da.attrs["time"] = str(da["time"].values[0])
        da = da.isel(time=0, drop=True)
    out_crs = crs if (differ or first.crs is None) else first.crs
    da = da.rio.write_crs(out_crs)
    if not differ:  # keep the files' exact transform (as open_raster does for a COG)
        from affine import Affine

        da = da.rio.write_transform(Affine(*first.transform))
    first_file = _local_path(items[0].assets[key].get_absolute_href() or "")
    for k, v in _tags_of(first_file).items():
        if k in ("units", "long_name", "standard_name"):
            da.attrs[k] = v
    if crs is not None and not differ and first.crs is not None:
        from rasterio.crs import CRS

        from landwatch.errors import CRSMismatchError

        if CRS.from_user_input(crs) != first.crs:
            raise CRSMismatchError(
                f"{name}: the COGs of {p.name} are in {first.crs.to_string()}, but the CRS "
                f"given is {crs}. Drop the CRS option (the files' CRS is used)."
            )
    da.name = name
    da.attrs["source"] = str(p)
    da.attrs["stac_asset"] = key
    return da


# --------------------------------------------------------------------------- publishing


@dataclass
class _Cog:
    rel: str  # path relative to the run folder, posix
    path: Path
    tags: dict[str, str]
    grid: _Grid
    descriptions: tuple[str | None, ...]
    bounds: tuple[float, float, float, float]


def _scan_cogs(run_dir: Path) -> list[_Cog]:
    import rasterio

    files = sorted(run_dir.glob("*.tif")) + sorted((run_dir / "maps").rglob("*.tif"))
    out = []
    for f in files:
        try:
            with rasterio.open(f) as src:
                tags = dict(src.tags())
                grid = _Grid.of(src)
                out.append(
                    _Cog(
                        f.relative_to(run_dir).as_posix(),
                        f,
                        tags,
                        grid,
                        tuple(src.descriptions),
                        tuple(src.bounds),
                    )
                )
        except Exception as exc:
            raise DataSourceError(
                f"stac publish: {str(f)!r} is not a readable GeoTIFF ({type(exc).__name__}: "
                f"{exc}). Remove it or run the workflow again."
            ) from exc
    return out


def _years_in(value: Any) -> list[int]:
    """Every year number inside a period definition (lists, dicts of ranges)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int) and 1000 <= value <= 9999:
        return [value]
    if isinstance(value, Mapping):
        return [y for v in value.values() for y in _years_in(v)]
    if isinstance(value, list | tuple):
        return [y for v in value for y in _years_in(v)]
    return []


def _period_table(manifest: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Period name -> (first, last) year from the manifest's parameters (or the upstream
    sdg run's, for an ldn run whose periods are names)."""
    params = manifest.get("parameters") or {}
    table: dict[str, tuple[int, int]] = {}
    for key in ("periods", "map_periods"):
        periods = params.get(key) if isinstance(params, Mapping) else None
        if isinstance(periods, Mapping):
            for pname, spec in periods.items():
                years = _years_in(spec)
                if years:
                    table[str(pname)] = (min(years), max(years))
    upstream = (manifest.get("inputs") or {}).get("sdg_run")
    if isinstance(upstream, str) and (Path(upstream) / "manifest.json").is_file():
        try:
            up = json.loads((Path(upstream) / "manifest.json").read_text())
            for k, v in _period_table(up).items():
                table.setdefault(k, v)
        except (OSError, json.JSONDecodeError):
            pass
    return table


def _year_span(first: int, last: int) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime(first, 1, 1, tzinfo=dt.UTC),
        dt.datetime(last, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
    )


def _group_of(
    cog: _Cog, periods: Mapping[str, tuple[int, int]]
) -> tuple[str, tuple[int, int] | None]:
    """(item key, (first, last) year or None) of a COG."""
    t = cog.tags
    if t.get("period"):
        key = t["period"]
        span = periods.get(key)
        if span is None and t.get("first_year", "").isdigit() and t.get("last_year", "").isdigit():
            span = (int(t["first_year"]), int(t["last_year"]))
        return key, span
    if t.get("first_year", "").isdigit() and t.get("last_year", "").isdigit():
        a, b = int(t["first_year"]), int(t["last_year"])
        return (str(a) if a == b else f"{a}-{b}"), (a, b)
    if t.get("year", "").isdigit():
        y = int(t["year"])
        return str(y), (y, y)
    return Path(cog.rel).stem, None


def _asset_key(cog: _Cog, group: str) -> str:
    stem = Path(cog.rel).stem
    key = cog.tags.get("layer") or stem
    for suffix in (f"_{group}", f"-{group}"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    return key


def _class_names(tags: Mapping[str, str]) -> dict[int, str]:
    raw = tags.get("class_names")
    if not raw:
        return {}
    try:
        return {int(k): str(v) for k, v in json.loads(raw).items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def _multihash_sha256(path: Path) -> str:
    from landwatch.io.outputs import sha256_of

    return "1220" + sha256_of(path)


def _wgs84(grid: _Grid, bounds: tuple[float, float, float, float]) -> list[float]:
    from rasterio.warp import transform_bounds

    if grid.crs is None:
        raise InputError("stac publish: a COG has no CRS; STAC needs one for bbox/geometry.")
    w, s, e, n = transform_bounds(grid.crs, "EPSG:4326", *bounds, densify_pts=21)
    return [float(w), float(s), float(e), float(n)]


def _bbox_geometry(bbox: Sequence[float]) -> dict[str, Any]:
    w, s, e, n = bbox
    return {
        "type": "Polygon",
        "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
    }


def _nodata_value(nodata: float | None) -> Any:
    from pystac.extensions.raster import NoDataStrings

    if nodata is None:
        return None
    if math.isnan(nodata):
        return NoDataStrings.NAN
    if math.isinf(nodata):
        return NoDataStrings.INF if nodata > 0 else NoDataStrings.NINF
    return int(nodata) if float(nodata).is_integer() else float(nodata)


def _apply_projection(target: Any, grid: _Grid, bounds: Sequence[float]) -> None:
    from pystac.extensions.projection import ProjectionExtension

    proj = ProjectionExtension.ext(target, add_if_missing=True)
    epsg = grid.crs.to_epsg() if grid.crs is not None else None
    if epsg:
        proj.apply(
            code=f"EPSG:{epsg}",
            shape=list(grid.shape),
            transform=list(grid.transform),
            bbox=[float(b) for b in bounds],
        )
    else:
        proj.apply(
            code=None,
            wkt2=grid.crs.to_wkt(),
            shape=list(grid.shape),
            transform=list(grid.transform),
            bbox=[float(b) for b in bounds],
        )


def _make_asset(owner: Any, key: str, cog: _Cog, href: str) -> Any:
    import pystac
    from pystac.extensions.classification import Classification, ClassificationExtension
    from pystac.extensions.file import FileExtension
    from pystac.extensions.raster import DataType, RasterBand, RasterExtension

    t = cog.tags
    long_name = t.get("long_name") or (cog.descriptions[0] if cog.descriptions else None)
    asset = pystac.Asset(
        href=href,
        title=long_name or Path(cog.rel).stem,
        description=t.get("rule"),
        media_type=pystac.MediaType.COG,
        roles=["data"],
    )
    owner.add_asset(key, asset)
    unit = t.get("units")
    res = abs(cog.grid.transform[0])
    bands = []
    for i in range(cog.grid.count):
        band = RasterBand.create(
            nodata=_nodata_value(cog.grid.nodata),
            data_type=DataType(cog.grid.dtype),
            spatial_resolution=res,
            unit=unit if unit and unit != "1" else None,
        )
        desc = cog.descriptions[i] if i < len(cog.descriptions) else None
        if desc and cog.grid.count > 1:
            band.properties["name"] = desc
        bands.append(band)
    RasterExtension.ext(asset, add_if_missing=True).apply(bands)
    FileExtension.ext(asset, add_if_missing=True).apply(
        checksum=_multihash_sha256(cog.path), size=cog.path.stat().st_size
    )
    names = _class_names(t)
    if names and np.issubdtype(np.dtype(cog.grid.dtype), np.integer):
        classes = []
        for value, label in sorted(names.items()):
            slug = _SLUG.sub("_", label).strip("_") or f"class_{value}"
            classes.append(
                Classification.create(
                    value=value,
                    name=slug,
                    title=label,
                    description=label,
                    nodata=True
                    if cog.grid.nodata is not None and value == cog.grid.nodata
                    else None,
                )
            )
        ClassificationExtension.ext(asset, add_if_missing=True).apply(classes=classes)
    return asset


def _join(root: str, rel: str) -> str:
    return root.rstrip("/") + "/" + rel


def publish_stac(
    run_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    description: str | None = None,
    base_href: str | None = None,
    license: str = "other",
    overwrite: bool = False,
) -> Path:
    """Publish a landwatch run folder as a STAC Catalog of its COGs.

    The catalog: ``catalog.json`` (root) -> ``<collection>/collection.json`` (the run:
    spatial and temporal extent, the manifest, summary, tables and map image as assets)
    -> one Item per period (``maps/<period>/*.tif``: an asset per sub-indicator map),
    per year (land cover and SOC maps of that year) or per static map. Items carry
    bbox/geometry in EPSG:4326, ``start_datetime``/``end_datetime`` of the period,
    ``proj:*`` (code, shape, transform, bbox), ``raster:bands`` (data type, nodata,
    unit, resolution), ``file:checksum`` (sha256 multihash) and ``file:size``,
    ``classification:classes`` for categorical maps (from the COG's ``class_names``
    tag), ``processing:*`` (lineage, software versions, datetime) and a ``describedby``
    link to the run's ``manifest.json``.

    Parameters
    ----------
    run_dir
        Output folder of a landwatch workflow with a ``manifest.json`` and COGs in
        ``maps/`` (sdg1531, ldn, drought so3) or at its top level.
    out_dir
        Where to write the catalog. ``None``: into ``run_dir`` itself (JSON files only,
        assets point at the run's files). Otherwise a new folder that receives copies of
        the COGs, manifest, summary and tables next to the catalog: self-contained, it
        can be moved or copied as a whole. Written atomically.
    title, description
        Of the collection; default from the workflow and the run folder's name.
    base_href
        URL (or path) where the catalog will be published: the root's ``self`` link
        becomes ``<base_href>/catalog.json`` (STAC "relative published" catalog); all
        other links stay relative. Default: a self-contained catalog with no self links.
    license
        SPDX identifier of the outputs' licence (default ``other``).
    overwrite
        Replace an existing catalog.

    Returns
    -------
    Path
        The root ``catalog.json``.
    """
    import pystac

    src = Path(run_dir).resolve()
    manifest_p = src / "manifest.json"
    if not manifest_p.is_file():
        what = "does not exist" if not src.exists() else "has no manifest.json"
        raise DataSourceError(
            f"stac publish: run folder {str(src)!r} {what}. Pass the output folder of a "
            "landwatch workflow (sdg1531, ldn, drought so3)."
        )
    manifest = _read_json(manifest_p, "stac publish")
    if not isinstance(manifest, dict):
        raise InputError(f"stac publish: {manifest_p} is not a JSON object.")
    cogs = _scan_cogs(src)
    if not cogs:
        raise InputError(
            f"stac publish: {str(src)!r} holds no GeoTIFF maps (maps/**/*.tif or *.tif); "
            "nothing to publish. Workflows that write only tables or NetCDF have no COGs."
        )
    workflow = str(manifest.get("workflow") or "run")
    version = str(manifest.get("version") or "")
    finished = _parse_time(manifest.get("finished")) or dt.datetime.now(dt.UTC)
    periods = _period_table(manifest)

    in_place = out_dir is None or Path(out_dir).resolve() == src
    dest = src if in_place else Path(out_dir).resolve()  # type: ignore[arg-type]
    collection_id = f"landwatch-{workflow}"
    if in_place:
        existing = [dest / "catalog.json", dest / collection_id]
        if any(e.exists() for e in existing) and not overwrite:
            raise InputError(
                f"stac publish: {str(dest / 'catalog.json')!r} already exists. Pass "
                "--overwrite to replace it, or --out to publish elsewhere."
            )
    elif dest.exists() and not overwrite:
        raise InputError(
            f"stac publish: output folder {str(dest)!r} already exists. Choose another --out "
            "or pass --overwrite."
        )
    elif dest.exists() and not (dest / "catalog.json").is_file() and any(dest.iterdir()):
        raise InputError(
            f"stac publish: {str(dest)!r} is not empty and holds no catalog.json; refusing to "
            "replace it. Choose another --out."
        )
    root_href = base_href.rstrip("/") if base_href else dest.as_posix()

    # extra files of the run that belong with the catalog
    extras: list[tuple[str, str, list[str], str]] = [
        (
            "manifest",
            "manifest.json",
            ["metadata"],
            "Run manifest: inputs with sha256, parameters, software versions",
        ),
    ]
    if (src / "summary.json").is_file():
        extras.append(("summary", "summary.json", ["metadata"], "Run summary"))
    for png in sorted(src.glob("*.png")):
        extras.append((png.stem, png.name, ["overview"], "Map of the results"))
    for tab in sorted((src / "tables").glob("*")) if (src / "tables").is_dir() else []:
        if tab.suffix.lower() in (".csv", ".json", ".xlsx"):
            extras.append(
                (
                    f"table_{tab.stem}_{tab.suffix[1:]}",
                    f"tables/{tab.name}",
                    ["data"],
                    f"Table {tab.stem}",
                )
            )

    # group the COGs into items
    groups: dict[str, list[_Cog]] = {}
    spans: dict[str, tuple[int, int] | None] = {}
    for cog in cogs:
        key, span = _group_of(cog, periods)
        groups.setdefault(key, []).append(cog)
        if span is not None:
            old = spans.get(key)
            spans[key] = span if old is None else (min(old[0], span[0]), max(old[1], span[1]))
        else:
            spans.setdefault(key, None)

    software = {"landwatch": version} if version else {}
    for k in ("python", "numpy", "xarray"):
        if manifest.get(k):
            software[k] = str(manifest[k])
    lineage = (
        f"Computed by landwatch {version} ({workflow}) from the inputs listed in manifest.json "
        "(path and sha256 of each), with the parameters recorded there."
    )
    items = []
    all_bbox: list[list[float]] = []
    all_times: list[dt.datetime] = []
    for key in sorted(groups, key=_sort_key):
        members = groups[key]
        grid0 = members[0].grid
        bbox = _wgs84(grid0, members[0].bounds)
        for m in members[1:]:
            b = _wgs84(m.grid, m.bounds)
            bbox = [min(bbox[0], b[0]), min(bbox[1], b[1]), max(bbox[2], b[2]), max(bbox[3], b[3])]
        span = spans[key]
        props: dict[str, Any] = {
            "title": _item_title(key, members, span),
            "landwatch:workflow": workflow,
        }
        if span is not None:
            start, end = _year_span(*span)
            props["start_datetime"] = pystac.utils.datetime_to_str(start)
            props["end_datetime"] = pystac.utils.datetime_to_str(end)
            item_dt = start if span[0] == span[1] else None
            all_times += [start, end]
        else:
            item_dt = finished
            all_times.append(finished)
        if members[0].tags.get("period"):
            props["landwatch:period"] = members[0].tags["period"]
        props["processing:lineage"] = lineage
        if software:
            props["processing:software"] = software
        props["processing:datetime"] = pystac.utils.datetime_to_str(finished)
        item_id = f"{workflow}-{key}"
        item = pystac.Item(
            id=item_id,
            geometry=_bbox_geometry(bbox),
            bbox=bbox,
            datetime=item_dt,
            properties=props,
            stac_extensions=[PROCESSING_SCHEMA_URI],
        )
        same_grid = all(m.grid.signature() == grid0.signature() for m in members)
        if same_grid:
            _apply_projection(item, grid0, members[0].bounds)
        used: set[str] = set()
        for cog in members:
            akey = _asset_key(cog, key)
            if akey in used:
                akey = cog.rel.rsplit(".", 1)[0].replace("/", "_")
            used.add(akey)
            asset = _make_asset(item, akey, cog, _join(root_href, cog.rel))
            if not same_grid:
                _apply_projection(asset, cog.grid, cog.bounds)
        items.append(item)
        all_bbox.append(bbox)

    extent = pystac.Extent(
        pystac.SpatialExtent(
            [
                [
                    min(b[0] for b in all_bbox),
                    min(b[1] for b in all_bbox),
                    max(b[2] for b in all_bbox),
                    max(b[3] for b in all_bbox),
                ]
            ]
        ),
        pystac.TemporalExtent([[min(all_times), max(all_times)]]),
    )
    run_title = title or f"landwatch {workflow} run {src.name}"
    collection = pystac.Collection(
        id=collection_id,
        title=run_title,
        description=description
        or f"Outputs of the landwatch {workflow} workflow (run folder {src.name}, finished "
        f"{pystac.utils.datetime_to_str(finished)}): Cloud-Optimized GeoTIFF maps with their "
        "class tables, and the run's manifest (inputs with sha256, parameters, versions).",
        extent=extent,
        license=license,
        providers=[pystac.Provider(name="landwatch", roles=[pystac.ProviderRole.PROCESSOR])],
    )
    from pystac.extensions.file import FileExtension

    for akey, rel, roles, atitle in extras:
        asset = pystac.Asset(
            href=_join(root_href, rel),
            title=atitle,
            roles=roles,
            media_type=_media_type(rel),
        )
        collection.add_asset(akey, asset)
        FileExtension.ext(asset, add_if_missing=True).apply(
            checksum=_multihash_sha256(src / rel), size=(src / rel).stat().st_size
        )
    collection.add_items(items)
    catalog = pystac.Catalog(
        id=f"landwatch-{src.name}",
        title=run_title,
        description=f"STAC catalog of the landwatch {workflow} run {src.name}.",
    )
    catalog.add_child(collection)
    catalog.normalize_hrefs(root_href)
    catalog.make_all_asset_hrefs_relative()
    for item in items:  # provenance link, relative to where the item is written
        self_href = item.get_self_href()
        assert self_href is not None
        item.add_link(
            pystac.Link(
                rel="describedby",
                target=pystac.utils.make_relative_href(
                    _join(root_href, "manifest.json"), self_href
                ),
                media_type=pystac.MediaType.JSON,
                title="landwatch run manifest (inputs with sha256, parameters, versions)",
            )
        )
    ctype = (
        pystac.CatalogType.RELATIVE_PUBLISHED if base_href else pystac.CatalogType.SELF_CONTAINED
    )

    if in_place:
        if overwrite:
            (dest / "catalog.json").unlink(missing_ok=True)
            shutil.rmtree(dest / collection_id, ignore_errors=True)
        catalog.save(catalog_type=ctype, dest_href=str(dest))
        return dest / "catalog.json"

    # the existing folder (checked above) is replaced only once the new one is complete
    with atomic_output_dir(dest, overwrite=True) as tmp:
        rels = [c.rel for c in cogs] + [rel for _, rel, _, _ in extras]
        for rel in rels:
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, target)
        catalog.save(catalog_type=ctype, dest_href=str(tmp))
    return dest / "catalog.json"


def _sort_key(key: str) -> tuple[int, str]:
    return (0 if not key[:4].isdigit() else 1, key)


def _item_title(key: str, members: Sequence[_Cog], span: tuple[int, int] | None) -> str:
    if members[0].tags.get("period"):
        years = f" ({span[0]}-{span[1]})" if span else ""
        return f"Period {key}{years}"
    if span is not None:
        return f"Year {key}" if span[0] == span[1] else f"Years {key}"
    return members[0].tags.get("long_name") or key


def _media_type(rel: str) -> str:
    import pystac

    suffix = Path(rel).suffix.lower()
    return {
        ".json": pystac.MediaType.JSON,
        ".png": pystac.MediaType.PNG,
        ".csv": "text/csv",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }.get(suffix, "application/octet-stream")


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


# --------------------------------------------------------------------------- validation


class _SchemaUnavailable(Exception):
    """An extension schema is not available offline."""


def _offline_validator(schema_dir: Path | None, skipped: set[str], used: set[str]) -> Any:
    from pystac.validation.stac_validator import JsonSchemaSTACValidator

    class OfflineValidator(JsonSchemaSTACValidator):
        """pystac's JSON-schema validator that never fetches: core schemas from pystac,
        extension schemas from ``schema_dir`` (``<name>/v<version>/schema.json``)."""

        def _local(self, schema_uri: str) -> Path | None:
            m = _EXT_URI.match(schema_uri)
            local = (
                schema_dir / m["name"] / m["ver"] / "schema.json" if (m and schema_dir) else None
            )
            return local if local is not None and local.is_file() else None

        def _get_schema(self, schema_uri: str) -> dict[str, Any]:
            if schema_uri in self.schema_cache:
                return self.schema_cache[schema_uri]
            local = self._local(schema_uri)
            if local is None:
                raise _SchemaUnavailable(schema_uri)
            s = json.loads(local.read_text(encoding="utf-8"))
            self.schema_cache[schema_uri] = s
            return s  # type: ignore[no-any-return]

        def validate_extension(
            self,
            stac_dict: dict[str, Any],
            stac_object_type: Any,
            stac_version: str,
            extension_id: str,
            href: str | None = None,
        ) -> Any:
            if (
                extension_id.startswith("http")
                and extension_id not in self.schema_cache
                and self._local(extension_id) is None
            ):
                skipped.add(extension_id)
                return None
            try:
                out = super().validate_extension(
                    stac_dict, stac_object_type, stac_version, extension_id, href
                )
            except Exception as exc:  # the unavailable schema, maybe wrapped by referencing
                cause: BaseException | None = exc
                while cause is not None and not isinstance(cause, _SchemaUnavailable):
                    cause = cause.__cause__ or cause.__context__
                if cause is None:
                    raise
                skipped.add(extension_id)
                return None
            used.add(extension_id)
            return out

    return OfflineValidator()


@dataclass
class StacValidationReport:
    """What :func:`validate_stac` checked and found."""

    path: Path
    root_type: str
    root_id: str
    objects: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    core_schemas: set[str] = field(default_factory=set)
    extension_schemas_validated: set[str] = field(default_factory=set)
    extension_schemas_not_validated: set[str] = field(default_factory=set)
    field_checks: int = 0
    files_checked: int = 0
    self_contained: bool = True
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _walk(root: Any) -> Iterator[Any]:
    import pystac

    if isinstance(root, pystac.Catalog):
        yield root
        for child in root.get_children():
            yield from _walk(child)
        yield from root.get_items()
    else:
        yield root


def _is_absolute(href: str) -> bool:
    return "://" in href or href.startswith("/") or bool(re.match(r"^[A-Za-z]:[\\/]", href))


def validate_stac(
    path: str | os.PathLike[str],
    *,
    schema_dir: str | os.PathLike[str] | None = None,
    check_files: bool = True,
) -> StacValidationReport:
    """Validate a STAC catalog (every child and item) offline.

    1. Every object against the core STAC JSON schemas bundled with pystac, through
       pystac's validator (``STACObject.validate`` with a ``JsonSchemaSTACValidator``
       that never touches the network).
    2. Every extension it declares against the extension's JSON schema, when that
       schema is found under ``schema_dir`` (default: ``$LANDWATCH_STAC_SCHEMA_DIR``)
       as ``<name>/v<version>/schema.json``; otherwise the schema URI is listed in
       ``extension_schemas_not_validated`` (no package ships these schemas; pystac
       fetches them from the web).
    3. The extension fields landwatch writes, read back through pystac's typed classes:
       projection (code/WKT2, shape, 6- or 9-term transform), raster (data type, nodata),
       file (sha256 multihash and size equal to the file's, when ``check_files``),
       classification (integer values, names made of letters, digits, ``-``, ``_``),
       processing (lineage, software versions as strings).
    4. Links and asset hrefs: relative (``self_contained``) and, for local assets, the
       files exist.

    Raises :class:`DataSourceError`/:class:`InputError` when ``path`` cannot be read as
    STAC; problems found in a readable catalog are returned in ``errors``.
    """
    import pystac

    p = Path(path)
    if not p.exists():
        raise DataSourceError(f"stac validate: {str(p)!r} does not exist. Pass a catalog.json.")
    if p.is_dir():
        p = p / "catalog.json"
        if not p.is_file():
            raise DataSourceError(
                f"stac validate: {str(p.parent)!r} has no catalog.json. Pass the catalog file."
            )
    doc = _read_json(p, "stac validate")
    kind = _stac_kind(doc)
    if kind is None:
        raise InputError(
            f"stac validate: {p.name} is not a STAC catalog, collection, item or "
            "ItemCollection (no stac_version/type). Pass the catalog.json written by "
            "`landwatch stac publish`."
        )
    try:
        if kind == "FeatureCollection":
            root: Any = pystac.ItemCollection.from_file(str(p))
            objects = list(root.items)
        else:
            root = pystac.read_file(str(p))
            objects = list(_walk(root))
    except Exception as exc:
        raise DataSourceError(
            f"stac validate: could not open {str(p)!r} with pystac ({type(exc).__name__}: "
            f"{exc}). Check that its links point to existing files."
        ) from exc
    sdir = schema_dir if schema_dir is not None else os.environ.get(STAC_SCHEMA_DIR_ENV)
    skipped: set[str] = set()
    used: set[str] = set()
    validator = _offline_validator(Path(sdir) if sdir else None, skipped, used)
    report = StacValidationReport(
        path=p, root_type=kind, root_id=str(doc.get("id", "")) if isinstance(doc, dict) else ""
    )
    import logging

    pystac_log = logging.getLogger("pystac.validation.stac_validator")
    level = pystac_log.level
    pystac_log.setLevel(logging.CRITICAL)  # it logs each failure with a traceback
    try:
        for obj in objects:
            _validate_object(obj, p, validator, report, check_files)
    finally:
        pystac_log.setLevel(level)
    # an extension validated on some objects and skipped on none is validated
    report.extension_schemas_validated = used - skipped
    report.extension_schemas_not_validated = skipped
    return report


def _validate_object(
    obj: Any, p: Path, validator: Any, report: StacValidationReport, check_files: bool
) -> None:
    import pystac
    from pystac.errors import STACValidationError

    report.objects += 1
    href = obj.get_self_href() or str(p)
    try:
        results = obj.validate(validator=validator)
        report.core_schemas.update(r for r in results if r and "schemas.stacspec.org" in r)
    except STACValidationError as exc:
        report.errors.append(f"{obj.id}: {str(exc).splitlines()[0]} ({_best(exc)})")
    except Exception as exc:
        report.errors.append(f"{obj.id}: validation failed ({type(exc).__name__}: {exc})")
    for link in obj.links:
        if link.rel in ("self",):
            continue
        if isinstance(link.target, str) and _is_absolute(link.target):
            report.self_contained = False
    if isinstance(obj, pystac.Item | pystac.Collection):
        _check_fields(obj, href, report, check_files)
    if isinstance(obj, pystac.Item):
        report.items.append(
            {
                "id": obj.id,
                "datetime": _item_time_str(obj),
                "assets": sorted(obj.assets),
                "collection": obj.collection_id,
            }
        )


def _best(exc: Exception) -> str:
    src = getattr(exc, "source", None)
    if isinstance(src, list) and src:
        try:
            import jsonschema.exceptions

            best = jsonschema.exceptions.best_match(src)
            if best is not None:
                where = "/".join(str(x) for x in best.absolute_path)
                return f"{where}: {best.message}"
        except Exception:
            pass
    return "see the schema"


def _item_time_str(item: Any) -> str:
    if item.datetime is not None:
        return str(item.datetime.date())
    cm = item.common_metadata
    if cm.start_datetime and cm.end_datetime:
        return f"{cm.start_datetime.date()}/{cm.end_datetime.date()}"
    return ""


def _check_fields(obj: Any, href: str, report: StacValidationReport, check_files: bool) -> None:
    import pystac
    from pystac.extensions.classification import ClassificationExtension
    from pystac.extensions.file import FileExtension
    from pystac.extensions.projection import ProjectionExtension
    from pystac.extensions.raster import DataType, RasterExtension

    errs = report.errors
    exts = set(obj.stac_extensions)

    def proj_ok(target: Any, where: str) -> None:
        pe = ProjectionExtension.ext(target)
        report.field_checks += 1
        if pe.code is None and pe.wkt2 is None and pe.projjson is None:
            errs.append(f"{where}: proj: neither proj:code nor proj:wkt2/projjson")
        shape = pe.shape
        if shape is not None and (len(shape) != 2 or any(int(s) <= 0 for s in shape)):
            errs.append(f"{where}: proj:shape {shape} is not two positive sizes")
        tr = pe.transform
        if tr is not None and len(tr) not in (6, 9):
            errs.append(f"{where}: proj:transform has {len(tr)} terms (6 or 9 expected)")

    if isinstance(obj, pystac.Item):
        if ProjectionExtension.has_extension(obj) and "proj:shape" in obj.properties:
            proj_ok(obj, obj.id)
        if PROCESSING_SCHEMA_URI in exts:
            report.field_checks += 1
            props = obj.properties
            if not any(k.startswith("processing:") for k in props):
                errs.append(f"{obj.id}: processing extension declared but no processing:* field")
            sw = props.get("processing:software")
            if sw is not None and not (
                isinstance(sw, dict) and all(isinstance(v, str) for v in sw.values())
            ):
                errs.append(f"{obj.id}: processing:software must map names to version strings")
            lin = props.get("processing:lineage")
            if lin is not None and not isinstance(lin, str):
                errs.append(f"{obj.id}: processing:lineage must be a string")
    for key, asset in obj.assets.items():
        where = f"{obj.id}/{key}"
        if "proj:shape" in asset.extra_fields or "proj:code" in asset.extra_fields:
            proj_ok(asset, where)
        if "raster:bands" in asset.extra_fields and RasterExtension.has_extension(obj):
            report.field_checks += 1
            for b in RasterExtension.ext(asset).bands or []:
                if b.data_type is not None and b.data_type not in list(DataType):
                    errs.append(f"{where}: raster data_type {b.data_type!r} is not a STAC type")
                nd = b.nodata
                if nd is not None and not isinstance(nd, int | float | str):
                    errs.append(f"{where}: raster nodata {nd!r} is not a number or nan/inf")
        if "classification:classes" in asset.extra_fields:
            report.field_checks += 1
            for c in ClassificationExtension.ext(asset).classes or []:
                if not isinstance(c.value, int):
                    errs.append(f"{where}: class value {c.value!r} is not an integer")
                if not c.name or not re.fullmatch(r"[0-9A-Za-z_-]+", c.name):
                    errs.append(f"{where}: class name {c.name!r} must use letters, digits, -, _")
        ahref = asset.href
        if _is_absolute(ahref) and not ahref.startswith("file://"):
            if "://" in ahref:
                report.self_contained = False
                continue
            report.self_contained = False
        local = _local_path(asset.get_absolute_href() or ahref)
        if "://" in str(asset.get_absolute_href() or ""):  # published URL: nothing local
            continue
        if not local.is_file():
            errs.append(f"{where}: asset file {str(local)!r} does not exist")
            continue
        if check_files and "file:checksum" in asset.extra_fields:
            report.field_checks += 1
            report.files_checked += 1
            fe = FileExtension.ext(asset)
            want = fe.checksum or ""
            if want.startswith("1220"):
                got = _multihash_sha256(local)
                if got != want:
                    errs.append(f"{where}: file:checksum differs from the sha256 of {local.name}")
            if fe.size is not None and fe.size != local.stat().st_size:
                errs.append(
                    f"{where}: file:size {fe.size} but {local.name} has {local.stat().st_size} bytes"
                )
