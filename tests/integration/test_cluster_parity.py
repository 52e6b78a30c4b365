"""Every raster workflow on a 2-worker Dask LocalCluster gives exactly the in-memory
result (issue 9): SDG 15.3.1, SPI/SPEI/PET, SO3, CDI and the drought alerts on the
sample region, each run chunked on the cluster and with plain numpy, compared value
for value (maps incl. nodata, tables, NetCDF variables). One cluster for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from typer.testing import CliRunner

from landwatch.cli import app
from landwatch.sample import SampleRegion, create_sample_region
from landwatch.workflows.cdi import run_cdi
from landwatch.workflows.cluster import compute_on
from landwatch.workflows.config import load_config
from landwatch.workflows.drought import run_drought_indices, run_index
from landwatch.workflows.sdg1531 import RunResult, run_sdg1531
from landwatch.workflows.so3 import run_so3
from landwatch.workflows.warning import run_alerts

pytestmark = pytest.mark.filterwarnings("ignore:The specified chunks separate:UserWarning")


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A 2-worker LocalCluster (processes, one thread each), as ``--cluster local:2``."""
    lines: list[str] = []
    with compute_on(cluster="local:2", memory_limit="2GiB", progress=lines.append) as client:
        assert "local Dask cluster of 2 worker processes, 2.00 GiB each" in lines[0]
        yield client


@pytest.fixture(scope="module")
def small_region(tmp_path_factory: pytest.TempPathFactory) -> SampleRegion:
    """A 120 x 120 px sample region (12 x 12 climate cells) for the workflows whose
    output writing, not computing, dominates on the 400 px region (SO3, alerts)."""
    return create_sample_region(tmp_path_factory.mktemp("small") / "region", size=120, seed=0)


def _same_rasters(a: Path, b: Path) -> None:
    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        assert ra.nodata == rb.nodata or (np.isnan(ra.nodata) and np.isnan(rb.nodata)), a
        assert ra.dtypes == rb.dtypes and ra.transform == rb.transform and ra.crs == rb.crs, a
        assert np.array_equal(ra.read(), rb.read(), equal_nan=True), a


def _same_folders(a: Path, b: Path, pattern: str) -> int:
    files = sorted(p.relative_to(a) for p in a.rglob(pattern))
    assert files == sorted(p.relative_to(b) for p in b.rglob(pattern))
    for f in files:
        _same_rasters(a / f, b / f)
    return len(files)


def _same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k], check_exact=True, obj=k)


def _same_datasets(a: Path, b: Path) -> None:
    with xr.open_dataset(a) as da, xr.open_dataset(b) as db:
        assert sorted(da.data_vars) == sorted(db.data_vars)
        for k in da.data_vars:
            assert da[k].dtype == db[k].dtype, k
            assert np.array_equal(da[k].values, db[k].values, equal_nan=True), k


def test_sdg1531__cluster_equals_numpy(
    dask_client: Any, sample_region: SampleRegion, sample_run: RunResult, tmp_path: Path
) -> None:
    cfg = load_config(sample_region.out_dir / "run.yaml", chunks=128)  # 4 x 4 chunks
    assert dask_client is not None
    got = run_sdg1531(cfg, tmp_path / "sdg1531")
    n = _same_folders(sample_run.out_dir / "maps", got.out_dir / "maps", "*.tif")
    assert n >= 20
    _same_tables(sample_run.tables, got.tables)
    assert got.summary["sdg_summary"] == sample_run.summary["sdg_summary"]


def test_drought_indices__cluster_and_zarr_scratch_equal_numpy(
    dask_client: Any, sample_region: SampleRegion, tmp_path: Path
) -> None:
    climate = sample_region.out_dir / "climate_monthly.nc"
    kw: dict[str, Any] = {"scales": (3, 12), "indices": ("spi", "spei")}
    ref = run_drought_indices(climate, tmp_path / "numpy.nc", **kw)
    got = run_drought_indices(climate, tmp_path / "cluster.nc", chunks=16, **kw)
    _same_datasets(ref, got)
    # a Zarr input chunked by time, larger than a (tiny) memory budget: rechunked to
    # whole series through a scratch Zarr store in the work dir, removed at the end
    with xr.open_dataset(climate, decode_coords="all") as ds:
        ds.drop_encoding().chunk({"time": 24}).to_zarr(tmp_path / "by_time.zarr", mode="w")
    work = tmp_path / "work"
    got = run_drought_indices(
        tmp_path / "by_time.zarr",
        tmp_path / "zarr.nc",
        chunks=16,
        memory_budget=1024,
        work_dir=work,
        **kw,
    )
    _same_datasets(ref, got)
    assert work.is_dir() and not list(work.iterdir())


