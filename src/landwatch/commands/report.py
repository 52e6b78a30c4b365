"""``landwatch report``: national reporting for the UNCCD from landwatch runs.

A thin Typer sub-app: ``report tables`` calls
:func:`landwatch.reports.national_tables.national_tables` and
:func:`~landwatch.reports.national_tables.write_national_tables`, then prints a summary
and the cross-checks. Errors print as one red line and exit 2 through the helpers of
:mod:`landwatch.cli` (imported when the command runs); failed cross-checks print in red
and exit 1 after the outputs are written, so they can be inspected.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from landwatch.errors import InputError, LandwatchError

report_app = typer.Typer(
    help="National reporting for the UNCCD: PRAIS 4 tables from landwatch runs, "
    "cross-checked against each other and against the maps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


@report_app.command("tables")
def tables(
    sdg_run: Annotated[
        Path,
        typer.Option(
            "--sdg-run",
            help="Output folder of `landwatch sdg1531` (its tables, maps and the inputs its "
            "manifest names: admin units, population).",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output folder (written atomically).")],
    so3_run: Annotated[
        Path | None,
        typer.Option("--so3-run", help="Output folder of `landwatch drought so3` (SO3 tables)."),
    ] = None,
    ldn_run: Annotated[
        Path | None,
        typer.Option(
            "--ldn-run",
            help="Output folder of `landwatch ldn` (hotspots SO1-4.T4, brightspots T5).",
        ),
    ] = None,
    admin_id: Annotated[
        str | None,
        typer.Option(
            "--admin-id", help="Report one admin unit of the sdg run instead of the territory."
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
) -> None:
    """UNCCD PRAIS 4 tables (CP-1.T1, SO1-1 to SO1-4, SO2-3, SO3-1 to SO3-3) as CSV, one
    XLSX (a sheet per table, 'checks' and 'README') and JSON, with cross-checks: classes
    sum to the land area, land + water = territory, tables agree with each other and
    with the maps counted on the ellipsoid (0.1 %). Exit status 1 when a check fails
    (the outputs are still written), 2 on an error.

    Example:

        landwatch report tables --sdg-run demo/sdg1531 --so3-run demo/so3 --ldn-run demo/ldn --out demo/report
    """
    from rich.table import Table

    from landwatch.cli import _fail, out_console
    from landwatch.reports.national_tables import (
        TABLE_DESCRIPTIONS,
        national_tables,
        write_national_tables,
    )

    try:
        if out.exists() and not overwrite:
            raise InputError(
                f"output folder {str(out)!r} already exists. Choose another --out or pass "
                "--overwrite."
            )
        nt = national_tables(sdg_run, so3_run=so3_run, ldn_run=ldn_run, admin_id=admin_id)
        files = write_national_tables(nt, out, overwrite=overwrite)
    except (LandwatchError, OSError) as exc:
        _fail(exc)
        return

    checks = nt.checks
    summary = Table(title=f"UNCCD national reporting tables ({nt.metadata.get('territory')})")
    for col in ("table", "content", "rows", "checks passed"):
        summary.add_column(col, justify="right" if col in ("rows", "checks passed") else "left")
    for name, df in nt.tables.items():
        mine = checks[checks["table"] == name]
        n_ok = int(mine["ok"].sum())
        passed = f"{n_ok} of {len(mine)}" if len(mine) else "-"
        style = "red" if n_ok < len(mine) else None
        summary.add_row(name, TABLE_DESCRIPTIONS.get(name, ""), str(len(df)), passed, style=style)
    out_console.print(summary)
    if "SO1-4.T2" in nt.tables:
        sdg = Table(title="SDG 15.3.1 (proportion of land that is degraded)")
        for col in ("period", "year", "degraded km2", "land km2", "% of land", "change km2"):
            sdg.add_column(col, justify="left" if col == "period" else "right")
        for r in nt.tables["SO1-4.T2"].itertuples():
            sdg.add_row(
                str(r.period),
                str(r.year),
                f"{r.degraded_km2:,.1f}",
                f"{r.land_area_km2:,.1f}",
                f"{r.sdg_15_3_1_percent:.2f}",
                f"{r.change_vs_baseline_km2:+,.1f}",
            )
        out_console.print(sdg)
    for note in nt.notes:
        out_console.print(f"[yellow]note:[/] {note}", highlight=False)
    failed = nt.failed
    if len(failed):
        out_console.print(
            f"[bold red]{len(failed)} of {len(checks)} cross-checks failed (tolerance 0.1 %):[/]",
            highlight=False,
        )
        for r in failed.itertuples():
            out_console.print(
                f"[red]FAILED {r.table}: {r.check}: expected {_fmt(r.expected)}, got "
                f"{_fmt(r.got)} ({r.difference_pct:+.4g} %)[/]",
                highlight=False,
                soft_wrap=True,
            )
    else:
        out_console.print(f"[green]All {len(checks)} cross-checks passed (tolerance 0.1 %).[/]")
    out_console.print(
        f"Outputs: {out} ({len(files)} files: a CSV per table, checks.csv, "
        "national_tables.xlsx, national_tables.json)",
        highlight=False,
    )
    if len(failed):
        raise typer.Exit(code=1)
