"""Settings of the web service (environment variables with the ``LANDWATCH_`` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Web service settings. Every field can be set as ``LANDWATCH_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="LANDWATCH_", extra="ignore")

    data_dir: Path = Field(
        default=Path("landwatch-data"),
        description="Folder for the SQLite database, job outputs and uploads.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL (default: SQLite in data_dir)."
    )
    runs: list[Path] = Field(
        default_factory=list,
        description="Output folders of landwatch runs (sdg1531, ldn, drought, so3, warn) to "
        "publish as map layers besides the results of jobs.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (empty: same origin only)."
    )
    rate_limit_per_minute: int = Field(
        default=600, ge=1, description="Requests per minute per token (or per client address)."
    )
    write_rate_limit_per_minute: int = Field(
        default=120, ge=1, description="Write requests (POST, PUT, PATCH, DELETE) per minute."
    )
    max_upload_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest request body accepted."
    )
    max_polygon_vertices: int = Field(default=10_000, ge=4)
    tile_cache_mb: int = Field(
        default=64, ge=0, description="Memory for rendered map tiles per server process (0: off)."
    )
    max_polygon_km2: float = Field(default=1_000_000.0, gt=0)
    job_workers: int = Field(default=2, ge=1, le=32, description="Jobs run at the same time.")
    dask_scheduler: str | None = Field(
        default=None,
        description="tcp://host:port of a Dask scheduler for jobs (default: local processes).",
    )
    dask_cluster: str | None = Field(
        default=None,
        description="local:N: each job's worker process starts its own local Dask cluster of "
        "N worker processes for the job's computations (instead of dask_scheduler).",
    )
    dask_memory_limit: str | None = Field(
        default=None,
        description="Memory per Dask worker of dask_cluster (e.g. 6GB; default: the machine's "
        "memory shared between the workers).",
    )

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'landwatch.db').resolve()}"
