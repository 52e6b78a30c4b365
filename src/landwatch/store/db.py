"""Engine, sessions and migrations.

The database URL comes from ``LANDWATCH_DATABASE_URL`` or the ``url`` argument;
the default is SQLite at ``<data dir>/landwatch.db`` with the data directory from
``LANDWATCH_DATA_DIR`` (default ``./landwatch-data``). PostgreSQL works with a URL
such as ``postgresql+psycopg://user:pass@host/db``.

The schema is created and upgraded only by Alembic migrations
(``landwatch/store/migrations/versions``): :func:`init_db` runs
``alembic upgrade heads``, so every capability adds its tables in its own
revision. Models subclass :class:`Base`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from landwatch.errors import DataSourceError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Deterministic constraint names, so that migrations can refer to them on every backend.
_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every landwatch table."""

    metadata = MetaData(naming_convention=_NAMING)


def data_dir() -> Path:
    return Path(os.environ.get("LANDWATCH_DATA_DIR", "landwatch-data"))


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, ``LANDWATCH_DATABASE_URL``, or SQLite in the data dir."""
    if url:
        return url
    env = os.environ.get("LANDWATCH_DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{(data_dir() / 'landwatch.db').resolve()}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # let SQLAlchemy emit BEGIN (``_sqlite_begin``), so a transaction can ask for the
    # write lock up front; the sqlite3 module would otherwise begin on its own terms
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cur.execute("PRAGMA busy_timeout=30000")
    # WAL + NORMAL: no fsync per commit (the WAL is synced at checkpoints); the
    # database cannot be corrupted, at worst the last commits before a power cut are
    # lost. SQLite's recommended setting for WAL.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (see :func:`database_url`); creates the SQLite folder."""
    url = database_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataSourceError(
                f"database: cannot create the folder {str(path.parent)!r} ({exc.strerror}). "
                "Set LANDWATCH_DATA_DIR to a writable folder or LANDWATCH_DATABASE_URL to a database."
            ) from exc
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


#: Execution option asking for a write transaction from the start (SQLite).
WRITE_INTENT = "landwatch_write_intent"


def _sqlite_begin(conn: Any) -> None:
    """Emit BEGIN ourselves (the driver's own is off, see ``_sqlite_pragmas``).

    A transaction that will write asks for the write lock at once (``BEGIN
    IMMEDIATE``): it then waits its turn (busy_timeout) instead of failing with
    "database is locked" when a read transaction tries to become a write transaction
    while another connection writes (SQLite cannot wait in that case).
    """
    immediate = conn.get_execution_options().get(WRITE_INTENT, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(connection: Any) -> Any:
    """An Alembic ``Config`` of landwatch's migrations that runs on ``connection``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def init_db(url: str | None = None) -> Engine:
    """Create or upgrade the schema to the newest migrations; return the engine."""
    from alembic import command

    engine = make_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "heads")
    return engine


_factories: dict[int, sessionmaker[Session]] = {}
_writers: dict[int, Engine] = {}


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error (nothing half-written).

    On SQLite a ``write`` session (the default) takes the write lock at its first
    statement (``BEGIN IMMEDIATE``) and waits its turn (busy_timeout). A session that
    reads and then writes must do so: a read transaction cannot wait to become a
    write transaction while another connection writes ("database is locked" at
    once). ``write=False`` is for sessions that only read (the web service's GETs);
    they never block writers under WAL.
    """
    factory = _factories.get(id(engine))
    if factory is None:
        factory = _factories[id(engine)] = sessionmaker(engine, expire_on_commit=False)
    if write and engine.dialect.name == "sqlite":
        # the write lock is taken when the session first touches the database (lazily),
        # not before: request parsing and validation do not hold it
        writer = _writers.get(id(engine))
        if writer is None:
            writer = _writers[id(engine)] = engine.execution_options(**{WRITE_INTENT: True})
        session = factory(bind=writer)
    else:
        session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
