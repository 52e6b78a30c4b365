"""The dashboard: server-rendered pages (Jinja2, autoescaped) with small vanilla JS.

Pages share their paths with the JSON API where docs/api.md says so (``/practices``,
``/practices/{uuid}``, ``/jobs``, ``/alerts``, ``/requests``): a browser that asks for HTML (its
``Accept`` header prefers ``text/html`` to ``application/json``) gets the page, every
other client the JSON. :class:`HtmlPagesMiddleware` does this by routing such requests
to the page routes under :data:`PAGE_PREFIX`, whatever the order the routers were
included in; the scripts of the pages always send ``Accept: application/json``.

The map, jobs and alerts pages call the JSON API from the browser; the knowledge-base
search and practice pages are rendered here from the same library calls the API makes
(``search_practices``, ``visible_record``), so they work without JavaScript. Leaflet
and Chart.js are vendored under ``static/vendor/`` (no CDN): the dashboard works
offline. Writes carry the token the user typed into the nav's token box, kept in the
browser's ``sessionStorage`` (never in a cookie, so pages need no CSRF protection).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import landwatch
from landwatch.api.deps import SessionDep
from landwatch.errors import InputError, NotFoundError
from landwatch.knowledge.records import CODE_LIST_FIELDS

__all__ = ["PAGE_PREFIX", "HtmlPagesMiddleware", "prefers_html", "router", "router_setup"]

HERE = Path(__file__).resolve().parent.parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

#: Internal prefix of the page routes (browsers reach them at the public paths).
PAGE_PREFIX = "/_dashboard"

#: Public paths of the pages (after the application's root path).
PAGE_PATH = re.compile(
    r"^/(?:|practices|practices/new|practices/[0-9A-Fa-f-]{6,36}|observations/new|jobs|alerts"
    r"|requests)$"
)
#: Paths where a page and a JSON resource share the URL (responses vary by Accept).
SHARED_PATH = re.compile(r"^/(?:practices|practices/[0-9A-Fa-f-]{6,36}|jobs|alerts|requests)$")

#: Content-Security-Policy of the pages: everything from this server, nothing else.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

NAV: tuple[tuple[str, str, str], ...] = (
    ("map", "/", "Map"),
    ("practices", "/practices", "Practices"),
    ("practice_new", "/practices/new", "Add practice"),
    ("observation_new", "/observations/new", "Observe"),
    ("jobs", "/jobs", "Jobs"),
    ("alerts", "/alerts", "Alerts"),
    ("requests", "/requests", "Requests"),
)

FACET_TITLES: dict[str, str] = {
    "land_use": "Land use",
    "degradation_types": "Degradation type",
    "climate_zones": "Climate zone",
    "aridity": "Aridity",
    "goals": "Goal",
    "measure_types": "Measure type",
}
PAGE_SIZE = 20


# --------------------------------------------------------------------------- negotiation


def prefers_html(accept: str) -> bool:
    """True when an ``Accept`` header asks for HTML at least as much as for JSON.

    Browsers navigating to a page send ``text/html,...,*/*;q=0.8``; ``fetch``, curl,
    httpx and API clients send ``*/*`` or ``application/json``, which stay JSON.
    """
    html_q: float | None = None
    json_q: float | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in ("text/html", "application/xhtml+xml"):
            html_q = max(html_q or 0.0, q)
        elif media == "application/json":
            json_q = max(json_q or 0.0, q)
    return html_q is not None and html_q > 0 and (json_q is None or html_q >= json_q)


class HtmlPagesMiddleware:
    """Send browsers' page requests to the page routes; mark shared URLs ``Vary: Accept``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        route = path[len(root) :] if root and path.startswith(root) else path
        if not PAGE_PATH.match(route):
            await self.app(scope, receive, send)
            return
        accept = ""
        for key, value in scope.get("headers", []):
            if key == b"accept":
                accept = value.decode("latin-1")
                break
        if prefers_html(accept):
            new_path = root + PAGE_PREFIX + route
            scope = dict(scope, path=new_path, raw_path=new_path.encode())
        if not SHARED_PATH.match(route):
            await self.app(scope, receive, send)
            return

        async def send_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"vary", b"Accept"))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_vary)


