"""Generator of the built-in sample region with planted truth.

A synthetic semi-arid region in south-eastern Kenya (around 37.0-37.9 E,
1.0-1.9 S; EPSG:4326, 0.00225 degree pixels, about 250 m). Every input of an
SDG 15.3.1 / drought assessment is written for it: annual NDVI, land cover for
four years, soil organic carbon, IPCC climate zones, soil units, population,
admin units and monthly climate. Degradation, improvement, land-cover change and
drought episodes are *planted* in known places and times and described in
``truth.json`` and ``truth_patches.tif``, so workflows can be tested against what
was put there.

The generator is deterministic: the same ``seed`` and ``size`` give identical
arrays (``numpy.random.Generator(PCG64(seed))``, fixed order of draws). It needs no
network and takes a few seconds for ``size=400``.

This module writes its own files (rasterio, xarray, geopandas) rather than going
through :mod:`landwatch.io`: the sample is a fixture producer, not an input path,
and must keep working whatever the readers accept.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from landwatch.errors import InputError
from landwatch.indices.land.codes import LC_CLASSES, LC_WATER, NODATA
from landwatch.sample.vegetation import VEGETATION_RULE, monthly_ndvi

__all__ = ["SampleRegion", "create_sample_region"]

# ---------------------------------------------------------------------------
# Global parameters (declared as data; copied into truth.json)
# ---------------------------------------------------------------------------

CRS = "EPSG:4326"
RESOLUTION = 0.00225  # degrees, about 250 m at 1 S
WEST = 37.0
NORTH = -1.0
NDVI_YEARS: tuple[int, ...] = tuple(range(2000, 2024))
LC_YEARS: tuple[int, ...] = (2000, 2015, 2019, 2023)
CLIMATE_YEARS: tuple[int, int] = (1981, 2023)
CLIMATE_FACTOR = 10  # climate grid cell = 10 x 10 NDVI pixels (0.0225 deg, ~2.5 km, CHIRPS-like)
MIN_SIZE = 60

#: Base NDVI per UNCCD land cover class (before soil and heterogeneity factors).
NDVI_BASE: dict[int, float] = {1: 0.65, 2: 0.40, 3: 0.45, 4: 0.55, 5: 0.15, 6: 0.12, 7: -0.05}
#: NDVI factor per soil unit 1..4.
NDVI_SOIL_FACTOR: dict[int, float] = {1: 0.92, 2: 1.0, 3: 1.04, 4: 1.08}
NDVI_HETEROGENEITY = 0.06  # sd of the smooth multiplicative field
# Temporally independent pixel noise of an ANNUAL mean NDVI: a year holds ~23 16-day
# MODIS composites with ~0.04-0.05 residual noise each, so ~0.045 / sqrt(23) ~ 0.01.
# The Trends.Earth percentile state is sensitive to this value (README: at 0.016 it
# flags ~8 % of stable ground in the baseline, at 0.010 under 2 %).
NDVI_NOISE_SD = 0.010
NDVI_PRECIP_K = 0.12  # ndvi_t = base_t * (1 + k * annual precipitation anomaly_t)
NDVI_RANGE: tuple[float, float] = (-0.1, 0.95)

#: SOC stock 0-30 cm in t C/ha per land cover class (water has none: nodata).
SOC_BASE: dict[int, float] = {1: 60.0, 2: 35.0, 3: 30.0, 4: 80.0, 5: 20.0, 6: 10.0}
SOC_SOIL_FACTOR: dict[int, float] = {1: 0.85, 2: 1.0, 3: 1.1, 4: 1.25}

SOIL_UNITS: dict[int, str] = {
    1: "Arenosols (sandy)",
    2: "Luvisols",
    3: "Ferralsols",
    4: "Vertisols (black cotton)",
}
CLIMATE_ZONES: dict[int, str] = {9: "Tropical montane", 11: "Tropical moist", 12: "Tropical dry"}

#: Fraction of the mean annual rainfall falling in each calendar month: bimodal East
#: African regime, long rains March-May, short rains October-December.
MONTHLY_RAIN_FRACTION = np.array(
    [0.06, 0.04, 0.11, 0.20, 0.08, 0.01, 0.005, 0.005, 0.01, 0.08, 0.25, 0.14]
)
DRY_SEASON_FRACTION = 0.02  # months with less of the annual rain form the dry season
DRY_MONTH_ZERO_PROBABILITY = 0.4  # chance of a rain-free dry-season month

#: Planted drought episodes (inclusive months): failed rainy seasons. Each starts with
#: the short rains (October), so its first month carries a deficit that a 3-month index
#: can see. In every episode month the region-mean precipitation is exactly
#: (1 - deficit) x its climatological mean, except in the dry-season months (< 2 % of
#: the annual rain, June-September), which are rain-free inside an episode: a 50 % cut
#: of a few millimetres is not measurable, a dry season without any shower is.
DROUGHT_EPISODES: list[dict[str, Any]] = [
    {"id": "D1984", "start": "1983-10", "end": "1984-09", "deficit": 0.60, "severity": "extreme"},
    {"id": "D2000", "start": "1999-10", "end": "2000-09", "deficit": 0.50, "severity": "severe"},
    {"id": "D2009", "start": "2008-10", "end": "2009-09", "deficit": 0.50, "severity": "severe"},
    {"id": "D2011", "start": "2010-10", "end": "2011-05", "deficit": 0.45, "severity": "moderate"},
    {"id": "D2017", "start": "2016-10", "end": "2017-09", "deficit": 0.65, "severity": "extreme"},
]
#: How the planted episodes are checked (tests/integration/test_planted_drought_events.py;
#: copied into truth.json): SPI-3 per climate cell (gamma, Thom, 1981-2010), a cell in
#: drought at SPI-3 < -1 (McKee's moderate drought), a regional drought month when that
#: holds on >= 30 % of the area (about twice the 16 % of a normal month), a regional
#: event >= 3 such months in a row (one rainy season), run theory
#: (``regional_drought_events``).
DROUGHT_EVENT_CHECK: dict[str, Any] = {
    "index": "SPI-3",
    "spi": {"scale": 3, "distribution": "gamma", "method": "thom", "calibration": [1981, 2010]},
    "cell_threshold": -1.0,
    "min_area_fraction": 0.3,
    "min_duration_months": 3,
    "onset_tolerance_months": 1,
    "duration_tolerance_months": 2,
    "expected_spi3_rule": (
        "a month t is an expected SPI-3 drought month when at least half of the "
        "climatological rain of its window t-2..t falls in planted episode months "
        "(from MONTHLY_RAIN_FRACTION only, not from any index). For the October-September "
        "episodes these are the planted months; for D2011 (October-May) October .. July: "
        "the June and July windows still hold the failed long rains, so a 3-month index "
        "ends up to 2 months after the planted end"
    ),
}
DROUGHT_WARMING = 0.8  # degC added to temperature in drought months
WARMING_TREND = 0.02  # degC per year

#: Assessment periods of the run configuration (names as in the lead's config).
PERIODS: dict[str, dict[str, list[int]]] = {
    "baseline": {"productivity": [2000, 2015], "land_cover": [2000, 2015]},
    "report_1": {"productivity": [2004, 2019], "land_cover": [2015, 2019]},
    "report_2": {"productivity": [2008, 2023], "land_cover": [2015, 2023]},
}

PATCH_AREA_FRACTION = 0.27  # all patches together, of the region area

#: Productivity patches: land cover unchanged, NDVI multiplied by ``multiplier(year)``.
PRODUCTIVITY_TYPES: dict[str, dict[str, Any]] = {
    "gradual_decline": {
        "count": 3,
        "description": "linear decline 2000-2023 totalling 35 % of the base NDVI",
        "parameters": {
            "relative_change_total": -0.35,
            "start_year": 2000,
            "end_year": 2023,
            "relative_slope_per_year": round(-0.35 / 23, 6),
        },
    },
    "abrupt_decline": {
        "count": 3,
        "description": "stable, then a step drop of 35 % from 2012 (first low year) to 2023",
        "parameters": {"relative_step": -0.35, "step_year": 2012},
    },
    "recovery": {
        "count": 3,
        "description": "greening from a degraded level: 50 % of base in 2000 rising linearly "
        "to 100 % in 2023 (about +0.009 NDVI/yr on grassland)",
        "parameters": {
            "relative_level_start": 0.5,
            "relative_level_end": 1.0,
            "start_year": 2000,
            "end_year": 2023,
        },
    },
    "stable": {
        "count": 3,
        "description": "no change beyond the regional rainfall signal and noise",
        "parameters": {},
    },
    "drought_dip": {
        "count": 3,
        "description": "stable, with a 30 % dip in the drought years 2009 and 2017 only",
        "parameters": {"relative_dip": -0.30, "dip_years": [2009, 2017]},
    },
    "low_performance": {
        "count": 3,
        "description": "stable trend but NDVI at 0.4 x its land cover / soil unit peers",
        "parameters": {"relative_level": 0.4},
    },
}

#: Land cover transition patches: class ``from`` in 2000, ``to`` from ``change_year``;
#: NDVI follows the base of the new class (ramped for afforestation).
TRANSITION_TYPES: dict[str, dict[str, Any]] = {
    "wetland_drainage": {
        "count": 2,
        "from": [4],
        "to": 3,
        "change_year": 2008,
        "description": "wetland drained for cropland in 2008 (visible in the 2015 map)",
    },
    "deforestation": {
        "count": 2,
        "from": [1],
        "to": 3,
        "change_year": 2010,
        "description": "tree cover cleared for cropland in 2010 (visible in the 2015 map)",
    },
    "urban_expansion": {
        "count": 2,
        "from": [3, 2],
        "to": 5,
        "change_year": 2017,
        "description": "cropland/grassland next to the town built over in 2017 "
        "(2015 map: old class, 2019 map: artificial)",
    },
    "afforestation": {
        "count": 2,
        "from": [2],
        "to": 1,
        "change_year": 2010,
        "ramp": [2005, 2012],
        "description": "grassland planted with trees: NDVI ramps 2005-2012, tree cover in the "
        "2015 map",
    },
    "cropland_abandonment": {
        "count": 2,
        "from": [3],
        "to": 2,
        "change_year": 2021,
        "description": "cropland abandoned to grassland in 2021 (2019 map: cropland, 2023 map: "
        "grassland); UNCCD default matrix: crop -> grass is degradation",
    },
}

# Expected outcome per patch type and period under the UNCCD defaults (Trends.Earth
# LPD table, one-out-all-out). lc/soc: -1/0/+1; lpd5: 1 Declining .. 5 Increasing;
# lpd5_acceptable: all classes a correct method may return given sampling noise;
# robust: whether the period's SDG flag (degraded/improved/stable) is expected on
# nearly all pixels of the patch (False: borderline statistics, see reason).
_E = dict
EXPECTED: dict[str, dict[str, Any]] = {
    "gradual_decline": {
        "baseline": _E(lc=0, soc=0, lpd5=1, acceptable=[1], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=1, acceptable=[1], robust=True),
        "report_2": _E(lc=0, soc=0, lpd5=1, acceptable=[1], robust=True),
        "reason": "a 16-year window holds a decline of ~24 % of base (slope/noise ~0.35/yr): "
        "Mann-Kendall trajectory significant -> Declining in every period.",
    },
    "abrupt_decline": {
        "baseline": _E(lc=0, soc=0, lpd5=1, acceptable=[1, 2], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=1, acceptable=[1], robust=True),
        "report_2": _E(lc=0, soc=0, lpd5=1, acceptable=[1, 2, 4], robust=False),
        "reason": "baseline: 12 high + 4 low years, trajectory borderline but state "
        "(2013-2015 vs 2000-2012) is -1 -> Declining or Moderate decline, both degraded; "
        "report_1: 8/8 split -> trajectory significant; report_2: 4 high + 12 low years, "
        "trajectory borderline (z ~ -2.1) and state near 0 -> degraded on part of the patch.",
    },
    "recovery": {
        "baseline": _E(lc=0, soc=0, lpd5=5, acceptable=[5], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=5, acceptable=[5], robust=True),
        "report_2": _E(lc=0, soc=0, lpd5=5, acceptable=[5], robust=True),
        "reason": "significant positive trajectory in every window -> Increasing (improved).",
    },
    "stable": {
        "baseline": _E(lc=0, soc=0, lpd5=4, acceptable=[4], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=4, acceptable=[4, 2], robust=False),
        "report_2": _E(lc=0, soc=0, lpd5=4, acceptable=[4], robust=True),
        "reason": "only the regional rainfall signal and noise: Stable (MK alone flags ~5 %). "
        "report_1: the planted 2016-17 regional drought falls in the state's recent window "
        "(2017-2019) and lowers NDVI everywhere, so the state metric (not climate-corrected, "
        "as in Trends.Earth) flags part of the stable ground as moderate decline (LPD 2).",
    },
    "drought_dip": {
        "baseline": _E(lc=0, soc=0, lpd5=4, acceptable=[4], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=4, acceptable=[4, 2], robust=False),
        "report_2": _E(lc=0, soc=0, lpd5=4, acceptable=[4], robust=True),
        "reason": "two dip years inside each window and full recovery: no trend -> Stable; "
        "a drought must not read as degradation. baseline and report_2: the recent state "
        "years are normal. report_1: the 2017 dip lies in the recent state window "
        "(2017-2019), so the state metric flags part of the patch (LPD 2): a drought-induced "
        "false positive of the kind the correction polygons exist for.",
    },
    "low_performance": {
        "baseline": _E(lc=0, soc=0, lpd5=3, acceptable=[3, 4], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=3, acceptable=[3, 4], robust=True),
        "report_2": _E(lc=0, soc=0, lpd5=3, acceptable=[3, 4], robust=True),
        "reason": "no trend, no state change, mean NDVI ~0.37 x the unit's 90th percentile "
        "(< 0.5) -> Stable but stressed (LPD 3, counted as stable in the 3-class SDG); where "
        "noise makes the state +1 the Trends.Earth table gives Stable (4) instead.",
    },
    "wetland_drainage": {
        "baseline": _E(lc=-1, soc=-1, lpd5=1, acceptable=[1, 2], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=4, acceptable=[4, 1, 2], robust=False),
        "report_2": _E(lc=0, soc=-1, lpd5=4, acceptable=[4], robust=True),
        "reason": "wetland -> cropland is degradation in the UNCCD matrix; the land cover "
        "maps show the change between 2000 and 2015, so SOC places it mid-interval (new "
        "class from 2008, Trends.Earth's rule) and loses 29 % over 20 years: -23 % by 2015 "
        "(degraded), -6.6 % 2015-2019 (stable) and -13 % 2015-2023 (degraded: legacy loss); "
        "NDVI step -18 % in 2008 gives a decline in 2000-2015, a borderline one in "
        "2004-2019 (4 high years) and none in 2008-2023.",
    },
    "deforestation": {
        "baseline": _E(lc=-1, soc=-1, lpd5=1, acceptable=[1, 2], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=1, acceptable=[1, 2], robust=True),
        "report_2": _E(lc=0, soc=-1, lpd5=4, acceptable=[4, 1, 2], robust=True),
        "reason": "tree -> cropland is degradation; the maps show it between 2000 and 2015, "
        "so SOC places it mid-interval (from 2008) with cropland factor f (0.58 dry, 0.64 "
        "montane) over 20 years: -34 to -29 % by 2015, -10.1 / -8.4 % 2015-2019 "
        "(borderline, so report_1 SOC is not asserted), -20 / -17 % 2015-2023 (degraded: "
        "legacy loss); NDVI step -31 % in 2010: decline in 2000-2015 and 2004-2019 (6 high "
        "years), mostly none in 2008-2023 (2 high years).",
    },
    "urban_expansion": {
        "baseline": _E(lc=0, soc=0, lpd5=4, acceptable=[4], robust=True),
        "report_1": _E(lc=-1, soc=-1, lpd5=1, acceptable=[1, 2], robust=True),
        "report_2": _E(lc=-1, soc=-1, lpd5=1, acceptable=[1, 2, 4], robust=True),
        "reason": "crop/grass -> artificial is degradation; SOC factor 0.1 (90 % x 4/20 yr "
        "= 18 % > 10 %); NDVI falls to 0.15 from 2017. In 2008-2023 a step (9 high, 7 low "
        "years) is not always a significant monotonic trend, and the percentile state may "
        "miss it, so LPD 4 occurs there; land cover makes the pixel degraded anyway.",
    },
    "afforestation": {
        "baseline": _E(lc=1, soc=0, lpd5=5, acceptable=[5], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=5, acceptable=[5], robust=True),
        "report_2": _E(lc=0, soc=0, lpd5=5, acceptable=[5, 4], robust=False),
        "reason": "grassland -> tree is improvement; SOC factor 1 (stable); NDVI ramps "
        "0.40 -> 0.65 over 2005-2012: increasing in 2000-2015 and 2004-2019, borderline in "
        "2008-2023 (ramp covers only its first 5 years).",
    },
    "cropland_abandonment": {
        "baseline": _E(lc=0, soc=0, lpd5=4, acceptable=[4], robust=True),
        "report_1": _E(lc=0, soc=0, lpd5=4, acceptable=[4], robust=True),
        "report_2": _E(lc=-1, soc=1, lpd5=4, acceptable=[4, 1, 2], robust=True),
        "reason": "cropland -> grassland is degradation ('withdrawal of agriculture') in the "
        "UNCCD default matrix although SOC rises (factor 1/f); one-out-all-out -> degraded "
        "in report_2 whatever the small NDVI step (-11 % in 2021) does.",
    },
}
del _E

EXPECTATION_RULES = (
    "UNCCD defaults as implemented by Trends.Earth: land cover change from the default "
    "7x7 matrix (initial -> final map of the period); SOC from IPCC land-use factors "
    "(cropland factor f by climate zone, 0.1 to artificial, 0.71 wetland -> cropland, "
    "1/f cropland -> natural), applied linearly over 20 years from the initial map year, "
    "degraded/improved beyond +-10 %; productivity: trajectory = Mann-Kendall on annual "
    "NDVI at p <= 0.05, state = last 3 years vs the earlier years, performance = period "
    "mean / 90th percentile of its soil x land cover unit < 0.5; LPD from the Trends.Earth "
    "trajectory x state x performance table; lpd3: 1,2 -> -1, 3,4 -> 0, 5 -> +1; the "
    "period's SDG class is one-out-all-out (-1 if any sub-indicator is -1, else +1 if any "
    "is +1, else 0)."
)


# ---------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleRegion:
    """Paths of a generated sample region and its planted truth.

    Attributes
    ----------
    out_dir : Path
        Folder holding every file.
    files : dict of str to Path
        All written files by short name (``"ndvi"``, ``"land_cover_2015"``, ...).
    truth : dict
        The content of ``truth.json``.
    """

    out_dir: Path
    files: dict[str, Path]
    truth: dict[str, Any] = field(repr=False)

    @property
    def ndvi(self) -> Path:
        return self.files["ndvi"]

    @property
    def land_cover(self) -> dict[int, Path]:
        return {y: self.files[f"land_cover_{y}"] for y in LC_YEARS}

    @property
    def config(self) -> Path:
        return self.files["run_config"]

    @property
    def truth_path(self) -> Path:
        return self.files["truth"]


ProgressCallback = Callable[[str, float], None]


# ---------------------------------------------------------------------------
# Field helpers
# ---------------------------------------------------------------------------


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to mean 0 and sd 1."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="reflect")
    return (f - f.mean()) / f.std()


def _rescale01(a: np.ndarray) -> np.ndarray:
    return (a - a.min()) / (a.max() - a.min())


def _blob(
    rng: np.random.Generator,
    shape: tuple[int, int],
    row: float,
    col: float,
    radius: float,
    irregularity: float = 0.22,
) -> np.ndarray:
    """Star-shaped irregular blob (always one connected piece) on a full grid."""
    mask = np.zeros(shape, bool)
    window, local = _blob_window(rng, shape, row, col, radius, irregularity)
    mask[window] = local
    return mask


def _blob_window(
    rng: np.random.Generator,
    shape: tuple[int, int],
    row: float,
    col: float,
    radius: float,
    irregularity: float = 0.22,
) -> tuple[tuple[slice, slice], np.ndarray]:
    """The blob as (window slices, local mask): cheap for small blobs on big grids."""
    phases = rng.uniform(0, 2 * np.pi, size=3)
    reach = int(math.ceil(radius * (1 + irregularity * 1.5))) + 1
    r0, r1 = max(0, int(row) - reach), min(shape[0], int(row) + reach + 2)
    c0, c1 = max(0, int(col) - reach), min(shape[1], int(col) + reach + 2)
    rows, cols = np.ogrid[r0:r1, c0:c1]
    dy, dx = rows - row, cols - col
    theta = np.arctan2(dy, dx)
    r = np.ones_like(theta)
    for k, ph in zip((2, 3, 5), phases, strict=True):
        r = r + irregularity / k * 1.5 * np.cos(k * theta + ph)
    return (slice(r0, r1), slice(c0, c1)), np.hypot(dy, dx) <= radius * r


# ---------------------------------------------------------------------------
# Landscape
# ---------------------------------------------------------------------------


def _landscape(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """Elevation, rainfall climatology, soils, water, town and the 2000 land cover."""
    shape = (n, n)
    rows, cols = np.mgrid[:n, :n]
    yn, xn = rows / n, cols / n

    # Highlands in the north-west, plains falling to the south-east.
    elev_raw = 0.65 * (1 - 0.5 * (xn + yn)) + 0.35 * 0.25 * _smooth_field(rng, shape, n / 10)
    elevation = 700.0 + 1400.0 * _rescale01(elev_raw)  # m
    wet = _rescale01(elevation)
    annual_rain = 500.0 + 600.0 * wet  # mm/yr climatology, 500 SE to 1100 NW

    moisture = 0.6 * wet + 0.4 * _rescale01(_smooth_field(rng, shape, n / 14))
    crop_suit = _smooth_field(rng, shape, n / 20)
    het = _smooth_field(rng, shape, n / 25)  # NDVI heterogeneity
    soc_het = _smooth_field(rng, shape, n / 25)
    wet_het = _smooth_field(rng, shape, n / 40)
    soil_fields = np.stack([_smooth_field(rng, shape, n / 12) for _ in range(4)])
    soil = (np.argmax(soil_fields, axis=0) + 1).astype(np.int16)

    # River from the highlands to the south-east, dammed into a lake.
    phase = rng.uniform(0, 2 * np.pi)
    r_rows = np.arange(n)
    river_col = n * (0.30 + 0.35 * r_rows / n) + n * 0.04 * np.sin(
        2 * np.pi * 1.5 * r_rows / n + phase
    )
    half_width = max(0.5, n / 400)
    river = np.abs(cols - river_col[:, None]) <= half_width
    lake_row = 0.62 * n
    lake_col = float(np.interp(lake_row, r_rows, river_col))
    lake_shape = _blob(rng, shape, lake_row, lake_col, 0.045 * n, irregularity=0.3)
    yy = (rows - lake_row) / 0.75 + lake_row  # flatten to an ellipse
    lake = lake_shape & (np.hypot((yy - lake_row), (cols - lake_col)) <= 0.06 * n)
    water = river | lake

    dist_lake = ndimage.distance_transform_edt(~lake)
    dist_river = ndimage.distance_transform_edt(~river)
    wetland = ((dist_lake > 0) & (dist_lake <= 0.025 * n) & (wet_het > -0.5)) | (
        (dist_river > 0) & (dist_river <= 0.02 * n) & (wet_het > 1.0)
    )

    town_row = 0.30 * n
    town_col = float(np.interp(town_row, r_rows, river_col)) + 0.08 * n
    town_radius = 0.035 * n
    town = _blob(rng, shape, town_row, town_col, town_radius)
    villages = []
    for _ in range(3):
        vr, vc = rng.uniform(0.15 * n, 0.85 * n, size=2)
        villages.append((float(vr), float(vc)))
        town |= _blob(rng, shape, vr, vc, max(1.5, 0.008 * n))
    town &= ~water

    dist_town = ndimage.distance_transform_edt(~town)
    lc = np.full(shape, 2, np.int16)  # grassland dominant
    tree = moisture > np.quantile(moisture, 0.88)
    bare = moisture < np.quantile(moisture, 0.07)
    suit = crop_suit + 1.2 * np.exp(-dist_river / (0.08 * n)) + 1.0 * np.exp(-dist_town / (0.1 * n))
    rest = ~tree & ~bare
    crop = rest & (suit > np.quantile(suit[rest], 0.72))
    lc[crop] = 3
    lc[tree] = 1
    lc[bare] = 6
    lc[wetland] = 4
    lc[town] = 5
    lc[water] = LC_WATER

    zones = np.full(shape, 12, np.uint8)
    zones[annual_rain > 900] = 11
    zones[elevation > 1800] = 9

    return {
        "elevation": elevation,
        "annual_rain": annual_rain,
        "het": het,
        "soc_het": soc_het,
        "soil": soil,
        "lc": lc,
        "water": water,
        "town": town,
        "zones": zones,
        "town_center": (town_row, town_col),
        "town_radius": town_radius,
        "dist_water": ndimage.distance_transform_edt(~water),
        "villages": villages,
    }


# ---------------------------------------------------------------------------
# Patches
# ---------------------------------------------------------------------------


def _patch_plan(n: int, rng: np.random.Generator) -> list[tuple[str, str, float]]:
    """(type, kind, target area in pixels) in placement order, most constrained first."""
    plan: list[tuple[str, str]] = [
        (t, "land_cover") for t, s in TRANSITION_TYPES.items() for _ in range(s["count"])
    ]
    plan += [(t, "productivity") for t, s in PRODUCTIVITY_TYPES.items() for _ in range(s["count"])]
    mean_area = PATCH_AREA_FRACTION * n * n / len(plan)
    return [(t, k, mean_area * rng.uniform(0.75, 1.25)) for t, k in plan]


def _place_patches(rng: np.random.Generator, land: dict[str, Any], n: int):
    """Place non-overlapping patches and force the 2000 land cover inside them."""
    lc = land["lc"].copy()
    water, town = land["water"], land["town"]
    shape = (n, n)
    patch_id = np.zeros(shape, np.int16)
    buffer = np.zeros(shape, bool)
    blocked = ndimage.binary_dilation(water | town, iterations=1)
    patches: list[dict[str, Any]] = []
    near_town = np.abs(
        ndimage.distance_transform_edt(~town)
        - 0.5 * np.sqrt(PATCH_AREA_FRACTION * n * n / 28 / np.pi)
    ) <= max(2.0, 0.02 * n)
    near_water = (land["dist_water"] > 0.02 * n) & (land["dist_water"] <= 0.06 * n)

    for pid, (ptype, kind, area) in enumerate(_patch_plan(n, rng), start=1):
        spec = TRANSITION_TYPES.get(ptype) or PRODUCTIVITY_TYPES[ptype]
        wanted = spec["from"] if kind == "land_cover" else [1, 2, 3]
        if ptype == "urban_expansion":
            pool = near_town
        elif ptype == "wetland_drainage":
            pool = near_water | (lc == 4)
        else:
            pool = np.isin(lc, wanted)
        placed = None
        for attempt in range(1200):
            need = (0.9, 0.6, 0.3, 0.0)[min(attempt // 300, 3)]
            if kind == "land_cover":
                need = (0.6, 0.4, 0.2, 0.0)[min(attempt // 300, 3)]
            if ptype == "wetland_drainage":
                need = 0.0
            use_pool = pool if attempt < 900 else np.ones(shape, bool)
            a = area * (1.0 if attempt < 900 else 0.7)
            cand = np.flatnonzero(use_pool)
            if cand.size == 0:
                cand = np.arange(n * n)
            r0, c0 = divmod(int(cand[rng.integers(cand.size)]), n)
            is_blob = bool(rng.random() < 0.5)
            if is_blob:
                window, local = _blob_window(rng, shape, r0, c0, math.sqrt(a / math.pi))
            else:
                aspect = rng.uniform(0.6, 1.6)
                h = max(2, round(math.sqrt(a / aspect)))
                w = max(2, round(a / h))
                top, left = r0 - h // 2, c0 - w // 2
                window = (slice(max(top, 0), top + h), slice(max(left, 0), left + w))
                local = np.ones((h, w), bool)
            rr, cc = np.nonzero(local)
            if rr.size == 0:
                continue
            top, left = window[0].start, window[1].start
            if (
                top + rr.min() < 1
                or left + cc.min() < 1
                or top + rr.max() > n - 2
                or left + cc.max() > n - 2
            ):
                continue
            if (blocked[window] & local).any() or (buffer[window] & local).any():
                continue
            if np.isin(lc[window][local], wanted).mean() < need:
                continue
            placed = (window, local, "blob" if is_blob else "rectangle")
            break
        if placed is None:
            raise RuntimeError(f"sample: could not place patch {pid} ({ptype}); report this bug")
        window, local, shape_kind = placed
        mask = np.zeros(shape, bool)
        mask[window] = local
        # Keep a 2-pixel gap between patches so no edge pixel mixes two stories.
        grown = (
            slice(max(window[0].start - 2, 0), window[0].stop + 2),
            slice(max(window[1].start - 2, 0), window[1].stop + 2),
        )
        buffer[grown] |= ndimage.binary_dilation(mask[grown], iterations=2)
        # Force the 2000 class inside the patch so the planted story holds.
        if kind == "land_cover":
            lc[mask & ~np.isin(lc, spec["from"])] = spec["from"][0]
        else:
            lc[mask & ~np.isin(lc, [1, 2, 3])] = 2
        patch_id[mask] = pid
        patches.append({"id": pid, "type": ptype, "kind": kind, "shape": shape_kind})
    return lc, patch_id, patches


def _land_cover_series(lc2000: np.ndarray, patch_id: np.ndarray, patches: list[dict[str, Any]]):
    """Land cover maps for LC_YEARS and per-pixel (new class, change year) arrays."""
    maps = {}
    for year in LC_YEARS:
        m = lc2000.copy()
        for p in patches:
            if p["kind"] != "land_cover":
                continue
            spec = TRANSITION_TYPES[p["type"]]
            if year >= spec["change_year"]:
                m[patch_id == p["id"]] = spec["to"]
        maps[year] = m
    return maps


# ---------------------------------------------------------------------------
# Climate
# ---------------------------------------------------------------------------


def _month_index(ym: str) -> int:
    y, m = (int(v) for v in ym.split("-"))
    return (y - CLIMATE_YEARS[0]) * 12 + (m - 1)


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    n = a.shape[0]
    nc = -(-n // f)
    pad = nc * f - n
    if pad:
        a = np.pad(a, ((0, pad), (0, pad)), mode="edge")
    return a.reshape(nc, f, nc, f).mean(axis=(1, 3))


def _month_label(i: int) -> str:
    return f"{i // 12 + CLIMATE_YEARS[0]}-{i % 12 + 1:02d}"


def _expected_spi3_event(i0: int, i1: int) -> dict[str, Any]:
    """Months whose 3-month window has >= half its climatological rain in months i0..i1."""
    share = MONTHLY_RAIN_FRACTION
    hits = []
    for t in range(i0, i1 + 3):
        window = range(t - 2, t + 1)
        inside = sum(share[i % 12] for i in window if i0 <= i <= i1)
        if inside >= 0.5 * sum(share[i % 12] for i in window):
            hits.append(t)
    return {
        "onset": _month_label(hits[0]),
        "end": _month_label(hits[-1]),
        "duration_months": hits[-1] - hits[0] + 1,
    }


def _climate(rng: np.random.Generator, land: dict[str, Any]) -> dict[str, Any]:
    """Monthly pr, tas, tasmin, tasmax on the coarse grid, with planted droughts."""
    annual = _block_mean(land["annual_rain"], CLIMATE_FACTOR)
    elev = _block_mean(land["elevation"], CLIMATE_FACTOR)
    nc = annual.shape[0]
    n_years = CLIMATE_YEARS[1] - CLIMATE_YEARS[0] + 1
    nt = n_years * 12
    month = np.tile(np.arange(12), n_years)
    frac = MONTHLY_RAIN_FRACTION[month]
    mean = frac[:, None, None] * annual[None]  # expected monthly total, mm

    # Regional month factor (shared weather) x local gamma; dry months may be rain-free.
    regional = rng.gamma(6.0, 1 / 6.0, size=nt)
    shape_local = np.where(frac < DRY_SEASON_FRACTION, 0.8, 4.0)
    local = (
        rng.gamma(shape_local[:, None, None], 1.0, size=(nt, nc, nc)) / shape_local[:, None, None]
    )
    zero = (rng.random((nt, nc, nc)) < DRY_MONTH_ZERO_PROBABILITY) & (frac < DRY_SEASON_FRACTION)[
        :, None, None
    ]
    pr = mean * regional[:, None, None] * local
    pr[zero] = 0.0

    drought_month = np.zeros(nt, bool)
    episodes = []
    for ep in DROUGHT_EPISODES:
        i0, i1 = _month_index(ep["start"]), _month_index(ep["end"])
        sl = slice(i0, i1 + 1)
        expected = mean[sl].sum(axis=0).mean()
        # every month on its own, so the regional weather cannot hide the deficit of a
        # month (e.g. the first one) inside the episode
        for i in range(i0, i1 + 1):
            if frac[i] < DRY_SEASON_FRACTION:
                pr[i] = 0.0
            else:
                pr[i] *= (1 - ep["deficit"]) * mean[i].mean() / pr[i].mean()
        drought_month[sl] = True
        episodes.append(
            {
                **ep,
                "n_months": i1 - i0 + 1,
                "expected_total_mm": round(float(expected), 2),
                "planted_total_mm": round(float(pr[sl].sum(axis=0).mean()), 2),
                "rain_free_months": [
                    _month_label(i) for i in range(i0, i1 + 1) if frac[i] < DRY_SEASON_FRACTION
                ],
                "expected_spi3_event": _expected_spi3_event(i0, i1),
            }
        )

    years = CLIMATE_YEARS[0] + np.arange(nt) // 12
    base_t = 29.0 - 0.0065 * elev  # degC, lapse rate
    seasonal = 1.5 * np.cos(2 * np.pi * (month - 2) / 12)  # warmest in March
    anom = np.zeros(nt)
    eps = rng.normal(0, 0.35, nt)
    for i in range(1, nt):
        anom[i] = 0.5 * anom[i - 1] + eps[i]
    regional_t = seasonal + WARMING_TREND * (years - CLIMATE_YEARS[0]) + anom
    regional_t = regional_t + DROUGHT_WARMING * drought_month
    tas = base_t[None] + regional_t[:, None, None] + rng.normal(0, 0.2, (nt, nc, nc))
    dryness = 1 - MONTHLY_RAIN_FRACTION[month] / MONTHLY_RAIN_FRACTION.max()
    dtr = 8.0 + 4.0 * dryness + 1.5 * drought_month
    tasmax = tas + dtr[:, None, None] / 2
    tasmin = tas - dtr[:, None, None] / 2

    regional_annual = pr.mean(axis=(1, 2)).reshape(n_years, 12).sum(axis=1)
    anomaly = regional_annual / regional_annual.mean() - 1
    return {
        "pr": pr.astype(np.float32),
        "tas": tas.astype(np.float32),
        "tasmin": tasmin.astype(np.float32),
        "tasmax": tasmax.astype(np.float32),
        "episodes": episodes,
        "annual_anomaly": anomaly,
        "nc": nc,
        "regional_annual": regional_annual,
    }


# ---------------------------------------------------------------------------
# NDVI, SOC, population
# ---------------------------------------------------------------------------


def _base_ndvi(lc: np.ndarray, soil: np.ndarray, het: np.ndarray) -> np.ndarray:
    base = np.vectorize(NDVI_BASE.get, otypes=[float])(lc)
    soil_f = np.vectorize(NDVI_SOIL_FACTOR.get, otypes=[float])(soil)
    out = base * soil_f * (1 + NDVI_HETEROGENEITY * het)
    return np.where(lc == LC_WATER, NDVI_BASE[LC_WATER], out)


def _type_timeline(ptype: str, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(multiplier, weight of the new class) per year for a patch type."""
    mult = np.ones(years.size)
    w_new = np.zeros(years.size)
    t = (years - 2000) / 23.0
    if ptype == "gradual_decline":
        mult = 1 - 0.35 * t
    elif ptype == "abrupt_decline":
        mult = np.where(years >= 2012, 0.65, 1.0)
    elif ptype == "recovery":
        mult = 0.5 + 0.5 * t
    elif ptype == "drought_dip":
        mult = np.where(np.isin(years, [2009, 2017]), 0.70, 1.0)
    elif ptype == "low_performance":
        mult = np.full(years.size, 0.4)
    elif ptype == "afforestation":
        r0, r1 = TRANSITION_TYPES[ptype]["ramp"]
        w_new = np.clip((years - r0) / (r1 - r0), 0, 1)
    elif ptype in TRANSITION_TYPES:
        w_new = (years >= TRANSITION_TYPES[ptype]["change_year"]).astype(float)
    return mult, w_new


