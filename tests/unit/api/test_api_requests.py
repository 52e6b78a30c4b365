"""Routes of requests for information: submit, queue, detail, the moderators' steps, the
brief job started by accept and delivered by the job manager's hook, and the page."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import landwatch.api.app as app_module
from landwatch.api import Settings, create_app
from landwatch.api import jobs as jobs_module
from landwatch.api.jobs import PROCESSES, JobManager
from landwatch.api.worker import run_job
from landwatch.store import init_db, session_scope
from landwatch.store.jobs import Job

ROUTER = "landwatch.api.routers.requests"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
EMAIL = "amina.kariuki@example.org"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _run(folder: Path, workflow: str, tables: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"workflow": workflow}))
    for name, text in (tables or {}).items():
        (folder / "tables").mkdir(exist_ok=True)
        (folder / "tables" / name).write_text(text)
    return folder


@pytest.fixture()
def api_settings(tmp_path: Path) -> Settings:
    """Two published runs: an SO3 run (population of KE-S01) and an SDG run."""
    so3 = _run(
        tmp_path / "runs" / "so3",
        "so3",
        {
            "so3_2_drought_totals.csv": "year,sex,zone_id,zone,drought_population\n"
            "2023,total,1,KE-S01 Kilima Highlands,1500.4\n"
        },
    )
    sdg = _run(tmp_path / "runs" / "sdg", "sdg1531")
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path}/api.sqlite",
        runs=[so3, sdg],
        rate_limit_per_minute=100_000,
        write_rate_limit_per_minute=100_000,
    )


@pytest.fixture()
def client(
    api_settings: Settings, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app with the requests router, without the manager's thread: a brief job waits
    until a test runs it (with a stand-in for the brief workflow)."""
    if ROUTER not in app_module.ROUTER_MODULES:  # until app.py lists it
        monkeypatch.setattr(app_module, "ROUTER_MODULES", (ROUTER, *app_module.ROUTER_MODULES))
    monkeypatch.setattr(JobManager, "start", lambda self: None)
    with TestClient(create_app(api_settings)) as c:
        yield c


