"""Confirmed drought-impact reports as evidence for or against a drought alert.

For an admin unit and a month, confirmed observations of drought impacts are counted
as confirming or contradicting a drought alert, and turned into a confidence
adjustment that an alert can apply. Only confirmed observations count: a submitted
report has not been checked by anyone yet.

What an observation says about drought
--------------------------------------
==================  ==========================================  ===============
category            confirms a drought alert                    contradicts it
==================  ==========================================  ===============
crop_failure        impact_severity mild/moderate/severe        impact_severity
water_scarcity      or empty (the report itself is the impact)  none
livestock_loss
vegetation_state    impact_severity mild..severe, or no         impact_severity
                    severity and land_state degraded            none, or no
                                                                severity and
                                                                land_state
                                                                stable/improved
==================  ==========================================  ===============

Other categories (restoration results, signs of land degradation) are not drought
evidence and are not counted.

Confidence adjustment
---------------------
With *c* confirming and *k* contradicting observations,

.. math:: a = \\frac{c - k}{c + k + w}, \\qquad w = 2

a number in (-1, 1): positive when the ground confirms the alert. The prior weight
*w* shrinks small counts toward 0, so that one report (which may be wrong, or local)
never moves an alert on its own: one confirming report gives a = 0.33, two give 0.5,
five give 0.71; two for and two against give 0. The suggested use is a shift of one
confidence level (:func:`adjust_confidence_level`): up when a >= 0.5 (at least two
more confirming than contradicting reports), down when a <= -0.5.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from landwatch.errors import InputError
from landwatch.observations.records import CATEGORIES, query_observations

#: Categories that report a drought impact (``drought_impact`` in
#: ``data/observation_categories.csv``).
DROUGHT_IMPACT_CATEGORIES: tuple[str, ...] = tuple(
    c.code for c in CATEGORIES.values() if c.drought_impact
)
#: Prior weight *w* of the adjustment (see the module notes).
PRIOR_WEIGHT = 2.0
#: |adjustment| from which the confidence level of an alert moves by one step.
SHIFT_THRESHOLD = 0.5
#: Confidence levels of an alert, lowest first.
CONFIDENCE_LEVELS: tuple[str, ...] = ("low", "medium", "high")


def drought_evidence(obs: Any) -> str | None:
    """``"confirms"``, ``"contradicts"`` or None (not drought evidence) for one
    observation; see the module table. The validation status is not looked at here."""
    if obs.category not in DROUGHT_IMPACT_CATEGORIES:
        return None
    if obs.impact_severity:
        return "contradicts" if obs.impact_severity == "none" else "confirms"
    if obs.category == "vegetation_state":
        if obs.land_state is None:
            return None
        return "confirms" if obs.land_state == "degraded" else "contradicts"
    return "confirms"


def confidence_adjustment(
    confirming: int, contradicting: int, *, prior_weight: float = PRIOR_WEIGHT
) -> float:
    """The adjustment :math:`a = (c - k) / (c + k + w)` in (-1, 1).

    Parameters
    ----------
    confirming, contradicting : int
        Counts of confirmed observations for and against the alert.
    prior_weight : float
        *w* > 0; larger values need more reports to move the alert.
    """
    if confirming < 0 or contradicting < 0:
        raise InputError("confirming and contradicting are counts and cannot be negative.")
    if prior_weight <= 0:
        raise InputError(f"prior_weight: {prior_weight:g}; expected a positive number.")
    return (confirming - contradicting) / (confirming + contradicting + prior_weight)


def level_shift(adjustment: float, *, threshold: float = SHIFT_THRESHOLD) -> int:
    """-1, 0 or +1 confidence levels for an adjustment (|a| >= ``threshold`` moves)."""
    if adjustment >= threshold:
        return 1
    if adjustment <= -threshold:
        return -1
    return 0


@dataclass(frozen=True)
class AlertEvidence:
    """Community evidence about a drought alert in one admin unit and month."""

    admin_id: str
    month: str  # YYYY-MM
    confirming: int
    contradicting: int
    adjustment: float
    level_shift: int
    confirming_uuids: tuple[str, ...] = ()
    contradicting_uuids: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.confirming + self.contradicting

    def as_dict(self) -> dict[str, Any]:
        return {
            "admin_id": self.admin_id,
            "month": self.month,
            "confirming": self.confirming,
            "contradicting": self.contradicting,
            "adjustment": round(self.adjustment, 4),
            "level_shift": self.level_shift,
            "confirming_uuids": list(self.confirming_uuids),
            "contradicting_uuids": list(self.contradicting_uuids),
        }


def parse_month(month: str | dt.date) -> tuple[int, int]:
    """``(year, month)`` from ``"YYYY-MM"`` or a date."""
    if isinstance(month, dt.date):
        return month.year, month.month
    try:
        y, m = (int(v) for v in str(month).strip().split("-")[:2])
        dt.date(y, m, 1)
    except ValueError:
        raise InputError(
            f"month: {month!r} is not a month; write it as YYYY-MM, e.g. 2024-03."
        ) from None
    return y, m


def _month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def summarise_drought_evidence(
    observations: Iterable[Any],
    admin_id: str,
    month: str | dt.date,
    *,
    prior_weight: float = PRIOR_WEIGHT,
    threshold: float = SHIFT_THRESHOLD,
) -> AlertEvidence:
    """Count confirmed drought-impact observations for an alert and adjust its confidence.

    Parameters
    ----------
    observations : iterable
        Observations (rows or anything with the same attributes); those that are not
        confirmed, in another admin unit or another month are ignored.
    admin_id : str
        The admin unit of the alert.
    month : str or datetime.date
        The month of the alert, ``"YYYY-MM"``.
    prior_weight : float
        *w* of :func:`confidence_adjustment`.
    threshold : float
        See :func:`level_shift`.

    Returns
    -------
    AlertEvidence
        Counts, the uuids behind them, the adjustment *a* and the level shift.
    """
    year, mon = parse_month(month)
    first, last = _month_bounds(year, mon)
    confirming: list[str] = []
    contradicting: list[str] = []
    for obs in observations:
        if obs.validation_status != "confirmed" or obs.admin_id != admin_id:
            continue
        if not (first <= obs.observed_on <= last):
            continue
        ev = drought_evidence(obs)
        if ev == "confirms":
            confirming.append(obs.uuid)
        elif ev == "contradicts":
            contradicting.append(obs.uuid)
    a = confidence_adjustment(len(confirming), len(contradicting), prior_weight=prior_weight)
    return AlertEvidence(
        admin_id=admin_id,
        month=f"{year:04d}-{mon:02d}",
        confirming=len(confirming),
        contradicting=len(contradicting),
        adjustment=a,
        level_shift=level_shift(a, threshold=threshold),
        confirming_uuids=tuple(confirming),
        contradicting_uuids=tuple(contradicting),
    )


def alert_evidence(
    session: Session,
    admin_id: str,
    month: str | dt.date,
    *,
    prior_weight: float = PRIOR_WEIGHT,
    threshold: float = SHIFT_THRESHOLD,
) -> AlertEvidence:
    """:func:`summarise_drought_evidence` over the observations in the database.

    This is the function a drought alert calls to weigh community evidence.
    """
    year, mon = parse_month(month)
    first, last = _month_bounds(year, mon)
    rows = query_observations(
        session,
        status="confirmed",
        category=DROUGHT_IMPACT_CATEGORIES,
        admin_id=admin_id,
        since=first,
        until=last,
    )
    return summarise_drought_evidence(
        rows, admin_id, first, prior_weight=prior_weight, threshold=threshold
    )


def adjust_confidence_level(level: str, evidence: AlertEvidence) -> str:
    """Move an alert's confidence level (low / medium / high) by the evidence's shift,
    staying within the scale."""
    if level not in CONFIDENCE_LEVELS:
        raise InputError(
            f"confidence level {level!r}: expected one of {', '.join(CONFIDENCE_LEVELS)}."
        )
    i = CONFIDENCE_LEVELS.index(level) + evidence.level_shift
    return CONFIDENCE_LEVELS[min(max(i, 0), len(CONFIDENCE_LEVELS) - 1)]
