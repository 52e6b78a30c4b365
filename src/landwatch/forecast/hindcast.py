r"""Hindcast: time-blocked cross-validation of SPI-3 forecasts, with honest baselines.

For each fold a block of years is held out. Everything fitted — the gamma
distributions of every SPI, the monthly normals, the model — sees the training years
only (:class:`~landwatch.forecast.climatology.TrainingClimatology`), and then the
features and targets of the whole record are rebuilt with those fits:

* ``scheme="blocked"``: leave one block of ``block_years`` out; training years are
  all others except ``gap_years`` on each side of the block.
* ``scheme="rolling"``: rolling origin; training years are the years before the
  block, less the gap (what an operational forecaster had at the time).

A training case (issue month *t*, lead *h*) is used only if every month it reads,
from :math:`t - L` (the feature footprint, :meth:`FeatureSpec.lookback`) to the
target month :math:`t + h`, lies in a training year. The gap (>= 1 year, >= the
longest SPI window) keeps SPI windows of the calibration sample out of the block.

Scores pool the held-out cases of all folds, per lead: RMSE, MSE skill score
against climatology (the training-case mean of SPI-3) and against persistence
(SPI-3 at *t*, refitted in the fold like everything else), ROC-AUC and Brier skill
score (against the training-case event frequency) for SPI-3 < -1, and a
reliability table. A 95 % interval of the skill against persistence comes from
resampling whole years; a forecast *beats persistence* only if that interval lies
above 0 and the skill is at least 0.01 (:data:`~landwatch.forecast.verification.MIN_USEFUL_SKILL`),
and the verdict says so in every output.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import InputError, InsufficientDataError
from landwatch.forecast.climatology import TrainingClimatology
from landwatch.forecast.features import (
    TARGET_SCALE,
    WATCH_THRESHOLD,
    FeatureSpec,
    build_features,
    target_spi,
)
from landwatch.forecast.models import MODEL_NAMES, make_model
from landwatch.forecast.verification import (
    BEATS,
    MIN_USEFUL_SKILL,
    brier_score,
    persistence_verdict,
    reliability_table,
    roc_auc,
    skill_verdict,
    year_bootstrap_skill,
)
from landwatch.indices.drought.timeaxis import monthly_time_axis

__all__ = [
    "Fold",
    "beats_persistence",
    "HindcastResult",
    "footprint_in_training",
    "run_hindcast",
    "time_blocked_folds",
]

Scheme = Literal["blocked", "rolling"]
Control = Literal["shuffled_target"]
BASELINES = ("persistence", "climatology")


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold.

    Attributes
    ----------
    index : int
        Fold number, from 0.
    test_years : (int, int)
        First and last held-out year (issue months in these years are scored).
    training_years : tuple of int
        Years the fits may see.
    """

    index: int
    test_years: tuple[int, int]
    training_years: tuple[int, ...]


def time_blocked_folds(
    first_year: int,
    last_year: int,
    *,
    block_years: int = 10,
    gap_years: int = 1,
    scheme: Scheme = "blocked",
    min_training_years: int = 30,
) -> list[Fold]:
    """Folds of whole years for a record ``first_year``..``last_year``.

    Parameters
    ----------
    first_year, last_year : int
        Years of the record.
    block_years : int, default 10
        Held-out years per fold (the last block may be shorter).
    gap_years : int, default 1
        Years left out on each side of a block (neither trained on nor scored).
    scheme : {"blocked", "rolling"}, default "blocked"
        Leave-block-out, or rolling origin (training only before the block).
    min_training_years : int, default 30
        Folds with fewer training years are an error (blocked) or skipped (rolling).

    Returns
    -------
    list of Fold

    Raises
    ------
    InputError
        Bad sizes or scheme.
    InsufficientDataError
        The record is too short for even one fold.
    """
    if scheme not in ("blocked", "rolling"):
        raise InputError(f"scheme is {scheme!r}; choose 'blocked' or 'rolling'.")
    if block_years < 1:
        raise InputError(f"block_years is {block_years}; expected >= 1.")
    if gap_years < 1:
        raise InputError(
            f"gap_years is {gap_years}; at least 1 year must separate training and held-out "
            "years, or SPI windows and lagged features straddle the two. Pass 1 or more."
        )
    n_years = last_year - first_year + 1
    all_years = np.arange(first_year, last_year + 1)
    folds: list[Fold] = []
    start = first_year if scheme == "blocked" else first_year + min_training_years + gap_years
    for a in range(start, last_year + 1, block_years):
        b = min(a + block_years - 1, last_year)
        if scheme == "blocked":
            keep = (all_years < a - gap_years) | (all_years > b + gap_years)
        else:
            keep = all_years < a - gap_years
        training = tuple(int(y) for y in all_years[keep])
        if len(training) < min_training_years:
            if scheme == "rolling":
                continue
            raise InsufficientDataError(
                f"pr covers {first_year}-{last_year} ({n_years} years); holding out {a}-{b} "
                f"with {gap_years}-year gaps leaves {len(training)} training years, fewer than "
                f"min_training_years={min_training_years}. Pass a longer record or smaller "
                "block_years / min_training_years."
            )
        folds.append(Fold(len(folds), (a, b), training))
    if not folds:
        raise InsufficientDataError(
            f"pr covers {first_year}-{last_year} ({n_years} years); a rolling-origin hindcast "
            f"needs more than min_training_years + gap_years = {min_training_years + gap_years} "
            "years. Pass a longer record or use scheme='blocked'."
        )
    return folds


