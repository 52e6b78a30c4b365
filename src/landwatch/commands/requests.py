"""``landwatch requests``: requests for information products, received, prioritized, tracked.

Thin wrappers over :mod:`landwatch.intake.records`: open the database, resolve the
token (``--token`` or LANDWATCH_TOKEN), call, print. Errors are one red line (a field
error per line for an invalid request) and exit code 2 (``landwatch --debug`` shows
the traceback).

``accept`` produces the brief in this process, with a progress bar, into the data
folder (``LANDWATCH_DATA_DIR/jobs/<id>``), and records it as a ``brief`` job of the
service when it ends, so ``GET /jobs/<id>/results/brief.pdf`` serves it; the request
is then delivered with links to its results (or back to triaged if it failed). With
``--queue`` the job is only queued, for the workers of a running ``landwatch serve``
on the same database to run.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from landwatch.commands.users import DatabaseUrl, TokenOpt, actor_from_token
from landwatch.errors import InputError, LandwatchError

requests_app = typer.Typer(
    help="Requests for information products (briefs): submit, the queue by priority, show "
    "a request with its priority breakdown and audit trail, and the workflow "
    "(moderators): triage, accept (produces the brief), deliver, close, reject.",
    no_args_is_help=True,
)

console = Console(stderr=True)
out_console = Console()

Id = Annotated[str, typer.Argument(metavar="ID", help="The request's number (see `list`).")]
Note = Annotated[str, typer.Option("--note", help="Why, for the audit trail.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _fail(ctx: typer.Context, exc: BaseException) -> NoReturn:
    # the main app's --debug (a parameter of the root context) shows the traceback
    if ctx.find_root().params.get("debug"):
        raise exc
    text = escape(str(exc)).replace("\n", "\n  ")
    console.print(f"[bold red]error:[/] {text}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _settings(db: str | None) -> Any:
    from landwatch.api.settings import Settings

    return Settings(database_url=db) if db else Settings()


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    from landwatch.store import init_db, session_scope

    engine = init_db(_settings(db).db_url())
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def _resolver(db: str | None) -> Callable[[str], Path]:
    """Run ids (job-<id>, a published run's name), jobs/<id>, or any existing folder."""
    from landwatch.api.jobs import InputPaths

    paths = InputPaths.from_settings(_settings(db))

    def resolve(value: str) -> Path:
        folder = Path(value).expanduser()
        if folder.is_dir():
            return folder.resolve()
        try:
            return paths.resolve(value, "folder")
        except ValueError:
            raise ValueError(
                f"{value[:80]!r}: no such run; expected the path of a run's output folder, "
                "or a run id of the data folder (job-<jobID>, jobs/<jobID>, or a published "
                "run's name from LANDWATCH_RUNS)."
            ) from None

    return resolve


def _absolute(value: str) -> str:
    """A run given as an existing folder is stored as its absolute path; ids as they are."""
    folder = Path(value).expanduser()
    return str(folder.resolve()) if folder.is_dir() else value


def _geojson_area(path: Path) -> Any:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"--area {path}: not a readable GeoJSON file ({exc}).") from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
        if len(features) != 1:
            raise InputError(
                f"--area {path}: holds {len(features)} features; expected one polygon. "
                "Keep only the area of the request in the file."
            )
        return features[0]
    return doc


# --------------------------------------------------------------------------- printing


def _priority_text(p: dict[str, Any]) -> str:
    return f"{p['score']:.1f} ({p['tier_label']})"