def _ndvi_cube(rng, land, lc2000, patch_id, patches, anomaly):
    years = np.array(NDVI_YEARS)
    n = lc2000.shape[0]
    base_old = _base_ndvi(lc2000, land["soil"], land["het"])
    cube = np.broadcast_to(base_old, (years.size, n, n)).copy()
    for p in patches:
        m = patch_id == p["id"]
        mult, w_new = _type_timeline(p["type"], years)
        old = base_old[m]
        if p["kind"] == "land_cover":
            new_lc = np.full(old.shape, TRANSITION_TYPES[p["type"]]["to"], np.int16)
            new = _base_ndvi(new_lc, land["soil"][m], land["het"][m])
        else:
            new = old
        cube[:, m] = mult[:, None] * ((1 - w_new)[:, None] * old[None] + w_new[:, None] * new[None])
    idx = np.array([y - CLIMATE_YEARS[0] for y in NDVI_YEARS])
    signal = 1 + NDVI_PRECIP_K * anomaly[idx]
    water = lc2000 == LC_WATER
    cube = np.where(water[None], cube, cube * signal[:, None, None])
    cube += rng.normal(0, NDVI_NOISE_SD, cube.shape)
    return np.clip(cube, *NDVI_RANGE).astype(np.float32)


def _soc(rng, land, lc2000):
    base = np.vectorize(lambda c: SOC_BASE.get(c, np.nan), otypes=[float])(lc2000)
    soil_f = np.vectorize(SOC_SOIL_FACTOR.get, otypes=[float])(land["soil"])
    soc = base * soil_f * (1 + 0.12 * land["soc_het"]) * (1 + rng.normal(0, 0.03, lc2000.shape))
    soc = np.maximum(soc, 2.0)
    soc[lc2000 == LC_WATER] = np.nan
    return soc.astype(np.float32)


