"""``landwatch serve``: the web service and dashboard (uvicorn)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Data folder: database, job outputs (default LANDWATCH_DATA_DIR)."),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: SQLite in the data folder).")
    ] = None,
    run: Annotated[
        list[Path] | None,
        typer.Option("--run", help="Output folder of a landwatch run to publish as layers."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Jobs run at the same time.")] = 2,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler tcp://HOST:PORT for jobs.")
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="local:N: each job starts its own local Dask cluster of N worker processes "
            "(LANDWATCH_DASK_CLUSTER)."
        ),
    ] = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(help="Memory per Dask worker of --cluster, e.g. 6GB."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    processes: Annotated[
        int,
        typer.Option(
            help="Server processes (uvicorn workers) answering requests; rate limits are "
            "counted per process."
        ),
    ] = 1,
) -> None:
    """Run the web service and dashboard: processes and jobs, map layers, alerts,
    observations and the knowledge base. Migrations are applied on start.

    Example:

        landwatch serve --run demo/sdg1531 --run demo/ldn --port 8000
    """
    import uvicorn

    from landwatch.api import Settings, create_app
    from landwatch.cli import _fail
    from landwatch.errors import InputError

    try:
        for r in run or []:
            if not (r / "manifest.json").is_file():
                raise InputError(
                    f"--run {str(r)!r} is not an output folder of a landwatch run (no manifest.json)."
                )
        kwargs: dict[str, object] = {"job_workers": workers}
        if data_dir is not None:
            kwargs["data_dir"] = data_dir
        if db is not None:
            kwargs["database_url"] = db
        if run:
            kwargs["runs"] = [r.resolve() for r in run]
        if scheduler:
            kwargs["dask_scheduler"] = scheduler
        if cluster:
            kwargs["dask_cluster"] = cluster
        if memory_limit:
            kwargs["dask_memory_limit"] = memory_limit
        settings = Settings(**kwargs)  # type: ignore[arg-type]
        _check_dask_settings(settings)
    except (InputError, ValueError) as exc:
        _fail(exc)
        return
    os.environ.setdefault("LANDWATCH_DATA_DIR", str(settings.data_dir))
    if processes <= 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return
    # several processes: each builds its app from the same settings, passed through the
    # environment (pydantic-settings reads LANDWATCH_*)
    os.environ["LANDWATCH_DATA_DIR"] = str(settings.data_dir)
    os.environ["LANDWATCH_DATABASE_URL"] = settings.db_url()
    os.environ["LANDWATCH_RUNS"] = json.dumps([str(r) for r in settings.runs])
    os.environ["LANDWATCH_JOB_WORKERS"] = str(settings.job_workers)
    if settings.dask_scheduler:
        os.environ["LANDWATCH_DASK_SCHEDULER"] = settings.dask_scheduler
    if settings.dask_cluster:
        os.environ["LANDWATCH_DASK_CLUSTER"] = settings.dask_cluster
    if settings.dask_memory_limit:
        os.environ["LANDWATCH_DASK_MEMORY_LIMIT"] = settings.dask_memory_limit
    uvicorn.run(
        "landwatch.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        workers=processes,
    )


def _check_dask_settings(settings: object) -> None:
    """The Dask settings of jobs, checked at start rather than in every job."""
    from landwatch.errors import InputError
    from landwatch.workflows.cluster import parse_cluster, parse_memory_limit

    scheduler = getattr(settings, "dask_scheduler", None)
    cluster = getattr(settings, "dask_cluster", None)
    limit = getattr(settings, "dask_memory_limit", None)
    if scheduler and cluster:
        raise InputError(
            f"--scheduler {scheduler!r} and --cluster {cluster!r} were both given; expected one."
        )
    if cluster:
        parse_cluster(cluster)
    if limit and not cluster:
        raise InputError(f"--memory-limit {limit!r} applies to --cluster local:N; add --cluster.")
    parse_memory_limit(limit)
