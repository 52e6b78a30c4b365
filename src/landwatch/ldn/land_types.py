"""LDN land types: the strata within which gains and losses are counterbalanced.

A land type is one combination of categorical layers that describe land potential and
use: by default land cover (of the baseline's first year) x soil unit x IPCC climate
zone, or any user raster (Orr et al. 2017, SCF 4.3: "land type" = land potential
and land cover / use). Trends.Earth builds the same intersection with a combined code
``sum(code_i * multiplier_i)``; here the combinations present are numbered 1..n in
sorted order of their component codes and described in a legend table, so codes stay
small and every code means something.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import InputError

__all__ = ["LAND_TYPE_NODATA", "land_types"]

#: Land type code of pixels outside every land type (water, no data, excluded).
LAND_TYPE_NODATA: int = 0


def _valid(a: np.ndarray, nodata: float | int | None) -> np.ndarray:
    ok = np.ones(a.shape, bool)
    if np.issubdtype(a.dtype, np.floating):
        ok &= np.isfinite(a)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        ok &= a != nodata
    return ok


def land_types(
    components: Mapping[str, xr.DataArray],
    *,
    names: Mapping[str, Mapping[int, str]] | None = None,
    exclude: xr.DataArray | np.ndarray | None = None,
    ignore_codes: Mapping[str, Sequence[int]] | None = None,
) -> tuple[xr.DataArray, pd.DataFrame]:
    """Intersect categorical layers into numbered land types.

    Parameters
    ----------
    components : mapping of str to xarray.DataArray
        Categorical ``(y, x)`` layers on one grid, e.g. ``{"land_cover": lc,
        "soil_unit": soil, "climate_zone": cz}``; order sets the legend's columns.
        Float layers must hold whole numbers; the ``nodata`` attribute and NaN mark no data.
    names : mapping, optional
        Class names per component (``{"land_cover": {1: "Tree-covered", ...}}``) for the
        legend's labels.
    exclude : boolean array, optional
        True where no land type is assigned (e.g. water bodies).
    ignore_codes : mapping, optional
        Codes of a component that get no land type (e.g. ``{"land_cover": [7]}`` for
        water, as the LDN balance counts land only).

    Returns
    -------
    (xarray.DataArray, pandas.DataFrame)
        int32 land type codes 1..n (0 = none) and the legend: ``land_type``, one code
        column and one ``<component>_name`` column per component, ``label`` and
        ``pixels``.

    Raises
    ------
    InputError
        No component, grids of different shapes, or non-integer codes.
    """
    if not components:
        raise InputError(
            "land types: no component layers given; pass at least one (e.g. land cover)."
        )
    names = names or {}
    first_name, first = next(iter(components.items()))
    shape = first.shape
    valid = np.ones(shape, bool)
    codes: dict[str, np.ndarray] = {}
    for name, da in components.items():
        if da.ndim != 2:
            raise InputError(
                f"land types: component {name!r} has dims {da.dims}; expected one map (y, x)."
            )
        if da.shape != shape:
            raise InputError(
                f"land types: component {name!r} has shape {da.shape} but {first_name!r} has "
                f"{shape}; put all components on one grid (e.g. --align)."
            )
        a = np.asarray(da.values)
        ok = _valid(a, da.attrs.get("nodata"))
        if np.issubdtype(a.dtype, np.floating):
            vals = a[ok]
            if vals.size and not np.all(vals == np.round(vals)):
                raise InputError(
                    f"land types: component {name!r} holds fractional values; expected class "
                    "codes (whole numbers). Classify it first."
                )
        for c in (ignore_codes or {}).get(name, ()):
            ok &= a != c
        valid &= ok
        codes[name] = np.where(ok, a, 0).astype(np.int64)
    if exclude is not None:
        valid &= ~np.asarray(exclude, bool)
    stacked = np.stack([codes[n][valid] for n in components], axis=1)
    out = np.full(shape, LAND_TYPE_NODATA, np.int32)
    if stacked.shape[0] == 0:
        combos = np.zeros((0, len(components)), np.int64)
        counts = np.zeros(0, np.int64)
    else:
        combos, inverse, counts = np.unique(
            stacked, axis=0, return_inverse=True, return_counts=True
        )
        out[valid] = inverse.reshape(-1).astype(np.int32) + 1
    rows = []
    for i, combo in enumerate(combos):
        row: dict[str, object] = {"land_type": i + 1}
        labels = []
        for name, code in zip(components, combo, strict=True):
            cname = (names.get(name) or {}).get(int(code), f"{name} {int(code)}")
            row[name] = int(code)
            row[f"{name}_name"] = cname
            labels.append(cname)
        row["label"] = " / ".join(labels)
        row["pixels"] = int(counts[i])
        rows.append(row)
    legend = pd.DataFrame(
        rows,
        columns=[
            "land_type",
            *[c for n in components for c in (n, f"{n}_name")],
            "label",
            "pixels",
        ],
    )
    da = xr.DataArray(
        out,
        dims=first.dims,
        coords={k: v for k, v in first.coords.items() if k in first.dims or k == "spatial_ref"},
        name="land_type",
        attrs={
            "long_name": "LDN land type (" + " x ".join(components) + ")",
            "units": "1",
            "nodata": LAND_TYPE_NODATA,
            "components": list(components),
        },
    )
    return da, legend