@pytest.fixture()
def fake_brief(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The brief process writes brief.pdf and brief.html (the workflow is tested apart)."""
    seen: list[Any] = []

    def run(inputs: Any, out_dir: Path, progress: Any, ctx: Any) -> None:
        seen.append(inputs)
        if inputs.title == "fail":
            from landwatch.errors import InputError

            raise InputError("--topic drought needs a drought run.")
        progress.start(1)
        (out_dir / "brief.pdf").write_bytes(b"%PDF-1.7 brief")
        (out_dir / "brief.html").write_text("<h1>brief</h1>")
        progress.step("brief written")

    spec = dataclasses.replace(PROCESSES["brief"], run=run)
    monkeypatch.setitem(PROCESSES, "brief", spec)
    return seen


def _body(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "requester": "Amina Kariuki",
        "organization": "Ministry of Environment",
        "requester_type": "national_focal_point",
        "email": EMAIL,
        "country": "KE",
        "topic": "drought",
        "admin_id": "KE-S01",
        "question": "How many people are exposed to the drought in Kilima?",
        "deadline": (dt.date.today() + dt.timedelta(days=12)).isoformat(),
        "intended_use": "drought_response",
    }
    return {k: v for k, v in (base | kw).items() if v is not None}


def _submit(client: TestClient, token: str, **kw: Any) -> dict[str, Any]:
    r = client.post("/requests", json=_body(**kw), headers=auth(token))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _post(client: TestClient, token: str, rid: int, action: str, body: Any = None) -> Any:
    return client.post(f"/requests/{rid}/{action}", json=body, headers=auth(token))


def _fields(r: Any) -> set[str]:
    assert r.status_code == 422, r.text
    return {e["field"] for e in r.json()["errors"]}


def _finish_jobs(settings: Settings) -> None:
    """Run every waiting job in this process, then one round of the job manager."""
    engine = init_db(settings.db_url())
    with session_scope(engine) as s:
        waiting = [j.id for j in s.query(Job).filter(Job.status == "accepted")]
    for job_id in waiting:
        run_job(job_id, settings, heartbeat_interval=0.2, progress_interval=0.0)
    JobManager(settings, engine).tick()  # the job-end hooks run in the first round
    engine.dispose()


# --------------------------------------------------------------------------- submit


def test_post_requests__any_registered_user(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.post("/requests", json=_body()).status_code == 401
    r = client.post("/requests", json=_body(so3_run="so3"), headers=auth(tokens["viewer"]))
    assert r.status_code == 201, r.text
    d = r.json()
    assert r.headers["location"] == f"/requests/{d['id']}"
    assert (d["status"], d["created_by"], d["email"], d["units"]) == (
        "received",
        "vera",
        EMAIL,
        ["KE-S01"],
    )
    assert (d["population_exposed"], d["population_source"]) == (1500.4, "SO3 run so3, 2023")
    assert d["priority"]["tier"] == "brief" and 0 < d["priority"]["score"] <= 100
    assert [b["criterion"] for b in d["priority"]["breakdown"]] == [
        "deadline",
        "alert_level",
        "population",
        "reporting",
        "requester_type",
    ]
    assert [(e["action"], e["actor"]) for e in d["events"]] == [("submit", "vera")]


def test_post_requests__field_errors(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/requests", json={"topic": "floods"}, headers=auth(tokens["viewer"]))
    assert r.json()["type"] == "InfoRequestValidationError"
    assert {"requester", "email", "topic", "area", "deadline", "country"} <= _fields(r)
    bad_email = client.post(
        "/requests", json=_body(email="not an address"), headers=auth(tokens["viewer"])
    )
    assert _fields(bad_email) == {"email"} and "not an address" not in bad_email.text
    runs = client.post(
        "/requests",
        json=_body(sdg_run="so3", ldn_run=f"job-{uuid.uuid4()}", so3_run="../../etc"),
        headers=auth(tokens["viewer"]),
    )
    assert _fields(runs) == {"sdg_run", "ldn_run", "so3_run"}
    messages = {e["field"]: e["message"] for e in runs.json()["errors"]}
    assert "not an output of sdg1531" in messages["sdg_run"]
    assert "no such run; expected a run id listed by GET /runs" in messages["ldn_run"]
    assert _fields(client.post("/requests", json=[1], headers=auth(tokens["viewer"]))) == {""}


# --------------------------------------------------------------------------- read


def test_get_requests__queue_by_priority_and_visibility(
    client: TestClient, tokens: dict[str, str]
) -> None:
    soon = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    a = _submit(client, tokens["viewer"])
    b = _submit(client, tokens["contributor"], deadline=soon)
    assert client.get("/requests").status_code == 401
    mine = client.get("/requests", headers=auth(tokens["viewer"])).json()
    assert [r["id"] for r in mine["requests"]] == [a["id"]] and mine["count"] == 1
    every = client.get("/requests", headers=auth(tokens["moderator"])).json()["requests"]
    assert [r["id"] for r in every] == [b["id"], a["id"]]  # the urgent one first
    assert every[0]["priority"]["score"] > every[1]["priority"]["score"]
    assert every[0]["priority"]["tier_label"] == "72-hour snapshot"
    assert every[0]["events"] is None  # the trail is in GET /requests/{id}
    _post(client, tokens["moderator"], b["id"], "reject", {"reason": "duplicate"})
    h = auth(tokens["moderator"])
    assert [r["id"] for r in client.get("/requests", headers=h).json()["requests"]] == [a["id"]]
    rejected = client.get("/requests?status=rejected", headers=h).json()["requests"]
    assert [r["id"] for r in rejected] == [b["id"]]
    assert client.get("/requests?status=all", headers=h).json()["count"] == 2
    assert client.get("/requests?status=open", headers=h).status_code == 422


def test_get_request__owner_or_moderator(client: TestClient, tokens: dict[str, str]) -> None:
    a = _submit(client, tokens["viewer"])
    d = client.get(f"/requests/{a['id']}", headers=auth(tokens["viewer"])).json()
    assert d["id"] == a["id"] and [e["action"] for e in d["events"]] == ["submit"]
    assert client.get(f"/requests/{a['id']}", headers=auth(tokens["moderator"])).status_code == 200
    other = client.get(f"/requests/{a['id']}", headers=auth(tokens["contributor"]))
    assert other.status_code == 404 and other.json()["type"] == "NotFoundError"
    assert client.get("/requests/999", headers=auth(tokens["moderator"])).status_code == 404
    for bad in ("0", "x", str(2**40)):
        assert client.get(f"/requests/{bad}", headers=auth(tokens["admin"])).status_code == 422


# --------------------------------------------------------------------------- workflow


def test_moderation__needs_the_moderator_role(client: TestClient, tokens: dict[str, str]) -> None:
    a = _submit(client, tokens["viewer"])
    for role in ("viewer", "contributor"):
        r = _post(client, tokens[role], a["id"], "triage")
        assert r.status_code == 403 and "role moderator" in r.json()["detail"]
    assert client.post(f"/requests/{a['id']}/triage").status_code == 401


def test_accept__brief_job_delivered_by_the_job_manager(
    client: TestClient, tokens: dict[str, str], api_settings: Settings, fake_brief: list[Any]
) -> None:
    mod = tokens["moderator"]
    a = _submit(client, tokens["viewer"])
    r = _post(client, mod, a["id"], "accept")
    assert r.status_code == 422 and "Allowed from received: triage, reject" in r.json()["detail"]
    t = _post(client, mod, a["id"], "triage", {"note": "urgent", "so3_run": "nope"})
    assert _fields(t) == {"so3_run"}
    r = _post(client, mod, a["id"], "accept")
    assert "it is received" in r.json()["detail"]  # a refused triage changed nothing
    t = _post(client, mod, a["id"], "triage", {"note": "urgent", "so3_run": "so3"})
    assert t.status_code == 200 and t.json()["status"] == "triaged"
    assert t.json()["events"][-1]["note"] == "urgent; runs: so3_run = so3"

    r = _post(client, mod, a["id"], "accept", {"note": "go"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "in_progress" and d["allowed_actions"] == ["deliver"]
    job = client.get(f"/jobs/{d['job_id']}").json()
    assert (job["processID"], job["status"], job["owner"]) == ("brief", "accepted", "mona")
    with session_scope(init_db(api_settings.db_url())) as s:
        inputs = s.get(Job, d["job_id"]).inputs  # type: ignore[union-attr]
    assert inputs["topic"] == "drought" and inputs["admin_id"] == "KE-S01"
    assert inputs["so3_run"] == "so3" and EMAIL not in json.dumps(inputs)
    assert _post(client, mod, a["id"], "accept").status_code == 422  # not twice

    _finish_jobs(api_settings)
    assert fake_brief[0].title == f"Drought: KE-S01 (request {a['id']})"
    d = client.get(f"/requests/{a['id']}", headers=auth(tokens["viewer"])).json()
    assert d["status"] == "delivered"
    assert d["links"][:2] == [
        f"/jobs/{d['job_id']}/results/brief.pdf",
        f"/jobs/{d['job_id']}/results/brief.html",
    ]
    pdf = client.get(d["links"][0])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert [(e["action"], e["actor"], e["to_status"]) for e in d["events"]] == [
        ("submit", "vera", "received"),
        ("triage", "mona", "triaged"),
        ("accept", "mona", "in_progress"),
        ("deliver", "system", "delivered"),
    ]
    r = _post(client, mod, a["id"], "close", {"note": "thanked"})
    assert r.json()["status"] == "closed" and r.json()["allowed_actions"] == []


def test_accept__failed_brief_goes_back_to_triaged(
    client: TestClient, tokens: dict[str, str], api_settings: Settings, fake_brief: list[Any]
) -> None:
    mod = tokens["moderator"]
    a = _submit(client, tokens["viewer"], so3_run="so3")
    _post(client, mod, a["id"], "triage")
    with session_scope(init_db(api_settings.db_url())) as s:
        from landwatch.store.requests import InfoRequest

        s.get(InfoRequest, a["id"]).admin_id = None  # type: ignore[union-attr]
        s.get(InfoRequest, a["id"]).area = {  # type: ignore[union-attr]
            "type": "Polygon",
            "coordinates": [[[37, -1.5], [37.2, -1.5], [37.2, -1.3], [37, -1.5]]],
        }
    r = _post(client, mod, a["id"], "accept")
    job_id = r.json()["job_id"]
    with session_scope(init_db(api_settings.db_url())) as s:
        job = s.get(Job, job_id)
        assert job is not None
        area = job.inputs["area"]
        job.inputs = {**job.inputs, "title": "fail"}  # the stand-in brief fails on it
    # the polygon went to the job as an upload
    assert area.startswith("uploads/") and area.endswith(f"request-{a['id']}-area.geojson")
    saved = json.loads((api_settings.data_dir / area).read_text())
    assert saved["features"][0]["geometry"]["type"] == "Polygon"
    _finish_jobs(api_settings)
    d = client.get(f"/requests/{a['id']}", headers=auth(mod)).json()
    assert d["status"] == "triaged" and d["links"] == []
    assert d["events"][-1]["action"] == "job_failed"
    assert "needs a drought run" in d["events"][-1]["note"]
    assert d["allowed_actions"] == ["triage", "accept", "reject"]


def test_accept__missing_or_gone_runs(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    mod = tokens["moderator"]
    a = _submit(client, tokens["viewer"], topic="land_degradation")
    _post(client, mod, a["id"], "triage")
    r = _post(client, mod, a["id"], "accept")
    assert r.status_code == 422 and "a land_degradation brief needs sdg_run" in r.json()["detail"]
    _post(client, mod, a["id"], "triage", {"sdg_run": "sdg"})
    (api_settings.runs[1] / "manifest.json").unlink()  # the run lost its manifest since
    r = _post(client, mod, a["id"], "accept")
    assert _fields(r) == {"inputs.sdg_run"}
    d = client.get(f"/requests/{a['id']}", headers=auth(mod)).json()
    assert d["status"] == "triaged" and d["job_id"] is None
    assert client.get("/jobs").json()["jobs"] == []


def test_deliver_close_reject__checks(client: TestClient, tokens: dict[str, str]) -> None:
    mod = tokens["moderator"]
    a = _submit(client, tokens["viewer"], so3_run="so3")
    b = _submit(client, tokens["viewer"])
    assert _fields(_post(client, mod, b["id"], "reject", {"reason": ""})) == {"reason"}
    r = _post(client, mod, b["id"], "reject", {"reason": "Outside our mandate."})
    assert r.json()["status"] == "rejected"
    assert r.json()["events"][-1]["note"] == "Outside our mandate."
    r = _post(client, mod, b["id"], "close")
    assert r.status_code == 422 and "takes no further step" in r.json()["detail"]
    _post(client, mod, a["id"], "triage")
    assert _post(client, mod, a["id"], "accept").status_code == 200
    r = _post(client, mod, a["id"], "deliver", {"links": ["javascript:alert(1)"]})
    assert _fields(r) == {"links[0]"} and r.json()["type"] == "InfoRequestValidationError"
    assert _fields(_post(client, mod, a["id"], "deliver", {"links": []})) == {"links"}
    r = _post(client, mod, a["id"], "deliver", {"links": ["https://example.org/b.pdf"]})
    assert r.json()["status"] == "delivered" and r.json()["links"] == ["https://example.org/b.pdf"]


# --------------------------------------------------------------------------- manager hook


def test_job_manager__a_failing_hook_does_not_stop_the_others(
    api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def broken(session: Session, data_dir: Path) -> None:
        raise RuntimeError("boom")

    def fine(session: Session, data_dir: Path) -> None:
        calls.append(str(data_dir))

    monkeypatch.setattr(jobs_module, "JOB_END_HOOKS", [broken, fine])
    engine = init_db(api_settings.db_url())
    manager = JobManager(api_settings, engine)
    manager.tick()
    manager.tick()  # not again before HOOK_INTERVAL, unless a worker ended
    assert calls == [str(api_settings.data_dir.resolve())]
    manager._job_end_hooks(force=True)
    assert len(calls) == 2
    engine.dispose()


# --------------------------------------------------------------------------- page


def test_requests_page__form_queue_and_nav(client: TestClient) -> None:
    r = client.get("/requests", headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert 'id="request-form"' in r.text and 'id="queue-table"' in r.text
    assert 'href="/requests" aria-current="page"' in r.text
    for field in ("requester", "email", "country", "topic", "deadline", "area", "so3_run"):
        assert f'data-error-for="{field}"' in r.text, field
    assert '<option value="national_focal_point">' in r.text
    assert "/static/js/requests.js" in r.text and "<script>" not in r.text
    api = client.get("/requests")
    assert api.status_code == 401 and "Accept" in api.headers.get("vary", "")
    assert client.get("/static/js/requests.js").status_code == 200
