"""SO1-4 / SDG 15.3.1: one-out-all-out, status against the baseline, error recoding.

Code table (``landwatch/data``): ``sdg_status_matrix.csv`` - baseline x period
3-class SDG -> 7-class expanded status (GPG Addendum 2025) -> 3-class status.

Three-class layers are int16 -1 degraded / 0 stable / +1 improved, ``NODATA = -32768``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from importlib import resources

import numba
import numpy as np
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.land.codes import (
    CLASS3_NAMES,
    DEGRADED,
    IMPROVED,
    NODATA,
    STABLE,
    STATUS7_CLASSES,
    isin_codes,
)

__all__ = ["KEEP", "apply_corrections", "one_out_all_out", "status_expanded"]

#: Rule value meaning "leave this class as it is" (Trends.Earth error-recode convention).
KEEP: int = -9999

_CLASS3 = (DEGRADED, STABLE, IMPROVED)


def _flag_attrs(long_name: str, flags: Mapping[int, str]) -> dict[str, object]:
    return {
        "long_name": long_name,
        "units": "1",
        "nodata": NODATA,
        "flag_values": list(flags),
        "flag_meanings": " ".join(v.lower().replace(" ", "_") for v in flags.values()),
    }


def _as_class3(a: np.ndarray, name: str) -> np.ndarray:
    """int16 copy of a 3-class layer; NaN -> NODATA; other codes -> InputError."""
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.floating):
        a = np.where(np.isnan(a), NODATA, a)
    bad = ~isin_codes(a, (*_CLASS3, NODATA))
    if bad.any():
        shown = ", ".join(str(v) for v in np.unique(a[bad])[:10])
        raise InputError(
            f"{name} has values {shown}; expected -1 (degraded), 0 (stable), 1 (improved) "
            f"or {NODATA} (no data). Recode it to the 3-class convention first."
        )
    return a.astype(np.int16)


# --------------------------------------------------------------------------------------
# one-out-all-out
# --------------------------------------------------------------------------------------


@numba.njit(nogil=True, cache=True)
def _oaoo_kernel(layers, out):  # pragma: no cover - compiled
    """One-out-all-out over a tuple of flat int arrays; False on a code outside
    -1/0/1/NODATA (the numpy path then names it)."""
    for i in range(out.size):
        deg = False
        imp = False
        nd = False
        for a in layers:
            v = a[i]
            if v == NODATA:
                nd = True
            elif v == DEGRADED:
                deg = True
            elif v == IMPROVED:
                imp = True
            elif v != STABLE:
                return False
        out[i] = NODATA if nd else (DEGRADED if deg else (IMPROVED if imp else STABLE))
    return True


def _oaoo_core(*arrays: np.ndarray) -> np.ndarray:
    arrs = [np.asarray(a) for a in arrays]
    if all(a.dtype == np.int16 and a.shape == arrs[0].shape for a in arrs):
        out = np.empty(arrs[0].shape, np.int16)
        flat = tuple(np.ascontiguousarray(a).ravel() for a in arrs)
        if _oaoo_kernel(flat, out.ravel()):
            return out
    layers = [_as_class3(a, f"indicator {i + 1}") for i, a in enumerate(arrays)]
    shape = np.broadcast_shapes(*(a.shape for a in layers))
    any_deg = np.zeros(shape, dtype=bool)
    any_imp = np.zeros(shape, dtype=bool)
    any_nd = np.zeros(shape, dtype=bool)
    for a in layers:
        any_deg |= a == DEGRADED
        any_imp |= a == IMPROVED
        any_nd |= a == NODATA
    out = np.where(any_deg, DEGRADED, np.where(any_imp, IMPROVED, STABLE)).astype(np.int16)
    out[any_nd] = NODATA
    return out


def one_out_all_out(*indicators: xr.DataArray) -> xr.DataArray:
    """Combine 3-class sub-indicators by the one-out-all-out rule.

    Parameters
    ----------
    *indicators : xarray.DataArray
        Sub-indicators (e.g. productivity, land cover, SOC degradation), each -1/0/+1 or
        ``NODATA`` (NaN is read as ``NODATA``).

    Returns
    -------
    xarray.DataArray
        int16: -1 if any indicator is degraded; else +1 if any is improved; else 0;
        ``NODATA`` wherever any indicator is missing.

    Raises
    ------
    InputError
        No indicator given, or a value outside -1/0/1/``NODATA`` (at compute time for
        dask).

    Notes
    -----
    Identical to Trends.Earth ``calc_deg_sdg`` (start from productivity, any LC/SOC
    degradation -> degraded, stable + any LC/SOC improvement -> improved), which is
    symmetric in its arguments.

    References
    ----------
    UNCCD GPG for SDG 15.3.1 v2 (2021) sec. 5; PRAIS4-M sec. 1.4.3.
    """
    if not indicators:
        raise InputError(
            "one_out_all_out got no indicators; expected at least one 3-class layer. "
            "Pass e.g. one_out_all_out(productivity, land_cover, soc)."
        )
    out = xr.apply_ufunc(_oaoo_core, *indicators, dask="parallelized", output_dtypes=[np.int16])
    out.attrs = _flag_attrs("SDG 15.3.1 land degradation (one out, all out)", CLASS3_NAMES)
    return out.rename("sdg_15_3_1")


# --------------------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------------------


def _status_tables() -> tuple[np.ndarray, np.ndarray]:
    """3x3 tables ``[baseline + 1, period + 1] -> status7 / status3``."""
    text = (resources.files("landwatch") / "data" / "sdg_status_matrix.csv").read_text(
        encoding="utf-8"
    )
    s7 = np.full((3, 3), NODATA, dtype=np.int16)
    s3 = np.full((3, 3), NODATA, dtype=np.int16)
    for r in csv.DictReader(io.StringIO(text)):
        i, j = int(r["baseline"]) + 1, int(r["period"]) + 1
        s7[i, j], s3[i, j] = int(r["status7"]), int(r["status3"])
    return s7, s3


@numba.njit(nogil=True, cache=True)
def _status_kernel(b, p, s7, s3, o7, o3):  # pragma: no cover - compiled
    for i in range(b.size):
        x = b[i]
        y = p[i]
        if x == NODATA or y == NODATA:
            o7[i] = NODATA
            o3[i] = NODATA
            continue
        if x < -1 or x > 1 or y < -1 or y > 1:
            return False
        o7[i] = s7[x + 1, y + 1]
        o3[i] = s3[x + 1, y + 1]
    return True


def _status_core(
    bl: np.ndarray, pr: np.ndarray, s7: np.ndarray, s3: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    bl, pr = np.asarray(bl), np.asarray(pr)
    if bl.dtype == np.int16 and pr.dtype == np.int16 and bl.shape == pr.shape:
        f7 = np.empty(bl.shape, np.int16)
        f3 = np.empty(bl.shape, np.int16)
        flat_b = np.ascontiguousarray(bl).ravel()
        flat_p = np.ascontiguousarray(pr).ravel()
        if _status_kernel(flat_b, flat_p, s7, s3, f7.ravel(), f3.ravel()):
            return f7, f3
    b = _as_class3(bl, "baseline")
    p = _as_class3(pr, "period")
    miss = (b == NODATA) | (p == NODATA)
    bi = np.where(miss, 0, b + 1).astype(np.intp)
    pi = np.where(miss, 0, p + 1).astype(np.intp)
    o7, o3 = s7[bi, pi], s3[bi, pi]
    o7[miss] = NODATA
    o3[miss] = NODATA
    return o7, o3


def status_expanded(baseline: xr.DataArray, period: xr.DataArray) -> xr.Dataset:
    """Status of a reporting period against the baseline (expanded 7-class matrix).

    Parameters
    ----------
    baseline : xarray.DataArray
        3-class SDG 15.3.1 (or sub-indicator) of the baseline period.
    period : xarray.DataArray
        3-class SDG 15.3.1 (or sub-indicator) of the reporting period.

    Returns
    -------
    xarray.Dataset
        ``status7`` (int16 1..7, see ``codes.STATUS7_CLASSES``) and ``status3`` (int16
        -1/0/+1: {1,2,3} degraded, {4} stable, {5,6,7} improved); ``NODATA`` where either
        input is missing.

    Notes
    -----
    Rows baseline, columns period: D/D 1 persistent degradation, S/D and I/D 2 recent
    degradation, D/S 3 baseline degradation, S/S 4 stability, I/S 5 baseline
    improvement, D/I and S/I 6 recent improvement, I/I 7 persistent improvement
    (Trends.Earth ``sdg_status_expanded``).

    References
    ----------
    UNCCD (2025) Addendum to the GPG for SDG 15.3.1; PRAIS4-M sec. 1.4.3 step 3.
    """
    s7, s3 = _status_tables()
    o7, o3 = xr.apply_ufunc(
        _status_core,
        baseline,
        period,
        kwargs={"s7": s7, "s3": s3},
        dask="parallelized",
        output_core_dims=[[], []],
        output_dtypes=[np.int16, np.int16],
    )
    o7.attrs = _flag_attrs("land degradation status against baseline (7 classes)", STATUS7_CLASSES)
    o3.attrs = _flag_attrs("land degradation status against baseline", CLASS3_NAMES)
    return xr.Dataset({"status7": o7, "status3": o3})


# --------------------------------------------------------------------------------------
# false positive / negative corrections
# --------------------------------------------------------------------------------------

_ALLOWED_TARGETS = (KEEP, DEGRADED, STABLE, IMPROVED, NODATA)


def _validate_rules(rules: Mapping[int, tuple[int, int, int]]) -> dict[int, tuple[int, int, int]]:
    out: dict[int, tuple[int, int, int]] = {}
    for pid, rule in rules.items():
        try:
            pid_i = int(pid)
        except (TypeError, ValueError):
            raise InputError(
                f"correction rule id {pid!r} is not an integer; expected the polygon id "
                "burnt into the corrections raster. Use integer ids >= 1."
            ) from None
        if pid_i < 1:
            raise InputError(
                f"correction rule id {pid_i} is < 1; expected ids >= 1 (0 means 'no "
                "correction' in the raster). Renumber the polygons from 1."
            )
        try:
            targets = tuple(int(t) for t in rule)
        except (TypeError, ValueError):
            raise InputError(
                f"correction rule {pid_i} is {rule!r}; expected a tuple (degraded_to, "
                f"stable_to, improved_to) of integers. Fix the rule."
            ) from None
        if len(targets) != 3:
            raise InputError(
                f"correction rule {pid_i} has {len(targets)} values; expected 3 "
                "(degraded_to, stable_to, improved_to). Fix the rule."
            )
        for what, t in zip(("degraded_to", "stable_to", "improved_to"), targets, strict=True):
            if t not in _ALLOWED_TARGETS:
                raise InputError(
                    f"correction rule {pid_i} has {what}={t}; expected one of -1 (degraded), "
                    f"0 (stable), 1 (improved), {NODATA} (no data) or {KEEP} (keep). "
                    "Fix the target."
                )
        out[pid_i] = targets  # type: ignore[assignment]
    return out


def _corrections_core(
    sdg: np.ndarray, ids: np.ndarray, keys: np.ndarray, table: np.ndarray
) -> np.ndarray:
    s = _as_class3(sdg, "sdg")
    ids = np.asarray(ids)
    if np.issubdtype(ids.dtype, np.floating):
        ids = np.where(np.isnan(ids), 0, ids)
    s, ids = np.broadcast_arrays(s, ids.astype(np.int64))
    has = ids > 0
    pos = np.clip(np.searchsorted(keys, ids), 0, len(keys) - 1)
    unknown = has & (keys[pos] != ids)
    if unknown.any():
        shown = ", ".join(str(v) for v in np.unique(ids[unknown])[:10])
        raise InputError(
            f"corrections raster has polygon ids {shown} without a rule; expected ids in "
            f"rules ({', '.join(str(k) for k in keys[:10])}). Add rules for them or set "
            "those pixels to 0."
        )
    col = np.where(s == DEGRADED, 0, np.where(s == STABLE, 1, 2))
    target = table[pos, col]
    apply = has & (s != NODATA) & (target != KEEP)
    out = np.where(apply, target, s).astype(np.int16)
    return out


def apply_corrections(
    sdg: xr.DataArray,
    corrections: xr.DataArray,
    rules: Mapping[int, tuple[int, int, int]],
) -> xr.DataArray:
    """Recode false positives / negatives inside user polygons (error recode).

    Parameters
    ----------
    sdg : xarray.DataArray
        3-class layer to correct (SDG 15.3.1 or a sub-indicator).
    corrections : xarray.DataArray
        Integer raster of polygon ids; 0 (or negative, NaN) = no correction.
    rules : mapping of int to (int, int, int)
        ``rules[id] = (degraded_to, stable_to, improved_to)``; each target is -1, 0, 1,
        ``NODATA`` or ``KEEP`` (-9999, leave unchanged).

    Returns
    -------
    xarray.DataArray
        int16 corrected layer. ``NODATA`` pixels are never recoded.

    Raises
    ------
    InputError
        A rule id < 1, a rule that is not 3 targets, a target outside the allowed set,
        or (at compute time for dask) a polygon id in the raster without a rule.

    Notes
    -----
    Trends.Earth ``land_deg_recode`` semantics (``recode_deg_to``, ``recode_stable_to``,
    ``recode_imp_to``; -9999 = unchanged). Which periods a polygon affects is decided
    by the caller (apply to the baseline and/or reporting layer).

    References
    ----------
    PRAIS4-M SO1-4 T3; Trends.Earth user guide, "False positive/negative".
    """
    checked = _validate_rules(rules)
    if checked:
        keys = np.array(sorted(checked), dtype=np.int64)
        table = np.array([checked[int(k)] for k in keys], dtype=np.int32)
    else:
        keys = np.array([0], dtype=np.int64)  # matches nothing (ids > 0 only)
        table = np.full((1, 3), KEEP, dtype=np.int32)
    out = xr.apply_ufunc(
        _corrections_core,
        sdg,
        corrections,
        kwargs={"keys": keys, "table": table},
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    out.attrs = dict(sdg.attrs)
    out.attrs.update(_flag_attrs(sdg.attrs.get("long_name", "3-class layer"), CLASS3_NAMES))
    out.attrs["comment"] = "false positive/negative corrections applied"
    return out.rename(sdg.name)
