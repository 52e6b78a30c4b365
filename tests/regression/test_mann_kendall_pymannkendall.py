"""Mann-Kendall and Sen slope against pymannkendall 1.4.3.

Two sources of truth: pymannkendall itself, called in this test on 1000 seeded
random series with ties and NaNs; and the values asserted by pymannkendall's own
test-suite / example series (checked upstream against R), kept in
../shared/validation/pymannkendall (see its README for provenance).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from landwatch.indices.land.trend import mann_kendall, ols_slope, sens_slope

pymannkendall = pytest.importorskip("pymannkendall")

TOL = 1e-9


def _close(ours: float, theirs: float) -> bool:
    if np.isnan(theirs):
        return bool(np.isnan(ours))
    return abs(ours - theirs) <= TOL * max(1.0, abs(theirs))


def _random_series(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(3, 41))
    kind = rng.integers(0, 3)
    if kind == 0:  # heavy ties
        x = rng.integers(0, 5, n).astype(float)
    elif kind == 1:  # NDVI-like with rounding ties and a trend
        x = np.round(0.4 + 0.005 * np.arange(n) + 0.03 * rng.standard_normal(n), 2)
    else:
        x = rng.standard_normal(n) * 10
    x[rng.random(n) < 0.15] = np.nan
    if np.isfinite(x).sum() < 2:
        x[:2] = [1.0, 2.0]
    return x


def test_mann_kendall__matches_pymannkendall_on_1000_random_series():
    rng = np.random.default_rng(20240915)
    series = [_random_series(rng) for _ in range(1000)]
    assert sum(np.isnan(x).any() for x in series) > 300  # the NaN handling is exercised
    assert (
        sum(len(np.unique(x[np.isfinite(x)])) < np.isfinite(x).sum() for x in series) > 300
    )  # ties
    # same length batch as well as one by one: pad to a common length with NaN at the end
    width = max(len(x) for x in series)
    batch = np.full((len(series), width), np.nan)
    for i, x in enumerate(series):
        batch[i, : len(x)] = x
    mk = mann_kendall(batch, method="normal")
    slope_b, icpt_b = sens_slope(batch)
    for i, x in enumerate(series):
        ref = pymannkendall.original_test(x)
        ours = mann_kendall(x, method="normal")
        slope, icpt = sens_slope(x)
        pairs = {
            "s": (ours.s, ref.s),
            "var_s": (ours.var_s, ref.var_s),
            "z": (ours.z, ref.z),
            "p": (ours.p, ref.p),
            "tau": (ours.tau, ref.Tau),
            "slope": (slope, ref.slope),
            "intercept": (icpt, ref.intercept),
            "batch s": (mk.s[i], ref.s),
            "batch p": (mk.p[i], ref.p),
            "batch slope": (slope_b[i], ref.slope),
        }
        for name, (a, b) in pairs.items():
            assert _close(float(a), float(b)), (i, name, float(a), float(b), x.tolist())
        # padding with trailing NaN does not move the valid positions, so the intercept agrees too
        assert _close(float(icpt_b[i]), float(ref.intercept))


def _load_inputs(shared_dir):
    root = shared_dir / "validation" / "pymannkendall"
    raw = json.loads((root / "inputs.json").read_text())
    vals = raw["arbitrary_1d_data"]
    return {"arbitrary_1d_data": np.array([np.nan if v is None else v for v in vals], dtype=float)}


@pytest.mark.shared_data
def test_mann_kendall__matches_pymannkendall_test_suite_values(shared_dir):
    root = shared_dir / "validation" / "pymannkendall"
    cases = json.loads((root / "expected.json").read_text())
    data = _load_inputs(shared_dir)["arbitrary_1d_data"]
    assert np.isnan(data).sum() == 7
    checked = 0
    for case in cases:
        exp = case["expected"]
        if case["function"] == "pymannkendall.original_test":
            ours = mann_kendall(data, method="normal")
            got = {"s": ours.s, "var_s": ours.var_s, "z": ours.z, "p": ours.p, "Tau": ours.tau}
            for key, val in got.items():
                assert _close(float(val), exp[key]), (key, float(val), exp[key])
            checked += 1
        elif case["function"] == "pymannkendall.sens_slope":
            slope, icpt = sens_slope(data)
            assert _close(float(slope), exp["slope"])
            assert _close(float(icpt), exp["intercept"])
            checked += 1
    assert checked == 2


def _read_csv_column(path):
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return np.array([float(r[1]) for r in rows[1:]])


@pytest.mark.shared_data
def test_mann_kendall__matches_pymannkendall_example_series(shared_dir):
    root = shared_dir / "validation" / "pymannkendall"
    cases = json.loads((root / "expected_example_series.json").read_text())
    checked = 0
    for case in cases:
        x = _read_csv_column(root / case["file"])
        assert x.size == case.get("n", x.size)
        out = case["output"]
        if case["function"] == "pymannkendall.original_test":
            ours = mann_kendall(x, method="normal")
            for key, val in {
                "s": ours.s,
                "var_s": ours.var_s,
                "z": ours.z,
                "p": ours.p,
                "Tau": ours.tau,
            }.items():
                assert _close(float(val), out[key]), (case["file"], key, float(val), out[key])
            checked += 1
        elif case["function"] == "pymannkendall.sens_slope":
            slope, icpt = sens_slope(x)
            assert _close(float(slope), out["slope"]) and _close(float(icpt), out["intercept"])
            checked += 1
    assert checked == 6


def test_ols_slope__matches_numpy_polyfit_on_valid_values():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 20))
    x[rng.random(x.shape) < 0.2] = np.nan
    t = np.arange(2000, 2020, dtype=float)
    slope, icpt = ols_slope(x, t)
    for i in range(50):
        ok = np.isfinite(x[i])
        b, a = np.polyfit(t[ok], x[i, ok], 1)
        assert slope[i] == pytest.approx(b, rel=1e-9, abs=1e-12)
        assert icpt[i] == pytest.approx(a, rel=1e-7, abs=1e-9)
