"""A real app on a temporary SQLite or PostgreSQL database, with users of every role and their tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from landwatch.api import Settings, create_app
from landwatch.store import init_db, session_scope
from landwatch.store.auth import create_user, issue_token


@pytest.fixture(params=["sqlite", "postgresql"])
def api_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Every API test runs on SQLite (the default) and on a real PostgreSQL server."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_db")
    else:
        url = f"sqlite:///{tmp_path}/api.sqlite"
    return Settings(data_dir=tmp_path / "data", database_url=url)


@pytest.fixture()
def tokens(api_settings: Settings) -> dict[str, str]:
    engine = init_db(api_settings.db_url())
    out = {}
    with session_scope(engine) as s:
        for name, role in (
            ("vera", "viewer"),
            ("carl", "contributor"),
            ("mona", "moderator"),
            ("ada", "admin"),
        ):
            create_user(s, name, role)
            out[role] = issue_token(s, name)
    engine.dispose()
    return out


@pytest.fixture()
def client(api_settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
