r"""Statistical models of SPI-3 at *t + h*, pooled over cells: a mean and P(SPI-3 < -1).

Two families, both from scikit-learn, one model per lead:

* ``"linear"``: standardized features, ridge regression for the mean; the event
  probability from a Gaussian predictive distribution whose spread is the residual
  standard deviation of the issue month's calendar month (training residuals):
  :math:`P = \Phi((\theta - \hat\mu) / \hat\sigma_{m})`.
* ``"gbm"``: histogram gradient boosting (the LightGBM algorithm as implemented in
  scikit-learn), a regressor for the mean and a classifier for the event. Missing
  features are allowed (they follow the learned default branch).

Cells share one model; cell and season enter through the features
(:mod:`landwatch.forecast.features`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy import special

from landwatch.errors import InputError
from landwatch.forecast.features import WATCH_THRESHOLD

__all__ = [
    "MODEL_NAMES",
    "ForecastModel",
    "GradientBoostingForecast",
    "LinearForecast",
    "make_model",
]

MODEL_NAMES = ("linear", "gbm")


class ForecastModel(Protocol):
    """What the hindcast and the outlook need from a model."""

    name: str

    def fit(
        self, X: np.ndarray, y: np.ndarray, event: np.ndarray, season: np.ndarray
    ) -> ForecastModel:
        """Fit on features ``X`` (n, k), target SPI ``y``, event 0/1 and issue month 0-11."""
        ...

    def predict(self, X: np.ndarray, season: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted SPI-3 and P(event), each shape (n,)."""
        ...


def _check_xy(X: np.ndarray, y: np.ndarray, event: np.ndarray) -> None:
    if X.ndim != 2 or X.shape[0] != y.shape[0] or y.shape != event.shape:
        raise InputError(f"model fit: X {X.shape}, y {y.shape}, event {event.shape} do not match.")
    if X.shape[0] < 10:
        raise InputError(
            f"model fit: {X.shape[0]} training cases; need at least 10. Use a longer record."
        )


@dataclass
class LinearForecast:
    """Ridge regression with a Gaussian predictive distribution.

    Parameters
    ----------
    alpha : float, default 1.0
        Ridge penalty on standardized features.
    threshold : float, default -1.0
        Event threshold on SPI-3 (the CDI watch level).
    """

    alpha: float = 1.0
    threshold: float = WATCH_THRESHOLD
    name: str = "linear"
    _model: Any = field(default=None, repr=False)
    _sigma: np.ndarray | None = field(default=None, repr=False)

    def fit(
        self, X: np.ndarray, y: np.ndarray, event: np.ndarray, season: np.ndarray
    ) -> LinearForecast:
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        _check_xy(X, y, event)
        if not np.isfinite(X).all():
            raise InputError(
                "linear model: features contain NaN; drop incomplete cases or use model='gbm'."
            )
        self._model = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha)).fit(X, y)
        resid = y - self._model.predict(X)
        overall = float(np.std(resid))
        sigma = np.full(12, overall)
        for m in range(12):
            sel = resid[season == m]
            if sel.size >= 30:
                sigma[m] = float(np.std(sel))
        self._sigma = np.maximum(sigma, 1e-6)
        return self

    def predict(self, X: np.ndarray, season: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._model is None or self._sigma is None:
            raise InputError("linear model: call fit() before predict().")
        mean = np.asarray(self._model.predict(X), dtype=np.float64)
        z = (self.threshold - mean) / self._sigma[np.asarray(season, dtype=np.int64)]
        return mean, special.ndtr(z)


@dataclass
class GradientBoostingForecast:
    """Histogram gradient boosting: a regressor for SPI-3 and a classifier for the event.

    Parameters
    ----------
    max_iter : int, default 150
        Boosting iterations of each of the two models.
    learning_rate : float, default 0.1
    max_leaf_nodes : int, default 31
    min_samples_leaf : int, default 200
        Large leaves: neighbouring cells are near copies of each other, so small
        leaves would fit the weather of single months.
    l2_regularization : float, default 1.0
    threshold : float, default -1.0
        Event threshold on SPI-3.
    random_state : int, default 0
    threads : int, optional
        OpenMP threads of fit and predict (default: scikit-learn's, all cores). On a
        machine shared with other work, 1 avoids oversubscription, which can make
        boosting several times slower.
    """

    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 200
    l2_regularization: float = 1.0
    threshold: float = WATCH_THRESHOLD
    random_state: int = 0
    threads: int | None = None
    name: str = "gbm"
    _regressor: Any = field(default=None, repr=False)
    _classifier: Any = field(default=None, repr=False)
    _constant_p: float | None = field(default=None, repr=False)

    def _params(self) -> dict[str, Any]:
        return {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "early_stopping": False,
            "random_state": self.random_state,
        }

    def fit(
        self, X: np.ndarray, y: np.ndarray, event: np.ndarray, season: np.ndarray
    ) -> GradientBoostingForecast:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        _check_xy(X, y, event)
        with self._limits():
            self._regressor = HistGradientBoostingRegressor(**self._params()).fit(X, y)
            e = np.asarray(event, dtype=np.int64)
            if e.min() == e.max():  # one class only: the training frequency is the forecast
                self._classifier, self._constant_p = None, float(e[0])
            else:
                self._classifier = HistGradientBoostingClassifier(**self._params()).fit(X, e)
                self._constant_p = None
        return self

    def _limits(self) -> contextlib.AbstractContextManager[Any]:
        if self.threads is None:
            return contextlib.nullcontext()
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=int(self.threads), user_api="openmp")

    def predict(self, X: np.ndarray, season: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._regressor is None:
            raise InputError("gbm model: call fit() before predict().")
        with self._limits():
            mean = np.asarray(self._regressor.predict(X), dtype=np.float64)
            if self._classifier is None:
                prob = np.full(mean.shape, self._constant_p)
            else:
                prob = np.asarray(self._classifier.predict_proba(X)[:, 1], dtype=np.float64)
        return mean, prob


def make_model(name: str, *, threshold: float = WATCH_THRESHOLD, **params: Any) -> ForecastModel:
    """A new, unfitted model by name.

    Parameters
    ----------
    name : {"linear", "gbm"}
        Model family.
    threshold : float, default -1.0
        Event threshold on SPI-3.
    **params
        Passed to :class:`LinearForecast` or :class:`GradientBoostingForecast`.

    Raises
    ------
    InputError
        Unknown name or parameter.
    """
    classes: dict[str, type] = {"linear": LinearForecast, "gbm": GradientBoostingForecast}
    if name not in classes:
        raise InputError(f"model is {name!r}; choose one of {', '.join(MODEL_NAMES)}.")
    try:
        model: ForecastModel = classes[name](threshold=threshold, **params)
    except TypeError as exc:
        raise InputError(f"model {name!r}: bad parameters {sorted(params)} ({exc}).") from exc
    return model
