"""Routes: the SLM knowledge base, matching practices to places, and ``/users/me``.

Thin over :mod:`landwatch.knowledge.practices` (search, read, submit, edit, review,
export) and :func:`landwatch.workflows.match.run_match`; who may do what is decided
there, from the caller's role. Field errors of a record come back as 422
``{"detail", "type": "PracticeValidationError", "errors": [{"field", "message"}]}``.

``GET /users/me`` lives here because the practice editor is what needs it (to offer
editing and review by role); it is not worth a router of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from landwatch.api.deps import SessionDep, Unauthenticated, UserDep, get_settings, require
from landwatch.api.settings import Settings
from landwatch.errors import NotFoundError
from landwatch.knowledge import practices as kb
from landwatch.knowledge.matching import AreaProfile, Match
from landwatch.knowledge.records import PracticeValidationError
from landwatch.store.auth import User
from landwatch.workflows.match import run_match

__all__ = ["resolve_run", "router", "router_setup"]

router = APIRouter()

Contributor = Annotated[User, Depends(require("contributor", "submit or edit SLM practices"))]
Moderator = Annotated[User, Depends(require("moderator", "review SLM practices"))]
AnyUser = Annotated[User, Depends(require("viewer", "see your account"))]
Uuid = Annotated[
    str, PathParam(description="uuid of the practice, or its first 6 or more characters.")
]

# --------------------------------------------------------------------------- models

EXAMPLE_RECORD: dict[str, Any] = {
    "name": "Stone bunds on the contour",
    "summary": "Lines of stones laid along the contour slow runoff and trap sediment on "
    "sloping cropland.",
    "description": "Stones collected from the field are laid in lines along the contour, "
    "about 20 m apart on gentle slopes. Runoff slows down behind each line, water soaks in "
    "and sediment settles. Maintenance is to replace stones moved by animals.",
    "land_use": ["cropland"],
    "degradation_types": ["Wt"],
    "measure_types": ["structural"],
    "goals": ["reduce"],
    "climate_zones": ["tropical_dry"],
    "aridity": ["semi_arid"],
    "slope": ["gentle"],
    "soil_texture": [],
    "scale": ["farm"],
    "costs": {
        "establishment_per_ha": 250,
        "maintenance_per_ha_year": 20.5,
        "currency": "USD",
        "year": 2019,
        "note": "",
    },
    "impacts": {
        "on_site": [{"impact": "soil_loss", "rating": 3}],
        "off_site": [{"impact": "downstream_siltation", "rating": 1}],
    },
    "adoption": {"level": "high", "note": ""},
    "location": {"countries": ["BF"], "lat": 12.35, "lon": -1.52},
    "keywords": ["water harvesting", "erosion control"],
    "sources": [
        {
            "title": "Where the land is greener",
            "authors": "Liniger H., Critchley W.",
            "year": 2007,
            "publisher": "WOCAT",
            "url": "https://www.wocat.net",
            "doi": "",
        }
    ],
    "licence": "CC-BY-4.0",
    "language": "en",
}
EXAMPLE_OUT: dict[str, Any] = {
    "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
    **EXAMPLE_RECORD,
    "contributor": "amina.k",
    "status": "approved",
    "version": 2,
}
RECORD_BODY = Body(
    description="One practice record (see docs/slm_record_schema.md and the "
    "PracticeRecord schema); `status` and `version` are set by the service, `uuid` is "
    "generated when left out, `contributor` defaults to your user name.",
    openapi_examples={"stone bunds": {"summary": "A new record", "value": EXAMPLE_RECORD}},
)


class Costs(BaseModel):
    establishment_per_ha: float | None = Field(None, description="Per hectare, in `currency`.")
    maintenance_per_ha_year: float | None = None
    currency: str | None = Field(None, description="ISO 4217 code, e.g. USD.")
    year: int | None = Field(None, description="Year of the prices.")
    note: str = ""


class ImpactRating(BaseModel):
    impact: str
    rating: int = Field(description="-3 (very negative) .. +3 (very positive).")


class Impacts(BaseModel):
    on_site: list[ImpactRating]
    off_site: list[ImpactRating] = []


class Adoption(BaseModel):
    level: str
    note: str = ""


class Location(BaseModel):
    countries: list[str] = Field(description="ISO 3166-1 alpha-2 codes.")
    lat: float | None = None
    lon: float | None = None


class Source(BaseModel):
    title: str
    authors: str = ""
    year: int | None = None
    publisher: str = ""
    url: str = ""
    doi: str = ""


class PracticeRecord(BaseModel):
    """An SLM practice record (docs/slm_record_schema.md) in one of its versions."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EXAMPLE_OUT]})

    uuid: str
    name: str
    summary: str
    description: str
    land_use: list[str]
    degradation_types: list[str] = Field(description="WOCAT degradation types, e.g. Wt, Bc.")
    measure_types: list[str]
    goals: list[str] = Field(description="prevent, reduce, restore.")
    climate_zones: list[str] = Field(description="IPCC climate zones, e.g. tropical_dry.")
    aridity: list[str]
    slope: list[str]
    soil_texture: list[str]
    scale: list[str]
    costs: Costs
    impacts: Impacts
    adoption: Adoption
    location: Location
    keywords: list[str]
    sources: list[Source]
    licence: str
    language: str = Field(description="BCP 47 tag of the text.")
    contributor: str
    status: str = Field(description="draft, submitted, approved or rejected.")
    version: int


