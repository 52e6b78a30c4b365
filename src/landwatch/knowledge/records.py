"""SLM practice records: the rules of ``docs/slm_record_schema.md`` in one function.

Every entry point (submission, edit, JSON and CSV import, the built-in records, the
API) goes through :func:`validate_practice` (or :func:`check_practice`, which
returns the errors instead of raising), so a record is held to the same rules
whichever way it comes in. All errors of a record are collected, each with its
field path (``costs.currency``, ``sources[0].url``), so a contributor can fix them
in one go.

:func:`record_to_csv_row` and :func:`record_from_csv_row` convert between a record
and one CSV row (list fields joined with ``;``, nested objects flattened as
``costs.currency``, impacts as ``impact:rating;...``, sources as JSON text) such
that a record reads back unchanged.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import uuid as uuid_mod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from landwatch.errors import InputError
from landwatch.knowledge.vocabulary import vocabulary
from landwatch.observations.language import canonical_language_tag

#: Every top-level field of a record, in the order of the schema (and of exports).
FIELDS: tuple[str, ...] = (
    "uuid",
    "name",
    "summary",
    "description",
    "land_use",
    "degradation_types",
    "measure_types",
    "goals",
    "climate_zones",
    "aridity",
    "slope",
    "soil_texture",
    "scale",
    "costs",
    "impacts",
    "adoption",
    "location",
    "keywords",
    "sources",
    "licence",
    "language",
    "contributor",
    "status",
    "version",
)
#: Fields set by the system (on submission, edit and review), not by the contributor.
SYSTEM_FIELDS: tuple[str, ...] = ("status", "version")

#: Code-list fields: field -> (vocabulary list, minimum number of codes).
CODE_LIST_FIELDS: dict[str, tuple[str, int]] = {
    "land_use": ("land_use", 1),
    "degradation_types": ("degradation_types", 1),
    "measure_types": ("measure_types", 1),
    "goals": ("goals", 1),
    "climate_zones": ("climate_zones", 1),
    "aridity": ("aridity", 1),
    "slope": ("slope", 0),
    "soil_texture": ("soil_texture", 0),
    "scale": ("scale", 1),
}
#: The facets of a search: the code-list fields people filter by.
FACETS: tuple[str, ...] = (
    "land_use",
    "degradation_types",
    "climate_zones",
    "aridity",
    "goals",
    "measure_types",
)
COST_FIELDS: tuple[str, ...] = (
    "establishment_per_ha",
    "maintenance_per_ha_year",
    "currency",
    "year",
    "note",
)
IMPACT_LISTS: dict[str, str] = {"on_site": "impacts_on_site", "off_site": "off_site_impacts"}
ADOPTION_FIELDS: tuple[str, ...] = ("level", "note")
LOCATION_FIELDS: tuple[str, ...] = ("countries", "lat", "lon")
SOURCE_FIELDS: tuple[str, ...] = ("title", "authors", "year", "publisher", "url", "doi")

NAME_LENGTH = (3, 200)
SUMMARY_LENGTH = (20, 600)
DESCRIPTION_LENGTH = (50, 20_000)
KEYWORD_LENGTH = (2, 60)
CONTRIBUTOR_LENGTH = (1, 200)
SOURCE_TITLE_LENGTH = (1, 1_000)
COST_YEARS = (1950, 2100)
SOURCE_YEARS = (1000, 2100)
RATING_RANGE = (-3, 3)
#: Separator of list items in a CSV cell (so it may not occur in a keyword).
LIST_SEPARATOR = ";"

_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_MISSING: Any = object()


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Costs:
    """Costs per hectare in ``currency`` of ``year`` (None: not known)."""

    establishment_per_ha: float | None = None
    maintenance_per_ha_year: float | None = None
    currency: str | None = None
    year: int | None = None
    note: str = ""


@dataclass(frozen=True)
class ImpactRating:
    """An impact code and its rating, -3 (very negative) .. +3 (very positive)."""

    impact: str
    rating: int


@dataclass(frozen=True)
class Impacts:
    on_site: tuple[ImpactRating, ...]
    off_site: tuple[ImpactRating, ...] = ()


@dataclass(frozen=True)
class Adoption:
    level: str
    note: str = ""


@dataclass(frozen=True)
class Location:
    """ISO 3166-1 alpha-2 countries and an optional WGS84 point (degrees)."""

    countries: tuple[str, ...]
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Source:
    title: str
    authors: str = ""
    year: int | None = None
    publisher: str = ""
    url: str = ""
    doi: str = ""


@dataclass(frozen=True)
class PracticeRecord:
    """A valid SLM practice record (see ``docs/slm_record_schema.md``).

    Text is stripped of surrounding white space and codes are in their vocabulary
    spelling. ``status`` and ``version`` are None until the system sets them.
    """

    uuid: str
    name: str
    summary: str
    description: str
    land_use: tuple[str, ...]
    degradation_types: tuple[str, ...]
    measure_types: tuple[str, ...]
    goals: tuple[str, ...]
    climate_zones: tuple[str, ...]
    aridity: tuple[str, ...]
    slope: tuple[str, ...]
    soil_texture: tuple[str, ...]
    scale: tuple[str, ...]
    costs: Costs
    impacts: Impacts
    adoption: Adoption
    location: Location
    keywords: tuple[str, ...]
    sources: tuple[Source, ...]
    licence: str
    language: str
    contributor: str
    status: str | None = None
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, fields in schema order (lists, not tuples)."""
        return {
            "uuid": self.uuid,
            "name": self.name,
            "summary": self.summary,
            "description": self.description,
            **{f: list(getattr(self, f)) for f in CODE_LIST_FIELDS},
            "costs": {f: getattr(self.costs, f) for f in COST_FIELDS},
            "impacts": {
                kind: [
                    {"impact": i.impact, "rating": i.rating} for i in getattr(self.impacts, kind)
                ]
                for kind in IMPACT_LISTS
            },
            "adoption": {"level": self.adoption.level, "note": self.adoption.note},
            "location": {
                "countries": list(self.location.countries),
                "lat": self.location.lat,
                "lon": self.location.lon,
            },
            "keywords": list(self.keywords),
            "sources": [{f: getattr(s, f) for f in SOURCE_FIELDS} for s in self.sources],
            "licence": self.licence,
            "language": self.language,
            "contributor": self.contributor,
            "status": self.status,
            "version": self.version,
        }

    def content(self) -> dict[str, Any]:
        """:meth:`to_dict` without the system fields ``status`` and ``version``."""
        out = self.to_dict()
        for name in SYSTEM_FIELDS:
            del out[name]
        return out


