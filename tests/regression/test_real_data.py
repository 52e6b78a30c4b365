"""Regression on real data from ../shared/data (see docs/real_data/README.md).

* ``npphen_modis_ndvi``: MODIS NDVI 2000-02-18 .. 2021-06-26 (929 dates, 8 x 8 px,
  250 m) from the npphen R package: central Chile mega-drought tile and Atacama
  blooming-desert tile.
* ``motif_landcover``: New Guinea land cover 2001 and 2015 (300 m, 7360 x 3812 px,
  equal-area CRS) from the motif R package; its README states 223 047 of 9 358 246
  land pixels changed class.

The numbers pinned here are what examples/real_data.py found (2025-11, landwatch
0.1.0); they are facts of the data, so a change means a bug in a kernel or reader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import rioxarray
import xarray as xr

from landwatch.indices.land import trend
from landwatch.indices.land.area import area_by_class, crosstab_area, pixel_area_km2
from landwatch.indices.land.codes import NODATA
from landwatch.indices.land.composite import annual_composite
from landwatch.indices.land.land_cover import (
    land_cover_degradation,
    land_cover_transition,
    load_nesting,
    load_transition_matrix,
    reclassify_land_cover,
)
from landwatch.indices.land.productivity import (
    land_productivity_dynamics,
    productivity_performance,
    productivity_state,
    productivity_trajectory,
)
from landwatch.indices.land.timeaxis import select_years

pytestmark = pytest.mark.shared_data

REPO = Path(__file__).resolve().parents[2]
NESTING = REPO / "examples" / "motif_nesting.csv"

# ----------------------------------------------------------------------------- MODIS


def _modis(shared_dir: Path, fname: str) -> xr.DataArray:
    d = shared_dir / "data" / "npphen_modis_ndvi"
    dates = pd.to_datetime(pd.read_csv(d / "modis_dates.csv")["date"]).values
    da = rioxarray.open_rasterio(d / fname, masked=True)
    da = (da.astype(np.float32) / np.float32(10000)).rename(band="time")
    return da.assign_coords(time=dates).rename("ndvi")


@pytest.fixture(scope="module")
def megadrought(shared_dir: Path) -> xr.DataArray:
    return annual_composite(_modis(shared_dir, "npphen_megadrought_central_chile_ndvi.tif"))


@pytest.fixture(scope="module")
def atacama(shared_dir: Path) -> xr.DataArray:
    return annual_composite(_modis(shared_dir, "npphen_bloomingdesert_atacama_ndvi.tif"))


def _indicators(annual: xr.DataArray, start: int, end: int) -> dict[str, xr.Dataset]:
    nd = select_years(annual, start, end)
    traj = productivity_trajectory(nd)
    state = productivity_state(nd)
    units = xr.zeros_like(nd.isel(time=0, drop=True), dtype=np.int32)  # the tile = one unit
    perf = productivity_performance(nd, units=units)
    return {
        "traj": traj,
        "state": state,
        "perf": perf,
        "lpd": land_productivity_dynamics(traj, state, perf),
    }


def _count(da: xr.DataArray, code: int) -> int:
    return int((da.values == code).sum())


def test_annual_composite__modis_partial_years_drop_out(shared_dir, megadrought, atacama):
    # 2000 starts 18 Feb (20 dates) and 2021 ends 26 Jun (23 dates): both pass min_obs=12
    # by count, but miss months, so they are dropped; 2001 (Terra only, 23 dates) is kept.
    for annual in (megadrought, atacama):
        assert annual["time"].values.tolist() == list(range(2001, 2021))
        # every pixel has >= 12 valid composites in every full year (Atacama min 12 in 2020)
        assert not np.isnan(annual.values).any()
        assert annual.rio.crs.to_epsg() == 32719


def test_annual_composite__megadrought_browning(megadrought):
    tm = megadrought.mean(("y", "x"))
    early = float(tm.sel(time=slice(2001, 2009)).mean())  # 0.4851
    drought = float(tm.sel(time=slice(2010, 2015)).mean())  # 0.4584
    late = float(tm.sel(time=slice(2019, 2020)).mean())  # 0.3939
    assert drought < early - 0.02
    assert late < drought - 0.05
    assert float(tm.sel(time=2019)) == pytest.approx(0.3833, abs=5e-4)  # lowest year
    assert int(tm.idxmin()) == 2019
    assert float(tm.sel(time=2016)) == pytest.approx(0.5319, abs=5e-4)  # 2016 rebound, highest
    assert int(tm.idxmax()) == 2016


def test_productivity_trajectory__megadrought_2006_2020_degrading(megadrought):
    ind = _indicators(megadrought, 2006, 2020)
    traj = ind["traj"]
    # 58 of 64 pixels have a negative Sen slope; 38 significantly degrading (p <= 0.05),
    # 5 improving (the NW corner, green again after 2016)
    assert int((traj.sens_slope.values < 0).sum()) == 58
    assert _count(traj.trajectory, -1) == 38
    assert _count(traj.trajectory, 1) == 5
    assert float(np.median(traj.sens_slope.values)) == pytest.approx(-0.00552, abs=2e-5)
    # state: recent 2018-2020 against baseline 2006-2017 -> 57 degrading (percentile)
    assert _count(ind["state"].state, -1) == 57
    lpd = ind["lpd"].lpd5
    assert _count(lpd, 1) + _count(lpd, 2) == 57  # 38 declining + 19 moderate decline
    assert _count(lpd, NODATA) == 0


def test_productivity_trajectory__megadrought_tile_mean(megadrought):
    tm = megadrought.mean(("y", "x")).values.astype(np.float64)
    yrs = megadrought["time"].values.astype(np.float64)
    sel = (yrs >= 2001) & (yrs <= 2015)
    mk = trend.mann_kendall(tm[sel])
    sen, _ = trend.sens_slope(tm[sel], yrs[sel])
    # 2001-2015: S = -45, tau = -0.429, p = 0.0275 (exact), Sen -0.00276 NDVI/yr
    assert float(mk.s) == -45
    assert float(mk.p) == pytest.approx(0.02750, abs=1e-4)
    assert float(sen) == pytest.approx(-0.002761, abs=2e-6)
    # 2006-2020: same direction but not significant (S = -29, p = 0.169): the wet
    # 2016-2017 years break monotonicity of the tile mean
    sel = yrs >= 2006
    mk = trend.mann_kendall(tm[sel])
    assert float(mk.s) == -29
    assert 0.15 < float(mk.p) < 0.19


def test_productivity_performance__single_unit_tile_never_degraded(megadrought, atacama):
    # Known limitation: with the 8 x 8 tile as its own ecological unit, the unit's 90th
    # percentile is set by the same pixels; min ratio 0.646 (mega-drought), 0.618
    # (Atacama) stays above 0.5, so performance flags nothing.
    for annual in (megadrought, atacama):
        perf = _indicators(annual, 2006, 2020)["perf"]
        assert _count(perf.performance, -1) == 0
        assert float(perf.ratio.min()) > 0.6


def test_land_productivity_dynamics__atacama_contrast(atacama):
    # The blooming desert (NDVI ~0.1, blooms 2002, 2011, 2017) shows no decline in either
    # window; 2006-2020: 10 pixels significantly increasing, 54 stable
    for start, end in ((2001, 2015), (2006, 2020)):
        ind = _indicators(atacama, start, end)
        assert _count(ind["traj"].trajectory, -1) == 0
        assert _count(ind["lpd"].lpd5, 1) + _count(ind["lpd"].lpd5, 2) == 0
    assert _count(ind["lpd"].lpd5, 5) == 10


def test_annual_composite__modis_dask_equals_numpy(shared_dir, megadrought):
    raw = _modis(shared_dir, "npphen_megadrought_central_chile_ndvi.tif")
    lazy = annual_composite(raw.chunk({"time": 100, "y": 4, "x": 8}))
    xr.testing.assert_identical(lazy.compute(), megadrought)


# ----------------------------------------------------------------------------- motif


@pytest.fixture(scope="module")
def motif(shared_dir: Path) -> dict[int, xr.DataArray]:
    d = shared_dir / "data" / "motif_landcover"
    out = {}
    for year in (2001, 2015):
        da = rioxarray.open_rasterio(d / f"landcover{year}.tif").squeeze("band", drop=True)
        out[year] = da.rename(f"lc{year}").load()
    return out


@pytest.fixture(scope="module")
def motif_unccd(motif) -> dict[int, xr.DataArray]:
    nesting = load_nesting(NESTING)
    return {y: reclassify_land_cover(da, nesting, nodata=255) for y, da in motif.items()}


def test_land_cover_transition__motif_changed_pixels_match_readme(motif, motif_unccd):
    a, b = motif[2001], motif[2015]
    assert a.rio.nodata == 255 and a.shape == (3812, 7360)
    # land = not nodata: 9 358 246 px in both years, water (203 927 px in 2001) included
    valid = (a.values != 255) & (b.values != 255)
    assert int(valid.sum()) == 9_358_246
    # in the source legend (1..9) the transition code sees exactly the README's changes
    trans = land_cover_transition(a.where(a != 255), b.where(b != 255)).values
    ok = trans != NODATA
    assert int(ok.sum()) == 9_358_246
    assert int((ok & (trans // 10 != trans % 10)).sum()) == 223_047
    # after nesting, 36 shrubland -> grassland pixels become grassland -> grassland
    t2 = land_cover_transition(motif_unccd[2001], motif_unccd[2015]).values
    assert int(((t2 != NODATA) & (t2 // 10 != t2 % 10)).sum()) == 223_047 - 36


def test_crosstab_area__motif_sums_to_land_area(motif, motif_unccd):
    ref = motif[2001]
    crs = pyproj.CRS(ref.rio.crs)
    # the CRS is equal-area (Lambert cylindrical equal area), so 300 m x 300 m is exact
    assert "equal area" in crs.coordinate_operation.method_name.lower()
    lon, lat = np.meshgrid([131.0, 140.8, 150.9], [-10.7, -5.0, -0.4])
    scale = np.asarray(pyproj.Proj(crs).get_factors(lon.ravel(), lat.ravel()).areal_scale)
    np.testing.assert_allclose(scale, 1.0, atol=1e-9)
    area = pixel_area_km2(ref.y, *ref.rio.resolution(), crs)
    assert "equal-area" in area.attrs["area_method"]
    assert float(area[0]) == pytest.approx(0.09, rel=1e-12)
    excluded = (motif[2001] == 255) | (motif[2015] == 255)
    m = crosstab_area(motif_unccd[2001], motif_unccd[2015], area, mask=excluded)
    land_km2 = 9_358_246 * 0.09  # 842 242.14 km2
    assert NODATA not in m.index and NODATA not in m.columns
    assert float(m.values.sum()) == pytest.approx(land_km2, rel=1e-9)
    # UNCCD class 4 (wetland) does not occur: the source has no wetland class
    assert 4 not in m.index and 4 not in m.columns
    off = m.where(~np.eye(len(m), dtype=bool), 0.0).stack().sort_values(ascending=False)
    # the two largest transitions: cropland -> tree-covered 11 335.86 km2 (125 954 px),
    # tree-covered -> cropland 6 702.12 km2 (74 468 px); together 89.9 % of changed area
    assert off.index[0] == (3, 1) and off.iloc[0] == pytest.approx(125_954 * 0.09, rel=1e-9)
    assert off.index[1] == (1, 3) and off.iloc[1] == pytest.approx(74_468 * 0.09, rel=1e-9)
    assert (off.iloc[0] + off.iloc[1]) / off.sum() == pytest.approx(0.899, abs=1e-3)
    meaning = load_transition_matrix().as_dict()
    assert meaning[(1, 3)] == -1  # deforestation for agriculture is degradation
    assert meaning[(3, 1)] == 1


def test_land_cover_degradation__motif_areas(motif, motif_unccd):
    deg = land_cover_degradation(motif_unccd[2001], motif_unccd[2015])
    excluded = (motif[2001] == 255) | (motif[2015] == 255)
    counts = {k: int((deg.values == k).sum()) for k in (-1, 0, 1, NODATA)}
    # 81 136 px (7 302.24 km2, 0.87 %) degraded, 132 040 px (11 883.60 km2, 1.41 %)
    # improved: the source has more cropland -> forest than forest -> cropland
    assert counts == {-1: 81_136, 0: 9_145_070, 1: 132_040, NODATA: 18_698_074}
    km2 = area_by_class(deg, 0.09, mask=excluded)
    assert km2[-1] == pytest.approx(81_136 * 0.09, rel=1e-9)
    assert km2[1] == pytest.approx(132_040 * 0.09, rel=1e-9)
    assert km2[NODATA] == 0.0
    # forest -> cropland pixels are all degraded
    a, b = motif_unccd[2001].values, motif_unccd[2015].values
    assert (deg.values[(a == 1) & (b == 3)] == -1).all()
