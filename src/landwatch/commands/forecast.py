"""``landwatch forecast``: SPI-3 and CDI-watch forecasts 1-3 months ahead, with their skill.

A thin Typer sub-app: it parses options, calls
:func:`landwatch.workflows.forecast.run_forecast` and prints the skill table. Errors
print as one red line and exit with status 2 (``landwatch --debug`` shows the
traceback), through the helpers of :mod:`landwatch.cli`, imported when a command
runs so that ``cli`` can import this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from landwatch.commands import parse_calibration
from landwatch.errors import InputError, LandwatchError

app = typer.Typer(
    help="Drought forecasts: SPI-3 and the CDI watch level 1-3 months ahead, with skill "
    "measured by time-blocked cross-validation against persistence and climatology.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Drought forecasts with skill measured against persistence and climatology."""


def _leads(text: str) -> tuple[int, ...]:
    try:
        leads = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise InputError(f"--leads {text!r}: expected months such as 1,2,3.") from exc
    if not leads:
        raise InputError("--leads is empty; expected months such as 1,2,3.")
    return leads


def _columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise InputError("--driver-columns is empty; expected names such as nino34.")
    return cols


@app.command("run")
def run(
    source: Annotated[
        Path,
        typer.Argument(
            help="Monthly precipitation (mm): station/admin-unit CSV (time + one column per "
            "unit) or NetCDF/Zarr grid (time, y, x)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output folder (written atomically).")],
    leads: Annotated[str, typer.Option(help="Leads in months, comma separated.")] = "1,2,3",
    model: Annotated[str, typer.Option(help="linear (ridge) or gbm (gradient boosting).")] = "gbm",
    max_iter: Annotated[
        int | None, typer.Option(help="Boosting iterations of the gbm model (default 150).")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="OpenMP threads of the gbm model (1 on a machine shared with others)."),
    ] = None,
    drivers: Annotated[
        Path | None,
        typer.Option(help="Climate drivers CSV: time (YYYY-MM) + columns, e.g. nino34."),
    ] = None,
    driver_columns: Annotated[
        str | None, typer.Option(help="Driver columns to use, comma separated (default all).")
    ] = None,
    driver_lag: Annotated[
        int, typer.Option(help="Months after its month that a driver value is published.")
    ] = 1,
    issue: Annotated[
        str | None,
        typer.Option(help="Issue month YYYY-MM (default the last month); later data are ignored."),
    ] = None,
    calibration: Annotated[
        str, typer.Option(help="SPI reference years FIRST-LAST, or full.")
    ] = "1981-2010",
    hindcast: Annotated[
        bool,
        typer.Option(
            "--hindcast/--no-hindcast",
            help="Measure the skill first (without it, rows say the skill is not measured).",
        ),
    ] = True,
    block_years: Annotated[int, typer.Option(help="Held-out years per hindcast fold.")] = 10,
    gap_years: Annotated[
        int, typer.Option(help="Years left out on each side of a held-out block.")
    ] = 1,
    scheme: Annotated[
        str, typer.Option(help="blocked (leave-block-out) or rolling (rolling origin).")
    ] = "blocked",
    variable: Annotated[
        str | None, typer.Option("--var", help="Variable name in a grid file.")
    ] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a grid whose file has none.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
) -> None:
    """Forecast SPI-3 and P(CDI watch) for every unit or pixel, and measure the skill.

    Writes forecasts.csv (is_forecast, lead, issue month, CAP certainty and the skill
    verdict on every row), for grids forecasts.nc and cdi_forecast.nc (input of
    `landwatch warn run --forecast --certainty Likely`), skill.json/.csv/.md,
    reliability.csv and manifest.json. Examples:

        landwatch forecast run prcp.csv --out fc/2022-06 --issue 2022-06

        landwatch forecast run prcp.csv --drivers enso.csv --driver-columns nino34 --out fc
    """
    from rich.table import Table

    from landwatch import cli
    from landwatch.workflows.forecast import run_forecast

    try:
        if scheme not in ("blocked", "rolling"):
            raise InputError(f"--scheme {scheme!r}: choose blocked or rolling.")
        if model not in ("linear", "gbm"):
            raise InputError(f"--model {model!r}: choose linear or gbm.")
        params: dict[str, Any] = {}
        if max_iter is not None:
            if model != "gbm":
                raise InputError("--max-iter applies to --model gbm only.")
            params["max_iter"] = max_iter
        if threads is not None:
            if model != "gbm":
                raise InputError("--threads applies to --model gbm only.")
            params["threads"] = threads
        with cli.console.status("forecast: hindcast and outlook") as status:
            result = run_forecast(
                source,
                out,
                variable=variable,
                leads=_leads(leads),
                model=model,  # type: ignore[arg-type]
                model_params=params,
                drivers=drivers,
                driver_columns=_columns(driver_columns),
                publication_lag=driver_lag,
                issue=issue,
                calibration=parse_calibration(calibration),
                hindcast=hindcast,
                block_years=block_years,
                gap_years=gap_years,
                scheme=scheme,  # type: ignore[arg-type]
                crs=crs,
                overwrite=overwrite,
                progress=lambda msg: status.update(f"forecast: {msg}"),
            )
    except LandwatchError as exc:
        cli._fail(exc)
    fc = result.forecasts
    cli.out_console.print(
        f"Forecast issued {fc['issue_month'].iloc[0]} for {fc['cell'].nunique()} units, leads "
        f"{', '.join(map(str, sorted(fc['lead'].unique())))}: written to [bold]{result.out_dir}[/]"
    )
    if result.skill is None:
        cli.out_console.print("[yellow]Skill not measured (--no-hindcast).[/]")
        return
    t = Table(title="Hindcast skill (held-out years)")
    for c in ("lead", "forecast", "RMSE", "MSESS clim", "MSESS pers", "ROC-AUC", "BSS clim"):
        t.add_column(c, justify="right" if c not in ("forecast",) else "left")
    for r in result.skill.skill.itertuples():
        t.add_row(
            str(r.lead),
            str(r.forecast),
            f"{r.rmse:.3f}",
            f"{r.msess_climatology:+.3f}",
            f"{r.msess_persistence:+.3f}",
            f"{r.roc_auc:.3f}",
            f"{r.bss_climatology:+.3f}",
        )
    cli.out_console.print(t)
    for key, text in result.skill.verdicts().items():
        colour = "green" if text.startswith("beats persistence") else "red"
        cli.out_console.print(f"[{colour}]{key}: {text}[/]", highlight=False)
