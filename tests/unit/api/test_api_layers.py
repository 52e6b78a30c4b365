"""Layers and data routes on small synthetic run folders: runs, tables, layers and legends,
tiles (colours checked pixel by pixel), previews, values, time series, zonal statistics
(areas against an independent numpy computation) and the catalog's rescans."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import morecantile
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from fastapi.testclient import TestClient
from PIL import Image
from rasterio.crs import CRS
from shapely.geometry import Polygon, mapping

from landwatch.api import Settings, create_app
from landwatch.api.catalog import Catalog, load_map_colours, parse_map_colours
from landwatch.errors import InputError
from landwatch.indices.land.area import pixel_area_km2
from landwatch.io.rasters import write_cog_array, write_cog_bands

WEST, NORTH, RES, N = 30.0, -1.0, 0.01, 40
TRANSFORM = (RES, 0.0, WEST, 0.0, -RES, NORTH)
WKT = CRS.from_epsg(4326).to_wkt()
CLASS3 = {"-1": "Degraded", "0": "Stable", "1": "Improved"}
LPD5 = {"1": "Declining", "2": "Moderate decline", "3": "Stable but stressed", "4": "Stable",
        "5": "Increasing"}  # fmt: skip
MONTHS = ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05", "2020-06"]


def _sdg_array() -> np.ndarray:
    """Columns < 15 degraded, 15-24 stable, >= 25 improved; rows 30-39 x cols 0-9 no data."""
    cols = np.broadcast_to(np.arange(N), (N, N))
    a = np.where(cols < 15, -1, np.where(cols < 25, 0, 1)).astype(np.int16)
    a[30:, :10] = -32768
    return a


def _pop_array() -> np.ndarray:
    p = (1.0 + np.arange(N, dtype=np.float32))[:, None] * np.ones((1, N), np.float32)
    p[5, 5] = np.nan
    return p


def _centres() -> tuple[np.ndarray, np.ndarray]:
    return WEST + (np.arange(N) + 0.5) * RES, NORTH - (np.arange(N) + 0.5) * RES


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    sdg = root / "sdgrun"
    (sdg / "maps" / "report_1").mkdir(parents=True)
    (sdg / "maps" / "soc").mkdir()
    (sdg / "tables").mkdir()
    geo = {"crs_wkt": WKT, "transform": TRANSFORM}
    write_cog_array(_sdg_array(), sdg / "maps/report_1/sdg.tif", nodata=-32768,
                    class_names={int(k): v for k, v in CLASS3.items()},
                    tags={"period": "report_1", "layer": "sdg", "units": "1",
                          "long_name": "SDG 15.3.1 indicator"}, **geo)  # fmt: skip
    lpd = (1 + np.arange(N) // 8)[None, :].repeat(N, 0).astype(np.int16)
    write_cog_array(lpd, sdg / "maps/report_1/lpd5.tif", nodata=-32768,
                    class_names={int(k): v for k, v in LPD5.items()},
                    tags={"period": "report_1", "layer": "lpd5"}, **geo)  # fmt: skip
    soc = (np.arange(N)[None, :] + 0.5 * np.arange(N)[:, None]).astype(np.float32)
    soc[0, :] = np.nan
    write_cog_array(soc, sdg / "maps/soc/soc_2000.tif", nodata=float("nan"),
                    tags={"layer": "soc", "year": "2000", "units": "t C ha-1"}, **geo)  # fmt: skip
    pop = root / "population.tif"
    write_cog_array(_pop_array(), pop, nodata=float("nan"), **geo)
    xs, ys = _centres()
    years = pd.date_range("2001-01-01", periods=12, freq="YS")
    ndvi = 0.3 + 0.01 * np.arange(12)[:, None, None] + 0.001 * np.arange(N)[None, None, :]
    da = xr.DataArray(np.broadcast_to(ndvi, (12, N, N)).astype("float32"),
                      dims=("time", "y", "x"), coords={"time": years, "y": ys, "x": xs},
                      name="ndvi", attrs={"units": "1"})  # fmt: skip
    da.rio.write_crs("EPSG:4326", inplace=True)
    da.to_dataset().to_netcdf(root / "ndvi.nc")
    manifest = {
        "workflow": "sdg1531",
        "finished": "2024-01-01T00:00:00+00:00",
        "parameters": {"periods": {"baseline": {}, "report_1": {}}, "ndvi_variable": "ndvi"},
        "inputs": {"ndvi": {"path": str(root / "ndvi.nc")}, "population": {"path": str(pop)}},
    }
    (sdg / "manifest.json").write_text(json.dumps(manifest))
    pd.DataFrame({"admin_id": ["A", "B", "A"], "km2": [1.0, 2.0, float("nan")]}).to_csv(
        sdg / "tables" / "areas.csv", index=False
    )
    pd.DataFrame({"x": [1]}).to_csv(sdg / "tables" / "plain.csv", index=False)

    drought = root / "droughtrun"
    drought.mkdir()
    spi = np.stack([np.full((N, N), i - 3.0, np.float32) for i in range(len(MONTHS))])
    spi[:, 0, 0] = np.nan
    write_cog_bands(spi, drought / "spi3.tif", nodata=float("nan"), band_descriptions=MONTHS,
                    band_tags=[{"time": f"{m}-01"} for m in MONTHS],
                    tags={"variable": "spi_3", "units": "1",
                          "long_name": "Standardized Precipitation Index (3-month)"}, **geo)  # fmt: skip
    return {"sdg": sdg, "drought": drought, "root": root, "pop": pop}


@pytest.fixture()
def layers_client(tmp_path: Path, runs: dict[str, Path]) -> Iterator[TestClient]:
    s = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/api.sqlite",
                 runs=[runs["sdg"], runs["drought"]], max_polygon_vertices=50,
                 max_polygon_km2=5000.0)  # fmt: skip
    with TestClient(create_app(s)) as c:
        yield c


def _rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255)


def _png(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(content)).convert("RGBA"))


# --------------------------------------------------------------------------------------
# runs, tables, layers
# --------------------------------------------------------------------------------------


def test_runs_tables__list_records_admin_filter_and_errors(layers_client: TestClient) -> None:
    c = layers_client
    runs = {r["id"]: r for r in c.get("/runs").json()}
    assert set(runs) == {"sdgrun", "droughtrun"}
    assert runs["sdgrun"] == {"id": "sdgrun", "workflow": "sdg1531",
                              "title": "SDG 15.3.1 (sdgrun)", "path_name": "sdgrun",
                              "periods": ["baseline", "report_1"]}  # fmt: skip
    assert runs["droughtrun"]["workflow"] == "drought"  # no manifest: guessed from spi3.tif
    assert c.get("/runs/sdgrun/tables").json() == ["areas", "plain"]
    rows = c.get("/runs/sdgrun/tables/areas").json()
    assert rows == [{"admin_id": "A", "km2": 1.0}, {"admin_id": "B", "km2": 2.0},
                    {"admin_id": "A", "km2": None}]  # fmt: skip
    assert c.get("/runs/sdgrun/tables/areas?admin=B").json() == [{"admin_id": "B", "km2": 2.0}]
    r = c.get("/runs/sdgrun/tables/plain?admin=B")
    assert r.status_code == 422 and "no admin column" in r.json()["detail"]
    r = c.get("/runs/sdgrun/tables/nope")
    assert r.status_code == 404 and "areas" in r.json()["detail"]
    assert c.get("/runs/nope/tables").status_code == 404
    assert c.get("/runs/sdgrun/tables/..%2Fmanifest").status_code == 404


def test_layers__kinds_legends_bounds_times(layers_client: TestClient) -> None:
    c = layers_client
    layers = {lyr["id"]: lyr for lyr in c.get("/layers").json()}
    assert set(layers) == {"sdgrun/maps/report_1/sdg", "sdgrun/maps/report_1/lpd5",
                           "sdgrun/maps/soc/soc_2000", "droughtrun/spi3"}  # fmt: skip
    sdg = layers["sdgrun/maps/report_1/sdg"]
    table = load_map_colours().tables["class3"].classes
    assert sdg["kind"] == "categorical" and sdg["group"] == "SDG 15.3.1"
    assert sdg["period"] == "report_1" and sdg["times"] is None
    assert sdg["legend"] == [{"value": v, "label": CLASS3[str(v)], "color": table[v][0]}
                             for v in (-1, 0, 1)]  # fmt: skip
    assert sdg["bounds"] == pytest.approx([30.0, -1.4, 30.4, -1.0])
    lpd = layers["sdgrun/maps/report_1/lpd5"]
    assert lpd["group"] == "LPD" and [e["color"] for e in lpd["legend"]] == [
        "#9b2779", "#c0749b", "#e1b9bd", "#ffffe0", "#006500"]  # fmt: skip
    soc = layers["sdgrun/maps/soc/soc_2000"]
    assert soc["kind"] == "continuous" and soc["group"] == "SOC" and soc["units"] == "t C ha-1"
    assert soc["legend"]["colormap"] == "YlOrBr" and len(soc["legend"]["colors"]) == 9
    assert soc["legend"]["min"] == pytest.approx(0.5) and soc["legend"]["max"] == pytest.approx(
        58.5
    )
    spi = layers["droughtrun/spi3"]
    assert spi["times"] == [f"{m}-01" for m in MONTHS] and spi["group"] == "SPI"
    assert (spi["legend"]["min"], spi["legend"]["max"]) == (-3.0, 3.0)
    assert [lyr["id"] for lyr in c.get("/layers?run=droughtrun").json()] == ["droughtrun/spi3"]
    assert c.get("/layers/sdgrun/maps/report_1/sdg/legend").json() == sdg["legend"]
    assert c.get("/layers/sdgrun/maps/report_1/sdg").json() == sdg
    r = c.get("/layers/sdgrun/maps/nope/legend")
    assert r.status_code == 404 and r.json()["type"] == "NotFoundError"
    assert c.get("/layers/norun/x/legend").status_code == 404
    assert c.get("/layers?run=norun").status_code == 404


# --------------------------------------------------------------------------------------
# tiles and previews
# --------------------------------------------------------------------------------------


def _expected_tile(z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected RGBA of each tile pixel, and which pixels are safely inside a raster pixel
    (> 0.25 px from its edges, where any warp must agree)."""
    tms = morecantile.tms.get("WebMercatorQuad")
    b = tms.xy_bounds(morecantile.Tile(x, y, z))
    i = (np.arange(256) + 0.5) / 256
    mx = b.left + i * (b.right - b.left)
    my = b.top - i * (b.top - b.bottom)
    lon = np.degrees(mx / 6378137.0)
    lat = np.degrees(2 * np.arctan(np.exp(my / 6378137.0)) - np.pi / 2)
    fc = (lon - WEST) / RES
    fr = (NORTH - lat) / RES
    col = np.floor(fc).astype(int)
    row = np.floor(fr).astype(int)
    safe_c = np.abs(fc - np.round(fc)) > 0.25
    safe_r = np.abs(fr - np.round(fr)) > 0.25
    sdg = _sdg_array()
    colours = load_map_colours().tables["class3"].classes
    out = np.zeros((256, 256, 4), np.uint8)
    safe = safe_r[:, None] & safe_c[None, :]
    for r_ in range(256):
        for c_ in range(256):
            if 0 <= row[r_] < N and 0 <= col[c_] < N:
                v = int(sdg[row[r_], col[c_]])
                if v != -32768:
                    out[r_, c_] = _rgba(colours[v][0])
    return out, safe


