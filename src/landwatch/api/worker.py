"""``python -m landwatch.api.worker JOB_ID``: run one job of the web service.

Started by the job manager (:mod:`landwatch.api.jobs`) in its own process group, with
``LANDWATCH_DATABASE_URL``, ``LANDWATCH_DATA_DIR``, ``LANDWATCH_RUNS`` and, when set,
``LANDWATCH_DASK_SCHEDULER`` in the environment. The worker:

1. claims the job (``accepted`` -> ``running``, in one conditional update, so two
   workers never run the same job) or exits quietly when it is not waiting any more;
2. beats a heartbeat every 2 s from a thread; when the job was dismissed meanwhile,
   it stops itself (SIGTERM to its own process group);
3. validates the stored inputs again (files may have gone), connects to the Dask
   scheduler if one is configured (or starts a local cluster of its own with
   ``LANDWATCH_DASK_CLUSTER=local:N``, :func:`landwatch.workflows.cluster.compute_on`),
   and runs the process with a progress adapter that
   writes progress, message and log lines (at most every 0.5 s);
4. writes the outputs into ``<data>/<output_dir>`` atomically (nothing half-written)
   with a ``job.json`` of provenance, and marks the job ``successful``; or ``failed``
   with the error's message (a landwatch error as it is; anything else as
   ``internal error: <type>: <message>``, with the traceback in the log).

Every write is conditional on the job still being ``running``: a dismissed job stays
dismissed, whatever its worker does afterwards.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from sqlalchemy import Engine, event, select, update
from sqlalchemy.exc import OperationalError

from landwatch.api.jobs import (
    PROCESSES,
    InputPaths,
    JobCancelled,
    JobContext,
    JobProgress,
    provenance,
)
from landwatch.api.settings import Settings
from landwatch.errors import InputError, LandwatchError
from landwatch.io.outputs import atomic_output_dir
from landwatch.store import make_engine
from landwatch.store.jobs import LOG_MAX_LINES, Job, log_line, utcnow
from landwatch.workflows.cluster import DASK_TIMEOUT, compute_on, connect_dask

__all__ = ["connect_dask", "main", "run_job"]

log = logging.getLogger("landwatch.api.worker")

HEARTBEAT_INTERVAL = 2.0
PROGRESS_INTERVAL = 0.5
#: The settings named in messages about the Dask cluster of jobs.
DASK_OPTIONS = ("LANDWATCH_DASK_SCHEDULER", "LANDWATCH_DASK_CLUSTER", "LANDWATCH_DASK_MEMORY_LIMIT")
#: How long a progress or heartbeat write waits for a busy SQLite database.
QUICK_BUSY_TIMEOUT_MS = 200


class WorkerTerminated(BaseException):  # noqa: N818 - a signal, not an error
    """SIGTERM arrived (a BaseException, so workflows let it pass and clean up)."""


@dataclass
class _Claimed:
    process_id: str
    inputs: dict[str, Any]
    output_dir: str


class _JobRow:
    """Conditional writes to one job's row; the log is kept here while the job runs.

    Progress and heartbeat go through ``quick``, an engine that gives up on a busy
    SQLite database after a moment instead of waiting: a workflow that holds a long
    write transaction itself (``warn-run`` updates the alerts) must not wait for its own
    progress report. A skipped report is caught up by the next one.
    """

    def __init__(self, engine: Engine, quick: Engine, job_id: str) -> None:
        self.engine = engine
        self.quick = quick
        self.job_id = job_id
        self.lines: list[str] = []

    def _running(self) -> Any:
        return update(Job).where(Job.id == self.job_id, Job.status == "running")

    def claim(self, pid: int) -> _Claimed | None:
        now = utcnow()
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.status == "accepted")
                .values(
                    status="running",
                    worker_pid=pid,
                    started_at=now,
                    heartbeat_at=now,
                    updated_at=now,
                    progress=0.0,
                    message="running",
                )
            ).rowcount
            if claimed != 1:
                return None
            row = conn.execute(
                select(Job.process_id, Job.inputs, Job.output_dir, Job.log).where(
                    Job.id == self.job_id
                )
            ).one()
        self.lines = row.log.splitlines() if row.log else []
        return _Claimed(row.process_id, dict(row.inputs or {}), row.output_dir)

    def beat(self) -> bool:
        """Heartbeat; False once the job is no longer running (dismissed)."""
        now = utcnow()
        with self.quick.begin() as conn:
            return bool(conn.execute(self._running().values(heartbeat_at=now)).rowcount)

    def progress(self, value: float, message: str, lines: list[str]) -> None:
        """Progress sink of :class:`JobProgress`; JobCancelled once the job was dismissed."""
        self.lines = (self.lines + lines)[-LOG_MAX_LINES:]
        now = utcnow()
        try:
            with self.quick.begin() as conn:
                n = conn.execute(
                    self._running().values(
                        progress=value,
                        message=message[:2000],
                        log="\n".join(self.lines),
                        updated_at=now,
                        heartbeat_at=now,
                    )
                ).rowcount
        except OperationalError as exc:  # a busy database: the next write catches up
            log.warning("job %s: progress not written yet (%s)", self.job_id, exc.orig)
            return
        if n == 0:
            raise JobCancelled(self.job_id)

    def finish(
        self, status: str, message: str, lines: Sequence[str], *, error: str | None = None
    ) -> bool:
        """Final state; False when the job was not running any more (dismissed)."""
        self.lines = (self.lines + list(lines))[-LOG_MAX_LINES:]
        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "message": message[:2000],
            "log": "\n".join(self.lines),
            "finished_at": now,
            "updated_at": now,
            "heartbeat_at": now,
            "error": error,
        }
        if status == "successful":
            values["progress"] = 100.0
        for _attempt in range(5):  # the final state must not be lost to a busy database
            try:
                with self.engine.begin() as conn:
                    return bool(conn.execute(self._running().values(**values)).rowcount)
            except OperationalError as exc:
                log.warning("job %s: final state not written yet (%s)", self.job_id, exc.orig)
                threading.Event().wait(1.0)
        return False


class _Heartbeat(threading.Thread):
    def __init__(
        self, row: _JobRow, interval: float, on_dismissed: Callable[[], None] | None
    ) -> None:
        super().__init__(name=f"heartbeat-{row.job_id}", daemon=True)
        self.row = row
        self.interval = interval
        self.on_dismissed = on_dismissed
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            try:
                alive = self.row.beat()
            except OperationalError as exc:  # a busy database must not stop the heartbeat
                log.warning("job %s: heartbeat not written (%s)", self.row.job_id, exc.orig)
                continue
            except Exception as exc:
                log.warning("job %s: heartbeat not written (%r)", self.row.job_id, exc)
                continue
            if not alive:
                if self.on_dismissed is not None and not self.halt.is_set():
                    self.on_dismissed()
                return


def run_job(
    job_id: str,
    settings: Settings,
    *,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    progress_interval: float = PROGRESS_INTERVAL,
    dask_timeout: float = DASK_TIMEOUT,
    on_dismissed: Callable[[], None] | None = None,
) -> int:
    """Run the job ``job_id`` in this process; the exit status (0 done or nothing to do,
    1 failed, 143 stopped by SIGTERM). ``on_dismissed`` is called from the heartbeat
    thread when the job is dismissed while it runs."""
    engine = make_engine(settings.db_url())
    quick = make_engine(settings.db_url())
    if quick.dialect.name == "sqlite":
        event.listen(quick, "connect", _short_busy_timeout)
    try:
        return _run(
            _JobRow(engine, quick, job_id),
            settings,
            heartbeat_interval=heartbeat_interval,
            progress_interval=progress_interval,
            dask_timeout=dask_timeout,
            on_dismissed=on_dismissed,
        )
    finally:
        quick.dispose()
        engine.dispose()


def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={QUICK_BUSY_TIMEOUT_MS}")
    cur.close()


def _run(
    row: _JobRow,
    settings: Settings,
    *,
    heartbeat_interval: float,
    progress_interval: float,
    dask_timeout: float,
    on_dismissed: Callable[[], None] | None,
) -> int:
    job_id = row.job_id
    claimed = row.claim(os.getpid())
    if claimed is None:
        log.info("job %s is not waiting to run; nothing to do", job_id)
        return 0
    heartbeat = _Heartbeat(row, heartbeat_interval, on_dismissed)
    heartbeat.start()
    progress = JobProgress(row.progress, interval=progress_interval)
    target = settings.data_dir.resolve() / claimed.output_dir
    try:
        spec = PROCESSES.get(claimed.process_id)
        if spec is None:
            raise InputError(f"process {claimed.process_id!r} is not known to this worker.")
        progress.log(f"worker {os.getpid()} runs {spec.id}")
        inputs = spec.validate(claimed.inputs, InputPaths.from_settings(settings), resolve=True)
        with (
            compute_on(
                settings.dask_scheduler,
                settings.dask_cluster,
                memory_limit=settings.dask_memory_limit,
                progress=progress.log,
                local_directory=settings.data_dir.resolve() / "jobs" / ".dask",
                timeout=dask_timeout,
                options=DASK_OPTIONS,
            ),
            atomic_output_dir(target) as tmp,
        ):
            spec.run(inputs, tmp, progress, JobContext(job_id, settings))
            (tmp / "job.json").write_text(
                json.dumps(provenance(job_id, spec.id, claimed.inputs), indent=1)
            )
        done = [*progress.take_pending(), log_line("job finished")]
        if not row.finish("successful", "finished", done):
            shutil.rmtree(target, ignore_errors=True)  # dismissed at the last moment
        return 0
    except JobCancelled:
        log.info("job %s was dismissed; stopped", job_id)
        return 0
    except WorkerTerminated:
        message = "the job's worker process was stopped (SIGTERM); run the job again"
        row.finish("failed", message, [*progress.take_pending(), log_line(message)], error=message)
        return 143
    except LandwatchError as exc:
        message = str(exc)
        row.finish(
            "failed",
            message,
            [*progress.take_pending(), log_line(f"failed: {message}")],
            error=message,
        )
        return 1
    except Exception as exc:
        message = f"internal error: {type(exc).__name__}: {exc}"
        tb = traceback.format_exc()
        row.finish(
            "failed",
            message,
            [*progress.take_pending(), log_line(message), *tb.rstrip().splitlines()],
            error=tb,
        )
        log.error("job %s: %s\n%s", job_id, message, tb)
        return 1
    finally:
        heartbeat.halt.set()


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise WorkerTerminated()


def _stop_own_group() -> None:
    """The job was dismissed: stop this worker and its children (e.g. process pools)."""
    try:
        os.killpg(os.getpgid(0), signal.SIGTERM)
    except OSError:
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m landwatch.api.worker JOB_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, _on_sigterm)
    own_group = os.getpgid(0) == os.getpid()
    return run_job(args[0], Settings(), on_dismissed=_stop_own_group if own_group else None)


if __name__ == "__main__":  # pragma: no cover - run by the job manager
    sys.exit(main())
