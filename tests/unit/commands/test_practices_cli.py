"""`landwatch practices`: happy path end to end, and one-red-line errors (exit 2)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from landwatch.commands.practices import practices_app
from landwatch.knowledge import practices as svc
from landwatch.store import init_db, session_scope
from landwatch.store.auth import create_user, issue_token

runner = CliRunner()

RECORD: dict[str, Any] = {
    "name": "Stone bunds on the contour",
    "summary": "Lines of stones laid along the contour slow runoff and trap sediment.",
    "description": "Stones collected from the field are laid in lines along the contour, "
    "about 20 m apart on gentle slopes; water soaks in and sediment settles behind them.",
    "land_use": ["cropland"],
    "degradation_types": ["Wt"],
    "measure_types": ["structural"],
    "goals": ["reduce"],
    "climate_zones": ["tropical_dry"],
    "aridity": ["semi_arid"],
    "scale": ["farm"],
    "impacts": {"on_site": [{"impact": "soil_loss", "rating": 3}]},
    "adoption": {"level": "high"},
    "location": {"countries": ["BF"]},
    "sources": [{"title": "Where the land is greener", "url": "https://www.wocat.net"}],
    "licence": "CC-BY-4.0",
    "language": "en",
}


def record(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(RECORD)
    out.update(changes)
    return out


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Database URL and a token per role."""
    monkeypatch.setenv("LANDWATCH_DATA_DIR", str(tmp_path / "data"))
    # rich tables on one line: the consoles were made at import (maybe by another test
    # in this worker), so COLUMNS alone would be read too late
    monkeypatch.setenv("COLUMNS", "200")
    import landwatch.commands.practices as practices_cmd

    for con in (practices_cmd.out_console, practices_cmd.console):
        monkeypatch.setattr(con, "width", 200)
    monkeypatch.delenv("LANDWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LANDWATCH_TOKEN", raising=False)
    url = f"sqlite:///{tmp_path}/db.sqlite"
    engine = init_db(url)
    tokens = {"db": url}
    with session_scope(engine) as s:
        for name, role in (("vera", "viewer"), ("alice", "contributor"), ("mona", "moderator")):
            create_user(s, name, role)
            tokens[name] = issue_token(s, name)
    return tokens


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Exit code, stdout and stderr with rich's line wrapping undone."""
    app = typer.Typer()
    app.add_typer(practices_app, name="practices")
    res = runner.invoke(app, ["practices", *args], env=env)
    return res.exit_code, " ".join(res.stdout.split()), " ".join(res.stderr.split())


def write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_practices__happy_path(env: dict[str, str], tmp_path: Path) -> None:
    db = env["db"]
    f = write(tmp_path / "r.json", record())
    code, out, err = invoke("add", f, "--db", db, env={"LANDWATCH_TOKEN": env["alice"]})
    assert code == 0, err
    uid, rest = out.split(": ")
    assert rest == "submitted (version 1)"

    code, out, err = invoke("search", "stone", "--db", db)
    assert code == 0 and "0 practices" in out  # not approved yet

    code, out, err = invoke("review", uid[:8], "--approve", "--token", env["mona"], "--db", db)
    assert code == 0, err
    assert out == f"{uid}: approved (version 1) by mona"

    code, out, err = invoke("search", "stone bunds", "--climate", "tropical_dry", "--db", db)
    assert code == 0, err
    assert "1-1 of 1 practices for 'stone bunds'" in out
    assert "Stone bunds on the contour" in out and "reduce" in out and uid[:8] in out
    assert "climate_zones: tropical_dry 1" in out and "goals: reduce 1" in out

    code, out, err = invoke("search", "stone", "--json", "--db", db)
    result = json.loads(out)
    assert result["total"] == 1 and result["hits"][0]["uuid"] == uid
    assert result["facets"]["land_use"]["cropland"] == 1

    code, out, err = invoke("show", uid, "--db", db)
    assert code == 0, err
    assert (
        "Stone bunds on the contour" in out
        and "soil_loss +3" in out
        and "https://www.wocat.net" in out
    )

    f2 = write(tmp_path / "r2.json", record(goals=["reduce", "restore"]))
    code, out, err = invoke(
        "edit", uid, f2, "--note", "add restore", "--token", env["mona"], "--db", db
    )
    assert code == 0, err
    assert out == f"{uid}: approved (version 2)"

    code, out, err = invoke("history", uid, "--db", db)
    assert code == 0, err
    for text in ("- -> submitted", "submitted -> approved", "approved -> approved", "add restore"):
        assert text in out
    assert [w for w in out.split() if w in ("submit", "approve", "edit")] == [
        "submit",
        "approve",
        "edit",
    ]

    out_json, out_csv = tmp_path / "x.json", tmp_path / "x.csv"
    code, out, err = invoke("export", str(out_json), "--db", db)
    assert code == 0 and "Exported 1 practices" in out
    code, out, err = invoke("export", str(out_csv), "--db", db)
    assert code == 0, err
    code, out, err = invoke("import", str(out_csv), "--token", env["mona"], "--db", db)
    assert code == 0, err
    assert "Imported 1 practices" in out and "1 unchanged" in out
    assert json.loads(out_json.read_text())[0]["goals"] == ["reduce", "restore"]


