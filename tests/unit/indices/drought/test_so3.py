"""Unit tests of the SO3 drought kernels (hazard classes, tables, DVI, periods)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.errors import InputError, UnitsError
from landwatch.indices.drought.so3 import (
    data_envelopment_scores,
    december_spi,
    drought_class_table,
    drought_hazard_class,
    drought_totals_table,
    drought_vulnerability_index,
    exposure_table,
    hazard_table,
    land_area_table,
    most_severe_drought_class,
    most_severe_exposure_table,
    most_severe_hazard_table,
    so3_period_summary,
    vulnerability_table,
    water_mask_from_land_cover,
)
from landwatch.indices.land.codes import NODATA

EDGE_VALUES = [
    0.5,
    0.0,
    -1e-4,
    -1.0,
    -1.0001,
    -1.5,
    -1.5001,
    -2.0,
    -2.0001,
    -np.inf,
    np.inf,
    np.nan,
]


def _grid(ny: int = 6, nx: int = 7, years: tuple[int, ...] = (2000, 2001, 2002), seed: int = 0):
    rng = np.random.default_rng(seed)
    coords = {"year": list(years), "y": np.arange(ny) * 1.0, "x": np.arange(nx) * 1.0}
    spi = rng.normal(scale=1.3, size=(len(years), ny, nx))
    spi[:, 0, 0] = np.nan
    spi[0, 1, :3] = [-1.0, -1.5, -2.0]
    spi[1, 2, 2] = np.nan
    spi_da = xr.DataArray(spi, dims=("year", "y", "x"), coords=coords)
    zones = xr.DataArray(
        rng.integers(0, 4, size=(ny, nx)),
        dims=("y", "x"),
        coords={"y": coords["y"], "x": coords["x"]},
    )
    area = xr.DataArray(1.0 + 0.1 * np.arange(ny), dims=("y",), coords={"y": coords["y"]})
    water = xr.zeros_like(zones, dtype=bool)
    water[3, 3] = True
    water[4, :2] = True
    return spi_da, zones, area, water


# ------------------------------------------------------------------------------- classes


def test_drought_hazard_class__prais_boundaries() -> None:
    got = drought_hazard_class(xr.DataArray(EDGE_VALUES, dims="x"), scheme="prais")
    # upper bounds inclusive: 0 -> mild, -1 -> moderate, -1.5 -> severe, -2 -> extreme
    expected = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 0, NODATA]
    np.testing.assert_array_equal(got.values, expected)
    assert got.dtype == np.int16
    assert got.attrs["scheme"] == "prais"


def test_drought_hazard_class__trends_earth_boundaries() -> None:
    got = drought_hazard_class(xr.DataArray(EDGE_VALUES, dims="x"), scheme="trends_earth")
    # lower bounds inclusive: 0 -> non-drought, -1 -> mild, -1.5 -> moderate, -2 -> severe
    np.testing.assert_array_equal(got.values, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0, NODATA])


def test_drought_class_table__codes_and_names_from_data() -> None:
    t = drought_class_table("prais")
    assert list(t["code"]) == [0, 1, 2, 3, 4, NODATA]
    assert list(t["name"])[:2] == ["Non-drought", "Mild drought"]
    assert list(t["upper_inclusive"])[:5] == [True] * 5
    te = drought_class_table("trends_earth")
    assert list(te["lower_inclusive"])[:5] == [True] * 5


def test_drought_hazard_class__bad_inputs() -> None:
    with pytest.raises(UnitsError, match="integer dtype.*/ 1000"):
        drought_hazard_class(xr.DataArray(np.array([-1500], dtype=np.int16), dims="x"))
    with pytest.raises(InputError, match="scheme is 'gpg'"):
        drought_hazard_class(xr.DataArray([0.0], dims="x"), scheme="gpg")  # type: ignore[arg-type]


@pytest.mark.parametrize("scheme", ["prais", "trends_earth"])
def test_drought_hazard_class__dask_equals_numpy(scheme: str) -> None:
    spi, *_ = _grid(ny=20, nx=30)
    spi = spi.copy()
    spi[2, :4, :4] = np.array([0.0, -1.0, -1.5, -2.0])  # exact edges in several chunks
    eager = drought_hazard_class(spi, scheme=scheme)  # type: ignore[arg-type]
    lazy = drought_hazard_class(spi.chunk({"y": 7, "x": 11}), scheme=scheme)  # type: ignore[arg-type]
    assert lazy.chunks is not None
    xr.testing.assert_identical(eager, lazy.compute())


def test_december_spi__takes_december_and_renames_time_to_year() -> None:
    time = pd.date_range("2000-01-01", periods=36, freq="MS")
    spi12 = xr.DataArray(np.arange(36.0), dims="time", coords={"time": time})
    got = december_spi(spi12)
    assert list(got["year"].values) == [2000, 2001, 2002]
    np.testing.assert_array_equal(got.values, [11.0, 23.0, 35.0])
    np.testing.assert_array_equal(december_spi(spi12, years=[2002, 2000]).values, [35.0, 11.0])
    with pytest.raises(InputError, match=r"no December value for \[2003\]"):
        december_spi(spi12, years=[2003])
    daily = xr.DataArray(
        np.zeros(40), dims="time", coords={"time": pd.date_range("2000-12-01", periods=40)}
    )
    with pytest.raises(InputError, match="more than one December"):
        december_spi(daily)


# ------------------------------------------------------------------------------- tables


def test_hazard_table__areas_add_up_to_zone_land_area() -> None:
    spi, zones, area, water = _grid()
    classes = drought_hazard_class(spi)
    names = {1: "north", 2: "centre", 3: "south", 9: "absent"}
    df = hazard_table(classes, area, zones, names, water_mask=water)

    a2 = np.broadcast_to(area.values[:, None], zones.shape)
    land = ~water.values
    assert set(df["zone"]) == {"north", "centre", "south", "absent", "ALL"}
    assert df["check"].all()
    for (year, zone), g in df.groupby(["year", "zone"]):
        if zone == "ALL":
            keep = land & (zones.values > 0)
        elif zone == "absent":
            keep = np.zeros_like(land)
        else:
            zid = {v: k for k, v in names.items()}[zone]
            keep = land & (zones.values == zid)
        expected_land = a2[keep].sum()
        assert g["area_km2"].sum() == pytest.approx(expected_land, rel=1e-9, abs=0)
        assert (g["land_area_km2"] == g["land_area_km2"].iloc[0]).all()
        c = classes.sel(year=year).values
        for _, r in g.iterrows():
            assert r["area_km2"] == pytest.approx(
                a2[keep & (c == r["class_code"])].sum(), rel=1e-12, abs=1e-12
            )
        if expected_land > 0:
            assert g["percent"].sum() == pytest.approx(100.0, rel=1e-9)
            nod = g.loc[g["class_code"] == NODATA, "area_km2"].iloc[0]
            assert nod == pytest.approx(a2[keep & np.isnan(spi.sel(year=year).values)].sum())
        else:
            assert g["percent"].isna().all()
    # ALL is the sum of the named zones
    s = df[df["zone"] != "ALL"].groupby(["year", "class_code"])["area_km2"].sum()
    a = df[df["zone"] == "ALL"].set_index(["year", "class_code"])["area_km2"]
    pd.testing.assert_series_equal(s.sort_index(), a.sort_index(), check_names=False)


def test_hazard_table__without_zones_and_dask_matches_numpy() -> None:
    spi, zones, area, water = _grid()
    classes = drought_hazard_class(spi)
    eager = hazard_table(classes, area.values, zones, water_mask=water)  # numpy per-row area
    lazy = hazard_table(classes.chunk({"y": 3}), area, zones.chunk({"y": 3}), water_mask=water)
    pd.testing.assert_frame_equal(eager, lazy)
    only_all = hazard_table(classes, area)
    assert set(only_all["zone"]) == {"ALL"}
    total = float(np.broadcast_to(area.values[:, None], zones.shape).sum())
    assert only_all.groupby("year")["area_km2"].sum().to_numpy() == pytest.approx(
        [total] * 3, rel=1e-9
    )


def test_hazard_table__rejects_unknown_codes() -> None:
    spi, zones, area, _ = _grid()
    bad = drought_hazard_class(spi).copy()
    bad[0, 0, 1] = 7
    with pytest.raises(InputError, match=r"class codes \[7\]"):
        hazard_table(bad, area, zones)


def test_exposure_table__sums_to_population_of_valid_cells() -> None:
    spi, zones, _, water = _grid()
    classes = drought_hazard_class(spi)
    rng = np.random.default_rng(5)
    pop = xr.DataArray(
        rng.uniform(0, 1000, size=(3,) + zones.shape),
        dims=("year", "y", "x"),
        coords={"year": spi["year"], "y": zones["y"], "x": zones["x"]},
    )
    pop[1, 5, 5] = np.nan  # a cell without population data counts as 0 people
    female = pop * 0.52
    male = pop - female
    df = exposure_table(
        classes, pop, zones=zones, population_female=female, population_male=male, water_mask=water
    )
    assert set(df["sex"]) == {"total", "female", "male"}
    assert df["check"].all()
    land = ~water.values
    for (year, sex, zone), g in df.groupby(["year", "sex", "zone"]):
        p = {"total": pop, "female": female, "male": male}[sex].sel(year=year).values
        keep = land & ((zones.values > 0) if zone == "ALL" else (zones.values == int(zone)))
        assert g["population"].sum() == pytest.approx(np.nansum(p[keep]), rel=1e-9)
        c = classes.sel(year=year).values
        drought = g.loc[g["class_code"].between(1, 4), "population"].sum()
        assert drought == pytest.approx(np.nansum(p[keep & (c >= 1) & (c <= 4)]), rel=1e-9)
    tot = df[df["sex"] == "total"].set_index(["year", "zone", "class_code"])["population"]
    fm = df[df["sex"] != "total"].groupby(["year", "zone", "class_code"])["population"].sum()
    pd.testing.assert_series_equal(tot.sort_index(), fm.sort_index(), check_names=False)


def test_exposure_table__static_population_and_missing_year() -> None:
    spi, zones, _, _ = _grid()
    classes = drought_hazard_class(spi)
    pop = xr.full_like(zones, 10.0, dtype=float)
    df = exposure_table(classes, pop)
    assert df.groupby("year")["population"].sum().tolist() == [10.0 * zones.size] * 3
    short = pop.expand_dims(year=[2000])
    with pytest.raises(InputError, match=r"no year \[2001, 2002\]"):
        exposure_table(classes, short)


# ------------------------------------------------------------------------------- DVI


def _dvi_inputs():
    rng = np.random.default_rng(1)
    dims = ("year", "y", "x")
    ind = {
        n: xr.DataArray(rng.uniform(0, 100, size=(2, 4, 5)), dims=dims)
        for n in ("literacy", "rural", "poverty", "gdp", "water", "irrigation")
    }
    groups = {
        "social": ["literacy", "rural"],
        "economic": ["poverty", "gdp"],
        "infrastructure": ["water", "irrigation"],
    }
    directions = {
        "literacy": -1,
        "rural": 1,
        "poverty": 1,
        "gdp": -1,
        "water": -1,
        "irrigation": -1,
    }
    return ind, groups, directions


def test_drought_vulnerability_index__range_and_worst_cell() -> None:
    ind, groups, directions = _dvi_inputs()
    # plant the worst cell (0, 1, 1) and the best cell (1, 2, 3) in every factor
    for n, d in directions.items():
        ind[n][0, 1, 1] = 200.0 if d == 1 else -100.0
        ind[n][1, 2, 3] = -100.0 if d == 1 else 200.0
    ds = drought_vulnerability_index(ind, groups=groups, directions=directions)
    dvi = ds["dvi"].values
    assert np.nanmin(dvi) >= 0.0 and np.nanmax(dvi) <= 1.0
    assert dvi[0, 1, 1] == pytest.approx(1.0)
    assert dvi[1, 2, 3] == pytest.approx(0.0)
    for g in groups:
        assert float(ds[g].max()) <= 1.0 and float(ds[g].min()) >= 0.0


def test_drought_vulnerability_index__direction_flip_and_hand_values() -> None:
    x = xr.DataArray([10.0, 20.0, 30.0, 50.0], dims="unit")
    y = xr.DataArray([1.0, 2.0, 3.0, 5.0], dims="unit")
    z = xr.DataArray([0.0, 0.0, 4.0, 8.0], dims="unit")
    groups = {"social": ["x"], "economic": ["y"], "infrastructure": ["z"]}
    up = drought_vulnerability_index(
        {"x": x, "y": y, "z": z}, groups=groups, directions={"x": 1, "y": 1, "z": 1}
    )
    down = drought_vulnerability_index(
        {"x": x, "y": y, "z": z}, groups=groups, directions={"x": -1, "y": 1, "z": 1}
    )
    np.testing.assert_allclose(up["x_normalised"], [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(down["x_normalised"], [1.0, 0.75, 0.5, 0.0])
    # DVI = (x + y + z) / 3 with z normalised [0, 0, .5, 1]
    np.testing.assert_allclose(up["dvi"], [0.0, 0.5 / 3, 1.5 / 3, 1.0])
    np.testing.assert_allclose(down["dvi"], [1.0 / 3, 1.0 / 3, 1.5 / 3, 2.0 / 3])


def test_drought_vulnerability_index__weights_on_factors_and_nan_rule() -> None:
    a = xr.DataArray([0.0, 1.0, 2.0, np.nan], dims="unit")
    b = xr.DataArray([2.0, 0.0, 1.0, 1.0], dims="unit")
    c = xr.DataArray([0.0, 1.0, 0.5, 0.5], dims="unit")
    groups = {"social": ["a", "b"], "economic": ["c"]}
    ds = drought_vulnerability_index(
        {"a": a, "b": b, "c": c},
        groups=groups,
        directions={"a": 1, "b": 1, "c": 1},
        weights={"a": 3.0},
    )
    # social = (3 * a_n + 1 * b_n) / 4; a_n = [0, .5, 1], b_n = [1, 0, .5]
    np.testing.assert_allclose(ds["social"].values[:3], [0.25, 0.375, 0.875])
    np.testing.assert_allclose(
        ds["dvi"].values[:3], [(0.25 + 0) / 2, (0.375 + 1) / 2, (0.875 + 0.5) / 2]
    )
    assert np.isnan(ds["social"].values[3]) and np.isnan(ds["dvi"].values[3])
    assert ds["economic"].values[3] == pytest.approx(0.5)


def test_drought_vulnerability_index__dask_equals_numpy() -> None:
    ind, groups, directions = _dvi_inputs()
    eager = drought_vulnerability_index(ind, groups=groups, directions=directions)
    lazy = drought_vulnerability_index(
        {k: v.chunk({"y": 2}) for k, v in ind.items()}, groups=groups, directions=directions
    )
    assert lazy["dvi"].chunks is not None
    xr.testing.assert_allclose(eager, lazy.compute())


def test_drought_vulnerability_index__errors() -> None:
    ind, groups, directions = _dvi_inputs()
    with pytest.raises(InputError, match=r"\['gdp'\] have no direction"):
        drought_vulnerability_index(
            ind, groups=groups, directions={k: v for k, v in directions.items() if k != "gdp"}
        )
    with pytest.raises(InputError, match=r"\['extra'\] are in groups but not in indicators"):
        drought_vulnerability_index(ind, groups={**groups, "x": ["extra"]}, directions=directions)
    with pytest.raises(InputError, match="direction other than"):
        drought_vulnerability_index(ind, groups=groups, directions={**directions, "gdp": 2})
    const = {**ind, "gdp": xr.full_like(ind["gdp"], 3.0)}
    with pytest.raises(InputError, match="'gdp' is constant"):
        drought_vulnerability_index(const, groups=groups, directions=directions)


def test_vulnerability_table__plain_and_area_weighted_means() -> None:
    dvi = xr.DataArray([[0.2, 0.4, np.nan], [0.6, 1.0, 0.0]], dims=("y", "x"))
    zones = xr.DataArray([[1, 1, 1], [2, 2, 0]], dims=("y", "x"))
    area = xr.DataArray([1.0, 3.0], dims="y")
    plain = vulnerability_table(dvi, zones, {1: "a", 2: "b"}).set_index("zone")
    assert plain.loc["a", "dvi_mean"] == pytest.approx(0.3)
    assert plain.loc["b", "dvi_mean"] == pytest.approx(0.8)
    assert plain.loc["ALL", "dvi_mean"] == pytest.approx(2.2 / 4)  # zone 0 excluded
    assert plain.loc["a", "n_cells"] == 2
    weighted = vulnerability_table(dvi, zones, {1: "a", 2: "b"}, area_km2=area).set_index("zone")
    assert weighted.loc["ALL", "dvi_mean"] == pytest.approx((0.2 + 0.4 + 3 * 1.6) / 8)
    lazy = vulnerability_table(dvi.chunk({"y": 1}), zones, {1: "a", 2: "b"}, area_km2=area)
    pd.testing.assert_frame_equal(lazy.set_index("zone"), weighted)


# ------------------------------------------------------------------------------- periods


def test_so3_period_summary__hand_computed() -> None:
    rows = []
    # zone Z, class 0 / 1 percentages: baseline 2000-2001 -> (60, 40), (80, 20);
    # period 2002-2003 -> (50, 50), (30, 70)
    for year, p0 in [(2000, 60.0), (2001, 80.0), (2002, 50.0), (2003, 30.0)]:
        rows += [
            {
                "year": year,
                "zone": "Z",
                "class_code": 0,
                "class_name": "Non-drought",
                "percent": p0,
            },
            {
                "year": year,
                "zone": "Z",
                "class_code": 1,
                "class_name": "Mild drought",
                "percent": 100 - p0,
            },
        ]
    out = so3_period_summary(
        pd.DataFrame(rows),
        baseline=(2000, 2001),
        periods={"p": (2002, 2003), "late": (2003, 2005), "none": (2010, 2011)},
    )
    got = out.set_index(["period", "class_code"])
    assert got.loc[("baseline", 0), "mean_percent"] == pytest.approx(70.0)
    assert got.loc[("baseline", 1), "change_pp"] == 0.0
    assert got.loc[("p", 0), "mean_percent"] == pytest.approx(40.0)
    assert got.loc[("p", 0), "change_pp"] == pytest.approx(-30.0)
    assert got.loc[("p", 1), "change_pp"] == pytest.approx(30.0)
    assert got.loc[("late", 1), "mean_percent"] == pytest.approx(70.0)
    assert got.loc[("late", 1), "n_years"] == 1
    assert got.loc[("p", 1), "n_years"] == 2
    assert np.isnan(got.loc[("none", 1), "change_pp"]) and got.loc[("none", 1), "n_years"] == 0
    assert list(out["period"].unique()) == ["baseline", "p", "late", "none"]


def test_so3_period_summary__from_hazard_table() -> None:
    spi, zones, area, water = _grid(years=(2000, 2001, 2016))
    df = hazard_table(drought_hazard_class(spi), area, zones, water_mask=water)
    out = so3_period_summary(df)
    sub = out[(out["zone"] == "ALL") & (out["period"] == "report_1")]
    assert sub["mean_percent"].sum() == pytest.approx(100.0)
    assert sub["change_pp"].sum() == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(InputError, match="lacks columns"):
        so3_period_summary(df.drop(columns="percent"))


# ------------------------------------------------------------------- drought totals


def test_hazard_table__drought_columns_are_mild_to_extreme() -> None:
    spi, zones, area, water = _grid()
    df = hazard_table(drought_hazard_class(spi), area, zones, water_mask=water)
    for _, g in df.groupby(["year", "zone"]):
        drought = g[g["class_code"].between(1, 4)]
        assert (g["drought_area_km2"] == g["drought_area_km2"].iloc[0]).all()
        assert g["drought_area_km2"].iloc[0] == pytest.approx(drought["area_km2"].sum(), rel=1e-12)
        assert g["drought_percent"].iloc[0] == pytest.approx(drought["percent"].sum(), rel=1e-12)
        # non-drought and no data are not drought
        rest = g[~g["class_code"].between(1, 4)]["area_km2"].sum()
        assert g["drought_area_km2"].iloc[0] + rest == pytest.approx(g["land_area_km2"].iloc[0])
    totals = drought_totals_table(df)
    assert len(totals) == df.groupby(["year", "zone"]).ngroups
    assert list(totals.columns) == [
        "year",
        "zone_id",
        "zone",
        "drought_area_km2",
        "drought_percent",
        "land_area_km2",
    ]
    with pytest.raises(InputError, match="neither drought_area_km2"):
        drought_totals_table(df.drop(columns="drought_area_km2"))


def test_exposure_table__drought_population_column() -> None:
    spi, zones, _, water = _grid()
    classes = drought_hazard_class(spi)
    pop = xr.DataArray(
        np.arange(zones.size, dtype=float).reshape(zones.shape),
        dims=("y", "x"),
        coords={"y": zones["y"], "x": zones["x"]},
    )
    df = exposure_table(classes, pop, zones=zones, water_mask=water)
    for (year, zone), g in df.groupby(["year", "zone"]):
        c = classes.sel(year=year).values
        keep = ~water.values & (
            (zones.values > 0) if zone == "ALL" else (zones.values == int(zone))
        )
        want = pop.values[keep & (c >= 1) & (c <= 4)].sum()
        assert g["drought_population"].iloc[0] == pytest.approx(want, rel=1e-12)
        assert g["drought_percent"].iloc[0] == pytest.approx(100 * want / pop.values[keep].sum())
    totals = drought_totals_table(df)
    assert {"sex", "drought_population", "zone_population"} <= set(totals.columns)
    assert len(totals) == df.groupby(["year", "sex", "zone"]).ngroups


# ------------------------------------------------------------------------ water


def test_water_mask_from_land_cover__unccd_class_7_and_nodata() -> None:
    lc = xr.DataArray(np.array([[1, 7, 3], [NODATA, 7, 6]], dtype=np.int16), dims=("y", "x"))
    np.testing.assert_array_equal(
        water_mask_from_land_cover(lc).values, [[False, True, False], [False, True, False]]
    )
    esa = xr.DataArray(np.array([[210.0, np.nan, 10.0]]), dims=("y", "x"))
    np.testing.assert_array_equal(water_mask_from_land_cover(esa, (210,)).values, [[1, 0, 0]])
    with pytest.raises(InputError, match="water_codes is empty"):
        water_mask_from_land_cover(lc, ())


def test_land_area_table__land_plus_water_is_territory_and_water_never_counted() -> None:
    """Water cells carry area and people (planted) but appear in no class row; land +
    water = territory, and the hazard denominator is the land area."""
    spi, zones, area, water = _grid()
    classes = drought_hazard_class(spi)
    names = {1: "a", 2: "b", 3: "c"}
    land = land_area_table(classes.isel(year=0), area, zones, names, water)
    a2 = np.broadcast_to(area.values[:, None], zones.shape)
    assert land["check"].all()
    for _, r in land.iterrows():
        keep = (zones.values > 0) if r["zone"] == "ALL" else (zones.values == r["zone_id"])
        assert r["territory_km2"] == pytest.approx(a2[keep].sum(), rel=1e-12)
        assert r["water_km2"] == pytest.approx(a2[keep & water.values].sum(), rel=1e-12, abs=0)
        assert r["land_km2"] == pytest.approx(a2[keep & ~water.values].sum(), rel=1e-12)
    haz = hazard_table(classes, area, zones, names, water_mask=water)
    got = haz.groupby("zone")["land_area_km2"].first()
    pd.testing.assert_series_equal(
        got.sort_index(), land.set_index("zone")["land_km2"].sort_index(), check_names=False
    )
    # people only on water: none of them is counted anywhere
    pop = xr.zeros_like(zones, dtype=float).where(~water, 1000.0)
    exp = exposure_table(classes, pop, zones=zones, zone_names=names, water_mask=water)
    assert exp["population"].sum() == 0.0 and exp["drought_population"].sum() == 0.0
    no_water = land_area_table(classes.isel(year=0), area, zones, names)
    assert (no_water["water_km2"] == 0).all() and no_water["check"].all()


# ------------------------------------------------------------------- most severe


def test_most_severe_drought_class__hand_example() -> None:
    years = [2000, 2001, 2002, 2003, 2004, 2005]
    c = np.array(
        [
            [0, 3, NODATA, 1, 0, 0],  # worst 3 in 2000-2003, 0 in 2004-2005
            [NODATA, NODATA, NODATA, NODATA, 2, NODATA],  # nothing in the first period
            [4, 0, 0, 0, 1, 4],
        ],
        dtype=np.int16,
    ).T[:, :, None]
    classes = xr.DataArray(c, dims=("year", "y", "x"), coords={"year": years})
    got = most_severe_drought_class(
        classes, {"p1": (2000, 2003), "p2": (2004, 2007), "none": (2010, 2013)}
    )
    assert list(got["period"].values) == ["p1", "p2"]  # a period without years is left out
    assert list(got["n_years"].values) == [4, 2] and list(got["period_end"].values) == [2003, 2007]
    np.testing.assert_array_equal(got.values[..., 0], [[3, NODATA, 4], [0, 2, 4]])
    assert got.dtype == np.int16
    with pytest.raises(InputError, match="expected \\(first, last\\)"):
        most_severe_drought_class(classes, {"bad": (2003, 2000)})
    with pytest.raises(InputError, match="no period has a year"):
        most_severe_drought_class(classes, {"late": (2030, 2033)})


@pytest.mark.parametrize("scheme", ["prais", "trends_earth"])
def test_most_severe_drought_class__is_class_of_lowest_spi(scheme: str) -> None:
    """The PRAIS/Trends.Earth rule: the map is the class of the minimum December SPI-12
    over the period's years; numpy and dask agree."""
    spi, *_ = _grid(ny=9, nx=11, years=tuple(range(2000, 2008)), seed=3)
    spi = spi.copy()
    spi[:4, 0, 1] = np.nan  # a cell without any value in 2000-2003
    spi[5, 3, 3] = -2.0  # an exact edge
    classes = drought_hazard_class(spi, scheme=scheme)  # type: ignore[arg-type]
    periods = {"2000-2003": (2000, 2003), "2004-2007": (2004, 2007)}
    got = most_severe_drought_class(classes, periods)
    for name, (a, b) in periods.items():
        lowest = spi.sel(year=slice(a, b)).min("year", skipna=True)
        want = drought_hazard_class(lowest, scheme=scheme)  # type: ignore[arg-type]
        np.testing.assert_array_equal(got.sel(period=name).values, want.values)
    assert got.sel(period="2000-2003").values[0, 1] == NODATA
    lazy = most_severe_drought_class(classes.chunk({"y": 4}), periods)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, got.values)


