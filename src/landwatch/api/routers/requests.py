"""Routes: requests for information products (briefs), received, prioritized, tracked.

Thin over :mod:`landwatch.intake.records`. Any registered partner may ask: submitting
needs a token with the **viewer** role (the lowest), so ministries, agencies and
researchers with an account can send requests without the right to run processes or
edit the knowledge base. A requester sees their own requests; moderators see every
request and move them through the workflow (triage, accept, deliver, close, reject).
Accepting starts a ``brief`` job through the job manager; when it succeeds the job
manager's hook delivers the request with links to the brief (``/jobs/{id}/results/...``).

Field errors of a request come back as 422 ``{"detail", "type":
"InfoRequestValidationError", "errors": [{"field", "message"}]}``. The requester's
e-mail address is shown to the requester and moderators only, never logged.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from landwatch.api.deps import SessionDep, get_settings, require
from landwatch.api.jobs import InputPaths, InputsInvalid, JobManager, save_upload, submit_job
from landwatch.api.settings import Settings
from landwatch.intake import records as intake
from landwatch.store.auth import User
from landwatch.store.requests import InfoRequest

__all__ = ["router", "router_setup"]

router = APIRouter(tags=["requests"])

Requester = Annotated[User, Depends(require("viewer", "submit or follow requests"))]
Moderator = Annotated[
    User, Depends(require("moderator", "triage, accept, deliver, close or reject requests"))
]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RequestId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The request's number.")]

# --------------------------------------------------------------------------- models

EXAMPLE_REQUEST: dict[str, Any] = {
    "requester": "Amina Kariuki",
    "organization": "Ministry of Environment",
    "requester_type": "national_focal_point",
    "email": "amina.kariuki@example.org",
    "country": "KE",
    "topic": "drought",
    "admin_id": "KE-S03",
    "question": "How many people in Nyika North are exposed to the current drought, and "
    "how does it compare with earlier droughts?",
    "deadline": "2026-12-04",
    "intended_use": "drought_response",
    "population": None,
    "so3_run": "job-0f8fad5b-d9cb-469f-a165-70867728950e",
    "warning_run": "warning",
}
REQUEST_BODY = Body(
    description="A request for information (fields of landwatch.intake.records.FIELDS): "
    "requester, organization, requester_type (national_focal_point, government, "
    "un_intergovernmental, agency_ngo, research, other), email, country (ISO 3166-1 "
    "alpha-2), topic (land_degradation, drought, ldn, hotspots_practices), admin_id OR "
    "area (a GeoJSON Polygon/MultiPolygon in WGS84), question, deadline (YYYY-MM-DD), "
    "intended_use (unccd_reporting, ldn_target_setting, drought_response, "
    "national_planning, project_design, research, communication, other), optional "
    "population (people exposed, if known) and the runs to use: sdg_run, ldn_run, "
    "so3_run, warning_run (run ids of GET /runs, or jobs/<id>).",
    openapi_examples={"drought in a unit": {"summary": "A request", "value": EXAMPLE_REQUEST}},
)


class CriterionOut(BaseModel):
    criterion: str = Field(
        description="deadline, alert_level, population, reporting or requester_type."
    )
    value: Any = Field(description="The fact: days, level, persons, deadline id, type.")
    score: float = Field(ge=0, le=1, description="Score of the criterion's table.")
    weight: float
    points: float = Field(description="Share of the total: 100 * weight * score / sum(weights).")
    reason: str


class PriorityOut(BaseModel):
    score: float = Field(ge=0, le=100, description="Total: the sum of the points.")
    tier: str = Field(description="snapshot or brief (data/request_priority.yaml).")
    tier_label: str = Field(description="e.g. 72-hour snapshot, 2-week brief.")
    turnaround_hours: int
    breakdown: list[CriterionOut]


class EventOut(BaseModel):
    action: str = Field(
        description="submit, triage, accept, deliver, close, reject or job_failed (system)."
    )
    actor: str = Field(description="User name, or 'system' for steps of the service.")
    from_status: str | None
    to_status: str
    note: str
    at: dt.datetime


class RequestOut(BaseModel):
    """A request with its priority now and, in GET /requests/{id}, its audit trail."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    **EXAMPLE_REQUEST,
                    "area": None,
                    "status": "triaged",
                    "sdg_run": None,
                    "ldn_run": None,
                    "units": ["KE-S03"],
                    "population_exposed": 407.8,
                    "population_source": "SO3 run so3, 2023",
                    "job_id": None,
                    "links": [],
                    "created_by": "amina.k",
                    "received": "2026-11-26T09:12:00+00:00",
                    "updated": "2026-11-26T10:02:00+00:00",
                    "allowed_actions": ["accept", "reject"],
                    "priority": {
                        "score": 61.5,
                        "tier": "snapshot",
                        "tier_label": "72-hour snapshot",
                        "turnaround_hours": 72,
                        "breakdown": [
                            {
                                "criterion": "deadline",
                                "value": 8,
                                "score": 0.6,
                                "weight": 30,
                                "points": 18.0,
                                "reason": "deadline in 8 days (<= 14 days)",
                            }
                        ],
                    },
                }
            ]
        }
    )

    id: int
    status: str = Field(
        description="received, triaged, in_progress, delivered, closed or rejected."
    )
    requester: str
    organization: str
    requester_type: str
    email: str | None = Field(None, description="Shown to the requester and moderators.")
    country: str
    topic: str
    admin_id: str | None
    area: dict[str, Any] | None = Field(description="GeoJSON geometry, or null.")
    question: str
    deadline: dt.date
    intended_use: str
    population: int | None = Field(description="People exposed, as given by the requester.")
    sdg_run: str | None
    ldn_run: str | None
    so3_run: str | None
    warning_run: str | None
    units: list[str] = Field(description="Admin units of the area (alerts are looked up here).")
    population_exposed: float | None = Field(description="Given, or from the linked runs.")
    population_source: str
    job_id: str | None = Field(description="The brief job (GET /jobs/{id}) once accepted.")
    links: list[str] = Field(
        description="What was delivered: paths on this service (/jobs/<id>/results/brief.pdf) "
        "or http(s) URLs."
    )
    created_by: str
    received: dt.datetime
    updated: dt.datetime
    allowed_actions: list[str] = Field(description="Moderator actions that apply now.")
    priority: PriorityOut
    events: list[EventOut] | None = Field(
        None, description="Audit trail, oldest first (GET /requests/{id} and the actions)."
    )


