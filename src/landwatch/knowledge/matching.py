"""Match SLM practices to the places that need them.

An :class:`AreaProfile` describes a place in the terms practice records use: the land
uses present (from UNCCD land cover classes), the degradation processes and their
shares (from a hotspot or the maps), the IPCC climate zone, the aridity classes, and
the LDN response class. :func:`match_practices` scores every practice against it:

====================  ======  ===================================================
component             weight  score (0-1)
====================  ======  ===================================================
degradation           0.35    0.8 x coverage + 0.2 x specificity. Coverage: the
                              area's processes weighted by share (a productivity or
                              SOC change counts 1/4 next to a land cover conversion,
                              which usually explains it), a process counting 1 if
                              the practice addresses one of its primary WOCAT types,
                              0.5 a secondary one. Specificity: the share of the
                              practice's own degradation types that are relevant.
land use              0.20    share-weighted: 1 if the practice lists the land use
                              of the class (for a conversion: before or after), 0.6
                              a neighbouring one (e.g. mixed)
climate               0.20    1 same IPCC zone, 0.5 same climate family (e.g.
                              tropical), 0 otherwise
aridity               0.10    1 if the aridity classes overlap, 0.5 if adjacent
response              0.15    1 if the practice's goals include the response's goal
                              (avoid->prevent, reduce->reduce, reverse->restore),
                              0.5 for the neighbouring goal, 0 otherwise
====================  ======  ===================================================

The process -> WOCAT mapping, land use and aridity tables are data
(``landwatch/data/ldn_process_degradation.yaml``). Each match carries the breakdown
and the reasons in words, so a user can see why a practice ranks where it does.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from landwatch.errors import InputError
from landwatch.knowledge.vocabulary import vocabulary

__all__ = [
    "WEIGHTS",
    "AreaProfile",
    "Match",
    "match_practices",
    "process_info",
    "profile_from_hotspot",
]

WEIGHTS: dict[str, float] = {
    "degradation": 0.35,
    "land_use": 0.20,
    "climate": 0.20,
    "aridity": 0.10,
    "response": 0.15,
}
_GOAL_ORDER = ("prevent", "reduce", "restore")
_ARIDITY_ORDER = ("hyper_arid", "arid", "semi_arid", "dry_subhumid", "humid")
#: IPCC climate-zone raster code -> vocabulary code, from the vocabulary file.
_ZONE_CODES: dict[int, str] = {
    int(t.number): t.code for t in vocabulary().terms("climate_zones") if t.number is not None
}


@cache
def _tables() -> dict[str, Any]:
    text = resources.files("landwatch.data").joinpath("ldn_process_degradation.yaml").read_text()
    return dict(yaml.safe_load(text))


def process_info(code: str) -> dict[str, Any]:
    """Name and WOCAT degradation types (primary, secondary) of a process code such as
    ``productivity_decline`` or ``land_cover_1_3``."""
    t = _tables()
    if code in t["processes"]:
        return dict(t["processes"][code])
    if transition_of(code) is not None:
        for tr in t["transitions"]:
            if fnmatch.fnmatchcase(code, tr["pattern"]):
                return dict(tr)
    raise InputError(
        f"process {code!r} is unknown; expected productivity_decline, soc_loss, "
        "land_cover_degradation, the brightspot codes productivity_increase, soc_gain, "
        "land_cover_improvement, or land_cover_<from>_<to> (UNCCD classes 1-7)."
    )


_TRANSITION = re.compile(r"land_cover_([1-7])_([1-7])")


def transition_of(code: str) -> tuple[int, int] | None:
    """(from, to) UNCCD classes of a ``land_cover_<from>_<to>`` process code, else None."""
    m = _TRANSITION.fullmatch(code)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _family(zone: str) -> str:
    return zone.split("_")[0]


@dataclass(frozen=True)
class AreaProfile:
    """A place described for matching.

    Attributes
    ----------
    land_cover : mapping of int to float
        Share of the area per UNCCD land cover class (1-7).
    processes : mapping of str to float
        Share of the area per degradation process code (``productivity_decline``,
        ``soc_loss``, ``land_cover_<from>_<to>``, ...).
    climate_zone : str
        IPCC climate zone code of the vocabulary (e.g. ``tropical_dry``).
    aridity : tuple of str
        UNEP aridity classes (inferred from the climate zone when not measured).
    response : str
        LDN response class: ``maintain``, ``avoid``, ``reduce`` or ``reverse``.
    name : str
        Label used in outputs.
    """

    land_cover: Mapping[int, float]
    processes: Mapping[str, float]
    climate_zone: str
    aridity: tuple[str, ...] = ()
    response: str = "reverse"
    name: str = "area"
    aridity_inferred: bool = False

    def __post_init__(self) -> None:
        if self.climate_zone not in _ZONE_CODES.values():
            raise InputError(
                f"climate zone {self.climate_zone!r} is unknown; expected one of "
                f"{sorted(_ZONE_CODES.values())}."
            )
        if self.response not in _tables()["goal_of_response"]:
            raise InputError(
                f"response {self.response!r} is unknown; expected maintain, avoid, reduce or reverse."
            )
        for c in self.processes:
            process_info(c)
        bad = [a for a in self.aridity if a not in _ARIDITY_ORDER]
        if bad:
            raise InputError(
                f"aridity {bad} unknown; expected some of {', '.join(_ARIDITY_ORDER)}."
            )
        if not self.aridity:
            object.__setattr__(
                self, "aridity", tuple(_tables()["aridity_of_climate_zone"][self.climate_zone])
            )
            object.__setattr__(self, "aridity_inferred", True)


@dataclass
class Match:
    """A practice's score for an area, with the breakdown and reasons."""

    rank: int
    uuid: str
    name: str
    score: float
    components: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    record: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def as_row(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "uuid": self.uuid,
            "practice": self.name,
            "score": round(self.score, 4),
            **{f"score_{k}": round(v, 4) for k, v in self.components.items()},
            "goals": ";".join(self.record.get("goals", [])),
            "reasons": " | ".join(self.reasons),
        }


