r"""Verification scores of SPI forecasts: errors, skill scores, ROC-AUC, Brier, reliability.

Every function takes flat arrays of matching length and ignores no values: callers
select the verification sample (finite forecasts and observations) first, so that
a forecast and its baselines are always scored on the same cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from landwatch.errors import InputError

__all__ = [
    "BEATS",
    "DOES_NOT_BEAT",
    "MIN_USEFUL_SKILL",
    "brier_score",
    "brier_skill_score",
    "mean_squared_error",
    "mse_skill_score",
    "persistence_verdict",
    "reliability_table",
    "roc_auc",
    "skill_verdict",
    "root_mean_squared_error",
    "year_bootstrap_skill",
]

BEATS = "beats persistence"
DOES_NOT_BEAT = "does NOT beat persistence"


def _pair(a: ArrayLike, b: ArrayLike, names: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise InputError(f"{names}: lengths differ ({x.size} and {y.size}); pass matching arrays.")
    if x.size == 0:
        raise InputError(f"{names}: no cases to verify; the verification sample is empty.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError(f"{names}: NaN or inf in the verification sample; select finite cases.")
    return x, y


def mean_squared_error(observed: ArrayLike, forecast: ArrayLike) -> float:
    r"""Mean squared error :math:`\frac1n\sum (f_i - o_i)^2`."""
    o, f = _pair(observed, forecast, "mean_squared_error")
    return float(np.mean((f - o) ** 2))


def root_mean_squared_error(observed: ArrayLike, forecast: ArrayLike) -> float:
    """Root mean squared error, in the units of the observations (SPI: 1)."""
    return float(np.sqrt(mean_squared_error(observed, forecast)))


def mse_skill_score(observed: ArrayLike, forecast: ArrayLike, reference: ArrayLike) -> float:
    r"""MSE skill score of ``forecast`` against a ``reference`` forecast.

    Notes
    -----
    :math:`\mathrm{SS} = 1 - \mathrm{MSE}_f / \mathrm{MSE}_{ref}`: 1 is perfect, 0 is
    no better than the reference, negative is worse. ``reference`` may be a scalar
    (e.g. climatology 0) or an array. Wilks (2011) Statistical Methods in the
    Atmospheric Sciences, 3rd ed., section 8.4.
    """
    o = np.asarray(observed, dtype=np.float64).ravel()
    ref = np.broadcast_to(np.asarray(reference, dtype=np.float64), o.shape)
    mse_ref = mean_squared_error(o, ref)
    if mse_ref == 0:
        return float("nan")
    return 1.0 - mean_squared_error(o, forecast) / mse_ref


def brier_score(probability: ArrayLike, event: ArrayLike) -> float:
    r"""Brier score :math:`\frac1n\sum (p_i - o_i)^2`, ``event`` 0/1 (or bool)."""
    p, o = _pair(probability, event, "brier_score")
    if ((p < 0) | (p > 1)).any():
        raise InputError("brier_score: probabilities must lie in [0, 1].")
    return float(np.mean((p - o) ** 2))


def brier_skill_score(probability: ArrayLike, event: ArrayLike, reference: ArrayLike) -> float:
    r"""Brier skill score against a reference probability (scalar or per case).

    Notes
    -----
    :math:`\mathrm{BSS} = 1 - \mathrm{BS}_f / \mathrm{BS}_{ref}`; with the reference
    the climatological event frequency of the training years, 0 is no skill.
    """
    o = np.asarray(event, dtype=np.float64).ravel()
    ref = np.broadcast_to(np.asarray(reference, dtype=np.float64), o.shape)
    bs_ref = brier_score(ref, o)
    if bs_ref == 0:
        return float("nan")
    return 1.0 - brier_score(probability, o) / bs_ref


def roc_auc(score: ArrayLike, event: ArrayLike) -> float:
    r"""Area under the ROC curve of a score (higher = event more likely).

    Returns NaN when the sample holds only events or only non-events.

    Notes
    -----
    Mann-Whitney form with mid-ranks for ties:
    :math:`\mathrm{AUC} = (R_1 - n_1(n_1+1)/2) / (n_1 n_0)`, with :math:`R_1` the rank
    sum of the events. Equals ``sklearn.metrics.roc_auc_score``.
    """
    s, o = _pair(score, event, "roc_auc")
    pos = o > 0.5
    n1 = int(pos.sum())
    n0 = pos.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = stats.rankdata(s)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def reliability_table(probability: ArrayLike, event: ArrayLike, *, bins: int = 10) -> pd.DataFrame:
    """Forecast probability binned against the observed event frequency.

    Parameters
    ----------
    probability : array_like
        Forecast probabilities in [0, 1].
    event : array_like
        Outcomes, 0/1 or bool.
    bins : int, default 10
        Equal-width bins on [0, 1]; bin ``k`` holds ``k/bins <= p < (k+1)/bins``
        (the last bin includes 1).

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``bin_lower``, ``bin_upper``, ``n``, ``mean_probability``,
        ``observed_frequency`` (NaN for an empty bin). A reliable forecast has
        ``observed_frequency`` close to ``mean_probability`` in every bin.
    """
    p, o = _pair(probability, event, "reliability_table")
    if ((p < 0) | (p > 1)).any():
        raise InputError("reliability_table: probabilities must lie in [0, 1].")
    k = np.minimum((p * bins).astype(np.int64), bins - 1)
    n = np.bincount(k, minlength=bins)
    sum_p = np.bincount(k, weights=p, minlength=bins)
    sum_o = np.bincount(k, weights=o, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(n > 0, sum_p / n, np.nan)
        freq = np.where(n > 0, sum_o / n, np.nan)
    edges = np.linspace(0.0, 1.0, bins + 1)
    return pd.DataFrame(
        {
            "bin_lower": edges[:-1].round(6),
            "bin_upper": edges[1:].round(6),
            "n": n.astype(np.int64),
            "mean_probability": mean_p,
            "observed_frequency": freq,
        }
    )


def year_bootstrap_skill(
    years: ArrayLike,
    squared_error: ArrayLike,
    reference_squared_error: ArrayLike,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Confidence interval of an MSE skill score by resampling whole years.

    All cells of a year are kept together, because drought is spatially coherent:
    resampling single cases would make the interval far too narrow.

    Parameters
    ----------
    years : array_like of int
        Year of each case (e.g. of the issue month).
    squared_error, reference_squared_error : array_like
        Squared errors of the forecast and of the reference, per case.
    n_boot : int, default 1000
        Bootstrap replicates.
    seed : int, default 0
        Random seed.
    level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    (lower, upper) : tuple of float
        Percentile interval of :math:`1 - \\sum SE_f / \\sum SE_{ref}`.
    """
    y = np.asarray(years).ravel()
    se, ref = _pair(squared_error, reference_squared_error, "year_bootstrap_skill")
    if y.shape != se.shape:
        raise InputError("year_bootstrap_skill: years and errors differ in length.")
    uniq, inverse = np.unique(y, return_inverse=True)
    f_sum = np.bincount(inverse, weights=se, minlength=uniq.size)
    r_sum = np.bincount(inverse, weights=ref, minlength=uniq.size)
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, uniq.size, size=(n_boot, uniq.size))
    counts = np.apply_along_axis(np.bincount, 1, draw, minlength=uniq.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        skill = 1.0 - (counts @ f_sum) / (counts @ r_sum)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(skill, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


MIN_USEFUL_SKILL = 0.01


def skill_verdict(
    skill: float,
    lower: float | None = None,
    upper: float | None = None,
    *,
    reference: str = "persistence",
    min_skill: float = MIN_USEFUL_SKILL,
) -> str:
    """One line that says whether a forecast beats a reference forecast, and by how much.

    Parameters
    ----------
    skill : float
        MSE skill score of the forecast against the reference.
    lower, upper : float, optional
        Its confidence interval.
    reference : str, default "persistence"
        Name of the reference (``"persistence"``, ``"climatology"``).
    min_skill : float, default 0.01
        Smallest skill that counts. The forecast beats the reference only when the
        skill is at least ``min_skill`` *and* the lower bound of its interval (or,
        without one, the skill) is above 0.

    Returns
    -------
    str
        Starts with ``"beats <reference>"`` or ``"does NOT beat <reference>"``.

    Notes
    -----
    Why a minimum: the year-resampling interval captures the sampling of years,
    not the randomness of model fitting; on nClimDiv (half a million cases) a
    shuffled-target control reaches +0.001 "significantly". A skill below 1 % of
    the reference's MSE is no use to anyone and is reported as no skill.
    """
    ci = ""
    if lower is not None and upper is not None:
        ci = f", 95% CI {lower:+.3f} to {upper:+.3f}"
    bound = skill if lower is None else lower
    head = f"MSE skill vs {reference} {skill:+.3f}{ci}"
    if np.isfinite(bound) and bound > 0 and skill >= min_skill:
        return f"beats {reference} ({head})"
    if not np.isfinite(skill) or skill <= 0:
        why = f"worse than {reference}"
    elif not (np.isfinite(bound) and bound > 0):
        why = f"not distinguishable from {reference}"
    else:
        why = f"below the minimum useful skill {min_skill:g}"
    return f"does NOT beat {reference} ({head}: {why})"


def persistence_verdict(
    skill: float,
    lower: float | None = None,
    upper: float | None = None,
    *,
    min_skill: float = MIN_USEFUL_SKILL,
) -> str:
    """:func:`skill_verdict` against persistence: starts with :data:`BEATS` or :data:`DOES_NOT_BEAT`."""
    return skill_verdict(skill, lower, upper, reference="persistence", min_skill=min_skill)
