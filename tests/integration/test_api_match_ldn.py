"""POST /match on a real LDN run of the sample region, published to the web service:
the API gives the same recommendations as `run_match` (what `landwatch match` prints)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from landwatch.api import Settings, create_app
from landwatch.knowledge.practices import approved_records, load_builtin_practices
from landwatch.store import init_db, session_scope
from landwatch.workflows.ldn import LdnResult, run_ldn
from landwatch.workflows.match import run_match


@pytest.fixture(scope="module")
def ldn_run(sample_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> LdnResult:
    return run_ldn(sample_run_dir, tmp_path_factory.mktemp("published") / "ldn_sample")


@pytest.fixture(scope="module")
def api(ldn_run: LdnResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("api")
    settings = Settings(
        data_dir=tmp / "data", database_url=f"sqlite:///{tmp}/db.sqlite", runs=[ldn_run.out_dir]
    )
    engine = init_db(settings.db_url())
    with session_scope(engine) as s:
        load_builtin_practices(s)
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        yield c


def test_match__published_ldn_run_same_as_run_match(api: TestClient, ldn_run: LdnResult) -> None:
    period = "report_1"
    hotspots = ldn_run.tables[f"hotspots_{period}"]
    n = min(len(hotspots), 4)
    assert n >= 2, "the sample region has planted hotspots"
    r = api.post("/match", json={"ldn_run": "ldn_sample", "period": period, "top_hotspots": n})
    assert r.status_code == 200, r.text
    targets = r.json()["targets"]
    assert [t["target"]["target"] for t in targets] == [f"hotspot {i}" for i in range(1, n + 1)]
    settings: Settings = api.app.state.settings  # type: ignore[attr-defined]
    engine = init_db(settings.db_url())
    with session_scope(engine) as s:
        records = approved_records(s)
    engine.dispose()
    expected = run_match(records, ldn_run=ldn_run.out_dir, period=period, top_hotspots=n)
    for target, matches in zip(targets, expected.matches, strict=True):
        assert target["target"]["period"] == period
        assert [m["uuid"] for m in target["matches"]] == [m.uuid for m in matches]
        assert [m["score"] for m in target["matches"]] == [round(m.score, 4) for m in matches]
        assert all(len(m["reasons"]) == 5 for m in target["matches"])
    # a hotspot by its rank; the top practices per place
    r = api.post(
        "/match", json={"ldn_run": "ldn_sample", "period": period, "hotspots": [2], "top": 5}
    )
    assert r.status_code == 200
    (only,) = r.json()["targets"]
    assert only["target"]["target"] == "hotspot 2" and len(only["matches"]) == 5
