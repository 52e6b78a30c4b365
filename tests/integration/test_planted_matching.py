"""Practice matching on the sample region's planted hotspots, through the CLI and the
knowledge base (curated records seeded into a real SQLite database).

For each planted degradation type found as a hotspot, the top 3 recommendations must
include a practice that addresses that degradation (WOCAT types named here from the
type's story, not from the matcher's tables) on that land use, in the hotspot's
climate zone.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from typer.testing import CliRunner

from landwatch.cli import app
from landwatch.knowledge.practices import builtin_practices_path
from landwatch.workflows.ldn import run_ldn

ZONES = {9: "tropical_montane", 11: "tropical_moist", 12: "tropical_dry"}
LAND_USE = {1: "forest", 2: "grazing_land", 3: "cropland", 4: "wetland"}
# what a fitting practice addresses, per planted story
FITS = {
    "gradual_decline": ({"Bq", "Bc", "Cn"}, None),  # land use of the patch's class
    "abrupt_decline": ({"Bq", "Bc", "Cn"}, None),
    "deforestation": ({"Bc", "Bh"}, {"forest", "mixed", "cropland"}),
    "wetland_drainage": ({"Hw", "Hs"}, {"wetland"}),
    "urban_expansion": ({"Pi", "Pu"}, {"settlement"}),
    "cropland_abandonment": ({"Bq", "Bs", "Cn", "Bc"}, {"cropland", "mixed", "grazing_land"}),
}


def _read(p):
    with rasterio.open(p) as src:
        return src.read(1)


@pytest.fixture(scope="module")
def matched(sample_region, sample_run_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("match")
    ldn = run_ldn(sample_run_dir, tmp / "ldn")
    db = f"sqlite:///{tmp}/kb.sqlite"
    runner = CliRunner()
    r = runner.invoke(app, ["practices", "seed", "--db", db])
    assert r.exit_code == 0, r.output
    out = {}
    for period in ("report_1", "report_2"):
        n = len(ldn.tables[f"hotspots_{period}"])
        args = ["match", "--ldn-run", str(ldn.out_dir), "--period", period, "--top-hotspots",
                str(n), "--top", "3", "--db", db, "--out", str(tmp / f"m_{period}")]  # fmt: skip
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
        out[period] = json.loads((tmp / f"m_{period}" / "matches.json").read_text())
    return ldn, out


def test_match__top3_fits_each_planted_hotspot_type(sample_region, matched) -> None:
    ldn, out = matched
    d = sample_region.out_dir
    truth = json.loads((d / "truth.json").read_text())
    pid = _read(d / "truth_patches.tif")
    lc2000 = _read(d / "land_cover_2000.tif")
    ptype = {p["id"]: p["type"] for p in truth["patches"]}
    checked: set[str] = set()
    recs = {r["uuid"]: r for r in json.loads(builtin_practices_path().read_text())}
    for period, docs in out.items():
        labels = _read(ldn.out_dir / "maps" / period / "hotspots.tif")
        tab = ldn.tables[f"hotspots_{period}"].set_index("rank")
        for doc in docs:
            rank = int(doc["target"]["target"].split()[-1])
            patch = int(tab.loc[rank, "patch"])
            under = pid[labels == patch]
            top_pid = np.bincount(under).argmax()
            if top_pid == 0 or (under == top_pid).mean() < 0.5:
                continue  # not a planted patch (false alarms on stable ground)
            t = ptype[int(top_pid)]
            if t not in FITS:
                continue
            codes, uses = FITS[t]
            if uses is None:
                cls = np.bincount(lc2000[pid == top_pid]).argmax()
                uses = {LAND_USE[int(cls)], "mixed"}
            zone = ZONES[int(tab.loc[rank, "climate_zones"])]
            top3 = [m["uuid"] for m in doc["matches"]]
            fitting = [
                u for u in top3
                if codes & set(recs[u]["degradation_types"])
                and uses & set(recs[u]["land_use"])
                and zone in recs[u]["climate_zones"]
            ]  # fmt: skip
            assert fitting, (period, rank, t, zone, [recs[u]["name"] for u in top3])
            checked.add(t)
    # every planted degradation story appears as a hotspot in at least one period
    assert checked == set(FITS), set(FITS) - checked


def test_match__reasons_and_breakdown_are_reported(matched) -> None:
    _, out = matched
    doc = out["report_2"][0]
    assert doc["profile"]["climate_zone"] in ZONES.values()
    m = doc["matches"][0]
    assert set(m["components"]) == {"degradation", "land_use", "climate", "aridity", "response"}
    assert m["score"] == pytest.approx(
        0.35 * m["components"]["degradation"] + 0.2 * m["components"]["land_use"]
        + 0.2 * m["components"]["climate"] + 0.1 * m["components"]["aridity"]
        + 0.15 * m["components"]["response"], abs=1e-4)  # fmt: skip
    assert len(m["reasons"]) == 5
    df = pd.DataFrame([dict(x) for x in doc["matches"]])
    assert list(df["rank"]) == [1, 2, 3]
    assert (df["score"].diff().dropna() <= 1e-12).all()


def test_match_cli__errors(tmp_path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path}/kb.sqlite"
    r = runner.invoke(app, ["match", "--db", db])
    assert r.exit_code == 2 and "say what to match" in r.output
    r = runner.invoke(app, ["match", "--land-cover", "2", "--process", "productivity_decline",
                            "--climate-zone", "tropical_dry", "--db", db])  # fmt: skip
    assert r.exit_code == 2 and "practices seed" in r.output
    assert runner.invoke(app, ["practices", "seed", "--db", db]).exit_code == 0
    r = runner.invoke(app, ["match", "--ldn-run", str(tmp_path), "--db", db])
    assert r.exit_code == 2 and "landwatch ldn" in r.output and "Traceback" not in r.output


def test_match__polygon_profile_from_the_maps(sample_region, matched, tmp_path) -> None:
    """A polygon around a planted wetland-drainage patch is read from the maps as a
    wetland conversion and gets a wetland practice first."""
    import geopandas as gpd
    from shapely.geometry import box

    from landwatch.workflows.match import run_match

    ldn, _ = matched
    truth = json.loads((sample_region.out_dir / "truth.json").read_text())
    patch = next(p for p in truth["patches"] if p["type"] == "wetland_drainage")
    w, s, e, n = patch["bbox"]
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[box(w, s, e, n)], crs="EPSG:4326").to_file(area, driver="GeoJSON")
    recs = json.loads(builtin_practices_path().read_text())
    res = run_match(recs, ldn_run=ldn.out_dir, area=area, period="report_1", top=3)
    prof = res.profiles[0]
    assert (
        any(k.startswith("land_cover_4_") for k in prof.processes)
        or prof.land_cover.get(4, 0) > 0.5
    )
    top = res.matches[0][0].record
    assert "wetland" in top["land_use"], top["name"]
    away = tmp_path / "away.geojson"
    gpd.GeoDataFrame(geometry=[box(10, 10, 11, 11)], crs="EPSG:4326").to_file(
        away, driver="GeoJSON"
    )
    from landwatch.errors import InputError

    with pytest.raises(InputError, match="covers no land pixel"):
        run_match(recs, ldn_run=ldn.out_dir, area=away)