def router_setup(app: FastAPI) -> None:
    """Mount ``/static`` and let browsers reach the pages at their public paths."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(HtmlPagesMiddleware)


# --------------------------------------------------------------------------- rendering

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _safe_url(url: Any) -> str | None:
    """``url`` when it is an http(s) link, else None (never a javascript: link)."""
    text = str(url or "").strip()
    return text if re.match(r"^https?://", text, re.IGNORECASE) else None


def _doi_url(doi: Any) -> str | None:
    text = str(doi or "").strip()
    if not text:
        return None
    text = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", text, flags=re.IGNORECASE)
    return "https://doi.org/" + text


_env.filters["safe_url"] = _safe_url
_env.filters["doi_url"] = _doi_url


def _render(
    request: Request, template: str, page: str, title: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    root = request.scope.get("root_path", "")

    def static(path: str) -> str:
        return f"{root}/static/{path}?v={landwatch.__version__}"

    html = _env.get_template(template).render(
        root=root,
        static=static,
        page=page,
        title=title,
        nav=NAV,
        version=landwatch.__version__,
        **context,
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )


def _vocab_terms(list_name: str) -> list[tuple[str, str]]:
    from landwatch.knowledge.vocabulary import vocabulary

    return [(t.code, t.name) for t in vocabulary().terms(list_name)]


def _vocab_name(list_name: str, code: str) -> str:
    from landwatch.knowledge.vocabulary import vocabulary

    try:
        return vocabulary().name(list_name, code)
    except NotFoundError:
        return code


# --------------------------------------------------------------------------- pages

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
@router.get(PAGE_PREFIX + "/", response_class=HTMLResponse)
def map_page(request: Request) -> HTMLResponse:
    """The map: layers by group, legend, time slider, values and time series on click,
    areas by admin unit, current alerts."""
    return _render(request, "map.html", "map", "Map")


@router.get(PAGE_PREFIX + "/practices", response_class=HTMLResponse)
def practices_page(
    request: Request,
    session: SessionDep,
    q: str = "",
    land_use: Annotated[list[str] | None, Query()] = None,
    degradation_types: Annotated[list[str] | None, Query()] = None,
    climate_zones: Annotated[list[str] | None, Query()] = None,
    aridity: Annotated[list[str] | None, Query()] = None,
    goals: Annotated[list[str] | None, Query()] = None,
    measure_types: Annotated[list[str] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Search the knowledge base (approved records) with facets."""
    from landwatch.knowledge.practices import search_practices

    given: dict[str, list[str]] = {
        "land_use": land_use or [],
        "degradation_types": degradation_types or [],
        "climate_zones": climate_zones or [],
        "aridity": aridity or [],
        "goals": goals or [],
        "measure_types": measure_types or [],
    }
    error = None
    try:
        result = search_practices(
            session,
            q.strip(),
            **{k: v or None for k, v in given.items()},  # type: ignore[arg-type]
            limit=PAGE_SIZE,
            offset=offset,
        ).to_dict()
    except InputError as exc:
        error = str(exc)
        result = search_practices(session, "", limit=PAGE_SIZE).to_dict()
        given = {k: [] for k in given}
    selected = {facet: set(codes) for facet, codes in result["filters"].items()}
    facets = [
        {
            "name": facet,
            "title": FACET_TITLES.get(facet, facet),
            "options": [
                {
                    "code": code,
                    "name": _vocab_name(facet, code),
                    "count": count,
                    "checked": code in selected.get(facet, set()),
                }
                for code, count in counts.items()
                if count > 0 or code in selected.get(facet, set())
            ],
        }
        for facet, counts in result["facets"].items()
    ]
    params: list[tuple[str, str]] = [("q", q)] if q else []
    for facet, codes in result["filters"].items():
        params += [(facet, c) for c in codes]

    def page_url(new_offset: int) -> str:
        return "/practices?" + urlencode([*params, ("offset", str(new_offset))])

    total, limit = result["total"], result["limit"]
    prev_url = page_url(max(0, offset - limit)) if offset > 0 else None
    next_url = page_url(offset + limit) if offset + limit < total else None
    return _render(
        request,
        "practices.html",
        "practices",
        "SLM practices",
        status_code=422 if error else 200,
        q=q,
        result=result,
        facets=facets,
        error=error,
        any_practice=result["total"] > 0 or bool(q or result["filters"]),
        prev_url=prev_url,
        next_url=next_url,
        land_use_names=dict(_vocab_terms("land_use")),
    )