class SearchHit(BaseModel):
    rank: int
    uuid: str
    name: str
    score: float = Field(description="BM25F score (0 without a query).")
    name_match: bool = Field(description="The name holds the whole query as a phrase.")
    matched: list[str] = Field(description="Words of the record that matched the query.")
    snippet: str
    record: PracticeRecord


class SearchResponse(BaseModel):
    """A page of hits, the number of all hits, and counts per facet code over all hits."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "stone bunds",
                    "status": "approved",
                    "filters": {"climate_zones": ["tropical_dry"]},
                    "total": 1,
                    "limit": 20,
                    "offset": 0,
                    "hits": [
                        {
                            "rank": 1,
                            "uuid": EXAMPLE_OUT["uuid"],
                            "name": EXAMPLE_OUT["name"],
                            "score": 7.31,
                            "name_match": True,
                            "matched": ["stone", "bunds"],
                            "snippet": "Lines of stones laid along the contour...",
                            "record": EXAMPLE_OUT,
                        }
                    ],
                    "facets": {"goals": {"prevent": 0, "reduce": 1, "restore": 0}},
                }
            ]
        }
    )

    query: str
    status: str | None
    filters: dict[str, list[str]]
    total: int
    limit: int
    offset: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(
        description="facet -> code -> number of hits (every code of the vocabulary)."
    )


class VersionOut(BaseModel):
    version: int
    status: str
    author: str
    created_at: dt.datetime
    change_note: str


class EventOut(BaseModel):
    version: int
    action: str = Field(description="submit, draft, edit, approve, reject, import or seed.")
    actor: str
    from_status: str | None
    to_status: str
    note: str
    created_at: dt.datetime


class ReviewIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "approve", "reason": ""},
                {"decision": "reject", "reason": "Cite a source for the costs."},
            ]
        }
    )

    decision: Literal["approve", "reject"]
    reason: str = Field("", description="Why; required to reject.", max_length=2000)


class ReviewOut(BaseModel):
    uuid: str
    name: str
    status: str
    version: int
    approved_version: int | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_reason: str | None


class UserOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "amina.k", "role": "contributor"}]}
    )

    name: str
    role: str = Field(description="viewer, contributor, moderator or admin.")


StatusParam = Literal["approved", "draft", "submitted", "rejected", "all"]
_LAND_COVER_CODE = re.compile(r"land_cover_[1-7]_[1-7]")
Aridity = Literal["hyper_arid", "arid", "semi_arid", "dry_subhumid", "humid"]


class ProfileIn(BaseModel):
    """A place described in the terms practice records use."""

    land_cover: (
        dict[Annotated[int, Field(ge=1, le=7)], Annotated[float, Field(ge=0, le=1)]]
        | list[Annotated[int, Field(ge=1, le=7)]]
    ) = Field(
        description="UNCCD land cover class (1-7) -> share of the area, or a list of classes."
    )
    processes: (
        dict[Annotated[str, Field(max_length=64)], Annotated[float, Field(ge=0, le=1)]]
        | list[Annotated[str, Field(max_length=64)]]
    ) = Field(
        description="Degradation process -> share of the area, or a list: productivity_decline, "
        "soc_loss, land_cover_<from>_<to> (UNCCD classes 1-7)."
    )
    climate_zone: str = Field(description="IPCC climate zone code, e.g. tropical_dry.")
    aridity: list[Aridity] = Field([], description="Default: inferred from the climate zone.")
    response: Literal["maintain", "avoid", "reduce", "reverse"] = "reverse"
    name: str = Field("described area", max_length=200)

    @field_validator("processes")
    @classmethod
    def _transitions(cls, value: dict[str, float] | list[str]) -> dict[str, float] | list[str]:
        for code in value:
            if code.startswith("land_cover_") and not _LAND_COVER_CODE.fullmatch(code):
                raise ValueError(
                    f"{code!r}: expected a land cover transition land_cover_<from>_<to> with "
                    "UNCCD classes 1-7, e.g. land_cover_1_3 (tree-covered to cropland)."
                )
        return value

    def area_profile(self) -> AreaProfile:
        lc = self.land_cover
        pr = self.processes
        return AreaProfile(
            land_cover=lc if isinstance(lc, dict) else dict.fromkeys(lc, 1.0),
            processes=pr if isinstance(pr, dict) else dict.fromkeys(pr, 1.0),
            climate_zone=self.climate_zone,
            aridity=tuple(self.aridity),
            response=self.response,
            name=self.name,
        )


class MatchIn(BaseModel):
    """What to match: the hotspots of an LDN run, or a described place (``profile``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"ldn_run": "ldn", "period": "report_1", "hotspots": [1, 2], "top": 3},
                {
                    "profile": {
                        "land_cover": {"3": 1.0},
                        "processes": {"productivity_decline": 0.6, "land_cover_1_3": 0.4},
                        "climate_zone": "tropical_dry",
                        "aridity": ["semi_arid"],
                        "response": "reverse",
                    },
                    "top": 5,
                },
            ]
        }
    )

    ldn_run: str | None = Field(
        None, max_length=200, description="Run id (GET /runs) of an LDN run: its hotspots."
    )
    period: str | None = Field(
        None, max_length=64, description="Reporting period (default: the run's last)."
    )
    hotspots: list[Annotated[int, Field(ge=1)]] | None = Field(
        None,
        max_length=100,
        description="Priority ranks to match (default: the first top_hotspots).",
    )
    top_hotspots: int = Field(5, ge=1, le=100, description="How many hotspots, by priority.")
    profile: ProfileIn | None = None
    top: int = Field(3, ge=1, le=100, description="Practices per place.")

    @model_validator(mode="after")
    def _one_target(self) -> MatchIn:
        if (self.ldn_run is None) == (self.profile is None):
            raise ValueError("give either ldn_run (a run id) or profile, not both or neither.")
        return self


