"""Observation records: the vocabulary, the validation rules, and create / update /
validate / query through a database session.

Every entry point (the CLI, CSV and GeoJSON import, the API) goes through
:func:`validate_observation_fields`, so an observation is held to the same rules
whichever way it comes in. Values may be typed (``float``, ``datetime.date``) or text
as read from a CSV cell; :func:`observation_text_fields` writes them back as text that
reads in again unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid as uuid_mod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from landwatch.errors import InputError, NotFoundError
from landwatch.observations.language import UNDETERMINED, canonical_language_tag
from landwatch.store.observations import Observation

# --------------------------------------------------------------------------- vocabulary

#: Who made the observation.
OBSERVER_ROLES: tuple[str, ...] = (
    "farmer",
    "pastoralist",
    "extension_officer",
    "community_monitor",
    "scientist",
    "other",
)
#: State of the land or vegetation the observer reports, in SDG 15.3.1 terms.
LAND_STATES: tuple[str, ...] = ("degraded", "stable", "improved")
#: How severe a drought impact is; ``none`` reports that the impact is absent.
IMPACT_SEVERITIES: tuple[str, ...] = ("none", "mild", "moderate", "severe")
#: Review states; only ``confirmed`` observations change maps or alerts.
VALIDATION_STATUSES: tuple[str, ...] = ("submitted", "confirmed", "rejected", "needs_review")
#: Result of the last check against a map (see :mod:`landwatch.observations.checks`).
MAP_FLAGS: tuple[str, ...] = (
    "consistent",
    "possible_false_positive",
    "possible_false_negative",
    "not_comparable",
    "no_data",
    "outside_map",
)
#: Image types a photo may have (sniffed from the file content, not its name).
PHOTO_MEDIA_TYPES: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")

#: Largest polygon an observation may describe; a correction from one report should
#: not recode a whole district.
MAX_AREA_KM2 = 100.0
#: Earliest accepted observation date (older dates are almost always typing errors).
EARLIEST_DATE = dt.date(1900, 1, 1)

_MAX_LENGTHS: dict[str, int] = {
    "description": 10_000,
    "lik_indicator_name": 200,
    "admin_id": 64,
    "source": 200,
    "validated_by": 120,
    "validation_note": 2_000,
    "map_layer": 64,
    "map_run": 1_024,
    "photo_path": 255,
}


@dataclass(frozen=True)
class Category:
    """One observation category (a row of ``data/observation_categories.csv``)."""

    code: str
    label: str
    drought_impact: bool
    land_state_required: bool
    implied_land_state: str | None
    description: str


def _load_categories() -> dict[str, Category]:
    text = (resources.files("landwatch") / "data" / "observation_categories.csv").read_text(
        encoding="utf-8"
    )
    out = {}
    for row in csv.DictReader(io.StringIO(text)):
        out[row["code"]] = Category(
            code=row["code"],
            label=row["label"],
            drought_impact=row["drought_impact"] == "true",
            land_state_required=row["land_state_required"] == "true",
            implied_land_state=row["implied_land_state"] or None,
            description=row["description"],
        )
    return out


#: Categories by code, from ``data/observation_categories.csv``.
CATEGORIES: dict[str, Category] = _load_categories()

#: Every field of an observation, in export order.
FIELDS: tuple[str, ...] = (
    "uuid",
    "lon",
    "lat",
    "observed_on",
    "observer_role",
    "category",
    "land_state",
    "impact_severity",
    "description",
    "language",
    "lik_indicator",
    "lik_indicator_name",
    "area_wkt",
    "admin_id",
    "source",
    "photo_path",
    "photo_sha256",
    "photo_media_type",
    "photo_bytes",
    "validation_status",
    "validated_by",
    "validated_at",
    "validation_note",
    "map_flag",
    "map_value",
    "map_layer",
    "map_run",
    "map_checked_at",
    "created_at",
)
REQUIRED_FIELDS: tuple[str, ...] = ("lon", "lat", "observed_on", "observer_role", "category")
_PHOTO_FIELDS = ("photo_path", "photo_sha256", "photo_media_type", "photo_bytes")
_MAP_FIELDS = ("map_flag", "map_value", "map_layer", "map_run", "map_checked_at")
_REVIEW_FIELDS = ("validation_status", "validated_by", "validated_at", "validation_note")
#: Fields whose change makes the last map check stale.
_LOCATION_FIELDS = ("lon", "lat", "area_wkt", "observed_on", "category", "land_state")


class ObservationFieldError(InputError):
    """A field of an observation is missing or invalid.

    ``field`` names the field and ``reason`` says what is wrong and how to fix it, so
    that an import can name the row and column.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


