"""Pixel areas on the ellipsoid and area tables of categorical rasters.

Areas are never counted as pixels: on geographic grids every row has its own
ellipsoidal area (STYLE sec. 6). Tables are built with one weighted ``np.bincount``
per block over factorised codes, so they stream over dask arrays of any size.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA

__all__ = [
    "area_by_class",
    "cell_area_m2",
    "crosstab_area",
    "pixel_area_km2",
]

# Projection methods that preserve area (pyproj / PROJ method names, lower case).
_EQUAL_AREA_METHODS = (
    "equal area",
    "equal-area",
    "mollweide",
    "sinusoidal",
    "equal earth",
    "eckert iv",
    "eckert vi",
    "goode",
    "quartic authalic",
)
# Conformal projections whose planar area error stays small near their centre (< 0.1 %
# within about 180 km of the central meridian for UTM).
_SMALL_ERROR_METHODS = ("transverse mercator", "lambert conic conformal")


def _authalic_zone(lat_rad: np.ndarray, a: float, e2: float) -> np.ndarray:
    """Area (m^2) of the ellipsoid between the equator and latitude, over 360 degrees."""
    s = np.sin(lat_rad)
    if e2 < 1e-15:  # sphere
        return 2.0 * np.pi * a * a * s
    e = np.sqrt(e2)
    return np.pi * a * a * (1.0 - e2) * (s / (1.0 - e2 * s * s) + np.arctanh(e * s) / e)


def _ellipsoid(crs: CRS) -> tuple[float, float]:
    ell = crs.ellipsoid
    if ell is None:
        raise InputError(
            f"CRS {crs.name!r} has no ellipsoid; expected a geographic or projected CRS. "
            "Pass e.g. 'EPSG:4326'."
        )
    a = float(ell.semi_major_metre)
    inv_f = float(ell.inverse_flattening)
    f = 0.0 if not np.isfinite(inv_f) or inv_f == 0 else 1.0 / inv_f
    return a, f * (2.0 - f)


def _to_crs(crs: CRS | str | int) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError
        raise InputError(
            f"crs {crs!r} is not a valid CRS ({exc}); expected an EPSG code, WKT or PROJ "
            "string. Pass e.g. 'EPSG:4326'."
        ) from None


def cell_area_m2(
    lat_min: np.ndarray | float,
    lat_max: np.ndarray | float,
    lon_width: np.ndarray | float,
    *,
    crs: CRS | str | int = "EPSG:4326",
) -> np.ndarray:
    """Exact ellipsoidal area of a latitude-longitude cell.

    Parameters
    ----------
    lat_min, lat_max : array-like
        Bounding latitudes in the CRS angular unit (degrees for EPSG:4326); order free.
    lon_width : array-like
        Cell width in the same unit.
    crs : CRS, default EPSG:4326
        Geographic CRS whose ellipsoid is used.

    Returns
    -------
    numpy.ndarray
        Area in m^2.

    Notes
    -----
    With ``e`` the eccentricity and ``q(phi) = sin(phi) / (1 - e^2 sin^2 phi) +
    atanh(e sin(phi)) / e``, the area between the equator and ``phi`` over 360 degrees
    is ``pi a^2 (1 - e^2) q(phi)`` (authalic latitude); a cell is the difference times
    ``lon_width / 360``. Same formula as Trends.Earth ``util_numba.calc_cell_area``.

    References
    ----------
    Snyder, J. P. (1987) Map projections - a working manual, USGS PP 1395, eq. 3-12.
    """
    c = _to_crs(crs)
    if not c.is_geographic:
        raise InputError(
            f"cell_area_m2 needs a geographic CRS; got {c.name!r} (projected). Use "
            "pixel_area_km2(), which handles projected CRSs."
        )
    a, e2 = _ellipsoid(c)
    to_rad = float(c.axis_info[0].unit_conversion_factor) if c.axis_info else np.pi / 180
    to_deg = to_rad * 180.0 / np.pi
    lo = np.clip(np.minimum(lat_min, lat_max) * to_deg, -90.0, 90.0)
    hi = np.clip(np.maximum(lat_min, lat_max) * to_deg, -90.0, 90.0)
    width = np.abs(np.asarray(lon_width, dtype=np.float64)) * to_deg
    zone = _authalic_zone(np.deg2rad(hi), a, e2) - _authalic_zone(np.deg2rad(lo), a, e2)
    return np.asarray(zone * width / 360.0)


def _projection_method(crs: CRS) -> str:
    op = crs.coordinate_operation
    return (op.method_name if op is not None else crs.name).lower()


def pixel_area_km2(
    y: np.ndarray | xr.DataArray,
    res_x: float,
    res_y: float,
    crs: CRS | str | int,
) -> xr.DataArray:
    """Area of the pixels of each row of a regular grid, in km^2.

    Parameters
    ----------
    y : array-like or xarray.DataArray
        1-D pixel-centre coordinates of the rows (e.g. ``da.y``), in CRS units.
    res_x, res_y : float
        Pixel size in CRS units (sign ignored).
    crs : pyproj.CRS, str or int
        CRS of the grid.

    Returns
    -------
    xarray.DataArray
        float64 ``(y,)`` area in km^2, broadcastable against ``(y, x)`` rasters. Attribute
        ``area_method`` says how it was computed.

    Raises
    ------
    InputError
        Non-finite or zero resolution, non-1-D ``y``, or an invalid CRS.

    Notes
    -----
    Geographic CRS: exact ellipsoidal area of each cell (:func:`cell_area_m2`) on the
    CRS ellipsoid. Projected CRS: planar area ``|res_x * res_y|`` in the CRS linear unit.
    This is exact for equal-area projections; for UTM / transverse Mercator the scale
    error is below 0.1 % within about 180 km of the central meridian (0.04 % at the
    edge of a 6-degree zone near the equator is the k0 = 0.9996 term only). Other
    projections (e.g. Web Mercator) can be badly wrong, so a ``UserWarning`` is issued
    and the fix is to reproject to an equal-area CRS or to EPSG:4326.
    """
    c = _to_crs(crs)
    if not (np.isfinite(res_x) and np.isfinite(res_y)) or res_x == 0 or res_y == 0:
        raise InputError(
            f"pixel resolution is ({res_x}, {res_y}); expected two non-zero finite sizes "
            "in CRS units. Pass the grid's res_x and res_y."
        )
    name = y.name if isinstance(y, xr.DataArray) and y.name is not None else "y"
    yv = np.asarray(y, dtype=np.float64)
    if yv.ndim != 1:
        raise InputError(
            f"y has shape {yv.shape}; expected the 1-D row-centre coordinates. Pass da.y."
        )
    half = abs(res_y) / 2.0
    if c.is_geographic:
        area = cell_area_m2(yv - half, yv + half, abs(res_x), crs=c) / 1e6
        method = f"ellipsoidal ({c.ellipsoid.name if c.ellipsoid else 'ellipsoid'})"
    else:
        unit = float(c.axis_info[0].unit_conversion_factor) if c.axis_info else 1.0
        area = np.full(yv.shape, abs(res_x * res_y) * unit * unit / 1e6)
        pm = _projection_method(c)
        if any(k in pm for k in _EQUAL_AREA_METHODS):
            method = f"planar, equal-area projection ({pm})"
        elif any(k in pm for k in _SMALL_ERROR_METHODS):
            method = f"planar, conformal projection ({pm}); scale error typically < 0.1 %"
        else:
            method = f"planar, projection not equal-area ({pm})"
            warnings.warn(
                f"pixel areas of CRS {c.name!r} ({pm}) are planar and may be far from the "
                "true ground area; reproject to an equal-area CRS or EPSG:4326.",
                UserWarning,
                stacklevel=2,
            )
    return xr.DataArray(
        area,
        dims=(name,),
        coords={name: yv},
        name="pixel_area",
        attrs={"units": "km2", "long_name": "pixel area", "area_method": method},
    )


# --------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------

_DENSE_MAX_RANGE = 1 << 22


def _codes(a: np.ndarray) -> np.ndarray:
    """int64 codes; NaN (float input) -> NODATA."""
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.floating):
        a = np.where(np.isnan(a), NODATA, a)
    return a.astype(np.int64, copy=False)


def _factorize(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique values and inverse index, O(n) through a dense table when the range is small."""
    if a.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.intp)
    lo, hi = int(a.min()), int(a.max())
    if hi - lo < _DENSE_MAX_RANGE:
        shifted = a - lo
        present = np.bincount(shifted, minlength=hi - lo + 1) > 0
        uniq = np.flatnonzero(present)
        lut = np.zeros(hi - lo + 1, dtype=np.intp)
        lut[uniq] = np.arange(uniq.size)
        return uniq + lo, lut[shifted]
    uniq, inv = np.unique(a, return_inverse=True)
    return uniq, inv.reshape(-1)


