"""Concurrent writes on SQLite: every one lands (none fails with "database is locked")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from landwatch.api import Settings, create_app


def test_concurrent_observation_posts_all_succeed(
    api_settings: Settings, tokens: dict[str, str]
) -> None:
    settings = api_settings.model_copy(
        update={"rate_limit_per_minute": 10**6, "write_rate_limit_per_minute": 10**6}
    )
    body = {
        "lon": 37.3,
        "lat": -1.4,
        "observed_on": "2026-10-15",
        "observer_role": "farmer",
        "category": "crop_failure",
        "impact_severity": "moderate",
        "description": "Maize wilted before tasselling.",
        "language": "en",
    }
    headers = {"Authorization": f"Bearer {tokens['contributor']}"}
    with TestClient(create_app(settings)) as c:

        def post(i: int) -> int:
            return c.post(
                "/observations", json=body | {"lon": 37.3 + i * 1e-4}, headers=headers
            ).status_code

        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(post, range(120)))
        assert codes.count(201) == 120, sorted(set(codes))
        mod = {"Authorization": f"Bearer {tokens['moderator']}"}
        listed = c.get("/observations", headers=mod, params={"status": "submitted"}).json()
        assert len(listed["features"]) == 120


def test_concurrent_token_reads_all_succeed(
    api_settings: Settings, tokens: dict[str, str], monkeypatch
) -> None:
    """Every GET with a token records its use (resolution 0 s): concurrent reads that
    each try to write the timestamp must not fail with "database is locked"."""
    import landwatch.store.auth as auth

    monkeypatch.setattr(auth, "LAST_USED_RESOLUTION_S", 0.0)
    settings = api_settings.model_copy(update={"rate_limit_per_minute": 10**6})
    with TestClient(create_app(settings)) as c:

        def get(i: int) -> int:
            role = ("viewer", "contributor", "moderator", "admin")[i % 4]
            return c.get(
                "/users/me", headers={"Authorization": f"Bearer {tokens[role]}"}
            ).status_code

        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(get, range(200)))
        assert codes.count(200) == 200, sorted(set(codes))
