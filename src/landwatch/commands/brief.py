"""``landwatch brief``: a rapid-response brief (HTML and A4 PDF) on one area.

A thin command over :func:`landwatch.workflows.brief.run_brief`: it parses the
options, shows progress and prints the key numbers. Errors print as one red line and
exit 2 through the helpers of :mod:`landwatch.cli`, imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landwatch.commands.users import DatabaseUrl
from landwatch.errors import LandwatchError

_TOPIC_HELP = (
    "land_degradation (needs --sdg-run), drought (--so3-run and/or --warning-run), "
    "ldn or hotspots_practices (--ldn-run)."
)


def brief(
    topic: Annotated[str, typer.Option(help=f"What the brief is about: {_TOPIC_HELP}")],
    out: Annotated[Path, typer.Option(help="Output folder (brief.html, brief.pdf, numbers.json).")],
    sdg_run: Annotated[
        Path | None, typer.Option("--sdg-run", help="Output folder of `landwatch sdg1531`.")
    ] = None,
    ldn_run: Annotated[
        Path | None,
        typer.Option("--ldn-run", help="Output folder of `landwatch ldn` (finds its SDG run)."),
    ] = None,
    so3_run: Annotated[
        Path | None, typer.Option("--so3-run", help="Output folder of `landwatch drought so3`.")
    ] = None,
    warning_run: Annotated[
        Path | None, typer.Option("--warning-run", help="Output folder of `landwatch warn run`.")
    ] = None,
    admin: Annotated[
        str | None,
        typer.Option(help="Admin unit id of the runs' admin layer, e.g. KE-S01."),
    ] = None,
    area: Annotated[
        Path | None,
        typer.Option(help="A polygon (GeoJSON or GeoPackage) instead of an admin unit."),
    ] = None,
    db: DatabaseUrl = None,
    title: Annotated[
        str | None, typer.Option(help="Title (default: the topic and the area).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
) -> None:
    """A rapid-response brief on one area (an admin unit, a polygon, or the whole
    territory when neither is given): key numbers, a map of the area, charts,
    interpretation, recommended practices (with --db and an LDN run), methods, data
    sources with checksums, caveats and provenance, as brief.html (self-contained) and
    brief.pdf (A4).

    Examples:

        landwatch brief --topic land_degradation --sdg-run demo/sdg1531 --admin KE-S01 --out demo/brief_ke_s01

        landwatch brief --topic hotspots_practices --ldn-run demo/ldn --area field.geojson --db sqlite:///kb.db --out demo/brief_field
    """
    from landwatch.cli import RichProgress, _fail, _progress, out_console
    from landwatch.workflows.brief import run_brief

    try:
        with _progress() as prog:
            result = run_brief(
                out,
                topic=topic,
                sdg_run=sdg_run,
                ldn_run=ldn_run,
                so3_run=so3_run,
                warning_run=warning_run,
                admin_id=admin,
                area=area,
                database_url=db,
                title=title,
                overwrite=overwrite,
                progress=RichProgress(prog, "brief"),
            )
    except (LandwatchError, OSError) as exc:
        _fail(exc)
        return
    from rich.table import Table

    table = Table(title="Key numbers")
    table.add_column("key")
    table.add_column("value", justify="right")
    for key, value in result.numbers.items():
        table.add_row(key, f"{value:,}" if isinstance(value, float) else str(value))
    out_console.print(table)
    out_console.print(
        f"Written: [bold]{result.html}[/], [bold]{result.pdf}[/], {result.out_dir / 'numbers.json'}"
    )