def _population(rng, land, lc):
    n = lc.shape[0]
    rows, cols = np.mgrid[:n, :n]
    tr, tc = land["town_center"]
    d2 = (rows - tr) ** 2 + (cols - tc) ** 2
    urban = np.exp(-d2 / (2 * (0.9 * land["town_radius"]) ** 2))
    for vr, vc in land["villages"]:
        urban += 0.15 * np.exp(-((rows - vr) ** 2 + (cols - vc) ** 2) / (2 * (0.01 * n) ** 2))
    density = {1: 3.0, 2: 4.0, 3: 12.0, 4: 1.0, 5: 30.0, 6: 1.0, 7: 0.0}
    rural = np.vectorize(density.get, otypes=[float])(lc) * rng.lognormal(0, 0.4, lc.shape)
    # Totals follow the area (0.9 deg square -> ~300 000 people), whatever the size.
    scale = (n / 400) ** 2
    pop = 90_000 * scale * urban / urban.sum() + 210_000 * scale * rural / rural.sum()
    pop[lc == LC_WATER] = 0.0
    female_share = 0.51 - 0.02 * urban / urban.max() + 0.005 * land["het"]
    female = pop * female_share
    return pop.astype(np.float32), female.astype(np.float32), (pop - female).astype(np.float32)


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def _transform(n: int, factor: int = 1):
    from affine import Affine

    return Affine(RESOLUTION * factor, 0.0, WEST, 0.0, -RESOLUTION * factor, NORTH)


