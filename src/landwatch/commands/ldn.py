"""``landwatch ldn``: Land Degradation Neutrality from an SDG 15.3.1 run.

A thin command: it parses options, calls :func:`landwatch.workflows.ldn.run_ldn` and
prints the verdict per period. Errors print as one red line and exit 2 through the
helpers of :mod:`landwatch.cli`, imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landwatch.errors import InputError, LandwatchError


def ldn(
    sdg_run: Annotated[
        Path,
        typer.Option(
            "--sdg-run",
            help="Output folder of `landwatch sdg1531` (its maps and the inputs its manifest "
            "names: soil units, climate zones, population, admin units).",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    components: Annotated[
        str,
        typer.Option(
            help="Land type = intersection of these run inputs, comma-separated: "
            "land_cover, soil_units, climate_zones."
        ),
    ] = "land_cover,soil_units,climate_zones",
    land_types: Annotated[
        Path | None,
        typer.Option(
            "--land-types",
            help="Your own land types instead: a raster of codes, or polygons with "
            "--land-type-field.",
        ),
    ] = None,
    land_type_field: Annotated[
        str | None, typer.Option(help="Field of --land-types polygons holding the land type.")
    ] = None,
    land_type_year: Annotated[
        int | None,
        typer.Option(help="Year of the land cover used in land types (default: baseline start)."),
    ] = None,
    interventions: Annotated[
        Path | None,
        typer.Option(
            help="Planned interventions (GeoPackage/GeoJSON polygons with fields action = "
            "avoid|reduce|reverse and effect = 0-1, optional name) for the what-if balance."
        ),
    ] = None,
    drought_hazard: Annotated[
        Path | None,
        typer.Option(
            help="Drought hazard class raster (0 none .. 4 extreme, e.g. an SO3 most_severe map); "
            "resampled to the SDG grid by nearest neighbour."
        ),
    ] = None,
    hazard_min_class: Annotated[
        int, typer.Option(help="Hazard class from which a hotspot pixel counts as drought-exposed.")
    ] = 2,
    risk: Annotated[
        Path | None, typer.Option(help="Risk raster (> 0 = at risk) for the 'avoid' class.")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="Response rule table (YAML), default the shipped one.")
    ] = None,
    min_area: Annotated[
        float, typer.Option("--min-area", help="Smallest hotspot or brightspot, km2.")
    ] = 1.0,
    period: Annotated[
        list[str] | None,
        typer.Option(help="Reporting period(s) to assess (default: all of the run)."),
    ] = None,
    align: Annotated[
        bool,
        typer.Option(
            "--align/--no-align",
            help="Resample inputs on another grid to the SDG maps (nearest neighbour).",
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
) -> None:
    """Land Degradation Neutrality: land types, gains and losses balanced like for like
    within each land type (per admin unit and nationally), hotspots and brightspots
    (GeoPackage, GeoJSON, ranked tables), the response hierarchy avoid > reduce > reverse,
    and a what-if balance for planned interventions.

    Example:

        landwatch ldn --sdg-run demo/region/sdg1531 --out demo/ldn
    """
    from landwatch.cli import RichProgress, _fail, _progress, out_console
    from landwatch.workflows.ldn import run_ldn

    try:
        comps = tuple(c.strip() for c in components.split(",") if c.strip())
        if not comps and land_types is None:
            raise InputError("--components is empty; name at least one, or pass --land-types.")
        with _progress() as prog:
            result = run_ldn(
                sdg_run,
                out,
                components=comps,
                land_types_path=land_types,
                land_type_field=land_type_field,
                land_type_year=land_type_year,
                interventions=interventions,
                drought_hazard=drought_hazard,
                hazard_min_class=hazard_min_class,
                risk=risk,
                rules=rules,
                min_area_km2=min_area,
                periods=list(period) if period else None,
                align=align,
                overwrite=overwrite,
                progress=RichProgress(prog, "LDN"),
            )
    except (LandwatchError, OSError) as exc:
        _fail(exc)
        return
    from rich.table import Table

    table = Table(title="Land Degradation Neutrality (like for like, per land type)")
    for col in (
        "period",
        "verdict",
        "land types short",
        "gains km2",
        "losses km2",
        "net km2",
        "hotspots",
        "brightspots",
    ):
        table.add_column(col, justify="right" if col not in ("period", "verdict") else "left")
    for name, p in result.summary["periods"].items():
        table.add_row(
            name,
            p["status"],
            f"{p['land_types_not_achieved']} of {p['land_types']}",
            f"{p['gain_km2']:.1f}",
            f"{p['loss_km2']:.1f}",
            f"{p['aggregate_net_km2']:.1f}",
            str(p["hotspots"]),
            str(p["brightspots"]),
        )
    out_console.print(table)
    for note in result.summary.get("notes", []):
        out_console.print(f"[yellow]note:[/] {note}")
    out_console.print(
        "A land type achieves neutrality when its gains cover its losses; the territory only "
        "when every land type does (the aggregate net is for information)."
    )
    out_console.print(f"Outputs: {result.out_dir} (maps/, tables/, hotspots.gpkg, ldn_map.png)")
