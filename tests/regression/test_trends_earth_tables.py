"""Parity with Trends.Earth (te_algorithms @ 35b2b7d) truth tables and default tables.

Expected outputs under ``../shared/validation/trends_earth_algorithms/expected`` were
produced by calling Trends.Earth's own functions on exhaustive input grids (see the
README there); the default tables are under ``../shared/data/trends_earth``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from landwatch.indices.land.area import area_by_class, cell_area_m2, crosstab_area, pixel_area_km2
from landwatch.indices.land.codes import NODATA
from landwatch.indices.land.land_cover import (
    land_cover_degradation,
    land_cover_transition,
    load_nesting,
    load_transition_matrix,
)
from landwatch.indices.land.sdg1531 import one_out_all_out, status_expanded
from landwatch.indices.land.soc import (
    climate_regimes,
    cropland_factor,
    load_soc_factors,
    soc_degradation,
)

pytestmark = pytest.mark.shared_data


def _expected(shared_dir: Path, name: str) -> dict:
    path = shared_dir / "validation" / "trends_earth_algorithms" / "expected" / f"{name}.json"
    return json.loads(path.read_text())


def _te(shared_dir: Path, name: str) -> Path:
    return shared_dir / "data" / "trends_earth" / name


def _col(cases: list[dict], key: str, dtype=np.int16) -> xr.DataArray:
    return xr.DataArray(np.array([c[key] for c in cases], dtype=dtype), dims=("case",))


def test_calc_deg_lc__every_case(shared_dir: Path) -> None:
    exp = _expected(shared_dir, "calc_deg_lc")
    cases = exp["cases"]
    assert len(cases) == 64
    a, b = _col(cases, "lc_baseline"), _col(cases, "lc_target")
    np.testing.assert_array_equal(
        land_cover_transition(a, b).values, _col(cases, "transition_code").values
    )
    np.testing.assert_array_equal(land_cover_degradation(a, b).values, _col(cases, "lc_deg").values)
    meaning = {"stable": 0, "degradation": -1, "improvement": 1}
    ours = load_transition_matrix().as_dict()
    for key, word in exp["default_matrix"].items():
        i, j = (int(v) for v in key.split("->"))
        assert ours[(i, j)] == meaning[word], key


def test_default_transition_matrix__equals_trends_earth_csv(shared_dir: Path) -> None:
    te = load_transition_matrix(_te(shared_dir, "lc_degradation_matrix_unccd_default.csv"))
    ours = load_transition_matrix()
    np.testing.assert_array_equal(ours.meaning, te.meaning)
    assert ours.names == te.names


def test_esa_nesting__equals_trends_earth_csv(shared_dir: Path) -> None:
    ours = load_nesting("esa_cci")
    with _te(shared_dir, "esa_cci_to_unccd7.csv").open() as fh:
        te = {int(r["esa_cci_code"]): int(r["unccd_code"]) for r in csv.DictReader(fh)}
    te.pop(NODATA)
    assert {k: v for k, v in ours.items() if k != 0} == te


def test_soc_factor_matrix__equals_trends_earth_csv(shared_dir: Path) -> None:
    te = load_soc_factors(_te(shared_dir, "soc_land_use_factor_matrix_ipcc7.csv"))
    ours = load_soc_factors()
    for f in (0.48, 0.58, 0.64, 0.69, 0.8):
        np.testing.assert_allclose(ours.factor(f), te.factor(f), rtol=0, atol=0)
    np.testing.assert_array_equal(ours.power, te.power)


def test_soc_climate_regimes__equal_trends_earth(shared_dir: Path) -> None:
    with _te(shared_dir, "soc_climate_regime_fl.csv").open() as fh:
        te = {r["regime_name"].lower(): float(r["f_land_use_cropland"]) for r in csv.DictReader(fh)}
    assert climate_regimes() == te
    with _te(shared_dir, "ipcc_climate_zone_to_soc_regime.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    zones = xr.DataArray(np.array([int(r["ipcc_zone_code"]) for r in rows]), dims=("z",))
    got = cropland_factor(zones).values
    for r, g in zip(rows, got, strict=True):
        if r["soc_regime_code"] == "0":
            assert np.isnan(g)
        else:
            assert g == pytest.approx(te[r["soc_regime_name"].lower()], rel=1e-6)


def test_soc__every_case(shared_dir: Path) -> None:
    cases = _expected(shared_dir, "soc")["cases"]
    bl = _col(cases, "soc_bl", np.float64)
    tg = _col(cases, "soc_tg", np.float64)
    water = _col(cases, "water", bool)
    ds = soc_degradation(bl, tg, water_mask=water)
    np.testing.assert_array_equal(ds.soc_degradation.values, _col(cases, "deg_soc").values)
    np.testing.assert_array_equal(
        ds.soc_degradation.values, _col(cases, "recode_deg_soc_of_rounded_pch").values
    )
    # TE writes -32768 into the float % change where an input is missing; we use NaN
    pch = np.where(np.isnan(ds.pct_change.values), NODATA, ds.pct_change.values)
    np.testing.assert_allclose(pch, _col(cases, "pct_change", np.float64).values, rtol=1e-6)


def test_calc_deg_sdg__every_case(shared_dir: Path) -> None:
    cases = _expected(shared_dir, "calc_deg_sdg")["cases"]
    assert len(cases) == 64
    out = one_out_all_out(_col(cases, "prod3"), _col(cases, "lc"), _col(cases, "soc"))
    np.testing.assert_array_equal(out.values, _col(cases, "sdg").values)


def test_sdg_status_expanded__every_case(shared_dir: Path) -> None:
    cases = _expected(shared_dir, "sdg_status_expanded")["cases"]
    ds = status_expanded(_col(cases, "baseline"), _col(cases, "reporting"))
    np.testing.assert_array_equal(ds.status7.values, _col(cases, "status7").values)
    np.testing.assert_array_equal(ds.status3.values, _col(cases, "status3").values)


def test_sdg_status_matrix__equals_trends_earth_csv(shared_dir: Path) -> None:
    with _te(shared_dir, "sdg_status_matrix_expanded.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    ds = status_expanded(
        xr.DataArray([int(r["baseline_sdg"]) for r in rows]),
        xr.DataArray([int(r["period_sdg"]) for r in rows]),
    )
    assert ds.status7.values.tolist() == [int(r["status7_code"]) for r in rows]
    assert ds.status3.values.tolist() == [int(r["status3"]) for r in rows]


def test_calc_cell_area__every_case(shared_dir: Path) -> None:
    for c in _expected(shared_dir, "calc_cell_area")["cases"]:
        got = float(cell_area_m2(c["ymin"], c["ymax"], c["x_width_deg"], crs="EPSG:4326"))
        assert got == pytest.approx(c["area_m2"], rel=1e-6), c
        if c["x_width_deg"] < 360:
            centre = (c["ymin"] + c["ymax"]) / 2
            h = c["ymax"] - c["ymin"]
            km2 = float(pixel_area_km2(np.array([centre]), c["x_width_deg"], -h, "EPSG:4326")[0])
            assert km2 * 1e6 == pytest.approx(c["area_m2"], rel=1e-6), c


def test_area_summary__totals_and_crosstab(shared_dir: Path) -> None:
    exp = _expected(shared_dir, "area_summary")
    baseline = np.array(exp["baseline"], dtype=np.int16)
    reporting = np.array(exp["reporting"], dtype=np.int16)
    ny, nx = baseline.shape
    y = 10.0 - 0.25 - 0.5 * np.arange(ny)
    coords = {"y": y, "x": 0.25 + 0.5 * np.arange(nx)}
    bl = xr.DataArray(baseline, dims=("y", "x"), coords=coords, name="baseline")
    rp = xr.DataArray(reporting, dims=("y", "x"), coords=coords, name="reporting")
    mask = np.array(exp["mask"], dtype=bool)  # True = outside the AOI, as TE
    area = pixel_area_km2(bl.y, 0.5, -0.5, "EPSG:4326")
    np.testing.assert_allclose(
        np.broadcast_to(area.values[:, None], (ny, nx)), exp["cell_areas_km2"], rtol=1e-6
    )
    order = [-1, 0, 1, NODATA]
    for chunked in (False, True):
        b = bl.chunk({"y": 4, "x": 2}) if chunked else bl
        totals = area_by_class(b, area, mask=mask)
        np.testing.assert_allclose(
            [totals[k] for k in order],
            exp["baseline_totals_km2 [deg, stable, imp, nodata]"],
            rtol=1e-6,
        )
        zonal = exp["zonal_total_km2 (masked pixels keyed -32767)"]
        for k in order:
            assert totals[k] == pytest.approx(zonal[str(k)], rel=1e-6)
        ct = crosstab_area(b, rp, area, mask=mask).reindex(
            index=order, columns=order, fill_value=0.0
        )
        key = "crosstab_km2 [baseline idx][reporting idx] (idx 0 deg,1 stable,2 imp,3 nodata)"
        np.testing.assert_allclose(ct.values, exp[key], rtol=1e-6, atol=1e-9)
