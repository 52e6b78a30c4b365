"""The layers API over the sample region's SDG 15.3.1 run and an LDN run made from it:
tiles have the colour of each pixel's class, zonal areas match an independent numpy
computation on the ellipsoid, classes share the polygon's land area, population is a
direct sum of the sample's population raster."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
import shapely
from fastapi.testclient import TestClient
from PIL import Image
from pyproj import Geod
from shapely.geometry import Polygon, mapping

from landwatch.api import Settings, create_app
from landwatch.api.catalog import load_map_colours
from landwatch.indices.land.area import pixel_area_km2
from landwatch.sample import SampleRegion
from landwatch.workflows.ldn import run_ldn

WATER = 7


@pytest.fixture(scope="module")
def ldn_dir(sample_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_ldn(sample_run_dir, tmp_path_factory.mktemp("api_ldn") / "ldn").out_dir


@pytest.fixture(scope="module")
def sample_client(
    sample_run_dir: Path, ldn_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    d = tmp_path_factory.mktemp("api_sample")
    s = Settings(data_dir=d / "data", database_url=f"sqlite:///{d}/api.sqlite",
                 runs=[sample_run_dir, ldn_dir])  # fmt: skip
    with TestClient(create_app(s)) as c:
        yield c


def _read(path: Path) -> tuple[np.ndarray, rasterio.Affine, float | None]:
    with rasterio.open(path) as src:
        return src.read(1), src.transform, src.nodata


def _rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255)


def _tile_lonlat(z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """Longitude of each tile column and latitude of each tile row (pixel centres)."""
    b = morecantile.tms.get("WebMercatorQuad").xy_bounds(morecantile.Tile(x, y, z))
    i = (np.arange(256) + 0.5) / 256
    lon = np.degrees((b.left + i * (b.right - b.left)) / 6378137.0)
    my = b.top - i * (b.top - b.bottom)
    lat = np.degrees(2 * np.arctan(np.exp(my / 6378137.0)) - np.pi / 2)
    return lon, lat


@pytest.mark.parametrize(
    ("run", "rel", "table"),
    [("sdg", "maps/report_1/sdg", "class3"), ("sdg", "maps/report_2/lpd5", "lpd5"),
     ("ldn", "maps/report_1/response", "response")],
)  # fmt: skip
def test_api_tile__sample_pixels_have_their_class_colour(
    sample_client: TestClient, sample_run_dir: Path, ldn_dir: Path, run: str, rel: str, table: str
) -> None:
    folder = sample_run_dir if run == "sdg" else ldn_dir
    data, t, nodata = _read(folder / f"{rel}.tif")
    colours = load_map_colours().tables[table].classes
    lon0, lat0 = t * (data.shape[1] / 2, data.shape[0] / 2)
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon0, lat0, 11)
    url = f"/layers/{folder.name}/{rel}/tiles/{tile.z}/{tile.x}/{tile.y}.png"
    r = sample_client.get(url)
    assert r.status_code == 200
    got = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGBA"))
    lon, lat = _tile_lonlat(tile.z, tile.x, tile.y)
    col = np.floor((lon - t.c) / t.a).astype(int)
    row = np.floor((lat - t.f) / t.e).astype(int)
    # a tile pixel is checked when its raster pixel and the 8 around it share one class
    pad = np.pad(data, 1, mode="edge")
    same = np.ones_like(data, dtype=bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            same &= pad[1 + dr : 1 + dr + data.shape[0], 1 + dc : 1 + dc + data.shape[1]] == data
    inside_c = (col >= 0) & (col < data.shape[1])
    inside_r = (row >= 0) & (row < data.shape[0])
    checked = 0
    for i in np.flatnonzero(inside_r):
        for j in np.flatnonzero(inside_c):
            v = data[row[i], col[j]]
            if not same[row[i], col[j]]:
                continue
            want = (0, 0, 0, 0) if v == nodata else _rgba(colours[int(v)][0])
            assert tuple(got[i, j]) == want, (i, j, int(v))
            checked += 1
    assert checked > 20_000


def _pixel_grid(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel-centre longitudes and latitudes, and ellipsoidal pixel areas (km2)."""
    with rasterio.open(path) as src:
        t, h, w, crs = src.transform, src.height, src.width, src.crs
    xs = t.c + (np.arange(w) + 0.5) * t.a
    ys = t.f + (np.arange(h) + 0.5) * t.e
    area = pixel_area_km2(ys, t.a, t.e, crs).values[:, None] * np.ones((1, w))
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, area


