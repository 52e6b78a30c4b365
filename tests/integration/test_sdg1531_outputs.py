"""The output folder of a run: COGs with metadata, tables that add up, manifest, dask parity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from landwatch.io.outputs import sha256_of
from landwatch.sample import SampleRegion
from landwatch.workflows.config import load_config
from landwatch.workflows.sdg1531 import run_sdg1531

PERIODS = ("baseline", "report_1", "report_2")


def test_outputs__cogs_valid_with_metadata(sample_run_dir: Path) -> None:
    for period in PERIODS:
        for name in (
            "trajectory",
            "state",
            "performance",
            "lpd5",
            "land_cover_degradation",
            "soc_degradation",
            "sdg",
        ):
            p = sample_run_dir / "maps" / period / f"{name}.tif"
            ok, errors, _ = cog_validate(str(p))
            assert ok, (p, errors)
            with rasterio.open(p) as src:
                assert src.crs.to_epsg() == 4326
                assert src.nodata == -32768
                tags = src.tags()
                assert json.loads(tags["class_names"])
                assert tags["period"] == period and "landwatch" in tags["history"]
    for period in PERIODS[1:]:
        with rasterio.open(sample_run_dir / "maps" / period / "status7.tif") as src:
            names = json.loads(src.tags()["class_names"])
            assert names["1"] == "Persistent degradation" and names["7"] == "Persistent improvement"


def test_outputs__areas_reconcile_with_territory(sample_run, sample_region: SampleRegion) -> None:
    checks = sample_run.tables["area_checks"]
    assert len(checks) > 50 and checks["ok"].all()
    # the territory is the union of admin units = whole grid here; compare with an
    # independent geodesic computation of the bounding box area on WGS84
    from pyproj import Geod

    g = sample_region.truth["grid"]
    west, south, east, north = g["bounds"] if "bounds" in g else (None,) * 4
    if west is None:
        with rasterio.open(sample_region.out_dir / "land_cover_2000.tif") as src:
            west, south, east, north = src.bounds
    # densify the parallels: a 4-vertex polygon would have geodesic edges
    xs = np.linspace(west, east, 2001)
    lons = np.concatenate([xs, xs[::-1]])
    lats = np.concatenate([np.full(xs.size, south), np.full(xs.size, north)])
    area_m2, _ = Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)
    assert sample_run.summary["territory_km2"] == pytest.approx(abs(area_m2) / 1e6, rel=1e-6)
    areas = sample_run.tables["areas_by_class"]
    for (period, admin, ind), g2 in areas.groupby(["period", "admin_id", "indicator"]):
        chk = checks[
            (checks.period == period) & (checks.admin_id == admin) & (checks.indicator == ind)
        ]
        assert g2.area_km2.sum() + chk.water_km2.iloc[0] == pytest.approx(
            chk.territory_km2.iloc[0], rel=1e-9
        )
    # admin units add up to the territory
    sdg = areas[(areas.indicator == "sdg") & (areas.period == "baseline")]
    total = sdg[sdg.admin_id == "ALL"].area_km2.sum()
    assert sdg[sdg.admin_id != "ALL"].area_km2.sum() == pytest.approx(total, rel=1e-9)


def test_outputs__summary_matches_rasters(sample_run, sample_run_dir: Path) -> None:
    """Degraded km2 in the table = sum of pixel areas of degraded pixels in the COG."""
    from landwatch.indices.land.area import pixel_area_km2

    with rasterio.open(sample_run_dir / "maps" / "baseline" / "sdg.tif") as src:
        sdg = src.read(1)
        t = src.transform
        ys = t.f + t.e * (np.arange(src.height) + 0.5)
        cell = np.asarray(pixel_area_km2(ys, abs(t.a), abs(t.e), src.crs))
    degraded = float((np.broadcast_to(cell[:, None], sdg.shape) * (sdg == -1)).sum())
    row = (
        sample_run.tables["sdg_summary"].query("period == 'baseline' and admin_id == 'ALL'").iloc[0]
    )
    assert row.degraded_km2 == pytest.approx(degraded, rel=1e-9)
    assert 0 < row.sdg_15_3_1_percent < 100


def test_outputs__tables_files_and_manifest(
    sample_run_dir: Path, sample_region: SampleRegion
) -> None:
    tables = sample_run_dir / "tables"
    for name in (
        "sdg_summary",
        "areas_by_class",
        "lc_change_baseline",
        "status_crosstab_report_1",
        "lpd_by_land_cover_baseline",
        "soc_stock_by_land_cover",
        "area_checks",
    ):
        assert (tables / f"{name}.csv").exists(), name
    sheets = pd.ExcelFile(tables / "tables.xlsx").sheet_names
    assert "sdg_summary" in sheets and "lc_change_baseline" in sheets
    js = json.loads((tables / "tables.json").read_text())
    assert js["sdg_summary"][0]["period"] == "baseline"
    manifest = json.loads((sample_run_dir / "manifest.json").read_text())
    assert manifest["version"] and manifest["parameters"]["productivity"]["significance"] == 0.05
    ndvi = manifest["inputs"]["ndvi"]
    assert ndvi["sha256"] == sha256_of(sample_region.out_dir / "ndvi_annual.nc")
    for rel in manifest["outputs"]:
        assert (sample_run_dir / rel).exists(), rel
    assert (sample_run_dir / "sdg1531_map.png").stat().st_size > 10_000
    for year in (2000, 2015, 2019, 2023):
        assert (sample_run_dir / "maps" / "land_cover" / f"land_cover_{year}.tif").exists()
        assert (sample_run_dir / "maps" / "soc" / f"soc_{year}.tif").exists()
    assert not (sample_run_dir / "maps" / "baseline" / "trajectory_slope.tif").exists()


def test_outputs__lc_change_matrix_sums_to_land_cover_areas(sample_run) -> None:
    mat = sample_run.tables["lc_change_baseline"].set_index("2000 \\ 2015")
    lca = sample_run.tables["land_cover_areas"]
    a2000 = lca[lca.year == 2000].set_index("land_cover").area_km2
    for cls, row_sum in mat.sum(axis=1).items():
        assert row_sum == pytest.approx(a2000[cls], rel=1e-9, abs=1e-9)


def test_sdg1531__dask_chunks_equal_numpy(
    sample_region: SampleRegion, sample_run_dir: Path, tmp_path: Path
) -> None:
    cfg = load_config(sample_region.out_dir / "run.yaml", chunks=128)
    out = run_sdg1531(cfg, tmp_path / "chunked")
    for period in PERIODS:
        for name in ("trajectory", "state", "performance", "lpd5", "sdg", "soc_degradation"):
            a = rasterio.open(sample_run_dir / "maps" / period / f"{name}.tif").read(1)
            b = rasterio.open(out.out_dir / "maps" / period / f"{name}.tif").read(1)
            np.testing.assert_array_equal(a, b, err_msg=f"{period} {name}")


def test_sdg1531__corrections_override_and_are_recorded(
    sample_region: SampleRegion, sample_run_dir: Path, tmp_path: Path
) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    with rasterio.open(sample_run_dir / "maps" / "baseline" / "sdg.tif") as src:
        sdg = src.read(1)
        b = src.bounds
    # a box over the top-left quarter: recode degraded -> stable in the baseline only
    poly = box(b.left, (b.top + b.bottom) / 2, (b.left + b.right) / 2, b.top)
    gdf = gpd.GeoDataFrame(
        {
            "location_name": ["field-checked drought recovery"],
            "process_driving_change": ["drought"],
            "basis_for_judgement": ["field visit"],
            "recode_deg_to": [0],
            "recode_stable_to": [None],
            "recode_imp_to": [None],
            "periods_affected": ["baseline"],
        },
        geometry=[poly],
        crs=4326,
    )
    gdf.to_file(tmp_path / "corr.geojson")
    cfg = load_config(
        sample_region.out_dir / "run.yaml", corrections=str(tmp_path / "corr.geojson")
    )
    out = run_sdg1531(cfg, tmp_path / "corrected")
    new = rasterio.open(out.out_dir / "maps" / "baseline" / "sdg.tif").read(1)
    assert (out.out_dir / "maps" / "baseline" / "sdg_uncorrected.tif").exists()
    raw = rasterio.open(out.out_dir / "maps" / "baseline" / "sdg_uncorrected.tif").read(1)
    np.testing.assert_array_equal(raw, sdg)
    h, w = sdg.shape
    quarter = np.zeros_like(sdg, dtype=bool)
    quarter[: h // 2, : w // 2] = True
    assert (sdg[quarter] == -1).any()
    assert not (new[quarter] == -1).any()
    np.testing.assert_array_equal(new[~quarter], sdg[~quarter])
    r1 = rasterio.open(out.out_dir / "maps" / "report_1" / "sdg.tif").read(1)
    np.testing.assert_array_equal(
        r1, rasterio.open(sample_run_dir / "maps" / "report_1" / "sdg.tif").read(1)
    )
    assert "corrections" in out.tables and out.tables["corrections"].iloc[0]["recode_deg_to"] == 0
    assert (
        out.summary["sdg_summary"][0]["degraded_km2"]
        < json.loads((sample_run_dir / "summary.json").read_text())["sdg_summary"][0][
            "degraded_km2"
        ]
    )
