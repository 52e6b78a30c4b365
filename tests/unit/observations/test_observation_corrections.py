"""Confirmed contradictions as Trends.Earth-style correction polygons."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import shapely
from pyproj import Geod

from landwatch.errors import InputError
from landwatch.io.observations import write_feature_collection
from landwatch.io.vectors import read_vector
from landwatch.observations.corrections import (
    area_km2,
    build_corrections,
    circle,
    correction_recode,
)
from landwatch.store.observations import Observation


def make(**kw: Any) -> Observation:
    base: dict[str, Any] = {
        "id": None,
        "uuid": str(uuid.uuid4()),
        "lon": 37.2,
        "lat": -1.4,
        "area_wkt": None,
        "observed_on": dt.date(2023, 5, 1),
        "observer_role": "farmer",
        "category": "vegetation_state",
        "land_state": "degraded",
        "description": "grass gone, bare soil",
        "lik_indicator": False,
        "lik_indicator_name": None,
        "admin_id": None,
        "validation_status": "confirmed",
        "validated_by": "officer",
        "validated_at": dt.datetime(2023, 6, 1, tzinfo=dt.UTC),
        "map_flag": "possible_false_negative",
        "map_value": 0,
        "map_layer": "report_2/sdg",
        "created_at": dt.datetime(2023, 5, 2, tzinfo=dt.UTC),
    }
    base.update(kw)
    return Observation(**base)


@pytest.mark.parametrize("lat", [0.0, -1.4, 60.0])
def test_circle__geodesic_radius(lat: float) -> None:
    ring = circle(37.2, lat, 500.0)
    geod = Geod(ellps="WGS84")
    xs, ys = ring.exterior.coords.xy
    dists = [geod.inv(37.2, lat, x, y)[2] for x, y in zip(xs, ys, strict=True)]
    assert max(abs(d - 500.0) for d in dists) < 0.5
    assert area_km2(ring) == pytest.approx(3.14159 * 0.25, rel=0.01)


def test_correction_recode__only_the_contradicting_class() -> None:
    assert correction_recode("degraded") == (None, -1, -1)
    assert correction_recode("stable") == (0, None, None)
    assert correction_recode("improved") == (1, None, None)


def test_build_corrections__fields_and_skips() -> None:
    fn = make()
    fp = make(
        land_state="stable",
        map_flag="possible_false_positive",
        map_value=-1,
        lon=37.3,
        lik_indicator=True,
        lik_indicator_name="return of the red-oat grass",
        area_wkt="POLYGON ((37.29 -1.39, 37.31 -1.39, 37.31 -1.41, 37.29 -1.41, 37.29 -1.39))",
    )
    skipped = [
        make(validation_status="submitted"),
        make(map_flag="consistent"),
        make(map_flag=None, map_layer=None),
    ]
    cs = build_corrections([fp, *skipped, fn], radius_m=300)
    assert cs.used == [fp.uuid, fn.uuid]  # same date: input order
    reasons = dict(cs.skipped)
    assert reasons[skipped[0].uuid] == "not confirmed (status submitted)"
    assert reasons[skipped[1].uuid] == "does not contradict the map (consistent)"
    assert "not checked" in reasons[skipped[2].uuid]
    props = {f["properties"]["uuid"]: f["properties"] for f in cs.features}
    p = props[fn.uuid]
    assert (p["recode_deg_to"], p["recode_stable_to"], p["recode_imp_to"]) == (None, -1, -1)
    assert p["type"] == "false negative" and p["periods_affected"] == "report_2"
    assert p["area_km_sq"] == pytest.approx(3.14159 * 0.09, rel=0.01)
    assert (
        fn.uuid in p["basis_for_judgement"] and "confirmed by officer" in p["basis_for_judgement"]
    )
    q = props[fp.uuid]
    assert (q["recode_deg_to"], q["recode_stable_to"], q["recode_imp_to"]) == (0, None, None)
    assert q["type"] == "false positive" and q["radius_m"] is None
    assert "red-oat grass" in q["basis_for_judgement"]
    assert q["area_km_sq"] == pytest.approx(area_km2(shapely.from_wkt(fp.area_wkt)))


def test_build_corrections__overlaps_and_periods(tmp_path: Path) -> None:
    old = make(observed_on=dt.date(2022, 1, 1))
    new = make(
        observed_on=dt.date(2023, 1, 1),
        land_state="improved",
        map_flag="possible_false_positive",
        map_value=-1,
        lon=37.2001,
    )
    cs = build_corrections([new, old], periods=["report_1", "report_2"])
    assert cs.used == [old.uuid, new.uuid]  # later features win when rasterised
    assert cs.overlaps == [(old.uuid, new.uuid)]
    assert {f["properties"]["periods_affected"] for f in cs.features} == {"report_1,report_2"}
    # the file reads back with the fields the SDG 15.3.1 corrections input expects
    path = write_feature_collection(cs.features, tmp_path / "c.geojson")
    gdf = read_vector(path, name="corrections")
    assert gdf.crs.to_epsg() == 4326
    assert {"recode_deg_to", "recode_stable_to", "recode_imp_to", "periods_affected"} <= set(
        gdf.columns
    )
    assert json.loads(path.read_text())["name"] == "c"


def test_build_corrections__radius_limits() -> None:
    with pytest.raises(InputError, match="radius_m: 0 m"):
        build_corrections([make()], radius_m=0)
    with pytest.raises(InputError, match="at most 5000 m"):
        build_corrections([make()], radius_m=6000)
