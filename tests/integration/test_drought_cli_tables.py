"""`landwatch drought spi|pet|spei|events` on station tables (CSV in, CSV out) and grids
(NetCDF, and Cloud-Optimized GeoTIFF with a band per month)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from rio_cogeo.cogeo import cog_validate

from landwatch.errors import InputError
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


# ----------------------------------------------------------------- COG output of grids


def _check_cog(path: Path, nc: Path, variable: str) -> dict[str, str]:
    """``path`` is a valid COG with a band per month equal to ``variable`` of ``nc``."""
    ok, errors, _ = cog_validate(str(path))
    assert ok, errors
    ds = xr.open_dataset(nc, decode_coords="all")
    want = ds[variable].transpose("time", "y", "x")
    with rasterio.open(path) as src:
        assert src.is_tiled and src.count == want.sizes["time"] and src.dtypes[0] == "float32"
        assert np.isnan(src.nodata) and src.crs == ds.rio.crs
        assert list(src.descriptions) == list(
            pd.DatetimeIndex(want["time"].values).strftime("%Y-%m")
        )
        assert src.tags(1)["time"] == str(want["time"].values[0])[:10]
        assert src.transform.almost_equals(want.rio.transform())
        np.testing.assert_array_equal(src.read(), want.values)
        return dict(src.tags())


def test_drought_cli__grid_cog_equals_netcdf(sample_region: SampleRegion, tmp_path: Path) -> None:
    """spi / spei / pet --out x.tif: a COG (a band per month, YYYY-MM descriptions, index
    parameters in the tags, nodata NaN, the input's CRS) with the NetCDF output's values."""
    src = str(sample_region.out_dir / "climate_monthly.nc")
    for kind, extra, variable in (
        ("spi", ["--var", "pr", "--scale", "12"], "spi_12"),
        ("spei", ["--scale", "6"], "spei_6"),
        ("pet", ["--var", "tas"], "pet"),
    ):
        for suffix in ("tif", "nc"):
            proc = cli(kind, src, *extra, "--out", str(tmp_path / f"{kind}.{suffix}"))
            assert proc.returncode == 0, proc.stderr
        tags = _check_cog(tmp_path / f"{kind}.tif", tmp_path / f"{kind}.nc", variable)
        assert tags["variable"] == variable and "landwatch" in tags["history"]
        assert tags["time_coverage"] == "1981-01 to 2023-12"
        if kind == "spi":
            assert tags["units"] == "1" and tags["accumulation_months"] == "12"
            assert tags["calibration_period"] == "1981-2010" and tags["distribution"] == "gamma"
            assert "Standardized Precipitation Index" in tags["long_name"]
        elif kind == "spei":
            assert tags["scale_months"] == "6" and tags["calibration"] == "1981-2010"
        else:
            assert tags["units"] == "mm/month"
    assert not list(tmp_path.glob(".*partial*"))


@pytest.fixture(scope="module")
def grids_without_crs(
    sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The sample precipitation without a CRS, and with it only as a CF grid_mapping
    variable named 'crs' (crs_wkt)."""
    d = tmp_path_factory.mktemp("nocrs")
    ds = xr.open_dataset(sample_region.out_dir / "climate_monthly.nc", decode_coords="all").load()
    wkt = ds.rio.crs.to_wkt()
    pr = ds["pr"].drop_vars("spatial_ref")
    pr.attrs.pop("grid_mapping", None)
    pr.encoding.pop("grid_mapping", None)
    bare = pr.to_dataset()
    bare.to_netcdf(d / "bare.nc")
    cf = pr.to_dataset()
    cf["crs"] = xr.DataArray(0, attrs={"crs_wkt": wkt})
    cf["pr"].attrs["grid_mapping"] = "crs"
    cf.to_netcdf(d / "cf.nc")
    return {"bare": d / "bare.nc", "cf": d / "cf.nc"}


def test_drought_cli__cog_crs_from_grid_mapping_or_option(grids_without_crs, tmp_path: Path):
    proc = cli(
        "spi", str(grids_without_crs["cf"]), "--scale", "3", "--out", str(tmp_path / "a.tif")
    )
    assert proc.returncode == 0, proc.stderr
    with rasterio.open(tmp_path / "a.tif") as src:
        assert src.crs.to_epsg() == 4326
    # no CRS anywhere: one clear line, exit 2, nothing written
    out = tmp_path / "b.tif"
    proc = cli("spi", str(grids_without_crs["bare"]), "--scale", "3", "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no coordinate reference system" in proc.stderr and "--crs" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".b.tif*"))
    proc = cli(
        "spi",
        str(grids_without_crs["bare"]),
        "--scale",
        "3",
        "--crs",
        "EPSG:4326",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 4326
    # a CRS that contradicts the file's
    proc = cli(
        "spi", str(grids_without_crs["cf"]), "--crs", "EPSG:32737", "--out", str(tmp_path / "c.tif")
    )
    assert proc.returncode == 2 and "EPSG:32737" in proc.stderr
    assert not (tmp_path / "c.tif").exists()
    proc = cli("spi", str(grids_without_crs["cf"]), "--out", str(tmp_path / "d.png"))
    assert proc.returncode == 2 and ".tif (COG)" in proc.stderr


def test_run_index__cog_written_atomically(
    sample_region: SampleRegion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while writing leaves neither the COG nor a partial file; an existing
    output is kept until a new one is complete."""
    import landwatch.workflows.drought as wf

    out = tmp_path / "spi.tif"
    out.write_bytes(b"previous output")

    def broken(arr, path, **kwargs):  # writes half a file, then fails
        Path(path).write_bytes(b"II*\x00half")
        raise OSError("disk full")

    monkeypatch.setattr(wf, "write_cog_bands", broken)
    with pytest.raises(OSError, match="disk full"):
        wf.run_index(
            "spi", sample_region.out_dir / "climate_monthly.nc", out, scale=3, overwrite=True
        )
    assert out.read_bytes() == b"previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spi.tif"]
    with pytest.raises(InputError, match="a station table goes to .csv"):
        wf._write_any(xr.DataArray(np.zeros((2, 1)), dims=("time", "station")), out, "spi_3", "h")
