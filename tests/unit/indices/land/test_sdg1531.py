"""Unit tests of landwatch.indices.land.sdg1531."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA
from landwatch.indices.land.sdg1531 import (
    KEEP,
    apply_corrections,
    one_out_all_out,
    status_expanded,
)

VALS = [-1, 0, 1, NODATA]


def _da(v) -> xr.DataArray:
    return xr.DataArray(np.asarray(v, dtype=np.int16), dims=("x",))


def test_one_out_all_out__rules() -> None:
    p = _da([-1, 0, 0, 1, 0, 1, NODATA])
    lc = _da([1, 0, 1, 0, 0, -1, 0])
    soc = _da([1, 0, 0, 0, NODATA, 1, 0])
    out = one_out_all_out(p, lc, soc)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out.values, [-1, 0, 1, 1, NODATA, -1, NODATA])


def test_one_out_all_out__nan_is_nodata_and_bad_value() -> None:
    out = one_out_all_out(xr.DataArray([np.nan, 0.0]), xr.DataArray([0.0, 1.0]))
    np.testing.assert_array_equal(out.values, [NODATA, 1])
    with pytest.raises(InputError, match=r"indicator 2 has values 2; expected -1"):
        one_out_all_out(_da([0]), _da([2]))
    with pytest.raises(InputError, match="no indicators"):
        one_out_all_out()


layers = st.lists(st.sampled_from(VALS), min_size=6, max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(layers, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_one_out_all_out__symmetric_in_argument_order(arrays, rnd) -> None:
    das = [_da(a) for a in arrays]
    shuffled = das[:]
    rnd.shuffle(shuffled)
    xr.testing.assert_identical(one_out_all_out(*das), one_out_all_out(*shuffled))


def test_one_out_all_out__dask_equals_numpy() -> None:
    rng = np.random.default_rng(3)
    das = [
        xr.DataArray(rng.choice(np.array(VALS, np.int16), (30, 20)), dims=("y", "x"))
        for _ in range(3)
    ]
    eager = one_out_all_out(*das)
    lazy = one_out_all_out(*(d.chunk(7) for d in das))
    assert lazy.chunks is not None
    xr.testing.assert_identical(eager, lazy.compute())


def test_status_expanded__matrix() -> None:
    b, p = np.meshgrid(VALS, VALS, indexing="ij")
    ds = status_expanded(_da(b.ravel()), _da(p.ravel()))
    s7 = ds.status7.values.reshape(4, 4)
    np.testing.assert_array_equal(s7[:3, :3], [[1, 3, 6], [2, 4, 6], [2, 5, 7]])
    assert (s7[3] == NODATA).all() and (s7[:, 3] == NODATA).all()
    np.testing.assert_array_equal(
        ds.status3.values.reshape(4, 4)[:3, :3], [[-1, -1, 1], [-1, 0, 1], [-1, 1, 1]]
    )


def test_status_expanded__dask_equals_numpy() -> None:
    rng = np.random.default_rng(4)
    b = xr.DataArray(rng.choice(np.array(VALS, np.int16), (25, 25)), dims=("y", "x"))
    p = xr.DataArray(rng.choice(np.array(VALS, np.int16), (25, 25)), dims=("y", "x"))
    xr.testing.assert_identical(
        status_expanded(b, p), status_expanded(b.chunk(6), p.chunk(9)).compute()
    )


def test_apply_corrections__recodes_inside_polygons() -> None:
    sdg = _da([-1, 0, 1, -1, 0, 1, NODATA, -1])
    ids = _da([1, 1, 1, 2, 2, 2, 1, 0])
    rules = {1: (0, KEEP, NODATA), 2: (1, -1, KEEP)}
    out = apply_corrections(sdg, ids, rules)
    np.testing.assert_array_equal(out.values, [0, 0, NODATA, 1, -1, 1, NODATA, -1])
    lazy = apply_corrections(sdg.chunk(3), ids.chunk(3), rules)
    xr.testing.assert_identical(out, lazy.compute())


def test_apply_corrections__bad_target() -> None:
    with pytest.raises(InputError, match=r"rule 3 has stable_to=5; expected one of -1"):
        apply_corrections(_da([0]), _da([3]), {3: (KEEP, 5, KEEP)})
    with pytest.raises(InputError, match=r"rule 1 has 2 values; expected 3"):
        apply_corrections(_da([0]), _da([1]), {1: (0, 1)})
    with pytest.raises(InputError, match=r"id 0 is < 1"):
        apply_corrections(_da([0]), _da([1]), {0: (0, 1, 1)})


def test_apply_corrections__polygon_without_rule() -> None:
    with pytest.raises(InputError, match=r"polygon ids 7 without a rule"):
        apply_corrections(_da([0, 1]), _da([1, 7]), {1: (KEEP, KEEP, KEEP)})