def _process_weight(code: str, processes: Mapping[str, float]) -> float:
    """A land cover conversion explains the productivity and SOC changes of the same
    land: when one is present those count a quarter, so practices for the conversion
    lead."""
    if code.startswith("land_cover_"):
        return 1.0
    return 0.25 if any(c.startswith("land_cover_") for c in processes) else 1.0


def _score(rec: Mapping[str, Any], area: AreaProfile) -> tuple[dict[str, float], list[str]]:
    t = _tables()
    comp: dict[str, float] = {}
    reasons: list[str] = []
    addressed = set(rec.get("degradation_types", []))
    # degradation: coverage of the area's processes (primary 1, secondary 0.5), then
    # specificity (share of the practice's own targets that are relevant here)
    total = sum(_process_weight(c, area.processes) * s for c, s in area.processes.items())
    if total > 0 and addressed:
        got = 0.0
        relevant: set[str] = set()
        hit_names = []
        for code, share in area.processes.items():
            info = process_info(code)
            w = _process_weight(code, area.processes) * share
            prim = addressed & set(info.get("primary", []))
            sec = addressed & set(info.get("secondary", []))
            relevant |= prim | sec
            if prim:
                got += w
                hit_names.append(f"{info['name']} ({', '.join(sorted(prim))})")
            elif sec:
                got += 0.5 * w
                hit_names.append(f"{info['name']}, in part ({', '.join(sorted(sec))})")
        coverage = got / total
        specificity = len(relevant) / len(addressed)
        comp["degradation"] = 0.8 * coverage + 0.2 * specificity if coverage > 0 else 0.0
        reasons.append(
            "addresses " + "; ".join(hit_names)
            if hit_names
            else "does not address the processes found"
        )
    else:
        comp["degradation"] = 0.0
        reasons.append("no degradation process to match")
    # land use: a class's own land use counts 1, a neighbouring one (e.g. mixed) 0.6.
    # A converted share fits a practice made for the land before OR after the
    # conversion (restore what was lost, or manage what is there now).
    lu = set(rec.get("land_use", []))
    uses: set[str] = set()

    def fit_of(classes: Sequence[int]) -> float:
        best = 0.0
        for cls in classes:
            wanted = list(t["land_use_of_land_cover"].get(int(cls), []))
            if wanted and wanted[0] in lu:
                uses.add(wanted[0])
                best = max(best, 1.0)
            elif set(wanted) & lu:
                uses.update(set(wanted) & lu)
                best = max(best, 0.6)
        return best

    parts: list[tuple[float, float]] = []
    for code, share in area.processes.items():
        pair = transition_of(code)
        if pair is not None:
            parts.append((share, fit_of(pair)))
    converted = sum(p[0] for p in parts)
    rest = max(0.0, 1.0 - converted)
    lc_total = sum(area.land_cover.values())
    if rest > 0 and lc_total > 0:
        for cls, share in area.land_cover.items():
            parts.append((rest * share / lc_total, fit_of((cls,))))
    weight = sum(p[0] for p in parts)
    comp["land_use"] = sum(w * f for w, f in parts) / weight if weight > 0 else 0.0
    reasons.append(
        f"fits land use {', '.join(sorted(uses))} ({100 * comp['land_use']:.0f} %)"
        if uses
        else "made for other land uses"
    )
    # climate
    zones = set(rec.get("climate_zones", []))
    if area.climate_zone in zones:
        comp["climate"] = 1.0
        reasons.append(f"used in the {area.climate_zone.replace('_', ' ')} climate")
    elif any(_family(z) == _family(area.climate_zone) for z in zones):
        comp["climate"] = 0.5
        reasons.append(f"used in other {_family(area.climate_zone)} climates")
    else:
        comp["climate"] = 0.0
        reasons.append("not reported from this climate")
    # aridity
    ar = set(rec.get("aridity", []))
    note = " (inferred from the climate zone)" if area.aridity_inferred else ""
    if ar & set(area.aridity):
        comp["aridity"] = 1.0
        reasons.append(f"aridity {', '.join(sorted(ar & set(area.aridity)))} fits{note}")
    elif any(
        abs(_ARIDITY_ORDER.index(a) - _ARIDITY_ORDER.index(b)) == 1
        for a in ar
        for b in area.aridity
    ):
        comp["aridity"] = 0.5
        reasons.append(f"aridity close to this area's{note}")
    else:
        comp["aridity"] = 0.0
        reasons.append(f"made for other aridity{note}")
    # response
    goal = t["goal_of_response"][area.response]
    goals = set(rec.get("goals", []))
    if goal in goals:
        comp["response"] = 1.0
        reasons.append(f"goal '{goal}' serves the LDN response '{area.response}'")
    elif any(abs(_GOAL_ORDER.index(g) - _GOAL_ORDER.index(goal)) == 1 for g in goals):
        comp["response"] = 0.5
        reasons.append(f"goal {', '.join(sorted(goals))} is next to '{goal}' ({area.response})")
    else:
        comp["response"] = 0.0
        reasons.append(f"goal {', '.join(sorted(goals))} does not serve '{area.response}'")
    return comp, reasons


