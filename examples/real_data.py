"""Run the land kernels on real data from ../shared/data and document the results.

Two cases, both from public R packages (see each folder's README.md):

a. ``npphen_modis_ndvi``: MODIS NDVI 2000-2021 (8 x 8 px, 250 m) over the central
   Chile "mega-drought" (and, for contrast, the Atacama "blooming desert"):
   annual composite, trajectory, state, performance and 5-class LPD for the
   windows 2001-2015 and 2006-2020.
b. ``motif_landcover``: land cover of New Guinea 2001 and 2015 (300 m, 28 M px):
   nesting into the UNCCD classes, land-cover degradation with the default UNCCD
   matrix, the transition matrix in km^2 and the areas degraded / stable / improved.

Writes ``modis_chile.png``, ``modis_chile.json``, ``motif_lc_degradation.png`` and
``motif_landcover.json`` to ``--out`` (default ``docs/real_data``).

Usage::

    .venv/bin/python examples/real_data.py [--shared ../shared] [--out docs/real_data]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyproj  # noqa: E402
import rioxarray  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

import landwatch  # noqa: E402
from landwatch.indices.land import trend  # noqa: E402
from landwatch.indices.land.area import area_by_class, crosstab_area, pixel_area_km2  # noqa: E402
from landwatch.indices.land.codes import (  # noqa: E402
    CLASS3_NAMES,
    LC_CLASSES,
    LPD_CLASSES,
    NODATA,
)
from landwatch.indices.land.composite import annual_composite  # noqa: E402
from landwatch.indices.land.land_cover import (  # noqa: E402
    land_cover_degradation,
    land_cover_transition,
    load_nesting,
    reclassify_land_cover,
)
from landwatch.indices.land.productivity import (  # noqa: E402
    land_productivity_dynamics,
    productivity_performance,
    productivity_state,
    productivity_trajectory,
)
from landwatch.indices.land.timeaxis import select_years  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WINDOWS = ((2001, 2015), (2006, 2020))
TILES = {
    "megadrought": ("npphen_megadrought_central_chile_ndvi.tif", "Central Chile mega-drought"),
    "atacama": ("npphen_bloomingdesert_atacama_ndvi.tif", "Atacama blooming desert"),
}
# Trends.Earth LPD palette
LPD_COLOURS = {1: "#f23c46", 2: "#ffae4c", 3: "#ffff73", 4: "#d9d9d9", 5: "#267300"}
DEG_COLOURS = {-1: "#d7191c", 0: "#f2f2e6", 1: "#1a9641"}
MOTIF_CLASSES = {
    1: "Agriculture",
    2: "Forest",
    3: "Grassland",
    5: "Settlement",
    6: "Shrubland",
    7: "Sparse vegetation",
    9: "Water",
}


# --------------------------------------------------------------------------- helpers


def _counts(da: xr.DataArray, names: dict[int, str]) -> dict[str, int]:
    v = np.asarray(da.values)
    out = {f"{k} {n}": int((v == k).sum()) for k, n in names.items()}
    out["nodata"] = int((v == NODATA).sum())
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def read_modis(path: Path, dates: np.ndarray) -> xr.DataArray:
    """MODIS NDVI x 10000 GeoTIFF (one band per date) -> NDVI in [-1, 1] on datetime64 time."""
    da = rioxarray.open_rasterio(path, masked=True)
    assert isinstance(da, xr.DataArray)
    if da.sizes["band"] != dates.size:
        raise SystemExit(f"{path.name}: {da.sizes['band']} bands but {dates.size} dates")
    da = (da.astype(np.float32) / np.float32(10000.0)).rename(band="time")
    da = da.assign_coords(time=dates)
    da.name = "ndvi"
    da.attrs = {"units": "1", "long_name": "NDVI (MOD13Q1 + MYD13Q1)"}
    return da


# --------------------------------------------------------------------------- a. MODIS


def tile_indicators(annual: xr.DataArray) -> dict[str, Any]:
    """Trajectory, state, performance and LPD of one tile for every window."""
    res: dict[str, Any] = {}
    for start, end in WINDOWS:
        nd = select_years(annual, start, end)
        traj = productivity_trajectory(nd)
        state = productivity_state(nd)  # recent = last 3 years, baseline = the rest
        state_z = productivity_state(nd, method="zscore")
        # one ecological unit = the whole 8 x 8 tile (the only land we have)
        units = xr.zeros_like(nd.isel(time=0, drop=True), dtype=np.int32)
        perf = productivity_performance(nd, units=units)
        lpd = land_productivity_dynamics(traj, state, perf)
        lpd_z = land_productivity_dynamics(traj, state_z, perf)
        years = nd["time"].values
        tile_mean = nd.mean(("y", "x")).values.astype(np.float64)
        mk = trend.mann_kendall(tile_mean)
        sen, sen_b = trend.sens_slope(tile_mean, years.astype(np.float64))
        ols, _ = trend.ols_slope(tile_mean, years.astype(np.float64))
        area = float(pixel_area_km2(nd.y, *nd.rio.resolution(), nd.rio.crs).values[0])
        res[f"{start}-{end}"] = {
            "lpd5": lpd.lpd5,
            "counts": {
                "lpd5": _counts(lpd.lpd5, LPD_CLASSES),
                "lpd5_with_zscore_state": _counts(lpd_z.lpd5, LPD_CLASSES),
                "trajectory": _counts(traj.trajectory, CLASS3_NAMES),
                "state_percentile": _counts(state.state, CLASS3_NAMES),
                "state_zscore": _counts(state_z.state, CLASS3_NAMES),
                "performance": _counts(perf.performance, {-1: "Degraded", 0: "Not degraded"}),
            },
            "lpd5_area_km2": {
                f"{k} {n}": round(float((lpd.lpd5.values == k).sum()) * area, 4)
                for k, n in LPD_CLASSES.items()
            },
            "pixel_area_km2": area,
            "pixels": {
                "negative_sens_slope": int((traj.sens_slope.values < 0).sum()),
                "significant_p_le_0.05": int((traj.p.values <= 0.05).sum()),
                "median_sens_slope_per_yr": float(np.nanmedian(traj.sens_slope.values)),
                "performance_ratio_min": float(np.nanmin(perf.ratio.values)),
                "performance_unit_p90": float(np.nanmax(perf.unit_p90.values)),
            },
            "state_windows": {"baseline": state.attrs["baseline"], "recent": state.attrs["recent"]},
            "tile_mean": {
                "ols_slope_per_yr": float(ols),
                "sens_slope_per_yr": float(sen),
                "sens_intercept": float(sen_b),
                "mann_kendall_s": float(mk.s),
                "mann_kendall_tau": float(mk.tau),
                "mann_kendall_p_two_sided": float(mk.p),
            },
        }
    return res


def run_modis(data: Path, out: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    dates = pd.to_datetime(pd.read_csv(data / "modis_dates.csv")["date"]).values
    obs_per_year = pd.Series(pd.DatetimeIndex(dates).year).value_counts().sort_index()
    result: dict[str, Any] = {
        "source": "labGRS/npphen @ ad220b8, MOD13Q1 + MYD13Q1 NDVI (see data README)",
        "landwatch_version": landwatch.__version__,
        "composite": {"how": "mean", "min_obs": 12, "months": "calendar year"},
        "dates_per_year": {int(k): int(v) for k, v in obs_per_year.items()},
        "tiles": {},
    }
    annuals: dict[str, xr.DataArray] = {}
    for key, (fname, title) in TILES.items():
        ndvi = read_modis(data / fname, dates)
        annual = annual_composite(ndvi, how="mean", min_obs=12)
        annuals[key] = annual
        yrs = annual["time"].values
        tile_mean = annual.mean(("y", "x")).values
        ind = tile_indicators(annual)
        result["tiles"][key] = {
            "title": title,
            "file": fname,
            "crs": str(ndvi.rio.crs),
            "shape": [int(ndvi.sizes["y"]), int(ndvi.sizes["x"])],
            "nodata_fraction_raw": float(np.isnan(ndvi.values).mean()),
            "annual_years": [int(yrs[0]), int(yrs[-1])],
            "dropped_years": sorted(set(pd.DatetimeIndex(dates).year.tolist()) - set(yrs.tolist())),
            "annual_nan_pixel_years": int(np.isnan(annual.values).sum()),
            "tile_mean_annual_ndvi": {
                int(y): round(float(v), 4) for y, v in zip(yrs, tile_mean, strict=True)
            },
            "tile_mean_2001_2009": float(tile_mean[(yrs >= 2001) & (yrs <= 2009)].mean()),
            "tile_mean_2010_2015": float(tile_mean[(yrs >= 2010) & (yrs <= 2015)].mean()),
            "tile_mean_2019_2020": float(tile_mean[(yrs >= 2019) & (yrs <= 2020)].mean()),
            "windows": {w: {k: v for k, v in r.items() if k != "lpd5"} for w, r in ind.items()},
        }
        result["tiles"][key]["_lpd5"] = {w: r["lpd5"] for w, r in ind.items()}
    result["seconds"] = round(time.perf_counter() - t0, 2)
    plot_modis(result, annuals, out / "modis_chile.png")
    for tile in result["tiles"].values():
        tile.pop("_lpd5")
    (out / "modis_chile.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def plot_modis(result: dict[str, Any], annuals: dict[str, xr.DataArray], path: Path) -> None:
    cmap = ListedColormap([LPD_COLOURS[k] for k in LPD_CLASSES])
    norm = BoundaryNorm(np.arange(0.5, 6.5), cmap.N)
    fig = plt.figure(figsize=(11, 7.4), layout="constrained")
    gs = fig.add_gridspec(2, 4, height_ratios=[1, 1.05])
    for i, tile in enumerate(result["tiles"].values()):
        for j, (win, lpd5) in enumerate(tile["_lpd5"].items()):
            ax = fig.add_subplot(gs[0, 2 * i + j])
            v = np.where(lpd5.values == NODATA, np.nan, lpd5.values)
            # km from the tile's south-west corner (UTM coordinates crowd the axis)
            res = abs(float(lpd5.x[1] - lpd5.x[0])) / 1000
            x0 = float(lpd5.x.min()) / 1000 - res / 2
            y0 = float(lpd5.y.min()) / 1000 - res / 2
            ax.imshow(
                v,
                cmap=cmap,
                norm=norm,
                interpolation="nearest",
                extent=(0, v.shape[1] * res, 0, v.shape[0] * res),
            )
            ax.set_title(f"{tile['title']}\nLPD {win}", fontsize=9)
            ax.set_xlabel(f"km east of {x0:.2f} km E (UTM 19S)", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"km north of {y0:.2f} km N", fontsize=7)
            ax.set_xticks([0, 1, 2])
            ax.set_yticks([0, 1, 2])
            ax.tick_params(labelsize=7)
    handles = [Patch(color=LPD_COLOURS[k], label=f"{k} {n}") for k, n in LPD_CLASSES.items()]
    fig.legend(handles=handles, loc="outside upper center", ncol=5, fontsize=8, frameon=False)
    colours = {WINDOWS[0]: "#1f78b4", WINDOWS[1]: "#e31a1c"}
    for i, (key, tile) in enumerate(result["tiles"].items()):
        ax = fig.add_subplot(gs[1, 2 * i : 2 * i + 2])
        annual = annuals[key]
        yrs = annual["time"].values
        ax.fill_between(
            yrs,
            annual.min(("y", "x")).values,
            annual.max(("y", "x")).values,
            color="0.85",
            label="pixel range",
        )
        ax.plot(yrs, annual.mean(("y", "x")).values, "k.-", label="tile-mean annual NDVI")
        for (start, end), col in colours.items():
            tm = tile["windows"][f"{start}-{end}"]["tile_mean"]
            t = np.array([start, end], dtype=float)
            ax.plot(
                t,
                tm["sens_intercept"] + tm["sens_slope_per_yr"] * t,
                color=col,
                lw=2,
                label=(
                    f"Sen trend {start}-{end}: {tm['sens_slope_per_yr'] * 1000:+.2f}e-3/yr, "
                    f"MK p={tm['mann_kendall_p_two_sided']:.3f}"
                ),
            )
        if key == "megadrought":
            for a, b in ((2010, 2015), (2019, 2020)):
                ax.axvspan(a - 0.5, b + 0.5, color="#fdbf6f", alpha=0.35, lw=0)
            ax.text(2010, ax.get_ylim()[1], " mega-drought", va="top", fontsize=7)
        ax.set_title(f"{tile['title']}: annual mean NDVI (MODIS, 8 x 8 px)", fontsize=9)
        ax.set_xlabel("year", fontsize=8)
        ax.set_ylabel("NDVI", fontsize=8)
        ax.set_xticks(yrs[::2])
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="lower left" if key == "megadrought" else "upper left")
    fig.savefig(path, dpi=85)
    plt.close(fig)


# --------------------------------------------------------------------------- b. motif


def equal_area_check(crs: pyproj.CRS, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Areal scale factor of the CRS at grid points (1 = equal-area)."""
    proj = pyproj.Proj(crs)
    xx, yy = np.meshgrid(x, y)
    lon, lat = proj(xx.ravel(), yy.ravel(), inverse=True)
    f = proj.get_factors(lon, lat)
    scale = np.asarray(f.areal_scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "may lose information": just a label
        proj_string = crs.to_proj4()
    return {
        "method": crs.coordinate_operation.method_name if crs.coordinate_operation else crs.name,
        "proj": proj_string,
        "areal_scale_min": float(scale.min()),
        "areal_scale_max": float(scale.max()),
        "checked_points": int(scale.size),
        "lat_range": [float(np.min(lat)), float(np.max(lat))],
    }


def block_priority(a: np.ndarray, factor: int, order: list[int]) -> np.ndarray:
    """Downsample a categorical map by ``factor``: a block takes the first code of
    ``order`` present in it (e.g. degraded before improved before stable)."""
    ny, nx = (a.shape[0] // factor) * factor, (a.shape[1] // factor) * factor
    b = a[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
    out = np.full((ny // factor, nx // factor), NODATA, dtype=a.dtype)
    for code in reversed(order):
        hit = (b == code).any(axis=(1, 3))
        out[hit] = code
    return out


def run_motif(data: Path, nesting_csv: Path, out: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    rss0 = _peak_rss_mb()
    lc = {}
    for year in (2001, 2015):
        da = rioxarray.open_rasterio(data / f"landcover{year}.tif").squeeze("band", drop=True)
        assert isinstance(da, xr.DataArray)
        da.name = f"lc{year}"
        lc[year] = da.load()
    t_read = time.perf_counter() - t0
    ref = lc[2001]
    crs = pyproj.CRS(ref.rio.crs)
    nodata = int(ref.rio.nodata)
    res_x, res_y = ref.rio.resolution()
    ea = equal_area_check(
        crs, ref.x.values[:: ref.sizes["x"] // 8], ref.y.values[:: ref.sizes["y"] // 8]
    )

    nesting = load_nesting(nesting_csv)
    un = {y: reclassify_land_cover(lc[y], nesting, nodata=nodata) for y in lc}
    deg = land_cover_degradation(un[2001], un[2015])
    trans = land_cover_transition(un[2001], un[2015])
    area = pixel_area_km2(ref.y, res_x, res_y, crs)
    px_km2 = float(area.values[0])
    valid = (lc[2001].values != nodata) & (lc[2015].values != nodata)
    excluded = xr.DataArray(~valid, dims=ref.dims, coords={"y": ref.y, "x": ref.x})
    matrix = crosstab_area(
        un[2001].rename("lc2001"),
        un[2015].rename("lc2015"),
        area,
        mask=excluded,
        codes_a=list(LC_CLASSES),
        codes_b=list(LC_CLASSES),
    )
    deg_area = area_by_class(deg, area, codes=list(CLASS3_NAMES), mask=excluded)
    a0, a1 = lc[2001].values, lc[2015].values
    changed_raw = int(((a0 != a1) & valid).sum())
    changed_unccd = int((((trans.values // 10) != (trans.values % 10)) & valid).sum())
    # transitions in the source legend (pixels), largest first
    raw_pairs = pd.Series(
        a0[valid & (a0 != a1)].astype(np.int32) * 10 + a1[valid & (a0 != a1)]
    ).value_counts()
    t_compute = time.perf_counter() - t0 - t_read

    land_km2 = float(valid.sum()) * px_km2
    names = {k: f"{k} {v}" for k, v in LC_CLASSES.items()}
    result: dict[str, Any] = {
        "source": "Nowosad/motif @ 981b85a inst/raster/landcover{2001,2015}.tif (see data README)",
        "landwatch_version": landwatch.__version__,
        "grid": {
            "shape": [int(ref.sizes["y"]), int(ref.sizes["x"])],
            "pixels": int(ref.size),
            "resolution_m": [abs(res_x), abs(res_y)],
            "pixel_area_km2": px_km2,
            "area_method": area.attrs["area_method"],
            "nodata": nodata,
        },
        "equal_area_check": ea,
        "nesting": {str(k): v for k, v in nesting.items()},
        "valid_pixels": int(valid.sum()),
        "valid_area_km2": land_km2,
        "changed_pixels_source_legend": changed_raw,
        "changed_pixels_unccd_legend": changed_unccd,
        "pixels_by_source_class": {
            str(y): {f"{k} {n}": int((lc[y].values == k).sum()) for k, n in MOTIF_CLASSES.items()}
            for y in lc
        },
        "top_source_transitions_pixels": {
            f"{MOTIF_CLASSES[k // 10]} -> {MOTIF_CLASSES[k % 10]}": int(v)
            for k, v in raw_pairs.head(12).items()
        },
        "change_matrix_km2": {
            "rows": "UNCCD class 2001",
            "columns": "UNCCD class 2015",
            "values": {
                names[int(r)]: {names[int(c)]: float(matrix.loc[r, c]) for c in LC_CLASSES}
                for r in LC_CLASSES
            },
            "total_km2": float(matrix.loc[list(LC_CLASSES), list(LC_CLASSES)].values.sum()),
        },
        "lc_degradation_km2": {CLASS3_NAMES[k]: deg_area[k] for k in CLASS3_NAMES},
        "lc_degradation_percent": {
            CLASS3_NAMES[k]: 100.0 * deg_area[k] / land_km2 for k in CLASS3_NAMES
        },
        "lc_degradation_pixels": {
            CLASS3_NAMES[k]: int((deg.values == k).sum()) for k in CLASS3_NAMES
        },
        "seconds": {"read": round(t_read, 2), "compute": round(t_compute, 2)},
        "peak_rss_mb": {"before": round(rss0, 1), "after": round(_peak_rss_mb(), 1)},
    }
    plot_motif(deg, un, result, out / "motif_lc_degradation.png")
    result["seconds"]["total_with_plot"] = round(time.perf_counter() - t0, 2)
    (out / "motif_landcover.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def plot_motif(
    deg: xr.DataArray, un: dict[int, xr.DataArray], result: dict[str, Any], path: Path
) -> None:
    factor = 8
    small = block_priority(deg.values, factor, [-1, 1, 0])
    x = deg.x.values / 1000
    y = deg.y.values / 1000
    extent = (x[0], x[-1], y[-1], y[0])
    cmap = ListedColormap([DEG_COLOURS[k] for k in (-1, 0, 1)])
    cmap.set_bad("#c6dbef")  # no data (sea)
    norm = BoundaryNorm([-1.5, -0.5, 0.5, 1.5], 3)
    fig, ax = plt.subplots(figsize=(10.5, 6.2), layout="constrained")
    ax.imshow(
        np.ma.masked_equal(small, NODATA),
        cmap=cmap,
        norm=norm,
        interpolation="nearest",
        extent=extent,
    )
    km2 = result["lc_degradation_km2"]
    pct = result["lc_degradation_percent"]
    handles = [
        Patch(
            color=DEG_COLOURS[k],
            label=f"{CLASS3_NAMES[k]}: {km2[CLASS3_NAMES[k]]:,.0f} km² ({pct[CLASS3_NAMES[k]]:.2f} %)",
        )
        for k in (-1, 0, 1)
    ]
    handles[1].set_edgecolor("0.5")
    handles.append(Patch(color="#c6dbef", label="no data (sea / outside)"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, title="land-cover change 2001→2015")
    top = list(result["top_source_transitions_pixels"].items())[:4]
    px_km2 = result["grid"]["pixel_area_km2"]
    txt = "Largest transitions (source legend):\n" + "\n".join(
        f"{k}: {v * px_km2:,.0f} km²" for k, v in top
    )
    ax.text(
        0.99, 0.99, txt, transform=ax.transAxes, ha="right", va="top", fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.85, "lw": 0.5},
    )  # fmt: skip
    ax.set_title(
        "New Guinea land-cover degradation 2001→2015 (motif 300 m land cover, UNCCD default matrix)\n"
        f"map shown at {factor * 300 / 1000:.1f} km: a block is red if any of its {factor}×{factor} "
        "pixels is degraded, else green if any improved",
        fontsize=9,
    )
    ax.set_xlabel("x (km, cylindrical equal-area, lon0 140.8° E)", fontsize=8)
    ax.set_ylabel("y (km)", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.savefig(path, dpi=85)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="../shared folder")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "real_data", help="output folder")
    ap.add_argument("--skip-motif", action="store_true", help="only run the MODIS case")
    args = ap.parse_args(argv)
    data = args.shared / "data"
    if not data.is_dir():
        raise SystemExit(f"{data} not found; pass --shared PATH (the folder holding data/)")
    args.out.mkdir(parents=True, exist_ok=True)
    m = run_modis(data / "npphen_modis_ndvi", args.out)
    md = m["tiles"]["megadrought"]
    print(
        f"MODIS: {m['seconds']} s; annual years {md['annual_years']}, dropped {md['dropped_years']}"
    )
    for key, tile in m["tiles"].items():
        for w, r in tile["windows"].items():
            tm = r["tile_mean"]
            print(
                f"  {key} {w}: LPD {r['counts']['lpd5']}; tile-mean Sen "
                f"{tm['sens_slope_per_yr']:+.5f}/yr, MK p {tm['mann_kendall_p_two_sided']:.4f}"
            )
    if not args.skip_motif:
        r = run_motif(data / "motif_landcover", REPO / "examples" / "motif_nesting.csv", args.out)
        print(
            f"motif: {r['valid_pixels']:,} valid px, {r['changed_pixels_source_legend']:,} changed; "
            f"degradation km2 {r['lc_degradation_km2']}; {r['seconds']} s; "
            f"peak RSS {r['peak_rss_mb']['after']} MB"
        )
    print(f"outputs in {args.out}")


if __name__ == "__main__":
    main()
