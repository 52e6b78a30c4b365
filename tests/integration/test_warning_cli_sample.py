"""`landwatch warn cdi` then `landwatch warn run` on the sample region, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import xarray as xr

from landwatch.sample import SampleRegion


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landwatch.cli", *args], capture_output=True, text=True
    )


def test_warn_cdi_then_run__sample_region(sample_region: SampleRegion, tmp_path: Path) -> None:
    d = sample_region.out_dir
    r = _cli(
        "warn", "cdi", str(d / "climate_monthly.nc"), "--ndvi", str(d / "ndvi_monthly.nc"),
        "--out", str(tmp_path / "cdi"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    cdi = xr.open_dataset(tmp_path / "cdi" / "cdi.nc")["cdi"]
    assert set(cdi.attrs["flag_meanings"].split()) >= {"watch", "warning", "alert"}
    assert (tmp_path / "cdi" / "cdi_latest.png").stat().st_size > 10_000
    r = _cli(
        "warn", "run", str(tmp_path / "cdi" / "cdi.nc"), "--cdi-variable", "cdi",
        "--admin", str(d / "admin.gpkg"), "--admin-layer", "admin1",
        "--land-cover", str(d / "land_cover_2015.tif"), "--population", str(d / "population.tif"),
        "--align", "--out", str(tmp_path / "alerts"), "--db", f"sqlite:///{tmp_path / 'a.db'}",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    months = pd.read_csv(tmp_path / "alerts" / "tables" / "unit_months.csv")
    in_2017 = months[months["month"].between("2016-12", "2017-09")]
    assert (in_2017["level"].isin(["severe", "extreme"])).mean() > 0.5  # the planted 2017 drought
    assert any((tmp_path / "alerts" / "cap").glob("*.xml"))
    # a bad input: one red line, exit 2, nothing written
    r = _cli("warn", "cdi", str(d / "missing.nc"), "--out", str(tmp_path / "bad"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not (tmp_path / "bad").exists()
