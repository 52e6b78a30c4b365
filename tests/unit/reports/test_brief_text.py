"""The brief's text generator: sentences from key numbers, rounding once, careful wording."""

from __future__ import annotations

import math

import pytest

from landwatch.reports.brief import (
    KeyNumbers,
    change_phrase,
    drought_text,
    fmt_signed,
    km_per_unit,
    land_degradation_text,
    ldn_text,
    limits_text,
    nice_scale_length,
    practices_text,
    spi_category,
)

LAND = {
    "area": "Kilima Highlands (KE-S01)",
    "baseline_period": "baseline",
    "baseline_years": "2000-2015",
    "latest_period": "report_2",
    "latest_years": "2008-2023",
    "degraded_baseline_pct": 11.9,
    "degraded_baseline_km2": 259.2,
    "degraded_latest_pct": 9.0,
    "degraded_latest_km2": 195.8,
    "status_degraded_latest_pct": 12.2,
    "status_change_vs_baseline_km2": 6.7,
    "improved_latest_pct": 4.3,
    "lpd_declining_pct": 7.4,
    "lpd_moderate_decline_pct": 1.6,
    "lpd_stable_but_stressed_pct": 3.0,
    "soc_initial_t_ha": 45.1,
    "soc_final_t_ha": 44.0,
    "soc_change_pct": -2.4,
    "soc_initial_year": "2015",
    "soc_final_year": "2023",
    "population_degraded_latest": 3010.0,
    "population_degraded_latest_pct": 7.0,
}


def test_change_phrase__compares_the_printed_values() -> None:
    assert change_phrase(13.2, 11.4) == "up from 11.4 %"
    assert change_phrase(9.0, 11.9) == "down from 11.9 %"
    # 11.36 and 11.44 both print as 11.4: the text must not claim a change
    assert change_phrase(11.36, 11.44) == "the same as the 11.4 %"
    assert change_phrase(120.0, 100.0, unit="km²", decimals=0) == "up from 100 km²"


def test_land_degradation_text__full_numbers() -> None:
    s = land_degradation_text(LAND)
    assert s[0] == (
        "In Kilima Highlands (KE-S01), 9.0 % of the land (195.8 km²) was degraded in report_2 "
        "(2008-2023), down from 11.9 % in the baseline (2000-2015)."
    )
    assert s[1] == (
        "Compared with the baseline (the status of report_2), 12.2 % of the land is degraded: "
        "6.7 km² more degraded land than in the baseline."
    )
    assert "4.3 % of the land improved in report_2." in s
    assert any("stable but stressed (counted as stable in SDG 15.3.1)" in x for x in s)
    soc = next(x for x in s if "soil organic carbon" in x)
    assert "from 45.1 t C/ha in 2015 to 44.0 t C/ha in 2023 (-2.4 %)" in soc
    assert "not measured" in soc  # says what the number is not
    assert s[-1] == (
        "About 3,010 people live on land degraded in report_2 (7.0 % of the people of the area)."
    )


def test_land_degradation_text__up_and_unchanged() -> None:
    up = {**LAND, "degraded_latest_pct": 13.2, "degraded_latest_km2": 1305.4}
    assert "13.2 % of the land (1,305.4 km²)" in land_degradation_text(up)[0]
    assert "up from 11.9 % in the baseline (2000-2015)" in land_degradation_text(up)[0]
    same = {**LAND, "status_change_vs_baseline_km2": 0.0}
    assert "as much as in the baseline" in land_degradation_text(same)[1]
    less = {**LAND, "status_change_vs_baseline_km2": -3.25}
    assert "3.2 km² less degraded land" in land_degradation_text(less)[1]


def test_land_degradation_text__named_baseline_period() -> None:
    s = land_degradation_text({**LAND, "baseline_period": "base_2015"})
    assert "in the baseline base_2015 (2000-2015)" in s[0]


def test_land_degradation_text__leaves_out_sentences_without_numbers() -> None:
    few = {k: LAND[k] for k in ("area", "baseline_years", "degraded_baseline_pct")}
    s = land_degradation_text(few)
    assert s == [
        "In Kilima Highlands (KE-S01), 11.9 % of the land was degraded in the baseline "
        "(2000-2015); the run has no reporting period."
    ]
    assert land_degradation_text({}) == []
    assert land_degradation_text({"degraded_latest_pct": math.nan}) == []


