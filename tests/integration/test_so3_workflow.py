"""UNCCD SO3 on the sample region: planted droughts appear in the hazard tables, people
on land are all accounted for and water never counts, the most-severe-class maps per
period are valid COGs that match the yearly classes, events are catalogued, the CLI works
and fails cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
import yaml
from rio_cogeo.cogeo import cog_validate

from landwatch.indices.land.area import pixel_area_km2
from landwatch.indices.land.codes import LC_WATER, NODATA
from landwatch.sample import SampleRegion
from landwatch.workflows.so3 import So3Result, run_so3

#: a planted lake of the explicit water mask, on populated land (rows, cols)
LAKE = (slice(150, 190), slice(40, 120))

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
    lake = np.zeros(pop.shape, dtype=np.uint8)
    lake[LAKE] = 1
    profile.update(dtype="uint8", nodata=255)
    with rasterio.open(ind / "lake.tif", "w", **profile) as dst:
        dst.write(lake, 1)
    return run_so3(
        d / "climate_monthly.nc",
        tmp_path_factory.mktemp("so3") / "out",
        population=d / "population.tif",
        population_female=d / "population_female.tif",
        population_male=d / "population_male.tif",
        admin=d / "admin.gpkg",
        admin_layer="admin1",
        vulnerability=vuln,
        land_cover=d / "land_cover_2000.tif",
        water_mask=ind / "lake.tif",
    )


@pytest.fixture(scope="module")
def water(sample_region: SampleRegion) -> np.ndarray:
    """Water as planted: land cover 2000 class 7 or the lake of the water mask."""
    with rasterio.open(sample_region.out_dir / "land_cover_2000.tif") as src:
        wet = src.read(1) == LC_WATER
    wet[LAKE] = True
    return wet


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


def test_so3__exposure_accounts_for_everyone(
    so3: So3Result, sample_region: SampleRegion, water: np.ndarray
) -> None:
    """Everyone on land is counted once a year; the people planted under the lake are not."""
    e = so3.tables["so3_2_exposure"]
    with rasterio.open(sample_region.out_dir / "population.tif") as src:
        pop = np.nan_to_num(src.read(1).astype(np.float64))
    on_water = pop[water].sum()
    assert on_water > 0.01 * pop.sum()  # the lake is on populated land (1.1 %)
    total = sample_region.truth["population_total"] - on_water
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


def test_so3__water_never_counts_and_land_reconciles(
    so3: So3Result, sample_region: SampleRegion, water: np.ndarray
) -> None:
    """Hazard and exposure tables leave out water (land cover class 7 and the water mask);
    territory = land + water, land = the SO3-1 denominator, per admin unit and overall."""
    with rasterio.open(sample_region.out_dir / "population.tif") as src:
        res_x, res_y = src.res
        ys = src.xy(np.arange(src.height), np.zeros(src.height))[1]
        crs = src.crs
    area = np.broadcast_to(
        pixel_area_km2(np.asarray(ys), res_x, res_y, crs.to_wkt()).values[:, None], water.shape
    )
    land = so3.tables["so3_land_area"].set_index("zone")
    assert land["check"].all()
    assert land.loc["ALL", "territory_km2"] == pytest.approx(area.sum(), rel=1e-9)
    assert land.loc["ALL", "water_km2"] == pytest.approx(area[water].sum(), rel=1e-9)
    assert land.loc["ALL", "land_km2"] == pytest.approx(area[~water].sum(), rel=1e-9)
    units = land.drop(index="ALL")
    assert units["land_km2"].sum() == pytest.approx(land.loc["ALL", "land_km2"], rel=1e-9)
    h = so3.tables["so3_1_hazard"]
    per_zone = h.groupby(["year", "zone"]).area_km2.sum().unstack("zone")
    for zone in land.index:  # classes + no data = land (never territory) every year
        np.testing.assert_allclose(per_zone[zone], land.loc[zone, "land_km2"], rtol=1e-9)
    assert (h.percent.dropna() <= 100 + 1e-9).all() and (h.drought_percent <= 100 + 1e-9).all()
    # water cells are no data in the hazard class cube
    ds = xr.open_dataset(so3.out_dir / "hazard_classes.nc", mask_and_scale=False)
    cube = ds["drought_hazard_class"].values
    assert (cube[:, water] == NODATA).all() and (cube[:, ~water] != NODATA).mean() > 0.99
    # GDAL places the cube where the population grid is (CF coordinate attributes)
    with rasterio.open(f"netcdf:{so3.out_dir / 'hazard_classes.nc'}:drought_hazard_class") as src, \
            rasterio.open(so3.out_dir / "maps" / "water_mask.tif") as ref:  # fmt: skip
        assert src.crs == ref.crs
        assert np.allclose(tuple(src.transform)[:6], tuple(ref.transform)[:6])
    with rasterio.open(so3.out_dir / "maps" / "water_mask.tif") as src:
        np.testing.assert_array_equal(src.read(1) == 1, water)
    manifest = json.loads((so3.out_dir / "manifest.json").read_text())
    assert "land cover classes [7]" in manifest["parameters"]["water"]


def test_so3__any_drought_columns(so3: So3Result) -> None:
    h = so3.tables["so3_1_hazard"]
    g = h[h.class_code.between(1, 4)].groupby(["year", "zone"])
    np.testing.assert_allclose(g.percent.sum(), g.drought_percent.first(), rtol=1e-12)
    t = so3.tables["so3_1_drought_totals"].set_index(["year", "zone"]).sort_index()
    np.testing.assert_allclose(t.drought_area_km2, g.area_km2.sum().sort_index(), rtol=1e-12)
    e = so3.tables["so3_2_exposure"]
    ge = e[e.class_code.between(1, 4)].groupby(["year", "sex", "zone"])
    np.testing.assert_allclose(ge.population.sum(), ge.drought_population.first(), rtol=1e-12)
    te = so3.tables["so3_2_drought_totals"]
    assert len(te) == ge.ngroups and {"drought_population", "drought_percent"} <= set(te.columns)


def test_so3__most_severe_maps_per_period(so3: So3Result, water: np.ndarray) -> None:
    """One COG per PRAIS 4-year period; each cell holds the most severe class of the
    period's years; the area tables are the areas of the maps; the planted 2016-17
    drought makes 2016-2019 the period with the most land in drought."""
    ds = xr.open_dataset(so3.out_dir / "hazard_classes.nc", mask_and_scale=False)
    cube = ds["drought_hazard_class"]
    ms = so3.tables["so3_1_most_severe"]
    periods = ["2000-2003", "2004-2007", "2008-2011", "2012-2015", "2016-2019", "2020-2023"]
    assert list(ms.period.unique()) == periods
    for period in periods:
        a, b = (int(v) for v in period.split("-"))
        path = so3.out_dir / "maps" / f"most_severe_{period}.tif"
        ok, errors, _ = cog_validate(str(path))
        assert ok, errors
        with rasterio.open(path) as src:
            m = src.read(1)
            tags = src.tags()
            assert src.nodata == NODATA and src.crs.to_epsg() == 4326
        names = json.loads(tags["class_names"])
        assert names["4"] == "Extreme drought" and names["0"] == "Non-drought"
        assert (tags["period"], tags["first_year"], tags["n_years"]) == (period, str(a), "4")
        years = cube.sel(year=slice(a, b)).values
        want = np.where(years == NODATA, -1, years).max(axis=0)
        want = np.where(want < 0, NODATA, want)
        np.testing.assert_array_equal(m, want)
        assert (m[water] == NODATA).all()
        g = ms[(ms.period == period) & (ms.zone == "ALL")]
        assert g.check.all() and g.area_km2.sum() == pytest.approx(g.land_area_km2.iloc[0])
        yearly = so3.tables["so3_1_drought_totals"]
        yearly = yearly[(yearly.zone == "ALL") & yearly.year.between(a, b)]
        assert g.drought_percent.iloc[0] >= yearly.drought_percent.max() - 1e-9
    share = (
        ms[ms.zone == "ALL"]
        .groupby("period")
        .apply(lambda g: g[g.class_code >= 2].percent.sum(), include_groups=False)
    )
    assert share.idxmax() in ("2016-2019", "2008-2011") and share["2016-2019"] >= 60, share
    pop = so3.tables["so3_2_most_severe"]
    tot = pop[(pop.zone == "ALL") & (pop.sex == "total")].groupby("period").population.sum()
    first = so3.tables["so3_2_exposure"]
    first = first[(first.zone == "ALL") & (first.sex == "total") & (first.year == 2000)]
    np.testing.assert_allclose(tot, first.population.sum(), rtol=1e-9)
    assert isinstance(pop, pd.DataFrame) and list(pop.columns[:5]) == [
        "period",
        "start",
        "end",
        "n_years",
        "sex",
    ]


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
            "--land-cover",
            str(d / "land_cover_2000.tif"),
            "--map-periods",
            "2000-2015,2016-2019,2020-2023",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    maps = sorted(p.name for p in (tmp_path / "o" / "maps").glob("most_severe_*.tif"))
    assert maps == [f"most_severe_{p}.tif" for p in ("2000-2015", "2016-2019", "2020-2023")]
    land = pd.read_csv(tmp_path / "o" / "tables" / "so3_land_area.csv").set_index("zone")
    assert land.loc["ALL", "water_km2"] > 0 and land["check"].all()
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
            str(tmp_path / "bad0"),
            "--map-periods",
            "2016",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2 and "--map-periods" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "bad0").exists()
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
