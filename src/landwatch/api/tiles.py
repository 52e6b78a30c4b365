"""Rendering and reading of map layers: XYZ tiles, previews, values at a point.

Tiles are 256 x 256 px PNG in WebMercator (``WebMercatorQuad``, the XYZ scheme of
Leaflet and OpenStreetMap), read with rio-tiler from the layer's COG (or NetCDF
variable) and its overviews: nearest neighbour for categorical layers (classes are
never blended), bilinear for continuous ones. Pixels outside the data and no-data
pixels are transparent. Categorical layers are drawn with their colour table
(:meth:`~landwatch.api.catalog.Layer.colour_lut`), continuous ones with their
colormap stretched over the legend's ``min``..``max``.

Rendered tiles are kept in memory (:data:`TILE_CACHE`, least recently used first out,
bounded in bytes, ``LANDWATCH_TILE_CACHE_MB``; one cache per server process). The key
holds the layer's file size and modification time, so a rewritten file is never
served from old tiles.

Third-party modules are imported at the top of this module (and of ``catalog`` and
``zonal``), not inside the handlers: lazy imports from several request threads at
once saw a half-initialised rio_tiler under load (ImportError, 500).
"""

from __future__ import annotations

import io
import math
import threading
import warnings
from collections import OrderedDict
from functools import cache
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from PIL import Image
from rio_tiler.errors import PointOutsideBounds, TileOutsideBounds
from rio_tiler.io import Reader

from landwatch.api.catalog import Layer
from landwatch.errors import InputError, NotFoundError

__all__ = [
    "MAX_PREVIEW_WIDTH",
    "TILE_CACHE",
    "TILE_SIZE",
    "TileCache",
    "colorize",
    "encode_png",
    "point_series",
    "point_value",
    "render_preview",
    "render_tile",
]

TILE_SIZE = 256
MAX_PREVIEW_WIDTH = 2048
MAX_ZOOM = 24


def _methods(layer: Layer) -> dict[str, str]:
    if layer.categorical:
        return {"resampling_method": "nearest", "reproject_method": "nearest"}
    return {"resampling_method": "nearest", "reproject_method": "bilinear"}


