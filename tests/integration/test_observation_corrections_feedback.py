"""Acceptance of issue 5 part 5: an observation that contradicts a map class is flagged,
and a confirmed correction changes the SDG 15.3.1 result in its area on the next run.

On the sample region's default assessment, one field report says "degraded" where the
report_2 indicator is stable (a possible false negative) and one says "stable" inside a
planted degraded patch (a possible false positive). Both are confirmed, written as
correction polygons and fed to a second run through ``corrections:``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Geod
from scipy import ndimage

from landwatch.io.observations import sample_raster_at_points
from landwatch.sample import SampleRegion
from landwatch.workflows import observations as wf
from landwatch.workflows.config import load_config
from landwatch.workflows.sdg1531 import RunResult, run_sdg1531


def _centre_of(mask: np.ndarray, transform: rasterio.Affine) -> tuple[float, float]:
    """lon/lat of the pixel deepest inside ``mask`` (farthest from any other class)."""
    depth = ndimage.distance_transform_cdt(np.pad(mask, 1), metric="chessboard")[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(depth)), mask.shape)
    assert depth[row, col] >= 4, "need a patch at least 7 x 7 px for a 500 m circle"
    lon, lat = transform * (col + 0.5, row + 0.5)
    return float(lon), float(lat)


def _sdg_at(run_dir: Path, period: str, lon: float, lat: float, layer: str = "sdg") -> int:
    values = sample_raster_at_points(run_dir / "maps" / period / f"{layer}.tif", [lon], [lat])
    return int(values.values[0])


def test_confirmed_observations__change_the_sdg_on_the_next_run(
    sample_region: SampleRegion, sample_run: RunResult, tmp_path: Path
) -> None:
    run1 = sample_run.out_dir
    with rasterio.open(run1 / "maps" / "report_2" / "sdg.tif") as src:
        sdg = src.read(1)
        transform = src.transform
    fn_lon, fn_lat = _centre_of(sdg == 0, transform)
    fp_lon, fp_lat = _centre_of(sdg == -1, transform)
    env = {"url": f"sqlite:///{tmp_path / 'obs.db'}", "data_dir": tmp_path / "data"}
    common = {"observed_on": "2023-08-14", "language": "sw"}
    fn = wf.add_observation(
        {
            **common,
            "lon": fn_lon,
            "lat": fn_lat,
            "observer_role": "pastoralist",
            "category": "land_degradation_sign",
            "description": "Gullies and bare crusted soil where cattle used to graze",
        },
        **env,
    ).uuid
    fp = wf.add_observation(
        {
            **common,
            "lon": fp_lon,
            "lat": fp_lat,
            "observer_role": "extension_officer",
            "category": "vegetation_state",
            "land_state": "stable",
            "description": "Good grass cover; the map's decline is a planting-date shift",
        },
        **env,
    ).uuid

    # 1. the contradictions are flagged
    check = wf.check_observations(run1, url=env["url"])
    flags = {r["uuid"]: (r["flag"], r["map_layer"], r["map_value"]) for r in check.results}
    assert flags[fn] == ("possible_false_negative", "report_2/sdg", 0)
    assert flags[fp] == ("possible_false_positive", "report_2/sdg", -1)
    admin_ids = {o.uuid: o.admin_id for o in wf.list_observations(url=env["url"])}
    assert admin_ids[fn] and admin_ids[fp]  # placed in the sample's admin units

    # 2. only confirmed observations become corrections
    with pytest.raises(Exception, match="no confirmed observation contradicts the map"):
        wf.write_corrections(tmp_path / "corrections.geojson", url=env["url"])
    for uid in (fn, fp):
        wf.set_validation(uid, "confirmed", by="county LDN officer", url=env["url"])
    written = wf.write_corrections(tmp_path / "corrections.geojson", url=env["url"], radius_m=500)
    assert written.used == [fn, fp] and written.periods == ["report_2"]

    # 3. the next run reads them and the indicator changes there
    cfg = load_config(sample_region.out_dir / "run.yaml", corrections=str(written.path))
    run2 = run_sdg1531(cfg, tmp_path / "sdg1531_corrected").out_dir
    assert _sdg_at(run2, "report_2", fn_lon, fn_lat) == -1
    assert _sdg_at(run2, "report_2", fp_lon, fp_lat) == 0
    # recorded in the outputs: the map before corrections and the corrections table
    assert _sdg_at(run2, "report_2", fn_lon, fn_lat, "sdg_uncorrected") == 0
    assert _sdg_at(run2, "report_2", fp_lon, fp_lat, "sdg_uncorrected") == -1
    table = pd.read_csv(run2 / "tables" / "corrections.csv")
    assert len(table) == 2
    assert table["basis_for_judgement"].str.contains(fn).any()
    assert table["basis_for_judgement"].str.contains(fp).any()
    assert set(table["periods_affected"]) == {"report_2"}
    # other periods are untouched
    for lon, lat in ((fn_lon, fn_lat), (fp_lon, fp_lat)):
        assert _sdg_at(run2, "baseline", lon, lat) == _sdg_at(run1, "baseline", lon, lat)

    # only the pixels of the two circles changed, each the way its observation says
    with rasterio.open(run2 / "maps" / "report_2" / "sdg.tif") as src:
        sdg2 = src.read(1)
    rows, cols = np.nonzero(sdg2 != sdg)
    lons, lats = transform * (cols + 0.5, rows + 0.5)
    geod = Geod(ellps="WGS84")
    n = len(rows)
    d_fn = geod.inv(np.full(n, fn_lon), np.full(n, fn_lat), lons, lats)[2]
    d_fp = geod.inv(np.full(n, fp_lon), np.full(n, fp_lat), lons, lats)[2]
    half_diagonal = 0.5 * np.hypot(*(abs(transform.a), abs(transform.e))) * 111_320
    assert np.all(np.minimum(d_fn, d_fp) <= 500 + half_diagonal)
    near_fn, near_fp = d_fn < d_fp, d_fp < d_fn
    pixel_km2 = (abs(transform.a) * 111.32) ** 2
    circle_px = np.pi * 0.5**2 / pixel_km2  # ~12.6 px of ~250 m
    assert near_fn.sum() >= 0.7 * circle_px and near_fp.sum() >= 0.7 * circle_px
    assert np.all(sdg2[rows[near_fn], cols[near_fn]] == -1)
    assert np.all(sdg2[rows[near_fp], cols[near_fp]] == 0)
    summary = pd.read_csv(run2 / "tables" / "sdg_summary.csv").set_index(["period", "admin_id"])
    before = pd.read_csv(run1 / "tables" / "sdg_summary.csv").set_index(["period", "admin_id"])
    change = (
        summary.loc[("report_2", "ALL"), "degraded_km2"]
        - before.loc[("report_2", "ALL"), "degraded_km2"]
    )
    assert change == pytest.approx((near_fn.sum() - near_fp.sum()) * pixel_km2, rel=0.05, abs=0.05)

    # 4. checking the corrected run still recognises the corrections (uncorrected map)
    again = wf.check_observations(run2, url=env["url"])
    flags2 = {r["uuid"]: (r["flag"], r["map_layer"]) for r in again.results}
    assert flags2[fn] == ("possible_false_negative", "report_2/sdg_uncorrected")
    assert flags2[fp] == ("possible_false_positive", "report_2/sdg_uncorrected")