class MatchOut(BaseModel):
    rank: int
    uuid: str
    name: str
    score: float = Field(description="0-1, the weighted sum of the components.")
    components: dict[str, float] = Field(
        description="degradation, land_use, climate, aridity, response (each 0-1)."
    )
    reasons: list[str]
    goals: list[str]


class ProfileOut(BaseModel):
    name: str
    land_cover: dict[int, float]
    processes: dict[str, float]
    climate_zone: str
    aridity: list[str]
    aridity_inferred: bool
    response: str


class MatchTarget(BaseModel):
    target: dict[str, Any] = Field(
        description="The place: {target} for a profile; rank, period, area_km2, process, zone, "
        "land_type, response for a hotspot."
    )
    profile: ProfileOut
    matches: list[MatchOut]


class MatchResponse(BaseModel):
    ldn_run: str | None
    targets: list[MatchTarget]


# --------------------------------------------------------------------------- helpers


def _codes(values: list[str] | None) -> list[str] | None:
    """Repeated parameters and comma-separated lists alike (``?goals=a&goals=b``, ``a,b``)."""
    if not values:
        return None
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


def _status(status: str, user: User | None, action: str) -> str | None:
    """``all`` -> None; statuses other than approved need a token (401 without one)."""
    if status != "approved" and user is None:
        raise Unauthenticated(
            f"{action} of {status} SLM practices needs a moderator's token; send "
            "'Authorization: Bearer <token>', or ask for approved records."
        )
    return None if status == "all" else status


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return kb.as_utc(value) if value is not None else None


def resolve_run(settings: Settings, run_id: str) -> Path:
    """The folder of a run id, as ``GET /runs`` names them: one resolver for the whole
    service (the job inputs' :class:`~landwatch.api.jobs.InputPaths`), so a run id
    means the same folder to jobs, requests and matching.

    Raises
    ------
    NotFoundError
        No such run.
    """
    from landwatch.api.jobs import InputPaths

    try:
        return InputPaths.from_settings(settings).resolve(run_id, "folder")
    except ValueError:
        raise NotFoundError(
            f"run {run_id[:80]!r} does not exist; expected the id of a run listed by GET "
            "/runs (a published folder name, or job-<jobID> of a successful job)."
        ) from None


