"""Benchmark: landwatch SPI-3 against climate_indices and xclim, in one run.

Data: NOAA nClimDiv precipitation, 344 divisions x 1536 months (../shared), and a
synthetic 100 x 100 x 480 float32 gamma grid with 5 % zeros. SPI-3, gamma,
calibration 1981-2010, best of N wall-clock runs in this process.

Peers (optional, skipped with a note when not importable):
    pip install climate-indices==3.1.0 xclim

* climate_indices 3.1.0: ``indices.spi(values, 3, Distribution.gamma, start_year,
  1981, 2010, Periodicity.monthly, spatial_time_major=True)`` on a time-major
  float64 block ((time, cells, 1) for the table, (time, y, x) for the grid). Its
  Rust kernels run only with ``np.seterr(all="ignore")`` and aligned float64
  input, so both are set (spi_peers.md §7).
* xclim: ``standardized_precipitation_index(pr, freq=None, window=3, dist="gamma",
  method="APP", fitkwargs={"floc": 0}, cal_start="1981-01-01", cal_end="2010-12-31")``
  (Thom; without floc=0 xclim fits a free-location gamma, spi_peers.md §3).

"max |diff|" is against landwatch Thom, every output clipped to +/-3.09 first
(climate_indices clips at 3.09, xclim at 8.21). "ratio" = peer seconds /
landwatch Thom seconds on the same data.

Usage: python benchmarks/spi.py [--runs 3] [--no-xclim-grid]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from landwatch.indices.drought import standardized_precipitation_index
from landwatch.indices.drought.spi import calibration_rows, spi_core

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("LANDWATCH_SHARED", HERE.parent.parent / "shared"))
if not (SHARED / "data").is_dir():
    SHARED = Path("/work/shared")


def best_of(fn: Callable[[], np.ndarray], runs: int) -> tuple[float, np.ndarray]:
    out = fn()  # warm-up (numba compile / caches)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def load_nclimdiv() -> xr.DataArray:
    path = SHARED / "data/climate_indices_ref/nclimdiv_ncei/division_precip_inches_1895_2022.csv"
    df = pd.read_csv(path, dtype={"month": str})
    t = pd.to_datetime(df["month"] + "-01")
    return xr.DataArray(
        df.iloc[:, 1:].to_numpy(float) * 25.4,
        dims=("time", "division"),
        coords={"time": t.values},
        attrs={"units": "mm"},
    )


def synthetic_grid() -> xr.DataArray:
    rng = np.random.default_rng(42)
    g = rng.gamma(2.0, 30.0, size=(480, 100, 100)).astype(np.float32)
    g[rng.random(g.shape) < 0.05] = 0.0
    t = pd.date_range("1981-01", periods=480, freq="MS")
    return xr.DataArray(g, dims=("time", "y", "x"), coords={"time": t}, attrs={"units": "mm"})


def run_dataset(name: str, pr: xr.DataArray, runs: int, xclim_ok: bool) -> list[tuple]:
    rows: list[tuple] = []
    start_year = int(pr.time.dt.year[0])

    def lw(method: str) -> Callable[[], np.ndarray]:
        return lambda: standardized_precipitation_index(pr, scale=3, method=method).values

    t_thom, ref = best_of(lw("thom"), runs)
    rows.append((name, "landwatch thom", t_thom, ref))
    t, out = best_of(lw("lmoments"), runs)
    rows.append((name, "landwatch lmoments", t, out))
    t, out = best_of(lw("mle"), runs)
    rows.append((name, "landwatch mle", t, out))

    years = pr.time.dt.year.values
    month = pr.time.dt.month.values - 1
    cal_rows = calibration_rows(month, (years >= 1981) & (years <= 2010))
    x_last = np.moveaxis(pr.values, 0, -1)
    t, out = best_of(
        lambda: np.moveaxis(
            spi_core(x_last, month_index=month, rows=cal_rows, scale=3, threads=1), -1, 0
        ),
        runs,
    )
    rows.append((name, "landwatch thom, 1 thread (numpy core)", t, out))

    try:
        from climate_indices import compute, indices
    except ImportError:
        print("  note: climate_indices not importable - pip install climate-indices==3.1.0")
    else:
        old = np.seterr(all="ignore")
        try:
            block = np.require(pr.values.astype(np.float64), requirements=["C", "A"])
            if block.ndim == 2:
                block = block[:, :, None]

            def ci() -> np.ndarray:
                with (
                    contextlib.redirect_stdout(io.StringIO()),
                    contextlib.redirect_stderr(io.StringIO()),
                ):
                    res = indices.spi(
                        block,
                        3,
                        indices.Distribution.gamma,
                        start_year,
                        1981,
                        2010,
                        compute.Periodicity.monthly,
                        spatial_time_major=True,
                    )
                return np.asarray(res).reshape(pr.shape)

            t, out = best_of(ci, runs)
            rows.append((name, "climate_indices 3.1.0 gamma", t, out))
        finally:
            np.seterr(**old)

    if xclim_ok:
        try:
            import xclim  # noqa: F401
            from xclim.indices import standardized_precipitation_index as xspi
        except ImportError:
            print("  note: xclim not importable - pip install xclim")
        else:
            da = pr.astype(np.float64).assign_attrs(units="mm/month")

            def xc() -> np.ndarray:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = xspi(
                        da,
                        freq=None,
                        window=3,
                        dist="gamma",
                        method="APP",
                        fitkwargs={"floc": 0},
                        cal_start="1981-01-01",
                        cal_end="2010-12-31",
                    )
                return res.transpose(*pr.dims).values

            t, out = best_of(xc, 1)
            rows.append((name, "xclim APP floc=0 (runs=1)", t, out))
    else:
        print(f"  note: xclim skipped on {name} (--no-xclim-grid)")
    return [(d, lib, t, t / t_thom, clipped_diff(out, ref)) for d, lib, t, out in rows]


def clipped_diff(a: np.ndarray, b: np.ndarray) -> float:
    a = np.clip(a, -3.09, 3.09)
    b = np.clip(b, -3.09, 3.09)
    both = np.isfinite(a) & np.isfinite(b)
    mismatch = int(np.sum(np.isfinite(a) != np.isfinite(b)))
    d = float(np.max(np.abs(a[both] - b[both]))) if both.any() else float("nan")
    return d if mismatch == 0 else float("inf")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-xclim-grid", action="store_true", help="skip xclim on the grid (~8 s)")
    args = ap.parse_args()
    print("peers: pip install climate-indices==3.1.0 xclim")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, numpy {np.__version__}")
    table = run_dataset("nClimDiv 344x1536", load_nclimdiv(), args.runs, True)
    table += run_dataset(
        "grid 100x100x480 f32", synthetic_grid(), args.runs, not args.no_xclim_grid
    )
    print()
    print(
        f"| {'data':22} | {'library / config':40} | {'seconds':>8} | {'ratio':>6} | {'max |diff| vs lw thom':>21} |"
    )
    print(f"|{'-' * 24}|{'-' * 42}|{'-' * 10}|{'-' * 8}|{'-' * 23}|")
    for d, lib, t, ratio, diff in table:
        print(f"| {d:22} | {lib:40} | {t:8.3f} | {ratio:6.2f} | {diff:21.2e} |")


if __name__ == "__main__":
    main()