def test_most_severe_tables__area_and_people_per_period() -> None:
    spi, zones, area, water = _grid(years=(2000, 2001, 2002, 2003, 2016, 2017))
    classes = drought_hazard_class(spi)
    worst = most_severe_drought_class(classes, {"base": (2000, 2003), "rep": (2016, 2019)})
    df = most_severe_hazard_table(worst, area, zones, {1: "a", 2: "b", 3: "c"}, water)
    assert list(df.columns[:4]) == ["period", "start", "end", "n_years"]
    assert set(df["period"]) == {"base", "rep"} and df["check"].all()
    a2 = np.broadcast_to(area.values[:, None], zones.shape)
    land = ~water.values & (zones.values > 0)
    for (period, code), g in df[df["zone"] == "ALL"].groupby(["period", "class_code"]):
        m = worst.sel(period=period).values
        assert g["area_km2"].iloc[0] == pytest.approx(a2[land & (m == code)].sum(), abs=1e-12)
    # in drought in at least one year >= in drought in any single year of the period
    yearly = hazard_table(classes, area, zones, water_mask=water)
    yearly = yearly[yearly["zone"] == "ALL"].groupby("year")["drought_percent"].first()
    per = df[df["zone"] == "ALL"].groupby("period")["drought_percent"].first()
    assert per["base"] >= yearly.loc[2000:2003].max() - 1e-9
    assert per["rep"] >= yearly.loc[2016:2017].max() - 1e-9
    pop = xr.full_like(zones, 10.0, dtype=float)
    exp = most_severe_exposure_table(worst, pop, zones=zones, water_mask=water)
    assert list(exp.columns[:5]) == ["period", "start", "end", "n_years", "sex"]
    tot = exp[(exp["zone"] == "ALL")].groupby("period")["population"].sum()
    assert tot.tolist() == [10.0 * land.sum()] * 2
    with pytest.raises(InputError, match="year dimension"):
        most_severe_exposure_table(worst, pop.expand_dims(year=[2000]))


