"""`landwatch users`: happy paths and one-red-line errors (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from landwatch.commands.users import TokenOpt, actor_from_token, users_app
from landwatch.errors import LandwatchError, PermissionDenied
from landwatch.store import init_db, session_scope

runner = CliRunner()

# a tiny root app, as landwatch.cli registers the sub-app
root = typer.Typer()
root.add_typer(users_app, name="users")


@root.command("whoami")
def whoami(token: TokenOpt = None, db: str = typer.Option(..., "--db")) -> None:
    """A command that needs a moderator, as other modules will write them."""
    try:
        with session_scope(init_db(db)) as session:
            user = actor_from_token(session, token, "moderator", "approve entries")
    except LandwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(user.name)


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LANDWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LANDWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LANDWATCH_TOKEN", raising=False)
    return f"sqlite:///{tmp_path}/db.sqlite"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Exit code, stdout and stderr with rich's line wrapping undone."""
    res = runner.invoke(root, list(args), env=env)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, " ".join(res.stdout.split()), " ".join(res.stderr.split())


def test_users__happy_path(db: str) -> None:
    code, out, err = invoke("users", "create", "amina", "--role", "moderator", "--db", db)
    assert code == 0, err
    assert "Created user amina (moderator)" in out
    assert invoke("users", "create", "juma", "--role", "viewer", "--database-url", db)[0] == 0

    code, out, err = invoke("users", "token", "amina", "--label", "laptop", "--db", db)
    assert code == 0, err
    token = out.strip()
    assert token.startswith("lw_") and len(token) == 46  # stdout holds the token alone
    assert "cannot be shown again" in err
    assert f"landwatch users revoke {token[:8]}" in err
    second = invoke("users", "token", "amina", "--db", db)[1]

    code, out, err = invoke("users", "list", "--db", db)
    assert code == 0, err
    assert "2 users" in out
    assert "amina │ moderator │ yes │ 2" in out
    assert "juma │ viewer │ yes │ 0" in out
    assert token not in out and token[:8] not in out

    code, out, err = invoke("whoami", "--token", token, "--db", db)
    assert (code, out) == (0, "amina"), err
    code, out, err = invoke("whoami", "--db", db, env={"LANDWATCH_TOKEN": second})
    assert (code, out) == (0, "amina"), err

    code, out, err = invoke("users", "revoke", token, "--db", db)
    assert (code, out) == (0, "Revoked 1 token"), err
    code, out, err = invoke("users", "revoke", second[:8], "--db", db)
    assert (code, out) == (0, "Revoked 1 token"), err
    assert "amina │ moderator │ yes │ 0" in invoke("users", "list", "--db", db)[1]
    code, _, err = invoke("whoami", "--token", token, "--db", db)
    assert code == 2 and "token not recognised or revoked" in err

    code, out, err = invoke("users", "set-role", "juma", "admin", "--db", db)
    assert (code, out) == (0, "juma: role admin"), err
    code, out, err = invoke("users", "deactivate", "juma", "--db", db)
    assert (code, out) == (0, "juma: deactivated"), err
    assert "juma │ admin │ no │ 0" in invoke("users", "list", "--db", db)[1]


def test_users__database_url_from_the_environment(db: str) -> None:
    env = {"LANDWATCH_DATABASE_URL": db}
    assert invoke("users", "create", "amina", "--role", "admin", env=env)[0] == 0
    assert "amina │ admin" in invoke("users", "list", "--db", db)[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("create", "amina", "--role", "boss"),
            "role 'boss': expected one of viewer, contributor, moderator, admin",
        ),
        (("create", "amina", "--role", "viewer"), "user name 'amina': already taken"),
        (("token", "nobody"), "user 'nobody': not found"),
        (("token", "gone"), "user 'gone': deactivated"),
        (("revoke", "lw_zzzzz"), "token prefix 'lw_zzzzz': matches no token"),
        (("revoke", "abc"), "expected a full token (lw_...) or its first 8 characters"),
        (("set-role", "amina", "root"), "role 'root'"),
        (("set-role", "nobody", "admin"), "user 'nobody': not found"),
        (("deactivate", "nobody"), "user 'nobody': not found"),
    ],
)
def test_users__errors_are_one_red_line(db: str, args: tuple[str, ...], message: str) -> None:
    assert invoke("users", "create", "amina", "--role", "admin", "--db", db)[0] == 0
    assert invoke("users", "create", "gone", "--role", "viewer", "--db", db)[0] == 0
    assert invoke("users", "deactivate", "gone", "--db", db)[0] == 0
    code, out, err = invoke("users", *args, "--db", db)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err + out


def test_users__markup_in_names_is_shown_verbatim(db: str) -> None:
    code, _, err = invoke("users", "token", "[bold]x[/bold]", "--db", db)
    assert code == 2 and "user '[bold]x[/bold]': not found" in err
    assert invoke("users", "create", "[red]eve", "--role", "viewer", "--db", db)[0] == 0
    assert "[red]eve" in invoke("users", "list", "--db", db)[1]


def test_actor_from_token(db: str) -> None:
    engine = init_db(db)
    with session_scope(engine) as s:
        from landwatch.store.auth import create_user, issue_token

        create_user(s, "amina", "contributor")
        token = issue_token(s, "amina")
    for missing in (None, "", "  "):
        with pytest.raises(PermissionDenied) as err, session_scope(engine) as s:
            actor_from_token(s, missing, "contributor", "add an entry")
        msg = str(err.value)
        assert "cannot add an entry: no API token given" in msg
        assert "--token" in msg and "LANDWATCH_TOKEN" in msg
    with session_scope(engine) as s:
        assert actor_from_token(s, token, "contributor", "add an entry").name == "amina"
    with pytest.raises(PermissionDenied, match="role contributor.*expected role moderator"):
        with session_scope(engine) as s:
            actor_from_token(s, token, "moderator", "approve entries")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT last_used_at FROM api_tokens")).scalar() is not None


def test_actor_from_token__ignores_the_environment(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = init_db(db)
    with session_scope(engine) as s:
        from landwatch.store.auth import create_user, issue_token

        create_user(s, "svc", "admin")
        monkeypatch.setenv("LANDWATCH_TOKEN", issue_token(s, "svc"))
    # a web request without a token must not borrow the server's LANDWATCH_TOKEN
    with pytest.raises(PermissionDenied, match="no API token given"), session_scope(engine) as s:
        actor_from_token(s, None, "viewer", "read")
