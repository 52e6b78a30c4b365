"""Verification scores on hand-computed examples, and the verdict lines."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from landwatch.errors import InputError
from landwatch.forecast.verification import (
    BEATS,
    DOES_NOT_BEAT,
    brier_score,
    brier_skill_score,
    mean_squared_error,
    mse_skill_score,
    persistence_verdict,
    reliability_table,
    roc_auc,
    root_mean_squared_error,
    skill_verdict,
    year_bootstrap_skill,
)


def test_rmse_and_mse_skill_score__hand_example() -> None:
    obs = [0.0, 1.0, 2.0, 3.0]
    fc = [0.0, 1.0, 2.0, 5.0]  # one error of 2: MSE = 4 / 4 = 1
    assert mean_squared_error(obs, fc) == 1.0
    assert root_mean_squared_error(obs, fc) == 1.0
    # climatology 0: MSE = (0 + 1 + 4 + 9) / 4 = 3.5
    assert mse_skill_score(obs, fc, 0.0) == pytest.approx(1 - 1 / 3.5)
    # persistence [1, 1, 1, 1]: MSE = (1 + 0 + 1 + 4) / 4 = 1.5
    assert mse_skill_score(obs, fc, [1.0, 1.0, 1.0, 1.0]) == pytest.approx(1 - 1 / 1.5)
    assert mse_skill_score(obs, obs, 0.0) == 1.0


def test_brier_skill_score__hand_example() -> None:
    p = [0.1, 0.9, 0.5, 0.0]
    o = [0, 1, 1, 0]
    # (0.01 + 0.01 + 0.25 + 0) / 4
    assert brier_score(p, o) == pytest.approx(0.0675)
    # reference 0.5 everywhere: BS = 0.25
    assert brier_skill_score(p, o, 0.5) == pytest.approx(1 - 0.0675 / 0.25)
    # climatological frequency 0.5 of the sample is the same reference
    assert brier_skill_score([0.5] * 4, o, 0.5) == 0.0
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        brier_score([1.2, 0.0, 0.0, 0.0], o)


def test_roc_auc__equals_sklearn_with_ties() -> None:
    rng = np.random.default_rng(3)
    event = rng.random(500) < 0.2
    score = np.round(rng.normal(size=500) + event, 1)  # rounded: many ties
    assert roc_auc(score, event) == pytest.approx(roc_auc_score(event, score), abs=1e-12)
    # hand: events scored 0.8 and 0.4; non-events 0.5, 0.1 -> pairs won 1 + 1 + 0 + 1 of 4
    assert roc_auc([0.8, 0.4, 0.5, 0.1], [1, 1, 0, 0]) == 0.75
    assert roc_auc([0.3, 0.3], [1, 0]) == 0.5
    assert np.isnan(roc_auc([0.1, 0.2], [0, 0]))


def test_reliability_table__bins_by_hand() -> None:
    p = [0.05, 0.15, 0.15, 0.95, 1.0, 0.1]
    o = [0, 1, 0, 1, 1, 1]
    t = reliability_table(p, o, bins=10)
    assert list(t["n"]) == [1, 3, 0, 0, 0, 0, 0, 0, 0, 2]
    assert t.loc[0, "mean_probability"] == pytest.approx(0.05)
    assert t.loc[0, "observed_frequency"] == 0.0
    # bin [0.1, 0.2): 0.15, 0.15 and 0.1 (a left edge belongs to its bin)
    assert t.loc[1, "mean_probability"] == pytest.approx(0.4 / 3)
    assert t.loc[1, "observed_frequency"] == pytest.approx(2 / 3)
    assert t.loc[9, "mean_probability"] == pytest.approx(0.975)  # 1.0 is in the last bin
    assert np.isnan(t.loc[5, "observed_frequency"])
    assert t["n"].sum() == len(p)


def test_year_bootstrap_skill__interval() -> None:
    years = np.repeat(np.arange(2000, 2020), 30)
    ref = np.random.default_rng(0).gamma(2.0, 1.0, years.size)
    lo, hi = year_bootstrap_skill(years, 0.5 * ref, ref, n_boot=200)
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)  # same ratio in every year
    noisy = ref * np.random.default_rng(1).uniform(0.5, 1.5, years.size)
    lo, hi = year_bootstrap_skill(years, noisy, ref, n_boot=500)
    assert lo < 0 < hi  # no skill on average: the interval covers 0


def test_verdicts__say_when_persistence_is_not_beaten() -> None:
    assert persistence_verdict(0.2, 0.1, 0.3).startswith(BEATS + " ")
    worse = persistence_verdict(-0.15, -0.2, -0.1)
    assert worse.startswith(DOES_NOT_BEAT) and "worse than persistence" in worse
    unclear = persistence_verdict(0.02, -0.01, 0.05)
    assert unclear.startswith(DOES_NOT_BEAT) and "not distinguishable" in unclear
    assert persistence_verdict(float("nan")).startswith(DOES_NOT_BEAT)
    # "significant" but useless: a shuffled-target control on 500k cases can do this
    tiny = skill_verdict(0.001, 0.0002, 0.0018, reference="climatology")
    assert tiny.startswith("does NOT beat climatology") and "minimum useful skill 0.01" in tiny
    assert skill_verdict(0.1, 0.05, 0.2, reference="climatology").startswith("beats climatology")
    assert skill_verdict(0.0, reference="climatology").startswith("does NOT beat climatology")
