"""The Dask settings of service jobs: LANDWATCH_DASK_CLUSTER / _MEMORY_LIMIT reach the
job workers, and bad values fail a job (or `landwatch serve`) with a message naming them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from landwatch.api import Settings
from landwatch.api.jobs import JobManager
from landwatch.api.worker import DASK_OPTIONS
from landwatch.cli import app
from landwatch.errors import InputError
from landwatch.store import init_db
from landwatch.workflows.cluster import compute_on


def test_worker_env__passes_the_dask_cluster(
    api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDWATCH_DASK_MEMORY_LIMIT", "stale")
    settings = api_settings.model_copy(update={"dask_cluster": "local:2"})
    env = JobManager(settings, init_db(settings.db_url())).worker_env()
    assert env["LANDWATCH_DASK_CLUSTER"] == "local:2"
    assert "LANDWATCH_DASK_SCHEDULER" not in env and "LANDWATCH_DASK_MEMORY_LIMIT" not in env
    monkeypatch.setenv("LANDWATCH_DASK_CLUSTER", "local:3")
    monkeypatch.setenv("LANDWATCH_DASK_MEMORY_LIMIT", "2GB")
    seen = Settings()
    assert seen.dask_cluster == "local:3" and seen.dask_memory_limit == "2GB"


def test_job_messages_name_the_settings() -> None:
    with pytest.raises(InputError, match="LANDWATCH_DASK_CLUSTER 'local:0'"):
        with compute_on(None, "local:0", options=DASK_OPTIONS):
            pass


def test_serve__bad_cluster_is_one_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path), "--cluster", "local:x"])
    assert res.exit_code == 2
    assert "--cluster 'local:x'" in res.output and "Traceback" not in res.output
