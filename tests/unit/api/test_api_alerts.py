"""Alert routes on a real SQLite database: GeoJSON of current alerts (unit polygons from a
published warning run), one alert with its history, valid CAP 1.2 and the Atom feed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from landwatch.api import Settings, create_app
from landwatch.store import init_db, session_scope
from landwatch.warning.alerts import update_alerts
from landwatch.warning.cap import CAP_NS, validate_cap
from landwatch.warning.thresholds import load_alert_rules

RULES = load_alert_rules()
SENT = dt.datetime(2024, 5, 1, 6, 0, tzinfo=dt.UTC)
U1 = {"type": "Polygon", "coordinates": [[[37.0, -1.5], [37.4, -1.5], [37.4, -1.0],
                                          [37.0, -1.0], [37.0, -1.5]]]}  # fmt: skip


def _frame(unit: str, levels: list[str], start: str = "2024-01") -> pd.DataFrame:
    months = pd.period_range(start, periods=len(levels), freq="M").strftime("%Y-%m")
    rows, run = [], 0
    for m, lv in zip(months, levels, strict=True):
        level = RULES.level(lv) if lv != "none" else None
        run = run + 1 if level else 0
        rows.append(
            {
                "unit_id": unit,
                "unit_name": f"Unit {unit}",
                "month": m,
                "status": "assessed",
                "level": lv,
                "level_rank": level.rank if level else 0,
                "severity": level.severity if level else None,
                "consecutive_months": run,
                "cropland_warning_share": 0.2 * (level.rank if level else 0),
                "population_exposed": 500.0 * (level.rank if level else 0),
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture()
def alerts_client(tmp_path: Path) -> Iterator[TestClient]:
    db = f"sqlite:///{tmp_path}/api.sqlite"
    engine = init_db(db)
    levels = [lv.name for lv in RULES.levels]
    frames = [
        _frame("U1", [levels[0], levels[0], levels[-1], levels[-1]]),  # start, escalate: active
        _frame("U2", [levels[0], "none", "none", "none"]),  # started and ended
        _frame("U3", ["none", "none", levels[1], levels[1]]),  # active, no polygon published
    ]
    with session_scope(engine) as s:
        update_alerts(s, pd.concat(frames, ignore_index=True), RULES, sent=SENT)
    engine.dispose()
    run = tmp_path / "warnrun"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({
        "workflow": "warning", "finished": "2024-05-01T06:00:00+00:00",
        "inputs": {"rules": "landwatch/data/alert_rules.yaml"},
        "parameters": {"sender": "warnings@example.org", "status": "Exercise",
                       "polygon_tolerance_deg": 0.01},
    }))  # fmt: skip
    situation = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "U1", "geometry": U1, "properties": {"unit_id": "U1"}}]}  # fmt: skip
    (run / "situation_2024-04.geojson").write_text(json.dumps(situation))
    s = Settings(data_dir=tmp_path / "data", database_url=db, runs=[run])
    with TestClient(create_app(s)) as c:
        yield c


def _ids(c: TestClient) -> dict[str, str]:
    return {f["properties"]["unit_id"]: f["id"] for f in c.get("/alerts").json()["features"]}


def test_alerts__geojson_of_current_alerts(alerts_client: TestClient) -> None:
    r = alerts_client.get("/alerts")
    assert r.status_code == 200
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    feats = {f["properties"]["unit_id"]: f for f in fc["features"]}
    assert set(feats) == {"U1", "U3"}  # U2 ended
    u1 = feats["U1"]
    assert u1["geometry"] == U1  # from the published warning run
    assert feats["U3"]["geometry"] is None  # no run publishes U3's polygon
    p = u1["properties"]
    top = RULES.levels[-1].name
    assert p["id"] == u1["id"] == "landwatch-drought-U1-202401"
    assert p["unit"] == "Unit U1" and p["level"] == top and p["started"] == "2024-01"
    assert p["updated"].startswith("2024-05-01T06:00:00")
    assert p["headline"] and "Unit U1" in p["headline"] and "April 2024" in p["headline"]
    assert alerts_client.get("/alerts?forecast=true").json()["features"] == []
    assert len(alerts_client.get("/alerts?forecast=false").json()["features"]) == 2


def test_alert__history_and_404(alerts_client: TestClient) -> None:
    ident = _ids(alerts_client)["U1"]
    r = alerts_client.get(f"/alerts/{ident}")
    assert r.status_code == 200
    body = r.json()
    hist = body["properties"]["history"]
    assert [h["kind"] for h in hist] == ["start", "continue", "escalate", "continue"]
    assert [h["msg_type"] for h in hist] == ["Alert", "Update", "Update", "Update"]
    assert [h["month"] for h in hist] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert hist[0]["identifier"] == f"{ident}-0" and hist[0]["metrics"]["population_exposed"] == 500
    assert body["geometry"] == U1 and body["properties"]["peak_level"] == RULES.levels[-1].name
    ended = alerts_client.get("/alerts/landwatch-drought-U2-202401").json()["properties"]
    assert ended["status"] == "ended" and ended["end_month"] == "2024-03"
    assert ended["history"][-1]["kind"] == "end"
    r = alerts_client.get("/alerts/nope")
    assert r.status_code == 404 and r.json()["type"] == "NotFoundError"
    assert alerts_client.get("/alerts/nope/cap").status_code == 404


def test_alert_cap__valid_cap12_from_the_warning_module(alerts_client: TestClient) -> None:
    ident = _ids(alerts_client)["U1"]
    r = alerts_client.get(f"/alerts/{ident}/cap")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/cap+xml")
    report = validate_cap(r.content)
    assert report.valid, report.errors
    assert report.semantic_errors == []
    assert report.fields["identifier"] == f"{ident}-3" and report.fields["msgType"] == "Update"
    assert report.fields["sender"] == "warnings@example.org"  # the warning run's sender
    assert report.fields["status"] == "Exercise"
    root = etree.fromstring(r.content)
    ns = {"c": CAP_NS}
    poly = root.findtext("c:info/c:area/c:polygon", namespaces=ns)
    assert poly and poly.split()[0] == poly.split()[-1] and "-1.5000,37.0000" in poly
    first = alerts_client.get(f"/alerts/{ident}/cap?seq=0")
    assert validate_cap(first.content).fields["msgType"] == "Alert"
    end = alerts_client.get("/alerts/landwatch-drought-U2-202401/cap")
    assert validate_cap(end.content).fields["msgType"] == "Cancel"
    r = alerts_client.get(f"/alerts/{ident}/cap?seq=9")
    assert r.status_code == 404 and "messages 0-3" in r.json()["detail"]
    u3 = alerts_client.get(f"/alerts/{_ids(alerts_client)['U3']}/cap")
    u3_report = validate_cap(u3.content)
    assert u3_report.valid and not u3_report.semantic_errors  # an area without polygon


def test_alerts_feed__atom_links_to_valid_cap(alerts_client: TestClient) -> None:
    r = alerts_client.get("/alerts/feed.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "landwatch drought alerts"
    # the latest message of both active alerts and of the alert that ended in March
    assert len(feed.entries) == 3
    titles = " | ".join(e.title for e in feed.entries)
    assert "Unit U1" in titles and "Unit U2" in titles and "ended" in titles
    for entry in feed.entries:
        (link,) = [lk for lk in entry.links if lk.type == "application/cap+xml"]
        cap = alerts_client.get(link.href)
        assert cap.status_code == 200 and validate_cap(cap.content).valid