def footprint_in_training(training_month: np.ndarray, lookback: int, lead: int) -> np.ndarray:
    """Issue months whose whole footprint (``t - lookback`` .. ``t + lead``) is training data.

    Months before the record hold no data and count as allowed; months after it
    do not (the target would be missing anyway).

    Parameters
    ----------
    training_month : ndarray of bool, shape (time,)
        Whether each month lies in a training year.
    lookback : int
        Months before the issue month that the features read.
    lead : int
        Forecast lead [months].

    Returns
    -------
    ndarray of bool, shape (time,)
    """
    padded = np.concatenate(
        [np.ones(lookback, dtype=bool), np.asarray(training_month, bool), np.zeros(lead, bool)]
    )
    windows = np.lib.stride_tricks.sliding_window_view(padded, lookback + lead + 1)
    return np.asarray(windows.all(axis=1))


@dataclass
class HindcastResult:
    """Skill of a hindcast.

    Attributes
    ----------
    skill : pandas.DataFrame
        One row per lead and forecast (the models, then ``persistence`` and
        ``climatology``): ``n``, ``rmse``, ``msess_climatology`` (and its 95 %
        interval), ``msess_persistence`` (and interval), ``roc_auc``, ``brier``,
        ``bss_climatology``, ``verdict`` (against persistence) and
        ``climatology_verdict``.
    reliability : pandas.DataFrame
        Per lead and model, the reliability table of P(SPI-3 < threshold).
    folds : list of Fold
    settings : dict
        Parameters of the run (JSON-able).
    predictions : pandas.DataFrame, optional
        Every held-out case, with ``keep_predictions=True``.
    """

    skill: pd.DataFrame
    reliability: pd.DataFrame
    folds: list[Fold]
    settings: dict[str, Any]
    predictions: pd.DataFrame | None = field(default=None, repr=False)

    def verdict(self, lead: int, model: str) -> str:
        """The persistence verdict of one model at one lead."""
        row = self.skill[(self.skill["lead"] == lead) & (self.skill["forecast"] == model)]
        if row.empty:
            raise InputError(f"no skill row for lead {lead} and forecast {model!r}.")
        return str(row["verdict"].iloc[0])

    def verdicts(self) -> dict[str, str]:
        """``{"lead 1 gbm": "beats persistence (...); beats climatology (...)"}`` per model."""
        rows = self.skill[~self.skill["forecast"].isin(BASELINES)]
        return {
            f"lead {r.lead} {r.forecast}": f"{r.verdict}; {r.climatology_verdict}"
            for r in rows.itertuples()
        }

    def to_markdown(self, *, digits: int = 3) -> str:
        """The skill table as GitHub markdown."""
        head = (
            "| lead | forecast | n | RMSE | MSESS vs clim | MSESS vs persistence (95% CI) "
            "| ROC-AUC | Brier | BSS vs clim | verdict |\n"
            "|---:|---|---:|---:|---:|---|---:|---:|---:|---|\n"
        )
        f = f"{{:+.{digits}f}}"
        u = f"{{:.{digits}f}}"
        lines = []
        for r in self.skill.itertuples():
            ci = (
                f"{f.format(r.msess_persistence)} ({f.format(r.msess_persistence_low)} to "
                f"{f.format(r.msess_persistence_high)})"
                if np.isfinite(r.msess_persistence_low)
                else f.format(r.msess_persistence)
            )
            verdict = (
                f"{str(r.verdict).split(' (')[0]}; {str(r.climatology_verdict).split(' (')[0]}"
                if r.verdict
                else "(baseline)"
            )
            lines.append(
                f"| {r.lead} | {r.forecast} | {r.n} | {u.format(r.rmse)} | "
                f"{f.format(r.msess_climatology)} | {ci} | {u.format(r.roc_auc)} | "
                f"{u.format(r.brier)} | {f.format(r.bss_climatology)} | {verdict} |"
            )
        return head + "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: settings, folds, skill rows, verdicts, reliability."""

        def clean(df: pd.DataFrame) -> list[dict[str, Any]]:
            records = df.astype(object).where(pd.notna(df), None).to_dict(orient="records")
            return [{str(k): v for k, v in rec.items()} for rec in records]

        return {
            "settings": self.settings,
            "folds": [
                {
                    "index": f.index,
                    "test_years": list(f.test_years),
                    "n_training_years": len(f.training_years),
                }
                for f in self.folds
            ],
            "skill": clean(self.skill),
            "verdicts": self.verdicts(),
            "reliability": clean(self.reliability),
        }


