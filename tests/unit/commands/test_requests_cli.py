"""`landwatch requests`: submit, the queue, show, the moderators' steps, and accept
producing the brief in-process (recorded as a job); errors are red lines, exit 2."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import landwatch.commands.requests as requests_cmd
from landwatch.api.jobs import PROCESSES
from landwatch.commands.requests import requests_app
from landwatch.errors import InputError
from landwatch.store import init_db, session_scope
from landwatch.store.auth import create_user, issue_token
from landwatch.store.jobs import Job

runner = CliRunner()
root = typer.Typer()
root.add_typer(requests_app, name="requests")
EMAIL = "amina.kariuki@example.org"


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("LANDWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LANDWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LANDWATCH_TOKEN", raising=False)
    monkeypatch.delenv("LANDWATCH_RUNS", raising=False)
    for con in (requests_cmd.out_console, requests_cmd.console):
        monkeypatch.setattr(con, "width", 250)
    db = f"sqlite:///{tmp_path}/db.sqlite"
    engine = init_db(db)
    with session_scope(engine) as s:
        create_user(s, "vera", "viewer")
        create_user(s, "mona", "moderator")
        tokens = {"viewer": issue_token(s, "vera"), "moderator": issue_token(s, "mona")}
    engine.dispose()
    so3 = tmp_path / "out" / "so3"
    (so3 / "tables").mkdir(parents=True)
    (so3 / "manifest.json").write_text(json.dumps({"workflow": "so3"}))
    (so3 / "tables" / "so3_2_drought_totals.csv").write_text(
        "year,sex,zone_id,zone,drought_population\n2023,total,1,KE-S01 Kilima,2500\n"
    )
    request = {
        "requester": "Amina Kariuki",
        "organization": "Ministry of Environment",
        "requester_type": "government",
        "email": EMAIL,
        "country": "KE",
        "topic": "drought",
        "admin_id": "KE-S01",
        "question": "How many people are exposed to the drought in Kilima?",
        "intended_use": "drought_response",
    }
    (tmp_path / "request.json").write_text(json.dumps(request))
    return {"db": db, "tokens": tokens, "so3": so3, "file": tmp_path / "request.json"}


@pytest.fixture()
def fake_brief(monkeypatch: pytest.MonkeyPatch) -> None:
    """The brief process writes brief.pdf (the workflow is tested apart)."""

    def run(inputs: Any, out_dir: Path, progress: Any, ctx: Any) -> None:
        progress.start(2)
        progress.step("maps")
        (out_dir / "brief.pdf").write_bytes(b"%PDF-1.7")
        progress.step("brief written")

    monkeypatch.setitem(PROCESSES, "brief", dataclasses.replace(PROCESSES["brief"], run=run))


def invoke(env: dict[str, Any], role: str | None, *args: str) -> tuple[int, str, str]:
    extra = ["--db", env["db"]] + (["--token", env["tokens"][role]] if role else [])
    res = runner.invoke(root, ["requests", *args, *extra])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, " ".join(res.stdout.split()), " ".join(res.stderr.split())


def _deadline(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def test_requests_cli__from_submission_to_delivery(
    env: dict[str, Any], fake_brief: None, tmp_path: Path
) -> None:
    code, out, err = invoke(env, "viewer", "submit", str(env["file"]), "--deadline", _deadline(5))
    assert code == 0, err
    assert out.startswith("Request 1 received: priority") and "72-hour snapshot" in out

    code, out, _ = invoke(env, "viewer", "list")
    assert code == 0 and "1 request by priority" in out and "received" in out
    assert EMAIL not in out

    code, out, err = invoke(env, "moderator", "accept", "1")
    assert code == 2 and "Allowed from received: triage, reject" in err

    code, out, err = invoke(
        env, "moderator", "triage", "1", "--so3-run", str(env["so3"]), "--note", "urgent"
    )
    assert code == 0, err
    assert "Request 1: triaged" in out

    code, out, err = invoke(env, "moderator", "accept", "1")
    assert code == 0, err
    assert "Request 1: delivered; brief job" in out and "/results/brief.pdf" in out

    code, out, _ = invoke(env, "viewer", "show", "1")
    assert code == 0
    for text in ("Priority breakdown", "Audit trail", "requester_type", "2,500 (SO3 run so3,"):
        assert text in out, text
    assert "urgent; runs: so3_run =" in out
    assert EMAIL in out  # the requester sees their own address

    code, out, _ = invoke(env, "viewer", "show", "1", "--json")
    detail = json.loads(out)
    assert [(e["action"], e["actor"]) for e in detail["events"]] == [
        ("submit", "vera"),
        ("triage", "mona"),
        ("accept", "mona"),
        ("deliver", "system"),
    ]
    job_id = detail["job_id"]
    assert detail["links"][0] == f"/jobs/{job_id}/results/brief.pdf"
    assert (tmp_path / "data" / "jobs" / job_id / "brief.pdf").read_bytes() == b"%PDF-1.7"
    with session_scope(init_db(env["db"])) as s:
        job = s.get(Job, job_id)
        assert job is not None
        assert (job.process_id, job.status, job.owner, job.progress) == (
            "brief",
            "successful",
            "mona",
            100.0,
        )
        assert "run by `landwatch requests accept`" in job.log and EMAIL not in job.log

    code, out, _ = invoke(env, "moderator", "close", "1", "--note", "thanked")
    assert code == 0 and "Request 1: closed" in out
    code, out, _ = invoke(env, "moderator", "list", "--status", "all")
    assert "closed" in out


def test_requests_cli__failed_brief_is_recorded(
    env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(inputs: Any, out_dir: Path, progress: Any, ctx: Any) -> None:
        (out_dir / "half.txt").write_text("x")
        raise InputError("no drought maps in the run.")

    monkeypatch.setitem(PROCESSES, "brief", dataclasses.replace(PROCESSES["brief"], run=run))
    invoke(env, "viewer", "submit", str(env["file"]), "--deadline", _deadline(30))
    invoke(env, "moderator", "triage", "1", "--so3-run", str(env["so3"]))
    code, _, err = invoke(env, "moderator", "accept", "1")
    assert code == 2
    assert "the brief of request 1 failed: no drought maps in the run." in err
    assert "the request is triaged again" in err
    code, out, _ = invoke(env, "moderator", "show", "1", "--json")
    detail = json.loads(out)
    assert detail["status"] == "triaged" and detail["events"][-1]["action"] == "job_failed"
    with session_scope(init_db(env["db"])) as s:
        job = s.get(Job, detail["job_id"])
        assert job is not None and job.status == "failed"
    assert not (tmp_path / "data" / "jobs" / detail["job_id"]).exists()


def test_requests_cli__errors_are_red_lines(env: dict[str, Any]) -> None:
    code, _, err = invoke(env, None, "submit", str(env["file"]), "--deadline", _deadline(5))
    assert code == 2 and "no API token given" in err
    code, _, err = invoke(
        env, "viewer", "submit", str(env["file"]), "--country", "XX", "--email", "nobody"
    )
    assert code == 2
    assert err.startswith("error: information request: 3 errors:")
    assert "country:" in err and "email:" in err and "deadline: required" in err
    assert "nobody" not in err  # the address is never echoed
    invoke(env, "viewer", "submit", str(env["file"]), "--deadline", _deadline(5))
    code, _, err = invoke(env, "viewer", "triage", "1")
    assert code == 2 and "expected role moderator" in err
    code, _, err = invoke(env, "moderator", "triage", "1", "--so3-run", "nowhere")
    assert code == 2 and "so3_run: 'nowhere': no such run" in err
    code, _, err = invoke(env, "moderator", "reject", "1", "--reason", " ")
    assert code == 2 and "a reason is required" in err
    code, _, err = invoke(env, "moderator", "show", "7")
    assert code == 2 and "request 7 does not exist" in err
    code, out, _ = invoke(env, "moderator", "reject", "1", "--reason", "Not our country.")
    assert code == 0 and "Request 1: rejected" in out
    code, _, err = invoke(env, "moderator", "deliver", "1", "--link", "https://x.org/a.pdf")
    assert code == 2 and "a rejected request takes no further step" in err.lower()
