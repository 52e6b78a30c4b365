"""Drought forecasts: SPI-3 and the CDI watch level 1-3 months ahead, with measured skill.

* :mod:`~landwatch.forecast.climatology`: SPI fitted on training years only;
* :mod:`~landwatch.forecast.features`: predictors known at the issue month, and the
  check that none reads the future;
* :mod:`~landwatch.forecast.models`: pooled scikit-learn models (ridge, gradient boosting);
* :mod:`~landwatch.forecast.verification`: RMSE, skill scores, ROC-AUC, Brier, reliability;
* :mod:`~landwatch.forecast.hindcast`: time-blocked cross-validation against persistence
  and climatology;
* :mod:`~landwatch.forecast.outlook`: the forecast issued at one month, for alerts.
"""

from __future__ import annotations

from landwatch.forecast.climatology import TrainingClimatology
from landwatch.forecast.features import (
    TARGET_SCALE,
    WATCH_THRESHOLD,
    FeatureSpec,
    LeakageError,
    build_features,
    check_causality,
    prepare_drivers,
)
from landwatch.forecast.hindcast import (
    Fold,
    HindcastResult,
    beats_persistence,
    run_hindcast,
    time_blocked_folds,
)
from landwatch.forecast.models import MODEL_NAMES, make_model
from landwatch.forecast.outlook import cap_certainty, issue_forecast

__all__ = [
    "MODEL_NAMES",
    "TARGET_SCALE",
    "WATCH_THRESHOLD",
    "FeatureSpec",
    "Fold",
    "HindcastResult",
    "LeakageError",
    "TrainingClimatology",
    "beats_persistence",
    "build_features",
    "cap_certainty",
    "check_causality",
    "issue_forecast",
    "make_model",
    "prepare_drivers",
    "run_hindcast",
    "time_blocked_folds",
]
