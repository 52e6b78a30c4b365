"""CAP 1.2: our messages validate against the OASIS schema; the validator agrees with the
expected results for the real and invalid alerts in ../shared/validation/cap_1_2."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon, box

from landwatch.errors import InputError
from landwatch.store import init_db, session_scope
from landwatch.store.alerts import DroughtAlertUpdate
from landwatch.warning.alerts import update_alerts
from landwatch.warning.cap import (
    CAP_NS,
    CapArea,
    CapMessage,
    build_cap,
    cap_datetime,
    cap_polygons,
    validate_cap,
    write_cap,
)
from landwatch.warning.messages import compose_message, unit_area
from landwatch.warning.thresholds import load_alert_rules

NS = {"c": CAP_NS}
RULES = load_alert_rules()
SENT = dt.datetime(2024, 5, 3, 9, 30, tzinfo=dt.UTC)
UNIT_GEOM = Polygon([(36.0, -1.4), (36.3, -1.4), (36.3, -1.0), (36.1, -0.9), (36.0, -1.0)])


def _assessment(levels: list[str]) -> pd.DataFrame:
    rows = []
    for i, lv in enumerate(levels):
        level = RULES.level(lv) if lv != "none" else None
        rows.append(
            {
                "unit_id": "KE 01",  # a space: identifiers must not keep it
                "unit_name": "Kilima & Mto",
                "month": f"2024-{i + 1:02d}",
                "status": "assessed",
                "level": lv,
                "level_rank": level.rank if level else 0,
                "severity": level.severity if level else None,
                "consecutive_months": i + 1 if level else 0,
                "cropland_warning_share": 0.42,
                "cropland_alert_share": 0.2,
                "grazing_warning_share": 0.3,
                "grazing_alert_share": 0.1,
                "population_exposed": 12345.0,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def messages(tmp_path_factory: pytest.TempPathFactory) -> list[CapMessage]:
    engine = init_db(f"sqlite:///{tmp_path_factory.mktemp('cap') / 'a.db'}")
    area = unit_area("KE 01", "Kilima & Mto", UNIT_GEOM)
    with session_scope(engine) as s:
        update_alerts(s, _assessment(["minor", "severe", "none", "none"]), RULES, sent=SENT)
        from sqlalchemy import select
        from sqlalchemy.orm import selectinload

        from landwatch.store.alerts import DroughtAlert

        ups = s.scalars(
            select(DroughtAlertUpdate)
            .options(selectinload(DroughtAlertUpdate.alert).selectinload(DroughtAlert.updates))
            .order_by(DroughtAlertUpdate.seq)
        ).all()
        return [compose_message(u, rules=RULES, sender="ews@example.org", area=area) for u in ups]


def _xml(msg: CapMessage) -> etree._Element:
    return etree.fromstring(build_cap(msg))


def test_build_cap__every_message_is_valid_cap12(
    messages: list[CapMessage], tmp_path: Path
) -> None:
    assert [m.msg_type for m in messages] == ["Alert", "Update", "Update", "Cancel"]
    for m in messages:
        path = write_cap(m, tmp_path / f"{m.identifier}.xml")
        report = validate_cap(path)
        assert report.valid and report.cap_version == "1.2", report.errors
        assert report.semantic_errors == []


def test_build_cap__alert_fields(messages: list[CapMessage]) -> None:
    root = _xml(messages[0])
    t = lambda p: root.findtext(p, namespaces=NS)  # noqa: E731
    assert t("c:identifier") == "landwatch-drought-KE_01-202401-0"
    assert (t("c:sender"), t("c:status"), t("c:msgType"), t("c:scope")) == (
        "ews@example.org",
        "Actual",
        "Alert",
        "Public",
    )
    assert t("c:sent") == "2024-05-03T09:30:00-00:00"  # UTC as -00:00 (CAP 1.2 3.3.2)
    assert root.find("c:references", NS) is None
    info = "c:info/c:"
    assert (t(info + "category"), t(info + "event"), t(info + "language")) == (
        "Env",
        "Drought",
        "en",
    )
    assert (t(info + "urgency"), t(info + "severity"), t(info + "certainty")) == (
        "Expected",
        "Minor",
        "Observed",
    )
    assert t(info + "onset") == "2024-01-01T00:00:00-00:00"
    assert t(info + "expires") == "2024-03-01T00:00:00-00:00"
    assert "Kilima & Mto" in t(info + "headline") and "January 2024" in t(info + "headline")
    desc = t(info + "description")
    assert "42 % of cropland" in desc and "30 % of grazing land" in desc and "12,345 people" in desc
    assert t(info + "instruction") == RULES.levels[0].instruction
    params = {
        p.findtext("c:valueName", namespaces=NS): p.findtext("c:value", namespaces=NS)
        for p in root.findall("c:info/c:parameter", NS)
    }
    assert params["landwatch:level"] == "minor" and params["landwatch:month"] == "2024-01"
    assert params["landwatch:cropland_warning_share"] == "0.42"
    assert params["landwatch:is_forecast"] == "false"
    area = root.find("c:info/c:area", NS)
    assert area.findtext("c:areaDesc", namespaces=NS) == "Kilima & Mto"
    assert area.findtext("c:geocode/c:value", namespaces=NS) == "KE 01"
    assert area.findtext("c:geocode/c:valueName", namespaces=NS) == "admin_id"


def test_build_cap__polygon_is_lat_lon_and_closed(messages: list[CapMessage]) -> None:
    poly = _xml(messages[0]).findtext("c:info/c:area/c:polygon", namespaces=NS)
    pts = [tuple(map(float, p.split(","))) for p in poly.split()]
    assert pts[0] == pts[-1] and len(pts) >= 4
    lats, lons = zip(*pts, strict=True)
    assert min(lats) == pytest.approx(-1.4) and max(lats) == pytest.approx(-0.9)  # latitude first
    assert min(lons) == pytest.approx(36.0) and max(lons) == pytest.approx(36.3)


def test_build_cap__update_and_cancel_reference_earlier_messages(
    messages: list[CapMessage],
) -> None:
    first, escalate, below, cancel = (_xml(m) for m in messages)
    ref = "ews@example.org,landwatch-drought-KE_01-202401-{},2024-05-03T09:30:00-00:00"
    assert escalate.findtext("c:references", namespaces=NS) == ref.format(0)
    assert below.findtext("c:references", namespaces=NS) == f"{ref.format(0)} {ref.format(1)}"
    assert cancel.findtext("c:references", namespaces=NS) == f"{ref.format(0)} {ref.format(2)}"
    assert escalate.findtext("c:info/c:severity", namespaces=NS) == "Severe"
    assert "raised to severe" in escalate.findtext("c:info/c:headline", namespaces=NS)
    assert cancel.findtext("c:info/c:responseType", namespaces=NS) == "AllClear"
    assert cancel.findtext("c:info/c:urgency", namespaces=NS) == "Past"
    assert "ended" in cancel.findtext("c:info/c:headline", namespaces=NS)


def test_compose_message__forecast_certainty(tmp_path: Path) -> None:
    engine = init_db(f"sqlite:///{tmp_path / 'f.db'}")
    with session_scope(engine) as s:
        res = update_alerts(
            s, _assessment(["moderate"]), RULES, is_forecast=True, certainty="Likely", sent=SENT
        )
        msg = compose_message(
            res.messages[0], rules=RULES, sender="ews@example.org", area=unit_area("KE 01", "K")
        )
    root = _xml(msg)
    assert root.findtext("c:info/c:certainty", namespaces=NS) == "Likely"
    assert root.findtext("c:info/c:urgency", namespaces=NS) == "Future"
    assert root.findtext("c:info/c:headline", namespaces=NS).startswith("Forecast: ")
    assert root.findtext("c:identifier", namespaces=NS).endswith("-forecast-0")


def test_cap_datetime__time_zones() -> None:
    assert (
        cap_datetime(dt.datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=dt.UTC))
        == "2024-01-02T03:04:05-00:00"
    )
    tz = dt.timezone(dt.timedelta(hours=3))
    assert cap_datetime(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz)) == "2024-01-02T03:04:05+03:00"
    with pytest.raises(InputError, match="has no time zone"):
        cap_datetime(dt.datetime(2024, 1, 2))


def test_cap_polygons__multipolygon_simplified_and_bad_crs() -> None:
    import numpy as np

    theta = np.linspace(0, 2 * np.pi, 2001)
    circle = Polygon(zip(36 + 0.5 * np.cos(theta), -1 + 0.5 * np.sin(theta), strict=True))
    two = MultiPolygon([circle, box(38, 1, 38.2, 1.1)])
    polys = cap_polygons(two, tolerance=0.01, max_points=64)
    assert len(polys) == 2
    for p in polys:
        pts = p.split()
        assert pts[0] == pts[-1] and 4 <= len(pts) <= 64
    assert polys[1].split()[0] in {
        "1.0000,38.0000",
        "1.1000,38.0000",
        "1.0000,38.2000",
        "1.1000,38.2000",
    }
    tiny = box(36.0, -1.0, 36.00001, -0.99999)
    assert len(cap_polygons(tiny, tolerance=0.01)[0].split()) == 5  # its bounding box
    with pytest.raises(InputError, match="reproject the units to EPSG:4326"):
        cap_polygons(box(500000, 9800000, 510000, 9810000))


def test_build_cap__invalid_content_is_refused() -> None:
    base = dict(
        identifier="x-1",
        sender="ews@example.org",
        sent=SENT,
        msg_type="Alert",
        urgency="Expected",
        severity="Minor",
        certainty="Observed",
        headline="h",
        description="d",
        areas=[CapArea("A", polygons=["1,2 1,3 2,3 1,2"])],
    )
    assert validate_cap(build_cap(CapMessage(**base))).valid
    with pytest.raises(InputError, match=r"not valid CAP 1.2: line \d+: Element .*severity"):
        build_cap(CapMessage(**{**base, "severity": "Huge"}))
    with pytest.raises(InputError, match="must not be empty or hold spaces"):
        build_cap(CapMessage(**{**base, "identifier": "x 1"}))
    with pytest.raises(InputError, match="needs <references>"):
        build_cap(CapMessage(**{**base, "msg_type": "Update"}))
    with pytest.raises(InputError, match="must be closed"):
        build_cap(CapMessage(**{**base, "areas": [CapArea("A", polygons=["1,2 1,3 2,3 2,2"])]}))


# --------------------------------------------------------------------------------------
# the shared real and invalid alerts
# --------------------------------------------------------------------------------------


def _expected(shared_dir: Path) -> tuple[Path, list[dict]]:
    base = shared_dir / "validation" / "cap_1_2"
    data = json.loads((base / "expected" / "xsd_validation_and_fields.json").read_text())
    return base, data["results"]


def test_validate_cap__shared_alerts_match_expected(shared_dir: Path) -> None:
    base, results = _expected(shared_dir)
    cases = [r for r in results if "cap_version" in r or not r["well_formed"]]
    assert len(cases) >= 20
    for r in cases:
        got = validate_cap(base / r["file"])
        assert got.well_formed == r["well_formed"], r["file"]
        if not r["well_formed"]:
            assert not got.valid and "not well-formed" in got.errors[0]
            continue
        assert got.cap_version == r["cap_version"], r["file"]
        assert got.valid == r.get("valid_CAP_v1.2_xsd", False), (r["file"], got.errors)
        if "xsd_errors" in r:
            assert got.errors == r["xsd_errors"], r["file"]  # libxml2 wording, line numbers
        for key in ("identifier", "sender", "sent", "status", "msgType", "scope", "n_info"):
            assert got.fields[key] == r[key], (r["file"], key)


def test_validate_cap__summary_of_the_shared_set(shared_dir: Path) -> None:
    base = shared_dir / "validation" / "cap_1_2"
    cap12 = sorted(p for p in (base / "alerts").iterdir() if validate_cap(p).cap_version == "1.2")
    invalid = [p.name for p in cap12 if not validate_cap(p).valid]
    assert len(cap12) == 13 and invalid == ["sweden.cap"]  # senderName after headline
    assert not validate_cap(base / "invalid" / "invalid.cap").valid  # no <scope>
    ns = validate_cap(base / "invalid" / "invalid_xmlns.cap")
    assert ns.well_formed and ns.cap_version is None and not ns.valid
    assert validate_cap(base / "invalid" / "canada_errors.cap").valid  # XSD-valid
    assert not validate_cap(base / "invalid" / "pelmorex_bad_encoding.atom").well_formed
    asserts = json.loads((base / "expected" / "capparselib_asserts.json").read_text())
    for case in asserts["valid_files"] + asserts["valid_files_no_info"]:
        if case["cap_xml_type"] != "CAP1_2":
            continue
        got = validate_cap(base / "alerts" / Path(case["file"]).name)
        assert got.valid, case["file"]
        assert (got.fields["sent"], got.fields["sender"]) == (case["cap_sent"], case["cap_sender"])
