"""Processes, jobs, results and uploads: every route, happy and error paths.

The job manager's thread is not started here (jobs stay ``accepted`` until a test runs
them in-process with :func:`landwatch.api.worker.run_job`); the manager's rounds are
tested directly with stand-in worker processes. Real worker processes, the full chain
and a server killed mid-job are in ``tests/integration/test_api_jobs.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from sqlalchemy import select, update

from landwatch.api import Settings, create_app
from landwatch.api import jobs as jobs_mod
from landwatch.api.jobs import (
    PROCESSES,
    RESTART_MESSAGE,
    WORKER_MODULE,
    JobManager,
    JobProgress,
    safe_filename,
)
from landwatch.api.worker import run_job
from landwatch.errors import InputError
from landwatch.store import init_db, session_scope
from landwatch.store.jobs import LOG_MAX_LINES, Job, append_log, utcnow


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ALL_PROCESSES = {
    "brief",
    "sample-create",
    "sdg1531",
    "drought-spi",
    "drought-so3",
    "warn-cdi",
    "warn-run",
    "forecast",
    "ldn",
    "match",
}


@pytest.fixture()
def client(
    api_settings: Settings, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app without the manager's thread: jobs wait until a test runs them."""
    monkeypatch.setattr(JobManager, "start", lambda self: None)
    with TestClient(create_app(api_settings)) as c:
        yield c


def _submit(client: TestClient, token: str, process: str, inputs: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/processes/{process}/execution", json={"inputs": inputs}, headers=auth(token))
    assert r.status_code == 201, r.text
    return r.json()


def _run(job_id: str, settings: Settings) -> dict[str, Any]:
    run_job(job_id, settings, heartbeat_interval=0.2, progress_interval=0.0)
    with session_scope(init_db(settings.db_url())) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return {"status": job.status, "message": job.message, "log": job.log}


def _fields(r: Any) -> set[str]:
    assert r.status_code == 422, r.text
    return {e["field"] for e in r.json()["errors"]}


@pytest.fixture()
def sample_job(client: TestClient, tokens: dict[str, str], api_settings: Settings) -> str:
    """A successful sample-create job (60 px) writing samples/demo."""
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "demo", "size": 60})
    assert _run(job["jobID"], api_settings)["status"] == "successful"
    return str(job["jobID"])


# --------------------------------------------------------------------------- processes


def test_processes__list_and_describe(client: TestClient) -> None:
    r = client.get("/processes")
    assert r.status_code == 200
    listed = {p["id"]: p for p in r.json()["processes"]}
    assert set(listed) == ALL_PROCESSES
    assert listed["ldn"]["jobControlOptions"] == ["async-execute"]
    assert any(link["href"].endswith("/processes/ldn/execution") for link in listed["ldn"]["links"])
    for pid in ALL_PROCESSES:
        d = client.get(f"/processes/{pid}").json()
        assert d["id"] == pid and d["inputs"] and d["outputs"], pid
    sdg = client.get("/processes/sdg1531").json()
    assert sdg["inputs"]["config"]["minOccurs"] == 1
    assert sdg["inputs"]["config"]["schema"]["type"] == "string"
    assert sdg["inputs"]["mode"]["minOccurs"] == 0
    assert "trends_earth" in str(sdg["inputs"]["mode"]["schema"])
    size = client.get("/processes/sample-create").json()["inputs"]["size"]["schema"]
    assert size["minimum"] == 60


