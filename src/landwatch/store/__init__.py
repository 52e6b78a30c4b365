"""The database: SQLAlchemy models and Alembic migrations (SQLite by default, PostgreSQL by URL)."""

from landwatch.store.db import Base, database_url, init_db, make_engine, session_scope

__all__ = ["Base", "database_url", "init_db", "make_engine", "session_scope"]
