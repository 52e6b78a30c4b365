"""The fused gamma SPI kernel against scipy and climate_indices.

Since the SPI speed-up, gamma SPI no longer calls ``scipy.special.gammainc`` and
``ndtri``: it evaluates P(a, x) with its own series / continued fraction, once per
cell and calendar month (:func:`gamma_p_shared_shape`), and the normal quantile with
Wichura's AS241 (:func:`normal_quantile`). These tests pin that the numbers did not
move: against scipy on a wide (a, x) grid and on whole SPI fields, and against the
climate_indices fixtures.

Tolerances. SPI values agree to 1e-12 (found: 3e-14 after the default +-3.09 clip).
Without the clip, the upper tail is limited by float64 itself: H = p0 + (1-p0) P is
stored with an absolute error of 1 ulp (1.1e-16 below 1), which Phi^-1 turns into
1.1e-16 / phi(z), e.g. 2.4e-12 at z = 4.3 and 7e-8 at z = 6.4, for scipy as for
landwatch (against 50-digit mpmath values, both sit within that bound, on opposite
sides). There the bound is 1e-12 + 2 ulp / phi(z).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special

from landwatch.indices.drought import rolling_sum, standardized_precipitation_index
from landwatch.indices.drought.distributions import (
    GAMMA_P_MAX_SHAPE,
    calibration_statistics,
    gamma_parameters,
    normal_quantile,
    regularized_gamma_p,
)
from landwatch.indices.drought.spi import calibration_rows

spi = standardized_precipitation_index
ULP1 = 2.0**-53  # spacing of float64 just below 1


def _upper_tail_bound(z: np.ndarray) -> np.ndarray:
    """1e-12 plus what 2 ulp of H move Phi^-1(H) at z (see the module docstring)."""
    phi = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return 1e-12 + 2.0 * ULP1 / phi


def _assert_spi_close(new: np.ndarray, ref: np.ndarray, *, clipped: bool) -> None:
    np.testing.assert_array_equal(np.isnan(new), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(new), np.isinf(ref))
    np.testing.assert_array_equal(new[np.isinf(new)], ref[np.isinf(ref)])
    fin = np.isfinite(ref)
    diff = np.abs(new[fin] - ref[fin])
    if clipped:
        assert diff.max(initial=0.0) <= 1e-12
        return
    lower = ref[fin] <= 0.0
    assert diff[lower].max(initial=0.0) <= 1e-12
    assert np.all(diff[~lower] <= _upper_tail_bound(ref[fin][~lower]))


# ----------------------------------------------------------------------------- P(a, x)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    shapes = np.unique(
        np.concatenate(
            [
                np.geomspace(0.05, 200.0, 150),
                [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.999, 4.0, 4.001, 5.0, 10.0, 20.0, 50.0, 100.0],
                [300.0, 999.0, 1000.0, 1001.0, 5000.0],  # up to and past GAMMA_P_MAX_SHAPE
            ]
        )
    )
    edges = np.array([0.0, 5e-324, 1e-300, 1e-100, 1e-10, 1e-3, 1.0, 1e3, 1e6, 1e300, np.inf])
    a = shapes[:, None]
    x = np.concatenate(
        [
            a * np.geomspace(1e-6, 40.0, 300)[None, :],  # tiny to huge relative to a
            a + np.sqrt(a) * np.linspace(-8.0, 8.0, 81)[None, :],  # around the median
            np.broadcast_to(edges, (shapes.size, edges.size)),
        ],
        axis=1,
    )
    x = np.where(x < 0, 0.0, x)
    return np.broadcast_to(a, x.shape).copy(), x


def test_regularized_gamma_p__matches_scipy_gammainc_on_a_wide_grid() -> None:
    a, x = _grid()
    assert a.min() == 0.05 and a.max() > GAMMA_P_MAX_SHAPE
    ours = regularized_gamma_p(a, x)
    ref = special.gammainc(a, x)
    assert np.isfinite(ours).all()
    # absolute agreement everywhere; exact 0 and 1 in the same places
    assert np.max(np.abs(ours - ref)) <= 1e-14  # found 3.7e-15
    np.testing.assert_array_equal(ours == 0.0, ref == 0.0)
    np.testing.assert_array_equal(ours == 1.0, ref == 1.0)
    # relative agreement in the lower tail, down to 1e-300, for a <= 200 (near a = 1000
    # scipy itself is 2e-12 off there against mpmath, landwatch 1e-13)
    tail = (ref > 1e-300) & (ref < 0.5) & (a <= 200.0)
    assert np.max(np.abs(ours[tail] - ref[tail]) / ref[tail]) <= 1e-12  # found 2.3e-13 at P~1e-300
    # SPI of these probabilities: kernel (AS241) against scipy ndtri
    z = normal_quantile(ours)
    z_ref = special.ndtri(ref)
    clipped = np.clip(z, -3.09, 3.09) - np.clip(z_ref, -3.09, 3.09)
    assert np.max(np.abs(clipped)) <= 1e-12  # found 3e-14
    _assert_spi_close(z, z_ref, clipped=False)


def test_regularized_gamma_p__edges_and_invalid_input() -> None:
    out = regularized_gamma_p(
        np.array([2.0, 2.0, 2.0, 0.0, -1.0, np.nan, 2.0, 1.0]),
        np.array([0.0, np.inf, -1.0, 1.0, 1.0, 1.0, np.nan, 3.0]),
    )
    assert out[0] == 0.0 and out[1] == 1.0
    assert np.isnan(out[2:7]).all()
    assert out[7] == pytest.approx(1.0 - np.exp(-3.0), rel=1e-15, abs=0)  # P(1, x) = 1 - e^-x


def test_normal_quantile__matches_scipy_ndtri() -> None:
    p = np.concatenate(
        [
            np.geomspace(5e-324, 0.5, 4000),
            np.linspace(0.0, 1.0, 200_001),
            1.0 - np.geomspace(2.0**-53, 0.5, 2000),
            [0.075, 0.925, 0.5 - 0.425, 0.5 + 0.425, np.exp(-25.0), 1.0 - np.exp(-25.0)],
        ]
    )
    z = normal_quantile(p)
    z_ref = special.ndtri(p)
    fin = np.isfinite(z_ref)
    assert np.max(np.abs(z[fin] - z_ref[fin])) <= 1e-13  # found 2.1e-14 at z = -38.4
    assert z[p == 0.0].tolist() == [-np.inf] * int(np.sum(p == 0.0))
    assert z[p == 1.0].tolist() == [np.inf] * int(np.sum(p == 1.0))
    assert np.isnan(normal_quantile(np.array([-1e-300, 1.0 + 2**-52, np.nan]))).all()


# ----------------------------------------------------------------------------- whole SPI


def _scipy_spi(
    pr: xr.DataArray, scale: int, method: str, calibration: tuple[int, int], clip: float | None
) -> np.ndarray:
    """SPI as landwatch computed it before the fused kernel: same fit, scipy CDF and ndtri."""
    years = pr.time.dt.year.values
    month = pr.time.dt.month.values - 1
    rows = calibration_rows(month, (years >= calibration[0]) & (years <= calibration[1]))
    tm = pr.values.reshape(pr.shape[0], -1).astype(np.float64)
    acc = rolling_sum(tm, scale, axis=0)
    stats = calibration_statistics(acc, rows, 1 if method == "lmoments" else 0, 0.0)
    alpha, beta, p0 = gamma_parameters(stats, method, min_valid=20)  # type: ignore[arg-type]
    a, b, q = alpha[month], beta[month], p0[month]
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(acc == 0.0, q, q + (1.0 - q) * special.gammainc(a, acc / b))
        z = special.ndtri(h)
    if clip is not None:
        z = np.clip(z, -clip, clip)
    return z.reshape(pr.shape)


def _synthetic(kind: str) -> xr.DataArray:
    rng = np.random.default_rng({"arid": 1, "humid": 2, "steady": 3}[kind])
    nt, ny, nx = 12 * 45, 3, 4
    if kind == "arid":  # shapes < 1 and many zero months and zero windows
        v = rng.gamma(0.35, 20.0, size=(nt, ny, nx))
        v[rng.random(v.shape) < 0.45] = 0.0
    elif kind == "humid":  # SPI-12 shapes in the hundreds
        v = rng.gamma(25.0, 8.0, size=(nt, ny, nx))
    else:  # nearly constant: shapes above GAMMA_P_MAX_SHAPE go to scipy
        v = 100.0 + rng.normal(0.0, 0.5, size=(nt, ny, nx))
    v[rng.random(v.shape) < 0.002] = np.nan
    t = pd.date_range("1971-01", periods=nt, freq="MS")
    return xr.DataArray(v, dims=("time", "y", "x"), coords={"time": t}, attrs={"units": "mm"})


@pytest.mark.parametrize("kind", ["arid", "humid", "steady"])
@pytest.mark.parametrize("method", ["thom", "mle", "lmoments"])
@pytest.mark.parametrize("clip", [3.09, None])
def test_standardized_precipitation_index__fused_kernel_equals_scipy_path(
    kind: str, method: str, clip: float | None
) -> None:
    pr = _synthetic(kind)
    for scale in (1, 3, 12):
        new = spi(pr, scale=scale, method=method, clip=clip).values  # type: ignore[arg-type]
        ref = _scipy_spi(pr, scale, method, (1981, 2010), clip)
        _assert_spi_close(new, ref, clipped=clip is not None)
    if kind == "steady":  # the scipy fallback was exercised
        years = pr.time.dt.year.values
        month = pr.time.dt.month.values - 1
        acc = rolling_sum(pr.values.reshape(pr.shape[0], -1), 12, axis=0)
        rows = calibration_rows(month, (years >= 1981) & (years <= 2010))
        kind_id = 1 if method == "lmoments" else 0
        alpha = gamma_parameters(calibration_statistics(acc, rows, kind_id, 0.0), method)[0]  # type: ignore[arg-type]
        assert np.nanmax(alpha) > GAMMA_P_MAX_SHAPE


def _nclimdiv(shared_dir: Path) -> xr.DataArray:
    path = (
        shared_dir / "data/climate_indices_ref/nclimdiv_ncei/division_precip_inches_1895_2022.csv"
    )
    df = pd.read_csv(path, dtype={"month": str})
    t = pd.to_datetime(df["month"] + "-01")
    return xr.DataArray(
        df.iloc[:, 1:].to_numpy(float) * 25.4,
        dims=("time", "division"),
        coords={"time": t.values},
        attrs={"units": "mm"},
    )


@pytest.mark.parametrize("scale", [3, 12])
@pytest.mark.parametrize("method", ["thom", "mle", "lmoments"])
def test_standardized_precipitation_index__nclimdiv_equals_scipy_path(
    shared_dir: Path, scale: int, method: str
) -> None:
    pr = _nclimdiv(shared_dir)  # 344 divisions x 1536 months, shapes 0.6-194
    for clip in (3.09, None):
        new = spi(pr, scale=scale, method=method, clip=clip).values  # type: ignore[arg-type]
        ref = _scipy_spi(pr, scale, method, (1981, 2010), clip)
        _assert_spi_close(new, ref, clipped=clip is not None)


@pytest.mark.parametrize(("fixture", "scale"), [("spi_01_gamma", 1), ("spi_06_gamma", 6)])
def test_standardized_precipitation_index__climate_indices_fixture_with_fused_kernel(
    shared_dir: Path, fixture: str, scale: int
) -> None:
    # climate_indices spi(precips, scale, gamma, 1895, calibration 1895-2017, monthly)
    d = shared_dir / "data" / "climate_indices_ref"
    values = np.load(d / "precips_mm_monthly.npy").ravel()
    t = pd.date_range("1895-01", periods=values.size, freq="MS")
    pr = xr.DataArray(values, dims=("time",), coords={"time": t}, attrs={"units": "mm"})
    ref = np.load(d / f"{fixture}.npy").ravel()
    new = spi(pr, scale=scale, method="thom", calibration=(1895, 2017)).values
    old = _scipy_spi(pr, scale, "thom", (1895, 2017), 3.09)
    np.testing.assert_array_equal(np.isnan(new), np.isnan(ref))
    # the kernel swap moves nothing that matters: new = scipy path to 1e-12, and the
    # distance to climate_indices is the one the scipy path had (1.1e-11 / 5e-12)
    assert np.nanmax(np.abs(new - old)) <= 1e-12
    assert np.nanmax(np.abs(new - ref)) <= np.nanmax(np.abs(old - ref)) + 1e-12
    assert np.nanmax(np.abs(new - ref)) <= 2e-11
