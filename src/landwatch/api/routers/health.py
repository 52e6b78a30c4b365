"""Landing page, conformance and health (OGC API - Common / Processes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

import landwatch
from landwatch.api.deps import SessionDep

router = APIRouter(tags=["service"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
]


@router.get("/api", summary="Landing page (links to the API's resources)")
def landing(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "title": "landwatch",
        "description": "Land degradation, LDN and drought monitoring service",
        "version": landwatch.__version__,
        "links": [
            {"rel": "self", "href": f"{base}/api", "type": "application/json"},
            {
                "rel": "service-desc",
                "href": f"{base}/openapi.json",
                "type": "application/vnd.oai.openapi+json;version=3.0",
            },
            {"rel": "service-doc", "href": f"{base}/docs", "type": "text/html"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                "href": f"{base}/conformance",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
                "href": f"{base}/processes",
            },
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/job-list", "href": f"{base}/jobs"},
            {"rel": "data", "href": f"{base}/layers"},
            {"rel": "alternate", "href": f"{base}/", "type": "text/html", "title": "dashboard"},
        ],
    }


@router.get("/conformance", summary="Conformance classes")
def conformance() -> dict[str, list[str]]:
    return {"conformsTo": CONFORMANCE}


@router.get("/health", summary="Liveness and database check")
def health(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": landwatch.__version__}