# --------------------------------------------------------------------------- parsing


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _code(value: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower())


def _choice(field: str, value: Any, allowed: Sequence[str]) -> str:
    code = _code(value)
    if code not in allowed:
        raise ObservationFieldError(
            field, f"{value!r} is not one of {', '.join(allowed)}. Use one of these codes."
        )
    return code


def _float(field: str, value: Any, lo: float, hi: float, unit: str) -> float:
    if isinstance(value, bool):
        raise ObservationFieldError(field, f"expected a number, got {value!r}.")
    try:
        x = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        hint = " Use a point as decimal separator." if "," in str(value) else ""
        raise ObservationFieldError(
            field, f"{value!r} is not a number; expected {unit} in {lo:g}..{hi:g}.{hint}"
        ) from None
    if not (lo <= x <= hi):  # also catches NaN
        swap = " lon and lat may be swapped." if field == "lat" and -180 <= x <= 180 else ""
        raise ObservationFieldError(
            field,
            f"{x:g} is outside {lo:g}..{hi:g} {unit}. Give WGS84 decimal degrees "
            f"(south and west negative).{swap}",
        )
    return x


def _int(field: str, value: Any, *, minimum: int | None = None) -> int:
    try:
        x = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value))
    except ValueError:
        raise ObservationFieldError(field, f"{value!r} is not a whole number.") from None
    if minimum is not None and x < minimum:
        raise ObservationFieldError(field, f"{x} is below {minimum}.")
    return x


def _bool(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "y", "1"}:
        return True
    if text in {"false", "no", "n", "0"}:
        return False
    raise ObservationFieldError(field, f"{value!r} is not true or false (or yes/no, 1/0).")


