"""The block-by-block unit percentiles (used on chunked runs: no whole-grid copies) equal
the whole-array computation and numpy's 'linear' percentile exactly."""

from __future__ import annotations

import numpy as np
import pytest

from landwatch.indices.land.productivity import (
    _unit_percentiles,
    _unit_percentiles_of_blocks,
)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("percentile", [90.0, 50.0, 0.0, 100.0, 33.3])
def test_blocks_equal_whole_array(seed: int, percentile: float) -> None:
    rng = np.random.default_rng(seed)
    n_blocks = int(rng.integers(1, 6))
    dtype = rng.choice([np.float32, np.float64])
    means, units = [], []
    for _ in range(n_blocks):
        shape = (int(rng.integers(0, 9)), int(rng.integers(1, 9)))
        m = rng.normal(0.4, 0.2, shape).astype(dtype)
        if rng.random() < 0.5:  # ties
            m = np.round(m, 1).astype(dtype)
        m[rng.random(shape) < 0.1] = np.nan
        u = rng.integers(0, 7, shape).astype(np.int32)
        u[rng.random(shape) < 0.1] = -1  # outside every unit
        means.append(m)
        units.append(u)
    codes_b, pct_b = _unit_percentiles_of_blocks(means, units, percentile)
    whole_m = np.concatenate([m.ravel() for m in means])
    whole_u = np.concatenate([u.ravel() for u in units])
    codes_w, pct_w = _unit_percentiles(whole_m, whole_u, percentile)
    assert np.array_equal(codes_b, codes_w)
    assert np.array_equal(pct_b, pct_w), (pct_b, pct_w)
    for code, value in zip(codes_b, pct_b, strict=True):
        sel = (whole_u == code) & np.isfinite(whole_m)
        assert value == np.percentile(whole_m[sel].astype(np.float64), percentile)
