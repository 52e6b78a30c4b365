"""Standardized Precipitation-Evapotranspiration Index (SPEI).

The climatic water balance ``D = P − PET`` is summed over ``scale`` months, a
distribution is fitted per calendar month over the calibration years and each value
is mapped to a standard normal deviate ``Φ⁻¹(F(D))``. Fits, as the R package SPEI
names them:

* three-parameter log-logistic (generalized logistic, "GLO") by unbiased
  probability-weighted moments (R default ``fit="ub-pwm"``; the SPEI definition);
* the same distribution by maximum likelihood started from those estimates
  (R ``fit="max-lik"``; :func:`glo_parameters_max_likelihood`);
* Pearson type III by L-moments (R ``distribution="PearsonIII"``, climate_indices
  ``Distribution.pearson``; see the notes of
  :func:`standardized_precipitation_evapotranspiration_index` for how they differ).

The numpy core (:func:`_spei_core`) works on ``(..., time)`` arrays with all cells
vectorised (the maximum-likelihood Newton iterations included);
:func:`standardized_precipitation_evapotranspiration_index` lifts it with
``xr.apply_ufunc(..., dask="parallelized")`` (the ``time`` axis is merged into one
chunk, lazily, because every fit needs the whole series of a cell).

References
----------
Vicente-Serrano, S.M., Beguería, S., López-Moreno, J.I. (2010) A multiscalar drought
index sensitive to global warming: the Standardized Precipitation
Evapotranspiration Index. J. Climate 23:1696-1718. doi:10.1175/2009JCLI2909.1
Beguería, S., Vicente-Serrano, S.M., Reig, F., Latorre, B. (2014) Standardized
precipitation evapotranspiration index (SPEI) revisited. Int. J. Climatol.
34:3001-3023. doi:10.1002/joc.3887
Hosking, J.R.M. (1990) L-moments. J. R. Stat. Soc. B 52:105-124 (GLO: Hosking &
Wallis 1997, Regional Frequency Analysis, Appendix A.7).
"""

from __future__ import annotations

from typing import Literal

import dask.array as dsa
import numpy as np
import xarray as xr
from scipy import special
from scipy.special import ndtri

from landwatch.errors import InputError, InsufficientDataError, UnitsError
from landwatch.indices.drought.accumulate import MAX_SCALE, rolling_sum
from landwatch.indices.drought.distributions import (
    calibration_statistics,
    pearson3_cdf,
    pearson3_parameters,
)
from landwatch.indices.drought.timeaxis import monthly_time_axis

__all__ = [
    "glo_cdf",
    "glo_parameters_max_likelihood",
    "glo_parameters_ub_pwm",
    "standardized_precipitation_evapotranspiration_index",
]

Distribution = Literal["log-logistic", "pearson3"]
Method = Literal["ub-pwm", "max-lik"]

_METHOD_NAMES = {
    "ub-pwm": "unbiased probability-weighted moments",
    "max-lik": "maximum likelihood started from the ub-PWM estimates",
}
_MONTHLY_UNITS = {"mm", "mm/month", "mm month-1", "mm/mon"}

#: |k| at or below this is treated as k = 0 (plain logistic), as lmomco ``parglo``.
_GLO_SMALL_K: float = 1e-6
#: 1 - k y must exceed this to be inside the support (R SPEI ``pglo``).
_GLO_SMALL_ARG: float = 1e-15


# ----------------------------------------------------------------------------- distribution


