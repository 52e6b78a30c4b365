"""Hotspot patches, their attributes and ranking; the response rule table."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.transform import from_origin

from landwatch.errors import InputError
from landwatch.ldn import (
    label_patches,
    load_response_rules,
    patch_polygons,
    patch_table,
    response_class,
    response_table,
)
from landwatch.ldn.response import RESPONSE_NODATA


def test_label_patches__min_area_connectivity_and_order() -> None:
    m = np.zeros((6, 6), bool)
    m[0:2, 0:2] = True  # 4 px
    m[2, 2] = True  # touches the first only diagonally
    m[4:6, 3:6] = True  # 6 px
    m[0, 5] = True  # 1 px
    area = np.ones(m.shape)
    lab8, n8 = label_patches(m, area, min_area_km2=2)
    assert n8 == 2
    # largest first: the 6 px block is 1, the 4 + 1 diagonal block (5 px) is 2
    assert (lab8 == 1).sum() == 6 and (lab8 == 2).sum() == 5
    assert lab8[0, 5] == 0  # below the minimum area
    lab4, n4 = label_patches(m, area, min_area_km2=2, connectivity=4)
    assert n4 == 2 and (lab4 == 2).sum() == 4 and lab4[2, 2] == 0
    with pytest.raises(InputError):
        label_patches(m, area, connectivity=6)


def test_patch_table__attributes_processes_and_priority() -> None:
    lab = np.array([[1, 1, 0, 2, 2, 2]])
    area = np.ones(lab.shape)
    lc_change = np.array([[-1, -1, 0, 0, 0, 0]])
    prod = np.array([[-1, -1, 0, -1, 0, 0]])
    soc = np.array([[-1, 0, 0, 0, 0, 0]])
    lc0 = np.array([[1, 1, 2, 2, 2, 2]])
    lc1 = np.array([[3, 3, 2, 2, 2, 2]])
    lpd5 = np.array([[1, 1, 4, 2, 4, 4]])
    pop = np.array([[10.0, 10.0, 0, 1, 1, 1]])
    hazard = np.array([[0, 0, 0, 3, 3, 1]])
    lt = np.array([[5, 5, 0, 6, 6, 7]])
    t = patch_table(
        lab,
        2,
        "hotspot",
        area_km2=area,
        land_cover_change=lc_change,
        productivity=prod,
        soc_change=soc,
        lpd5=lpd5,
        lc_initial=lc0,
        lc_final=lc1,
        population=pop,
        drought_hazard=hazard,
        land_type=lt,
        land_type_names={5: "forest", 6: "grass"},
    ).set_index("patch")
    p1, p2 = t.loc[1], t.loc[2]
    assert p1["severity"] == pytest.approx((3 + 2) / 2)
    assert p1["process"] == "land cover tree-covered -> cropland"
    assert "productivity decline (100 %)" in p1["processes"]
    assert "SOC loss (50 %)" in p1["processes"]
    assert p1["process_codes"].split(";")[:2] == [
        "land_cover_1_3:1.000",
        "productivity_decline:1.000",
    ]
    assert p2["process"] == "productivity decline"
    assert p2["area_km2"] == 3 and p1["population"] == 20
    assert p2["drought_share"] == pytest.approx(2 / 3)
    assert p1["land_type_name"] == "forest" and p2["land_types_all"] == "6;7"
    assert p1["lpd_dominant"] == "Declining"
    # p1: smaller but more severe and more people; weights area .4, severity .3, pop .2,
    # drought .1 -> p1 = .4*.5 + .3*1 + .2*1 + .1*.5 = .75; p2 = .4 + .15 + .1 + .1 = .75
    assert p1["priority"] == pytest.approx(0.75) and p2["priority"] == pytest.approx(0.75)
    # ties go to the larger patch
    assert t.loc[2, "rank"] == 1


def test_patch_polygons__one_geometry_per_patch_with_the_right_area() -> None:
    lab = np.zeros((4, 4), np.int32)
    lab[0:2, 0:2] = 1
    lab[3, 3] = 2
    g = patch_polygons(lab, from_origin(0, 4, 1, 1), "EPSG:3857")
    assert g["patch"].tolist() == [1, 2]
    assert g.geometry.area.tolist() == [4.0, 1.0]


def test_response_class__first_matching_rule_wins_and_missing_layers_reported() -> None:
    status7 = np.array([[1, 3, 2, 2, 2, 4, 4, 6, 4]])
    perf = np.array([[0, 0, -1, 0, 0, 0, 0, 0, 0]])
    lc = np.array([[0, 0, 0, -1, 0, 0, 0, 0, 0]])
    lpd5 = np.array([[1, 4, 1, 1, 1, 3, 4, 5, 4]])
    valid = np.ones(status7.shape, bool)
    valid[0, 8] = False
    cls, which, missing = response_class(
        {"status7": status7, "performance": perf, "land_cover": lc, "lpd5": lpd5, "soc": lc * 0},
        valid=valid,
    )
    rules = load_response_rules()
    names = [rules.name(int(c)) if c != RESPONSE_NODATA else None for c in cls[0]]
    assert names == [
        "reverse",
        "reverse",
        "reverse",
        "reverse",
        "reduce",
        "avoid",
        "maintain",
        "maintain",
        None,
    ]
    assert set(missing) == {"drought_hazard", "risk"}
    assert which[0, 6] == 0 and which[0, 8] == -1
    # with a hazard layer, severe drought makes stable land "avoid"
    cls2, _, _ = response_class(
        {"status7": status7, "lpd5": lpd5, "drought_hazard": np.full(status7.shape, 3)},
        valid=valid,
    )
    assert rules.name(int(cls2[0, 6])) == "avoid"


def test_response_table__areas_per_zone(tmp_path) -> None:
    cls = np.array([[0, 1, 2, 3, RESPONSE_NODATA]], np.uint8)
    t = response_table(
        cls, np.ones(cls.shape), zones=np.array([[1, 1, 2, 2, 2]]), zone_names={1: "A", 2: "B"}
    )
    terr = t[t.zone == "Territory"].set_index("response")
    assert terr["area_km2"].tolist() == [1, 1, 1, 1]
    assert terr["percent"].sum() == pytest.approx(100)
    b = t[t.zone == "B"].set_index("response")
    assert b.loc["reverse", "area_km2"] == 1 and b.loc["maintain", "area_km2"] == 0


def test_load_response_rules__bad_tables_are_refused(tmp_path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text(
        "classes: {0: {name: a}}\ndefault: 0\nrules:\n  - {class: 0, when: {colour: [1]}}\n"
    )
    with pytest.raises(InputError, match="unknown layer 'colour'"):
        load_response_rules(p)
    p.write_text("classes: {0: {name: a}}\ndefault: 0\nrules:\n  - {class: 5, when: {lpd5: [1]}}\n")
    with pytest.raises(InputError, match="class 5 is not one of"):
        load_response_rules(p)
    with pytest.raises(InputError, match="does not exist"):
        load_response_rules(tmp_path / "none.yaml")
