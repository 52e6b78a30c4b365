"""Shared fixtures.

Tests that need ../shared (reference data and expected outputs of other software)
skip on a developer machine without it, but FAIL in CI (CI=true), where a skip
would hide a missing input.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
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


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bin() -> Path | None:
    """The folder of initdb/pg_ctl (Debian keeps them out of PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if found:
        return found[0].parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on loopback (initdb + pg_ctl in a temporary folder),
    as a SQLAlchemy URL to an empty database. `make test` installs Debian's postgresql
    package when it is missing; without it the tests skip here and FAIL in CI."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        msg = "PostgreSQL server binaries (initdb) not found; apt-get install postgresql"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    base = Path(tempfile.mkdtemp(prefix="landwatch-pg-"))
    base.chmod(0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as 'postgres'
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "landwatch", "--auth=trust", "-E", "UTF8")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start")
    try:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={port} user=landwatch dbname=postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE landwatch")
        yield f"postgresql+psycopg://landwatch@127.0.0.1:{port}/landwatch"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def postgres_db(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server (dropped afterwards)."""
    import uuid

    import psycopg

    name = "lw_" + uuid.uuid4().hex[:12]
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: a SQLite file and a real PostgreSQL server."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_db"))
    return f"sqlite:///{tmp_path / 'landwatch-test.db'}"
