"""Jobs end to end with real worker processes: sample -> SDG 15.3.1 -> LDN through the
API, cancelling a running worker, and a server killed with SIGKILL in the middle of a
job (the job must end successful or failed with the restart message, never stay
running; the database must stay sound; the restarted server must run new jobs). On
SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from rio_cogeo.cogeo import cog_validate
from sqlalchemy import text

from landwatch.api import Settings, create_app
from landwatch.api.jobs import RESTART_MESSAGE, iter_active_workers, worker_alive
from landwatch.sample import create_sample_region
from landwatch.store import init_db, make_engine, session_scope
from landwatch.store.auth import create_user, issue_token

FINAL = ("successful", "failed", "dismissed")


def _users(url: str) -> dict[str, str]:
    engine = init_db(url)
    try:
        with session_scope(engine) as s:
            create_user(s, "carl", "contributor")
            return {"contributor": issue_token(s, "carl")}
    finally:
        engine.dispose()


def _stop_workers(url: str) -> None:
    """Kill the process group of every worker still alive for a job of this database."""
    engine = make_engine(url)
    try:
        for _job_id, pid in list(iter_active_workers(engine)):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        engine.dispose()


def _db_row(url: str, job_id: str) -> tuple[str, int | None]:
    engine = make_engine(url)
    try:
        with engine.connect() as con:
            status, pid = con.execute(
                text("SELECT status, worker_pid FROM jobs WHERE id = :id"), {"id": job_id}
            ).one()
    finally:
        engine.dispose()
    return status, pid


def _running_jobs(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as con:
            if engine.dialect.name == "sqlite":
                assert con.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            return int(
                con.execute(text("SELECT count(*) FROM jobs WHERE status = 'running'")).scalar()
                or 0
            )
    finally:
        engine.dispose()


class Api:
    """Tiny client for either a TestClient or a real server."""

    def __init__(self, client: Any, token: str) -> None:
        self.c = client
        self.h = {"Authorization": f"Bearer {token}"}

    def submit(self, process: str, inputs: dict[str, Any]) -> str:
        r = self.c.post(f"/processes/{process}/execution", json={"inputs": inputs}, headers=self.h)
        assert r.status_code == 201, r.text
        return str(r.json()["jobID"])

    def status(self, job_id: str) -> dict[str, Any]:
        r = self.c.get(f"/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait(
        self,
        job_id: str,
        until: tuple[str, ...] = FINAL,
        timeout: float = 240.0,
        seen: list[tuple[str, int]] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(job_id)
            if seen is not None:
                seen.append((st["status"], st["progress"]))
            if st["status"] in until:
                return st
            if time.monotonic() > deadline:
                pytest.fail(f"job {job_id} is still {st['status']} after {timeout} s: {st['log']}")
            time.sleep(0.15)


@pytest.fixture()
def service(tmp_path: Path, db_url: str) -> Iterator[tuple[Api, Settings]]:
    """The app with its real job manager (worker processes), two jobs at a time, on
    SQLite and on PostgreSQL."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        job_workers=2,
        rate_limit_per_minute=100_000,  # the tests poll fast
    )
    tokens = _users(settings.db_url())
    try:
        with TestClient(create_app(settings)) as c:
            yield Api(c, tokens["contributor"]), settings
    finally:
        _stop_workers(settings.db_url())


def test_api_jobs__sample_sdg1531_ldn_in_worker_processes(
    service: tuple[Api, Settings],
) -> None:
    api, settings = service
    sample = api.submit("sample-create", {"name": "it", "size": 120, "seed": 1})
    st = api.wait(sample)
    assert st["status"] == "successful", st["log"]

    sdg = api.submit("sdg1531", {"config": "samples/it/run.yaml", "significance": 0.1})
    seen: list[tuple[str, int]] = []
    st = api.wait(sdg, seen=seen)
    assert (st["status"], st["progress"]) == ("successful", 100), st["log"]
    running = [p for s, p in seen if s == "running"]
    assert running == sorted(running), "progress went down"
    assert any(0 < p < 100 for p in running), f"no progress seen while running: {seen}"
    assert sum("wrote" in line for line in st["log"]) >= 2

    ldn = api.submit("ldn", {"sdg_run": f"jobs/{sdg}"})
    st = api.wait(ldn)
    assert st["status"] == "successful", st["log"]

    # every job ran in a worker process of its own, not in the server
    pids = {_db_row(settings.db_url(), j)[1] for j in (sample, sdg, ldn)}
    assert None not in pids and os.getpid() not in pids and len(pids) == 3

    outputs = {o["name"]: o for o in api.c.get(f"/jobs/{ldn}/results").json()["outputs"]}
    assert {"summary.json", "manifest.json", "hotspots.gpkg", "job.json"} <= set(outputs)
    hotspots = next(n for n in outputs if n.endswith("/hotspots.tif"))
    assert outputs[hotspots]["type"] == "image/tiff; application=geotiff; profile=cloud-optimized"
    r = api.c.get(f"/jobs/{ldn}/results/{hotspots}")
    assert r.status_code == 200
    with MemoryFile(r.content) as mem, mem.open() as ds:
        assert ds.crs is not None and ds.width == 120 and ds.height == 120
    path = settings.data_dir / "cog.tif"
    path.write_bytes(r.content)
    valid, errors, _warnings = cog_validate(str(path))
    assert valid, errors
    sdg_outputs = {o["name"] for o in api.c.get(f"/jobs/{sdg}/results").json()["outputs"]}
    assert {"tables/sdg_summary.csv", "tables/tables.xlsx", "sdg1531_map.png"} <= sdg_outputs
    r = api.c.get(f"/jobs/{sdg}/results/tables/sdg_summary.csv")
    assert r.headers["content-type"].startswith("text/csv") and "period" in r.text


