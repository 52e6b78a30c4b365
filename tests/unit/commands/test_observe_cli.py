"""`landwatch observe`: happy path end to end and one-red-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from pyproj import CRS
from typer.testing import CliRunner

from landwatch.commands.observe import observe_app
from landwatch.indices.land.codes import NODATA
from landwatch.io.rasters import write_cog_array

runner = CliRunner()


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LANDWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LANDWATCH_DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'cli.db'}"


def invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr with rich's line wrapping undone."""
    res = runner.invoke(observe_app, list(args))
    return res.exit_code, " ".join(res.stdout.split()), " ".join(res.stderr.split())


def test_observe__happy_path(db: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "maps" / "report_2").mkdir(parents=True)
    write_cog_array(
        np.zeros((4, 4), np.int16),
        run / "maps" / "report_2" / "sdg.tif",
        crs_wkt=CRS("EPSG:4326").to_wkt(),
        transform=(0.0025, 0.0, 37.0, 0.0, -0.0025, -1.0),
        nodata=NODATA,
    )
    (run / "summary.json").write_text(
        json.dumps(
            {"baseline": "report_2", "periods": {"report_2": {"productivity": [2008, 2023]}}}
        )
    )
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    code, out, err = invoke(
        "add", "--lon", "37.004", "--lat", "-1.004", "--date", "2022-05-01",
        "--role", "community monitor", "--category", "vegetation_state", "--state", "degraded",
        "--text", "Nyasi imekauka", "--language", "sw", "--photo", str(photo),
        "--lik", "--lik-name", "no termite mounds", "--db", db,
    )  # fmt: skip
    assert code == 0, err
    uid = out.strip()
    assert len(uid) == 36
    assert list((tmp_path / "data" / "observations" / "photos").rglob("*.jpg"))

    code, out, err = invoke("check", str(run), "--db", db)
    assert code == 0, err
    assert "possible_false_negative: 1" in out

    code, out, err = invoke("validate", uid[:8], "--confirm", "--by", "officer", "--db", db)
    assert code == 0, err
    assert f"{uid}: confirmed by officer" in out

    code, out, err = invoke("list", "--status", "confirmed", "--db", db)
    assert code == 0 and uid[:8] in out

    code, out, err = invoke(
        "corrections", str(tmp_path / "c.geojson"), "--radius-m", "300", "--db", db
    )
    assert code == 0, err
    assert "Wrote 1 correction polygons (report_2)" in out
    feat = json.loads((tmp_path / "c.geojson").read_text())["features"][0]
    assert feat["properties"]["recode_stable_to"] == -1

    code, out, err = invoke("export", str(tmp_path / "o.csv"), "--lik-only", "--db", db)
    assert code == 0, err
    assert "Exported 1 observations (1 photos)" in out

    code, out, err = invoke("import", str(tmp_path / "o.csv"), "--skip-existing", "--db", db)
    assert code == 0, err
    assert "Imported 0 observations" in out and "1 already present, skipped" in out


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (
            ["add", "--lon", "37", "--lat", "95", "--date", "2022-05-01", "--role", "farmer",
             "--category", "crop_failure"],
            r"lat: 95 is outside -90\.\.90 degrees",
        ),
        (
            ["add", "--lon", "37", "--lat", "-1", "--date", "2022-05-01", "--role", "farmer",
             "--category", "crop_failure", "--language", "Kiswahili!"],
            r"language: 'Kiswahili!' is not a well-formed language tag",
        ),
        (["validate", "0f8fad5b", "--confirm", "--by", "x"], r"observation '0f8fad5b' does not exist"),
        (["validate", "0f8fad5b", "--by", "x"], r"exactly one of --confirm, --reject"),
        (["check", "nowhere"], r"run folder 'nowhere' has no summary.json"),
        (["corrections", "c.geojson"], r"no confirmed observation contradicts the map"),
        (["import", "missing.csv"], r"observations: file 'missing.csv' does not exist"),
        (["export", "o.csv", "--since", "May 2022"], r"--since 'May 2022': expected a date"),
    ],
)  # fmt: skip
def test_observe__errors_are_one_red_line(db: str, args: list[str], pattern: str) -> None:
    code, out, err = invoke(*args, "--db", db)
    assert code == 2
    assert err.startswith("error: ")
    assert "Traceback" not in err
    import re

    assert re.search(pattern, err), err


def test_observe__debug_shows_the_exception(db: str) -> None:
    """Under the main app's --debug the error propagates (the main app shows a traceback)."""
    root = typer.Typer()

    @root.callback()
    def main(debug: bool = typer.Option(False, "--debug")) -> None:
        pass

    root.add_typer(observe_app, name="observe")
    res = runner.invoke(root, ["--debug", "observe", "check", "nowhere", "--db", db])
    assert res.exit_code == 1
    assert "summary.json" in str(res.exception)
