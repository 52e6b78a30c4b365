"""``landwatch observe``: community observations that confirm or correct the maps.

Thin wrappers over :mod:`landwatch.workflows.observations`: parse, call, print.
Errors are one red line and exit code 2 (``landwatch --debug`` shows the traceback).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from landwatch.errors import InputError, LandwatchError

observe_app = typer.Typer(
    help="Community observations (incl. local and indigenous knowledge) that confirm or "
    "correct the maps: add, import/export CSV and GeoJSON, validate, check against a run, "
    "and write SDG 15.3.1 correction polygons.",
    no_args_is_help=True,
)

console = Console(stderr=True)
out_console = Console()

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: LANDWATCH_DATABASE_URL, else SQLite in LANDWATCH_DATA_DIR).",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Folder where photos are stored (default: LANDWATCH_DATA_DIR)."
    ),
]


def _fail(ctx: typer.Context, exc: BaseException) -> NoReturn:
    # the main app's --debug (a parameter of the root context) shows the traceback
    if ctx.find_root().params.get("debug"):
        raise exc
    console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r}: expected a date YYYY-MM-DD.") from None


def _filters(
    status: list[str] | None,
    category: list[str] | None,
    admin_id: str | None,
    since: str | None,
    until: str | None,
    lik_only: bool,
    flag: list[str] | None,
) -> dict[str, Any]:
    return {
        "status": status or None,
        "category": category or None,
        "admin_id": admin_id,
        "since": _date(since, "--since"),
        "until": _date(until, "--until"),
        "lik_only": lik_only,
        "flag": flag or None,
    }


Status = Annotated[
    list[str] | None,
    typer.Option("--status", help="Validation status (repeatable): submitted, confirmed, ..."),
]
Category = Annotated[list[str] | None, typer.Option("--category", help="Category (repeatable).")]
AdminId = Annotated[str | None, typer.Option("--admin-id", help="Admin unit id.")]
Since = Annotated[str | None, typer.Option("--since", help="Observed on or after (YYYY-MM-DD).")]
Until = Annotated[str | None, typer.Option("--until", help="Observed on or before (YYYY-MM-DD).")]
LikOnly = Annotated[
    bool, typer.Option("--lik-only", help="Only local / indigenous knowledge observations.")
]
Flag = Annotated[
    list[str] | None,
    typer.Option(
        "--flag", help="Map-check flag (repeatable), e.g. possible_false_positive, consistent."
    ),
]


@observe_app.command("add")
def add(
    ctx: typer.Context,
    lon: Annotated[str, typer.Option("--lon", help="Longitude, WGS84 decimal degrees.")],
    lat: Annotated[str, typer.Option("--lat", help="Latitude, WGS84 decimal degrees.")],
    observed_on: Annotated[str, typer.Option("--date", help="Day of the observation, YYYY-MM-DD.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="Observer: farmer, pastoralist, extension_officer, community_monitor, "
            "scientist, other.",
        ),
    ],
    category: Annotated[
        str,
        typer.Option(
            "--category",
            help="crop_failure, water_scarcity, livestock_loss, vegetation_state, "
            "restoration_result, land_degradation_sign, other.",
        ),
    ],
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="Land / vegetation state: degraded, stable, improved (required for "
            "vegetation_state and restoration_result).",
        ),
    ] = None,
    severity: Annotated[
        str | None,
        typer.Option("--severity", help="Drought impact: none, mild, moderate, severe."),
    ] = None,
    text: Annotated[
        str, typer.Option("--text", help="What was seen, in the observer's words.")
    ] = "",
    language: Annotated[
        str, typer.Option("--language", help="BCP 47 tag of --text, e.g. sw, en, fr-SN.")
    ] = "und",
    photo: Annotated[
        Path | None, typer.Option("--photo", help="JPEG, PNG or WebP photo (at most 10 MiB).")
    ] = None,
    lik: Annotated[
        bool,
        typer.Option("--lik", help="Based on a local or indigenous knowledge indicator."),
    ] = False,
    lik_name: Annotated[
        str | None,
        typer.Option("--lik-name", help="Name of the indicator (e.g. a plant or bird sign)."),
    ] = None,
    area_wkt: Annotated[
        str | None,
        typer.Option("--area-wkt", help="Polygon the observation is about (WKT, WGS84)."),
    ] = None,
    admin_id: AdminId = None,
    source: Annotated[str, typer.Option("--source", help="Where the report came from.")] = "cli",
    db: Db = None,
    data_dir: DataDir = None,
) -> None:
    """Add one field observation and print its uuid.

    Example:

        landwatch observe add --lon 37.21 --lat -1.43 --date 2024-03-17
        --role pastoralist --category vegetation_state --state degraded
        --text "Hakuna nyasi" --language sw
    """
    from landwatch.workflows.observations import add_observation

    fields: dict[str, Any] = {
        "lon": lon,
        "lat": lat,
        "observed_on": observed_on,
        "observer_role": role,
        "category": category,
        "land_state": state,
        "impact_severity": severity,
        "description": text,
        "language": language,
        "lik_indicator_name": lik_name,
        "area_wkt": area_wkt,
        "admin_id": admin_id,
        "source": source,
    }
    if lik:
        fields["lik_indicator"] = True
    try:
        obs = add_observation(fields, photo=photo, url=db, data_dir=data_dir)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(obs.uuid)


@observe_app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV or GeoJSON of observations.")],
    skip_existing: Annotated[
        bool,
        typer.Option("--skip-existing", help="Skip uuids already in the database (else: error)."),
    ] = False,
    db: Db = None,
    data_dir: DataDir = None,
) -> None:
    """Import observations from CSV or GeoJSON: all rows or none.

    A bad row stops the import with its row (or feature) number and column; nothing
    is inserted. Photos are files named in column 'photo', relative to the file.

    Example: landwatch observe import field_reports.csv
    """
    from landwatch.workflows.observations import import_observations

    try:
        result = import_observations(
            path, url=db, data_dir=data_dir, on_duplicate="skip" if skip_existing else "error"
        )
    except LandwatchError as exc:
        _fail(ctx, exc)
    msg = f"Imported {len(result.inserted)} observations from [bold]{path}[/]"
    if result.skipped:
        msg += f" ({len(result.skipped)} already present, skipped)"
    out_console.print(msg)


@observe_app.command("export")
def export(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Output .csv or .geojson.")],
    status: Status = None,
    category: Category = None,
    admin_id: AdminId = None,
    since: Since = None,
    until: Until = None,
    lik_only: LikOnly = False,
    flag: Flag = None,
    db: Db = None,
    data_dir: DataDir = None,
) -> None:
    """Export observations as CSV or GeoJSON, photos copied beside the file.

    Example: landwatch observe export reports.geojson --status confirmed
    """
    from landwatch.workflows.observations import export_observations

    try:
        filters = _filters(status, category, admin_id, since, until, lik_only, flag)
        result = export_observations(path, url=db, data_dir=data_dir, **filters)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(
        f"Exported {result.count} observations ({result.photos} photos) to [bold]{result.path}[/]"
    )


@observe_app.command("list")
def list_(
    ctx: typer.Context,
    status: Status = None,
    category: Category = None,
    admin_id: AdminId = None,
    since: Since = None,
    until: Until = None,
    lik_only: LikOnly = False,
    flag: Flag = None,
    db: Db = None,
) -> None:
    """List observations (uuid prefix, date, place, category, state, status, map check)."""
    from landwatch.workflows.observations import list_observations

    try:
        filters = _filters(status, category, admin_id, since, until, lik_only, flag)
        rows = list_observations(url=db, **filters)
    except LandwatchError as exc:
        _fail(ctx, exc)
    table = Table(title=f"{len(rows)} observations")
    table.add_column("uuid", no_wrap=True, min_width=8)
    for col in ("date", "lon", "lat", "category", "state", "LIK", "status", "map check"):
        table.add_column(col)
    for o in rows:
        table.add_row(
            o.uuid[:8],
            o.observed_on.isoformat(),
            f"{o.lon:.5f}",
            f"{o.lat:.5f}",
            o.category,
            o.land_state or o.impact_severity or "",
            "yes" if o.lik_indicator else "",
            o.validation_status,
            f"{o.map_flag} ({o.map_layer} = {o.map_value})" if o.map_flag else "",
        )
    out_console.print(table)


@observe_app.command("validate")
def validate(
    ctx: typer.Context,
    key: Annotated[
        str, typer.Argument(help="uuid of the observation (or its first 6+ characters).")
    ],
    by: Annotated[str, typer.Option("--by", help="Who validates (a name or a role).")],
    confirm: Annotated[bool, typer.Option("--confirm", help="Confirm the observation.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject it (needs --note).")] = False,
    needs_review: Annotated[
        bool, typer.Option("--needs-review", help="Send it back for review.")
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    db: Db = None,
) -> None:
    """Confirm or reject an observation (or send it back for review).

    Only confirmed observations correct maps and weigh on alerts.

    Example: landwatch observe validate 3f2a9c --confirm --by "county LDN officer"
    """
    from landwatch.workflows.observations import set_validation

    try:
        chosen = [
            s
            for s, on in (
                ("confirmed", confirm),
                ("rejected", reject),
                ("needs_review", needs_review),
            )
            if on
        ]
        if len(chosen) != 1:
            raise InputError("validate: give exactly one of --confirm, --reject, --needs-review.")
        obs = set_validation(key, chosen[0], by=by, note=note, url=db)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"{obs.uuid}: {obs.validation_status} by {obs.validated_by}")


@observe_app.command("check")
def check(
    ctx: typer.Context,
    run_dir: Annotated[Path, typer.Argument(help="Output folder of `landwatch sdg1531`.")],
    layer: Annotated[
        str, typer.Option("--layer", help="Map to compare with: sdg, lpd3 or lpd5.")
    ] = "sdg",
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="Compare every observation with this period (default: the period whose "
            "productivity years hold the observation date).",
        ),
    ] = None,
    assign_admin: Annotated[
        bool,
        typer.Option(
            "--assign-admin/--no-assign-admin",
            help="Fill in missing admin unit ids from the run's admin polygons.",
        ),
    ] = True,
    db: Db = None,
) -> None:
    """Check observations against the maps of a run and flag contradictions.

    A possible false positive: the map says degraded, the observer does not. A
    possible false negative: the observer says degraded, the map does not.

    Example: landwatch observe check demo/sdg1531
    """
    from landwatch.workflows.observations import check_observations

    try:
        summary = check_observations(
            run_dir, url=db, layer=layer, period=period, assign_admin=assign_admin
        )
    except LandwatchError as exc:
        _fail(ctx, exc)
    table = Table(title=f"{len(summary.results)} observations against {summary.run}")
    table.add_column("uuid", no_wrap=True, min_width=8)
    for col in ("status", "observed", "map", "flag"):
        table.add_column(col)
    for r in summary.results:
        style = "bold red" if r["flag"].startswith("possible") else ""
        table.add_row(
            r["uuid"][:8],
            r["validation_status"],
            r["observed_state"] or "",
            f"{r['map_layer']} = {r['map_value']}",
            f"[{style}]{r['flag']}[/]" if style else r["flag"],
        )
    out_console.print(table)
    out_console.print(", ".join(f"{k}: {v}" for k, v in sorted(summary.counts.items())) or "none")
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {note}")


@observe_app.command("corrections")
def corrections(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="GeoJSON file to write.")],
    radius_m: Annotated[
        float,
        typer.Option("--radius-m", help="Radius around observations without a drawn area, metres."),
    ] = 500.0,
    period: Annotated[
        list[str] | None,
        typer.Option(
            "--period",
            help="Period(s) to correct (repeatable; default: the period each observation "
            "was checked against).",
        ),
    ] = None,
    db: Db = None,
) -> None:
    """Write confirmed contradicting observations as SDG 15.3.1 correction polygons.

    Put the file under `corrections:` in the run configuration; the next
    `landwatch sdg1531` run recodes the indicator there.

    Example: landwatch observe corrections demo/corrections.geojson --radius-m 500
    """
    from landwatch.workflows.observations import write_corrections

    try:
        result = write_corrections(out, url=db, radius_m=radius_m, periods=period or None)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(
        f"Wrote {len(result.used)} correction polygons ({', '.join(result.periods)}) to "
        f"[bold]{result.path}[/]"
    )
    if result.overlaps:
        pairs = ", ".join(f"{a[:8]}/{b[:8]}" for a, b in result.overlaps)
        console.print(
            f"[yellow]note:[/] overlapping polygons with different recodes ({pairs}); the more "
            "recent observation wins where they overlap."
        )
    out_console.print(f"Add to the run configuration:  corrections: {result.path}")
