"""Routes: community observations that confirm or correct the maps.

Thin over :mod:`landwatch.observations.records` (the rules) and
:mod:`landwatch.io.observations` (photo checks and storage, as ``landwatch observe``
does). The public sees confirmed observations; moderators see and validate all.
A field error comes back as 422 ``{"detail", "type": "ObservationFieldError",
"errors": [{"field", "message"}]}``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from landwatch.api.deps import SessionDep, Unauthenticated, UserDep, get_settings, require
from landwatch.api.settings import Settings
from landwatch.errors import InputError, NotFoundError, PermissionDenied
from landwatch.io import observations as obs_io
from landwatch.observations import records
from landwatch.store.auth import User, has_role
from landwatch.store.observations import Observation

__all__ = ["router", "router_setup"]

router = APIRouter(tags=["observations"])

Contributor = Annotated[User, Depends(require("contributor", "add observations"))]
Moderator = Annotated[User, Depends(require("moderator", "validate observations"))]
Key = Annotated[str, PathParam(description="uuid of the observation, or its first 6+ characters.")]
#: What the public sees; everything else only moderators.
PUBLIC_STATUS = "confirmed"


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


# --------------------------------------------------------------------------- models

EXAMPLE_IN: dict[str, Any] = {
    "lon": 37.21,
    "lat": -1.43,
    "observed_on": "2024-03-17",
    "observer_role": "pastoralist",
    "category": "vegetation_state",
    "land_state": "degraded",
    "description": "Hakuna nyasi karibu na kisima",
    "language": "sw",
}


class ObservationIn(BaseModel):
    """A field report. Codes are checked by the service (see the field descriptions);
    the review, map-check and photo fields are set by the service, not by the observer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_IN]})

    uuid: str | None = Field(None, max_length=64, description="Default: a new UUID.")
    lon: float = Field(description="Longitude, WGS84 decimal degrees.")
    lat: float = Field(description="Latitude, WGS84 decimal degrees.")
    observed_on: dt.date = Field(description="Day of the observation (not in the future).")
    observer_role: str = Field(max_length=64, description=", ".join(records.OBSERVER_ROLES))
    category: str = Field(max_length=64, description=", ".join(records.CATEGORIES))
    land_state: str | None = Field(
        None,
        max_length=64,
        description=f"{', '.join(records.LAND_STATES)} (required for vegetation_state and "
        "restoration_result).",
    )
    impact_severity: str | None = Field(
        None,
        max_length=64,
        description=f"{', '.join(records.IMPACT_SEVERITIES)} (drought impacts only).",
    )
    description: str | None = Field(None, description="What was seen, in the observer's words.")
    language: str | None = Field(None, max_length=35, description="BCP 47 tag, e.g. sw, fr-SN.")
    lik_indicator: bool | None = Field(
        None, description="Based on a local or indigenous knowledge indicator."
    )
    lik_indicator_name: str | None = None
    area_wkt: str | None = Field(
        None, description="WGS84 polygon (WKT) around the point, at most 100 km²."
    )
    admin_id: str | None = None
    source: str | None = Field(None, description="Where the report came from (default: api).")


class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: list[float] = Field(description="[lon, lat], WGS84.")


class ObservationProperties(BaseModel):
    uuid: str
    observed_on: dt.date
    observer_role: str
    category: str
    land_state: str | None
    impact_severity: str | None
    description: str
    language: str
    lik_indicator: bool
    lik_indicator_name: str | None
    area_wkt: str | None
    admin_id: str | None
    source: str
    photo_url: str | None = Field(description="GET it for the photo; null without one.")
    photo_sha256: str | None
    photo_media_type: str | None
    photo_bytes: int | None
    validation_status: str = Field(description=", ".join(records.VALIDATION_STATUSES))
    validated_by: str | None
    validated_at: dt.datetime | None
    validation_note: str | None
    map_flag: str | None = Field(description="Result of the last check against a map.")
    map_value: int | None
    map_layer: str | None
    map_run: str | None = Field(description="Name of the run folder checked against.")
    map_checked_at: dt.datetime | None
    created_at: dt.datetime


class ObservationFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PointGeometry
    properties: ObservationProperties


class ObservationCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    numberReturned: int
    features: list[ObservationFeature]


class ValidateIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "confirmed", "note": "seen on the county field visit"},
                {"status": "rejected", "note": "the photo shows another place"},
            ]
        }
    )

    status: Literal["confirmed", "rejected", "needs_review", "submitted"]
    note: str | None = Field(None, max_length=2000, description="Why; required to reject.")


# --------------------------------------------------------------------------- helpers


def _feature(obs: Observation) -> ObservationFeature:
    f = records.observation_fields(obs)
    props = {k: v for k, v in f.items() if k not in ("lon", "lat", "photo_path")}
    props["photo_url"] = f"/observations/{obs.uuid}/photo" if f["photo_path"] else None
    # the server's folder is none of the public's business; its name says which run
    props["map_run"] = Path(f["map_run"]).name if f["map_run"] else None
    return ObservationFeature(
        id=obs.uuid,
        geometry=PointGeometry(coordinates=[obs.lon, obs.lat]),
        properties=ObservationProperties.model_validate(props),
    )


def _is_moderator(user: User | None) -> bool:
    return user is not None and has_role(user, "moderator")


def _visible(session: Session, key: str, user: User | None) -> Observation:
    obs = records.get_observation(session, key)
    if obs.validation_status != PUBLIC_STATUS and not _is_moderator(user):
        raise NotFoundError(
            f"observation {key!r} is not confirmed (yet); only moderators see it. "
            "Send a moderator's token to see it."
        )
    return obs


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(
            f"bbox {text!r}: expected west,south,east,north in WGS84 degrees, "
            "e.g. 36.5,-2.0,38.0,-1.0."
        ) from None
    return w, s, e, n


def _upload_name(name: str | None) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "").name).strip("._")
    return stem[:100] or "photo"


def _field_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, records.ObservationFieldError)
    return JSONResponse(
        status_code=422,
        content={
            "detail": str(exc),
            "type": type(exc).__name__,
            "errors": [{"field": exc.field, "message": exc.reason}],
        },
    )


def router_setup(app: FastAPI) -> None:
    """Field errors of an observation -> 422 with ``errors``."""
    app.add_exception_handler(records.ObservationFieldError, _field_error)


# --------------------------------------------------------------------------- routes


@router.get(
    "/observations",
    summary="Observations as GeoJSON",
    response_class=GeoJSONResponse,
)
def list_observations(
    session: SessionDep,
    user: UserDep,
    status: Annotated[
        list[str] | None,
        Query(description="Validation status(es); other than confirmed: moderators only."),
    ] = None,
    category: Annotated[list[str] | None, Query()] = None,
    admin_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[dt.date | None, Query(description="Observed on or after.")] = None,
    until: Annotated[dt.date | None, Query(description="Observed on or before.")] = None,
    lik_only: Annotated[bool, Query(description="Only local / indigenous knowledge.")] = False,
    flag: Annotated[list[str] | None, Query(description="Map-check flag(s).")] = None,
    bbox: Annotated[
        str | None, Query(max_length=200, description="west,south,east,north (WGS84).")
    ] = None,
) -> ObservationCollection:
    """Oldest first. Without a moderator's token: confirmed observations only."""
    if not _is_moderator(user):
        wanted = {s.strip().lower() for s in status or [PUBLIC_STATUS]}
        if wanted != {PUBLIC_STATUS}:
            if user is None:
                raise Unauthenticated(
                    "observations that are not confirmed are for moderators; send "
                    "'Authorization: Bearer <token>' with a moderator's token."
                )
            raise PermissionDenied(
                f"user {user.name!r} (role {user.role}) cannot list observations that are not "
                "confirmed: expected role moderator or higher."
            )
        status = [PUBLIC_STATUS]
    rows = records.query_observations(
        session,
        status=status or None,
        category=category or None,
        admin_id=admin_id,
        since=since,
        until=until,
        lik_only=lik_only,
        flag=flag or None,
        bbox=_bbox(bbox),
    )
    features = [_feature(o) for o in rows]
    return ObservationCollection(numberReturned=len(features), features=features)


