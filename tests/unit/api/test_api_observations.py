"""Observation routes: add, list (GeoJSON), read, validate and photos, by role."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from landwatch.api import Settings
from landwatch.api.routers.observations import EXAMPLE_IN
from landwatch.io.observations import PHOTO_MAX_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _add(client: TestClient, token: str, **changes: Any) -> dict[str, Any]:
    r = client.post("/observations", json={**EXAMPLE_IN, **changes}, headers=auth(token))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _confirm(client: TestClient, tokens: dict[str, str], uid: str) -> None:
    r = client.post(
        f"/observations/{uid}/validate",
        json={"status": "confirmed"},
        headers=auth(tokens["moderator"]),
    )
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------- create


def test_create__needs_a_contributor(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.post("/observations", json=EXAMPLE_IN).status_code == 401
    r = client.post("/observations", json=EXAMPLE_IN, headers=auth(tokens["viewer"]))
    assert r.status_code == 403 and "contributor" in r.json()["detail"]
    r = client.post("/observations", json=EXAMPLE_IN, headers=auth(tokens["contributor"]))
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("application/geo+json")
    feature = r.json()
    assert r.headers["Location"] == f"/observations/{feature['id']}"
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [37.21, -1.43]}
    props = feature["properties"]
    assert props["uuid"] == feature["id"] and props["validation_status"] == "submitted"
    assert props["land_state"] == "degraded" and props["language"] == "sw"
    assert props["observed_on"] == "2024-03-17" and props["photo_url"] is None
    assert props["source"] == "api carl"  # who sent it, for the moderators


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"land_state": None}, "land_state", "required for category vegetation_state"),
        ({"lat": 137.2}, "lat", "swapped"),
        ({"category": "alien_landing"}, "category", "crop_failure"),
        ({"observed_on": "2999-01-01"}, "observed_on", "in the future"),
        (
            {"category": "restoration_result", "impact_severity": "severe"},
            "impact_severity",
            "drought",
        ),
        ({"area_wkt": "POINT (1 2)"}, "area_wkt", "Polygon"),
        ({"language": "xx-not-a-tag!"}, "language", ""),
    ],
)
def test_create__field_errors_are_422_with_errors(
    client: TestClient, tokens: dict[str, str], changes: dict[str, Any], field: str, words: str
) -> None:
    r = client.post(
        "/observations", json={**EXAMPLE_IN, **changes}, headers=auth(tokens["contributor"])
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["type"] == "ObservationFieldError"
    assert body["errors"] == [{"field": field, "message": body["errors"][0]["message"]}]
    assert words in body["errors"][0]["message"] and body["detail"].startswith(field)


def test_create__review_and_photo_fields_are_not_the_observers(
    client: TestClient, tokens: dict[str, str]
) -> None:
    for extra in (
        {"validation_status": "confirmed", "validated_by": "carl"},
        {"photo_path": "observations/photos/x.jpg"},
        {"map_flag": "consistent"},
    ):
        r = client.post(
            "/observations", json={**EXAMPLE_IN, **extra}, headers=auth(tokens["contributor"])
        )
        assert r.status_code == 422, extra
        assert {e["field"] for e in r.json()["errors"]} == set(extra)
    r = client.post(
        "/observations", json={**EXAMPLE_IN, "lon": "east"}, headers=auth(tokens["contributor"])
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lon"


def test_create__taken_uuid_is_a_field_error(client: TestClient, tokens: dict[str, str]) -> None:
    uid = _add(client, tokens["contributor"])["id"]
    r = client.post(
        "/observations", json={**EXAMPLE_IN, "uuid": uid}, headers=auth(tokens["contributor"])
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "uuid"


# --------------------------------------------------------------------------- read


def test_list__public_sees_confirmed_moderators_all(
    client: TestClient, tokens: dict[str, str]
) -> None:
    a = _add(client, tokens["contributor"])["id"]
    b = _add(client, tokens["contributor"], lon=36.0, lat=0.5, observed_on="2024-01-05")["id"]
    _confirm(client, tokens, a)
    r = client.get("/observations")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == 1
    assert [f["id"] for f in body["features"]] == [a]
    assert client.get("/observations", params={"status": "confirmed"}).json()["numberReturned"] == 1
    # other statuses: 401 without a token, 403 below moderator
    assert client.get("/observations", params={"status": "submitted"}).status_code == 401
    r = client.get(
        "/observations", params={"status": "submitted"}, headers=auth(tokens["contributor"])
    )
    assert r.status_code == 403
    every = client.get("/observations", headers=auth(tokens["moderator"])).json()
    assert [f["id"] for f in every["features"]] == [b, a]  # by date observed
    submitted = client.get(
        "/observations", params={"status": "submitted"}, headers=auth(tokens["moderator"])
    ).json()
    assert [f["id"] for f in submitted["features"]] == [b]
    # filters
    box = client.get(
        "/observations", params={"bbox": "35.5,0,36.5,1"}, headers=auth(tokens["moderator"])
    ).json()
    assert [f["id"] for f in box["features"]] == [b]
    since = client.get(
        "/observations", params={"since": "2024-02-01"}, headers=auth(tokens["moderator"])
    ).json()
    assert [f["id"] for f in since["features"]] == [a]
    r = client.get("/observations", params={"bbox": "1,2,3"})
    assert r.status_code == 422 and "west,south,east,north" in r.json()["detail"]
    r = client.get("/observations", params={"status": "pending"}, headers=auth(tokens["moderator"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "validation_status"


def test_get__unconfirmed_only_for_moderators(client: TestClient, tokens: dict[str, str]) -> None:
    uid = _add(client, tokens["contributor"])["id"]
    assert client.get(f"/observations/{uid}").status_code == 404
    assert (
        client.get(f"/observations/{uid}", headers=auth(tokens["contributor"])).status_code == 404
    )
    r = client.get(f"/observations/{uid[:8]}", headers=auth(tokens["moderator"]))
    assert r.status_code == 200 and r.json()["id"] == uid
    _confirm(client, tokens, uid)
    r = client.get(f"/observations/{uid}")
    assert r.status_code == 200 and r.json()["properties"]["validation_status"] == "confirmed"
    unknown = client.get("/observations/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and unknown.json()["type"] == "NotFoundError"
    assert client.get("/observations/abc").status_code == 422


# --------------------------------------------------------------------------- validate


def test_validate__moderators_confirm_and_reject_with_a_note(
    client: TestClient, tokens: dict[str, str]
) -> None:
    uid = _add(client, tokens["contributor"])["id"]
    url = f"/observations/{uid}/validate"
    assert client.post(url, json={"status": "confirmed"}).status_code == 401
    r = client.post(url, json={"status": "confirmed"}, headers=auth(tokens["contributor"]))
    assert r.status_code == 403 and "moderator" in r.json()["detail"]
    r = client.post(url, json={"status": "rejected"}, headers=auth(tokens["moderator"]))
    assert r.status_code == 422 and "note" in r.json()["detail"]
    r = client.post(url, json={"status": "approved"}, headers=auth(tokens["moderator"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    r = client.post(
        url, json={"status": "rejected", "note": "another place"}, headers=auth(tokens["moderator"])
    )
    props = r.json()["properties"]
    assert r.status_code == 200 and props["validation_status"] == "rejected"
    assert props["validated_by"] == "mona" and props["validation_note"] == "another place"
    assert props["validated_at"] is not None
    r = client.post(url, json={"status": "confirmed"}, headers=auth(tokens["admin"]))
    assert r.json()["properties"]["validated_by"] == "ada"
    r = client.post(
        "/observations/00000000-0000-4000-8000-000000000000/validate",
        json={"status": "confirmed"},
        headers=auth(tokens["moderator"]),
    )
    assert r.status_code == 404


# --------------------------------------------------------------------------- photos


def test_photo__upload_store_and_read(
    client: TestClient, tokens: dict[str, str], api_settings: Settings
) -> None:
    uid = _add(client, tokens["contributor"])["id"]
    url = f"/observations/{uid}/photo"
    files = {"file": ("field visit.png", PNG, "image/png")}
    assert client.post(url, files=files).status_code == 401
    assert client.post(url, files=files, headers=auth(tokens["viewer"])).status_code == 403
    r = client.post(url, files=files, headers=auth(tokens["contributor"]))
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    sha = hashlib.sha256(PNG).hexdigest()
    assert props["photo_url"] == url and props["photo_sha256"] == sha
    assert props["photo_media_type"] == "image/png" and props["photo_bytes"] == len(PNG)
    # stored under the data folder by its hash, as `landwatch observe add --photo` does
    stored = api_settings.data_dir / "observations" / "photos" / sha[:2] / f"{sha}.png"
    assert stored.read_bytes() == PNG
    assert not [p for p in api_settings.data_dir.iterdir() if p.name.startswith(".upload-")]
    # read back: moderators now, everyone once confirmed
    assert client.get(url).status_code == 404
    got = client.get(url, headers=auth(tokens["moderator"]))
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    _confirm(client, tokens, uid)
    assert client.get(url).content == PNG


def test_photo__type_is_sniffed_and_size_limited(
    client: TestClient, tokens: dict[str, str]
) -> None:
    uid = _add(client, tokens["contributor"])["id"]
    url = f"/observations/{uid}/photo"
    headers = auth(tokens["contributor"])
    for name, content, words in (
        ("photo.jpg", b"GIF89a" + bytes(100), "a GIF image"),  # the name is not trusted
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        ("empty.jpg", b"", "empty"),
        ("huge.jpg", JPEG[:16] + bytes(PHOTO_MAX_BYTES), "limit is 10 MiB"),
    ):
        r = client.post(url, files={"file": (name, content, "image/jpeg")}, headers=headers)
        assert r.status_code == 422, name
        body = r.json()
        assert body["type"] == "ObservationFieldError" and body["errors"][0]["field"] == "file"
        assert words in body["errors"][0]["message"], body
        assert name in body["detail"]
    assert client.post(url, headers=headers).status_code == 422  # no file at all
    # nothing was attached
    r = client.get(f"/observations/{uid}", headers=auth(tokens["moderator"]))
    assert r.json()["properties"]["photo_url"] is None


def test_photo__replacing_needs_a_moderator_and_resets_confirmation(
    client: TestClient, tokens: dict[str, str]
) -> None:
    uid = _add(client, tokens["contributor"])["id"]
    url = f"/observations/{uid}/photo"
    png = {"file": ("a.png", PNG, "image/png")}
    jpg = {"file": ("b.jpg", JPEG, "image/jpeg")}
    assert client.post(url, files=png, headers=auth(tokens["contributor"])).status_code == 200
    r = client.post(url, files=jpg, headers=auth(tokens["contributor"]))
    assert r.status_code == 403 and "moderator" in r.json()["detail"]
    _confirm(client, tokens, uid)
    r = client.post(url, files=jpg, headers=auth(tokens["moderator"]))
    props = r.json()["properties"]
    assert r.status_code == 200 and props["photo_media_type"] == "image/jpeg"
    # the confirmation was given for the old content (the library's rule)
    assert props["validation_status"] == "needs_review"
    r = client.post(
        "/observations/00000000-0000-4000-8000-000000000000/photo",
        files=png,
        headers=auth(tokens["contributor"]),
    )
    assert r.status_code == 404


def test_photo__missing_photo_is_404(client: TestClient, tokens: dict[str, str]) -> None:
    uid = _add(client, tokens["contributor"])["id"]
    r = client.get(f"/observations/{uid}/photo", headers=auth(tokens["moderator"]))
    assert r.status_code == 404 and "no photo" in r.json()["detail"]


def test_upload_name__keeps_a_safe_basename() -> None:
    from landwatch.api.routers.observations import _upload_name

    assert _upload_name("../../etc/passwd") == "passwd"
    assert _upload_name("C:\\x\\my photo.JPG") == "C_x_my_photo.JPG"
    assert _upload_name("") == _upload_name(None) == _upload_name("..") == "photo"
    assert Path(_upload_name("a/" + "x" * 300)).name == "x" * 100
