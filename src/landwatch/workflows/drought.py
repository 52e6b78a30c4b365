"""Drought indices over a monthly climate cube: PET, SPI and SPEI at several scales,
written as one CF-NetCDF (or Zarr) file. The CLI ``landwatch drought indices`` calls
:func:`run_drought_indices`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr
from rasterio.crs import CRS

import landwatch
from landwatch.errors import InputError
from landwatch.indices.drought import (
    daily_to_monthly,
    potential_evapotranspiration_hargreaves,
    potential_evapotranspiration_thornthwaite,
    standardized_precipitation_evapotranspiration_index,
    standardized_precipitation_index,
)
from landwatch.io import outputs as out_io
from landwatch.io.rasters import open_raster, write_cog_bands
from landwatch.io.vectors import write_points_geojson
from landwatch.workflows.cluster import per_block, spatial_chunks, time_series_cube
from landwatch.workflows.progress import NullProgress, Progress

Index = Literal["spi", "spei"]
PetMethod = Literal["thornthwaite", "hargreaves"]


def _link_crs(ds: xr.Dataset, crs: object) -> None:
    """Drop stale grid-mapping links copied from the inputs (the CRS is written anew)."""
    for k in ds.data_vars:
        ds[k].attrs.pop("grid_mapping", None)
        ds[k].encoding.pop("grid_mapping", None)


def _latitude(da: xr.DataArray) -> xr.DataArray:
    """Latitude (degrees) of every grid row/cell, from a geographic or projected CRS."""
    crs = da.rio.crs
    if crs is not None and crs.is_geographic:
        return da["y"].astype(float)
    from pyproj import Transformer

    xx, yy = np.meshgrid(da["x"].values, da["y"].values)
    _, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xx, yy)
    return xr.DataArray(lat, dims=("y", "x"), coords={"y": da["y"], "x": da["x"]})


def _read(path: Path, name: str, variable: str, chunks: int | None) -> xr.DataArray:
    spec = spatial_chunks(chunks)
    da = open_raster(path, name=name, variable=variable, chunks=spec)
    if "time" not in da.dims:
        raise InputError(
            f"{name}: {path.name}:{variable} has no time dimension; expected monthly (time, y, x)."
        )
    return da


def run_drought_indices(
    climate: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    pr_variable: str = "pr",
    tas_variable: str | None = "tas",
    tasmin_variable: str = "tasmin",
    tasmax_variable: str = "tasmax",
    indices: Sequence[Index] = ("spi", "spei"),
    scales: Sequence[int] = (1, 3, 6, 12),
    pet_method: PetMethod = "thornthwaite",
    calibration: tuple[int, int] | None = (1981, 2010),
    method: Literal["thom", "mle", "lmoments"] = "thom",
    chunks: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    memory_budget: int | None = None,
    work_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Compute PET, SPI and SPEI for a monthly climate file and write one dataset.

    Parameters
    ----------
    climate
        NetCDF or Zarr with monthly ``pr`` (mm/month) and, for SPEI, temperature
        (``tas`` for Thornthwaite; ``tasmin``/``tasmax`` for Hargreaves), in degC.
    out
        Output ``.nc`` (CF-NetCDF) or ``.zarr``; written to a temporary name and
        renamed when complete.
    indices, scales
        Which indices and accumulation periods (months) to compute.
    pet_method
        PET for SPEI: Thornthwaite (monthly mean temperature and latitude) or
        Hargreaves (tmin, tmax, latitude).
    calibration, method
        Reference period and SPI gamma estimator (see
        :func:`~landwatch.indices.drought.standardized_precipitation_index`).
    chunks
        Spatial dask chunk size (None: in memory). Computations run on the active
        Dask scheduler (:func:`landwatch.workflows.cluster.compute_on`).
    memory_budget, work_dir
        A chunked input cube larger than ``memory_budget`` bytes (default
        :func:`~landwatch.workflows.cluster.memory_budget`) that must be rechunked to
        whole time series goes through a temporary Zarr store in ``work_dir``
        (default: the output's folder), deleted at the end
        (:func:`~landwatch.workflows.cluster.time_series_cube`).
    """
    progress = progress or NullProgress()
    src = Path(climate)
    dst = Path(out)
    if dst.suffix not in (".nc", ".zarr"):
        raise InputError(f"out: {dst.name} must end in .nc (NetCDF) or .zarr; choose one.")
    if dst.exists() and not overwrite:
        raise InputError(
            f"out: {str(dst)!r} already exists. Choose another path or pass --overwrite."
        )
    bad_scales = [s for s in scales if not 1 <= int(s) <= 72]
    if bad_scales:
        raise InputError(
            f"scales {bad_scales} are outside 1-72 months; pass e.g. --scales 1,3,6,12."
        )
    unknown = [i for i in indices if i not in ("spi", "spei")]
    if unknown:
        raise InputError(f"indices {unknown} are unknown; choose from spi, spei.")
    n_steps = 1 + ("spei" in indices) + len(scales) * len(indices) + 1
    progress.start(n_steps)
    with ExitStack() as scratch:

        def series(da: xr.DataArray) -> xr.DataArray:
            return scratch.enter_context(
                time_series_cube(
                    da,
                    work_dir=Path(work_dir) if work_dir else dst.parent,
                    budget=memory_budget,
                    progress=getattr(progress, "log", None),
                )
            )

        ds = _drought_indices(
            src,
            pr_variable=pr_variable,
            tas_variable=tas_variable,
            tasmin_variable=tasmin_variable,
            tasmax_variable=tasmax_variable,
            indices=indices,
            scales=scales,
            pet_method=pet_method,
            calibration=calibration,
            method=method,
            chunks=chunks,
            progress=progress,
            series=series,
            stream=chunks is not None,
        )
        with out_io.atomic_path(dst) as tmp:
            _write_dataset(ds, tmp, zarr=dst.suffix == ".zarr", progress=progress)
    progress.step("wrote output")
    return dst


