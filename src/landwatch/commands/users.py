"""``landwatch users``: users, roles and API tokens.

Thin wrappers over :mod:`landwatch.store.auth`: parse, call, print. Errors are one
red line and exit code 2 (``landwatch --debug`` shows the traceback). Whoever can
open the database administers its users, so these commands ask for no token.

Other commands that need a role import :data:`TokenOpt` and :func:`actor_from_token`::

    def approve(ctx: typer.Context, ..., token: TokenOpt = None, db: DatabaseUrl = None):
        with session_scope(init_db(db)) as session:
            actor = actor_from_token(session, token, "moderator", "approve an entry")
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from landwatch.errors import LandwatchError, PermissionDenied
from landwatch.store import init_db, session_scope
from landwatch.store.auth import (
    PREFIX_LEN,
    ROLES,
    User,
    authenticate,
    create_user,
    deactivate_user,
    issue_token,
    list_users,
    require_role,
    revoke_token,
    set_role,
)

users_app = typer.Typer(
    help="Users, roles (viewer < contributor < moderator < admin) and API tokens.",
    no_args_is_help=True,
)

console = Console(stderr=True)
out_console = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        "--db",
        help="Database URL (default: LANDWATCH_DATABASE_URL, else SQLite in LANDWATCH_DATA_DIR).",
    ),
]
#: The ``--token`` option of commands that need a role (falls back to LANDWATCH_TOKEN).
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="LANDWATCH_TOKEN",
        show_envvar=True,
        help="Your API token (default: LANDWATCH_TOKEN). Get one: landwatch users token NAME.",
    ),
]
_ROLE_HELP = "Role: " + ", ".join(ROLES) + " (increasing rights)."


def _fail(ctx: typer.Context, exc: BaseException) -> NoReturn:
    # the main app's --debug (a parameter of the root context) shows the traceback
    if ctx.find_root().params.get("debug"):
        raise exc
    console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def actor_from_token(session: Session, token: str | None, role: str, action: str) -> User:
    """The active user holding ``token``, if their role allows ``action``.

    PermissionDenied when the token is missing (pass --token or set LANDWATCH_TOKEN),
    unknown, revoked, of a deactivated user, or of a user below ``role``. The
    environment is not read here: a missing token is missing (the CLI's
    :data:`TokenOpt` reads LANDWATCH_TOKEN; a web request must bring its own).
    """
    if token is None or not token.strip():
        raise PermissionDenied(
            f"cannot {action}: no API token given; expected a token of a user with role "
            f"{role} or higher. Pass --token TOKEN or set LANDWATCH_TOKEN "
            "(an admin issues one with `landwatch users token NAME`)."
        )
    user = authenticate(session, token)
    require_role(user, role, action=action)
    return user


@users_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name (1-120 characters, unique).")],
    role: Annotated[str, typer.Option("--role", help=_ROLE_HELP)],
    db: DatabaseUrl = None,
) -> None:
    """Add a user with a role.

    Example: landwatch users create amina --role moderator
    """
    try:
        with session_scope(init_db(db)) as session:
            user = create_user(session, name, role)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"Created user {user.name} ({user.role})", highlight=False, markup=False)


@users_app.command("token")
def token(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User to issue the token to.")],
    label: Annotated[
        str, typer.Option("--label", help="What the token is for, e.g. 'field tablet 3'.")
    ] = "",
    db: DatabaseUrl = None,
) -> None:
    """Issue an API token and print it once (only its hash is stored).

    The token goes to standard output alone, so it can be captured:

        export LANDWATCH_TOKEN=$(landwatch users token amina --label laptop)
    """
    try:
        with session_scope(init_db(db)) as session:
            plain = issue_token(session, name, label=label)
    except LandwatchError as exc:
        _fail(ctx, exc)
    typer.echo(plain)
    console.print(
        f"[yellow]warning:[/] this token cannot be shown again; store it now (e.g. in "
        f"LANDWATCH_TOKEN). Revoke it with: landwatch users revoke {plain[:PREFIX_LEN]}",
        highlight=False,
        soft_wrap=True,
    )


@users_app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_or_prefix: Annotated[
        str,
        typer.Argument(
            metavar="TOKEN_OR_PREFIX",
            help=f"The token, or its first {PREFIX_LEN} characters (as printed when issued).",
        ),
    ],
    db: DatabaseUrl = None,
) -> None:
    """Revoke an API token (it stops working at once).

    Example: landwatch users revoke lw_Ab3dE
    """
    try:
        with session_scope(init_db(db)) as session:
            n = revoke_token(session, token_or_prefix)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"Revoked {n} token{'s' if n != 1 else ''}", highlight=False)


@users_app.command("list")
def list_(ctx: typer.Context, db: DatabaseUrl = None) -> None:
    """List users: name, role, active, number of active tokens (never the tokens)."""
    try:
        with session_scope(init_db(db)) as session:
            rows = list_users(session)
    except LandwatchError as exc:
        _fail(ctx, exc)
    table = Table(title=f"{len(rows)} users")
    table.add_column("name", no_wrap=True)
    table.add_column("role")
    table.add_column("active")
    table.add_column("active tokens", justify="right")
    for user, n in rows:
        table.add_row(Text(user.name), user.role, "yes" if user.active else "no", str(n))
    out_console.print(table)


@users_app.command("set-role")
def set_role_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help=_ROLE_HELP)],
    db: DatabaseUrl = None,
) -> None:
    """Change a user's role (their tokens carry the new role at once).

    Example: landwatch users set-role amina admin
    """
    try:
        with session_scope(init_db(db)) as session:
            user = set_role(session, name, role)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"{user.name}: role {user.role}", highlight=False, markup=False)


@users_app.command("deactivate")
def deactivate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name.")],
    db: DatabaseUrl = None,
) -> None:
    """Deactivate a user: their tokens stop working.

    Example: landwatch users deactivate amina
    """
    try:
        with session_scope(init_db(db)) as session:
            user = deactivate_user(session, name)
    except LandwatchError as exc:
        _fail(ctx, exc)
    out_console.print(f"{user.name}: deactivated", highlight=False, markup=False)
