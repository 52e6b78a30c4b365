"""The controlled vocabulary of SLM practice records (``data/slm_vocabulary.yaml``).

The YAML file is read once, on first use, through :mod:`importlib.resources`. Every
list is closed: a record using a code that is not listed is refused (see
:mod:`landwatch.knowledge.records`). Codes are what records store; names are what
people read.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from landwatch.errors import InputError, NotFoundError

#: The lists of the vocabulary, in the order of the file.
LISTS: tuple[str, ...] = (
    "land_use",
    "degradation_types",
    "measure_types",
    "goals",
    "climate_zones",
    "aridity",
    "slope",
    "soil_texture",
    "scale",
    "impacts_on_site",
    "off_site_impacts",
    "adoption",
    "statuses",
    "licences",
)


@dataclass(frozen=True)
class Term:
    """One code of a list: its name and, for some lists, numbers that go with it.

    ``number`` is the IPCC climate-zone code (1-12) of ``climate_zones``;
    ``ai_min`` / ``ai_max`` are the aridity-index bounds of an ``aridity`` class
    (``ai_max`` None for the open upper class).
    """

    code: str
    name: str
    number: int | None = None
    ai_min: float | None = None
    ai_max: float | None = None


def _lookup_key(code: str) -> str:
    # case and separators do not make two codes different (e.g. "Grazing land")
    return re.sub(r"[\s\-_]+", "_", code.strip().lower())


@dataclass(frozen=True)
class Vocabulary:
    """All lists of the vocabulary: list name -> code -> :class:`Term`."""

    lists: Mapping[str, Mapping[str, Term]]
    #: list name -> lookup key (lower case, ``_`` for separators) -> code
    keys: Mapping[str, Mapping[str, str]]

    def codes(self, list_name: str) -> tuple[str, ...]:
        """The codes of ``list_name`` in the order of the file."""
        return tuple(self._list(list_name))

    def terms(self, list_name: str) -> tuple[Term, ...]:
        """The terms of ``list_name`` in the order of the file."""
        return tuple(self._list(list_name).values())

    def term(self, list_name: str, code: str) -> Term:
        """The term of ``code`` in ``list_name`` (NotFoundError naming the allowed codes)."""
        terms = self._list(list_name)
        if code not in terms:
            raise NotFoundError(
                f"{list_name}: {code!r} is not a code of the vocabulary; expected one of "
                f"{', '.join(terms)}."
            )
        return terms[code]

    def name(self, list_name: str, code: str) -> str:
        """The human-readable name of ``code`` in ``list_name``."""
        return self.term(list_name, code).name

    def canonical(self, list_name: str, value: str) -> str | None:
        """The code of ``list_name`` that ``value`` spells, ignoring case and separators.

        ``"grazing land"`` gives ``grazing_land``, ``"wt"`` gives ``Wt``; None when no
        code matches.
        """
        terms = self._list(list_name)
        if value in terms:
            return value
        return self.keys[list_name].get(_lookup_key(value))

    def climate_zone_for_number(self, number: int) -> str:
        """The climate-zone code of an IPCC climate-zone raster value (1-12)."""
        for term in self._list("climate_zones").values():
            if term.number == number:
                return term.code
        raise NotFoundError(
            f"climate zone number {number!r}: expected an IPCC climate-zone code 1-12."
        )

    def aridity_class(self, aridity_index: float) -> str:
        """The aridity class of an aridity index (P / PET), lower bound inclusive."""
        if not math.isfinite(aridity_index) or aridity_index < 0:
            raise InputError(
                f"aridity index {aridity_index!r}: expected a finite number >= 0 "
                "(mean annual precipitation / potential evapotranspiration)."
            )
        for term in self._list("aridity").values():
            lo = term.ai_min if term.ai_min is not None else -math.inf
            hi = term.ai_max if term.ai_max is not None else math.inf
            if lo <= aridity_index < hi:
                return term.code
        raise InputError(f"aridity index {aridity_index!r}: no aridity class covers it.")

    def _list(self, list_name: str) -> Mapping[str, Term]:
        try:
            return self.lists[list_name]
        except KeyError:
            raise NotFoundError(
                f"vocabulary list {list_name!r} does not exist; expected one of {', '.join(LISTS)}."
            ) from None


def _term(code: str, value: Any) -> Term:
    if isinstance(value, Mapping):
        return Term(
            code=code,
            name=str(value.get("name", code)),
            number=int(value["code"]) if "code" in value else None,
            ai_min=float(value["ai_min"]) if value.get("ai_min") is not None else None,
            ai_max=float(value["ai_max"]) if value.get("ai_max") is not None else None,
        )
    return Term(code=code, name=str(value) if value is not None else code)


def parse_vocabulary(raw: Mapping[str, Any]) -> Vocabulary:
    """Build a :class:`Vocabulary` from the parsed YAML document.

    Each list is either a mapping ``code: name`` (or ``code: {name: ..., ...}``) or a
    plain list of codes (whose names are the codes).

    Raises
    ------
    InputError
        A list is missing, empty, or has two codes that differ only in case or separators.
    """
    lists: dict[str, dict[str, Term]] = {}
    keys: dict[str, dict[str, str]] = {}
    for list_name in LISTS:
        entries = raw.get(list_name)
        if not entries:
            raise InputError(f"slm_vocabulary.yaml: the list {list_name!r} is missing or empty.")
        items = entries.items() if isinstance(entries, Mapping) else ((c, c) for c in entries)
        terms: dict[str, Term] = {}
        seen: dict[str, str] = {}
        for code, value in items:
            code = str(code)
            key = _lookup_key(code)
            if key in seen:
                raise InputError(
                    f"slm_vocabulary.yaml: {list_name} has {seen[key]!r} and {code!r}, "
                    "which differ only in case or separators."
                )
            seen[key] = code
            terms[code] = _term(code, value)
        lists[list_name] = terms
        keys[list_name] = dict(seen)
    return Vocabulary(lists=lists, keys=keys)


@functools.cache
def vocabulary() -> Vocabulary:
    """The vocabulary of ``data/slm_vocabulary.yaml``, read once."""
    text = (resources.files("landwatch") / "data" / "slm_vocabulary.yaml").read_text(
        encoding="utf-8"
    )
    return parse_vocabulary(yaml.safe_load(text))


def codes(list_name: str) -> tuple[str, ...]:
    """The codes of a list of the vocabulary, e.g. ``codes("goals")``."""
    return vocabulary().codes(list_name)


__all__ = ["LISTS", "Term", "Vocabulary", "codes", "parse_vocabulary", "vocabulary"]
