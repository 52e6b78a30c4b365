"""Time-blocked cross-validation: folds, footprints, a held-out block that training never
sees, a shuffled-target control without skill, and the persistence verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import landwatch.forecast.hindcast as hindcast_module
from landwatch.errors import InputError, InsufficientDataError
from landwatch.forecast.hindcast import (
    HindcastResult,
    beats_persistence,
    footprint_in_training,
    run_hindcast,
    time_blocked_folds,
)
from landwatch.forecast.verification import DOES_NOT_BEAT


def synthetic_pr(
    n_cells: int = 4, first: int = 1951, n_years: int = 45, seed: int = 2
) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    nt = 12 * n_years
    season = 60 + 40 * np.cos(2 * np.pi * (np.arange(nt) % 12) / 12)
    z = np.zeros((nt, n_cells))
    for t in range(1, nt):
        z[t] = 0.7 * z[t - 1] + rng.normal(0, 0.5, n_cells)
    pr = season[:, None] * np.exp(0.4 * z) * rng.gamma(4.0, 0.25, (nt, n_cells))
    time = pd.date_range(f"{first}-01-01", periods=nt, freq="MS")
    return xr.DataArray(
        pr,
        dims=("time", "station"),
        coords={"time": time, "station": [f"s{i}" for i in range(n_cells)]},
        attrs={"units": "mm"},
    )


def test_time_blocked_folds__gaps_and_schemes() -> None:
    folds = time_blocked_folds(1895, 2022, block_years=10, gap_years=1)
    assert len(folds) == 13
    assert folds[0].test_years == (1895, 1904) and folds[-1].test_years == (2015, 2022)
    for f in folds:
        a, b = f.test_years
        train = set(f.training_years)
        assert not train & set(range(a - 1, b + 2))  # block and one gap year each side
        assert train | set(range(a - 1, b + 2)) >= set(range(1895, 2023))
    rolling = time_blocked_folds(1895, 2022, block_years=10, gap_years=1, scheme="rolling")
    assert rolling[0].test_years == (1926, 1935)
    for f in rolling:
        assert max(f.training_years) == f.test_years[0] - 2
    with pytest.raises(InputError, match="gap_years is 0"):
        time_blocked_folds(1895, 2022, gap_years=0)
    with pytest.raises(InsufficientDataError, match="leaves 19 training years"):
        time_blocked_folds(1981, 2010, block_years=10, min_training_years=20)


def test_footprint_in_training__hand_example() -> None:
    train = np.array([1, 1, 1, 1, 0, 0, 1, 1, 1, 1], dtype=bool)
    # issue t allowed iff months t-2 .. t+1 are all training (before the record counts as allowed)
    got = footprint_in_training(train, lookback=2, lead=1)
    assert got.tolist() == [True, True, True, False, False, False, False, False, True, False]


class SpyModel:
    """Records what it is trained on; predicts zeros."""

    name = "spy"
    calls: list[tuple[np.ndarray, np.ndarray]] = []

    def fit(self, X: np.ndarray, y: np.ndarray, event: np.ndarray, season: np.ndarray) -> SpyModel:
        SpyModel.calls.append((X.copy(), y.copy()))
        return self

    def predict(self, X: np.ndarray, season: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(len(X)), np.full(len(X), 0.5)


def _spy_run(
    pr: xr.DataArray, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[np.ndarray, np.ndarray]]:
    SpyModel.calls = []
    monkeypatch.setattr(hindcast_module, "make_model", lambda *a, **k: SpyModel())
    run_hindcast(
        pr, leads=(1, 3), models=("linear",), block_years=10, min_training_years=20, n_boot=20
    )
    return list(SpyModel.calls)


def test_run_hindcast__training_never_sees_the_held_out_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pr = synthetic_pr()
    years = pr.time.dt.year.values
    folds = time_blocked_folds(1951, 1995, block_years=10, min_training_years=20)
    k = 2  # held out 1971-1980, gaps 1970 and 1981
    assert folds[k].test_years == (1971, 1980)
    base = _spy_run(pr, monkeypatch)
    scrambled = pr.copy()
    block = (years >= 1971) & (years <= 1980)
    scrambled.values[block] = np.random.default_rng(7).gamma(
        0.5, 200.0, scrambled.values[block].shape
    )
    again = _spy_run(scrambled, monkeypatch)
    assert len(base) == len(again) == 2 * len(folds)
    # fold k (two leads): features, targets and SPI fits of its training cases are unchanged
    for i in (2 * k, 2 * k + 1):
        np.testing.assert_allclose(again[i][0], base[i][0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(again[i][1], base[i][1], rtol=0, atol=1e-9)
    # the other folds train on that block, so the same change reaches them
    assert not np.allclose(again[0][1], base[0][1])


@pytest.fixture(scope="module")
def nclimdiv_subset(shared_dir: Path) -> xr.DataArray:
    path = (
        shared_dir / "data/climate_indices_ref/nclimdiv_ncei/division_precip_inches_1895_2022.csv"
    )
    df = pd.read_csv(path, dtype={"month": str})
    t = pd.to_datetime(df["month"] + "-01")
    pr = xr.DataArray(
        df.iloc[:, 1:].to_numpy(float) * 25.4,
        dims=("time", "division"),
        coords={"time": t.values, "division": list(df.columns[1:])},
        attrs={"units": "mm"},
    )
    return pr.isel(division=slice(0, 344, 43)).sel(time=slice("1971", "2020"))  # 8 x 50 years


RUN: dict[str, Any] = {
    "leads": (1, 2, 3),
    "models": ("linear", "gbm"),
    "model_params": {"gbm": {"max_iter": 15, "threads": 1}},
    "block_years": 10,
    "n_boot": 200,
}


@pytest.fixture(scope="module")
def real(nclimdiv_subset: xr.DataArray) -> HindcastResult:
    return run_hindcast(nclimdiv_subset, **RUN)


@pytest.fixture(scope="module")
def shuffled(nclimdiv_subset: xr.DataArray) -> HindcastResult:
    return run_hindcast(nclimdiv_subset, control="shuffled_target", **RUN)


def _row(result: HindcastResult, lead: int, name: str) -> pd.Series:
    s = result.skill
    return s[(s["lead"] == lead) & (s["forecast"] == name)].iloc[0]


@pytest.mark.shared_data
def test_run_hindcast__shuffled_target_control_has_no_skill(
    real: HindcastResult, shuffled: HindcastResult
) -> None:
    for h in (1, 2, 3):
        for name in ("linear", "gbm"):
            r = _row(shuffled, h, name)
            # no skill beyond noise: cross-validated climatology is itself slightly negative
            assert r.msess_climatology < 0.02, (h, name, r.msess_climatology)
            assert r.roc_auc < 0.56 and r.bss_climatology < 0.02
    # the same pipeline without the shuffle finds the skill (so the control could fail)
    for name in ("linear", "gbm"):
        assert _row(real, 1, name).msess_climatology > 0.4
        assert _row(real, 1, name).roc_auc > 0.85
        assert _row(real, 2, name).msess_climatology > 0.15


@pytest.mark.shared_data
def test_run_hindcast__says_when_persistence_is_not_beaten(shuffled: HindcastResult) -> None:
    # SPI-3 windows of months t and t+1 share two months, so persistence is hard to
    # beat at lead 1 for a model without information
    verdict = shuffled.verdict(1, "linear")
    assert verdict.startswith(DOES_NOT_BEAT) and not beats_persistence(verdict)
    assert "does NOT beat persistence" in shuffled.to_markdown()
    assert shuffled.to_dict()["verdicts"]["lead 1 gbm"].startswith(DOES_NOT_BEAT)
    assert "does NOT beat climatology" in shuffled.verdicts()["lead 3 linear"]


@pytest.mark.shared_data
def test_run_hindcast__baselines_and_tables(real: HindcastResult) -> None:
    s = real.skill
    assert set(s["forecast"]) == {"linear", "gbm", "persistence", "climatology"}
    assert (s.loc[s["forecast"] == "persistence", "msess_persistence"] == 0).all()
    assert (s.loc[s["forecast"] == "climatology", "msess_climatology"] == 0).all()
    assert (s.groupby("lead")["n"].nunique() == 1).all()  # one sample for every forecast
    assert beats_persistence(real.verdict(1, "linear"))
    rel = real.reliability
    assert set(rel["forecast"]) == {"linear", "gbm"} and len(rel) == 3 * 2 * 10
    assert "beats persistence" in real.to_markdown()
    n = s.loc[(s["lead"] == 1) & (s["forecast"] == "gbm"), "n"].iloc[0]
    assert rel[(rel["lead"] == 1) & (rel["forecast"] == "gbm")]["n"].sum() == n
    assert real.settings["feature_lookback_months"] == 11


def test_run_hindcast__bad_arguments() -> None:
    pr = synthetic_pr(n_years=35)
    with pytest.raises(InputError, match="model 'rf' is unknown"):
        run_hindcast(pr, models=("rf",))
    with pytest.raises(InputError, match="leads are"):
        run_hindcast(pr, leads=(0,))
    with pytest.raises(InsufficientDataError, match="training years"):
        run_hindcast(pr, min_training_years=30)
    with pytest.raises(InputError, match="control is"):
        run_hindcast(pr, control="nonsense")  # type: ignore[arg-type]
