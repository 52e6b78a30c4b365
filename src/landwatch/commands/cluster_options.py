"""The ``--scheduler``, ``--cluster`` and ``--memory-limit`` options of every raster
command, and the helper that opens the cluster around a workflow call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = [
    "ClusterOption",
    "MemoryLimitOption",
    "SchedulerOption",
    "cluster_chunks",
    "on_cluster",
]

SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Compute on a running Dask scheduler, tcp://HOST:PORT (its workers must see "
        "the input and output folders at the same paths).",
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Compute on a local Dask cluster of N worker processes: local:N (e.g. local:2). "
        "Without --chunks, a cluster run uses chunks of about a quarter of the grid per "
        "worker, at most 1024 px.",
    ),
]
MemoryLimitOption = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="Memory per worker of --cluster local:N, e.g. 6GB (default: the machine's "
        "memory shared between the workers); workers spill to disk above 60 % of it.",
    ),
]


@contextmanager
def on_cluster(
    scheduler: str | None, cluster: str | None, memory_limit: str | None
) -> Iterator[Any]:
    """:func:`landwatch.workflows.cluster.compute_on` that says on the console where the
    computations run."""
    from landwatch import cli
    from landwatch.workflows.cluster import compute_on

    with compute_on(
        scheduler,
        cluster,
        memory_limit=memory_limit,
        progress=lambda msg: cli.console.print(msg, highlight=False, soft_wrap=True),
    ) as client:
        yield client


def cluster_chunks(
    client: Any, chunks: int | None, grid: Path, variable: str | None = None
) -> int | None:
    """``chunks`` as given; on a cluster without it, :func:`default_chunk_size` of the
    grid of ``grid`` (a raster or NetCDF/Zarr file; None when it cannot be read: the
    workflow then reports the file's problem itself)."""
    if chunks is not None or client is None:
        return chunks
    from landwatch.errors import LandwatchError
    from landwatch.io.rasters import open_raster
    from landwatch.workflows.cluster import default_chunk_size, n_workers

    if grid.suffix.lower() == ".csv":
        return None
    try:
        da = open_raster(grid, name="grid", variable=variable, require_crs=False)
    except LandwatchError:
        return None
    if "y" not in da.dims or "x" not in da.dims:
        return None
    return default_chunk_size((da.sizes["y"], da.sizes["x"]), n_workers(client))
