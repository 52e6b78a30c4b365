"""Knowledge-base routes: search with facets, read, submit, edit, review, export, match,
and /users/me, through a real app on a temporary SQLite database."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from landwatch.api import Settings, create_app
from landwatch.api.routers.practices import EXAMPLE_RECORD, resolve_run
from landwatch.errors import NotFoundError
from landwatch.knowledge.practices import import_practices, load_builtin_practices
from landwatch.store import init_db, session_scope
from landwatch.store.auth import create_user, get_user, issue_token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def record(**changes: Any) -> dict[str, Any]:
    """The documented example record (so the OpenAPI example is known to be valid)."""
    out = copy.deepcopy(EXAMPLE_RECORD)
    out.update(copy.deepcopy(changes))
    return out


@pytest.fixture()
def seeded(api_settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    """A client whose database holds the curated (approved) practices."""
    engine = init_db(api_settings.db_url())
    with session_scope(engine) as s:
        assert load_builtin_practices(s) > 20
    engine.dispose()
    with TestClient(create_app(api_settings)) as c:
        yield c


def _another_contributor(settings: Settings, name: str = "cleo") -> str:
    engine = init_db(settings.db_url())
    with session_scope(engine) as s:
        create_user(s, name, "contributor")
        token = issue_token(s, name)
    engine.dispose()
    return token


def _submit(client: TestClient, token: str, **changes: Any) -> dict[str, Any]:
    r = client.post("/practices", json=record(**changes), headers=auth(token))
    assert r.status_code == 201, r.text
    return dict(r.json())


# --------------------------------------------------------------------------- search


def test_search__keyword_ranks_name_matches_first(seeded: TestClient) -> None:
    r = seeded.get("/practices", params={"q": "rotational grazing", "limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "approved" and body["total"] >= 1 and len(body["hits"]) <= 3
    top = body["hits"][0]
    assert "grazing" in top["name"].lower() and top["rank"] == 1
    assert top["record"]["status"] == "approved" and top["record"]["uuid"] == top["uuid"]
    assert {"grazing"} <= set(top["matched"])


def test_search__facets_filter_and_count(seeded: TestClient) -> None:
    everything = seeded.get("/practices", params={"limit": 1000}).json()
    n_restore = everything["facets"]["goals"]["restore"]
    assert 0 < n_restore < everything["total"]
    # the counts are over all hits, before paging
    r = seeded.get("/practices", params={"goals": "restore", "limit": 1})
    body = r.json()
    assert body["total"] == n_restore and len(body["hits"]) == 1
    assert body["facets"]["goals"]["restore"] == n_restore
    assert body["filters"] == {"goals": ["restore"]}
    # OR within a facet (repeated or comma-separated alike), AND across facets
    rep = seeded.get(
        "/practices?climate_zones=tropical_dry&climate_zones=tropical_moist&limit=1000"
    )
    comma = seeded.get("/practices?climate_zones=tropical_dry,tropical_moist&limit=1000")
    assert rep.json()["total"] == comma.json()["total"] > 0
    both = seeded.get(
        "/practices", params={"climate_zones": "tropical_dry", "goals": "restore", "limit": 1000}
    ).json()
    assert both["total"] <= n_restore
    for hit in both["hits"]:
        assert "restore" in hit["record"]["goals"]
        assert "tropical_dry" in hit["record"]["climate_zones"]


def test_search__unknown_code_and_bad_paging_are_422(seeded: TestClient) -> None:
    r = seeded.get("/practices", params={"goals": "rebuild"})
    assert r.status_code == 422 and "restore" in r.json()["detail"]
    assert seeded.get("/practices", params={"limit": 0}).status_code == 422
    assert seeded.get("/practices", params={"offset": -1}).status_code == 422
    r = seeded.get("/practices", params={"status": "pending"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.status"


def test_search__other_statuses_need_a_moderator(
    client: TestClient, tokens: dict[str, str]
) -> None:
    _submit(client, tokens["contributor"])
    assert client.get("/practices", params={"status": "submitted"}).status_code == 401
    r = client.get(
        "/practices", params={"status": "submitted"}, headers=auth(tokens["contributor"])
    )
    assert r.status_code == 403 and "moderator" in r.json()["detail"]
    r = client.get("/practices", params={"status": "all"}, headers=auth(tokens["moderator"]))
    assert r.status_code == 200 and r.json()["total"] == 1 and r.json()["status"] is None
    # the public search does not show it
    assert client.get("/practices").json()["total"] == 0


# --------------------------------------------------------------------------- submit, read


def test_submit__needs_a_contributor_token(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/practices", json=record())
    assert r.status_code == 401 and r.json()["type"] == "Unauthenticated"
    r = client.post("/practices", json=record(), headers=auth(tokens["viewer"]))
    assert r.status_code == 403 and r.json()["type"] == "PermissionDenied"
    r = client.post("/practices", json=record(), headers=auth(tokens["contributor"]))
    assert r.status_code == 201
    body = r.json()
    assert r.headers["Location"] == f"/practices/{body['uuid']}"
    assert body["status"] == "submitted" and body["version"] == 1
    assert body["contributor"] == "carl" and body["name"] == EXAMPLE_RECORD["name"]


def test_submit__field_errors_are_422_with_errors(
    client: TestClient, tokens: dict[str, str]
) -> None:
    bad = record(name="x", costs={**EXAMPLE_RECORD["costs"], "currency": "usd"}, goals=[])
    r = client.post("/practices", json=bad, headers=auth(tokens["contributor"]))
    assert r.status_code == 422
    body = r.json()
    assert body["type"] == "PracticeValidationError"
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"name", "costs.currency", "goals"}
    assert all(set(e) == {"field", "message"} and e["message"] for e in body["errors"])
    assert "costs.currency" in body["detail"]
    # a body that is not an object is refused before the library sees it
    r = client.post("/practices", json=[record()], headers=auth(tokens["contributor"]))
    assert r.status_code == 422 and "errors" in r.json()
    # a taken uuid is a field error too
    first = _submit(client, tokens["contributor"])
    r = client.post(
        "/practices", json=record(uuid=first["uuid"]), headers=auth(tokens["contributor"])
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "uuid"


def test_read__unapproved_only_for_author_and_moderators(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    uid = _submit(client, tokens["contributor"], name="Half-moon pits")["uuid"]
    other = _another_contributor(api_settings)
    for headers in ({}, auth(other), auth(tokens["viewer"])):
        r = client.get(f"/practices/{uid}", headers=headers)
        assert r.status_code == 404, headers
        assert client.get(f"/practices/{uid}/versions", headers=headers).status_code == 404
    for who in ("contributor", "moderator"):
        r = client.get(f"/practices/{uid[:8]}", headers=auth(tokens[who]))
        assert r.status_code == 200 and r.json()["name"] == "Half-moon pits"


def test_read__unknown_uuid_is_404_and_short_prefix_422(
    client: TestClient, tokens: dict[str, str]
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    for path in ("", "/versions", "/history"):
        r = client.get(f"/practices/{unknown}{path}")
        assert r.status_code == 404 and r.json()["type"] == "NotFoundError"
    r = client.put(
        f"/practices/{unknown}", params={"note": "x"}, json=record(), headers=auth(tokens["admin"])
    )
    assert r.status_code == 404
    r = client.post(
        f"/practices/{unknown}/review", json={"decision": "approve"}, headers=auth(tokens["admin"])
    )
    assert r.status_code == 404
    assert client.get("/practices/abc").status_code == 422


def test_submit__as_draft(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post(
        "/practices", params={"draft": "true"}, json=record(), headers=auth(tokens["contributor"])
    )
    assert r.status_code == 201 and r.json()["status"] == "draft"
    # a draft cannot be reviewed before its author submits it
    r = client.post(
        f"/practices/{r.json()['uuid']}/review",
        json={"decision": "approve"},
        headers=auth(tokens["moderator"]),
    )
    assert r.status_code == 422 and "draft" in r.json()["detail"]


# --------------------------------------------------------------------------- review, edit


def test_review__contributor_cannot_approve_moderator_can(
    client: TestClient, tokens: dict[str, str]
) -> None:
    uid = _submit(client, tokens["contributor"])["uuid"]
    url = f"/practices/{uid}/review"
    assert client.post(url, json={"decision": "approve"}).status_code == 401
    r = client.post(url, json={"decision": "approve"}, headers=auth(tokens["contributor"]))
    assert r.status_code == 403 and "moderator" in r.json()["detail"]
    # a rejection needs a reason
    r = client.post(url, json={"decision": "reject"}, headers=auth(tokens["moderator"]))
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = client.post(
        url,
        json={"decision": "reject", "reason": "cite a source"},
        headers=auth(tokens["moderator"]),
    )
    assert r.status_code == 200
    assert r.json()["status"] == "rejected" and r.json()["review_reason"] == "cite a source"
    r = client.post(url, json={"decision": "approve"}, headers=auth(tokens["moderator"]))
    body = r.json()
    assert r.status_code == 200 and body["status"] == "approved"
    assert body["reviewed_by"] == "mona" and body["approved_version"] == 1
    assert body["reviewed_at"].endswith(("Z", "+00:00"))
    # now public
    assert client.get(f"/practices/{uid}").json()["status"] == "approved"
    assert client.get("/practices", params={"q": "stone bunds"}).json()["total"] == 1
    r = client.post(url, json={"decision": "maybe"}, headers=auth(tokens["moderator"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "decision"


def test_review__own_submission_needs_admin(client: TestClient, tokens: dict[str, str]) -> None:
    mine = _submit(client, tokens["moderator"])["uuid"]
    r = client.post(
        f"/practices/{mine}/review", json={"decision": "approve"}, headers=auth(tokens["moderator"])
    )
    assert r.status_code == 403 and "another moderator" in r.json()["detail"]
    admins = _submit(client, tokens["admin"], name="Zai pits")["uuid"]
    r = client.post(
        f"/practices/{admins}/review", json={"decision": "approve"}, headers=auth(tokens["admin"])
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"


def test_update__author_or_moderator_with_a_note(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    first = _submit(client, tokens["contributor"])
    uid = first["uuid"]
    changed = {**first, "summary": first["summary"] + " Costs are of 2023."}
    url = f"/practices/{uid}"
    assert client.put(url, params={"note": "costs"}, json=changed).status_code == 401
    r = client.put(url, params={"note": "costs"}, json=changed, headers=auth(tokens["viewer"]))
    assert r.status_code == 403
    other = _another_contributor(api_settings)
    r = client.put(url, params={"note": "costs"}, json=changed, headers=auth(other))
    assert r.status_code == 403 and "carl" in r.json()["detail"]
    # a change note is required
    r = client.put(url, json=changed, headers=auth(tokens["contributor"]))
    assert r.status_code == 422 and "change note" in r.json()["detail"]
    # field errors as on submission
    r = client.put(
        url,
        params={"note": "x"},
        json={**changed, "licence": "MIT"},
        headers=auth(tokens["contributor"]),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "licence"
    r = client.put(url, params={"note": "costs"}, json=changed, headers=auth(tokens["contributor"]))
    assert r.status_code == 200
    assert r.json()["version"] == 2 and r.json()["summary"].endswith("2023.")
    # a moderator edits too; approved, then edited by a moderator, it stays approved
    client.post(f"{url}/review", json={"decision": "approve"}, headers=auth(tokens["moderator"]))
    r = client.put(
        url,
        params={"note": "typo"},
        json={**changed, "name": "Stone bunds along the contour"},
        headers=auth(tokens["moderator"]),
    )
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["version"] == 3
    # the author cannot edit an approved record any more
    r = client.put(url, params={"note": "again"}, json=changed, headers=auth(tokens["contributor"]))
    assert r.status_code == 403
    versions = client.get(f"{url}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["change_note"] for v in versions] == ["", "costs", "typo"]
    history = client.get(f"{url}/history").json()
    assert [e["action"] for e in history] == ["submit", "edit", "approve", "edit"]
    assert history[2]["actor"] == "mona" and history[2]["to_status"] == "approved"
    assert (
        client.get(url, params={"version": 1}, headers=auth(tokens["moderator"])).json()["version"]
        == 1
    )


# --------------------------------------------------------------------------- export


def test_export__csv_and_json_round_trip(
    seeded: TestClient, tmp_path: Path, tokens: dict[str, str]
) -> None:
    as_json = seeded.get("/practices/export", params={"format": "json"})
    as_csv = seeded.get("/practices/export", params={"format": "csv"})
    assert as_json.status_code == as_csv.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="practices.csv"' in as_csv.headers["content-disposition"]
    records = as_json.json()
    assert len(records) == len(list(csv.DictReader(io.StringIO(as_csv.text)))) > 20
    # import the CSV into another database and export it from another app: the same JSON
    path = tmp_path / "practices.csv"
    path.write_bytes(as_csv.content)
    other = Settings(data_dir=tmp_path / "d2", database_url=f"sqlite:///{tmp_path}/other.sqlite")
    engine = init_db(other.db_url())
    with session_scope(engine) as s:
        create_user(s, "ada", "admin")
        report = import_practices(s, path, get_user(s, "ada"))
        assert len(report.created) == len(records)
    engine.dispose()
    with TestClient(create_app(other)) as c2:
        again = c2.get("/practices/export", params={"format": "json"})
        assert again.json() == records
        assert c2.get("/practices/export", params={"format": "csv"}).content == as_csv.content


def test_export__other_statuses_need_a_moderator(
    client: TestClient, tokens: dict[str, str]
) -> None:
    _submit(client, tokens["contributor"])
    assert client.get("/practices/export").json() == []
    assert client.get("/practices/export", params={"status": "all"}).status_code == 401
    r = client.get("/practices/export", params={"status": "all"}, headers=auth(tokens["viewer"]))
    assert r.status_code == 403
    r = client.get(
        "/practices/export", params={"status": "submitted"}, headers=auth(tokens["moderator"])
    )
    assert r.status_code == 200 and [p["status"] for p in r.json()] == ["submitted"]
    assert client.get("/practices/export", params={"format": "xml"}).status_code == 422


# --------------------------------------------------------------------------- match


PROFILE = {
    "land_cover": {"3": 1.0},
    "processes": {"productivity_decline": 0.7, "land_cover_1_3": 0.3},
    "climate_zone": "tropical_dry",
    "response": "reverse",
}


def test_match__profile_gives_components_and_reasons(seeded: TestClient) -> None:
    r = seeded.post("/match", json={"profile": PROFILE, "top": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ldn_run"] is None and len(body["targets"]) == 1
    target = body["targets"][0]
    assert target["target"] == {"target": "described area"}
    assert target["profile"]["climate_zone"] == "tropical_dry"
    assert target["profile"]["aridity_inferred"] is True
    matches = target["matches"]
    assert [m["rank"] for m in matches] == [1, 2, 3, 4]
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1
    for m in matches:
        assert set(m["components"]) == {"degradation", "land_use", "climate", "aridity", "response"}
        assert len(m["reasons"]) == 5 and m["uuid"]
    # the best practice addresses the processes of the place and is used in its climate
    assert matches[0]["components"]["degradation"] > 0.5
    assert matches[0]["components"]["climate"] == 1.0
    # lists of codes are shares of 1
    r = seeded.post(
        "/match",
        json={
            "profile": {
                **PROFILE,
                "land_cover": [3],
                "processes": ["soc_loss"],
                "aridity": ["arid"],
            }
        },
    )
    assert r.status_code == 200
    assert r.json()["targets"][0]["profile"]["processes"] == {"soc_loss": 1.0}
    assert r.json()["targets"][0]["profile"]["aridity"] == ["arid"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"profile": {**PROFILE, "climate_zone": "tropical_soggy"}}, None),
        ({"profile": {**PROFILE, "processes": ["erosion_by_gnomes"]}}, None),
        ({"profile": {**PROFILE, "processes": ["land_cover_degradation"]}}, "profile.processes"),
        ({"profile": {**PROFILE, "processes": ["land_cover_1_9"]}}, "profile.processes"),
        ({"profile": {**PROFILE, "land_cover": {"9": 1.0}}}, "profile.land_cover"),
        ({"profile": {**PROFILE, "aridity": ["soggy"]}}, "profile.aridity.0"),
        ({"profile": PROFILE, "ldn_run": "ldn"}, ""),
        ({}, ""),
        ({"profile": PROFILE, "top": 0}, "top"),
    ],
)
def test_match__bad_requests_are_422(
    seeded: TestClient, body: dict[str, Any], field: str | None
) -> None:
    r = seeded.post("/match", json=body)
    assert r.status_code == 422, r.text
    if field is not None:
        assert any(e["field"].startswith(field) for e in r.json()["errors"]), r.json()


def test_match__needs_approved_practices(client: TestClient) -> None:
    r = client.post("/match", json={"profile": PROFILE})
    assert r.status_code == 422 and "no approved practice" in r.json()["detail"]


def _fake_ldn_run(folder: Path) -> Path:
    """The two files of an LDN run that hotspot matching reads."""
    (folder / "tables").mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"periods": {"report_1": {}, "report_2": {}}}))
    for period in ("report_1", "report_2"):
        pd.DataFrame(
            {
                "rank": [1, 2],
                "patch": [7, 3],
                "type": ["hotspot", "hotspot"],
                "period": [period, period],
                "area_km2": [12.5, 4.0],
                "process": ["land cover tree-covered -> cropland", "productivity decline"],
                "process_codes": [
                    "land_cover_1_3:0.800;productivity_decline:0.200",
                    "productivity_decline:1.000",
                ],  # fmt: skip
                "land_cover": [1, 2],
                "land_cover_now": [3, 2],
                "climate_zones": [12, 12],
                "response": ["reverse", "reduce"],
                "zone_name": ["North", "South"],
                "land_type_name": ["forest", "grassland"],
            }
        ).to_csv(folder / "tables" / f"hotspots_{period}.csv", index=False)
    return folder


@pytest.fixture()
def ldn_client(api_settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    """Curated practices, a published LDN run 'ldn_demo' and a job with the same."""
    published = _fake_ldn_run(api_settings.data_dir.parent / "published" / "ldn_demo")
    _fake_ldn_run(api_settings.jobs_dir / "0b6c3a4e-1d2f-4a5b-8c7d-9e0f1a2b3c4d")
    settings = api_settings.model_copy(update={"runs": [published]})
    engine = init_db(settings.db_url())
    with session_scope(engine) as s:
        load_builtin_practices(s)
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        yield c


def test_match__ldn_run_hotspots(ldn_client: TestClient) -> None:
    r = ldn_client.post("/match", json={"ldn_run": "ldn_demo", "top": 2})
    assert r.status_code == 200, r.text
    targets = r.json()["targets"]
    assert [t["target"]["target"] for t in targets] == ["hotspot 1", "hotspot 2"]
    first = targets[0]
    assert first["target"]["period"] == "report_2"  # the run's last period by default
    assert first["target"]["area_km2"] == 12.5 and first["target"]["zone"] == "North"
    assert first["profile"]["processes"] == {"land_cover_1_3": 0.8, "productivity_decline": 0.2}
    assert len(first["matches"]) == 2
    # deforestation for cropland: the best practice restores tree cover (Bc/Bh)
    assert first["matches"][0]["components"]["degradation"] > 0.5
    # chosen ranks and period; the job's folder by its run id
    r = ldn_client.post(
        "/match",
        json={
            "ldn_run": "job-0b6c3a4e-1d2f-4a5b-8c7d-9e0f1a2b3c4d",
            "period": "report_1",
            "hotspots": [2],
        },
    )
    assert r.status_code == 200, r.text
    targets = r.json()["targets"]
    assert len(targets) == 1 and targets[0]["target"]["target"] == "hotspot 2"
    assert (
        targets[0]["target"]["period"] == "report_1"
        and targets[0]["profile"]["response"] == "reduce"
    )
    assert len(targets[0]["matches"]) == 3


def test_match__ldn_run_errors(ldn_client: TestClient) -> None:
    for run in ("nope", "job-nope", "job-../ldn_demo", "../ldn_demo"):
        r = ldn_client.post("/match", json={"ldn_run": run})
        assert r.status_code == 404 and "GET /runs" in r.json()["detail"], run
    r = ldn_client.post("/match", json={"ldn_run": "ldn_demo", "hotspots": [9]})
    assert r.status_code == 422 and "[9]" in r.json()["detail"]
    r = ldn_client.post("/match", json={"ldn_run": "ldn_demo", "period": "report_9"})
    assert r.status_code == 422 and "report_9" in r.json()["detail"]


def test_resolve_run__published_then_jobs(tmp_path: Path) -> None:
    pub = tmp_path / "runs" / "kenya_2023"
    pub.mkdir(parents=True)
    s = Settings(data_dir=tmp_path / "data", runs=[pub])
    (s.jobs_dir / "5f0dd00d-0000-4000-8000-00000000f00d").mkdir(parents=True)
    assert resolve_run(s, "kenya_2023") == pub
    assert (
        resolve_run(s, "job-5f0dd00d-0000-4000-8000-00000000f00d")
        == s.jobs_dir / "5f0dd00d-0000-4000-8000-00000000f00d"
    )
    for bad in (
        "job-",
        "job-5f0dd00d-0000-4000-8000-00000000f00d/..",
        "5f0dd00d-0000-4000-8000-00000000f00d",
        "runs",
        "job-..",
    ):
        with pytest.raises(NotFoundError, match="GET /runs"):
            resolve_run(s, bad)


# --------------------------------------------------------------------------- users


def test_users_me__name_and_role_of_any_token(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/users/me").status_code == 401
    assert client.get("/users/me", headers=auth("lw_not-a-token")).status_code == 401
    names = {"viewer": "vera", "contributor": "carl", "moderator": "mona", "admin": "ada"}
    for role, token in tokens.items():
        assert client.get("/users/me", headers=auth(token)).json() == {
            "name": names[role],
            "role": role,
        }


def test_openapi__documents_the_routes_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/practices", "get"),
        ("/practices", "post"),
        ("/practices/export", "get"),
        ("/practices/{uuid}", "get"),
        ("/practices/{uuid}", "put"),
        ("/practices/{uuid}/versions", "get"),
        ("/practices/{uuid}/history", "get"),
        ("/practices/{uuid}/review", "post"),
        ("/match", "post"),
        ("/users/me", "get"),
    ]:
        assert method in paths[path], (path, method)
    body = paths["/practices"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["stone bunds"]["value"]["name"] == EXAMPLE_RECORD["name"]
    schemas = spec["components"]["schemas"]
    assert schemas["MatchIn"]["examples"] and schemas["PracticeRecord"]["examples"]
