"""Alert lifecycle in a real SQLite database: start, continue, escalate, end, restart,
idempotent reprocessing, insufficient data and forecast alerts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from landwatch.errors import InputError
from landwatch.store import init_db, session_scope
from landwatch.store.alerts import DroughtAlert, DroughtAlertUpdate, DroughtUnitMonth
from landwatch.warning.alerts import (
    LifecycleResult,
    active_alerts,
    prior_consecutive,
    unit_month_table,
    update_alerts,
)
from landwatch.warning.thresholds import AlertRules, load_alert_rules, parse_alert_rules

SENT = dt.datetime(2024, 9, 1, 6, 0, tzinfo=dt.UTC)
RULES = load_alert_rules()


def frame(
    unit: str, levels: list[str], *, start: str = "2024-01", rules: AlertRules = RULES
) -> pd.DataFrame:
    """An assessment table of one unit: one level per month ("-" = insufficient data)."""
    months = pd.period_range(start, periods=len(levels), freq="M").strftime("%Y-%m")
    rows = []
    run = 0
    for m, lv in zip(months, levels, strict=True):
        level = rules.level(lv) if lv not in ("none", "-") else None
        run = run + 1 if level else (run if lv == "-" else 0)
        rows.append(
            {
                "unit_id": unit,
                "unit_name": f"Unit {unit}",
                "month": m,
                "status": "insufficient_data" if lv == "-" else "assessed",
                "level": "none" if lv == "-" else lv,
                "level_rank": level.rank if level else 0,
                "severity": level.severity if level else None,
                "consecutive_months": run,
                "cropland_warning_share": 0.1 * (level.rank if level else 0),
                "population_exposed": 1000.0 * (level.rank if level else 0),
                "grazing_warning_share": float("nan"),
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture()
def engine(db_url: str) -> Engine:
    return init_db(db_url)


def process(engine: Engine, df: pd.DataFrame, **kw) -> LifecycleResult:  # type: ignore[no-untyped-def]
    rules = kw.pop("rules", RULES)
    with session_scope(engine) as s:
        return update_alerts(s, df, rules, sent=kw.pop("sent", SENT), **kw)


def history(engine: Engine, unit: str = "U1") -> list[tuple[str, str, str, str]]:
    with session_scope(engine) as s:
        q = (
            select(
                DroughtAlert.identifier,
                DroughtAlertUpdate.kind,
                DroughtAlertUpdate.msg_type,
                DroughtAlertUpdate.level,
            )
            .join(DroughtAlertUpdate.alert)
            .where(DroughtAlert.unit_id == unit)
            .order_by(DroughtAlertUpdate.month, DroughtAlertUpdate.seq)
        )
        return [tuple(r) for r in s.execute(q)]  # type: ignore[misc]


def n_rows(engine: Engine, model: type) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_update_alerts__start(engine: Engine) -> None:
    res = process(engine, frame("U1", ["none", "minor"]))
    assert res.count("start") == 1 and res.recorded == 2
    assert history(engine) == [("landwatch-drought-U1-202402", "start", "Alert", "minor")]
    with session_scope(engine) as s:
        a = s.scalars(select(DroughtAlert)).one()
        assert (a.status, a.level, a.severity, a.certainty, a.is_forecast) == (
            "active",
            "minor",
            "Minor",
            "Observed",
            False,
        )
        assert a.start_month == dt.date(2024, 2, 1)
        upd = a.updates[0]
        assert upd.identifier == "landwatch-drought-U1-202402-0"
        assert upd.metrics["cropland_warning_share"] == pytest.approx(0.1)
        assert upd.metrics["grazing_warning_share"] is None  # NaN stored as null


def test_update_alerts__continue_is_the_same_alert(engine: Engine) -> None:
    process(engine, frame("U1", ["minor"]))
    res = process(engine, frame("U1", ["minor"], start="2024-02"))
    assert res.count("continue") == 1 and res.count("start") == 0
    assert n_rows(engine, DroughtAlert) == 1  # no duplicate alert
    assert [h[1:3] for h in history(engine)] == [("start", "Alert"), ("continue", "Update")]


def test_update_alerts__escalate_deescalate_end_restart(engine: Engine) -> None:
    levels = ["minor", "severe", "moderate", "none", "none", "none", "moderate"]
    res = process(engine, frame("U1", levels))
    kinds = [(h[0][-6:], h[1], h[2], h[3]) for h in history(engine)]
    assert kinds == [
        ("202401", "start", "Alert", "minor"),
        ("202401", "escalate", "Update", "severe"),
        ("202401", "deescalate", "Update", "moderate"),
        ("202401", "below", "Update", "moderate"),  # 1 of 2 months below
        ("202401", "end", "Cancel", "none"),
        ("202407", "start", "Alert", "moderate"),  # a new event, a new alert
    ]
    assert res.count("start") == 2 and res.count("end") == 1
    with session_scope(engine) as s:
        first, second = s.scalars(select(DroughtAlert).order_by(DroughtAlert.id)).all()
        assert (first.status, first.peak_level, first.end_month) == (
            "ended",
            "severe",
            dt.date(2024, 5, 1),
        )
        assert first.level == "moderate"  # the level it stood at when it ended
        assert (second.status, second.identifier) == ("active", "landwatch-drought-U1-202407")
        assert [a.identifier for a in active_alerts(s)] == [second.identifier]


def test_update_alerts__end_after_months_is_configurable(engine: Engine) -> None:
    doc = __import__("yaml").safe_load(
        (Path(__file__).resolve().parents[3] / "src/landwatch/data/alert_rules.yaml").read_text()
    )
    doc["end_after_months"] = 1
    quick = parse_alert_rules(doc, source="quick")
    process(engine, frame("U1", ["minor", "none"], rules=quick), rules=quick)
    assert [h[1] for h in history(engine)] == ["start", "end"]


def test_update_alerts__reprocessing_a_month_is_idempotent(engine: Engine) -> None:
    df = frame("U1", ["minor", "severe", "none"])
    first = process(engine, df)
    counts = (
        n_rows(engine, DroughtAlert),
        n_rows(engine, DroughtAlertUpdate),
        n_rows(engine, DroughtUnitMonth),
    )
    again = process(engine, df, sent=SENT + dt.timedelta(days=30))
    assert again.messages == [] and again.recorded == 0
    assert again.skipped == [("U1", "2024-01"), ("U1", "2024-02"), ("U1", "2024-03")]
    assert (
        n_rows(engine, DroughtAlert),
        n_rows(engine, DroughtAlertUpdate),
        n_rows(engine, DroughtUnitMonth),
    ) == counts
    # an extended cube adds only the new month
    more = process(engine, frame("U1", ["minor", "severe", "none", "none"]))
    assert [m.kind for m in more.messages] == ["end"] and len(more.skipped) == 3
    assert len(first.messages) == 3


def test_update_alerts__months_out_of_order(engine: Engine) -> None:
    process(engine, frame("U1", ["minor"], start="2024-03"))
    with pytest.raises(
        InputError, match=r"unit U1: month 2024-02 comes before 2024-03.*time order"
    ):
        process(engine, frame("U1", ["minor"], start="2024-02"))


def test_update_alerts__insufficient_data_changes_nothing(engine: Engine) -> None:
    process(engine, frame("U1", ["moderate", "none", "-", "-", "none"]))
    # months with no data neither count towards the end nor update the alert
    assert [h[1] for h in history(engine)] == ["start", "below", "end"]
    with session_scope(engine) as s:
        t = unit_month_table(s)
    assert t["status"].tolist() == [
        "assessed",
        "assessed",
        "insufficient_data",
        "insufficient_data",
        "assessed",
    ]
    assert t["alert_identifier"].notna().all()  # every month of the event points at it


def test_update_alerts__forecast_stream(engine: Engine) -> None:
    process(engine, frame("U1", ["minor"]))
    res = process(engine, frame("U1", ["severe", "none"]), is_forecast=True, certainty="Possible")
    assert res.count("start") == 1
    with session_scope(engine) as s:
        fc = s.scalars(select(DroughtAlert).where(DroughtAlert.is_forecast.is_(True))).one()
        obs = s.scalars(select(DroughtAlert).where(DroughtAlert.is_forecast.is_(False))).one()
        assert fc.identifier == "landwatch-drought-U1-202401-forecast"
        assert (fc.certainty, fc.level, [u.certainty for u in fc.updates]) == (
            "Possible",
            "severe",
            ["Possible", "Possible"],
        )
        assert (obs.certainty, obs.level, len(obs.updates)) == ("Observed", "minor", 1)  # untouched
        assert len(active_alerts(s, is_forecast=True)) == 1
    with pytest.raises(InputError, match=r"forecast certainty 'Observed' is not allowed"):
        process(engine, frame("U2", ["minor"]), is_forecast=True, certainty="Observed")
    with pytest.raises(InputError, match=r"certainty 'Likely' is for forecasts"):
        process(engine, frame("U2", ["minor"]), certainty="Likely")
    default = process(engine, frame("U3", ["minor"]), is_forecast=True)
    assert default.messages[0].certainty == "Likely"


def test_update_alerts__bad_input(engine: Engine) -> None:
    with pytest.raises(InputError, match="has no time zone"):
        process(engine, frame("U1", ["minor"]), sent=dt.datetime(2024, 9, 1))
    with pytest.raises(InputError, match=r"lacks the columns \['level_rank'\]"):
        process(engine, frame("U1", ["minor"]).drop(columns="level_rank"))
    assert n_rows(engine, DroughtUnitMonth) == 0  # nothing half-written


def test_prior_consecutive__from_the_month_before(engine: Engine) -> None:
    process(engine, frame("U1", ["minor", "minor", "severe"]))
    with session_scope(engine) as s:
        assert prior_consecutive(s, "2024-04") == {"U1": ("2024-03", 3)}
        assert prior_consecutive(s, "2024-06") == {}
        assert prior_consecutive(s, "2024-04", is_forecast=True) == {}