class QueueOut(BaseModel):
    requests: list[RequestOut] = Field(
        description="By priority: highest score first; ties: earlier deadline, then earlier "
        "received, then smaller id."
    )
    count: int


class NoteIn(BaseModel):
    note: str = Field("", max_length=2000, description="Why, for the audit trail.")


class TriageIn(NoteIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"note": "Drought brief from the latest runs.", "so3_run": "so3"}]
        }
    )

    sdg_run: str | None = Field(None, max_length=1024, description="Run id (GET /runs).")
    ldn_run: str | None = Field(None, max_length=1024)
    so3_run: str | None = Field(None, max_length=1024)
    warning_run: str | None = Field(None, max_length=1024)


class DeliverIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"links": ["https://example.org/briefs/ke-s03.pdf"], "note": ""}]
        }
    )

    links: list[str] = Field(
        min_length=1,
        max_length=intake.MAX_LINKS,
        description="http(s) URLs or paths on this service to what was delivered.",
    )
    note: str = Field("", max_length=2000)


class RejectIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Outside our country; ask FAO instead."}]}
    )

    reason: str = Field(
        min_length=1, max_length=2000, description="Required; the requester reads it."
    )


StatusFilter = Literal[
    "received", "triaged", "in_progress", "delivered", "closed", "rejected", "all"
]

# --------------------------------------------------------------------------- helpers


def _out(session: Session, req: InfoRequest, *, events: bool) -> RequestOut:
    prio = intake.request_priority(session, req)
    return RequestOut.model_validate(intake.request_dict(req, prio, events=events))


def _resolver(settings: Settings) -> Callable[[str], Path]:
    paths = InputPaths.from_settings(settings)

    def resolve(value: str) -> Path:
        try:
            return paths.resolve(value, "folder")
        except ValueError:
            raise ValueError(
                f"{value[:80]!r}: no such run; expected a run id listed by GET /runs (a "
                "published run's name, or job-<jobID> of a successful job) or jobs/<jobID>."
            ) from None

    return resolve


def _manager(request: Request) -> JobManager | None:
    manager = getattr(request.app.state, "job_manager", None)
    return manager if isinstance(manager, JobManager) else None


def _brief_submitter(
    session: Session, settings: Settings, user: User
) -> Callable[[InfoRequest], str]:
    """Submit the brief job of a request (its polygon saved as an upload first)."""

    def submit(req: InfoRequest) -> str:
        area_path = None
        text = intake.area_geojson(req)
        if text is not None:
            area_path = save_upload(
                settings.data_dir,
                f"request-{req.id}-area.geojson",
                io.BytesIO(text.encode("utf-8")),
                settings.max_upload_bytes,
            )
        try:
            job = submit_job(
                session,
                "brief",
                intake.brief_inputs(req, area_path=area_path),
                owner=user.name,
                paths=InputPaths.from_settings(settings),
                note=f"request {req.id}",
            )
        except InputsInvalid as exc:
            if area_path is not None:
                shutil.rmtree(settings.data_dir / Path(area_path).parent, ignore_errors=True)
            raise RequestValidationError(
                [{**e, "loc": ("inputs", *e["loc"])} for e in exc.errors]
            ) from None
        return job.id

    return submit


def _note(body: NoteIn | None) -> str:
    return body.note if body is not None else ""


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, intake.InfoRequestValidationError)
    return JSONResponse(
        status_code=422,
        content={
            "detail": str(exc),
            "type": type(exc).__name__,
            "errors": [{"field": e.get("field", ""), "message": e["message"]} for e in exc.errors],
        },
    )


def router_setup(app: FastAPI) -> None:
    """Field errors of a request -> 422 with the list of ``errors``."""
    app.add_exception_handler(intake.InfoRequestValidationError, _validation_error)