@router.get(PAGE_PREFIX + "/practices/new", response_class=HTMLResponse)
def practice_new_page(request: Request) -> HTMLResponse:
    """Form for a new SLM practice record (POST /practices, contributor token)."""
    from landwatch.knowledge.vocabulary import LISTS

    # every list a contributor fills in (the status is set by the system)
    lists = {name: _vocab_terms(name) for name in LISTS if name != "statuses"}
    return _render(request, "practice_new.html", "practice_new", "Add an SLM practice", lists=lists)


@router.get(PAGE_PREFIX + "/practices/{uuid}", response_class=HTMLResponse)
def practice_page(request: Request, session: SessionDep, uuid: str) -> HTMLResponse:
    """One approved practice record."""
    from landwatch.knowledge.practices import visible_record

    try:
        record = visible_record(session, uuid)
    except (NotFoundError, InputError) as exc:
        return _render(
            request,
            "error.html",
            "practices",
            "Practice not found",
            status_code=404,
            message=str(exc),
            back=("/practices", "Search the knowledge base"),
        )
    labels = {
        facet: [(code, _vocab_name(facet, code)) for code in record.get(facet) or []]
        for facet in CODE_LIST_FIELDS
    }
    impacts = record.get("impacts") or {}
    impact_rows = {
        kind: [
            {
                "name": _vocab_name(list_name, str(i["impact"])),
                "rating": int(i["rating"]),
            }
            for i in impacts.get(kind) or []
        ]
        for kind, list_name in (("on_site", "impacts_on_site"), ("off_site", "off_site_impacts"))
    }
    adoption = record.get("adoption") or {}
    return _render(
        request,
        "practice.html",
        "practices",
        str(record["name"]),
        record=record,
        labels=labels,
        impacts=impact_rows,
        adoption_level=_vocab_name("adoption", str(adoption.get("level") or "unknown")),
        costs=record.get("costs") or {},
        location=record.get("location") or {},
    )


@router.get(PAGE_PREFIX + "/observations/new", response_class=HTMLResponse)
def observation_new_page(request: Request) -> HTMLResponse:
    """Form for a field observation (POST /observations, contributor token)."""
    from landwatch.observations.records import (
        CATEGORIES,
        IMPACT_SEVERITIES,
        LAND_STATES,
        OBSERVER_ROLES,
    )

    return _render(
        request,
        "observation_new.html",
        "observation_new",
        "New field observation",
        today=dt.datetime.now(dt.UTC).date().isoformat(),
        observer_roles=_labelled(OBSERVER_ROLES),
        categories=[(c.code, c.label, c.description) for c in CATEGORIES.values()],
        land_states=_labelled(LAND_STATES),
        impact_severities=_labelled(IMPACT_SEVERITIES),
    )


@router.get(PAGE_PREFIX + "/jobs", response_class=HTMLResponse)
def jobs_page(request: Request) -> HTMLResponse:
    """Launch a process and follow its job (progress bar, log, results)."""
    return _render(request, "jobs.html", "jobs", "Jobs")


@router.get(PAGE_PREFIX + "/alerts", response_class=HTMLResponse)
def alerts_page(request: Request) -> HTMLResponse:
    """Current drought alerts with their history, CAP messages and the Atom feed."""
    return _render(request, "alerts.html", "alerts", "Alerts")


@router.get(PAGE_PREFIX + "/requests", response_class=HTMLResponse)
def requests_page(request: Request) -> HTMLResponse:
    """Ask for an information product; the queue by priority; moderators' next steps."""
    from landwatch.intake.priority import load_priority_rules
    from landwatch.store.requests import REQUEST_STATUSES

    rules = load_priority_rules()
    return _render(
        request,
        "requests.html",
        "requests",
        "Requests for information",
        today=dt.datetime.now(dt.UTC).date().isoformat(),
        topics=list(rules.topics.items()),
        requester_types=list(rules.requester_types.items()),
        intended_uses=list(rules.intended_uses.items()),
        statuses=REQUEST_STATUSES,
    )


def _labelled(codes: Sequence[str] | Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(c, c.replace("_", " ").capitalize()) for c in codes]
