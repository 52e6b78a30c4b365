"""compute_on's option checks, the automatic chunk size, the Zarr scratch store and
per_block, without starting a cluster (tests/integration/test_cluster_parity.py does)."""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from landwatch.cli import app
from landwatch.errors import DataSourceError, InputError
from landwatch.workflows.cluster import (
    MAX_AUTO_CHUNK,
    compute_on,
    default_chunk_size,
    parse_cluster,
    parse_memory_limit,
    per_block,
    time_series_cube,
)


def test_compute_on__nothing_given_is_this_process() -> None:
    with compute_on() as client:
        assert client is None


def test_compute_on__both_given_is_an_input_error() -> None:
    with (
        pytest.raises(InputError, match=r"--scheduler 'tcp://h:1' and --cluster 'local:2'"),
        compute_on("tcp://h:1", "local:2"),
    ):
        pass


@pytest.mark.parametrize("value", ["local:x", "local:0", "local:", "remote:2", "2"])
def test_parse_cluster__bad_values_name_the_option_and_the_form(value: str) -> None:
    with pytest.raises(InputError, match=r"--cluster .* expected local:N with N >= 1"):
        parse_cluster(value)
    with pytest.raises(InputError, match="--cluster"), compute_on(cluster=value):
        pass


def test_parse_cluster__workers() -> None:
    assert parse_cluster("local:3") == 3


def test_memory_limit__checked() -> None:
    assert parse_memory_limit("6GB") == "6GB"
    assert parse_memory_limit(None) is None
    with pytest.raises(InputError, match=r"--memory-limit '6 gigs' is not a size; expected"):
        parse_memory_limit("6 gigs")
    with pytest.raises(InputError, match="at least 64MB"):
        parse_memory_limit("1MB")
    with pytest.raises(InputError, match=r"--memory-limit '2GB' applies to .*--cluster"):
        with compute_on(memory_limit="2GB"):
            pass
    with pytest.raises(InputError, match="dask worker --memory-limit"):
        with compute_on(scheduler="tcp://127.0.0.1:9", memory_limit="2GB"):
            pass


def test_compute_on__scheduler_address_form() -> None:
    with pytest.raises(InputError, match=r"--scheduler 'localhost:8786' .* tcp://HOST:PORT"):
        with compute_on(scheduler="localhost:8786"):
            pass


def test_compute_on__unreachable_scheduler_is_a_data_source_error() -> None:
    with pytest.raises(
        DataSourceError, match=r"dask scheduler 'tcp://127.0.0.1:9' \(--scheduler\)"
    ):
        with compute_on(scheduler="tcp://127.0.0.1:9", timeout=1.0):
            pass


def test_connect_dask__still_importable_from_the_worker() -> None:
    from landwatch.api import worker
    from landwatch.workflows import cluster

    assert worker.connect_dask is cluster.connect_dask


def test_default_chunk_size() -> None:
    assert default_chunk_size((400, 400), 2) == 134  # 3 x 3 chunks for 2 workers
    assert default_chunk_size((40, 40), 2) == 16  # the floor
    assert default_chunk_size((12_000, 12_000), 2) == MAX_AUTO_CHUNK
    assert default_chunk_size((400, 100), 1) == 200


def _cube(chunks: dict[str, int] | None) -> xr.DataArray:
    rng = np.random.default_rng(0)
    time = pd.date_range("2000-01-01", periods=48, freq="MS")
    da = xr.DataArray(
        rng.gamma(2.0, 30.0, (48, 10, 12)).astype(np.float32),
        dims=("time", "y", "x"),
        coords={"time": time, "y": np.arange(10.0), "x": np.arange(12.0)},
        name="pr",
        attrs={"units": "mm/month"},
    )
    return da.chunk(chunks) if chunks else da


