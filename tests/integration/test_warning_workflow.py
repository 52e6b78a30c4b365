"""``run_alerts`` end to end on a small synthetic region with planted droughts: CAP files,
Atom feed, GeoJSON, CSV, bulletin; idempotent reruns; forecasts; bad inputs; the CLI.

Planted (40 x 40 px of 0.01 deg, 4 units tiling the grid, one unit off the grid):
* A (cropland): Warning Feb-Jun, Alert from Apr -> minor (Feb), moderate (Mar),
  extreme (Apr-Jun: 100 % at Alert for 3 months).
* B (grassland): 60 of its 380 grazing pixels at Warning in Jun -> minor.
* C (cropland): Warning Jan-Feb -> minor, moderate; below in Mar; ended in Apr.
* D (grassland): normal; in Jun 60 % of it has no CDI -> insufficient data.
* E: outside the grid -> no pixels.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path

import feedparser
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import typer
import xarray as xr
import yaml
from shapely.geometry import box, shape
from typer.testing import CliRunner

from landwatch.errors import CRSMismatchError, InputError
from landwatch.warning.cap import validate_cap
from landwatch.workflows.warning import WarningResult, run_alerts

N, RES, WEST, NORTH = 40, 0.01, 36.0, -1.0
H = N // 2
SENT = dt.datetime(2024, 7, 4, 8, 0, tzinfo=dt.UTC)
MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")


def _coords() -> tuple[np.ndarray, np.ndarray]:
    x = WEST + RES * (np.arange(N) + 0.5)
    y = NORTH - RES * (np.arange(N) + 0.5)
    return y, x


def _tif(a: np.ndarray, path: Path, res: float = RES) -> Path:
    n = a.shape[0]
    x = WEST + res * (np.arange(n) + 0.5)
    y = NORTH - res * (np.arange(n) + 0.5)
    da = xr.DataArray(a, dims=("y", "x"), coords={"y": y, "x": x}).rio.write_crs("EPSG:4326")
    da.rio.to_raster(path)
    return path


def _cdi_cube(n_months: int = 6) -> np.ndarray:
    c = np.zeros((n_months, N, N), np.int16)
    c[1:6, :H, :H] = 2  # A: Warning Feb-Jun
    c[3:6, :H, :H] = 3  # A: Alert Apr-Jun
    c[5, 1:4, H:] = 2  # B: 60 grazing pixels at Warning in Jun
    c[0:2, H:, :H] = 2  # C: Warning Jan-Feb
    c[5, H : H + 12, H:] = -32768  # D: 60 % without data in Jun
    return c


def _write_cdi(path: Path, cube: np.ndarray) -> Path:
    y, x = _coords()
    time = pd.date_range("2024-01-01", periods=cube.shape[0], freq="MS")
    ds = xr.Dataset({"cdi": (("time", "y", "x"), cube)}, coords={"time": time, "y": y, "x": x})
    ds = ds.rio.write_crs("EPSG:4326")
    ds["cdi"].encoding["_FillValue"] = -32768
    ds.to_netcdf(path)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("warn_inputs")
    lc = np.full((N, N), 3, np.int16)
    lc[:, H:] = 2
    lc[0, :] = 7  # a row of water
    units = gpd.GeoDataFrame(
        {
            "admin_id": ["A", "B", "C", "D", "E"],
            "name": ["Alpha", "Bravo", "Charlie", "Delta", "Echo"],
        },
        geometry=[
            box(WEST, NORTH - 0.2, WEST + 0.2, NORTH),
            box(WEST + 0.2, NORTH - 0.2, WEST + 0.4, NORTH),
            box(WEST, NORTH - 0.4, WEST + 0.2, NORTH - 0.2),
            box(WEST + 0.2, NORTH - 0.4, WEST + 0.4, NORTH - 0.2),
            box(WEST + 2, NORTH - 2, WEST + 2.2, NORTH - 1.8),
        ],
        crs=4326,
    )
    units.to_file(d / "admin.geojson")
    return {
        "cdi": _write_cdi(d / "cdi.nc", _cdi_cube()),
        "land_cover": _tif(lc, d / "lc.tif"),
        "population": _tif(np.full((N, N), 10.0, np.float32), d / "pop.tif"),
        "admin": d / "admin.geojson",
    }


def _run(inputs: dict[str, Path], out: Path, db: str, **kw) -> WarningResult:  # type: ignore[no-untyped-def]
    args = {k: v for k, v in inputs.items() if k != "cdi"}
    return run_alerts(
        kw.pop("cdi", inputs["cdi"]), out, database_url=db, sent=kw.pop("sent", SENT), **args, **kw
    )


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('warn_db') / 'alerts.db'}"


@pytest.fixture(scope="module")
def first(
    inputs: dict[str, Path], db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> WarningResult:
    return _run(
        inputs, tmp_path_factory.mktemp("warn_out") / "run1", db_url, sender="ews@example.org"
    )


def test_run_alerts__lifecycle_of_the_planted_droughts(first: WarningResult) -> None:
    msgs = pd.read_csv(first.out_dir / "tables" / "alert_messages.csv")
    got = {
        u: list(zip(g["month"], g["kind"], g["level"], strict=True))
        for u, g in msgs.groupby("unit_id")
    }
    assert got["A"] == [
        ("2024-02", "start", "minor"),
        ("2024-03", "escalate", "moderate"),
        ("2024-04", "escalate", "extreme"),
        ("2024-05", "continue", "extreme"),
        ("2024-06", "continue", "extreme"),
    ]
    assert got["B"] == [("2024-06", "start", "minor")]
    assert [k for _, k, _ in got["C"]] == ["start", "escalate", "below", "end"]
    assert "D" not in got
    assert (first.new_messages, first.started, first.ended, first.skipped) == (10, 3, 1, 0)
    alerts = pd.read_csv(first.out_dir / "tables" / "alerts.csv").set_index("unit_id")
    assert alerts.loc["A", "status"] == "active" and alerts.loc["A", "peak_level"] == "extreme"
    assert alerts.loc["C", "status"] == "ended" and alerts.loc["C", "end_month"] == "2024-04"


def test_run_alerts__situation_of_the_last_month(first: WarningResult) -> None:
    s = first.situation.set_index("unit_id")
    assert first.bulletin_month == "2024-06"
    assert (s.loc["A", "level"], s.loc["A", "severity"], s.loc["A", "alert_change"]) == (
        "extreme",
        "Extreme",
        "continuing",
    )
    assert (s.loc["B", "level"], s.loc["B", "alert_change"]) == ("minor", "new")
    # 60 of 380 pixels; pixel areas shrink slightly away from the equator
    assert s.loc["B", "grazing_warning_share"] == pytest.approx(60 / 380, rel=1e-4)
    assert s.loc["C", "level"] == "none"
    assert s.loc["D", "status"] == "insufficient_data"
    assert s.loc["E", "status"] == "no_pixels"
    assert s.loc["A", "population_exposed"] == pytest.approx(10 * 20 * 20)  # water row too
    manifest = json.loads((first.out_dir / "manifest.json").read_text())
    assert manifest["units_without_pixels"] == ["E"]
    assert manifest["run"]["new_messages"] == 10
    assert sorted(manifest["outputs"]) == sorted(
        str(f.relative_to(first.out_dir)) for f in first.files if f.name != "manifest.json"
    )


def test_run_alerts__every_cap_file_is_valid(first: WarningResult) -> None:
    files = sorted((first.out_dir / "cap").glob("*.xml"))
    assert len(files) == 10
    for f in files:
        r = validate_cap(f)
        assert r.valid and not r.semantic_errors, (f.name, r.errors, r.semantic_errors)
        assert r.fields["identifier"] == f.stem and r.fields["sender"] == "ews@example.org"
    types = sorted(validate_cap(f).fields["msgType"] for f in files)
    assert types == ["Alert"] * 3 + ["Cancel"] + ["Update"] * 6


def test_run_alerts__atom_feed_parses(first: WarningResult) -> None:
    feed = feedparser.parse(str(first.out_dir / "alerts.atom"))
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert len(feed.entries) == 10
    assert feed.feed.updated_parsed[:6] == SENT.timetuple()[:6]
    assert any(lk.rel == "self" for lk in feed.feed.links)
    ids = set()
    for e in feed.entries:
        ids.add(e.id)
        (link,) = [lk for lk in e.links if lk.rel == "alternate"]
        assert link.type == "application/cap+xml"
        cap = first.out_dir / link.href
        assert cap.is_file(), link.href
        assert e.updated_parsed[:6] == SENT.timetuple()[:6]
        root = validate_cap(cap)
        assert root.valid
        from lxml import etree

        headline = etree.parse(str(cap)).findtext(
            "{urn:oasis:names:tc:emergency:cap:1.2}info/{urn:oasis:names:tc:emergency:cap:1.2}headline"
        )
        assert e.title == headline
        assert {t.term for t in e.tags} & {"Minor", "Moderate", "Severe", "Extreme"}
    assert len(ids) == 10 and all(i.startswith("urn:uuid:") for i in ids)


def test_run_alerts__geojson(first: WarningResult) -> None:
    gj = json.loads((first.out_dir / "situation_2024-06.geojson").read_text())
    assert gj["type"] == "FeatureCollection"
    feats = {f["id"]: f for f in gj["features"]}
    assert sorted(feats) == ["A", "B", "C", "D", "E"]
    a = feats["A"]["properties"]
    assert (a["unit_name"], a["level"], a["severity"], a["month"]) == (
        "Alpha",
        "extreme",
        "Extreme",
        "2024-06",
    )
    assert a["alert_identifier"] == "landwatch-drought-A-202402"
    assert a["cropland_alert_share"] == pytest.approx(1.0)
    assert a["grazing_warning_share"] is None  # no grassland in A
    assert shape(feats["A"]["geometry"]).bounds == pytest.approx((36.0, -1.2, 36.2, -1.0))
    assert feats["E"]["properties"]["status"] == "no_pixels"


def test_run_alerts__csv_tables(first: WarningResult) -> None:
    um = pd.read_csv(first.out_dir / "tables" / "unit_months.csv")
    assert len(um) == 4 * 6 and sorted(um["unit_id"].unique()) == ["A", "B", "C", "D"]
    a = um[um["unit_id"] == "A"].set_index("month")
    assert a["consecutive_months"].tolist() == [0, 1, 2, 3, 4, 5]
    assert a.loc["2024-04", "cropland_alert_share"] == pytest.approx(1.0)
    assert a.loc["2024-01", "level"] == "none"
    msgs = pd.read_csv(first.out_dir / "tables" / "alert_messages.csv")
    assert len(msgs) == 10 and set(msgs["sent"]) == {"2024-07-04T08:00:00-00:00"}
    assert set(msgs["certainty"]) == {"Observed"}


def test_run_alerts__bulletin_html(first: WarningResult) -> None:
    html = (first.out_dir / "bulletin_2024-06.html").read_text()
    m = re.search(r'<img[^>]+src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m, "the map must be embedded"
    png = base64.b64decode(m.group(1))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    rows = dict(re.findall(r'<tr data-unit="([^"]+)" data-level="([^"]+)">', html))
    assert rows == {"A": "extreme", "B": "minor", "C": "none", "D": "none", "E": "none"}
    assert "June 2024" in html and "insufficient data" in html and "no pixels" in html
    assert "Alpha" in html and "extreme (Extreme)" in html
    # self-contained: no scripts, stylesheets or images from elsewhere
    assert "<script" not in html and "<link" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_run_alerts__rerun_is_idempotent(
    first: WarningResult, inputs: dict[str, Path], db_url: str, tmp_path: Path
) -> None:
    again = _run(
        inputs,
        tmp_path / "run2",
        db_url,
        sender="ews@example.org",
        sent=SENT + dt.timedelta(days=3),
    )
    assert (again.new_messages, again.started, again.skipped) == (0, 0, 24)
    a = sorted((first.out_dir / "cap").glob("*.xml"))
    b = sorted((again.out_dir / "cap").glob("*.xml"))
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_run_alerts__next_month_only_adds_it(inputs: dict[str, Path], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    _run(inputs, tmp_path / "jun", db)
    jul = _write_cdi(tmp_path / "cdi7.nc", _cdi_cube(7))  # July: everything normal
    res = _run(inputs, tmp_path / "jul", db, cdi=jul, sent=SENT + dt.timedelta(days=30))
    assert (res.new_messages, res.skipped, res.bulletin_month) == (2, 24, "2024-07")
    kinds = pd.read_csv(tmp_path / "jul" / "tables" / "alert_messages.csv")
    jul_msgs = kinds[kinds["month"] == "2024-07"].set_index("unit_id")["kind"].to_dict()
    assert jul_msgs == {"A": "below", "B": "below"}


def test_run_alerts__forecast_stream(inputs: dict[str, Path], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    _run(inputs, tmp_path / "obs", db)
    fc = _run(inputs, tmp_path / "fc", db, is_forecast=True, certainty="Possible")
    assert fc.new_messages == 10  # its own stream: nothing is skipped
    for f in (tmp_path / "fc" / "cap").glob("*.xml"):
        assert f.stem.split("-")[-2] == "forecast"
        text = f.read_text()
        assert "<certainty>Possible</certainty>" in text
        urgency = "Past" if "<msgType>Cancel</msgType>" in text else "Future"
        assert f"<urgency>{urgency}</urgency>" in text
    obs = pd.read_csv(tmp_path / "obs" / "tables" / "alert_messages.csv")
    assert set(obs["certainty"]) == {"Observed"}


def test_run_alerts__misaligned_grid_and_align(inputs: dict[str, Path], tmp_path: Path) -> None:
    coarse = np.full((N // 2, N // 2), 3, np.int16)
    lc = _tif(coarse, tmp_path / "lc_coarse.tif", res=2 * RES)
    bad = {**inputs, "land_cover": lc}
    with pytest.raises(
        CRSMismatchError, match=r"land_cover grid .* does not align with cdi.*--align"
    ):
        _run(bad, tmp_path / "out", f"sqlite:///{tmp_path / 'a.db'}")
    assert not (tmp_path / "out").exists()
    ok = _run(bad, tmp_path / "out", f"sqlite:///{tmp_path / 'a.db'}", align=True)
    assert ok.situation.set_index("unit_id").loc["A", "cropland_area_km2"] > 0


def test_run_alerts__bad_inputs(inputs: dict[str, Path], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    cube = _cdi_cube()
    cube[2, 5, 5] = 9
    bad_cdi = _write_cdi(tmp_path / "bad.nc", cube)
    with pytest.raises(InputError, match=r"cdi \(2024-03\) has class codes \[9\]"):
        _run(inputs, tmp_path / "out", db, cdi=bad_cdi)
    rules = tmp_path / "rules.yaml"
    rules.write_text("levels: [\n")
    with pytest.raises(InputError, match=r"rules.yaml\): not valid YAML"):
        _run(inputs, tmp_path / "out", db, rules=rules)
    with pytest.raises(InputError, match="bulletin month 2025-01 is not in the CDI months"):
        _run(inputs, tmp_path / "out", db, bulletin_month="2025-01")
    with pytest.raises(InputError, match="has no field 'code'"):
        _run(inputs, tmp_path / "out", db, admin_id_field="code")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


# --------------------------------------------------------------------------------------
# CLI (the sub-app mounted as `landwatch warn`)
# --------------------------------------------------------------------------------------


def _cli() -> typer.Typer:
    from landwatch.commands.warn import app as warn_app

    root = typer.Typer()
    root.add_typer(warn_app, name="warn")
    return root


def _cli_args(inputs: dict[str, Path], out: Path, db: str) -> list[str]:
    return [
        "warn", "run", str(inputs["cdi"]), "--admin", str(inputs["admin"]),
        "--land-cover", str(inputs["land_cover"]), "--population", str(inputs["population"]),
        "--out", str(out), "--db", db,
    ]  # fmt: skip


def test_warn_cli__run_and_status(inputs: dict[str, Path], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    res = CliRunner().invoke(_cli(), _cli_args(inputs, tmp_path / "out", db))
    assert res.exit_code == 0, res.output
    assert "10 new messages (3 started, 1 ended)" in re.sub(r"\s+", " ", res.output)
    st = CliRunner().invoke(_cli(), ["warn", "status", "--db", db])
    assert st.exit_code == 0 and "Alpha" in st.output and "Bravo" in st.output
    assert "Charlie" not in st.output  # its alert ended


def test_warn_cli__error_is_one_red_line(inputs: dict[str, Path], tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    doc = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "src/landwatch/data/alert_rules.yaml").read_text()
    )
    doc["levels"][0]["severity"] = "Low"
    rules.write_text(yaml.safe_dump(doc))
    args = [
        *_cli_args(inputs, tmp_path / "out", f"sqlite:///{tmp_path / 'a.db'}"),
        "--rules",
        str(rules),
    ]
    res = CliRunner().invoke(_cli(), args)
    assert res.exit_code == 2
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert "error:" in err and "levels[0].severity" in err
    assert "Traceback" not in res.output
    assert not (tmp_path / "out").exists()