def _write_dataset(ds: xr.Dataset, tmp: Path, *, zarr: bool, progress: Progress) -> None:
    """Write ``ds``; its lazy (dask) variables one at a time, each computed chunk by
    chunk as it is written (on the active scheduler), so memory holds chunks, never a
    whole output cube."""
    encoding = {} if zarr else {k: {"zlib": True, "complevel": 4} for k in ds.data_vars}
    lazy = [k for k in ds.data_vars if ds[k].chunks is not None]
    if not lazy:
        if zarr:
            ds.to_zarr(tmp, mode="w")
        else:
            ds.to_netcdf(tmp, encoding=encoding)
        return
    for i, name in enumerate(ds.data_vars):
        part = ds[[name]]
        mode: Literal["w", "a"] = "w" if i == 0 else "a"
        if zarr:
            part.to_zarr(tmp, mode=mode)
        else:
            part.to_netcdf(tmp, mode=mode, encoding={name: encoding[name]})
        if name != "pet":  # PET's step is counted where it is defined
            progress.step(f"{name} (written)")


def _drought_indices(
    src: Path,
    *,
    pr_variable: str,
    tas_variable: str | None,
    tasmin_variable: str,
    tasmax_variable: str,
    indices: Sequence[Index],
    scales: Sequence[int],
    pet_method: PetMethod,
    calibration: tuple[int, int] | None,
    method: Literal["thom", "mle", "lmoments"],
    chunks: int | None,
    progress: Progress,
    series: Callable[[xr.DataArray], xr.DataArray],
    stream: bool = False,
) -> xr.Dataset:
    """The dataset of :func:`run_drought_indices` (``series`` gives a cube whole time
    series per chunk): computed, or with ``stream`` left lazy for
    :func:`_write_dataset` to compute while it writes."""
    pr = series(_read(src, "precipitation", pr_variable, chunks))
    if pr.attrs.get("units") in (None, ""):
        pr.attrs["units"] = "mm/month"
    out_vars: dict[str, xr.DataArray] = {}
    progress.step("read precipitation")
    pet = None
    if "spei" in indices:
        lat = _latitude(pr)
        if pet_method == "thornthwaite":
            if tas_variable is None:
                raise InputError("SPEI with Thornthwaite PET needs tas; pass --tas-var.")
            tas = series(_read(src, "tas", tas_variable, chunks))
            pet = per_block(potential_evapotranspiration_thornthwaite, tas, lat)
        else:
            tmin = series(_read(src, "tasmin", tasmin_variable, chunks))
            tmax = series(_read(src, "tasmax", tasmax_variable, chunks))
            pet = per_block(potential_evapotranspiration_hargreaves, tmin, tmax, lat)
        pet = pet.transpose(*pr.dims)
        out_vars["pet"] = pet.astype(np.float32)
        progress.step(f"PET ({pet_method})")
    for scale in scales:
        if "spi" in indices:
            spi = standardized_precipitation_index(
                pr, scale=int(scale), method=method, calibration=calibration
            )
            out_vars[f"spi_{scale}"] = spi.astype(np.float32)
            if not stream:
                out_vars[f"spi_{scale}"] = out_vars[f"spi_{scale}"].compute()
                progress.step(f"SPI-{scale}")
        if "spei" in indices:
            assert pet is not None
            spei = standardized_precipitation_evapotranspiration_index(
                pr, pet, scale=int(scale), calibration=calibration
            )
            out_vars[f"spei_{scale}"] = spei.astype(np.float32)
            if not stream:
                out_vars[f"spei_{scale}"] = out_vars[f"spei_{scale}"].compute()
                progress.step(f"SPEI-{scale}")
    ds = xr.Dataset({k: v if stream else v.compute() for k, v in out_vars.items()})
    for k, v in out_vars.items():
        ds[k].attrs = dict(v.attrs)
    _link_crs(ds, pr.rio.crs)
    ds = ds.drop_vars("spatial_ref", errors="ignore").rio.write_crs(pr.rio.crs)
    for k in ds.data_vars:
        ds[k].encoding.pop("grid_mapping", None)
        ds[k].attrs["grid_mapping"] = "spatial_ref"  # CF link to the CRS variable
    ds.attrs.update(
        {
            "Conventions": "CF-1.8",
            "title": "landwatch drought indices",
            "source": str(src),
            "history": (
                f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} landwatch "
                f"{landwatch.__version__} drought indices scales={list(scales)} "
                f"indices={list(indices)} pet={pet_method} calibration={calibration} method={method}"
            ),
        }
    )
    return ds