def test_api_jobs__cancel_stops_the_worker(service: tuple[Api, Settings]) -> None:
    api, settings = service
    create_sample_region(settings.data_dir / "samples" / "c", size=300, seed=2)
    job = api.submit("sdg1531", {"config": "samples/c/run.yaml"})
    api.wait(job, until=("running", *FINAL), timeout=120)
    _status, pid = _db_row(settings.db_url(), job)
    assert pid is not None
    r = api.c.delete(f"/jobs/{job}", headers=api.h)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    deadline = time.monotonic() + 30
    while worker_alive(pid, job):
        assert time.monotonic() < deadline, "the worker of a dismissed job still runs"
        time.sleep(0.2)
    time.sleep(1.0)  # let a late write of the worker happen, if any could
    assert api.status(job)["status"] == "dismissed"
    assert api.c.get(f"/jobs/{job}/results").status_code == 409
    leftovers = [p.name for p in (settings.data_dir / "jobs").iterdir() if p.name != ".workers"]
    assert leftovers == []
    # the slot is free again
    nxt = api.submit("sample-create", {"name": "after", "size": 60})
    assert api.wait(nxt)["status"] == "successful"


# --------------------------------------------------------------------------- killed server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data: Path, port: int, log: Path, url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDWATCH_")}
    env["LANDWATCH_RATE_LIMIT_PER_MINUTE"] = "100000"  # the test polls fast
    env["LANDWATCH_DATABASE_URL"] = url
    with open(log, "ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "landwatch.cli",
                "serve",
                "--data-dir",
                str(data),
                "--port",
                str(port),
                "--workers",
                "2",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited ({server.returncode}): {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not answer on {url}: {log.read_text()[-3000:]}")


def _stop_server(server: subprocess.Popen[bytes] | None) -> None:
    if server is None or server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def test_api_jobs__server_killed_mid_job_never_leaves_it_running(
    tmp_path: Path, db_url: str
) -> None:
    data = tmp_path / "data"
    create_sample_region(data / "samples" / "big", size=300, seed=0)
    url = db_url
    token = _users(url)["contributor"]
    log = tmp_path / "server.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        port = _free_port()
        server = _serve(data, port, log, url)
        base = f"http://127.0.0.1:{port}"
        _wait_up(base, server, log)
        with httpx.Client(base_url=base, timeout=30) as c:
            api = Api(c, token)
            job = api.submit("sdg1531", {"config": "samples/big/run.yaml"})
            st = api.wait(job, until=("running", *FINAL), timeout=120)
            assert st["status"] == "running", st

        _status, worker = _db_row(url, job)
        assert worker is not None
        os.kill(server.pid, signal.SIGKILL)  # the server only; the worker is in its own group
        server.wait()
        orphan_alive = worker_alive(worker, job)

        port = _free_port()
        server = _serve(data, port, log, url)
        base = f"http://127.0.0.1:{port}"
        _wait_up(base, server, log)
        with httpx.Client(base_url=base, timeout=30) as c:
            api = Api(c, token)
            st = api.wait(job, timeout=240)
            if st["status"] == "successful":
                assert st["progress"] == 100
                names = {o["name"] for o in c.get(f"/jobs/{job}/results").json()["outputs"]}
                assert "summary.json" in names
            else:
                assert (st["status"], st["message"]) == ("failed", RESTART_MESSAGE), st
                assert not orphan_alive or any("adopted" in line for line in st["log"])
            deadline = time.monotonic() + 30
            while worker_alive(worker, job):  # it exits right after its last write
                assert time.monotonic() < deadline, "the worker outlived its job"
                time.sleep(0.2)

            assert _running_jobs(url) == 0

            nxt = api.submit("sample-create", {"name": "after-restart", "size": 60})
            st = api.wait(nxt, timeout=180)
            assert st["status"] == "successful", st["log"]

            # a crash of the whole machine: server and worker die together
            lost = api.submit("sdg1531", {"config": "samples/big/run.yaml"})
            st = api.wait(lost, until=("running", *FINAL), timeout=120)
            assert st["status"] == "running", st
        _status, worker = _db_row(url, lost)
        assert worker is not None
        os.kill(server.pid, signal.SIGKILL)
        os.killpg(worker, signal.SIGKILL)
        server.wait()

        port = _free_port()
        server = _serve(data, port, log, url)
        base = f"http://127.0.0.1:{port}"
        _wait_up(base, server, log)
        with httpx.Client(base_url=base, timeout=30) as c:
            st = Api(c, token).status(lost)
            assert (st["status"], st["message"]) == ("failed", RESTART_MESSAGE), st
            assert not [p for p in (data / "jobs").iterdir() if "partial" in p.name]
    finally:
        _stop_server(server)
        _stop_workers(url)
