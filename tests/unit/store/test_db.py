"""Migrations build the schema the models describe, on a real SQLite file and a real
PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from landwatch.store import Base, database_url, init_db, session_scope
from landwatch.store.models import SchemaInfo


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_db"))
    return f"sqlite:///{tmp_path / 'lw.db'}"


def test_init_db__creates_and_is_idempotent(url: str) -> None:
    engine = init_db(url)
    init_db(url)  # a second start upgrades nothing and fails nothing
    names = set(inspect(engine).get_table_names())
    assert {"alembic_version", "schema_info"} <= names
    with session_scope(engine) as s:
        assert (
            s.scalar(select(SchemaInfo.value).where(SchemaInfo.key == "created_by")) == "landwatch"
        )


def test_migrations__match_the_models(url: str) -> None:
    engine = init_db(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_session_scope__rolls_back_on_error(url: str) -> None:
    engine = init_db(url)
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.add(SchemaInfo(key="half", value="written"))
        s.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert s.get(SchemaInfo, "half") is None


def test_migrations__downgrade_to_base_and_up_again(url: str) -> None:
    """Every revision's downgrade runs and leaves nothing behind; upgrading again works."""
    from alembic import command

    from landwatch.store.db import alembic_config

    engine = init_db(url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    engine = init_db(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_database_url__env_and_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LANDWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("LANDWATCH_DATA_DIR", str(tmp_path / "d"))
    assert database_url() == f"sqlite:///{(tmp_path / 'd' / 'landwatch.db').resolve()}"
    monkeypatch.setenv("LANDWATCH_DATABASE_URL", "sqlite:///x.db")
    assert database_url() == "sqlite:///x.db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
