"""Confirmed contradictions as SDG 15.3.1 correction polygons (false positive / negative).

Each confirmed observation whose last map check was a possible false positive or
negative becomes one polygon: the area drawn with the observation, or a geodesic
circle of ``radius_m`` around the point. The features carry the Trends.Earth
error-recode fields that the ``corrections:`` input of
:func:`landwatch.workflows.sdg1531.run_sdg1531` reads, so the next run recodes the
indicator inside them.

Recode rules (what the observer saw wins over the map, and only the contradicting
class is recoded):

==================  ==============  =================  ===============
observer says       recode_deg_to   recode_stable_to   recode_imp_to
==================  ==============  =================  ===============
degraded            (keep)          -1                 -1
stable              0               (keep)             (keep)
improved            1               (keep)             (keep)
==================  ==============  =================  ===============

References
----------
Trends.Earth ``te_schemas/error_recode.py`` and ``land_deg_recode.py``; UNCCD PRAIS 4
SO1-4 T3 (false positives / false negatives: location, area, process, basis for
judgement, periods).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from landwatch.errors import InputError
from landwatch.indices.land.codes import DEGRADED, IMPROVED, STABLE
from landwatch.observations.checks import CONTRADICTIONS, FALSE_POSITIVE, observed_land_state
from landwatch.observations.records import CATEGORIES
from landwatch.store.observations import Observation

#: Default radius of the circle around an observation without a drawn area: about
#: 4 x 4 pixels of a 250 m MODIS grid, the scale at which a field report describes
#: the land around the observer.
DEFAULT_RADIUS_M = 500.0
#: Largest radius accepted (a 5 km circle is already ~80 km2).
MAX_RADIUS_M = 5_000.0

_RECODES: dict[str, tuple[int | None, int | None, int | None]] = {
    "degraded": (None, DEGRADED, DEGRADED),
    "stable": (STABLE, None, None),
    "improved": (IMPROVED, None, None),
}


def correction_recode(observed_state: str) -> tuple[int | None, int | None, int | None]:
    """``(recode_deg_to, recode_stable_to, recode_imp_to)`` for an observed land state;
    None keeps the class. See the module table."""
    return _RECODES[observed_state]


def circle(lon: float, lat: float, radius_m: float, *, segments: int = 64) -> Any:
    """A geodesic circle of ``radius_m`` metres around a WGS84 point, as a WGS84 polygon.

    Built in an azimuthal equidistant projection centred on the point, where
    distances from the centre are true, so the radius is right at any latitude.
    """
    import shapely
    from pyproj import CRS, Transformer

    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs")
    to_wgs84 = Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
    ring = shapely.Point(0.0, 0.0).buffer(radius_m, quad_segs=max(4, segments // 4))
    return shapely.transform(ring, lambda xy: _stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))


def _stack(xy: tuple[Any, Any]) -> Any:
    import numpy as np

    return np.column_stack(xy)


def area_km2(geom: Any) -> float:
    """Geodesic area of a WGS84 polygon on the WGS84 ellipsoid, km2."""
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6


@dataclass
class CorrectionSet:
    """Correction features and what became of each observation considered.

    ``features`` are GeoJSON Feature dicts, oldest observation first (where polygons
    overlap, the later, i.e. more recent observation wins when rasterised);
    ``used`` lists their uuids; ``skipped`` holds ``(uuid, reason)``; ``overlaps``
    holds uuid pairs whose polygons overlap with different recodes.
    """

    features: list[dict[str, Any]] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    overlaps: list[tuple[str, str]] = field(default_factory=list)


def _skip_reason(obs: Observation) -> str | None:
    if obs.validation_status != "confirmed":
        return f"not confirmed (status {obs.validation_status})"
    if obs.map_flag is None or not obs.map_layer:
        return "not checked against a map yet (run `landwatch observe check`)"
    if obs.map_flag not in CONTRADICTIONS:
        return f"does not contradict the map ({obs.map_flag})"
    return None


def _text(value: str | None, limit: int = 240) -> str:
    text = " ".join((value or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_corrections(
    observations: Iterable[Observation],
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    periods: Sequence[str] | None = None,
) -> CorrectionSet:
    """Correction polygons from confirmed observations that contradict the map.

    Parameters
    ----------
    observations : iterable of Observation
        Candidates; only confirmed ones whose last check was a possible false
        positive or negative are used, the others are listed in ``skipped``.
    radius_m : float
        Radius of the circle around observations without a drawn area, metres
        (default :data:`DEFAULT_RADIUS_M`).
    periods : sequence of str, optional
        Periods the corrections apply to (``periods_affected``); default: the period
        each observation was checked against.

    Returns
    -------
    CorrectionSet
        GeoJSON features in the Trends.Earth error-recode layout (``uuid``,
        ``location_name``, ``process_driving_change``, ``basis_for_judgement``,
        ``source``, ``area_km_sq``, ``recode_deg_to``, ``recode_stable_to``,
        ``recode_imp_to``, ``periods_affected``) plus ``type`` ("false positive" /
        "false negative") and the observation's date, category and map value.

    Raises
    ------
    InputError
        ``radius_m`` outside (0, :data:`MAX_RADIUS_M`].
    """
    import shapely

    if not (0 < radius_m <= MAX_RADIUS_M):
        raise InputError(
            f"radius_m: {radius_m:g} m; expected more than 0 and at most {MAX_RADIUS_M:g} m."
        )
    out = CorrectionSet()
    chosen: list[tuple[Observation, Any, tuple[int | None, int | None, int | None]]] = []
    for obs in sorted(observations, key=lambda o: (o.observed_on, o.created_at, o.id or 0)):
        reason = _skip_reason(obs)
        state = observed_land_state(obs)
        if reason is None and state is None:
            reason = "has no land state"
        if reason is not None:
            out.skipped.append((obs.uuid, reason))
            continue
        assert state is not None and obs.map_layer is not None
        geom = (
            shapely.from_wkt(obs.area_wkt) if obs.area_wkt else circle(obs.lon, obs.lat, radius_m)
        )
        recode = correction_recode(state)
        affected = list(periods) if periods else [obs.map_layer.split("/", 1)[0]]
        kind = "false positive" if obs.map_flag == FALSE_POSITIVE else "false negative"
        category = CATEGORIES[obs.category].label
        lik = (
            f"; local/indigenous knowledge indicator: {obs.lik_indicator_name or 'yes'}"
            if obs.lik_indicator
            else ""
        )
        validated = f"; confirmed by {obs.validated_by}" + (
            f" on {obs.validated_at.date().isoformat()}" if obs.validated_at else ""
        )
        props = {
            "uuid": obs.uuid,
            "location_name": obs.admin_id or f"{obs.lat:.5f}, {obs.lon:.5f}",
            "process_driving_change": _text(
                f"{category}: {state}" + (f" - {obs.description}" if obs.description else "")
            ),
            "basis_for_judgement": _text(
                f"community observation {obs.uuid} ({obs.observer_role.replace('_', ' ')}, "
                f"{obs.observed_on.isoformat()}){validated}{lik}; map {obs.map_layer} = "
                f"{obs.map_value}",
                500,
            ),
            "source": "landwatch community observations",
            "area_km_sq": round(area_km2(geom), 6),
            "recode_deg_to": recode[0],
            "recode_stable_to": recode[1],
            "recode_imp_to": recode[2],
            "periods_affected": ",".join(affected),
            "type": kind,
            "observed_on": obs.observed_on.isoformat(),
            "category": obs.category,
            "land_state": state,
            "map_layer": obs.map_layer,
            "map_value": obs.map_value,
            "radius_m": None if obs.area_wkt else radius_m,
        }
        out.features.append(
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}
        )
        out.used.append(obs.uuid)
        chosen.append((obs, geom, recode))
    if len(chosen) > 1:
        tree = shapely.STRtree([g for _, g, _ in chosen])
        for i, (obs, geom, recode) in enumerate(chosen):
            for j in tree.query(geom, predicate="intersects"):
                if j > i and chosen[j][2] != recode:
                    out.overlaps.append((obs.uuid, chosen[int(j)][0].uuid))
    return out