def match_practices(
    area: AreaProfile,
    practices: Iterable[Mapping[str, Any]],
    *,
    top: int = 10,
    weights: Mapping[str, float] | None = None,
) -> list[Match]:
    """Rank practice records (dicts of the record schema) for ``area``.

    Ties are broken by the degradation score, then the climate score, then the name,
    so the order is stable.
    """
    w = dict(weights or WEIGHTS)
    unknown = set(w) - set(WEIGHTS)
    if unknown:
        raise InputError(f"matching weights {sorted(unknown)} are unknown; use {sorted(WEIGHTS)}.")
    wsum = sum(w.values())
    if wsum <= 0:
        raise InputError("matching weights must add up to more than 0.")
    scored = []
    for rec in practices:
        comp, reasons = _score(rec, area)
        total = sum(w.get(k, 0.0) * v for k, v in comp.items()) / wsum
        scored.append((total, comp, reasons, rec))
    scored.sort(
        key=lambda s: (-s[0], -s[1]["degradation"], -s[1]["climate"], str(s[3].get("name")))
    )
    return [
        Match(
            rank=i + 1,
            uuid=str(rec.get("uuid", "")),
            name=str(rec.get("name", "")),
            score=total,
            components=comp,
            reasons=reasons,
            record=rec,
        )
        for i, (total, comp, reasons, rec) in enumerate(scored[: max(top, 0)])
    ]


def _split(text: Any) -> list[str]:
    return [v for v in str(text or "").split(";") if v]


def profile_from_hotspot(row: Mapping[str, Any], *, aridity: Sequence[str] = ()) -> AreaProfile:
    """An :class:`AreaProfile` from a row of an LDN hotspot table.

    Uses ``process_codes`` (``code:share;...``), the land cover of the dominant land
    type (``land_cover``) and at the end of the period (``land_cover_now``: a
    conversion since the land type's year that the UNCCD matrix calls degradation is
    added as a process), the dominant ``climate_zones`` code and ``response``.
    """
    processes: dict[str, float] = {}
    for item in _split(row.get("process_codes")):
        code, _, text = item.partition(":")
        processes[code] = float(text) if text else 1.0
    if not processes:
        raise InputError(f"hotspot {row.get('patch')}: no process is listed; it cannot be matched.")
    lc = int(row.get("land_cover") or 0)
    now = int(row.get("land_cover_now") or 0)
    brightspot = row.get("type") == "brightspot"
    if brightspot:
        # a gain to keep: its land cover transitions (e.g. grassland -> tree cover) are
        # improvements, matched to practices that protect the new cover
        for code in [c for c in processes if transition_of(c) is not None]:
            share = processes.pop(code)
            lc = transition_of(code)[1]  # type: ignore[index]
            processes["land_cover_improvement"] = max(
                processes.get("land_cover_improvement", 0.0), share
            )
    elif lc and now and lc != now:
        # converted since the land type's year (e.g. a wetland drained before the
        # period): the conversion is the process to treat, if the UNCCD matrix calls it
        # degradation
        from landwatch.indices.land.land_cover import load_transition_matrix

        if load_transition_matrix().as_dict().get((lc, now)) == -1:
            processes.setdefault(f"land_cover_{lc}_{now}", 1.0)
    # land cover of the unconverted share (conversions are scored per process)
    land_cover: dict[int, float] = {lc: 1.0} if lc else {}
    zone_code = int(row.get("climate_zones") or 0)
    if zone_code not in _ZONE_CODES:
        raise InputError(
            f"hotspot {row.get('patch')}: climate zone {zone_code} is not an IPCC zone 1-12; "
            "land types need the climate_zones component for matching."
        )
    response = "maintain" if brightspot else str(row.get("response") or "reverse")
    return AreaProfile(
        land_cover=land_cover,
        processes=processes,
        climate_zone=_ZONE_CODES[zone_code],
        aridity=tuple(aridity),
        response=response if response in _tables()["goal_of_response"] else "reverse",
        name=f"{row.get('type', 'hotspot')} {row.get('rank', row.get('patch'))} "
        f"({row.get('process', '')})",
    )