def test_practices__seed_loads_the_curated_file(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "slm_practices.json"
    write(path, [record(uuid="7d0a3f5e-2b1c-4e8f-9a6d-1c2b3a4d5e6f")])
    monkeypatch.setattr(svc, "builtin_practices_path", lambda: path)
    code, out, err = invoke("seed", "--db", env["db"])
    assert code == 0, err
    assert "Loaded 1 built-in practices" in out
    code, out, err = invoke("seed", "--db", env["db"])
    assert "Loaded 0 built-in practices" in out
    code, out, err = invoke("search", "--db", env["db"])
    assert "landwatch" not in err and "Stone bunds on the contour" in out


def test_practices__invalid_record_is_one_error_per_field(
    env: dict[str, str], tmp_path: Path
) -> None:
    f = write(tmp_path / "bad.json", record(goals=["heal"], nmae="x", licence="MIT"))
    res = runner.invoke(practices_app, ["add", f, "--token", env["alice"], "--db", env["db"]])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines[0] == "error: SLM practice record 'Stone bunds on the contour': 3 errors:"
    assert lines[1].startswith("  nmae: unknown field")
    assert lines[2].startswith(
        "  goals[0]: 'heal' is not a code of the goals list; expected one of: prevent, reduce, restore"
    )
    assert lines[3].startswith("  licence:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "{file}"], "error: cannot add a practice without a token"),
        (
            ["add", "{file}", "--token", "{vera}"],
            "'vera' (role viewer) cannot submit SLM practices",
        ),
        (["add", "{file}", "--token", "lw_forged_token_123"], "token not recognised or revoked"),
        (["add", "{missing}", "--token", "{alice}"], "file not found"),
        (
            ["search", "--goal", "heal"],
            "goals filter 'heal': expected one of prevent, reduce, restore",
        ),
        (["search", "--status", "submitted"], "only moderators see records that are not approved"),
        (["show", "0f8fad5b"], "practice '0f8fad5b' does not exist"),
        (
            ["review", "0f8fad5b", "--token", "{mona}"],
            "expected exactly one of --approve or --reject",
        ),
        (["export", "{tmp}/x.xlsx"], "format 'xlsx' is not known; expected json or csv"),
    ],
)
def test_practices__errors_exit_2_with_one_line(
    env: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    f = write(tmp_path / "r.json", record())
    values = {**env, "file": f, "missing": str(tmp_path / "nope.json"), "tmp": str(tmp_path)}
    code, out, err = invoke(*[a.format(**values) for a in args], "--db", env["db"])
    assert code == 2
    assert message in err
    assert "Traceback" not in err and err.startswith("error:")


def test_practices__review_rules_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    db = env["db"]
    f = write(tmp_path / "r.json", record())
    code, out, err = invoke("add", f, "--token", env["alice"], "--db", db)
    uid = out.split(":")[0]
    code, out, err = invoke("review", uid, "--approve", "--token", env["alice"], "--db", db)
    assert code == 2 and "cannot review SLM practices: expected role moderator" in err
    code, out, err = invoke("review", uid, "--reject", "--token", env["mona"], "--db", db)
    assert code == 2 and "a reason is required" in err
    code, out, err = invoke(
        "review", uid, "--reject", "--reason", "Add costs.", "--token", env["mona"], "--db", db
    )
    assert code == 0 and out == f"{uid}: rejected (version 1) by mona"
    # a rejected record is seen by its author and moderators only
    code, out, err = invoke("show", uid, "--db", db)
    assert code == 2 and "is not approved" in err
    code, out, err = invoke("show", uid, "--json", "--token", env["alice"], "--db", db)
    assert code == 0 and json.loads(out)["status"] == "rejected"
    bad = write(tmp_path / "bad.json", [record(name="ok one"), record(name="x")])
    code, out, err = invoke("import", bad, "--token", env["alice"], "--db", db)
    assert code == 2
    assert "1 of 2 records are invalid; nothing was imported" in err
    assert "record 2 ('x'): 1 error: name: has 1 characters" in err
