"""Parity of the SO3 drought classes with Trends.Earth (te_algorithms @ 35b2b7d).

``drought_class.json`` under ``../shared/validation/trends_earth_algorithms/expected``
holds outputs of ``te_algorithms.gdal.drought_numba.drought_class`` on SPI x 1000
int16 inputs (-32768 = no data).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from landwatch.indices.drought.so3 import drought_hazard_class
from landwatch.indices.land.codes import NODATA

pytestmark = pytest.mark.shared_data


def _cases(shared_dir: Path) -> list[dict[str, int]]:
    path = shared_dir / "validation" / "trends_earth_algorithms" / "expected" / "drought_class.json"
    cases = json.loads(path.read_text())["cases"]
    assert len(cases) >= 10
    return cases


def test_drought_hazard_class__trends_earth_truth_table(shared_dir: Path) -> None:
    cases = _cases(shared_dir)
    raw = xr.DataArray(np.array([c["spi_x1000"] for c in cases], dtype=np.int16), dims="cell")
    spi = raw.where(raw != NODATA) / 1000  # how Trends.Earth stores SPI: int16 x 1000
    got = drought_hazard_class(spi, scheme="trends_earth").values
    expected = np.array([c["class"] for c in cases])
    mismatch = [
        (c["spi_x1000"], c["class"], int(g))
        for c, g in zip(cases, got, strict=True)
        if g != c["class"]
    ]
    assert not mismatch, f"(spi_x1000, Trends.Earth, landwatch): {mismatch}"
    np.testing.assert_array_equal(got, expected)


def test_drought_hazard_class__prais_differs_from_trends_earth_only_at_edges(
    shared_dir: Path,
) -> None:
    cases = _cases(shared_dir)
    raw = np.array([c["spi_x1000"] for c in cases], dtype=np.int16)
    spi = xr.DataArray(np.where(raw == NODATA, np.nan, raw / 1000), dims="cell")
    te = drought_hazard_class(spi, scheme="trends_earth").values
    prais = drought_hazard_class(spi, scheme="prais").values
    differ = sorted(int(v) for v in raw[te != prais])
    # SPI exactly 0, -1, -1.5 and -2 are in the truth table and fall one class lower in PRAIS
    assert differ == [-2000, -1500, -1000, 0]
    np.testing.assert_array_equal(prais[te != prais], te[te != prais] + 1)
