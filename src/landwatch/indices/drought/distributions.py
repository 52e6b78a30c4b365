r"""Distribution fits and CDFs for standardized drought indices (SPI).

Two layers:

* :func:`calibration_statistics` - a numba kernel that reads, for every cell and
  calendar month, the calibration sample of an accumulated series stored
  time-major ``(time, cells)`` and reduces it to the few sufficient statistics a
  fit needs (counts, means, log-means or probability-weighted moments). It never
  allocates per fit, so it runs at memory speed.
* vectorised numpy/scipy functions that turn those statistics into parameters
  (Thom, exact maximum likelihood, L-moments) and evaluate the CDFs with
  :func:`scipy.special.gammainc` / ``gammaincc`` / ``ndtr``.

Estimators (gamma with location 0, fitted to the **non-zero** values; the
probability of zero ``p0`` is counted separately, see :func:`zero_inflated`):

``thom``
    Thom (1958) approximate MLE, as climate_indices and xclim ``method="APP"``:
    :math:`A = \ln\bar x - \overline{\ln x}`,
    :math:`\hat\alpha = (1 + \sqrt{1 + 4A/3}) / (4A)`, :math:`\hat\beta = \bar x/\hat\alpha`.
``mle``
    exact MLE with ``loc = 0`` (as ``scipy.stats.gamma.fit(x, floc=0)``): Newton
    iterations on :math:`\ln\alpha - \psi(\alpha) = A`, started at Thom's value.
``lmoments``
    unbiased probability-weighted moments and Hosking's rational approximation
    (routine PELGAM), as R ``SPEI`` (``ub-pwm``), lmomco and lmoments3.

Pearson type III is fitted by L-moments (Hosking routine PELPE3) to **all**
valid calibration values, zeros included, exactly as climate_indices 3.1 does.

References
----------
Thom, H. C. S. (1958) A note on the gamma distribution. Monthly Weather Review
86, 117-122, doi:10.1175/1520-0493(1958)086<0117:ANOTGD>2.0.CO;2.
Hosking, J. R. M. (1990) L-moments. J. R. Stat. Soc. B 52, 105-124,
doi:10.1111/j.2517-6161.1990.tb01775.x.
Hosking, J. R. M. (1996) Fortran routines for use with the method of L-moments,
version 3. IBM Research Report RC20525.
Guttman, N. B. (1999) Accepting the SPI: a calculation algorithm. JAWRA 35(2),
311-322, doi:10.1111/j.1752-1688.1999.tb03592.x.
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np
from scipy import special

from landwatch.errors import InputError

__all__ = [
    "GammaMethod",
    "MIN_NONZERO",
    "calibration_statistics",
    "fit_gamma",
    "fit_pearson3",
    "gamma_cdf",
    "gamma_parameters",
    "pearson3_cdf",
    "pearson3_parameters",
    "sample_pwm",
    "zero_inflated",
]

GammaMethod = Literal["thom", "mle", "lmoments"]

#: Fewest non-zero calibration values for a fit (the L-moment minimum of Hosking's
#: routines and climate_indices' Pearson III guard); fewer gives NaN parameters.
MIN_NONZERO: int = 4

# Rows of the statistics array produced by ``calibration_statistics``.
_N_VALID, _N_ZERO, _N_POS, _MEAN, _MEANLOG, _B0, _B1, _B2 = range(8)
_N_STATS = 8

# Hosking PELGAM coefficients (gamma, 2 parameters).
_A1, _A2, _A3 = -0.3080, -0.05812, 0.01765
_B1C, _B2C, _B3C, _B4C = 0.7213, -0.5947, -2.1817, 1.2113
# Hosking PELPE3 coefficients (as climate_indices' _PEARSON3_COEFFICIENTS).
_C1, _C2, _C3 = 0.2906, 0.1882, 0.0442
_D1, _D2, _D3, _D4, _D5, _D6 = 0.36067, -0.59567, 0.25361, -2.78861, 2.56096, -0.77045


@numba.njit(nogil=True, cache=True)
def _pwm3(buf: np.ndarray, n: int) -> tuple[float, float, float]:
    """Unbiased PWMs b0, b1, b2 of the first ``n`` values of ``buf`` (sorted in place)."""
    v = np.sort(buf[:n])
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for i in range(n):
        s0 += v[i]
        s1 += v[i] * i
        s2 += v[i] * i * (i - 1)
    b0 = s0 / n
    b1 = s1 / (n * (n - 1.0)) if n > 1 else np.nan
    b2 = s2 / (n * (n - 1.0) * (n - 2.0)) if n > 2 else np.nan
    return b0, b1, b2


@numba.njit(nogil=True, cache=True)
def calibration_statistics(
    acc: np.ndarray, rows: np.ndarray, kind: int, zero_below: float
) -> np.ndarray:
    """Sufficient statistics of every (calendar step, cell) calibration sample.

    Parameters
    ----------
    acc : ndarray, shape (time, cells), float64
        Accumulated values, time-major; ``NaN`` = missing.
    rows : ndarray of int64, shape (steps, max_years)
        For each calendar step (month), the time rows of its calibration sample;
        ``-1`` pads.
    kind : int
        0 = gamma moments (mean, mean log of positive values), 1 = gamma PWMs of
        the positive values, 2 = PWMs of all valid values (Pearson III).
    zero_below : float
        A value ``<= zero_below`` counts as zero (0.0 for the gamma family).

    Returns
    -------
    ndarray, shape (8, steps, cells)
        Rows: n_valid, n_zero, n_positive, mean, mean log, b0, b1, b2 (unused rows NaN).
    """
    nt, nc = acc.shape
    nsteps, maxy = rows.shape
    out = np.full((_N_STATS, nsteps, nc), np.nan)
    buf = np.empty(maxy)
    for m in range(nsteps):
        for j in range(nc):
            n_valid = 0
            n_zero = 0
            n_pos = 0
            s = 0.0
            sl = 0.0
            for k in range(maxy):
                t = rows[m, k]
                if t < 0:
                    break
                v = acc[t, j]
                if np.isnan(v):
                    continue
                n_valid += 1
                if kind == 2:
                    buf[n_valid - 1] = v
                if v <= zero_below:
                    n_zero += 1
                else:
                    n_pos += 1
                    if kind == 0:
                        s += v
                        sl += np.log(v)
                    elif kind == 1:
                        buf[n_pos - 1] = v
            out[_N_VALID, m, j] = n_valid
            out[_N_ZERO, m, j] = n_zero
            out[_N_POS, m, j] = n_pos
            if kind == 0:
                if n_pos > 0:
                    out[_MEAN, m, j] = s / n_pos
                    out[_MEANLOG, m, j] = sl / n_pos
            elif kind == 1:
                if n_pos > 0:
                    b0, b1, b2 = _pwm3(buf, n_pos)
                    out[_B0, m, j] = b0
                    out[_B1, m, j] = b1
            else:
                if n_valid > 0:
                    b0, b1, b2 = _pwm3(buf, n_valid)
                    out[_B0, m, j] = b0
                    out[_B1, m, j] = b1
                    out[_B2, m, j] = b2
    return out


def _thom_alpha(a_stat: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1.0 + np.sqrt(1.0 + 4.0 * a_stat / 3.0)) / (4.0 * a_stat)


def _mle_alpha(a_stat: np.ndarray, *, max_iter: int = 50, rtol: float = 1e-13) -> np.ndarray:
    """Solve ``log(a) - digamma(a) = A`` by Newton's method (vectorised, safeguarded)."""
    alpha = _thom_alpha(a_stat)
    ok = np.isfinite(alpha) & (alpha > 0)
    a = np.where(ok, alpha, 1.0)
    target = np.where(ok, a_stat, 1.0)
    for _ in range(max_iter):
        g = np.log(a) - special.digamma(a) - target
        dg = 1.0 / a - special.polygamma(1, a)
        step = g / dg
        new = a - step
        new = np.where(new > 0, new, a / 2.0)
        done = np.abs(new - a) <= rtol * a
        a = new
        if np.all(done):
            break
    return np.where(ok, a, np.nan)


