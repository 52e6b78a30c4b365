"""Drought forecast pipeline: precipitation in, SPI-3 / CDI-watch forecasts and their skill out.

``landwatch forecast run`` calls :func:`run_forecast`; it computes nothing itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

import landwatch
from landwatch.errors import InputError, InsufficientDataError
from landwatch.forecast.features import WATCH_THRESHOLD, FeatureSpec, prepare_drivers
from landwatch.forecast.hindcast import HindcastResult, run_hindcast
from landwatch.forecast.outlook import NOT_MEASURED, check_drivers_cover, issue_forecast
from landwatch.indices.drought.timeaxis import monthly_time_axis
from landwatch.io.outputs import atomic_output_dir, write_json

__all__ = ["ForecastRun", "run_forecast"]

CDI_NODATA = -32768
CAVEAT = (
    "Forecasts, not observations. Only the CDI watch level (SPI-3 below -1) is forecast; "
    "the warning and alert levels need soil moisture and vegetation forecasts that "
    "landwatch does not provide. Skill is measured by time-blocked cross-validation "
    "(SPI refitted on training years only) against persistence and climatology."
)


@dataclass
class ForecastRun:
    """Result of :func:`run_forecast`.

    Attributes
    ----------
    out_dir : Path
        The output folder.
    forecasts : pandas.DataFrame
        One row per cell and lead (see :func:`~landwatch.forecast.outlook.issue_forecast`).
    skill : HindcastResult or None
        The hindcast, unless it was switched off.
    files : list of Path
        Files written, relative to ``out_dir``.
    """

    out_dir: Path
    forecasts: pd.DataFrame
    skill: HindcastResult | None
    files: list[Path]


def _read_precipitation(
    path: Path, variable: str | None, crs: str | None
) -> tuple[xr.DataArray, bool]:
    """(time, cell) precipitation and whether it came from a grid."""
    if path.suffix.lower() == ".csv":
        from landwatch.io.tables import read_station_csv

        da = read_station_csv(path, name="precipitation")
        da.attrs.setdefault("units", "mm")
        return da.rename(station="cell"), False
    from landwatch.io.rasters import open_raster

    da = open_raster(path, name="precipitation", variable=variable, crs=crs, require_crs=False)
    if "time" not in da.dims or not {"y", "x"} <= set(da.dims):
        raise InputError(
            f"precipitation: {path.name} has dims {tuple(map(str, da.dims))}; expected a "
            "monthly grid (time, y, x)."
        )
    return da.load(), True


def _check_record(pr: xr.DataArray, block_years: int, gap_years: int, min_years: int) -> None:
    years, _ = monthly_time_axis(
        pr,
        "precipitation",
        gap_fix="Add the missing months (rows with empty values are allowed) so that every "
        "month of the record is present.",
    )
    n = int(years[-1] - years[0] + 1)
    need = block_years + 2 * gap_years + min_years
    if n < need:
        raise InsufficientDataError(
            f"precipitation covers {int(years[0])}-{int(years[-1])} ({n} years); a forecast "
            f"with measured skill needs at least {need} years (a {block_years}-year held-out "
            f"block, {gap_years}-year gaps and {min_years} training years). Pass a longer record "
            "or a smaller --block-years."
        )


def _grid_outputs(
    table: pd.DataFrame, template: xr.DataArray, leads: tuple[int, ...], attrs: dict[str, Any]
) -> tuple[xr.Dataset, xr.Dataset]:
    """The forecast table as (lead, y, x) fields, and CDI classes as (time, y, x)."""
    ny, nx = template.sizes["y"], template.sizes["x"]
    fields: dict[str, Any] = {}
    for col in ("spi3_forecast", "watch_probability", "spi3_observed_at_issue"):
        values = np.stack(
            [table.loc[table["lead"] == h, col].to_numpy(np.float64).reshape(ny, nx) for h in leads]
        )
        fields[col] = (("lead", "y", "x"), values.astype(np.float32))
    coords = {"lead": list(leads), "y": template["y"].values, "x": template["x"].values}
    ds = xr.Dataset(fields, coords=coords)
    ds["spi3_forecast"].attrs = {"units": "1", "long_name": "forecast SPI-3 of the target month"}
    ds["watch_probability"].attrs = {
        "units": "1",
        "long_name": "probability of SPI-3 below -1 (CDI watch) in the target month",
    }
    ds["spi3_observed_at_issue"].attrs = {"units": "1", "long_name": "SPI-3 of the issue month"}
    ds["lead"].attrs = {"units": "months", "long_name": "months after the issue month"}
    ds.attrs.update(attrs)
    prob = ds["watch_probability"].values
    cdi = np.where(np.isnan(prob), CDI_NODATA, np.where(prob >= 0.5, 1, 0)).astype(np.int16)
    months = [
        pd.Timestamp(table.loc[table["lead"] == h, "target_month"].iloc[0] + "-01") for h in leads
    ]
    cube = xr.Dataset(
        {"cdi": (("time", "y", "x"), cdi)},
        coords={"time": months, "y": template["y"].values, "x": template["x"].values},
    )
    cube["cdi"].attrs = {
        "long_name": "forecast Combined Drought Indicator class (1 watch likely, 0 normal)",
        "_FillValue": CDI_NODATA,
        "certainty": "Likely",
    }
    cube.attrs.update(attrs)
    crs = template.rio.crs
    if crs is not None:
        ds = ds.rio.write_crs(crs)
        cube = cube.rio.write_crs(crs)
    return ds, cube


def run_forecast(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    variable: str | None = None,
    leads: Iterable[int] = (1, 2, 3),
    model: Literal["linear", "gbm"] = "gbm",
    model_params: Mapping[str, Any] | None = None,
    drivers: str | os.PathLike[str] | None = None,
    driver_columns: Iterable[str] | None = None,
    publication_lag: int = 1,
    issue: str | None = None,
    calibration: tuple[int, int] | None = (1981, 2010),
    hindcast: bool = True,
    block_years: int = 10,
    gap_years: int = 1,
    scheme: Literal["blocked", "rolling"] = "blocked",
    min_training_years: int = 20,
    n_boot: int = 1000,
    crs: str | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ForecastRun:
    """Forecast SPI-3 and the CDI watch level 1-3 months ahead, with the measured skill.

    Parameters
    ----------
    source : path-like
        Monthly precipitation [mm]: a station/admin-unit CSV (``time`` as YYYY-MM and
        one column per unit) or a NetCDF/Zarr grid ``(time, y, x)``.
    out_dir : path-like
        Output folder, written atomically (a failure leaves nothing behind).
    variable : str, optional
        Variable of a grid file holding several.
    leads : iterable of int, default (1, 2, 3)
        Leads [months].
    model : {"linear", "gbm"}, default "gbm"
    model_params : mapping, optional
        Keyword arguments of the model (e.g. ``{"max_iter": 100}``).
    drivers : path-like, optional
        Driver CSV (``time`` + columns, e.g. ``nino34``).
    driver_columns : iterable of str, optional
        Columns of the driver CSV to use (default all).
    publication_lag : int, default 1
        Months after its month that a driver value is published.
    issue : str, optional
        Issue month ``YYYY-MM`` (default the last month of the record).
    calibration : (int, int) or None, default (1981, 2010)
        SPI reference years of the issued forecast.
    hindcast : bool, default True
        Measure the skill first. Without it every row says the skill was not measured.
    block_years, gap_years, scheme, min_training_years, n_boot
        Cross-validation settings (:func:`~landwatch.forecast.hindcast.run_hindcast`).
    crs : str, optional
        CRS of a grid whose file has none.
    overwrite : bool, default False
        Replace an existing ``out_dir``.
    progress : callable, optional
        Called with a message after each step.

    Returns
    -------
    ForecastRun

    Raises
    ------
    InputError
        Bad input: missing months, unknown driver columns, drivers that do not reach
        the issue month, bad options, an existing ``out_dir``.
    InsufficientDataError
        A record too short for a hindcast.
    DataSourceError
        Missing or unreadable files.

    Notes
    -----
    Writes ``forecasts.csv`` (one row per cell and lead; for grids also
    ``forecasts.nc`` with ``(lead, y, x)`` fields and ``cdi_forecast.nc`` with the
    forecast CDI class per target month, for ``landwatch warn run --forecast
    --certainty Likely``), ``skill.json``, ``skill.csv``, ``skill.md``,
    ``reliability.csv`` and ``manifest.json``. Every forecast row carries
    ``is_forecast=True``, the lead, the issue month, the CAP certainty and the verdict
    of the hindcast against persistence and climatology.
    """
    say = progress or (lambda _msg: None)
    src = Path(source)
    target = Path(out_dir)
    if target.exists() and not overwrite:
        raise InputError(
            f"output folder {str(target)!r} already exists. Choose another --out or pass "
            "--overwrite."
        )
    leads = tuple(int(h) for h in leads)
    if not leads or any(h < 1 or h > 12 for h in leads):
        raise InputError(f"leads are {leads}; expected months 1-12, e.g. 1,2,3.")
    if model not in ("linear", "gbm"):
        raise InputError(f"model is {model!r}; choose 'linear' or 'gbm'.")
    spec = FeatureSpec(publication_lag=publication_lag)
    pr, is_grid = _read_precipitation(src, variable, crs)
    template = pr.isel(time=0, drop=True) if is_grid else None
    cells = pr.stack(cell=("y", "x")).transpose("time", "cell") if is_grid else pr
    _check_record(cells, block_years, gap_years, min_training_years)
    table = None
    if drivers is not None:
        from landwatch.io.drivers import read_driver_csv

        columns = list(driver_columns) if driver_columns else None
        table = prepare_drivers(read_driver_csv(drivers), columns=columns)
    elif driver_columns:
        raise InputError("driver columns were given without a driver table; pass --drivers FILE.")
    say("read inputs")
    if is_grid:  # cell labels must be plain for the tables
        cells = cells.drop_vars(["cell", "y", "x"]).assign_coords(
            cell=[f"{i}" for i in range(cells.sizes["cell"])]
        )
    if issue is not None:
        try:
            cut = pd.Timestamp(str(issue)).to_period("M").to_timestamp()
        except ValueError as exc:
            raise InputError(f"--issue {issue!r}: expected a month such as 2022-06.") from exc
        times = pd.DatetimeIndex(cells["time"].values)
        if cut not in times:
            raise InputError(
                f"issue month {cut:%Y-%m} is outside the record ({times[0]:%Y-%m} to "
                f"{times[-1]:%Y-%m}). Pass a month of the record."
            )
        record = cells.sel(time=slice(None, cut))
        _check_record(record, block_years, gap_years, min_training_years)
    else:
        record = cells
    if table is not None:  # fail before the hindcast, not after it
        check_drivers_cover(table, pd.Timestamp(record["time"].values[-1]), spec.publication_lag)
    params = dict(model_params or {})
    result = None
    if hindcast:
        result = run_hindcast(
            record,
            leads=leads,
            models=(model,),
            model_params={model: params},
            drivers=table,
            spec=spec,
            block_years=block_years,
            gap_years=gap_years,
            scheme=scheme,
            min_training_years=min_training_years,
            n_boot=n_boot,
            progress=say,
        )
        say("hindcast done")
    forecasts = issue_forecast(
        cells,
        issue=issue,
        leads=leads,
        model=model,
        model_params=params,
        calibration=calibration,
        drivers=table,
        spec=spec,
        threshold=WATCH_THRESHOLD,
        skill=result,
    )
    if is_grid:
        assert template is not None
        ys = np.repeat(template["y"].values, template.sizes["x"])
        xs = np.tile(template["x"].values, template.sizes["y"])
        pos = forecasts["cell"].astype(int).to_numpy()
        forecasts.insert(1, "y", ys[pos])
        forecasts.insert(2, "x", xs[pos])
    say("forecast issued")

    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    cal = "full" if calibration is None else f"{calibration[0]}-{calibration[1]}"
    issue_month = str(forecasts["issue_month"].iloc[0])
    history = (
        f"{stamp} landwatch {landwatch.__version__} forecast run model={model} "
        f"leads={','.join(map(str, leads))} calibration={cal} issue={issue_month} "
        f"source={src.name}"
    )
    verdicts = (
        result.verdicts()
        if result is not None
        else {f"lead {h} {model}": NOT_MEASURED for h in leads}
    )
    attrs = {
        "is_forecast": "true",
        "issue_month": issue_month,
        "model": model,
        "history": history,
        "caveat": CAVEAT,
        **{f"skill_{k.replace(' ', '_')}": v for k, v in verdicts.items()},
    }
    files: list[Path] = []
    with atomic_output_dir(target, overwrite=overwrite) as tmp:
        forecasts.to_csv(tmp / "forecasts.csv", index=False)
        files.append(Path("forecasts.csv"))
        if is_grid:
            assert template is not None
            fields, cube = _grid_outputs(forecasts, template, leads, attrs)
            fields.to_netcdf(tmp / "forecasts.nc")
            cube.to_netcdf(tmp / "cdi_forecast.nc")
            files += [Path("forecasts.nc"), Path("cdi_forecast.nc")]
        skill_doc: dict[str, Any] = {
            "is_forecast": True,
            "issue_month": issue_month,
            "caveat": CAVEAT,
            "verdicts": verdicts,
        }
        if result is not None:
            skill_doc |= result.to_dict()
            result.skill.to_csv(tmp / "skill.csv", index=False)
            result.reliability.to_csv(tmp / "reliability.csv", index=False)
            (tmp / "skill.md").write_text(result.to_markdown())
            files += [Path("skill.csv"), Path("reliability.csv"), Path("skill.md")]
        write_json(skill_doc, tmp / "skill.json")
        files.append(Path("skill.json"))
        manifest = {
            "landwatch": landwatch.__version__,
            "created": stamp,
            "history": history,
            "source": str(src),
            "parameters": {
                "leads": list(leads),
                "model": model,
                "model_params": params,
                "drivers": None if drivers is None else str(drivers),
                "driver_columns": None if table is None else list(table.columns),
                "publication_lag": publication_lag,
                "issue": issue_month,
                "calibration": cal,
                "hindcast": hindcast,
                "block_years": block_years,
                "gap_years": gap_years,
                "scheme": scheme,
            },
            "files": [str(f) for f in files],
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        files.append(Path("manifest.json"))
    say("outputs written")
    return ForecastRun(out_dir=target.resolve(), forecasts=forecasts, skill=result, files=files)