def test_drought_text__alert_with_duration_and_exposure() -> None:
    s = drought_text(
        {
            "area": "Nyika North (KE-S03)",
            "drought_month": "2017-03",
            "alert_level": "severe",
            "alert_severity": "Severe",
            "drought_months": 4.0,
            "alert_since": "2016-12",
            "population_exposed": 52000.4,
            "population_exposed_pct": 36.7,
            "land_warning_pct": 61.0,
            "land_alert_pct": 27.5,
            "spi3_latest": -1.62,
            "spi_month": "2017-03",
        }
    )
    assert s[0] == (
        "In 2017-03, the drought alert level of Nyika North (KE-S03) was severe (severity "
        "Severe); it had 4 drought months in a row, with an alert open since 2016-12."
    )
    assert s[1] == (
        "About 52,000 people lived where the Combined Drought Indicator was at Warning or "
        "Alert (36.7 % of the people of the area)."
    )
    assert "61.0 % of the land was at Warning or Alert and 27.5 % at Alert." in s
    assert (
        "The 3-month Standardized Precipitation Index of the area was -1.62 in 2017-03 "
        "(severely dry)."
    ) in s


def test_drought_text__no_alert_and_so3() -> None:
    s = drought_text(
        {
            "area": "the whole territory",
            "drought_month": "2023-12",
            "alert_level": "none",
            "drought_months": 0.0,
            "units_under_alert": 0.0,
            "units_assessed": 4.0,
            "so3_year": "2023",
            "drought_land_pct": 34.7,
            "drought_population": 11664.0,
            "drought_baseline_mean_pct": 58.3,
            "drought_recent_mean_pct": 53.6,
            "drought_baseline_years": "2000-2015",
            "drought_recent_years": "2016-2023",
        }
    )
    assert (
        s[0] == "In 2023-12, no admin unit of the whole territory was under a drought alert level."
    )
    assert s[1] == "0 of 4 admin units were under a drought alert level in 2023-12."
    unit = drought_text({"area": "Mto Valley", "drought_month": "2023-12", "alert_level": "none"})
    assert unit == ["In 2023-12, Mto Valley was under no drought alert level."]
    # several units: the level is the highest of them, the run the longest
    many = drought_text(
        {"area": "the territory", "drought_month": "2017-03", "alert_level": "extreme",
         "units_assessed": 4.0, "units_under_alert": 4.0, "drought_months": 6.0}
    )  # fmt: skip
    assert many[0] == (
        "In 2017-03, the highest drought alert level in the territory was extreme; the longest "
        "run of drought months was 6."
    )
    assert (
        "In 2023, 34.7 % of the land was in drought by the December 12-month SPI, where about "
        "11,664 people live."
    ) in s
    assert s[-1] == (
        "In an average year of 2016-2023, 53.6 % of the land was in drought, down from 58.3 % "
        "in the baseline 2000-2015."
    )
    one = drought_text({"drought_month": "2023-12", "alert_level": "minor", "drought_months": 1.0})
    assert "it had 1 drought month in a row" in one[0]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (2.0, "extremely wet"),
        (1.7, "very wet"),
        (1.0, "moderately wet"),
        (0.99, "near normal"),
        (-0.99, "near normal"),
        (-1.0, "moderately dry"),
        (-1.5, "severely dry"),
        (-2.0, "extremely dry"),
        (math.nan, "no data"),
    ],
)
def test_spi_category__mckee_classes(value: float, words: str) -> None:
    assert spi_category(value) == words


def test_ldn_text__verdicts() -> None:
    base = {
        "area": "Mto Valley (KE-S02)",
        "ldn_period": "report_2",
        "ldn_land_types": 13.0,
        "ldn_land_types_not_achieved": 4.0,
        "ldn_shortfall_km2": 149.6,
        "ldn_worst_land_type": "Cropland / Luvisols / Tropical dry",
        "ldn_gain_km2": 354.5,
        "ldn_loss_km2": 236.6,
        "ldn_net_km2": 118.0,
    }
    s = ldn_text({**base, "ldn_verdict": "not achieved"})
    assert s[0] == (
        "Land Degradation Neutrality was not achieved in Mto Valley (KE-S02) in report_2: 4 of "
        "13 land types lost more land than they gained (a shortfall of 149.6 km² to make good); "
        "the largest net loss is in Cropland / Luvisols / Tropical dry."
    )
    # a positive aggregate net must not read as neutrality: like for like only
    assert "net +118.0 km²" in s[1] and "does not make up for a loss in another" in s[1]
    gain = ldn_text({**base, "ldn_verdict": "net gain", "ldn_land_types_not_achieved": 0.0})
    assert gain[0].startswith("Land Degradation Neutrality was achieved in Mto Valley")
    assert "no land type lost more land than it gained" in gain[0]
    even = ldn_text({**base, "ldn_verdict": "achieved", "ldn_land_types_not_achieved": 0.0})
    assert "gains and losses balance in each of its 13 land types" in even[0]


