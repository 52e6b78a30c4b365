"""Unit tests of landwatch.indices.land.land_cover."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA
from landwatch.indices.land.land_cover import (
    TransitionMatrix,
    land_cover_degradation,
    land_cover_transition,
    load_nesting,
    load_transition_matrix,
    reclassify_land_cover,
)

UNCCD = np.array(
    [
        [0, -1, -1, -1, -1, -1, 0],
        [1, 0, 1, -1, -1, -1, 0],
        [1, -1, 0, -1, -1, -1, 0],
        [-1, -1, -1, 0, -1, -1, 0],
        [1, 1, 1, 1, 0, 1, 0],
        [1, 1, 1, 1, -1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ]
)


def _pairs() -> tuple[xr.DataArray, xr.DataArray]:
    vals = [1, 2, 3, 4, 5, 6, 7, NODATA]
    a, b = np.meshgrid(vals, vals, indexing="ij")
    dims = ("y", "x")
    return (
        xr.DataArray(a.astype(np.int16), dims=dims),
        xr.DataArray(b.astype(np.int16), dims=dims),
    )


def test_load_transition_matrix__default_is_unccd() -> None:
    m = load_transition_matrix()
    assert m.codes == (1, 2, 3, 4, 5, 6, 7)
    assert m.names[0] == "Tree-covered" and m.names[-1] == "Water body"
    np.testing.assert_array_equal(m.meaning, UNCCD)


def test_load_transition_matrix__user_csv(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text(
        "# three classes\ninitial_code,initial_name,10,20,30\n"
        "10,Forest,0,-1,-1\n20,Crop,1,0,-1\n30,Urban,1,1,0\n"
    )
    m = load_transition_matrix(p)
    assert m.codes == (10, 20, 30)
    assert m.as_dict()[(10, 30)] == -1
    out = land_cover_degradation(
        xr.DataArray([10, 20, 30, 30]), xr.DataArray([30, 10, 20, NODATA]), matrix=m
    )
    np.testing.assert_array_equal(out.values, [-1, 1, 1, NODATA])


def test_load_transition_matrix__wrong_size(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    rows = (UNCCD[:6]).tolist()
    text = "initial_code,initial_name,1,2,3,4,5,6,7\n" + "".join(
        f"{i + 1},c{i + 1}," + ",".join(map(str, r)) + "\n" for i, r in enumerate(rows)
    )
    p.write_text(text)
    with pytest.raises(InputError, match=r"6 rows but 7 columns; expected a square matrix"):
        load_transition_matrix(p)


def test_load_transition_matrix__value_2(tmp_path: Path) -> None:
    bad = UNCCD.copy()
    bad[2, 4] = 2
    text = "initial_code,initial_name,1,2,3,4,5,6,7\n" + "".join(
        f"{i + 1},c{i + 1}," + ",".join(map(str, r)) + "\n" for i, r in enumerate(bad)
    )
    p = tmp_path / "m.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=r"'c3' -> code 5 is 2; expected -1 .* or 1"):
        load_transition_matrix(p)


def test_load_transition_matrix__missing_name(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("initial_code,initial_name,1,2\n1,,0,-1\n2,Crop,1,0\n")
    with pytest.raises(InputError, match=r"classes \[1\] have no name"):
        load_transition_matrix(p)


def test_transition_matrix__rejects_non_square() -> None:
    with pytest.raises(InputError, match="square"):
        TransitionMatrix((1, 2), ("a", "b"), np.zeros((2, 3)))


def test_load_nesting__esa_cci_and_mapping() -> None:
    n = load_nesting("esa_cci")
    assert n[10] == 3 and n[50] == 1 and n[210] == 7 and n[220] == 6 and n[0] == NODATA
    assert load_nesting({1: 2, 5: 7}) == {1: 2, 5: 7}
    with pytest.raises(InputError, match=r"code 5 is nested into 9; expected a UNCCD class"):
        load_nesting({5: 9})


def test_load_nesting__bad_columns(tmp_path: Path) -> None:
    p = tmp_path / "n.csv"
    p.write_text("legend,target\n1,2\n")
    with pytest.raises(InputError, match="expected 'code' and 'unccd_code'"):
        load_nesting(p)


def test_reclassify_land_cover__esa(tmp_path: Path) -> None:
    lc = xr.DataArray(np.array([[10, 50, 0], [210, 220, 255]], dtype=np.uint8), dims=("y", "x"))
    out = reclassify_land_cover(lc, load_nesting("esa_cci"), nodata=255)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out.values, [[3, 1, NODATA], [7, 6, NODATA]])


def test_reclassify_land_cover__unknown_codes() -> None:
    lc = xr.DataArray(np.array([10, 11, 999, 5, 4]), dims=("x",), name="lc2015")
    with pytest.raises(
        InputError,
        match=r"'lc2015' has codes not in the nesting table: 4, 5, 999;.*Add them to the nesting table",
    ):
        reclassify_land_cover(lc, load_nesting("esa_cci"))


def test_reclassify_land_cover__names_at_most_10_codes() -> None:
    lc = xr.DataArray(np.arange(1000, 1015), dims=("x",))
    with pytest.raises(InputError, match=r"1009 and 5 more") as info:
        reclassify_land_cover(lc, {1: 1})
    assert "1010" not in str(info.value)


def test_reclassify_land_cover__dask_equals_numpy() -> None:
    rng = np.random.default_rng(1)
    codes = np.array(sorted(load_nesting("esa_cci")))
    lc = xr.DataArray(rng.choice(codes, size=(40, 30)), dims=("y", "x"))
    nest = load_nesting("esa_cci")
    a = reclassify_land_cover(lc, nest)
    b = reclassify_land_cover(lc.chunk({"y": 7, "x": 11}), nest)
    assert b.chunks is not None
    xr.testing.assert_identical(a, b.compute())


def test_land_cover_transition__codes_and_nodata() -> None:
    a, b = _pairs()
    out = land_cover_transition(a, b)
    assert out.dtype == np.int16
    assert out.values[0, 2] == 13 and out.values[6, 0] == 71
    assert (out.values[-1] == NODATA).all() and (out.values[:, -1] == NODATA).all()


def test_land_cover_transition__rejects_unreclassified() -> None:
    with pytest.raises(InputError, match=r"lc_initial has codes 50.*reclassify_land_cover"):
        _ = land_cover_transition(xr.DataArray([50]), xr.DataArray([1])).values


def test_land_cover_degradation__all_pairs() -> None:
    a, b = _pairs()
    out = land_cover_degradation(a, b)
    np.testing.assert_array_equal(out.values[:7, :7], UNCCD)
    assert (out.values[7] == NODATA).all() and (out.values[:, 7] == NODATA).all()


def test_land_cover_degradation__unknown_class() -> None:
    with pytest.raises(InputError, match=r"lc_final has codes 8"):
        land_cover_degradation(xr.DataArray([1]), xr.DataArray([8]))


@pytest.mark.parametrize("fn", [land_cover_transition, land_cover_degradation])
def test_land_cover_kernels__dask_equals_numpy(fn) -> None:
    rng = np.random.default_rng(0)
    vals = np.array([1, 2, 3, 4, 5, 6, 7, NODATA], dtype=np.int16)
    a = xr.DataArray(rng.choice(vals, (50, 40)), dims=("y", "x"))
    b = xr.DataArray(rng.choice(vals, (50, 40)), dims=("y", "x"))
    eager = fn(a, b)
    lazy = fn(a.chunk(13), b.chunk(17))
    assert lazy.chunks is not None
    xr.testing.assert_identical(eager, lazy.compute())
