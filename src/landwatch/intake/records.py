"""Requests for information products: the record, its workflow and its audit trail.

A request asks for a brief on one topic for one area by a deadline. Every way in (the
API, the dashboard form, the CLI) goes through :func:`validate_request`, which collects
every field error at once (:class:`InfoRequestValidationError`, the pattern of
:mod:`landwatch.knowledge.records`).

Status workflow (:data:`TRANSITIONS`; anything else is an :class:`InputError` that names
the steps allowed from the current status)::

    received -> triaged -> in_progress -> delivered -> closed      (triage, accept, deliver, close)
    received or triaged -> rejected                                (reject, with a reason)
    in_progress -> triaged                     (job_failed: the system, when the brief job fails)
    triaged -> triaged                         (triage again, to link other runs)

A triaged request may be triaged again, to link other runs (``triage`` links the runs
the brief uses: a partner who asks rarely knows them).

``accept`` starts the brief (the caller passes the function that submits the job);
when that job succeeds, :func:`on_job_finished` delivers the request with links to the
job's results; when it fails, the request goes back to ``triaged`` (action
``job_failed``) so a moderator can accept it again or reject it. Every step, the
submission included, adds an :class:`~landwatch.store.requests.InfoRequestEvent`
(who, when, from, to, note): the audit trail.

The requester's e-mail address is personal data: it is validated but never written to
a log, an event note, an error message or a job's inputs, and only the requester and
moderators see it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from landwatch.errors import DataSourceError, InputError, LandwatchError, NotFoundError
from landwatch.intake.priority import (
    Priority,
    PriorityRules,
    RequestFacts,
    area_alert_level,
    current_alert_levels,
    load_priority_rules,
    population_from_runs,
    priority_order_key,
    priority_score,
    units_in_area,
)
from landwatch.store.auth import User, has_role, require_role
from landwatch.store.jobs import FINAL_STATUSES, Job
from landwatch.store.requests import REQUEST_STATUSES, InfoRequest, InfoRequestEvent

__all__ = [
    "FIELDS",
    "MAX_LINKS",
    "OPEN_STATUSES",
    "RUN_FIELDS",
    "SYSTEM_ACTOR",
    "TOPIC_RUNS",
    "TRANSITIONS",
    "InfoRequestValidationError",
    "QueueItem",
    "RequestRecord",
    "accept_request",
    "allowed_actions",
    "area_geojson",
    "brief_inputs",
    "brief_title",
    "check_request",
    "close_request",
    "deliver_finished_jobs",
    "deliver_request",
    "get_request",
    "link_runs",
    "missing_runs",
    "on_job_finished",
    "queue",
    "reject_request",
    "request_dict",
    "request_priority",
    "result_links",
    "submit_request",
    "triage_request",
    "validate_request",
]

#: Fields of a request as submitted, in the order of forms and exports.
FIELDS: tuple[str, ...] = (
    "requester",
    "organization",
    "requester_type",
    "email",
    "country",
    "topic",
    "admin_id",
    "area",
    "question",
    "deadline",
    "intended_use",
    "population",
    "sdg_run",
    "ldn_run",
    "so3_run",
    "warning_run",
)
#: Run fields -> the workflow whose output each must be (``manifest.json`` ``workflow``).
RUN_FIELDS: dict[str, str] = {
    "sdg_run": "sdg1531",
    "ldn_run": "ldn",
    "so3_run": "so3",
    "warning_run": "warning",
}
#: Runs each topic's brief needs: one of each group (landwatch.workflows.brief).
TOPIC_RUNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "land_degradation": (("sdg_run",),),
    "drought": (("so3_run", "warning_run"),),
    "ldn": (("ldn_run",),),
    "hotspots_practices": (("ldn_run",),),
}
#: Statuses of requests still being worked on (the default queue).
OPEN_STATUSES: tuple[str, ...] = ("received", "triaged", "in_progress")
#: action -> (statuses it applies to, status it leads to). ``job_failed`` is the
#: system's step when the brief job of an accepted request fails.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "triage": (("received", "triaged"), "triaged"),  # again: to link other runs
    "accept": (("triaged",), "in_progress"),
    "deliver": (("in_progress",), "delivered"),
    "close": (("delivered",), "closed"),
    "reject": (("received", "triaged"), "rejected"),
    "job_failed": (("in_progress",), "triaged"),
}
#: Actions a moderator takes (``job_failed`` is the system's).
MODERATOR_ACTIONS: tuple[str, ...] = ("triage", "accept", "deliver", "close", "reject")
#: Actor of the steps the service takes by itself (a finished job).
SYSTEM_ACTOR = "system"

TEXT_LIMITS: dict[str, tuple[int, int]] = {
    "requester": (2, 200),
    "organization": (2, 200),
    "question": (10, 5000),
}
NOTE_MAX = 2000
MAX_DEADLINE_DAYS = 730
MAX_POPULATION = 10_000_000_000
MAX_VERTICES = 10_000
MAX_LINKS = 50
LINK_MAX = 2000
#: Results listed first among a brief job's links.
MAIN_RESULTS: tuple[str, ...] = ("brief.pdf", "brief.html")

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_ADMIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_LINK = re.compile(r"(https?://[^\s<>\"']+|/[^\s<>\"']*)", re.IGNORECASE)
_MISSING: Any = object()


class InfoRequestValidationError(InputError):
    """A request breaks rules of the record; ``errors`` lists every problem as
    ``{"field": ..., "message": ...}`` and ``str()`` gives one line per error."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        self.errors: list[dict[str, Any]] = [dict(e) for e in errors]
        n = len(self.errors)
        lines = [f"  {e['field'] or '(request)'}: {e['message']}" for e in self.errors]
        super().__init__(
            "\n".join([f"information request: {n} error{'s' if n != 1 else ''}:", *lines])
        )