_FIELD_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "Field errors: `errors` lists each field and message."}
}

# --------------------------------------------------------------------------- routes


@router.post(
    "/requests",
    status_code=201,
    summary="Ask for an information product (any registered user: viewer role)",
    response_model=RequestOut,
    responses=_FIELD_ERRORS,
)
def submit(
    session: SessionDep,
    settings: SettingsDep,
    user: Requester,
    response: Response,
    body: Annotated[dict[str, Any], REQUEST_BODY],
) -> RequestOut:
    """Validated as a whole (every field error at once); runs must exist and be outputs
    of the right workflow. Stored as ``received`` with its priority; ``Location`` names
    the new request."""
    req = intake.submit_request(session, body, user, resolve_run=_resolver(settings))
    response.headers["Location"] = f"/requests/{req.id}"
    return _out(session, req, events=True)


@router.get(
    "/requests",
    summary="The queue by priority (yours; moderators: every request)",
    response_model=QueueOut,
)
def request_queue(
    session: SessionDep,
    user: Requester,
    status: Annotated[
        list[StatusFilter] | None,
        Query(
            description="Statuses to list (repeatable), or all; default: the open ones "
            "(received, triaged, in_progress)."
        ),
    ] = None,
) -> QueueOut:
    """Each request with its score 0-100, tier and breakdown, computed now (days to the
    deadline, current alerts)."""
    statuses: list[str] | None
    if not status:
        statuses = list(intake.OPEN_STATUSES)
    elif "all" in status:
        statuses = None
    else:
        statuses = list(status)
    items = intake.queue(session, actor=user, statuses=statuses)
    return QueueOut(
        requests=[
            RequestOut.model_validate(intake.request_dict(it.request, it.priority)) for it in items
        ],
        count=len(items),
    )


@router.get(
    "/requests/{request_id}",
    summary="One request: record, priority breakdown and audit trail",
    response_model=RequestOut,
)
def request_detail(session: SessionDep, user: Requester, request_id: RequestId) -> RequestOut:
    """Your own request, or any request for a moderator (404 otherwise)."""
    return _out(session, intake.get_request(session, request_id, user), events=True)


@router.post(
    "/requests/{request_id}/triage",
    summary="received -> triaged, linking the runs the brief uses (moderator)",
    response_model=RequestOut,
    responses=_FIELD_ERRORS,
)
def triage(
    session: SessionDep,
    settings: SettingsDep,
    user: Moderator,
    request_id: RequestId,
    body: TriageIn | None = None,
) -> RequestOut:
    """The runs given replace the request's (run ids of GET /runs, or jobs/<id>); the
    admin units and the population exposed are looked up again. A triaged request may
    be triaged again to link other runs."""
    body = body or TriageIn.model_validate({})
    runs = body.model_dump(include=set(intake.RUN_FIELDS), exclude_none=True)
    req = intake.triage_request(
        session, request_id, user, body.note, runs=runs, resolve_run=_resolver(settings)
    )
    return _out(session, req, events=True)


@router.post(
    "/requests/{request_id}/accept",
    summary="triaged -> in_progress: start the brief job (moderator)",
    response_model=RequestOut,
    responses={
        422: {"description": "Not triaged, or the brief refuses the inputs (inputs.<name>)."}
    },
)
def accept(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Moderator,
    request_id: RequestId,
    body: NoteIn | None = None,
) -> RequestOut:
    """Submits a ``brief`` job (topic, area, linked runs; GET /jobs/{job_id} follows it).
    When the job succeeds the request becomes ``delivered`` with links to its results;
    when it fails it goes back to ``triaged`` with the job's message."""
    req = intake.accept_request(
        session,
        request_id,
        user,
        submit=_brief_submitter(session, settings, user),
        note=_note(body),
    )
    out = _out(session, req, events=True)
    session.commit()  # the job is visible to the manager before it is woken
    manager = _manager(request)
    if manager is not None:
        manager.wake()
    return out


@router.post(
    "/requests/{request_id}/deliver",
    summary="in_progress -> delivered by hand, with links (moderator)",
    response_model=RequestOut,
    responses=_FIELD_ERRORS,
)
def deliver(
    session: SessionDep, user: Moderator, request_id: RequestId, body: DeliverIn
) -> RequestOut:
    req = intake.deliver_request(session, request_id, user, body.links, body.note)
    return _out(session, req, events=True)


@router.post(
    "/requests/{request_id}/close",
    summary="delivered -> closed (moderator)",
    response_model=RequestOut,
)
def close(
    session: SessionDep, user: Moderator, request_id: RequestId, body: NoteIn | None = None
) -> RequestOut:
    req = intake.close_request(session, request_id, user, _note(body))
    return _out(session, req, events=True)


@router.post(
    "/requests/{request_id}/reject",
    summary="received or triaged -> rejected, with a reason (moderator)",
    response_model=RequestOut,
)
def reject(
    session: SessionDep, user: Moderator, request_id: RequestId, body: RejectIn
) -> RequestOut:
    req = intake.reject_request(session, request_id, user, body.reason)
    return _out(session, req, events=True)
