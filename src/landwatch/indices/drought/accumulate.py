"""Exact moving-window sums for drought indices (SPI, SPEI).

A window that contains a missing month is missing, and a window of zeros sums to
exactly ``0.0``. The second point is why this module exists: a running
add/subtract sum leaves round-off such as ``1e-15`` in all-zero windows of arid
series, which the fits then treat as rain (``log(1e-15)`` in the fit, a missing
zero in the probability of zero) and which moves SPI by up to 1.8
(``spi_peers.md`` §9). Here every window is recomputed from its own values, in
float64, from the oldest to the newest month.
"""

from __future__ import annotations

import numba
import numpy as np

from landwatch.errors import InputError

__all__ = ["rolling_sum"]

#: Longest accumulation accepted (months): 6 years, the longest SPI in common use.
MAX_SCALE: int = 72


@numba.njit(nogil=True, cache=True)
def _rolling_sum_time_major(x: np.ndarray, scale: int, out: np.ndarray) -> None:
    """Window sums along axis 0 of a (time, cells) array (cells contiguous)."""
    nt, nc = x.shape
    for t in range(min(scale - 1, nt)):
        for j in range(nc):
            out[t, j] = np.nan
    for t in range(scale - 1, nt):
        t0 = t - scale + 1
        for j in range(nc):
            out[t, j] = np.float64(x[t0, j])
        for k in range(t0 + 1, t + 1):
            for j in range(nc):
                out[t, j] += np.float64(x[k, j])


def rolling_sum(x: np.ndarray, scale: int, *, axis: int = -1) -> np.ndarray:
    r"""Trailing moving sum of ``scale`` values, recomputed for every window.

    Parameters
    ----------
    x : ndarray
        Values (e.g. precipitation in mm/month or a climatic water balance), any
        float or integer dtype, ``NaN`` marks a missing value.
    scale : int
        Window length in time steps, 1 to 72.
    axis : int, default -1
        Time axis.

    Returns
    -------
    ndarray of float64
        Same shape as ``x``; ``out[t] = sum(x[t-scale+1 .. t])``. The first
        ``scale - 1`` steps and every window containing a ``NaN`` are ``NaN``.

    Raises
    ------
    InputError
        If ``scale`` is not an integer in 1..72.

    Notes
    -----
    .. math:: X^{(k)}_t = \sum_{i=t-k+1}^{t} x_i

    Each window is summed afresh in float64 (cost ``O(n k)``), never as a
    running add/subtract, so a window of zeros is exactly ``0.0`` and the sum does
    not depend on the values that came before the window.

    References
    ----------
    McKee, T. B., Doesken, N. J. & Kleist, J. (1993) The relationship of drought
    frequency and duration to time scales. 8th Conf. Applied Climatology, 179-184.
    """
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | np.integer)
        or not (1 <= int(scale) <= MAX_SCALE)
    ):
        raise InputError(
            f"scale is {scale!r}; expected an integer number of time steps from 1 to "
            f"{MAX_SCALE}. Pass e.g. scale=3 for a 3-month accumulation."
        )
    scale = int(scale)
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        arr = arr.astype(np.float64)
    moved = np.moveaxis(arr, axis, 0)
    shape = moved.shape
    flat = np.ascontiguousarray(moved.reshape(shape[0], -1))
    out = np.empty(flat.shape, dtype=np.float64)
    _rolling_sum_time_major(flat, scale, out)
    return np.moveaxis(out.reshape(shape), 0, axis)
