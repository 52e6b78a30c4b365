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
* numba kernels for the hot path of SPI: the regularised lower incomplete gamma
  function for many values that share one shape (:func:`gamma_p_shared_shape`,
  what every calendar month of every cell needs) and the standard normal quantile
  (:func:`normal_quantile`, Wichura's AS241). They agree with
  :func:`scipy.special.gammainc` / :func:`scipy.special.ndtri` to about 1e-14
  (tested in ``tests/unit/indices/drought/test_spi_kernel_accuracy.py``) and cost a
  fraction of them, because everything that depends on the shape alone is
  computed once per shape and the iterations run over all values side by side.

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
Wichura, M. J. (1988) Algorithm AS 241: the percentage points of the normal
distribution. Applied Statistics 37(3), 477-484, doi:10.2307/2347330.
Press, W. H. et al. (2007) Numerical Recipes, 3rd ed., section 6.2 (incomplete
gamma function: series and continued fraction).
"""

from __future__ import annotations

import math
from typing import Literal

import numba
import numpy as np
from scipy import special

from landwatch.errors import InputError

__all__ = [
    "GAMMA_P_MAX_SHAPE",
    "GammaMethod",
    "MIN_NONZERO",
    "calibration_statistics",
    "zero_inflated_gamma_scores",
    "fit_gamma",
    "fit_pearson3",
    "gamma_cdf",
    "gamma_p_shared_shape",
    "gamma_parameters",
    "normal_quantile",
    "pearson3_cdf",
    "regularized_gamma_p",
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


# ---------------------------------------------------------------- numba CDF kernels

#: Largest gamma shape that SPI evaluates with :func:`gamma_p_shared_shape`. Its work
#: grows like sqrt(shape) near the median: at 1000 it costs ~0.7x scipy, at 1e4 ~1.7x
#: (accuracy stays within 3e-15 of mpmath up to 3e4), so above this scipy's asymptotic
#: expansion is used. Such shapes mean a nearly constant accumulation.
GAMMA_P_MAX_SHAPE: float = 1.0e3

_HALF_EPS = 2.0**-53  # a series / fraction stops once a step changes it by less, relatively
_MAX_ITER = 1_000_000  # safety net; never reached for shapes <= GAMMA_P_MAX_SHAPE
_SWITCH_SHAPE = 4.0  # below: series for x < a + 1; above: for x < a - sqrt(a) / 2
_RESCALE_ABOVE = 1e100  # continued-fraction numerators/denominators are renormalised past this
_UNDERFLOW_LOG = -709.782712893384  # -log(DBL_MAX): below, scipy (Cephes) returns P = 0 or Q = 0


# Stirling's series s(a) = lgamma(a) - [(a - 1/2) log a - a + log(2 pi)/2]
# = sum_k B_2k / (2k (2k-1) a^(2k-1)): coefficients of 1/a, 1/a^3, ..., 1/a^15.
_STIRLING = (
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360360.0,
    1.0 / 156.0,
    -3617.0 / 122400.0,
)


@numba.njit(nogil=True, cache=True, inline="always")
def _horner7(r: float, c: tuple[float, ...]) -> float:
    """c[0] + c[1] r + ... + c[7] r^7 by Horner's rule."""
    acc = c[7]
    for i in range(6, -1, -1):
        acc = acc * r + c[i]
    return acc


@numba.njit(nogil=True, cache=True)
def _log_gamma_pieces(a: float) -> tuple[float, float]:
    """``lgamma(a)`` and ``a log a - a - lgamma(a)`` (the latter by Stirling's series for a >= 10).

    The series avoids the cancellation of the ~``a log a`` terms (1e-13 at a = 200);
    eight terms leave less than 1e-17 for a >= 10.
    """
    lga = math.lgamma(a)
    if a < 10.0:
        return lga, a * math.log(a) - a - lga
    r = 1.0 / a
    return lga, 0.5 * math.log(a / (2.0 * math.pi)) - r * _horner7(r * r, _STIRLING)


@numba.njit(nogil=True, cache=True)
def gamma_p_shared_shape(
    a: float, x: np.ndarray, n: int, out: np.ndarray, work: np.ndarray, index: np.ndarray
) -> None:
    r"""Regularised lower incomplete gamma :math:`P(a, x_k)` for ``k < n``, all with shape ``a``.

    Parameters
    ----------
    a : float
        Shape, ``> 0``; up to :data:`GAMMA_P_MAX_SHAPE` it is faster than scipy
        (larger works, ever more slowly).
    x : ndarray of float64
        Arguments (gamma variate / scale); the first ``n`` are used and must be
        ``> 0`` (``inf`` allowed). Callers handle zeros and ``NaN``.
    n : int
        Number of values.
    out : ndarray of float64
        Receives :math:`P(a, x_k)` in ``out[:n]``.
    work, index : ndarray
        Scratch, float64 of shape ``(8, >= n)`` and int64 of shape ``(2, >= n)``.

    Notes
    -----
    With :math:`\ln f = a \ln x - x - \ln\Gamma(a)`, evaluated as
    :math:`a(\ln u - (u - 1)) + a\ln a - a - \ln\Gamma(a)`, :math:`u = x/a`, so that
    the large terms cancel once per shape, not once per value:

    * :math:`x <` switch: :math:`P = f/a \sum_{n\ge0} x^n / \prod_{k=1}^{n}(a+k)`;
    * otherwise :math:`P = 1 - f\,K(x)`, with *K* Legendre's continued fraction for
      :math:`Q = 1 - P` evaluated by its three-term recurrences (numerators and
      denominators); its convergence test uses the determinant
      :math:`p_n q_{n-1} - p_{n-1} q_n = n(n+1-a)\,(p_{n-1} q_{n-2} - p_{n-2} q_{n-1})`
      and so needs no division.

    The switch is :math:`a + 1` for :math:`a < 4` (as in Cephes and Numerical
    Recipes) and :math:`a - \sqrt a / 2` above: the fraction converges in about half
    the steps of the series there, :math:`P \ge 0.3` keeps :math:`1 - Q` accurate,
    and further below the median its first steps cancel (at :math:`a - \sqrt a` it
    loses 3e-14 relatively at a = 1000, against 2e-16 here). Both loops stop when the last
    step changed every value by less than :math:`2^{-53}` relatively and run over
    all values of the batch at once (vectorised by LLVM). ``lgamma`` and the
    Stirling term are computed once per call.
    """
    lga, c = _log_gamma_pieces(a)
    inv_a = 1.0 / a
    switch = a + 1.0 if a < _SWITCH_SHAPE else a - 0.5 * math.sqrt(a)
    xs = work[0]
    xc = work[1]
    lpc = work[2]
    where_s = index[0]
    where_c = index[1]
    ns = 0
    nc = 0
    for k in range(n):
        xk = x[k]
        if xk < switch:
            xs[ns] = xk
            where_s[ns] = k
            ns += 1
        elif xk == np.inf:
            out[k] = 1.0
        else:
            u = xk * inv_a
            lp = a * (math.log(u) - (u - 1.0)) + c
            if lp < _UNDERFLOW_LOG:
                out[k] = 1.0  # Q = 0, as in scipy (the fraction's value is below 1 here)
            else:
                xc[nc] = xk
                lpc[nc] = lp
                where_c[nc] = k
                nc += 1

    if ns > 0:
        term = work[3]
        total = work[4]
        for k in range(ns):
            term[k] = 1.0
            total[k] = 1.0
        it = 0
        while True:
            # four terms per pass, kept in registers (one load/store per value and pass)
            r0 = 1.0 / (a + (it + 1))
            r1 = 1.0 / (a + (it + 2))
            r2 = 1.0 / (a + (it + 3))
            r3 = 1.0 / (a + (it + 4))
            it += 4
            for k in range(ns):
                xk = xs[k]
                t = term[k]
                s = total[k]
                t *= xk * r0
                s += t
                t *= xk * r1
                s += t
                t *= xk * r2
                s += t
                t *= xk * r3
                s += t
                term[k] = t
                total[k] = s
            busy = 0
            for k in range(ns):
                busy += term[k] > _HALF_EPS * total[k]
            if busy == 0 or it > _MAX_ITER:
                break
        for k in range(ns):
            xk = xs[k]
            u = xk * inv_a
            if u < 1e-300:  # x / a would lose digits as a subnormal
                lp = a * math.log(xk) - xk - lga
            else:
                lp = a * (math.log(u) - (u - 1.0)) + c
            out[where_s[k]] = 0.0 if lp < _UNDERFLOW_LOG else math.exp(lp) * total[k] * inv_a

    if nc > 0:
        p1 = work[3]
        p2 = work[4]
        q1 = work[5]
        q2 = work[6]
        det = work[7]
        am1 = a - 1.0
        for k in range(nc):
            xk = xc[k]
            p2[k] = 1.0
            q2[k] = xk
            p1[k] = xk + 1.0
            q1[k] = (xk - am1 + 1.0) * xk
            det[k] = xk * am1
        it = 0
        while True:
            # four steps per pass in registers: step n has z = x + 2n + 1 - (a-1) and
            # yc = n (n - (a-1)); the two latest convergents swap places each step
            n0 = it + 1.0
            y0 = n0 * (n0 - am1)
            y1 = (n0 + 1.0) * (n0 + 1.0 - am1)
            y2 = (n0 + 2.0) * (n0 + 2.0 - am1)
            y3 = (n0 + 3.0) * (n0 + 3.0 - am1)
            o0 = 2.0 * n0 + 1.0 - am1
            o1 = o0 + 2.0
            o2 = o0 + 4.0
            o3 = o0 + 6.0
            yy = (y0 * y1) * (y2 * y3)
            it += 4
            for k in range(nc):
                xk = xc[k]
                pa = p1[k]
                pb = p2[k]
                qa = q1[k]
                qb = q2[k]
                z = xk + o0
                pb = pa * z - pb * y0
                qb = qa * z - qb * y0
                z = xk + o1
                pa = pb * z - pa * y1
                qa = qb * z - qa * y1
                z = xk + o2
                pb = pa * z - pb * y2
                qb = qa * z - qb * y2
                z = xk + o3
                pa = pb * z - pa * y3
                qa = qb * z - qa * y3
                p1[k] = pa
                p2[k] = pb
                q1[k] = qa
                q2[k] = qb
                det[k] *= yy
            busy = 0
            large = 0
            for k in range(nc):
                busy += abs(det[k]) > _HALF_EPS * abs(p1[k] * q2[k])
                large += abs(q1[k]) > _RESCALE_ABOVE
            if busy == 0 or it > _MAX_ITER:
                break
            if large > 0:
                for k in range(nc):
                    if q1[k] != 0.0:
                        r = 1.0 / q1[k]
                        p1[k] *= r
                        p2[k] *= r
                        q2[k] *= r
                        q1[k] = 1.0
                        det[k] *= r * r
        for k in range(nc):
            out[where_c[k]] = 1.0 - math.exp(lpc[k]) * (p1[k] / q1[k])


# Wichura (1988) AS241 PPND16 coefficients, ascending powers: numerator / denominator of
# the central region |p - 0.5| <= 0.425, then of the tails for r = sqrt(-log(min(p, 1-p)))
# <= 5 and > 5.
_AS241_A = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_AS241_B = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_AS241_C = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_AS241_D = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
_AS241_E = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_AS241_F = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)


