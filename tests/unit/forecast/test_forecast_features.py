"""Features of issue month t read nothing after t (truncation and perturbation checks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.errors import InputError
from landwatch.forecast.climatology import TrainingClimatology
from landwatch.forecast.features import (
    FeatureSet,
    FeatureSpec,
    LeakageError,
    build_features,
    check_causality,
    prepare_drivers,
    target_spi,
)


def synthetic_pr(
    n_cells: int = 3, first: int = 1961, n_years: int = 40, seed: int = 1
) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    nt = 12 * n_years
    season = 50 + 30 * np.sin(2 * np.pi * (np.arange(nt) % 12) / 12)
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


def synthetic_drivers(first: str = "1955-01", last: str = "2000-12") -> pd.DataFrame:
    months = pd.date_range(first, last, freq="MS")
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "time": months.strftime("%Y-%m"),
            "nino34": np.cumsum(rng.normal(0, 0.3, len(months))) * 0.1,
            "pdo": rng.normal(0, 1, len(months)),
        }
    )


@pytest.fixture(scope="module")
def pr() -> xr.DataArray:
    return synthetic_pr()


@pytest.fixture(scope="module")
def clim(pr: xr.DataArray) -> TrainingClimatology:
    return TrainingClimatology(pr, range(1961, 1991))


ISSUES = ["1961-01", "1961-11", "1962-03", "1975-06", "1989-12", "1990-01", "1995-07", "2000-11"]


def test_check_causality__features_ignore_data_after_issue(
    pr: xr.DataArray, clim: TrainingClimatology
) -> None:
    drivers = prepare_drivers(synthetic_drivers())
    spec = FeatureSpec(publication_lag=1)
    n = check_causality(pr, clim, ISSUES, leads=(1, 2, 3), drivers=drivers, spec=spec)
    assert n == len(ISSUES)


def test_build_features__future_data_cannot_change_the_past(
    pr: xr.DataArray, clim: TrainingClimatology
) -> None:
    drivers = prepare_drivers(synthetic_drivers())
    before = build_features(pr, clim, leads=(1, 3), drivers=drivers)
    i = int(np.flatnonzero(pr.time.values == np.datetime64("1980-06-01"))[0])
    changed = pr.copy()
    changed.values[i + 1 :] = np.random.default_rng(9).gamma(
        1.0, 100.0, changed.values[i + 1 :].shape
    )
    later_drivers = drivers.copy()
    later_drivers.loc["1980-06-01":] = 99.0  # published after the issue month (lag 1)
    after = build_features(changed, clim, leads=(1, 3), drivers=later_drivers)
    for h in (1, 3):
        np.testing.assert_array_equal(after[h].values[: i + 1], before[h].values[: i + 1])
        assert not np.array_equal(after[h].values[i + 1 :], before[h].values[i + 1 :])


def test_check_causality__catches_a_feature_that_reads_the_future(
    pr: xr.DataArray, clim: TrainingClimatology
) -> None:
    def leaky(*args: Any, **kwargs: Any) -> Mapping[int, FeatureSet]:
        out = build_features(*args, **kwargs)
        for fs in out.values():
            spi1 = fs.column("spi1_lag0").astype(np.float64)
            fs.values[:, :, 0] = target_spi(spi1, 1)  # next month's SPI-1: a leak
        return out

    with pytest.raises(LeakageError, match="'spi1_lag0' .* uses the future"):
        check_causality(pr, clim, ["1975-06"], leads=(1,), builder=leaky)


def test_build_features__driver_uses_the_latest_published_value(
    pr: xr.DataArray, clim: TrainingClimatology
) -> None:
    raw = synthetic_drivers()
    drivers = prepare_drivers(raw)
    for lag in (0, 1, 2):
        fs = build_features(
            pr, clim, leads=(1,), drivers=drivers, spec=FeatureSpec(publication_lag=lag)
        )[1]
        i = int(np.flatnonzero(pr.time.values == np.datetime64("1970-05-01"))[0])
        published = pd.Timestamp("1970-05-01") - pd.DateOffset(months=lag)
        expected = drivers.loc[published, "nino34"]
        change = expected - drivers.loc[published - pd.DateOffset(months=3), "nino34"]
        np.testing.assert_allclose(fs.column("nino34")[i], expected, rtol=1e-6)
        np.testing.assert_allclose(fs.column("nino34_change3")[i], change, rtol=1e-5, atol=1e-6)
    # months the table does not cover give missing features, not zeros
    fs = build_features(
        pr, clim, leads=(1,), drivers=prepare_drivers(synthetic_drivers("1970-01"))
    )[1]
    assert (
        np.isnan(fs.column("nino34")[:108]).all() and np.isfinite(fs.column("nino34")[109:]).all()
    )


def test_build_features__known_fraction_and_season(
    pr: xr.DataArray, clim: TrainingClimatology
) -> None:
    feats = build_features(pr, clim, leads=(1, 2, 3))
    mean, _ = clim.monthly_normals()
    t = 100  # issue month index; calendar month t % 12 (the record starts in January)
    for h, known_months in ((1, [t, t - 1]), (2, [t]), (3, [])):
        target = (t + h) % 12
        window = mean[target] + mean[(target - 1) % 12] + mean[(target - 2) % 12]
        known = pr.values[known_months].sum(axis=0) if known_months else 0.0
        np.testing.assert_allclose(feats[h].column("known_fraction")[t], known / window, rtol=1e-5)
    month = t % 12
    np.testing.assert_allclose(
        feats[1].column("month_sin")[t], np.sin(2 * np.pi * month / 12), atol=1e-6
    )
    assert set(feats[1].names) >= {
        "spi3_lag0",
        "spi12_lag0",
        "pr_anomaly_lag0",
        "log_annual_normal",
    }
    spi3 = clim.spi(pr, 3).values
    np.testing.assert_allclose(target_spi(spi3, 2)[t], spi3[t + 2])
    assert np.isnan(target_spi(spi3, 2)[-2:]).all()


def test_prepare_drivers__errors() -> None:
    raw = synthetic_drivers("1990-01", "1991-12")
    with pytest.raises(InputError, match=r"unknown columns \['soi'\]"):
        prepare_drivers(raw, columns=["nino34", "soi"])
    with pytest.raises(InputError, match=r"1 missing months \(1990-05\)"):
        prepare_drivers(raw.drop(index=4))
    with pytest.raises(InputError, match="appears twice"):
        prepare_drivers(pd.concat([raw, raw.iloc[[3]]]))
    bad = raw.assign(pdo="x")
    with pytest.raises(InputError, match="not numeric"):
        prepare_drivers(bad)
    with pytest.raises(InputError, match="not months"):
        prepare_drivers(raw.assign(time="soon"))
    with pytest.raises(InputError, match="publication_lag is -1"):
        FeatureSpec(publication_lag=-1)