def _show(data: dict[str, Any]) -> None:
    out_console.print(
        Text.assemble(
            (f"Request {data['id']}", "bold"),
            f"  {data['status']}  priority {_priority_text(data['priority'])}",
        )
    )
    rows = [
        ("requester", f"{data['requester']} ({data['organization']}, {data['requester_type']})"),
        ("email", data.get("email") or ""),
        ("country", data["country"]),
        ("topic", data["topic"]),
        ("area", data["admin_id"] or "polygon (GeoJSON)"),
        ("units", ", ".join(data["units"]) or "-"),
        ("deadline", data["deadline"]),
        ("intended use", data["intended_use"]),
        ("question", data["question"]),
        (
            "population exposed",
            "unknown"
            if data["population_exposed"] is None
            else f"{data['population_exposed']:,.0f} ({data['population_source']})",
        ),
    ]
    rows += [(k, data[k]) for k in ("sdg_run", "ldn_run", "so3_run", "warning_run") if data[k]]
    rows += [("job", data["job_id"] or "-"), ("received", data["received"])]
    for i, link in enumerate(data["links"]):
        rows.append(("links" if i == 0 else "", link))
    info = Table(show_header=False, box=None, pad_edge=False)
    info.add_column(style="dim", no_wrap=True)
    info.add_column()
    for key, value in rows:
        info.add_row(key, Text(str(value)))
    out_console.print(info)

    breakdown = Table(title="Priority breakdown")
    for col, justify in (
        ("criterion", "left"),
        ("score", "right"),
        ("weight", "right"),
        ("points", "right"),
        ("why", "left"),
    ):
        breakdown.add_column(col, justify=justify)  # type: ignore[arg-type]
    for c in data["priority"]["breakdown"]:
        breakdown.add_row(
            c["criterion"],
            f"{c['score']:.2f}",
            f"{c['weight']:g}",
            f"{c['points']:.1f}",
            Text(c["reason"]),
        )
    breakdown.add_row("total", "", "", f"{data['priority']['score']:.1f}", "")
    out_console.print(breakdown)

    audit = Table(title="Audit trail")
    for col in ("when (UTC)", "who", "action", "from", "to", "note"):
        audit.add_column(col)
    for e in data.get("events") or []:
        audit.add_row(
            e["at"][:19].replace("T", " "),
            Text(e["actor"]),
            e["action"],
            e["from_status"] or "-",
            e["to_status"],
            Text(e["note"]),
        )
    out_console.print(audit)
    if data["allowed_actions"]:
        out_console.print(f"Next (moderators): {', '.join(data['allowed_actions'])}")


def _detail(session: Session, req: Any) -> dict[str, Any]:
    from landwatch.intake import records as intake

    return intake.request_dict(req, intake.request_priority(session, req), events=True)


# --------------------------------------------------------------------------- commands


@requests_app.command("submit")
def submit(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(help="A JSON file with the request's fields; flags override it."),
    ] = None,
    requester: Annotated[str | None, typer.Option(help="Your name.")] = None,
    organization: Annotated[str | None, typer.Option(help="Your organization.")] = None,
    requester_type: Annotated[
        str | None,
        typer.Option(
            help="national_focal_point, government, un_intergovernmental, agency_ngo, "
            "research or other."
        ),
    ] = None,
    email: Annotated[str | None, typer.Option(help="Where to reach you (never logged).")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2, e.g. KE.")] = None,
    topic: Annotated[
        str | None, typer.Option(help="land_degradation, drought, ldn or hotspots_practices.")
    ] = None,
    admin_id: Annotated[str | None, typer.Option(help="Admin unit id, e.g. KE-S01.")] = None,
    area: Annotated[
        Path | None, typer.Option(help="GeoJSON file with the polygon (instead of --admin-id).")
    ] = None,
    question: Annotated[str | None, typer.Option(help="What you need to know.")] = None,
    deadline: Annotated[str | None, typer.Option(help="YYYY-MM-DD.")] = None,
    intended_use: Annotated[
        str | None,
        typer.Option(
            help="unccd_reporting, ldn_target_setting, drought_response, national_planning, "
            "project_design, research, communication or other."
        ),
    ] = None,
    population: Annotated[
        int | None, typer.Option(help="People exposed, if you know (else from the runs).")
    ] = None,
    sdg_run: Annotated[str | None, typer.Option(help="SDG 15.3.1 run: id or folder.")] = None,
    ldn_run: Annotated[str | None, typer.Option(help="LDN run: id or folder.")] = None,
    so3_run: Annotated[str | None, typer.Option(help="SO3 drought run: id or folder.")] = None,
    warning_run: Annotated[str | None, typer.Option(help="Warning run: id or folder.")] = None,
    as_json: AsJson = False,
    token: TokenOpt = None,
    db: DatabaseUrl = None,
) -> None:
    """Submit a request for an information product (any user with a token).

    Example: landwatch requests submit request.json --deadline 2026-12-04
    """
    from landwatch.intake import records as intake

    try:
        data: dict[str, Any] = {}
        if file is not None:
            try:
                loaded = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"{file}: not a readable JSON file ({exc}).") from None
            if not isinstance(loaded, dict):
                raise InputError(f"{file}: expected one JSON object with the request's fields.")
            data.update(loaded)
        flags = {
            "requester": requester,
            "organization": organization,
            "requester_type": requester_type,
            "email": email,
            "country": country,
            "topic": topic,
            "admin_id": admin_id,
            "question": question,
            "deadline": deadline,
            "intended_use": intended_use,
            "population": population,
            "sdg_run": sdg_run,
            "ldn_run": ldn_run,
            "so3_run": so3_run,
            "warning_run": warning_run,
        }
        data.update({k: v for k, v in flags.items() if v is not None})
        if area is not None:  # a flag replaces the other kind of area of the file
            data["area"] = _geojson_area(area)
            if admin_id is None:
                data.pop("admin_id", None)
        elif admin_id is not None:
            data.pop("area", None)
        for name in intake.RUN_FIELDS:
            if isinstance(data.get(name), str):
                data[name] = _absolute(data[name])
        with _session(db) as session:
            actor = actor_from_token(session, token, "viewer", "submit a request")
            req = intake.submit_request(session, data, actor, resolve_run=_resolver(db))
            detail = _detail(session, req)
    except LandwatchError as exc:
        _fail(ctx, exc)
    if as_json:
        typer.echo(json.dumps(detail, indent=1))
        return
    out_console.print(
        f"Request {detail['id']} received: priority {_priority_text(detail['priority'])}. "
        f"Follow it with: landwatch requests show {detail['id']}",
        highlight=False,
    )