def _block_table(*arrays: np.ndarray) -> dict[tuple[int, ...], float]:
    """Weighted counts of code combinations in one block: ``arrays = (*codes, w, keep)``."""
    *cats, w, keep = arrays
    keep = np.asarray(keep, dtype=bool)
    w = np.asarray(w, dtype=np.float64)[keep]
    factors = [_factorize(_codes(c)[keep]) for c in cats]
    key = np.zeros(w.size, dtype=np.int64)
    sizes = [u.size for u, _ in factors]
    for (_, inv), _n in zip(factors, sizes, strict=True):
        key = key * _n + inv
    if w.size == 0:
        return {}
    sums = np.bincount(key, weights=w, minlength=int(np.prod(sizes)))
    out: dict[tuple[int, ...], float] = {}
    for flat in np.flatnonzero(np.bincount(key, minlength=sums.size)):
        combo = np.unravel_index(flat, sizes)
        out[tuple(int(factors[i][0][j]) for i, j in enumerate(combo))] = float(sums[flat])
    return out


def _merge(parts: Sequence[dict[tuple[int, ...], float]]) -> dict[tuple[int, ...], float]:
    total: dict[tuple[int, ...], float] = {}
    for p in parts:
        for k, v in p.items():
            total[k] = total.get(k, 0.0) + v
    return total