def gamma_parameters(
    stats: np.ndarray, method: GammaMethod, min_valid: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gamma shape, scale and probability of zero from :func:`calibration_statistics`.

    A fit is NaN where the sample has fewer than ``min_valid`` valid values or fewer
    than :data:`MIN_NONZERO` positive values, or is degenerate (all positive
    values equal, L-CV outside (0, 1)).
    """
    n_valid = stats[_N_VALID]
    n_pos = stats[_N_POS]
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = stats[_N_ZERO] / n_valid
        if method in ("thom", "mle"):
            mean = stats[_MEAN]
            a_stat = np.log(mean) - stats[_MEANLOG]
            a_stat = np.where(a_stat > 0, a_stat, np.nan)
            alpha = _thom_alpha(a_stat) if method == "thom" else _mle_alpha(a_stat)
            beta = mean / alpha
        elif method == "lmoments":
            l1 = stats[_B0]
            l2 = 2.0 * stats[_B1] - stats[_B0]
            t = l2 / l1
            z_lo = np.pi * t * t
            alpha_lo = (1.0 + _A1 * z_lo) / (z_lo + _A2 * z_lo**2 + _A3 * z_lo**3)
            z_hi = 1.0 - t
            alpha_hi = (_B1C * z_hi + _B2C * z_hi**2) / (1.0 + _B3C * z_hi + _B4C * z_hi**2)
            alpha = np.where(t < 0.5, alpha_lo, alpha_hi)
            alpha = np.where((t > 0) & (t < 1), alpha, np.nan)
            beta = l1 / alpha
        else:  # pragma: no cover - validated by the caller
            raise InputError(f"method is {method!r}; expected 'thom', 'mle' or 'lmoments'.")
    bad = (n_valid < max(min_valid, 1)) | (n_pos < MIN_NONZERO) | ~(alpha > 0) | ~(beta > 0)
    alpha = np.where(bad, np.nan, alpha)
    beta = np.where(bad, np.nan, beta)
    p0 = np.where(bad, np.nan, p0)
    return alpha, beta, p0


def pearson3_parameters(
    stats: np.ndarray, min_valid: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pearson III loc, scale, skew (Hosking PELPE3) and p0 from all-value PWMs.

    NaN where fewer than ``min_valid`` valid values, fewer than
    :data:`MIN_NONZERO` non-zero values, or invalid L-moments (``l2 <= 0`` or
    ``|t3| >= 1``). climate_indices returns parameters 0 in those cases.
    """
    b0, b1, b2 = stats[_B0], stats[_B1], stats[_B2]
    l1 = b0
    l2 = 2.0 * b1 - b0
    l3 = 6.0 * b2 - 6.0 * b1 + b0
    with np.errstate(divide="ignore", invalid="ignore"):
        t3 = l3 / l2
        at3 = np.abs(t3)
        t_lo = np.pi * 3.0 * at3 * at3
        alpha_lo = (1.0 + _C1 * t_lo) / (t_lo * (1.0 + t_lo * (_C2 + t_lo * _C3)))
        t_hi = 1.0 - at3
        alpha_hi = (
            t_hi
            * (_D1 + t_hi * (_D2 + t_hi * _D3))
            / (1.0 + t_hi * (_D4 + t_hi * (_D5 + t_hi * _D6)))
        )
        zero_skew = at3 <= 1e-6
        alpha = np.where(zero_skew, np.nan, np.where(at3 < 0.333333333, alpha_lo, alpha_hi))
        root = np.sqrt(alpha)
        beta = np.sqrt(np.pi) * l2 / special.poch(alpha, 0.5)
        scale = np.where(zero_skew, l2 * np.sqrt(np.pi), beta * root)
        skew = np.where(zero_skew, 0.0, np.where(t3 < 0, -2.0 / root, 2.0 / root))
        p0 = stats[_N_ZERO] / stats[_N_VALID]
    n_nonzero = stats[_N_VALID] - stats[_N_ZERO]
    bad = (
        (stats[_N_VALID] < max(min_valid, MIN_NONZERO))
        | (n_nonzero < MIN_NONZERO)
        | ~(l2 > 0)
        | ~(at3 < 1)
    )
    nan = np.nan
    return (
        np.where(bad, nan, l1),
        np.where(bad, nan, scale),
        np.where(bad, nan, skew),
        np.where(bad, nan, p0),
    )


def gamma_cdf(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    r"""Gamma CDF :math:`G(x) = P(\alpha, x/\beta)` (regularised lower incomplete gamma); 0 for x <= 0."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.gammainc(alpha, np.maximum(x, 0.0) / beta)


def pearson3_cdf(x: np.ndarray, loc: np.ndarray, scale: np.ndarray, skew: np.ndarray) -> np.ndarray:
    r"""Pearson III CDF in scipy's parametrisation (``scipy.stats.pearson3.cdf(x, skew, loc, scale)``).

    With :math:`y = (x-\mu)/\sigma`, :math:`\alpha = 4/\gamma^2` and
    :math:`t = \alpha + 2y/\gamma`: :math:`F = P(\alpha, t)` for :math:`\gamma > 0`,
    :math:`F = Q(\alpha, t)` for :math:`\gamma < 0`, :math:`\Phi(y)` for
    :math:`|\gamma| < 1.6\cdot10^{-5}` (scipy's switch to the normal limit).
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = (x - loc) / scale
        small = np.abs(skew) < 1.6e-5
        g = np.where(small, 1.0, skew)
        alpha = 4.0 / (g * g)
        t = np.maximum(alpha + 2.0 * y / g, 0.0)
        pos = special.gammainc(alpha, t)
        neg = special.gammaincc(alpha, t)
        out = np.where(g > 0, pos, neg)
        return np.where(small, special.ndtr(y), out)


def zero_inflated(cdf: np.ndarray, p0: np.ndarray, is_zero: np.ndarray) -> np.ndarray:
    r"""Mixed probability :math:`H(x) = p_0 + (1-p_0) G(x)`, with :math:`G(0) = 0`, so ``H(0) = p0``."""
    return np.where(is_zero, p0, p0 + (1.0 - p0) * cdf)


# ---------------------------------------------------------------- 1-D helpers


def _stats_1d(x: np.ndarray, kind: int, zero_below: float = 0.0) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    rows = np.arange(arr.shape[0], dtype=np.int64).reshape(1, -1)
    return calibration_statistics(np.ascontiguousarray(arr), rows, kind, zero_below)[:, 0, 0]


def fit_gamma(x: np.ndarray, method: GammaMethod = "thom") -> tuple[float, float, float]:
    """Fit a gamma (loc 0) to the positive values of a 1-D sample.

    Returns ``(alpha, beta, p0)``: shape, scale (same units as ``x``) and the
    fraction of zeros among the valid values. ``NaN`` values are ignored.
    """
    kind = 1 if method == "lmoments" else 0
    if method not in ("thom", "mle", "lmoments"):
        raise InputError(
            f"method is {method!r}; expected 'thom', 'mle' or 'lmoments'. Pass one of those."
        )
    stats = _stats_1d(x, kind)[:, None]
    a, b, p = gamma_parameters(stats, method)
    return float(a[0]), float(b[0]), float(p[0])


def fit_pearson3(x: np.ndarray) -> tuple[float, float, float, float]:
    """Fit Pearson III by L-moments to all valid values; returns ``(loc, scale, skew, p0)``."""
    stats = _stats_1d(x, 2)[:, None]
    loc, scale, skew, p0 = pearson3_parameters(stats)
    return float(loc[0]), float(scale[0]), float(skew[0]), float(p0[0])


def sample_pwm(x: np.ndarray) -> tuple[float, float, float]:
    r"""Unbiased sample probability-weighted moments :math:`b_0, b_1, b_2` of the valid values.

    :math:`b_r = n^{-1}\sum_{i=1}^{n} \binom{i-1}{r}/\binom{n-1}{r}\, x_{(i)}`
    (Landwehr et al. 1979; Hosking 1990), ``x`` sorted ascending. L-moments:
    :math:`l_1 = b_0`, :math:`l_2 = 2b_1 - b_0`, :math:`l_3 = 6b_2 - 6b_1 + b_0`.
    """
    stats = _stats_1d(x, 2, zero_below=-np.inf)
    return float(stats[_B0]), float(stats[_B1]), float(stats[_B2])
