"""Bad input gives one clear line, exit code 2, no traceback, and nothing half-written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
import yaml

from landwatch.sample import create_sample_region

LANDWATCH = [sys.executable, "-m", "landwatch.cli"]


@pytest.fixture(scope="module")
def small_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("small") / "region"
    create_sample_region(d, size=100, seed=3)
    return d


@pytest.fixture()
def region(small_region: Path, tmp_path: Path) -> Path:
    d = tmp_path / "region"
    shutil.copytree(small_region, d)
    return d


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LANDWATCH, *args], capture_output=True, text=True, timeout=600)


def assert_clean_failure(proc: subprocess.CompletedProcess[str], out: Path, pattern: str) -> None:
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert "error:" in proc.stderr
    import re

    assert re.search(pattern, proc.stderr.replace("\n", " ")), proc.stderr
    assert not out.exists(), "output folder must not exist after a failure"
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert not leftovers, leftovers


def _rewrite_tif(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    with rasterio.open(path) as src:
        profile = src.profile
        data = src.read(1)
    profile.update(driver="GTiff")
    data, profile = fn(data, profile)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def test_sdg1531_cli__missing_file(region: Path) -> None:
    cfg = yaml.safe_load((region / "run.yaml").read_text())
    cfg["soc"] = "no_such_soc.tif"
    (region / "run.yaml").write_text(yaml.safe_dump(cfg))
    out = region / "out"
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out))
    assert_clean_failure(proc, out, r"soc: file .*no_such_soc.tif.* does not exist")


def test_sdg1531_cli__missing_config(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("sdg1531", "--config", str(tmp_path / "nope.yaml"), "--out", str(out))
    assert_clean_failure(proc, out, r"config: file .* does not exist")


def test_sdg1531_cli__wrong_crs(region: Path) -> None:
    from rasterio.crs import CRS

    def to_utm(data, profile):  # type: ignore[no-untyped-def]
        profile.update(crs=CRS.from_epsg(32737))
        return data, profile

    _rewrite_tif(region / "soc_2000.tif", to_utm)
    out = region / "out"
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out))
    assert_clean_failure(proc, out, r"soc is in EPSG:32737, but ndvi is in EPSG:4326.*--align")


def test_sdg1531_cli__misaligned_grid_then_align(region: Path) -> None:
    from affine import Affine

    def shift(data, profile):  # type: ignore[no-untyped-def]
        t = profile["transform"]
        profile.update(transform=Affine(t.a, t.b, t.c + t.a * 0.5, t.d, t.e, t.f))
        return data, profile

    _rewrite_tif(region / "soc_2000.tif", shift)
    out = region / "out"
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out))
    assert_clean_failure(proc, out, r"soc grid .* does not align with ndvi")
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out), "--align")
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.json").exists()


def test_sdg1531_cli__ndvi_scaled_by_10000(region: Path) -> None:
    ds = xr.open_dataset(region / "ndvi_annual.nc", decode_coords="all").load()
    ds["ndvi"] = ds["ndvi"] * 10000
    ds.close()
    (region / "ndvi_annual.nc").unlink()
    ds.to_netcdf(region / "ndvi_annual.nc")
    out = region / "out"
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out))
    assert_clean_failure(proc, out, r"ndvi looks scaled .*[Dd]ivide (it )?by 10000")


def test_sdg1531_cli__too_few_years(region: Path) -> None:
    ds = xr.open_dataset(region / "ndvi_annual.nc", decode_coords="all").load()
    ds = ds.isel(time=slice(-7, None))
    (region / "ndvi_annual.nc").unlink()
    ds.to_netcdf(region / "ndvi_annual.nc")
    out = region / "out"
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out))
    assert_clean_failure(proc, out, r"ndvi has years 2017-2023 \(7 years\).*Pass a longer series")


def test_sdg1531_cli__all_nodata(region: Path) -> None:
    ds = xr.open_dataset(region / "ndvi_annual.nc", decode_coords="all").load()
    ds["ndvi"] = ds["ndvi"] * np.nan
    (region / "ndvi_annual.nc").unlink()
    ds.to_netcdf(region / "ndvi_annual.nc")
    out = region / "out"
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out))
    assert_clean_failure(proc, out, r"ndvi: .* holds no valid values")


def test_sdg1531_cli__wrong_class_codes(region: Path) -> None:
    def bad_codes(data, profile):  # type: ignore[no-untyped-def]
        data = data.copy()
        data[:5, :5] = 42
        return data, profile

    _rewrite_tif(region / "land_cover_2015.tif", bad_codes)
    out = region / "out"
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out))
    assert_clean_failure(proc, out, r"42")


def test_sdg1531_cli__existing_output_kept(region: Path) -> None:
    out = region / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    proc = run_cli("sdg1531", "--config", str(region / "run.yaml"), "--out", str(out))
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    assert (out / "keep.txt").read_text() == "x"


def test_sdg1531_cli__debug_shows_traceback(region: Path) -> None:
    cfg = yaml.safe_load((region / "run.yaml").read_text())
    cfg["soc"] = "missing.tif"
    (region / "run.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_cli(
        "--debug", "sdg1531", "--config", str(region / "run.yaml"), "--out", str(region / "o")
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr
