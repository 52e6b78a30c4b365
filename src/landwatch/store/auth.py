"""Users, roles and API tokens, shared by the CLI, the knowledge base and the web service.

Roles, in increasing order of rights (each role includes every right of the roles
before it): ``viewer``, ``contributor``, ``moderator``, ``admin``.

An API token is ``"lw_" + secrets.token_urlsafe(32)``. It is shown once, when
issued; the database keeps only its SHA-256 (hex) and its first 8 characters
(``prefix``, for display and revocation). A request is authenticated by hashing
the token it presents and looking the hash up, so no plain token is ever stored
or compared.

Every function takes an open :class:`~sqlalchemy.orm.Session` first (e.g. from
:func:`landwatch.store.session_scope`); the caller commits. The matching
migration is ``migrations/versions/0004_auth.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    func,
    select,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from landwatch.errors import InputError, NotFoundError, PermissionDenied
from landwatch.store.db import Base

#: Roles in increasing order of rights; a role includes all rights of the roles before it.
ROLES: tuple[str, ...] = ("viewer", "contributor", "moderator", "admin")

TOKEN_PREFIX = "lw_"
#: Characters of a token kept in clear (``ApiToken.prefix``), for display and revocation.
PREFIX_LEN = 8
NAME_MAX = 120

_ROLE_LIST = ", ".join(ROLES)
_ROLE_CHECK = "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"


class User(Base):
    """A person or a service account with one role."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_ROLE_CHECK, name="role"),
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        state = "" if self.active else ", inactive"
        return f"User({self.name!r}, {self.role!r}{state})"


class ApiToken(Base):
    """An API token of a user: only its SHA-256 and its first 8 characters are stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(PREFIX_LEN), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")

    def __repr__(self) -> str:  # never the hash, never the token
        state = "revoked" if self.revoked_at is not None else "active"
        return f"ApiToken({self.prefix!r}..., label={self.label!r}, {state})"


# --------------------------------------------------------------------------- helpers


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a token, as stored in ``api_tokens.token_hash``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_role(role: str) -> str:
    value = role.strip().lower() if isinstance(role, str) else role
    if value not in ROLES:
        raise InputError(
            f"role {role!r}: expected one of {_ROLE_LIST} (in increasing order of rights). "
            f"Pass one of those, e.g. --role contributor."
        )
    return value


def _check_name(name: str) -> str:
    value = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(value) <= NAME_MAX or not value.isprintable():
        raise InputError(
            f"user name {name!r}: expected 1 to {NAME_MAX} printable characters "
            "(no line breaks or tabs). Choose another name, e.g. 'amina.k'."
        )
    return value


# --------------------------------------------------------------------------- users


def create_user(session: Session, name: str, role: str) -> User:
    """Add an active user with ``role``; InputError on an unknown role or a taken name."""
    name = _check_name(name)
    role = _check_role(role)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise InputError(
            f"user name {name!r}: already taken; expected a new name. Choose another name, "
            f"or change the existing user with `landwatch users set-role {name} ROLE`."
        )
    user = User(name=name, role=role, active=True, created_at=_now())
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, name: str) -> User:
    """The user called ``name`` (exact match); NotFoundError if there is none."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise NotFoundError(
            f"user {name!r}: not found; expected the name of an existing user. "
            "See `landwatch users list`, or add one with `landwatch users create NAME --role ROLE`."
        )
    return user


def list_users(session: Session) -> list[tuple[User, int]]:
    """Every user (by name) with the number of their active (not revoked) tokens."""
    active = (
        select(ApiToken.user_id, func.count(ApiToken.id).label("n"))
        .where(ApiToken.revoked_at.is_(None))
        .group_by(ApiToken.user_id)
        .subquery()
    )
    rows = session.execute(
        select(User, func.coalesce(active.c.n, 0))
        .outerjoin(active, active.c.user_id == User.id)
        .order_by(User.name)
    ).all()
    return [(user, int(n)) for user, n in rows]


def set_role(session: Session, name: str, role: str) -> User:
    """Give ``name`` the role ``role`` (effective for their existing tokens too)."""
    role = _check_role(role)
    user = get_user(session, name)
    user.role = role
    session.flush()
    return user


def deactivate_user(session: Session, name: str) -> User:
    """Mark ``name`` inactive: their tokens stop working (they are kept, not revoked)."""
    user = get_user(session, name)
    user.active = False
    session.flush()
    return user


# --------------------------------------------------------------------------- tokens


