"""Observation files at the door: photos, CSV and GeoJSON cells, map sampling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from landwatch.errors import DataSourceError, InputError
from landwatch.indices.land.codes import NODATA
from landwatch.io.observations import (
    PHOTO_DIR,
    inspect_photo,
    read_observation_file,
    read_run_folder,
    sample_raster_at_points,
    sniff_image_type,
    store_photo,
    write_observation_file,
)
from landwatch.io.rasters import write_cog_array

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(100)


def test_sniff_image_type__content_not_name() -> None:
    assert sniff_image_type(JPEG) == "image/jpeg"
    assert sniff_image_type(PNG) == "image/png"
    assert sniff_image_type(WEBP) == "image/webp"
    assert sniff_image_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert sniff_image_type(b"GIF89a") is None


def test_inspect_photo__rules(tmp_path: Path) -> None:
    ok = tmp_path / "field.PNG"
    ok.write_bytes(PNG)
    info = inspect_photo(ok)
    assert (info.media_type, info.size) == ("image/png", len(PNG))
    assert info.stored_path == f"{PHOTO_DIR}/{info.sha256[:2]}/{info.sha256}.png"

    fake = tmp_path / "evil.jpg"
    fake.write_bytes(b"<svg onload='alert(1)'/>")
    with pytest.raises(InputError, match=r"evil.jpg is an SVG/XML file; only JPEG, PNG and WebP"):
        inspect_photo(fake)
    heic = tmp_path / "phone.heic"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(50))
    with pytest.raises(InputError, match="HEIC/HEIF image.*Convert it to JPEG"):
        inspect_photo(heic)
    big = tmp_path / "big.jpg"
    big.write_bytes(JPEG + bytes(2048))
    with pytest.raises(InputError, match=r"big.jpg is 0.0 MiB; the limit is 0 MiB. Resize it"):
        inspect_photo(big, max_bytes=1024)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        inspect_photo(empty)
    with pytest.raises(DataSourceError, match="does not exist"):
        inspect_photo(tmp_path / "missing.jpg")


def test_store_photo__content_addressed_once(tmp_path: Path) -> None:
    src = tmp_path / "a.jpg"
    src.write_bytes(JPEG)
    info = inspect_photo(src)
    rel, created = store_photo(info, tmp_path / "data")
    assert created and (tmp_path / "data" / rel).read_bytes() == JPEG
    rel2, created2 = store_photo(info, tmp_path / "data")
    assert rel2 == rel and not created2


def test_read_observation_file__csv_dialects(tmp_path: Path) -> None:
    p = tmp_path / "excel.csv"
    p.write_bytes('\ufefflon;lat;description\n37,5;-1;"a; b"\n\n38;-2;x\n'.encode())
    t = read_observation_file(p)
    assert t.columns == ["lon", "lat", "description"]
    assert t.rows == [
        (1, {"lon": "37,5", "lat": "-1", "description": "a; b"}),
        (2, {"lon": "38", "lat": "-2", "description": "x"}),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat\n1,2\n1,2,3\n")
    with pytest.raises(
        InputError, match=r"bad.csv, row 2 \(line 3\) has 3 cells but the header has 2"
    ):
        read_observation_file(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("lon,lon\n1,2\n")
    with pytest.raises(InputError, match=r"repeats \['lon'\]"):
        read_observation_file(dup)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("lon,description\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataSourceError, match="not UTF-8.*CSV UTF-8"):
        read_observation_file(latin)
    with pytest.raises(InputError, match=r"suffix '.xlsx'; expected .csv or .geojson"):
        read_observation_file(tmp_path / "x.xlsx")


def test_read_observation_file__geojson_rules(tmp_path: Path) -> None:
    def write(doc: object) -> Path:
        p = tmp_path / "o.geojson"
        p.write_text(json.dumps(doc))
        return p

    pt = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [37.1, -1.2]},
        "properties": {"category": "other"},
    }
    t = read_observation_file(write({"type": "FeatureCollection", "features": [pt]}))
    assert t.rows == [(1, {"category": "other", "lon": 37.1, "lat": -1.2})]
    poly = {
        **pt,
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    }
    with pytest.raises(
        InputError, match=r"feature 2: geometry is 'Polygon'; expected a Point.*area_wkt"
    ):
        read_observation_file(write({"type": "FeatureCollection", "features": [pt, poly]}))
    utm = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32737"}}
    with pytest.raises(InputError, match="declares CRS.*Reproject it to EPSG:4326"):
        read_observation_file(write({"type": "FeatureCollection", "crs": utm, "features": [pt]}))
    with pytest.raises(InputError, match="FeatureCollection"):
        read_observation_file(write({"type": "Feature"}))


def test_write_observation_file__csv_and_geojson(tmp_path: Path) -> None:
    recs = [{"lon": 37.123456789012, "lat": -1.5, "uuid": "a", "note": None}]
    csv_path = write_observation_file(recs, ["uuid", "lon", "lat", "note"], tmp_path / "o.csv")
    assert csv_path.read_text() == "uuid,lon,lat,note\na,37.123456789012,-1.5,\n"
    gj = write_observation_file(recs, ["uuid", "lon", "lat", "note"], tmp_path / "o.geojson")
    feat = json.loads(gj.read_text())["features"][0]
    assert feat["geometry"]["coordinates"] == [37.123456789012, -1.5]
    assert feat["properties"] == {"uuid": "a", "note": None}
    assert not list(tmp_path.glob(".*partial*"))


def _cog(path: Path, arr: np.ndarray, crs: str, transform: tuple[float, ...]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    from pyproj import CRS

    return write_cog_array(arr, path, crs_wkt=CRS(crs).to_wkt(), transform=transform, nodata=NODATA)


def test_sample_raster_at_points__geographic_and_projected(tmp_path: Path) -> None:
    arr = np.array([[-1, 0], [1, NODATA]], dtype=np.int16)
    geo = _cog(tmp_path / "geo.tif", arr, "EPSG:4326", (0.01, 0, 37.0, 0, -0.01, -1.0))
    s = sample_raster_at_points(
        geo, [37.005, 37.015, 37.005, 37.015, 36.0], [-1.005, -1.005, -1.015, -1.015, -1.0]
    )
    assert s.values[:3].tolist() == [-1.0, 0.0, 1.0]
    assert np.isnan(s.values[3]) and s.inside[3]  # nodata
    assert np.isnan(s.values[4]) and not s.inside[4]  # outside
    # a UTM 37S map: the point is projected into the raster CRS before lookup
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 32737, always_xy=True).transform(37.2, -1.4)
    utm = _cog(tmp_path / "utm.tif", arr, "EPSG:32737", (250, 0, x - 300, 0, -250, y + 100))
    assert sample_raster_at_points(utm, [37.2], [-1.4]).values.tolist() == [0.0]


def test_read_run_folder__periods_and_admin(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="no summary.json"):
        read_run_folder(tmp_path)
    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "baseline": "baseline",
                "periods": {
                    "baseline": {"productivity": [2000, 2015]},
                    "report_1": {"productivity": [2004, 2019]},
                },
            }
        )
    )
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "inputs": {"admin": {"path": "/x/admin.gpkg"}},
                "parameters": {"admin_layer": "admin1", "admin_id_field": "code"},
            }
        )
    )
    run = read_run_folder(tmp_path)
    assert run.periods == {"baseline": (2000, 2015), "report_1": (2004, 2019)}
    assert (run.admin_path, run.admin_layer, run.admin_id_field) == (
        Path("/x/admin.gpkg"),
        "admin1",
        "code",
    )
    with pytest.raises(InputError, match=r"period 'report_9' is not in the run"):
        run.map_path("report_9", "sdg")
    with pytest.raises(DataSourceError, match="map 'sdg' of period baseline"):
        run.map_path("baseline", "sdg")
