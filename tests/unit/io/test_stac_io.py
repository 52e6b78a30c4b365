"""STAC in and out on small hand-made COGs: reading a catalog/ItemCollection/item into a
(time, y, x) cube, the error messages, publishing a run folder and offline validation."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr
from typer.testing import CliRunner

from landwatch.commands.stac import stac_app
from landwatch.errors import DataSourceError, InputError
from landwatch.io.rasters import open_raster, write_cog
from landwatch.io.stac import is_stac_file, publish_stac, read_stac, validate_stac

YEARS = [2003, 2001, 2002]  # deliberately unsorted


def grid(
    values: np.ndarray, *, x0: float = 10.0, y0: float = 5.0, res: float = 0.01
) -> xr.DataArray:
    h, w = values.shape
    da = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": y0 - res * (np.arange(h) + 0.5), "x": x0 + res * (np.arange(w) + 0.5)},
    )
    return da.rio.write_crs("EPSG:4326")


def make_item(item_id: str, year: int, assets: dict[str, Path]) -> pystac.Item:
    item = pystac.Item(
        id=item_id,
        geometry={
            "type": "Polygon",
            "coordinates": [[[10, 4.8], [10.2, 4.8], [10.2, 5], [10, 5], [10, 4.8]]],
        },
        bbox=[10, 4.8, 10.2, 5],
        datetime=dt.datetime(year, 7, 1, tzinfo=dt.UTC),
        properties={},
    )
    for key, path in assets.items():
        item.add_asset(key, pystac.Asset(href=str(path), media_type=pystac.MediaType.COG))
    return item


@pytest.fixture()
def cube(tmp_path: Path) -> tuple[Path, dict[int, np.ndarray]]:
    """A catalog of three annual float COGs (NaN holes) plus an int map per item."""
    rng = np.random.default_rng(1)
    arrays = {}
    cat = pystac.Catalog(id="ndvi", description="test")
    for year in YEARS:
        a = rng.uniform(0, 0.9, (20, 16)).astype(np.float32)
        a[0, :3] = np.nan
        arrays[year] = a
        f = tmp_path / "cogs" / f"ndvi_{year}.tif"
        f.parent.mkdir(exist_ok=True)
        write_cog(grid(a), f)
        g = tmp_path / "cogs" / f"lc_{year}.tif"
        write_cog(grid(np.full((20, 16), 3, dtype=np.int16)), g, nodata=-32768)
        cat.add_item(make_item(f"ndvi-{year}", year, {"ndvi": f, "land_cover": g}))
    cat.normalize_hrefs(str(tmp_path / "stac"))
    cat.make_all_asset_hrefs_relative()
    cat.save(pystac.CatalogType.SELF_CONTAINED)
    return tmp_path / "stac" / "catalog.json", arrays


def test_read__catalog_gives_sorted_time_cube(cube: tuple[Path, dict[int, np.ndarray]]) -> None:
    path, arrays = cube
    da = read_stac(path, "ndvi", name="ndvi")
    assert da.dims == ("time", "y", "x")
    assert da.chunks is not None  # lazy, dask-backed
    years = da["time"].values.astype("datetime64[Y]").astype(int) + 1970
    assert years.tolist() == sorted(YEARS)
    for i, y in enumerate(sorted(YEARS)):
        np.testing.assert_array_equal(da.isel(time=i).values, arrays[y])
    assert da.rio.crs.to_epsg() == 4326
    assert tuple(da.rio.transform())[:6] == pytest.approx((0.01, 0, 10.0, 0, -0.01, 5.0))
    assert np.isnan(da.attrs["nodata"])


def test_read__open_raster_dispatches_json_and_defaults_asset_to_name(
    cube: tuple[Path, dict[int, np.ndarray]],
) -> None:
    path, arrays = cube
    assert is_stac_file(path)
    da = open_raster(path, name="ndvi", chunks={"y": 8, "x": 8})
    assert da.chunks is not None and da.chunks[1][0] == 8
    np.testing.assert_array_equal(da.isel(time=0).values, arrays[2001])
    lc = open_raster(path, name="land_cover 2001")  # first word of the name
    assert lc.dtype == np.int16 and lc.attrs["nodata"] == -32768


def test_read__item_collection_and_single_item(
    cube: tuple[Path, dict[int, np.ndarray]], tmp_path: Path
) -> None:
    path, arrays = cube
    items = list(pystac.Catalog.from_file(str(path)).get_items(recursive=True))
    for it in items:
        it.make_asset_hrefs_absolute()
    fc = tmp_path / "items.json"
    fc.write_text(json.dumps(pystac.ItemCollection(items).to_dict()))
    da = read_stac(fc, "ndvi", name="ndvi")
    assert da.sizes["time"] == 3
    one = tmp_path / "one.json"
    d = items[0].to_dict()
    d["links"] = []
    one.write_text(json.dumps(d))
    single = read_stac(one, "ndvi", name="ndvi")
    assert single.dims == ("y", "x")
    np.testing.assert_array_equal(single.values, arrays[int(items[0].id.split("-")[1])])


def test_read__errors_name_the_file_and_the_fix(
    cube: tuple[Path, dict[int, np.ndarray]], tmp_path: Path
) -> None:
    path, _ = cube
    with pytest.raises(
        InputError,
        match=r"no item of catalog.json has an asset .evi.; asset keys are \['land_cover', 'ndvi'\]",
    ):
        read_stac(path, "evi", name="ndvi")
    notstac = tmp_path / "x.json"
    notstac.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="x.json is JSON but not STAC"):
        open_raster(notstac, name="ndvi")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(InputError, match="bad.json is not valid JSON"):
        read_stac(bad, name="ndvi")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(InputError, match="holds no items"):
        read_stac(empty, name="ndvi")
    with pytest.raises(DataSourceError, match="does not exist"):
        read_stac(tmp_path / "missing.json", name="ndvi")
    # a COG removed after the catalog was written
    (path.parent.parent / "cogs" / "ndvi_2002.tif").unlink()
    with pytest.raises(
        DataSourceError, match=r"1 of the 3 'ndvi' files .* do not exist.*ndvi_2002"
    ):
        read_stac(path, name="ndvi")


def test_read__different_grids_need_a_target(tmp_path: Path) -> None:
    a = tmp_path / "a.tif"
    b = tmp_path / "b.tif"
    write_cog(grid(np.ones((10, 10), np.float32)), a)
    write_cog(grid(np.ones((10, 10), np.float32), res=0.02), b)
    fc = tmp_path / "items.json"
    items = [make_item("a", 2000, {"ndvi": a}), make_item("b", 2001, {"ndvi": b})]
    fc.write_text(json.dumps(pystac.ItemCollection(items).to_dict()))
    with pytest.raises(InputError, match=r"not on one grid: item 'a' is EPSG:4326, 10 x 10 px"):
        read_stac(fc, name="ndvi")
    da = read_stac(fc, name="ndvi", crs="EPSG:4326", resolution=0.02)
    assert da.sizes["time"] == 2 and da.rio.crs.to_epsg() == 4326
    remote = tmp_path / "remote.json"
    it = make_item("r", 2000, {"ndvi": a})
    it.assets["ndvi"].href = "https://example.org/ndvi.tif"
    remote.write_text(json.dumps(pystac.ItemCollection([it]).to_dict()))
    with pytest.raises(InputError, match="remote URL"):
        read_stac(remote, name="ndvi")


# --------------------------------------------------------------------------- publishing


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    """A minimal run folder: manifest, two period maps and a yearly SOC map."""
    run = tmp_path / "run"
    for period in ("baseline", "report_1"):
        (run / "maps" / period).mkdir(parents=True)
        write_cog(
            grid(np.array([[-1, 0], [1, -32768]], dtype=np.int16)),
            run / "maps" / period / "sdg.tif",
            nodata=-32768,
            class_names={-1: "Degraded", 0: "Stable", 1: "Improved"},
            tags={"layer": "sdg", "period": period, "long_name": "SDG 15.3.1"},
        )
    (run / "maps" / "soc").mkdir()
    soc = grid(np.array([[40.0, np.nan], [55.5, 60.0]], dtype=np.float32))
    soc.attrs["units"] = "t C ha-1"
    write_cog(soc, run / "maps" / "soc" / "soc_2000.tif", tags={"layer": "soc", "year": 2000})
    manifest = {
        "tool": "landwatch",
        "version": "0.1.0",
        "workflow": "sdg1531",
        "finished": "2024-05-01T10:00:00+00:00",
        "python": "3.11",
        "parameters": {
            "periods": {
                "baseline": {"productivity": [2000, 2015], "land_cover": [2000, 2015]},
                "report_1": {"productivity": [2004, 2019], "land_cover": [2015, 2019]},
            }
        },
        "inputs": {"ndvi": {"path": "/data/ndvi.nc", "sha256": "ab" * 32}},
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "summary.json").write_text("{}")
    return run


def test_publish__items_assets_and_extension_fields(run_dir: Path, tmp_path: Path) -> None:
    cat_path = publish_stac(run_dir, tmp_path / "pub", title="Test run")
    cat = pystac.Catalog.from_file(str(cat_path))
    items = {it.id: it for it in cat.get_items(recursive=True)}
    assert sorted(items) == ["sdg1531-2000", "sdg1531-baseline", "sdg1531-report_1"]
    base = items["sdg1531-baseline"]
    assert base.datetime is None
    assert base.common_metadata.start_datetime == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert base.common_metadata.end_datetime.year == 2015
    assert base.properties["proj:code"] == "EPSG:4326"
    assert base.properties["proj:shape"] == [2, 2]
    assert base.properties["processing:software"]["landwatch"] == "0.1.0"
    sdg = base.assets["sdg"]
    assert sdg.href == "../../maps/baseline/sdg.tif"
    assert sdg.extra_fields["raster:bands"][0]["data_type"] == "int16"
    assert sdg.extra_fields["raster:bands"][0]["nodata"] == -32768
    classes = {c["value"]: c["name"] for c in sdg.extra_fields["classification:classes"]}
    assert classes == {-1: "Degraded", 0: "Stable", 1: "Improved"}
    assert sdg.extra_fields["file:checksum"].startswith("1220")
    soc = items["sdg1531-2000"].assets["soc"]
    assert soc.extra_fields["raster:bands"][0]["nodata"] == "nan"
    assert soc.extra_fields["raster:bands"][0]["unit"] == "t C ha-1"
    assert "classification:classes" not in soc.extra_fields
    assert any(link.rel == "describedby" for link in base.links)
    coll = next(iter(cat.get_children()))
    assert isinstance(coll, pystac.Collection)
    assert coll.title == "Test run"
    assert set(coll.assets) >= {"manifest", "summary"}
    assert (tmp_path / "pub" / "maps" / "baseline" / "sdg.tif").is_file()
    report = validate_stac(cat_path)
    assert report.ok, report.errors
    assert report.objects == 5 and report.self_contained and report.files_checked == 5
    assert report.core_schemas  # the core schemas were applied
    assert not report.extension_schemas_validated
    assert any("projection" in u for u in report.extension_schemas_not_validated)


def test_publish__in_place_overwrite_and_base_href(run_dir: Path) -> None:
    cat_path = publish_stac(run_dir, base_href="https://data.example.org/runs/r1")
    assert cat_path == run_dir / "catalog.json"
    root = json.loads(cat_path.read_text())
    selfs = [link["href"] for link in root["links"] if link["rel"] == "self"]
    assert selfs == ["https://data.example.org/runs/r1/catalog.json"]
    assert validate_stac(cat_path).ok
    with pytest.raises(InputError, match="already exists.*--overwrite"):
        publish_stac(run_dir)
    publish_stac(run_dir, overwrite=True)
    assert validate_stac(run_dir).ok  # a folder means its catalog.json


def test_publish__errors(tmp_path: Path, run_dir: Path) -> None:
    with pytest.raises(DataSourceError, match="does not exist"):
        publish_stac(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "manifest.json").write_text('{"workflow": "x"}')
    with pytest.raises(InputError, match="holds no GeoTIFF maps"):
        publish_stac(tmp_path / "empty")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty and holds no catalog.json"):
        publish_stac(run_dir, tmp_path / "taken", overwrite=True)
    assert (tmp_path / "taken" / "notes.txt").is_file()


def test_validate__tampered_file_and_broken_fields_are_reported(
    run_dir: Path, tmp_path: Path
) -> None:
    cat_path = publish_stac(run_dir, tmp_path / "pub")
    with open(tmp_path / "pub" / "maps" / "report_1" / "sdg.tif", "ab") as fh:
        fh.write(b"x")
    item_p = tmp_path / "pub" / "landwatch-sdg1531" / "sdg1531-baseline" / "sdg1531-baseline.json"
    d = json.loads(item_p.read_text())
    d["properties"]["proj:transform"] = [1, 2, 3]
    d["assets"]["sdg"]["classification:classes"][0]["name"] = "Not a slug!"
    item_p.write_text(json.dumps(d))
    report = validate_stac(cat_path)
    assert not report.ok
    text = "\n".join(report.errors)
    assert "file:checksum differs" in text and "report_1" in text
    assert "proj:transform has 3 terms" in text
    assert "class name 'Not a slug!'" in text
    assert validate_stac(cat_path, check_files=False).errors != []  # field checks remain
    # a core-schema violation (bbox must be numbers)
    d["bbox"] = ["a", "b", "c", "d"]
    item_p.write_text(json.dumps(d))
    assert any("Validation failed" in e for e in validate_stac(cat_path).errors)


def test_validate__extension_schemas_from_a_local_folder(run_dir: Path, tmp_path: Path) -> None:
    """The schema-folder mechanism, with schemas written here (not copies of the
    published ones): a passing one is applied, a failing one reports the error."""
    cat_path = publish_stac(run_dir, tmp_path / "pub")
    uri = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
    folder = tmp_path / "schemas" / "processing" / "v1.2.0"
    folder.mkdir(parents=True)
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": uri,
        "type": "object",
        "properties": {
            "properties": {
                "type": "object",
                "properties": {"processing:lineage": {"type": "string"}},
            }
        },
    }
    (folder / "schema.json").write_text(json.dumps(schema))
    report = validate_stac(cat_path, schema_dir=tmp_path / "schemas")
    assert report.ok, report.errors
    assert uri in report.extension_schemas_validated
    assert uri not in report.extension_schemas_not_validated
    schema["properties"]["properties"]["required"] = ["processing:facility"]  # type: ignore[index]
    (folder / "schema.json").write_text(json.dumps(schema))
    report = validate_stac(cat_path, schema_dir=tmp_path / "schemas")
    assert any("processing:facility" in e for e in report.errors)


def test_publish__reload_with_read_stac_equals_the_cog(run_dir: Path, tmp_path: Path) -> None:
    cat_path = publish_stac(run_dir, tmp_path / "pub")
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "pub", moved)
    shutil.rmtree(tmp_path / "pub")
    sdg = read_stac(moved / "catalog.json", "sdg", name="sdg")
    assert sdg.sizes["time"] == 2 and sdg.dtype == np.int16
    with rasterio.open(run_dir / "maps" / "baseline" / "sdg.tif") as src:
        np.testing.assert_array_equal(sdg.isel(time=0).values, src.read(1))
    assert cat_path.name == "catalog.json"


def test_cli__publish_and_validate(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(stac_app, ["publish", str(run_dir), "--out", str(tmp_path / "pub")])
    assert res.exit_code == 0, res.output
    assert "sdg1531-baseline" in res.output and "valid" in res.output
    res = runner.invoke(stac_app, ["validate", str(tmp_path / "pub" / "catalog.json")])
    assert res.exit_code == 0, res.output
    assert "Not validated offline" in res.output
    res = runner.invoke(stac_app, ["publish", str(run_dir), "--out", str(tmp_path / "pub")])
    assert res.exit_code == 2 and "already exists" in res.output
    assert "Traceback" not in res.output
    (tmp_path / "pub" / "maps" / "soc" / "soc_2000.tif").write_bytes(b"changed")
    res = runner.invoke(stac_app, ["validate", str(tmp_path / "pub")])
    assert res.exit_code == 1 and "file:checksum differs" in res.output
    notstac = tmp_path / "x.json"
    notstac.write_text("[]")
    res = runner.invoke(stac_app, ["validate", str(notstac)])
    assert res.exit_code == 2 and "not a STAC catalog" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