# --------------------------------------------------------------------------- single indices


def _read_any(
    path: Path,
    name: str,
    variable: str | None,
    units: str | None = None,
    *,
    how: str = "sum",
    crs: str | None = None,
    crs_fix: str = "write it into the file (e.g. with rioxarray's da.rio.write_crs)",
    chunks: int | None = None,
) -> xr.DataArray:
    """A station CSV -> (time, station); a NetCDF/Zarr grid -> (time, y, x).

    Daily series are aggregated to months (``how``: sum for precipitation, mean for
    temperature) with the default missing-day rule of :func:`daily_to_monthly`. A grid
    takes its CRS from the file (rioxarray ``spatial_ref``, a CF ``grid_mapping``
    variable with ``crs_wkt`` or CF projection parameters), else from ``crs``; with
    neither it is an InputError whose fix is ``crs_fix``.
    """
    if path.suffix.lower() == ".csv":
        from landwatch.io.tables import read_station_csv

        da = read_station_csv(path, name=name)
    else:
        da = open_raster(
            path,
            name=name,
            variable=variable,
            crs=crs,
            require_crs=False,
            chunks=spatial_chunks(chunks),
        )
        if da.rio.crs is None:
            raise InputError(
                f"{name}: {path.name} has no coordinate reference system (no spatial_ref, "
                f"crs_wkt or grid_mapping) and none was given; {crs_fix}."
            )
    if np.issubdtype(da["time"].dtype, np.datetime64) and da.sizes["time"] > 2:
        step = np.median(np.diff(da["time"].values).astype("timedelta64[h]").astype(float))
        if step <= 36:  # daily
            if not da.attrs.get("units"):
                da.attrs["units"] = "mm/day" if how == "sum" else "degC"
            da = daily_to_monthly(da, how=how)  # type: ignore[arg-type]
    if units and not da.attrs.get("units"):
        da.attrs["units"] = units
    return da


COG_SUFFIXES = (".tif", ".tiff")


def _check_out_suffix(out: Path) -> None:
    if out.suffix.lower() not in (".csv", ".nc", ".zarr", *COG_SUFFIXES):
        raise InputError(f"out: {out.name} must end in .csv, .nc, .zarr or .tif (COG).")