def test_api_zonal__sample_areas_population_and_land(
    sample_client: TestClient, sample_region: SampleRegion, sample_run_dir: Path
) -> None:
    region = sample_region.out_dir
    layer_path = sample_run_dir / "maps/report_1/sdg.tif"
    sdg, t, nodata = _read(layer_path)
    (w, n), (e, s) = t * (0, 0), t * (sdg.shape[1], sdg.shape[0])
    # an irregular pentagon over the middle of the sample (it crosses its lake); corners
    # off the grid so that no pixel centre lies exactly on an edge
    corners = [(0.2113, 0.1807), (0.7731, 0.2629), (0.8297, 0.7113), (0.4619, 0.8827),
               (0.1741, 0.6293)]  # fmt: skip
    poly = Polygon([(w + fx * (e - w), n - fy * (n - s)) for fx, fy in corners])
    r = sample_client.post("/zonal", json={"layer": f"{sample_run_dir.name}/maps/report_1/sdg",
                                           "geometry": mapping(poly)})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()

    gx, gy, area = _pixel_grid(layer_path)
    inside = shapely.contains_xy(poly, gx, gy)
    lc, _, _ = _read(region / "land_cover_2019.tif")
    land = inside & (lc != WATER)
    assert (inside & (lc == WATER)).any()  # the polygon holds water, left out of the classes
    # area of land = the classes' total, independently computed
    assert body["area_km2"] == pytest.approx(area[land].sum(), rel=0.005)
    assert sum(c["area_km2"] for c in body["classes"]) == pytest.approx(body["area_km2"], rel=1e-9)
    for c in body["classes"]:
        assert c["area_km2"] == pytest.approx(area[land & (sdg == c["value"])].sum(), rel=0.005)
    assert [c["label"] for c in body["classes"]] == ["Degraded", "Stable", "Improved"]
    # land + water of the polygon = its geodesic area (ellipsoid, not pixel counts)
    geodesic = abs(Geod(ellps="WGS84").geometry_area_perimeter(poly)[0]) / 1e6
    water = area[inside & (lc == WATER)].sum()
    assert body["area_km2"] + water == pytest.approx(geodesic, rel=0.005)
    # population: a direct sum over the pixels whose centre is inside
    pop, _, _ = _read(region / "population.tif")
    pop = np.nan_to_num(pop.astype("float64"))
    assert body["population"] == pytest.approx(pop[inside].sum(), rel=1e-6)
    for c in body["classes"]:
        assert c["population"] == pytest.approx(pop[land & (sdg == c["value"])].sum(), rel=1e-6)


def test_api_sample__ldn_layers_values_and_population(
    sample_client: TestClient, sample_region: SampleRegion, ldn_dir: Path
) -> None:
    groups = {lyr["group"] for lyr in sample_client.get(f"/layers?run={ldn_dir.name}").json()}
    assert {"Response", "Gains/losses", "Hotspots", "Land types"} <= groups
    hot, t, _ = _read(ldn_dir / "maps/report_1/hotspots.tif")
    rows, cols = np.nonzero(hot == 1)
    lon, lat = t * (cols[len(cols) // 2] + 0.5, rows[len(rows) // 2] + 0.5)
    v = sample_client.get(f"/layers/{ldn_dir.name}/maps/report_1/hotspots/value",
                          params={"lon": lon, "lat": lat}).json()  # fmt: skip
    assert v["value"] == 1 and v["label"] == "Hotspot 1"
    # an LDN run has no population input: it is read from its SDG run
    path = ldn_dir / "maps/report_1/gains_losses.tif"
    gl, t, _ = _read(path)
    (w, n), (e, s) = t * (0, 0), t * (gl.shape[1], gl.shape[0])
    box = shapely.box(w + 0.1 * (e - w), s + 0.1 * (n - s), w + 0.5 * (e - w), s + 0.6 * (n - s))
    body = sample_client.post("/zonal", json={"layer": f"{ldn_dir.name}/maps/report_1/gains_losses",
                                              "geometry": mapping(box)}).json()  # fmt: skip
    gx, gy, area = _pixel_grid(path)
    inside = shapely.contains_xy(box, gx, gy)
    pop, _, _ = _read(sample_region.out_dir / "population.tif")
    assert body["population"] == pytest.approx(np.nan_to_num(pop)[inside].sum(), rel=1e-6)
    assert {c["label"] for c in body["classes"]} == {"Loss", "Neutral", "Gain"}
    ts = sample_client.get("/timeseries", params={"run": ldn_dir.name, "lon": lon, "lat": lat,
                                                  "variable": "ndvi"}).json()  # fmt: skip
    assert len(ts["times"]) == len(ts["values"]) >= 10 and all(v is not None for v in ts["values"])
