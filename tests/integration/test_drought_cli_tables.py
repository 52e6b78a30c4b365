"""`landwatch drought spi|pet|spei|events` on station tables (CSV in, CSV out) and grids."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.indices.drought import (
    potential_evapotranspiration_thornthwaite,
    standardized_precipitation_evapotranspiration_index,
    standardized_precipitation_index,
)
from landwatch.sample import SampleRegion


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landwatch.cli", "drought", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def stations(
    sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Three grid cells of the sample climate written as station tables."""
    d = tmp_path_factory.mktemp("stations")
    ds = xr.open_dataset(sample_region.out_dir / "climate_monthly.nc", decode_coords="all").load()
    cells = {"north": (2, 3), "centre": (20, 20), "south": (37, 30)}
    out = {}
    for var in ("pr", "tas"):
        df = pd.DataFrame({name: ds[var].values[:, i, j] for name, (i, j) in cells.items()})
        df.insert(0, "time", pd.DatetimeIndex(ds["time"].values).strftime("%Y-%m"))
        out[var] = d / f"{var}.csv"
        df.to_csv(out[var], index=False)
    out["lat"] = float(ds["y"].values[20])  # type: ignore[assignment]
    return out


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, index_col="time")


def test_drought_cli__spi_station_table(stations, tmp_path: Path) -> None:
    proc = cli("spi", str(stations["pr"]), "--scale", "3", "--out", str(tmp_path / "spi3.csv"))
    assert proc.returncode == 0, proc.stderr
    got = _table(tmp_path / "spi3.csv")
    raw = pd.read_csv(stations["pr"], index_col="time")
    pr = xr.DataArray(
        raw.to_numpy(float),
        dims=("time", "station"),
        coords={"time": pd.to_datetime(raw.index), "station": list(raw.columns)},
        attrs={"units": "mm/month"},
    )
    want = standardized_precipitation_index(pr, scale=3).to_pandas()
    assert list(got.columns) == ["north", "centre", "south"] and got.index[0] == "1981-01"
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-6, equal_nan=True)


def test_drought_cli__pet_spei_and_events_tables(stations, tmp_path: Path) -> None:
    lat = str(stations["lat"])
    assert (
        cli(
            "pet", str(stations["tas"]), "--lat", lat, "--out", str(tmp_path / "pet.csv")
        ).returncode
        == 0
    )
    proc = cli(
        "spei",
        str(stations["pr"]),
        "--pet",
        str(tmp_path / "pet.csv"),
        "--scale",
        "6",
        "--out",
        str(tmp_path / "spei6.csv"),
    )
    assert proc.returncode == 0, proc.stderr
    raw_t = pd.read_csv(stations["tas"], index_col="time")
    tas = xr.DataArray(
        raw_t.to_numpy(float),
        dims=("time", "station"),
        coords={"time": pd.to_datetime(raw_t.index), "station": list(raw_t.columns)},
        attrs={"units": "degC"},
    )
    raw_p = pd.read_csv(stations["pr"], index_col="time")
    pr = tas.copy(data=raw_p.to_numpy(float)).assign_attrs(units="mm/month")
    pet = potential_evapotranspiration_thornthwaite(tas, float(lat))
    want = standardized_precipitation_evapotranspiration_index(pr, pet, scale=6).to_pandas()
    np.testing.assert_allclose(
        _table(tmp_path / "spei6.csv").to_numpy(), want.to_numpy(), atol=1e-4, equal_nan=True
    )
    proc = cli(
        "events",
        str(tmp_path / "spei6.csv"),
        "--threshold",
        "-1",
        "--out",
        str(tmp_path / "ev.csv"),
    )
    assert proc.returncode == 0, proc.stderr
    ev = pd.read_csv(tmp_path / "ev.csv")
    assert {"station", "onset", "end", "duration", "severity", "intensity", "peak"} <= set(
        ev.columns
    )
    assert (ev.severity > 0).all() and set(ev.station) <= {"north", "centre", "south"}


def test_drought_cli__errors(stations, tmp_path: Path) -> None:
    proc = cli("spei", str(stations["pr"]), "--out", str(tmp_path / "x.csv"))
    assert proc.returncode == 2 and "needs PET" in proc.stderr and not (tmp_path / "x.csv").exists()
    proc = cli("pet", str(stations["tas"]), "--out", str(tmp_path / "p.csv"))
    assert proc.returncode == 2 and "--lat" in proc.stderr
    bad = tmp_path / "neg.csv"
    df = pd.read_csv(stations["pr"])
    df.loc[5, "north"] = -3.0
    df.to_csv(bad, index=False)
    proc = cli("spi", str(bad), "--out", str(tmp_path / "s.csv"))
    assert (
        proc.returncode == 2
        and "Traceback" not in proc.stderr
        and "negative" in proc.stderr.lower()
    )
    assert not (tmp_path / "s.csv").exists()


def test_drought_cli__grid_spi_netcdf(sample_region: SampleRegion, tmp_path: Path) -> None:
    out = tmp_path / "spi12.nc"
    proc = cli(
        "spi",
        str(sample_region.out_dir / "climate_monthly.nc"),
        "--var",
        "pr",
        "--scale",
        "12",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    ds = xr.open_dataset(out, decode_coords="all")
    assert list(ds.data_vars) == ["spi_12"] and ds.rio.crs is not None
    assert ds.attrs["Conventions"] == "CF-1.8"
    proc = cli("events", str(out), "--var", "spi_12", "--out", str(tmp_path / "ev.geojson"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ev.geojson").stat().st_size > 1000


def test_drought_cli__daily_station_table_is_aggregated(tmp_path: Path) -> None:
    """A daily table is summed to months (missing-day rule) before SPI."""
    rng = np.random.default_rng(11)
    days = pd.date_range("1981-01-01", "2012-12-31", freq="D")
    rain = rng.gamma(0.4, 6.0, size=(days.size, 2)) * (rng.random((days.size, 2)) < 0.4)
    rain[100:105, 0] = np.nan  # 5 missing days in April 1981 -> that month is missing
    df = pd.DataFrame(rain, columns=["a", "b"])
    df.insert(0, "time", days.strftime("%Y-%m-%d"))
    df.to_csv(tmp_path / "daily.csv", index=False)
    proc = cli(
        "spi", str(tmp_path / "daily.csv"), "--scale", "1", "--out", str(tmp_path / "spi1.csv")
    )
    assert proc.returncode == 0, proc.stderr
    got = _table(tmp_path / "spi1.csv")
    monthly = df.set_index(pd.DatetimeIndex(days))[["a", "b"]].resample("MS").sum(min_count=1)
    monthly.loc["1981-04-01", "a"] = np.nan
    pr = xr.DataArray(
        monthly.to_numpy(),
        dims=("time", "station"),
        coords={"time": monthly.index, "station": ["a", "b"]},
        attrs={"units": "mm/month"},
    )
    want = standardized_precipitation_index(pr, scale=1).to_pandas()
    assert got.index[0] == "1981-01" and np.isnan(got.loc["1981-04", "a"])
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-6, equal_nan=True)