# --------------------------------------------------------------------------- DEA

# Four units on two indicators: A, B and C span the frontier; D = C / 2; E is inside.
DEA_UNITS = np.array(
    [
        [1.0, 0.2],  # A
        [0.2, 1.0],  # B
        [0.8, 0.8],  # C
        [0.4, 0.4],  # D
        [0.6, 0.3],  # E
        [0.0, 0.0],  # all zero
        [np.nan, 0.5],  # missing
    ]
)


def test_data_envelopment_scores__hand_checked_frontier() -> None:
    """Weight polytope {w >= 0: A.w <= 1, B.w <= 1, C.w <= 1} has the vertices (0, 0),
    (1, 0), (0.9375, 0.3125), (0.3125, 0.9375), (0, 1) (A and C meet at w1 + 0.2 w2 = 1,
    0.8 (w1 + w2) = 1). Best vertex of E = (0.6, 0.3): 0.6 * 0.9375 + 0.3 * 0.3125 =
    21/32; D = C / 2 scores 1/2; the frontier units score 1."""
    scores, weights = data_envelopment_scores(DEA_UNITS)
    np.testing.assert_allclose(scores[:6], [1.0, 1.0, 1.0, 0.5, 21 / 32, 0.0], atol=1e-9)
    assert np.isnan(scores[6]) and np.isnan(weights[6]).all()
    np.testing.assert_allclose(weights[4], [0.9375, 0.3125], atol=1e-9)
    np.testing.assert_allclose(weights[0] @ DEA_UNITS[0], 1.0, atol=1e-9)
    # no unit scores above 1 under any unit's weights (the DEA constraints)
    valid = DEA_UNITS[:6]
    assert (valid @ weights[:6].T).max() <= 1.0 + 1e-9


