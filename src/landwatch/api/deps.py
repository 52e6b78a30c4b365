"""Request dependencies: the database session and the caller's identity and role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from landwatch.api.settings import Settings
from landwatch.errors import PermissionDenied
from landwatch.store import session_scope
from landwatch.store.auth import User, authenticate, require_role

_bearer = HTTPBearer(auto_error=False, description="API token: `landwatch users token NAME`.")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_session(request: Request) -> Iterator[Session]:
    """A session that commits when the request succeeds and rolls back otherwise; a
    write request takes the database's write lock up front (waits its turn on SQLite
    instead of failing with "database is locked")."""
    write = request.method in _WRITE_METHODS
    with session_scope(request.app.state.engine, write=write) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def optional_user(
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The caller, or None without a token; a bad token is refused (401)."""
    if creds is None:
        return None
    try:
        return authenticate(session, creds.credentials)
    except PermissionDenied as exc:
        raise Unauthenticated(str(exc)) from exc


def require(role: str, action: str) -> Callable[..., User]:
    """Dependency factory: the caller must hold ``role`` (401 without a token, 403 when
    the role is too low)."""

    def dep(user: Annotated[User | None, Depends(optional_user)]) -> User:
        if user is None:
            raise Unauthenticated(
                f"{action} needs a token with the {role} role; send 'Authorization: Bearer "
                "<token>' (get one with `landwatch users token NAME`)."
            )
        require_role(user, role, action)
        return user

    return dep


class Unauthenticated(PermissionDenied):
    """No token was sent where one is needed (401)."""


UserDep = Annotated[User | None, Depends(optional_user)]