def test_tile__pixels_have_the_colour_of_their_class(layers_client: TestClient) -> None:
    tms = morecantile.tms.get("WebMercatorQuad")
    t = tms.tile(30.2, -1.2, 8)  # the whole raster, about 1.8 tile px per raster px
    r = layers_client.get(f"/layers/sdgrun/maps/report_1/sdg/tiles/{t.z}/{t.x}/{t.y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    got = _png(r.content)
    assert got.shape == (256, 256, 4)
    want, safe = _expected_tile(t.z, t.x, t.y)
    assert safe.sum() > 10_000
    assert (want[safe][:, 3] == 255).sum() > 1_000  # the raster covers part of the tile
    assert np.array_equal(got[safe], want[safe])
    # every class and transparency (no data, outside) occur among the checked pixels
    seen = {tuple(p) for p in got[safe]}
    assert {(155, 39, 121, 255), (255, 255, 224, 255), (0, 101, 0, 255)} <= seen
    assert (got[safe][:, 3] == 0).any()


def test_tile__outside_transparent_and_errors(layers_client: TestClient) -> None:
    c = layers_client
    r = c.get("/layers/sdgrun/maps/report_1/sdg/tiles/10/0/0.png")
    assert r.status_code == 200 and (_png(r.content)[..., 3] == 0).all()
    r = c.get("/layers/sdgrun/maps/report_1/sdg/tiles/3/9/1.png")
    assert r.status_code == 422 and "x and y run from 0 to 7" in r.json()["detail"]
    assert c.get("/layers/sdgrun/maps/report_1/sdg/tiles/30/0/0.png").status_code == 422
    assert c.get("/layers/nope/tiles/1/0/0.png").status_code == 404
    t = morecantile.tms.get("WebMercatorQuad").tile(30.2, -1.2, 9)
    url = f"/layers/droughtrun/spi3/tiles/{t.z}/{t.x}/{t.y}.png"
    r = c.get(url + "?time=2020-02")
    assert r.status_code == 200
    px = _png(r.content)
    solid = px[px[..., 3] == 255]
    # SPI -2 on the BrBG ramp -3..3: the colour at 1/6 of the colormap
    import matplotlib

    want = matplotlib.colormaps["BrBG"](1 / 6, bytes=True)
    assert np.abs(solid.astype(int) - np.array(want, int)).max() <= 1
    r = c.get(url + "?time=1999-01")
    assert r.status_code == 422 and "2020-01-01 .. 2020-06-01" in r.json()["detail"]
    assert c.get(url + "?time=2020").status_code == 422  # matches several times
    r = c.get(f"/layers/sdgrun/maps/report_1/sdg/tiles/{t.z}/{t.x}/{t.y}.png?time=2020-01")
    assert r.status_code == 422 and "single band" in r.json()["detail"]


def test_preview__with_and_without_legend(layers_client: TestClient) -> None:
    c = layers_client
    r = c.get("/layers/sdgrun/maps/report_1/sdg/preview.png?legend=false&width=200")
    assert r.status_code == 200
    plain = _png(r.content)
    assert plain.shape == (200, 200, 4)
    colours = load_map_colours().tables["class3"].classes
    # pixel (row 10, col 5) of the raster is degraded; at 5 px per raster pixel:
    assert tuple(plain[52, 27]) == _rgba(colours[-1][0])
    assert plain[190, 10, 3] == 0  # no-data corner is transparent
    r = c.get("/layers/sdgrun/maps/report_1/sdg/preview.png?width=200")
    framed = _png(r.content)
    assert framed.shape[1] > 200 + 100  # legend beside the map
    r = c.get("/layers/droughtrun/spi3/preview.png?time=2020-03&width=120")
    assert r.status_code == 200 and _png(r.content).shape[1] > 120
    assert c.get("/layers/sdgrun/maps/report_1/sdg/preview.png?width=5000").status_code == 422
    assert c.get("/layers/droughtrun/spi3/preview.png?time=bad").status_code == 422
    assert c.get("/layers/nope/x/preview.png").status_code == 404


# --------------------------------------------------------------------------------------
# values, time series
# --------------------------------------------------------------------------------------


def test_value__labels_nodata_outside_time(layers_client: TestClient) -> None:
    c = layers_client
    base = "/layers/sdgrun/maps/report_1/sdg/value"
    assert c.get(f"{base}?lon=30.055&lat=-1.105").json() == {
        "value": -1, "label": "Degraded", "units": "1"}  # fmt: skip
    assert c.get(f"{base}?lon=30.305&lat=-1.105").json()["label"] == "Improved"
    nodata = c.get(f"{base}?lon=30.055&lat=-1.355").json()
    assert nodata == {"value": None, "label": None, "units": "1"}
    r = c.get(f"{base}?lon=31.5&lat=-1.1")
    assert r.status_code == 404 and "outside layer" in r.json()["detail"]
    assert c.get(f"{base}?lon=300&lat=0").status_code == 422
    soc = c.get("/layers/sdgrun/maps/soc/soc_2000/value?lon=30.035&lat=-1.045").json()
    assert soc == {"value": pytest.approx(3 + 0.5 * 4), "label": None, "units": "t C ha-1"}
    spi = "/layers/droughtrun/spi3/value?lon=30.2&lat=-1.2"
    assert c.get(spi).json()["value"] == pytest.approx(2.0)  # the last month by default
    assert c.get(spi + "&time=2020-02-01").json()["value"] == pytest.approx(-2.0)
    assert c.get(spi + "&time=2021-01").status_code == 422


def test_timeseries__ndvi_spi_and_errors(layers_client: TestClient) -> None:
    c = layers_client
    r = c.get("/timeseries?run=sdgrun&lon=30.105&lat=-1.2&variable=ndvi")
    assert r.status_code == 200
    body = r.json()
    assert body["variable"] == "ndvi" and body["units"] == "1"
    assert body["times"][0] == "2001-01-01" and len(body["times"]) == 12
    assert body["values"] == pytest.approx(
        [0.3 + 0.01 * i + 0.001 * 10 for i in range(12)], abs=1e-6
    )
    r = c.get("/timeseries?run=droughtrun&lon=30.2&lat=-1.2&variable=spi")
    body = r.json()
    assert body["times"] == [f"{m}-01" for m in MONTHS]
    assert body["values"] == pytest.approx([-3, -2, -1, 0, 1, 2])
    assert body["source"] == "droughtrun/spi3"
    nan_cell = c.get("/timeseries?run=droughtrun&lon=30.005&lat=-1.005&variable=spi").json()
    assert nan_cell["values"] == [None] * 6
    assert (
        c.get("/timeseries?run=droughtrun&lon=30.2&lat=-1.2&variable=spi&scale=12").status_code
        == 422
    )
    r = c.get("/timeseries?run=droughtrun&lon=30.2&lat=-1.2&variable=ndvi")
    assert r.status_code == 422 and "NDVI" in r.json()["detail"]
    r = c.get("/timeseries?run=sdgrun&lon=30.2&lat=-1.2&variable=spi")
    assert r.status_code == 422 and "SPI" in r.json()["detail"]
    assert c.get("/timeseries?run=sdgrun&lon=35&lat=-1.2&variable=ndvi").status_code == 404
    assert c.get("/timeseries?run=droughtrun&lon=35&lat=-1.2&variable=spi").status_code == 404
    assert c.get("/timeseries?run=sdgrun&lon=30.2&lat=-1.2&variable=evi").status_code == 422
    assert c.get("/timeseries?run=nope&lon=30.2&lat=-1.2&variable=ndvi").status_code == 404


# --------------------------------------------------------------------------------------
# zonal statistics
# --------------------------------------------------------------------------------------

POLY = Polygon([(30.023, -1.013), (30.377, -1.052), (30.331, -1.388), (30.041, -1.371)])


def _independent(poly: Polygon) -> tuple[np.ndarray, np.ndarray]:
    """Inside-mask (pixel centres) with shapely and per-pixel ellipsoidal areas."""
    xs, ys = _centres()
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(poly, gx, gy)
    area = pixel_area_km2(ys, RES, RES, "EPSG:4326").values[:, None] * np.ones((1, N))
    return inside, area


def test_zonal__class_areas_match_numpy_and_population(layers_client: TestClient) -> None:
    r = layers_client.post("/zonal", json={"layer": "sdgrun/maps/report_1/sdg",
                                            "geometry": mapping(POLY)})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    inside, area = _independent(POLY)
    sdg = _sdg_array()
    land = inside & (sdg != -32768)
    assert body["area_km2"] == pytest.approx(area[land].sum(), rel=0.005)
    by = {c["value"]: c for c in body["classes"]}
    assert list(by) == [-1, 0, 1]
    for v in (-1, 0, 1):
        assert by[v]["area_km2"] == pytest.approx(area[land & (sdg == v)].sum(), rel=0.005)
        assert by[v]["label"] == CLASS3[str(v)]
    assert sum(c["area_km2"] for c in body["classes"]) == pytest.approx(body["area_km2"], rel=1e-9)
    assert sum(c["percent"] for c in body["classes"]) == pytest.approx(100.0)
    pop = np.nan_to_num(_pop_array())
    assert body["population"] == pytest.approx(pop[inside].sum(), rel=1e-6)
    for v in (-1, 0, 1):
        assert by[v]["population"] == pytest.approx(pop[land & (sdg == v)].sum(), rel=1e-6)
    # not pixel counting: rows have different areas on the ellipsoid
    assert area[land].sum() != pytest.approx(land.sum() * area.mean(), rel=1e-9)


def test_zonal__continuous_and_multipolygon(layers_client: TestClient) -> None:
    body = layers_client.post("/zonal", json={"layer": "sdgrun/maps/soc/soc_2000",
                                               "geometry": mapping(POLY)}).json()  # fmt: skip
    inside, area = _independent(POLY)
    soc = (np.arange(N)[None, :] + 0.5 * np.arange(N)[:, None]).astype(np.float32)
    soc[0, :] = np.nan
    ok = inside & np.isfinite(soc)
    assert body["classes"]["mean"] == pytest.approx(np.average(soc[ok], weights=area[ok]), rel=1e-6)
    assert body["classes"]["min"] == pytest.approx(soc[ok].min())
    assert body["classes"]["max"] == pytest.approx(soc[ok].max())
    two = shapely.MultiPolygon([POLY.buffer(0).intersection(shapely.box(30, -1.4, 30.2, -1)),
                                shapely.box(30.25, -1.3, 30.35, -1.2)])  # fmt: skip
    r = layers_client.post("/zonal", json={"layer": "sdgrun/maps/report_1/sdg",
                                           "geometry": mapping(two)})  # fmt: skip
    inside, area = _independent(two)
    land = inside & (_sdg_array() != -32768)
    assert r.json()["area_km2"] == pytest.approx(area[land].sum(), rel=0.005)


def test_zonal__polygon_limits_and_errors(layers_client: TestClient) -> None:
    c = layers_client
    lyr = "sdgrun/maps/report_1/sdg"
    many = Polygon([(30.2 + 0.1 * math.cos(a), -1.2 + 0.1 * math.sin(a))
                    for a in np.linspace(0, 2 * math.pi, 80, endpoint=False)])  # fmt: skip
    r = c.post("/zonal", json={"layer": lyr, "geometry": mapping(many)})
    assert r.status_code == 413 and "81 vertices" in r.json()["detail"]
    big = shapely.box(29.0, -2.0, 31.0, 0.0)  # ~49,000 km2 > 5,000
    r = c.post("/zonal", json={"layer": lyr, "geometry": mapping(big)})
    assert r.status_code == 422 and "limit is 5,000 km2" in r.json()["detail"]
    away = shapely.box(35.0, -1.2, 35.1, -1.1)
    r = c.post("/zonal", json={"layer": lyr, "geometry": mapping(away)})
    assert r.status_code == 422 and "outside layer" in r.json()["detail"]
    r = c.post(
        "/zonal", json={"layer": lyr, "geometry": {"type": "Point", "coordinates": [30, -1]}}
    )
    assert r.status_code == 422 and "Polygon or MultiPolygon" in r.json()["detail"]
    r = c.post("/zonal", json={"layer": lyr, "geometry": {"type": "Polygon", "coordinates": []}})
    assert r.status_code == 422
    r = c.post("/zonal", json={"layer": lyr, "geometry": {"type": "Polygon"}})
    assert r.status_code == 422 and "not valid GeoJSON" in r.json()["detail"]
    bowtie = {"type": "Polygon", "coordinates": [[[30.1, -1.1], [30.3, -1.3], [30.3, -1.1],
                                                  [30.1, -1.3], [30.1, -1.1]]]}  # fmt: skip
    r = c.post("/zonal", json={"layer": lyr, "geometry": bowtie})
    assert r.status_code == 422 and "not a valid polygon" in r.json()["detail"]
    r = c.post("/zonal", json={"layer": "sdgrun/nope", "geometry": mapping(POLY)})
    assert r.status_code == 404
    r = c.post("/zonal", json={"layer": "droughtrun/spi3", "geometry": mapping(POLY),
                               "time": "1990-01"})  # fmt: skip
    assert r.status_code == 422
    r = c.post("/zonal", json={"layer": "droughtrun/spi3", "geometry": mapping(POLY),
                               "time": "2020-01"})  # fmt: skip
    assert r.json()["classes"]["mean"] == pytest.approx(-3.0)
    assert r.json()["population"] is None  # a run without a population input


# --------------------------------------------------------------------------------------
# catalog and colours
# --------------------------------------------------------------------------------------


def test_catalog__jobs_and_rescan_on_change(tmp_path: Path, runs: dict[str, Path]) -> None:
    jobs = tmp_path / "jobs"
    job = jobs / "abc123"
    job.mkdir(parents=True)
    (jobs / "pending").mkdir()  # no manifest, no job.json: not (yet) a result
    (jobs / ".spi9.partial-x").mkdir()  # a job's outputs being written
    (jobs / ".spi9.partial-x" / "job.json").write_text("{}")
    (job / "manifest.json").write_text(json.dumps({"workflow": "drought"}))
    spi = jobs / "spi9"  # drought-spi jobs write no manifest, only the worker's job.json
    spi.mkdir()
    (spi / "job.json").write_text(json.dumps({"job": "spi9", "process": "drought-spi"}))
    cat = Catalog([runs["sdg"]], jobs, rescan_interval=0)
    assert [(r.id, r.workflow) for r in cat.runs()] == [
        ("sdgrun", "sdg1531"), ("job-abc123", "drought"), ("job-spi9", "drought")]  # fmt: skip
    assert cat.layers("job-abc123") == []
    write_cog_array(_sdg_array(), job / "sdg.tif", crs_wkt=WKT, transform=TRANSFORM,
                    nodata=-32768, class_names={-1: "Degraded", 0: "Stable", 1: "Improved"})  # fmt: skip
    os.utime(job, (time.time() + 5, time.time() + 5))  # some file systems keep whole seconds
    assert [lyr.id for lyr in cat.layers("job-abc123")] == ["job-abc123/sdg"]
    assert cat.layer("job-abc123/sdg").group == "SDG 15.3.1"
    with pytest.raises(Exception, match="no run 'nope'"):
        cat.layer("nope/x")


def test_map_colours__shipped_file_and_bad_entries() -> None:
    colours = load_map_colours()
    assert colours.rule_for("most_severe_2000-2003").table == "drought_hazard"
    assert colours.rule_for("land_cover_degradation").table == "class3"
    assert colours.rule_for("land_cover").table == "land_cover_unccd"
    assert colours.rule_for("something").group == "Other"
    cdi = colours.tables["cdi"].classes
    assert [cdi[k][0] for k in range(6)] == ["#f0f0f0", "#ffe600", "#ff9900", "#e60000",
                                             "#a6d96a", "#1a9641"]  # fmt: skip
    with pytest.raises(InputError, match="not #rrggbb"):
        parse_map_colours({"tables": {"t": {"classes": {1: {"color": "red"}}}}})
    with pytest.raises(InputError, match="not a matplotlib colormap"):
        parse_map_colours({"ramps": {"r": {"colormap": "nope"}}})
    with pytest.raises(InputError, match="no table"):
        parse_map_colours({"layers": [{"match": "x", "group": "X", "table": "missing"}]})


def test_tile_cache__hits_and_a_rewritten_file_is_drawn_again(
    tmp_path: Path, runs: dict[str, Path]
) -> None:
    from landwatch.api.tiles import TILE_CACHE

    run = tmp_path / "cacherun"
    shutil.copytree(runs["sdg"], run)
    s = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/api.sqlite",
                 runs=[run])  # fmt: skip
    t = morecantile.tms.get("WebMercatorQuad").tile(30.2, -1.2, 8)
    url = f"/layers/cacherun/maps/report_1/sdg/tiles/{t.z}/{t.x}/{t.y}.png"
    with TestClient(create_app(s)) as c:
        TILE_CACHE.clear()
        first = c.get(url).content
        assert (TILE_CACHE.hits, TILE_CACHE.misses, len(TILE_CACHE)) == (0, 1, 1)
        assert c.get(url).content == first
        assert TILE_CACHE.hits == 1
        # the run is written again with every class flipped: the new colours are drawn
        geo = {"crs_wkt": WKT, "transform": TRANSFORM}
        flipped = np.where(_sdg_array() == -32768, -32768, -_sdg_array()).astype(np.int16)
        write_cog_array(flipped, run / "maps/report_1/sdg.tif", nodata=-32768,
                        class_names={int(k): v for k, v in CLASS3.items()},
                        tags={"period": "report_1", "layer": "sdg"}, **geo)  # fmt: skip
        os.utime(run / "maps/report_1/sdg.tif", ns=(time.time_ns(), time.time_ns() + 10**9))
        again = c.get(url).content
        assert again != first and TILE_CACHE.misses == 2
        # bounded in bytes: the oldest tile goes first
        TILE_CACHE.resize(len(again))
        other = c.get(f"/layers/cacherun/maps/report_1/lpd5/tiles/{t.z}/{t.x}/{t.y}.png")
        assert other.status_code == 200 and TILE_CACHE.nbytes <= len(again)
    TILE_CACHE.clear()
    TILE_CACHE.resize(64 * 2**20)
