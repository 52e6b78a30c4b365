"""Search of the knowledge base: BM25F ranking with field weights, the normaliser
(plurals, suffixes, accents, prefix of the last word), facets and who sees what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from landwatch.errors import InputError, PermissionDenied
from landwatch.knowledge.practices import import_practices, search_practices, submit_practice
from landwatch.knowledge.search import SearchDocument, fold, normalise, rank, snippet, stem
from landwatch.store import session_scope
from landwatch.store.auth import get_user

Record = Callable[..., dict[str, Any]]

FILLER = " The practice is maintained every year by the land users and their neighbours."


@pytest.fixture()
def corpus(engine: Engine, record: Record) -> Engine:
    """Six approved records with known words and codes, and one submitted record."""
    recs = [
        record(
            name="Bench terraces on steep slopes",
            summary="Level steps cut into hillsides hold water and soil on steep cropland.",
            description="Built by hand on slopes over 15 %, with risers protected by grass."
            + FILLER,
            land_use=["cropland"], climate_zones=["tropical_montane"], aridity=["humid"],
            goals=["reduce", "restore"], measure_types=["structural"], keywords=[],
        ),
        record(
            name="Stone bunds on the contour",
            summary="Lines of stones along the contour slow runoff on sloping fields.",
            description="Stones are laid in lines along the contour. Where stones are scarce, "
            "terraces or earth bunds are used instead." + FILLER,
            land_use=["cropland"], climate_zones=["tropical_dry"], aridity=["semi_arid"],
            goals=["reduce"], measure_types=["structural"],
        ),
        record(
            name="Zaï planting pits",
            summary="Small pits filled with manure concentrate water and nutrients for crops.",
            description="Pits of 20-40 cm are dug in the dry season on crusted land." + FILLER,
            land_use=["cropland"], climate_zones=["tropical_dry"], aridity=["arid", "semi_arid"],
            goals=["restore"], measure_types=["structural", "agronomic"], keywords=["zai", "tassa"],
        ),
        record(
            name="Rotational grazing with rest periods",
            summary="Herds move between paddocks so that grasses recover and set seed.",
            description="Grazed paddocks are rested through the growing season." + FILLER,
            land_use=["grazing_land"], climate_zones=["tropical_dry", "warm_temperate_dry"],
            aridity=["semi_arid"], goals=["prevent", "reduce"], measure_types=["management"],
            keywords=["rangeland"],
        ),
        record(
            name="Vegetative grass strips",
            summary="Strips of perennial grass across the slope filter runoff from fields.",
            description="Grass strips of vetiver or napier grass are planted every 10-20 m "
            "across the slope." + FILLER,
            land_use=["cropland", "mixed"], climate_zones=["tropical_moist"], aridity=["dry_subhumid"],
            goals=["reduce"], measure_types=["vegetative"], keywords=["vetiver"],
        ),
        record(
            name="Agroforestry parklands",
            summary="Trees kept on cropland give shade, fodder and litter that feeds the soil.",
            description="Farmers protect and prune naturally regenerating trees." + FILLER,
            land_use=["mixed"], climate_zones=["tropical_dry"], aridity=["semi_arid"],
            goals=["prevent", "restore"], measure_types=["vegetative", "management"],
            keywords=["farmer managed natural regeneration"],
        ),
    ]  # fmt: skip
    with session_scope(engine) as s:
        import_practices(s, recs, get_user(s, "mona"), status="approved")
        submit_practice(
            s,
            record(name="Pending terraces", summary="A submitted record about terraces only."),
            get_user(s, "alice"),
        )
    return engine


def names(engine: Engine, query: str = "", **kw: Any) -> list[str]:
    with session_scope(engine) as s:
        return [h.name for h in search_practices(s, query, **kw).hits]


# --------------------------------------------------------------------------- normaliser


def test_stem__plurals_and_suffixes_meet() -> None:
    assert stem("terraces") == stem("terraced") == stem("terracing") == stem("terrace")
    assert stem("bunds") == stem("bund") == "bund"
    assert stem("cropping") == stem("crops") == "crop"
    assert stem("grasses") == stem("grass") == "grass"
    assert stem("grazing") == stem("grazed") == stem("graze")
    assert stem("breeding") == stem("breed") and stem("seed") == "seed"
    assert stem("ditches") == "ditch" and stem("analysis") == "analysis"
    assert normalise("Zaï PITS") == ["zai", "pit"]
    assert fold("Ñame Über") == "name uber"


def test_rank__field_weights_and_empty_query() -> None:
    docs = [
        SearchDocument("desc", {"name": "Other", "summary": "", "keywords": "", "description": "mulch here"}),
        SearchDocument("kw", {"name": "Other two", "summary": "", "keywords": "mulch", "description": ""}),
        SearchDocument("name", {"name": "Mulch", "summary": "", "keywords": "", "description": ""}),
    ]  # fmt: skip
    ranked = rank(docs, "mulching")
    assert [r.key for r in ranked] == ["name", "kw", "desc"]
    assert ranked[0].score > ranked[1].score > ranked[2].score > 0
    assert [r.key for r in rank(docs, "")] == ["name", "desc", "kw"]  # by name
    assert rank(docs, "absent") == []


def test_snippet__cuts_around_the_first_match() -> None:
    text = "word " * 60 + "the Zaï pits are here " + "more " * 60
    out = snippet(text, ["zai"], length=80)
    assert "Zaï pits" in out and out.startswith("…") and out.endswith("…")
    assert len(out) <= 82


# --------------------------------------------------------------------------- ranking


def test_search__name_match_ranks_over_a_description_mention(corpus: Engine) -> None:
    assert names(corpus, "terraces") == [
        "Bench terraces on steep slopes",
        "Stone bunds on the contour",
    ]


def test_search__exact_phrase_in_the_name_ranks_first(corpus: Engine) -> None:
    with session_scope(corpus) as s:
        hits = search_practices(s, "grass strips").hits
    assert hits[0].name == "Vegetative grass strips" and hits[0].name_match
    assert "grass" in hits[0].matched and "strips" in hits[0].matched
    assert "grass" in hits[0].snippet.lower()
    # without the phrase, BM25 orders by score
    assert names(corpus, "strips grass")[0] == "Vegetative grass strips"


def test_search__plurals_suffixes_prefix_and_accents(corpus: Engine) -> None:
    assert names(corpus, "bund")[0] == "Stone bunds on the contour"
    assert names(corpus, "terracing")[0] == "Bench terraces on steep slopes"
    assert names(corpus, "graze") == ["Rotational grazing with rest periods"]
    assert names(corpus, "agrofor") == ["Agroforestry parklands"]  # prefix of the last word
    assert names(corpus, "stone bu")[0] == "Stone bunds on the contour"
    assert names(corpus, "zai") == ["Zaï planting pits"]
    assert names(corpus, "ZAÏ PITS")[0] == "Zaï planting pits"
    assert names(corpus, "agrofor stone") == [
        "Stone bunds on the contour"
    ]  # prefix: last word only


# --------------------------------------------------------------------------- facets


def test_search__facets_or_within_and_across(corpus: Engine) -> None:
    assert sorted(names(corpus, land_use=["grazing_land", "mixed"])) == [
        "Agroforestry parklands", "Rotational grazing with rest periods", "Vegetative grass strips",
    ]  # fmt: skip
    assert sorted(names(corpus, land_use=["grazing_land", "mixed"], climate_zones="tropical_dry")) == [
        "Agroforestry parklands", "Rotational grazing with rest periods",
    ]  # fmt: skip
    assert names(corpus, goals=["restore"], measure_types=["agronomic"]) == ["Zaï planting pits"]
    # text and facets together: only hits that match both
    assert names(corpus, "grass", aridity=["humid"]) == ["Bench terraces on steep slopes"]
    assert names(corpus, "grass", aridity=["arid"]) == []


def test_search__facet_counts_over_all_hits_before_paging(corpus: Engine) -> None:
    with session_scope(corpus) as s:
        result = search_practices(s, "", climate_zones=["tropical_dry"], limit=1, offset=1)
    assert result.total == 4 and len(result.hits) == 1
    assert result.hits[0].name == "Rotational grazing with rest periods"  # 2nd by name
    facets = result.facets
    assert set(facets) == {
        "land_use",
        "degradation_types",
        "climate_zones",
        "aridity",
        "goals",
        "measure_types",
    }
    assert facets["climate_zones"]["tropical_dry"] == 4
    assert facets["climate_zones"]["warm_temperate_dry"] == 1
    assert facets["climate_zones"]["polar_dry"] == 0  # every code is listed
    assert facets["goals"] == {"prevent": 2, "reduce": 2, "restore": 2}
    assert facets["land_use"]["cropland"] == 2 and facets["land_use"]["grazing_land"] == 1
    assert facets["aridity"]["semi_arid"] == 4 and facets["aridity"]["arid"] == 1
    assert result.to_dict()["hits"][0]["rank"] == 2


def test_search__bad_facet_code_names_the_allowed_codes(corpus: Engine) -> None:
    with (
        session_scope(corpus) as s,
        pytest.raises(
            InputError, match="goals filter 'heal': expected one of prevent, reduce, restore"
        ),
    ):
        search_practices(s, goals=["heal"])
    with session_scope(corpus) as s, pytest.raises(InputError, match="limit 0"):
        search_practices(s, limit=0)


# --------------------------------------------------------------------------- who sees what


def test_search__only_approved_records_unless_moderator(corpus: Engine) -> None:
    assert "Pending terraces" not in names(corpus, "terraces")
    with session_scope(corpus) as s:
        with pytest.raises(PermissionDenied, match="without a token"):
            search_practices(s, "terraces", status="submitted")
        with pytest.raises(PermissionDenied, match="role contributor"):
            search_practices(s, "terraces", status="submitted", actor=get_user(s, "alice"))
        found = search_practices(s, "terraces", status="submitted", actor=get_user(s, "mona"))
        assert [h.name for h in found.hits] == ["Pending terraces"]
        assert found.hits[0].record["status"] == "submitted"
        every = search_practices(s, "terraces", status=None, actor=get_user(s, "mona"))
        assert every.total == 3
