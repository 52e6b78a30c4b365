"""Where the Dask computations of a workflow run: this process, a local cluster, or a
remote Dask distributed scheduler; and the Zarr scratch store for cubes that must be
rechunked but do not fit in memory.

Every raster workflow is written with xarray and dask (kernels lifted with
``xr.apply_ufunc(..., dask="parallelized")``), so the same code runs in memory, on the
threads of this process, or on a cluster. :func:`compute_on` picks the place for the
duration of a ``with`` block:

* neither ``scheduler`` nor ``cluster``: nothing changes (numpy in memory, or dask's
  threaded scheduler for chunked inputs);
* ``cluster="local:N"``: a :class:`dask.distributed.LocalCluster` of ``N`` worker
  processes with one thread each (numba kernels and GDAL reads are not shared between
  threads of one worker), started for the block and closed at its end;
* ``scheduler="tcp://HOST:PORT"``: a client of a running scheduler; its workers must
  see the input and output folders at the same paths.

The results are the same in all three cases: every kernel is computed per pixel (or
per pixel time series) and the reductions that cross chunks (areas, counts) are done
in float64 on the gathered arrays, so chunking does not change a single value
(``tests/integration/test_cluster_parity.py`` compares every output exactly).
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rioxarray  # noqa: F401 - the .rio accessor
import xarray as xr

from landwatch.errors import DataSourceError, InputError

__all__ = [
    "DASK_TIMEOUT",
    "MAX_AUTO_CHUNK",
    "compute_on",
    "connect_dask",
    "default_chunk_size",
    "memory_budget",
    "n_workers",
    "parse_cluster",
    "parse_memory_limit",
    "time_series_cube",
]

log = logging.getLogger("landwatch.cluster")

#: Seconds to wait for a scheduler before giving up.
DASK_TIMEOUT = 10.0
#: Largest automatic spatial chunk (px per side) on a cluster: 1024^2 px x 24 years of
#: float32 NDVI is 100 MB per chunk, a few of them per worker fit in 2 GB.
MAX_AUTO_CHUNK = 1024
#: Smallest automatic chunk: below this the per-task overhead dominates.
MIN_AUTO_CHUNK = 16

_LOCAL = re.compile(r"^local:(\d+)$")


def _say(progress: Callable[[str], None] | None, message: str) -> None:
    log.info(message)
    if progress is not None:
        progress(message)


def parse_cluster(value: str, *, option: str = "--cluster") -> int:
    """Number of workers of ``local:N`` (N >= 1); InputError naming ``option`` otherwise."""
    m = _LOCAL.match(value.strip())
    n = int(m.group(1)) if m else 0
    if n < 1:
        raise InputError(
            f"{option} {value!r} is not a local cluster spec; expected local:N with N >= 1 "
            "worker processes, e.g. local:2 (or give --scheduler tcp://HOST:PORT to use a "
            "running Dask scheduler)."
        )
    return n


def parse_memory_limit(value: str | None, *, option: str = "--memory-limit") -> str | None:
    """``value`` checked as a size (``6GB``, ``512MiB``, ``auto``); None stays None."""
    if value is None:
        return None
    if value.strip().lower() == "auto":
        return "auto"
    from dask.utils import parse_bytes

    try:
        n = parse_bytes(value.strip())
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{option} {value!r} is not a size; expected memory per worker such as 6GB, "
            "1500MB or 2GiB (or auto: the machine's memory shared between the workers)."
        ) from exc
    if n < 64 * 2**20:
        raise InputError(
            f"{option} {value!r} is {n} bytes; a worker needs at least 64MB. Pass e.g. 2GB."
        )
    return value.strip()


def connect_dask(
    address: str,
    *,
    timeout: float = DASK_TIMEOUT,
    option: str = "LANDWATCH_DASK_SCHEDULER",
    fix: str | None = None,
) -> Any:
    """A ``dask.distributed.Client`` connected to ``address`` (set as the default
    scheduler); DataSourceError with the fix when it cannot connect.

    ``option`` names where the address came from (an environment variable or a
    command-line option) and ``fix`` says how to run without it.
    """
    fix = fix or f"unset {option} to run jobs in local processes"
    try:
        from dask.distributed import Client
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise DataSourceError(
            f"{option} is set but dask.distributed is not installed; "
            f"pip install distributed, or {fix}."
        ) from exc
    try:
        return Client(address, timeout=timeout, set_as_default=True)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise DataSourceError(
            f"dask scheduler {address!r} ({option}): cannot connect "
            f"({type(exc).__name__}: {exc}). Start the scheduler, correct the address "
            f"(tcp://HOST:PORT), or {fix}."
        ) from exc


@contextmanager
def compute_on(
    scheduler: str | None = None,
    cluster: str | None = None,
    *,
    memory_limit: str | None = None,
    progress: Callable[[str], None] | None = None,
    local_directory: str | Path | None = None,
    timeout: float = DASK_TIMEOUT,
    options: tuple[str, str, str] = ("--scheduler", "--cluster", "--memory-limit"),
) -> Iterator[Any]:
    """Run the Dask computations of the ``with`` block on a cluster.

    Parameters
    ----------
    scheduler
        ``tcp://HOST:PORT`` of a running Dask scheduler.
    cluster
        ``local:N``: start a local cluster of N worker processes (one thread each).
    memory_limit
        Memory per worker of a local cluster (``6GB``; default ``auto``: the machine's
        memory divided between the workers). Workers spill to ``local_directory``
        above 60 % of it and pause at 80 %.
    progress
        Receives one line saying where the computations run (and the dashboard link).
    local_directory
        Scratch folder of the local workers (default: the system's temporary folder).
    timeout
        Seconds to wait for a scheduler or for the local workers to start.
    options
        Names of the three settings in messages (CLI options or environment variables).

    Yields
    ------
    dask.distributed.Client or None
        The client (the default scheduler until the block ends), or None when neither
        ``scheduler`` nor ``cluster`` is given. The client, and a local cluster, are
        closed when the block ends, also on errors.

    Raises
    ------
    InputError
        Both ``scheduler`` and ``cluster`` given, a ``cluster`` that is not ``local:N``,
        a bad ``memory_limit``, or ``memory_limit`` with a remote scheduler.
    DataSourceError
        The scheduler cannot be reached, or the local cluster does not start.
    """
    opt_s, opt_c, opt_m = options
    scheduler = scheduler.strip() if scheduler and scheduler.strip() else None
    cluster = cluster.strip() if cluster and cluster.strip() else None
    if scheduler and cluster:
        raise InputError(
            f"{opt_s} {scheduler!r} and {opt_c} {cluster!r} were both given; expected one: "
            f"{opt_s} to use a running Dask scheduler, or {opt_c} local:N to start one here."
        )
    memory_limit = parse_memory_limit(memory_limit, option=opt_m)
    if scheduler is None and cluster is None:
        if memory_limit is not None:
            raise InputError(
                f"{opt_m} {memory_limit!r} applies to the workers of {opt_c} local:N; "
                f"add {opt_c} local:2 (or leave out {opt_m})."
            )
        yield None
        return
    if scheduler is not None:
        if memory_limit is not None:
            raise InputError(
                f"{opt_m} {memory_limit!r} cannot be applied to the workers of {opt_s} "
                f"{scheduler!r}: they were started elsewhere. Set it where they start "
                f"(dask worker --memory-limit 6GB) and leave out {opt_m}."
            )
        if "://" not in scheduler:
            raise InputError(
                f"{opt_s} {scheduler!r} is not a scheduler address; expected tcp://HOST:PORT, "
                "e.g. tcp://10.0.0.5:8786."
            )
        client = connect_dask(
            scheduler,
            timeout=timeout,
            option=opt_s,
            fix=f"leave out {opt_s} to compute in this process" if opt_s.startswith("-") else None,
        )
        try:
            _say(
                progress,
                f"computing on the Dask scheduler at {scheduler} "
                f"({n_workers(client)} workers){_dashboard(client)}",
            )
            yield client
        finally:
            _close(client)
        return
    assert cluster is not None
    n = parse_cluster(cluster, option=opt_c)
    from dask.distributed import Client, LocalCluster

    try:
        local = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit or "auto",
            dashboard_address=":0",  # a free port: two runs never collide
            local_directory=str(local_directory) if local_directory else None,
            timeout=max(timeout, 30.0),
        )
    except (OSError, TimeoutError, RuntimeError) as exc:
        raise DataSourceError(
            f"{opt_c} {cluster!r}: the local Dask cluster did not start "
            f"({type(exc).__name__}: {exc}). Try fewer workers, or leave out {opt_c}."
        ) from exc
    try:
        client = Client(local, set_as_default=True)
    except BaseException:
        local.close()
        raise
    try:
        limit = _worker_limit(client)
        _say(
            progress,
            f"computing on a local Dask cluster of {n} worker processes"
            + (f", {limit} each" if limit else "")
            + _dashboard(client),
        )
        yield client
    finally:
        _close(client)
        try:
            local.close()
        except Exception:  # pragma: no cover - closing must not hide the result
            pass


def _close(client: Any) -> None:
    try:
        client.close()
    except Exception:  # a lost connection must not hide the workflow's result or error
        pass


def _dashboard(client: Any) -> str:
    try:
        link = client.dashboard_link
    except Exception:  # pragma: no cover - no bokeh, no dashboard
        return ""
    return f"; dashboard {link}" if link else ""


def _worker_limit(client: Any) -> str | None:
    from dask.utils import format_bytes

    limits = _memory_limits(client)
    return format_bytes(min(limits)) if limits else None


def _memory_limits(client: Any) -> list[int]:
    workers = client.scheduler_info().get("workers", {})
    return [int(w.get("memory_limit") or 0) for w in workers.values() if w.get("memory_limit")]


def n_workers(client: Any) -> int:
    """Number of workers of ``client``'s cluster (at least 1)."""
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:  # pragma: no cover - a lost scheduler
        return 1


def default_chunk_size(shape: tuple[int, int], workers: int) -> int:
    """Spatial chunk (px per side) used on a cluster when none is given.

    About four chunks per worker, so every worker has work and a slow chunk does not
    hold up the run, between :data:`MIN_AUTO_CHUNK` and :data:`MAX_AUTO_CHUNK` px.
    """
    per_side = math.ceil(math.sqrt(4 * max(1, workers)))
    side = math.ceil(max(shape) / per_side)
    return int(min(MAX_AUTO_CHUNK, max(MIN_AUTO_CHUNK, side)))


def memory_budget(client: Any = None) -> int:
    """Bytes a cube may take before it is rechunked through a Zarr store.

    A quarter of the total memory limit of the cluster's workers; without a cluster,
    a quarter of this machine's available memory.
    """
    if client is None:
        try:
            from dask.distributed import get_client

            client = get_client()
        except (ValueError, ImportError):
            client = None
    if client is not None:
        limits = _memory_limits(client)
        if limits:
            return sum(limits) // 4
    import psutil

    return int(psutil.virtual_memory().available) // 4


def _chunked_along(da: xr.DataArray, dim: str) -> bool:
    return da.chunks is not None and len(da.chunksizes.get(dim, ())) > 1


@contextmanager
def time_series_cube(
    da: xr.DataArray,
    *,
    work_dir: str | Path,
    budget: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Iterator[xr.DataArray]:
    """``da`` with the whole time series of every pixel in one chunk.

    Indices fitted per pixel (SPI, SPEI, events) need ``time`` in one chunk. A dask
    cube chunked along time is rechunked; when it is larger than ``budget`` bytes
    (default :func:`memory_budget`) the rechunked cube is first written to a temporary
    Zarr store in ``work_dir`` and read back lazily, so no worker ever holds more than
    a few chunks and later steps read it chunk by chunk instead of repeating the
    rechunk; the store is deleted when the block ends, also on errors. A numpy cube, or
    one already in one time chunk, is yielded unchanged. The values are the same
    either way (Zarr keeps the dtype; nothing is compressed lossily).
    """
    if da.chunks is None or "time" not in da.dims:
        yield da
        return
    limit = memory_budget() if budget is None else int(budget)
    if da.nbytes <= limit:
        yield da.chunk({"time": -1}) if _chunked_along(da, "time") else da
        return
    spatial: dict[Hashable, Any] = {d: da.chunksizes[d][0] for d in da.dims if d != "time"}
    target = da.chunk({"time": -1, **spatial})
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".landwatch-scratch-", dir=work_dir))
    try:
        name = str(da.name or "data")
        store = scratch / f"{name}.zarr"
        ds = target.drop_encoding().to_dataset(name=name)
        ds = ds.drop_vars([c for c in ds.coords if c not in ds.dims])
        ds[name].attrs = {}
        _say(
            progress,
            f"{name}: {da.nbytes / 2**20:.0f} MiB is over the memory budget of "
            f"{limit / 2**20:.0f} MiB; rechunked through a Zarr store in {scratch}",
        )
        ds.to_zarr(store, mode="w", consolidated=False, zarr_format=2)
        back = xr.open_zarr(store, consolidated=False, chunks={})[name]
        back = back.assign_coords({c: da.coords[c] for c in da.coords})
        back.attrs = dict(da.attrs)
        back.encoding = {}
        if da.rio.crs is not None:
            back = back.rio.write_crs(da.rio.crs)
        back.name = da.name
        yield back
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def spatial_chunks(chunks: int | None) -> Mapping[str, int] | None:
    """``{"y": chunks, "x": chunks}``, or None for in-memory processing."""
    return {"y": chunks, "x": chunks} if chunks else None