def _aligned(
    cats: Sequence[xr.DataArray | np.ndarray],
    area_km2: Any,
    mask: Any,
    names: Sequence[str],
) -> list[Any]:
    """Broadcast categorical layers, areas and keep-mask to one shape (and one chunking)."""
    das = []
    for c, n in zip(cats, names, strict=True):
        if not isinstance(c, xr.DataArray):
            c = xr.DataArray(np.asarray(c), dims=[f"dim_{i}" for i in range(np.ndim(c))])
        das.append(c.rename(n))
    ref = das[0]
    for d, n in zip(das[1:], names[1:], strict=True):
        if d.shape != ref.shape and d.dims == ref.dims:
            raise InputError(
                f"{n} has shape {d.shape}; expected the shape of {names[0]} {ref.shape}. "
                "Align the rasters to one grid first."
            )

    def wrap(x: Any, what: str) -> xr.DataArray:
        if isinstance(x, xr.DataArray):
            return x
        arr = np.asarray(x) if not hasattr(x, "dask") and not hasattr(x, "chunks") else x
        if np.ndim(arr) == 0:
            return xr.DataArray(arr)
        try:
            np.broadcast_shapes(np.shape(arr), ref.shape)
        except ValueError:
            raise InputError(
                f"{what} has shape {np.shape(arr)}; expected a scalar, a DataArray with "
                f"dims among {ref.dims}, or an array broadcastable to {ref.shape}. For one "
                "area per row pass pixel_area_km2(...) (a DataArray on 'y') or area[:, None]."
            ) from None
        return xr.DataArray(arr, dims=ref.dims[ref.ndim - np.ndim(arr) :])

    area = wrap(area_km2, "area_km2")
    keep = xr.ones_like(ref, dtype=bool) if mask is None else ~wrap(mask, "mask").astype(bool)
    try:
        out = list(xr.broadcast(*xr.align(*das, area, keep, join="exact")))
    except ValueError as exc:
        raise InputError(
            f"{', '.join(names)}, area_km2 and mask do not share one grid ({exc}); expected "
            "identical coordinates and sizes. Align the rasters first."
        ) from None
    out = [o.transpose(*out[0].dims) for o in out]
    dask_backed = [o for o in out if o.chunks is not None]
    if dask_backed:
        chunks = dict(dask_backed[0].chunksizes)
        out = [o.chunk(chunks) for o in out]
    return [o.data for o in out]