def test_data_envelopment_scores__scaling_an_indicator_changes_nothing() -> None:
    rng = np.random.default_rng(4)
    x = rng.gamma(2.0, 1.0, size=(200, 3))
    scores, weights = data_envelopment_scores(x)
    assert scores.min() >= 0.0 and scores.max() == pytest.approx(1.0)
    for c in (7.0, 1e-3):
        y = x.copy()
        y[:, 1] *= c
        s2, w2 = data_envelopment_scores(y)
        np.testing.assert_allclose(s2, scores, atol=1e-9)
        # weights of the scaled problem, with the scaled indicator's weight times c, are
        # optimal for the original one: feasible there and reaching every score (the
        # weights themselves are not unique: a frontier unit has a whole face of optima)
        back = w2 * [1.0, c, 1.0]
        assert (x @ back.T).max() <= 1.0 + 1e-6
        np.testing.assert_allclose((x * back).sum(1), scores, atol=1e-9)
        np.testing.assert_allclose((y * w2).sum(1), s2, atol=1e-9)
    # an indicator that is 0 for every unit changes nothing
    z = np.hstack([x, np.zeros((200, 1))])
    np.testing.assert_allclose(data_envelopment_scores(z)[0], scores, atol=1e-9)
    with pytest.raises(InputError, match="negative"):
        data_envelopment_scores(-x)
    with pytest.raises(InputError, match="n_units, n_indicators"):
        data_envelopment_scores(x[:, 0])