def test_ldn_text__hotspots() -> None:
    none = ldn_text({"area": "the polygon field", "hotspots_count": 0.0})
    assert none == ["No degradation hotspot of the LDN run lies in the polygon field."]
    s = ldn_text(
        {
            "area": "Nyika North (KE-S03)",
            "hotspots_count": 1.0,
            "hotspots_km2": 102.9,
            "top_hotspot": "hotspot 3 (SOC loss, 102.9 km²)",
            "brightspots_count": 2.0,
        }
    )
    assert s[0] == (
        "1 degradation hotspot lies at least partly in Nyika North (KE-S03), with 102.9 km² of "
        "losses inside it; the highest priority one is hotspot 3 (SOC loss, 102.9 km²)."
    )
    assert s[1] == "2 brightspots (patches of gains) to keep lie there too."


def test_practices_text__lists_names_with_scores() -> None:
    s = practices_text(
        [
            {"hotspot": "hotspot 1", "practices": [{"name": "A", "score": 0.91}, {"name": "B", "score": 0.8},
                                                   {"name": "C", "score": 0.755}]},
            {"hotspot": "hotspot 2", "practices": [{"name": "D", "score": 1.0}]},
            {"hotspot": "hotspot 3", "practices": []},
        ]
    )  # fmt: skip
    assert s == [
        "For hotspot 1, the best-matching practices are A (score 0.91), B (score 0.80) and C "
        "(score 0.76).",
        "For hotspot 2, the best-matching practices are D (score 1.00).",
    ]


def test_limits_text__says_what_is_not_shown() -> None:
    for topic in ("land_degradation", "drought", "ldn", "hotspots_practices"):
        lines = limits_text(topic)
        assert lines and any("not" in x for x in lines)
    assert any("false alarm" in x for x in limits_text("land_degradation"))
    assert any("not people affected" in x for x in limits_text("drought"))
    assert limits_text("unknown") == []


def test_key_numbers__round_once_and_print_the_same() -> None:
    n = KeyNumbers()
    n.pct_km2("degraded_latest", "Degraded land", 13.249999, 1305.3932, "SDG")
    n.change("degraded_change_pp", "Change", 1.8682, "percentage points", "SDG")
    n.count("people", "People", 41045.73, "People")
    n.number("spi", "SPI-3", -1.234, 2)
    n.text("verdict", "Verdict", "not achieved")
    n.km2("missing", "Missing", math.nan)
    d = n.as_dict()
    assert d == {
        "degraded_latest_pct": 13.2,
        "degraded_latest_km2": 1305.4,
        "degraded_change_pp": 1.9,
        "people": 41046.0,
        "spi": -1.23,
        "verdict": "not achieved",
    }
    rows = {r.key: r.text for r in n.rows()}
    assert rows == {
        "degraded_latest_pct": "13.2 % (1,305.4 km²)",
        "degraded_change_pp": "+1.9 percentage points",
        "people": "41,046",
        "spi": "-1.23",
        "verdict": "not achieved",
    }
    assert [r.key for r in n.rows(["People"])] == ["people"]
    # every printed number reads back as its value
    for r in n.rows():
        v = d[r.key]
        if isinstance(v, float):
            assert float(r.text.split()[0].replace(",", "").replace("+", "")) == v


def test_fmt_signed__sign_of_the_rounded_value() -> None:
    assert fmt_signed(0.04, "%") == "0.0 %"
    assert fmt_signed(-0.06, "%") == "-0.1 %"
    assert fmt_signed(1234.56, "km²") == "+1,234.6 km²"


def test_scale_bar__round_lengths_and_km_per_degree() -> None:
    assert nice_scale_length(100.0) == 20.0
    assert nice_scale_length(45.0) == 10.0
    assert nice_scale_length(3.0) == 0.5
    assert nice_scale_length(0.0) == 1.0
    # one degree of longitude on WGS84: 111.32 km at the equator, half near 60 degrees
    assert km_per_unit("EPSG:4326", 0.0) == pytest.approx(111.32, abs=0.01)
    assert km_per_unit("EPSG:4326", -1.45) == pytest.approx(111.28, abs=0.01)
    assert km_per_unit("EPSG:4326", 60.0) == pytest.approx(55.80, abs=0.01)
    assert km_per_unit("EPSG:32737", -1.45) == pytest.approx(0.001)