def _weighted_table(arrays: list[Any]) -> dict[tuple[int, ...], float]:
    if not any(hasattr(a, "dask") for a in arrays):
        return _block_table(*[np.asarray(a) for a in arrays])
    import dask
    import dask.array as dsa

    arrays = [a if isinstance(a, dsa.Array) else dsa.from_array(a) for a in arrays]
    blocks = [a.to_delayed().ravel() for a in arrays]
    parts = [dask.delayed(_block_table)(*bs) for bs in zip(*blocks, strict=True)]
    return _merge(dask.compute(*parts))


def area_by_class(
    classes: xr.DataArray,
    area_km2: xr.DataArray | np.ndarray | float,
    *,
    codes: Sequence[int] | None = None,
    mask: xr.DataArray | np.ndarray | None = None,
) -> dict[int, float]:
    """Total area of each class of a categorical raster.

    Parameters
    ----------
    classes : xarray.DataArray
        Categorical raster (integers; NaN is read as ``NODATA``). numpy or dask backed.
    area_km2 : xarray.DataArray, ndarray or float
        Pixel area in km^2, broadcastable to ``classes`` (e.g. from
        :func:`pixel_area_km2`).
    codes : sequence of int, optional
        Classes always reported (0.0 if absent). Codes present but not listed are
        reported too, so the values always sum to the area considered.
    mask : xarray.DataArray or ndarray of bool, optional
        True = pixel is **excluded** (outside the area of interest), as in numpy masked
        arrays, rasterio ``geometry_mask`` and Trends.Earth.

    Returns
    -------
    dict of int to float
        ``{code: km^2}`` sorted by code; ``NODATA`` (-32768) is always a key of its own.

    Notes
    -----
    Triggers computation for dask input (the result is a small table): one weighted
    ``np.bincount`` per block, partial tables summed.
    """
    arrays = _aligned([classes], area_km2, mask, ["classes"])
    table = _weighted_table(arrays)
    out = {int(k[0]): v for k, v in table.items()}
    for c in list(codes or []) + [NODATA]:
        out.setdefault(int(c), 0.0)
    return dict(sorted(out.items()))


