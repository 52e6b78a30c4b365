"""Hotspots and brightspots: connected patches of degrading or improving land.

PRAIS 4 (SO1-4 T4/T5) asks for hotspots (areas degrading, in need of urgent
remediation) and brightspots (areas improving, or remediated) with location, area,
the process behind them and the basis of the judgement, but prescribes no numeric
rule. landwatch's rule, stated in every output:

* a **hotspot** is a patch of 8-connected loss pixels (status 1-2 of the period
  against the baseline, :func:`landwatch.ldn.neutrality.gains_losses`), a
  **brightspot** a patch of gain pixels (status 6-7), of at least ``min_area_km2``;
* each patch gets its area, severity (mean number of sub-indicators that changed:
  land cover, productivity, SOC; share of each LPD class), processes (productivity
  decline or increase, each land cover transition, SOC loss or gain, with the share
  of the patch), population, drought-hazard overlap, the land types and admin units it
  covers, and a priority: the weighted mean of its percentile ranks in area, severity,
  population and drought overlap (weights in :data:`PRIORITY_WEIGHTS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from landwatch.errors import InputError
from landwatch.indices.land.codes import LC_CLASSES, LPD_CLASSES

__all__ = ["PRIORITY_WEIGHTS", "label_patches", "patch_polygons", "patch_table"]

#: Weights of the priority score (percentile ranks, highest = most urgent).
PRIORITY_WEIGHTS: dict[str, float] = {
    "area": 0.4,
    "severity": 0.3,
    "population": 0.2,
    "drought": 0.1,
}
#: A process is listed for a patch when it covers at least this share of it.
PROCESS_MIN_SHARE = 0.2


def label_patches(
    mask: np.ndarray,
    area_km2: np.ndarray,
    *,
    min_area_km2: float = 1.0,
    connectivity: int = 8,
) -> tuple[np.ndarray, int]:
    """Label connected patches of ``mask`` of at least ``min_area_km2``.

    Parameters
    ----------
    mask : bool array (y, x)
        Pixels that may form a patch.
    area_km2 : float array (y, x)
        Pixel areas.
    min_area_km2 : float
        Smallest patch kept.
    connectivity : {4, 8}
        Neighbourhood (8 joins diagonal neighbours, as GDAL's sieve and polygonize
        with 8-connectedness).

    Returns
    -------
    (numpy.ndarray, int)
        int32 labels 1..n (0 = no patch), numbered by decreasing area, and n.
    """
    if connectivity not in (4, 8):
        raise InputError(f"connectivity must be 4 or 8, got {connectivity}.")
    if min_area_km2 < 0:
        raise InputError(f"min_area_km2 must be >= 0, got {min_area_km2}.")
    structure = (
        np.ones((3, 3), bool) if connectivity == 8 else ndimage.generate_binary_structure(2, 1)
    )
    labels, n = ndimage.label(np.asarray(mask, bool), structure=structure)
    if n == 0:
        return labels.astype(np.int32), 0
    areas = np.bincount(
        labels.ravel(), weights=np.asarray(area_km2, float).ravel(), minlength=n + 1
    )
    areas[0] = -1.0
    keep = np.flatnonzero(areas >= min_area_km2)
    keep = keep[keep > 0]
    # stable order: decreasing area, then first label
    keep = keep[np.lexsort((keep, -areas[keep]))]
    lut = np.zeros(n + 1, np.int32)
    lut[keep] = np.arange(1, keep.size + 1, dtype=np.int32)
    return lut[labels], int(keep.size)


def _pct_rank(v: np.ndarray) -> np.ndarray:
    """Percentile rank in (0, 1], ties share the mean rank; all equal -> 1."""
    if v.size == 0:
        return v.astype(float)
    s = pd.Series(v).rank(method="average", pct=True).to_numpy()
    return np.where(np.isnan(s), 0.0, s)


def patch_table(
    labels: np.ndarray,
    n: int,
    kind: str,
    *,
    area_km2: np.ndarray,
    land_cover_change: np.ndarray | None = None,
    productivity: np.ndarray | None = None,
    soc_change: np.ndarray | None = None,
    lpd5: np.ndarray | None = None,
    lc_initial: np.ndarray | None = None,
    lc_final: np.ndarray | None = None,
    population: np.ndarray | None = None,
    drought_hazard: np.ndarray | None = None,
    hazard_min_class: int = 2,
    land_type: np.ndarray | None = None,
    land_type_names: Mapping[int, str] | None = None,
    zones: np.ndarray | None = None,
    zone_names: Mapping[int, str] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Attributes and priority of each patch.

    Parameters
    ----------
    labels, n : from :func:`label_patches`.
    kind : {"hotspot", "brightspot"}
        Hotspots look at declines (-1 sub-indicators), brightspots at increases (+1).
    land_cover_change, productivity, soc_change : int arrays, optional
        The period's 3-class sub-indicators (-1 degraded, 0 stable, 1 improved).
    lpd5 : int array, optional
        5-class land productivity dynamics.
    lc_initial, lc_final : int arrays, optional
        Land cover at the start and end of the period (UNCCD 7 classes) for the
        transitions.
    population : float array, optional
        People per pixel.
    drought_hazard : int array, optional
        Drought hazard class per pixel (0 none .. 4 extreme, e.g. the most severe class of
        a recent SO3 period); ``drought_share`` is the share of the patch area at
        ``hazard_min_class`` or more.
    land_type, zones : int arrays, optional
        Land types and admin units (1..n); the table names the dominant one and lists all.
    extra : mapping, optional
        More integer layers; the dominant value of each is reported as ``<name>``.
    weights : mapping, optional
        Priority weights (default :data:`PRIORITY_WEIGHTS`).

    Returns
    -------
    pandas.DataFrame
        One row per patch, ordered by ``rank`` (1 = highest priority).
    """
    if kind not in ("hotspot", "brightspot"):
        raise InputError(f"kind must be 'hotspot' or 'brightspot', got {kind!r}.")
    sign = -1 if kind == "hotspot" else 1
    lab = np.asarray(labels)
    inside = lab > 0
    idx = lab[inside]
    area = np.asarray(area_km2, float)[inside]
    size = n + 1

    def total(w: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=w, minlength=size)[1:]

    patch_area = total(area)
    rows: dict[str, Any] = {
        "patch": np.arange(1, n + 1),
        "type": kind,
        "area_km2": patch_area,
        "pixels": np.bincount(idx, minlength=size)[1:],
    }

    def share(cond: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(patch_area > 0, total(area * cond) / patch_area, 0.0)

    n_changed = np.zeros(idx.shape)
    process_shares: dict[str, np.ndarray] = {}
    process_codes: dict[str, str] = {}
    word = "decline" if sign < 0 else "increase"
    if productivity is not None:
        p = np.asarray(productivity)[inside] == sign
        n_changed += p
        process_shares[f"productivity {word}"] = share(p)
        process_codes[f"productivity {word}"] = f"productivity_{word}"
    if land_cover_change is not None:
        c = np.asarray(land_cover_change)[inside] == sign
        n_changed += c
        if lc_initial is not None and lc_final is not None:
            a0 = np.asarray(lc_initial)[inside].astype(np.int64)
            a1 = np.asarray(lc_final)[inside].astype(np.int64)
            pairs: Any = np.unique(np.stack([a0[c], a1[c]], axis=1), axis=0) if c.any() else []
            for f, t in pairs:
                name = (
                    f"land cover {LC_CLASSES.get(int(f), f).lower()} -> "
                    f"{LC_CLASSES.get(int(t), t).lower()}"
                )
                process_shares[name] = share(c & (a0 == f) & (a1 == t))
                process_codes[name] = f"land_cover_{int(f)}_{int(t)}"
        else:
            name = f"land cover {'degradation' if sign < 0 else 'improvement'}"
            process_shares[name] = share(c)
            process_codes[name] = "land_cover_" + ("degradation" if sign < 0 else "improvement")
    if soc_change is not None:
        s = np.asarray(soc_change)[inside] == sign
        n_changed += s
        process_shares[f"SOC {'loss' if sign < 0 else 'gain'}"] = share(s)
        process_codes[f"SOC {'loss' if sign < 0 else 'gain'}"] = "soc_" + (
            "loss" if sign < 0 else "gain"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        rows["severity"] = np.where(patch_area > 0, total(area * n_changed) / patch_area, 0.0)
    names = list(process_shares)
    mat = np.stack([process_shares[k] for k in names], axis=1) if names else np.zeros((n, 0))
    # On equal shares a land cover conversion is named first: it usually explains the
    # productivity and SOC changes of the same pixels.
    tiebreak = np.array([0 if process_codes[k].startswith("land_cover") else 1 for k in names])
    processes, dominant, codes = [], [], []
    for i in range(n):
        order: Any = np.lexsort((tiebreak, -np.round(mat[i], 6))) if names else []
        listed = [(names[j], mat[i, j]) for j in order if mat[i, j] >= PROCESS_MIN_SHARE]
        processes.append("; ".join(f"{k} ({100 * v:.0f} %)" for k, v in listed))
        dominant.append(listed[0][0] if listed else "")
        codes.append(";".join(f"{process_codes[k]}:{v:.3f}" for k, v in listed))
    rows["process"] = dominant
    rows["processes"] = processes
    rows["process_codes"] = codes
    for k in names:
        rows["share_" + k.replace(" ", "_").replace("->", "to").replace("__", "_")] = (
            process_shares[k]
        )
    if lpd5 is not None:
        lp = np.asarray(lpd5)[inside]
        for code in LPD_CLASSES:
            rows[f"lpd_{code}_share"] = share(lp == code)
        lpd_mat = np.stack([rows[f"lpd_{c}_share"] for c in LPD_CLASSES], axis=1)
        dom = np.array(list(LPD_CLASSES))[np.argmax(lpd_mat, axis=1)] if n else np.zeros(0, int)
        rows["lpd_dominant"] = [
            LPD_CLASSES[int(c)] if lpd_mat[i].max() > 0 else "" for i, c in enumerate(dom)
        ]
    if population is not None:
        pop = np.nan_to_num(np.asarray(population, float)[inside], nan=0.0)
        rows["population"] = total(np.clip(pop, 0, None))
    if drought_hazard is not None:
        dh = np.asarray(drought_hazard)[inside]
        rows["drought_share"] = share((dh >= hazard_min_class) & (dh <= 4))
    for layer_name, layer, label_map in (
        ("land_type", land_type, land_type_names),
        ("zone", zones, zone_names),
        *[(k, v, None) for k, v in (extra or {}).items()],
    ):
        if layer is None:
            continue
        vals = np.asarray(layer)[inside].astype(np.int64)
        dom_v, all_v = [], []
        order = np.argsort(idx, kind="stable")
        sorted_idx, sorted_vals, sorted_area = idx[order], vals[order], area[order]
        bounds = np.searchsorted(sorted_idx, np.arange(1, n + 2))
        for i in range(n):
            v = sorted_vals[bounds[i] : bounds[i + 1]]
            w = sorted_area[bounds[i] : bounds[i + 1]]
            v_ok = v > 0 if layer_name in ("land_type", "zone") else np.ones(v.shape, bool)
            if not v_ok.any():
                dom_v.append(0)
                all_v.append("")
                continue
            u, inv = np.unique(v[v_ok], return_inverse=True)
            wsum = np.bincount(inv, weights=w[v_ok])
            dom_v.append(int(u[np.argmax(wsum)]))
            all_v.append(";".join(str(int(x)) for x in u[np.argsort(-wsum)]))
        rows[layer_name] = dom_v
        if label_map is not None:
            rows[f"{layer_name}_name"] = [label_map.get(v, "") for v in dom_v]
        if layer_name in ("land_type", "zone"):
            rows[f"{layer_name}s_all"] = all_v
    df = pd.DataFrame(rows)
    wts = dict(weights or PRIORITY_WEIGHTS)
    score = np.zeros(n)
    used = 0.0
    parts = {
        "area": df["area_km2"].to_numpy(),
        "severity": df["severity"].to_numpy(),
        "population": df["population"].to_numpy() if "population" in df else None,
        "drought": df["drought_share"].to_numpy() if "drought_share" in df else None,
    }
    for key, vals in parts.items():
        if vals is None or wts.get(key, 0) == 0:
            continue
        df[f"rank_{key}"] = (
            pd.Series(vals).rank(method="min", ascending=False).astype(int).to_numpy() if n else []
        )
        score += wts[key] * _pct_rank(vals)
        used += wts[key]
    df["priority"] = score / used if used > 0 else 0.0
    df = df.sort_values(["priority", "area_km2", "patch"], ascending=[False, False, True])
    df.insert(1, "rank", np.arange(1, n + 1))
    df["basis"] = (
        f"{'loss' if sign < 0 else 'gain'} pixels of the status against the baseline, "
        "8-connected; priority = weighted percentile ranks "
        + ", ".join(f"{k} {v:g}" for k, v in wts.items())
    )
    return df.reset_index(drop=True)


def patch_polygons(labels: np.ndarray, transform: Any, crs: Any) -> Any:
    """Polygons of labelled patches (one multipolygon per label) as a GeoDataFrame
    with a ``patch`` column, in ``crs``."""
    import geopandas as gpd
    from rasterio.features import shapes
    from shapely.geometry import shape
    from shapely.ops import unary_union

    lab = np.asarray(labels).astype(np.int32)
    parts: dict[int, list[Any]] = {}
    for geom, value in shapes(lab, mask=lab > 0, transform=transform, connectivity=8):
        parts.setdefault(int(value), []).append(shape(geom))
    ids = sorted(parts)
    return gpd.GeoDataFrame({"patch": ids}, geometry=[unary_union(parts[i]) for i in ids], crs=crs)
