"""App core: landing, health, error mapping, auth, limits."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.testclient import TestClient

from landwatch.api import Settings, create_app
from landwatch.api.deps import require
from landwatch.errors import InputError, NotFoundError


def test_landing_conformance_health(client: TestClient) -> None:
    r = client.get("/api")
    assert r.status_code == 200
    rels = {link["rel"] for link in r.json()["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/processes" in rels
    assert "conformsTo" in client.get("/conformance").json()
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/openapi.json").status_code == 200


def _app_with_probe(settings: Settings) -> TestClient:
    app = create_app(settings)
    probe = APIRouter()

    @probe.get("/probe/input")
    def bad_input() -> None:
        raise InputError("ndvi: expected 0-1, got 0-10000. Divide by 10000.")

    @probe.get("/probe/missing")
    def missing() -> None:
        raise NotFoundError("practice 'abc' does not exist")

    @probe.post("/probe/write")
    def write(user=__import__("fastapi").Depends(require("moderator", "write probes"))) -> dict:  # noqa: B008
        return {"by": user.name}

    app.include_router(probe)
    return TestClient(app)


def test_errors_map_to_4xx_with_json(api_settings: Settings, tokens: dict[str, str]) -> None:
    with _app_with_probe(api_settings) as c:
        r = c.get("/probe/input")
        assert r.status_code == 422
        assert r.json() == {
            "detail": "ndvi: expected 0-1, got 0-10000. Divide by 10000.",
            "type": "InputError",
        }
        assert c.get("/probe/missing").status_code == 404
        assert c.get("/no/such/route").json()["type"] == "HTTPException"
        # auth: none -> 401, bad token -> 401, low role -> 403, right role -> 200
        r = c.post("/probe/write")
        assert r.status_code == 401 and "Bearer" in r.json()["detail"]
        assert (
            c.post("/probe/write", headers={"Authorization": "Bearer lw_nope"}).status_code == 401
        )
        r = c.post("/probe/write", headers={"Authorization": f"Bearer {tokens['contributor']}"})
        assert r.status_code == 403 and "moderator" in r.json()["detail"]
        r = c.post("/probe/write", headers={"Authorization": f"Bearer {tokens['moderator']}"})
        assert r.status_code == 200 and r.json() == {"by": "mona"}


def test_body_size_and_rate_limits(tmp_path: Path) -> None:
    s = Settings(
        data_dir=tmp_path / "d",
        database_url=f"sqlite:///{tmp_path}/db.sqlite",
        max_upload_bytes=2048,
        rate_limit_per_minute=5,
    )
    with TestClient(create_app(s)) as c:
        r = c.post("/probe", content=b"x" * 4096, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "LANDWATCH_MAX_UPLOAD_BYTES" in r.json()["detail"]
        codes = [c.get("/health").status_code for _ in range(6)]
        assert codes[:4] == [200] * 4 and codes[-1] == 429
        r = c.get("/health")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d", database_url=f"sqlite:///{tmp_path}/db.sqlite",
                 cors_origins=["https://maps.example.org"])  # fmt: skip
    with TestClient(create_app(s)) as c:
        ok = c.get("/health", headers={"Origin": "https://maps.example.org"})
        assert ok.headers.get("access-control-allow-origin") == "https://maps.example.org"
        other = c.get("/health", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers


def test_docs__swagger_ui_is_served_from_vendored_files(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/swagger-ui/swagger-ui.css").status_code == 200