@dataclass(frozen=True)
class RequestRecord:
    """A valid request as submitted (text stripped, codes checked, country upper-case).

    ``run_folders`` holds the folders the run fields resolved to (when a resolver was
    given); it is not stored.
    """

    requester: str
    organization: str
    requester_type: str
    email: str
    country: str
    topic: str
    admin_id: str | None
    area: dict[str, Any] | None
    question: str
    deadline: dt.date
    intended_use: str
    population: int | None = None
    sdg_run: str | None = None
    ldn_run: str | None = None
    so3_run: str | None = None
    warning_run: str | None = None
    run_folders: Mapping[str, Path] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:  # never the e-mail address
        return f"RequestRecord({self.topic!r}, {self.admin_id or 'polygon'}, {self.deadline})"


# --------------------------------------------------------------------------- validation


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, name: str, message: str) -> None:
        self.items.append({"field": name, "message": message})


def _shown(value: Any, limit: int) -> str:
    """A sent value in a message: scalars as they are (shortened), others by type only
    (a deeply nested JSON value must not be walked)."""
    if isinstance(value, str):
        return repr(value[:limit])
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)[:limit]
    return f"a JSON {'array' if isinstance(value, list) else 'object'}"


def _text(errs: _Errors, name: str, value: Any, *, one_line: bool = True) -> str:
    lo, hi = TEXT_LIMITS[name]
    if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
        errs.add(name, f"required; expected {lo} to {hi} characters.")
        return ""
    if not isinstance(value, str):
        errs.add(name, f"expected text, got {type(value).__name__}.")
        return ""
    text = value.strip()
    if not lo <= len(text) <= hi:
        errs.add(name, f"expected {lo} to {hi} characters, got {len(text)}.")
    elif one_line and not text.isprintable():
        errs.add(name, "expected one line of text (no line breaks or tabs).")
    elif "\x00" in text:
        errs.add(name, "expected text without NUL characters.")
    return text


def _code(errs: _Errors, name: str, value: Any, codes: Mapping[str, str]) -> str:
    listed = ", ".join(codes)
    if value is _MISSING or value is None or value == "":
        errs.add(name, f"required; expected one of {listed}.")
        return ""
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in codes:
        shown = _shown(value, 60)
        errs.add(name, f"{shown} is not a known code; expected one of {listed}.")
        return ""
    return str(text)


def _email(errs: _Errors, value: Any) -> str:
    # the address is never echoed back: messages say what is wrong, not what was sent
    if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
        errs.add("email", "required; expected an e-mail address such as name@example.org.")
        return ""
    if not isinstance(value, str):
        errs.add("email", "expected an e-mail address as text.")
        return ""
    text = value.strip()
    local, _, domain = text.rpartition("@")
    if len(text) > 254 or len(local) > 64 or not _EMAIL.fullmatch(text):
        errs.add(
            "email",
            "not a valid e-mail address; expected name@domain.tld (at most 254 characters, "
            "no spaces).",
        )
        return ""
    return f"{local}@{domain.lower()}"


def _country(errs: _Errors, value: Any, rules: PriorityRules) -> str:
    if value is _MISSING or value is None or value == "":
        errs.add("country", "required; expected an ISO 3166-1 alpha-2 code such as KE.")
        return ""
    text = value.strip().upper() if isinstance(value, str) else None
    if text is None or text not in rules.countries:
        errs.add(
            "country",
            f"{_shown(value, 20)} is not an ISO 3166-1 alpha-2 country code; expected two "
            "letters such as KE, BF or MN.",
        )
        return ""
    return text


def _admin_id(errs: _Errors, value: Any) -> str | None:
    if value is _MISSING or value is None or value == "":
        return None
    if not isinstance(value, str) or not _ADMIN_ID.fullmatch(value.strip()):
        errs.add(
            "admin_id",
            f"{_shown(value, 80)}: expected an admin unit id (1-64 letters, digits, '.', '_', "
            "':' or '-', e.g. KE-S01) as in the admin units of your runs.",
        )
        return None
    return value.strip()


