"""UNCCD SO3 on the sample region: planted droughts appear in the hazard tables, people
are all accounted for, events are catalogued, the CLI works and fails cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from landwatch.sample import SampleRegion
from landwatch.workflows.so3 import So3Result, run_so3

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def so3(sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory) -> So3Result:
    d = sample_region.out_dir
    # a small DVI: two indicators derived from the sample's own layers
    with rasterio.open(d / "population.tif") as src:
        profile, pop = src.profile, src.read(1)
    with rasterio.open(d / "soc_2000.tif") as src:
        soc = src.read(1)
    ind = tmp_path_factory.mktemp("dvi")
    for name, arr in (
        ("density", np.nan_to_num(pop)),
        ("soil_carbon", np.nan_to_num(soc, nan=0.0)),
    ):
        profile.update(driver="GTiff", dtype="float32", nodata=None)
        with rasterio.open(ind / f"{name}.tif", "w", **profile) as dst:
            dst.write(arr.astype(np.float32), 1)
    vuln = {
        "indicators": {
            "density": str(ind / "density.tif"),
            "soil_carbon": str(ind / "soil_carbon.tif"),
        },
        "groups": {"social": ["density"], "economic": ["soil_carbon"]},
        "directions": {"density": 1, "soil_carbon": -1},
    }
    return run_so3(
        d / "climate_monthly.nc",
        tmp_path_factory.mktemp("so3") / "out",
        population=d / "population.tif",
        population_female=d / "population_female.tif",
        population_male=d / "population_male.tif",
        admin=d / "admin.gpkg",
        admin_layer="admin1",
        vulnerability=vuln,
    )


def test_so3__planted_drought_years_in_hazard(so3: So3Result, sample_region: SampleRegion) -> None:
    """December SPI-12 of the planted drought years 2000, 2009 and 2017 puts >= 40 % of
    the land in moderate or worse drought (measured 47-81 %); years without any planted
    drought month average < 15 % (measured about 9 %)."""
    h = so3.tables["so3_1_hazard"]
    all_ = h[h.zone == "ALL"]
    severe = all_[all_.class_code >= 2].groupby("year").percent.sum()
    for year in (2000, 2009, 2017):
        assert severe[year] >= 40, (year, severe[year])
    drought_years = {
        int(m[:4]) for ep in sample_region.truth["drought_episodes"] for m in ep["months"]
    }
    quiet = [y for y in severe.index if y not in drought_years and y >= 1982]
    assert len(quiet) >= 20 and severe[quiet].mean() < 15
    assert h["check"].all()


def test_so3__exposure_accounts_for_everyone(so3: So3Result, sample_region: SampleRegion) -> None:
    e = so3.tables["so3_2_exposure"]
    total = sample_region.truth["population_total"]
    for year, g in e[(e.zone == "ALL") & (e.sex == "total")].groupby("year"):
        assert g.population.sum() == pytest.approx(total, rel=1e-4), year
    f = e[(e.zone == "ALL") & (e.sex == "female")].population.sum()
    m = e[(e.zone == "ALL") & (e.sex == "male")].population.sum()
    t = e[(e.zone == "ALL") & (e.sex == "total")].population.sum()
    assert f + m == pytest.approx(t, rel=1e-4)


def test_so3__vulnerability_and_periods(so3: So3Result) -> None:
    v = so3.tables["so3_3_vulnerability"]
    assert set(v.zone) >= {"ALL"} and len(v) >= 5  # four admin units + ALL
    assert v.dvi_mean.between(0, 1).all() and v.dvi_mean.std() > 0
    assert (v.n_cells > 0).all()
    p = so3.tables["so3_1_periods"]
    assert {"baseline", "report_1", "report_2"} <= set(p.period)
    base = p[p.period == "baseline"]
    assert (base.change_pp == 0).all()


def test_so3__events_catalogued(so3: So3Result, sample_region: SampleRegion) -> None:
    regional = so3.tables["drought_events_regional"]
    # the planted 2016-17 drought is a regional event in every admin unit
    for zone, g in regional.groupby("zone"):
        hit = g[(g.onset <= "2017-06-01") & (g.end >= "2017-06-01")]
        assert len(hit) == 1, zone
    geo = json.loads((so3.out_dir / "drought_events_cells.geojson").read_text())
    assert len(geo["features"]) == len(so3.tables["drought_events_cells"]) > 100
    assert {"onset", "end", "severity", "peak"} <= set(geo["features"][0]["properties"])
    assert (so3.out_dir / "tables" / "tables.xlsx").exists() and (
        so3.out_dir / "hazard_classes.nc"
    ).exists()


def test_so3__cli_runs_and_fails_cleanly(sample_region: SampleRegion, tmp_path: Path) -> None:
    d = sample_region.out_dir
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "landwatch.cli",
            "drought",
            "so3",
            str(d / "climate_monthly.nc"),
            "--population",
            str(d / "population.tif"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "landwatch.cli",
            "drought",
            "so3",
            str(d / "climate_monthly.nc"),
            "--population",
            str(d / "nope.tif"),
            "--out",
            str(tmp_path / "bad"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "population" in proc.stderr
    assert not (tmp_path / "bad").exists()
    (tmp_path / "v.yaml").write_text(
        yaml.safe_dump(
            {"indicators": {"a": "missing.tif"}, "groups": {"g": ["a"]}, "directions": {"a": 1}}
        )
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "landwatch.cli",
            "drought",
            "so3",
            str(d / "climate_monthly.nc"),
            "--population",
            str(d / "population.tif"),
            "--out",
            str(tmp_path / "bad2"),
            "--vulnerability",
            str(tmp_path / "v.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not (tmp_path / "bad2").exists()