def per_block(
    func: Callable[..., xr.DataArray], da: xr.DataArray, *args: Any, **kwargs: Any
) -> xr.DataArray:
    """``func(da, *args, **kwargs)`` on each spatial block of a dask ``da`` with numpy.

    For kernels written with xarray reductions along ``time`` (groupby means, sums):
    dask's tree reductions add in another order than numpy and change the last bits,
    while ``func`` on a block of whole time series adds exactly as numpy does, so a
    chunked or cluster run gives the same values as the in-memory run. ``da`` must
    hold ``time`` in one chunk (:func:`time_series_cube`); xarray objects in ``args``
    are cut to the same blocks. A numpy ``da`` is passed to ``func`` directly.
    """
    if da.chunks is None:
        return func(da, *args, **kwargs)
    if _chunked_along(da, "time"):
        da = da.chunk({"time": -1})
    probe = func(
        da.isel(y=slice(0, 1), x=slice(0, 1)).compute(),
        *(
            a.isel({d: slice(0, 1) for d in ("y", "x") if d in a.dims}).compute()
            if isinstance(a, xr.DataArray)
            else a
            for a in args
        ),
        **kwargs,
    )
    # non-index coordinates (spatial_ref) are put back after: map_blocks would make
    # them dask arrays that xarray cannot compare when it aligns the result
    extra = [c for c in da.coords if c not in da.dims]
    kept = {c: da.coords[c] for c in extra if da.coords[c].chunks is None}
    da = da.drop_vars(extra)
    template = xr.zeros_like(da, dtype=probe.dtype).transpose(*probe.dims)
    template.name = probe.name
    template.attrs = dict(probe.attrs)
    arrays = [
        a.chunk({d: da.chunksizes[d] for d in ("y", "x") if d in a.dims}).rename(f"_arg{i}")
        for i, a in enumerate(args)
        if isinstance(a, xr.DataArray)
    ]

    def call(block: xr.DataArray, *blocks: xr.DataArray) -> xr.DataArray:
        it = iter(blocks)
        full = [next(it).rename(None) if isinstance(a, xr.DataArray) else a for a in args]
        out = func(block, *full, **kwargs)
        return out.drop_vars([c for c in out.coords if c not in out.dims])

    result = xr.map_blocks(call, da, args=arrays, template=template)
    return result.assign_coords(kept)
