"""Chunked drought-index runs write each output variable chunk by chunk (never a whole
cube in memory) and give exactly the in-memory result, in NetCDF and Zarr, with every
progress step counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.workflows.drought import run_drought_indices
from landwatch.workflows.progress import NullProgress


@pytest.fixture(scope="module")
def climate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    time = pd.date_range("1981-01-01", periods=12 * 32, freq="MS")
    ny, nx = 7, 9
    season = 60 + 50 * np.sin(2 * np.pi * (time.month.values - 3) / 12)
    pr = rng.gamma(2.0, season[:, None, None] / 2.0, size=(time.size, ny, nx))
    pr[rng.random(pr.shape) < 0.05] = 0.0
    tas = (
        20
        + 8 * np.sin(2 * np.pi * (time.month.values - 4) / 12)[:, None, None]
        + rng.normal(0, 1, (time.size, ny, nx))
    )
    coords = {"time": time, "y": -1.0 - 0.1 * np.arange(ny), "x": 36.0 + 0.1 * np.arange(nx)}
    ds = xr.Dataset(
        {
            "pr": (("time", "y", "x"), pr.astype("float32"), {"units": "mm/month"}),
            "tas": (("time", "y", "x"), tas.astype("float32"), {"units": "degC"}),
        },
        coords=coords,
    ).rio.write_crs("EPSG:4326")
    path = tmp_path_factory.mktemp("clim") / "climate.nc"
    ds.to_netcdf(path)
    return path


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_chunked_run_streams_and_equals_in_memory(
    climate: Path, tmp_path: Path, suffix: str
) -> None:
    kw = {"scales": (3, 12), "calibration": (1981, 2010)}
    whole = run_drought_indices(climate, tmp_path / f"mem{suffix}", **kw)
    steps = NullProgress()
    chunked = run_drought_indices(
        climate, tmp_path / f"chunk{suffix}", chunks=4, progress=steps, **kw
    )
    assert len(steps.messages) == steps.total, steps.messages
    assert [m for m in steps.messages if "written" in m] == [
        "spi_3 (written)", "spei_3 (written)", "spi_12 (written)", "spei_12 (written)"
    ]  # fmt: skip
    opener = xr.open_zarr if suffix == ".zarr" else xr.open_dataset
    with opener(whole) as a, opener(chunked) as b:
        assert (
            sorted(a.data_vars)
            == sorted(b.data_vars)
            == sorted(["pet", "spi_3", "spi_12", "spei_3", "spei_12"])
        )
        for name in a.data_vars:
            assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name
            assert a[name].attrs == b[name].attrs, name
        assert a.attrs.keys() == b.attrs.keys()
        assert b.rio.crs == a.rio.crs
    assert not list(tmp_path.glob(".*partial*"))
