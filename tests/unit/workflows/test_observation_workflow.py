"""Observation workflows: round trips, all-or-nothing import, photos, checks against a
small synthetic run, correction files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS
from sqlalchemy import func, select

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA
from landwatch.io.rasters import write_cog_array
from landwatch.store import init_db, session_scope
from landwatch.store.observations import Observation
from landwatch.workflows import observations as wf

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, Any]:
    return {"url": f"sqlite:///{tmp_path / 'obs.db'}", "data_dir": tmp_path / "data"}


def base(**kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "lon": 37.0125,
        "lat": -1.0125,
        "observed_on": "2021-04-02",
        "observer_role": "farmer",
        "category": "vegetation_state",
        "land_state": "degraded",
    }
    d.update(kw)
    return d


def count(url: str) -> int:
    with session_scope(init_db(url)) as s:
        return int(s.scalar(select(func.count(Observation.id))) or 0)


def populate(env: dict[str, Any], tmp_path: Path) -> list[str]:
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(JPEG)
    a = wf.add_observation(
        base(
            description='Grass gone; "bare" soil,\nsecond line',
            language="sw-KE",
            lik_indicator_name="early flowering of Acacia",
            admin_id="A",
            source="form",
            area_wkt="POLYGON ((37.01 -1.01, 37.015 -1.01, 37.015 -1.015, 37.01 -1.015, 37.01 -1.01))",
        ),
        photo=photo,
        **env,
    )
    b = wf.add_observation(
        base(category="crop_failure", land_state=None, impact_severity="severe", lon=37.0375),
        **env,
    )
    wf.set_validation(a.uuid, "confirmed", by="officer Wanjiru", note="visited", url=env["url"])
    return [a.uuid, b.uuid]


@pytest.mark.parametrize("suffix", [".csv", ".geojson"])
def test_export_import__round_trip(env: dict[str, Any], tmp_path: Path, suffix: str) -> None:
    uids = populate(env, tmp_path)
    first = tmp_path / "out" / f"obs{suffix}"
    res = wf.export_observations(first, **env)
    assert (res.count, res.photos) == (2, 1)
    assert (tmp_path / "out" / "obs_photos").is_dir()

    env2 = {"url": f"sqlite:///{tmp_path / 'other.db'}", "data_dir": tmp_path / "data2"}
    imp = wf.import_observations(first, **env2)
    assert imp.inserted == uids and imp.skipped == []
    second = tmp_path / "again" / f"obs{suffix}"
    wf.export_observations(second, **env2)
    assert second.read_text() == first.read_text()
    # the photo was copied into the second data directory, intact
    with session_scope(init_db(env2["url"])) as s:
        obs = s.scalar(select(Observation).where(Observation.uuid == uids[0]))
        assert obs is not None and obs.photo_path is not None
        assert (env2["data_dir"] / obs.photo_path).read_bytes() == JPEG
        assert obs.validation_status == "confirmed" and obs.validated_by == "officer Wanjiru"
    # importing again: an error, or a skip when asked
    with pytest.raises(InputError, match="already in the database. Pass --skip-existing"):
        wf.import_observations(first, **env2)
    again = wf.import_observations(first, on_duplicate="skip", **env2)
    assert again.inserted == [] and again.skipped == uids


def _csv(
    path: Path,
    rows: list[str],
    header: str = "lon,lat,observed_on,observer_role,category,land_state,photo",
) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_import_observations__all_or_nothing(env: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(JPEG)
    good = "37.1,-1.2,2021-01-01,farmer,vegetation_state,stable,p.jpg"
    cases = {
        "lat": (
            "37.1,-91,2021-01-01,farmer,vegetation_state,stable,",
            r"row 2, column lat: -91 is outside",
        ),
        "date": (
            "37.1,-1.2,2999-01-01,farmer,vegetation_state,stable,",
            r"row 2, column observed_on: 2999-01-01 is in the future",
        ),
        "category": (
            "37.1,-1.2,2021-01-01,farmer,locust,,",
            r"row 2, column category: 'locust' is not one of",
        ),
        "photo": (
            "37.1,-1.2,2021-01-01,farmer,vegetation_state,stable,missing.jpg",
            r"row 2, column photo: file .*missing.jpg' does not exist",
        ),
    }
    for name, (bad, pattern) in cases.items():
        p = _csv(tmp_path / f"{name}.csv", [good, bad, good.replace("37.1", "37.3")])
        with pytest.raises(InputError, match=pattern + r".*Nothing was imported"):
            wf.import_observations(p, **env)
        assert count(env["url"]) == 0
        assert not (env["data_dir"]).exists() or not list(env["data_dir"].rglob("*.jpg"))
    unknown = _csv(
        tmp_path / "unknown.csv",
        [good],
        header="lon,lat,observed_on,observer_role,category,land_state,colour",
    )
    with pytest.raises(InputError, match=r"unknown column 'colour'"):
        wf.import_observations(unknown, **env)
    same = _csv(
        tmp_path / "same.csv",
        ["0f8fad5b-d9cb-469f-a165-70867728950e," + good] * 2,
        header="uuid,lon,lat,observed_on,observer_role,category,land_state,photo",
    )
    with pytest.raises(InputError, match=r"row 2, column uuid: .* repeats row 1"):
        wf.import_observations(same, **env)
    assert count(env["url"]) == 0
    ok = wf.import_observations(_csv(tmp_path / "ok.csv", [good]), **env)
    assert len(ok.inserted) == 1
    with session_scope(init_db(env["url"])) as s:
        assert s.scalar(select(Observation.source)) == "import ok.csv"


def test_import_observations__photo_checksum_and_type(env: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(JPEG)
    (tmp_path / "doc.jpg").write_bytes(b"%PDF-1.4 ...")
    header = "lon,lat,observed_on,observer_role,category,land_state,photo,photo_sha256"
    wrong = _csv(
        tmp_path / "w.csv",
        ["37.1,-1.2,2021-01-01,farmer,vegetation_state,stable,p.jpg," + "0" * 64],
        header,
    )
    with pytest.raises(
        InputError, match=r"row 1, column photo_sha256: does not match the file p.jpg"
    ):
        wf.import_observations(wrong, **env)
    pdf = _csv(
        tmp_path / "pdf.csv",
        ["37.1,-1.2,2021-01-01,farmer,vegetation_state,stable,doc.jpg,"],
        header,
    )
    with pytest.raises(InputError, match=r"row 1, column photo: doc.jpg is a PDF document"):
        wf.import_observations(pdf, **env)


def test_add_observation__photo_rules(env: dict[str, Any], tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(JPEG + bytes(5000))
    with pytest.raises(InputError, match="the limit is"):
        wf.add_observation(base(), photo=big, photo_max_bytes=1000, **env)
    with pytest.raises(InputError, match="photo_sha256: set by the photo file"):
        wf.add_observation(base(photo_sha256="0" * 64), **env)
    with pytest.raises(
        InputError, match="lat: "
    ):  # the record is checked before the photo is copied
        wf.add_observation(base(lat=200), photo=big, **env)
    assert not env["data_dir"].exists()
    assert count(env["url"]) == 0


# --------------------------------------------------------------------------- checks


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    """A run folder: 4 x 4 px maps at 0.0025 deg from (37, -1), two admin halves.

    sdg report_2 (rows top to bottom)     sdg baseline: all stable (0)
        -1 -1  0  0
        -1 -1  0  0
         1  1  0  N      (N = nodata)
         1  1  0  0
    """
    d = tmp_path / "run"
    wkt = CRS("EPSG:4326").to_wkt()
    tr = (0.0025, 0.0, 37.0, 0.0, -0.0025, -1.0)
    rep = np.array([[-1, -1, 0, 0], [-1, -1, 0, 0], [1, 1, 0, NODATA], [1, 1, 0, 0]], np.int16)
    for period, arr in (("baseline", np.zeros((4, 4), np.int16)), ("report_2", rep)):
        (d / "maps" / period).mkdir(parents=True)
        write_cog_array(
            arr, d / "maps" / period / "sdg.tif", crs_wkt=wkt, transform=tr, nodata=NODATA
        )
        lpd5 = np.where(arr == -1, 1, np.where(arr == 1, 5, 4)).astype(np.int16)
        write_cog_array(
            lpd5, d / "maps" / period / "lpd5.tif", crs_wkt=wkt, transform=tr, nodata=NODATA
        )
    admin = gpd.GeoDataFrame(
        {"code": ["W", "E"]},
        geometry=[shapely.box(37.0, -1.01, 37.005, -1.0), shapely.box(37.005, -1.01, 37.01, -1.0)],
        crs=4326,
    )
    admin.to_file(tmp_path / "admin.gpkg", layer="units", driver="GPKG")
    (d / "summary.json").write_text(
        json.dumps(
            {
                "baseline": "baseline",
                "periods": {
                    "baseline": {"productivity": [2000, 2015]},
                    "report_2": {"productivity": [2008, 2023]},
                },
            }
        )
    )
    (d / "manifest.json").write_text(
        json.dumps(
            {
                "inputs": {"admin": {"path": str(tmp_path / "admin.gpkg")}},
                "parameters": {"admin_layer": "units", "admin_id_field": "code"},
            }
        )
    )
    return d


def px(col: int, row: int) -> dict[str, float]:
    """Centre of pixel (col, row) of the run fixture."""
    return {"lon": 37.0 + 0.0025 * (col + 0.5), "lat": -1.0 - 0.0025 * (row + 0.5)}


def test_check_observations__flags_contradictions(env: dict[str, Any], run_dir: Path) -> None:
    add = lambda **kw: wf.add_observation(base(**kw), **env).uuid  # noqa: E731
    fn = add(**px(2, 0), land_state="degraded")  # map stable -> false negative
    fp = add(**px(0, 0), land_state="stable")  # map degraded -> false positive
    ok = add(**px(0, 3), land_state="improved")  # map improved
    imp_vs_stable = add(**px(2, 2), land_state="improved")  # not degraded either way
    crop = add(**px(1, 1), category="crop_failure", land_state=None)
    nod = add(**px(3, 2), land_state="degraded")
    out = add(lon=36.5, lat=-1.0, land_state="degraded")
    old = add(**px(0, 0), land_state="degraded", observed_on="2005-06-01")  # baseline: stable
    summary = wf.check_observations(run_dir, url=env["url"])
    flags = {r["uuid"]: r["flag"] for r in summary.results}
    assert flags == {
        fn: "possible_false_negative",
        fp: "possible_false_positive",
        ok: "consistent",
        imp_vs_stable: "consistent",
        crop: "not_comparable",
        nod: "no_data",
        out: "outside_map",
        old: "possible_false_negative",
    }
    assert summary.counts["possible_false_negative"] == 2
    assert summary.admin_assigned == 7  # all but the one outside the admin units
    rows = {o.uuid: o for o in wf.list_observations(url=env["url"])}
    assert (rows[fn].map_flag, rows[fn].map_value, rows[fn].map_layer) == (
        "possible_false_negative",
        0,
        "report_2/sdg",
    )
    assert rows[old].map_layer == "baseline/sdg"
    assert (rows[fn].admin_id, rows[fp].admin_id, rows[out].admin_id) == ("E", "W", None)
    assert rows[fn].map_run == str(run_dir.resolve())
    # LPD: 5 classes read as 3
    lpd = wf.check_observations(run_dir, url=env["url"], layer="lpd5", period="report_2")
    assert {r["uuid"]: r["flag"] for r in lpd.results}[fp] == "possible_false_positive"
    with pytest.raises(InputError, match="period: 'report_9' is not in the run"):
        wf.check_observations(run_dir, url=env["url"], period="report_9")
    with pytest.raises(InputError, match="layer: 'ndvi'"):
        wf.check_observations(run_dir, url=env["url"], layer="ndvi")


def test_write_corrections__confirmed_contradictions_only(
    env: dict[str, Any], run_dir: Path, tmp_path: Path
) -> None:
    a = wf.add_observation(base(**px(2, 0), land_state="degraded"), **env).uuid
    b = wf.add_observation(base(**px(0, 0), land_state="stable"), **env).uuid
    wf.add_observation(base(**px(0, 3), land_state="improved"), **env)
    with pytest.raises(InputError, match="no confirmed observation contradicts the map"):
        wf.write_corrections(tmp_path / "c.geojson", url=env["url"])
    wf.check_observations(run_dir, url=env["url"])
    for uid in (a, b):
        wf.set_validation(uid, "confirmed", by="officer", url=env["url"])
    res = wf.write_corrections(tmp_path / "c.geojson", url=env["url"], radius_m=200)
    assert res.used == [a, b] and res.periods == ["report_2"]
    doc = json.loads((tmp_path / "c.geojson").read_text())
    got = {f["properties"]["uuid"]: f["properties"] for f in doc["features"]}
    assert got[a]["recode_stable_to"] == -1 and got[b]["recode_deg_to"] == 0
    assert not (tmp_path / "c.geojson.partial").exists()


def test_check_observations__uses_the_uncorrected_map(env: dict[str, Any], run_dir: Path) -> None:
    """After a corrected run the check still compares with the map's own evidence."""
    wkt = CRS("EPSG:4326").to_wkt()
    tr = (0.0025, 0.0, 37.0, 0.0, -0.0025, -1.0)
    corrected = run_dir / "maps" / "report_2" / "sdg.tif"
    (run_dir / "maps" / "report_2" / "sdg.tif").rename(
        run_dir / "maps" / "report_2" / "sdg_uncorrected.tif"
    )
    write_cog_array(
        np.full((4, 4), -1, np.int16), corrected, crs_wkt=wkt, transform=tr, nodata=NODATA
    )
    uid = wf.add_observation(base(**px(2, 0), land_state="degraded"), **env).uuid
    summary = wf.check_observations(run_dir, url=env["url"])
    assert summary.results[0]["uuid"] == uid
    assert summary.results[0]["flag"] == "possible_false_negative"
    assert summary.results[0]["map_layer"] == "report_2/sdg_uncorrected"


def test_export_observations__filters(env: dict[str, Any], tmp_path: Path) -> None:
    uids = populate(env, tmp_path)
    res = wf.export_observations(tmp_path / "c.csv", status="confirmed", **env)
    assert res.count == 1
    assert (
        uids[0] in (tmp_path / "c.csv").read_text()
        and uids[1] not in (tmp_path / "c.csv").read_text()
    )
    res = wf.export_observations(tmp_path / "d.geojson", since=dt.date(2030, 1, 1), **env)
    assert res.count == 0 and json.loads((tmp_path / "d.geojson").read_text())["features"] == []
