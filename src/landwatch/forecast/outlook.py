"""The forecast issued at one month: SPI-3 and P(CDI watch) 1-3 months ahead, for alerts.

The SPI of the outlook is calibrated on ``calibration`` (default the WMO normal
1981-2010, as the monitoring products of ``landwatch drought spi``), so forecast and
observed SPI-3 share one scale. The model is trained on every complete case of the
record up to the issue month. Its skill is *not* measured here: pass the
:class:`~landwatch.forecast.hindcast.HindcastResult` of the same configuration so
that every row says whether the method beats persistence and climatology.

Only the watch level of the Combined Drought Indicator (SPI-3 below -1) is
forecast. The warning and alert levels need soil moisture and vegetation (fAPAR /
NDVI) anomalies, whose forecasts landwatch does not provide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
from landwatch.forecast.hindcast import BASELINES, HindcastResult
from landwatch.forecast.models import make_model
from landwatch.indices.drought.timeaxis import monthly_time_axis

__all__ = ["NOT_MEASURED", "cap_certainty", "check_drivers_cover", "issue_forecast"]

NOT_MEASURED = "skill not measured (run the hindcast)"


def cap_certainty(probability: float | np.ndarray) -> np.ndarray:
    """CAP 1.2 ``certainty`` of a forecast event: "Likely" if p >= 0.5, else "Possible".

    CAP defines *Likely* as p > ~50 % and *Possible* as p <= ~50 % but not negligible
    (OASIS CAP 1.2, section 3.2.2). NaN gives "Unknown".
    """
    p = np.asarray(probability, dtype=np.float64)
    return np.where(np.isnan(p), "Unknown", np.where(p >= 0.5, "Likely", "Possible"))


def check_drivers_cover(drivers: pd.DataFrame, issue: pd.Timestamp, publication_lag: int) -> None:
    """Raise :class:`InputError` unless every driver has the value published by ``issue``.

    Parameters
    ----------
    drivers : pandas.DataFrame
        From :func:`~landwatch.forecast.features.prepare_drivers`.
    issue : Timestamp
        Issue month (month start).
    publication_lag : int
        Months after its month that a value is published.
    """
    needed = issue - pd.DateOffset(months=publication_lag)
    have = drivers.dropna(how="any")
    if have.empty or needed not in have.index:
        raise InputError(
            f"drivers: the issue month {issue:%Y-%m} needs the values of {needed:%Y-%m} "
            f"(publication lag {publication_lag} month(s)), which the table does not "
            "have. Add that month or issue the forecast earlier (--issue)."
        )


def _calibration_years(years: np.ndarray, calibration: tuple[int, int] | None) -> list[int]:
    first, last = int(years[0]), int(years[-1])
    if calibration is None:
        return list(range(first, last + 1))
    c0, c1 = (int(v) for v in calibration)
    return list(range(max(c0, first), min(c1, last) + 1))


def issue_forecast(
    pr: xr.DataArray,
    *,
    issue: str | pd.Timestamp | None = None,
    leads: Iterable[int] = (1, 2, 3),
    model: str = "gbm",
    model_params: Mapping[str, Any] | None = None,
    calibration: tuple[int, int] | None = (1981, 2010),
    drivers: pd.DataFrame | None = None,
    spec: FeatureSpec | None = None,
    threshold: float = WATCH_THRESHOLD,
    method: Literal["thom", "mle", "lmoments"] = "thom",
    min_years: int = 20,
    skill: HindcastResult | None = None,
) -> pd.DataFrame:
    """SPI-3 and P(SPI-3 < threshold) for each cell, issued at month ``issue``.

    Parameters
    ----------
    pr : xarray.DataArray
        Monthly precipitation [mm], dims ``(time, cell)``, a complete monthly axis.
    issue : str or Timestamp, optional
        Issue month (``YYYY-MM``); data after it are ignored. Default: the last month.
    leads : iterable of int, default (1, 2, 3)
    model : {"linear", "gbm"}, default "gbm"
    model_params : mapping, optional
        Keyword arguments of the model.
    calibration : (int, int) or None, default (1981, 2010)
        SPI reference years (None: the whole record up to ``issue``).
    drivers : pandas.DataFrame, optional
        From :func:`~landwatch.forecast.features.prepare_drivers`; must hold the value
        published by the issue month.
    spec : FeatureSpec, optional
    threshold : float, default -1.0
        CDI watch threshold on SPI-3.
    method : {"thom", "mle", "lmoments"}, default "thom"
    min_years : int, default 20
        Minimum calibration years of the SPI.
    skill : HindcastResult, optional
        Hindcast of the same configuration; its verdicts are copied into each row.

    Returns
    -------
    pandas.DataFrame
        One row per cell and lead: ``cell``, ``issue_month``, ``lead``,
        ``target_month``, ``spi3_observed_at_issue``, ``spi3_forecast``,
        ``watch_probability``, ``certainty`` (CAP; "Unknown" where the cell has no
        forecast), ``forecast_cdi_class`` (1 watch if the probability is >= 0.5, else
        0 normal; missing without a forecast), ``is_forecast`` (True),
        ``model``, ``skill_verdict`` and ``msess_persistence`` / ``msess_climatology``
        of the hindcast (NaN without ``skill``).

    Raises
    ------
    InputError
        Unknown issue month, drivers that do not cover it.
    InsufficientDataError
        Too few calibration years or training cases.
    """
    spec = spec or FeatureSpec()
    leads = tuple(int(h) for h in leads)
    if pr.ndim != 2 or pr.dims[0] != "time":
        raise InputError(f"pr has dims {pr.dims}; expected (time, cell).")
    times = pd.DatetimeIndex(pr["time"].values)
    if issue is None:
        stamp = times[-1]
    else:
        try:
            stamp = pd.Timestamp(str(issue)).to_period("M").to_timestamp()
        except ValueError as exc:
            raise InputError(f"issue is {issue!r}; expected a month such as 2022-06.") from exc
        if stamp not in times:
            raise InputError(
                f"issue month {stamp:%Y-%m} is outside the record "
                f"({times[0]:%Y-%m} to {times[-1]:%Y-%m}). Pass a month of the record."
            )
    pr = pr.sel(time=slice(None, stamp))
    years, months = monthly_time_axis(pr, "pr", gap_fix="Reindex to a complete monthly axis.")
    cal_years = _calibration_years(years, calibration)
    if len(cal_years) < min_years:
        raise InsufficientDataError(
            f"pr covers {int(years[0])}-{int(years[-1])} up to the issue month; the SPI "
            f"calibration {calibration} overlaps it in {len(cal_years)} years, fewer than "
            f"{min_years}. Pass --calibration full or a longer record."
        )
    if drivers is not None:
        check_drivers_cover(drivers, stamp, spec.publication_lag)
    clim = TrainingClimatology(pr, cal_years, method=method, min_years=min_years)
    spi = {s: np.asarray(clim.spi(pr, s).values) for s in spec.scales}
    features = build_features(pr, clim, leads=leads, drivers=drivers, spec=spec, spi=spi)
    spi3 = spi[TARGET_SCALE]
    season = np.broadcast_to((months - 1)[:, None], pr.shape)
    cells = [str(c) for c in pr[pr.dims[1]].values]
    frames = []
    for h in leads:
        fs = features[h]
        y = target_spi(spi3, h)
        complete = np.isfinite(fs.values).all(axis=2)
        train = complete & np.isfinite(y)
        if train.sum() < 10:
            raise InsufficientDataError(
                f"lead {h}: {int(train.sum())} complete training cases up to {stamp:%Y-%m}; "
                "need at least 10. Pass a longer record."
            )
        fitted = make_model(model, threshold=threshold, **dict(model_params or {}))
        e = (y[train] < threshold).astype(np.int64)
        fitted.fit(fs.values[train], y[train], e, season[train])
        x_now = fs.values[-1]
        ok = complete[-1]
        mean = np.full(len(cells), np.nan)
        prob = np.full(len(cells), np.nan)
        if ok.any():
            mean[ok], prob[ok] = fitted.predict(x_now[ok], season[-1][ok])
        target = stamp + pd.DateOffset(months=h)
        verdict, ss_pers, ss_clim = NOT_MEASURED, np.nan, np.nan
        if skill is not None:
            row = skill.skill[(skill.skill["lead"] == h) & (skill.skill["forecast"] == model)]
            row = row[~row["forecast"].isin(BASELINES)]
            if not row.empty:
                r = row.iloc[0]
                verdict = f"{r['verdict']}; {r['climatology_verdict']}"
                ss_pers, ss_clim = float(r["msess_persistence"]), float(r["msess_climatology"])
        frames.append(
            pd.DataFrame(
                {
                    "cell": cells,
                    "issue_month": f"{stamp:%Y-%m}",
                    "lead": h,
                    "target_month": f"{target:%Y-%m}",
                    "spi3_observed_at_issue": spi3[-1],
                    "spi3_forecast": mean,
                    "watch_probability": prob,
                    "certainty": cap_certainty(prob),
                    "forecast_cdi_class": pd.array(
                        np.where(np.isnan(prob), pd.NA, np.where(prob >= 0.5, 1, 0)),
                        dtype="Int64",
                    ),
                    "is_forecast": True,
                    "model": model,
                    "skill_verdict": verdict,
                    "msess_persistence": ss_pers,
                    "msess_climatology": ss_clim,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