def _as_cells(pr: xr.DataArray) -> xr.DataArray:
    if not isinstance(pr, xr.DataArray):
        raise InputError(f"pr is a {type(pr).__name__}; expected an xarray.DataArray.")
    if "time" not in pr.dims:
        raise InputError(f"pr has dims {pr.dims}; expected a 'time' dimension.")
    others = [d for d in pr.dims if d != "time"]
    if len(others) == 1:
        return pr.transpose("time", others[0])
    if not others:
        return pr.expand_dims(cell=[0], axis=1)
    return pr.stack(cell=others).transpose("time", "cell")


@dataclass
class _Collector:
    """Held-out cases of one lead, gathered over folds."""

    columns: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **arrays: np.ndarray) -> None:
        for k, v in arrays.items():
            self.columns.setdefault(k, []).append(np.asarray(v))

    def get(self, key: str) -> np.ndarray:
        parts = self.columns.get(key, [])
        return np.concatenate(parts) if parts else np.empty(0)


def _score_rows(
    lead: int,
    c: _Collector,
    models: Sequence[str],
    *,
    threshold: float,
    n_boot: int,
    seed: int,
) -> tuple[list[dict[str, Any]], list[pd.DataFrame]]:
    obs = c.get("observed")
    event = (obs < threshold).astype(np.float64)
    pers = c.get("persistence")
    clim = c.get("climatology")
    clim_p = c.get("climatology_probability")
    years = c.get("year")
    se_pers = (pers - obs) ** 2
    se_clim = (clim - obs) ** 2
    rows: list[dict[str, Any]] = []
    tables: list[pd.DataFrame] = []

    def row(name: str, fc: np.ndarray, score: np.ndarray, prob: np.ndarray) -> dict[str, Any]:
        se = (fc - obs) ** 2
        mse = float(se.mean())
        clim_lo, clim_hi = year_bootstrap_skill(years, se, se_clim, n_boot=n_boot, seed=seed)
        if name == "persistence":
            pers_lo = pers_hi = float("nan")
        else:
            pers_lo, pers_hi = year_bootstrap_skill(years, se, se_pers, n_boot=n_boot, seed=seed)
        ss_pers = 1.0 - mse / float(se_pers.mean()) if se_pers.mean() > 0 else float("nan")
        bs = brier_score(prob, event)
        bs_ref = brier_score(clim_p, event)
        return {
            "lead": lead,
            "forecast": name,
            "n": int(obs.size),
            "rmse": float(np.sqrt(mse)),
            "msess_climatology": 1.0 - mse / float(se_clim.mean()),
            "msess_climatology_low": clim_lo,
            "msess_climatology_high": clim_hi,
            "msess_persistence": ss_pers,
            "msess_persistence_low": pers_lo,
            "msess_persistence_high": pers_hi,
            "roc_auc": roc_auc(score, event),
            "brier": bs,
            "bss_climatology": 1.0 - bs / bs_ref if bs_ref > 0 else float("nan"),
            "event_frequency": float(event.mean()),
            "verdict": (
                "" if name in BASELINES else persistence_verdict(ss_pers, pers_lo, pers_hi)
            ),
            "climatology_verdict": (
                ""
                if name in BASELINES
                else skill_verdict(
                    1.0 - mse / float(se_clim.mean()), clim_lo, clim_hi, reference="climatology"
                )
            ),
        }

    for name in models:
        fc = c.get(f"{name}_mean")
        prob = c.get(f"{name}_probability")
        rows.append(row(name, fc, prob, prob))
        rel = reliability_table(prob, event)
        rel.insert(0, "forecast", name)
        rel.insert(0, "lead", lead)
        tables.append(rel)
    # persistence as an event forecast: 1 if SPI-3 at t is already below the threshold
    rows.append(row("persistence", pers, -pers, (pers < threshold).astype(np.float64)))
    rows.append(row("climatology", clim, clim_p, clim_p))
    return rows, tables


