"""Processes, jobs, results and uploads (OGC API - Processes Part 1 style).

Thin routes over :mod:`landwatch.api.jobs`: the process registry validates inputs, the
job manager (started here, see :func:`router_setup`) runs each job in its own worker
process. Reads are public; executing a process and uploading need the contributor
role; dismissing a job needs its owner or a moderator.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

import landwatch
from landwatch.api.deps import SessionDep, get_settings, require
from landwatch.api.jobs import (
    PROCESSES,
    InputPaths,
    InputsInvalid,
    JobManager,
    ProcessSpec,
    UploadTooLarge,
    get_process,
    list_results,
    media_type,
    result_file,
    save_upload,
    submit_job,
)
from landwatch.api.settings import Settings
from landwatch.errors import NotFoundError, PermissionDenied
from landwatch.store.auth import User, has_role
from landwatch.store.jobs import (
    FINAL_STATUSES,
    Job,
    append_log,
    as_utc,
    log_line,
    utcnow,
)

router = APIRouter(tags=["processes"])

REL = "http://www.opengis.net/def/rel/ogc/1.0/"
JobStatusCode = Literal["accepted", "running", "successful", "failed", "dismissed"]


# --------------------------------------------------------------------------- bodies


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class ProcessSummary(BaseModel):
    id: str
    title: str
    description: str
    version: str
    keywords: list[str] = []
    jobControlOptions: list[str] = ["async-execute"]  # noqa: N815 - OGC name
    outputTransmission: list[str] = ["reference"]  # noqa: N815 - OGC name
    links: list[Link]


class ProcessList(BaseModel):
    processes: list[ProcessSummary]
    links: list[Link] = []


class ProcessDescription(ProcessSummary):
    inputs: dict[str, dict[str, Any]] = Field(
        description="Input name -> title, description, JSON schema, minOccurs, maxOccurs."
    )
    outputs: dict[str, dict[str, Any]]


class Execute(BaseModel):
    """Body of an execution request."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {"inputs": {"name": "demo", "size": 120}},
                {"inputs": {"config": "samples/demo/run.yaml"}},
                {"inputs": {"sdg_run": "jobs/<jobID>"}},
            ]
        },
    )
    inputs: dict[str, Any] = Field(default_factory=dict)


class JobStatus(BaseModel):
    jobID: str  # noqa: N815 - OGC name
    processID: str  # noqa: N815 - OGC name
    type: Literal["process"] = "process"
    status: JobStatusCode
    message: str
    progress: int = Field(ge=0, le=100)
    owner: str
    created: dt.datetime
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    updated: dt.datetime
    links: list[Link]
    log: list[str] | None = Field(
        None, description="Log lines (oldest first); only in GET /jobs/{id}."
    )


class JobList(BaseModel):
    jobs: list[JobStatus]
    links: list[Link] = []


class Output(BaseModel):
    name: str = Field(description="Path of the file within the job's results.")
    href: str
    type: str = Field(description="Media type.")
    size: int = Field(description="Bytes.")


class Results(BaseModel):
    outputs: list[Output]


class Uploaded(BaseModel):
    path: str = Field(
        description="Path to give as a file input: uploads/<id>/<name>.",
        examples=["uploads/4b1d.../admin.gpkg"],
    )
    size: int


# --------------------------------------------------------------------------- helpers


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _process_summary(spec: ProcessSpec, base: str) -> dict[str, Any]:
    return {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "version": landwatch.__version__,
        "keywords": list(spec.keywords),
        "jobControlOptions": ["async-execute"],
        "outputTransmission": ["reference"],
        "links": [
            {
                "href": f"{base}/processes/{spec.id}",
                "rel": "self",
                "type": "application/json",
                "title": "process description",
            },
            {
                "href": f"{base}/processes/{spec.id}/execution",
                "rel": REL + "execute",
                "title": "execute (POST)",
            },
        ],
    }