def test_time_series_cube__numpy_and_small_cubes_stay_in_memory(tmp_path: Path) -> None:
    da = _cube(None)
    with time_series_cube(da, work_dir=tmp_path) as out:
        assert out is da
    chunked = _cube({"time": 12, "y": 5, "x": 6})
    with time_series_cube(chunked, work_dir=tmp_path, budget=10**9) as out:
        assert out.chunksizes["time"] == (48,)
        assert not list(tmp_path.iterdir())


def test_time_series_cube__over_budget_goes_through_zarr_and_is_removed(tmp_path: Path) -> None:
    chunked = _cube({"time": 12, "y": 5, "x": 6})
    said: list[str] = []
    with dask.config.set(scheduler="threads"):
        with time_series_cube(chunked, work_dir=tmp_path, budget=1000, progress=said.append) as out:
            (scratch,) = tmp_path.iterdir()
            assert list(scratch.glob("*.zarr"))
            assert out.chunksizes["time"] == (48,) and out.chunksizes["y"] == (5, 5)
            assert out.attrs == {"units": "mm/month"} and out.dtype == np.float32
            assert np.array_equal(out.values, _cube(None).values)
        assert not list(tmp_path.iterdir())
        assert "over the memory budget" in said[0]
        with pytest.raises(RuntimeError, match="boom"):
            with time_series_cube(chunked, work_dir=tmp_path, budget=1000):
                raise RuntimeError("boom")
        assert not list(tmp_path.iterdir())  # removed on errors too


def _climatology_anomaly(da: xr.DataArray, shift: xr.DataArray) -> xr.DataArray:
    """A kernel that reduces along time with xarray (dask adds in another order)."""
    clim = da.groupby("time.month").mean("time")
    return (da.groupby("time.month") - clim).drop_vars("month") * 1.5 + shift


def test_per_block__chunked_equals_numpy_bit_for_bit() -> None:
    shift = xr.DataArray(np.linspace(0, 1, 10), dims="y", coords={"y": np.arange(10.0)})
    ref = _climatology_anomaly(_cube(None), shift)
    with dask.config.set(scheduler="threads"):
        got = per_block(_climatology_anomaly, _cube({"time": 12, "y": 3, "x": 5}), shift)
        assert got.chunks is not None
        values = got.transpose(*ref.dims).values
    assert np.array_equal(values, ref.values)
    assert per_block(_climatology_anomaly, _cube(None), shift).identical(ref)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--cluster", "local:x"], "--cluster"),
        (["--cluster", "local:0"], "--cluster"),
        (["--scheduler", "tcp://h:1", "--cluster", "local:2"], "--scheduler"),
        (["--cluster", "local:2", "--memory-limit", "lots"], "--memory-limit"),
    ],
)
def test_cli__bad_cluster_options_exit_2_with_one_line(
    tmp_path: Path, args: list[str], option: str
) -> None:
    runner = CliRunner()
    for command in (
        ["drought", "indices", str(tmp_path / "climate.nc"), "--out", str(tmp_path / "o.nc")],
        ["drought", "spi", str(tmp_path / "climate.nc"), "--out", str(tmp_path / "o.tif")],
        ["warn", "cdi", str(tmp_path / "climate.nc"), "--out", str(tmp_path / "cdi")],
    ):
        res = runner.invoke(app, [*command, *args])
        text = res.output + (res.stderr if res.stderr_bytes is not None else "")
        assert res.exit_code == 2, text
        assert "Traceback" not in text
        assert option in text
    assert not list(tmp_path.iterdir())


def test_cli__every_raster_command_has_the_cluster_options() -> None:
    runner = CliRunner()
    for command in (
        ["sdg1531"],
        ["drought", "indices"],
        ["drought", "spi"],
        ["drought", "spei"],
        ["drought", "pet"],
        ["drought", "events"],
        ["drought", "so3"],
        ["warn", "cdi"],
        ["warn", "run"],
    ):
        res = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert res.exit_code == 0
        for opt in ("--scheduler", "--cluster", "--memory-limit", "--chunks"):
            assert opt in res.output, (command, opt)
