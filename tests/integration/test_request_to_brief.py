"""A request for information end to end, through the API with the real job manager and
worker processes: a partner asks for a drought brief on a unit of the sample region, a
moderator triages it (linking an SO3 run made by a drought-so3 job) and accepts it; the
brief job runs in a worker process, the job manager's hook delivers the request, the
request's first link is brief.pdf and downloads as a PDF, and the audit trail shows
every step with who and when."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import landwatch.api.app as app_module
from landwatch.api import Settings, create_app
from landwatch.api.jobs import iter_active_workers
from landwatch.store import init_db, make_engine, session_scope
from landwatch.store.auth import create_user, issue_token

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

ROUTER = "landwatch.api.routers.requests"
FINAL = ("successful", "failed", "dismissed")


def _tokens(url: str) -> dict[str, str]:
    engine = init_db(url)
    try:
        with session_scope(engine) as s:
            out = {}
            for name, role in (("vera", "viewer"), ("carl", "contributor"), ("mona", "moderator")):
                create_user(s, name, role)
                out[name] = issue_token(s, name)
            return out
    finally:
        engine.dispose()


def _stop_workers(url: str) -> None:
    engine = make_engine(url)
    try:
        for _job_id, pid in list(iter_active_workers(engine)):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        engine.dispose()


@pytest.fixture()
def service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Settings, dict[str, dict[str, str]]]]:
    """The app with its real job manager (worker processes) and the requests routes."""
    if ROUTER not in app_module.ROUTER_MODULES:  # until app.py lists it
        monkeypatch.setattr(app_module, "ROUTER_MODULES", (ROUTER, *app_module.ROUTER_MODULES))
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'service.sqlite'}",
        job_workers=2,
        rate_limit_per_minute=100_000,  # the test polls fast
    )
    tokens = _tokens(settings.db_url())
    headers = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    try:
        with TestClient(create_app(settings)) as c:
            yield c, settings, headers
    finally:
        _stop_workers(settings.db_url())


def _job(c: TestClient, h: dict[str, str], process: str, inputs: dict[str, Any]) -> str:
    r = c.post(f"/processes/{process}/execution", json={"inputs": inputs}, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["jobID"])


def _wait_job(c: TestClient, job_id: str, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        st = c.get(f"/jobs/{job_id}").json()
        if st["status"] in FINAL:
            return dict(st)
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {st['status']} after {timeout} s: {st['log']}")
        time.sleep(0.2)


def _wait_request(
    c: TestClient, h: dict[str, str], rid: int, until: str, timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        d = c.get(f"/requests/{rid}", headers=h).json()
        if d["status"] == until:
            return dict(d)
        if time.monotonic() > deadline:
            pytest.fail(f"request {rid} still {d['status']} after {timeout} s: {d['events']}")
        time.sleep(0.2)


def test_request_to_brief__submit_triage_accept_deliver(
    service: tuple[TestClient, Settings, dict[str, dict[str, str]]],
) -> None:
    c, settings, h = service
    # the runs a brief is made from: the sample region and its SO3 drought reporting
    sample = _job(c, h["carl"], "sample-create", {"name": "it", "size": 120, "seed": 1})
    assert _wait_job(c, sample)["status"] == "successful"
    so3 = _job(
        c,
        h["carl"],
        "drought-so3",
        {
            "climate": "samples/it/climate_monthly.nc",
            "population": "samples/it/population.tif",
            "admin": "samples/it/admin.gpkg",
            "admin_layer": "admin1",
        },
    )
    st = _wait_job(c, so3)
    assert st["status"] == "successful", st["log"]

    # a partner (viewer role) asks
    deadline = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    body = {
        "requester": "Amina Kariuki",
        "organization": "Ministry of Environment",
        "requester_type": "national_focal_point",
        "email": "amina.kariuki@example.org",
        "country": "KE",
        "topic": "drought",
        "admin_id": "KE-S01",
        "question": "How many people in Kilima Highlands are exposed to drought?",
        "deadline": deadline,
        "intended_use": "drought_response",
    }
    r = c.post("/requests", json=body, headers=h["vera"])
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["priority"]["tier_label"] == "72-hour snapshot"  # deadline in 5 days

    # a moderator triages it, linking the SO3 run (population looked up from its tables)
    r = c.post(
        f"/requests/{rid}/triage",
        json={"note": "drought brief from the SO3 run", "so3_run": f"job-{so3}"},
        headers=h["mona"],
    )
    assert r.status_code == 200, r.text
    triaged = r.json()
    assert triaged["status"] == "triaged"
    assert triaged["population_exposed"] is not None and triaged["population_exposed"] > 0
    assert triaged["population_source"].startswith(f"SO3 run {so3}")

    # ... and accepts it: the brief runs as a job in a worker process
    r = c.post(f"/requests/{rid}/accept", headers=h["mona"])
    assert r.status_code == 200, r.text
    job_id = r.json()["job_id"]
    assert r.json()["status"] == "in_progress"
    st = _wait_job(c, job_id)
    assert (st["processID"], st["status"]) == ("brief", "successful"), st["log"]

    # the job manager delivers the request with links to the brief
    d = _wait_request(c, h["vera"], rid, "delivered")
    assert d["links"][0] == f"/jobs/{job_id}/results/brief.pdf"
    assert f"/jobs/{job_id}/results/brief.html" in d["links"]
    pdf = c.get(d["links"][0])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 10_000

    # the audit trail: each step with who and when
    steps = [(e["action"], e["actor"], e["from_status"], e["to_status"]) for e in d["events"]]
    assert steps == [
        ("submit", "vera", None, "received"),
        ("triage", "mona", "received", "triaged"),
        ("accept", "mona", "triaged", "in_progress"),
        ("deliver", "system", "in_progress", "delivered"),
    ]
    times = [dt.datetime.fromisoformat(e["at"]) for e in d["events"]]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
    assert times[-1] >= dt.datetime.fromisoformat(st["finished"]) - dt.timedelta(seconds=1)
    assert d["events"][2]["note"] == f"brief job {job_id}"
    assert d["events"][3]["note"] == f"brief job {job_id} finished"

    # the moderator closes it; the queue of open requests is then empty
    r = c.post(f"/requests/{rid}/close", headers=h["mona"])
    assert r.json()["status"] == "closed"
    assert c.get("/requests", headers=h["mona"]).json()["count"] == 0
