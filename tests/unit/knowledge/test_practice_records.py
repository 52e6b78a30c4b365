"""Validation of SLM practice records: every rule of docs/slm_record_schema.md, with
field paths, all errors at once, and the CSV row form."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from landwatch.errors import InputError
from landwatch.knowledge.records import (
    CSV_COLUMNS,
    FIELDS,
    PracticeValidationError,
    check_practice,
    record_from_csv_row,
    record_to_csv_row,
    validate_practice,
)
from landwatch.knowledge.vocabulary import codes, vocabulary

Record = Callable[..., dict[str, Any]]


def errors_of(data: Any) -> dict[str, str]:
    """field -> message of every error of ``data``."""
    with pytest.raises(PracticeValidationError) as info:
        validate_practice(data)
    return {e["field"]: e["message"] for e in info.value.errors}


# --------------------------------------------------------------------------- vocabulary


def test_vocabulary__lists_codes_names_and_numbers() -> None:
    vocab = vocabulary()
    assert codes("goals") == ("prevent", "reduce", "restore")
    assert "Wt" in codes("degradation_types") and len(codes("climate_zones")) == 12
    assert vocab.canonical("degradation_types", "wt") == "Wt"
    assert vocab.canonical("land_use", "Grazing land") == "grazing_land"
    assert vocab.canonical("licences", "cc-by-4.0") == "CC-BY-4.0"
    assert vocab.canonical("land_use", "crop") is None
    assert vocab.climate_zone_for_number(12) == "tropical_dry"
    assert vocab.aridity_class(0.05) == "arid"  # lower bound inclusive
    assert vocab.aridity_class(0.3) == "semi_arid"
    assert vocab.aridity_class(2.0) == "humid"
    assert vocab.name("goals", "restore").startswith("Restore")
    assert vocabulary() is vocab  # read once


# --------------------------------------------------------------------------- valid


def test_validate_practice__valid_record_is_normalised(record: Record) -> None:
    data = record(
        name="  Stone bunds on the contour ",
        degradation_types=["wt", "Wg"],
        land_use=["Cropland"],
        licence="cc-by-4.0",
        language="EN",
    )
    rec = validate_practice(data)
    assert rec.name == "Stone bunds on the contour"
    assert rec.degradation_types == ("Wt", "Wg")
    assert rec.land_use == ("cropland",)
    assert rec.licence == "CC-BY-4.0" and rec.language == "en"
    assert uuid.UUID(rec.uuid).version == 4  # generated
    assert rec.status is None and rec.version is None
    out = rec.to_dict()
    assert tuple(out) == FIELDS
    assert out["costs"]["establishment_per_ha"] == 250 and out["costs"]["currency"] == "USD"
    assert validate_practice(out).to_dict() == out  # idempotent


def test_validate_practice__optional_parts_may_be_left_out(record: Record) -> None:
    data = record()
    for name in ("costs", "keywords", "slope", "soil_texture"):
        del data[name]
    data["impacts"] = {"on_site": [{"impact": "soil_cover", "rating": 1}]}
    data["location"] = {"countries": ["KE"]}
    data["sources"] = [{"title": "Field notes"}]
    rec = validate_practice(data)
    assert rec.costs.currency is None and rec.costs.note == ""
    assert rec.impacts.off_site == () and rec.location.lat is None
    assert rec.sources[0].url == "" and rec.sources[0].year is None


# --------------------------------------------------------------------------- each rule


def test_validate_practice__required_fields_are_named() -> None:
    errors = errors_of({})
    for name in ("name", "summary", "description", "land_use", "degradation_types",
                 "measure_types", "goals", "climate_zones", "aridity", "scale", "impacts",
                 "adoption", "location", "sources", "licence", "language", "contributor"):  # fmt: skip
        assert errors[name].startswith("is required"), name
    assert "uuid" not in errors and "keywords" not in errors and "costs" not in errors


def test_validate_practice__text_lengths(record: Record) -> None:
    errors = errors_of(
        record(name="ab", summary="Too short.", description="x" * 49, contributor="")
    )
    assert errors["name"] == "has 2 characters; expected text of 3-200 characters."
    assert "has 10 characters; expected text of 20-600" in errors["summary"]
    assert "expected text of 50-20,000 characters" in errors["description"]
    assert "contributor" in errors
    errors = errors_of(
        record(name="Line one\nline two", summary="First paragraph here.\n\nSecond one.")
    )
    assert "line break" in errors["name"]
    assert "one paragraph" in errors["summary"]
    assert "expected text" in errors_of(record(name=42))["name"]


def test_validate_practice__unknown_code_names_the_allowed_codes(record: Record) -> None:
    errors = errors_of(record(land_use=["cropland", "crop"], goals=["restor"]))
    msg = errors["land_use[1]"]
    assert "'crop' is not a code of the land_use list" in msg
    for code in codes("land_use"):
        assert code in msg
    assert "Did you mean 'restore'?" in errors["goals[0]"]


def test_validate_practice__code_lists_need_at_least_one_unless_optional(record: Record) -> None:
    errors = errors_of(record(goals=[], scale="farm", slope=[], soil_texture=[]))
    assert errors["goals"].startswith("is empty; expected a list of at least 1 codes from goals")
    assert "prevent, reduce, restore" in errors["goals"]
    assert errors["scale"].startswith("expected a list of codes from scale")
    assert "slope" not in errors and "soil_texture" not in errors


def test_validate_practice__repeated_code(record: Record) -> None:
    errors = errors_of(record(degradation_types=["Wt", "wt"]))
    assert errors == {
        "degradation_types[1]": "repeats 'Wt' (also at [0]); expected each code once."
    }


def test_validate_practice__costs(record: Record) -> None:
    errors = errors_of(
        record(costs={"establishment_per_ha": -5, "maintenance_per_ha_year": 10, "currency": "usd"})
    )
    assert "is -5; expected a number >= 0" in errors["costs.establishment_per_ha"]
    assert (
        "'usd' is not an ISO 4217 currency code; expected 3 capital letters"
        in errors["costs.currency"]
    )
    assert errors["costs.year"].startswith("is required when a cost is given")
    errors = errors_of(record(costs={"establishment_per_ha": 10, "year": 1900}))
    assert errors["costs.currency"].startswith("is required when a cost is given")
    assert "1950..2100" in errors["costs.year"]
    assert (
        "expected a number"
        in errors_of(record(costs={"establishment_per_ha": "100"}))["costs.establishment_per_ha"]
    )
    # no cost given: currency and year are not needed
    assert validate_practice(record(costs={"note": "not known"})).costs.note == "not known"


def test_validate_practice__impacts(record: Record) -> None:
    errors = errors_of(
        record(
            impacts={
                "on_site": [
                    {"impact": "soil_loss", "rating": 4},
                    {"impact": "soil_loss", "rating": 1},
                    {"impact": "soil_moisture", "rating": True},
                    {"impact": "soil_cover"},
                ],
                "off_site": [{"impact": "crop_production", "rating": 1}],
            }
        )
    )
    assert "is 4; expected a whole number in -3..3" in errors["impacts.on_site[0].rating"]
    assert "rated twice (also at [0])" in errors["impacts.on_site[1].impact"]
    assert "got a boolean" in errors["impacts.on_site[2].rating"]
    assert errors["impacts.on_site[3].rating"].startswith("is required")
    assert "is not a code of the off_site_impacts list" in errors["impacts.off_site[0].impact"]
    errors = errors_of(record(impacts={"on_site": []}))
    assert errors["impacts.on_site"].startswith("is empty; expected a list of at least 1")


def test_validate_practice__location(record: Record) -> None:
    errors = errors_of(record(location={"countries": ["ke", "Kenya"], "lat": 95.0, "lon": None}))
    assert "Write it in capitals: 'KE'" in errors["location.countries[0]"]
    assert "is not an ISO 3166-1 alpha-2 code" in errors["location.countries[1]"]
    assert "is 95.0; expected a number in -90..90" in errors["location.lat"]
    assert "expected both lat and lon" in errors["location.lon"]
    assert errors_of(record(location={"countries": []}))["location.countries"].startswith(
        "is empty"
    )


def test_validate_practice__keywords(record: Record) -> None:
    errors = errors_of(record(keywords=["x", "ok word", "a;b", "OK word", 7]))
    assert "has 1 characters; expected text of 2-60" in errors["keywords[0]"]
    assert "contains ';'" in errors["keywords[2]"]
    assert "repeats 'OK word'" in errors["keywords[3]"]
    assert "got a number" in errors["keywords[4]"]


def test_validate_practice__sources(record: Record) -> None:
    errors = errors_of(
        record(sources=[{"title": "", "url": "www.wocat.net", "year": "2007"}, "a book"])
    )
    assert errors["sources[0].title"].startswith("has 0 characters")
    assert "expected a URL starting with https:// or http://" in errors["sources[0].url"]
    assert "expected a whole number" in errors["sources[0].year"]
    assert "expected an object with title" in errors["sources[1]"]
    assert errors_of(record(sources=[]))["sources"].startswith("is empty")


def test_validate_practice__licence_language_uuid_status(record: Record) -> None:
    errors = errors_of(
        record(
            licence="MIT",
            language="english!",
            uuid=str(uuid.uuid1()),
            status="published",
            version=0,
        )
    )
    assert "CC0-1.0, CC-BY-4.0" in errors["licence"]
    assert "not a well-formed language tag" in errors["language"]
    assert "not a version-4 one" in errors["uuid"]
    assert "draft, submitted, approved, rejected" in errors["status"]
    assert "expected a whole number >= 1" in errors["version"]
    assert "is not a UUID" in errors_of(record(uuid="123"))["uuid"]


def test_validate_practice__unknown_fields_are_errors(record: Record) -> None:
    data = record(nmae="typo")
    data["costs"]["curency"] = "USD"
    data["sources"][0]["link"] = "https://x.org"
    errors = errors_of(data)
    assert "unknown field" in errors["nmae"] and "Did you mean 'name'?" in errors["nmae"]
    assert "Did you mean 'currency'?" in errors["costs.curency"]
    assert "unknown field" in errors["sources[0].link"]


def test_validate_practice__collects_every_error_one_line_each(record: Record) -> None:
    data = record(name="x", goals=["nope"], licence="MIT")
    data["costs"]["currency"] = "dollars"
    data["sources"][0]["url"] = "ftp://x"
    with pytest.raises(InputError) as info:  # a PracticeValidationError is an InputError
        validate_practice(data)
    exc = info.value
    assert isinstance(exc, PracticeValidationError)
    fields = [e["field"] for e in exc.errors]
    assert fields == ["name", "goals[0]", "costs.currency", "sources[0].url", "licence"]
    assert exc.errors[2]["value"] == "dollars"
    lines = str(exc).splitlines()
    assert lines[0] == "SLM practice record 'x': 5 errors:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == fields


def test_validate_practice__not_an_object() -> None:
    assert "expected a JSON object" in errors_of(["a", "list"])[""]


def test_check_practice__returns_errors_instead_of_raising(record: Record) -> None:
    rec, errors = check_practice(record())
    assert rec is not None and errors == []
    rec, errors = check_practice(record(name=""))
    assert rec is None and [e["field"] for e in errors] == ["name"]


# --------------------------------------------------------------------------- CSV form


def test_csv_row__reads_back_unchanged(record: Record) -> None:
    original = validate_practice(
        record(
            description='Line one with, a comma and "quotes".\nLine two: ünïcödé, ok; '
            "and more text to pass fifty characters.",
            costs={
                "establishment_per_ha": 100.0,
                "maintenance_per_ha_year": None,
                "currency": "KES",
                "year": 2020,
                "note": "a; b",
            },  # fmt: skip
            status="approved",
            version=3,
        )
    ).to_dict()
    row = record_to_csv_row(original)
    assert tuple(row) == CSV_COLUMNS
    assert row["impacts.on_site"] == "soil_loss:3;crop_production:2"
    assert row["keywords"] == "water harvesting;erosion control"
    assert (
        row["costs.establishment_per_ha"] == "100.0" and row["costs.maintenance_per_ha_year"] == ""
    )
    data, errors = record_from_csv_row(row)
    assert errors == []
    again = validate_practice(data).to_dict()
    assert again == original
    assert isinstance(again["costs"]["establishment_per_ha"], float)


def test_record_from_csv_row__cell_errors_have_field_paths(record: Record) -> None:
    row = record_to_csv_row(validate_practice(record()).to_dict())
    row["sources"] = "[{title: no quotes}]"
    row["impacts.on_site"] = "soil_loss:high;crop_production"
    row["costs.year"] = "twenty"
    data, read_errors = record_from_csv_row(row)
    assert [e["field"] for e in read_errors] == ["sources"]
    assert "is not valid JSON" in read_errors[0]["message"]
    _, errors = check_practice(data)
    fields = {e["field"] for e in errors}
    assert {"impacts.on_site[0].rating", "impacts.on_site[1].rating", "costs.year"} <= fields
