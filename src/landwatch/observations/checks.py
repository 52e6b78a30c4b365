"""An observation against the map at its location: possible false positive or negative.

The map is a 3-class layer (SDG 15.3.1 indicator or land productivity) read at the
observation point by :func:`landwatch.io.observations.sample_raster_at_points`; this
module decides what the two say together and records it on the observation.

=====================  ==========================  ================================
observer says          map says degraded (-1)      map says stable (0) / improved (1)
=====================  ==========================  ================================
degraded               consistent                  possible_false_negative
stable or improved     possible_false_positive     consistent
=====================  ==========================  ================================

Stable against improved is not a contradiction: SDG 15.3.1 asks whether land is
degraded, and both count as "not degraded". Observations without a land state
(e.g. a crop failure, which is a drought impact and says nothing about degradation)
are ``not_comparable``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from landwatch.indices.land.codes import DEGRADED, IMPROVED, STABLE
from landwatch.observations.records import CATEGORIES, as_utc

#: Map layers an observation can be checked against, and how their codes become
#: the 3 classes (-1 degraded, 0 stable, +1 improved).
LAYER_CLASSES: dict[str, dict[int, int]] = {
    "sdg": {-1: DEGRADED, 0: STABLE, 1: IMPROVED},
    "lpd3": {-1: DEGRADED, 0: STABLE, 1: IMPROVED},
    # PRAIS 4 Table 13 / Trends.Earth prod5_to_prod3: 1-2 decline, 3-4 stable, 5 increasing
    "lpd5": {1: DEGRADED, 2: DEGRADED, 3: STABLE, 4: STABLE, 5: IMPROVED},
}
_STATE_CLASS = {"degraded": DEGRADED, "stable": STABLE, "improved": IMPROVED}

FALSE_POSITIVE = "possible_false_positive"
FALSE_NEGATIVE = "possible_false_negative"
CONTRADICTIONS: tuple[str, ...] = (FALSE_POSITIVE, FALSE_NEGATIVE)


class _Observed(Protocol):
    category: str
    land_state: str | None
    observed_on: dt.date


@dataclass(frozen=True)
class MapCheck:
    """Result of one observation against one map.

    ``map_value`` is the raw pixel value (None for nodata or outside the map);
    ``layer`` is ``"<period>/<layer file>"``.
    """

    flag: str
    map_value: int | None
    layer: str


def observed_land_state(obs: _Observed) -> str | None:
    """The land state an observation asserts: its ``land_state``, or the one its
    category implies (a sign of land degradation means degraded), else None."""
    if obs.land_state:
        return obs.land_state
    return CATEGORIES[obs.category].implied_land_state if obs.category in CATEGORIES else None


def map_class(value: float | None, layer: str) -> int | None:
    """The 3-class code (-1, 0, 1) of a pixel value of ``layer``; None for no data."""
    if value is None or not np.isfinite(value):
        return None
    table = LAYER_CLASSES.get(layer.removesuffix("_uncorrected"))
    if table is None:
        raise ValueError(f"layer {layer!r}: expected one of {sorted(LAYER_CLASSES)}")
    return table.get(int(value))


def contradiction_flag(observed_state: str | None, mapped: int | None) -> str:
    """Compare what the observer says with the map class.

    Parameters
    ----------
    observed_state : {"degraded", "stable", "improved"} or None
        From :func:`observed_land_state`.
    mapped : {-1, 0, 1} or None
        From :func:`map_class`.

    Returns
    -------
    str
        ``consistent``, ``possible_false_positive`` (the map says degraded, the ground
        does not), ``possible_false_negative`` (the ground says degraded, the map does
        not), ``not_comparable`` (no state observed) or ``no_data``.

    References
    ----------
    UNCCD PRAIS 4 SO1-4 T3 (false positives / false negatives); Trends.Earth
    "error recode".
    """
    if observed_state is None:
        return "not_comparable"
    if mapped is None:
        return "no_data"
    observed_degraded = _STATE_CLASS[observed_state] == DEGRADED
    mapped_degraded = mapped == DEGRADED
    if observed_degraded == mapped_degraded:
        return "consistent"
    return FALSE_NEGATIVE if observed_degraded else FALSE_POSITIVE


def choose_period(observed_on: dt.date, periods: Mapping[str, tuple[int, int]]) -> str:
    """The assessment period an observation speaks to.

    The period whose productivity window contains the observation year and ends
    soonest after it (2010 -> a 2000-2015 baseline rather than a 2008-2023 report);
    an observation after every window goes to the latest window, one before every
    window to the earliest.

    Parameters
    ----------
    observed_on : datetime.date
        Date of the observation.
    periods : mapping of str to (int, int)
        Period name -> first and last productivity year.
    """
    if not periods:
        raise ValueError("periods is empty")
    year = observed_on.year
    containing = [(y1, name) for name, (y0, y1) in periods.items() if y0 <= year <= y1]
    if containing:
        return min(containing)[1]
    if all(year > y1 for _, y1 in periods.values()):
        return max((y1, name) for name, (_, y1) in periods.items())[1]
    return min((y0, name) for name, (y0, _) in periods.items())[1]


def check_observation(
    obs: _Observed, value: float | None, *, inside: bool, period: str, layer: str
) -> MapCheck:
    """Check one observation against the value of ``layer`` at its location.

    Parameters
    ----------
    obs : Observation
        Anything with ``category``, ``land_state`` and ``observed_on``.
    value : float or None
        Pixel value (NaN or None for nodata).
    inside : bool
        Whether the point lies on the map at all.
    period, layer : str
        Where the value came from, e.g. ``"report_2"`` and ``"sdg"``.
    """
    raw = None if value is None or not np.isfinite(value) else int(value)
    name = f"{period}/{layer}"
    if not inside:
        return MapCheck("outside_map", None, name)
    return MapCheck(contradiction_flag(observed_land_state(obs), map_class(raw, layer)), raw, name)


def record_check(obs: Any, check: MapCheck, *, run: str, when: dt.datetime | None = None) -> None:
    """Store a check result on an observation row (``map_*`` columns)."""
    obs.map_flag = check.flag
    obs.map_value = check.map_value
    obs.map_layer = check.layer
    obs.map_run = run
    obs.map_checked_at = as_utc(when) if when else dt.datetime.now(dt.UTC)