def _position_ok(pos: Any) -> bool:
    if not isinstance(pos, (list, tuple)) or not 2 <= len(pos) <= 3:
        return False
    if not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in pos):
        return False
    lon, lat = float(pos[0]), float(pos[1])
    finite = all(math.isfinite(float(c)) for c in pos)
    return finite and -180 <= lon <= 180 and -90 <= lat <= 90


def _polygon_problem(rings: Any) -> str | None:
    """What is wrong with the rings of one GeoJSON polygon (RFC 7946 §3.1.6), or None."""
    if not isinstance(rings, (list, tuple)) or not rings:
        return "expected a list of rings (the outer ring first)"
    for ring in rings:
        if not isinstance(ring, (list, tuple)) or len(ring) < 4:
            return "expected rings of at least 4 positions, the last equal to the first"
        if not all(_position_ok(p) for p in ring):
            return (
                "expected [longitude, latitude] positions of numbers within -180..180 and "
                "-90..90 (WGS84)"
            )
        if list(ring[0]) != list(ring[-1]):
            return "expected closed rings: the last position equal to the first"
    return None


def _coords_problem(kind: str, coords: Any) -> str | None:
    if kind == "Polygon":
        return _polygon_problem(coords)
    if not isinstance(coords, (list, tuple)) or not coords:
        return "expected a list of polygons"
    for polygon in coords:
        problem = _polygon_problem(polygon)
        if problem:
            return problem
    return None


def _area(errs: _Errors, value: Any) -> dict[str, Any] | None:
    if value is _MISSING or value is None or value == "":
        return None
    geom = value
    if isinstance(geom, Mapping) and geom.get("type") == "Feature":
        geom = geom.get("geometry")
    if not isinstance(geom, Mapping) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        errs.add(
            "area",
            "expected a GeoJSON Polygon or MultiPolygon geometry (or a Feature holding one) in "
            'WGS84 longitude/latitude, e.g. {"type": "Polygon", "coordinates": [[[37.0, -1.5], '
            "[37.2, -1.5], [37.2, -1.3], [37.0, -1.5]]]}.",
        )
        return None
    coords = geom.get("coordinates")
    problem = _coords_problem(str(geom["type"]), coords)
    if problem:
        errs.add("area", f"coordinates: {problem}.")
        return None
    try:
        import shapely
        from shapely.geometry import mapping, shape

        shp = shape({"type": geom["type"], "coordinates": coords})
        n = int(shapely.get_num_coordinates(shp))
        valid, empty = shp.is_valid, shp.is_empty
    except Exception as exc:  # shapely raises several types on malformed rings
        errs.add("area", f"not a usable polygon ({type(exc).__name__}: {str(exc)[:200]}).")
        return None
    if empty or not valid:
        errs.add(
            "area",
            "not a valid polygon (empty, or its rings cross themselves); draw it again without "
            "crossing edges.",
        )
        return None
    if n > MAX_VERTICES:
        errs.add("area", f"has {n} vertices; expected at most {MAX_VERTICES}. Simplify it.")
        return None
    out: dict[str, Any] = json.loads(json.dumps(mapping(shp)))
    return out


def _deadline(errs: _Errors, value: Any, today: dt.date) -> dt.date:
    if value is _MISSING or value is None or value == "":
        errs.add("deadline", "required; expected a date YYYY-MM-DD.")
        return today
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            errs.add("deadline", f"{value[:40]!r}: expected a date YYYY-MM-DD.")
            return today
    if not isinstance(value, dt.date):
        errs.add("deadline", "expected a date YYYY-MM-DD.")
        return today
    if value < today:
        errs.add(
            "deadline",
            f"{value.isoformat()} is in the past (today is {today.isoformat()}); expected "
            "today or a later day.",
        )
    elif (value - today).days > MAX_DEADLINE_DAYS:
        errs.add(
            "deadline",
            f"{value.isoformat()} is more than {MAX_DEADLINE_DAYS} days ahead; expected a "
            "deadline within two years.",
        )
    return value


def _population(errs: _Errors, value: Any) -> int | None:
    if value is _MISSING or value is None or value == "":
        return None
    ok = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value, ok = int(value), True
    if not ok or not 0 <= value <= MAX_POPULATION:
        errs.add(
            "population",
            f"expected a whole number of people from 0 to {MAX_POPULATION:,}, "
            f"got {_shown(value, 40)}.",
        )
        return None
    return int(value)


def _run_workflow(folder: Path) -> str | None:
    try:
        doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    got = doc.get("workflow") if isinstance(doc, Mapping) else None
    return str(got) if got is not None else None


