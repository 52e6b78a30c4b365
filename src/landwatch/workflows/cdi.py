"""Combined Drought Indicator workflow: monthly climate (+ NDVI, soil moisture) -> CDI.

Reads a monthly climate file (``pr`` and ``tas`` for Thornthwaite PET), optionally
a soil-moisture grid (else the Thornthwaite-Mather bucket estimates it from P and
PET), a monthly NDVI grid for the vegetation anomaly, and a land cover raster for
per-land-type rules; writes one folder:

* ``cdi.nc``: ``cdi`` (int16 codes, ``landwatch/data/cdi_classes.csv``) and the
  inputs it was derived from (``spi_1``, ``spi_3``, ``soil_moisture``,
  ``soil_moisture_anomaly``, ``vegetation_anomaly``), CF-NetCDF with the CRS;
* ``cdi_area_fraction.csv``: per month, the share of valid cells in each class;
* ``cdi_latest.png``: the map of the last month and the class shares over time.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import landwatch
from landwatch.errors import InputError
from landwatch.indices.drought import (
    potential_evapotranspiration_thornthwaite,
    standardized_precipitation_index,
)
from landwatch.indices.drought.cdi import CDI_CLASSES, combined_drought_indicator, load_cdi_rules
from landwatch.indices.drought.water_balance import bucket_soil_moisture, monthly_anomaly
from landwatch.indices.land.codes import NODATA
from landwatch.io import outputs as out_io
from landwatch.io.rasters import open_raster
from landwatch.workflows.cluster import per_block, spatial_chunks
from landwatch.workflows.drought import _latitude
from landwatch.workflows.progress import NullProgress, Progress

__all__ = ["run_cdi"]

_COLOURS = {
    0: "#f0f0f0",
    1: "#ffe600",
    2: "#ff9900",
    3: "#e60000",
    4: "#a6d96a",
    5: "#1a9641",
}


def _monthly(path: Path, name: str, variable: str, chunks: int | None = None) -> xr.DataArray:
    da = open_raster(path, name=name, variable=variable, chunks=spatial_chunks(chunks))
    if "time" not in da.dims:
        raise InputError(
            f"{name}: {path.name}:{variable} has no time dimension; expected monthly (time, y, x)."
        )
    return da


def _same_grid(a: xr.DataArray, b: xr.DataArray, name: str) -> None:
    for d in ("y", "x"):
        if a.sizes.get(d) != b.sizes.get(d) or not np.allclose(a[d].values, b[d].values):
            raise InputError(
                f"{name} is on another grid than the climate file ({d}: {b.sizes.get(d)} vs "
                f"{a.sizes.get(d)} cells); expected the same grid. Aggregate or reproject it to the "
                "climate grid first (e.g. rio.reproject_match with average resampling)."
            )


def _common_months(ref: xr.DataArray, other: xr.DataArray) -> xr.DataArray:
    """``other`` on ``ref``'s months: missing months become NaN (e.g. NDVI before 2000)."""
    key_ref = pd.DatetimeIndex(ref["time"].values).to_period("M")
    key_oth = pd.DatetimeIndex(other["time"].values).to_period("M")
    other = other.assign_coords(time=key_oth.to_timestamp().values)
    return other.reindex(time=key_ref.to_timestamp().values).assign_coords(time=ref["time"].values)