def test_data_envelopment_scores__equals_one_programme_per_unit() -> None:
    """The shortcuts (Pareto constraints, shared vertices, batches) give the scores of
    solving the textbook programme once per unit against every unit."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(8)
    x = np.round(rng.random((150, 3)), 2)  # rounded: ties and degenerate vertices
    x[:10] = x[10:20]  # duplicates
    want = np.array(
        [-linprog(-x[o], A_ub=x, b_ub=np.ones(len(x)), bounds=(0, None)).fun for o in range(150)]
    )
    got, _ = data_envelopment_scores(x, batch=7)
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert (got >= 0).all() and (got <= 1).all() and (got == 1).sum() >= 2


def test_drought_vulnerability_index__dea_weights() -> None:
    ind, groups, directions = _dvi_inputs()
    groups = {**groups, "infrastructure": ["water"]}
    ind = {k: v for k, v in ind.items() if k != "irrigation"}
    directions = {k: v for k, v in directions.items() if k != "irrigation"}
    dea = drought_vulnerability_index(ind, groups=groups, directions=directions, weights="dea")
    mean = drought_vulnerability_index(ind, groups=groups, directions=directions)
    social = np.stack(
        [dea["literacy_normalised"].values.ravel(), dea["rural_normalised"].values.ravel()], 1
    )
    np.testing.assert_allclose(
        dea["social"].values.ravel(), data_envelopment_scores(social)[0], atol=1e-12
    )
    for g in ("social", "economic"):
        v = dea[g].values
        assert v.min() >= 0 and v.max() == pytest.approx(1.0)
        # the most favourable weights score at least the equal weights (which are feasible)
        assert (v >= mean[g].values - 1e-9).all()
    # one factor: the DEA score is the normalised factor itself
    np.testing.assert_allclose(dea["infrastructure"], dea["water_normalised"], atol=1e-12)
    np.testing.assert_allclose(
        dea["dvi"], (dea["social"] + dea["economic"] + dea["infrastructure"]) / 3
    )
    assert dea["dvi"].attrs["weights"] == "dea"
    lazy = drought_vulnerability_index(
        {k: v.chunk({"y": 2}) for k, v in ind.items()},
        groups=groups,
        directions=directions,
        weights="dea",
    )
    assert lazy["dvi"].chunks is not None
    xr.testing.assert_allclose(dea, lazy.compute())
    with pytest.raises(InputError, match="weights is 'pca'"):
        drought_vulnerability_index(
            ind,
            groups=groups,
            directions=directions,
            weights="pca",  # type: ignore[arg-type]
        )