def _job_status(job: Job, base: str, *, with_log: bool) -> JobStatus:
    links = [
        Link(href=f"{base}/jobs/{job.id}", rel="self", type="application/json"),
        Link(href=f"{base}/jobs", rel="up", type="application/json"),
        Link(href=f"{base}/processes/{job.process_id}", rel=REL + "process"),
    ]
    if job.status == "successful":
        links.append(
            Link(href=f"{base}/jobs/{job.id}/results", rel=REL + "results", type="application/json")
        )
    created = as_utc(job.created_at)
    updated = as_utc(job.updated_at)
    assert created is not None and updated is not None
    return JobStatus(
        jobID=job.id,
        processID=job.process_id,
        status=job.status,  # type: ignore[arg-type]
        message=job.message or "",
        progress=int(round(job.progress or 0.0)),
        owner=job.owner,
        created=created,
        started=as_utc(job.started_at),
        finished=as_utc(job.finished_at),
        updated=updated,
        links=links,
        log=(job.log.splitlines() if job.log else []) if with_log else None,
    )


def _get_job(session: SessionDep, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id!r} does not exist; see GET /jobs for the jobs.")
    return job


def _manager(request: Request) -> JobManager | None:
    manager = getattr(request.app.state, "job_manager", None)
    return manager if isinstance(manager, JobManager) else None


# --------------------------------------------------------------------------- processes


@router.get("/processes", summary="Processes the service can run", response_model=ProcessList)
def processes(request: Request) -> dict[str, Any]:
    base = _base(request)
    return {
        "processes": [_process_summary(spec, base) for spec in PROCESSES.values()],
        "links": [{"href": f"{base}/processes", "rel": "self", "type": "application/json"}],
    }


@router.get(
    "/processes/{process_id}",
    summary="A process: its inputs (with JSON schemas) and outputs",
    response_model=ProcessDescription,
)
def process(process_id: str, request: Request) -> dict[str, Any]:
    spec = get_process(process_id)
    return {
        **_process_summary(spec, _base(request)),
        "inputs": spec.input_descriptions(),
        "outputs": {k: dict(v) for k, v in spec.outputs.items()},
    }


@router.post(
    "/processes/{process_id}/execution",
    summary="Run a process as a job (contributor)",
    status_code=201,
    response_model=JobStatus,
    response_model_exclude_none=True,
    responses={201: {"headers": {"Location": {"description": "/jobs/{jobID}"}}}},
)
def execute(
    process_id: str,
    body: Execute,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    user: Annotated[User, Depends(require("contributor", "run a process"))],
) -> JobStatus:
    try:
        # a busy output folder (e.g. two sample-create jobs writing the same sample) is
        # refused the same way, with loc ("inputs",)
        job = submit_job(
            session,
            process_id,
            body.inputs,
            owner=user.name,
            paths=InputPaths.from_settings(settings),
        )
    except InputsInvalid as exc:
        raise RequestValidationError(
            [{**e, "loc": ("inputs", *e["loc"])} for e in exc.errors]
        ) from None
    session.commit()  # visible to the manager before it is woken
    manager = _manager(request)
    if manager is not None:
        manager.wake()
    response.headers["Location"] = f"/jobs/{job.id}"
    return _job_status(job, _base(request), with_log=True)


# --------------------------------------------------------------------------- jobs