def _targets(
    profiles: list[AreaProfile], matches: list[list[Match]], rows: list[dict[str, Any]]
) -> list[MatchTarget]:
    match_columns = set(matches[0][0].as_row()) if matches and matches[0] else set()
    out = []
    offset = 0
    for prof, ms in zip(profiles, matches, strict=True):
        row = rows[offset] if ms else {"target": prof.name}
        offset += len(ms)
        out.append(
            MatchTarget(
                target={k: v for k, v in row.items() if k not in match_columns},
                profile=ProfileOut(
                    name=prof.name,
                    land_cover=dict(prof.land_cover),
                    processes=dict(prof.processes),
                    climate_zone=prof.climate_zone,
                    aridity=list(prof.aridity),
                    aridity_inferred=prof.aridity_inferred,
                    response=prof.response,
                ),
                matches=[
                    MatchOut(
                        rank=m.rank,
                        uuid=m.uuid,
                        name=m.name,
                        score=round(m.score, 4),
                        components={k: round(v, 4) for k, v in m.components.items()},
                        reasons=m.reasons,
                        goals=list(m.record.get("goals", [])),
                    )
                    for m in ms
                ],
            )
        )
    return out


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PracticeValidationError)
    return JSONResponse(
        status_code=422,
        content={
            "detail": str(exc),
            "type": type(exc).__name__,
            "errors": [{"field": e.get("field", ""), "message": e["message"]} for e in exc.errors],
        },
    )


def router_setup(app: FastAPI) -> None:
    """Field errors of a practice record -> 422 with the list of ``errors``."""
    app.add_exception_handler(PracticeValidationError, _validation_error)


# --------------------------------------------------------------------------- routes

_FACET = "Codes (repeat the parameter or separate with commas); OR within a facet, AND across."


