"""The web service: ``create_app()`` builds the FastAPI application.

Routers are thin (``landwatch/api/routers``): they parse, check the caller's role and
call the library or a workflow. Errors of the library map in one table
(:data:`ERROR_STATUS`) to 4xx answers with a JSON body ``{"detail": ..., "type": ...}``;
only real bugs are 5xx. Requests are limited in size and rate; logs never hold tokens.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import landwatch
from landwatch.api.deps import Unauthenticated
from landwatch.api.settings import Settings
from landwatch.errors import (
    DataSourceError,
    InputError,
    LandwatchError,
    NotFoundError,
    PermissionDenied,
)
from landwatch.store import init_db

__all__ = ["ERROR_STATUS", "ROUTER_MODULES", "create_app"]

log = logging.getLogger("landwatch.api")

#: Library error -> HTTP status (first match in order wins).
ERROR_STATUS: list[tuple[type[Exception], int]] = [
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFoundError, 404),
    (InputError, 422),
    (DataSourceError, 422),
    (LandwatchError, 400),
]

#: Router modules, each with a module-level ``router`` (an APIRouter).
ROUTER_MODULES: tuple[str, ...] = (
    "landwatch.api.routers.health",
    "landwatch.api.routers.processes",
    "landwatch.api.routers.layers",
    "landwatch.api.routers.alerts",
    "landwatch.api.routers.practices",
    "landwatch.api.routers.observations",
    "landwatch.api.routers.requests",
    "landwatch.api.routers.dashboard",
)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _RateLimiter:
    """Sliding one-minute window per key (token prefix or client address)."""

    def __init__(self, per_minute: int, writes_per_minute: int) -> None:
        self.limits = {"all": per_minute, "write": writes_per_minute}
        self.hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def check(self, key: str, write: bool, now: float) -> float | None:
        """None when allowed, else seconds to wait."""
        for kind in ("all", "write") if write else ("all",):
            q = self.hits[(key, kind)]
            while q and now - q[0] >= 60.0:
                q.popleft()
            if len(q) >= self.limits[kind]:
                return max(0.0, 60.0 - (now - q[0]))
        for kind in ("all", "write") if write else ("all",):
            self.hits[(key, kind)].append(now)
        return None


def _client_key(headers: Headers, client: tuple[str, int] | None) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and len(auth) > 15:
        return "token:" + auth[7:15]  # the token's prefix, never the token
    return "ip:" + (client[0] if client else "unknown")


class LimitsMiddleware:
    """Request size and rate limits, and one log line per request.

    A pure ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs every response through an extra task and memory
    stream, a fixed cost on each request that showed in the load benchmark.
    Checks: Content-Length over ``max_upload_bytes`` -> 413; a write without
    Content-Length (chunked) -> 411; over the per-minute rate (all requests, and
    writes apart) -> 429 with Retry-After. Static files are not rate-limited. The log
    line holds method, path (no query string: it may carry search words or ids),
    status and time; never headers or tokens.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, limiter: _RateLimiter) -> None:
        self.app = app
        self.max_bytes = settings.max_upload_bytes
        self.limiter = limiter

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        headers = Headers(scope=scope)
        method = scope["method"]
        length = headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                return JSONResponse(
                    status_code=400,
                    content={"detail": "Content-Length is not a number", "type": "BadRequest"},
                )
            if too_big:
                return JSONResponse(
                    status_code=413,
                    content={
                        "detail": f"request body of {length} bytes is over the limit of "
                        f"{self.max_bytes} bytes; send a smaller file or raise "
                        "LANDWATCH_MAX_UPLOAD_BYTES.",
                        "type": "PayloadTooLarge",
                    },
                )
        elif method in WRITE_METHODS and headers.get("transfer-encoding"):
            return JSONResponse(
                status_code=411,
                content={"detail": "send a Content-Length header", "type": "LengthRequired"},
            )
        if not scope["path"].startswith("/static/"):
            wait = self.limiter.check(
                _client_key(headers, scope.get("client")),
                method in WRITE_METHODS,
                time.monotonic(),
            )
            if wait is not None:
                return JSONResponse(
                    status_code=429,
                    content={
                        "detail": f"rate limit reached; retry in {wait:.0f} s",
                        "type": "TooManyRequests",
                    },
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        refusal = self._refusal(scope)
        status = 500  # logged as such if the application raises
        try:
            if refusal is not None:
                status = refusal.status_code
                await refusal(scope, receive, send)
                return

            async def send_and_note(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            await self.app(scope, receive, send_and_note)
        finally:
            log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                scope["path"],
                status,
                1000 * (time.perf_counter() - t0),
            )


def _error_body(exc: BaseException, status: int) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"detail": str(exc), "type": type(exc).__name__}
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application: database migrated on start, job manager started (jobs left
    running by a killed server are marked failed), routers, limits, CORS."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        app.state.engine = init_db(settings.db_url())
        starters = getattr(app.state, "on_start", [])
        for start in starters:
            start(app)
        try:
            yield
        finally:
            for stop in getattr(app.state, "on_stop", []):
                stop(app)
            app.state.engine.dispose()

    app = FastAPI(
        title="landwatch",
        version=landwatch.__version__,
        description="Land degradation, LDN and drought monitoring: processes (OGC API - "
        "Processes style), map layers, alerts, observations and the SLM knowledge base.",
        lifespan=lifespan,
        docs_url=None,  # served below from vendored files: the default loads from a CDN
        redoc_url=None,
    )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> Response:
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="landwatch API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/leaflet/images/marker-icon.png",
        )

    app.state.settings = settings
    app.state.on_start = []
    app.state.on_stop = []
    app.state.limiter = _RateLimiter(
        settings.rate_limit_per_minute, settings.write_rate_limit_per_minute
    )

    for exc_type, status in ERROR_STATUS:

        def handler(_request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return _error_body(exc, status)

        app.add_exception_handler(exc_type, handler)

    @app.exception_handler(RequestValidationError)
    async def validation_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "message": e.get("msg"),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return JSONResponse(
            status_code=422,
            content={"detail": detail, "type": "RequestValidationError", "errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": str(exc.detail), "type": "HTTPException"},
            headers=getattr(exc, "headers", None),
        )

    app.add_middleware(LimitsMiddleware, settings=settings, limiter=app.state.limiter)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )

    for name in ROUTER_MODULES:
        module: Any = importlib.import_module(name)
        if hasattr(module, "router_setup"):  # e.g. the job manager, static files
            module.router_setup(app)
        app.include_router(module.router)
    return app
