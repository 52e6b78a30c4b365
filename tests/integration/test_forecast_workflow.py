"""`run_forecast` end to end on station tables and grids: files, flags, verdicts, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from landwatch.errors import DataSourceError, InputError, InsufficientDataError
from landwatch.forecast.verification import BEATS, DOES_NOT_BEAT
from landwatch.io.rasters import open_raster
from landwatch.workflows.forecast import run_forecast


def monthly_pr(n_cells: int, first: int = 1981, n_years: int = 36, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    nt = 12 * n_years
    season = 70 + 40 * np.cos(2 * np.pi * (np.arange(nt) % 12) / 12)
    z = np.zeros((nt, n_cells))
    for t in range(1, nt):
        z[t] = 0.7 * z[t - 1] + rng.normal(0, 0.5, n_cells)
    return season[:, None] * np.exp(0.4 * z) * rng.gamma(4.0, 0.25, (nt, n_cells))


def write_station_csv(path: Path, n_years: int = 36, drop_month: int | None = None) -> Path:
    values = monthly_pr(4, n_years=n_years)
    months = pd.date_range("1981-01", periods=len(values), freq="MS").strftime("%Y-%m")
    df = pd.DataFrame(values.round(2), columns=["north", "south", "east", "west"])
    df.insert(0, "time", months)
    if drop_month is not None:
        df = df.drop(index=drop_month)
    df.to_csv(path, index=False)
    return path


def write_drivers(path: Path, last: str = "2016-12") -> Path:
    months = pd.date_range("1975-01", last, freq="MS")
    rng = np.random.default_rng(8)
    pd.DataFrame(
        {"time": months.strftime("%Y-%m"), "nino34": rng.normal(0, 1, len(months)).round(2)}
    ).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def station_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("fc")
    src = write_station_csv(tmp / "pr.csv")
    return run_forecast(src, tmp / "out", model="linear", n_boot=100, issue="2016-06")


def test_run_forecast__station_table_outputs(station_run) -> None:
    out = station_run.out_dir
    for name in (
        "forecasts.csv",
        "skill.json",
        "skill.csv",
        "skill.md",
        "reliability.csv",
        "manifest.json",
    ):
        assert (out / name).is_file(), name
    fc = pd.read_csv(out / "forecasts.csv")
    assert len(fc) == 4 * 3
    assert fc["is_forecast"].all()
    assert set(fc["issue_month"]) == {"2016-06"}
    assert sorted(set(fc["target_month"])) == ["2016-07", "2016-08", "2016-09"]
    assert set(fc["certainty"]) <= {"Likely", "Possible"}
    assert ((fc["watch_probability"] >= 0) & (fc["watch_probability"] <= 1)).all()
    np.testing.assert_array_equal(
        fc["forecast_cdi_class"], (fc["watch_probability"] >= 0.5).astype(int)
    )
    assert fc["skill_verdict"].str.match(f"^({BEATS}|{DOES_NOT_BEAT}) ").all()
    skill = json.loads((out / "skill.json").read_text())
    assert skill["is_forecast"] is True and skill["issue_month"] == "2016-06"
    assert set(skill["verdicts"]) == {"lead 1 linear", "lead 2 linear", "lead 3 linear"}
    assert "watch level" in skill["caveat"]
    # the hindcast saw nothing after the issue month
    assert skill["settings"]["record"].endswith("to 2016-06")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["issue"] == "2016-06"
    assert not list(out.parent.glob(".out.partial-*"))


def test_run_forecast__grid_outputs_and_drivers(tmp_path: Path) -> None:
    ny, nx, n_years = 2, 3, 34
    values = monthly_pr(ny * nx, n_years=n_years, seed=11).reshape(-1, ny, nx)
    values[:, 1, 2] = np.nan  # a pixel without data (e.g. sea)
    time = pd.date_range("1981-01-01", periods=len(values), freq="MS")
    da = xr.DataArray(
        values,
        dims=("time", "y", "x"),
        coords={"time": time, "y": [10.5, 10.0], "x": [30.0, 30.5, 31.0]},
        name="pr",
        attrs={"units": "mm"},
    ).rio.write_crs("EPSG:4326")
    src = tmp_path / "grid.nc"
    da.to_dataset().to_netcdf(src)
    drivers = write_drivers(tmp_path / "enso.csv", last="2014-12")
    res = run_forecast(
        src,
        tmp_path / "out",
        model="gbm",
        model_params={"max_iter": 10, "threads": 1},
        drivers=drivers,
        driver_columns=["nino34"],
        n_boot=50,
    )
    fields = xr.open_dataset(res.out_dir / "forecasts.nc")
    assert fields["watch_probability"].dims == ("lead", "y", "x")
    assert fields.attrs["is_forecast"] == "true" and fields.attrs["issue_month"] == "2014-12"
    assert any(k.startswith("skill_lead_1_gbm") for k in fields.attrs)
    cube = xr.open_dataset(res.out_dir / "cdi_forecast.nc")
    assert cube["cdi"].dims == ("time", "y", "x") and cube.sizes["time"] == 3
    cdi = cube["cdi"].values  # decoded: nodata is NaN
    assert np.isnan(cdi[:, 1, 2]).all() and set(np.unique(cdi[:, :, :2])) <= {0, 1}
    # the reader of `landwatch warn run` sees the grid with its CRS
    assert open_raster(res.out_dir / "cdi_forecast.nc", name="cdi").rio.crs == "EPSG:4326"
    fc = res.forecasts
    assert {"y", "x"} <= set(fc.columns) and len(fc) == ny * nx * 3
    sea = fc[(fc["y"] == 10.0) & (fc["x"] == 31.0)]
    assert sea["watch_probability"].isna().all() and (sea["certainty"] == "Unknown").all()
    assert sea["forecast_cdi_class"].isna().all()
    assert fc.drop(sea.index)["watch_probability"].notna().all()
    assert res.skill is not None and "nino34" in res.skill.settings["features"]


def test_run_forecast__bad_inputs(tmp_path: Path) -> None:
    gappy = write_station_csv(tmp_path / "gappy.csv", drop_month=40)
    with pytest.raises(InputError, match="not a complete monthly sequence: .* 1984-04 to 1984-06"):
        run_forecast(gappy, tmp_path / "o1", model="linear")
    short = write_station_csv(tmp_path / "short.csv", n_years=25)
    with pytest.raises(InsufficientDataError, match=r"covers 1981-2005 \(25 years\).*at least 32"):
        run_forecast(short, tmp_path / "o2", model="linear")
    src = write_station_csv(tmp_path / "pr.csv")
    drivers = write_drivers(tmp_path / "enso.csv")
    with pytest.raises(InputError, match=r"unknown columns \['soi'\]"):
        run_forecast(src, tmp_path / "o3", drivers=drivers, driver_columns=["soi"])
    late = write_drivers(tmp_path / "late.csv", last="2010-12")
    with pytest.raises(InputError, match="needs the values of 2016-11"):
        run_forecast(src, tmp_path / "o4", model="gbm", drivers=late)  # before the hindcast
    assert not (tmp_path / "o4").exists() and not list(tmp_path.glob(".o4.partial-*"))
    with pytest.raises(DataSourceError, match="does not exist"):
        run_forecast(tmp_path / "missing.csv", tmp_path / "o5")
    with pytest.raises(InputError, match="issue month 2030-01 is outside the record"):
        run_forecast(src, tmp_path / "o6", model="linear", issue="2030-01", hindcast=False)
    (tmp_path / "exists").mkdir()
    with pytest.raises(InputError, match="already exists"):
        run_forecast(src, tmp_path / "exists")


def test_run_forecast__without_hindcast_says_skill_not_measured(tmp_path: Path) -> None:
    src = write_station_csv(tmp_path / "pr.csv")
    res = run_forecast(src, tmp_path / "out", model="linear", hindcast=False)
    assert res.skill is None
    assert res.forecasts["skill_verdict"].str.startswith("skill not measured").all()
    assert not (res.out_dir / "skill.csv").exists()
    assert json.loads((res.out_dir / "skill.json").read_text())["verdicts"][
        "lead 1 linear"
    ].startswith("skill not measured")
