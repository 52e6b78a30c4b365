"""Drought indices on the sample region: the planted droughts must show up in SPI/SPEI,
and the CLI writes a complete CF-NetCDF (or nothing on error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.errors import InputError
from landwatch.sample import SampleRegion
from landwatch.workflows.drought import run_drought_indices


@pytest.fixture(scope="module")
def indices(sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    out = tmp_path_factory.mktemp("drought") / "drought.nc"
    run_drought_indices(sample_region.out_dir / "climate_monthly.nc", out, scales=(6, 12))
    return xr.open_dataset(out, decode_coords="all")


def test_drought_indices__planted_droughts_detected(
    sample_region: SampleRegion, indices: xr.Dataset
) -> None:
    """Every planted drought of >= 12 months has SPI-12 < -1 on >= 85 % of the cells in its
    last month (measured 90-100 %); SPEI-12 agrees in sign on most of them."""
    checked = 0
    for ep in sample_region.truth["drought_episodes"]:
        if ep["n_months"] < 12:
            continue
        end = ep["end"][:7]
        spi = indices["spi_12"].sel(time=end).values
        spei = indices["spei_12"].sel(time=end).values
        assert (spi < -1).mean() >= 0.85, (ep["id"], float((spi < -1).mean()))
        assert (spei < 0).mean() >= 0.85, (ep["id"], float((spei < 0).mean()))
        checked += 1
    assert checked >= 4


def test_drought_indices__few_alarms_outside_droughts(
    sample_region: SampleRegion, indices: xr.Dataset
) -> None:
    """Where no planted drought month falls in the 12-month window, SPI-12 < -1.5 on at most
    5 % of cell-months (6.7 % for a standard normal; measured 1.6 %)."""
    drought_months = {m[:7] for ep in sample_region.truth["drought_episodes"] for m in ep["months"]}
    times = pd.DatetimeIndex(indices["time"].values)
    keep = [
        i
        for i, t in enumerate(times)
        if t.year >= 1982
        and not {(t - pd.DateOffset(months=k)).strftime("%Y-%m") for k in range(12)}
        & drought_months
    ]
    assert len(keep) > 200
    values = indices["spi_12"].isel(time=keep).values
    assert np.isfinite(values).mean() > 0.99
    assert (values < -1.5).mean() <= 0.05


def test_drought_indices__output_metadata(indices: xr.Dataset) -> None:
    assert {"pet", "spi_6", "spi_12", "spei_6", "spei_12"} <= set(indices.data_vars)
    assert indices.attrs["Conventions"] == "CF-1.8" and "landwatch" in indices.attrs["history"]
    assert indices["pet"].attrs.get("units") in ("mm/month", "mm month-1")
    assert indices.rio.crs is not None
    # calibration 1981-2010: SPI over the calibration years is close to standard normal
    cal = indices["spi_12"].sel(time=slice("1981-12", "2010-12")).values
    assert abs(np.nanmean(cal)) < 0.15 and 0.8 < np.nanstd(cal) < 1.2


def test_drought_indices__cli_and_errors(sample_region: SampleRegion, tmp_path: Path) -> None:
    out = tmp_path / "d.nc"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "landwatch.cli",
            "drought",
            "indices",
            str(sample_region.out_dir / "climate_monthly.nc"),
            "--out",
            str(out),
            "--scales",
            "3",
            "--indices",
            "spi",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(xr.open_dataset(out, decode_coords="all").data_vars) == ["spi_3"]
    bad = tmp_path / "bad.nc"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "landwatch.cli",
            "drought",
            "indices",
            str(sample_region.out_dir / "climate_monthly.nc"),
            "--out",
            str(bad),
            "--pr-var",
            "rain",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no variable 'rain'" in proc.stderr
    assert not bad.exists() and not list(tmp_path.glob(".bad.nc*"))
    with pytest.raises(InputError, match="outside 1-72"):
        run_drought_indices(
            sample_region.out_dir / "climate_monthly.nc", tmp_path / "x.nc", scales=(0,)
        )
