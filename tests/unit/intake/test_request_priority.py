"""The priority score of requests: every criterion against its table, the total, the
tiers, tie-breaking, the look-ups (alerts database, run tables, polygons) and the rules
file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from landwatch.errors import DataSourceError, InputError
from landwatch.intake.priority import (
    CRITERIA,
    PriorityRules,
    ReportingDeadline,
    RequestFacts,
    alert_level_criterion,
    alert_level_of,
    area_alert_level,
    current_alert_levels,
    deadline_criterion,
    load_priority_rules,
    population_criterion,
    population_from_runs,
    priority_order_key,
    priority_score,
    reporting_criterion,
    requester_type_criterion,
    tier_for,
    units_in_area,
)
from landwatch.store import init_db, session_scope
from landwatch.store.alerts import DroughtAlert

TODAY = dt.date(2026, 11, 26)
RULES = load_priority_rules()


def _facts(**kw: object) -> RequestFacts:
    base: dict[str, object] = {
        "deadline": TODAY + dt.timedelta(days=60),
        "requester_type": "research",
        "intended_use": "research",
    }
    return RequestFacts(**(base | kw))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- deadline


@pytest.mark.parametrize(
    ("days", "score"),
    [
        (0, 1.0),
        (3, 1.0),
        (4, 0.8),
        (7, 0.8),
        (8, 0.6),
        (14, 0.6),
        (15, 0.4),
        (30, 0.4),
        (31, 0.2),
        (90, 0.2),
        (91, 0.1),
        (700, 0.1),
    ],
)
def test_deadline_criterion__table_bands(days: int, score: float) -> None:
    c = deadline_criterion(TODAY + dt.timedelta(days=days), TODAY, RULES)
    assert (c.name, c.value, c.score) == ("deadline", days, score)
    assert c.points == pytest.approx(100 * 30 * score / 100)
    assert f"{days} day" in c.reason


def test_deadline_criterion__overdue_is_most_urgent() -> None:
    c = deadline_criterion(TODAY - dt.timedelta(days=2), TODAY, RULES)
    assert (c.value, c.score) == (-2, 1.0)
    assert c.reason == "deadline passed 2 days ago"


# --------------------------------------------------------------------------- alerts


@pytest.mark.parametrize(
    ("level", "score"), [("none", 0.0), ("watch", 0.4), ("warning", 0.7), ("alert", 1.0)]
)
def test_alert_level_criterion__alert_above_warning_above_watch(level: str, score: float) -> None:
    c = alert_level_criterion(level, RULES, detail="KE-S01: severe (Severe) since 2026-08")
    assert (c.value, c.score) == (level, score)
    assert "KE-S01" in c.reason


def test_alert_level_criterion__unknown_level_names_the_levels() -> None:
    with pytest.raises(InputError, match=r"alert level 'red'.*none.*watch.*warning.*alert"):
        alert_level_criterion("red", RULES)


@pytest.mark.parametrize(
    ("level", "severity", "expected"),
    [
        ("minor", "Minor", "watch"),
        ("moderate", "Moderate", "warning"),
        ("severe", "Severe", "alert"),
        ("extreme", "Extreme", "alert"),
        ("warning", "Minor", "warning"),  # a level named like the scale takes that level
        ("odd", "Unknown", "none"),
    ],
)
def test_alert_level_of__level_names_then_cap_severity(
    level: str, severity: str, expected: str
) -> None:
    assert alert_level_of(level, severity, RULES) == expected


def _alert(
    session: Session, unit: str, level: str, severity: str, *, forecast: bool = False, n: int = 0
) -> None:
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    session.add(
        DroughtAlert(
            identifier=f"lw-{unit}-{level}-{forecast}-{n}",
            unit_id=unit,
            unit_name=unit,
            is_forecast=forecast,
            certainty="Likely" if forecast else "Observed",
            status="active",
            level=level,
            level_rank=1,
            severity=severity,
            peak_level=level,
            peak_rank=1,
            start_month=dt.date(2026, 8, 1),
            last_month=dt.date(2026, 10, 1),
            end_month=None,
            months_below=0,
            created_at=now,
            updated_at=now,
        )
    )


def test_current_alert_levels__from_the_database(tmp_path: Path) -> None:
    engine = init_db(f"sqlite:///{tmp_path / 'a.db'}")
    with session_scope(engine) as s:
        _alert(s, "KE-S01", "moderate", "Moderate")
        _alert(s, "KE-S02", "minor", "Minor")
        _alert(s, "KE-S02", "extreme", "Extreme", forecast=True)  # forecasts do not count
        _alert(s, "KE-S03", "extreme", "Extreme", forecast=True)
    with session_scope(engine) as s:
        levels = current_alert_levels(s, RULES)
        with_forecast = current_alert_levels(s, dataclasses.replace(RULES, include_forecast=True))
    assert {u: lv for u, (lv, _) in levels.items()} == {"KE-S01": "warning", "KE-S02": "watch"}
    assert "KE-S01: moderate (Moderate) since 2026-08" == levels["KE-S01"][1]
    assert with_forecast["KE-S02"][0] == "alert" and with_forecast["KE-S03"][0] == "alert"
    assert area_alert_level(["KE-S02", "KE-S01"], levels, RULES)[0] == "warning"
    assert area_alert_level(["KE-S09"], levels, RULES) == ("none", "")


# --------------------------------------------------------------------------- population


@pytest.mark.parametrize(
    ("people", "score"),
    [
        (2_000_000, 1.0),
        (1_000_000, 1.0),
        (999_999, 0.8),
        (100_000, 0.8),
        (10_000, 0.6),
        (1_000, 0.4),
        (1, 0.2),
        (0, 0.0),
    ],
)
def test_population_criterion__table_bands(people: int, score: float) -> None:
    c = population_criterion(people, RULES, source="given by the requester")
    assert (c.value, c.score) == (people, score)
    assert "given by the requester" in c.reason


def test_population_criterion__unknown_scores_unknown() -> None:
    c = population_criterion(None, RULES)
    assert (c.value, c.score) == (None, RULES.population_unknown)
    assert "unknown" in c.reason


def _tables(run: Path, name: str, text: str) -> Path:
    (run / "tables").mkdir(parents=True, exist_ok=True)
    (run / "tables" / name).write_text(text)
    return run


def test_population_from_runs__warning_run_then_so3_run(tmp_path: Path) -> None:
    warning = _tables(
        tmp_path / "warn",
        "unit_months.csv",
        "month,unit_id,is_forecast,population_exposed\n"
        "2026-09,KE-S01,False,100\n2026-10,KE-S01,False,250\n2026-10,KE-S02,False,50\n"
        "2026-11,KE-S01,True,9999\n",
    )
    so3 = _tables(
        tmp_path / "so3",
        "so3_2_drought_totals.csv",
        "year,sex,zone_id,zone,drought_population,drought_percent,zone_population\n"
        "2022,total,1,KE-S01 Kilima,700,10,7000\n2023,total,1,KE-S01 Kilima,438.9,6,7000\n"
        "2023,female,1,KE-S01 Kilima,200,6,3500\n2023,total,2,KE-S010 Other,5,1,500\n"
        "2023,total,,ALL,1232,4,26967\n",
    )
    both = population_from_runs(["KE-S01"], warning_run=warning, so3_run=so3)
    assert both == (250.0, "warning run warn, 2026-10")  # last observed month, not forecast
    assert population_from_runs(["KE-S01", "KE-S02"], warning_run=warning)[0] == 300.0
    # SO3: last year, sex total, the zone named after the unit (not KE-S010)
    assert population_from_runs(["KE-S01"], so3_run=so3) == (438.9, "SO3 run so3, 2023")
    assert population_from_runs(["KE-S77"], warning_run=warning, so3_run=so3) == (None, "")
    assert population_from_runs([], so3_run=so3) == (None, "")
    assert population_from_runs(["KE-S01"], so3_run=tmp_path / "empty") == (None, "")


def _square(x0: float, y0: float, size: float = 1.0) -> dict[str, object]:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_units_in_area__units_that_share_ground(tmp_path: Path) -> None:
    run = tmp_path / "warn"
    run.mkdir()
    features = [
        {"type": "Feature", "geometry": _square(36, -2), "properties": {"unit_id": "A"}},
        {"type": "Feature", "geometry": _square(37, -2), "properties": {"unit_id": "B"}},
        {"type": "Feature", "geometry": _square(38, -2), "properties": {"unit_id": "C"}},
    ]
    (run / "situation_2026-10.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    # overlaps A and B; only touches C along x = 38
    assert units_in_area(_square(36.5, -1.5, 1.5), run) == ["A", "B"]
    with pytest.raises(DataSourceError, match="no situation_<month>.geojson"):
        units_in_area(_square(36.5, -1.5), tmp_path)


# --------------------------------------------------------------------------- reporting


def _with_deadline(days: int) -> PriorityRules:
    when = TODAY + dt.timedelta(days=days)
    return dataclasses.replace(
        RULES, reporting_deadlines=(ReportingDeadline("prais", "UNCCD report", when),)
    )


@pytest.mark.parametrize(("days", "score"), [(0, 1.0), (30, 1.0), (31, 0.7), (90, 0.7), (180, 0.4)])
def test_reporting_criterion__near_reporting_deadline(days: int, score: float) -> None:
    c = reporting_criterion("unccd_reporting", TODAY, _with_deadline(days))
    assert (c.value, c.score) == ("prais", score)
    assert "UNCCD report" in c.reason


def test_reporting_criterion__not_reporting_or_no_deadline_near() -> None:
    assert reporting_criterion("research", TODAY, _with_deadline(10)).score == 0.0
    far = reporting_criterion("ldn_target_setting", TODAY, _with_deadline(181))
    past = reporting_criterion("unccd_reporting", TODAY, _with_deadline(-1))
    assert far.score == past.score == RULES.reporting_no_deadline == 0.2
    assert far.value is None


# --------------------------------------------------------------------------- requester


def test_requester_type_criterion__focal_point_first() -> None:
    order = [
        "national_focal_point",
        "government",
        "un_intergovernmental",
        "agency_ngo",
        "research",
        "other",
    ]
    scores = [requester_type_criterion(t, RULES).score for t in order]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == scores[1] > scores[2] > scores[3] > scores[4] > scores[5]
    with pytest.raises(InputError, match="requester_type 'press'"):
        requester_type_criterion("press", RULES)


# --------------------------------------------------------------------------- total, tiers


def test_priority_score__points_add_up_to_the_total() -> None:
    p = priority_score(
        _facts(
            deadline=TODAY + dt.timedelta(days=10),
            alert_level="watch",
            population=5_000,
            requester_type="agency_ngo",
        ),
        today=TODAY,
    )
    assert [c.name for c in p.criteria] == list(CRITERIA)
    # 30 * 0.6 + 25 * 0.4 + 20 * 0.4 + 10 * 0 + 15 * 0.5 = 43.5 of 100
    assert p.score == 43.5
    assert sum(c.points for c in p.criteria) == pytest.approx(p.score)
    d = p.to_dict()
    assert d["tier"] == "brief" and d["tier_label"] == "2-week brief"
    assert [b["criterion"] for b in d["breakdown"]] == list(CRITERIA)


def test_priority_score__bounds_0_to_100() -> None:
    rules = _with_deadline(10)
    top = priority_score(
        _facts(
            deadline=TODAY,
            alert_level="alert",
            population=5_000_000,
            intended_use="unccd_reporting",
            requester_type="national_focal_point",
        ),
        today=TODAY,
        rules=rules,
    )
    low = priority_score(
        _facts(deadline=TODAY + dt.timedelta(days=400), population=0, requester_type="other"),
        today=TODAY,
        rules=rules,
    )
    assert top.score == 100.0
    assert low.score == pytest.approx(30 * 0.1 + 15 * 0.1)


@pytest.mark.parametrize(
    ("days", "level", "tier"),
    [
        (7, "none", "snapshot"),
        (-1, "none", "snapshot"),
        (8, "none", "brief"),
        (8, "watch", "brief"),
        (8, "warning", "snapshot"),
        (60, "alert", "snapshot"),
    ],
)
def test_tier_for__deadline_within_7_days_or_warning(days: int, level: str, tier: str) -> None:
    t = tier_for(_facts(deadline=TODAY + dt.timedelta(days=days), alert_level=level), TODAY, RULES)
    assert t.key == tier
    assert t.label == ("72-hour snapshot" if tier == "snapshot" else "2-week brief")


def test_priority_order_key__score_then_deadline_then_received_then_id() -> None:
    t0 = dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)
    d = TODAY + dt.timedelta(days=20)
    rows = [
        ("low", 40.0, d, t0, 1),
        ("late deadline", 50.0, d + dt.timedelta(days=1), t0, 2),
        ("received later", 50.0, d, t0 + dt.timedelta(hours=1), 3),
        ("higher id", 50.0, d, t0, 5),
        ("first", 50.0, d, t0, 4),
        ("top", 60.0, d + dt.timedelta(days=9), t0 + dt.timedelta(days=1), 9),
    ]
    ranked = sorted(rows, key=lambda r: priority_order_key(r[1], r[2], r[3], r[4]))
    assert [r[0] for r in ranked] == [
        "top",
        "first",
        "higher id",
        "received later",
        "late deadline",
        "low",
    ]


# --------------------------------------------------------------------------- rules file


def test_load_priority_rules__packaged_tables() -> None:
    assert RULES.source == "data/request_priority.yaml"
    assert sum(RULES.weights.values()) == 100
    assert set(RULES.topics) == {"land_degradation", "drought", "ldn", "hotspots_practices"}
    assert len(RULES.countries) == 250 and {"KE", "BF", "MN", "XK"} <= RULES.countries
    assert [lv.name for lv in RULES.alert_levels] == ["none", "watch", "warning", "alert"]


def _rules_doc() -> dict[str, object]:
    path = Path(__file__).resolve().parents[3] / "src/landwatch/data/request_priority.yaml"
    doc: dict[str, object] = yaml.safe_load(path.read_text())
    return doc


def test_load_priority_rules__own_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _rules_doc()
    doc["criteria"]["deadline"]["weight"] = 70  # type: ignore[index]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(doc))
    mine = load_priority_rules(path)
    assert mine.weights["deadline"] == 70 and mine.total_weight == 140
    monkeypatch.setenv("LANDWATCH_REQUEST_PRIORITY", str(path))
    assert load_priority_rules().weights["deadline"] == 70
    monkeypatch.delenv("LANDWATCH_REQUEST_PRIORITY")
    assert load_priority_rules().weights["deadline"] == 30


def test_load_priority_rules__errors_name_the_entry(tmp_path: Path) -> None:
    doc = _rules_doc()
    doc["criteria"]["population"]["table"][0]["score"] = 3  # type: ignore[index]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(
        InputError, match=r"criteria\.population\.table\[0\]\.score.*\[0\.0, 1\.0\]"
    ):
        load_priority_rules(bad)
    doc = _rules_doc()
    doc["tiers"]["snapshot"]["when_any"]["alert_level_at_least"] = "red"  # type: ignore[index]
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(InputError, match=r"tiers\.snapshot\.when_any: no alert level 'red'"):
        load_priority_rules(bad)
    with pytest.raises(DataSourceError, match="cannot read"):
        load_priority_rules(tmp_path / "missing.yaml")