def run_hindcast(
    pr: xr.DataArray,
    *,
    leads: Iterable[int] = (1, 2, 3),
    models: Sequence[str] = MODEL_NAMES,
    model_params: Mapping[str, Mapping[str, Any]] | None = None,
    drivers: pd.DataFrame | None = None,
    spec: FeatureSpec | None = None,
    block_years: int = 10,
    gap_years: int = 1,
    scheme: Scheme = "blocked",
    min_training_years: int = 30,
    control: Control | None = None,
    threshold: float = WATCH_THRESHOLD,
    method: Literal["thom", "mle", "lmoments"] = "thom",
    n_boot: int = 1000,
    seed: int = 0,
    keep_predictions: bool = False,
    progress: Callable[[str], None] | None = None,
) -> HindcastResult:
    """Cross-validated hindcast of SPI-3 at leads ``leads``, with persistence and climatology.

    Parameters
    ----------
    pr : xarray.DataArray
        Monthly precipitation [mm], dims ``(time, cell)`` (or ``(time, y, x)``, stacked
        here), a complete monthly axis of whole or partial years.
    leads : iterable of int, default (1, 2, 3)
        Leads [months].
    models : sequence of str, default ("linear", "gbm")
        Models to score (:func:`~landwatch.forecast.models.make_model`).
    model_params : mapping, optional
        Per model name, keyword arguments of the model (e.g. ``{"gbm": {"max_iter": 100}}``).
    drivers : pandas.DataFrame, optional
        Climate drivers from :func:`~landwatch.forecast.features.prepare_drivers`.
    spec : FeatureSpec, optional
        Predictors; default :class:`FeatureSpec()`.
    block_years, gap_years, scheme, min_training_years
        As :func:`time_blocked_folds`.
    control : {"shuffled_target"}, optional
        Negative control: the training targets (and events) are permuted within each
        fold, which breaks every link between features and target. A leak-free
        evaluation must then show no skill against climatology.
    threshold : float, default -1.0
        Event threshold on SPI-3 (CDI watch).
    method : {"thom", "mle", "lmoments"}, default "thom"
        Gamma estimator of the SPI.
    n_boot : int, default 1000
        Year-resampling bootstrap replicates for the skill intervals.
    seed : int, default 0
        Seed of the bootstrap and of the control permutation.
    keep_predictions : bool, default False
        Keep every held-out case in :attr:`HindcastResult.predictions`.
    progress : callable, optional
        Called with a short message after each fold.

    Returns
    -------
    HindcastResult

    Raises
    ------
    InputError
        Bad parameters or ``pr``.
    InsufficientDataError
        Too short a record for the folds.
    """
    spec = spec or FeatureSpec()
    leads = tuple(int(h) for h in leads)
    if not leads or any(h < 1 or h > 12 for h in leads):
        raise InputError(f"leads are {leads}; expected months 1-12, e.g. 1,2,3.")
    models = tuple(models)
    for name in models:
        if name not in MODEL_NAMES:
            raise InputError(f"model {name!r} is unknown; choose from {', '.join(MODEL_NAMES)}.")
    if control not in (None, "shuffled_target"):
        raise InputError(f"control is {control!r}; expected None or 'shuffled_target'.")
    model_params = dict(model_params or {})
    pr = _as_cells(pr)
    years, months = monthly_time_axis(
        pr, "pr", gap_fix="Reindex to a complete monthly axis with NaN for missing months."
    )
    if gap_years * 12 < max(spec.scales) - 1:
        raise InputError(
            f"gap_years={gap_years} is shorter than the longest SPI window "
            f"({max(spec.scales)} months); pass gap_years >= {-(-(max(spec.scales) - 1) // 12)}."
        )
    folds = time_blocked_folds(
        int(years[0]),
        int(years[-1]),
        block_years=block_years,
        gap_years=gap_years,
        scheme=scheme,
        min_training_years=min_training_years,
    )
    lookback = spec.lookback(drivers=drivers is not None)
    season = np.broadcast_to((months - 1)[:, None], pr.shape)
    year_grid = np.broadcast_to(years[:, None], pr.shape)
    cell_grid = np.broadcast_to(np.arange(pr.shape[1])[None, :], pr.shape)
    rng = np.random.default_rng(seed)
    collectors = {h: _Collector() for h in leads}
    fold_of: dict[int, list[np.ndarray]] = {h: [] for h in leads}
    t_start = _time.perf_counter()
    for fold in folds:
        clim = TrainingClimatology(pr, fold.training_years, method=method)
        spi = {s: np.asarray(clim.spi(pr, s).values) for s in spec.scales}
        features = build_features(pr, clim, leads=leads, drivers=drivers, spec=spec, spi=spi)
        training_month = clim.training_months()
        a, b = fold.test_years
        test_issue = (years >= a) & (years <= b)
        persistence = spi[TARGET_SCALE]
        for h in leads:
            fs = features[h]
            y = target_spi(persistence, h)
            complete = np.isfinite(fs.values).all(axis=2) & np.isfinite(y)
            train = footprint_in_training(training_month, lookback, h)[:, None] & complete
            test = test_issue[:, None] & complete
            if train.sum() < 10 or not test.any():
                continue
            X_train, y_train = fs.values[train], y[train]
            e_train = (y_train < threshold).astype(np.int64)
            s_train = season[train]
            if control == "shuffled_target":
                perm = rng.permutation(y_train.size)
                y_train, e_train = y_train[perm], e_train[perm]
            X_test = fs.values[test]
            c = collectors[h]
            c.add(
                observed=y[test],
                persistence=persistence[test],
                climatology=np.full(int(test.sum()), float(y_train.mean())),
                climatology_probability=np.full(int(test.sum()), float(e_train.mean())),
                year=year_grid[test],
                season=season[test],
                cell=cell_grid[test],
                issue=np.broadcast_to(np.asarray(pr["time"].values)[:, None], pr.shape)[test],
            )
            fold_of[h].append(np.full(int(test.sum()), fold.index))
            for name in models:
                model = make_model(name, threshold=threshold, **model_params.get(name, {}))
                model.fit(X_train, y_train, e_train, s_train)
                mean, prob = model.predict(X_test, season[test])
                c.add(**{f"{name}_mean": mean, f"{name}_probability": prob})
        if progress is not None:
            progress(
                f"fold {fold.index + 1}/{len(folds)} (held out {a}-{b}) "
                f"{_time.perf_counter() - t_start:.0f} s"
            )

    rows: list[dict[str, Any]] = []
    tables: list[pd.DataFrame] = []
    kept: list[pd.DataFrame] = []
    for h in leads:
        c = collectors[h]
        if c.get("observed").size == 0:
            raise InsufficientDataError(
                f"lead {h}: no held-out case has complete features and a target. Pass a "
                "longer record or check for missing precipitation."
            )
        r, t = _score_rows(h, c, models, threshold=threshold, n_boot=n_boot, seed=seed)
        rows += r
        tables += t
        if keep_predictions:
            frame = pd.DataFrame(
                {
                    "lead": h,
                    "fold": np.concatenate(fold_of[h]),
                    "cell": c.get("cell"),
                    "issue_month": pd.DatetimeIndex(c.get("issue")).strftime("%Y-%m"),
                    "observed": c.get("observed"),
                    "persistence": c.get("persistence"),
                    "climatology": c.get("climatology"),
                }
            )
            for name in models:
                frame[f"{name}_mean"] = c.get(f"{name}_mean")
                frame[f"{name}_probability"] = c.get(f"{name}_probability")
            kept.append(frame)
    settings = {
        "leads": list(leads),
        "models": list(models),
        "model_params": {k: dict(v) for k, v in model_params.items()},
        "scheme": scheme,
        "block_years": block_years,
        "gap_years": gap_years,
        "min_training_years": min_training_years,
        "control": control,
        "threshold": threshold,
        "target": f"SPI-{TARGET_SCALE} at issue month + lead",
        "spi_method": method,
        "features": list(features[leads[0]].names) if folds else [],
        "feature_lookback_months": lookback,
        "drivers": list(drivers.columns) if drivers is not None else [],
        "publication_lag": spec.publication_lag,
        "record": f"{int(years[0])}-{int(months[0]):02d} to {int(years[-1])}-{int(months[-1]):02d}",
        "cells": int(pr.shape[1]),
        "bootstrap": f"{n_boot} replicates of whole years, 95% percentile interval",
        "verdict_rule": (
            f"beats a reference if MSE skill >= {MIN_USEFUL_SKILL} and the lower 95% bound > 0"
        ),
        "seconds": round(_time.perf_counter() - t_start, 1),
    }
    return HindcastResult(
        skill=pd.DataFrame(rows),
        reliability=pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
        folds=folds,
        settings=settings,
        predictions=pd.concat(kept, ignore_index=True) if kept else None,
    )


def beats_persistence(verdict: str) -> bool:
    """True when a verdict line says the forecast beats persistence."""
    return verdict.startswith(BEATS)
