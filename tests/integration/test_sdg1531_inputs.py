"""Input formats and options: NDVI from NetCDF, Zarr or a multi-band GeoTIFF give the same
answer; precomputed LPD, RESTREND and the CLI entry points work end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
import yaml

from landwatch.sample import create_sample_region
from landwatch.workflows.config import load_config
from landwatch.workflows.sdg1531 import run_sdg1531

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("inputs") / "region"
    create_sample_region(d, size=120, seed=5)
    return d


@pytest.fixture(scope="module")
def reference_run(region: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_sdg1531(
        load_config(region / "run.yaml"), tmp_path_factory.mktemp("ref") / "out"
    ).out_dir


def read(p: Path) -> np.ndarray:
    with rasterio.open(p) as src:
        return src.read(1)


def assert_same_maps(a: Path, b: Path) -> None:
    for period in ("baseline", "report_1", "report_2"):
        for name in ("trajectory", "state", "performance", "lpd5", "sdg"):
            np.testing.assert_array_equal(
                read(a / "maps" / period / f"{name}.tif"),
                read(b / "maps" / period / f"{name}.tif"),
                err_msg=f"{period} {name}",
            )


def test_inputs__ndvi_from_zarr(region: Path, reference_run: Path, tmp_path: Path) -> None:
    ds = xr.open_dataset(region / "ndvi_annual.nc", decode_coords="all").load()
    ds.to_zarr(tmp_path / "ndvi.zarr", mode="w")
    cfg = load_config(region / "run.yaml", ndvi=str(tmp_path / "ndvi.zarr"))
    assert_same_maps(reference_run, run_sdg1531(cfg, tmp_path / "out").out_dir)


def test_inputs__ndvi_from_multiband_geotiff(
    region: Path, reference_run: Path, tmp_path: Path
) -> None:
    ds = xr.open_dataset(region / "ndvi_annual.nc", decode_coords="all").load()
    nd = ds["ndvi"]
    years = nd["time"].dt.year.values.tolist()
    t = nd.rio.transform()
    profile = {
        "driver": "GTiff",
        "height": nd.sizes["y"],
        "width": nd.sizes["x"],
        "count": nd.sizes["time"],
        "dtype": "float32",
        "crs": nd.rio.crs,
        "transform": t,
        "nodata": np.nan,
    }
    with rasterio.open(tmp_path / "ndvi.tif", "w", **profile) as dst:
        dst.write(nd.values.astype(np.float32))
    # band years from the config
    cfg = load_config(
        region / "run.yaml", ndvi=str(tmp_path / "ndvi.tif"), ndvi_years=years, ndvi_variable=None
    )
    assert_same_maps(reference_run, run_sdg1531(cfg, tmp_path / "out").out_dir)
    # without years the error says how to fix it
    from landwatch.errors import InputError

    cfg = load_config(region / "run.yaml", ndvi=str(tmp_path / "ndvi.tif"), ndvi_variable=None)
    with pytest.raises(InputError, match=r"24 bands but their years are unknown"):
        run_sdg1531(cfg, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_inputs__precomputed_lpd_replaces_productivity(
    region: Path, reference_run: Path, tmp_path: Path
) -> None:
    # feed our own baseline LPD back as a "JRC-style" precomputed layer
    lpd = region / "lpd_baseline.tif"
    with rasterio.open(reference_run / "maps" / "baseline" / "lpd5.tif") as src:
        profile = src.profile
        data = src.read(1)
    profile.update(driver="GTiff", nodata=0)
    data = np.where(data == -32768, 0, data)  # JRC: 0 = no data
    with rasterio.open(lpd, "w", **profile) as dst:
        dst.write(data, 1)
    cfg = load_config(region / "run.yaml", lpd={"baseline": str(lpd)})
    out = run_sdg1531(cfg, tmp_path / "out").out_dir
    np.testing.assert_array_equal(
        read(out / "maps" / "baseline" / "sdg.tif"),
        read(reference_run / "maps" / "baseline" / "sdg.tif"),
    )
    assert not (out / "maps" / "baseline" / "trajectory.tif").exists()
    assert (out / "maps" / "report_1" / "trajectory.tif").exists()


def test_inputs__restrend_uses_precipitation(region: Path, tmp_path: Path) -> None:
    cfg = load_config(
        region / "run.yaml", productivity={"trajectory_method": "restrend"}, all_layers=True
    )
    out = run_sdg1531(cfg, tmp_path / "out").out_dir
    slope = read(out / "maps" / "baseline" / "trajectory_slope.tif")
    assert np.isfinite(slope).mean() > 0.9
    with rasterio.open(out / "maps" / "baseline" / "trajectory.tif") as src:
        assert src.tags()["layer"] == "trajectory"
    # RESTREND on NDVI without precipitation is a clear error
    raw = yaml.safe_load((region / "run.yaml").read_text())
    raw.pop("precipitation")
    raw.pop("precipitation_variable", None)
    raw["productivity"] = {"trajectory_method": "restrend"}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(raw))
    for key in ("ndvi", "soc", "climate_zones", "soil_units", "population", "admin"):
        raw[key] = str(region / raw[key])
    raw["land_cover"] = {y: str(region / p) for y, p in raw["land_cover"].items()}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(raw))
    from landwatch.errors import InputError

    with pytest.raises(InputError, match="needs precipitation"):
        run_sdg1531(load_config(tmp_path / "run.yaml"), tmp_path / "out2")


def test_cli__sample_create_and_help(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "landwatch.cli",
            "sample",
            "create",
            str(tmp_path / "r"),
            "--size",
            "60",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r" / "truth.json").exists() and (tmp_path / "r" / "run.yaml").exists()
    help_text = subprocess.run(
        [sys.executable, "-m", "landwatch.cli", "sdg1531", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "landwatch sdg1531 --config" in help_text and "--align" in help_text
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "landwatch.cli",
            "sdg1531",
            "--config",
            str(tmp_path / "r" / "run.yaml"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SDG 15.3.1" in proc.stdout and "add up to the territory" in proc.stdout


def test_inputs__esa_cci_legend_nested(region: Path, reference_run: Path, tmp_path: Path) -> None:
    to_esa = {1: 50, 2: 130, 3: 10, 4: 160, 5: 190, 6: 200, 7: 210}
    paths = {}
    for year in (2000, 2015, 2019, 2023):
        with rasterio.open(region / f"land_cover_{year}.tif") as src:
            profile = src.profile
            data = src.read(1)
        out = np.full(data.shape, -32768, dtype=np.int16)
        for k, v in to_esa.items():
            out[data == k] = v
        profile.update(driver="GTiff")
        p = tmp_path / f"esa_{year}.tif"
        with rasterio.open(p, "w", **profile) as dst:
            dst.write(out, 1)
        paths[year] = str(p)
    cfg = load_config(region / "run.yaml", land_cover=paths, land_cover_nesting="esa_cci")
    assert_same_maps(reference_run, run_sdg1531(cfg, tmp_path / "out").out_dir)
