"""Shared fixtures.

Tests that need ../shared (reference data and expected outputs of other software)
skip on a developer machine without it, but FAIL in CI (CI=true), where a skip
would hide a missing input.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_candidates() -> list[Path]:
    env = os.environ.get("LANDWATCH_SHARED")
    out = [Path(env)] if env else []
    out += [REPO.parent / "shared", Path("/work/shared")]
    return out


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    for cand in _shared_candidates():
        if (cand / "data").is_dir() and (cand / "validation").is_dir():
            return cand
    msg = "../shared (reference data) not found next to the repository; set LANDWATCH_SHARED"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip(msg)
