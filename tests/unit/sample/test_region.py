"""Tests of the sample region generator (planted truth, files, determinism)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from scipy import stats

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA
from landwatch.sample import SampleRegion, create_sample_region

SIZE = 120
RES = 0.00225
TRANSFORM = Affine(RES, 0.0, 37.0, 0.0, -RES, -1.0)
RASTERS = [
    "land_cover_2000.tif",
    "land_cover_2015.tif",
    "land_cover_2019.tif",
    "land_cover_2023.tif",
    "soc_2000.tif",
    "climate_zones.tif",
    "soil_units.tif",
    "population.tif",
    "population_female.tif",
    "population_male.tif",
    "truth_patches.tif",
]


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> SampleRegion:
    return create_sample_region(tmp_path_factory.mktemp("sample"), size=SIZE, seed=0)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def _patch_mask(region: SampleRegion, ptype: str) -> np.ndarray:
    pid = _read(region.files["truth_patches"])
    return np.isin(pid, region.truth["patch_types"][ptype]["patch_ids"])


def _mann_kendall_sign(cube: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """-1/0/+1 significant trend per pixel (normal approximation, no ties)."""
    n = cube.shape[0]
    s = np.zeros(cube.shape[1:])
    for i in range(n - 1):
        s += np.sign(cube[i + 1 :] - cube[i]).sum(axis=0)
    z = (s - np.sign(s)) / np.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    return np.where(2 * stats.norm.sf(np.abs(z)) <= alpha, np.sign(s), 0)


def test_create_sample_region__writes_every_file(region: SampleRegion) -> None:
    names = set(RASTERS) | {
        "ndvi_annual.nc",
        "climate_monthly.nc",
        "precipitation_annual.nc",
        "admin.gpkg",
        "truth.json",
        "run.yaml",
        "README.txt",
    }
    assert names <= {p.name for p in region.out_dir.iterdir()}
    assert all(p.exists() for p in region.files.values())


@pytest.mark.parametrize("name", RASTERS)
def test_create_sample_region__rasters_are_georeferenced_cogs(
    region: SampleRegion, name: str
) -> None:
    with rasterio.open(region.out_dir / name) as src:
        assert src.crs.to_epsg() == 4326
        assert src.transform.almost_equals(TRANSFORM)
        assert (src.width, src.height) == (SIZE, SIZE)
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.nodata is not None


def test_create_sample_region__land_cover_codes_and_tags(region: SampleRegion) -> None:
    for year, path in region.land_cover.items():
        with rasterio.open(path) as src:
            a = src.read(1)
            assert src.dtypes[0] == "int16" and src.nodata == NODATA
            assert src.tags()["class_3"] == "Cropland"
        assert set(np.unique(a)) <= set(range(1, 8)), year
    lc = _read(region.land_cover[2000])
    assert {1, 2, 3, 4, 5, 6, 7} <= set(np.unique(lc))
    assert np.bincount(lc.ravel()).argmax() == 2  # grassland dominant


def test_create_sample_region__ndvi_cube(region: SampleRegion) -> None:
    with xr.open_dataset(region.ndvi, decode_coords="all") as ds:
        ndvi = ds["ndvi"]
        assert ndvi.dims == ("time", "y", "x")
        assert ndvi.dtype == np.float32
        assert np.issubdtype(ndvi["time"].dtype, np.datetime64)
        assert list(ndvi["time"].dt.year.values) == list(range(2000, 2024))
        assert ndvi.attrs["units"] == "1"
        assert ds.rio.crs.to_epsg() == 4326
        assert ds.rio.transform().almost_equals(TRANSFORM)
        values = ndvi.values
    assert np.isfinite(values).all()
    assert values.min() >= -0.1 and values.max() <= 0.95


def test_create_sample_region__climate(region: SampleRegion) -> None:
    with xr.open_dataset(region.files["climate"], decode_coords="all") as ds:
        assert {"pr", "tas", "tasmin", "tasmax"} <= set(ds.data_vars)
        assert ds.rio.crs.to_epsg() == 4326
        assert ds.sizes["time"] == 43 * 12
        assert ds.sizes["x"] == SIZE // 10
        assert ds.rio.transform().almost_equals(Affine(10 * RES, 0.0, 37.0, 0.0, -10 * RES, -1.0))
        pr = ds["pr"].load()
        tas = ds["tas"].load()
        assert (ds["tasmin"] <= tas).all() and (tas <= ds["tasmax"]).all()
    assert float(pr.min()) >= 0.0
    assert (pr == 0).any()  # rain-free dry-season months exist
    # bimodal: April and November wetter than July
    clim = pr.mean(("x", "y")).groupby("time.month").mean()
    assert clim.sel(month=4) > 10 * clim.sel(month=7)
    assert clim.sel(month=11) > 10 * clim.sel(month=7)
    # warming trend ~0.02 degC/yr
    annual = tas.mean(("x", "y")).groupby("time.year").mean()
    slope = np.polyfit(annual["year"], annual.values, 1)[0]
    assert 0.01 < slope < 0.03


def test_create_sample_region__planted_droughts_are_dry(region: SampleRegion) -> None:
    with xr.open_dataset(region.files["climate"], decode_coords="all") as ds:
        pr = ds["pr"].mean(("x", "y")).load()
    clim = pr.groupby("time.month").mean()
    for ep in region.truth["drought_episodes"]:
        months = np.array([f"{m}-01" for m in ep["months"]], dtype="datetime64[ns]")
        total = float(pr.sel(time=months).sum())
        expected = float(sum(clim.sel(month=int(m[5:])) for m in ep["months"]))
        assert total < 0.7 * expected, ep["id"]


def test_create_sample_region__admin_tiles_the_grid(region: SampleRegion) -> None:
    gdf = gpd.read_file(region.files["admin"], layer="admin1")
    assert gdf.crs.to_epsg() == 4326
    assert len(gdf) >= 3
    assert {"admin_id", "name", "level"} <= set(gdf.columns)
    assert gdf["admin_id"].is_unique and (gdf["level"] == 1).all()
    bbox_area = (SIZE * RES) ** 2
    union = gdf.geometry.union_all()
    assert abs(union.area - bbox_area) / bbox_area < 1e-9
    planar_area = gdf.geometry.values.area  # square degrees on purpose: exact tiling check
    assert abs(planar_area.sum() - bbox_area) / bbox_area < 1e-9  # no overlaps
    assert np.allclose(union.bounds, (37.0, -1.0 - SIZE * RES, 37.0 + SIZE * RES, -1.0))


def test_create_sample_region__truth_counts_match_raster(region: SampleRegion) -> None:
    truth = json.loads(region.truth_path.read_text())
    pid = _read(region.files["truth_patches"])
    counts = np.bincount(pid.ravel())
    assert len(truth["patches"]) == counts.size - 1
    for p in truth["patches"]:
        assert p["pixel_count"] == counts[p["id"]]
        r0, c0, r1, c1 = p["bbox_pixels"]
        assert (pid[r0:r1, c0:c1] == p["id"]).sum() == p["pixel_count"]
    for t in truth["patch_types"].values():
        assert t["pixel_count"] == sum(counts[i] for i in t["patch_ids"])
    share = (pid > 0).mean()
    assert 0.2 < share < 0.35
    lc = _read(region.land_cover[2000])
    assert not ((pid > 0) & (lc == 7)).any()  # no patch on water
    assert truth["stable_mask"]["pixel_count"] == int(((pid == 0) & (lc != 7)).sum())


def test_create_sample_region__truth_expectations(region: SampleRegion) -> None:
    types = region.truth["patch_types"]
    exp = {t: types[t]["expected"] for t in types}
    assert exp["gradual_decline"]["baseline"]["lpd5"] == 1
    assert exp["recovery"]["report_2"]["lpd5"] == 5
    assert exp["low_performance"]["baseline"]["lpd5"] == 3
    assert exp["drought_dip"]["report_1"]["expected_degraded"] is False
    assert exp["cropland_abandonment"]["report_2"]["land_cover"] == -1
    assert exp["cropland_abandonment"]["report_2"]["expected_degraded"] is True
    assert exp["afforestation"]["baseline"]["land_cover"] == 1
    for e in exp.values():
        for period in ("baseline", "report_1", "report_2"):
            assert e[period]["lpd5"] in e[period]["lpd5_acceptable"]


@pytest.mark.parametrize(
    ("ptype", "before_year", "after_year", "before", "after"),
    [
        ("deforestation", 2000, 2015, 1, 3),
        ("wetland_drainage", 2000, 2015, 4, 3),
        ("afforestation", 2000, 2015, 2, 1),
        ("urban_expansion", 2015, 2019, None, 5),
        ("cropland_abandonment", 2019, 2023, 3, 2),
    ],
)
def test_create_sample_region__transitions_change_class(
    region: SampleRegion,
    ptype: str,
    before_year: int,
    after_year: int,
    before: int | None,
    after: int,
) -> None:
    m = _patch_mask(region, ptype)
    assert m.any()
    a, b = _read(region.land_cover[before_year])[m], _read(region.land_cover[after_year])[m]
    if before is None:
        assert np.isin(a, [2, 3]).all()
    else:
        assert (a == before).all()
    assert (b == after).all()
    outside = _read(region.files["truth_patches"]) == 0
    for y in (2015, 2019, 2023):
        assert (
            _read(region.land_cover[y])[outside] == _read(region.land_cover[2000])[outside]
        ).all()


def test_create_sample_region__ndvi_follows_new_class(region: SampleRegion) -> None:
    with xr.open_dataset(region.ndvi, decode_coords="all") as ds:
        ndvi = ds["ndvi"].load()
    m = _patch_mask(region, "deforestation")
    series = ndvi.values[:, m].mean(axis=1)
    years = ndvi["time"].dt.year.values
    assert series[years < 2010].mean() > 0.55
    assert series[years >= 2010].mean() < 0.5
    m = _patch_mask(region, "drought_dip")
    dip = ndvi.values[:, m].mean(axis=1)
    others = ~np.isin(years, [2009, 2017])
    assert dip[np.isin(years, [2009, 2017])].max() < 0.85 * dip[others].mean()


def test_create_sample_region__planted_trends_are_detectable(region: SampleRegion) -> None:
    with xr.open_dataset(region.ndvi, decode_coords="all") as ds:
        ndvi = ds["ndvi"].load()
    years = ndvi["time"].dt.year.values
    pid = _read(region.files["truth_patches"])
    stable = (pid == 0) & (_read(region.land_cover[2000]) != 7)
    for start, end in ((2000, 2015), (2008, 2023)):
        cube = ndvi.values[(years >= start) & (years <= end)]
        sign = _mann_kendall_sign(cube)
        assert (sign[_patch_mask(region, "gradual_decline")] == -1).mean() >= 0.95
        assert (sign[_patch_mask(region, "recovery")] == 1).mean() >= 0.95
        assert (sign[stable] == -1).mean() <= 0.05
        # A drought dip must not read as a decline. (MK is rank based: a dip early in
        # the window nudges towards "increasing", e.g. 2009 in 2008-2023.)
        dip = sign[_patch_mask(region, "drought_dip")]
        assert (dip == -1).mean() <= 0.05
        assert (dip != 0).mean() <= 0.25


def test_create_sample_region__low_performance_against_peers(region: SampleRegion) -> None:
    with xr.open_dataset(region.ndvi, decode_coords="all") as ds:
        mean = ds["ndvi"].sel(time=slice("2000", "2015")).mean("time").values
    soil = _read(region.files["soil_units"])
    lc = _read(region.land_cover[2015])
    low = _patch_mask(region, "low_performance")
    ratios = []
    for unit in {(int(s), int(c)) for s, c in zip(soil[low], lc[low], strict=True)}:
        m = (soil == unit[0]) & (lc == unit[1])
        p90 = np.percentile(mean[m], 90)
        ratios.append(mean[m & low] / p90)
    assert np.median(np.concatenate(ratios)) < 0.5


def test_create_sample_region__other_layers(region: SampleRegion) -> None:
    lc = _read(region.land_cover[2000])
    soc = _read(region.files["soc"])
    assert np.isnan(soc[lc == 7]).all() and np.isfinite(soc[lc != 7]).all()
    assert soc[lc == 4].mean() > soc[lc == 1].mean() > soc[lc == 2].mean() > soc[lc == 6].mean()
    zones = _read(region.files["climate_zones"])
    assert set(np.unique(zones)) <= {9, 11, 12}
    assert np.bincount(zones.ravel()).argmax() == 12
    soil = _read(region.files["soil_units"])
    assert set(np.unique(soil[lc != 7])) == {1, 2, 3, 4}
    pop = _read(region.files["population"]).astype(np.float64)
    female = _read(region.files["population_female"]).astype(np.float64)
    male = _read(region.files["population_male"]).astype(np.float64)
    assert (pop >= 0).all() and (pop[lc == 7] == 0).all()
    assert np.allclose(female + male, pop, rtol=1e-5, atol=1e-4)
    assert pop[lc == 5].mean() > 10 * pop[lc == 2].mean()  # town dense, rural sparse


def test_create_sample_region__run_config_is_loadable(region: SampleRegion) -> None:
    config = pytest.importorskip("landwatch.workflows.config")
    cfg = config.load_config(region.config)
    assert set(cfg.land_cover) == {2000, 2015, 2019, 2023}
    assert cfg.path(cfg.ndvi).exists() and cfg.path(cfg.admin).exists()
    assert cfg.periods["report_2"].productivity == (2008, 2023)


def test_create_sample_region__same_seed_same_arrays(region: SampleRegion, tmp_path: Path) -> None:
    again = create_sample_region(tmp_path / "again", size=SIZE, seed=0)
    assert again.truth["checksums_sha256"] == region.truth["checksums_sha256"]
    with xr.open_dataset(region.ndvi, decode_coords="all") as a, xr.open_dataset(again.ndvi) as b:
        np.testing.assert_array_equal(a["ndvi"].values, b["ndvi"].values)
    for name in RASTERS:
        np.testing.assert_array_equal(_read(region.out_dir / name), _read(again.out_dir / name))


def test_create_sample_region__other_seed_other_arrays(
    region: SampleRegion, tmp_path: Path
) -> None:
    other = create_sample_region(tmp_path / "other", size=SIZE, seed=1)
    a, b = region.truth["checksums_sha256"], other.truth["checksums_sha256"]
    assert a["ndvi"] != b["ndvi"] and a["land_cover_2000"] != b["land_cover_2000"]
    assert a["pr"] != b["pr"]


def test_create_sample_region__size_and_progress(tmp_path: Path) -> None:
    calls: list[tuple[str, float]] = []
    small = create_sample_region(
        tmp_path, size=100, seed=2, progress=lambda s, f: calls.append((s, f))
    )
    assert _read(small.land_cover[2023]).shape == (100, 100)
    with xr.open_dataset(small.ndvi) as ds:
        assert (ds.sizes["y"], ds.sizes["x"]) == (100, 100)
    with xr.open_dataset(small.files["climate"]) as ds:
        assert (ds.sizes["y"], ds.sizes["x"]) == (10, 10)
    assert small.truth["grid"]["width"] == 100
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_create_sample_region__rejects_tiny_size(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="size: expected an integer of at least 60"):
        create_sample_region(tmp_path, size=20)