def run_cdi(
    climate: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    ndvi: str | os.PathLike[str] | None = None,
    ndvi_variable: str = "ndvi",
    soil_moisture: str | os.PathLike[str] | None = None,
    soil_moisture_variable: str = "soil_moisture",
    land_cover: str | os.PathLike[str] | None = None,
    rules: str | os.PathLike[str] | None = None,
    pr_variable: str = "pr",
    tas_variable: str = "tas",
    calibration: tuple[int, int] | None = (1981, 2010),
    vegetation_calibration: tuple[int, int] | None = None,
    capacity: float = 150.0,
    overwrite: bool = False,
    progress: Progress | None = None,
    chunks: int | None = None,
) -> Path:
    """Compute the Combined Drought Indicator and write the output folder.

    Parameters
    ----------
    climate
        NetCDF/Zarr with monthly ``pr`` (mm/month) and ``tas`` (degC).
    out
        Output folder (appears only when complete).
    ndvi
        Monthly NDVI on the climate grid (vegetation anomaly); without it no Alert
        or Partial recovery can be raised, which the output metadata states.
    soil_moisture
        Monthly soil moisture on the climate grid; default: the bucket model.
    land_cover
        UNCCD land cover on the climate grid, for per-land-type rules.
    rules
        CDI rules YAML (default ``landwatch/data/cdi_rules.yaml``).
    calibration
        SPI and soil-moisture anomaly reference years.
    vegetation_calibration
        NDVI anomaly reference years (default: every NDVI year).
    capacity
        Bucket available water capacity (mm).
    chunks
        Spatial dask chunks of the grids (None: in memory); computed on the active
        Dask scheduler, with the same values (the kernels that reduce along time run
        per block with numpy, :func:`landwatch.workflows.cluster.per_block`).
    """
    progress = progress or NullProgress()
    progress.start(8)
    cdi_rules = load_cdi_rules(None if rules is None else Path(rules))
    src = Path(climate)
    pr = _monthly(src, "precipitation", pr_variable, chunks).astype(np.float64)
    if pr.chunks is not None:
        pr = pr.chunk({"time": -1})
    pr.attrs.setdefault("units", "mm/month")
    progress.step("read climate")
    spi1 = standardized_precipitation_index(pr, scale=1, calibration=calibration)
    spi3 = standardized_precipitation_index(pr, scale=3, calibration=calibration)
    progress.step("SPI-1 and SPI-3")
    if soil_moisture is not None:
        sm = _monthly(Path(soil_moisture), "soil moisture", soil_moisture_variable, chunks)
        _same_grid(pr, sm, "soil moisture")
        sm = _common_months(pr, sm)
        sm_source = f"input {Path(soil_moisture).name}:{soil_moisture_variable}"
    else:
        tas = _monthly(src, "temperature", tas_variable, chunks)
        pet = per_block(potential_evapotranspiration_thornthwaite, tas, _latitude(pr))
        pet = pet.transpose(*pr.dims)
        sm = bucket_soil_moisture(pr, pet, capacity=capacity)
        sm_source = f"Thornthwaite-Mather bucket, capacity {capacity:g} mm, Thornthwaite PET"
    sma = per_block(monthly_anomaly, sm, calibration=calibration)
    progress.step("soil moisture anomaly")
    veg = None
    veg_source = "none (no Alert or Partial recovery possible)"
    if ndvi is not None:
        nd = _monthly(Path(ndvi), "ndvi", ndvi_variable, chunks)
        _same_grid(pr, nd, "ndvi")
        veg = per_block(monthly_anomaly, _common_months(pr, nd), calibration=vegetation_calibration)
        veg_source = f"NDVI anomaly from {Path(ndvi).name}:{ndvi_variable}"
    progress.step("vegetation anomaly")
    lt = None
    if land_cover is not None:
        lt = open_raster(Path(land_cover), name="land cover")
        if "time" in lt.dims or "band" in lt.dims:
            lt = lt.isel({d: 0 for d in lt.dims if d in ("time", "band")}, drop=True)
        _same_grid(pr, lt, "land cover")
        lt = lt.assign_coords(y=pr["y"], x=pr["x"])
    cdi = combined_drought_indicator(spi3, spi1, sma, veg, rules=cdi_rules, land_type=lt).compute()
    progress.step("combined drought indicator")

    ds = xr.Dataset(
        {
            "cdi": cdi,
            "spi_1": spi1.astype(np.float32),
            "spi_3": spi3.astype(np.float32),
            "soil_moisture": sm.astype(np.float32),
            "soil_moisture_anomaly": sma.astype(np.float32),
        }
    )
    if veg is not None:
        ds["vegetation_anomaly"] = veg.astype(np.float32)
    ds = ds.compute()
    ds["cdi"].attrs.update({"soil_moisture_source": sm_source, "vegetation_source": veg_source})
    crs = pr.rio.crs
    ds = ds.drop_vars("spatial_ref", errors="ignore")
    for k in ds.data_vars:
        ds[k].attrs.pop("grid_mapping", None)
        ds[k].encoding.pop("grid_mapping", None)
    if crs is not None:
        ds = ds.rio.write_crs(crs)
        for k in ds.data_vars:
            ds[k].attrs["grid_mapping"] = "spatial_ref"
    ds.attrs.update(
        {
            "Conventions": "CF-1.8",
            "title": "landwatch combined drought indicator",
            "source": str(src),
            "history": f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} landwatch "
            f"{landwatch.__version__} cdi calibration={calibration}",
        }
    )
    shares = _area_fractions(ds["cdi"])
    with out_io.atomic_output_dir(out, overwrite=overwrite) as tmp:
        enc = {k: {"zlib": True, "complevel": 4} for k in ds.data_vars}
        enc["cdi"]["_FillValue"] = NODATA
        ds.to_netcdf(tmp / "cdi.nc", encoding=enc)
        shares.to_csv(tmp / "cdi_area_fraction.csv", index_label="time", float_format="%.6g")
        _figure(ds["cdi"], shares, tmp / "cdi_latest.png")
        progress.step("wrote cdi.nc, area fractions and map")
    return Path(out)


def _area_fractions(cdi: xr.DataArray) -> pd.DataFrame:
    spatial = [d for d in cdi.dims if d != "time"]
    valid = (cdi != NODATA).sum(spatial)
    cols = {}
    for code, name in CDI_CLASSES.items():
        if code == NODATA:
            continue
        n = (cdi == code).sum(spatial)
        cols[name] = (n / valid.where(valid > 0)).values
    idx = pd.DatetimeIndex(cdi["time"].values).strftime("%Y-%m")
    return pd.DataFrame(cols, index=idx)


def _figure(cdi: xr.DataArray, shares: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    codes = sorted(_COLOURS)
    cmap = ListedColormap([_COLOURS[c] for c in codes])
    norm = BoundaryNorm(np.arange(-0.5, len(codes) + 0.5), cmap.N)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.8]})
    last = cdi.isel(time=-1)
    arr = np.where(last.values == NODATA, np.nan, last.values).astype(float)
    ax0.imshow(arr, cmap=cmap, norm=norm, interpolation="nearest")
    ax0.set_title(f"Combined drought indicator, {str(cdi['time'].values[-1])[:7]}", fontsize=10)
    ax0.set_xticks([])
    ax0.set_yticks([])
    t = pd.to_datetime(shares.index)
    bottom = np.zeros(len(shares))
    for c in codes[1:]:
        v = shares[CDI_CLASSES[c]].fillna(0).to_numpy()
        ax1.fill_between(t, bottom, bottom + v, color=_COLOURS[c], step="mid", linewidth=0)
        bottom += v
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("share of area")
    ax1.set_title("Share of area per class", fontsize=10)
    fig.legend(
        handles=[
            Patch(facecolor=_COLOURS[c], edgecolor="k", label=CDI_CLASSES[c].replace("_", " "))
            for c in codes
        ],
        loc="lower center",
        ncol=len(codes),
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)
