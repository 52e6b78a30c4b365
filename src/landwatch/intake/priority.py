"""Priority of a request for an information product: a score from documented criteria.

Five criteria, each a function from one fact of a request to a :class:`Criterion`
(a score 0-1, its weight and its points of the total, and the reason in words), each
driven by its table in ``data/request_priority.yaml`` (weights and thresholds are data):

============================  =====================================================
:func:`deadline_criterion`    days left until the request's deadline
:func:`alert_level_criterion` current drought alert level of the area (alerts
                              database): Alert > Warning > Watch > none
:func:`population_criterion`  people exposed: given, or looked up in the linked runs
                              (:func:`population_from_runs`)
:func:`reporting_criterion`   the request serves a reporting deadline (e.g. a UNCCD
                              national report) that is near
:func:`requester_type_criterion`  national focal point / government > UN /
                              intergovernmental > agency / NGO > research > other
============================  =====================================================

:func:`priority_score` adds them up (0-100) and names the tier ("72-hour snapshot" or
"2-week brief", :func:`tier_for`); :func:`priority_order_key` sorts a queue (highest
score first; ties: earlier deadline, then earlier received, then smaller id).

Notes
-----
With weights :math:`w_i` and criterion scores :math:`s_i \\in [0, 1]`:

.. math:: \\text{total} = 100 \\, \\frac{\\sum_i w_i s_i}{\\sum_i w_i}, \\qquad
          \\text{points}_i = 100 \\, \\frac{w_i s_i}{\\sum_i w_i}

so the points of the breakdown add up to the total (up to rounding to 0.1).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from landwatch.errors import DataSourceError, InputError

__all__ = [
    "CRITERIA",
    "AlertLevel",
    "Criterion",
    "Priority",
    "PriorityRules",
    "ReportingDeadline",
    "RequestFacts",
    "Tier",
    "alert_level_criterion",
    "alert_level_of",
    "current_alert_levels",
    "deadline_criterion",
    "load_priority_rules",
    "population_criterion",
    "population_from_runs",
    "priority_order_key",
    "priority_score",
    "reporting_criterion",
    "requester_type_criterion",
    "tier_for",
    "units_in_area",
]

#: The criteria, in the order of the breakdown.
CRITERIA: tuple[str, ...] = (
    "deadline",
    "alert_level",
    "population",
    "reporting",
    "requester_type",
)
DEFAULT_RULES = "request_priority.yaml"
#: Environment variable naming a rules file to use instead of the packaged one.
RULES_ENV = "LANDWATCH_REQUEST_PRIORITY"


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class AlertLevel:
    """A drought alert level of the priority scale (``none`` is rank 0)."""

    name: str
    score: float
    label: str
    rank: int


@dataclass(frozen=True)
class ReportingDeadline:
    id: str
    name: str
    date: dt.date


@dataclass(frozen=True)
class Tier:
    """A product tier; a request takes it when any condition holds (None: no condition)."""

    key: str
    label: str
    turnaround_hours: int
    deadline_within_days: int | None = None
    alert_level_at_least: str | None = None


@dataclass(frozen=True)
class PriorityRules:
    """The tables of ``data/request_priority.yaml`` (see that file for each one).

    Tables are tuples of ``(limit, score)`` rows read top to bottom: ``max_days`` for
    the deadline and the reporting deadline, ``min`` persons for the population.
    """

    source: str
    weights: Mapping[str, float]
    deadline_overdue: float
    deadline_table: tuple[tuple[int, float], ...]
    deadline_otherwise: float
    alert_levels: tuple[AlertLevel, ...]
    alert_level_names: Mapping[str, str]
    alert_severities: Mapping[str, str]
    include_forecast: bool
    population_table: tuple[tuple[float, float], ...]
    population_otherwise: float
    population_unknown: float
    reporting_uses: frozenset[str]
    reporting_window_days: int
    reporting_table: tuple[tuple[int, float], ...]
    reporting_no_deadline: float
    reporting_deadlines: tuple[ReportingDeadline, ...]
    requester_scores: Mapping[str, float]
    tiers: Mapping[str, Tier]
    default_tier: str
    topics: Mapping[str, str]
    requester_types: Mapping[str, str]
    intended_uses: Mapping[str, str]
    countries: frozenset[str] = field(default_factory=frozenset)

    @property
    def total_weight(self) -> float:
        return float(sum(self.weights[c] for c in CRITERIA))

    def level(self, name: str) -> AlertLevel:
        """The alert level called ``name`` (InputError naming the levels otherwise)."""
        for lv in self.alert_levels:
            if lv.name == name:
                return lv
        raise InputError(
            f"alert level {name!r}: expected one of {[lv.name for lv in self.alert_levels]} "
            f"({self.source})."
        )


def _rule_error(source: str, where: str, message: str) -> InputError:
    return InputError(f"request priority rules ({source}), {where}: {message}. Fix the file.")


def _number(source: str, where: str, value: Any, lo: float = 0.0, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise _rule_error(source, where, f"expected a number in [{lo}, {hi}], got {value!r}")
    return float(value)


def _table(source: str, where: str, rows: Any, key: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(rows, list) or not rows:
        raise _rule_error(source, where, f"expected a non-empty list of {{{key}, score}} rows")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or set(row) - {key, "score", "label"}:
            raise _rule_error(source, f"{where}[{i}]", f"expected {{{key}, score}}, got {row!r}")
        out.append(
            (
                _number(source, f"{where}[{i}].{key}", row.get(key), -math.inf),
                _number(source, f"{where}[{i}].score", row.get("score"), 0.0, 1.0),
            )
        )
    return tuple(out)


def _codes(source: str, where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise _rule_error(source, where, "expected a mapping code -> label")
    return {str(k): str(v) for k, v in value.items()}


def _parse_rules(doc: Any, source: str) -> PriorityRules:
    if not isinstance(doc, Mapping) or doc.get("version") != 1:
        raise _rule_error(source, "version", "expected a mapping with version: 1")
    crit = doc.get("criteria")
    if not isinstance(crit, Mapping) or set(crit) != set(CRITERIA):
        raise _rule_error(source, "criteria", f"expected exactly the criteria {list(CRITERIA)}")
    weights = {c: _number(source, f"criteria.{c}.weight", crit[c].get("weight")) for c in CRITERIA}
    if sum(weights.values()) <= 0:
        raise _rule_error(source, "criteria", "expected at least one weight above 0")

    d = crit["deadline"]
    a = crit["alert_level"]
    levels_doc = a.get("levels")
    if not isinstance(levels_doc, list) or not levels_doc or levels_doc[0].get("name") != "none":
        raise _rule_error(
            source, "criteria.alert_level.levels", "expected a list of levels starting with none"
        )
    levels = tuple(
        AlertLevel(
            name=str(lv["name"]),
            score=_number(source, f"criteria.alert_level.levels[{i}].score", lv.get("score"), 0, 1),
            label=str(lv.get("label", lv["name"])),
            rank=i,
        )
        for i, lv in enumerate(levels_doc)
    )
    names = {lv.name for lv in levels}
    level_names = {str(k): str(v) for k, v in (a.get("level_names") or {}).items()}
    severities = {str(k): str(v) for k, v in (a.get("severities") or {}).items()}
    for where, mapping in (("level_names", level_names), ("severities", severities)):
        bad = sorted(set(mapping.values()) - names)
        if bad:
            raise _rule_error(
                source, f"criteria.alert_level.{where}", f"levels {bad} are not in levels"
            )

    p = crit["population"]
    r = crit["reporting"]
    deadlines = []
    for i, item in enumerate(r.get("deadlines") or []):
        when = item.get("date") if isinstance(item, Mapping) else None
        if isinstance(when, str):
            try:
                when = dt.date.fromisoformat(when)
            except ValueError:
                when = None
        if not isinstance(when, dt.date):
            raise _rule_error(
                source, f"criteria.reporting.deadlines[{i}]", "expected {id, name, date}"
            )
        deadlines.append(
            ReportingDeadline(str(item.get("id", i)), str(item.get("name", item.get("id"))), when)
        )
    rq = crit["requester_type"]
    requester_types = _codes(source, "requester_types", doc.get("requester_types"))
    scores = {
        str(k): _number(source, f"criteria.requester_type.scores.{k}", v, 0, 1)
        for k, v in (rq.get("scores") or {}).items()
    }
    if set(scores) != set(requester_types):
        raise _rule_error(
            source,
            "criteria.requester_type.scores",
            f"expected a score for each requester type {sorted(requester_types)}",
        )

    tiers_doc = doc.get("tiers")
    if not isinstance(tiers_doc, Mapping) or not tiers_doc:
        raise _rule_error(source, "tiers", "expected a mapping of tiers")
    tiers = {}
    for key, t in tiers_doc.items():
        when = t.get("when_any") or {}
        at_least = when.get("alert_level_at_least")
        if at_least is not None and at_least not in names:
            raise _rule_error(source, f"tiers.{key}.when_any", f"no alert level {at_least!r}")
        within = when.get("deadline_within_days")
        tiers[str(key)] = Tier(
            key=str(key),
            label=str(t.get("label", key)),
            turnaround_hours=int(t.get("turnaround_hours", 0)),
            deadline_within_days=None if within is None else int(within),
            alert_level_at_least=None if at_least is None else str(at_least),
        )
    default_tier = str(doc.get("default_tier", ""))
    if default_tier not in tiers:
        raise _rule_error(source, "default_tier", f"expected one of {sorted(tiers)}")

    return PriorityRules(
        source=source,
        weights=weights,
        deadline_overdue=_number(source, "criteria.deadline.overdue", d.get("overdue"), 0, 1),
        deadline_table=tuple(
            (int(k), s)
            for k, s in _table(source, "criteria.deadline.table", d.get("table"), "max_days")
        ),
        deadline_otherwise=_number(source, "criteria.deadline.otherwise", d.get("otherwise"), 0, 1),
        alert_levels=levels,
        alert_level_names=level_names,
        alert_severities=severities,
        include_forecast=bool(a.get("include_forecast", False)),
        population_table=_table(source, "criteria.population.table", p.get("table"), "min"),
        population_otherwise=_number(
            source, "criteria.population.otherwise", p.get("otherwise"), 0, 1
        ),
        population_unknown=_number(source, "criteria.population.unknown", p.get("unknown"), 0, 1),
        reporting_uses=frozenset(str(u) for u in r.get("uses") or []),
        reporting_window_days=int(
            _number(source, "criteria.reporting.window_days", r.get("window_days"))
        ),
        reporting_table=tuple(
            (int(k), s)
            for k, s in _table(source, "criteria.reporting.table", r.get("table"), "max_days")
        ),
        reporting_no_deadline=_number(
            source,
            "criteria.reporting.no_deadline_in_window",
            r.get("no_deadline_in_window"),
            0,
            1,
        ),
        reporting_deadlines=tuple(sorted(deadlines, key=lambda x: x.date)),
        requester_scores=scores,
        tiers=tiers,
        default_tier=default_tier,
        topics=_codes(source, "topics", doc.get("topics")),
        requester_types=requester_types,
        intended_uses=_codes(source, "intended_uses", doc.get("intended_uses")),
        countries=frozenset(str(doc.get("countries") or "").split()),
    )


@functools.lru_cache(maxsize=8)
def _load(path: str | None) -> PriorityRules:
    if path is None:
        text = resources.files("landwatch.data").joinpath(DEFAULT_RULES).read_text("utf-8")
        source = f"data/{DEFAULT_RULES}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise DataSourceError(
                f"request priority rules {path!r}: cannot read ({exc.strerror}); pass an "
                f"existing YAML file (a copy of landwatch/data/{DEFAULT_RULES})."
            ) from None
        source = str(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"request priority rules ({source}): not valid YAML ({exc}).") from None
    return _parse_rules(doc, source)


def load_priority_rules(path: str | Path | None = None) -> PriorityRules:
    """The priority rules: the YAML file ``path``, else the file named by the
    environment variable ``LANDWATCH_REQUEST_PRIORITY`` (so the CLI and the service
    rank alike), else ``data/request_priority.yaml``.

    Raises
    ------
    DataSourceError
        ``path`` cannot be read.
    InputError
        The file breaks the layout of ``data/request_priority.yaml`` (the message
        names the entry).
    """
    if path is None:
        path = os.environ.get(RULES_ENV) or None
    return _load(None if path is None else str(path))


# --------------------------------------------------------------------------- criteria


@dataclass(frozen=True)
class Criterion:
    """One criterion of a request's priority.

    ``value`` is the fact (days, level, persons, ...), ``score`` its score 0-1 by the
    criterion's table, ``points`` its share of the 0-100 total (``100 * weight * score
    / sum of weights``) and ``reason`` the table row that applied, in words.
    """

    name: str
    value: Any
    score: float
    weight: float
    points: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.name,
            "value": self.value,
            "score": round(self.score, 3),
            "weight": self.weight,
            "points": round(self.points, 1),
            "reason": self.reason,
        }


def _criterion(name: str, value: Any, score: float, rules: PriorityRules, reason: str) -> Criterion:
    weight = rules.weights[name]
    return Criterion(
        name, value, score, weight, 100.0 * weight * score / rules.total_weight, reason
    )


def _days(n: int) -> str:
    return f"{n} day{'s' if abs(n) != 1 else ''}"


def deadline_criterion(deadline: dt.date, today: dt.date, rules: PriorityRules) -> Criterion:
    """Urgency from the days left until the request's deadline.

    ``days = deadline - today``. A deadline already past scores ``overdue``; else the
    first row of ``criteria.deadline.table`` with ``days <= max_days`` gives the score
    (default: 3 days or fewer 1.0, 7 days 0.8, 14 days 0.6, 30 days 0.4, 90 days 0.2),
    and ``otherwise`` when no row holds (0.1).

    Returns
    -------
    Criterion
        ``value`` is the number of days (negative when past).
    """
    days = (deadline - today).days
    if days < 0:
        return _criterion(
            "deadline",
            days,
            rules.deadline_overdue,
            rules,
            f"deadline passed {_days(-days)} ago",
        )
    for max_days, score in rules.deadline_table:
        if days <= max_days:
            return _criterion(
                "deadline", days, score, rules, f"deadline in {_days(days)} (<= {_days(max_days)})"
            )
    longest = rules.deadline_table[-1][0]
    return _criterion(
        "deadline",
        days,
        rules.deadline_otherwise,
        rules,
        f"deadline in {_days(days)} (more than {_days(longest)})",
    )


def alert_level_criterion(level: str, rules: PriorityRules, *, detail: str = "") -> Criterion:
    """Drought urgency from the current alert level of the request's area.

    ``level`` is a level of ``criteria.alert_level.levels`` (``none``, ``watch``,
    ``warning``, ``alert`` by default; scores 0, 0.4, 0.7, 1.0). Use
    :func:`current_alert_levels` to read it from the alerts database. ``detail`` (e.g.
    which unit and since when) goes into the reason.
    """
    lv = rules.level(level)
    reason = f"current drought alert: {lv.label}" + (f" ({detail})" if detail else "")
    return _criterion("alert_level", lv.name, lv.score, rules, reason)


def population_criterion(
    population: float | None, rules: PriorityRules, *, source: str = ""
) -> Criterion:
    """Exposure from the number of people exposed to drought in the request's area.

    The first row of ``criteria.population.table`` with ``population >= min`` gives the
    score (default: a million or more 1.0, 100 000 0.8, 10 000 0.6, 1 000 0.4, anyone
    0.2); ``otherwise`` (nobody exposed) and ``unknown`` (None: no number given and
    none found, see :func:`population_from_runs`) score 0 by default.
    """
    if population is None or not math.isfinite(float(population)):
        return _criterion(
            "population",
            None,
            rules.population_unknown,
            rules,
            "population exposed unknown (give a number, or link a so3_run or warning_run)",
        )
    value = float(population)
    shown = f"{value:,.0f} people exposed" + (f" ({source})" if source else "")
    for minimum, score in rules.population_table:
        if value >= minimum:
            return _criterion(
                "population", round(value), score, rules, f"{shown}, >= {minimum:,.0f}"
            )
    return _criterion("population", round(value), rules.population_otherwise, rules, shown)


def reporting_criterion(intended_use: str, today: dt.date, rules: PriorityRules) -> Criterion:
    """Link to a reporting deadline (e.g. a UNCCD national report).

    A request whose ``intended_use`` is one of ``criteria.reporting.uses`` is linked to
    the configured reporting ``deadlines``: the nearest one not yet past and at most
    ``window_days`` away scores by the table (first row with ``days <= max_days``;
    default 30 days 1.0, 90 days 0.7, 180 days 0.4), and ``no_deadline_in_window``
    (0.2) when none is that close. Other intended uses score 0.

    Returns
    -------
    Criterion
        ``value`` is the id of the reporting deadline, or None.
    """
    if intended_use not in rules.reporting_uses:
        label = rules.intended_uses.get(intended_use, intended_use)
        return _criterion("reporting", None, 0.0, rules, f"intended use {label!r}: not reporting")
    ahead = [
        (d, (d.date - today).days)
        for d in rules.reporting_deadlines
        if 0 <= (d.date - today).days <= rules.reporting_window_days
    ]
    if not ahead:
        return _criterion(
            "reporting",
            None,
            rules.reporting_no_deadline,
            rules,
            f"for reporting; no reporting deadline within {_days(rules.reporting_window_days)}",
        )
    nearest, days = min(ahead, key=lambda x: x[1])
    score = next((s for m, s in rules.reporting_table if days <= m), 0.0)
    return _criterion(
        "reporting",
        nearest.id,
        score,
        rules,
        f"for {nearest.name}, due {nearest.date.isoformat()} (in {_days(days)})",
    )


def requester_type_criterion(requester_type: str, rules: PriorityRules) -> Criterion:
    """Who asks: the score of ``criteria.requester_type.scores`` (default: national focal
    point and government 1.0, UN / intergovernmental 0.75, agency / NGO 0.5, research
    0.3, other 0.1)."""
    if requester_type not in rules.requester_scores:
        raise InputError(
            f"requester_type {requester_type!r}: expected one of "
            f"{sorted(rules.requester_scores)} ({rules.source})."
        )
    label = rules.requester_types.get(requester_type, requester_type)
    return _criterion(
        "requester_type", requester_type, rules.requester_scores[requester_type], rules, label
    )


# --------------------------------------------------------------------------- total


@dataclass(frozen=True)
class RequestFacts:
    """What the priority of a request depends on."""

    deadline: dt.date
    requester_type: str
    intended_use: str
    alert_level: str = "none"
    alert_detail: str = ""
    population: float | None = None
    population_source: str = ""


@dataclass(frozen=True)
class Priority:
    """Score 0-100, tier and the breakdown by criterion."""

    score: float
    tier: str
    tier_label: str
    turnaround_hours: int
    criteria: tuple[Criterion, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "tier": self.tier,
            "tier_label": self.tier_label,
            "turnaround_hours": self.turnaround_hours,
            "breakdown": [c.to_dict() for c in self.criteria],
        }


def tier_for(facts: RequestFacts, today: dt.date, rules: PriorityRules) -> Tier:
    """The product tier: the first tier of ``tiers`` (other than ``default_tier``) whose
    ``when_any`` holds, else ``default_tier``. By default a request is a "72-hour
    snapshot" when its deadline is 7 days away or less (or past) or its area is at
    Warning or Alert, else a "2-week brief"."""
    days = (facts.deadline - today).days
    rank = rules.level(facts.alert_level).rank
    for tier in rules.tiers.values():
        if tier.key == rules.default_tier:
            continue
        if tier.deadline_within_days is not None and days <= tier.deadline_within_days:
            return tier
        if (
            tier.alert_level_at_least is not None
            and rank >= rules.level(tier.alert_level_at_least).rank
        ):
            return tier
    return rules.tiers[rules.default_tier]


def priority_score(
    facts: RequestFacts, *, today: dt.date, rules: PriorityRules | None = None
) -> Priority:
    """The priority of a request: every criterion, the total 0-100 and the tier.

    Parameters
    ----------
    facts : RequestFacts
        Deadline, requester type, intended use, alert level and population.
    today : datetime.date
        The day to count the days to deadlines from.
    rules : PriorityRules, optional
        Default: :func:`load_priority_rules`.

    Returns
    -------
    Priority
        ``score`` is the sum of the criteria's points, rounded to 0.1.
    """
    rules = rules or load_priority_rules()
    criteria = (
        deadline_criterion(facts.deadline, today, rules),
        alert_level_criterion(facts.alert_level, rules, detail=facts.alert_detail),
        population_criterion(facts.population, rules, source=facts.population_source),
        reporting_criterion(facts.intended_use, today, rules),
        requester_type_criterion(facts.requester_type, rules),
    )
    total = round(min(100.0, max(0.0, sum(c.points for c in criteria))), 1)
    tier = tier_for(facts, today, rules)
    return Priority(total, tier.key, tier.label, tier.turnaround_hours, criteria)


def priority_order_key(
    score: float, deadline: dt.date, received: dt.datetime, request_id: int
) -> tuple[float, dt.date, dt.datetime, int]:
    """Sort key of a queue: highest score first; ties go to the earlier deadline, then
    the earlier received time, then the smaller id. ``received`` must be aware (UTC)."""
    return (-score, deadline, received, request_id)


# --------------------------------------------------------------------------- lookups


def alert_level_of(level: str, severity: str, rules: PriorityRules) -> str:
    """The priority scale's level of an alert of the database: by its level name when
    ``criteria.alert_level.level_names`` lists it, else by its CAP ``severity``
    (``severities``: Minor Watch, Moderate Warning, Severe and Extreme Alert)."""
    if level in rules.alert_level_names:
        return rules.alert_level_names[level]
    return rules.alert_severities.get(severity, "none")


def current_alert_levels(session: Session, rules: PriorityRules) -> dict[str, tuple[str, str]]:
    """Current alert of every admin unit with an active alert: unit id -> (level of the
    priority scale, detail in words). Forecast alerts count only with
    ``include_forecast``; when a unit has several, the highest level wins."""
    from landwatch.warning.alerts import active_alerts

    out: dict[str, tuple[str, str]] = {}
    stream = None if rules.include_forecast else False
    for alert in active_alerts(session, is_forecast=stream):
        name = alert_level_of(alert.level, alert.severity, rules)
        since = alert.start_month.strftime("%Y-%m")
        kind = "forecast " if alert.is_forecast else ""
        detail = f"{alert.unit_id}: {kind}{alert.level} ({alert.severity}) since {since}"
        old = out.get(alert.unit_id)
        if old is None or rules.level(name).rank > rules.level(old[0]).rank:
            out[alert.unit_id] = (name, detail)
    return out


def area_alert_level(
    units: Iterable[str], levels: Mapping[str, tuple[str, str]], rules: PriorityRules
) -> tuple[str, str]:
    """Highest current level over the area's units (from :func:`current_alert_levels`)."""
    best = ("none", "")
    for unit in units:
        found = levels.get(unit)
        if found is not None and rules.level(found[0]).rank > rules.level(best[0]).rank:
            best = found
    return best


