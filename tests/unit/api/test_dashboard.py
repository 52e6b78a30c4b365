"""The dashboard's pages without a browser: negotiation with the JSON API, rendering,
escaping, headers, vendored files. The browser scenarios are in tests/browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from landwatch.api.routers import dashboard
from landwatch.api.routers.dashboard import prefers_html
from landwatch.store import session_scope

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PAGES = ["/", "/practices", "/practices/new", "/observations/new", "/jobs", "/alerts"]
STATIC = Path(dashboard.__file__).resolve().parent.parent / "static"
TEMPLATES = Path(dashboard.__file__).resolve().parent.parent / "templates"


@pytest.fixture()
def seeded(client: TestClient) -> TestClient:
    from landwatch.knowledge.practices import load_builtin_practices

    with session_scope(client.app.state.engine) as s:  # type: ignore[attr-defined]
        load_builtin_practices(s)
    return client


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER["Accept"], True),
        ("text/html", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0.9, application/json;q=0.9", True),
        ("text/html;q=0", False),
        ("text/html;q=abc", False),
    ],
)
def test_prefers_html(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_browsers_with_csp_and_no_foreign_urls(client, path) -> None:
    r = client.get(path, headers=BROWSER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert '<nav class="nav"' in r.text and 'id="token-box"' in r.text
    # everything from this server: no CDN, no inline script
    for src in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert not re.match(r"^(https?:)?//", src), src
    assert "<script>" not in r.text


def test_shared_urls_stay_json_for_api_clients(client) -> None:
    for path in ("/practices", "/jobs", "/alerts"):
        r = client.get(path)
        assert r.headers["content-type"].startswith("application/json"), path
        assert "Accept" in r.headers.get("vary", ""), path
        page = client.get(path, headers=BROWSER)
        assert page.headers["content-type"].startswith("text/html"), path
        assert "Accept" in page.headers.get("vary", ""), path


def test_export_and_sub_resources_are_not_taken_by_pages(seeded) -> None:
    r = seeded.get("/practices/export?format=json", headers=BROWSER)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    uuid = seeded.get("/practices?q=zai").json()["hits"][0]["uuid"]
    r = seeded.get(f"/practices/{uuid}/versions", headers=BROWSER)
    assert r.headers["content-type"].startswith("application/json")


def test_empty_knowledge_base_says_how_to_fill_it(client) -> None:
    r = client.get("/practices", headers=BROWSER)
    assert "The knowledge base is empty" in r.text
    assert "landwatch practices seed" in r.text


def test_search_page_finds_zai_with_facets_and_links(seeded) -> None:
    r = seeded.get("/practices?q=zai", headers=BROWSER)
    assert r.status_code == 200
    hits = re.findall(r'class="hit-name" href="(/practices/[0-9a-f-]{36})">([^<]+)<', r.text)
    assert hits and "Zai" in hits[0][1]
    assert 'name="land_use"' in r.text  # facets
    r = seeded.get("/practices?land_use=grazing_land", headers=BROWSER)
    assert 'value="grazing_land" checked' in r.text


def test_search_page_escapes_the_query_and_reports_bad_facets(seeded) -> None:
    evil = '<script>alert("x")</script>'
    r = seeded.get("/practices", params={"q": evil}, headers=BROWSER)
    assert evil not in r.text
    assert "&lt;script&gt;" in r.text
    r = seeded.get("/practices?land_use=moon", headers=BROWSER)
    assert r.status_code == 422
    assert "land_use filter" in r.text


def test_practice_page_renders_the_record(seeded) -> None:
    hit = seeded.get("/practices?q=zai").json()["hits"][0]
    r = seeded.get(f"/practices/{hit['uuid']}", headers=BROWSER)
    assert r.status_code == 200
    page = r.text
    assert f'id="practice-name">{hit["name"]}<' in page
    assert 'id="practice-status">approved<' in page
    for heading in ("Description", "Land use", "Degradation types", "Climate zones", "Goals"):
        assert heading in page
    assert "Impacts" in page and "Sources" in page
    record = hit["record"]
    urls = [s["url"] for s in record["sources"] if s.get("url")]
    assert all(f'href="{u}"' in page for u in urls)
    # a unique prefix is enough, as in the API
    assert seeded.get(f"/practices/{hit['uuid'][:8]}", headers=BROWSER).status_code == 200


def test_practice_page_of_an_unknown_record_is_a_404_page(client) -> None:
    r = client.get("/practices/0f8fad5b-d9cb-469f-a165-70867728950e", headers=BROWSER)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "does not exist" in r.text


def test_forms_offer_the_vocabularies(client) -> None:
    page = client.get("/observations/new", headers=BROWSER).text
    for name in ("lon", "lat", "observed_on", "observer_role", "category"):
        assert f'data-field="{name}"' in page and f'data-error-for="{name}"' in page
    assert 'value="crop_failure"' in page and 'value="farmer"' in page
    page = client.get("/practices/new", headers=BROWSER).text
    for name in ("name", "summary", "description", "land_use", "sources", "costs.currency"):
        assert f'data-error-for="{name}"' in page
    assert 'value="Wt"' in page and 'value="CC-BY-4.0"' in page


def test_source_links_only_http() -> None:
    assert dashboard._safe_url("https://example.org/a") == "https://example.org/a"
    assert dashboard._safe_url("javascript:alert(1)") is None
    assert dashboard._safe_url(None) is None
    assert dashboard._doi_url("doi:10.1/abc") == "https://doi.org/10.1/abc"
    assert dashboard._doi_url("https://doi.org/10.1/abc") == "https://doi.org/10.1/abc"


def test_templates_autoescape() -> None:
    assert dashboard._env.autoescape is True


def test_vendored_libraries_are_served_with_their_licences(client) -> None:
    for path in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/leaflet.css",
        "vendor/leaflet/images/layers.png",
        "vendor/chartjs/chart.umd.min.js",
    ):
        r = client.get("/static/" + path)
        assert r.status_code == 200, path
    for folder, licence in (("leaflet", "LICENSE"), ("chartjs", "LICENSE.md")):
        assert (STATIC / "vendor" / folder / licence).stat().st_size > 500
        version = (STATIC / "vendor" / folder / "VERSION").read_text()
        assert "npm package" in version and "version" in version


def test_own_scripts_and_templates_name_no_other_host() -> None:
    files = [*(STATIC / "js").glob("*.js"), *(STATIC / "css").glob("*.css")]
    files += list(TEMPLATES.glob("*.html"))
    for f in files:
        text = f.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), f
        assert "innerHTML" not in text, f  # text goes in as text