def test_processes__unknown_is_404(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/processes/nope")
    assert r.status_code == 404 and r.json()["type"] == "NotFoundError"
    assert "sdg1531" in r.json()["detail"]
    r = client.post(
        "/processes/nope/execution", json={"inputs": {}}, headers=auth(tokens["contributor"])
    )
    assert r.status_code == 404


# --------------------------------------------------------------------------- execution


def test_execute__needs_a_contributor_token(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"inputs": {"name": "a", "size": 60}}
    r = client.post("/processes/sample-create/execution", json=body)
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    r = client.post("/processes/sample-create/execution", json=body, headers=auth(tokens["viewer"]))
    assert r.status_code == 403 and "contributor" in r.json()["detail"]
    assert client.get("/jobs").json()["jobs"] == []


def test_execute__201_with_location_and_listed(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post(
        "/processes/sample-create/execution",
        json={"inputs": {"name": "a", "size": 60}},
        headers=auth(tokens["contributor"]),
    )
    assert r.status_code == 201
    job = r.json()
    assert r.headers["Location"] == f"/jobs/{job['jobID']}"
    assert (job["status"], job["processID"], job["type"], job["progress"]) == (
        "accepted",
        "sample-create",
        "process",
        0,
    )
    assert job["owner"] == "carl" and job["log"][0].endswith("accepted from carl")
    listed = client.get("/jobs").json()["jobs"]
    assert [j["jobID"] for j in listed] == [job["jobID"]]
    assert "log" not in listed[0]
    assert client.get("/jobs", params={"status": "running"}).json()["jobs"] == []
    assert len(client.get("/jobs", params={"status": ["accepted", "running"]}).json()["jobs"]) == 1
    assert client.get("/jobs", params={"processID": "ldn"}).json()["jobs"] == []
    assert client.get("/jobs", params={"limit": 0}).status_code == 422
    r = client.get(f"/jobs/{job['jobID']}")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert client.get("/jobs/no-such-job").status_code == 404


def test_execute__bad_inputs_name_the_field(client: TestClient, tokens: dict[str, str]) -> None:
    def post(process: str, inputs: Any) -> Any:
        return client.post(
            f"/processes/{process}/execution",
            json={"inputs": inputs},
            headers=auth(tokens["contributor"]),
        )

    r = post("sample-create", {"size": 10})
    assert _fields(r) == {"inputs.size"} and "60" in r.json()["detail"]
    assert _fields(post("sample-create", {"size": 60, "colour": "red"})) == {"inputs.colour"}
    assert _fields(post("sample-create", {"name": "../up"})) == {"inputs.name"}
    assert _fields(post("sdg1531", {})) == {"inputs.config"}
    assert _fields(post("drought-spi", {"source": "x.csv", "scales": [0]})) == {
        "inputs.source",
        "inputs.scales.0",
    }
    assert "inputs.calibration" in _fields(
        post("warn-cdi", {"climate": "a", "calibration": "1981"})
    )
    assert _fields(post("ldn", {"sdg_run": "jobs/none", "components": ["roads"]})) == {
        "inputs.sdg_run",
        "inputs.components.0",
    }
    assert _fields(post("sample-create", [1, 2])) == {"inputs"}


def test_execute__missing_file_says_how_to_fix(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post(
        "/processes/sdg1531/execution",
        json={"inputs": {"config": "samples/none/run.yaml"}},
        headers=auth(tokens["contributor"]),
    )
    assert _fields(r) == {"inputs.config"}
    assert "POST /uploads" in r.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "../api.sqlite",
        "/etc/hostname",
        "samples/../../api.sqlite",
        "landwatch.db",
        "uploads",
        "jobs/.workers/x.log",
        "samples/demo/../../../api.sqlite",
        "job-../../etc",
    ],
)
def test_execute__paths_outside_the_inputs_are_refused(
    client: TestClient, tokens: dict[str, str], api_settings: Settings, path: str
) -> None:
    (api_settings.data_dir / "jobs" / ".workers").mkdir(parents=True)
    (api_settings.data_dir / "jobs" / ".workers" / "x.log").write_text("x")
    (api_settings.data_dir / "landwatch.db").write_text("x")
    r = client.post(
        "/processes/sdg1531/execution",
        json={"inputs": {"config": path}},
        headers=auth(tokens["contributor"]),
    )
    assert _fields(r) == {"inputs.config"}
    assert "not a place the service reads inputs from" in r.json()["detail"]


def test_execute__symlink_out_of_the_data_folder_is_refused(
    client: TestClient, tokens: dict[str, str], api_settings: Settings, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("ndvi: x.nc\n")
    folder = api_settings.data_dir / "uploads" / "u1"
    folder.mkdir(parents=True)
    (folder / "run.yaml").symlink_to(secret)
    r = client.post(
        "/processes/sdg1531/execution",
        json={"inputs": {"config": "uploads/u1/run.yaml"}},
        headers=auth(tokens["contributor"]),
    )
    assert _fields(r) == {"inputs.config"}


def test_execute__config_naming_files_elsewhere_is_refused(
    client: TestClient, tokens: dict[str, str], sample_job: str, api_settings: Settings
) -> None:
    sample = api_settings.data_dir / "samples" / "demo"
    text = (sample / "run.yaml").read_text().replace("soc_2000.tif", "/etc/hostname")
    (sample / "bad.yaml").write_text(text)
    r = client.post(
        "/processes/sdg1531/execution",
        json={"inputs": {"config": "samples/demo/bad.yaml"}},
        headers=auth(tokens["contributor"]),
    )
    assert _fields(r) == {"inputs.config"}
    assert "names soc = '/etc/hostname'" in r.json()["detail"]
    # the sample's own configuration is fine
    job = _submit(client, tokens["contributor"], "sdg1531", {"config": "samples/demo/run.yaml"})
    assert job["status"] == "accepted"


def test_execute__sample_name_in_use(
    client: TestClient, tokens: dict[str, str], sample_job: str
) -> None:
    r = client.post(
        "/processes/sample-create/execution",
        json={"inputs": {"name": "demo", "size": 60}},
        headers=auth(tokens["contributor"]),
    )
    assert _fields(r) == {"inputs.name"} and "already exists" in r.json()["detail"]
    _submit(client, tokens["contributor"], "sample-create", {"name": "next", "size": 60})
    r = client.post(
        "/processes/sample-create/execution",
        json={"inputs": {"name": "next", "size": 60}},
        headers=auth(tokens["contributor"]),
    )
    assert r.status_code == 422 and "already writes samples/next" in r.json()["detail"]


def test_execute__run_folders_must_be_of_the_right_workflow(
    client: TestClient, tokens: dict[str, str], sample_job: str, api_settings: Settings
) -> None:
    r = client.post(
        "/processes/ldn/execution",
        json={"inputs": {"sdg_run": f"job-{sample_job}"}},
        headers=auth(tokens["contributor"]),
    )
    assert _fields(r) == {"inputs.sdg_run"} and "not an output folder" in r.json()["detail"]
    sdg = _submit(client, tokens["contributor"], "sdg1531", {"config": "samples/demo/run.yaml"})
    assert _run(sdg["jobID"], api_settings)["status"] == "successful"
    r = client.post(
        "/processes/match/execution",
        json={"inputs": {"ldn_run": f"jobs/{sdg['jobID']}"}},
        headers=auth(tokens["contributor"]),
    )
    assert _fields(r) == {"inputs.ldn_run"} and "not an output of ldn" in r.json()["detail"]
    for ref in (f"jobs/{sdg['jobID']}", f"job-{sdg['jobID']}"):
        assert (
            _submit(client, tokens["contributor"], "ldn", {"sdg_run": ref})["status"] == "accepted"
        )


def test_execute__published_runs_are_inputs(
    tmp_path: Path, tokens: dict[str, str], api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "published" / "sdg-2024"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text('{"workflow": "sdg1531"}')
    (run / "spi.csv").write_text("time,a\n2000-01,1\n")
    settings = api_settings.model_copy(update={"runs": [run]})
    monkeypatch.setattr(JobManager, "start", lambda self: None)
    with TestClient(create_app(settings)) as c:
        for process, inputs in (
            ("ldn", {"sdg_run": "sdg-2024"}),
            ("ldn", {"sdg_run": str(run)}),
            ("drought-spi", {"source": str(run / "spi.csv")}),
        ):
            _submit(c, tokens["contributor"], process, inputs)
        r = c.post(
            "/processes/drought-spi/execution",
            json={"inputs": {"source": str(run.parent / "other.csv")}},
            headers=auth(tokens["contributor"]),
        )
        assert _fields(r) == {"inputs.source"}


# --------------------------------------------------------------------------- running and results


def test_job__runs_and_serves_its_results(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "s1", "size": 60})
    jid = job["jobID"]
    r = client.get(f"/jobs/{jid}/results")
    assert r.status_code == 409 and "accepted" in r.json()["detail"]
    assert client.get(f"/jobs/{jid}/results/run.yaml").status_code == 409
    assert _run(jid, api_settings)["status"] == "successful"

    st = client.get(f"/jobs/{jid}").json()
    assert (st["status"], st["progress"], st["message"]) == ("successful", 100, "finished")
    assert st["started"] and st["finished"] and st["finished"] >= st["started"]
    assert any(line.endswith(" ndvi") for line in st["log"]), st["log"]
    assert any(link["rel"].endswith("/results") for link in st["links"])

    outputs = {o["name"]: o for o in client.get(f"/jobs/{jid}/results").json()["outputs"]}
    assert {"run.yaml", "land_cover_2000.tif", "admin.gpkg", "truth.json", "job.json"} <= set(
        outputs
    )
    tif = outputs["land_cover_2000.tif"]
    assert tif["type"] == "image/tiff; application=geotiff; profile=cloud-optimized"
    assert tif["href"] == f"http://testserver/jobs/{jid}/results/land_cover_2000.tif"
    assert outputs["admin.gpkg"]["type"] == "application/geopackage+sqlite3"
    assert outputs["climate_monthly.nc"]["type"] == "application/x-netcdf"
    assert not any(name.startswith(".") for name in outputs)

    r = client.get(f"/jobs/{jid}/results/land_cover_2000.tif")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/tiff")
    assert int(r.headers["content-length"]) == tif["size"]
    assert r.headers["x-content-type-options"] == "nosniff"
    with MemoryFile(r.content) as mem, mem.open() as ds:
        assert ds.crs is not None and ds.width == 60
    r = client.get(f"/jobs/{jid}/results/run.yaml")
    assert r.status_code == 200 and "ndvi_annual.nc" in r.text
    assert client.get(f"/jobs/{jid}/results/none.tif").status_code == 404
    assert client.get("/jobs/nope/results").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["%2e%2e/%2e%2e/api.sqlite", "%2e%2e/s1/run.yaml", "a/%2e%2e/%2e%2e/x", "%2Fetc%2Fhostname"],
)
def test_job__result_paths_cannot_escape(
    client: TestClient, tokens: dict[str, str], api_settings: Settings, path: str
) -> None:
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "s2", "size": 60})
    _run(job["jobID"], api_settings)
    r = client.get(f"/jobs/{job['jobID']}/results/{path}")
    assert r.status_code == 422, r.text
    assert "leave the results folder" in r.json()["detail"]