def _latest_situation(warning_run: Path) -> Path | None:
    files = sorted(warning_run.glob("situation_*.geojson"))
    return files[-1] if files else None


def units_in_area(area: Mapping[str, Any], warning_run: Path) -> list[str]:
    """Admin units of a warning run whose polygons share ground with ``area`` (a GeoJSON
    Polygon or MultiPolygon in WGS84), from its latest ``situation_<month>.geojson``.

    Raises
    ------
    DataSourceError
        The run has no situation GeoJSON, or it cannot be read.
    """
    from shapely.geometry import shape

    path = _latest_situation(warning_run)
    if path is None:
        raise DataSourceError(
            f"warning run {warning_run.name}: no situation_<month>.geojson; expected the "
            "output folder of `landwatch warn run` (or a warn-run job)."
        )
    try:
        features = json.loads(path.read_text(encoding="utf-8")).get("features") or []
    except (OSError, ValueError, AttributeError) as exc:
        raise DataSourceError(f"{path}: not readable GeoJSON ({exc}).") from None
    poly = shape(dict(area))
    out = []
    for f in features:
        geom = f.get("geometry") if isinstance(f, Mapping) else None
        unit = (f.get("properties") or {}).get("unit_id") if isinstance(f, Mapping) else None
        if not geom or unit is None:
            continue
        g = shape(geom)
        if poly.intersects(g) and not poly.touches(g):
            out.append(str(unit))
    return sorted(set(out))


