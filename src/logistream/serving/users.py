"""Dashboard accounts in PostgreSQL (table ``users``, migration 0020): add, list, remove, sign in.

Accounts are read and written with the database owner's connection: the read-only dashboard
role may list names, roles and organisations, never password hashes. An account may belong to
an organisation (migration 0022: an organisation id as in shipment files), which is what lets it
sign a proof of delivery for that receiver; None is the fleet operator's own staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from logistream.errors import LogiStreamError, SchemaMissing
from logistream.serving.auth import (
    AuthError,
    Role,
    check_name,
    check_password,
    check_role,
    hash_password,
    verify_password,
)

if TYPE_CHECKING:
    import psycopg

# Verifying against this when the name is unknown takes as long as a real check, so the
# answer's timing does not tell which names exist.
_DUMMY_HASH = hash_password("not-a-real-password", salt=b"\0" * 16)


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    organisation: str | None = None
    """The organisation id the account belongs to; None: the fleet operator's own staff."""


def _missing(error: Exception) -> SchemaMissing:
    return SchemaMissing(
        "users",
        f"no users table in the archive ({error}); apply the migrations with "
        "`logistream migrate` (or start `logistream bridge`)",
    )


def connect(owner_url: str) -> psycopg.Connection[tuple[object, ...]]:
    import psycopg

    try:
        return psycopg.connect(owner_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise LogiStreamError(
            f"cannot connect to PostgreSQL ({str(error).strip()}); check "
            "LOGISTREAM_DATABASE_URL or run `logistream stack up`"
        ) from error


def check_organisation(organisation: str | None) -> str | None:
    """An organisation id (1 to 128 characters, trimmed), or None."""
    if organisation is None:
        return None
    organisation = organisation.strip()
    if not 1 <= len(organisation) <= 128:
        raise AuthError(
            "organisation: give the organisation id as in shipment files (receiver.id), "
            "1 to 128 characters, or leave it out for the fleet operator's staff"
        )
    return organisation


def add_user(
    conn: psycopg.Connection[tuple[object, ...]],
    name: str,
    role: str,
    password: str,
    organisation: str | None = None,
) -> User:
    """Create an account; an existing name is refused (use ``set_password``/``set_role``)."""
    import psycopg

    user = User(check_name(name), check_role(role), check_organisation(organisation))
    digest = hash_password(check_password(password))
    try:
        conn.execute(
            "INSERT INTO users (name, role, password_hash, organisation) VALUES (%s, %s, %s, %s)",
            [user.name, user.role, digest, user.organisation],
        )
    except psycopg.errors.UniqueViolation as error:
        raise AuthError(
            f"user {name!r} exists already; remove it first or choose another name"
        ) from error
    except psycopg.errors.UndefinedTable as error:
        raise _missing(error) from error
    return user


def set_password(conn: psycopg.Connection[tuple[object, ...]], name: str, password: str) -> None:
    digest = hash_password(check_password(password))
    cursor = conn.execute(
        "UPDATE users SET password_hash = %s, updated_at = now() WHERE name = %s", [digest, name]
    )
    if cursor.rowcount != 1:
        raise AuthError(f"no user {name!r}; see `logistream users list`")


def set_role(conn: psycopg.Connection[tuple[object, ...]], name: str, role: str) -> None:
    cursor = conn.execute(
        "UPDATE users SET role = %s, updated_at = now() WHERE name = %s", [check_role(role), name]
    )
    if cursor.rowcount != 1:
        raise AuthError(f"no user {name!r}; see `logistream users list`")


def remove_user(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    cursor = conn.execute("DELETE FROM users WHERE name = %s", [name])
    if cursor.rowcount != 1:
        raise AuthError(f"no user {name!r}; see `logistream users list`")


def list_users(conn: psycopg.Connection[tuple[object, ...]]) -> list[User]:
    import psycopg

    try:
        rows = conn.execute("SELECT name, role, organisation FROM users ORDER BY name").fetchall()
    except psycopg.errors.UndefinedTable as error:
        raise _missing(error) from error
    return [User(str(n), check_role(str(r)), None if o is None else str(o)) for n, r, o in rows]


def authenticate(
    conn: psycopg.Connection[tuple[object, ...]], name: str, password: str
) -> User | None:
    """The user when the password is right; None for a wrong name or password."""
    import psycopg

    try:
        row = conn.execute(
            "SELECT role, password_hash, organisation FROM users WHERE name = %s", [name]
        ).fetchone()
    except psycopg.errors.UndefinedTable as error:
        raise _missing(error) from error
    if row is None:
        verify_password(password, _DUMMY_HASH)
        return None
    role, stored, organisation = str(row[0]), str(row[1]), row[2]
    if not verify_password(password, stored):
        return None
    return User(name, check_role(role), None if organisation is None else str(organisation))
