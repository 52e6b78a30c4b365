"""Code tables shared by the land kernels.

Categorical rasters are int16 with ``NODATA = -32768`` (the Trends.Earth
convention, so outputs stay interchangeable). Three-class sub-indicators use
-1 degraded / 0 stable / +1 improved.
"""

from __future__ import annotations

from collections.abc import Iterable

import numba
import numpy as np

NODATA: int = -32768

DEGRADED: int = -1
STABLE: int = 0
IMPROVED: int = 1

CLASS3_NAMES: dict[int, str] = {DEGRADED: "Degraded", STABLE: "Stable", IMPROVED: "Improved"}

#: UNCCD default 7-class land cover legend (PRAIS 4 SO1-1).
LC_CLASSES: dict[int, str] = {
    1: "Tree-covered",
    2: "Grassland",
    3: "Cropland",
    4: "Wetland",
    5: "Artificial",
    6: "Other land",
    7: "Water body",
}
LC_WATER: int = 7

#: Land productivity dynamics, 5 classes (PRAIS 4 Table 13).
LPD_CLASSES: dict[int, str] = {
    1: "Declining",
    2: "Moderate decline",
    3: "Stable but stressed",
    4: "Stable",
    5: "Increasing",
}

#: Expanded 7-class status of a reporting period against the baseline (GPG Addendum 2025).
STATUS7_CLASSES: dict[int, str] = {
    1: "Persistent degradation",
    2: "Recent degradation",
    3: "Baseline degradation",
    4: "Stability",
    5: "Baseline improvement",
    6: "Recent improvement",
    7: "Persistent improvement",
}


@numba.njit(nogil=True, cache=True)
def _isin_lut(a, lut, lo):  # pragma: no cover - compiled
    out = np.empty(a.size, dtype=np.bool_)
    n = lut.size
    for i in range(a.size):
        k = np.int64(a[i]) - lo
        out[i] = lut[k] if 0 <= k < n else False
    return out


def isin_codes(a: np.ndarray, codes: Iterable[int]) -> np.ndarray:
    """``np.isin`` for class rasters.

    Integer rasters go through a boolean look-up table spanning the codes, in one
    compiled pass (numpy's ``kind="table"`` first widens the whole raster to int64,
    which made these checks ~0.17 s per 16 Mpx layer); anything else uses ``np.isin``.
    """
    a = np.asarray(a)
    code_arr = np.asarray(list(codes), dtype=np.int64)
    if a.dtype.kind in "iu" and code_arr.size and int(code_arr.max() - code_arr.min()) < 1_000_000:
        lo = int(code_arr.min())
        lut = np.zeros(int(code_arr.max()) - lo + 1, dtype=np.bool_)
        lut[code_arr - lo] = True
        return _isin_lut(np.ascontiguousarray(a).ravel(), lut, lo).reshape(a.shape)
    return np.isin(a, code_arr)