def _from_warning_run(units: Sequence[str], run: Path) -> tuple[float, str] | None:
    import pandas as pd

    path = run / "tables" / "unit_months.csv"
    if not path.is_file():
        return None
    df = pd.read_csv(path, dtype={"unit_id": str})
    if "is_forecast" in df:
        df = df[~df["is_forecast"].astype(str).str.lower().isin(("true", "1"))]
    df = df[df["unit_id"].isin(list(units))]
    if df.empty or "population_exposed" not in df:
        return None
    month = str(df["month"].max())
    value = float(df.loc[df["month"].astype(str) == month, "population_exposed"].fillna(0).sum())
    return value, f"warning run {run.name}, {month}"


def _from_so3_run(units: Sequence[str], run: Path) -> tuple[float, str] | None:
    import pandas as pd

    path = run / "tables" / "so3_2_drought_totals.csv"
    if not path.is_file():
        return None
    df = pd.read_csv(path, dtype={"zone": str})
    if "sex" in df:
        df = df[df["sex"].astype(str) == "total"]
    zone = df["zone"].astype(str)
    # zones are named "<admin id> <admin name>" (landwatch.workflows.so3)
    mine = zone.map(lambda z: any(z == u or z.startswith(f"{u} ") for u in units))
    df = df[mine]
    if df.empty:
        return None
    year = int(df["year"].max())
    value = float(df.loc[df["year"] == year, "drought_population"].fillna(0).sum())
    return value, f"SO3 run {run.name}, {year}"


def population_from_runs(
    units: Sequence[str], *, warning_run: Path | None = None, so3_run: Path | None = None
) -> tuple[float | None, str]:
    """People exposed to drought in the admin units ``units``, from a linked run.

    The warning run first (``tables/unit_months.csv``: ``population_exposed``, persons
    in pixels at Warning or worse, summed over the units in the last observed month),
    then the SO3 run (``tables/so3_2_drought_totals.csv``: ``drought_population`` of
    sex ``total`` in the last year, summed over the zones named after the units).

    Returns
    -------
    (float or None, str)
        The number and where it comes from; ``(None, "")`` when neither run has it.
    """
    if not units:
        return None, ""
    for run, read in ((warning_run, _from_warning_run), (so3_run, _from_so3_run)):
        if run is None:
            continue
        try:
            found = read(units, Path(run))
        except (OSError, ValueError, KeyError):
            found = None  # an unreadable table gives no number; the request still counts
        if found is not None:
            return found
    return None, ""