def glo_parameters_ub_pwm(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Generalized-logistic parameters from unbiased PWMs, along the last axis.

    Parameters
    ----------
    sample : ndarray
        ``(..., n)``; NaN entries are ignored (each cell uses its own valid count).

    Returns
    -------
    xi, alpha, kappa : ndarray
        Location, scale and shape (Hosking's sign convention, κ = −τ3); NaN where the
        cell has fewer than 3 valid values, zero spread, or invalid L-moments
        (λ2 <= 0 or |τ3| >= 1).

    Notes
    -----
    Unbiased PWMs of the ascending order statistics ``x_(1..n)`` (Hosking 1990):
    ``b0 = mean``, ``b1 = Σ (j−1)/(n−1) x_(j) / n``,
    ``b2 = Σ (j−1)(j−2)/((n−1)(n−2)) x_(j) / n``; L-moments ``λ1 = b0``,
    ``λ2 = 2b1 − b0``, ``λ3 = 6b2 − 6b1 + b0``, ``τ3 = λ3/λ2``. GLO (Hosking & Wallis
    1997 A.7): ``κ = −τ3``, ``α = λ2 sin(κπ)/(κπ)``,
    ``ξ = λ1 − α (1/κ − π/sin(κπ))``; for ``|κ| <= 1e-6``: ``κ = 0, α = λ2, ξ = λ1``
    (lmomco ``parglo``, which R SPEI calls).
    """
    x = np.sort(np.asarray(sample, dtype=np.float64), axis=-1)  # NaN sort last
    valid = ~np.isnan(x)
    n = valid.sum(axis=-1).astype(np.float64)
    xz = np.where(valid, x, 0.0)
    j = np.arange(x.shape[-1], dtype=np.float64)  # j - 1 for 1-based ranks
    with np.errstate(divide="ignore", invalid="ignore"):
        nn = n[..., None]
        w1 = j / (nn - 1.0)
        w2 = j * (j - 1.0) / ((nn - 1.0) * (nn - 2.0))
        b0 = xz.sum(axis=-1) / n
        b1 = (w1 * xz).sum(axis=-1) / n
        b2 = (w2 * xz).sum(axis=-1) / n
        l1 = b0
        l2 = 2.0 * b1 - b0
        l3 = 6.0 * b2 - 6.0 * b1 + b0
        t3 = l3 / l2
        k = -t3
        small = np.abs(k) <= _GLO_SMALL_K
        kpi = np.where(small, 1.0, k * np.pi)
        kk = kpi / np.sin(kpi)
        alpha = np.where(small, l2, l2 / kk)
        xi = np.where(small, l1, l1 - alpha * (1.0 - kk) / np.where(small, 1.0, k))
        k = np.where(small, 0.0, k)
    # zero spread: R SPEI skips months with sd == 0
    spread = np.where(valid, x, -np.inf).max(axis=-1) - np.where(valid, x, np.inf).min(axis=-1)
    bad = (n < 3) | ~(l2 > 0) | ~(np.abs(t3) < 1.0) | ~(spread > 0)
    nan = np.nan
    return np.where(bad, nan, xi), np.where(bad, nan, alpha), np.where(bad, nan, k)


def glo_cdf(x: np.ndarray, xi: np.ndarray, alpha: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    r"""CDF of the generalized logistic distribution (Hosking's parametrisation).

    Notes
    -----
    ``y = (x − ξ)/α``; ``F = 1/(1 + e^{−y})`` for κ = 0, else
    ``F = 1/(1 + e^{log(1 − κy)/κ})`` inside the support (``1 − κy > 1e-15``) and 0
    (κ < 0) or 1 (κ > 0) outside it, as R SPEI ``pglo``. This is the 3-parameter
    log-logistic of Vicente-Serrano et al. (2010) reparametrised.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = (x - xi) / alpha
        arg = 1.0 - kappa * y
        inside = arg > _GLO_SMALL_ARG
        safe_k = np.where(kappa == 0.0, 1.0, kappa)
        yk = np.where(kappa == 0.0, y, -np.log(np.where(inside, arg, 1.0)) / safe_k)
        f = 1.0 / (1.0 + np.exp(-yk))
        outside = np.where(kappa < 0.0, 0.0, 1.0)
        f = np.where((kappa != 0.0) & ~inside, outside, f)
    return np.where(np.isnan(x) | np.isnan(alpha), np.nan, f)


# ----------------------------------------------------------------------------- maximum likelihood

#: Series length for the κz -> 0 limit of the GLO reduced variate and its κ-derivatives.
_SERIES_TERMS: int = 24
#: |κz| below this uses the series (closed forms lose digits to cancellation there).
_SERIES_BELOW: float = 0.1


def _glo_reduced_variate(
    z: np.ndarray, kappa: np.ndarray, *, derivatives: bool = True
) -> tuple[np.ndarray, ...]:
    """``y = −log(1 − κz)/κ`` and its derivatives ``∂y/∂κ``, ``∂²y/∂κ²`` (``u = 1 − κz > 0``)."""
    t = kappa * z
    u = 1.0 - t
    series = np.abs(t) < _SERIES_BELOW
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_k = np.where(series, 1.0, kappa)
        safe_u = np.where(series, 1.0, u)
        y = -np.log(safe_u) / safe_k
        if derivatives:
            y_k = (z / safe_u - y) / safe_k
            y_kk = (z * z / (safe_u * safe_u) - 2.0 * y_k) / safe_k
    # near κz = 0 (only there, to save time): y = z Σ t^(j-1)/j,
    # y_κ = z² Σ (j-1) t^(j-2)/j, y_κκ = z³ Σ (j-1)(j-2) t^(j-3)/j, by Horner
    near = np.nonzero(series)
    ts, zs = t[near], z[near]
    p1 = np.zeros_like(ts)
    p2 = np.zeros_like(ts)
    p3 = np.zeros_like(ts)
    for j in range(_SERIES_TERMS, 0, -1):
        p1 = p1 * ts + 1.0 / j
        if derivatives and j >= 2:
            p2 = p2 * ts + (j - 1.0) / j
        if derivatives and j >= 3:
            p3 = p3 * ts + (j - 1.0) * (j - 2.0) / j
    y[near] = zs * p1
    if not derivatives:
        return y, u
    y_k[near] = zs * zs * p2
    y_kk[near] = zs * zs * zs * p3
    return y, y_k, y_kk, u


def _glo_log_likelihood(z: np.ndarray, w: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """GLO log-likelihood of standardised samples ``z`` (weights ``w`` 0/1), ``-inf`` if infeasible."""
    xi, alpha, kappa = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        zz = (z - xi) / alpha
        u = 1.0 - kappa * zz
        ok = (alpha[:, 0] > 0) & (np.abs(kappa[:, 0]) < 1.0) & np.all((u > 0) | (w == 0), axis=1)
        zz = np.where(w > 0, zz, 0.0)
        y, _ = _glo_reduced_variate(zz, np.broadcast_to(kappa, zz.shape), derivatives=False)
        logf = -np.log(alpha) - (1.0 - kappa) * y - 2.0 * np.logaddexp(0.0, -y)
        ll = np.sum(np.where(w > 0, logf, 0.0), axis=1)
    return np.where(ok & np.isfinite(ll), ll, -np.inf)


def _glo_score_and_hessian(
    z: np.ndarray, w: np.ndarray, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (cells, 3) and Hessian (cells, 3, 3) of the GLO log-likelihood in (ξ, α, κ)."""
    xi, alpha, kappa = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
    zz = np.where(w > 0, (z - xi) / alpha, 0.0)
    k = np.broadcast_to(kappa, zz.shape)
    y, y_k, y_kk, u = _glo_reduced_variate(zz, k)
    f = special.expit(y)
    g_y = 1.0 + k - 2.0 * f  # ∂ℓ/∂y
    g_yy = -2.0 * f * (1.0 - f)
    a2 = alpha * alpha
    # derivatives of y(θ) through z = (x − ξ)/α
    d = (-1.0 / (alpha * u), -zz / (alpha * u), y_k)
    dd_xx = k / (a2 * u * u)
    dd_xa = 1.0 / (a2 * u * u)
    dd_aa = k * zz * zz / (a2 * u * u) + 2.0 * zz / (a2 * u)
    dd_xk = -zz / (alpha * u * u)
    dd_ak = -zz * zz / (alpha * u * u)
    second = {
        (0, 0): dd_xx,
        (0, 1): dd_xa,
        (1, 1): dd_aa,
        (0, 2): dd_xk,
        (1, 2): dd_ak,
        (2, 2): y_kk,
    }
    grad = np.empty((z.shape[0], 3))
    hess = np.empty((z.shape[0], 3, 3))
    n = w.sum(axis=1)
    for a in range(3):
        ga = np.sum(w * g_y * d[a], axis=1)
        if a == 1:
            ga = ga - n / alpha[:, 0]  # from −n log α
        if a == 2:
            ga = ga + np.sum(w * y, axis=1)  # ∂ℓ/∂κ at fixed y
        grad[:, a] = ga
        for b in range(a, 3):
            term = g_yy * d[a] * d[b] + g_y * second[(a, b)]
            # ∂²ℓ/∂y∂κ = 1 adds y_a where one of the pair is κ (twice on the diagonal)
            if b == 2:
                term = term + d[a] * (2.0 if a == 2 else 1.0)
            hab = np.sum(w * term, axis=1)
            if a == 1 and b == 1:
                hab = hab + n / (alpha[:, 0] ** 2)
            hess[:, a, b] = hess[:, b, a] = hab
    return grad, hess


#: Newton iterations at most per fit; a converged fit needs 4-8.
_ML_MAX_ITER: int = 100
#: Convergence: largest Newton step in standardised units (ξ/α0, α/α0, κ).
_ML_STEP_TOL: float = 1e-10


def glo_parameters_max_likelihood(
    sample: np.ndarray,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Generalized-logistic parameters by maximum likelihood, along the last axis.

    Parameters
    ----------
    sample : ndarray
        ``(..., n)``; NaN entries are ignored.
    start : (xi, alpha, kappa), optional
        Starting values broadcastable to ``sample.shape[:-1]``; default the ub-PWM
        estimates (:func:`glo_parameters_ub_pwm`), as R SPEI ``fit="max-lik"``.

    Returns
    -------
    xi, alpha, kappa : ndarray
        The local maximum of the log-likelihood reached from ``start`` inside
        ``α > 0``, ``|κ| < 1`` with every value inside the support; NaN where the
        start is NaN or no such maximum is found: the likelihood can keep rising
        towards ``|κ| = 1`` (beyond it the density is infinite at the end of the
        support). That happened in 3 of 10,000 fits of 30 synthetic gamma-like
        balances and in none of the 264 fits of R SPEI's ``balance`` data; R's
        ``optim`` returns a point near ``|κ| = 1`` there.

    Notes
    -----
    Log-likelihood (Hosking & Wallis 1997 A.7; R SPEI ``parglo.maxlik``):
    ``ℓ = Σ [−log α − (1 − κ) y_i − 2 log(1 + e^{−y_i})]`` with
    ``y_i = −log(1 − κ(x_i − ξ)/α)/κ`` (``y_i = (x_i − ξ)/α`` at κ = 0). It is
    maximised by Newton's method with the analytic gradient and Hessian, all cells
    at once: the data of each cell are standardised by the start (``(x − ξ0)/α0``),
    a Hessian that is not negative definite is replaced by its absolute eigenvalues
    (the step stays an ascent direction), and each step is halved until it stays
    feasible and does not lower ``ℓ``. A start that leaves sample values outside its
    support (PWM estimates can) first has κ halved until every value is inside.
    Iterations stop when the largest step is below 1e-10 (standardised units), i.e.
    at the optimum. R SPEI instead stops ``optim``'s Nelder-Mead once the function
    values of its simplex agree to 1.5e-8 relative; on R's ``balance`` data that
    leaves its ``ℓ`` up to 3e-5 (relative) below the maximum and κ up to 2e-3 away
    (``tests/data/r_spei_maxlik``).
    """
    x = np.asarray(sample, dtype=np.float64)
    lead = x.shape[:-1]
    n = x.shape[-1]
    xs = x.reshape(-1, n)
    if start is None:
        start = glo_parameters_ub_pwm(x)
    xi0, a0, k0 = (
        np.broadcast_to(np.asarray(p, dtype=np.float64), lead).reshape(-1) for p in start
    )
    valid = ~np.isnan(xs)
    w = valid.astype(np.float64)
    ok = np.isfinite(xi0) & np.isfinite(a0) & (a0 > 0) & np.isfinite(k0) & (np.abs(k0) < 1.0)
    ok &= valid.sum(axis=1) >= 3
    out = np.full((xs.shape[0], 3), np.nan)
    idx = np.flatnonzero(ok)
    if idx.size:
        z = np.where(valid[idx], (xs[idx] - xi0[idx, None]) / a0[idx, None], 0.0)
        theta = np.column_stack([np.zeros(idx.size), np.ones(idx.size), k0[idx]])
        res = _newton_glo(z, w[idx], theta)
        out[idx, 0] = xi0[idx] + a0[idx] * res[:, 0]
        out[idx, 1] = a0[idx] * res[:, 1]
        out[idx, 2] = res[:, 2]
    xi, alpha, kappa = (out[:, i].reshape(lead) for i in range(3))
    return xi, alpha, kappa


def _newton_glo(z: np.ndarray, w: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Maximise the GLO log-likelihood of every row of ``z`` from ``theta`` (rows x 3)."""
    theta = theta.copy()
    ll = _glo_log_likelihood(z, w, theta)
    # a start with values outside its support (possible for PWM estimates): move κ
    # towards 0, where the support is the whole line, until every value is inside
    for _ in range(40):
        out = ~np.isfinite(ll)
        if not out.any():
            break
        theta[out, 2] *= 0.5
        ll[out] = _glo_log_likelihood(z[out], w[out], theta[out])
    out = ~np.isfinite(ll)
    theta[out, 2] = 0.0
    ll[out] = _glo_log_likelihood(z[out], w[out], theta[out])
    active = np.isfinite(ll)
    done = np.zeros(theta.shape[0], dtype=bool)
    for _ in range(_ML_MAX_ITER):
        act = np.flatnonzero(active & ~done)
        if act.size == 0:
            break
        zs, ws, th = z[act], w[act], theta[act]
        grad, hess = _glo_score_and_hessian(zs, ws, th)
        # ascent direction: (−H)^-1 g with |eigenvalues| of −H (saddle-free Newton)
        lam, vec = np.linalg.eigh(-hess)
        lam = np.maximum(np.abs(lam), 1e-12 * np.max(np.abs(lam), axis=1, keepdims=True) + 1e-300)
        step = np.einsum("cij,cj->ci", vec, np.einsum("cji,cj->ci", vec, grad) / lam)
        bad = ~np.all(np.isfinite(step), axis=1)
        step[bad] = 0.0
        t = np.ones(act.size)
        ll_old = ll[act]
        new = th + step
        ll_new = _glo_log_likelihood(zs, ws, new)
        # near the optimum ℓ is flat to round-off: allow that much, so the last Newton
        # steps (which fix the parameters to ~1e-15) are not refused by rounding
        slack = 1e-13 * (1.0 + np.abs(ll_old))
        pending = ~(ll_new >= ll_old - slack)
        for _half in range(60):
            if not pending.any():
                break
            t[pending] *= 0.5
            new[pending] = th[pending] + t[pending, None] * step[pending]
            ll_new[pending] = _glo_log_likelihood(zs[pending], ws[pending], new[pending])
            pending = ~(ll_new >= ll_old - slack)
        moved = ~pending
        theta[act[moved]] = new[moved]
        ll[act[moved]] = ll_new[moved]
        size = np.max(np.abs(t[:, None] * step), axis=1)
        converged = moved & (size <= _ML_STEP_TOL)
        stuck = pending | bad
        done[act[converged]] = True
        # a step that cannot raise ℓ at 2^-60 of its length: at the optimum if the
        # gradient is negligible, otherwise pushed against |κ| -> 1 or the support
        gnorm = np.max(np.abs(grad), axis=1) <= 1e-8 * np.sum(ws, axis=1)
        done[act[stuck & gnorm]] = True
        active[act[stuck & ~gnorm]] = False
    # small steps also happen when ℓ keeps rising towards |κ| = 1 (no maximum inside):
    # keep only fits whose score vanishes
    fin = np.flatnonzero(done & active)
    if fin.size:
        grad, _ = _glo_score_and_hessian(z[fin], w[fin], theta[fin])
        flat = np.max(np.abs(grad), axis=1) <= 1e-6 * np.sum(w[fin], axis=1)
        done[fin[~flat]] = False
    theta[~(done & active)] = np.nan
    return theta


# ----------------------------------------------------------------------------- core


def _calibration_rows(month: np.ndarray, in_calibration: np.ndarray) -> np.ndarray:
    """Time rows of each calendar month's calibration sample, (12, max_years), -1 padded."""
    lists = [np.flatnonzero((month == m) & in_calibration) for m in range(1, 13)]
    rows = np.full((12, max(1, max(len(r) for r in lists))), -1, dtype=np.int64)
    for m, r in enumerate(lists):
        rows[m, : len(r)] = r
    return rows


def _spei_core(
    d: np.ndarray,
    *,
    month: np.ndarray,
    in_calibration: np.ndarray,
    scale: int,
    distribution: str = "log-logistic",
    method: str = "ub-pwm",
    clip: float | None,
    min_years: int,
) -> np.ndarray:
    """SPEI of a ``(..., time)`` water-balance array (numpy; dask blocks call it)."""
    acc = rolling_sum(np.asarray(d, dtype=np.float64), scale, axis=-1)
    out = np.full(acc.shape, np.nan, dtype=np.float64)
    if distribution == "pearson3":
        lead, nt = acc.shape[:-1], acc.shape[-1]
        tm = np.ascontiguousarray(np.moveaxis(acc, -1, 0).reshape(nt, -1))
        # PWMs of all values: nothing counts as zero in a water balance (zero_below=-inf)
        stats = calibration_statistics(tm, _calibration_rows(month, in_calibration), 2, -np.inf)
        loc, scl, skew, _p0 = pearson3_parameters(stats, min_valid=min_years)
        for m in range(1, 13):
            sel = month == m
            if not sel.any():
                continue
            cdf = pearson3_cdf(tm[sel], loc[m - 1], scl[m - 1], skew[m - 1])
            cdf = np.where(np.isnan(tm[sel]), np.nan, cdf)
            out[..., sel] = np.moveaxis(ndtri(cdf).reshape(-1, *lead), 0, -1)
    else:
        for m in range(1, 13):
            sel = month == m
            if not sel.any():
                continue
            cal = acc[..., sel & in_calibration]
            xi, alpha, kappa = glo_parameters_ub_pwm(cal)
            if method == "max-lik":
                xi, alpha, kappa = glo_parameters_max_likelihood(cal, start=(xi, alpha, kappa))
            too_short = np.sum(~np.isnan(cal), axis=-1) < min_years
            xi = np.where(too_short, np.nan, xi)
            cdf = glo_cdf(acc[..., sel], xi[..., None], alpha[..., None], kappa[..., None])
            out[..., sel] = ndtri(cdf)
    if clip is not None:
        out = np.clip(out, -clip, clip)
    return out


# ----------------------------------------------------------------------------- public API


def standardized_precipitation_evapotranspiration_index(
    pr: xr.DataArray | None = None,
    pet: xr.DataArray | None = None,
    *,
    water_balance: xr.DataArray | None = None,
    scale: int = 3,
    distribution: Distribution = "log-logistic",
    method: Method = "ub-pwm",
    calibration: tuple[int, int] | None = (1981, 2010),
    clip: float | None = 3.09,
    min_years: int = 20,
) -> xr.DataArray:
    """Standardized Precipitation-Evapotranspiration Index (Vicente-Serrano et al. 2010).

    Parameters
    ----------
    pr : DataArray, optional
        Monthly precipitation, mm/month, dims ``(time, ...)``.
    pet : DataArray, optional
        Monthly potential evapotranspiration, mm/month, same grid as ``pr``.
    water_balance : DataArray, optional
        Monthly climatic water balance ``P − PET`` (mm/month); give this **or**
        ``pr`` and ``pet``.
    scale : int, default 3
        Accumulation window in months (1-72); ``D_k(t) = Σ_{i=t−k+1..t} D(i)``.
    distribution : {"log-logistic", "pearson3"}, default "log-logistic"
        Three-parameter log-logistic (generalized logistic; the SPEI definition) or
        Pearson type III (R SPEI ``distribution="PearsonIII"``, climate_indices
        ``Distribution.pearson``).
    method : {"ub-pwm", "max-lik"}, default "ub-pwm"
        Estimator (R SPEI's ``fit``): unbiased probability-weighted moments, or, for
        the log-logistic only, maximum likelihood started from the ub-PWM estimates.
        Pearson III is fitted by ub-PWM (L-moments) only.
    calibration : (int, int) or None, default (1981, 2010)
        First and last calendar year (inclusive) of the fitting period; ``None`` fits
        on the whole record (R SPEI's default).
    clip : float or None, default 3.09
        Clip the index to ``[-clip, clip]``; ``None`` keeps ``±inf`` where the value
        is outside the fitted support (as R SPEI does).
    min_years : int, default 20
        Fewer valid calibration values than this for a calendar month gives NaN for
        that month (R SPEI has no such limit; pass ``min_years=4`` to mimic it).

    Returns
    -------
    DataArray
        SPEI (dimensionless, float64) on the grid and time axis of the input; the first
        ``scale − 1`` months and every window containing a missing month are NaN.

    Raises
    ------
    InputError
        Inputs missing or given twice, not monthly, ``scale`` out of range, unknown
        ``distribution``/``method`` or ``method="max-lik"`` with Pearson III, a
        calibration period outside the record.
    UnitsError
        ``pr`` or ``pet`` units are not a monthly amount in mm.
    InsufficientDataError
        The calibration period holds fewer than ``min_years`` years.

    Notes
    -----
    For each calendar month the accumulated balances of the calibration years are
    fitted by a distribution *F* and ``SPEI = Φ⁻¹(F(D_k))`` (``scipy.special.ndtri``).

    * log-logistic, ``ub-pwm``: generalized logistic (GLO) from unbiased PWMs
      (:func:`glo_parameters_ub_pwm`, :func:`glo_cdf`). With ``calibration=None`` and
      ``clip=None`` this equals R ``SPEI::spei(x, scale)$fitted`` (package 1.8.1) to
      about 1e-13.
    * log-logistic, ``max-lik``: the GLO log-likelihood maximised from the ub-PWM
      estimates (:func:`glo_parameters_max_likelihood`), as R ``fit="max-lik"``. R
      stops its Nelder-Mead search early (simplex values equal to 1.5e-8 relative);
      landwatch converges to the optimum, so the two differ by the distance of R's
      stopping point from it (``tests/data/r_spei_maxlik``: up to 0.03). A calendar
      month whose likelihood has no maximum inside ``|κ| < 1`` is NaN.
    * Pearson III: L-moments of **all** valid calibration balances (ub-PWM, Hosking's
      PELPE3 approximation, :func:`~landwatch.indices.drought.distributions.pearson3_parameters`),
      no probability of zero (a balance has no point mass at 0). Values beyond the
      end of the support score ``±inf`` before clipping. This equals climate_indices
      3.1 ``spei(..., Distribution.pearson)`` (which adds 1000 mm to the balance and
      scores such values ``Φ⁻¹(0.0005)``/``Φ⁻¹(0.9995)``, i.e. ``∓3.09`` after its
      clip) to round-off. R SPEI 1.8.1 ``distribution="PearsonIII"`` differs on
      purpose: it drops every balance ``<= 0`` from the fit and mixes the share of
      exact zeros on top (code written for precipitation), so it agrees only for
      balances that are all positive.

    References
    ----------
    Vicente-Serrano et al. (2010) doi:10.1175/2009JCLI2909.1; Beguería et al. (2014)
    doi:10.1002/joc.3887; Hosking & Wallis (1997) Regional Frequency Analysis, A.7
    (GLO) and A.9 (Pearson III); Stagge et al. (2015) Candidate distributions for
    climatological drought indices (SPI and SPEI), Int. J. Climatol. 35:4027-4040,
    doi:10.1002/joc.4267.
    """
    if water_balance is not None and (pr is not None or pet is not None):
        raise InputError(
            "Got water_balance together with pr/pet; pass either water_balance (P - PET) "
            "or both pr and pet, not both."
        )
    if water_balance is None:
        if pr is None or pet is None:
            raise InputError(
                "SPEI needs the climatic water balance: pass pr and pet (mm/month) or "
                "water_balance=pr - pet; got "
                f"pr={'given' if pr is not None else 'None'}, "
                f"pet={'given' if pet is not None else 'None'}."
            )
        for name, da in (("pr", pr), ("pet", pet)):
            units = str(da.attrs.get("units", "")).strip().lower()
            if units and units not in _MONTHLY_UNITS:
                raise UnitsError(
                    f"{name} has units={da.attrs['units']!r}; SPEI expects monthly totals in "
                    f"mm/month. Convert it (e.g. kg m-2 s-1 × seconds in the month)."
                )
        water_balance = pr - pet
    if distribution not in ("log-logistic", "pearson3"):
        raise InputError(
            f"distribution={distribution!r} is not implemented; use 'log-logistic' "
            f"(the SPEI definition) or 'pearson3'."
        )
    if method not in _METHOD_NAMES:
        raise InputError(
            f"method={method!r} is not implemented; use 'ub-pwm' (unbiased "
            f"probability-weighted moments, as R SPEI) or 'max-lik' (log-logistic only)."
        )
    if distribution == "pearson3" and method != "ub-pwm":
        raise InputError(
            f"method={method!r} with distribution='pearson3': Pearson III is fitted by "
            "L-moments only (as R SPEI, where 'max-lik' applies to the log-logistic). "
            "Pass method='ub-pwm'."
        )
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | np.integer)
        or not 1 <= scale <= MAX_SCALE
    ):
        raise InputError(
            f"scale must be an integer number of months in 1..{MAX_SCALE}; got {scale!r}."
        )
    if not isinstance(water_balance, xr.DataArray):
        raise InputError(
            f"water_balance must be an xarray.DataArray with a 'time' dimension; got "
            f"{type(water_balance).__name__}. Wrap it with xr.DataArray(values, "
            f"dims=('time', ...), coords={{'time': dates}})."
        )
    year, month = monthly_time_axis(
        water_balance,
        "water_balance",
        gap_fix="Resample to monthly totals (e.g. pr.resample(time='MS').sum()) and keep "
        "missing months as NaN.",
    )
    if calibration is None:
        in_cal = np.ones(month.shape, dtype=bool)
    else:
        try:
            y0, y1 = (int(calibration[0]), int(calibration[1]))
        except (TypeError, ValueError, IndexError) as exc:
            raise InputError(
                f"calibration must be (first_year, last_year) or None; got {calibration!r}."
            ) from exc
        if y1 < y0:
            raise InputError(
                f"calibration ends before it starts: {calibration!r}. Pass (first, last)."
            )
        if y0 < year.min() or y1 > year.max():
            raise InputError(
                f"calibration {y0}-{y1} is outside the record ({year.min()}-{year.max()}). "
                f"Choose years inside the data, or calibration=None for the whole record."
            )
        in_cal = (year >= y0) & (year <= y1)
    n_cal_years = np.unique(year[in_cal]).size
    if n_cal_years < min_years:
        raise InsufficientDataError(
            f"water_balance has {n_cal_years} calibration years "
            f"({year[in_cal].min()}-{year[in_cal].max()}); SPEI needs at least "
            f"min_years={min_years}. Pass a longer record, widen calibration, or lower "
            f"min_years."
        )
    wb = water_balance
    if isinstance(wb.data, dsa.Array):
        wb = wb.chunk({"time": -1})
    out = xr.apply_ufunc(
        _spei_core,
        wb,
        input_core_dims=[["time"]],
        output_core_dims=[["time"]],
        kwargs={
            "month": month,
            "in_calibration": in_cal,
            "scale": int(scale),
            "distribution": distribution,
            "method": method,
            "clip": None if clip is None else float(clip),
            "min_years": int(min_years),
        },
        dask="parallelized",
        output_dtypes=[np.float64],
        keep_attrs=False,
    )
    out = out.transpose(*water_balance.dims)
    out.name = "spei"
    cal_txt = "whole record" if calibration is None else f"{calibration[0]}-{calibration[1]}"
    out.attrs = {
        "units": "1",
        "long_name": f"standardized precipitation-evapotranspiration index ({scale}-month)",
        "scale_months": int(scale),
        "distribution": distribution,
        "method": method,
        "fit": f"{'log-logistic' if distribution == 'log-logistic' else 'Pearson type III'}, "
        f"{_METHOD_NAMES[method]}",
        "calibration": cal_txt,
        "clip": "none" if clip is None else float(clip),
    }
    return out