@numba.njit(nogil=True, cache=True)
def _normal_quantile(p: float) -> float:
    """Standard normal quantile by Wichura's AS241 (PPND16), relative error ~1e-16."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _horner7(r, _AS241_A) / _horner7(r, _AS241_B)
    if not (p > 0.0 and p < 1.0):
        if p == 0.0:
            return -np.inf
        if p == 1.0:
            return np.inf
        return np.nan
    r = math.sqrt(-math.log(p if q < 0.0 else 1.0 - p))
    if r <= 5.0:
        r -= 1.6
        z = _horner7(r, _AS241_C) / _horner7(r, _AS241_D)
    else:
        r -= 5.0
        z = _horner7(r, _AS241_E) / _horner7(r, _AS241_F)
    return -z if q < 0.0 else z


@numba.njit(nogil=True, cache=True)
def zero_inflated_gamma_scores(
    acc: np.ndarray,
    month_rows: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    p0: np.ndarray,
    z_zero: np.ndarray,
    clip: float,
    out: np.ndarray,
    col0: int,
) -> None:
    r"""Standardized scores :math:`\Phi^{-1}(p_0 + (1-p_0) P(\alpha, x/\beta))` of a whole block, clipped.

    The fused step of gamma SPI: per cell and calendar step, the shape-only work
    once (:func:`gamma_p_shared_shape`), then the mixture, :func:`normal_quantile`
    (AS241) and the clip, written in place; no temporaries.

    Parameters
    ----------
    acc : ndarray, shape (time, cells), float64
        Accumulations (mm), ``NaN`` = missing; ``>= 0``.
    month_rows : ndarray of int64, shape (steps, width)
        Time rows of each calendar step (month), ``-1`` padded.
    alpha, beta, p0 : ndarray, shape (steps, cells)
        Gamma shape, scale and probability of zero; ``NaN`` = no fit (scores NaN).
    z_zero : ndarray, shape (steps, cells)
        Score of a zero accumulation (``ndtri(p0)``, clipped), computed by the
        caller with scipy so that it is exactly scipy's value.
    clip : float
        Scores are clipped to ``[-clip, clip]`` (``inf``: no clip); NaN stays NaN.
    out : ndarray, shape (time, >= col0 + cells), float64
        Receives the scores in columns ``col0 ... col0 + cells - 1``.
    col0 : int
        First column of ``out``.

    Notes
    -----
    A shape above :data:`GAMMA_P_MAX_SHAPE` is skipped: those (step, cell) pairs
    are left untouched for the caller (SPI fills them with scipy).
    """
    nc = acc.shape[1]
    nsteps, width = month_rows.shape
    xb = np.empty(width)
    pb = np.empty(width)
    where = np.empty(width, dtype=np.int64)
    work = np.empty((8, width))
    index = np.empty((2, width), dtype=np.int64)
    for j in range(nc):
        jo = col0 + j
        for m in range(nsteps):
            a = alpha[m, j]
            if a > GAMMA_P_MAX_SHAPE:
                continue
            b = beta[m, j]
            q = p0[m, j]
            fitted = a > 0.0 and b > 0.0 and q >= 0.0
            n = 0
            for k in range(width):
                t = month_rows[m, k]
                if t < 0:
                    break
                v = acc[t, j]
                if not fitted:
                    out[t, jo] = np.nan
                elif v == 0.0:
                    out[t, jo] = z_zero[m, j]
                elif v > 0.0:
                    xb[n] = v / b
                    where[n] = t
                    n += 1
                else:  # NaN
                    out[t, jo] = np.nan
            if n == 0:
                continue
            gamma_p_shared_shape(a, xb, n, pb, work, index)
            rest = 1.0 - q
            for k in range(n):
                z = _normal_quantile(q + rest * pb[k])
                if z > clip:
                    z = clip
                elif z < -clip:
                    z = -clip
                out[where[k], jo] = z


@numba.njit(nogil=True, cache=True)
def _normal_quantile_array(p: np.ndarray, out: np.ndarray) -> None:
    for i in range(p.size):
        out[i] = _normal_quantile(p[i])


@numba.njit(nogil=True, cache=True)
def _gamma_p_runs(a: np.ndarray, x: np.ndarray, order: np.ndarray, out: np.ndarray) -> None:
    """P(a, x) of flat arrays, in runs of equal ``a`` along ``order`` (a sort of ``a``)."""
    m = order.size
    work = np.empty((8, m))
    index = np.empty((2, m), dtype=np.int64)
    xb = np.empty(m)
    pb = np.empty(m)
    pos = np.empty(m, dtype=np.int64)
    i = 0
    while i < m:
        ai = a[order[i]]
        n = 0
        j = i
        while True:  # one run of equal a (NaN forms runs of one)
            k = order[j]
            xk = x[k]
            if not (ai > 0.0) or np.isnan(xk) or xk < 0.0:
                out[k] = np.nan
            elif xk == 0.0:
                out[k] = 0.0
            else:
                xb[n] = xk
                pos[n] = k
                n += 1
            j += 1
            if j >= m or not a[order[j]] == ai:
                break
        if n > 0:
            gamma_p_shared_shape(ai, xb, n, pb, work, index)
            for t in range(n):
                out[pos[t]] = pb[t]
        i = j


def regularized_gamma_p(a: np.ndarray | float, x: np.ndarray | float) -> np.ndarray:
    r"""Regularised lower incomplete gamma :math:`P(a, x)` (as :func:`scipy.special.gammainc`).

    The numpy face of :func:`gamma_p_shared_shape`, for tests and one-off use;
    SPI calls the kernel directly, once per cell and calendar month.

    Parameters
    ----------
    a : array_like
        Shape, ``> 0``.
    x : array_like
        Argument, ``>= 0``; broadcast against ``a``.

    Returns
    -------
    ndarray of float64
        :math:`P(a, x) = \gamma(a, x)/\Gamma(a)`; ``NaN`` where ``a <= 0``, ``x < 0``
        or either is ``NaN``; 0 at ``x = 0``; 1 at ``x = inf``. Shapes above
        :data:`GAMMA_P_MAX_SHAPE` go to :func:`scipy.special.gammainc`.
    """
    aa, xx = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    flat_a = np.ascontiguousarray(aa).ravel()
    flat_x = np.ascontiguousarray(xx).ravel()
    out = np.empty(flat_a.size)
    _gamma_p_runs(flat_a, flat_x, np.argsort(flat_a, kind="stable"), out)
    big = flat_a > GAMMA_P_MAX_SHAPE  # as in SPI: scipy's asymptotic expansion there
    if big.any():
        out[big] = special.gammainc(flat_a[big], flat_x[big])
    return out.reshape(aa.shape)


def normal_quantile(p: np.ndarray | float) -> np.ndarray:
    r"""Standard normal quantile :math:`\Phi^{-1}(p)` (as :func:`scipy.special.ndtri`), AS241.

    ``-inf`` at 0, ``inf`` at 1, ``NaN`` outside [0, 1]. Relative error about
    1e-16 (Wichura 1988).
    """
    arr = np.asarray(p, dtype=np.float64)
    flat = np.ascontiguousarray(arr).ravel()
    out = np.empty(flat.size)
    _normal_quantile_array(flat, out)
    return out.reshape(arr.shape)


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