def test_job__media_types(tmp_path: Path) -> None:
    cap = tmp_path / "alert.xml"
    cap.write_text(
        '<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"></alert>'
    )
    other = tmp_path / "other.xml"
    other.write_text("<feed/>")
    got = {
        p.name: jobs_mod.media_type(p)
        for p in (cap, other, tmp_path / "t.csv", tmp_path / "t.xlsx", tmp_path / "t.geojson")
    }
    assert got == {
        "alert.xml": "application/cap+xml",
        "other.xml": "application/xml",
        "t.csv": "text/csv",
        "t.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "t.geojson": "application/geo+json",
    }
    assert jobs_mod.media_type(tmp_path / "x.png") == "image/png"
    assert jobs_mod.media_type(tmp_path / "x.bin") == "application/octet-stream"


def test_worker__landwatch_error_message_as_is(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    folder = api_settings.data_dir / "uploads" / "u3"
    folder.mkdir(parents=True)
    (folder / "pr.csv").write_text("time,a\n2000-01,1\n2000-02,2\n")
    job = _submit(
        client, tokens["contributor"], "drought-spi", {"source": "uploads/u3/pr.csv", "scales": [3]}
    )
    out = _run(job["jobID"], api_settings)
    assert out["status"] == "failed"
    assert "calibration period" in out["message"], out["message"]  # InsufficientDataError
    assert out["message"] in out["log"]
    assert not (api_settings.data_dir / "jobs" / job["jobID"]).exists()
    assert not [p for p in (api_settings.data_dir / "jobs").iterdir() if "partial" in p.name]


def test_worker__unexpected_error_is_internal_with_traceback(
    client: TestClient,
    tokens: dict[str, str],
    api_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(inputs: Any, out_dir: Path, progress: JobProgress, ctx: Any) -> None:
        progress.start(2)
        progress.step("half way")
        (out_dir / "partial.txt").write_text("x")
        raise RuntimeError("boom")

    spec = dataclasses.replace(PROCESSES["sample-create"], run=boom)
    monkeypatch.setitem(PROCESSES, "sample-create", spec)
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "b", "size": 60})
    out = _run(job["jobID"], api_settings)
    assert out["status"] == "failed"
    assert out["message"] == "internal error: RuntimeError: boom"
    assert "half way" in out["log"] and "Traceback (most recent call last)" in out["log"]
    assert not (api_settings.data_dir / "samples" / "b").exists()
    assert not list((api_settings.data_dir / "samples").iterdir())
    st = client.get(f"/jobs/{job['jobID']}").json()
    assert st["progress"] == 50 and st["status"] == "failed"