def _runs(
    errs: _Errors,
    data: Mapping[str, Any],
    resolve_run: Callable[[str], Path] | None,
) -> tuple[dict[str, str | None], dict[str, Path]]:
    values: dict[str, str | None] = {}
    folders: dict[str, Path] = {}
    for name, workflow in RUN_FIELDS.items():
        value = data.get(name)
        if value is None or value == "":
            values[name] = None
            continue
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= 1024 or "\x00" in value:
            errs.add(name, "expected a run id (GET /runs, job-<id>) or a run folder path.")
            values[name] = None
            continue
        values[name] = value.strip()
        if resolve_run is None:
            continue
        try:
            folder = resolve_run(value.strip())
        except (ValueError, LandwatchError, OSError) as exc:
            errs.add(name, str(exc))
            continue
        got = _run_workflow(folder)
        if got != workflow:
            errs.add(
                name,
                f"{value.strip()!r} is not an output of {workflow} (its manifest.json names "
                f"{got!r}); expected the output of a {workflow} run or job.",
            )
            continue
        folders[name] = folder
    return values, folders


def check_request(
    data: Any,
    *,
    today: dt.date | None = None,
    resolve_run: Callable[[str], Path] | None = None,
    rules: PriorityRules | None = None,
) -> tuple[RequestRecord | None, list[dict[str, Any]]]:
    """Check a request against every rule; return it (or None) and the list of errors.

    The same as :func:`validate_request`, but returns the errors (``field``,
    ``message``) instead of raising them. The record is None exactly when there are
    errors.
    """
    rules = rules or load_priority_rules()
    today = today or dt.date.today()
    errs = _Errors()
    if not isinstance(data, Mapping):
        errs.add("", f"expected a JSON object with the fields {', '.join(FIELDS)}.")
        return None, errs.items
    for key in data:
        if key not in FIELDS:
            errs.add(str(key)[:80], f"unknown field; expected only {', '.join(FIELDS)}.")

    def get(name: str) -> Any:
        return data.get(name, _MISSING)

    requester = _text(errs, "requester", get("requester"))
    organization = _text(errs, "organization", get("organization"))
    requester_type = _code(errs, "requester_type", get("requester_type"), rules.requester_types)
    email = _email(errs, get("email"))
    country = _country(errs, get("country"), rules)
    topic = _code(errs, "topic", get("topic"), rules.topics)
    admin_id = _admin_id(errs, get("admin_id"))
    area = _area(errs, get("area"))
    given = {k: get(k) not in (_MISSING, None, "") for k in ("admin_id", "area")}
    if not given["admin_id"] and not given["area"]:
        errs.add(
            "area",
            "required: give admin_id (an admin unit id, e.g. KE-S01) or area (a GeoJSON polygon).",
        )
    elif given["admin_id"] and given["area"]:
        errs.add("area", "give admin_id or area, not both.")
    question = _text(errs, "question", get("question"), one_line=False)
    deadline = _deadline(errs, get("deadline"), today)
    intended_use = _code(errs, "intended_use", get("intended_use"), rules.intended_uses)
    population = _population(errs, get("population"))
    runs, folders = _runs(errs, data, resolve_run)
    if errs.items:
        return None, errs.items
    return (
        RequestRecord(
            requester=requester,
            organization=organization,
            requester_type=requester_type,
            email=email,
            country=country,
            topic=topic,
            admin_id=admin_id,
            area=area,
            question=question,
            deadline=deadline,
            intended_use=intended_use,
            population=population,
            run_folders=folders,
            **runs,
        ),
        [],
    )


def validate_request(
    data: Mapping[str, Any],
    *,
    today: dt.date | None = None,
    resolve_run: Callable[[str], Path] | None = None,
    rules: PriorityRules | None = None,
) -> RequestRecord:
    """Check a request for an information product against every rule.

    Parameters
    ----------
    data : mapping
        Field name -> value as parsed from JSON (see :data:`FIELDS`):
        ``requester``, ``organization`` (2-200 characters), ``requester_type``,
        ``topic`` and ``intended_use`` (codes of ``data/request_priority.yaml``),
        ``email``, ``country`` (ISO 3166-1 alpha-2), ``admin_id`` (an admin unit id)
        or ``area`` (a GeoJSON Polygon/MultiPolygon in WGS84; exactly one of the two),
        ``question`` (10-5000 characters), ``deadline`` (YYYY-MM-DD, today to two years
        ahead), optional ``population`` (people exposed, if known) and the runs to use:
        ``sdg_run``, ``ldn_run``, ``so3_run``, ``warning_run`` (run ids or folders).
    today : datetime.date, optional
        The day deadlines are checked against (default: today).
    resolve_run : callable, optional
        Run id or path -> its folder (ValueError naming the problem when it cannot be
        used). With it, each run must exist and be an output of the right workflow
        (``manifest.json``); without it, runs are kept as given.
    rules : PriorityRules, optional
        The vocabularies (default: ``data/request_priority.yaml``).

    Returns
    -------
    RequestRecord

    Raises
    ------
    InfoRequestValidationError
        One or more fields break the rules; ``.errors`` lists all of them. Unknown
        fields are errors too, so a misspelt field is never silently dropped.
    """
    record, errors = check_request(data, today=today, resolve_run=resolve_run, rules=rules)
    if errors:
        raise InfoRequestValidationError(errors)
    assert record is not None
    return record