@router.get("/practices", tags=["practices"], summary="Search practices (words and facets)")
def search_practices(
    session: SessionDep,
    user: UserDep,
    q: Annotated[str, Query(max_length=500, description="Words to look for.")] = "",
    land_use: Annotated[list[str] | None, Query(description=_FACET)] = None,
    degradation_types: Annotated[list[str] | None, Query(description=_FACET)] = None,
    climate_zones: Annotated[list[str] | None, Query(description=_FACET)] = None,
    aridity: Annotated[list[str] | None, Query(description=_FACET)] = None,
    goals: Annotated[list[str] | None, Query(description=_FACET)] = None,
    measure_types: Annotated[list[str] | None, Query(description=_FACET)] = None,
    status: Annotated[
        StatusParam,
        Query(description="approved (public), or for moderators draft, submitted, rejected, all."),
    ] = "approved",
    limit: Annotated[int, Query(ge=1, le=kb.MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SearchResponse:
    """Full-text search (BM25F over name, summary, keywords, description) with facet
    filters; ``facets`` counts every code over all hits, before paging."""
    result = kb.search_practices(
        session,
        q,
        land_use=_codes(land_use),
        degradation_types=_codes(degradation_types),
        climate_zones=_codes(climate_zones),
        aridity=_codes(aridity),
        goals=_codes(goals),
        measure_types=_codes(measure_types),
        status=_status(status, user, "a search"),
        limit=limit,
        offset=offset,
        actor=user,
    )
    return SearchResponse.model_validate(result.to_dict())


@router.get(
    "/practices/export",
    tags=["practices"],
    summary="Export practices as JSON or CSV",
    response_class=Response,
    responses={
        200: {
            "description": "A JSON list of records, or CSV (one row per record); both read "
            "back unchanged with `landwatch practices import`.",
            "content": {"application/json": {}, "text/csv": {}},
        }
    },
)
def export_practices(
    session: SessionDep,
    user: UserDep,
    settings: Annotated[Settings, Depends(get_settings)],
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    status: Annotated[
        StatusParam, Query(description="approved, or for moderators another status or all.")
    ] = "approved",
) -> Response:
    """Every record with the status (approved: each in its approved version), by name."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".export-") as tmp:
        path = Path(tmp) / f"practices.{fmt}"
        kb.export_practices(session, path, fmt, _status(status, user, "an export"), actor=user)
        content = path.read_bytes()
    media = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="practices.{fmt}"'},
    )


@router.get("/practices/{uuid}", tags=["practices"], summary="One practice")
def get_practice(
    session: SessionDep,
    user: UserDep,
    uuid: Uuid,
    version: Annotated[int | None, Query(ge=1, description="Default: the one you may see.")] = None,
) -> PracticeRecord:
    """The approved version; its author and moderators see every version (default: the
    latest). A record you may not see is 404."""
    return PracticeRecord.model_validate(kb.visible_record(session, uuid, user, version=version))


@router.get("/practices/{uuid}/versions", tags=["practices"], summary="Versions of a practice")
def practice_versions(session: SessionDep, user: UserDep, uuid: Uuid) -> list[VersionOut]:
    """Oldest first; the public sees the versions up to the approved one."""
    return [
        VersionOut(
            version=v.version,
            status=v.status,
            author=v.author,
            created_at=kb.as_utc(v.created_at),
            change_note=v.change_note,
        )
        for v in kb.list_versions(session, uuid, user)
    ]


@router.get("/practices/{uuid}/history", tags=["practices"], summary="What happened to a practice")
def practice_history(session: SessionDep, user: UserDep, uuid: Uuid) -> list[EventOut]:
    """Events (submit, edit, approve, reject, ...) oldest first."""
    return [
        EventOut(
            version=e.version,
            action=e.action,
            actor=e.actor,
            from_status=e.from_status,
            to_status=e.to_status,
            note=e.note,
            created_at=kb.as_utc(e.created_at),
        )
        for e in kb.practice_history(session, uuid, user)
    ]


@router.post(
    "/practices",
    tags=["practices"],
    status_code=201,
    summary="Submit a practice (contributors)",
    responses={422: {"description": "Field errors: `errors` lists each field and message."}},
)
def submit_practice(
    session: SessionDep,
    user: Contributor,
    response: Response,
    record: Annotated[dict[str, Any], RECORD_BODY],
    draft: Annotated[bool, Query(description="Keep it as a draft (not yet for review).")] = False,
) -> PracticeRecord:
    """Validated as a whole (every field error at once); stored as version 1,
    ``submitted`` (or ``draft``). ``Location`` names the new record."""
    practice = kb.submit_practice(session, record, user, as_draft=draft)
    response.headers["Location"] = f"/practices/{practice.uuid}"
    return PracticeRecord.model_validate(kb.practice_record(session, practice))


@router.put(
    "/practices/{uuid}",
    tags=["practices"],
    summary="Edit a practice (its author, or a moderator)",
    responses={422: {"description": "Field errors, or no change note."}},
)
def update_practice(
    session: SessionDep,
    user: Contributor,
    uuid: Uuid,
    record: Annotated[dict[str, Any], RECORD_BODY],
    note: Annotated[
        str, Query(max_length=2000, description="What changed and why (required).")
    ] = "",
    draft: Annotated[bool, Query(description="Keep the new version as a draft.")] = False,
) -> PracticeRecord:
    """The body is the whole new record (as GET gives it; ``status`` and ``version`` are
    ignored). It becomes a new version: submitted for review, unless a moderator edits
    an approved record (then it stays approved). The author edits while the record is
    draft, submitted or rejected."""
    practice = kb.update_practice(session, uuid, record, user, note, as_draft=draft)
    return PracticeRecord.model_validate(kb.practice_record(session, practice))


@router.post(
    "/practices/{uuid}/review",
    tags=["practices"],
    summary="Approve or reject a practice (moderators)",
)
def review_practice(session: SessionDep, user: Moderator, uuid: Uuid, body: ReviewIn) -> ReviewOut:
    """Approve a submitted (or rejected) record, or reject a submitted one (or withdraw an
    approved one) with a reason. Approving one's own submission needs an admin."""
    p = kb.review_practice(session, uuid, user, body.decision, body.reason)
    return ReviewOut(
        uuid=p.uuid,
        name=p.name,
        status=p.status,
        version=p.version,
        approved_version=p.approved_version,
        reviewed_by=p.reviewed_by,
        reviewed_at=_utc(p.reviewed_at),
        review_reason=p.review_reason,
    )


@router.post("/match", tags=["practices"], summary="Recommend practices for places")
def match(
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings)],
    body: MatchIn,
) -> MatchResponse:
    """Rank the approved practices for the hotspots of an LDN run, or for
    a described place; each match has its score components and the reasons in words."""
    records = kb.approved_records(session)
    result = run_match(
        records,
        ldn_run=resolve_run(settings, body.ldn_run) if body.ldn_run is not None else None,
        period=body.period,
        ranks=body.hotspots,
        top_hotspots=body.top_hotspots,
        profile=body.profile.area_profile() if body.profile is not None else None,
        top=body.top,
    )
    rows: list[dict[str, Any]] = (
        json.loads(result.table.to_json(orient="records")) if not result.table.empty else []
    )
    return MatchResponse(
        ldn_run=body.ldn_run, targets=_targets(result.profiles, result.matches, rows)
    )


@router.get("/users/me", tags=["users"], summary="Who the token belongs to")
def users_me(user: AnyUser) -> UserOut:
    """The name and role of the token's user (any role)."""
    return UserOut(name=user.name, role=user.role)