def test_worker__bad_dask_scheduler_fails_the_job_clearly(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "d", "size": 60})
    settings = api_settings.model_copy(update={"dask_scheduler": "tcp://127.0.0.1:9"})
    run_job(job["jobID"], settings, heartbeat_interval=0.2, dask_timeout=1.0)
    st = client.get(f"/jobs/{job['jobID']}").json()
    assert st["status"] == "failed"
    assert st["message"].startswith("dask scheduler 'tcp://127.0.0.1:9'")
    assert "LANDWATCH_DASK_SCHEDULER" in st["message"]
    assert not (api_settings.data_dir / "samples" / "d").exists()


def test_worker__does_nothing_for_a_job_not_waiting(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "n", "size": 60})
    assert (
        client.delete(f"/jobs/{job['jobID']}", headers=auth(tokens["contributor"])).status_code
        == 200
    )
    assert run_job(job["jobID"], api_settings) == 0
    assert client.get(f"/jobs/{job['jobID']}").json()["status"] == "dismissed"
    assert not (api_settings.data_dir / "samples" / "n").exists()


def test_worker__stops_when_dismissed_while_running(
    client: TestClient,
    tokens: dict[str, str],
    api_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = threading.Event()

    def slow(inputs: Any, out_dir: Path, progress: JobProgress, ctx: Any) -> None:
        progress.start(1000)
        (out_dir / "part.txt").write_text("x")
        for i in range(1000):
            started.set()
            progress.step(f"step {i}")
            time.sleep(0.01)

    monkeypatch.setitem(
        PROCESSES, "sample-create", dataclasses.replace(PROCESSES["sample-create"], run=slow)
    )
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "slow", "size": 60})
    result: list[int] = []
    t = threading.Thread(
        target=lambda: result.append(run_job(job["jobID"], api_settings, progress_interval=0.0))
    )
    t.start()
    assert started.wait(30)
    r = client.delete(f"/jobs/{job['jobID']}", headers=auth(tokens["contributor"]))
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    t.join(30)
    assert result == [0]
    st = client.get(f"/jobs/{job['jobID']}").json()
    assert st["status"] == "dismissed" and st["message"] == "dismissed by carl"
    assert not (api_settings.data_dir / "samples" / "slow").exists()
    assert not [p for p in (api_settings.data_dir / "samples").iterdir() if "slow" in p.name]