@requests_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="received, triaged, in_progress, delivered, closed, rejected (repeatable), or "
            "all. Default: the open ones.",
        ),
    ] = None,
    as_json: AsJson = False,
    token: TokenOpt = None,
    db: DatabaseUrl = None,
) -> None:
    """The queue by priority: score, tier, status (yours; moderators see every request)."""
    from landwatch.intake import records as intake

    statuses: list[str] | None = list(intake.OPEN_STATUSES)
    if status:
        statuses = None if "all" in status else list(status)
    try:
        with _session(db) as session:
            actor = actor_from_token(session, token, "viewer", "list requests")
            items = intake.queue(session, actor=actor, statuses=statuses)
            rows = [intake.request_dict(it.request, it.priority) for it in items]
    except LandwatchError as exc:
        _fail(ctx, exc)
    if as_json:
        typer.echo(json.dumps({"requests": rows, "count": len(rows)}, indent=1))
        return
    table = Table(title=f"{len(rows)} request{'s' if len(rows) != 1 else ''} by priority")
    for col, justify in (
        ("#", "right"),
        ("score", "right"),
        ("tier", "left"),
        ("status", "left"),
        ("deadline", "left"),
        ("topic", "left"),
        ("area", "left"),
        ("requester", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=col != "requester")  # type: ignore[arg-type]
    for r in rows:
        table.add_row(
            str(r["id"]),
            f"{r['priority']['score']:.1f}",
            r["priority"]["tier_label"],
            r["status"],
            r["deadline"],
            r["topic"],
            Text(r["admin_id"] or "polygon"),
            Text(f"{r['requester']} ({r['organization']})"),
        )
    out_console.print(table)


@requests_app.command("show")
def show(
    ctx: typer.Context,
    request_id: Id,
    as_json: AsJson = False,
    token: TokenOpt = None,
    db: DatabaseUrl = None,
) -> None:
    """A request: its record, priority breakdown and audit trail."""
    from landwatch.intake import records as intake

    try:
        with _session(db) as session:
            actor = actor_from_token(session, token, "viewer", "see requests")
            detail = _detail(session, intake.get_request(session, request_id, actor))
    except LandwatchError as exc:
        _fail(ctx, exc)
    if as_json:
        typer.echo(json.dumps(detail, indent=1))
    else:
        _show(detail)


def _step(
    ctx: typer.Context,
    db: str | None,
    token: str | None,
    action: str,
    call: Callable[[Session, Any], Any],
) -> None:
    try:
        with _session(db) as session:
            actor = actor_from_token(session, token, "moderator", f"{action} requests")
            req = call(session, actor)
            detail = _detail(session, req)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(
        f"Request {detail['id']}: {detail['status']} "
        f"(priority {_priority_text(detail['priority'])})",
        highlight=False,
    )
    for link in detail["links"] if action == "deliver" else []:
        out_console.print(f"  {link}", highlight=False)


@requests_app.command("triage")
def triage(
    ctx: typer.Context,
    request_id: Id,
    note: Note = "",
    sdg_run: Annotated[str | None, typer.Option(help="SDG 15.3.1 run: id or folder.")] = None,
    ldn_run: Annotated[str | None, typer.Option(help="LDN run: id or folder.")] = None,
    so3_run: Annotated[str | None, typer.Option(help="SO3 drought run: id or folder.")] = None,
    warning_run: Annotated[str | None, typer.Option(help="Warning run: id or folder.")] = None,
    token: TokenOpt = None,
    db: DatabaseUrl = None,
) -> None:
    """received -> triaged, linking the runs the brief will use (moderators).

    A triaged request may be triaged again to link other runs.

    Example: landwatch requests triage 12 --so3-run out/so3 --note "drought brief"
    """
    from landwatch.intake import records as intake

    given = {"sdg_run": sdg_run, "ldn_run": ldn_run, "so3_run": so3_run, "warning_run": warning_run}
    runs = {k: _absolute(v) for k, v in given.items() if v is not None}
    _step(
        ctx,
        db,
        token,
        "triage",
        lambda s, a: intake.triage_request(
            s, request_id, a, note, runs=runs, resolve_run=_resolver(db)
        ),
    )


@requests_app.command("deliver")
def deliver(
    ctx: typer.Context,
    request_id: Id,
    link: Annotated[
        list[str],
        typer.Option("--link", help="http(s) URL or path on the service (repeatable)."),
    ],
    note: Note = "",
    token: TokenOpt = None,
    db: DatabaseUrl = None,
) -> None:
    """in_progress -> delivered by hand, with links to what was delivered (moderators)."""
    from landwatch.intake import records as intake

    _step(
        ctx,
        db,
        token,
        "deliver",
        lambda s, a: intake.deliver_request(s, request_id, a, link, note),
    )


@requests_app.command("close")
def close(
    ctx: typer.Context,
    request_id: Id,
    note: Note = "",
    token: TokenOpt = None,
    db: DatabaseUrl = None,
) -> None:
    """delivered -> closed (moderators)."""
    from landwatch.intake import records as intake

    _step(ctx, db, token, "close", lambda s, a: intake.close_request(s, request_id, a, note))


@requests_app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: Id,
    reason: Annotated[str, typer.Option("--reason", help="Why (the requester reads it).")],
    token: TokenOpt = None,
    db: DatabaseUrl = None,
) -> None:
    """received or triaged -> rejected, with a reason (moderators)."""
    from landwatch.intake import records as intake

    _step(ctx, db, token, "reject", lambda s, a: intake.reject_request(s, request_id, a, reason))


