"""Benchmark: a bounded load run against the web service on localhost.

Starts `landwatch serve` (uvicorn, one process) on the sample region's SDG 15.3.1 and
LDN runs, with the curated practices seeded and a contributor token, then sends
N requests from C concurrent clients (httpx, asyncio) over a fixed mix:

  reads  60 %: /health, /layers, /practices?q=..., /alerts, /layers/{id}/value,
               /runs/{run}/tables/..., /practices/{uuid}
  tiles  30 %: /layers/{id}/tiles/{z}/{x}/{y}.png over the sample (zoom 8-11)
  writes 10 %: POST /observations (valid field reports)

and prints throughput, p50/p95/p99 latency per kind and the errors (any status >= 400
other than the expected ones, or a transport error). The rate limits are raised
for the run (LANDWATCH_RATE_LIMIT_PER_MINUTE), since the point is the server's
capacity, not the limiter's.

Usage: python benchmarks/load.py [--requests 5000] [--concurrency 32] [--port 8765]
Target (issue 7): no errors, p95 under 200 ms for reads on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _prepare(work: Path) -> tuple[Path, Path, Path, str]:
    from landwatch.knowledge.practices import load_builtin_practices
    from landwatch.sample import create_sample_region
    from landwatch.store import init_db, session_scope
    from landwatch.store.auth import create_user, issue_token
    from landwatch.workflows.config import load_config
    from landwatch.workflows.ldn import run_ldn
    from landwatch.workflows.sdg1531 import run_sdg1531

    region = create_sample_region(work / "region", size=400, seed=0)
    sdg = run_sdg1531(load_config(region.out_dir / "run.yaml"), work / "sdg1531").out_dir
    ldn = run_ldn(sdg, work / "ldn").out_dir
    data = work / "data"
    engine = init_db(f"sqlite:///{(data / 'landwatch.db').resolve()}")
    with session_scope(engine) as s:
        load_builtin_practices(s)
        create_user(s, "loadtest", "contributor")
        token = issue_token(s, "loadtest")
    engine.dispose()
    return sdg, ldn, data, token


def _wait_up(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not come up")


async def _run(base: str, n: int, conc: int, token: str, seed: int) -> list[tuple[str, float, int]]:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        layers = (await c.get("/layers")).json()
        practices = (await c.get("/practices", params={"limit": 50})).json()["hits"]
        runs = (await c.get("/runs")).json()
        cat = [la for la in layers if la["kind"] == "categorical" and la.get("period")] or layers
        uuids = [p["uuid"] for p in practices]
        sdg_run = next(r["id"] for r in runs if r["workflow"] == "sdg1531")
        tables = (await c.get(f"/runs/{sdg_run}/tables")).json()
        w, s, e, nn = cat[0]["bounds"]

        def point() -> tuple[float, float]:
            return rng.uniform(w, e), rng.uniform(s, nn)

        words = ["zai", "grazing", "wetland", "water harvesting", "terraces", "agroforestry"]

        def make() -> tuple[str, str, str, dict | None]:
            r = rng.random()
            if r < 0.6:
                k = rng.randrange(7)
                if k == 0:
                    return "read", "GET", "/health", None
                if k == 1:
                    return "read", "GET", "/layers", None
                if k == 2:
                    return "read", "GET", f"/practices?q={rng.choice(words)}", None
                if k == 3:
                    return "read", "GET", "/alerts", None
                if k == 4:
                    lon, lat = point()
                    lay = rng.choice(cat)["id"]
                    return "read", "GET", f"/layers/{lay}/value?lon={lon:.5f}&lat={lat:.5f}", None
                if k == 5:
                    return "read", "GET", f"/runs/{sdg_run}/tables/{rng.choice(tables)}", None
                return "read", "GET", f"/practices/{rng.choice(uuids)}", None
            if r < 0.9:
                z = rng.randint(8, 11)
                lon, lat = point()
                x, y = _tile_xy(lon, lat, z)
                lay = rng.choice(cat)["id"]
                return "tile", "GET", f"/layers/{lay}/tiles/{z}/{x}/{y}.png", None
            lon, lat = point()
            body = {
                "lon": round(lon, 5),
                "lat": round(lat, 5),
                "observed_on": "2026-10-15",
                "observer_role": "farmer",
                "category": "crop_failure",
                "impact_severity": "moderate",
                "description": "Maize wilted before tasselling; no rain since September.",
                "language": "en",
            }
            return "write", "POST", "/observations", body

        plan = [make() for _ in range(n)]
        results: list[tuple[str, float, int]] = []
        queue: asyncio.Queue[tuple[str, str, str, dict | None]] = asyncio.Queue()
        for item in plan:
            queue.put_nowait(item)
        headers = {"Authorization": f"Bearer {token}"}

        async def worker() -> None:
            while True:
                try:
                    kind, method, url, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                try:
                    resp = await c.request(
                        method, url, json=body, headers=headers if body else None
                    )
                    code = resp.status_code
                except httpx.HTTPError:
                    code = -1
                results.append((kind, time.perf_counter() - t0, code))

        await asyncio.gather(*(worker() for _ in range(conc)))
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--processes", type=int, default=2, help="server processes")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lw-load-"))
    try:
        print("preparing the sample region, SDG and LDN runs ...", flush=True)
        sdg, ldn, data, token = _prepare(work)
        env = os.environ | {
            "LANDWATCH_RATE_LIMIT_PER_MINUTE": "1000000",
            "LANDWATCH_WRITE_RATE_LIMIT_PER_MINUTE": "1000000",
        }
        cmd = [sys.executable, "-m", "landwatch.cli", "serve", "--port", str(args.port),
               "--data-dir", str(data), "--run", str(sdg), "--run", str(ldn),
               "--log-level", "warning", "--processes", str(args.processes)]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{args.port}"
        try:
            _wait_up(base, proc)
            t0 = time.perf_counter()
            res = asyncio.run(_run(base, args.requests, args.concurrency, token, args.seed))
            wall = time.perf_counter() - t0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
        print(f"\n{platform.node()} {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}")  # fmt: skip
        print(f"server: {args.processes} process(es); client: this process (same machine)")
        print(f"{len(res)} requests, {args.concurrency} concurrent clients, {wall:.1f} s, "
              f"{len(res) / wall:.0f} req/s")  # fmt: skip
        print(f"{'kind':<6} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
        errors_total = 0
        for kind in ("read", "tile", "write"):
            lat = np.array([r[1] for r in res if r[0] == kind]) * 1000
            ok_codes = (201,) if kind == "write" else (200,)
            errs = sum(1 for r in res if r[0] == kind and r[2] not in ok_codes)
            errors_total += errs
            if lat.size:
                p50, p95, p99 = np.percentile(lat, [50, 95, 99])
                print(f"{kind:<6} {lat.size:>6} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {errs:>7}")
        codes: dict[int, int] = {}
        for r in res:
            codes[r[2]] = codes.get(r[2], 0) + 1
        print("status codes:", dict(sorted(codes.items())))
        read95 = np.percentile([r[1] for r in res if r[0] == "read"], 95) * 1000
        verdict = "met" if errors_total == 0 and read95 < 200 else "NOT met"
        print(f"target (no errors, read p95 < 200 ms): {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
