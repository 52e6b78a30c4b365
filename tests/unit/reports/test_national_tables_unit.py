"""Helpers of landwatch.reports.national_tables: the check rule, area sums on a small
geographic grid, the PRAIS look-ups, reading run folders, and atomic writing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA
from landwatch.reports import national_tables as ntmod
from landwatch.reports.national_tables import (
    CHECK_RTOL,
    LPD5_TO_3,
    NationalTables,
    check_row,
    readme_table,
    worst_element,
    write_national_tables,
)

# ----------------------------------------------------------------------------- checks


def test_check_row__within_tolerance_passes_beyond_fails() -> None:
    ok = check_row("T", "x", 1000.0, 1000.0 * (1 + 0.9 * CHECK_RTOL))
    assert ok["ok"] and ok["difference_pct"] == pytest.approx(0.09)
    bad = check_row("T", "x", 1000.0, 1002.0)
    assert not bad["ok"]
    assert (bad["expected"], bad["got"]) == (1000.0, 1002.0)
    assert bad["difference_pct"] == pytest.approx(0.2)
    assert list(bad) == ["table", "check", "expected", "got", "difference_pct", "ok"]


def test_check_row__zero_nan_and_bounds() -> None:
    assert check_row("T", "x", 0.0, 1e-9)["ok"]
    z = check_row("T", "x", 0.0, 1.0)
    assert not z["ok"] and z["difference_pct"] == math.inf
    assert not check_row("T", "x", 1.0, math.nan)["ok"]
    assert check_row("T", "x", 10.0, 50.0, kind="at_least")["ok"]
    assert not check_row("T", "x", 10.0, 9.0, kind="at_least")["ok"]
    assert check_row("T", "x", 10.0, 10.005, kind="at_most")["ok"]  # within 0.1 %
    assert not check_row("T", "x", 10.0, 10.5, kind="at_most")["ok"]


def test_worst_element__relative_to_the_tolerance() -> None:
    expected = {"big": 1000.0, "small": 1.0, "zero": 0.0}
    # 0.5 km2 on 1000 is within 0.1 %; 0.01 on 1 is 1 %: the small class is the worst
    assert worst_element(expected, {"big": 1000.5, "small": 1.01, "zero": 0.0}) == "small"
    assert worst_element(expected, {"big": 1000.0, "small": 1.0, "zero": 0.5}) == "zero"
    assert worst_element(expected, {"big": 1000.0, "small": 1.0}) == "zero"  # missing = NaN


# ------------------------------------------------------------------------------ grid


def _grid_like(ny: int = 3, nx: int = 4, res: float = 0.5) -> xr.DataArray:
    y = -1.0 - res / 2 - res * np.arange(ny)
    x = 37.0 + res / 2 + res * np.arange(nx)
    return xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"), coords={"y": y, "x": x}).rio.write_crs(
        "EPSG:4326"
    )


def test_grid__sums_on_the_ellipsoid_with_no_data_last() -> None:
    like = _grid_like()
    mask = np.ones((3, 4), dtype=bool)
    mask[0, 0] = False
    g = ntmod._Grid(like, mask)
    # rows nearer the equator are larger; each 0.5 deg cell near 1 deg S is ~3077 km2
    assert g.cell[0, 0] > g.cell[2, 0] > 3000
    arr = np.array([[1, 1, 2, NODATA], [2, 2, 9, 1], [1, 2, 2, 2]], dtype=np.int16)
    v = g.by_class(arr, [1, 2])
    assert v[0] == pytest.approx(g.cell[0, 1] + g.cell[1, 3] + g.cell[2, 0])
    assert v[2] == pytest.approx(g.cell[0, 3] + g.cell[1, 2])  # no data and unknown code 9
    assert v.sum() == pytest.approx(g.total())
    assert g.total() == pytest.approx(g.cell.sum() - g.cell[0, 0])
    people = np.full((3, 4), 2.0)
    assert g.by_class(arr, [1, 2], weights=people)[0] == pytest.approx(6.0)
    assert g.by_class(arr, [1, 2], values=people)[0] == pytest.approx(2 * v[0])
    b = np.where(arr == 1, 5, 6).astype(np.int16)
    ct = g.crosstab(arr, b, [1, 2], [5, 6])
    assert ct.shape == (3, 3)
    assert ct[0, 0] == pytest.approx(v[0]) and ct[0, 1] == 0
    assert ct.sum() == pytest.approx(g.total())


def test_int_codes__float_nan_is_no_data() -> None:
    out = ntmod._int_codes(np.array([[1.0, np.nan], [np.inf, 4.0]]))
    assert out.dtype == np.int32 and out.tolist() == [[1, NODATA], [NODATA, 4]]


# --------------------------------------------------------------------------- look-ups


def test_status_matrix__prais_figure_4() -> None:
    m = ntmod._status_matrix()
    assert len(m) == 9
    # a stable period keeps the baseline condition; otherwise the period decides
    assert m[(-1, 0)] == -1 and m[(1, 0)] == 1 and m[(0, 0)] == 0
    assert m[(1, -1)] == -1 and m[(-1, 1)] == 1 and m[(0, -1)] == -1


def test_lpd5_to_3__prais_table_13() -> None:
    assert LPD5_TO_3 == {1: -1, 2: -1, 3: 0, 4: 0, 5: 1}


def test_transition_meaning__unccd_default(tmp_path: Path) -> None:
    run = ntmod._Run(tmp_path, "sdg1531", {"inputs": {}}, {})
    m = ntmod._transition_meaning(run)
    assert m is not None
    assert m[(1, 3)] == -1  # tree-covered -> cropland: deforestation
    assert m[(2, 1)] == 1  # grassland -> tree-covered: afforestation
    assert m[(7, 1)] == 0 and m[(3, 3)] == 0


def test_matrix_from_table__order_and_missing_cells() -> None:
    df = pd.DataFrame({"b": [1.0, 2.0], "a": [3.0, 4.0]}, index=["y", "x"])
    out = ntmod._matrix_from_table(df, ["x", "y", "z"], ["a", "b", "c"])
    assert out.tolist() == [[4.0, 2.0, 0.0], [3.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


# -------------------------------------------------------------------------- run folders


def test_read_run__names_the_missing_manifest_and_the_wrong_workflow(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--sdg-run .*no manifest.json"):
        ntmod._read_run(tmp_path, "sdg1531")
    (tmp_path / "manifest.json").write_text(json.dumps({"workflow": "ldn"}))
    with pytest.raises(
        InputError, match=r"output of `landwatch ldn`; expected `landwatch sdg1531`"
    ):
        ntmod._read_run(tmp_path, "sdg1531")
    with pytest.raises(InputError, match="expected `landwatch drought so3`"):
        ntmod._read_run(tmp_path, "so3")
    (tmp_path / "manifest.json").write_text(json.dumps({"workflow": "sdg1531"}))
    with pytest.raises(InputError, match="names no periods"):
        ntmod._read_run(tmp_path, "sdg1531")


def test_run_table__missing_table_is_a_structural_error(tmp_path: Path) -> None:
    run = ntmod._Run(tmp_path, "sdg1531", {}, {})
    with pytest.raises(InputError, match=r"sdg_summary.csv' is missing.*landwatch sdg1531"):
        run.table("sdg_summary")
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "x.csv").write_text("admin_id,v\n007,1\n")
    assert run.table("x")["admin_id"].tolist() == ["007"]  # ids stay text
    assert run.input_path("admin") is None


# ------------------------------------------------------------------------------ writing


def _small() -> NationalTables:
    checks = pd.DataFrame(
        [
            check_row("CP-1.T1", "land + water = territory", 100.0, 100.0),
            check_row("SO1-4.T2", "degraded = map", 10.0, 12.0),
            check_row("SO1-4.T2", "zero", 0.0, 1.0),
        ]
    )
    tables = {
        "CP-1.T1": pd.DataFrame({"year": [2000], "land_area_km2": [90.0]}),
        "SO1-4.T1 matrix": pd.DataFrame({"period": ["report_1"], "area_km2": [np.nan]}),
    }
    meta = {"landwatch_version": "9.9", "territory": "whole territory", "territory_km2": 100.0}
    return NationalTables(tables=tables, checks=checks, notes=["a note"], metadata=meta)


def test_readme_table__lists_failed_checks_with_numbers() -> None:
    nt = _small()
    assert not nt.ok and len(nt.failed) == 2
    rd = dict(readme_table(nt).itertuples(index=False))
    assert rd["landwatch version"] == "9.9"
    assert rd["checks"].startswith("1 of 3 passed")
    assert rd["FAILED check 1"] == "SO1-4.T2: degraded = map: expected 10, got 12 (+20 %)"
    assert rd["FAILED check 2"] == "SO1-4.T2: zero: expected 0, got 1 (+inf %)"
    assert rd["note 1"] == "a note"
    assert "table SO1-4.T1 matrix" in rd


def test_write_national_tables__files_red_failures_and_json(tmp_path: Path) -> None:
    nt = _small()
    files = write_national_tables(nt, tmp_path / "out")
    names = sorted(p.name for p in files)
    assert names == sorted(
        [
            "CP-1.T1.csv",
            "SO1-4.T1_matrix.csv",
            "checks.csv",
            "national_tables.xlsx",
            "national_tables.json",
        ]  # fmt: skip
    )
    assert all(p.is_file() for p in files)
    wb = openpyxl.load_workbook(tmp_path / "out" / "national_tables.xlsx")
    assert wb.sheetnames == ["README", "CP-1.T1", "SO1-4.T1 matrix", "checks"]
    ws = wb["checks"]
    fills = [ws.cell(row=r, column=1).fill.fgColor.rgb for r in (2, 3, 4)]
    assert fills[0] != fills[1] and fills[1] == fills[2]  # failed rows are filled red
    js = json.loads((tmp_path / "out" / "national_tables.json").read_text())
    assert js["checks"][2]["difference_pct"] is None  # inf is not JSON
    assert js["tables"]["SO1-4.T1 matrix"][0]["area_km2"] is None


def test_write_national_tables__atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nt = _small()
    out = tmp_path / "out"

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ntmod, "_write_xlsx", boom)
    with pytest.raises(OSError, match="disk full"):
        write_national_tables(nt, out)
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a partial one
    monkeypatch.undo()
    write_national_tables(nt, out)
    with pytest.raises(InputError, match="already exists"):
        write_national_tables(nt, out)
    nt.tables.pop("SO1-4.T1 matrix")
    write_national_tables(nt, out, overwrite=True)
    assert not (out / "SO1-4.T1_matrix.csv").exists()


def test_file_stem__safe_names() -> None:
    assert ntmod._file_stem("SO1-4.T1 matrix") == "SO1-4.T1_matrix"
    assert ntmod._file_stem("SO3-2.T1") == "SO3-2.T1"
