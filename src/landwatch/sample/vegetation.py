"""Monthly NDVI of the sample region on the climate grid, driven by its precipitation.

The drought early warning needs a monthly vegetation anomaly. The sample's monthly
NDVI is planted from the sample's own precipitation by a documented rule, so the
vegetation stress of each planted drought is known without running any index:

* climatology: the cell's mean NDVI times a seasonal cycle that follows the rain of
  the two previous months (green-up lags the rains);
* response: ``1 + VEGETATION_K * m(t)`` with the stress memory
  ``m(t) = VEGETATION_MEMORY * m(t - 1) + (1 - VEGETATION_MEMORY) * clip(r3(t - 1), -0.8, 1.0)``,
  where ``r3(t)`` is the cell's precipitation over months t-2..t divided by its
  climatological mean over the same months, minus 1: vegetation at t reflects the
  rain of t-3..t-1 and recovers more slowly than the rain returns;
* noise: Gaussian, ``VEGETATION_NOISE_SD`` NDVI.

It is generated independently of the annual NDVI cube (which carries the SDG 15.3.1
truth), on the coarse climate grid (10 x 10 NDVI pixels per cell), from 2000.
"""

from __future__ import annotations

import numpy as np

VEGETATION_K = 0.3
VEGETATION_MEMORY = 0.5
VEGETATION_LAG_MONTHS = 1
VEGETATION_NOISE_SD = 0.01
SEASONAL_AMPLITUDE = 0.25

#: the rule in words, copied into truth.json
VEGETATION_RULE = (
    f"ndvi(t) = base x season(month) x (1 + {VEGETATION_K} m(t)) + N(0, {VEGETATION_NOISE_SD}); "
    f"m(t) = {VEGETATION_MEMORY} m(t-1) + {1 - VEGETATION_MEMORY} clip(r3(t - {VEGETATION_LAG_MONTHS}), "
    "-0.8, 1.0); r3(t) = P(t-2..t) / climatological P(t-2..t) - 1 per climate cell; season "
    "follows the climatological rain of the two previous months"
)


def monthly_ndvi(
    rng: np.random.Generator,
    pr: np.ndarray,
    expected_pr: np.ndarray,
    base_ndvi: np.ndarray,
    first: int,
    rain_fraction: np.ndarray,
) -> np.ndarray:
    """Monthly NDVI (nt - first, nc, nc) from month index ``first`` of ``pr``.

    Parameters
    ----------
    pr, expected_pr
        Monthly precipitation and its climatological mean, (nt, nc, nc), from January
        of the first climate year.
    base_ndvi
        Mean NDVI of each climate cell, (nc, nc).
    first
        Index of the first month to return (e.g. 2000-01).
    rain_fraction
        The 12 monthly shares of the annual rain (seasonal cycle).
    """
    nt = pr.shape[0]
    p3 = np.full(pr.shape, np.nan)
    e3 = np.full(pr.shape, np.nan)
    for t in range(2, nt):
        p3[t] = pr[t - 2 : t + 1].sum(axis=0)
        e3[t] = expected_pr[t - 2 : t + 1].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r3 = np.where(e3 > 0, p3 / e3 - 1.0, 0.0)
    lag = VEGETATION_LAG_MONTHS
    forcing = np.zeros(pr.shape)
    forcing[lag:] = np.clip(np.nan_to_num(r3[:-lag]), -0.8, 1.0)
    response = np.zeros(pr.shape)
    for t in range(1, nt):
        response[t] = VEGETATION_MEMORY * response[t - 1] + (1 - VEGETATION_MEMORY) * forcing[t]
    month = np.arange(nt) % 12
    prior = (rain_fraction[(month - 1) % 12] + rain_fraction[(month - 2) % 12]) / 2
    season = 1 + SEASONAL_AMPLITUDE * (prior - prior.mean()) / (
        rain_fraction.max() - rain_fraction.min()
    )
    ndvi = base_ndvi[None] * season[:, None, None] * (1 + VEGETATION_K * response)
    ndvi = ndvi[first:] + rng.normal(0, VEGETATION_NOISE_SD, ndvi[first:].shape)
    return np.clip(ndvi, -0.1, 0.95).astype(np.float32)