# --------------------------------------------------------------------------- workflow


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime (SQLite returns them naive)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _note(text: str | None, what: str = "note") -> str:
    note = (text or "").strip()
    if len(note) > NOTE_MAX or "\x00" in note:
        raise InputError(
            f"{what}: expected at most {NOTE_MAX} characters of text, got {len(note)}. Shorten it."
        )
    return note


def _event(
    req: InfoRequest, action: str, actor: str, from_status: str | None, note: str
) -> InfoRequestEvent:
    now = _now()
    event = InfoRequestEvent(
        action=action,
        actor=actor,
        from_status=from_status,
        to_status=req.status,
        note=note,
        created_at=now,
    )
    req.events.append(event)
    req.updated_at = now
    return event


def allowed_actions(status: str) -> list[str]:
    """The moderator's actions that apply to a request in ``status``."""
    return [a for a in MODERATOR_ACTIONS if status in TRANSITIONS[a][0]]


def _step(req: InfoRequest, action: str, actor: str, note: str) -> InfoRequest:
    sources, target = TRANSITIONS[action]
    if req.status not in sources:
        allowed = allowed_actions(req.status)
        then = (
            f"allowed from {req.status}: {', '.join(allowed)}"
            if allowed
            else f"a {req.status} request takes no further step"
        )
        raise InputError(
            f"cannot {action.replace('_', ' ')} request {req.id}: it is {req.status}; "
            f"{action} applies to a request that is {' or '.join(sources)} "
            f"(-> {target}). {then[0].upper() + then[1:]}."
        )
    previous = req.status
    req.status = target
    _event(req, action, actor, previous, note)
    return req


def _request_id(request_id: int | str) -> int:
    text = str(request_id).strip().lstrip("#")
    if not text.isdigit() or len(text) > 12:
        raise InputError(f"request id {str(request_id)[:40]!r}: expected a number such as 12.")
    return int(text)


def get_request(session: Session, request_id: int | str, actor: User | None = None) -> InfoRequest:
    """The request ``request_id``; with ``actor``, only if they may see it (moderators see
    every request, others their own). NotFoundError otherwise (the same for a request
    that exists and one that does not)."""
    rid = _request_id(request_id)
    req = session.get(InfoRequest, rid)
    visible = req is not None and (
        actor is None or has_role(actor, "moderator") or req.created_by == actor.name
    )
    if req is None or not visible:
        raise NotFoundError(
            f"request {rid} does not exist (or is not yours); see `landwatch requests list` "
            "or GET /requests for the requests you may see."
        )
    return req


def _area_facts(
    admin_id: str | None,
    area: Mapping[str, Any] | None,
    population: int | None,
    folders: Mapping[str, Path],
) -> tuple[list[str], float | None, str]:
    """Admin units of the area, people exposed and where that number comes from."""
    units: list[str] = []
    if admin_id is not None:
        units = [admin_id]
    elif area is not None and "warning_run" in folders:
        try:
            units = units_in_area(area, folders["warning_run"])
        except DataSourceError:
            units = []
    if population is not None:
        return units, float(population), "given by the requester"
    found, source = population_from_runs(
        units, warning_run=folders.get("warning_run"), so3_run=folders.get("so3_run")
    )
    return units, found, source


def link_runs(
    req: InfoRequest,
    runs: Mapping[str, Any],
    *,
    resolve_run: Callable[[str], Path] | None = None,
) -> list[str]:
    """Link runs to a request (``sdg_run``, ``ldn_run``, ``so3_run``, ``warning_run``:
    run ids or folders; others keep their value), then look its admin units and
    population exposed up again. The names of the runs changed.

    Raises
    ------
    InfoRequestValidationError
        A run that is unknown, not usable, or an output of another workflow.
    """
    errs = _Errors()
    for key in runs:
        if key not in RUN_FIELDS:
            errs.add(str(key)[:80], f"not a run field; expected {', '.join(RUN_FIELDS)}.")
    values, _ = _runs(errs, runs, resolve_run)
    if errs.items:
        raise InfoRequestValidationError(errs.items)
    changed = []
    for name, value in values.items():
        if value is not None and value != getattr(req, name):
            setattr(req, name, value)
            changed.append(name)
    if changed and resolve_run is not None:
        folders: dict[str, Path] = {}
        for name in RUN_FIELDS:
            value = getattr(req, name)
            if value:
                try:
                    folders[name] = resolve_run(value)
                except (ValueError, LandwatchError, OSError):
                    continue  # a run gone since it was linked: looked up without it
        units, population, source = _area_facts(req.admin_id, req.area, req.population, folders)
        req.units = units
        req.population_exposed = population
        req.population_source = source[:300]
    return changed