def test_single_spi_cog__cluster_equals_numpy(
    dask_client: Any, sample_region: SampleRegion, tmp_path: Path
) -> None:
    climate = sample_region.out_dir / "climate_monthly.nc"
    ref = run_index("spi", climate, tmp_path / "numpy.tif", scale=12)
    got = run_index("spi", climate, tmp_path / "cluster.tif", scale=12, chunks=16)
    _same_rasters(ref, got)


def test_so3__cluster_equals_numpy(
    dask_client: Any, small_region: SampleRegion, tmp_path: Path
) -> None:
    d = small_region.out_dir
    kw: dict[str, Any] = {
        "population": d / "population.tif",
        "admin": d / "admin.gpkg",
        "admin_layer": "admin1",
        "land_cover": d / "land_cover_2000.tif",
    }
    ref = run_so3(d / "climate_monthly.nc", tmp_path / "numpy", **kw)
    got = run_so3(d / "climate_monthly.nc", tmp_path / "cluster", chunks=6, memory_budget=1, **kw)
    _same_tables(ref.tables, got.tables)
    assert _same_folders(ref.out_dir / "maps", got.out_dir / "maps", "*.tif") >= 6
    _same_datasets(ref.out_dir / "hazard_classes.nc", got.out_dir / "hazard_classes.nc")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".landwatch-scratch")]


def test_cdi_and_alerts__cluster_equal_numpy(
    dask_client: Any, small_region: SampleRegion, tmp_path: Path
) -> None:
    d = small_region.out_dir
    kw: dict[str, Any] = {"ndvi": d / "ndvi_monthly.nc", "land_cover": None}
    ref = run_cdi(d / "climate_monthly.nc", tmp_path / "cdi_numpy", **kw)
    got = run_cdi(d / "climate_monthly.nc", tmp_path / "cdi_cluster", chunks=6, **kw)
    _same_datasets(ref / "cdi.nc", got / "cdi.nc")
    pd.testing.assert_frame_equal(
        pd.read_csv(ref / "cdi_area_fraction.csv"), pd.read_csv(got / "cdi_area_fraction.csv")
    )
    # alerts for the last two years, each run with its own database
    with xr.open_dataset(ref / "cdi.nc", decode_coords="all") as ds:
        ds[["cdi"]].isel(time=slice(-24, None)).to_netcdf(tmp_path / "cdi_24.nc")
    results = {}
    for name, chunks in (("numpy", None), ("cluster", 6)):
        results[name] = run_alerts(
            tmp_path / "cdi_24.nc",
            tmp_path / f"alerts_{name}",
            admin=d / "admin.gpkg",
            admin_layer="admin1",
            land_cover=d / "land_cover_2015.tif",
            population=d / "population.tif",
            align=True,
            database_url=f"sqlite:///{tmp_path / name}.db",
            sent=pd.Timestamp("2024-01-15T00:00:00Z").to_pydatetime(),
            chunks=chunks,
        )
    a, b = results["numpy"], results["cluster"]
    pd.testing.assert_frame_equal(a.situation, b.situation, check_exact=True)
    for table in ("unit_months.csv", "alerts.csv", "alert_messages.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(a.out_dir / "tables" / table), pd.read_csv(b.out_dir / "tables" / table)
        )


def test_cli__scheduler_and_cluster_end_to_end(
    dask_client: Any, sample_region: SampleRegion, tmp_path: Path
) -> None:
    """`--cluster local:2` (its own cluster) and `--scheduler` (this module's) from the CLI."""
    climate = sample_region.out_dir / "climate_monthly.nc"
    ref = run_index("spi", climate, tmp_path / "numpy.tif", scale=3)
    runner = CliRunner()
    for name, opts in (
        ("local", ["--cluster", "local:2", "--memory-limit", "1GB"]),
        ("remote", ["--scheduler", dask_client.scheduler.address]),
    ):
        out = tmp_path / f"{name}.tif"
        res = runner.invoke(
            app, ["drought", "spi", str(climate), "--scale", "3", "--out", str(out), *opts]
        )
        assert res.exit_code == 0, res.output
        assert "computing on" in res.output
        _same_rasters(ref, out)
