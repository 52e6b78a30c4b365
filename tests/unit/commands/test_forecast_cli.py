"""`landwatch forecast run`: a happy path and one-red-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from landwatch.commands.forecast import app

runner = CliRunner()


def write_csv(path: Path, n_years: int = 34, drop: int | None = None) -> Path:
    rng = np.random.default_rng(6)
    nt = 12 * n_years
    z = np.zeros((nt, 3))
    for t in range(1, nt):
        z[t] = 0.7 * z[t - 1] + rng.normal(0, 0.5, 3)
    season = 60 + 30 * np.cos(2 * np.pi * (np.arange(nt) % 12) / 12)
    values = season[:, None] * np.exp(0.4 * z) * rng.gamma(4.0, 0.25, (nt, 3))
    df = pd.DataFrame(values.round(1), columns=["unit_a", "unit_b", "unit_c"])
    df.insert(0, "time", pd.date_range("1985-01", periods=nt, freq="MS").strftime("%Y-%m"))
    if drop is not None:
        df = df.drop(index=drop)
    df.to_csv(path, index=False)
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, ["run", *args])
    return res.exit_code, res.stdout, res.stderr


def test_forecast_cli__runs_and_prints_the_verdicts(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "pr.csv")
    code, out, err = invoke(str(src), "--out", str(tmp_path / "fc"), "--model", "linear")
    assert code == 0, err
    assert "Forecast issued 2018-12 for 3 units" in out
    assert "lead 1 linear: " in out and "persistence" in out
    fc = pd.read_csv(tmp_path / "fc" / "forecasts.csv")
    assert fc["is_forecast"].all() and len(fc) == 9
    skill = json.loads((tmp_path / "fc" / "skill.json").read_text())
    assert skill["settings"]["models"] == ["linear"]


def _one_red_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    text = " ".join(lines)
    assert lines[0].startswith("error:"), err
    assert "Traceback" not in err
    for n in needles:
        assert n in text, (n, err)


def test_forecast_cli__bad_inputs_exit_2(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "pr.csv")
    gappy = write_csv(tmp_path / "gappy.csv", drop=100)
    code, _, err = invoke(str(gappy), "--out", str(tmp_path / "a"))
    _one_red_line(code, err, "not a complete monthly sequence", "Add the missing months")

    short = write_csv(tmp_path / "short.csv", n_years=20)
    code, _, err = invoke(str(short), "--out", str(tmp_path / "b"))
    _one_red_line(code, err, "(20 years)", "needs at least 32 years")

    enso = tmp_path / "enso.csv"
    pd.DataFrame({"time": ["1985-01", "1985-02"], "nino34": [0.1, 0.2]}).to_csv(enso, index=False)
    code, _, err = invoke(
        str(src), "--out", str(tmp_path / "c"), "--drivers", str(enso), "--driver-columns", "oni"
    )
    _one_red_line(code, err, "unknown columns ['oni']", "nino34")

    code, _, err = invoke(str(src), "--out", str(tmp_path / "d"), "--leads", "1,x")
    _one_red_line(code, err, "--leads '1,x'")
    code, _, err = invoke(str(src), "--out", str(tmp_path / "e"), "--model", "forest")
    _one_red_line(code, err, "--model 'forest'")
    code, _, err = invoke(str(src), "--out", str(tmp_path / "f"), "--calibration", "1981")
    _one_red_line(code, err, "--calibration '1981'")
    code, _, err = invoke(str(src), "--out", str(tmp_path / "g"), "--issue", "2040-01")
    _one_red_line(code, err, "outside the record")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # nothing half-written