def missing_runs(req: InfoRequest) -> list[tuple[str, ...]]:
    """The groups of :data:`TOPIC_RUNS` the request has no run of (empty: ready)."""
    return [g for g in TOPIC_RUNS.get(req.topic, ()) if not any(getattr(req, n) for n in g)]


def submit_request(
    session: Session,
    data: Mapping[str, Any],
    actor: User,
    *,
    today: dt.date | None = None,
    resolve_run: Callable[[str], Path] | None = None,
    rules: PriorityRules | None = None,
) -> InfoRequest:
    """Record a new request (status ``received``) with its first audit event.

    Any active user may ask (role ``viewer`` or higher): the request belongs to them.
    The admin units of the area are the ``admin_id``, or for a polygon the units of the
    linked warning run it touches; the population exposed is the number given, else
    the one of the linked runs (:func:`~landwatch.intake.priority.population_from_runs`).

    Raises
    ------
    PermissionDenied
        The actor is deactivated.
    InfoRequestValidationError
        Field errors (see :func:`validate_request`).
    """
    require_role(actor, "viewer", action="submit a request for information")
    rec = validate_request(data, today=today, resolve_run=resolve_run, rules=rules)
    units, population, source = _area_facts(rec.admin_id, rec.area, rec.population, rec.run_folders)
    now = _now()
    req = InfoRequest(
        status="received",
        requester=rec.requester,
        organization=rec.organization,
        requester_type=rec.requester_type,
        email=rec.email,
        country=rec.country,
        topic=rec.topic,
        admin_id=rec.admin_id,
        area=rec.area,
        question=rec.question,
        deadline=rec.deadline,
        intended_use=rec.intended_use,
        population=rec.population,
        sdg_run=rec.sdg_run,
        ldn_run=rec.ldn_run,
        so3_run=rec.so3_run,
        warning_run=rec.warning_run,
        units=units,
        population_exposed=population,
        population_source=source[:300],
        job_id=None,
        links=[],
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(req)
    _event(req, "submit", actor.name, None, "")
    session.flush()
    return req


def triage_request(
    session: Session,
    request_id: int | str,
    actor: User,
    note: str = "",
    *,
    runs: Mapping[str, Any] | None = None,
    resolve_run: Callable[[str], Path] | None = None,
) -> InfoRequest:
    """``received`` -> ``triaged`` (a moderator has looked at it), linking the runs the
    brief will use (``runs``: see :func:`link_runs`; the audit note names them)."""
    require_role(actor, "moderator", action="triage requests")
    req = get_request(session, request_id)
    text = _note(note)
    if req.status not in TRANSITIONS["triage"][0]:
        _step(req, "triage", actor.name, text)  # raises, naming the allowed steps
    changed = link_runs(req, runs or {}, resolve_run=resolve_run)
    linked = "; ".join(f"{n} = {getattr(req, n)}" for n in changed)
    _step(
        req, "triage", actor.name, "; ".join(t for t in (text, linked and f"runs: {linked}") if t)
    )
    session.flush()
    return req


def accept_request(
    session: Session,
    request_id: int | str,
    actor: User,
    *,
    submit: Callable[[InfoRequest], str],
    note: str = "",
) -> InfoRequest:
    """``triaged`` -> ``in_progress``: start producing the brief.

    Parameters
    ----------
    submit : callable
        Starts the brief for the request and returns the job id: the API submits a
        ``brief`` job to the job manager (``landwatch.api.jobs.submit_job``), the CLI
        records a job it runs in its own process. Called only when the step is
        allowed; its errors (e.g. inputs the brief refuses) leave the request as it is.
    """
    require_role(actor, "moderator", action="accept requests")
    req = get_request(session, request_id)
    text = _note(note)
    if req.status not in TRANSITIONS["accept"][0]:
        _step(req, "accept", actor.name, text)  # raises, naming the allowed steps
    missing = missing_runs(req)
    if missing:
        need = " and ".join(" or ".join(g) for g in missing)
        raise InputError(
            f"cannot accept request {req.id}: a {req.topic} brief needs {need}, and the "
            "request links none; link the run when triaging (--sdg-run, --ldn-run, "
            "--so3-run, --warning-run), or reject the request."
        )
    job_id = submit(req)
    req.job_id = job_id
    _step(req, "accept", actor.name, f"brief job {job_id}" + (f": {text}" if text else ""))
    session.flush()
    return req


def _links(links: Sequence[str] | None) -> list[str]:
    errs = _Errors()
    if not links or isinstance(links, str):
        errs.add("links", "expected at least one link: an http(s) URL or a path on this service.")
        raise InfoRequestValidationError(errs.items)
    out = []
    for i, link in enumerate(list(links)[: MAX_LINKS + 1]):
        text = link.strip() if isinstance(link, str) else ""
        if i >= MAX_LINKS:
            errs.add("links", f"expected at most {MAX_LINKS} links.")
        elif not text or len(text) > LINK_MAX or not _LINK.fullmatch(text):
            errs.add(
                f"links[{i}]",
                "expected an http(s) URL (https://...) or a path on this service "
                "(/jobs/<id>/results/brief.pdf), without spaces.",
            )
        else:
            out.append(text)
    if errs.items:
        raise InfoRequestValidationError(errs.items)
    return out


def deliver_request(
    session: Session,
    request_id: int | str,
    actor: User,
    links: Sequence[str],
    note: str = "",
) -> InfoRequest:
    """``in_progress`` -> ``delivered`` by hand, with the links to what was delivered
    (http(s) URLs or paths on this service)."""
    require_role(actor, "moderator", action="deliver requests")
    req = get_request(session, request_id)
    checked = _links(links)
    _step(req, "deliver", actor.name, _note(note) or "delivered by hand")
    req.links = checked
    session.flush()
    return req


def close_request(
    session: Session, request_id: int | str, actor: User, note: str = ""
) -> InfoRequest:
    """``delivered`` -> ``closed``."""
    require_role(actor, "moderator", action="close requests")
    req = get_request(session, request_id)
    _step(req, "close", actor.name, _note(note))
    session.flush()
    return req


def reject_request(
    session: Session, request_id: int | str, actor: User, reason: str
) -> InfoRequest:
    """``received`` or ``triaged`` -> ``rejected``; the reason is required (the
    requester reads it)."""
    require_role(actor, "moderator", action="reject requests")
    req = get_request(session, request_id)
    why = _note(reason, "reason")
    if not why:
        raise InputError(
            f"rejecting request {req.id}: a reason is required; expected what the requester "
            "should know (--reason)."
        )
    _step(req, "reject", actor.name, why)
    session.flush()
    return req


# --------------------------------------------------------------------------- jobs


def result_links(job_id: str, folder: Path | None) -> list[str]:
    """Links (paths on the service) to the files of a brief job's results: ``brief.pdf``
    and ``brief.html`` first, then the others by name (at most :data:`MAX_LINKS`);
    ``/jobs/<id>/results`` when the folder is not known."""
    base = f"/jobs/{job_id}/results"
    names: list[str] = []
    if folder is not None and folder.is_dir():
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if path.is_file() and not any(p.startswith(".") for p in rel.parts):
                if rel.as_posix() != "job.json":
                    names.append(rel.as_posix())
    first = [n for n in MAIN_RESULTS if n in names]
    rest = [n for n in names if n not in first]
    links = [f"{base}/{n}" for n in [*first, *rest][:MAX_LINKS]]
    return links or [base]


def on_job_finished(session: Session, job: Job, folder: Path | None = None) -> InfoRequest | None:
    """Act on the end of a request's brief job (called by the job manager).

    The request in progress whose job is ``job`` moves to ``delivered`` with links to
    the job's results (``folder``: the job's output folder) when the job succeeded, or
    back to ``triaged`` (``job_failed``, with the job's message) when it failed or was
    dismissed, so a moderator can accept it again. Idempotent: a request not in
    progress, or a job still running, changes nothing.

    Returns
    -------
    InfoRequest or None
        The request changed, or None.
    """
    if job.status not in FINAL_STATUSES:
        return None
    req = session.scalar(
        select(InfoRequest).where(InfoRequest.job_id == job.id, InfoRequest.status == "in_progress")
    )
    if req is None:
        return None
    if job.status == "successful":
        req.links = result_links(job.id, folder)
        _step(req, "deliver", SYSTEM_ACTOR, f"brief job {job.id} finished")
    else:
        message = " ".join((job.message or job.status).split())[:500]
        _step(req, "job_failed", SYSTEM_ACTOR, f"brief job {job.id} {job.status}: {message}")
    session.flush()
    return req


def deliver_finished_jobs(session: Session, data_dir: Path) -> int:
    """:func:`on_job_finished` for every request in progress whose job has ended (jobs
    under ``data_dir``); the number of requests changed. Cheap when there is none."""
    rows = session.execute(
        select(Job)
        .join(InfoRequest, InfoRequest.job_id == Job.id)
        .where(InfoRequest.status == "in_progress", Job.status.in_(FINAL_STATUSES))
    ).scalars()
    changed = 0
    for job in list(rows):
        if on_job_finished(session, job, Path(data_dir) / job.output_dir) is not None:
            changed += 1
    return changed


def brief_title(req: InfoRequest, rules: PriorityRules | None = None) -> str:
    """Title of a request's brief: topic, area and request number (at most 120 chars)."""
    rules = rules or load_priority_rules()
    topic = rules.topics.get(req.topic, req.topic).split(" (")[0]
    where = req.admin_id or "requested area"
    return f"{topic}: {where} (request {req.id})"[:120]


def brief_inputs(
    req: InfoRequest, *, area_path: str | None = None, rules: PriorityRules | None = None
) -> dict[str, Any]:
    """Inputs of the ``brief`` process for a request (no personal data): topic, the
    admin unit or ``area_path`` (the request's polygon written to a GeoJSON file by the
    caller), the linked runs and a title."""
    inputs: dict[str, Any] = {"topic": req.topic, "title": brief_title(req, rules)}
    if req.admin_id is not None:
        inputs["admin_id"] = req.admin_id
    elif area_path is not None:
        inputs["area"] = area_path
    for name in RUN_FIELDS:
        value = getattr(req, name)
        if value:
            inputs[name] = value
    return inputs


def area_geojson(req: InfoRequest) -> str | None:
    """The request's polygon as a GeoJSON FeatureCollection (text), or None."""
    if req.area is None:
        return None
    feature = {
        "type": "Feature",
        "properties": {"request": req.id, "name": f"request {req.id}"},
        "geometry": req.area,
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]})


