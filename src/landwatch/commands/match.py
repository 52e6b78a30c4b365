"""``landwatch match``: recommend SLM practices for hotspots or any area.

A thin command over :func:`landwatch.workflows.match.run_match`; practices are the
approved records of the knowledge base. Errors print as one red line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landwatch.commands.users import DatabaseUrl
from landwatch.errors import InputError, LandwatchError


def match(
    ldn_run: Annotated[
        Path | None, typer.Option("--ldn-run", help="Output folder of `landwatch ldn`.")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Reporting period (default: the last of the run).")
    ] = None,
    hotspot: Annotated[
        list[int] | None,
        typer.Option(help="Priority rank(s) of the hotspots to match (default: the top 5)."),
    ] = None,
    top_hotspots: Annotated[
        int, typer.Option(help="How many hotspots, by priority, when --hotspot is not given.")
    ] = 5,
    brightspots: Annotated[
        bool, typer.Option(help="Match brightspots (keep the gains) instead of hotspots.")
    ] = False,
    area: Annotated[
        Path | None,
        typer.Option(help="A polygon (GeoJSON/GeoPackage) to match instead, read from the maps."),
    ] = None,
    land_cover: Annotated[
        list[int] | None,
        typer.Option(help="Without a run: UNCCD land cover class(es) 1-7 of the area."),
    ] = None,
    process: Annotated[
        list[str] | None,
        typer.Option(
            help="Without a run: process(es) such as productivity_decline, soc_loss, "
            "land_cover_1_3 (tree-covered to cropland)."
        ),
    ] = None,
    climate_zone: Annotated[
        str | None, typer.Option(help="Without a run: IPCC climate zone, e.g. tropical_dry.")
    ] = None,
    aridity: Annotated[
        list[str] | None, typer.Option(help="Aridity class(es), e.g. semi_arid.")
    ] = None,
    response: Annotated[
        str, typer.Option(help="Without a run: maintain, avoid, reduce or reverse.")
    ] = "reverse",
    top: Annotated[int, typer.Option(help="Practices per place.")] = 3,
    out: Annotated[
        Path | None, typer.Option(help="Folder for matches.csv and matches.json.")
    ] = None,
    db: DatabaseUrl = None,
) -> None:
    """Recommend practices from the knowledge base for an LDN run's hotspots, for a
    polygon, or for an area you describe, each with its score breakdown and reasons.

    Examples:

        landwatch match --ldn-run demo/ldn --top-hotspots 3

        landwatch match --land-cover 2 --process productivity_decline --climate-zone tropical_dry
    """
    from landwatch.cli import _fail, out_console
    from landwatch.knowledge.matching import AreaProfile
    from landwatch.knowledge.practices import approved_records
    from landwatch.store import init_db, session_scope
    from landwatch.workflows.match import run_match

    try:
        profile = None
        if ldn_run is None:
            if not (land_cover and process and climate_zone):
                raise InputError(
                    "say what to match: --ldn-run DIR (its hotspots, or --area), or describe "
                    "the area with --land-cover, --process and --climate-zone."
                )
            profile = AreaProfile(
                land_cover={int(c): 1.0 for c in land_cover},
                processes={p: 1.0 for p in process},
                climate_zone=climate_zone,
                aridity=tuple(aridity or ()),
                response=response,
                name="described area",
            )
        with session_scope(init_db(db)) as session:
            records = approved_records(session)
        result = run_match(
            records,
            ldn_run=ldn_run,
            period=period,
            kind="brightspot" if brightspots else "hotspot",
            ranks=hotspot,
            top_hotspots=top_hotspots,
            area=area,
            profile=profile,
            top=top,
            out=out,
        )
    except (LandwatchError, OSError) as exc:
        _fail(exc)
        return
    for prof, matches in zip(result.profiles, result.matches, strict=True):
        out_console.rule(
            f"{prof.name}: {', '.join(prof.processes) or 'no process'}; "
            f"{prof.climate_zone.replace('_', ' ')}; response {prof.response}"
        )
        for m in matches:
            c = m.components
            out_console.print(f"[bold]{m.rank}. {m.name}[/]  score {m.score:.2f}", highlight=False)
            out_console.print(
                f"   degradation {c['degradation']:.2f}, land use {c['land_use']:.2f}, "
                f"climate {c['climate']:.2f}, aridity {c['aridity']:.2f}, "
                f"response {c['response']:.2f}",
                highlight=False,
            )
            out_console.print("   " + "; ".join(m.reasons[:2]), highlight=False, style="dim")
    if result.files:
        out_console.print(f"Written: {', '.join(str(f) for f in result.files)}")