@router.get(
    "/jobs",
    summary="Jobs, newest first",
    response_model=JobList,
    response_model_exclude_none=True,
)
def jobs(
    request: Request,
    session: SessionDep,
    status: Annotated[
        list[JobStatusCode] | None, Query(description="Only jobs in these states.")
    ] = None,
    process_id: Annotated[str | None, Query(alias="processID")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JobList:
    q = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if status:
        q = q.where(Job.status.in_(status))
    if process_id:
        q = q.where(Job.process_id == process_id)
    base = _base(request)
    return JobList(
        jobs=[_job_status(j, base, with_log=False) for j in session.scalars(q)],
        links=[Link(href=f"{base}/jobs", rel="self", type="application/json")],
    )


@router.get(
    "/jobs/{job_id}",
    summary="A job's status, progress and log",
    response_model=JobStatus,
    response_model_exclude_none=True,
)
def job_status(job_id: str, request: Request, session: SessionDep) -> JobStatus:
    return _job_status(_get_job(session, job_id), _base(request), with_log=True)


@router.delete(
    "/jobs/{job_id}",
    summary="Dismiss a job: cancel it, or remove its results (owner or moderator)",
    response_model=JobStatus,
    response_model_exclude_none=True,
)
def dismiss(
    job_id: str,
    request: Request,
    session: SessionDep,
    user: Annotated[User, Depends(require("viewer", "dismiss a job"))],
) -> JobStatus:
    job = _get_job(session, job_id)
    if job.owner != user.name and not has_role(user, "moderator"):
        raise PermissionDenied(
            f"user {user.name!r} (role {user.role}) cannot dismiss job {job_id}: expected its "
            f"owner ({job.owner!r}) or role moderator or higher."
        )
    previous = job.status
    if previous != "dismissed":
        now = utcnow()
        job.status = "dismissed"
        job.message = f"dismissed by {user.name}"
        job.finished_at = job.finished_at or now
        job.updated_at = now
        job.log = append_log(job.log, log_line(f"dismissed by {user.name} (was {previous})"))
        session.commit()
        manager = _manager(request)
        if manager is not None:
            # a sample folder of a job that did not finish may belong to someone else
            remove = job.output_dir.startswith("jobs/") or previous == "successful"
            manager.request_cancel(job_id, remove_output=remove)
    return _job_status(job, _base(request), with_log=True)


def _not_ready(job: Job) -> JSONResponse | None:
    """409 unless the job is successful (its results exist only then)."""
    if job.status == "successful":
        return None
    hint = (
        "poll GET /jobs/{id} until it is successful"
        if job.status not in FINAL_STATUSES
        else "it has no results; run it again"
    )
    return JSONResponse(
        status_code=409,
        content={
            "detail": f"job {job.id} is {job.status}, not successful: {hint}.",
            "type": "ResultsNotReady",
        },
    )


@router.get(
    "/jobs/{job_id}/results",
    summary="Files of a successful job, with links and media types",
    response_model=Results,
    responses={409: {"description": "The job has not succeeded (yet)."}},
)
def results(
    job_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Results | JSONResponse:
    job = _get_job(session, job_id)
    if (refused := _not_ready(job)) is not None:
        return refused
    folder = settings.data_dir.resolve() / job.output_dir
    base = _base(request)
    return Results(
        outputs=[
            Output(
                name=name,
                href=f"{base}/jobs/{job.id}/results/{name}",
                type=media_type(path),
                size=path.stat().st_size,
            )
            for name, path in list_results(folder)
        ]
    )


@router.get(
    "/jobs/{job_id}/results/{path:path}",
    summary="Download one result file",
    response_class=FileResponse,
    responses={409: {"description": "The job has not succeeded (yet)."}},
)
def result(job_id: str, path: str, session: SessionDep, settings: SettingsDep) -> Response:
    job = _get_job(session, job_id)
    if (refused := _not_ready(job)) is not None:
        return refused
    full = result_file(settings.data_dir.resolve() / job.output_dir, path)
    return FileResponse(
        full,
        media_type=media_type(full),
        filename=full.name,
        content_disposition_type="inline",
        # results are served from the API's origin: never let a browser run them as a page
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


# --------------------------------------------------------------------------- uploads


@router.post(
    "/uploads",
    summary="Upload a file to use as a job input (contributor)",
    status_code=201,
    response_model=Uploaded,
    responses={413: {"description": "The file is over LANDWATCH_MAX_UPLOAD_BYTES."}},
)
def upload(
    settings: SettingsDep,
    user: Annotated[User, Depends(require("contributor", "upload a file"))],
    file: Annotated[UploadFile, File(description="The file (GeoTIFF, NetCDF, GeoPackage, ...).")],
) -> Uploaded | JSONResponse:
    try:
        path = save_upload(settings.data_dir, file.filename, file.file, settings.max_upload_bytes)
    except UploadTooLarge as exc:
        return JSONResponse(
            status_code=413, content={"detail": str(exc), "type": "PayloadTooLarge"}
        )
    return Uploaded(path=path, size=(settings.data_dir / path).stat().st_size)


# --------------------------------------------------------------------------- manager


def router_setup(app: FastAPI) -> None:
    """Start the job manager with the app (recovering jobs of an earlier server) and stop
    it with the app (running workers go on; the next start adopts them)."""

    def start(app: FastAPI) -> None:
        manager = JobManager(app.state.settings, app.state.engine)
        manager.start()
        app.state.job_manager = manager

    def stop(app: FastAPI) -> None:
        manager = getattr(app.state, "job_manager", None)
        if isinstance(manager, JobManager):
            manager.stop()
        app.state.job_manager = None

    app.state.on_start.append(start)
    app.state.on_stop.append(stop)


__all__ = ["router", "router_setup"]