def _masked(data: np.ma.MaskedArray, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """The first band and its validity (not masked, finite, not the nodata value)."""
    arr = np.ma.getdata(data)[0]
    valid = ~np.ma.getmaskarray(data)[0]
    if arr.dtype.kind == "f":
        valid &= np.isfinite(arr)
    if layer.nodata is not None and not math.isnan(layer.nodata):
        valid &= arr != layer.nodata
    return arr, valid


def colorize(layer: Layer, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """RGBA (uint8, ``(h, w, 4)``) of a 2-D array of the layer; invalid pixels transparent."""
    h, w = values.shape
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    if layer.categorical:
        lut, other = layer.colour_lut()
        rgba[valid] = other
        for value, colour in lut.items():
            rgba[valid & (values == value)] = colour
        return rgba
    import matplotlib

    assert layer.ramp is not None
    lo, hi = layer.ramp.min, layer.ramp.max
    norm = np.clip((values.astype("float64") - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    cmap = matplotlib.colormaps[layer.ramp.colormap]
    with np.errstate(invalid="ignore"):
        coloured = cmap(np.where(valid, norm, 0.0), bytes=True)
    rgba[valid] = coloured[valid]
    return rgba


def encode_png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an RGBA array."""

    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


@cache
def transparent_tile() -> bytes:
    """A fully transparent 256 x 256 PNG (tiles outside the data)."""
    return encode_png(np.zeros((TILE_SIZE, TILE_SIZE, 4), dtype=np.uint8))


def _check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise InputError(f"tile zoom {z} is out of range; expected 0-{MAX_ZOOM}.")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InputError(
            f"tile {z}/{x}/{y} does not exist; at zoom {z} x and y run from 0 to {n - 1}."
        )


class TileCache:
    """Rendered PNG tiles in memory, least recently used out first, at most
    ``max_bytes`` of PNG data (0 turns the cache off). Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._tiles: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tiles)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            png = self._tiles.get(key)
            if png is None:
                self.misses += 1
            else:
                self.hits += 1
                self._tiles.move_to_end(key)
            return png

    def put(self, key: tuple[Any, ...], png: bytes) -> None:
        with self._lock:
            if key in self._tiles or len(png) > self.max_bytes:
                return
            self._tiles[key] = png
            self._bytes += len(png)
            self._evict()

    def resize(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = max_bytes
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._tiles.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._tiles:
            _key, old = self._tiles.popitem(last=False)
            self._bytes -= len(old)


#: The tiles of this process (``LANDWATCH_TILE_CACHE_MB`` sets its size, default 64 MB).
TILE_CACHE = TileCache(64 * 2**20)


def render_tile(layer: Layer, z: int, x: int, y: int, *, time: str | None = None) -> bytes:
    """The XYZ tile ``z/x/y`` (WebMercator, 256 px) of a layer as PNG bytes (from
    :data:`TILE_CACHE` when the same tile of the unchanged file was drawn before).

    Raises
    ------
    InputError
        A tile index out of range, or a bad ``time``.
    """

    _check_tile(z, x, y)
    band = layer.band(time)
    try:
        st = layer.path.stat()
        key: tuple[Any, ...] | None = (
            layer.id,
            str(layer.path),
            st.st_size,
            st.st_mtime_ns,
            str(band),
            z,
            x,
            y,
        )
    except OSError:
        key = None  # let the reader say what is wrong with the file
    if key is not None and (png := TILE_CACHE.get(key)) is not None:
        return png
    png = _draw_tile(layer, z, x, y, band)
    if key is not None:
        TILE_CACHE.put(key, png)
    return png


def _draw_tile(layer: Layer, z: int, x: int, y: int, band: Any) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rio-tiler warns about missing overviews
        with Reader(layer.source) as src:
            if not src.tile_exists(x, y, z):
                return transparent_tile()
            try:
                img = src.tile(x, y, z, tilesize=TILE_SIZE, indexes=band, **_methods(layer))
            except TileOutsideBounds:
                return transparent_tile()
    values, valid = _masked(img.array, layer)
    if not valid.any():
        return transparent_tile()
    return encode_png(colorize(layer, values, valid))


def _preview_rgba(
    layer: Layer, band: int, width: int
) -> tuple[np.ndarray, tuple[float, float, float, float]]:

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Reader(layer.source) as src:
            ds = src.dataset
            height = max(1, round(width * ds.height / ds.width))
            img = src.preview(
                indexes=band, width=width, height=height, max_size=None, **_methods(layer)
            )
            b = ds.bounds
    values, valid = _masked(img.array, layer)
    return colorize(layer, values, valid), (b.left, b.right, b.bottom, b.top)


def render_preview(
    layer: Layer, *, time: str | None = None, width: int = 800, legend: bool = True
) -> bytes:
    """A PNG of the whole layer ``width`` px wide (in its own CRS), with its legend and
    title beside it (matplotlib) or, with ``legend=False``, the plain map.

    Raises
    ------
    InputError
        ``width`` out of 16..:data:`MAX_PREVIEW_WIDTH`, or a bad ``time``.
    """
    if not 16 <= width <= MAX_PREVIEW_WIDTH:
        raise InputError(f"width {width} is out of range; expected 16-{MAX_PREVIEW_WIDTH} px.")
    band = layer.band(time)
    rgba, extent = _preview_rgba(layer, band, width)
    if not legend:
        return encode_png(rgba)
    return _with_legend(layer, rgba, extent, layer.times[band - 1] if layer.times else None)


def _short(label: str, n: int = 56) -> str:
    return label if len(label) <= n else label[: n - 3] + "..."


def _with_legend(
    layer: Layer, rgba: np.ndarray, extent: tuple[float, float, float, float], when: str | None
) -> bytes:

    dpi = 100
    h, w = rgba.shape[:2]
    labels = [_short(c.label) for c in layer.classes[:24]]
    side = 140 if not layer.categorical else min(420, 70 + 6 * max(map(len, labels), default=8))
    top, pad = 48, 12
    fig_w, fig_h = w + side + 2 * pad, max(h + top + pad, 240)
    fig = Figure(figsize=(fig_w / dpi, fig_h / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((pad / fig_w, pad / fig_h, w / fig_w, h / fig_h))
    ax.imshow(rgba, extent=extent, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    title = layer.title
    title += f" - {layer.period}" if layer.period and layer.period not in title else ""
    title += f" ({when})" if when else ""
    fig.text(pad / fig_w, 1 - 14 / fig_h, title, fontsize=11, va="top", ha="left")
    left = (w + 2 * pad) / fig_w
    if layer.categorical:
        shown = layer.classes[:24]
        handles = [
            Patch(facecolor=c.color, edgecolor="#555555", label=label)
            for c, label in zip(shown, labels, strict=True)
        ]
        if len(layer.classes) > len(shown):
            handles.append(
                Patch(
                    facecolor="none",
                    edgecolor="none",
                    label=f"... {len(layer.classes) - len(shown)} more",
                )
            )
        lax = fig.add_axes((left, pad / fig_h, (side - pad) / fig_w, h / fig_h))
        lax.axis("off")
        lax.legend(handles=handles, loc="upper left", frameon=False, fontsize=8)
    else:
        assert layer.ramp is not None
        import matplotlib

        cax = fig.add_axes((left, pad / fig_h + 0.1 * h / fig_h, 18 / fig_w, 0.8 * h / fig_h))
        sm = ScalarMappable(
            norm=Normalize(layer.ramp.min, layer.ramp.max),
            cmap=matplotlib.colormaps[layer.ramp.colormap],
        )
        bar = fig.colorbar(sm, cax=cax)
        if layer.units and layer.units != "1":
            bar.set_label(layer.units)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _outside(layer: Layer, lon: float, lat: float) -> NotFoundError:
    w, s, e, n = layer.bounds
    return NotFoundError(
        f"point ({lon}, {lat}) is outside layer {layer.id!r}, which covers longitude "
        f"{w:.4f}..{e:.4f} and latitude {s:.4f}..{n:.4f}. Pick a point inside it."
    )


def _check_lonlat(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(
            f"point ({lon}, {lat}) is not a longitude/latitude; expected lon -180..180 and "
            "lat -90..90 (WGS84)."
        )


def _point(layer: Layer, lon: float, lat: float, bands: list[int] | None) -> Any:

    _check_lonlat(lon, lat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Reader(layer.source) as src:
            try:
                return src.point(lon, lat, indexes=bands)
            except PointOutsideBounds:
                raise _outside(layer, lon, lat) from None


def _clean(layer: Layer, value: Any, masked: bool) -> float | int | None:
    if masked:
        return None
    v = value.item() if hasattr(value, "item") else value
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if layer.nodata is not None and not math.isnan(layer.nodata) and v == layer.nodata:
        return None
    if layer.categorical:
        return int(v)
    return float(v)


def point_value(layer: Layer, lon: float, lat: float, *, time: str | None = None) -> dict[str, Any]:
    """``{"value", "label", "units"}`` of the pixel at ``lon``/``lat`` (WGS84).

    ``value`` is None on no-data pixels; ``label`` is the class name of categorical
    layers.

    Raises
    ------
    NotFoundError
        The point is outside the layer.
    InputError
        Not a longitude/latitude, or a bad ``time``.
    """
    band = layer.band(time)
    pt = _point(layer, lon, lat, [band])
    value = _clean(layer, pt.data[0], bool(np.ma.getmaskarray(pt.array)[0]))
    return {"value": value, "label": layer.label_of(value), "units": layer.units}


def point_series(layer: Layer, lon: float, lat: float) -> tuple[list[str], list[float | None]]:
    """Times and values of every band of a multi-band layer at ``lon``/``lat``.

    Raises
    ------
    NotFoundError
        The point is outside the layer.
    InputError
        The layer has no times.
    """
    if not layer.times:
        raise InputError(f"layer {layer.id!r} has a single band, no time series.")
    pt = _point(layer, lon, lat, None)
    mask = np.ma.getmaskarray(pt.array)
    values = [_clean(layer, v, bool(m)) for v, m in zip(pt.data, mask, strict=True)]
    return list(layer.times), [None if v is None else float(v) for v in values]