def issue_token(session: Session, name: str, label: str = "") -> str:
    """A new API token for ``name``: the plain token is returned here only, never stored."""
    user = get_user(session, name)
    if not user.active:
        raise InputError(
            f"user {user.name!r}: deactivated; expected an active user to issue a token to. "
            "Issue the token to an active user (see `landwatch users list`)."
        )
    if len(label) > 200:
        raise InputError(
            f"token label {label[:20]!r}...: expected at most 200 characters, got {len(label)}. "
            "Use a shorter --label."
        )
    while True:  # a hash collision is practically impossible; never store a duplicate anyway
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = hash_token(token)
        if session.scalar(select(ApiToken.id).where(ApiToken.token_hash == digest)) is None:
            break
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=digest,
            prefix=token[:PREFIX_LEN],
            label=label,
            created_at=_now(),
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, token_or_prefix: str) -> int:
    """Revoke a token given in full or by its first 8 characters; return how many were revoked.

    NotFoundError if no active token matches; InputError if a prefix matches several
    active tokens (pass the full token then) or the input is neither a token nor a prefix.
    """
    text = token_or_prefix.strip()
    if len(text) > PREFIX_LEN:
        what = f"token {text[:PREFIX_LEN]!r}..."
        condition = ApiToken.token_hash == hash_token(text)
    elif len(text) == PREFIX_LEN:
        what = f"token prefix {text!r}"
        condition = ApiToken.prefix == text
    else:
        raise InputError(
            f"token {text!r}: expected a full token (lw_...) or its first {PREFIX_LEN} "
            f"characters, got {len(text)} characters. Pass the token or its prefix, "
            "as printed by `landwatch users token`."
        )
    found = list(session.scalars(select(ApiToken).where(condition).order_by(ApiToken.id)))
    active = [t for t in found if t.revoked_at is None]
    if not active:
        state = "is already revoked" if found else "matches no token"
        raise NotFoundError(
            f"{what}: {state}; expected an active token or its prefix. "
            "Check the token, or issue a new one with `landwatch users token NAME`."
        )
    if len(active) > 1:
        owners = ", ".join(sorted({t.user.name for t in active}))
        raise InputError(
            f"{what}: matches {len(active)} active tokens (of {owners}); expected exactly one. "
            "Pass the full token to revoke just that one."
        )
    now = _now()
    for t in active:
        t.revoked_at = now
    session.flush()
    return len(active)


#: Seconds between two updates of a token's ``last_used_at``.
LAST_USED_RESOLUTION_S = 60.0


def authenticate(session: Session, token: str) -> User:
    """The active user holding ``token`` (an unrevoked token); records its use.

    PermissionDenied for an unknown or revoked token, or a deactivated user (one
    message for all three, so a caller learns nothing about other accounts).
    """
    denied = PermissionDenied(
        "token not recognised or revoked (or its user is deactivated): expected a current "
        f"API token ({TOKEN_PREFIX}...). Ask an admin for a new one: "
        "`landwatch users token NAME`."
    )
    text = token.strip() if isinstance(token, str) else ""
    if not text.startswith(TOKEN_PREFIX) or len(text) <= PREFIX_LEN:
        raise denied
    api_token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(text), ApiToken.revoked_at.is_(None)
        )
    )
    if api_token is None or not api_token.user.active:
        raise denied
    now = _now()
    last = api_token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    # Record use at most once a minute: a read with a token then needs no database
    # write, so it neither waits for nor blocks a long-running writer (SQLite).
    if last is None or (now - last).total_seconds() >= LAST_USED_RESOLUTION_S:
        # best effort: in a read transaction the write may find the database locked
        # by another writer (SQLite cannot wait there); losing one timestamp is fine,
        # failing the request is not
        try:
            with session.begin_nested():
                api_token.last_used_at = now
                session.flush()
        except OperationalError:
            pass
    return api_token.user


# --------------------------------------------------------------------------- roles


def has_role(user: User, role: str) -> bool:
    """Whether ``user`` is active and has ``role`` or a higher one (InputError: unknown role)."""
    needed = _check_role(role)
    if not user.active or user.role not in ROLES:
        return False
    return ROLES.index(user.role) >= ROLES.index(needed)


def require_role(user: User, role: str, action: str = "do this") -> None:
    """PermissionDenied naming the user, their role, the role needed and the action."""
    needed = _check_role(role)
    if has_role(user, needed):
        return
    if not user.active:
        raise PermissionDenied(
            f"user {user.name!r} cannot {action}: the account is deactivated; expected an "
            f"active user with role {needed} or higher. Ask an admin for an active account."
        )
    higher = " or higher" if needed != ROLES[-1] else ""
    raise PermissionDenied(
        f"user {user.name!r} (role {user.role}) cannot {action}: expected role {needed}{higher}. "
        f"Ask an admin: `landwatch users set-role {user.name} {needed}`."
    )


__all__ = [
    "PREFIX_LEN",
    "ROLES",
    "TOKEN_PREFIX",
    "ApiToken",
    "User",
    "authenticate",
    "create_user",
    "deactivate_user",
    "get_user",
    "has_role",
    "hash_token",
    "issue_token",
    "list_users",
    "require_role",
    "revoke_token",
    "set_role",
]