def _write_cog_stack(
    da: xr.DataArray, out: Path, name: str, history: str, crs: object | None = None
) -> Path:
    """A ``(time, y, x)`` grid as one Cloud-Optimized GeoTIFF, a band per time step.

    Band descriptions are the months (``YYYY-MM``), each band also has a ``time`` tag
    (ISO date); dataset tags carry the variable name, every attribute of ``da`` (units,
    long_name and the index parameters) and ``history``. float32, nodata NaN.
    """
    if not {"time", "y", "x"} <= set(da.dims):
        raise InputError(
            f"out: {out.name} is a GeoTIFF but the result has dims {tuple(map(str, da.dims))}; "
            "a station table goes to .csv, a grid needs (time, y, x)."
        )
    crs = da.rio.crs or crs
    if crs is None:  # _read_any already refuses grids without a CRS; kept as a guard
        raise InputError(f"out: {out.name} needs a CRS; pass --crs EPSG:4326.")
    da = da.transpose("time", "y", "x")
    # .dt works for numpy datetimes and cftime calendars alike
    ymd = zip(
        *(getattr(da["time"].dt, f).values.tolist() for f in ("year", "month", "day")), strict=True
    )
    dates = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in ymd]
    tags: dict[str, object] = {"variable": name, "history": history}
    tags |= {str(k): v for k, v in da.attrs.items() if k not in ("grid_mapping", "source")}
    tags["time_coverage"] = f"{dates[0][:7]} to {dates[-1][:7]}" if dates else ""
    values = np.asarray(da.values, dtype=np.float32)
    with out_io.atomic_path(out) as tmp:
        write_cog_bands(
            values,
            tmp,
            crs_wkt=CRS.from_user_input(crs).to_wkt(),
            transform=tuple(da.rio.transform())[:6],
            nodata=float("nan"),
            band_descriptions=[d[:7] for d in dates],
            band_tags=[{"time": d} for d in dates],
            tags=tags,
        )
    return out


def _write_any(
    da: xr.DataArray, out: Path, name: str, history: str, crs: object | None = None
) -> Path:
    """Write by suffix: .csv (stations), .nc or .zarr (CF attributes), .tif (COG),
    atomically. ``crs``: the input grid's CRS, for results that lost it on the way."""
    suffix = out.suffix.lower()
    if suffix == ".csv":
        if "station" not in da.dims:
            raise InputError(
                f"out: {out.name} is CSV but the result is a grid; write .nc, .zarr or .tif "
                "instead."
            )
        from landwatch.io.tables import write_station_csv

        return write_station_csv(da, out)
    _check_out_suffix(out)
    if suffix in COG_SUFFIXES:
        return _write_cog_stack(da, out, name, history, crs)
    if suffix != ".zarr":  # NetCDF is written by this process; Zarr chunk by chunk
        da = da.compute()
    ds = da.astype(np.float32).to_dataset(name=name)
    crs = (da.rio.crs or crs) if "x" in da.dims else None
    if crs is not None:
        _link_crs(ds, crs)
        ds = ds.drop_vars("spatial_ref", errors="ignore").rio.write_crs(crs)
        for k in ds.data_vars:
            ds[k].encoding.pop("grid_mapping", None)
            ds[k].attrs["grid_mapping"] = "spatial_ref"
    ds.attrs.update({"Conventions": "CF-1.8", "history": history})
    with out_io.atomic_path(out) as tmp:
        if suffix == ".zarr":
            ds.to_zarr(tmp, mode="w")
        else:
            ds.to_netcdf(tmp)
    return out


