"""Unit drought statistics on hand-made grids, alert levels and the rule file."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from landwatch.errors import DataSourceError, InputError
from landwatch.warning.thresholds import (
    CDI_NODATA,
    assess_units,
    cdi_class_table,
    level_for,
    load_alert_rules,
    parse_alert_rules,
    unit_drought_statistics,
)

ND = CDI_NODATA
# 4 x 4 grid; unit 7 = left half of rows 0-2, unit 9 = right half, row 3 left is outside.
UNITS = np.array([[7, 7, 9, 9], [7, 7, 9, 9], [7, 7, 9, 9], [0, 0, 9, 9]])
# 3 cropland, 2 grassland (grazing), 7 water
LAND = np.array([[3, 3, 2, 2], [3, 2, 2, 2], [3, 2, 7, 2], [3, 3, 2, 2]])
POP = np.arange(1, 17, dtype=float).reshape(4, 4)
AREA_ROWS = np.array([1.0, 2.0, 3.0, 4.0])  # km2 per pixel, by row
CDI_M1 = np.array([[3, 2, 0, 1], [0, 2, 3, 2], [1, 3, 3, ND], [2, 2, 2, 2]])


def default_doc() -> dict:
    path = Path(__file__).resolve().parents[3] / "src/landwatch/data/alert_rules.yaml"
    return yaml.safe_load(path.read_text())


def rules_with(**changes) -> object:  # type: ignore[no-untyped-def]
    doc = copy.deepcopy(default_doc())
    doc.update(changes)
    return parse_alert_rules(doc, source="test")


def cube(*maps: np.ndarray, start: str = "2024-01") -> xr.DataArray:
    time = pd.date_range(f"{start}-01", periods=len(maps), freq="MS")
    return xr.DataArray(
        np.stack(maps).astype(np.int16),
        dims=("time", "y", "x"),
        coords={"time": time, "y": [3.5, 2.5, 1.5, 0.5], "x": [0.5, 1.5, 2.5, 3.5]},
    )


def stats_of(cdi: xr.DataArray, **kw) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rules = kw.pop("rules", None) or rules_with(min_class_area_km2=0)
    return unit_drought_statistics(cdi, UNITS, LAND, POP, AREA_ROWS, rules=rules, **kw)


def test_unit_drought_statistics__hand_made_shares() -> None:
    s = stats_of(cube(CDI_M1, np.zeros((4, 4)))).set_index(["month", "unit"])
    u7, u9 = s.loc[("2024-01", 7)], s.loc[("2024-01", 9)]
    # unit 7 cropland: areas 1 (alert), 1 (warning), 2 (normal), 3 (watch) of 7 km2
    assert u7["cropland_area_km2"] == pytest.approx(7.0)
    assert u7["cropland_warning_share"] == pytest.approx(2 / 7)
    assert u7["cropland_alert_share"] == pytest.approx(1 / 7)
    # unit 7 grassland: 2 km2 warning and 3 km2 alert
    assert u7["grazing_warning_share"] == pytest.approx(1.0)
    assert u7["grazing_alert_share"] == pytest.approx(3 / 5)
    assert u7["land_warning_share"] == pytest.approx(7 / 12)
    assert u7["land_alert_share"] == pytest.approx(4 / 12)
    assert u7["valid_share"] == pytest.approx(1.0)
    # people in warning/alert pixels: 1 + 2 + 6 + 10 of 33
    assert u7["population"] == pytest.approx(33)
    assert u7["population_exposed"] == pytest.approx(19)
    assert u7["population_exposed_share"] == pytest.approx(19 / 33)
    # unit 9: no cropland -> NaN; water (row 2) left out of land; one no-data pixel (3 km2)
    assert np.isnan(u9["cropland_warning_share"]) and u9["cropland_area_km2"] == 0
    assert u9["grazing_warning_share"] == pytest.approx(12 / 14)
    assert u9["grazing_alert_share"] == pytest.approx(2 / 14)
    assert u9["land_area_km2"] == pytest.approx(17)
    assert u9["valid_share"] == pytest.approx(14 / 17)
    # exposure counts every pixel of the unit, the water pixel (11 people) included
    assert u9["population_exposed"] == pytest.approx(7 + 8 + 11 + 15 + 16)
    # second month: all normal
    m2 = s.loc["2024-02"]
    assert (m2["land_warning_share"] == 0).all() and (m2["population_exposed"] == 0).all()
    assert sorted(s.index.get_level_values("unit").unique()) == [7, 9]  # 0 is outside


def test_unit_drought_statistics__min_class_area_blanks_small_classes() -> None:
    s = stats_of(cube(CDI_M1), rules=rules_with(min_class_area_km2=6.0)).set_index("unit")
    assert np.isnan(s.loc[7, "grazing_warning_share"])  # 5 km2 of grassland < 6
    assert s.loc[7, "cropland_warning_share"] == pytest.approx(2 / 7)  # 7 km2 >= 6


def test_unit_drought_statistics__float_cube_with_nan_is_nodata() -> None:
    f = CDI_M1.astype(float)
    f[f == ND] = np.nan
    a = stats_of(cube(CDI_M1))
    b = stats_of(cube(CDI_M1).copy(data=f[None]))
    pd.testing.assert_frame_equal(a, b)


def test_unit_drought_statistics__dask_cube_equals_numpy() -> None:
    c = cube(CDI_M1, np.zeros((4, 4)), CDI_M1)
    pd.testing.assert_frame_equal(stats_of(c), stats_of(c.chunk({"time": 1, "y": 2})))


def test_unit_drought_statistics__wrong_grid_shape() -> None:
    with pytest.raises(InputError, match=r"land_cover grid is 3 x 4 px but the CDI grid is 4 x 4"):
        unit_drought_statistics(cube(CDI_M1), UNITS, LAND[:3], POP, AREA_ROWS)
    with pytest.raises(InputError, match=r"pixel_area has shape \(3,\)"):
        unit_drought_statistics(cube(CDI_M1), UNITS, LAND, POP, AREA_ROWS[:3])


def test_unit_drought_statistics__misaligned_coordinates() -> None:
    lc = xr.DataArray(
        LAND, dims=("y", "x"), coords={"y": [3.5, 2.5, 1.5, 0.5], "x": [9, 10, 11, 12]}
    )
    with pytest.raises(InputError, match=r"land_cover has the CDI's shape but other x coordinates"):
        unit_drought_statistics(cube(CDI_M1), UNITS, lc, POP, AREA_ROWS)


def test_unit_drought_statistics__unknown_class_codes() -> None:
    bad = CDI_M1.copy()
    bad[0, 0], bad[1, 1] = 8, 6
    with pytest.raises(
        InputError, match=r"cdi \(2024-01\) has class codes \[6, 8\] that are not CDI"
    ):
        stats_of(cube(bad))


def test_unit_drought_statistics__non_integer_and_dims_and_duplicates() -> None:
    with pytest.raises(InputError, match="non-integer values"):
        stats_of(cube(CDI_M1).astype(float) + 0.5)
    with pytest.raises(
        InputError, match=r"dims \('y', 'x', 'time'\); expected \('time', 'y', 'x'\)"
    ):
        stats_of(cube(CDI_M1).transpose("y", "x", "time"))
    twice = cube(CDI_M1, CDI_M1).assign_coords(time=pd.to_datetime(["2024-01-01", "2024-01-11"]))
    with pytest.raises(InputError, match=r"several maps in \['2024-01'\]"):
        stats_of(twice)
    with pytest.raises(InputError, match="negative values"):
        unit_drought_statistics(cube(CDI_M1), UNITS, LAND, -POP, AREA_ROWS)


def test_level_for__highest_matching_level() -> None:
    rules = load_alert_rules()
    assert level_for({"cropland_warning_share": 0.05}, rules) is None
    assert level_for({"cropland_warning_share": 0.12}, rules).name == "minor"  # type: ignore[union-attr]
    # 30 % at warning needs 2 months in a row for moderate
    assert level_for({"grazing_warning_share": 0.3, "consecutive_months": 1}, rules).name == "minor"  # type: ignore[union-attr]
    assert (
        level_for({"grazing_warning_share": 0.3, "consecutive_months": 2}, rules).name  # type: ignore[union-attr]
        == "moderate"
    )
    lv = level_for({"cropland_alert_share": 0.6, "consecutive_months": 3}, rules)
    assert lv is not None and (lv.name, lv.severity, lv.rank) == ("extreme", "Extreme", 4)
    assert level_for({"cropland_alert_share": float("nan")}, rules) is None


def test_assess_units__consecutive_months_levels_and_gaps() -> None:
    rules = rules_with(min_class_area_km2=0)
    drought = np.where(UNITS == 7, 3, 0)  # all of unit 7 at Alert
    normal = np.zeros((4, 4))
    s = stats_of(cube(drought, drought, drought, normal, drought), rules=rules)
    a = assess_units(s, rules)
    u7 = a[a["unit"] == 7].set_index("month")
    assert u7["consecutive_months"].tolist() == [1, 2, 3, 0, 1]
    # 100 % at Alert: severe at once; extreme once half the land and people are at
    # Alert for 2 months (or the cropland for 3)
    assert u7["level"].tolist() == ["severe", "extreme", "extreme", "none", "severe"]
    assert u7["severity"].tolist()[:3] == ["Severe", "Extreme", "Extreme"]
    assert (a[a["unit"] == 9]["level"] == "none").all()
    # a missing calendar month breaks the run
    gap = assess_units(s[s["month"] != "2024-02"], rules)
    assert gap[gap["unit"] == 7]["consecutive_months"].tolist() == [1, 1, 0, 1]
    # the run continues from the database record of the month before
    s3 = s[s["month"] >= "2024-03"]
    cont = assess_units(s3, rules, prior={7: ("2024-02", 2)})
    assert cont[cont["unit"] == 7]["consecutive_months"].tolist() == [3, 0, 1]
    stale = assess_units(s3, rules, prior={7: ("2023-12", 5)})
    assert stale[stale["unit"] == 7]["consecutive_months"].tolist() == [1, 0, 1]


def test_assess_units__insufficient_data_keeps_the_run() -> None:
    rules = rules_with(min_class_area_km2=0)
    drought = np.where(UNITS == 7, 2, 0)
    empty = np.where(UNITS == 7, ND, 0)
    a = assess_units(stats_of(cube(drought, empty, drought), rules=rules), rules)
    u7 = a[a["unit"] == 7]
    assert u7["status"].tolist() == ["assessed", "insufficient_data", "assessed"]
    assert u7["level"].tolist()[1] == "none"
    assert u7["consecutive_months"].tolist() == [1, 1, 2]


def test_load_alert_rules__defaults_are_documented_and_complete() -> None:
    rules = load_alert_rules()
    assert [lv.name for lv in rules.levels] == ["minor", "moderate", "severe", "extreme"]
    assert [lv.severity for lv in rules.levels] == ["Minor", "Moderate", "Severe", "Extreme"]
    assert all(lv.instruction for lv in rules.levels)
    names = cdi_class_table()
    assert {names[c] for c in rules.warning_codes} == {"warning", "alert"}
    assert {names[c] for c in rules.alert_codes} == {"alert"}
    assert (rules.cropland_codes, rules.grazing_codes, rules.water_codes) == ((3,), (2,), (7,))
    assert rules.end_after_months == 2


def test_load_alert_rules__regional_file(tmp_path: Path) -> None:
    doc = default_doc()
    doc["end_after_months"] = 3
    doc["land_cover"]["grazing"] = [2, 6]
    p = tmp_path / "region.yaml"
    p.write_text(yaml.safe_dump(doc))
    rules = load_alert_rules(p)
    assert rules.end_after_months == 3 and rules.grazing_codes == (2, 6)
    assert rules.source == "region.yaml"


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            {"levels": [{"name": "minor", "severity": "Minor", "when": [{"crop_share": 0.1}]}]},
            r"levels\[0\].when\[0\]: unknown metric 'crop_share'",
        ),
        (
            {"levels": [{"name": "minor", "severity": "Low", "when": [{"land_alert_share": 0.1}]}]},
            r"levels\[0\].severity: expected one of \['Minor', 'Moderate', 'Severe', 'Extreme'\]",
        ),
        (
            {
                "levels": [
                    {"name": "minor", "severity": "Minor", "when": [{"land_alert_share": 25}]}
                ]
            },
            r"shares are fractions 0-1, got 25",
        ),
        (
            {"cdi_classes": {"warning_or_worse": ["warning", "severe"], "alert": ["alert"]}},
            r"unknown CDI class 'severe'",
        ),
        ({"end_after_months": 0}, r"end_after_months: expected an integer >= 1"),
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
        (
            {"drought_month": [{"consecutive_months": 2}]},
            r"drought_month\[0\]: unknown metric 'consecutive_months'",
        ),
    ],
)
def test_parse_alert_rules__bad_rule(change: dict, pattern: str) -> None:
    doc = default_doc()
    doc.update(change)
    with pytest.raises(InputError, match=pattern):
        parse_alert_rules(doc, source="bad.yaml")


def test_load_alert_rules__bad_yaml_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("levels:\n  - name: minor\n   severity: Minor\n")
    with pytest.raises(InputError, match=r"broken.yaml\): not valid YAML at line 3"):
        load_alert_rules(p)
    with pytest.raises(DataSourceError, match="does not exist"):
        load_alert_rules(tmp_path / "missing.yaml")
