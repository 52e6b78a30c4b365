"""UNCCD national reporting tables on the sample region: every PRAIS 4 table is there with
its rows and columns, every cross-check passes, classes add up to the land area, the
tables agree with each other and with the rasters counted here independently (geodesic
cell areas from pyproj, admin units burnt with rasterio), the XLSX has a sheet per table,
and a tampered run table makes exactly the matching checks fail with the numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio
import rasterio.features
import typer
from pyproj import Geod
from typer.testing import CliRunner

from landwatch.commands.report import report_app
from landwatch.errors import InputError
from landwatch.indices.land.codes import LC_CLASSES, LPD_CLASSES
from landwatch.reports.national_tables import (
    NationalTables,
    national_tables,
    write_national_tables,
)
from landwatch.sample import SampleRegion
from landwatch.workflows.ldn import LdnResult, run_ldn
from landwatch.workflows.so3 import So3Result, run_so3

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CLASS4 = ["Improved", "Stable", "Degraded", "No data"]
PERIODS = ["baseline", "report_1", "report_2"]
REL = 1e-3  # the 0.1 % of the brief


@pytest.fixture(scope="module")
def ldn_run(sample_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> LdnResult:
    return run_ldn(sample_run_dir, tmp_path_factory.mktemp("ldn") / "ldn")


@pytest.fixture(scope="module")
def so3_run(sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory) -> So3Result:
    """SO3 as in test_so3_workflow (population by sex, admin units, a small DVI), with the
    water of the 2000 land cover (the sample's water does not change) and no extra lake."""
    d = sample_region.out_dir
    with rasterio.open(d / "population.tif") as src:
        profile, pop = src.profile, src.read(1)
    with rasterio.open(d / "soc_2000.tif") as src:
        soc = src.read(1)
    ind = tmp_path_factory.mktemp("dvi_nt")
    profile.update(driver="GTiff", dtype="float32", nodata=None)
    for name, arr in (("density", np.nan_to_num(pop)), ("soil_carbon", np.nan_to_num(soc))):
        with rasterio.open(ind / f"{name}.tif", "w", **profile) as dst:
            dst.write(arr.astype(np.float32), 1)
    vuln = {
        "indicators": {k: str(ind / f"{k}.tif") for k in ("density", "soil_carbon")},
        "groups": {"social": ["density"], "economic": ["soil_carbon"]},
        "directions": {"density": 1, "soil_carbon": -1},
    }
    return run_so3(
        d / "climate_monthly.nc",
        tmp_path_factory.mktemp("so3_nt") / "so3",
        population=d / "population.tif",
        population_female=d / "population_female.tif",
        population_male=d / "population_male.tif",
        admin=d / "admin.gpkg",
        admin_layer="admin1",
        vulnerability=vuln,
        land_cover=d / "land_cover_2000.tif",
    )


@pytest.fixture(scope="module")
def nt(sample_run_dir: Path, so3_run: So3Result, ldn_run: LdnResult) -> NationalTables:
    return national_tables(sample_run_dir, so3_run=so3_run.out_dir, ldn_run=ldn_run.out_dir)


@pytest.fixture(scope="module")
def written(nt: NationalTables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "tables"
    write_national_tables(nt, out)
    return out


@pytest.fixture(scope="module")
def grid(sample_region: SampleRegion) -> dict[str, np.ndarray]:
    """Geodesic pixel areas (km2, per row) and the territory, computed here, not by landwatch."""
    d = sample_region.out_dir
    with rasterio.open(d / "land_cover_2000.tif") as src:
        t, shape = src.transform, src.shape
    geod = Geod(ellps="WGS84")
    rows = []
    for r in range(shape[0]):
        top, bottom = t.f + r * t.e, t.f + (r + 1) * t.e
        lons = [t.c, t.c + t.a, t.c + t.a, t.c]
        lats = [top, top, bottom, bottom]
        rows.append(abs(geod.polygon_area_perimeter(lons, lats)[0]) / 1e6)
    admin = gpd.read_file(d / "admin.gpkg", layer="admin1").to_crs(4326)
    units = rasterio.features.rasterize(
        ((g, i + 1) for i, g in enumerate(admin.geometry)), out_shape=shape, transform=t, fill=0
    )
    return {
        "cell": np.broadcast_to(np.asarray(rows)[:, None], shape),
        "territory": units > 0,
        "units": units,
    }


def _read(p: Path) -> np.ndarray:
    with rasterio.open(p) as src:
        return src.read(1)


def _km2(grid: dict[str, np.ndarray], mask: np.ndarray) -> float:
    return float(grid["cell"][mask & grid["territory"]].sum())


# ------------------------------------------------------------------------------- layout


def test_national_tables__every_prais_table_with_its_rows_and_columns(nt: NationalTables) -> None:
    t = nt.tables
    want = ["CP-1.T1", "SO1-1.T4", "SO1-1.T5", "SO1-1.T6", "SO1-1.T7", "SO1-2.T1", "SO1-2.T2",
            "SO1-2.T3", "SO1-3.T1", "SO1-3.T2", "SO1-4.T1", "SO1-4.T1 matrix", "SO1-4.T2",
            "SO1-4.T4", "SO1-4.T5", "SO2-3", "SO3-1.T1", "SO3-1.T2", "SO3-2.T1", "SO3-2.T2",
            "SO3-2.T3", "SO3-3.T1"]  # fmt: skip
    assert list(t) == want
    lc = [f"{n} km2" for n in [*LC_CLASSES.values(), "No data"]]
    assert list(t["CP-1.T1"].columns[:4]) == [
        "year", "land_area_km2", "water_bodies_km2", "total_area_km2"]  # fmt: skip
    assert t["CP-1.T1"]["year"].tolist() == [2000, 2015, 2019, 2023]
    assert list(t["SO1-1.T4"].columns) == ["year", *lc]
    for name, periods in (("SO1-1.T5", ["baseline"]), ("SO1-1.T6", ["report_1", "report_2"])):
        df = t[name]
        assert list(df.columns) == ["period", "initial_year", "final_year", "initial_class", *lc]
        assert df["period"].unique().tolist() == periods
        assert df.groupby("period").size().eq(8).all()
    for name in ("SO1-1.T7", "SO1-2.T3", "SO1-3.T2"):
        assert t[name]["class"].tolist() == CLASS4
        assert list(t[name].columns[1:]) == [
            f"{p}_{k}" for p in PERIODS for k in ("km2", "percent_of_land")]  # fmt: skip
    assert list(t["SO1-4.T1"].columns[1:]) == [
        f"{p}_{k}" for p in PERIODS[1:] for k in ("km2", "percent_of_land")]  # fmt: skip
    lpd = [f"{n} km2" for n in [*LPD_CLASSES.values(), "No data"]]
    assert list(t["SO1-2.T1"].columns) == ["period", "land_cover_year", "land_cover", *lpd]
    assert t["SO1-2.T2"]["period"].unique().tolist() == ["report_1", "report_2"]
    assert list(t["SO1-3.T1"].columns) == [
        "land_cover", "2000 t/ha", "2015 t/ha", "2019 t/ha", "2023 t/ha", "tier"]  # fmt: skip
    assert t["SO1-3.T1"]["land_cover"].tolist() == list(LC_CLASSES.values())
    m = t["SO1-4.T1 matrix"].set_index(["period", "baseline_assessment", "period_assessment"])
    # the PRAIS status matrix: a stable period keeps the baseline condition
    assert m.loc[("report_2", "Degraded", "Stable"), "status"] == "Degraded"
    assert m.loc[("report_2", "Improved", "Stable"), "status"] == "Improved"
    assert m.loc[("report_2", "Degraded", "Improved"), "status"] == "Improved"
    assert m.loc[("report_2", "Improved", "Degraded"), "status"] == "Degraded"
    s2 = t["SO1-4.T2"]
    assert s2["period"].tolist() == PERIODS and s2["year"].tolist() == [2015, 2019, 2023]
    assert (s2["method"] == "one-out-all-out").all()
    assert s2.loc[0, "change_vs_baseline_km2"] == 0
    for name in ("SO1-4.T4", "SO1-4.T5"):
        df = t[name]
        assert len(df) > 0 and set(df["period"]) == {"report_1", "report_2"}
        for col in ("admin_unit", "centroid_lon", "centroid_lat", "area_km2", "process", "basis"):
            assert df[col].notna().all(), (name, col)
        assert df["admin_unit"].str.startswith("KE-S0").all()
        assert df["centroid_lon"].between(37.0, 37.9).all()
        assert df["centroid_lat"].between(-1.9, -1.0).all()
    assert t["SO2-3"]["period"].tolist() == PERIODS
    assert t["SO3-1.T1"]["year"].tolist() == list(range(2000, 2024))
    for col in ("non_drought", "mild_drought", "moderate_drought", "severe_drought",
                "extreme_drought"):  # fmt: skip
        assert f"{col}_km2" in t["SO3-1.T1"] and f"{col}_percent_of_land" in t["SO3-1.T1"]
        for name in ("SO3-2.T1", "SO3-2.T2", "SO3-2.T3"):
            assert f"{col}_percent" in t[name]
    assert list(t["SO3-1.T2"].columns) == [
        "year", "drought_area_km2", "drought_percent", "land_area_km2"]  # fmt: skip
    assert t["SO3-3.T1"]["dvi_total"].between(0, 1).all()


def test_national_tables__all_checks_pass_on_the_sample(nt: NationalTables) -> None:
    """Every check passes, every table is checked, and equalities hold within 0.1 %."""
    assert nt.ok, nt.failed.to_string()
    assert len(nt.checks) >= 100
    assert list(nt.checks.columns) == ["table", "check", "expected", "got", "difference_pct", "ok"]
    assert set(nt.tables) <= set(nt.checks["table"])
    equal = ~nt.checks["check"].str.contains("<=|>=")
    assert (nt.checks.loc[equal, "difference_pct"].abs() <= 0.1).all()


# ---------------------------------------------------------------------------- sums


def test_national_tables__classes_sum_to_the_land_area(nt: NationalTables) -> None:
    t = nt.tables
    cp = t["CP-1.T1"]
    assert np.allclose(cp["land_area_km2"] + cp["water_bodies_km2"], cp["total_area_km2"])
    t4 = t["SO1-1.T4"].set_index("year")
    assert np.allclose(t4.sum(axis=1), cp.set_index("year")["total_area_km2"], rtol=REL)
    territory = float(cp["total_area_km2"].iloc[0])
    land = t["SO1-4.T2"].set_index("period")["land_area_km2"]
    assert (land < territory).all()  # the sample has lakes
    for name in ("SO1-1.T5", "SO1-1.T6"):
        for _, g in t[name].groupby("period"):
            assert g.filter(like="km2").to_numpy().sum() == pytest.approx(territory, rel=REL)
    for name, periods in (("SO1-1.T7", PERIODS), ("SO1-2.T3", PERIODS), ("SO1-3.T2", PERIODS),
                          ("SO1-4.T1", PERIODS[1:])):  # fmt: skip
        for p in periods:
            assert t[name][f"{p}_km2"].sum() == pytest.approx(land[p], rel=REL), (name, p)
            assert t[name][f"{p}_percent_of_land"].sum() == pytest.approx(100, rel=REL)
    for name in ("SO1-2.T1", "SO1-2.T2"):
        for p, g in t[name].groupby("period"):
            assert g.filter(like="km2").to_numpy().sum() == pytest.approx(land[p], rel=REL)
    for p, g in t["SO1-4.T1 matrix"].groupby("period"):
        assert g["area_km2"].sum() == pytest.approx(land[p], rel=REL)
    h = t["SO3-1.T1"]
    assert np.allclose(h.filter(like="_km2").drop(columns="land_area_km2").sum(axis=1),
                       h["land_area_km2"], rtol=REL)  # fmt: skip
    for name in ("SO3-2.T1", "SO3-2.T2", "SO3-2.T3"):
        pct = t[name].filter(like="drought_percent").drop(columns="drought_percent")
        assert np.allclose(pct.sum(axis=1), 100, rtol=REL)


# ----------------------------------------------------------------- agreement


def test_national_tables__tables_agree_with_each_other(nt: NationalTables) -> None:
    t = nt.tables
    s2 = t["SO1-4.T2"].set_index("period")
    st = t["SO1-4.T1"].set_index("class")
    sub = {n: t[n].set_index("class") for n in ("SO1-1.T7", "SO1-2.T3", "SO1-3.T2")}
    for p in PERIODS:
        assessed = s2.loc[p, "period_assessment_degraded_km2"]
        degraded = {n: df.loc["Degraded", f"{p}_km2"] for n, df in sub.items()}
        # one-out-all-out: at least the largest, at most the sum of the sub-indicators
        assert max(degraded.values()) <= assessed * (1 + REL)
        assert assessed <= sum(degraded.values()) * (1 + REL)
        if p != "baseline":
            assert s2.loc[p, "degraded_km2"] == pytest.approx(
                st.loc["Degraded", f"{p}_km2"], rel=REL
            )
            m = t["SO1-4.T1 matrix"]
            m = m[(m.period == p) & (m.status == "Degraded")]
            assert m["area_km2"].sum() == pytest.approx(s2.loc[p, "degraded_km2"], rel=REL)
        # SO1-2.T3 = the 5 LPD classes grouped
        lpd = t["SO1-2.T1" if p == "baseline" else "SO1-2.T2"]
        lpd = lpd[lpd.period == p]
        declining = lpd[["Declining km2", "Moderate decline km2"]].to_numpy().sum()
        assert declining == pytest.approx(sub["SO1-2.T3"].loc["Degraded", f"{p}_km2"], rel=REL)
        assert lpd["Increasing km2"].sum() == pytest.approx(
            sub["SO1-2.T3"].loc["Improved", f"{p}_km2"], rel=REL
        )
    # change matrix margins = land cover areas
    t4 = t["SO1-1.T4"].set_index("year")
    t5 = t["SO1-1.T5"].set_index("initial_class").filter(like="km2")
    assert np.allclose(t5.sum(axis=1).to_numpy(), t4.loc[2000].to_numpy(), rtol=REL)
    assert np.allclose(t5.sum(axis=0).to_numpy(), t4.loc[2015].to_numpy(), rtol=REL)
    # change: reporting degraded - baseline degraded
    assert s2.loc["report_2", "change_vs_baseline_km2"] == pytest.approx(
        s2.loc["report_2", "degraded_km2"] - s2.loc["baseline", "degraded_km2"]
    )
    # drought totals = drought classes; SO3-2 people = SO2-3 people on land
    h = t["SO3-1.T1"]
    drought = h[[c for c in h.columns if c.endswith("drought_km2") and c != "non_drought_km2"]]
    assert np.allclose(drought.sum(axis=1), t["SO3-1.T2"]["drought_area_km2"], rtol=REL)
    assert t["SO3-2.T1"]["population"].iloc[0] == pytest.approx(
        t["SO2-3"]["population_on_land"].iloc[0], rel=REL
    )
    f, m_ = t["SO3-2.T2"]["population"], t["SO3-2.T3"]["population"]
    assert np.allclose(f + m_, t["SO3-2.T1"]["population"], rtol=REL)


def test_national_tables__agree_with_the_rasters(
    nt: NationalTables, sample_run_dir: Path, sample_region: SampleRegion, grid: dict
) -> None:
    """Areas and people counted here from the COGs and the population grid, with cell areas
    from pyproj's geodesic polygons, equal the tables within 0.1 %."""
    t = nt.tables
    maps = sample_run_dir / "maps"
    assert t["CP-1.T1"]["total_area_km2"].iloc[0] == pytest.approx(
        _km2(grid, np.ones_like(grid["territory"])), rel=REL
    )
    for year in (2000, 2023):
        lc = _read(maps / "land_cover" / f"land_cover_{year}.tif")
        row = t["SO1-1.T4"].set_index("year").loc[year]
        for code, name in LC_CLASSES.items():
            assert row[f"{name} km2"] == pytest.approx(_km2(grid, lc == code), rel=REL, abs=1e-6)
        water = _km2(grid, lc == 7)
        cp = t["CP-1.T1"].set_index("year").loc[year]
        assert cp["water_bodies_km2"] == pytest.approx(water, rel=REL)
    lc15, lc23 = (_read(maps / "land_cover" / f"land_cover_{y}.tif") for y in (2015, 2023))
    land = ~((lc15 == 7) | (lc23 == 7))
    s2 = t["SO1-4.T2"].set_index("period")
    status = _read(maps / "report_2" / "status3.tif")
    assert s2.loc["report_2", "degraded_km2"] == pytest.approx(
        _km2(grid, land & (status == -1)), rel=REL
    )
    assert s2.loc["report_2", "land_area_km2"] == pytest.approx(_km2(grid, land), rel=REL)
    with rasterio.open(sample_region.out_dir / "population.tif") as src:
        pop = np.nan_to_num(src.read(1).astype(float))
    so2 = t["SO2-3"].set_index("period")
    assert so2.loc["report_2", "population_on_land"] == pytest.approx(
        pop[land & grid["territory"]].sum(), rel=REL
    )
    sdg = _read(maps / "report_2" / "sdg.tif")
    assert so2.loc["report_2", "population_on_degraded_land"] == pytest.approx(
        pop[land & grid["territory"] & (sdg == -1)].sum(), rel=REL
    )
    soc = _read(maps / "soc" / "soc_2023.tif").astype(float)
    soc_t = t["SO1-3.T1"].set_index("land_cover")["2023 t/ha"]
    for code, name in LC_CLASSES.items():
        sel = (lc23 == code) & grid["territory"] & np.isfinite(soc)
        if code == 7:
            assert np.isnan(soc_t[name])
            continue
        w = grid["cell"][sel]
        assert soc_t[name] == pytest.approx((soc[sel] * w).sum() / w.sum(), rel=REL)


# ------------------------------------------------------------------------------ files


def test_write_national_tables__csv_xlsx_json(nt: NationalTables, written: Path) -> None:
    wb = openpyxl.load_workbook(written / "national_tables.xlsx", read_only=True)
    assert wb.sheetnames == ["README", *nt.tables, "checks"]
    for name, df in nt.tables.items():
        header = next(wb[name].iter_rows(min_row=1, max_row=1, values_only=True))
        assert list(header) == list(df.columns), name
        assert wb[name].max_row == len(df) + 1, name
        csv = pd.read_csv(written / f"{name.replace(' ', '_')}.csv")
        assert list(csv.columns) == list(df.columns) and len(csv) == len(df)
    readme = dict(wb["README"].iter_rows(min_row=2, values_only=True))
    assert readme["landwatch version"]
    assert str(Path(nt.metadata["sources"]["sdg1531"]["path"])) in readme["source: sdg1531"]
    assert "so3" in readme["source: so3"] and "ldn" in readme["source: ldn"]
    assert readme["checks"].startswith(f"{len(nt.checks)} of {len(nt.checks)} passed")
    assert "km2" in readme["unit: area"]
    js = json.loads((written / "national_tables.json").read_text())
    assert set(js["tables"]) == set(nt.tables) and len(js["checks"]) == len(nt.checks)
    assert pd.read_csv(written / "checks.csv")["ok"].all()
    # never half-written: an existing folder stays as it is unless --overwrite
    before = sorted(p.name for p in written.iterdir())
    with pytest.raises(InputError, match="already exists"):
        write_national_tables(nt, written)
    assert sorted(p.name for p in written.iterdir()) == before


def test_national_tables__without_ldn_and_so3_says_so(sample_run_dir: Path) -> None:
    res = national_tables(sample_run_dir)
    assert "SO1-4.T4" not in res.tables and "SO3-1.T1" not in res.tables
    assert any("no LDN run" in n for n in res.notes)
    assert any("no SO3 run" in n for n in res.notes)
    assert res.ok, res.failed.to_string()


def test_national_tables__admin_unit(sample_run_dir: Path, nt: NationalTables) -> None:
    """Each unit's tables pass their checks and the units add up to the territory."""
    units = [national_tables(sample_run_dir, admin_id=f"KE-S0{i}") for i in range(1, 5)]
    for u in units:
        assert u.ok, u.failed.to_string()
    total = sum(u.tables["SO1-1.T4"].set_index("year").loc[2015] for u in units)
    assert np.allclose(total, nt.tables["SO1-1.T4"].set_index("year").loc[2015], rtol=REL)
    deg = sum(u.tables["SO1-4.T2"].set_index("period")["degraded_km2"] for u in units)
    assert np.allclose(deg, nt.tables["SO1-4.T2"].set_index("period")["degraded_km2"], rtol=REL)
    t5 = sum(u.tables["SO1-1.T5"].filter(like="km2").to_numpy() for u in units)
    assert np.allclose(t5, nt.tables["SO1-1.T5"].filter(like="km2").to_numpy(), rtol=REL, atol=1e-6)
    with pytest.raises(InputError, match="not an admin unit"):
        national_tables(sample_run_dir, admin_id="XX-99")


# --------------------------------------------------------------------------- tampering


@pytest.fixture(scope="module")
def tampered(sample_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A copy of the run with +100 km2 on report_2's degraded area (sdg_summary.csv) and
    +50 km2 on Cropland 2015 (land_cover_areas.csv)."""
    run = tmp_path_factory.mktemp("tampered") / "sdg1531"
    shutil.copytree(sample_run_dir, run)
    p = run / "tables" / "sdg_summary.csv"
    df = pd.read_csv(p, dtype={"admin_id": str})
    row = (df.period == "report_2") & (df.admin_id == "ALL")
    original = float(df.loc[row, "status_degraded_km2"].iloc[0])
    df.loc[row, "status_degraded_km2"] += 100.0
    df.to_csv(p, index=False)
    p = run / "tables" / "land_cover_areas.csv"
    lc = pd.read_csv(p)
    crop = (lc.year == 2015) & (lc.land_cover == "Cropland")
    crop_original = float(lc.loc[crop, "area_km2"].iloc[0])
    lc.loc[crop, "area_km2"] += 50.0
    lc.to_csv(p, index=False)
    return {"run": run, "degraded": original, "cropland": crop_original}


def test_national_tables__tampered_table_fails_its_checks(tampered: dict) -> None:
    res = national_tables(tampered["run"])
    failed = res.failed
    assert not res.ok
    deg = failed[failed["check"].str.startswith("report_2: degraded km2 = maps/report_2/status3")]
    assert len(deg) == 1
    r = deg.iloc[0]
    assert r["table"] == "SO1-4.T2"
    assert r["expected"] == pytest.approx(tampered["degraded"], rel=1e-9)
    assert r["got"] == pytest.approx(tampered["degraded"] + 100, rel=1e-9)
    assert r["difference_pct"] == pytest.approx(100 * 100 / tampered["degraded"], rel=1e-6)
    assert ((failed["table"] == "SO1-4.T2") & failed["check"].str.contains("SO1-4.T1 status")).any()
    lc = failed[failed["check"].str.contains("2015: class areas = maps/land_cover")]
    assert len(lc) == 1 and "Cropland" in lc.iloc[0]["check"]
    assert lc.iloc[0]["expected"] == pytest.approx(tampered["cropland"], rel=1e-9)
    assert lc.iloc[0]["got"] == pytest.approx(tampered["cropland"] + 50, rel=1e-9)
    cp = failed[(failed["table"] == "CP-1.T1") & failed["check"].str.startswith("2015")]
    assert len(cp) == 1 and cp.iloc[0]["got"] - cp.iloc[0]["expected"] == pytest.approx(50)
    # nothing else is touched: the other years, SO1-2 and SO1-3 still pass
    assert not failed["check"].str.startswith(("2000", "2019", "2023")).any()
    assert not failed["table"].isin(["SO1-2.T1", "SO1-2.T2", "SO1-2.T3", "SO1-3.T2"]).any()
    # the table itself carries the tampered number (taken from the run, not recomputed)
    s2 = res.tables["SO1-4.T2"].set_index("period")
    assert s2.loc["report_2", "degraded_km2"] == pytest.approx(tampered["degraded"] + 100)


# ---------------------------------------------------------------------------------- CLI


def _app() -> typer.Typer:
    from landwatch.cli import main

    app = typer.Typer()
    app.callback()(main)
    app.add_typer(report_app, name="report")
    return app


def test_report_cli__passes_fails_and_errors(
    sample_run_dir: Path, ldn_run: LdnResult, tampered: dict, tmp_path: Path
) -> None:
    runner = CliRunner()
    app = _app()
    out = tmp_path / "ok"
    r = runner.invoke(
        app,
        ["report", "tables", "--sdg-run", str(sample_run_dir), "--ldn-run", str(ldn_run.out_dir),
         "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "cross-checks passed" in r.output and "SDG 15.3.1" in r.output
    assert (out / "national_tables.xlsx").is_file() and (out / "SO1-4.T4.csv").is_file()
    # a failed check: exit 1, red lines with the numbers, outputs still written
    bad = tmp_path / "bad"
    r = runner.invoke(
        app, ["report", "tables", "--sdg-run", str(tampered["run"]), "--out", str(bad)]
    )
    assert r.exit_code == 1, r.output
    assert "FAILED SO1-4.T2" in r.output and "expected" in r.output
    assert (bad / "national_tables.xlsx").is_file()
    # an error: exit 2, one line, nothing written
    r = runner.invoke(
        app, ["report", "tables", "--sdg-run", str(tmp_path), "--out", str(tmp_path / "e")]
    )
    assert r.exit_code == 2 and "manifest.json" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "e").exists()
    r = runner.invoke(
        app, ["report", "tables", "--sdg-run", str(sample_run_dir), "--out", str(out)]
    )
    assert r.exit_code == 2 and "already exists" in r.output