# --------------------------------------------------------------------------- queue


@dataclass(frozen=True)
class QueueItem:
    request: InfoRequest
    priority: Priority


def request_priority(
    session: Session,
    req: InfoRequest,
    *,
    today: dt.date | None = None,
    rules: PriorityRules | None = None,
    levels: Mapping[str, tuple[str, str]] | None = None,
) -> Priority:
    """The priority of a request now: its deadline and the current alerts of its area
    (``levels``: :func:`~landwatch.intake.priority.current_alert_levels`, read when not
    given)."""
    rules = rules or load_priority_rules()
    if levels is None:
        levels = current_alert_levels(session, rules)
    level, detail = area_alert_level(req.units or [], levels, rules)
    facts = RequestFacts(
        deadline=req.deadline,
        requester_type=req.requester_type,
        intended_use=req.intended_use,
        alert_level=level,
        alert_detail=detail,
        population=req.population_exposed,
        population_source=req.population_source,
    )
    return priority_score(facts, today=today or dt.date.today(), rules=rules)


def queue(
    session: Session,
    *,
    actor: User | None = None,
    statuses: Sequence[str] | None = OPEN_STATUSES,
    today: dt.date | None = None,
    rules: PriorityRules | None = None,
) -> list[QueueItem]:
    """Requests ordered by priority (highest score first; ties: earlier deadline, then
    earlier received, then smaller id).

    Parameters
    ----------
    actor : User, optional
        When given and not a moderator, only their own requests.
    statuses : sequence of str or None
        Default: the open ones (received, triaged, in_progress); None: every status.
    """
    rules = rules or load_priority_rules()
    q = select(InfoRequest)
    if statuses is not None:
        bad = sorted(set(statuses) - set(REQUEST_STATUSES))
        if bad:
            raise InputError(
                f"status {bad[0]!r}: expected one of {', '.join(REQUEST_STATUSES)} (or all)."
            )
        q = q.where(InfoRequest.status.in_(list(statuses)))
    if actor is not None and not has_role(actor, "moderator"):
        q = q.where(InfoRequest.created_by == actor.name)
    levels = current_alert_levels(session, rules)
    day = today or dt.date.today()
    items = [
        QueueItem(r, request_priority(session, r, today=day, rules=rules, levels=levels))
        for r in session.scalars(q)
    ]
    items.sort(
        key=lambda it: priority_order_key(
            it.priority.score, it.request.deadline, as_utc(it.request.created_at), it.request.id
        )
    )
    return items


