"""Unit tests of landwatch.indices.land.area."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from landwatch.errors import InputError
from landwatch.indices.land.area import (
    area_by_class,
    cell_area_m2,
    crosstab_area,
    pixel_area_km2,
)
from landwatch.indices.land.codes import NODATA

WGS84_SURFACE_M2 = 510065621.7 * 1e6  # GRS80/WGS84 ellipsoid surface area


def _grid(values: np.ndarray, res: float = 0.5, top: float = 10.0) -> xr.DataArray:
    ny, nx = values.shape
    y = top - res / 2 - res * np.arange(ny)
    x = res / 2 + res * np.arange(nx)
    return xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x})


def test_pixel_area_km2__global_grid_sums_to_ellipsoid() -> None:
    y = 89.5 - np.arange(180)
    a = pixel_area_km2(y, 1.0, -1.0, "EPSG:4326")
    assert a.dims == ("y",) and a.attrs["units"] == "km2"
    assert float(a.sum()) * 360 * 1e6 == pytest.approx(WGS84_SURFACE_M2, rel=1e-9)
    # symmetric about the equator, largest at the equator
    np.testing.assert_allclose(a.values, a.values[::-1], rtol=1e-12)
    assert a.values.argmax() in (89, 90)


def test_pixel_area_km2__sphere_and_projected() -> None:
    sphere = "+proj=longlat +R=6371000 +no_defs"
    a = pixel_area_km2(np.array([0.5]), 1.0, 1.0, sphere)
    r = 6371.0
    expected = 2 * np.pi * r**2 * np.sin(np.deg2rad(1.0)) / 360
    assert float(a[0]) == pytest.approx(expected, rel=1e-9)
    utm = pixel_area_km2(np.array([0.0, 30.0]), 30.0, -30.0, "EPSG:32633")
    np.testing.assert_allclose(utm.values, 9e-4)
    assert "conformal" in utm.attrs["area_method"]
    laea = pixel_area_km2(np.array([0.0]), 100.0, 100.0, "EPSG:3035")
    assert "equal-area" in laea.attrs["area_method"] and float(laea[0]) == pytest.approx(0.01)
    with pytest.warns(UserWarning, match="reproject to an equal-area CRS"):
        pixel_area_km2(np.array([0.0]), 100.0, 100.0, "EPSG:3857")


def test_pixel_area_km2__errors() -> None:
    with pytest.raises(InputError, match=r"resolution is \(0.0, 1.0\)"):
        pixel_area_km2(np.array([0.0]), 0.0, 1.0, "EPSG:4326")
    with pytest.raises(InputError, match="crs 'nonsense' is not a valid CRS"):
        pixel_area_km2(np.array([0.0]), 1.0, 1.0, "nonsense")
    with pytest.raises(InputError, match="needs a geographic CRS"):
        cell_area_m2(0, 1, 1, crs="EPSG:3857")


def test_area_by_class__weights_rows_and_mask() -> None:
    cls = _grid(np.array([[1, 1, 2], [NODATA, 2, 2]], dtype=np.int16))
    area = xr.DataArray([10.0, 20.0], dims=("y",), coords={"y": cls.y})
    out = area_by_class(cls, area, codes=[1, 2, 3])
    assert out == {NODATA: 20.0, 1: 20.0, 2: 50.0, 3: 0.0}
    mask = np.array([[True, False, False], [False, False, True]])
    assert area_by_class(cls, area, mask=mask) == {NODATA: 20.0, 1: 10.0, 2: 30.0}
    # scalar area, float classes with NaN read as NODATA
    f = cls.astype(float).where(cls != NODATA)
    assert area_by_class(f, 1.0) == {NODATA: 1.0, 1: 2.0, 2: 3.0}


def test_area_by_class__bad_area_shape() -> None:
    cls = _grid(np.ones((2, 3), dtype=np.int16))
    with pytest.raises(InputError, match=r"area_km2 has shape \(2,\).*area\[:, None\]"):
        area_by_class(cls, np.array([1.0, 2.0]))


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.int16, (7, 5), elements=st.sampled_from([-1, 0, 1, 3, 250, NODATA])),
    arrays(np.bool_, (7, 5)),
)
def test_area_by_class__sums_to_total_area(values, mask) -> None:
    cls = _grid(values)
    area = pixel_area_km2(cls.y, 0.5, 0.5, "EPSG:4326")
    total = float((area * xr.ones_like(cls, dtype=float)).where(~mask).sum())
    out = area_by_class(cls, area, mask=mask)
    assert sum(out.values()) == pytest.approx(total, rel=1e-12, abs=1e-9)
    assert NODATA in out


def test_area_tables__dask_equals_numpy() -> None:
    rng = np.random.default_rng(7)
    a = _grid(rng.choice(np.array([-1, 0, 1, NODATA], np.int16), (60, 50)))
    b = _grid(rng.choice(np.array([1, 2, 3, 7, NODATA], np.int16), (60, 50)))
    mask = _grid(rng.random((60, 50)) < 0.1)
    area = pixel_area_km2(a.y, 0.5, 0.5, "EPSG:4326")
    eager = area_by_class(a, area, mask=mask)
    lazy = area_by_class(a.chunk({"y": 16, "x": 13}), area, mask=mask.chunk(20))
    assert eager.keys() == lazy.keys()
    for k in eager:
        assert lazy[k] == pytest.approx(eager[k], rel=1e-12)
    ct = crosstab_area(a, b, area, mask=mask)
    ct_lazy = crosstab_area(a.chunk(11), b.chunk(17), area, mask=mask)
    np.testing.assert_allclose(ct_lazy.values, ct.values, rtol=1e-12)
    assert ct.values.sum() == pytest.approx(sum(eager.values()), rel=1e-12)
    np.testing.assert_allclose(ct.sum(axis=1).values, [eager[k] for k in ct.index], rtol=1e-12)


def test_crosstab_area__labels_and_zero_fill() -> None:
    a = _grid(np.array([[1, 1], [2, 3]], dtype=np.int16)).rename("lc2000")
    b = _grid(np.array([[1, 3], [2, 3]], dtype=np.int16)).rename("lc2015")
    ct = crosstab_area(a, b, 2.0, codes_a=[1, 2, 3, 4], codes_b=[1, 2, 3, 4])
    assert ct.index.name == "lc2000" and ct.columns.name == "lc2015"
    assert ct.shape == (4, 4)
    assert ct.loc[1, 3] == 2.0 and ct.loc[1, 1] == 2.0 and ct.loc[4].sum() == 0.0