def _write_cog(
    path: Path, array: np.ndarray, *, nodata, tags: dict[str, str], description: str, transform
) -> None:
    import rasterio
    from rasterio.io import MemoryFile

    profile = {
        "driver": "GTiff",
        "height": array.shape[0],
        "width": array.shape[1],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            tmp.write(array, 1)
            tmp.update_tags(**tags)
            tmp.set_band_description(1, description)
        with mem.open() as src:
            with rasterio.open(
                path,
                "w",
                driver="COG",
                height=src.height,
                width=src.width,
                count=1,
                dtype=src.dtypes[0],
                crs=src.crs,
                transform=src.transform,
                nodata=nodata,
                compress="deflate",
                blocksize=256,
                overview_resampling="nearest"
                if np.issubdtype(array.dtype, np.integer)
                else "average",
            ) as dst:
                dst.write(src.read(1), 1)
                dst.update_tags(**tags)
                dst.set_band_description(1, description)


def _coords(n: int, factor: int = 1) -> tuple[np.ndarray, np.ndarray]:
    res = RESOLUTION * factor
    x = WEST + (np.arange(n) + 0.5) * res
    y = NORTH - (np.arange(n) + 0.5) * res
    return x, y


def _spatial_dataset(data_vars: dict, time_values, n: int, factor: int, history: str):
    import rioxarray  # noqa: F401
    import xarray as xr

    x, y = _coords(n, factor)
    ds = xr.Dataset(
        {k: (("time", "y", "x"), v[0], v[1]) for k, v in data_vars.items()},
        coords={"time": time_values, "y": y, "x": x},
    )
    ds["x"].attrs = {
        "units": "degrees_east",
        "standard_name": "longitude",
        "long_name": "longitude",
    }
    ds["y"].attrs = {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude"}
    ds["time"].attrs = {"standard_name": "time"}
    ds = ds.rio.write_crs(CRS).rio.write_transform(_transform(n, factor))
    ds.attrs = {
        "Conventions": "CF-1.8",
        "history": history,
        "source": "landwatch synthetic sample region (not real data)",
    }
    return ds


def _write_netcdf(ds, path: Path, time_units: str) -> None:
    enc: dict[str, dict[str, Any]] = {
        v: {
            "zlib": True,
            "complevel": 4,
            "dtype": "float32",
            "_FillValue": np.float32(np.nan),
            # an explicit encoding replaces the one rioxarray set: keep the CRS link
            "grid_mapping": "spatial_ref",
        }
        for v in ds.data_vars
        if v != "spatial_ref"
    }
    enc["time"] = {"units": time_units, "calendar": "standard", "dtype": "int32"}
    ds.to_netcdf(path, engine="netcdf4", encoding=enc)


def _write_admin(path: Path, n: int) -> list[dict[str, Any]]:
    import geopandas as gpd
    from shapely.geometry import box

    c1, r1, r2 = round(0.4 * n), round(0.55 * n), round(0.45 * n)
    ex = lambda c: WEST + c * RESOLUTION  # noqa: E731
    ny = lambda r: NORTH - r * RESOLUTION  # noqa: E731
    units = [
        ("KE-S01", "Kilima Highlands", (0, c1, 0, r1)),
        ("KE-S02", "Mto Valley", (0, c1, r1, n)),
        ("KE-S03", "Nyika North", (c1, n, 0, r2)),
        ("KE-S04", "Nyika South", (c1, n, r2, n)),
    ]
    rows = []
    for aid, name, (ca, cb, ra, rb) in units:
        rows.append(
            {
                "admin_id": aid,
                "name": name,
                "level": 1,
                "geometry": box(ex(ca), ny(rb), ex(cb), ny(ra)),
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    gdf.to_file(path, layer="admin1", driver="GPKG")
    return [
        {"admin_id": a, "name": nm, "pixel_window": {"col": [ca, cb], "row": [ra, rb]}}
        for a, nm, (ca, cb, ra, rb) in units
    ]


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# ---------------------------------------------------------------------------
# Truth
# ---------------------------------------------------------------------------


def _sdg(lc: int, lpd5: int, soc: int) -> int:
    lpd3 = -1 if lpd5 in (1, 2) else (1 if lpd5 == 5 else 0)
    subs = (lc, lpd3, soc)
    return -1 if -1 in subs else (1 if 1 in subs else 0)


def _expected(ptype: str) -> dict[str, Any]:
    table = EXPECTED[ptype]
    out: dict[str, Any] = {}
    for period in PERIODS:
        e = table[period]
        lpd3 = -1 if e["lpd5"] in (1, 2) else (1 if e["lpd5"] == 5 else 0)
        sdg = _sdg(e["lc"], e["lpd5"], e["soc"])
        out[period] = {
            "land_cover": e["lc"],
            "soc": e["soc"],
            "lpd5": e["lpd5"],
            "lpd5_acceptable": e["acceptable"],
            "lpd3": lpd3,
            "sdg": sdg,
            "expected_degraded": sdg == -1,
            "expected_improved": sdg == 1,
            "robust": e["robust"],
        }
    out["reason"] = table["reason"]
    return out


def _pixel_bbox(mask: np.ndarray) -> tuple[list[int], list[float]]:
    rr, cc = np.nonzero(mask)
    r0, r1, c0, c1 = int(rr.min()), int(rr.max()) + 1, int(cc.min()), int(cc.max()) + 1
    bbox = [
        WEST + c0 * RESOLUTION,
        NORTH - r1 * RESOLUTION,
        WEST + c1 * RESOLUTION,
        NORTH - r0 * RESOLUTION,
    ]
    return [r0, c0, r1, c1], [round(v, 6) for v in bbox]


def _class_counts(a: np.ndarray, codes) -> dict[str, int]:
    return {str(c): int((a == c).sum()) for c in codes}


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------


def create_sample_region(
    out_dir: str | Path,
    *,
    size: int = 400,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> SampleRegion:
    """Write the synthetic sample region with planted truth into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if missing; files of a previous run are replaced).
    size : int, default 400
        Pixels per side of the square NDVI / land cover grid (0.00225 degree pixels;
        400 gives a 0.9 degree square). The monthly climate grid has
        ``ceil(size / 10)`` cells per side.
    seed : int, default 0
        Seed of ``numpy.random.Generator(PCG64(seed))``; the same seed and size give
        identical arrays.
    progress : callable, optional
        Called as ``progress(step_name, fraction)`` with fraction in [0, 1].

    Returns
    -------
    SampleRegion
        Paths of the written files and the planted truth (``truth.json``).

    Raises
    ------
    InputError
        If ``size`` is below 60 pixels or ``seed`` is negative.

    Notes
    -----
    Annual NDVI follows ``ndvi_t = b_t * (1 + k * A_t) + e``, with ``b_t`` the base
    NDVI of the pixel's land cover, soil unit and a smooth heterogeneity field,
    modified in planted patches; ``A_t`` the region's annual precipitation anomaly
    (fraction of the 1981-2023 mean) from the generated monthly climate, ``k = 0.12``
    and ``e ~ N(0, 0.016)`` independent in time. See ``truth.json`` for every
    planted patch, drought episode and the outcome expected under UNCCD defaults.
    """
    t_start = time.perf_counter()
    if not isinstance(size, int | np.integer) or size < MIN_SIZE:
        raise InputError(
            f"size: expected an integer of at least {MIN_SIZE} pixels, got {size!r}. "
            f"Pass size={MIN_SIZE} or more (400 is the standard sample)."
        )
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed: expected a non-negative integer, got {seed!r}.")
    size, seed = int(size), int(seed)

    def report(step: str, fraction: float) -> None:
        if progress is not None:
            progress(step, fraction)

    from landwatch import __version__

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.Generator(np.random.PCG64(seed))
    n = size
    history = (
        f"landwatch {__version__}: landwatch.sample.create_sample_region(size={size}, seed={seed})"
    )

    report("landscape", 0.0)
    land = _landscape(rng, n)
    report("patches", 0.1)
    lc2000, patch_id, patches = _place_patches(rng, land, n)
    lc_maps = _land_cover_series(lc2000, patch_id, patches)
    report("climate", 0.25)
    clim = _climate(rng, land)
    report("ndvi", 0.4)
    ndvi = _ndvi_cube(rng, land, lc2000, patch_id, patches, clim["annual_anomaly"])
    soc = _soc(rng, land, lc2000)
    pop, female, male = _population(rng, land, lc_maps[2015])
    soil = land["soil"].copy()
    soil[lc2000 == LC_WATER] = NODATA

    report("write rasters", 0.55)
    files: dict[str, Path] = {}
    tr = _transform(n)
    lc_tags = {f"class_{k}": v for k, v in LC_CLASSES.items()}
    for year, m in lc_maps.items():
        p = out / f"land_cover_{year}.tif"
        _write_cog(
            p,
            m,
            nodata=NODATA,
            transform=tr,
            description=f"land cover {year}",
            tags={**lc_tags, "year": str(year), "legend": "UNCCD 7-class", "history": history},
        )
        files[f"land_cover_{year}"] = p
    files["soc"] = out / "soc_2000.tif"
    _write_cog(
        files["soc"],
        soc,
        nodata=float("nan"),
        transform=tr,
        description="soil organic carbon stock 0-30 cm",
        tags={"units": "t C/ha", "depth": "0-30 cm", "year": "2000", "history": history},
    )
    files["climate_zones"] = out / "climate_zones.tif"
    _write_cog(
        files["climate_zones"],
        land["zones"],
        nodata=0,
        transform=tr,
        description="IPCC climate zone",
        tags={
            **{f"class_{k}": v for k, v in CLIMATE_ZONES.items()},
            "legend": "IPCC climate zones as in Trends.Earth ipcc_climate_zones.tif "
            "(9 tropical montane, 11 tropical moist, 12 tropical dry)",
            "history": history,
        },
    )
    files["soil_units"] = out / "soil_units.tif"
    _write_cog(
        files["soil_units"],
        soil,
        nodata=NODATA,
        transform=tr,
        description="soil unit",
        tags={**{f"class_{k}": v for k, v in SOIL_UNITS.items()}, "history": history},
    )
    for key, arr, what in (
        ("population", pop, "total"),
        ("population_female", female, "female"),
        ("population_male", male, "male"),
    ):
        files[key] = out / f"{key}.tif"
        _write_cog(
            files[key],
            arr,
            nodata=float("nan"),
            transform=tr,
            description=f"population ({what})",
            tags={"units": "people per pixel", "year": "2020", "sex": what, "history": history},
        )
    files["truth_patches"] = out / "truth_patches.tif"
    _write_cog(
        files["truth_patches"],
        patch_id,
        nodata=NODATA,
        transform=tr,
        description="planted patch id (0 = none)",
        tags={**{f"patch_{p['id']}": p["type"] for p in patches}, "history": history},
    )

    report("write ndvi", 0.7)
    time_ndvi = np.array([f"{y}-01-01" for y in NDVI_YEARS], dtype="datetime64[ns]")
    ds = _spatial_dataset(
        {
            "ndvi": (
                ndvi,
                {
                    "units": "1",
                    "long_name": "annual mean NDVI",
                    "standard_name": "normalized_difference_vegetation_index",
                    "cell_methods": "time: mean",
                    "valid_min": NDVI_RANGE[0],
                    "valid_max": NDVI_RANGE[1],
                },
            )
        },
        time_ndvi,
        n,
        1,
        history,
    )
    files["ndvi"] = out / "ndvi_annual.nc"
    _write_netcdf(ds, files["ndvi"], "days since 2000-01-01")

    report("write climate", 0.8)
    n_years = CLIMATE_YEARS[1] - CLIMATE_YEARS[0] + 1
    time_m = np.array(
        [f"{CLIMATE_YEARS[0] + i // 12}-{i % 12 + 1:02d}-01" for i in range(n_years * 12)],
        dtype="datetime64[ns]",
    )
    nc = clim["nc"]
    ds = _spatial_dataset(
        {
            "pr": (
                clim["pr"],
                {
                    "units": "mm/month",
                    "long_name": "monthly precipitation total",
                    "cell_methods": "time: sum",
                },
            ),
            "tas": (
                clim["tas"],
                {
                    "units": "degC",
                    "long_name": "mean near-surface air temperature",
                    "standard_name": "air_temperature",
                    "cell_methods": "time: mean",
                },
            ),
            "tasmin": (
                clim["tasmin"],
                {
                    "units": "degC",
                    "long_name": "mean daily minimum temperature",
                    "standard_name": "air_temperature",
                    "cell_methods": "time: minimum within days time: mean over days",
                },
            ),
            "tasmax": (
                clim["tasmax"],
                {
                    "units": "degC",
                    "long_name": "mean daily maximum temperature",
                    "standard_name": "air_temperature",
                    "cell_methods": "time: maximum within days time: mean over days",
                },
            ),
        },
        time_m,
        nc,
        CLIMATE_FACTOR,
        history,
    )
    ds.attrs["comment"] = (
        f"grid {CLIMATE_FACTOR}x coarser than the NDVI grid, same top-left "
        "corner; covers the NDVI grid (may extend past its right/bottom edge)"
    )
    files["climate"] = out / "climate_monthly.nc"
    _write_netcdf(ds, files["climate"], "days since 1981-01-01")

    # Annual precipitation on the NDVI grid (each climate cell repeated over its
    # 10 x 10 pixels) for RESTREND / rain-use efficiency.
    pr_years = clim["pr"].reshape(n_years, 12, nc, nc).sum(axis=1)
    first = NDVI_YEARS[0] - CLIMATE_YEARS[0]
    pr_fine = np.repeat(np.repeat(pr_years[first:], CLIMATE_FACTOR, 1), CLIMATE_FACTOR, 2)[
        :, :n, :n
    ]
    ds = _spatial_dataset(
        {
            "pr": (
                pr_fine.astype(np.float32),
                {
                    "units": "mm/year",
                    "long_name": "annual precipitation total",
                    "cell_methods": "time: sum",
                    "comment": "climate_monthly.nc summed per calendar year, each climate cell "
                    "repeated over its 10 x 10 NDVI pixels",
                },
            )
        },
        time_ndvi,
        n,
        1,
        history,
    )
    files["precipitation_annual"] = out / "precipitation_annual.nc"
    _write_netcdf(ds, files["precipitation_annual"], "days since 2000-01-01")

    # Monthly NDVI on the climate grid, for the drought early warning's vegetation
    # anomaly (sample/vegetation.py); its own random stream, so that adding it left
    # every other output unchanged.
    first = (NDVI_YEARS[0] - CLIMATE_YEARS[0]) * 12
    expected_pr = (
        MONTHLY_RAIN_FRACTION[np.arange(n_years * 12) % 12][:, None, None]
        * _block_mean(land["annual_rain"], CLIMATE_FACTOR)[None]
    )
    ndvi_m = monthly_ndvi(
        np.random.default_rng([seed, 7]),
        clim["pr"].astype(np.float64),
        expected_pr,
        _block_mean(ndvi.mean(axis=0), CLIMATE_FACTOR),
        first,
        MONTHLY_RAIN_FRACTION,
    )
    ds = _spatial_dataset(
        {
            "ndvi": (
                ndvi_m,
                {
                    "units": "1",
                    "long_name": "monthly NDVI (synthetic, climate grid)",
                    "comment": VEGETATION_RULE,
                },
            )
        },
        time_m[first:],
        nc,
        CLIMATE_FACTOR,
        history,
    )
    files["ndvi_monthly"] = out / "ndvi_monthly.nc"
    _write_netcdf(ds, files["ndvi_monthly"], f"days since {NDVI_YEARS[0]}-01-01")

    report("write vectors", 0.9)
    files["admin"] = out / "admin.gpkg"
    if files["admin"].exists():
        files["admin"].unlink()
    admin_units = _write_admin(files["admin"], n)

    # --- truth --------------------------------------------------------------
    patch_records = []
    for p in patches:
        mask = patch_id == p["id"]
        spec = TRANSITION_TYPES.get(p["type"]) or PRODUCTIVITY_TYPES[p["type"]]
        pix_bbox, bbox = _pixel_bbox(mask)
        params = dict(spec.get("parameters", {}))
        if p["kind"] == "land_cover":
            params = {
                "from_classes": spec["from"],
                "to_class": spec["to"],
                "change_year": spec["change_year"],
            }
            if "ramp" in spec:
                params["ndvi_ramp_years"] = spec["ramp"]
        patch_records.append(
            {
                "id": p["id"],
                "type": p["type"],
                "kind": p["kind"],
                "shape": p["shape"],
                "pixel_count": int(mask.sum()),
                "bbox_pixels": pix_bbox,
                "bbox": bbox,
                "land_cover": {
                    str(y): _class_counts(lc_maps[y][mask], LC_CLASSES) for y in LC_YEARS
                },
                "parameters": params,
                "base_ndvi_mean": round(
                    float(_base_ndvi(lc2000, land["soil"], land["het"])[mask].mean()), 4
                ),
                "expected": _expected(p["type"]),
            }
        )
    stable = (patch_id == 0) & (lc2000 != LC_WATER)
    type_specs = {}
    for t, s in {**PRODUCTIVITY_TYPES, **TRANSITION_TYPES}.items():
        type_specs[t] = {
            "kind": "productivity" if t in PRODUCTIVITY_TYPES else "land_cover",
            "description": s["description"],
            "patch_ids": [p["id"] for p in patches if p["type"] == t],
            "pixel_count": int(
                np.isin(patch_id, [p["id"] for p in patches if p["type"] == t]).sum()
            ),
            "expected": _expected(t),
        }
    anomaly = clim["annual_anomaly"]
    truth: dict[str, Any] = {
        "schema": "landwatch.sample.truth/1",
        "generator": {
            "function": "landwatch.sample.create_sample_region",
            "landwatch_version": __version__,
            "seed": seed,
            "size": size,
            "rng": "numpy.random.Generator(PCG64(seed))",
        },
        "region": "synthetic semi-arid region, south-eastern Kenya (not real data)",
        "grid": {
            "crs": CRS,
            "width": n,
            "height": n,
            "resolution_deg": RESOLUTION,
            "transform": list(tr)[:6],
            "bounds": [WEST, NORTH - n * RESOLUTION, WEST + n * RESOLUTION, NORTH],
        },
        "climate_grid": {
            "crs": CRS,
            "width": nc,
            "height": nc,
            "factor": CLIMATE_FACTOR,
            "resolution_deg": RESOLUTION * CLIMATE_FACTOR,
            "transform": list(_transform(nc, CLIMATE_FACTOR))[:6],
        },
        "years": {
            "ndvi": [NDVI_YEARS[0], NDVI_YEARS[-1]],
            "land_cover": list(LC_YEARS),
            "climate": [f"{CLIMATE_YEARS[0]}-01", f"{CLIMATE_YEARS[1]}-12"],
        },
        "periods": PERIODS,
        "nodata": {"categorical_int16": NODATA, "float32": "NaN", "climate_zones_uint8": 0},
        "ndvi_model": {
            "formula": "ndvi_t = b_t * (1 + k * A_t) + N(0, noise_sd), clipped to valid_range; "
            "water pixels: base only (no rainfall response)",
            "base_by_class": {str(k): v for k, v in NDVI_BASE.items()},
            "soil_factor": {str(k): v for k, v in NDVI_SOIL_FACTOR.items()},
            "heterogeneity_sd": NDVI_HETEROGENEITY,
            "k_precip": NDVI_PRECIP_K,
            "noise_sd": NDVI_NOISE_SD,
            "valid_range": list(NDVI_RANGE),
            "regional_precip_anomaly": {
                str(y): round(float(anomaly[y - CLIMATE_YEARS[0]]), 4) for y in NDVI_YEARS
            },
        },
        "soc_model": {
            "units": "t C/ha, 0-30 cm, year 2000",
            "base_by_class": {str(k): v for k, v in SOC_BASE.items()},
            "soil_factor": {str(k): v for k, v in SOC_SOIL_FACTOR.items()},
            "water": "NaN (nodata)",
        },
        "expectation_rules": EXPECTATION_RULES,
        "patch_types": type_specs,
        "patches": patch_records,
        "drought_episodes": [
            {
                **e,
                "months": [
                    f"{(_month_index(e['start']) + i) // 12 + CLIMATE_YEARS[0]}-"
                    f"{(_month_index(e['start']) + i) % 12 + 1:02d}"
                    for i in range(e["n_months"])
                ],
            }
            for e in clim["episodes"]
        ],
        "drought_episode_definition": (
            "start/end: first and last planted month (inclusive), every episode starts "
            "with the short rains (October); deficit: in every episode month the "
            "region-mean precipitation is (1 - deficit) x its climatological mean (local "
            "noise kept), except the dry-season months (June-September, < 2 % of the "
            "annual rain each; listed in rain_free_months), which are rain-free"
        ),
        "drought_event_check": DROUGHT_EVENT_CHECK,
        "drought_ndvi_years": [2000, 2009, 2011, 2017],
        "vegetation_monthly": {
            "file": "ndvi_monthly.nc",
            "grid": "climate grid",
            "rule": VEGETATION_RULE,
        },
        "stable_mask": {
            "definition": "truth_patches == 0 and land_cover_2000 != 7 (water): no planted "
            "patch and no land cover change in any year; expected LPD 4, SDG 0 "
            "in every period (false alarms are counted here)",
            "pixel_count": int(stable.sum()),
        },
        "land_cover_counts": {str(y): _class_counts(m, LC_CLASSES) for y, m in lc_maps.items()},
        "admin_units": admin_units,
        "population_total": round(float(pop.astype(np.float64).sum()), 1),
        "checksums_sha256": {
            "ndvi": _sha256(ndvi),
            "pr": _sha256(clim["pr"]),
            "tas": _sha256(clim["tas"]),
            **{f"land_cover_{y}": _sha256(m) for y, m in lc_maps.items()},
            "soc": _sha256(soc),
            "truth_patches": _sha256(patch_id),
            "population": _sha256(pop),
        },
    }
    files["truth"] = out / "truth.json"
    files["run_config"] = out / "run.yaml"
    files["readme"] = out / "README.txt"
    truth["files"] = {k: v.name for k, v in files.items()}
    files["truth"].write_text(json.dumps(truth, indent=1))
    _write_run_config(files["run_config"])
    _write_readme(files["readme"], truth)
    truth["generation_seconds"] = round(time.perf_counter() - t_start, 2)
    report("done", 1.0)
    return SampleRegion(out_dir=out, files=files, truth=truth)


def _write_run_config(path: Path) -> None:
    import yaml

    cfg = {
        "ndvi": "ndvi_annual.nc",
        "ndvi_variable": "ndvi",
        "precipitation": "precipitation_annual.nc",
        "precipitation_variable": "pr",
        "land_cover": {y: f"land_cover_{y}.tif" for y in LC_YEARS},
        "soc": "soc_2000.tif",
        "climate_zones": "climate_zones.tif",
        "soil_units": "soil_units.tif",
        "population": "population.tif",
        "admin": "admin.gpkg",
        "admin_layer": "admin1",
        "admin_id_field": "admin_id",
        "admin_name_field": "name",
        "periods": PERIODS,
    }
    header = (
        "# SDG 15.3.1 run configuration for the landwatch sample region.\n"
        "# Paths are relative to this file. See README.txt and truth.json.\n"
    )
    path.write_text(header + yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None))


def _write_readme(path: Path, truth: dict[str, Any]) -> None:
    g = truth["grid"]
    lines = [
        "landwatch sample region (synthetic, not real data)",
        "=" * 50,
        "",
        f"Generated by {truth['generator']['function']}(size={g['width']}, "
        f"seed={truth['generator']['seed']}), landwatch {truth['generator']['landwatch_version']}.",
        "A semi-arid region in south-eastern Kenya with planted degradation, improvement, land",
        "cover change and drought episodes. truth.json says what was planted where and what",
        "an SDG 15.3.1 assessment with UNCCD defaults should find.",
        "",
        f"Grid: {g['crs']}, {g['width']} x {g['height']} pixels of {g['resolution_deg']} deg "
        f"(~250 m), bounds {g['bounds']}.",
        "",
        "Files",
        "-----",
        "ndvi_annual.nc          ndvi(time, y, x) float32, annual mean NDVI 2000-2023, units 1,",
        "                        _FillValue NaN, time = 1 January of each year, CRS in spatial_ref.",
        "land_cover_YYYY.tif     COG int16, UNCCD 7 classes (1 tree-covered, 2 grassland,",
        "                        3 cropland, 4 wetland, 5 artificial, 6 other land, 7 water),",
        "                        nodata -32768; years 2000, 2015, 2019, 2023.",
        "soc_2000.tif            COG float32, SOC stock 0-30 cm in t C/ha, nodata NaN (water).",
        "climate_zones.tif       COG uint8, IPCC climate zones (9 tropical montane, 11 tropical",
        "                        moist, 12 tropical dry), nodata 0.",
        "soil_units.tif          COG int16, soil units 1-4, nodata -32768 (water). Ecological",
        "                        units for the performance metric = soil unit x land cover.",
        "population.tif          COG float32, people per pixel (~2020), nodata NaN;",
        "population_female.tif,  population_male.tif: the same split by sex.",
        "admin.gpkg              layer admin1: 4 polygons tiling the grid exactly",
        "                        (admin_id, name, level), EPSG:4326.",
        "climate_monthly.nc      pr (mm/month), tas, tasmin, tasmax (degC), float32, monthly",
        "                        1981-01..2023-12 on a 10x coarser grid (0.0225 deg, ~2.5 km,",
        "                        CHIRPS-like) with the same top-left corner. Bimodal rains",
        "                        (MAM long rains, OND short rains), planted droughts below.",
        "precipitation_annual.nc pr(time, y, x) float32 mm/year 2000-2023 on the NDVI grid",
        "                        (calendar-year sums of climate_monthly.nc, cells repeated).",
        "truth_patches.tif       COG int16, planted patch id (0 = none); ids in truth.json.",
        "truth.json              planted truth and expected outcomes.",
        "run.yaml                ready configuration for the SDG 15.3.1 workflow.",
        "",
        "Planted drought episodes (region-mean deficit in every episode month)",
        "---------------------------------------------------------------------",
    ]
    for e in truth["drought_episodes"]:
        x = e["expected_spi3_event"]
        lines.append(
            f"{e['id']}: {e['start']} .. {e['end']}  deficit {int(e['deficit'] * 100)} % "
            f"({e['severity']}); expected SPI-3 event {x['onset']} .. {x['end']}"
        )
    lines += ["", "Planted patches", "---------------"]
    for t, s in truth["patch_types"].items():
        lines.append(f"{t:22s} ids {s['patch_ids']}: {s['description']}")
    lines += ["", "Stable ground: " + truth["stable_mask"]["definition"], ""]
    path.write_text("\n".join(lines))
