"""Users, roles and API tokens on a real SQLite file (via the Alembic migrations)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, inspect, select, text

from landwatch.errors import InputError, NotFoundError, PermissionDenied
from landwatch.store import init_db, session_scope
from landwatch.store.auth import (
    ROLES,
    ApiToken,
    User,
    authenticate,
    create_user,
    deactivate_user,
    get_user,
    has_role,
    issue_token,
    list_users,
    require_role,
    revoke_token,
    set_role,
)


@pytest.fixture()
def engine(db_url: str) -> Engine:
    return init_db(db_url)


def _user(engine: Engine, name: str = "amina", role: str = "contributor") -> None:
    with session_scope(engine) as s:
        create_user(s, name, role)


def _token(engine: Engine, name: str = "amina", label: str = "") -> str:
    with session_scope(engine) as s:
        return issue_token(s, name, label=label)


def test_migration__creates_the_tables_and_constraints(engine: Engine) -> None:
    insp = inspect(engine)
    assert {"users", "api_tokens"} <= set(insp.get_table_names())
    fk = insp.get_foreign_keys("api_tokens")[0]
    assert fk["referred_table"] == "users" and fk["options"].get("ondelete") == "CASCADE"
    # SQLite: "CHECK constraint failed"; PostgreSQL: "violates check constraint"
    with (
        pytest.raises(Exception, match="(?i)check constraint"),
        engine.begin() as conn,
    ):
        conn.execute(
            text(
                "INSERT INTO users (name, role, active, created_at) "
                "VALUES ('x', 'superuser', TRUE, '2026-01-01')"
            )
        )


def test_roles__are_ordered_and_include_the_lower_ones() -> None:
    assert ROLES == ("viewer", "contributor", "moderator", "admin")
    for i, held in enumerate(ROLES):
        user = User(name="u", role=held, active=True)
        for j, needed in enumerate(ROLES):
            assert has_role(user, needed) is (i >= j), (held, needed)


def test_has_role__inactive_user_has_no_rights_and_unknown_role_is_an_input_error() -> None:
    assert not has_role(User(name="u", role="admin", active=False), "viewer")
    with pytest.raises(InputError, match="role 'boss': expected one of viewer, contributor"):
        has_role(User(name="u", role="admin", active=True), "boss")


def test_create_user__stores_and_gets(engine: Engine) -> None:
    _user(engine, "amina", "Moderator")  # case and spaces are forgiven
    with session_scope(engine) as s:
        user = get_user(s, "amina")
        assert (user.role, user.active) == ("moderator", True)
        assert user.created_at is not None


def test_create_user__duplicate_name(engine: Engine) -> None:
    _user(engine)
    with pytest.raises(InputError, match="user name 'amina': already taken") as err:
        _user(engine, "amina", "viewer")
    assert "set-role amina" in str(err.value)
    with session_scope(engine) as s:
        assert len(list_users(s)) == 1


def test_create_user__unknown_role_message(engine: Engine) -> None:
    with pytest.raises(InputError) as err:
        _user(engine, "amina", "superuser")
    msg = str(err.value)
    assert "role 'superuser'" in msg
    assert "expected one of viewer, contributor, moderator, admin" in msg
    assert "--role" in msg


@pytest.mark.parametrize("name", ["", "   ", "x" * 121, "two\nlines"])
def test_create_user__bad_name(engine: Engine, name: str) -> None:
    with pytest.raises(InputError, match="expected 1 to 120 printable characters"):
        _user(engine, name)


def test_get_user__not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="user 'nobody': not found.*users create"):
        with session_scope(engine) as s:
            get_user(s, "nobody")


def test_token__round_trip_and_last_used(engine: Engine) -> None:
    _user(engine)
    token = _token(engine, label="laptop")
    assert token.startswith("lw_") and len(token) == 3 + 43
    assert _token(engine) != token
    with session_scope(engine) as s:
        user = authenticate(s, token)
        assert user.name == "amina"
        row = s.scalar(select(ApiToken).where(ApiToken.label == "laptop"))
        assert row is not None and row.last_used_at is not None
        assert row.prefix == token[:8]


def test_token__database_holds_only_the_hash(engine: Engine) -> None:
    _user(engine)
    token = _token(engine, label="tablet")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_tokens")).all()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0])
    assert token not in stored
    assert token[8:20] not in stored  # not even a large piece of it
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token[:8] in stored  # the display prefix only
    # nor anywhere else in the database file
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                assert token not in " ".join(str(v) for v in row)


@pytest.mark.parametrize("token", ["", "nonsense", "lw_notissued0000000000000000000000"])
def test_authenticate__unknown_token(engine: Engine, token: str) -> None:
    _user(engine)
    _token(engine)
    with pytest.raises(PermissionDenied, match="token not recognised or revoked"):
        with session_scope(engine) as s:
            authenticate(s, token)


def test_revoke__by_token(engine: Engine) -> None:
    _user(engine)
    token = _token(engine)
    keep = _token(engine)
    with session_scope(engine) as s:
        assert revoke_token(s, token) == 1
    with pytest.raises(PermissionDenied, match="token not recognised or revoked"):
        with session_scope(engine) as s:
            authenticate(s, token)
    with session_scope(engine) as s:
        assert authenticate(s, keep).name == "amina"
        assert list_users(s)[0][1] == 1
    with pytest.raises(NotFoundError, match="already revoked"):
        with session_scope(engine) as s:
            revoke_token(s, token)


def test_revoke__by_prefix(engine: Engine) -> None:
    _user(engine)
    token = _token(engine)
    with session_scope(engine) as s:
        assert revoke_token(s, token[:8]) == 1
    with pytest.raises(PermissionDenied):
        with session_scope(engine) as s:
            authenticate(s, token)


def test_revoke__unknown_short_and_ambiguous(engine: Engine) -> None:
    _user(engine)
    _user(engine, "juma", "viewer")
    a, b = _token(engine), _token(engine, "juma")
    with pytest.raises(NotFoundError, match="matches no token"):
        with session_scope(engine) as s:
            revoke_token(s, "lw_zzzzz")
    with pytest.raises(InputError, match="expected a full token .* or its first 8 characters"):
        with session_scope(engine) as s:
            revoke_token(s, "lw_")
    # two tokens sharing a prefix (5 random characters: rare, but possible)
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET prefix = 'lw_same1'"))
    with pytest.raises(InputError, match="matches 2 active tokens \\(of amina, juma\\)") as err:
        with session_scope(engine) as s:
            revoke_token(s, "lw_same1")
    assert "full token" in str(err.value)
    with session_scope(engine) as s:  # nothing was revoked; the full token still works
        assert revoke_token(s, a) == 1
        assert revoke_token(s, "lw_same1") == 1  # now unambiguous: b
    with pytest.raises(PermissionDenied):
        with session_scope(engine) as s:
            authenticate(s, b)


def test_inactive_user__is_refused(engine: Engine) -> None:
    _user(engine, "amina", "admin")
    token = _token(engine)
    with session_scope(engine) as s:
        deactivate_user(s, "amina")
    with pytest.raises(PermissionDenied, match="token not recognised or revoked"):
        with session_scope(engine) as s:
            authenticate(s, token)
    with pytest.raises(InputError, match="user 'amina': deactivated"):
        _token(engine)


def test_set_role__takes_effect_for_existing_tokens(engine: Engine) -> None:
    _user(engine, "amina", "viewer")
    token = _token(engine)
    with session_scope(engine) as s:
        assert not has_role(authenticate(s, token), "moderator")
        set_role(s, "amina", "moderator")
    with session_scope(engine) as s:
        assert has_role(authenticate(s, token), "moderator")
    with pytest.raises(InputError, match="role 'root'"):
        with session_scope(engine) as s:
            set_role(s, "amina", "root")
    with pytest.raises(NotFoundError):
        with session_scope(engine) as s:
            set_role(s, "nobody", "admin")


def test_require_role__message() -> None:
    user = User(name="amina", role="contributor", active=True)
    require_role(user, "viewer", action="read")  # enough
    with pytest.raises(PermissionDenied) as err:
        require_role(user, "moderator", action="approve knowledge base entries")
    msg = str(err.value)
    assert "'amina'" in msg and "role contributor" in msg
    assert "approve knowledge base entries" in msg
    assert "expected role moderator or higher" in msg
    assert "set-role amina moderator" in msg
    with pytest.raises(PermissionDenied, match="deactivated"):
        require_role(User(name="amina", role="admin", active=False), "viewer", action="read")


def test_delete_user__cascades_to_tokens(engine: Engine) -> None:
    _user(engine)
    _token(engine)
    with engine.begin() as conn:  # ON DELETE CASCADE in the database itself
        conn.execute(text("DELETE FROM users"))
        assert conn.execute(text("SELECT count(*) FROM api_tokens")).scalar() == 0


def test_authenticate__records_use_at_most_once_a_minute(tmp_path) -> None:
    """A read with a token writes nothing when the token was used within the minute, so
    it does not wait on (or block) a long-running writer."""
    import datetime as dt

    from landwatch.store import init_db, session_scope
    from landwatch.store.auth import ApiToken, authenticate, create_user, issue_token

    engine = init_db(f"sqlite:///{tmp_path}/a.sqlite")
    with session_scope(engine) as s:
        create_user(s, "u", "viewer")
        token = issue_token(s, "u")
    with session_scope(engine) as s:
        authenticate(s, token)
        first = s.query(ApiToken).one().last_used_at
    with session_scope(engine) as s:
        authenticate(s, token)
        assert s.query(ApiToken).one().last_used_at == first
        assert not s.dirty and not s.new
    with session_scope(engine) as s:
        t = s.query(ApiToken).one()
        t.last_used_at = first - dt.timedelta(minutes=5)
    with session_scope(engine) as s:
        authenticate(s, token)
        assert s.query(ApiToken).one().last_used_at > first - dt.timedelta(minutes=5)
