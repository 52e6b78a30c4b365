"""Validation rules, language tags and create / update / validate / query of observations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from landwatch.errors import InputError, NotFoundError
from landwatch.observations.language import canonical_language_tag
from landwatch.observations.records import (
    CATEGORIES,
    ObservationFieldError,
    create_observation,
    get_observation,
    query_observations,
    set_validation_status,
    update_observation,
    validate_observation_fields,
)
from landwatch.store import init_db, session_scope

TODAY = dt.date(2024, 6, 30)


def fields(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "lon": "37.21",
        "lat": "-1.43",
        "observed_on": "2024-03-17",
        "observer_role": "pastoralist",
        "category": "vegetation_state",
        "land_state": "degraded",
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.fixture()
def engine(db_url: str):  # type: ignore[no-untyped-def]
    return init_db(db_url)


def test_validate_observation_fields__normalises_text_cells() -> None:
    v = validate_observation_fields(
        fields(
            observer_role="Extension officer",
            category="Vegetation-State",
            language="sw_ke",
            lik_indicator_name="early flowering of Acacia tortilis",
            lik_indicator=...,
        ),
        today=TODAY,
    )
    assert v["lon"] == 37.21 and v["lat"] == -1.43
    assert v["observed_on"] == dt.date(2024, 3, 17)
    assert v["observer_role"] == "extension_officer"
    assert v["category"] == "vegetation_state"
    assert v["language"] == "sw-KE"
    assert v["lik_indicator"] is True  # a named indicator implies the tag
    assert v["validation_status"] == "submitted"
    assert len(v["uuid"]) == 36
    assert v["created_at"].tzinfo is not None


@pytest.mark.parametrize(
    ("change", "field", "pattern"),
    [
        ({"lat": "95"}, "lat", r"95 is outside -90\.\.90 degrees.*may be swapped"),
        ({"lon": "-181"}, "lon", r"outside -180\.\.180"),
        ({"lon": "37,2"}, "lon", r"not a number.*decimal separator"),
        ({"lat": "nan"}, "lat", r"outside"),
        ({"observed_on": "2024-07-02"}, "observed_on", r"in the future \(today is 2024-06-30\)"),
        ({"observed_on": "17/03/2024"}, "observed_on", r"YYYY-MM-DD"),
        ({"observed_on": "1850-01-01"}, "observed_on", r"before 1900"),
        ({"category": "locusts"}, "category", r"'locusts' is not one of crop_failure"),
        ({"observer_role": "chief"}, "observer_role", r"not one of farmer, pastoralist"),
        ({"land_state": ...}, "land_state", r"required for category vegetation_state"),
        ({"land_state": "worse"}, "land_state", r"not one of degraded, stable, improved"),
        (
            {"category": "land_degradation_sign", "land_state": "improved"},
            "land_state",
            r"means the land is degraded",
        ),
        (
            {
                "category": "restoration_result",
                "land_state": "improved",
                "impact_severity": "severe",
            },
            "impact_severity",
            r"applies only to drought impacts",
        ),
        ({"language": "english"}, "language", r"not a well-formed language tag.*'sw-KE'"),
        (
            {"lik_indicator": "no", "lik_indicator_name": "bird call"},
            "lik_indicator",
            r"is false but lik_indicator_name is given",
        ),
        ({"validation_status": "confirmed"}, "validated_by", r"confirmed observation needs"),
        ({"validation_status": "approved"}, "validation_status", r"not one of submitted"),
        ({"photo_sha256": "ab" * 32}, "photo_path", r"a photo needs photo_path"),
        ({"colour": "red"}, "colour", r"unknown field"),
        ({"observer_role": ""}, "observer_role", r"is required and missing"),
        ({"uuid": "1234"}, "uuid", r"not a UUID"),
        ({"description": "x" * 10_001}, "description", r"at most 10000"),
        ({"area_wkt": "POINT (37.21 -1.43)"}, "area_wkt", r"Point geometry; expected a Polygon"),
        ({"area_wkt": "POLYGON ((37 -1"}, "area_wkt", r"is not WKT"),
        (
            {"area_wkt": "POLYGON ((38 -2, 38.01 -2, 38.01 -2.01, 38 -2.01, 38 -2))"},
            "area_wkt",
            r"does not contain the observation point",
        ),
        (
            {"area_wkt": "POLYGON ((37 -1, 37.5 -1, 37.5 -1.5, 37 -1.5, 37 -1))"},
            "area_wkt",
            r"covers 3,0\d\d km2; one observation may describe at most 100 km2",
        ),
        (
            {
                "area_wkt": "POLYGON ((37.2 -1.42, 37.22 -1.44, 37.22 -1.42, 37.2 -1.44, 37.2 -1.42))"
            },
            "area_wkt",
            r"not a valid polygon \(Self-intersection",
        ),
    ],
)
def test_validate_observation_fields__clear_errors(
    change: dict[str, Any], field: str, pattern: str
) -> None:
    with pytest.raises(ObservationFieldError, match=pattern) as info:
        validate_observation_fields(fields(**change), today=TODAY)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert isinstance(info.value, InputError)


def test_validate_observation_fields__category_rules() -> None:
    sign = validate_observation_fields(
        fields(category="land_degradation_sign", land_state=...), today=TODAY
    )
    assert sign["land_state"] == "degraded"  # implied by the category
    crop = validate_observation_fields(
        fields(category="crop_failure", land_state=..., impact_severity="Severe"), today=TODAY
    )
    assert crop["impact_severity"] == "severe" and crop["land_state"] is None
    assert {c for c, v in CATEGORIES.items() if v.drought_impact} == {
        "crop_failure",
        "water_scarcity",
        "livestock_loss",
        "vegetation_state",
    }


def test_validate_observation_fields__area_inside_and_tomorrow_allowed() -> None:
    wkt = "POLYGON ((37.2 -1.42, 37.22 -1.42, 37.22 -1.44, 37.2 -1.44, 37.2 -1.42))"
    v = validate_observation_fields(fields(area_wkt=wkt, observed_on="2024-07-01"), today=TODAY)
    assert v["area_wkt"].startswith("POLYGON ((37.2 -1.42")
    assert v["observed_on"] == dt.date(2024, 7, 1)  # UTC+14 is a day ahead


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("en", "en"),
        ("SW-ke", "sw-KE"),
        ("pt_BR", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("mas", "mas"),
        ("es-419", "es-419"),
        ("sl-rozaj-biske", "sl-rozaj-biske"),
        ("de-CH-1996", "de-CH-1996"),
        ("en-US-u-ca-gregory", "en-US-u-ca-gregory"),
        ("x-kamba-elders", "x-kamba-elders"),
        ("und", "und"),
    ],
)
def test_canonical_language_tag__well_formed(tag: str, canonical: str) -> None:
    assert canonical_language_tag(tag) == canonical


@pytest.mark.parametrize(
    "tag", ["", "e", "english", "en--US", "en-US-", "sl-rozaj-rozaj", "en-a-bbb-a-ccc", "i-klingon"]
)
def test_canonical_language_tag__refuses_malformed(tag: str) -> None:
    with pytest.raises(InputError, match="language: "):
        canonical_language_tag(tag)


def test_create_observation__and_lookup_by_prefix(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        obs = create_observation(s, fields(), today=TODAY)
        uid = obs.uuid
    with session_scope(engine) as s:
        assert get_observation(s, uid[:8]).uuid == uid
        with pytest.raises(NotFoundError, match="does not exist"):
            get_observation(s, "ffffffff")
        with pytest.raises(InputError, match="at least its first 6"):
            get_observation(s, uid[:3])
    with pytest.raises(ObservationFieldError, match="exists already"), session_scope(engine) as s:
        create_observation(s, fields(uuid=uid), today=TODAY)


def test_set_validation_status__rules(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        uid = create_observation(s, fields(), today=TODAY).uuid
    with pytest.raises(InputError, match="rejection needs a note"), session_scope(engine) as s:
        set_validation_status(s, uid, "rejected", by="officer")
    with pytest.raises(InputError, match="say who validates"), session_scope(engine) as s:
        set_validation_status(s, uid, "confirmed", by=" ")
    with session_scope(engine) as s:
        obs = set_validation_status(s, uid, "confirmed", by="county officer", note="visited")
        assert obs.validation_status == "confirmed" and obs.validated_at is not None
    with session_scope(engine) as s:
        assert [o.uuid for o in query_observations(s, status="confirmed")] == [uid]
        assert query_observations(s, status="submitted") == []


def test_update_observation__editing_content_needs_review_again(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        uid = create_observation(s, fields(), today=TODAY).uuid
        obs = set_validation_status(s, uid, "confirmed", by="officer")
        obs.map_flag, obs.map_value, obs.map_layer = "possible_false_negative", 0, "report_2/sdg"
    with session_scope(engine) as s:
        # any change to what was observed sends a confirmed observation back for review
        update_observation(s, uid, {"description": "more detail"}, today=TODAY)
    with session_scope(engine) as s:
        obs = get_observation(s, uid)
        assert obs.validation_status == "needs_review"
        assert "description" in (obs.validation_note or "")
        assert obs.map_flag == "possible_false_negative"  # location unchanged: check kept
    with session_scope(engine) as s:
        obs = update_observation(s, uid, {"lat": -1.5}, today=TODAY)
        assert obs.map_flag is None and obs.map_layer is None  # moved: check is stale
    with (
        pytest.raises(ObservationFieldError, match="cannot be changed"),
        session_scope(engine) as s,
    ):
        update_observation(s, uid, {"uuid": "0f8fad5b-d9cb-469f-a165-70867728950e"})


def test_query_observations__filters(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        a = create_observation(s, fields(admin_id="KE-01", observed_on="2024-01-05"), today=TODAY)
        b = create_observation(
            s,
            fields(category="crop_failure", land_state=..., lik_indicator="yes", lon="38.5"),
            today=TODAY,
        )
        ids = a.uuid, b.uuid
    with session_scope(engine) as s:
        assert [o.uuid for o in query_observations(s)] == list(ids)  # oldest first
        assert [o.uuid for o in query_observations(s, admin_id="KE-01")] == [ids[0]]
        assert [o.uuid for o in query_observations(s, lik_only=True)] == [ids[1]]
        assert [o.uuid for o in query_observations(s, category="crop_failure")] == [ids[1]]
        assert [o.uuid for o in query_observations(s, since=dt.date(2024, 2, 1))] == [ids[1]]
        assert [o.uuid for o in query_observations(s, bbox=(37, -2, 38, -1))] == [ids[0]]
        with pytest.raises(ObservationFieldError, match="not one of"):
            query_observations(s, status="approved")
