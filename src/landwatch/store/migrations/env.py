"""Alembic environment: runs on the connection handed over by ``landwatch.store.init_db``."""

from __future__ import annotations

from alembic import context

import landwatch.store.models  # noqa: F401  (registers every table on Base.metadata)
from landwatch.store.db import Base, make_engine

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")


def _run(conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        render_as_batch=conn.dialect.name == "sqlite",  # ALTER TABLE on SQLite
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # `alembic -x url=... upgrade heads` from a shell
    url = context.get_x_argument(as_dictionary=True).get("url")
    with make_engine(url).begin() as conn:
        _run(conn)
