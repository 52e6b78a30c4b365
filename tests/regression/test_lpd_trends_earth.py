"""Parity with Trends.Earth's categorical rules (te_algorithms @ 35b2b7d).

Truth: ../shared/data/trends_earth/lpd_combination_trends_earth.csv and the
outputs of te_algorithms' own functions in
../shared/validation/trends_earth_algorithms/expected/ (see their READMEs).

Code conventions: both use -1/0/1 and -32768 nodata. Trends.Earth's calc_prod5
also accepts performance = +1 (our performance never emits it); our
trends_earth table reproduces those 9 cases literally.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import xarray as xr

from landwatch.indices.land.productivity import (
    land_productivity_dynamics,
    lpd5_to_lpd3,
    productivity_trajectory,
    recode_state_class_change,
    recode_trajectory_significance,
)
from landwatch.indices.land.trend import kendall_critical_s

pytestmark = pytest.mark.shared_data


def _expected(shared_dir, name):
    return json.loads(
        (
            shared_dir / "validation" / "trends_earth_algorithms" / "expected" / f"{name}.json"
        ).read_text()
    )


def _da(values):
    return xr.DataArray(np.asarray(values, dtype=np.int16), dims=("x",))


def test_land_productivity_dynamics__every_row_of_trends_earth_table(shared_dir):
    path = shared_dir / "data" / "trends_earth" / "lpd_combination_trends_earth.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 18
    t = _da([int(r["trajectory"]) for r in rows])
    s = _da([int(r["state"]) for r in rows])
    p = _da([int(r["performance"]) for r in rows])
    out = land_productivity_dynamics(t, s, p, table="trends_earth")
    np.testing.assert_array_equal(out.lpd5.values, [int(r["lpd5_code"]) for r in rows])
    np.testing.assert_array_equal(out.lpd3.values, [int(r["lpd3"]) for r in rows])


def test_land_productivity_dynamics__every_calc_prod5_case(shared_dir):
    cases = _expected(shared_dir, "calc_prod5")["cases"]
    assert len(cases) == 64
    out = land_productivity_dynamics(
        _da([c["traj"] for c in cases]),
        _da([c["state"] for c in cases]),
        _da([c["perf"] for c in cases]),
    )
    np.testing.assert_array_equal(out.lpd5.values, [c["prod5"] for c in cases])


def test_lpd5_to_lpd3__every_prod5_to_prod3_case(shared_dir):
    cases = _expected(shared_dir, "prod5_to_prod3")["cases"]
    out = lpd5_to_lpd3(_da([c["prod5"] for c in cases]))
    np.testing.assert_array_equal(out.values, [c["prod3"] for c in cases])


def test_recode_trajectory_significance__every_recode_traj_case(shared_dir):
    cases = _expected(shared_dir, "recode_traj")["cases"]
    got = recode_trajectory_significance(np.array([c["traj_signif"] for c in cases]))
    np.testing.assert_array_equal(got, [c["traj3"] for c in cases])


def test_recode_state_class_change__every_recode_state_case(shared_dir):
    cases = _expected(shared_dir, "recode_state")["cases"]
    assert len(cases) == 26
    got = recode_state_class_change(np.array([c["state_class_change"] for c in cases]))
    np.testing.assert_array_equal(got, [c["state3"] for c in cases])


def test_kendall_critical_s__every_kendall_coef_entry(shared_dir):
    table = _expected(shared_dir, "kendall_coef")["table"]
    assert len(table) == 56
    for row in table:
        for level, key in ((0.90, "S90"), (0.95, "S95"), (0.99, "S99")):
            assert kendall_critical_s(row["n"], level) == row[key], (row["n"], level)
    shipped = shared_dir / "data" / "trends_earth" / "kendall_critical_S_hollander_wolfe.csv"
    with shipped.open(newline="") as fh:
        for r in csv.DictReader(fh):
            assert kendall_critical_s(int(r["n"]), 0.90) == int(r["S_crit_90"])


def _series_with_inversions(n: int, q: int) -> np.ndarray:
    """A permutation of 0..n-1 with exactly q inversions (so S = n(n-1)/2 - 2q)."""
    remaining = list(range(n))
    perm = []
    for i in range(n):
        k = min(q, n - 1 - i)  # Lehmer code digit: how many smaller values come later
        perm.append(remaining.pop(k))
        q -= k
    return np.array(perm, dtype=float)


def test_productivity_trajectory__trends_earth_rule_at_critical_values(shared_dir):
    """S exactly at the critical values of the table, through the public function.

    Rule (kendall_coef.json): level by |S| >= S90/S95/S99, sign of the OLS slope,
    then 0 where |S| <= S90 or |slope| <= 10 (NDVI x 10000).
    """
    rule = _expected(shared_dir, "kendall_coef")
    n = 16
    row = next(r for r in rule["table"] if r["n"] == n)
    m = n * (n - 1) // 2
    targets = [
        row["S90"],
        row["S90"] + 2,
        row["S95"] - 2,
        row["S95"],
        row["S99"] - 2,
        row["S99"],
        m,
    ]
    series = []
    for s_target in targets:
        x = _series_with_inversions(n, (m - s_target) // 2)
        series.append(x)
        series.append(x[::-1])  # S -> -S, slope -> -slope
    x = np.stack(series)
    ndvi = xr.DataArray(
        (0.1 + 0.05 * x.T[:, :, None]).astype(np.float64),
        dims=("time", "y", "x"),
        coords={"time": np.arange(2001, 2001 + n)},
    )
    out = productivity_trajectory(ndvi, mode="trends_earth")
    s = out.s.values[:, 0]
    np.testing.assert_array_equal(np.abs(s[::2]), targets)
    assert np.all(out.slope.values[::2, 0] > 0.001)
    code = out.significance_code.values[:, 0]
    # S90 exactly -> 0 (|S| <= S90), S90+2 -> 1, S95-2 -> 1, S95 -> 2, S99-2 -> 2, S99 -> 3, max -> 3
    expected = np.array([0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(code[::2], expected)
    np.testing.assert_array_equal(code[1::2], -expected)
    np.testing.assert_array_equal(out.trajectory.values[:, 0], recode_trajectory_significance(code))
