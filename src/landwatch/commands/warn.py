"""``landwatch warn``: drought alerts per admin unit (CAP 1.2, Atom, GeoJSON, CSV, bulletin).

A thin Typer sub-app: it parses options, calls
:func:`landwatch.workflows.warning.run_alerts` and shows progress. Errors print as
one red line and exit with status 2 (``landwatch --debug`` shows the traceback),
through the helpers of :mod:`landwatch.cli`, imported when a command runs so that
``cli`` can import this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landwatch.commands.cluster_options import (
    ClusterOption,
    MemoryLimitOption,
    SchedulerOption,
    cluster_chunks,
    on_cluster,
)
from landwatch.errors import LandwatchError

app = typer.Typer(
    help="Drought early warning: alert levels per admin unit from the monthly Combined "
    "Drought Indicator, their lifecycle in the database, CAP 1.2 messages, an Atom feed, "
    "GeoJSON, CSV and a monthly HTML bulletin.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command("cdi")
def cdi(
    climate: Annotated[
        Path, typer.Argument(help="Monthly climate NetCDF/Zarr with pr (mm/month) and tas (degC).")
    ],
    out: Annotated[Path, typer.Option(help="Output folder (written atomically).")],
    ndvi: Annotated[
        Path | None,
        typer.Option(
            help="Monthly NDVI on the climate grid (vegetation anomaly; needed for Alert)."
        ),
    ] = None,
    ndvi_variable: Annotated[str, typer.Option(help="NDVI variable name.")] = "ndvi",
    soil_moisture: Annotated[
        Path | None,
        typer.Option(help="Monthly soil moisture on the climate grid (default: bucket model)."),
    ] = None,
    soil_moisture_variable: Annotated[
        str, typer.Option(help="Soil moisture variable name.")
    ] = "soil_moisture",
    land_cover: Annotated[
        Path | None,
        typer.Option(help="UNCCD land cover on the climate grid, for per-land-type rules."),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(help="CDI rules YAML (default: landwatch/data/cdi_rules.yaml)."),
    ] = None,
    calibration: Annotated[
        str, typer.Option(help="SPI and soil-moisture anomaly reference years, FIRST-LAST or full.")
    ] = "1981-2010",
    capacity: Annotated[float, typer.Option(help="Bucket available water capacity (mm).")] = 150.0,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    chunks: Annotated[
        int | None, typer.Option(help="Spatial dask chunk size (default: in memory).")
    ] = None,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """Compute the monthly Combined Drought Indicator (Watch, Warning, Alert, Partial
    recovery, Recovery) from climate, soil moisture and NDVI. Example:

        landwatch warn cdi region/climate_monthly.nc --ndvi region/ndvi_monthly.nc --out cdi
    """
    from landwatch import cli
    from landwatch.commands import parse_calibration
    from landwatch.workflows.cdi import run_cdi

    try:
        with on_cluster(scheduler, cluster, memory_limit) as client, cli._progress() as prog:
            path = run_cdi(
                climate,
                out,
                ndvi=ndvi,
                ndvi_variable=ndvi_variable,
                soil_moisture=soil_moisture,
                soil_moisture_variable=soil_moisture_variable,
                land_cover=land_cover,
                rules=rules,
                calibration=parse_calibration(calibration),
                capacity=capacity,
                overwrite=overwrite,
                progress=cli.RichProgress(prog, "combined drought indicator"),
                chunks=cluster_chunks(client, chunks, climate),
            )
    except LandwatchError as exc:
        cli._fail(exc)
    cli.out_console.print(
        f"Combined drought indicator written to [bold]{path}[/] (cdi.nc, "
        "cdi_area_fraction.csv, cdi_latest.png)."
    )


@app.command("run")
def run(
    cdi: Annotated[
        Path,
        typer.Argument(
            help="Monthly CDI classes (time, y, x): NetCDF/Zarr, or GeoTIFF with dated bands."
        ),
    ],
    admin: Annotated[Path, typer.Option(help="Admin units (GeoPackage/GeoJSON/Shapefile).")],
    land_cover: Annotated[Path, typer.Option(help="UNCCD 7-class land cover on the CDI grid.")],
    population: Annotated[Path, typer.Option(help="Population (persons per pixel).")],
    out: Annotated[Path, typer.Option(help="Output folder (written atomically).")],
    rules: Annotated[
        Path | None,
        typer.Option(help="Alert rules YAML (default: landwatch/data/alert_rules.yaml)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (default LANDWATCH_DATABASE_URL or SQLite in LANDWATCH_DATA_DIR).",
        ),
    ] = None,
    admin_layer: Annotated[str | None, typer.Option(help="Layer of the admin file.")] = None,
    admin_id_field: Annotated[str, typer.Option(help="Admin code field.")] = "admin_id",
    admin_name_field: Annotated[str, typer.Option(help="Admin name field.")] = "name",
    cdi_variable: Annotated[
        str | None, typer.Option(help="Variable of a NetCDF/Zarr holding several.")
    ] = None,
    forecast: Annotated[
        bool,
        typer.Option(
            "--forecast/--observed", help="The CDI is a forecast (separate alert stream)."
        ),
    ] = False,
    certainty: Annotated[
        str | None, typer.Option(help="CAP certainty of forecast alerts: Likely or Possible.")
    ] = None,
    sender: Annotated[
        str, typer.Option(help="CAP sender: the warning service's e-mail address or domain.")
    ] = "landwatch@localhost",
    status: Annotated[
        str, typer.Option(help="CAP status: Actual, Exercise, System, Test or Draft.")
    ] = "Actual",
    month: Annotated[
        str | None, typer.Option(help="Bulletin month YYYY-MM (default: the last CDI month).")
    ] = None,
    title: Annotated[str, typer.Option(help="Bulletin and feed title.")] = "Drought bulletin",
    base_url: Annotated[
        str | None, typer.Option(help="URL the output folder is published at (feed links).")
    ] = None,
    align: Annotated[
        bool,
        typer.Option(
            "--align/--no-align",
            help="Resample land cover (nearest) and population (sum) onto the CDI grid.",
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    chunks: Annotated[
        int | None, typer.Option(help="Spatial dask chunk size (default: in memory).")
    ] = None,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """Process monthly CDI classes into drought alerts per admin unit.

    Months already in the database are not processed again (running twice is safe).
    Writes cap/*.xml (validated CAP 1.2), alerts.atom, situation_<month>.geojson,
    tables/*.csv, bulletin_<month>.html and manifest.json. Example:

        landwatch warn run cdi_monthly.nc --admin admin.gpkg --land-cover lc.tif
        --population population.tif --out alerts/2024-03 --db sqlite:///alerts.db
    """
    from landwatch import cli
    from landwatch.workflows.warning import run_alerts

    try:
        with on_cluster(scheduler, cluster, memory_limit) as client, cli._progress() as prog:
            result = run_alerts(
                cdi,
                out,
                admin=admin,
                land_cover=land_cover,
                population=population,
                admin_layer=admin_layer,
                admin_id_field=admin_id_field,
                admin_name_field=admin_name_field,
                cdi_variable=cdi_variable,
                rules=rules,
                database_url=db,
                is_forecast=forecast,
                certainty=certainty,
                sender=sender,
                status=status,
                bulletin_month=month,
                title=title,
                base_url=base_url,
                align=align,
                overwrite=overwrite,
                progress=cli.RichProgress(prog, "drought alerts"),
                chunks=cluster_chunks(client, chunks, cdi, cdi_variable),
            )
    except LandwatchError as exc:
        cli._fail(exc)
    levels = result.situation["level"].value_counts().to_dict()
    cli.out_console.print(
        f"Drought alerts for {result.months[0]}..{result.months[-1]} written to "
        f"[bold]{result.out_dir}[/]: {result.new_messages} new messages "
        f"({result.started} started, {result.ended} ended), "
        f"{result.skipped} unit-months already processed."
    )
    cli.out_console.print(
        f"{result.bulletin_month}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(levels.items(), key=lambda kv: str(kv[0])))
    )


@app.command("status")
def status(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default LANDWATCH_DATABASE_URL or SQLite)."),
    ] = None,
) -> None:
    """List the drought alerts that have not ended."""
    from rich.table import Table

    from landwatch import cli
    from landwatch.workflows.warning import alert_status

    try:
        table = alert_status(db)
    except LandwatchError as exc:
        cli._fail(exc)
    if table.empty:
        cli.out_console.print("No active drought alert.")
        return
    t = Table(title="Active drought alerts")
    cols = ["unit_id", "unit_name", "level", "severity", "start_month", "last_month", "is_forecast"]
    for c in cols:
        t.add_column(c)
    for r in table[cols].itertuples(index=False):
        t.add_row(*(str(v) for v in r))
    cli.out_console.print(t)