# --------------------------------------------------------------------------- dismiss


def test_dismiss__owner_or_moderator(client: TestClient, tokens: dict[str, str]) -> None:
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "x", "size": 60})
    url = f"/jobs/{job['jobID']}"
    assert client.delete(url).status_code == 401
    r = client.delete(url, headers=auth(tokens["viewer"]))
    assert r.status_code == 403 and "owner" in r.json()["detail"]
    r = client.delete(url, headers=auth(tokens["moderator"]))
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert r.json()["message"] == "dismissed by mona"
    assert client.get(url).json()["status"] == "dismissed"
    r = client.get(f"{url}/results")
    assert r.status_code == 409 and "dismissed" in r.json()["detail"]
    mine = _submit(client, tokens["contributor"], "sample-create", {"name": "y", "size": 60})
    r = client.delete(f"/jobs/{mine['jobID']}", headers=auth(tokens["contributor"]))
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    again = client.delete(f"/jobs/{mine['jobID']}", headers=auth(tokens["contributor"]))
    assert again.status_code == 200 and again.json()["message"] == "dismissed by carl"
    assert client.delete("/jobs/nope", headers=auth(tokens["admin"])).status_code == 404
    assert client.get("/jobs", params={"status": "dismissed"}).json()["jobs"][0]["status"] == (
        "dismissed"
    )