# --------------------------------------------------------------------------- accept


def _save_area(settings: Any, req: Any) -> str | None:
    from landwatch.api.jobs import save_upload
    from landwatch.intake import records as intake

    text = intake.area_geojson(req)
    if text is None:
        return None
    return save_upload(
        settings.data_dir,
        f"request-{req.id}-area.geojson",
        io.BytesIO(text.encode("utf-8")),
        settings.max_upload_bytes,
    )


def _run_in_process(
    settings: Any, job_id: str, inputs: Any, owner: str
) -> tuple[Any, Path, BaseException | None]:
    """Run the brief with a progress bar into ``jobs/<job_id>``: the Job row to record
    (successful or failed), the output folder, and a KeyboardInterrupt to raise again
    once the failure is recorded."""
    import datetime as dt

    from landwatch.api.jobs import PROCESSES, JobContext, JobProgress, provenance
    from landwatch.io.outputs import atomic_output_dir
    from landwatch.store.jobs import Job, append_log, log_line, utcnow

    target = settings.data_dir.resolve() / "jobs" / job_id
    lines = [
        log_line(f"accepted from {owner}; run by `landwatch requests accept` (pid {os.getpid()})")
    ]
    started = utcnow()
    status, message, error = "successful", "finished", None
    interrupted: BaseException | None = None
    with Progress(
        TextColumn("[bold blue]{task.description:<42}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f} %"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("brief", total=100)

        def sink(value: float, msg: str, new: list[str]) -> None:
            lines.extend(new)
            bar.update(task, completed=value, description=(msg or "brief")[:42])

        progress = JobProgress(sink, interval=0.1)
        try:
            with atomic_output_dir(target) as tmp:
                PROCESSES["brief"].run(inputs, tmp, progress, JobContext(job_id, settings))
                (tmp / "job.json").write_text(
                    json.dumps(
                        provenance(job_id, "brief", inputs.model_dump(mode="json")), indent=1
                    )
                )
        except LandwatchError as exc:
            status, message, error = "failed", str(exc), str(exc)
        except KeyboardInterrupt as exc:
            status, message, error = "failed", "interrupted (Ctrl-C)", "interrupted"
            interrupted = exc
        except Exception as exc:  # recorded like the worker does, then shown
            import traceback

            status = "failed"
            message = f"internal error: {type(exc).__name__}: {exc}"
            error = traceback.format_exc()
        progress.flush()  # the last lines into the log
        if status == "successful":
            bar.update(task, completed=100, description="brief written")
    lines.append(log_line("job finished" if status == "successful" else f"failed: {message}"))
    now: dt.datetime = utcnow()
    job = Job(
        id=job_id,
        process_id="brief",
        status=status,
        progress=100.0 if status == "successful" else min(99.0, progress.value),
        message=message[:2000],
        inputs=inputs.model_dump(mode="json"),
        owner=owner,
        output_dir=f"jobs/{job_id}",
        worker_pid=None,
        heartbeat_at=now,
        created_at=started,
        started_at=started,
        finished_at=now,
        updated_at=now,
        log=append_log("", *lines),
        error=error,
    )
    return job, target, interrupted


@requests_app.command("accept")
def accept(
    ctx: typer.Context,
    request_id: Id,
    note: Note = "",
    queue_only: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="Only queue the brief job, for a running `landwatch serve` on the same "
            "database to run (its job manager delivers the request).",
        ),
    ] = False,
    token: TokenOpt = None,
    db: DatabaseUrl = None,
) -> None:
    """triaged -> in_progress, and produce the brief (moderators).

    The brief runs here with a progress bar and is recorded as a `brief` job of the
    service (LANDWATCH_DATA_DIR/jobs/<id>); when it succeeds the request is delivered
    with links to its results, when it fails it goes back to triaged.
    """
    import uuid

    from landwatch.api.jobs import PROCESSES, InputPaths, InputsInvalid, submit_job
    from landwatch.intake import records as intake

    settings = _settings(db)
    paths = InputPaths.from_settings(settings)
    job_id = ""
    inputs: Any = None
    try:
        with _session(db) as session:
            actor = actor_from_token(session, token, "moderator", "accept requests")
            owner = actor.name

            def start(req: Any) -> str:
                nonlocal job_id, inputs
                area_path = _save_area(settings, req)
                raw = intake.brief_inputs(req, area_path=area_path)
                # run folders given as paths are read here, wherever they are; a queued
                # job is read by the server's workers, which take ids of GET /runs only
                folders = [
                    Path(v)
                    for k, v in raw.items()
                    if k in intake.RUN_FIELDS and Path(v).is_absolute() and Path(v).is_dir()
                ]
                here = InputPaths(settings.data_dir, [*settings.runs, *folders])
                try:
                    if queue_only:
                        job = submit_job(
                            session,
                            "brief",
                            raw,
                            owner=owner,
                            paths=paths,
                            note=f"request {req.id}",
                        )
                        job_id = job.id
                    else:
                        inputs = PROCESSES["brief"].validate(raw, here, resolve=True)
                        job_id = str(uuid.uuid4())
                except InputsInvalid:
                    if area_path is not None:
                        shutil.rmtree(settings.data_dir / Path(area_path).parent, True)
                    raise
                return job_id

            req = intake.accept_request(session, request_id, actor, submit=start, note=note)
            rid = req.id
    except LandwatchError as exc:
        _fail(ctx, exc)
    if queue_only:
        out_console.print(
            f"Request {rid}: in_progress; brief job {job_id} queued for the server's workers. "
            f"Follow it: landwatch requests show {rid}",
            highlight=False,
        )
        return

    job, folder, interrupted = _run_in_process(settings, job_id, inputs, owner)
    try:
        with _session(db) as session:
            session.add(job)
            session.flush()
            intake.on_job_finished(session, job, folder)
            detail = _detail(session, intake.get_request(session, rid))
    except LandwatchError as exc:
        _fail(ctx, exc)
    if interrupted is not None:
        raise interrupted
    if job.status != "successful":
        _fail(
            ctx,
            LandwatchError(
                f"the brief of request {rid} failed: {job.message}; the request is "
                f"{detail['status']} again (see `landwatch requests show {rid}`)."
            ),
        )
    out_console.print(f"Request {rid}: {detail['status']}; brief job {job_id}", highlight=False)
    for link in detail["links"]:
        out_console.print(f"  {link}", highlight=False)
