"""Command line: thin wrappers that parse, call a workflow and show progress."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import landwatch
from landwatch.errors import LandwatchError

app = typer.Typer(
    name="landwatch",
    help="Offline land degradation (SDG 15.3.1), LDN and drought monitoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
sample_app = typer.Typer(help="Built-in sample region with planted truth.", no_args_is_help=True)
app.add_typer(sample_app, name="sample")
drought_app = typer.Typer(
    help="Drought indices (SPI, SPEI, PET), events and UNCCD SO3 reporting.", no_args_is_help=True
)
app.add_typer(drought_app, name="drought")

# command groups kept in their own modules (they import this one lazily for its helpers)
from landwatch.commands import parse_calibration  # noqa: E402
from landwatch.commands.brief import brief as brief_command  # noqa: E402
from landwatch.commands.cluster_options import (  # noqa: E402
    ClusterOption,
    MemoryLimitOption,
    SchedulerOption,
    cluster_chunks,
    on_cluster,
)
from landwatch.commands.forecast import app as forecast_app  # noqa: E402
from landwatch.commands.ldn import ldn as ldn_command  # noqa: E402
from landwatch.commands.match import match as match_command  # noqa: E402
from landwatch.commands.observe import observe_app  # noqa: E402
from landwatch.commands.practices import practices_app  # noqa: E402
from landwatch.commands.report import report_app  # noqa: E402
from landwatch.commands.requests import requests_app  # noqa: E402
from landwatch.commands.serve import serve as serve_command  # noqa: E402
from landwatch.commands.stac import stac_app  # noqa: E402
from landwatch.commands.users import users_app  # noqa: E402
from landwatch.commands.warn import app as warn_app  # noqa: E402

app.add_typer(warn_app, name="warn")
app.add_typer(forecast_app, name="forecast")
app.add_typer(observe_app, name="observe")
app.add_typer(users_app, name="users")
app.add_typer(practices_app, name="practices")
app.add_typer(stac_app, name="stac")
app.command("ldn")(ldn_command)
app.command("match")(match_command)
app.command("serve")(serve_command)
app.add_typer(report_app, name="report")
app.add_typer(requests_app, name="requests")
app.command("brief")(brief_command)

console = Console(stderr=True)
out_console = Console()
_state: dict[str, Any] = {"debug": False}


class RichProgress:
    """Adapter from the workflow progress protocol to a rich progress bar."""

    def __init__(self, progress: Progress, description: str) -> None:
        self._p = progress
        self._task = progress.add_task(description, total=None)

    def start(self, total: int) -> None:
        self._p.update(self._task, total=total)

    def step(self, message: str) -> None:
        self._p.update(self._task, advance=1, description=message)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold blue]{task.description:<42}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _fail(exc: BaseException) -> None:
    if _state["debug"]:
        raise exc
    console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _version(value: bool) -> None:
    if value:
        out_console.print(f"landwatch {landwatch.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """landwatch: land degradation and drought monitoring that runs offline."""
    _state["debug"] = debug


@sample_app.command("create")
def sample_create(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the sample region into.")],
    size: Annotated[
        int, typer.Option(help="Pixels per side (about 250 m each).", min=60, max=4000)
    ] = 400,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same region.")
    ] = 0,
) -> None:
    """Create the built-in sample region (NDVI, land cover, SOC, climate, admin units, truth).

    Example:

        landwatch sample create demo/region --size 400 --seed 0
    """
    from landwatch.sample import create_sample_region

    try:
        with _progress() as prog:
            task = prog.add_task("sample region", total=1.0)

            def report(step: str, fraction: float) -> None:
                prog.update(task, completed=fraction, description=step)

            region = create_sample_region(out_dir, size=size, seed=seed, progress=report)
            prog.update(task, completed=1.0, description="sample region written")
    except LandwatchError as exc:
        _fail(exc)
    out_console.print(f"Sample region written to [bold]{region.out_dir}[/]")
    out_console.print(
        f"Run the assessment:  landwatch sdg1531 --config {region.out_dir / 'run.yaml'}"
    )


@app.command("sdg1531")
def sdg1531(
    config: Annotated[Path, typer.Option("--config", "-c", help="Run configuration (YAML).")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: next to the config, 'sdg1531').")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    align: Annotated[
        bool | None,
        typer.Option(
            "--align/--no-align", help="Reproject inputs that do not align to the NDVI grid."
        ),
    ] = None,
    significance: Annotated[
        float | None, typer.Option(help="Trajectory significance level (default 0.05).")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="Trajectory test: 'landwatch' (exact/normal MK p-value) or 'trends_earth'."
        ),
    ] = None,
    state_method: Annotated[
        str | None, typer.Option(help="State: 'percentile' (Trends.Earth) or 'zscore' (GPG v2).")
    ] = None,
    lpd_table: Annotated[
        str | None, typer.Option(help="LPD look-up: trends_earth, gpg_v2 or gpg_v1.")
    ] = None,
    chunks: Annotated[
        int | None, typer.Option(help="Process in spatial chunks of this size with dask.")
    ] = None,
    all_layers: Annotated[
        bool | None,
        typer.Option("--all-layers", help="Also write diagnostic maps (slopes, p-values, ratios)."),
    ] = None,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """Compute SDG 15.3.1 (land productivity, land cover, SOC, one-out-all-out, status).

    Writes COGs per sub-indicator and period, area tables (CSV, XLSX, JSON), a
    summary, a map and a manifest. Example:

        landwatch sample create demo/region

        landwatch sdg1531 --config demo/region/run.yaml --out demo/sdg1531

        landwatch sdg1531 -c run.yaml --state-method zscore --lpd-table gpg_v2

        landwatch sdg1531 -c run.yaml --cluster local:2 --memory-limit 6GB
    """
    from landwatch.workflows.config import load_config
    from landwatch.workflows.sdg1531 import run_sdg1531

    try:
        prod: dict[str, Any] = {}
        if significance is not None:
            prod["significance"] = significance
        if mode is not None:
            prod["mode"] = mode
        if state_method is not None:
            prod["state_method"] = state_method
        if lpd_table is not None:
            prod["lpd_table"] = lpd_table
        cfg = load_config(
            config, align=align, chunks=chunks, all_layers=all_layers, productivity=prod or None
        )
        out_dir = out or (config.parent / "sdg1531")
        with on_cluster(scheduler, cluster, memory_limit) as client:
            if client is not None and cfg.chunks is None:
                ndvi_path = cfg.path(cfg.ndvi)
                assert ndvi_path is not None
                auto = cluster_chunks(client, None, ndvi_path, cfg.ndvi_variable)
                cfg = cfg.model_copy(update={"chunks": auto})
            with _progress() as prog:
                result = run_sdg1531(
                    cfg, out_dir, overwrite=overwrite, progress=RichProgress(prog, "SDG 15.3.1")
                )
    except LandwatchError as exc:
        _fail(exc)
    _print_summary(result)


@drought_app.command("indices")
def drought_indices(
    climate: Annotated[
        Path, typer.Argument(help="Monthly climate NetCDF/Zarr (pr in mm/month, tas in degC).")
    ],
    out: Annotated[Path, typer.Option(help="Output .nc or .zarr.")],
    indices: Annotated[str, typer.Option(help="Comma-separated: spi, spei.")] = "spi,spei",
    scales: Annotated[
        str, typer.Option(help="Accumulation periods in months, comma-separated.")
    ] = "1,3,6,12",
    pet: Annotated[
        str, typer.Option(help="PET for SPEI: thornthwaite or hargreaves.")
    ] = "thornthwaite",
    calibration: Annotated[
        str, typer.Option(help="Reference years FIRST-LAST, or 'full'.")
    ] = "1981-2010",
    method: Annotated[str, typer.Option(help="SPI gamma fit: thom, mle or lmoments.")] = "thom",
    pr_var: Annotated[str, typer.Option(help="Precipitation variable name.")] = "pr",
    tas_var: Annotated[str, typer.Option(help="Mean temperature variable name.")] = "tas",
    chunks: Annotated[int | None, typer.Option(help="Spatial dask chunk size.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """Compute PET, SPI and SPEI at several scales for a monthly climate cube.

    Example:

        landwatch drought indices demo/region/climate_monthly.nc --out demo/drought.nc --scales 3,12
    """
    from landwatch.errors import InputError
    from landwatch.workflows.drought import run_drought_indices

    try:
        try:
            scale_list = [int(v) for v in scales.split(",") if v.strip()]
        except ValueError as exc:
            raise InputError(
                f"--scales {scales!r}: expected whole months such as 1,3,6,12."
            ) from exc
        if calibration == "full":
            cal = None
        else:
            try:
                a, b = (int(v) for v in calibration.split("-"))
            except ValueError as exc:
                raise InputError(
                    f"--calibration {calibration!r}: expected FIRST-LAST years such as 1981-2010, or full."
                ) from exc
            cal = (a, b)
        with on_cluster(scheduler, cluster, memory_limit) as client, _progress() as prog:
            path = run_drought_indices(
                climate,
                out,
                pr_variable=pr_var,
                tas_variable=tas_var,
                indices=[i.strip() for i in indices.split(",") if i.strip()],  # type: ignore[misc]
                scales=scale_list,
                pet_method=pet,  # type: ignore[arg-type]
                calibration=cal,
                method=method,  # type: ignore[arg-type]
                chunks=cluster_chunks(client, chunks, climate, pr_var),
                overwrite=overwrite,
                progress=RichProgress(prog, "drought indices"),
            )
    except LandwatchError as exc:
        _fail(exc)
    out_console.print(f"Drought indices written to [bold]{path}[/]")


@drought_app.command("so3")
def so3(
    climate: Annotated[
        Path, typer.Argument(help="Monthly precipitation NetCDF/Zarr (pr in mm/month).")
    ],
    population: Annotated[Path, typer.Option(help="Population count raster (people per pixel).")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    population_female: Annotated[
        Path | None, typer.Option(help="Female population raster.")
    ] = None,
    population_male: Annotated[Path | None, typer.Option(help="Male population raster.")] = None,
    admin: Annotated[Path | None, typer.Option(help="Admin units (GeoPackage/GeoJSON).")] = None,
    admin_layer: Annotated[str | None, typer.Option(help="Layer of the admin file.")] = None,
    admin_id_field: Annotated[str, typer.Option(help="Admin id field.")] = "admin_id",
    admin_name_field: Annotated[str, typer.Option(help="Admin name field.")] = "name",
    vulnerability: Annotated[
        Path | None,
        typer.Option(help="YAML with indicators, groups, directions (and weights) for the DVI."),
    ] = None,
    scheme: Annotated[
        str, typer.Option(help="Hazard class edges: prais or trends_earth.")
    ] = "prais",
    land_cover: Annotated[
        Path | None,
        typer.Option(
            help="Land cover raster; its water classes (--water-codes) are left out of all "
            "areas and populations."
        ),
    ] = None,
    water_codes: Annotated[
        str, typer.Option(help="Water classes of --land-cover, comma-separated (UNCCD: 7).")
    ] = "7",
    water_mask: Annotated[
        Path | None,
        typer.Option(help="Water-mask raster (non-zero = water), alone or with --land-cover."),
    ] = None,
    map_periods: Annotated[
        str,
        typer.Option(
            help="Periods of the most-severe-class maps, FIRST-LAST comma-separated "
            "(default: the PRAIS 4-year periods)."
        ),
    ] = "2000-2003,2004-2007,2008-2011,2012-2015,2016-2019,2020-2023",
    align: Annotated[
        bool,
        typer.Option(
            "--align/--no-align",
            help="Resample --land-cover/--water-mask to the population grid (nearest).",
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    chunks: Annotated[
        int | None, typer.Option(help="Spatial dask chunk size of the climate cube.")
    ] = None,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """UNCCD SO3 drought reporting: hazard (SO3-1), exposure (SO3-2), vulnerability (SO3-3)
    and drought events, as CSV/XLSX/JSON tables, most-severe-class COG maps per period
    and a GeoJSON event catalog. Water (--land-cover class 7 and/or --water-mask) is left
    out of every area and population; without either, every cell counts as land.

    Example:

        landwatch drought so3 demo/region/climate_monthly.nc --population demo/region/population.tif
        --land-cover demo/region/land_cover_2000.tif
        --admin demo/region/admin.gpkg --admin-layer admin1 --out demo/so3
    """
    import yaml

    from landwatch.errors import InputError
    from landwatch.workflows.so3 import run_so3

    try:
        try:
            codes = tuple(int(v) for v in water_codes.split(",") if v.strip())
            spans = [tuple(int(y) for y in v.split("-")) for v in map_periods.split(",") if v]
        except ValueError as exc:
            raise InputError(
                f"--water-codes {water_codes!r} / --map-periods {map_periods!r}: expected "
                "whole numbers such as 7 and FIRST-LAST years such as 2016-2019,2020-2023."
            ) from exc
        if any(len(sp) != 2 for sp in spans) or not spans:
            raise InputError(
                f"--map-periods {map_periods!r}: expected FIRST-LAST years such as "
                "2000-2015,2016-2019,2020-2023."
            )
        periods = {f"{a}-{b}": (a, b) for a, b in spans}
        vuln = None
        if vulnerability is not None:
            from landwatch.errors import DataSourceError

            if not vulnerability.exists():
                raise DataSourceError(f"vulnerability: file {str(vulnerability)!r} does not exist.")
            vuln = yaml.safe_load(vulnerability.read_text())
            base = vulnerability.parent
            vuln["indicators"] = {k: str(base / v) for k, v in vuln["indicators"].items()}
        with on_cluster(scheduler, cluster, memory_limit) as client, _progress() as prog:
            result = run_so3(
                climate,
                out,
                population=population,
                population_female=population_female,
                population_male=population_male,
                admin=admin,
                admin_layer=admin_layer,
                admin_id_field=admin_id_field,
                admin_name_field=admin_name_field,
                vulnerability=vuln,
                scheme=scheme,
                land_cover=land_cover,
                water_mask=water_mask,
                water_codes=codes,
                map_periods=periods,
                align=align,
                overwrite=overwrite,
                progress=RichProgress(prog, "SO3"),
                chunks=cluster_chunks(client, chunks, climate),
            )
    except LandwatchError as exc:
        _fail(exc)
    out_console.print(
        f"SO3 tables written to [bold]{result.out_dir}[/] ({len(result.tables)} tables)"
    )


_CRS_HELP = (
    "CRS of a grid whose file has none (e.g. EPSG:4326); the file's own CRS "
    "(spatial_ref, crs_wkt, grid_mapping) is used otherwise."
)


def _single_index(
    kind: str,
    source: Path,
    out: Path,
    *,
    scheduler: str | None = None,
    cluster: str | None = None,
    memory_limit: str | None = None,
    **kwargs: Any,
) -> None:
    from landwatch.workflows.drought import run_index

    try:
        kwargs["calibration"] = parse_calibration(kwargs.pop("calibration", "1981-2010"))
        with on_cluster(scheduler, cluster, memory_limit) as client:
            kwargs["chunks"] = cluster_chunks(
                client, kwargs.get("chunks"), source, kwargs.get("variable")
            )
            with console.status(f"computing {kind.upper()}"):
                path = run_index(kind, source, out, **kwargs)  # type: ignore[arg-type]
    except LandwatchError as exc:
        _fail(exc)
    out_console.print(f"{kind.upper()} written to [bold]{path}[/]")


@drought_app.command("spi")
def drought_spi(
    source: Annotated[
        Path,
        typer.Argument(
            help="Monthly precipitation: station CSV (time + one column per station) or NetCDF/Zarr grid."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Output .csv (stations), .nc, .zarr or .tif (Cloud-Optimized GeoTIFF, "
            "a band per month)."
        ),
    ],
    scale: Annotated[int, typer.Option(help="Accumulation in months (1-72).")] = 3,
    method: Annotated[str, typer.Option(help="Gamma fit: thom, mle or lmoments.")] = "thom",
    distribution: Annotated[str, typer.Option(help="gamma or pearson3 (with lmoments).")] = "gamma",
    calibration: Annotated[
        str, typer.Option(help="Reference years FIRST-LAST, or full.")
    ] = "1981-2010",
    variable: Annotated[
        str | None, typer.Option("--var", help="Variable name in a grid file.")
    ] = None,
    crs: Annotated[str | None, typer.Option(help=_CRS_HELP)] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    chunks: Annotated[int | None, typer.Option(help="Spatial dask chunk size of a grid.")] = None,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """Standardized Precipitation Index.

    Examples:

        landwatch drought spi prcp.csv --scale 3 --out spi3.csv

        landwatch drought spi climate.nc --var pr --scale 12 --out spi12.tif
    """
    _single_index(
        "spi",
        source,
        out,
        scale=scale,
        method=method,
        distribution=distribution,
        calibration=calibration,
        variable=variable,
        crs=crs,
        overwrite=overwrite,
        chunks=chunks,
        scheduler=scheduler,
        cluster=cluster,
        memory_limit=memory_limit,
    )


@drought_app.command("spei")
def drought_spei(
    source: Annotated[
        Path, typer.Argument(help="Monthly precipitation (station CSV or grid with pr and tas).")
    ],
    out: Annotated[Path, typer.Option(help="Output .csv, .nc, .zarr or .tif (COG).")],
    scale: Annotated[int, typer.Option(help="Accumulation in months (1-72).")] = 3,
    pet: Annotated[
        Path | None,
        typer.Option(help="PET table or grid (mm/month); grids default to Thornthwaite from tas."),
    ] = None,
    calibration: Annotated[
        str, typer.Option(help="Reference years FIRST-LAST, or full.")
    ] = "1981-2010",
    variable: Annotated[
        str | None, typer.Option("--var", help="Precipitation variable in a grid file.")
    ] = None,
    crs: Annotated[str | None, typer.Option(help=_CRS_HELP)] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    chunks: Annotated[int | None, typer.Option(help="Spatial dask chunk size of a grid.")] = None,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """Standardized Precipitation-Evapotranspiration Index (log-logistic, as R SPEI).

    Example: landwatch drought spei prcp.csv --pet pet.csv --scale 6 --out spei6.csv
    """
    _single_index(
        "spei",
        source,
        out,
        scale=scale,
        pet_source=pet,
        calibration=calibration,
        variable=variable,
        crs=crs,
        overwrite=overwrite,
        chunks=chunks,
        scheduler=scheduler,
        cluster=cluster,
        memory_limit=memory_limit,
    )


@drought_app.command("pet")
def drought_pet(
    source: Annotated[
        Path, typer.Argument(help="Monthly mean temperature in degC (station CSV or grid).")
    ],
    out: Annotated[Path, typer.Option(help="Output .csv, .nc, .zarr or .tif (COG).")],
    lat: Annotated[
        float | None, typer.Option(help="Latitude (degrees north) of the stations in a CSV.")
    ] = None,
    variable: Annotated[
        str | None, typer.Option("--var", help="Temperature variable in a grid file.")
    ] = None,
    crs: Annotated[str | None, typer.Option(help=_CRS_HELP)] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    chunks: Annotated[int | None, typer.Option(help="Spatial dask chunk size of a grid.")] = None,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """Thornthwaite potential evapotranspiration (mm/month).

    Example: landwatch drought pet tas.csv --lat 37.7 --out pet.csv
    """
    _single_index(
        "pet",
        source,
        out,
        lat=lat,
        variable=variable,
        crs=crs,
        overwrite=overwrite,
        chunks=chunks,
        scheduler=scheduler,
        cluster=cluster,
        memory_limit=memory_limit,
    )


@drought_app.command("events")
def drought_events(
    source: Annotated[Path, typer.Argument(help="An index (SPI/SPEI): station CSV or grid.")],
    out: Annotated[Path, typer.Option(help="Catalog .csv, or .geojson for grids.")],
    threshold: Annotated[float, typer.Option(help="An event starts below this value.")] = -1.0,
    end_threshold: Annotated[
        float | None, typer.Option(help="...and lasts while below this (default: threshold).")
    ] = None,
    min_duration: Annotated[int, typer.Option(help="Shortest event kept (months).")] = 1,
    pooling_gap: Annotated[
        int, typer.Option(help="Merge events this many months apart or closer.")
    ] = 0,
    variable: Annotated[
        str | None, typer.Option("--var", help="Index variable in a grid file.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    chunks: Annotated[int | None, typer.Option(help="Spatial dask chunk size of a grid.")] = None,
    scheduler: SchedulerOption = None,
    cluster: ClusterOption = None,
    memory_limit: MemoryLimitOption = None,
) -> None:
    """Drought events by run theory: onset, end, duration, severity, intensity, peak.

    Example: landwatch drought events spi3.csv --threshold -1 --out events.csv
    """
    from landwatch.workflows.drought import run_events

    try:
        with (
            on_cluster(scheduler, cluster, memory_limit) as client,
            console.status("finding drought events"),
        ):
            path = run_events(
                source,
                out,
                variable=variable,
                threshold=threshold,
                end_threshold=end_threshold,
                min_duration=min_duration,
                pooling_gap=pooling_gap,
                overwrite=overwrite,
                chunks=cluster_chunks(client, chunks, source, variable),
            )
    except LandwatchError as exc:
        _fail(exc)
    out_console.print(f"Event catalog written to [bold]{path}[/]")


def _print_summary(result: Any) -> None:
    table = Table(title="SDG 15.3.1 - proportion of land degraded")
    for col in ("period", "unit", "degraded km2", "land km2", "% degraded", "status km2"):
        table.add_column(col, justify="right" if "km2" in col or "%" in col else "left")
    for r in result.summary["sdg_summary"]:
        table.add_row(
            r["period"],
            r["admin_name"],
            f"{r['degraded_km2']:.1f}",
            f"{r['land_area_km2']:.1f}",
            f"{r['sdg_15_3_1_percent']:.2f}",
            f"{r.get('status_degraded_km2', float('nan')):.1f}",
        )
    out_console.print(table)
    ok = result.summary["all_areas_reconcile"]
    out_console.print(
        "Area check: "
        + (
            "[green]all class areas + no data + water add up to the territory[/]"
            if ok
            else "[red]some tables do not add up - see tables/area_checks.csv[/]"
        )
    )
    out_console.print(
        f"Outputs: [bold]{result.out_dir}[/] (maps/, tables/, summary.json, manifest.json, sdg1531_map.png)"
    )


def run() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    run()