@router.get(
    "/observations/{uuid}",
    summary="One observation (GeoJSON Feature)",
    response_class=GeoJSONResponse,
)
def get_observation(session: SessionDep, user: UserDep, uuid: Key) -> ObservationFeature:
    """Confirmed observations for everyone; the others for moderators (404 otherwise)."""
    return _feature(_visible(session, uuid, user))


@router.post(
    "/observations",
    status_code=201,
    summary="Add an observation (contributors)",
    response_class=GeoJSONResponse,
    responses={422: {"description": "Field errors: `errors` names the field and the fix."}},
)
def create_observation(
    session: SessionDep, user: Contributor, body: ObservationIn, response: Response
) -> ObservationFeature:
    """Checked by the same rules as ``landwatch observe add`` and imports; stored as
    ``submitted`` for a moderator to validate. Add a photo with
    ``POST /observations/{uuid}/photo``."""
    fields = body.model_dump(exclude_none=True)
    fields.setdefault("source", f"api {user.name}"[:200])
    obs = records.create_observation(session, fields)
    response.headers["Location"] = f"/observations/{obs.uuid}"
    return _feature(obs)


@router.post(
    "/observations/{uuid}/photo",
    summary="Attach a photo (contributors; replacing one: moderators)",
    response_class=GeoJSONResponse,
    responses={422: {"description": "Not a JPEG, PNG or WebP image, empty, or too large."}},
)
def upload_photo(
    session: SessionDep,
    user: Contributor,
    settings: Annotated[Settings, Depends(get_settings)],
    uuid: Key,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at most 10 MiB.")],
) -> ObservationFeature:
    """The type is read from the content, never the name; the photo is stored under the
    data folder by its SHA-256, as ``landwatch observe add --photo`` does. Editing a
    confirmed observation sends it back for review."""
    obs = records.get_observation(session, uuid)
    if obs.photo_path and not _is_moderator(user):
        raise PermissionDenied(
            f"user {user.name!r} (role {user.role}) cannot replace the photo of observation "
            f"{obs.uuid}: expected role moderator or higher. Ask a moderator to replace it."
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".upload-") as tmp:
        path = Path(tmp) / _upload_name(file.filename)
        with open(path, "wb") as fh:
            shutil.copyfileobj(file.file, fh, 1 << 20)
        try:
            info = obs_io.inspect_photo(path, max_bytes=obs_io.PHOTO_MAX_BYTES)
        except InputError as exc:
            raise records.ObservationFieldError("file", str(exc).removeprefix("photo: ")) from None
        rel, created = obs_io.store_photo(info, settings.data_dir)
    try:
        obs = records.update_observation(
            session,
            obs.uuid,
            {
                "photo_path": rel,
                "photo_sha256": info.sha256,
                "photo_media_type": info.media_type,
                "photo_bytes": info.size,
            },
        )
    except BaseException:
        if created:
            obs_io.remove_stored_photo(settings.data_dir, rel)
        raise
    return _feature(obs)


@router.get(
    "/observations/{uuid}/photo",
    summary="The photo of an observation",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def get_photo(
    session: SessionDep,
    user: UserDep,
    settings: Annotated[Settings, Depends(get_settings)],
    uuid: Key,
) -> FileResponse:
    """Visible like the observation; 404 when it has no photo."""
    obs = _visible(session, uuid, user)
    if not obs.photo_path:
        raise NotFoundError(f"observation {obs.uuid} has no photo.")
    path = obs_io.stored_photo(settings.data_dir, obs.photo_path, name=f"observation {obs.uuid}")
    return FileResponse(path, media_type=obs.photo_media_type)


@router.post(
    "/observations/{uuid}/validate",
    summary="Confirm, reject or return an observation (moderators)",
    response_class=GeoJSONResponse,
)
def validate_observation(
    session: SessionDep, user: Moderator, uuid: Key, body: ValidateIn
) -> ObservationFeature:
    """Only confirmed observations correct maps and weigh on alerts; a rejection needs a
    note. The validator is the token's user."""
    obs = records.set_validation_status(session, uuid, body.status, by=user.name, note=body.note)
    return _feature(obs)
