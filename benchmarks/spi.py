"""Benchmark: landwatch SPI-3 / SPI-12 against climate_indices and xclim, in one run.

Data (same arrays for every library):

* NOAA nClimDiv precipitation, 344 divisions x 1536 months 1895-2022 (../shared);
* a synthetic 100 x 100 x 480 float32 gamma grid with 5 % zeros;
* a synthetic 500 x 500 x 480 float32 gamma grid with ~5 % zeros (generated in row
  blocks, seed 2024), landwatch on the full grid, climate_indices on a 250 x 250
  subset, xclim on a 50 x 50 subset (they are too slow for the full grid inside the
  time budget). Skipped with ``--quick``.

SPI gamma, calibration 1981-2010. Seconds are best of ``--runs`` wall-clock runs in
this process after a warm-up, except on the 500 x 500 grid and for xclim (one run).

Peers (optional, skipped with a note when not importable):
    pip install climate-indices==3.1.0 xclim

* climate_indices 3.1.0 (fast path): ``indices.spi(values, scale, Distribution.gamma,
  start_year, 1981, 2010, Periodicity.monthly, spatial_time_major=True)`` on a
  time-major float64 block ((time, cells, 1) for the table, (time, y, x) for grids).
  Its Rust kernels run only with ``np.seterr(all="ignore")`` and aligned float64
  input, so both are set (spi_peers.md section 7).
* xclim: ``standardized_precipitation_index(pr, freq=None, window=scale, dist="gamma",
  method="APP", fitkwargs={"floc": 0}, cal_start="1981-01-01", cal_end="2010-12-31")``
  (Thom; without floc=0 xclim fits a free-location gamma, spi_peers.md section 3).

Columns: "cells/s" = spatial series (divisions or grid cells) per second;
"lw x" = landwatch thom cells/s on the same dataset and scale / this row's cells/s
(rates, so rows timed on a subset compare fairly); "max diff vs lw thom" is against landwatch
thom on the same cells, every output clipped to +/-3.09 first (climate_indices clips
at 3.09, xclim at 8.21).

Extra sections (500 x 500 grid, not with ``--quick``):

* linear growth: landwatch SPI-3 seconds per cell on 100x100, 250x250, 500x500;
* floor: ``scipy.special.gammainc(a, x)`` + ``scipy.special.ndtri(p)`` once per value,
  single thread, over as many values as the 250 x 250 x 480 subset (30 M), against
  the landwatch SPI-3 kernel (``spi_core``) on that subset, 1 thread and all cores.
  The kernel no longer calls scipy (it shares the shape-only work of P(a, x) among
  the values of a cell and calendar month), so it can run below this floor; the
  table also gives its own CDF step alone (``zero_inflated_gamma_scores``: P(a, x), p0 mixture,
  AS241 quantile, clip; fit precomputed), i.e. what steps 1-3 add;
* end to end NetCDF -> NetCDF: ``landwatch.workflows.drought.run_index("spi", IN, OUT,
  scale=3, variable="pr", overwrite=True)`` (what ``landwatch drought spi`` runs) on
  the 500 x 500 and the 250 x 250 file, against xarray read + climate_indices + xarray
  write on the 250 x 250 file.

Usage: python benchmarks/spi.py [--runs 3] [--no-xclim-grid] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

# climate_indices logs every call at INFO (structlog, to stderr); keep the table readable
os.environ.setdefault("CLIMATE_INDICES_LOG_LEVEL", "WARNING")

from landwatch.indices.drought import rolling_sum, standardized_precipitation_index
from landwatch.indices.drought.distributions import (
    calibration_statistics,
    gamma_parameters,
    zero_inflated_gamma_scores,
)
from landwatch.indices.drought.spi import calibration_rows, spi_core
from landwatch.workflows.drought import run_index

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("LANDWATCH_SHARED", HERE.parent.parent / "shared"))
if not (SHARED / "data").is_dir():
    SHARED = Path("/work/shared")


def best_of(fn: Callable[[], np.ndarray], runs: int, warm: bool = True) -> tuple[float, np.ndarray]:
    out = fn() if warm else None  # warm-up (numba compile / caches)
    times = []
    for _ in range(max(runs, 1)):
        out = None  # free the previous result before the next run
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    assert out is not None
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


def big_grid(n: int = 500, nt: int = 480, block: int = 25) -> xr.DataArray:
    """Deterministic n x n x nt float32 gamma grid, ~5 % zeros, made in row blocks
    (peak extra memory ~ nt*block*n*8*2 bytes, i.e. ~100 MB for the defaults)."""
    rng = np.random.default_rng(2024)
    g = np.empty((nt, n, n), dtype=np.float32)
    for i in range(0, n, block):
        rows = min(block, n - i)
        b = rng.gamma(2.0, 30.0, size=(nt, rows, n))
        b[rng.random(b.shape) < 0.05] = 0.0
        g[:, i : i + rows] = b
    t = pd.date_range("1981-01", periods=nt, freq="MS")
    return xr.DataArray(
        g,
        dims=("time", "y", "x"),
        coords={
            "time": t,
            "y": np.linspace(49.0, 25.0, n),
            "x": np.linspace(-124.0, -67.0, n),
        },
        attrs={"units": "mm"},
    )


def n_cells(pr: xr.DataArray) -> int:
    return int(np.prod([pr.sizes[d] for d in pr.dims if d != "time"]))


def subset(pr: xr.DataArray, n: int | None) -> xr.DataArray:
    if n is None or "y" not in pr.dims:
        return pr
    return pr.isel(y=slice(0, n), x=slice(0, n))


def lw_spi(pr: xr.DataArray, scale: int, method: str = "thom") -> np.ndarray:
    return standardized_precipitation_index(pr, scale=scale, method=method).values


def ci_spi(pr: xr.DataArray, scale: int) -> Callable[[], np.ndarray] | None:
    """climate_indices fast path on a time-major float64 copy (copy made outside the timing)."""
    try:
        from climate_indices import compute, indices
    except ImportError:
        return None
    block = np.require(pr.values.astype(np.float64), requirements=["C", "A"])
    if block.ndim == 2:
        block = block[:, :, None]
    start_year = int(pr.time.dt.year[0])
    shape = pr.shape

    def run() -> np.ndarray:
        old = np.seterr(all="ignore")
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")
                res = indices.spi(
                    block,
                    scale,
                    indices.Distribution.gamma,
                    start_year,
                    1981,
                    2010,
                    compute.Periodicity.monthly,
                    spatial_time_major=True,
                )
        finally:
            np.seterr(**old)
        return np.asarray(res).reshape(shape)

    return run


def xclim_spi(pr: xr.DataArray, scale: int) -> Callable[[], np.ndarray] | None:
    try:
        import xclim  # noqa: F401
        from xclim.indices import standardized_precipitation_index as xspi
    except ImportError:
        return None
    da = pr.astype(np.float64).assign_attrs(units="mm/month")

    def run() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = xspi(
                da,
                freq=None,
                window=scale,
                dist="gamma",
                method="APP",
                fitkwargs={"floc": 0},
                cal_start="1981-01-01",
                cal_end="2010-12-31",
            )
        return res.transpose(*pr.dims).values

    return run


def run_dataset(
    name: str,
    pr: xr.DataArray,
    scale: int,
    runs: int,
    *,
    xclim_sub: int | None | bool = None,
    ci_sub: int | None = None,
    variants: bool = True,
    lw_runs: int | None = None,
) -> tuple[list[tuple], float]:
    """Rows (data, scale, library, cells, seconds, max diff) and the landwatch thom time.

    ``ci_sub``/``xclim_sub``: run that peer on the first n x n cells (None: all cells,
    False for xclim: skip)."""
    rows: list[tuple] = []
    big = lw_runs is not None
    t_thom, ref = best_of(lambda: lw_spi(pr, scale), lw_runs if big else runs, warm=not big)
    cells = n_cells(pr)
    rows.append((name, scale, "landwatch thom (all cores)", cells, t_thom, 0.0))
    if variants:
        for method in ("lmoments", "mle"):
            t, out = best_of(lambda m=method: lw_spi(pr, scale, m), runs)
            rows.append((name, scale, f"landwatch {method}", cells, t, clipped_diff(out, ref)))
        years = pr.time.dt.year.values
        month = pr.time.dt.month.values - 1
        cal_rows = calibration_rows(month, (years >= 1981) & (years <= 2010))
        x_last = np.moveaxis(pr.values, 0, -1)
        t, out = best_of(
            lambda: np.moveaxis(
                spi_core(x_last, month_index=month, rows=cal_rows, scale=scale, threads=1),
                -1,
                0,
            ),
            runs,
        )
        rows.append(
            (name, scale, "landwatch thom, 1 thread (spi_core)", cells, t, clipped_diff(out, ref))
        )

    def ref_sub(n: int | None) -> np.ndarray:
        return ref if n is None or "y" not in pr.dims else ref[:, :n, :n]

    sub = subset(pr, ci_sub)
    run = ci_spi(sub, scale)
    if run is None:
        print("  note: climate_indices not importable - pip install climate-indices==3.1.0")
    else:
        t, out = best_of(run, 1 if big else runs, warm=not big)
        label = "climate_indices 3.1.0 gamma" + (f" [{ci_sub}x{ci_sub}]" if ci_sub else "")
        rows.append((name, scale, label, n_cells(sub), t, clipped_diff(out, ref_sub(ci_sub))))
        del run, out

    if xclim_sub is False:
        print(f"  note: xclim skipped on {name} (--no-xclim-grid)")
    else:
        xs = None if xclim_sub is None or xclim_sub is True else int(xclim_sub)
        sub = subset(pr, xs)
        run = xclim_spi(sub, scale)
        if run is None:
            print("  note: xclim not importable - pip install xclim")
        else:
            t, out = best_of(run, 1, warm=False)
            label = "xclim APP floc=0 (runs=1)" + (f" [{xs}x{xs}]" if xs else "")
            rows.append((name, scale, label, n_cells(sub), t, clipped_diff(out, ref_sub(xs))))
    return rows, t_thom


def clipped_diff(a: np.ndarray, b: np.ndarray) -> float:
    a = np.clip(a, -3.09, 3.09)
    b = np.clip(b, -3.09, 3.09)
    both = np.isfinite(a) & np.isfinite(b)
    mismatch = int(np.sum(np.isfinite(a) != np.isfinite(b)))
    d = float(np.max(np.abs(a[both] - b[both]))) if both.any() else float("nan")
    return d if mismatch == 0 else float("inf")


def floor_seconds(pr: xr.DataArray, scale: int) -> tuple[float, int]:
    """Single-thread gammainc + ndtri once per value of ``pr`` (its 3-month sums)."""
    x = np.moveaxis(pr.values, 0, -1).astype(np.float64)
    acc = x.copy()  # rolling sums: same value count, realistic x
    for k in range(1, scale):
        acc[..., k:] += x[..., :-k]
    x = acc.ravel()
    del acc
    rng = np.random.default_rng(7)
    alpha = rng.uniform(3.0, 9.0, size=x.size)  # Thom shapes seen for SPI-3 on this grid
    beta = 30.0
    xs = x / beta
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        p = special.gammainc(alpha, xs)
        z = special.ndtri(p)
        times.append(time.perf_counter() - t0)
        del p, z
    return min(times), x.size


def cdf_step_seconds(pr: xr.DataArray, scale: int) -> float:
    """landwatch step 4 alone (fused gamma CDF + quantile, 1 thread), the fit precomputed."""
    years = pr.time.dt.year.values
    month = pr.time.dt.month.values - 1
    cal_rows = calibration_rows(month, (years >= 1981) & (years <= 2010))
    all_rows = calibration_rows(month, np.ones(month.size, dtype=bool))
    acc = rolling_sum(pr.values.reshape(pr.shape[0], -1), scale, axis=0)
    alpha, beta, p0 = gamma_parameters(calibration_statistics(acc, cal_rows, 0, 0.0), "thom", 20)
    with np.errstate(divide="ignore"):
        z0 = np.clip(special.ndtri(p0), -3.09, 3.09)
    out = np.empty_like(acc)
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        zero_inflated_gamma_scores(acc, all_rows, alpha, beta, p0, z0, 3.09, out, 0)
        times.append(time.perf_counter() - t0)
    return min(times)


def write_nc(pr: xr.DataArray, path: Path) -> None:
    ds = pr.astype(np.float32).assign_attrs(units="mm/month").to_dataset(name="pr")
    ds["y"].attrs.update(units="degrees_north", standard_name="latitude")
    ds["x"].attrs.update(units="degrees_east", standard_name="longitude")
    import rioxarray  # noqa: F401  (landwatch requires a CRS in the file)

    ds.rio.write_crs("EPSG:4326", inplace=True)
    ds.to_netcdf(path)


def ci_end_to_end(src: Path, dst: Path, scale: int) -> float:
    t0 = time.perf_counter()
    with xr.open_dataset(src) as ds:
        pr = ds["pr"].load()
    run = ci_spi(pr, scale)
    assert run is not None
    out = run()
    res = xr.DataArray(out.astype(np.float32), dims=pr.dims, coords=pr.coords, name=f"spi_{scale}")
    res.to_dataset().to_netcdf(dst)
    return time.perf_counter() - t0


def print_table(table: list[tuple], lw_time: dict[tuple[str, int], float]) -> None:
    print()
    hdr = (
        f"| {'data':22} | {'SPI':>3} | {'library / config':44} | {'cells':>7} | "
        f"{'seconds':>8} | {'cells/s':>9} | {'lw x':>6} | {'max diff vs lw thom':>19} |"
    )
    print(hdr)
    print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    for d, scale, lib, cells, t, diff in table:
        lw_rate = lw_cells[(d, scale)] / lw_time[(d, scale)]
        rate = cells / t
        print(
            f"| {d:22} | {scale:3d} | {lib:44} | {cells:7d} | {t:8.3f} | {rate:9.0f} | "
            f"{lw_rate / rate:6.2f} | {diff:19.2e} |"
        )


lw_cells: dict[tuple[str, int], int] = {}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-xclim-grid", action="store_true", help="skip xclim on the grids")
    ap.add_argument("--quick", action="store_true", help="skip the 500 x 500 x 480 grid parts")
    args = ap.parse_args()
    t_start = time.perf_counter()
    print("peers: pip install climate-indices==3.1.0 xclim")
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, numpy {np.__version__}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    table: list[tuple] = []
    lw_time: dict[tuple[str, int], float] = {}
    xg: bool | None = False if args.no_xclim_grid else None
    datasets: list[tuple[str, xr.DataArray, dict]] = [
        ("nClimDiv 344x1536", load_nclimdiv(), {"xclim_sub": None}),
        ("grid 100x100x480 f32", synthetic_grid(), {"xclim_sub": xg}),
    ]
    for name, pr, kw in datasets:
        for scale in (3, 12):
            rows, t = run_dataset(name, pr, scale, args.runs, **kw)
            table += rows
            lw_time[(name, scale)] = t
            lw_cells[(name, scale)] = n_cells(pr)
            print(f"  done {name} SPI-{scale} ({time.perf_counter() - t_start:.0f} s)", flush=True)

    extra: list[str] = []
    if not args.quick:
        name = "grid 500x500x480 f32"
        pr = big_grid()
        for scale in (3, 12):
            rows, t = run_dataset(
                name,
                pr,
                scale,
                args.runs,
                xclim_sub=False if args.no_xclim_grid else 50,
                ci_sub=250,
                variants=False,
                lw_runs=1,
            )
            table += rows
            lw_time[(name, scale)] = t
            lw_cells[(name, scale)] = n_cells(pr)
            print(f"  done {name} SPI-{scale} ({time.perf_counter() - t_start:.0f} s)", flush=True)

        # linear growth (SPI-3, all cores)
        extra.append("Linear growth, landwatch thom SPI-3 (all cores):")
        extra.append(f"| {'grid':12} | {'cells':>7} | {'seconds':>8} | {'us/cell':>8} |")
        extra.append(f"|{'-' * 14}|{'-' * 9}|{'-' * 10}|{'-' * 10}|")
        growth = {}
        for n in (100, 250):
            t, _ = best_of(lambda n=n: lw_spi(subset(pr, n), 3), 2 if n == 100 else 1)
            growth[n] = t
        growth[500] = lw_time[(name, 3)]
        for n, t in growth.items():
            extra.append(f"| {n}x{n}x480 | {n * n:7d} | {t:8.3f} | {1e6 * t / (n * n):8.1f} |")

        # floor: gamma CDF + inverse normal once per value, 1 thread
        sub = subset(pr, 250)
        t_floor, n_vals = floor_seconds(sub, 3)
        rate = n_vals / t_floor
        years = sub.time.dt.year.values
        month = sub.time.dt.month.values - 1
        cal_rows = calibration_rows(month, (years >= 1981) & (years <= 2010))
        x_last = np.moveaxis(sub.values, 0, -1)
        t_k1, _ = best_of(
            lambda: spi_core(x_last, month_index=month, rows=cal_rows, scale=3, threads=1),
            1,
            warm=False,
        )
        ncpu = os.cpu_count() or 1
        t_kn, _ = best_of(
            lambda: spi_core(x_last, month_index=month, rows=cal_rows, scale=3), 1, warm=False
        )
        extra.append("")
        extra.append(
            f"Floor: scipy gammainc + ndtri once per value, 1 thread, {n_vals / 1e6:.1f} M values "
            f"(250x250x480): {t_floor:.3f} s = {rate / 1e6:.2f} M values/s per core"
        )
        extra.append(
            f"| {'landwatch SPI-3 kernel (spi_core), 250x250x480':52} | {'seconds':>8} | "
            f"{'floor s':>8} | {'kernel/floor':>12} |"
        )
        extra.append(f"|{'-' * 54}|{'-' * 10}|{'-' * 10}|{'-' * 14}|")
        extra.append(
            f"| {'1 thread vs floor 1 thread':52} | {t_k1:8.3f} | {t_floor:8.3f} | "
            f"{t_k1 / t_floor:12.2f} |"
        )
        extra.append(
            f"| {f'all cores vs floor / {ncpu} cores':52} | {t_kn:8.3f} | "
            f"{t_floor / ncpu:8.3f} | {t_kn / (t_floor / ncpu):12.2f} |"
        )
        t_cdf = cdf_step_seconds(sub, 3)
        extra.append(
            f"| {'1 thread vs own CDF step alone (fit given)':52} | {t_k1:8.3f} | "
            f"{t_cdf:8.3f} | {t_k1 / t_cdf:12.2f} |"
        )
        t500 = lw_time[(name, 3)]
        f500 = pr.size / rate / ncpu
        extra.append(
            f"| {f'500x500x480 all cores vs floor (from rate) / {ncpu}':52} | "
            f"{t500:8.3f} | {f500:8.3f} | {t500 / f500:12.2f} |"
        )
        del x_last

        # end to end NetCDF -> NetCDF
        extra.append("")
        extra.append("End to end NetCDF -> NetCDF, SPI-3 (read, compute, write float32):")
        extra.append(
            f"| {'tool':58} | {'grid':9} | {'seconds':>8} | {'cells/s':>8} | {'lw x':>6} |"
        )
        extra.append(f"|{'-' * 60}|{'-' * 11}|{'-' * 10}|{'-' * 10}|{'-' * 8}|")
        with tempfile.TemporaryDirectory(prefix="lw_spi_bench_") as tmp:
            d = Path(tmp)
            src500, src250 = d / "pr500.nc", d / "pr250.nc"
            write_nc(pr, src500)
            write_nc(sub, src250)
            del pr, sub
            e2e: dict[str, float] = {}
            for tag, src in (("500x500", src500), ("250x250", src250)):
                t0 = time.perf_counter()
                run_index("spi", src, d / f"lw{tag}.nc", scale=3, variable="pr", overwrite=True)
                e2e[tag] = time.perf_counter() - t0
            t_ci = ci_end_to_end(src250, d / "ci250.nc", 3)
            lw_rate250 = 250 * 250 / e2e["250x250"]
            lbl = "landwatch run_index('spi') (= landwatch drought spi)"
            for tag, n in (("500x500", 500), ("250x250", 250)):
                r = n * n / e2e[tag]
                extra.append(f"| {lbl:58} | {tag:9} | {e2e[tag]:8.3f} | {r:8.0f} | {'':>6} |")
            r = 250 * 250 / t_ci
            lbl = "xarray read + climate_indices 3.1.0 + xarray write"
            extra.append(
                f"| {lbl:58} | {'250x250':9} | {t_ci:8.3f} | {r:8.0f} | {lw_rate250 / r:6.2f} |"
            )

    print_table(table, lw_time)
    for line in extra:
        print(line)
    print(f"\ntotal benchmark wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
