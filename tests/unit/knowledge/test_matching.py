"""Practice matching: score components, ranking and hotspot profiles."""

from __future__ import annotations

import pytest

from landwatch.errors import InputError
from landwatch.knowledge.matching import (
    AreaProfile,
    match_practices,
    process_info,
    profile_from_hotspot,
)


def _rec(name: str, **kw) -> dict:
    base = {
        "uuid": name,
        "name": name,
        "land_use": ["grazing_land"],
        "degradation_types": ["Bq"],
        "climate_zones": ["tropical_dry"],
        "aridity": ["semi_arid"],
        "goals": ["restore"],
    }
    return base | kw


def test_process_info__codes_and_transitions() -> None:
    assert "Bq" in process_info("productivity_decline")["primary"]
    assert process_info("land_cover_4_3")["primary"] == ["Hw", "Hs"]
    assert "Pi" in process_info("land_cover_2_5")["primary"]
    assert "Bc" in process_info("land_cover_1_3")["primary"]
    with pytest.raises(InputError, match="unknown"):
        process_info("erosion")


def test_match_practices__each_component_moves_the_rank() -> None:
    area = AreaProfile(
        land_cover={2: 1.0},
        processes={"productivity_decline": 1.0},
        climate_zone="tropical_dry",
        response="reverse",
    )
    recs = [
        _rec("perfect"),
        _rec("wrong process", degradation_types=["Pi"]),
        _rec("wrong land use", land_use=["settlement"]),
        _rec("other tropical climate", climate_zones=["tropical_wet"]),
        _rec("temperate", climate_zones=["cool_temperate_dry"]),
        _rec("prevent only", goals=["prevent"]),
        _rec("reduce", goals=["reduce"]),
        _rec("mixed land", land_use=["mixed"]),
    ]
    m = {x.name: x for x in match_practices(area, recs, top=20)}
    assert m["perfect"].rank == 1 and m["perfect"].score == pytest.approx(1.0)
    assert m["wrong process"].components["degradation"] == 0
    assert m["wrong land use"].components["land_use"] == 0
    assert m["other tropical climate"].components["climate"] == 0.5
    assert m["temperate"].components["climate"] == 0
    assert m["prevent only"].components["response"] == 0
    assert m["reduce"].components["response"] == 0.5
    assert m["mixed land"].components["land_use"] == pytest.approx(0.6)
    # aridity was inferred from the zone and says so
    assert any("inferred" in r for r in m["perfect"].reasons)
    order = [x.name for x in match_practices(area, recs, top=20)]
    assert order.index("reduce") < order.index("prevent only")
    assert order.index("other tropical climate") < order.index("temperate")


def test_match_practices__conversion_outranks_its_consequences() -> None:
    # A drained wetland: SOC loss follows the drainage; the practice for the drainage
    # (Hw, wetland) must beat a generic soil fertility practice for cropland.
    area = AreaProfile(
        land_cover={4: 1.0},
        processes={"land_cover_4_3": 1.0, "soc_loss": 1.0},
        climate_zone="tropical_dry",
        response="reverse",
    )
    recs = [
        _rec("rewetting", land_use=["wetland"], degradation_types=["Hw", "Hs"]),
        _rec("compost", land_use=["cropland"], degradation_types=["Cn", "Bl"]),
    ]
    m = match_practices(area, recs)
    assert [x.name for x in m] == ["rewetting", "compost"]
    assert m[0].components["land_use"] == 1.0  # wetland before the conversion fits
    assert m[1].components["land_use"] == 1.0  # cropland after it fits too
    assert m[0].components["degradation"] > m[1].components["degradation"]


def test_match_practices__specificity_breaks_ties_and_order_is_stable() -> None:
    area = AreaProfile(
        land_cover={2: 1}, processes={"productivity_decline": 1}, climate_zone="tropical_dry"
    )
    focused = _rec("focused", degradation_types=["Bq", "Bc"])
    broad = _rec("broad", degradation_types=["Bq", "Hw", "Pi", "Cs"])
    m = match_practices(area, [broad, focused])
    assert [x.name for x in m] == ["focused", "broad"]
    a = _rec("b-name")
    b = _rec("a-name")
    assert [x.name for x in match_practices(area, [a, b])] == ["a-name", "b-name"]


def test_area_profile__bad_values_are_refused() -> None:
    with pytest.raises(InputError, match="climate zone 'tropical'"):
        AreaProfile(land_cover={2: 1}, processes={}, climate_zone="tropical")
    with pytest.raises(InputError, match="response 'protect'"):
        AreaProfile(
            land_cover={2: 1}, processes={}, climate_zone="tropical_dry", response="protect"
        )
    with pytest.raises(InputError, match="weights"):
        match_practices(
            AreaProfile(land_cover={2: 1}, processes={}, climate_zone="tropical_dry"),
            [],
            weights={"cost": 1},
        )


def test_profile_from_hotspot__adds_conversion_since_the_land_type_year() -> None:
    row = {
        "patch": 4,
        "process": "SOC loss",
        "process_codes": "soc_loss:0.999",
        "land_cover": 4,
        "land_cover_now": 3,
        "climate_zones": 12,
        "response": "reverse",
    }
    p = profile_from_hotspot(row)
    assert p.processes == {"soc_loss": 0.999, "land_cover_4_3": 1.0}
    assert p.climate_zone == "tropical_dry" and p.response == "reverse"
    assert set(p.aridity) == {"arid", "semi_arid", "dry_subhumid"} and p.aridity_inferred
    # grassland -> tree cover is improvement in the UNCCD matrix: not added
    p = profile_from_hotspot(row | {"land_cover": 2, "land_cover_now": 1})
    assert p.processes == {"soc_loss": 0.999}
    with pytest.raises(InputError, match="no process"):
        profile_from_hotspot(row | {"process_codes": ""})
    with pytest.raises(InputError, match="climate zone 0"):
        profile_from_hotspot(row | {"climate_zones": 0})


def test_match_practices__generic_and_brightspot_codes_do_not_crash() -> None:
    rec = _rec("keep", goals=["prevent"], degradation_types=["Bc"])
    area = AreaProfile(
        land_cover={2: 1.0}, processes={"land_cover_degradation": 1.0}, climate_zone="tropical_dry"
    )
    assert match_practices(area, [rec])[0].components["degradation"] > 0
    row = {
        "patch": 1, "type": "brightspot", "rank": 1, "process": "x",
        "process_codes": "land_cover_2_1:0.9;productivity_increase:1.000",
        "land_cover": 2, "land_cover_now": 1, "climate_zones": 12, "response": "maintain",
    }  # fmt: skip
    p = profile_from_hotspot(row)
    assert p.processes == {"productivity_increase": 1.0, "land_cover_improvement": 0.9}
    assert p.response == "maintain" and p.land_cover == {1: 1.0}
    m = match_practices(p, [rec])
    assert m[0].components["response"] == 1.0 and m[0].components["degradation"] > 0
    with pytest.raises(InputError, match="aridity"):
        AreaProfile(land_cover={2: 1}, processes={}, climate_zone="tropical_dry", aridity=("wet",))
    with pytest.raises(InputError, match="unknown"):
        AreaProfile(
            land_cover={2: 1}, processes={"land_cover_1_3x": 1.0}, climate_zone="tropical_dry"
        )