def _date(field: str, value: Any, today: dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        d = value.date()
    elif isinstance(value, dt.date):
        d = value
    else:
        try:
            d = dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise ObservationFieldError(
                field, f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-03-17."
            ) from None
    # one day of slack: it is already tomorrow in UTC+14 when it is today in UTC
    if d > today + dt.timedelta(days=1):
        raise ObservationFieldError(
            field,
            f"{d.isoformat()} is in the future (today is {today.isoformat()}). "
            "Give the day the observation was made.",
        )
    if d < EARLIEST_DATE:
        raise ObservationFieldError(
            field, f"{d.isoformat()} is before {EARLIEST_DATE.isoformat()}; check the year."
        )
    return d


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timezone-aware UTC datetime (SQLite hands back naive datetimes, which are UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _datetime(field: str, value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return as_utc(value)
    try:
        return as_utc(dt.datetime.fromisoformat(str(value).strip()))
    except ValueError:
        raise ObservationFieldError(
            field, f"{value!r} is not a date and time; write ISO 8601, e.g. 2024-03-17T09:30:00Z."
        ) from None


def _text(field: str, value: Any) -> str:
    text = str(value).strip()
    limit = _MAX_LENGTHS.get(field)
    if limit is not None and len(text) > limit:
        raise ObservationFieldError(
            field, f"is {len(text)} characters long; at most {limit} are allowed. Shorten it."
        )
    return text


def _uuid(value: Any) -> str:
    try:
        return str(uuid_mod.UUID(str(value).strip()))
    except ValueError:
        raise ObservationFieldError(
            "uuid",
            f"{value!r} is not a UUID (like 0f8fad5b-d9cb-469f-a165-70867728950e). "
            "Leave it empty to get a new one.",
        ) from None


def _area(value: Any, lon: float | None, lat: float | None) -> str:
    import shapely
    from pyproj import Geod

    try:
        geom = shapely.from_wkt(str(value).strip())
    except Exception:  # shapely raises GEOSException for bad WKT
        raise ObservationFieldError(
            "area_wkt",
            f"{str(value)[:60]!r} is not WKT; expected e.g. "
            "'POLYGON ((37.1 -1.2, 37.11 -1.2, 37.11 -1.21, 37.1 -1.21, 37.1 -1.2))'.",
        ) from None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        kind = "empty" if geom is None or geom.is_empty else geom.geom_type
        raise ObservationFieldError(
            "area_wkt", f"is a {kind} geometry; expected a Polygon or MultiPolygon in WGS84."
        )
    if not geom.is_valid:
        raise ObservationFieldError(
            "area_wkt",
            f"is not a valid polygon ({shapely.is_valid_reason(geom)}). "
            "Fix the self-intersection in a GIS or redraw it.",
        )
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        raise ObservationFieldError(
            "area_wkt",
            "has coordinates outside longitude -180..180 / latitude -90..90; "
            "give it in WGS84 degrees (lon lat order).",
        )
    if lon is not None and lat is not None:
        point = shapely.Point(lon, lat)
        # a tolerance of about 1 m for points digitised on the edge
        if geom.distance(point) > 1e-5:
            raise ObservationFieldError(
                "area_wkt",
                f"does not contain the observation point ({lon:g}, {lat:g}). "
                "Draw the polygon around the point or move the point into it.",
            )
    area_km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6
    if area_km2 > MAX_AREA_KM2:
        raise ObservationFieldError(
            "area_wkt",
            f"covers {area_km2:,.0f} km2; one observation may describe at most "
            f"{MAX_AREA_KM2:g} km2. Split it into several observations or draw a smaller area.",
        )
    return str(geom.wkt)


def validate_observation_fields(
    fields: Mapping[str, Any],
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Check and normalise the fields of one observation.

    Parameters
    ----------
    fields : mapping of str to value
        Field name -> value, typed or as text (a CSV cell). Empty strings and None
        are missing values. Names are those of :data:`FIELDS`; ``lon``, ``lat``
        (WGS84 degrees), ``observed_on``, ``observer_role`` and ``category`` are
        required.
    today : datetime.date, optional
        The date against which "in the future" is judged (default: today in UTC).
    now : datetime.datetime, optional
        Default for ``created_at`` (default: now, UTC).

    Returns
    -------
    dict
        Every field of :data:`FIELDS` with its typed, normalised value (codes in
        lower case, canonical language tag, UTC datetimes); a new UUID when none was
        given; ``None`` for missing optional fields.

    Raises
    ------
    ObservationFieldError
        The first invalid field: its name is in ``.field`` and the message says what
        was expected and how to fix it.

    Notes
    -----
    Rules beyond single fields: ``land_state`` is required for the categories
    ``vegetation_state`` and ``restoration_result``, and a ``land_degradation_sign``
    is ``degraded`` (the default); ``impact_severity`` only applies to drought-impact
    categories; a ``lik_indicator_name`` implies ``lik_indicator``; the photo
    fields come all together or not at all; a confirmed or rejected observation names
    who validated it; ``area_wkt`` must contain the point and be at most
    :data:`MAX_AREA_KM2`.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    now = as_utc(now) if now else dt.datetime.now(dt.UTC)
    unknown = [k for k in fields if k not in FIELDS]
    if unknown:
        raise ObservationFieldError(
            unknown[0], f"unknown field. Known fields are: {', '.join(FIELDS)}."
        )
    given = {k: v for k, v in fields.items() if not _blank(v)}
    for name in REQUIRED_FIELDS:
        if name not in given:
            raise ObservationFieldError(name, "is required and missing.")

    out: dict[str, Any] = dict.fromkeys(FIELDS)
    out["uuid"] = _uuid(given["uuid"]) if "uuid" in given else str(uuid_mod.uuid4())
    out["lon"] = _float("lon", given["lon"], -180.0, 180.0, "degrees")
    out["lat"] = _float("lat", given["lat"], -90.0, 90.0, "degrees")
    out["observed_on"] = _date("observed_on", given["observed_on"], today)
    out["observer_role"] = _choice("observer_role", given["observer_role"], OBSERVER_ROLES)
    out["category"] = _choice("category", given["category"], tuple(CATEGORIES))
    category = CATEGORIES[out["category"]]

    if "land_state" in given:
        out["land_state"] = _choice("land_state", given["land_state"], LAND_STATES)
    if category.implied_land_state:
        if out["land_state"] is None:
            out["land_state"] = category.implied_land_state
        elif out["land_state"] != category.implied_land_state:
            raise ObservationFieldError(
                "land_state",
                f"a {category.label.lower()} means the land is "
                f"{category.implied_land_state}, but land_state is {out['land_state']!r}. "
                "Leave it empty or choose another category (e.g. vegetation_state).",
            )
    if category.land_state_required and out["land_state"] is None:
        raise ObservationFieldError(
            "land_state",
            f"is required for category {category.code}; give one of {', '.join(LAND_STATES)}.",
        )
    if "impact_severity" in given:
        if not category.drought_impact:
            impact_codes = [c.code for c in CATEGORIES.values() if c.drought_impact]
            raise ObservationFieldError(
                "impact_severity",
                f"applies only to drought impacts ({', '.join(impact_codes)}), "
                f"not to {category.code}. Leave it empty.",
            )
        out["impact_severity"] = _choice(
            "impact_severity", given["impact_severity"], IMPACT_SEVERITIES
        )

    out["description"] = _text("description", given.get("description", ""))
    out["language"] = _language(given["language"]) if "language" in given else UNDETERMINED
    if "lik_indicator_name" in given:
        out["lik_indicator_name"] = _text("lik_indicator_name", given["lik_indicator_name"])
    if "lik_indicator" in given:
        out["lik_indicator"] = _bool("lik_indicator", given["lik_indicator"])
        if not out["lik_indicator"] and out["lik_indicator_name"]:
            raise ObservationFieldError(
                "lik_indicator",
                "is false but lik_indicator_name is given. Set it to true "
                "(the observation uses a local or indigenous knowledge indicator) or clear the name.",
            )
    else:
        out["lik_indicator"] = out["lik_indicator_name"] is not None
    if "area_wkt" in given:
        out["area_wkt"] = _area(given["area_wkt"], out["lon"], out["lat"])
    for name in ("admin_id", "source"):
        if name in given:
            out[name] = _text(name, given[name])
    out["source"] = out["source"] or ""

    _photo_fields(given, out)
    _review_fields(given, out)
    _map_fields(given, out)
    out["created_at"] = (
        _datetime("created_at", given["created_at"]) if "created_at" in given else now
    )
    return out


def _language(value: Any) -> str:
    try:
        return canonical_language_tag(str(value))
    except InputError as exc:
        raise ObservationFieldError("language", str(exc).removeprefix("language: ")) from None


def _photo_fields(given: Mapping[str, Any], out: dict[str, Any]) -> None:
    present = [f for f in _PHOTO_FIELDS if f in given]
    if not present:
        return
    missing = [f for f in _PHOTO_FIELDS if f not in given]
    if missing:
        raise ObservationFieldError(
            missing[0],
            f"is missing while {present[0]} is given; a photo needs "
            f"{', '.join(_PHOTO_FIELDS)}. Add the photo with its file instead of typing these.",
        )
    path = _text("photo_path", given["photo_path"]).replace("\\", "/")
    if path.startswith("/") or ".." in path.split("/"):
        raise ObservationFieldError(
            "photo_path", f"{path!r} must be relative to the data directory, without '..'."
        )
    sha = str(given["photo_sha256"]).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ObservationFieldError(
            "photo_sha256", f"{sha[:70]!r} is not a SHA-256 (64 hexadecimal characters)."
        )
    out["photo_path"] = path
    out["photo_sha256"] = sha
    out["photo_media_type"] = _choice(
        "photo_media_type", given["photo_media_type"], PHOTO_MEDIA_TYPES
    )
    out["photo_bytes"] = _int("photo_bytes", given["photo_bytes"], minimum=1)


def _review_fields(given: Mapping[str, Any], out: dict[str, Any]) -> None:
    status = (
        _choice("validation_status", given["validation_status"], VALIDATION_STATUSES)
        if "validation_status" in given
        else "submitted"
    )
    out["validation_status"] = status
    for name in ("validated_by", "validation_note"):
        if name in given:
            out[name] = _text(name, given[name])
    if "validated_at" in given:
        out["validated_at"] = _datetime("validated_at", given["validated_at"])
    if status in ("confirmed", "rejected") and not out["validated_by"]:
        raise ObservationFieldError(
            "validated_by", f"a {status} observation needs the name or role of who {status} it."
        )


def _map_fields(given: Mapping[str, Any], out: dict[str, Any]) -> None:
    if "map_flag" in given:
        out["map_flag"] = _choice("map_flag", given["map_flag"], MAP_FLAGS)
    if "map_value" in given:
        out["map_value"] = _int("map_value", given["map_value"])
    for name in ("map_layer", "map_run"):
        if name in given:
            out[name] = _text(name, given[name])
    if "map_checked_at" in given:
        out["map_checked_at"] = _datetime("map_checked_at", given["map_checked_at"])


# --------------------------------------------------------------------------- text form


def _iso_datetime(value: dt.datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def observation_fields(obs: Observation) -> dict[str, Any]:
    """The fields of a stored observation as typed values (datetimes in UTC)."""
    out = {name: getattr(obs, name) for name in FIELDS}
    for name in ("validated_at", "map_checked_at", "created_at"):
        if out[name] is not None:
            out[name] = as_utc(out[name])
    return out


def observation_text_fields(obs: Observation) -> dict[str, str]:
    """The fields of a stored observation as text cells that read back unchanged.

    Dates are ISO 8601 (datetimes in UTC with ``Z``), booleans ``true``/``false``,
    numbers in their shortest exact form, missing values empty.
    """
    out: dict[str, str] = {}
    for name, value in observation_fields(obs).items():
        if value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, dt.datetime):
            out[name] = _iso_datetime(value)
        elif isinstance(value, dt.date):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)  # repr-exact for floats
    return out


# --------------------------------------------------------------------------- session


def create_observation(
    session: Session,
    fields: Mapping[str, Any],
    *,
    today: dt.date | None = None,
) -> Observation:
    """Validate ``fields`` and add a new observation to the session.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (e.g. from :func:`landwatch.store.session_scope`); the caller
        commits.
    fields : mapping
        See :func:`validate_observation_fields`.
    today : datetime.date, optional
        Reference date for the "not in the future" rule.

    Returns
    -------
    Observation
        The new, flushed row.

    Raises
    ------
    ObservationFieldError
        A field is invalid, or the uuid is taken.
    """
    values = validate_observation_fields(fields, today=today)
    if session.scalar(select(Observation.id).where(Observation.uuid == values["uuid"])):
        raise ObservationFieldError(
            "uuid",
            f"an observation {values['uuid']} exists already. Leave uuid empty for a "
            "new observation, or update the existing one.",
        )
    obs = Observation(**values)
    session.add(obs)
    session.flush()
    return obs


def get_observation(session: Session, key: str) -> Observation:
    """The observation with this uuid, or with a unique uuid prefix of at least 6 characters.

    Raises
    ------
    NotFoundError
        No observation matches.
    InputError
        The prefix is shorter than 6 characters or matches several observations.
    """
    key = str(key).strip().lower()
    if len(key) < 6:
        raise InputError(f"observation {key!r}: give the uuid or at least its first 6 characters.")
    rows = session.scalars(
        select(Observation).where(Observation.uuid.startswith(key, autoescape=True)).limit(2)
    ).all()
    if not rows:
        raise NotFoundError(
            f"observation {key!r} does not exist. List them with `landwatch observe list`."
        )
    if len(rows) > 1:
        raise InputError(f"observation {key!r} matches several uuids; give more characters.")
    return rows[0]


def update_observation(
    session: Session,
    key: str,
    changes: Mapping[str, Any],
    *,
    today: dt.date | None = None,
) -> Observation:
    """Change fields of an observation, re-checking the whole record.

    Editing what was observed (anything but the review and map-check fields) sends a
    confirmed observation back to ``needs_review``: the confirmation was given for the
    old content. Moving it, or changing its date, category or land state, clears the
    last map check.

    Raises
    ------
    ObservationFieldError
        A changed field is invalid, or ``uuid`` / ``created_at`` is changed.
    NotFoundError
        No such observation.
    """
    obs = get_observation(session, key)
    current = observation_fields(obs)
    for name in ("uuid", "created_at"):
        if name in changes and not _blank(changes[name]) and changes[name] != current[name]:
            raise ObservationFieldError(name, "cannot be changed.")
    values = validate_observation_fields({**current, **changes}, today=today)
    content_changed = [
        f for f in FIELDS if f not in _REVIEW_FIELDS + _MAP_FIELDS and values[f] != current[f]
    ]
    if content_changed and values["validation_status"] == "confirmed":
        values["validation_status"] = "needs_review"
        values["validation_note"] = (
            f"edited after confirmation ({', '.join(content_changed)}); check again"
        )
    if any(values[f] != current[f] for f in _LOCATION_FIELDS):
        for f in _MAP_FIELDS:
            values[f] = None
    for name, value in values.items():
        setattr(obs, name, value)
    session.flush()
    return obs


def set_validation_status(
    session: Session,
    key: str,
    status: str,
    *,
    by: str,
    note: str | None = None,
    when: dt.datetime | None = None,
) -> Observation:
    """Confirm, reject or return an observation for review.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    key : str
        uuid or unique uuid prefix.
    status : {"confirmed", "rejected", "needs_review", "submitted"}
        The new status.
    by : str
        Who validated it (a name or a role); required.
    note : str, optional
        Why; required when rejecting, so the observer learns what was wrong.
    when : datetime.datetime, optional
        When (default now, UTC).

    Raises
    ------
    InputError
        Unknown status, no validator, or a rejection without a note.
    NotFoundError
        No such observation.
    """
    status = _choice("validation_status", status, VALIDATION_STATUSES)
    by = _text("validated_by", by or "")
    if not by:
        raise InputError("validated_by: say who validates the observation (a name or a role).")
    if status == "rejected" and _blank(note):
        raise InputError(
            "validation_note: a rejection needs a note saying why, so the observer learns "
            "what was wrong."
        )
    obs = get_observation(session, key)
    obs.validation_status = status
    obs.validated_by = by
    obs.validated_at = as_utc(when) if when else dt.datetime.now(dt.UTC)
    obs.validation_note = None if _blank(note) else _text("validation_note", note)
    session.flush()
    return obs


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def query_observations(
    session: Session,
    *,
    status: str | Iterable[str] | None = None,
    category: str | Iterable[str] | None = None,
    admin_id: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    lik_only: bool = False,
    flag: str | Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> list[Observation]:
    """Observations matching every given filter, oldest first.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    status, category, flag : str or iterable of str, optional
        Validation status(es), category code(s), map-check flag(s).
    admin_id : str, optional
        Admin unit id.
    since, until : datetime.date, optional
        Inclusive range of ``observed_on``.
    lik_only : bool
        Only observations tagged as local or indigenous knowledge.
    bbox : (west, south, east, north), optional
        WGS84 bounding box.

    Returns
    -------
    list of Observation
        Sorted by ``observed_on`` then insertion order.
    """
    stmt = select(Observation)
    statuses = _as_list(status)
    if statuses is not None:
        stmt = stmt.where(
            Observation.validation_status.in_(
                [_choice("validation_status", s, VALIDATION_STATUSES) for s in statuses]
            )
        )
    categories = _as_list(category)
    if categories is not None:
        stmt = stmt.where(
            Observation.category.in_(
                [_choice("category", c, tuple(CATEGORIES)) for c in categories]
            )
        )
    flags = _as_list(flag)
    if flags is not None:
        stmt = stmt.where(
            Observation.map_flag.in_([_choice("map_flag", f, MAP_FLAGS) for f in flags])
        )
    if admin_id is not None:
        stmt = stmt.where(Observation.admin_id == admin_id)
    if since is not None:
        stmt = stmt.where(Observation.observed_on >= since)
    if until is not None:
        stmt = stmt.where(Observation.observed_on <= until)
    if lik_only:
        stmt = stmt.where(Observation.lik_indicator.is_(True))
    if bbox is not None:
        w, s, e, n = bbox
        stmt = stmt.where(
            Observation.lon >= w, Observation.lon <= e, Observation.lat >= s, Observation.lat <= n
        )
    return list(session.scalars(stmt.order_by(Observation.observed_on, Observation.id)))