def test_dismiss__a_finished_job_removes_its_results(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    app = client.app
    manager = JobManager(api_settings, app.state.engine)  # type: ignore[attr-defined]
    app.state.job_manager = manager  # type: ignore[attr-defined]
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "gone", "size": 60})
    _run(job["jobID"], api_settings)
    assert (api_settings.data_dir / "samples" / "gone" / "run.yaml").is_file()
    assert client.delete(f"/jobs/{job['jobID']}", headers=auth(tokens["admin"])).status_code == 200
    manager.tick()
    assert not (api_settings.data_dir / "samples" / "gone").exists()


# --------------------------------------------------------------------------- uploads


def test_uploads__stored_under_a_new_folder(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    files = {"file": ("../../My Rain (2024).csv", b"time,a\n2000-01,1\n", "text/csv")}
    assert client.post("/uploads", files=files).status_code == 401
    assert client.post("/uploads", files=files, headers=auth(tokens["viewer"])).status_code == 403
    r = client.post("/uploads", files=files, headers=auth(tokens["contributor"]))
    assert r.status_code == 201, r.text
    path = r.json()["path"]
    assert path.startswith("uploads/") and path.endswith("/My_Rain_2024_.csv")
    assert len(Path(path).parts) == 3 and r.json()["size"] == 17
    assert (api_settings.data_dir / path).read_bytes() == b"time,a\n2000-01,1\n"
    second = client.post("/uploads", files=files, headers=auth(tokens["contributor"]))
    assert second.json()["path"] != path
    job = _submit(client, tokens["contributor"], "drought-spi", {"source": path})
    assert job["status"] == "accepted"
    r = client.post("/uploads", headers=auth(tokens["contributor"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"


def test_uploads__too_large_is_413(
    tmp_path: Path, tokens: dict[str, str], api_settings: Settings
) -> None:
    settings = api_settings.model_copy(update={"max_upload_bytes": 2048})
    with TestClient(create_app(settings)) as c:
        files = {"file": ("big.tif", b"x" * 4096, "image/tiff")}
        r = c.post("/uploads", files=files, headers=auth(tokens["contributor"]))
        assert r.status_code == 413 and "LANDWATCH_MAX_UPLOAD_BYTES" in r.json()["detail"]
        assert not (settings.data_dir / "uploads").exists() or not list(
            (settings.data_dir / "uploads").iterdir()
        )


def test_uploads__size_checked_while_copying(tmp_path: Path) -> None:
    with pytest.raises(jobs_mod.UploadTooLarge, match="upload limit of 10 bytes"):
        jobs_mod.save_upload(tmp_path, "a.csv", io.BytesIO(b"x" * 11), 10)
    assert list((tmp_path / "uploads").iterdir()) == []
    assert jobs_mod.save_upload(tmp_path, "a.csv", io.BytesIO(b"x" * 10), 10).endswith("/a.csv")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("admin.gpkg", "admin.gpkg"),
        ("..\\..\\evil.tif", "evil.tif"),
        ("/etc/passwd", "passwd"),
        (".hidden", "hidden"),
        ("Pluie été.csv", "Pluie_ete.csv"),
        ("", "upload"),
        (None, "upload"),
        ("..", "upload"),
        ("a" * 300 + ".tif", "a" * 116 + ".tif"),
    ],
)
def test_safe_filename(name: str | None, safe: str) -> None:
    assert safe_filename(name) == safe


# --------------------------------------------------------------------------- progress


def test_job_progress__throttled_monotonic_capped() -> None:
    now = [0.0]
    writes: list[tuple[float, str, list[str]]] = []
    p = JobProgress(
        lambda v, m, lines: writes.append((v, m, lines)), interval=0.5, clock=lambda: now[0]
    )
    p.start(4)
    p.step("one")  # first write goes through
    now[0] = 0.1
    p.step("two")  # throttled
    p.step("three")  # throttled
    now[0] = 0.7
    p.fraction("from a callback", 0.2)  # lower: progress does not go down
    p.step("four")
    p.flush()
    assert [w[0] for w in writes] == [25.0, 75.0, 99.0]
    assert writes[1][1] == "from a callback"
    lines = [line.split(" ", 1)[1] for w in writes for line in w[2]]
    assert lines == ["one", "two", "three", "from a callback", "four"]
    assert p.value == 99.0  # 100 only when the job succeeded
    notes = JobProgress(lambda *a: None, interval=0.0)
    values = []
    for i in range(50):
        notes.note(f"n{i}")
        values.append(notes.value)
    assert values == sorted(values) and 0 < values[0] < values[-1] < 99


def test_append_log__keeps_the_last_lines() -> None:
    log = ""
    for i in range(LOG_MAX_LINES + 20):
        log = append_log(log, f"line {i}")
    lines = log.splitlines()
    assert len(lines) == LOG_MAX_LINES and lines[-1] == f"line {LOG_MAX_LINES + 19}"
    assert lines[0] == "line 20"


# --------------------------------------------------------------------------- manager


def _add_job(engine: Any, status: str, **kw: Any) -> str:
    import uuid

    job_id = str(uuid.uuid4())
    now = utcnow()
    with session_scope(engine) as s:
        s.add(
            Job(
                id=job_id,
                process_id="sample-create",
                status=status,
                progress=0.0,
                message=status,
                inputs={"name": job_id[:8], "size": 60},
                owner="carl",
                output_dir=f"jobs/{job_id}",
                created_at=kw.pop("created_at", now),
                updated_at=now,
                log="",
                **kw,
            )
        )
    return job_id


def _stand_in_worker(job_id: str) -> subprocess.Popen[bytes]:
    """A process whose command line looks like a worker of ``job_id`` (it only sleeps)."""
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", WORKER_MODULE, job_id],
        start_new_session=True,
    )


def _status(engine: Any, job_id: str) -> tuple[str, str]:
    with session_scope(engine) as s:
        row = s.execute(select(Job.status, Job.message).where(Job.id == job_id)).one()
    return row[0], row[1]


def test_manager__recovery_after_a_restart(api_settings: Settings, tokens: dict[str, str]) -> None:
    engine = init_db(api_settings.db_url())
    old = utcnow() - dt.timedelta(seconds=120)
    dead = _add_job(engine, "running", worker_pid=2**22 + 7, heartbeat_at=utcnow(), started_at=old)
    silent_proc_job = _add_job(engine, "running", heartbeat_at=old, started_at=old)
    alive_job = _add_job(engine, "running", heartbeat_at=utcnow(), started_at=old)
    queued = _add_job(engine, "accepted")
    silent = _stand_in_worker(silent_proc_job)
    alive = _stand_in_worker(alive_job)
    try:
        with session_scope(engine) as s:
            s.execute(update(Job).where(Job.id == silent_proc_job).values(worker_pid=silent.pid))
            s.execute(update(Job).where(Job.id == alive_job).values(worker_pid=alive.pid))
        manager = JobManager(api_settings, engine, kill_grace=2.0)
        manager.recover()
        assert _status(engine, dead) == ("failed", RESTART_MESSAGE)
        assert _status(engine, silent_proc_job) == ("failed", RESTART_MESSAGE)
        assert silent.wait(10) is not None  # a silent worker is stopped
        assert _status(engine, alive_job)[0] == "running"  # adopted: it goes on
        assert alive.poll() is None
        assert _status(engine, queued)[0] == "accepted"
        with session_scope(engine) as s:
            assert "queued again" in s.get(Job, queued).log  # type: ignore[union-attr]
            assert "adopted" in s.get(Job, alive_job).log  # type: ignore[union-attr]
        # the adopted worker goes silent: the next round fails its job and stops it
        with session_scope(engine) as s:
            s.execute(update(Job).where(Job.id == alive_job).values(heartbeat_at=old))
        manager._watch_adopted()
        assert _status(engine, alive_job) == ("failed", RESTART_MESSAGE)
        assert alive.wait(10) is not None
    finally:
        for proc in (silent, alive):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        engine.dispose()


def test_manager__fifo_limit_reap_and_cancel(
    api_settings: Settings, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = init_db(api_settings.db_url())
    t0 = utcnow()
    first = _add_job(engine, "accepted", created_at=t0)
    second = _add_job(engine, "accepted", created_at=t0 + dt.timedelta(seconds=1))
    third = _add_job(engine, "accepted", created_at=t0 + dt.timedelta(seconds=2))
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def launch(self: JobManager, job_id: str, output_dir: str) -> None:
        procs[job_id] = _stand_in_worker(job_id)
        self._launched[job_id] = jobs_mod._Launched(procs[job_id], output_dir)

    monkeypatch.setattr(JobManager, "_launch", launch)
    manager = JobManager(api_settings.model_copy(update={"job_workers": 1}), engine, kill_grace=2.0)
    try:
        manager.tick()
        assert list(procs) == [first]  # one at a time, oldest first
        manager.tick()
        assert list(procs) == [first]
        # a worker that dies without a word fails its job; the next one starts
        os.killpg(procs[first].pid, signal.SIGKILL)
        procs[first].wait()
        manager.tick()
        status, message = _status(engine, first)
        assert status == "failed" and "could not start" in message and "SIGKILL" in message
        assert list(procs) == [first, second]
        # dismissing the running one stops its worker group and starts the next
        with session_scope(engine) as s:
            s.execute(update(Job).where(Job.id == second).values(status="dismissed"))
        part = api_settings.data_dir / "jobs" / f".{second}.partial-abc"
        part.mkdir(parents=True)
        manager.request_cancel(second)
        manager.tick()
        assert procs[second].poll() is not None
        assert not part.exists()
        manager.tick()
        assert list(procs) == [first, second, third]
        assert manager.launched() == {third: procs[third].pid}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        engine.dispose()


def test_manager__worker_env_points_at_the_service(
    api_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDWATCH_DASK_SCHEDULER", "tcp://stale:1")
    settings = api_settings.model_copy(update={"runs": [tmp_path / "r"]})
    env = JobManager(settings, init_db(settings.db_url())).worker_env()
    assert "LANDWATCH_DASK_SCHEDULER" not in env
    for key in ("LANDWATCH_DATA_DIR", "LANDWATCH_DATABASE_URL", "LANDWATCH_RUNS"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("LANDWATCH_DASK_SCHEDULER")
    seen = Settings()  # what the worker reads
    assert seen.db_url() == settings.db_url()
    assert seen.data_dir == settings.data_dir.resolve()
    assert seen.runs == [(tmp_path / "r").resolve()]
    assert seen.dask_scheduler is None


def test_input_paths__resolve(tmp_path: Path) -> None:
    paths = jobs_mod.InputPaths(tmp_path / "data", [tmp_path / "run1"])
    (tmp_path / "data" / "uploads" / "u").mkdir(parents=True)
    (tmp_path / "data" / "uploads" / "u" / "a.tif").write_text("x")
    (tmp_path / "run1").mkdir()
    assert paths.resolve("uploads/u/a.tif") == (tmp_path / "data/uploads/u/a.tif").resolve()
    assert paths.resolve("run1", "folder") == (tmp_path / "run1").resolve()
    with pytest.raises(ValueError, match="not a file of the data folder"):
        paths.resolve("uploads/u/b.tif")
    with pytest.raises(ValueError, match="not a place"):
        paths.resolve("uploads/u/../../../run2/x")
    with pytest.raises(ValueError, match="empty"):
        paths.resolve("  ")
    assert isinstance(InputError("x"), ValueError)  # landwatch input errors become 422 fields


def test_manager__graceful_stop_stops_its_workers(api_settings: Settings) -> None:
    engine = init_db(api_settings.db_url())
    running = _add_job(engine, "running", heartbeat_at=utcnow(), started_at=utcnow())
    queued = _add_job(engine, "accepted")
    procs = {job_id: _stand_in_worker(job_id) for job_id in (running, queued)}
    manager = JobManager(api_settings, engine, kill_grace=2.0)
    for job_id, proc in procs.items():
        manager._launched[job_id] = jobs_mod._Launched(proc, f"jobs/{job_id}")
    try:
        manager.stop()
        assert all(p.poll() is not None for p in procs.values())
        assert _status(engine, running) == ("failed", RESTART_MESSAGE)
        assert _status(engine, queued)[0] == "accepted"  # waits for the next start
        assert manager.launched() == {}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        engine.dispose()


def test_long_names__are_refused_not_errors(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    long = "uploads/" + "a" * 5000 + ".tif"
    r = client.post(
        "/processes/drought-spi/execution",
        json={"inputs": {"source": long[:1024]}},
        headers=auth(tokens["contributor"]),
    )
    assert _fields(r) == {"inputs.source"}
    job = _submit(client, tokens["contributor"], "sample-create", {"name": "l", "size": 60})
    _run(job["jobID"], api_settings)
    assert client.get(f"/jobs/{job['jobID']}/results/{'b' * 5000}").status_code == 404
