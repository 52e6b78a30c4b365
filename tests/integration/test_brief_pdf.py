"""Rapid-response briefs on the sample region, read back from the PDF.

For each admin unit of the sample region a land degradation brief (with the LDN run
and a knowledge base seeded with the curated practices) is printed to PDF; the key
numbers read from the PDF text (pypdf) must equal the SDG run's tables
(``sdg_summary.csv``, ``areas_by_class.csv``) rounded as printed, and ``numbers.json``
must say the same. Page 1, rendered with pypdfium2, must be A4, not blank, and its
map must hold the SDG 15.3.1 colours of the unit in proportion to the table. A polygon
drawn exactly over a unit must give the unit's numbers (maps path == tables path).
The drought and hotspots_practices topics render too, and bad input fails with an
InputError before anything is written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pypdf
import pytest
from shapely.geometry import box

from landwatch.errors import InputError
from landwatch.knowledge.matching import match_practices, profile_from_hotspot
from landwatch.knowledge.practices import approved_records, load_builtin_practices
from landwatch.reports.brief import colour_table
from landwatch.sample import SampleRegion
from landwatch.store import init_db, session_scope
from landwatch.workflows.brief import BriefResult, run_brief
from landwatch.workflows.cdi import run_cdi
from landwatch.workflows.ldn import LdnResult, run_ldn
from landwatch.workflows.progress import NullProgress
from landwatch.workflows.sdg1531 import RunResult
from landwatch.workflows.so3 import run_so3
from landwatch.workflows.warning import run_alerts

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

UNITS = ("KE-S01", "KE-S02", "KE-S03", "KE-S04")
A4_PT = (595.28, 841.89)  # 210 x 297 mm


@pytest.fixture(scope="module")
def ldn_run(sample_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> LdnResult:
    return run_ldn(sample_run_dir, tmp_path_factory.mktemp("brief_ldn") / "ldn")


@pytest.fixture(scope="module")
def kb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('brief_kb') / 'kb.sqlite'}"
    engine = init_db(url)
    with session_scope(engine) as session:
        assert load_builtin_practices(session) > 0
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def briefs(
    sample_run_dir: Path, ldn_run: LdnResult, kb_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, BriefResult]:
    out = tmp_path_factory.mktemp("briefs")
    return {
        unit: run_brief(
            out / unit,
            topic="land_degradation",
            sdg_run=sample_run_dir,
            ldn_run=ldn_run.out_dir,
            admin_id=unit,
            database_url=kb_url,
        )
        for unit in UNITS
    }


def _text(pdf: Path) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)


def _row(text: str, label: str, *, numeric: bool = True) -> str:
    """The value printed after ``label`` on its line of the key number table."""
    value = r"([-+]?\d.*)" if numeric else "(.+)"
    m = re.search(rf"^{re.escape(label)} {value}$", text, flags=re.MULTILINE)
    assert m, f"{label!r} not found in the PDF text"
    return m.group(1).strip()


def _pct_km2(value: str) -> tuple[float, float]:
    m = re.fullmatch(r"(-?[\d.]+) % \(([\d,.]+) km²\)", value)
    assert m, value
    return float(m.group(1)), float(m.group(2).replace(",", ""))


def _km2(value: str) -> float:
    m = re.fullmatch(r"([\d,.]+) km²", value)
    assert m, value
    return float(m.group(1).replace(",", ""))


def test_run_brief__every_unit_prints_an_a4_pdf(briefs: dict[str, BriefResult]) -> None:
    for unit, b in briefs.items():
        assert b.pdf.is_file() and b.html.is_file() and (b.out_dir / "numbers.json").is_file()
        reader = pypdf.PdfReader(b.pdf)
        assert len(reader.pages) >= 2
        for page in reader.pages:
            w, h = float(page.mediabox.width), float(page.mediabox.height)
            assert (w, h) == pytest.approx(A4_PT, abs=0.5)
        text = _text(b.pdf)
        assert f"({unit})" in text
        assert f"Page 1 of {len(reader.pages)}" in text  # page numbers printed
        for heading in (
            "Key numbers",
            "Methods",
            "Data sources",
            "Caveats",
            "Version and provenance",
        ):
            assert heading in text
        # the HTML opens offline: every image is embedded, nothing is fetched
        html = b.html.read_text()
        assert html.count('src="data:image/png;base64,') >= 3
        assert not re.search(r'(src|href)="(https?:)?//', html)


@pytest.mark.parametrize("unit", UNITS)
def test_run_brief__pdf_numbers_equal_the_sdg_tables(
    unit: str, briefs: dict[str, BriefResult], sample_run: RunResult
) -> None:
    b = briefs[unit]
    text = _text(b.pdf)
    summ = sample_run.tables["sdg_summary"]
    areas = sample_run.tables["areas_by_class"]
    periods = sample_run.summary["periods"]
    base, latest = "baseline", list(periods)[-1]

    def head(period: str) -> pd.Series:
        return summ[(summ["period"] == period) & (summ["admin_id"] == unit)].iloc[0]

    def yrs(period: str) -> str:
        return "-".join(str(v) for v in periods[period]["productivity"])

    hb, hl = head(base), head(latest)
    assert _km2(_row(text, "Land area (water excluded)")) == round(hl["land_area_km2"], 1)
    pct, km2 = _pct_km2(_row(text, f"Degraded land, baseline ({yrs(base)})"))
    assert (pct, km2) == (round(hb["sdg_15_3_1_percent"], 1), round(hb["degraded_km2"], 1))
    pct, km2 = _pct_km2(_row(text, f"Degraded land, {latest} ({yrs(latest)})"))
    assert (pct, km2) == (round(hl["sdg_15_3_1_percent"], 1), round(hl["degraded_km2"], 1))
    change = round(hl["sdg_15_3_1_percent"], 1) - round(hb["sdg_15_3_1_percent"], 1)
    assert _row(text, "Change of the degraded share since the baseline") == (
        f"{'+' if round(change, 1) > 0 else '-' if round(change, 1) < 0 else ''}"
        f"{abs(change):.1f} percentage points"
    )
    lpd = areas[
        (areas["period"] == latest) & (areas["admin_id"] == unit) & (areas["indicator"] == "lpd5")
    ]
    for r in lpd[lpd["class_code"] > 0].itertuples():
        pct, km2 = _pct_km2(_row(text, str(r.class_name)))
        assert (pct, km2) == (round(r.percent_of_land, 1), round(r.area_km2, 1)), r.class_name
    # numbers.json holds what the page prints
    doc = json.loads((b.out_dir / "numbers.json").read_text())["numbers"]
    assert doc == b.numbers
    assert doc["degraded_latest_pct"] == round(hl["sdg_15_3_1_percent"], 1)
    assert doc["degraded_baseline_km2"] == round(hb["degraded_km2"], 1)
    assert doc["lpd_declining_km2"] == round(
        float(lpd[lpd["class_code"] == 1]["area_km2"].iloc[0]), 1
    )
    # the interpretation text quotes the same numbers
    assert (
        f"{doc['degraded_latest_pct']:.1f} % of the land ({doc['degraded_latest_km2']:,.1f} km²)"
        in text
    )


def _render_page1(pdf: Path, scale: float = 2.0):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    doc = pdfium.PdfDocument(str(pdf))
    try:
        page = doc[0]
        size = page.get_size()
        img = np.asarray(page.render(scale=scale).to_pil().convert("RGB"))
        # (left, bottom, right, top) in points
        boxes = [
            obj.get_bounds() if hasattr(obj, "get_bounds") else obj.get_pos()
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
        ]
        page.close()
    finally:
        doc.close()
    return size, img, boxes


def _near(img: np.ndarray, colour: str, tol: int = 6) -> np.ndarray:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return (np.abs(img.astype(int) - rgb) <= tol).all(axis=-1)


@pytest.mark.parametrize("unit", UNITS)
def test_run_brief__page_one_is_a4_with_the_indicator_map(
    unit: str, briefs: dict[str, BriefResult], sample_run: RunResult
) -> None:
    (w, h), img, boxes = _render_page1(briefs[unit].pdf)
    assert (w, h) == pytest.approx(A4_PT, abs=0.5)
    assert img.shape[0] / img.shape[1] == pytest.approx(297 / 210, rel=0.01)
    ink = (img < 200).any(axis=-1).mean()
    assert ink > 0.05, "page 1 is (nearly) blank"
    assert boxes, "page 1 has no image: the map is not on page 1"
    left, bottom, right, top = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    assert (right - left) * (top - bottom) > 0.2 * w * h  # a map, not an icon
    s = img.shape[1] / w
    crop = img[int((h - top) * s) : int((h - bottom) * s), int(left * s) : int(right * s)]
    colours = {code: c for code, (c, _) in colour_table("class3").items()}
    shares = {code: _near(crop, c).mean() for code, c in colours.items()}
    areas = sample_run.tables["areas_by_class"]
    sdg = areas[(areas["admin_id"] == unit) & (areas["indicator"] == "sdg")]
    # the two panels (baseline, latest) are mostly stable land, with degraded land drawn
    assert shares[0] > 0.15
    deg_pct = float(sdg[sdg["class_code"] == -1]["percent_of_land"].mean())
    assert shares[-1] > 0.1 * deg_pct / 100
    assert shares[-1] < shares[0]
    imp_pct = float(sdg[sdg["class_code"] == 1]["percent_of_land"].mean())
    if imp_pct > 1:
        assert shares[1] > 0.05 * imp_pct / 100
    # outside the map the page holds none of the indicator colours (they are the map's)
    rest = img.copy()
    rest[int((h - top) * s) : int((h - bottom) * s), int(left * s) : int(right * s)] = 255
    assert _near(rest, colours[-1]).mean() < 1e-4


def test_run_brief__polygon_over_a_unit_gives_the_unit_numbers(
    sample_region: SampleRegion,
    sample_run_dir: Path,
    briefs: dict[str, BriefResult],
    ldn_run: LdnResult,
    tmp_path: Path,
) -> None:
    units = gpd.read_file(sample_region.out_dir / "admin.gpkg", layer="admin1")
    poly = tmp_path / "unit.geojson"
    units[units["admin_id"] == "KE-S03"][["geometry"]].to_file(poly)
    b = run_brief(
        tmp_path / "brief",
        topic="land_degradation",
        sdg_run=sample_run_dir,
        ldn_run=ldn_run.out_dir,
        area=poly,
    )
    unit = dict(briefs["KE-S03"].numbers)
    got = dict(b.numbers)
    assert got.pop("area") == "the polygon unit" and unit.pop("area")
    for k in ("top_practice", "top_practice_score"):  # no knowledge base given here
        unit.pop(k, None)
    assert got == unit
    assert "polygon" in _text(b.pdf)


def test_run_brief__small_polygon_across_units(
    sample_run_dir: Path, ldn_run: LdnResult, tmp_path: Path
) -> None:
    poly = tmp_path / "field.geojson"
    gpd.GeoDataFrame(geometry=[box(37.30, -1.55, 37.50, -1.40)], crs=4326).to_file(poly)
    b = run_brief(
        tmp_path / "b", topic="ldn", sdg_run=sample_run_dir, ldn_run=ldn_run.out_dir, area=poly
    )
    n = b.numbers
    assert 0 < float(n["land_area_km2"]) < 0.2 * 9865
    assert n["ldn_verdict"] in ("achieved", "not achieved", "net gain")
    assert float(n["ldn_gain_km2"]) >= 0 and float(n["ldn_loss_km2"]) >= 0
    assert _row(_text(b.pdf), "Losses") == f"{float(n['ldn_loss_km2']):,.1f} km²"


@pytest.fixture(scope="module")
def drought_runs(
    sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    d = sample_region.out_dir
    tmp = tmp_path_factory.mktemp("brief_drought")
    run_so3(
        d / "climate_monthly.nc",
        tmp / "so3",
        population=d / "population.tif",
        admin=d / "admin.gpkg",
        admin_layer="admin1",
        land_cover=d / "land_cover_2000.tif",
    )
    cdi = run_cdi(d / "climate_monthly.nc", tmp / "cdi", ndvi=d / "ndvi_monthly.nc")
    db = f"sqlite:///{tmp / 'alerts.db'}"
    run_alerts(
        Path(cdi) / "cdi.nc",
        tmp / "warn",
        admin=d / "admin.gpkg",
        admin_layer="admin1",
        land_cover=d / "land_cover_2015.tif",
        population=d / "population.tif",
        cdi_variable="cdi",
        align=True,
        database_url=db,
    )
    return {
        "so3": tmp / "so3",
        "warning": tmp / "warn",
        "db": Path(db.removeprefix("sqlite:///")),
        "admin": d / "admin.gpkg",
    }


def test_run_brief__drought_topic(drought_runs: dict[str, Path], tmp_path: Path) -> None:
    progress = NullProgress()
    b = run_brief(
        tmp_path / "drought",
        topic="drought",
        so3_run=drought_runs["so3"],
        warning_run=drought_runs["warning"],
        admin_id="KE-S03",
        database_url=f"sqlite:///{drought_runs['db']}",
        progress=progress,
    )
    assert len(progress.messages) == progress.total == 6
    months = pd.read_csv(drought_runs["warning"] / "tables" / "unit_months.csv")
    last = months[
        (months["unit_id"] == "KE-S03") & (months["month"] == months["month"].max())
    ].iloc[0]
    n = b.numbers
    assert n["alert_level"] == last["level"]
    assert n["population_exposed"] == round(last["population_exposed"])
    assert n["drought_months"] == last["consecutive_months"]
    so3 = pd.read_csv(drought_runs["so3"] / "tables" / "so3_1_drought_totals.csv")
    row = so3[(so3["zone"] == "KE-S03 Nyika North") & (so3["year"] == so3["year"].max())].iloc[0]
    assert n["drought_land_pct"] == round(row["drought_percent"], 1)
    assert -4 < float(n["spi3_latest"]) < 4 and -4 < float(n["spi12_latest"]) < 4
    text = _text(b.pdf)
    assert "Standardized Precipitation Index" in text and "Combined Drought Indicator" in text
    assert _row(text, "Alert level", numeric=False) == last["level"]
    assert len(pypdf.PdfReader(b.pdf).pages) >= 2
    alerts = pd.read_csv(drought_runs["warning"] / "tables" / "alerts.csv")
    open_ = alerts[(alerts["unit_id"] == "KE-S03") & (alerts["status"] == "active")]
    if not open_.empty:  # from the database: the open alert and its start
        assert n["alert_since"] == open_["start_month"].iloc[-1]
        assert "Alerts open in the database" in text
    # a polygon drawn over the unit: the same numbers, from the maps and the CDI cube
    units = gpd.read_file(drought_runs["admin"], layer="admin1")
    unit_poly = tmp_path / "unit.geojson"
    units[units["admin_id"] == "KE-S03"][["geometry"]].to_file(unit_poly)
    u = run_brief(
        tmp_path / "unit",
        topic="drought",
        so3_run=drought_runs["so3"],
        warning_run=drought_runs["warning"],
        area=unit_poly,
    )
    same = {k: v for k, v in n.items() if k not in ("area", "alert_since")}
    assert {k: v for k, v in u.numbers.items() if k != "area"} == same
    # a polygon smaller than a climate cell: the numbers of the touched cells, said so
    poly = tmp_path / "tiny.geojson"
    gpd.GeoDataFrame(geometry=[box(37.451, -1.451, 37.452, -1.450)], crs=4326).to_file(poly)
    p = run_brief(
        tmp_path / "tiny", topic="drought", warning_run=drought_runs["warning"], area=poly
    )
    assert p.numbers["alert_level"] in ("none", "minor", "moderate", "severe", "extreme")
    assert "cells it touches" in _text(p.pdf)


def test_run_brief__hotspots_practices_topic(
    ldn_run: LdnResult, kb_url: str, tmp_path: Path
) -> None:
    b = run_brief(
        tmp_path / "hp", topic="hotspots_practices", ldn_run=ldn_run.out_dir, database_url=kb_url
    )
    hot = ldn_run.tables["hotspots_report_2"]
    assert b.numbers["hotspots_count"] == len(hot)
    assert b.numbers["top_hotspot_rank"] == 1
    engine = init_db(kb_url)
    with session_scope(engine) as s:
        records = approved_records(s)
    engine.dispose()
    top = hot[hot["rank"] == 1].iloc[0].to_dict()
    best = match_practices(profile_from_hotspot(top), records, top=3)
    assert b.numbers["top_practice"] == best[0].name
    text = _text(b.pdf)
    assert "Recommended practices" in text
    for m in best:  # the three practices of the top hotspot, with their reasons
        assert m.name.split(" (")[0][:40] in text.replace("\n", " ")
    assert "Why: addresses" in text
    (w, h), img, boxes = _render_page1(b.pdf)
    assert boxes and (img < 200).any(axis=-1).mean() > 0.05


def _no_output(out: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.partial-*"))


def test_run_brief__bad_input_is_an_input_error_and_writes_nothing(
    sample_run_dir: Path, ldn_run: LdnResult, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(
        InputError,
        match=r"--admin 'KE-S99' is not an admin unit of admin.gpkg; its units are KE-S01, KE-S02",
    ):
        run_brief(out, topic="land_degradation", sdg_run=sample_run_dir, admin_id="KE-S99")
    _no_output(out)
    far = tmp_path / "far.geojson"
    gpd.GeoDataFrame(geometry=[box(10, 10, 11, 11)], crs=4326).to_file(far)
    with pytest.raises(InputError, match=r"far.geojson .* lies outside the run's maps"):
        run_brief(out, topic="land_degradation", sdg_run=sample_run_dir, area=far)
    _no_output(out)
    with pytest.raises(
        InputError,
        match=r"--sdg-run: '.*missing' does not exist; expected an output folder of `landwatch sdg1531`",
    ):
        run_brief(out, topic="land_degradation", sdg_run=tmp_path / "missing")
    _no_output(out)
    with pytest.raises(InputError, match=r"--topic drought needs a drought run: pass --so3-run"):
        run_brief(out, topic="drought", sdg_run=sample_run_dir)
    _no_output(out)
    with pytest.raises(
        InputError, match=r"is an output folder of `landwatch ldn`, not of `landwatch sdg1531`"
    ):
        run_brief(out, topic="land_degradation", sdg_run=ldn_run.out_dir)
    _no_output(out)
    with pytest.raises(InputError, match="either --admin .* or --area"):
        run_brief(
            out, topic="land_degradation", sdg_run=sample_run_dir, admin_id="KE-S01", area=far
        )
    _no_output(out)
    with pytest.raises(InputError, match="--topic 'soil' is unknown"):
        run_brief(out, topic="soil", sdg_run=sample_run_dir)
    _no_output(out)
    empty_kb = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    with pytest.raises(InputError, match="no approved practice"):
        run_brief(out, topic="hotspots_practices", ldn_run=ldn_run.out_dir, database_url=empty_kb)
    _no_output(out)
    out.mkdir()
    with pytest.raises(InputError, match="already exists"):
        run_brief(out, topic="land_degradation", sdg_run=sample_run_dir)


def test_brief_command__prints_numbers_and_fails_cleanly(
    sample_run_dir: Path, tmp_path: Path
) -> None:
    import typer
    from typer.testing import CliRunner

    from landwatch.commands.brief import brief

    app = typer.Typer()
    app.command("brief")(brief)
    app.callback()(lambda: None)
    runner = CliRunner()
    args = ["brief", "--topic", "land_degradation", "--sdg-run", str(sample_run_dir)]
    r = runner.invoke(app, [*args, "--admin", "KE-S02", "--out", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert "degraded_latest_pct" in r.output and (tmp_path / "b" / "brief.pdf").is_file()
    r = runner.invoke(app, [*args, "--admin", "XX", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "not an admin unit" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "c").exists()