def run_index(
    kind: Literal["spi", "spei", "pet"],
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    scale: int = 3,
    variable: str | None = None,
    tas_variable: str = "tas",
    pet_source: str | os.PathLike[str] | None = None,
    lat: float | None = None,
    method: Literal["thom", "mle", "lmoments"] = "thom",
    distribution: Literal["gamma", "pearson3"] = "gamma",
    calibration: tuple[int, int] | None = (1981, 2010),
    crs: str | None = None,
    overwrite: bool = False,
    chunks: int | None = None,
    memory_budget: int | None = None,
    work_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """One index for a station table (CSV) or a grid (NetCDF/Zarr): SPI, SPEI or PET.

    SPEI reads PET from ``pet_source`` (e.g. the output of ``kind="pet"``); for a grid
    without it, Thornthwaite PET is computed from ``tas_variable`` of the same file.
    PET for a station table needs ``lat``.

    ``out`` ends in ``.csv`` (station tables), ``.nc``/``.zarr`` (CF, with the CRS) or
    ``.tif``/``.tiff``: a Cloud-Optimized GeoTIFF with one float32 band per month
    (description ``YYYY-MM``, nodata NaN) and the index attributes as tags. Every output
    is written under a temporary name and renamed when complete. A grid takes its CRS
    from the file (``spatial_ref``, ``crs_wkt`` or a CF ``grid_mapping``) or from
    ``crs`` when the file has none; with neither it is an :class:`InputError`.

    ``chunks``: spatial dask chunks of a grid (None: in memory); ``memory_budget`` and
    ``work_dir`` as in :func:`run_drought_indices`.
    """
    src, dst = Path(source), Path(out)
    if dst.exists() and not overwrite:
        raise InputError(
            f"out: {str(dst)!r} already exists. Choose another path or pass --overwrite."
        )
    _check_out_suffix(dst)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    cal = "full" if calibration is None else f"{calibration[0]}-{calibration[1]}"
    params = f"scale={scale}" if kind != "pet" else "method=thornthwaite"
    if kind == "spi":
        params += f" method={method} distribution={distribution} calibration={cal}"
    elif kind == "spei":
        params += f" calibration={cal}"
    history = f"{stamp} landwatch {landwatch.__version__} drought {kind} {params} source={src.name}"
    is_table = src.suffix.lower() == ".csv"
    crs_fix = "pass --crs EPSG:4326 (or the grid's CRS) or write the CRS into the file"

    with ExitStack() as scratch:

        def read(path: Path, name: str, variable: str | None, units: str, how: str) -> xr.DataArray:
            da = _read_any(
                path, name, variable, units, how=how, crs=crs, crs_fix=crs_fix, chunks=chunks
            )
            return scratch.enter_context(
                time_series_cube(
                    da, work_dir=Path(work_dir) if work_dir else dst.parent, budget=memory_budget
                )
            )

        def latitude_for(da: xr.DataArray) -> float | xr.DataArray:
            if is_table:
                if lat is None:
                    raise InputError(
                        "PET for a station table needs the latitude: pass --lat (degrees north)."
                    )
                return float(lat)
            return _latitude(da)

        if kind == "pet":
            tas = read(src, "tas", variable or tas_variable, "degC", "mean")
            result = per_block(potential_evapotranspiration_thornthwaite, tas, latitude_for(tas))
            return _write_any(result, dst, "pet", history, tas.rio.crs if not is_table else None)
        pr = read(src, "precipitation", variable or "pr", "mm/month", "sum")
        grid_crs = None if is_table else pr.rio.crs
        if kind == "spi":
            result = standardized_precipitation_index(
                pr, scale=scale, method=method, distribution=distribution, calibration=calibration
            )
            return _write_any(result, dst, f"spi_{scale}", history, grid_crs)
        if kind == "spei":
            if pet_source is not None:
                pet = read(Path(pet_source), "pet", "pet", "mm/month", "sum")
            elif is_table:
                raise InputError(
                    "SPEI for a station table needs PET: compute it with `landwatch drought pet "
                    "tas.csv --lat LAT --out pet.csv` and pass --pet pet.csv."
                )
            else:
                tas = read(src, "tas", tas_variable, "degC", "mean")
                pet = per_block(
                    potential_evapotranspiration_thornthwaite, tas, latitude_for(tas)
                ).transpose(*pr.dims)
            result = standardized_precipitation_evapotranspiration_index(
                pr, pet, scale=scale, calibration=calibration
            )
            return _write_any(result, dst, f"spei_{scale}", history, grid_crs)
        raise InputError(f"kind {kind!r} is unknown; choose spi, spei or pet.")


def run_events(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    variable: str | None = None,
    threshold: float = -1.0,
    end_threshold: float | None = None,
    min_duration: int = 1,
    pooling_gap: int = 0,
    overwrite: bool = False,
    chunks: int | None = None,
) -> Path:
    """Drought event catalog (run theory) of an index: CSV, or GeoJSON points for grids
    (``chunks``: spatial dask chunks of a grid; None: in memory)."""
    from landwatch.indices.drought import drought_event_catalog

    src, dst = Path(source), Path(out)
    if dst.exists() and not overwrite:
        raise InputError(
            f"out: {str(dst)!r} already exists. Choose another path or pass --overwrite."
        )
    index = _read_any(src, "index", variable, chunks=chunks)
    catalog = drought_event_catalog(
        index,
        threshold=threshold,
        end_threshold=end_threshold,
        min_duration=min_duration,
        pooling_gap=pooling_gap,
    )
    suffix = dst.suffix.lower()
    if suffix in (".geojson", ".json") and "x" not in catalog.columns:
        raise InputError("GeoJSON needs a gridded index (x/y); write the station catalog as .csv.")
    if suffix not in (".csv", ".geojson", ".json"):
        raise InputError(f"out: {dst.name} must end in .csv or .geojson.")
    with out_io.atomic_path(dst) as tmp:
        if suffix == ".csv":
            catalog.to_csv(tmp, index=False)
        else:
            write_points_geojson(catalog, tmp, crs=index.rio.crs)
    return dst