def crosstab_area(
    a: xr.DataArray,
    b: xr.DataArray,
    area_km2: xr.DataArray | np.ndarray | float,
    *,
    mask: xr.DataArray | np.ndarray | None = None,
    codes_a: Sequence[int] | None = None,
    codes_b: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Area (km^2) of every combination of the classes of two rasters.

    Parameters
    ----------
    a, b : xarray.DataArray
        Categorical rasters on the same grid (e.g. baseline and reporting SDG, or land
        cover at the start and end of a period).
    area_km2 : xarray.DataArray, ndarray or float
        Pixel area in km^2, broadcastable to ``a``.
    mask : xarray.DataArray or ndarray of bool, optional
        True = pixel excluded (outside the area of interest).
    codes_a, codes_b : sequence of int, optional
        Classes always shown as rows / columns (zero-filled).

    Returns
    -------
    pandas.DataFrame
        Rows = codes of ``a`` (index named after ``a``), columns = codes of ``b``; km^2.
        ``NODATA`` appears as a row / column when present.
    """
    arrays = _aligned([a, b], area_km2, mask, ["a", "b"])
    table = _weighted_table(arrays)
    rows = sorted({k[0] for k in table} | set(codes_a or []))
    cols = sorted({k[1] for k in table} | set(codes_b or []))
    df = pd.DataFrame(
        0.0, index=pd.Index(rows, name=a.name or "a"), columns=pd.Index(cols, name=b.name or "b")
    )
    for (i, j), v in table.items():
        df.loc[i, j] = v
    return df


# --------------------------------------------------------------------------------------
# one-pass weighted pair counts (zonal class areas, cross-tabulations)
# --------------------------------------------------------------------------------------


def _lookup(codes: Sequence[int]) -> tuple[np.ndarray, int]:
    """Value -> position table for ``codes``; every other value maps to ``len(codes)``."""
    arr = np.asarray(list(codes), dtype=np.int64)
    lo = int(min(arr.min(), 0))
    lut = np.full(int(arr.max()) - lo + 2, arr.size, dtype=np.int64)
    lut[arr - lo] = np.arange(arr.size)
    return lut, lo


_PIXELS_PER_THREAD = 1_000_000


@numba.njit(nogil=True, cache=True)
def _pair_counts_kernel(a, b, w, mask, lut_a, lo_a, lut_b, lo_b, na, nb):  # pragma: no cover
    out = np.zeros((na + 1, nb + 1), dtype=np.float64)
    top_a = lut_a.size - 1
    top_b = lut_b.size - 1
    for i in range(a.size):
        if not mask[i]:
            continue
        ia = np.int64(a[i]) - lo_a
        ib = np.int64(b[i]) - lo_b
        ia = top_a if (ia < 0 or ia > top_a) else ia
        ib = top_b if (ib < 0 or ib > top_b) else ib
        out[lut_a[ia], lut_b[ib]] += w[i]
    return out


def weighted_pair_counts(
    a: np.ndarray,
    b: np.ndarray,
    weights: np.ndarray,
    *,
    codes_a: Sequence[int],
    codes_b: Sequence[int],
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Sum of ``weights`` over each (a class, b class) pair, in one pass without temporaries.

    Parameters
    ----------
    a, b : numpy.ndarray
        Integer class grids of the same shape (e.g. admin-unit ids and a class map).
    weights : numpy.ndarray
        Per-pixel weights broadcastable to ``a`` (e.g. pixel area in km2).
    codes_a, codes_b : sequence of int
        The classes to tabulate; every other value is collected in the last row /
        column ("other", e.g. nodata).
    mask : numpy.ndarray of bool, optional
        Pixels to count (True = counted; note: the opposite of ``area_by_class``).

    Returns
    -------
    numpy.ndarray
        float64 ``(len(codes_a) + 1, len(codes_b) + 1)``.
    """
    shape = np.shape(a)
    if np.shape(b) != shape:
        raise InputError(f"weighted_pair_counts: a has shape {shape} but b has {np.shape(b)}.")
    a = np.ascontiguousarray(a).ravel()
    b = np.ascontiguousarray(b).ravel()
    w = np.ascontiguousarray(np.broadcast_to(np.asarray(weights, dtype=np.float64), shape)).ravel()
    m = (
        np.ones(a.size, dtype=np.bool_)
        if mask is None
        else np.ascontiguousarray(mask, dtype=np.bool_).ravel()
    )
    lut_a, lo_a = _lookup(codes_a)
    lut_b, lo_b = _lookup(codes_b)
    na, nb = len(codes_a), len(codes_b)
    nthreads = min(os.cpu_count() or 1, a.size // _PIXELS_PER_THREAD)
    if nthreads < 2 or threading.current_thread() is not threading.main_thread():
        return _pair_counts_kernel(a, b, w, m, lut_a, lo_a, lut_b, lo_b, na, nb)
    # the kernel releases the GIL: fixed slices summed in a fixed order (deterministic)
    edges = np.linspace(0, a.size, nthreads + 1).astype(np.int64)

    def part(i: int) -> np.ndarray:
        lo, hi = edges[i], edges[i + 1]
        return _pair_counts_kernel(  # type: ignore[no-any-return]
            a[lo:hi], b[lo:hi], w[lo:hi], m[lo:hi], lut_a, lo_a, lut_b, lo_b, na, nb
        )

    with ThreadPoolExecutor(nthreads) as pool:
        parts = list(pool.map(part, range(nthreads)))
    return np.sum(parts, axis=0)
