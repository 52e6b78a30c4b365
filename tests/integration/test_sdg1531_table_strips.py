"""Area tables are summed a strip of rows at a time (bounded memory in chunked runs):
several strips give the tables of one strip (up to rounding), chunked and in-memory
runs sum the same strips (equal tables), and admin units rasterised strip by strip
are the full-grid rasterisation."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from shapely.geometry import Polygon

from landwatch.io.vectors import rasterize_ids
from landwatch.sample import SampleRegion, create_sample_region
from landwatch.workflows import sdg1531 as wf
from landwatch.workflows.config import load_config

pytestmark = pytest.mark.filterwarnings("ignore:The specified chunks separate:UserWarning")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> SampleRegion:
    return create_sample_region(tmp_path_factory.mktemp("strips") / "region", size=120, seed=3)


def _tables(region: SampleRegion, out: Path, chunks: int | None) -> dict[str, pd.DataFrame]:
    cfg = load_config(region.out_dir / "run.yaml", chunks=chunks)
    return wf.run_sdg1531(cfg, out).tables


def test_tables__strips_equal_one_strip_and_chunked_equals_numpy(
    region: SampleRegion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _tables(region, tmp_path / "one", None)  # 120 rows: a single strip
    monkeypatch.setattr(wf, "TABLE_STRIP_ROWS", 37)  # 4 strips, the last one short
    numpy = _tables(region, tmp_path / "numpy", None)
    chunked = _tables(region, tmp_path / "chunked", 64)
    assert sorted(one) == sorted(numpy) == sorted(chunked)
    assert "population_by_sdg_class" in one and "soc_stock_by_land_cover" in one
    for k in one:
        pd.testing.assert_frame_equal(numpy[k], chunked[k], check_exact=True, obj=k)
        pd.testing.assert_frame_equal(one[k], numpy[k], check_exact=False, rtol=1e-12, obj=k)


@pytest.mark.parametrize("rows", [1, 7, 64, 1000])
def test_zone_grid__strips_equal_full_rasterisation(rows: int) -> None:
    rng = np.random.default_rng(rows)
    ny, nx, res = 150, 130, 0.00225
    y = 12.0 - res * (np.arange(ny) + 0.5)
    x = 20.0 + res * (np.arange(nx) + 0.5)
    like = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"), coords={"y": y, "x": x})
    like = like.rio.write_crs(4326)
    polys = []
    for _ in range(12):  # random overlapping quadrilaterals, some partly off the grid
        cx, cy = 20.0 + rng.uniform(-0.05, 0.35), 12.0 - rng.uniform(-0.05, 0.4)
        pts = [
            (cx + r * np.cos(a), cy + r * np.sin(a))
            for a, r in zip(
                np.sort(rng.uniform(0, 2 * np.pi, 4)), rng.uniform(0.02, 0.15, 4), strict=True
            )
        ]
        polys.append(Polygon(pts))
    polys.append(Polygon([(30, 30), (31, 30), (31, 31)]))  # off the grid
    gdf = gpd.GeoDataFrame({"id": range(len(polys))}, geometry=polys, crs=4326)
    full = rasterize_ids(gdf, like)
    grid = wf.ZoneGrid.from_frame(gdf, like)
    assert grid.n == len(polys)
    strips = [grid.rows(r0, min(ny, r0 + rows)) for r0 in range(0, ny, rows)]
    got = np.concatenate(strips)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, full)
    assert (full > 0).any()
