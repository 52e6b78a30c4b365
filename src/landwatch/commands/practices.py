"""``landwatch practices``: the SLM (sustainable land management) knowledge base.

Thin wrappers over :mod:`landwatch.knowledge.practices`: open the database, resolve
the token, call, print. Errors are one red line (a field error per line for an
invalid record) and exit code 2 (``landwatch --debug`` shows the traceback).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from landwatch.errors import InputError, LandwatchError, PermissionDenied

practices_app = typer.Typer(
    help="SLM practice knowledge base: search with facets, show, submit and edit records, "
    "review them (moderators), import/export JSON and CSV, load the built-in records.",
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
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="LANDWATCH_TOKEN",
        help="Your API token (issued by `landwatch users token NAME`).",
        show_default=False,
    ),
]
Codes = list[str] | None


def _fail(ctx: typer.Context, exc: BaseException) -> NoReturn:
    # the main app's --debug (a parameter of the root context) shows the traceback
    if ctx.find_root().params.get("debug"):
        raise exc
    console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    from landwatch.store import init_db, session_scope

    with session_scope(init_db(db)) as session:
        yield session


def _actor(session: Session, token: str | None, action: str, *, required: bool = True) -> Any:
    from landwatch.store.auth import authenticate

    if not token:
        if required:
            raise PermissionDenied(
                f"cannot {action} without a token: expected --token or LANDWATCH_TOKEN. "
                "Ask an admin for one: `landwatch users token NAME`."
            )
        return None
    return authenticate(session, token)


def _status_option(text: str) -> str | None:
    return None if text.strip().lower() == "all" else text


def _one_record(path: Path) -> Any:
    from landwatch.knowledge.practices import read_practice_file

    items, _ = read_practice_file(path, "json")
    if len(items) != 1:
        raise InputError(
            f"{path}: holds {len(items)} records; expected one JSON object. "
            "Use `landwatch practices import` for several records."
        )
    return items[0]


# --------------------------------------------------------------------------- search


@practices_app.command("search")
def search(
    ctx: typer.Context,
    query: Annotated[
        str, typer.Argument(help="Words to look for (name, summary, keywords, description).")
    ] = "",
    land_use: Annotated[
        Codes, typer.Option("--land-use", help="Land use code (repeatable, OR), e.g. cropland.")
    ] = None,
    degradation: Annotated[
        Codes, typer.Option("--degradation", help="WOCAT degradation type (repeatable), e.g. Wt.")
    ] = None,
    climate: Annotated[
        Codes, typer.Option("--climate", help="Climate zone (repeatable), e.g. tropical_dry.")
    ] = None,
    aridity: Annotated[
        Codes, typer.Option("--aridity", help="Aridity class (repeatable), e.g. semi_arid.")
    ] = None,
    goal: Annotated[
        Codes, typer.Option("--goal", help="prevent, reduce or restore (repeatable).")
    ] = None,
    measure: Annotated[
        Codes,
        typer.Option(
            "--measure", help="agronomic, vegetative, structural, management (repeatable)."
        ),
    ] = None,
    status: Annotated[
        str,
        typer.Option("--status", help="approved, or (moderators) draft, submitted, rejected, all."),
    ] = "approved",
    limit: Annotated[int, typer.Option("--limit", help="Hits to show.", min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Hits to skip (paging).", min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    token: Token = None,
    db: Db = None,
) -> None:
    """Search practices by words and facets; facets are OR within, AND across.

    Example: landwatch practices search "stone bunds" --climate tropical_dry --goal restore
    """
    from landwatch.knowledge.practices import search_practices

    try:
        with _session(db) as session:
            actor = _actor(session, token, "search", required=False)
            result = search_practices(
                session,
                query,
                land_use=land_use,
                degradation_types=degradation,
                climate_zones=climate,
                aridity=aridity,
                goals=goal,
                measure_types=measure,
                status=_status_option(status),
                limit=limit,
                offset=offset,
                actor=actor,
            )
    except LandwatchError as exc:
        _fail(ctx, exc)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    shown = f"{result.offset + 1}-{result.offset + len(result.hits)} of " if result.hits else ""
    about = f" for {query!r}" if query.strip() else ""
    table = Table(title=f"{shown}{result.total} practices{escape(about)}")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("name")
    table.add_column("goals")
    table.add_column("climate")
    table.add_column("uuid", no_wrap=True, min_width=8)
    for i, hit in enumerate(result.hits, start=result.offset + 1):
        table.add_row(
            str(i),
            f"{hit.score:.2f}" if query.strip() else "-",
            escape(hit.name),
            ", ".join(hit.record["goals"]),
            ", ".join(hit.record["climate_zones"]),
            hit.uuid[:8],
        )
    out_console.print(table)
    for facet, counts in result.facets.items():
        present = [f"{code} {n}" for code, n in counts.items() if n]
        if present:
            out_console.print(f"[bold]{facet}[/]: {', '.join(present)}", highlight=False)


# --------------------------------------------------------------------------- show, history


def _print_record(record: dict[str, Any]) -> None:
    from landwatch.knowledge.records import CODE_LIST_FIELDS

    p = out_console.print
    p(f"[bold]{escape(record['name'])}[/]", highlight=False)
    p(
        f"{record['uuid']}  version {record['version']}  {record['status']}  "
        f"({escape(record['contributor'])}, {record['language']}, {record['licence']})",
        highlight=False,
    )
    p()
    p(escape(record["summary"]), highlight=False)
    p()
    p(escape(record["description"]), highlight=False)
    p()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name in CODE_LIST_FIELDS:
        table.add_row(name, ", ".join(record[name]) or "-")
    costs = record["costs"]
    parts = []
    if costs["establishment_per_ha"] is not None:
        parts.append(f"establishment {costs['establishment_per_ha']:g} {costs['currency']}/ha")
    if costs["maintenance_per_ha_year"] is not None:
        parts.append(
            f"maintenance {costs['maintenance_per_ha_year']:g} {costs['currency']}/ha/year"
        )
    if parts:
        parts[-1] += f" ({costs['year']} prices)"
    if costs["note"]:
        parts.append(costs["note"])
    table.add_row("costs", escape("; ".join(parts)) or "-")
    for kind in ("on_site", "off_site"):
        impacts = record["impacts"][kind]
        table.add_row(
            f"impacts {kind.replace('_', '-')}",
            ", ".join(f"{i['impact']} {i['rating']:+d}" for i in impacts) or "-",
        )
    adoption = record["adoption"]
    table.add_row(
        "adoption",
        escape(adoption["level"] + (f" ({adoption['note']})" if adoption["note"] else "")),
    )
    loc = record["location"]
    where = ", ".join(loc["countries"])
    if loc["lat"] is not None:
        where += f" ({loc['lat']:g}, {loc['lon']:g})"
    table.add_row("location", where)
    table.add_row("keywords", escape(", ".join(record["keywords"])) or "-")
    p(table)
    p()
    p("[bold]sources[/]")
    for s in record["sources"]:
        bits = [s["authors"], f"({s['year']})" if s["year"] else "", s["title"], s["publisher"]]
        ref = " ".join(b for b in bits if b)
        link = s["url"] or (f"https://doi.org/{s['doi']}" if s["doi"] else "")
        p(f"- {escape(ref)}{' ' + escape(link) if link else ''}", highlight=False)


@practices_app.command("show")
def show(
    ctx: typer.Context,
    uuid: Annotated[str, typer.Argument(help="uuid of the practice (or its first 6+ characters).")],
    version: Annotated[
        int | None,
        typer.Option("--version", help="A given version (default: the one you may see)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    token: Token = None,
    db: Db = None,
) -> None:
    """Show a practice: the approved version, or the latest for its author and moderators."""
    from landwatch.knowledge.practices import visible_record

    try:
        with _session(db) as session:
            actor = _actor(session, token, "show", required=False)
            record = visible_record(session, uuid, actor, version=version)
    except LandwatchError as exc:
        _fail(ctx, exc)
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False, indent=2))
    else:
        _print_record(record)


@practices_app.command("history")
def history(
    ctx: typer.Context,
    uuid: Annotated[str, typer.Argument(help="uuid of the practice (or its first 6+ characters).")],
    token: Token = None,
    db: Db = None,
) -> None:
    """Versions of a practice and what happened to it (submitted, edited, reviewed)."""
    from landwatch.knowledge.practices import as_utc, list_versions, practice_history

    try:
        with _session(db) as session:
            actor = _actor(session, token, "see the history", required=False)
            versions = list_versions(session, uuid, actor)
            events = practice_history(session, uuid, actor)
    except LandwatchError as exc:
        _fail(ctx, exc)
    table = Table(title="versions")
    for col in ("version", "status", "author", "created (UTC)", "change note"):
        table.add_column(col)
    for v in versions:
        table.add_row(
            str(v.version),
            v.status,
            escape(v.author),
            f"{as_utc(v.created_at):%Y-%m-%d %H:%M}",
            escape(v.change_note),
        )
    out_console.print(table)
    table = Table(title="events")
    for col in ("when (UTC)", "action", "by", "version", "status", "note"):
        table.add_column(col)
    for e in events:
        table.add_row(
            f"{as_utc(e.created_at):%Y-%m-%d %H:%M}",
            e.action,
            escape(e.actor),
            str(e.version),
            f"{e.from_status or '-'} -> {e.to_status}",
            escape(e.note),
        )
    out_console.print(table)


# --------------------------------------------------------------------------- write


@practices_app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="JSON file with one practice record.")],
    draft: Annotated[
        bool, typer.Option("--draft", help="Keep it as a draft (not yet for review).")
    ] = False,
    token: Token = None,
    db: Db = None,
) -> None:
    """Submit a new practice for review (contributors). Prints its uuid and status.

    Example: landwatch practices add stone_bunds.json --token lw_...
    """
    from landwatch.knowledge.practices import submit_practice

    try:
        data = _one_record(path)
        with _session(db) as session:
            actor = _actor(session, token, "add a practice")
            practice = submit_practice(session, data, actor, as_draft=draft)
            uid, status, version = practice.uuid, practice.status, practice.version
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"{uid}: {status} (version {version})", highlight=False)


@practices_app.command("edit")
def edit(
    ctx: typer.Context,
    uuid: Annotated[str, typer.Argument(help="uuid of the practice (or its first 6+ characters).")],
    path: Annotated[Path, typer.Argument(help="JSON file with the whole new record.")],
    note: Annotated[str, typer.Option("--note", help="What changed and why (required).")] = "",
    draft: Annotated[
        bool, typer.Option("--draft", help="Keep the new version as a draft.")
    ] = False,
    token: Token = None,
    db: Db = None,
) -> None:
    """Replace a practice with a new version (its author, or a moderator).

    Example: landwatch practices edit 3f2a9c stone_bunds.json --note "costs of 2023"
    """
    from landwatch.knowledge.practices import update_practice

    try:
        data = _one_record(path)
        with _session(db) as session:
            actor = _actor(session, token, "edit a practice")
            practice = update_practice(session, uuid, data, actor, note, as_draft=draft)
            uid, status, version = practice.uuid, practice.status, practice.version
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"{uid}: {status} (version {version})", highlight=False)


@practices_app.command("review")
def review(
    ctx: typer.Context,
    uuid: Annotated[str, typer.Argument(help="uuid of the practice (or its first 6+ characters).")],
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve it (it becomes public).")
    ] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject it (needs --reason).")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (required to reject).")] = "",
    token: Token = None,
    db: Db = None,
) -> None:
    """Approve or reject a submitted practice (moderators).

    Example: landwatch practices review 3f2a9c --reject --reason "cite a source for the costs"
    """
    from landwatch.knowledge.practices import review_practice

    try:
        if approve == reject:
            raise InputError("review: expected exactly one of --approve or --reject.")
        with _session(db) as session:
            actor = _actor(session, token, "review a practice")
            practice = review_practice(
                session, uuid, actor, "approve" if approve else "reject", reason
            )
            uid, status, version, by = (
                practice.uuid,
                practice.status,
                practice.version,
                practice.reviewed_by,
            )
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"{uid}: {status} (version {version}) by {by}", highlight=False)


@practices_app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="JSON (a list of records) or CSV file.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="json or csv (default: from the file name).")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="Status for every record (default: each record's own, else submitted)."
        ),
    ] = None,
    token: Token = None,
    db: Db = None,
) -> None:
    """Import practices: all records or none (a bad record is named with its field errors).

    Example: landwatch practices import practices.csv --status submitted
    """
    from landwatch.knowledge.practices import import_practices

    try:
        with _session(db) as session:
            actor = _actor(session, token, "import practices")
            report = import_practices(session, path, actor, fmt=fmt, status=status)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(
        f"Imported {report.total} practices from [bold]{escape(str(path))}[/]: "
        f"{len(report.created)} new, {len(report.updated)} changed, "
        f"{len(report.unchanged)} unchanged"
    )


@practices_app.command("export")
def export(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Output .json or .csv file.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="json or csv (default: from the file name).")
    ] = None,
    status: Annotated[
        str,
        typer.Option("--status", help="approved, or (moderators) draft, submitted, rejected, all."),
    ] = "approved",
    token: Token = None,
    db: Db = None,
) -> None:
    """Export practices as JSON or CSV (reads back unchanged with `import`).

    Example: landwatch practices export practices.csv
    """
    from landwatch.knowledge.practices import export_practices

    try:
        with _session(db) as session:
            actor = _actor(session, token, "export", required=False)
            n = export_practices(session, path, fmt, _status_option(status), actor=actor)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"Exported {n} practices to [bold]{escape(str(path))}[/]")


@practices_app.command("seed")
def seed(ctx: typer.Context, db: Db = None) -> None:
    """Load the built-in, curated practices (approved; safe to run again)."""
    from landwatch.knowledge.practices import load_builtin_practices

    try:
        with _session(db) as session:
            n = load_builtin_practices(session)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"Loaded {n} built-in practices (new or changed; the others were there)")
