"""The sample region and one full assessment on it, shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from landwatch.sample import SampleRegion, create_sample_region
from landwatch.workflows.config import load_config
from landwatch.workflows.sdg1531 import RunResult, run_sdg1531


@pytest.fixture(scope="session")
def sample_region(tmp_path_factory: pytest.TempPathFactory) -> SampleRegion:
    """The documented sample region: 400 x 400 px, seed 0."""
    return create_sample_region(tmp_path_factory.mktemp("sample") / "region", size=400, seed=0)


@pytest.fixture(scope="session")
def sample_run(sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The default SDG 15.3.1 assessment of the sample region."""
    cfg = load_config(sample_region.out_dir / "run.yaml")
    return run_sdg1531(cfg, tmp_path_factory.mktemp("run") / "sdg1531")


@pytest.fixture(scope="session")
def sample_run_dir(sample_run: RunResult) -> Path:
    return sample_run.out_dir
