"""Benchmark: the SDG 15.3.1 assessment of a synthetic country on a 2-worker LocalCluster.

For each size N (default 1,000 ... 12,000) it generates, once and out of core, a
synthetic N x N px country (annual NDVI 2000-2023 as a chunked int16 Zarr store with
``scale_factor``, land cover 2000/2015/2019/2023, SOC, climate zones, soil units and
16 admin units as tiled GeoTIFFs/GeoPackage), then runs the full default assessment
(three periods, status, maps, tables, manifest) with dask computations sent to a
``LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=...)``.

Per size it reports wall time, throughput (Mpx/s = grid pixels per second, each pixel
with its 24-year series; also pixel-years per second), the peak resident memory of
each worker process (with its children, polled every 0.1 s), of the client process
(which also hosts the LocalCluster's scheduler) and the time growth exponent between
consecutive sizes (log time ratio / log pixel ratio; 1 = linear). A cheap sanity
check compares the baseline trajectory map with the planted trends.

Each size runs in its own child process (so one size's memory does not carry into
the next); a watchdog stops a child whose client process goes over ``--client-limit``.

Usage:
    python benchmarks/scale.py [--sizes 1000,2000,4000,8000,12000] [--workers 2]
        [--memory-limit 6GB] [--chunks 1000] [--client-limit 16GB] [--keep]

Inputs are cached in benchmarks/.cache/scale/<size>-<chunks>/; results go to
benchmarks/results/scale.json and scale.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "scale"
RESULTS = HERE / "results"
YEARS = np.arange(2000, 2024)
LC_YEARS = (2000, 2015, 2019, 2023)
RES = 0.00225  # degrees, about 250 m
X0, Y0 = 20.0, 12.0
SEED = 20240
#: NDVI by land cover class (index = UNCCD class 1..7); class 7 is water.
BASE_NDVI = np.array([0.0, 0.65, 0.4, 0.45, 0.55, 0.15, 0.12, 0.02], dtype=np.float32)
DEGRADING, IMPROVING = 0.08, 0.04  # planted shares of land pixels
SLOPE = 0.01  # NDVI per year, planted trend magnitude
NOISE = 0.02
ADMIN_SIDE = 4  # admin units: a 4 x 4 grid of provinces


# --------------------------------------------------------------------------- generator


def _uniform(stream: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Deterministic U[0, 1) per global (row, col): a splitmix64 hash, any tiling."""
    with np.errstate(over="ignore"):
        h = (rows.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ (
            cols.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        )
        h ^= np.uint64((SEED * 1_000_003 + stream) & 0xFFFFFFFF)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def tile_fields(size: int, y0: int, y1: int, x0: int, x1: int) -> dict[str, np.ndarray]:
    """Every 2-D field of the country on rows y0:y1, cols x0:x1 (global pixel indices)."""
    rows = np.arange(y0, y1)[:, None]
    cols = np.arange(x0, x1)[None, :]
    # land cover: 50 px blocks of classes 1..6, a water strip on the west coast
    lc2000 = (1 + (_uniform(1, rows // 50, cols // 50) * 6).astype(np.int16)).astype(np.int16)
    water = np.broadcast_to(cols < max(1, size // 100), lc2000.shape)
    lc2000 = np.where(water, 7, lc2000).astype(np.int16)
    lc2015 = np.where(_uniform(2, rows, cols) < 0.02, 3, lc2000)
    lc2019 = np.where(_uniform(3, rows, cols) < 0.01, 5, lc2015)
    lc2023 = np.where(_uniform(4, rows, cols) < 0.01, 2, lc2019)
    lcs = {
        y: np.where(water, 7, a).astype(np.int16)
        for y, a in zip(LC_YEARS, (lc2000, lc2015, lc2019, lc2023), strict=True)
    }
    u = _uniform(5, rows, cols)
    slope = np.where(u < DEGRADING, -SLOPE, np.where(u > 1 - IMPROVING, SLOPE, 0.0))
    slope = np.where(water, 0.0, slope).astype(np.float32)
    soc = (10 + 70 * _uniform(6, rows, cols)).astype(np.float32)
    # climate zones by latitude band: tropical moist / tropical dry / warm temperate dry
    lat_band = np.broadcast_to(rows * 3 // size, lc2000.shape)
    zones = np.choose(lat_band, [11, 12, 2]).astype(np.int16)
    soil = np.broadcast_to(cols * 4 // size + 1, lc2000.shape).astype(np.int16)
    return {
        **{f"lc_{y}": a for y, a in lcs.items()},
        "slope": slope,
        "soc": soc,
        "zones": zones,
        "soil": soil,
    }


def _ndvi_block(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    """One (time, y, x) NDVI chunk: class base + planted trend + noise (seed per chunk)."""
    assert block_info is not None
    info = block_info[None]
    (_, _), (y0, y1), (x0, x1) = info["array-location"]
    size = info["shape"][1]
    f = tile_fields(size, y0, y1, x0, x1)
    t = (YEARS - YEARS[0]).astype(np.float32)[:, None, None]
    rng = np.random.default_rng([SEED, *info["chunk-location"]])
    noise = rng.standard_normal((len(YEARS), y1 - y0, x1 - x0), dtype=np.float32) * NOISE
    return BASE_NDVI[f["lc_2000"]][None] + f["slope"][None] * t + noise


def make_country(folder: Path, size: int, chunk: int) -> Path:
    """Write the inputs out of core (NDVI chunk by chunk, 2-D rasters window by window)."""
    import dask
    import dask.array as dsa
    import geopandas as gpd
    import rasterio
    import xarray as xr
    import yaml
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    from shapely.geometry import box

    done = folder / "run.yaml"
    if done.exists():
        return done
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    xs = X0 + RES * (np.arange(size) + 0.5)
    ys = Y0 - RES * (np.arange(size) + 0.5)
    transform = from_origin(X0, Y0, RES, RES)
    # 2-D rasters: tiled DEFLATE GeoTIFFs written one window (a chunk-row band) at a time
    names = {**{f"lc_{y}": -32768 for y in LC_YEARS}, "soc": None, "zones": -32768, "soil": -32768}
    files = {}
    for name, nodata in names.items():
        dtype = "float32" if name == "soc" else "int16"
        files[name] = rasterio.open(
            folder / f"{name}.tif", "w", driver="GTiff", height=size, width=size, count=1,
            dtype=dtype, crs="EPSG:4326", transform=transform, nodata=nodata, tiled=True,
            blockxsize=512, blockysize=512, compress="DEFLATE", zlevel=1, BIGTIFF="IF_SAFER",
        )  # fmt: skip
    try:
        band = 1024
        for r0 in range(0, size, band):
            r1 = min(size, r0 + band)
            f = tile_fields(size, r0, r1, 0, size)
            for name, dst in files.items():
                dst.write(f[name], 1, window=Window(0, r0, size, r1 - r0))  # type: ignore[arg-type]
    finally:
        for dst in files.values():
            dst.close()
    # NDVI: int16 x 1e-4 (CF scale_factor, decoded to float32 by the reader)
    c = min(chunk, size)
    template = dsa.zeros((len(YEARS), size, size), dtype=np.float32, chunks=(-1, c, c))
    cube = dsa.map_blocks(_ndvi_block, template, dtype=np.float32)
    ds = xr.Dataset(
        {"ndvi": (("time", "y", "x"), cube)}, coords={"time": YEARS, "y": ys, "x": xs}
    ).rio.write_crs(4326)
    enc = {"ndvi": {"dtype": "int16", "scale_factor": np.float32(1e-4), "_FillValue": -32768}}
    with dask.config.set(scheduler="threads", num_workers=2):
        ds.to_zarr(folder / "ndvi.zarr", mode="w", encoding=enc)
    # admin: a grid of provinces
    side = size * RES / ADMIN_SIDE
    cells = [(i, j) for i in range(ADMIN_SIDE) for j in range(ADMIN_SIDE)]
    admin = gpd.GeoDataFrame(
        {
            "admin_id": [f"P{i}{j}" for i, j in cells],
            "name": [f"Province {i * ADMIN_SIDE + j + 1}" for i, j in cells],
        },
        geometry=[
            box(X0 + j * side, Y0 - (i + 1) * side, X0 + (j + 1) * side, Y0 - i * side)
            for i, j in cells
        ],
        crs=4326,
    )
    admin.to_file(folder / "admin.gpkg", layer="admin1")
    cfg = {
        "ndvi": "ndvi.zarr",
        "ndvi_variable": "ndvi",
        "land_cover": {y: f"lc_{y}.tif" for y in LC_YEARS},
        "soc": "soc.tif",
        "climate_zones": "zones.tif",
        "soil_units": "soil.tif",
        "admin": "admin.gpkg",
    }
    done.write_text(yaml.safe_dump(cfg))
    return done


def planted_check(out: Path, size: int) -> dict[str, float]:
    """Share of planted-degrading land pixels the baseline trajectory calls declining,
    and of untrended land pixels it calls declining (false alarms); read by windows."""
    import rasterio
    from rasterio.windows import Window

    hit = deg = alarm = flat = 0
    with rasterio.open(out / "maps" / "baseline" / "trajectory.tif") as src:
        band = 2048
        for r0 in range(0, size, band):
            r1 = min(size, r0 + band)
            traj = src.read(1, window=Window(0, r0, size, r1 - r0))
            f = tile_fields(size, r0, r1, 0, size)
            land = f["lc_2000"] != 7
            d = land & (f["slope"] < 0)
            s = land & (f["slope"] == 0)
            deg += int(d.sum())
            hit += int((d & (traj == -1)).sum())
            flat += int(s.sum())
            alarm += int((s & (traj == -1)).sum())
    return {
        "planted_degrading_found": hit / deg if deg else math.nan,
        "false_decline_untrended": alarm / flat if flat else math.nan,
    }


# --------------------------------------------------------------------------- memory


class TreeSampler:
    """Poll the RSS of this process and of each dask worker process (with children)."""

    def __init__(self, client: Any, interval: float = 0.1) -> None:
        self.client = client
        self.interval = interval
        self.client_peak = 0
        self.step_peak = 0
        self.worker_peak: dict[str, int] = {}
        self._pids: dict[str, int] = {}
        self._stop = threading.Event()
        self._me = psutil.Process()

    def _refresh(self) -> None:
        pids = self.client.run(os.getpid)
        names = {a: w.get("name", a) for a, w in self.client.scheduler_info()["workers"].items()}
        self._pids = {str(names.get(a, a)): pid for a, pid in pids.items()}

    @staticmethod
    def _tree_rss(pid: int) -> int:
        try:
            p = psutil.Process(pid)
            return p.memory_info().rss + sum(
                c.memory_info().rss for c in p.children(recursive=True)
            )
        except psutil.Error:
            return 0

    def _run(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - last > 2.0:  # workers restarted by their nanny get new pids
                try:
                    self._refresh()
                except Exception:  # noqa: BLE001 - the cluster may be closing
                    pass
                last = now
            rss = self._me.memory_info().rss
            self.client_peak = max(self.client_peak, rss)
            self.step_peak = max(self.step_peak, rss)
            for name, pid in list(self._pids.items()):
                key = str(name)
                self.worker_peak[key] = max(self.worker_peak.get(key, 0), self._tree_rss(pid))
            time.sleep(self.interval)

    def __enter__(self) -> TreeSampler:
        self._refresh()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


class StepTimer:
    """Progress sink: wall time of each workflow step and the client's peak RSS in it."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.steps: list[tuple[str, float, float]] = []
        self.mem: TreeSampler | None = None

    def start(self, total: int) -> None:
        self.t = time.perf_counter()

    def step(self, message: str) -> None:
        now = time.perf_counter()
        peak = 0.0
        if self.mem is not None:
            peak = self.mem.step_peak / 2**30
            self.mem.step_peak = psutil.Process().memory_info().rss
        self.steps.append((message, round(now - self.t, 2), round(peak, 2)))
        self.t = now
        print(f"    {message:<44} {self.steps[-1][1]:8.2f} s  client {peak:6.2f} GiB", flush=True)


# --------------------------------------------------------------------------- one size


def run_one(size: int, args: argparse.Namespace) -> dict[str, Any]:
    """Generate (or reuse) the inputs of one size and run the assessment on a cluster."""
    import dask
    from distributed import Client, LocalCluster

    from landwatch.workflows.config import load_config
    from landwatch.workflows.sdg1531 import run_sdg1531

    folder = CACHE / f"{size}-{args.chunks}"
    t0 = time.perf_counter()
    cfg_path = make_country(folder, size, args.chunks)
    gen = time.perf_counter() - t0
    print(f"  inputs ready in {gen:.1f} s at {folder}", flush=True)
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    cfg = load_config(cfg_path, chunks=args.chunks)
    rec: dict[str, Any] = {
        "size": size,
        "pixels": size * size,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "input_generation_s": round(gen, 1),
        "load_average_before": [round(v, 2) for v in os.getloadavg()],
    }
    with (
        dask.config.set({"distributed.worker.memory.target": 0.6}),
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.memory_limit,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster, set_as_default=True) as client,
    ):
        timer = StepTimer()
        with TreeSampler(client) as mem:
            timer.mem = mem
            t0 = time.perf_counter()
            try:
                result = run_sdg1531(cfg, out, overwrite=True, progress=timer)
                rec["ok"] = True
                rec["areas_reconcile"] = bool(result.summary["all_areas_reconcile"])
            except Exception as exc:  # noqa: BLE001 - reported, not hidden
                rec["ok"] = False
                rec["error"] = f"{type(exc).__name__}: {exc}"[:500]
            wall = time.perf_counter() - t0
    rec["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    rec["wall_s"] = round(wall, 2)
    rec["mpx_per_s"] = round(size * size / 1e6 / wall, 3)
    rec["mpx_years_per_s"] = round(size * size * len(YEARS) / 1e6 / wall, 2)
    rec["worker_peak_gib"] = {k: round(v / 2**30, 3) for k, v in sorted(mem.worker_peak.items())}
    rec["client_peak_gib"] = round(mem.client_peak / 2**30, 3)
    rec["steps"] = timer.steps
    if rec["ok"]:
        rec.update({k: round(v, 4) for k, v in planted_check(out, size).items()})
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return rec


def _parse_bytes(text: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(text))


def _spawn(size: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run one size in a child process; stop it if its client goes over --client-limit."""
    result = CACHE / f"result-{size}.json"
    result.unlink(missing_ok=True)
    cmd = [
        sys.executable, __file__, "--one", str(size), "--chunks", str(args.chunks),
        "--workers", str(args.workers), "--memory-limit", args.memory_limit,
        "--result", str(result),
    ] + (["--keep"] if args.keep else [])  # fmt: skip
    limit = _parse_bytes(args.client_limit)
    proc = subprocess.Popen(cmd, start_new_session=True)
    child = psutil.Process(proc.pid)
    killed = False
    peak_total = 0
    while proc.poll() is None:
        try:
            rss = child.memory_info().rss
            total = rss + sum(c.memory_info().rss for c in child.children(recursive=True))
        except psutil.Error:
            rss = total = 0
        peak_total = max(peak_total, total)
        if rss > limit and not killed:
            print(f"  client RSS {rss / 2**30:.1f} GiB > --client-limit: stopping size {size}")
            os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: it and its workers
            killed = True
        time.sleep(0.2)
    if result.exists():
        rec = json.loads(result.read_text())
    else:
        rec = {
            "size": size,
            "pixels": size * size,
            "ok": False,
            "error": "client over --client-limit, stopped"
            if killed
            else f"child exited with {proc.returncode}",
        }
    rec["process_tree_peak_gib"] = round(peak_total / 2**30, 3)
    return rec


# --------------------------------------------------------------------------- report


def _versions() -> dict[str, str]:
    import dask
    import distributed
    import numpy
    import rasterio
    import xarray
    import zarr

    import landwatch

    return {
        "python": platform.python_version(),
        "landwatch": landwatch.__version__,
        "numpy": numpy.__version__,
        "xarray": xarray.__version__,
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "zarr": zarr.__version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
    }


def _growth(recs: list[dict[str, Any]]) -> None:
    prev = None
    for r in recs:
        if prev is not None and r.get("ok") and prev.get("ok"):
            px = r["pixels"] / prev["pixels"]
            tr = r["wall_s"] / prev["wall_s"]
            r["time_ratio"] = round(tr, 3)
            r["pixel_ratio"] = round(px, 3)
            r["growth_exponent"] = round(math.log(tr) / math.log(px), 3)
        if r.get("ok"):
            prev = r


def _gib(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _table(recs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| size (px) | Mpx | wall s | Mpx/s | Mpx-years/s | peak per worker GiB | client GiB "
        "| time ratio / px ratio (exponent) | degrading found / false declines | result |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- | --- | --- |",
    ]
    for r in recs:
        workers = ", ".join(_gib(v) for v in r.get("worker_peak_gib", {}).values()) or "-"
        growth = (
            f"{r['time_ratio']:.2f} / {r['pixel_ratio']:.2f} ({r['growth_exponent']:.2f})"
            if "growth_exponent" in r
            else "-"
        )
        check = (
            f"{100 * r['planted_degrading_found']:.1f} % / {100 * r['false_decline_untrended']:.2f} %"
            if "planted_degrading_found" in r
            else "-"
        )
        status = "ok" if r.get("ok") else f"FAILED: {r.get('error', '')[:120]}"
        if r.get("ok") and not r.get("areas_reconcile", True):
            status = "ok, areas do NOT reconcile"
        lines.append(
            f"| {r['size']:,}^2 | {r['pixels'] / 1e6:.0f} | {r.get('wall_s', '-')} "
            f"| {r.get('mpx_per_s', '-')} | {r.get('mpx_years_per_s', '-')} | {workers} "
            f"| {_gib(r.get('client_peak_gib'))} | {growth} | {check} | {status} |"
        )
    return lines


def write_report(recs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    load = os.getloadavg()
    doc = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(),
            "load_average_at_end": [round(v, 2) for v in load],
        },
        "versions": _versions(),
        "cluster": {
            "n_workers": args.workers,
            "threads_per_worker": 1,
            "processes": True,
            "memory_limit": args.memory_limit,
        },
        "chunks": args.chunks,
        "years": [int(YEARS[0]), int(YEARS[-1])],
        "results": recs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(doc, indent=1))
    write_markdown(doc)


def write_markdown(doc: dict[str, Any]) -> None:
    """results/scale.md from the results document (also with --report, from scale.json)."""
    m = doc["machine"]
    v = doc["versions"]
    c = doc["cluster"]
    recs = doc["results"]
    md = [
        "# National-scale SDG 15.3.1 run (`benchmarks/scale.py`)",
        "",
        f"Measured {doc['date']} with `{doc['command']}`.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['platform']}; "
        f"load average at the end {m['load_average_at_end']}; other processes (other "
        "engineers' test runs) were running on the same 2 cores, see the load averages "
        "per size below and in scale.json.",
        f"Versions: {', '.join(f'{k} {x}' for k, x in v.items())}.",
        f"Cluster: LocalCluster, {c['n_workers']} worker processes x 1 thread, memory_limit "
        f"{c['memory_limit']} each (dask's default thresholds: spill to disk from 60-70 %, "
        "pause at 80 %, restart at 95 %); dask chunks "
        f"{doc['chunks']} x {doc['chunks']} px. Each size runs in a fresh process; the "
        "order of the sizes is that of the command.",
        "",
        "Synthetic country: N x N px at 0.00225 deg, NDVI 2000-2023 (int16 Zarr, "
        "scale_factor 1e-4), 4 land cover years, SOC, 3 climate zones, 4 soil units, 16 "
        "admin units; full default assessment (3 periods, status, maps, tables, manifest). "
        "Mpx/s = grid pixels (each with its 24-year series) per second of wall time; "
        "Mpx-years/s counts pixel-years. Peak memory: resident set sampled every 0.1 s, "
        "per worker process with its children, and of the client process (which also "
        "hosts the scheduler). Growth exponent = log(time ratio) / log(pixel ratio) "
        "between consecutive sizes (1 = linear). Check: share of planted-degrading "
        "land pixels the baseline trajectory classes as declining / share of untrended "
        "land pixels classed as declining.",
        "",
        *_table(recs),
    ]
    md += ["", "Load average (1, 5, 15 min) before / after each size:", ""]
    for r in recs:
        if "load_average_before" in r:
            md.append(
                f"- {r['size']:,}^2 ({r['date']}): {r['load_average_before']} / "
                f"{r['load_average_after']}"
            )
    md += [
        "",
        "Time per workflow step and the client's peak RSS in it (in a chunked run the steps "
        "before 'status; all layers computed to Zarr' only build the dask graph; that step "
        "is the one pass that computes every layer; 'read NDVI' includes the workers' "
        "first task):",
        "",
    ]
    for r in recs:
        if r.get("steps"):
            md.append(
                f"- {r['size']:,}^2: " + "; ".join(f"{s} {t} s ({g} GiB)" for s, t, g in r["steps"])
            )
    (RESULTS / "scale.md").write_text("\n".join(md) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1000,2000,4000,8000,12000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="6GB", help="per worker (dask memory_limit)")
    ap.add_argument("--chunks", type=int, default=1000, help="dask chunk side in px")
    ap.add_argument(
        "--client-limit", default="16GB", help="stop a size whose client RSS exceeds this"
    )
    ap.add_argument("--keep", action="store_true", help="keep each size's output folder")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the other sizes of an earlier results/scale.json (same settings)",
    )
    ap.add_argument(
        "--report", action="store_true", help="only rewrite results/scale.md from scale.json"
    )
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.report:
        write_markdown(json.loads((RESULTS / "scale.json").read_text()))
        return
    if args.one:
        rec = run_one(args.one, args)
        args.result.write_text(json.dumps(rec))
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    recs: list[dict[str, Any]] = []
    old = RESULTS / "scale.json"
    if args.merge and old.exists():  # keep other sizes measured with the same settings
        prev = json.loads(old.read_text())
        same = (
            prev.get("chunks") == args.chunks
            and prev.get("cluster", {}).get("memory_limit") == args.memory_limit
            and prev.get("cluster", {}).get("n_workers") == args.workers
        )
        recs = prev["results"] if same else []
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"size {size:,} x {size:,} px x {len(YEARS)} years", flush=True)
        rec = _spawn(size, args)
        recs = sorted([r for r in recs if r["size"] != size] + [rec], key=lambda r: r["size"])
        for r in recs:
            for k in ("time_ratio", "pixel_ratio", "growth_exponent"):
                r.pop(k, None)
        _growth(recs)
        print("\n".join(_table([rec])[2:]), flush=True)
        write_report(recs, args)
    print()
    print("\n".join(_table(recs)))
    print(f"\nwritten {RESULTS / 'scale.json'} and {RESULTS / 'scale.md'}")


if __name__ == "__main__":
    main()