# --------------------------------------------------------------------------- errors


class PracticeValidationError(InputError):
    """A practice record breaks rules of the schema.

    ``errors`` lists every problem as ``{"field": "costs.currency", "message": ...,
    "value": ...}``; ``str()`` gives one line per field error.
    """

    def __init__(self, errors: Sequence[Mapping[str, Any]], *, label: str = "") -> None:
        self.errors: list[dict[str, Any]] = [dict(e) for e in errors]
        self.label = label
        super().__init__(format_field_errors(self.errors, label=label))


def format_field_errors(
    errors: Sequence[Mapping[str, Any]], *, label: str = "", title: str = "SLM practice record"
) -> str:
    """The text of :class:`PracticeValidationError`: a heading, then a line per error.

    The heading is ``title`` and ``label`` (e.g. the record's name) with the number of
    errors; each line is ``field: message``.
    """
    n = len(errors)
    head = f"{title}{' ' + label if label else ''}: {n} error{'s' if n != 1 else ''}"
    lines = [f"  {e['field'] or '(record)'}: {e['message']}" for e in errors]
    return "\n".join([head + ":", *lines]) if lines else head


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"text {_show(value)}"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


class _Errors:
    """Collects field errors in the order they are found."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: str, message: str, value: Any = None) -> None:
        self.items.append({"field": path, "message": message, "value": value})


# --------------------------------------------------------------------------- checks


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(
    errs: _Errors,
    path: str,
    value: Any,
    length: tuple[int, int],
    *,
    required: bool = True,
    one_line: bool = False,
    one_paragraph: bool = False,
) -> str | None:
    lo, hi = length
    expected = f"expected text of {lo}-{hi:,} characters"
    if value is _MISSING or value is None:
        if required:
            errs.add(path, f"is required; {expected}.", None)
        return None
    if not isinstance(value, str):
        errs.add(path, f"{expected}, got {_kind(value)}.", value)
        return None
    text = value.strip()
    if not text and not required:
        return ""
    if not lo <= len(text) <= hi:
        errs.add(path, f"has {len(text):,} characters; {expected}.", value)
        return None
    if one_line and ("\n" in text or "\r" in text):
        errs.add(path, "contains a line break; expected one line of text.", value)
        return None
    if one_paragraph and re.search(r"\n[ \t]*\n", text):
        errs.add(
            path,
            "has several paragraphs; expected one paragraph (no blank lines). "
            "Move the details to description.",
            value,
        )
        return None
    return text


def _note(errs: _Errors, path: str, value: Any) -> str:
    """Optional free text: missing or null is empty."""
    if value is _MISSING or value is None:
        return ""
    if not isinstance(value, str):
        errs.add(path, f"expected text (may be empty), got {_kind(value)}.", value)
        return ""
    return value.strip()


def _codes_message(list_name: str) -> str:
    return ", ".join(vocabulary().codes(list_name))


def _code(errs: _Errors, path: str, value: Any, list_name: str) -> str | None:
    allowed = _codes_message(list_name)
    if value is _MISSING or _blank(value):
        errs.add(path, f"is required; expected one of the {list_name} codes: {allowed}.", None)
        return None
    if not isinstance(value, str):
        errs.add(path, f"expected a {list_name} code ({allowed}), got {_kind(value)}.", value)
        return None
    code = vocabulary().canonical(list_name, value)
    if code is None:
        close = difflib.get_close_matches(value, vocabulary().codes(list_name), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        errs.add(
            path,
            f"{value!r} is not a code of the {list_name} list; expected one of: {allowed}.{hint}",
            value,
        )
        return None
    return code


def _list(errs: _Errors, path: str, value: Any, what: str, minimum: int) -> list[Any] | None:
    """``value`` as a list, or None after an error. Missing is an empty list."""
    if value is _MISSING or value is None:
        if minimum > 0:
            errs.add(path, f"is required; expected a list of at least {minimum} {what}.", None)
            return None
        return []
    if not isinstance(value, list | tuple):
        errs.add(path, f"expected a list of {what}, got {_kind(value)}.", value)
        return None
    if len(value) < minimum:
        errs.add(path, f"is empty; expected a list of at least {minimum} {what}.", list(value))
        return None
    return list(value)


def _code_list(errs: _Errors, path: str, value: Any, list_name: str, minimum: int) -> list[str]:
    what = f"codes from {list_name} ({_codes_message(list_name)})"
    items = _list(errs, path, value, what, minimum)
    if items is None:
        return []
    out: list[str] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        code = _code(errs, f"{path}[{i}]", item, list_name)
        if code is None:
            continue
        if code in first:
            errs.add(
                f"{path}[{i}]",
                f"repeats {code!r} (also at [{first[code]}]); expected each code once.",
                item,
            )
            continue
        first[code] = i
        out.append(code)
    return out


def _number(
    errs: _Errors,
    path: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    integer: bool = False,
    unit: str = "",
    nullable: bool = True,
) -> float | int | None:
    """A number (or None for missing / null); int when ``integer``."""
    if value is _MISSING or value is None:
        return None
    kind = "a whole number" if integer else "a number"
    bounds = ""
    if lo is not None and hi is not None:
        bounds = f" in {lo:g}..{hi:g}"
    elif lo is not None:
        bounds = f" >= {lo:g}"
    expected = (
        f"expected {kind}{bounds}{' ' + unit if unit else ''}{' or null' if nullable else ''}"
    )
    if isinstance(value, bool) or not isinstance(value, int | float):
        errs.add(path, f"{expected}, got {_kind(value)}.", value)
        return None
    if integer and not isinstance(value, int):
        if not (math.isfinite(value) and value == int(value)):
            errs.add(path, f"{expected}, got {value!r}.", value)
            return None
        value = int(value)
    if (
        not math.isfinite(value)
        or (lo is not None and value < lo)
        or (hi is not None and value > hi)
    ):
        errs.add(path, f"is {value!r}; {expected}.", value)
        return None
    return value


def _unknown_keys(
    errs: _Errors, prefix: str, data: Mapping[str, Any], known: Sequence[str]
) -> None:
    for key in data:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        errs.add(
            f"{prefix}{key}",
            f"unknown field; expected only {', '.join(known)}.{hint}",
            data[key],
        )


def _object(
    errs: _Errors, path: str, value: Any, known: Sequence[str], *, required: bool
) -> Mapping[str, Any] | None:
    if value is _MISSING or value is None:
        if required:
            errs.add(path, f"is required; expected an object with {', '.join(known)}.", None)
            return None
        return {}
    if not isinstance(value, Mapping):
        errs.add(path, f"expected an object with {', '.join(known)}, got {_kind(value)}.", value)
        return None
    _unknown_keys(errs, f"{path}.", value, known)
    return value


def _uuid(errs: _Errors, value: Any) -> str:
    if value is _MISSING or _blank(value):
        return str(uuid_mod.uuid4())
    expected = (
        "expected a UUID4 such as '0f8fad5b-d9cb-469f-a165-70867728950e'; leave it out "
        "to get a new one"
    )
    if not isinstance(value, str):
        errs.add("uuid", f"{expected}, got {_kind(value)}.", value)
        return ""
    try:
        parsed = uuid_mod.UUID(value.strip())
    except ValueError:
        errs.add("uuid", f"{value!r} is not a UUID; {expected}.", value)
        return ""
    if parsed.version != 4 or parsed.variant != uuid_mod.RFC_4122:
        errs.add("uuid", f"{value!r} is a UUID but not a version-4 one; {expected}.", value)
        return ""
    return str(parsed)


def _costs(errs: _Errors, value: Any) -> Costs:
    data = _object(errs, "costs", value, COST_FIELDS, required=False)
    if data is None:
        return Costs()
    est = _number(
        errs, "costs.establishment_per_ha", data.get("establishment_per_ha"), lo=0, unit="per ha"
    )
    main = _number(
        errs,
        "costs.maintenance_per_ha_year",
        data.get("maintenance_per_ha_year"),
        lo=0,
        unit="per ha and year",
    )
    cost_given = (
        data.get("establishment_per_ha") is not None
        or data.get("maintenance_per_ha_year") is not None
    )
    currency: str | None = None
    raw_currency = data.get("currency")
    if _blank(raw_currency):
        if cost_given:
            errs.add(
                "costs.currency",
                "is required when a cost is given; expected an ISO 4217 code of 3 capital "
                "letters, e.g. USD, EUR, KES.",
                raw_currency,
            )
    elif not isinstance(raw_currency, str) or not _CURRENCY.fullmatch(raw_currency.strip()):
        errs.add(
            "costs.currency",
            f"{_show(raw_currency)} is not an ISO 4217 currency code; expected 3 capital "
            "letters, e.g. USD, EUR, KES.",
            raw_currency,
        )
    else:
        currency = raw_currency.strip()
    year: int | None = None
    if data.get("year") is None:
        if cost_given:
            errs.add(
                "costs.year",
                f"is required when a cost is given; expected the year the costs refer to "
                f"({COST_YEARS[0]}-{COST_YEARS[1]}).",
                None,
            )
    else:
        y = _number(
            errs, "costs.year", data["year"], lo=COST_YEARS[0], hi=COST_YEARS[1], integer=True
        )
        year = int(y) if y is not None else None
    return Costs(
        establishment_per_ha=est,
        maintenance_per_ha_year=main,
        currency=currency,
        year=year,
        note=_note(errs, "costs.note", data.get("note")),
    )


def _impact_list(
    errs: _Errors, path: str, value: Any, list_name: str, minimum: int
) -> tuple[ImpactRating, ...]:
    what = f"{{impact, rating}} objects with impact from {list_name}"
    items = _list(errs, path, value, what, minimum)
    if items is None:
        return ()
    out: list[ImpactRating] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        obj = _object(errs, p, item, ("impact", "rating"), required=True)
        if obj is None:
            continue
        code = _code(errs, f"{p}.impact", obj.get("impact", _MISSING), list_name)
        rating: int | None = None
        lo, hi = RATING_RANGE
        if obj.get("rating") is None:
            errs.add(f"{p}.rating", f"is required; expected a whole number {lo}..{hi}.", None)
        else:
            r = _number(
                errs, f"{p}.rating", obj["rating"], lo=lo, hi=hi, integer=True, nullable=False
            )
            rating = int(r) if r is not None else None
        if code is not None and code in first:
            errs.add(
                f"{p}.impact",
                f"{code!r} is rated twice (also at [{first[code]}]); expected each impact at "
                "most once per list.",
                obj.get("impact"),
            )
            continue
        if code is not None:
            first[code] = i
        if code is not None and rating is not None:
            out.append(ImpactRating(code, rating))
    return tuple(out)


def _impacts(errs: _Errors, value: Any) -> Impacts:
    data = _object(errs, "impacts", value, tuple(IMPACT_LISTS), required=True)
    if data is None:
        return Impacts(on_site=())
    on_site = _impact_list(errs, "impacts.on_site", data.get("on_site"), "impacts_on_site", 1)
    off_site = _impact_list(errs, "impacts.off_site", data.get("off_site"), "off_site_impacts", 0)
    return Impacts(on_site=on_site, off_site=off_site)


def _adoption(errs: _Errors, value: Any) -> Adoption:
    data = _object(errs, "adoption", value, ADOPTION_FIELDS, required=True)
    if data is None:
        return Adoption(level="")
    level = _code(errs, "adoption.level", data.get("level", _MISSING), "adoption")
    return Adoption(level=level or "", note=_note(errs, "adoption.note", data.get("note")))


def _location(errs: _Errors, value: Any) -> Location:
    data = _object(errs, "location", value, LOCATION_FIELDS, required=True)
    if data is None:
        return Location(countries=())
    what = "ISO 3166-1 alpha-2 country codes (2 capital letters, e.g. KE, ET, BF)"
    items = _list(errs, "location.countries", data.get("countries"), what, 1) or []
    countries: list[str] = []
    for i, item in enumerate(items):
        p = f"location.countries[{i}]"
        if not isinstance(item, str) or not _COUNTRY.fullmatch(item.strip()):
            hint = ""
            if isinstance(item, str) and _COUNTRY.fullmatch(item.strip().upper()):
                hint = f" Write it in capitals: {item.strip().upper()!r}."
            errs.add(
                p, f"{_show(item)} is not an ISO 3166-1 alpha-2 code; expected {what}.{hint}", item
            )
        elif item.strip() in countries:
            errs.add(p, f"repeats {item.strip()!r}; expected each country once.", item)
        else:
            countries.append(item.strip())
    lat = _number(errs, "location.lat", data.get("lat"), lo=-90, hi=90, unit="degrees (WGS84)")
    lon = _number(errs, "location.lon", data.get("lon"), lo=-180, hi=180, unit="degrees (WGS84)")
    if (data.get("lat") is None) != (data.get("lon") is None):
        missing = "location.lat" if data.get("lat") is None else "location.lon"
        errs.add(
            missing,
            "is missing while the other coordinate is given; expected both lat and lon, or neither.",
            None,
        )
    return Location(countries=tuple(countries), lat=lat, lon=lon)


def _keywords(errs: _Errors, value: Any) -> list[str]:
    lo, hi = KEYWORD_LENGTH
    items = _list(errs, "keywords", value, f"keywords ({lo}-{hi} characters each)", 0) or []
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        p = f"keywords[{i}]"
        word = _text(errs, p, item, KEYWORD_LENGTH, one_line=True)
        if word is None:
            continue
        if LIST_SEPARATOR in word:
            errs.add(p, f"contains {LIST_SEPARATOR!r}; expected one keyword per list item.", item)
            continue
        key = word.casefold()
        if key in seen:
            errs.add(
                p, f"repeats {word!r} (also at [{seen[key]}]); expected each keyword once.", item
            )
            continue
        seen[key] = i
        out.append(word)
    return out


def _sources(errs: _Errors, value: Any) -> list[Source]:
    items = _list(
        errs, "sources", value, "source objects ({title, authors, year, publisher, url, doi})", 1
    )
    out: list[Source] = []
    for i, item in enumerate(items or []):
        p = f"sources[{i}]"
        obj = _object(errs, p, item, SOURCE_FIELDS, required=True)
        if obj is None:
            continue
        n_before = len(errs.items)
        title = _text(errs, f"{p}.title", obj.get("title"), SOURCE_TITLE_LENGTH)
        year_value = _number(
            errs, f"{p}.year", obj.get("year"), lo=SOURCE_YEARS[0], hi=SOURCE_YEARS[1], integer=True
        )
        url = _note(errs, f"{p}.url", obj.get("url"))
        if url and (not re.match(r"https?://\S+$", url)):
            errs.add(
                f"{p}.url",
                f"{_show(url)} is not a web address; expected a URL starting with https:// or "
                "http:// (no spaces), or leave it empty.",
                obj.get("url"),
            )
        source = Source(
            title=title or "",
            authors=_note(errs, f"{p}.authors", obj.get("authors")),
            year=int(year_value) if year_value is not None else None,
            publisher=_note(errs, f"{p}.publisher", obj.get("publisher")),
            url=url,
            doi=_note(errs, f"{p}.doi", obj.get("doi")),
        )
        if len(errs.items) == n_before:
            out.append(source)
    return out


def _language(errs: _Errors, value: Any) -> str:
    if value is _MISSING or _blank(value):
        errs.add(
            "language", "is required; expected a BCP 47 language tag such as en, fr, sw.", None
        )
        return ""
    if not isinstance(value, str):
        errs.add(
            "language",
            f"expected a BCP 47 language tag such as en, fr, sw, got {_kind(value)}.",
            value,
        )
        return ""
    try:
        return canonical_language_tag(value)
    except InputError as exc:
        errs.add("language", str(exc).removeprefix("language: "), value)
        return ""


def check_practice(data: Any) -> tuple[PracticeRecord | None, list[dict[str, Any]]]:
    """Check a record against every rule; return it (or None) and the list of errors.

    The same as :func:`validate_practice`, but returns the errors (``field``,
    ``message``, ``value``) instead of raising them. The record is None exactly when
    there are errors.
    """
    errs = _Errors()
    if not isinstance(data, Mapping):
        errs.add(
            "",
            f"expected a JSON object with the fields {', '.join(FIELDS)}, got {_kind(data)}.",
            data,
        )
        return None, errs.items
    _unknown_keys(errs, "", data, FIELDS)

    def get(name: str) -> Any:
        return data.get(name, _MISSING)

    uuid = _uuid(errs, get("uuid"))
    name = _text(errs, "name", get("name"), NAME_LENGTH, one_line=True)
    summary = _text(errs, "summary", get("summary"), SUMMARY_LENGTH, one_paragraph=True)
    description = _text(errs, "description", get("description"), DESCRIPTION_LENGTH)
    code_lists = {
        f: _code_list(errs, f, get(f), list_name, minimum)
        for f, (list_name, minimum) in CODE_LIST_FIELDS.items()
    }
    costs = _costs(errs, get("costs"))
    impacts = _impacts(errs, get("impacts"))
    adoption = _adoption(errs, get("adoption"))
    location = _location(errs, get("location"))
    keywords = _keywords(errs, get("keywords"))
    sources = _sources(errs, get("sources"))
    licence = _code(errs, "licence", get("licence"), "licences")
    language = _language(errs, get("language"))
    contributor = _text(errs, "contributor", get("contributor"), CONTRIBUTOR_LENGTH, one_line=True)
    status = (
        None if _blank(data.get("status")) else _code(errs, "status", data["status"], "statuses")
    )
    version_value = _number(errs, "version", data.get("version"), lo=1, integer=True)
    if errs.items:
        return None, errs.items
    record = PracticeRecord(
        uuid=uuid,
        name=name or "",
        summary=summary or "",
        description=description or "",
        **{f: tuple(v) for f, v in code_lists.items()},
        costs=costs,
        impacts=impacts,
        adoption=adoption,
        location=location,
        keywords=tuple(keywords),
        sources=tuple(sources),
        licence=licence or "",
        language=language,
        contributor=contributor or "",
        status=status,
        version=int(version_value) if version_value is not None else None,
    )
    return record, []


def validate_practice(data: Mapping[str, Any]) -> PracticeRecord:
    """Check an SLM practice record against every rule of the schema.

    Parameters
    ----------
    data : mapping
        The record as parsed from JSON: field name -> value (see
        ``docs/slm_record_schema.md``). ``uuid`` is generated when missing;
        ``status`` and ``version`` are optional (the system sets them).

    Returns
    -------
    PracticeRecord
        The record with text stripped and codes in their vocabulary spelling
        (matching ignores case and separators: ``"grazing land"`` -> ``grazing_land``).

    Raises
    ------
    PracticeValidationError
        One or more fields break the rules; ``.errors`` lists all of them with field
        paths such as ``costs.currency`` or ``sources[0].url``. Unknown fields (at any
        level) are errors too, so a misspelt field is never silently dropped.

    Notes
    -----
    Beyond the table of the schema: a name and keywords are one line; a summary has
    no blank line; a code, country, keyword or impact appears at most once per list;
    a keyword may not contain ``;`` (the CSV list separator); ``location.lat`` and
    ``location.lon`` are given together or not at all.
    """
    record, errors = check_practice(data)
    if errors:
        name = data.get("name") if isinstance(data, Mapping) else None
        raise PracticeValidationError(errors, label=repr(name) if isinstance(name, str) else "")
    assert record is not None
    return record


# --------------------------------------------------------------------------- CSV form

_LIST_COLUMNS: tuple[str, ...] = (*CODE_LIST_FIELDS, "keywords", "location.countries")
_NUMBER_COLUMNS: tuple[str, ...] = (
    "costs.establishment_per_ha",
    "costs.maintenance_per_ha_year",
    "costs.year",
    "location.lat",
    "location.lon",
    "version",
)
_IMPACT_COLUMNS: tuple[str, ...] = ("impacts.on_site", "impacts.off_site")

#: The columns of a CSV export, one row per record.
CSV_COLUMNS: tuple[str, ...] = (
    "uuid",
    "name",
    "summary",
    "description",
    *CODE_LIST_FIELDS,
    *(f"costs.{f}" for f in COST_FIELDS),
    *_IMPACT_COLUMNS,
    *(f"adoption.{f}" for f in ADOPTION_FIELDS),
    *(f"location.{f}" for f in LOCATION_FIELDS),
    "keywords",
    "sources",
    "licence",
    "language",
    "contributor",
    "status",
    "version",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)  # repr-exact for floats


def record_to_csv_row(record: Mapping[str, Any]) -> dict[str, str]:
    """One CSV row (column -> text) of a record as given by :meth:`PracticeRecord.to_dict`."""
    row: dict[str, str] = {}
    for column in CSV_COLUMNS:
        head, _, tail = column.partition(".")
        value = record.get(head)
        if tail:
            value = (value or {}).get(tail)
        if column in _IMPACT_COLUMNS:
            row[column] = LIST_SEPARATOR.join(f"{i['impact']}:{i['rating']}" for i in value or [])
        elif column == "sources":
            row[column] = json.dumps(value or [], ensure_ascii=False)
        elif column in _LIST_COLUMNS:
            row[column] = LIST_SEPARATOR.join(_cell(v) for v in value or [])
        else:
            row[column] = _cell(value)
    return row


def _parse_number(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text  # the rules say what is wrong with it


def record_from_csv_row(
    row: Mapping[str, str | None],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A record (as JSON-like data, not yet validated) from one CSV row.

    Returns the data and the errors found while reading cells that have a format of
    their own (the sources JSON). Unknown columns stay in the data under their name,
    so that :func:`check_practice` reports them.
    """
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for column, raw in row.items():
        if column is None:  # a row with more cells than the header
            errors.append(
                {
                    "field": "",
                    "message": "has more cells than the header has columns.",
                    "value": raw,
                }
            )
            continue
        text = raw if isinstance(raw, str) else ""
        if column in _IMPACT_COLUMNS:
            items: list[dict[str, Any]] = []
            for piece in text.split(LIST_SEPARATOR) if text.strip() else []:
                impact, colon, rating = piece.rpartition(":")
                if not colon:
                    items.append({"impact": piece.strip()})
                else:
                    items.append({"impact": impact.strip(), "rating": _parse_number(rating)})
            value: Any = items
        elif column == "sources":
            if not text.strip():
                value = None
            else:
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    errors.append(
                        {
                            "field": "sources",
                            "message": f"is not valid JSON ({exc.msg} at character {exc.pos}); "
                            'expected a JSON list such as [{"title": "...", "url": "https://..."}].',
                            "value": text,
                        }
                    )
                    continue
        elif column in _LIST_COLUMNS:
            value = [p.strip() for p in text.split(LIST_SEPARATOR)] if text.strip() else []
        elif column in _NUMBER_COLUMNS:
            value = _parse_number(text)
        else:
            value = text
        head, _, tail = column.partition(".")
        if tail and head in ("costs", "impacts", "adoption", "location"):
            target = data.setdefault(head, {})
            if isinstance(target, dict):
                target[tail] = value
        else:
            data[column] = value
    return data, errors


__all__ = [
    "CODE_LIST_FIELDS",
    "CSV_COLUMNS",
    "FACETS",
    "FIELDS",
    "SYSTEM_FIELDS",
    "Adoption",
    "Costs",
    "ImpactRating",
    "Impacts",
    "Location",
    "PracticeRecord",
    "PracticeValidationError",
    "Source",
    "check_practice",
    "format_field_errors",
    "record_from_csv_row",
    "record_to_csv_row",
    "validate_practice",
]
