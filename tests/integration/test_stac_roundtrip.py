"""Issue 9: a local STAC catalog of annual NDVI COGs as the input of SDG 15.3.1 gives the
same maps as the NetCDF cube; the run is published as a STAC catalog that validates
with pystac, is self-contained, and whose assets reload equal to the COGs."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import odc.stac
import pandas as pd
import pystac
import pytest
import rasterio

from landwatch.indices.land.timeaxis import years_of
from landwatch.io.rasters import open_raster, write_cog
from landwatch.io.stac import publish_stac, read_stac, validate_stac
from landwatch.sample import SampleRegion
from landwatch.workflows.config import load_config
from landwatch.workflows.sdg1531 import RunResult, run_sdg1531

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def ndvi_catalog(sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One COG per year of the sample region's NDVI cube, in a STAC Collection."""
    root = tmp_path_factory.mktemp("ndvi_stac")
    ndvi = open_raster(
        sample_region.out_dir / "ndvi_annual.nc", name="ndvi", variable="ndvi"
    ).load()
    bbox = list(ndvi.rio.bounds())
    geom = {
        "type": "Polygon",
        "coordinates": [
            [
                [bbox[0], bbox[1]],
                [bbox[2], bbox[1]],
                [bbox[2], bbox[3]],
                [bbox[0], bbox[3]],
                [bbox[0], bbox[1]],
            ]
        ],
    }
    years = years_of(ndvi)
    coll = pystac.Collection(
        id="ndvi-annual",
        description="annual NDVI of the sample region",
        extent=pystac.Extent(
            pystac.SpatialExtent([bbox]),
            pystac.TemporalExtent(
                [
                    [
                        dt.datetime(int(years[0]), 1, 1, tzinfo=dt.UTC),
                        dt.datetime(int(years[-1]), 12, 31, tzinfo=dt.UTC),
                    ]
                ]
            ),
        ),
        license="other",
    )
    for i, year in enumerate(years):
        cog = root / "cogs" / f"ndvi_{year}.tif"
        cog.parent.mkdir(exist_ok=True)
        write_cog(ndvi.isel(time=i), cog)
        item = pystac.Item(
            id=f"ndvi-{year}",
            geometry=geom,
            bbox=bbox,
            datetime=dt.datetime(int(year), 1, 1, tzinfo=dt.UTC),
            properties={},
        )
        item.add_asset("ndvi", pystac.Asset(href=str(cog), media_type=pystac.MediaType.COG))
        coll.add_item(item)
    coll.normalize_hrefs(str(root / "stac"))
    coll.make_all_asset_hrefs_relative()
    coll.save(pystac.CatalogType.SELF_CONTAINED)
    return root / "stac" / "collection.json"


@pytest.fixture(scope="module")
def stac_run(
    sample_region: SampleRegion, ndvi_catalog: Path, tmp_path_factory: pytest.TempPathFactory
) -> RunResult:
    cfg = load_config(sample_region.out_dir / "run.yaml", ndvi=str(ndvi_catalog))
    return run_sdg1531(cfg, tmp_path_factory.mktemp("stac_run") / "sdg1531")


def test_stac_input__sdg1531_maps_identical_to_the_netcdf_run(
    stac_run: RunResult, sample_run_dir: Path
) -> None:
    ref = sorted((sample_run_dir / "maps").rglob("*.tif"))
    got = sorted((stac_run.out_dir / "maps").rglob("*.tif"))
    assert [p.relative_to(sample_run_dir) for p in ref] == [
        p.relative_to(stac_run.out_dir) for p in got
    ]
    for a, b in zip(ref, got, strict=True):
        with rasterio.open(a) as ra, rasterio.open(b) as rb:
            assert ra.transform == rb.transform and ra.crs == rb.crs, a.name
            assert np.array_equal(ra.read(), rb.read(), equal_nan=True), a
    # areas: pixel centres derived from a COG's transform (as for any GeoTIFF input) differ
    # from the NetCDF's coordinates by one ulp, so km2 agree to 1e-12, not bit for bit
    for t in sorted((sample_run_dir / "tables").glob("*.csv")):
        pd.testing.assert_frame_equal(
            pd.read_csv(t), pd.read_csv(stac_run.out_dir / "tables" / t.name), rtol=1e-12
        )


def test_stac_output__publish_validate_move_and_reload(stac_run: RunResult, tmp_path: Path) -> None:
    catalog = publish_stac(stac_run.out_dir, tmp_path / "published", title="Sample region")
    report = validate_stac(catalog)
    assert report.ok, report.errors
    assert report.self_contained
    ids = {it["id"] for it in report.items}
    assert {"sdg1531-baseline", "sdg1531-report_1", "sdg1531-report_2", "sdg1531-2000"} <= ids
    n_cogs = len(list((stac_run.out_dir / "maps").rglob("*.tif")))
    assert report.files_checked > n_cogs  # every COG, the manifest, summary and tables

    # self-contained: the copied folder opens and validates with the original gone
    moved = tmp_path / "moved" / "catalog_copy"
    shutil.copytree(tmp_path / "published", moved)
    shutil.rmtree(tmp_path / "published")
    moved_report = validate_stac(moved / "catalog.json")
    assert moved_report.ok, moved_report.errors
    cat = pystac.Catalog.from_file(str(moved / "catalog.json"))

    # provenance: the manifest is an asset of the collection, with its checksum
    coll = next(iter(cat.get_children()))
    manifest = coll.assets["manifest"]
    assert Path(manifest.get_absolute_href()).is_file()

    # reload assets: with landwatch's reader and with odc-stac from the STAC metadata alone
    sdg = read_stac(moved / "catalog.json", "sdg", name="sdg")
    assert sdg.sizes["time"] == 3
    for i, period in enumerate(("baseline", "report_1", "report_2")):
        with rasterio.open(stac_run.out_dir / "maps" / period / "sdg.tif") as src:
            np.testing.assert_array_equal(sdg.isel(time=i).values, src.read(1))
    items = [it for it in cat.get_items(recursive=True) if "soc" in it.assets]
    ds = odc.stac.load(items, bands=["soc"], chunks={})  # grid from proj:* fields
    with rasterio.open(stac_run.out_dir / "maps" / "soc" / "soc_2000.tif") as src:
        first = ds["soc"].sortby("time").isel(time=0).values
        np.testing.assert_array_equal(first, src.read(1))
        assert ds.odc.geobox.affine == src.transform