def request_dict(
    req: InfoRequest,
    priority: Priority | None = None,
    *,
    events: bool = False,
    include_email: bool = True,
) -> dict[str, Any]:
    """The request as JSON-ready data: fields, status, job, links, ``allowed_actions``,
    with ``priority`` (score, tier, breakdown) and with ``events`` the audit trail."""
    out: dict[str, Any] = {
        "id": req.id,
        "status": req.status,
        "requester": req.requester,
        "organization": req.organization,
        "requester_type": req.requester_type,
    }
    if include_email:
        out["email"] = req.email
    out |= {
        "country": req.country,
        "topic": req.topic,
        "admin_id": req.admin_id,
        "area": req.area,
        "question": req.question,
        "deadline": req.deadline.isoformat(),
        "intended_use": req.intended_use,
        "population": req.population,
        "sdg_run": req.sdg_run,
        "ldn_run": req.ldn_run,
        "so3_run": req.so3_run,
        "warning_run": req.warning_run,
        "units": list(req.units or []),
        "population_exposed": req.population_exposed,
        "population_source": req.population_source,
        "job_id": req.job_id,
        "links": list(req.links or []),
        "created_by": req.created_by,
        "received": as_utc(req.created_at).isoformat(),
        "updated": as_utc(req.updated_at).isoformat(),
        "allowed_actions": allowed_actions(req.status),
    }
    if priority is not None:
        out["priority"] = priority.to_dict()
    if events:
        out["events"] = [
            {
                "action": e.action,
                "actor": e.actor,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "note": e.note,
                "at": as_utc(e.created_at).isoformat(),
            }
            for e in req.events
        ]
    return out
