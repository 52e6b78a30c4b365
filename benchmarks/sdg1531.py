"""Benchmark: the full SDG 15.3.1 assessment on a synthetic N x N px x 24-year stack.

Prints wall time, peak resident memory (this process, sampled every 50 ms) and
Mpx/s for the complete run (reading inputs, three periods, status, maps, tables,
manifest). Also times the Mann-Kendall kernel against the peer packages
pymannkendall and scipy on the same series, and prints the ratios.

Usage: python benchmarks/sdg1531.py [--size 4000] [--chunks 1000] [--keep]
Inputs are generated once into benchmarks/.cache/<size>/ and reused.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent


class StepTimer:
    """Progress sink that records the wall time of each workflow step."""

    def __init__(self, mem: PeakRSS | None = None) -> None:
        self.t = time.perf_counter()
        self.mem = mem
        self.steps: list[tuple[str, float, float]] = []

    def start(self, total: int) -> None:
        self.t = time.perf_counter()

    def step(self, message: str) -> None:
        now = time.perf_counter()
        peak = 0.0
        if self.mem is not None:  # peak RSS since the previous step, then reset
            peak = self.mem.peak / 2**30
            self.mem.peak = psutil.Process().memory_info().rss
        self.steps.append((message, now - self.t, peak))
        self.t = now


class PeakRSS:
    """Sample this process's RSS in a thread; report the maximum."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def __enter__(self) -> PeakRSS:
        self.peak = self._proc.memory_info().rss
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def make_inputs(folder: Path, size: int, chunk: int, seed: int = 0) -> Path:
    """Write a synthetic region (Zarr NDVI cube, COG land cover/SOC/zones/soil, admin GPKG)."""
    import geopandas as gpd
    import xarray as xr
    import yaml
    from shapely.geometry import box

    from landwatch.io.rasters import write_cog

    done = folder / "run.yaml"
    if done.exists():
        return done
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    res = 0.00225
    x0, y0 = 20.0, 5.0
    xs = x0 + res * (np.arange(size) + 0.5)
    ys = y0 - res * (np.arange(size) + 0.5)
    years = np.arange(2000, 2024)

    def grid(arr: np.ndarray, name: str) -> xr.DataArray:
        return xr.DataArray(
            arr, dims=("y", "x"), coords={"y": ys, "x": xs}, name=name
        ).rio.write_crs(4326)

    # land cover: coarse blocks of classes 1..6 with water (7) strips; some transitions
    blocks = rng.integers(1, 7, size=(size // 50 + 1, size // 50 + 1)).astype(np.int16)
    lc2000 = np.kron(blocks, np.ones((50, 50), dtype=np.int16))[:size, :size]
    lc2000[:, : max(1, size // 100)] = 7
    change = rng.random((size, size)) < 0.02
    lc2015 = np.where(change, 3, lc2000).astype(np.int16)
    lc2019 = np.where(rng.random((size, size)) < 0.01, 5, lc2015).astype(np.int16)
    lc2023 = np.where(rng.random((size, size)) < 0.01, 2, lc2019).astype(np.int16)
    lcs = {2000: lc2000, 2015: lc2015, 2019: lc2019, 2023: lc2023}
    for y, a in lcs.items():
        a[:, : max(1, size // 100)] = 7
        write_cog(grid(a, "lc"), folder / f"lc_{y}.tif", nodata=-32768)
    write_cog(grid(rng.uniform(10, 80, (size, size)).astype(np.float32), "soc"), folder / "soc.tif")
    write_cog(grid(np.full((size, size), 12, np.int16), "cz"), folder / "zones.tif", nodata=-32768)
    write_cog(
        grid((np.arange(size)[None, :] * 4 // size + 1).repeat(size, 0).astype(np.int16), "soil"),
        folder / "soil.tif",
        nodata=-32768,
    )
    base = np.array([0.0, 0.65, 0.4, 0.45, 0.55, 0.15, 0.12, 0.02], dtype=np.float32)
    # NDVI cube written chunk by chunk into Zarr: base by class + trend + noise
    store = folder / "ndvi.zarr"
    template = xr.DataArray(
        np.zeros((len(years), size, size), np.float32),
        dims=("time", "y", "x"),
        coords={"time": years, "y": ys, "x": xs},
        name="ndvi",
    ).chunk({"time": -1, "y": chunk, "x": chunk})
    ds = template.to_dataset().rio.write_crs(4326)
    ds.to_zarr(store, compute=False, mode="w")
    slopes = np.where(rng.random((size, size)) < 0.1, -0.01, 0.0).astype(np.float32)
    for i in range(0, size, chunk):
        for j in range(0, size, chunk):
            sl = (slice(i, i + chunk), slice(j, j + chunk))
            b = base[lc2000[sl]]
            t = (years - 2000).astype(np.float32)[:, None, None]
            cube = (
                b[None]
                + slopes[sl][None] * t
                + rng.normal(0, 0.02, (len(years),) + b.shape).astype(np.float32)
            )
            piece = xr.Dataset({"ndvi": (("time", "y", "x"), cube.astype(np.float32))})
            piece.to_zarr(store, region={"time": slice(None), "y": sl[0], "x": sl[1]})
    half = size * res / 2
    admin = gpd.GeoDataFrame(
        {"admin_id": ["A", "B", "C"], "name": ["West", "North-east", "South-east"]},
        geometry=[
            box(x0, y0 - 2 * half, x0 + half, y0),
            box(x0 + half, y0 - half, x0 + 2 * half, y0),
            box(x0 + half, y0 - 2 * half, x0 + 2 * half, y0 - half),
        ],
        crs=4326,
    )
    admin.to_file(folder / "admin.gpkg", layer="admin1")
    cfg = {
        "ndvi": "ndvi.zarr",
        "ndvi_variable": "ndvi",
        "land_cover": {y: f"lc_{y}.tif" for y in lcs},
        "soc": "soc.tif",
        "climate_zones": "zones.tif",
        "soil_units": "soil.tif",
        "admin": "admin.gpkg",
    }
    done.write_text(yaml.safe_dump(cfg))
    return done


def bench_mann_kendall(
    n_series: int = 2000, n_years: int = 16, seed: int = 1
) -> list[tuple[str, float]]:
    """Seconds per series for our kernel and the peers on the same data."""
    import pymannkendall
    from scipy import stats

    from landwatch.indices.land.trend import mann_kendall

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_series, n_years)).round(2)
    big = np.tile(x, (200, 1))
    mann_kendall(big[:10], method="normal")  # compile
    t0 = time.perf_counter()
    mann_kendall(big, method="normal")
    ours = (time.perf_counter() - t0) / big.shape[0]
    t0 = time.perf_counter()
    for row in x:
        pymannkendall.original_test(row)
    pmk = (time.perf_counter() - t0) / n_series
    t0 = time.perf_counter()
    t = np.arange(n_years)
    for row in x:
        stats.kendalltau(t, row)
    sp = (time.perf_counter() - t0) / n_series
    return [
        ("landwatch mann_kendall", ours),
        ("pymannkendall.original_test", pmk),
        ("scipy.stats.kendalltau", sp),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--chunks", type=int, default=1000)
    ap.add_argument("--keep", action="store_true", help="keep the output folder")
    args = ap.parse_args()

    from landwatch.workflows.config import load_config
    from landwatch.workflows.sdg1531 import run_sdg1531

    cache = HERE / ".cache" / str(args.size)
    t0 = time.perf_counter()
    cfg_path = make_inputs(cache, args.size, args.chunks)
    print(f"inputs ready in {time.perf_counter() - t0:.1f} s at {cache}")
    out = cache / "out"
    shutil.rmtree(out, ignore_errors=True)
    cfg = load_config(cfg_path, chunks=args.chunks)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        timer = StepTimer(mem)
        result = run_sdg1531(cfg, out, overwrite=True, progress=timer)
        wall = time.perf_counter() - t0
    px = args.size * args.size
    print()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"
    )
    print(
        f"SDG 15.3.1 full assessment, {args.size} x {args.size} px x 24 years, 3 periods, chunks {args.chunks}"
    )
    print(f"  wall time      {wall:8.1f} s   (target < 45 s)")
    overall = max([p for _, _, p in timer.steps] + [mem.peak / 2**30])
    print(f"  peak memory    {overall:8.2f} GiB (target < 4 GiB)")
    print(f"  throughput     {px / 1e6 / wall:8.2f} Mpx/s")
    print(f"  area check     {'ok' if result.summary['all_areas_reconcile'] else 'FAILED'}")
    print("  time and peak memory per step:")
    for msg, sec, peak in timer.steps:
        print(f"    {msg:<44} {sec:7.2f} s {peak:6.2f} GiB")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    print()
    print("Mann-Kendall on 16-year series (same data for all):")
    rows = bench_mann_kendall()
    ours = rows[0][1]
    for name, sec in rows:
        print(f"  {name:<30} {sec * 1e6:10.2f} us/series   ratio to landwatch {sec / ours:10.1f}x")


if __name__ == "__main__":
    main()
