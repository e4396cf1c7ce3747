"""Dashboard accounts in PostgreSQL (table ``users``, migration 0020): add, list, remove, sign in;
and the organisations they belong to (table ``organisations``, migration 0023: ``logistream orgs
add|list``, whose commands live beside ``logistream users`` in ``serving/cli.py``).

Accounts are read and written with the database owner's connection: the read-only dashboard
role may list names, roles and organisations, never password hashes. Every account belongs to
an organisation (migration 0022's column, a foreign key since 0023): ``carrier`` (the fleet
operator's staff, the default: it sees every shipment), or a shipper or receiver (an id as in
shipment files), whose users see the shipments they are party to and, for a receiver, sign its
proofs of delivery. An organisation must exist before an account names it (one line says how to
add it). An account without one (only by hand in SQL) is refused at sign-in with how to set it.
Every change (an account added, removed, its role, password or organisation; an organisation
added) appends its row to the audit trail in the same transaction, with who made it
(``actor``: the CLI's OS user, the signed-in admin); a password change is recorded as changed,
never its hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from logistream.audit.actors import SERVICE
from logistream.audit.trail import Actor, record
from logistream.errors import LogiStreamError, SchemaMissing
from logistream.serving.auth import (
    ORGANISATION_RE,
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


CARRIER = "carrier"
"""The carrier's organisation id (migration 0023); the default of a new account."""
KINDS = ("carrier", "shipper", "receiver")


@dataclass(frozen=True, slots=True)
class Organisation:
    org_id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    organisation: str | None = CARRIER
    """The organisation id the account belongs to (``carrier``: the fleet operator's staff);
    None only for an account set so by hand, which cannot sign in."""


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


def check_organisation(organisation: str | None) -> str:
    """An organisation id (1 to 128 characters, trimmed); None: the carrier's."""
    if organisation is None:
        return CARRIER
    organisation = organisation.strip()
    if not 1 <= len(organisation) <= 128:
        raise AuthError(
            "organisation: give the organisation id as in shipment files (receiver.id), "
            "1 to 128 characters, or leave it out for the fleet operator's staff"
        )
    return organisation


def _unknown_organisation(organisation: str | None) -> AuthError:
    return AuthError(
        f"organisation {organisation!r} does not exist; add it first with "
        f"`logistream orgs add {organisation} --kind shipper|receiver --name NAME` "
        "(`logistream orgs list` shows them)"
    )


def add_organisation(
    conn: psycopg.Connection[tuple[object, ...]],
    org_id: str,
    kind: str,
    name: str | None = None,
    *,
    actor: Actor = SERVICE,
) -> Organisation:
    """Register a shipper or receiver (the carrier exists from migration 0023); audited."""
    import psycopg

    org_id = check_organisation(org_id)
    if not ORGANISATION_RE.match(org_id):
        raise AuthError(
            f"organisation id {org_id!r}: use 1-128 letters, digits, '.', '_', '@' or '-', "
            "as shipment files name it (shipper.id / receiver.id)"
        )
    if kind not in ("shipper", "receiver"):
        raise AuthError(
            f"kind {kind!r}: choose shipper or receiver (the carrier is 'carrier', made by the "
            "migrations)"
        )
    shown = (name or org_id).strip()
    if not 1 <= len(shown) <= 200:
        raise AuthError("name: give 1 to 200 characters")
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO organisations (id, name, kind) VALUES (%s, %s, %s)",
                [org_id, shown, kind],
            )
            _audit(conn, actor, "add_organisation", "organisation", org_id, None,
                   {"name": shown, "kind": kind})  # fmt: skip
    except psycopg.errors.UniqueViolation as error:
        raise AuthError(f"organisation {org_id!r} exists already") from error
    except psycopg.errors.UndefinedTable as error:
        raise _missing(error) from error
    return Organisation(org_id, shown, kind)


def list_organisations(conn: psycopg.Connection[tuple[object, ...]]) -> list[Organisation]:
    import psycopg

    try:
        rows = conn.execute("SELECT id, name, kind FROM organisations ORDER BY id").fetchall()
    except psycopg.errors.UndefinedTable as error:
        raise _missing(error) from error
    return [Organisation(str(i), str(n), str(k)) for i, n, k in rows]


def set_organisation(
    conn: psycopg.Connection[tuple[object, ...]],
    name: str,
    organisation: str,
    *,
    actor: Actor = SERVICE,
) -> None:
    """Move an account to an existing organisation."""
    import psycopg

    org = check_organisation(organisation)
    try:
        with conn.transaction():
            before = _account(conn, name)
            conn.execute(
                "UPDATE users SET organisation = %s, updated_at = now() WHERE name = %s",
                [org, name],
            )
            _audit(conn, actor, "set_organisation", "user", name,
                   {"organisation": before[1]}, {"organisation": org})  # fmt: skip
    except psycopg.errors.ForeignKeyViolation as error:
        raise _unknown_organisation(org) from error


def no_organisation(name: str) -> AuthError:
    """The sign-in refusal of an account without an organisation."""
    return AuthError(
        f"user {name!r} has no organisation: an admin sets it with "
        f"`logistream users set-organisation {name} ORG` (`carrier` for the fleet's staff)"
    )


def add_user(
    conn: psycopg.Connection[tuple[object, ...]],
    name: str,
    role: str,
    password: str,
    organisation: str | None = None,
    *,
    actor: Actor = SERVICE,
) -> User:
    """Create an account; an existing name is refused (use ``set_password``/``set_role``)."""
    import psycopg

    user = User(check_name(name), check_role(role), check_organisation(organisation))
    digest = hash_password(check_password(password))
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO users (name, role, password_hash, organisation) "
                "VALUES (%s, %s, %s, %s) RETURNING organisation",
                [user.name, user.role, digest, user.organisation],
            ).fetchone()
            organisation_set = None if row is None or row[0] is None else str(row[0])
            _audit(conn, actor, "add_user", "user", user.name, None,
                   {"role": user.role, "organisation": organisation_set})  # fmt: skip
    except psycopg.errors.UniqueViolation as error:
        raise AuthError(
            f"user {name!r} exists already; remove it first or choose another name"
        ) from error
    except psycopg.errors.ForeignKeyViolation as error:
        raise _unknown_organisation(user.organisation) from error
    except psycopg.errors.UndefinedTable as error:
        raise _missing(error) from error
    return user


def set_password(
    conn: psycopg.Connection[tuple[object, ...]],
    name: str,
    password: str,
    *,
    actor: Actor = SERVICE,
) -> None:
    """Set an account's password; the audit row says it changed, never the hash."""
    digest = hash_password(check_password(password))
    with conn.transaction():
        _account(conn, name)
        conn.execute(
            "UPDATE users SET password_hash = %s, updated_at = now() WHERE name = %s",
            [digest, name],
        )
        _audit(conn, actor, "set_password", "user", name, None, {"password": "changed"})


def set_role(
    conn: psycopg.Connection[tuple[object, ...]], name: str, role: str, *, actor: Actor = SERVICE
) -> None:
    new_role = check_role(role)
    with conn.transaction():
        before = _account(conn, name)
        conn.execute(
            "UPDATE users SET role = %s, updated_at = now() WHERE name = %s", [new_role, name]
        )
        _audit(conn, actor, "set_role", "user", name, {"role": before[0]}, {"role": new_role})


def remove_user(
    conn: psycopg.Connection[tuple[object, ...]], name: str, *, actor: Actor = SERVICE
) -> None:
    with conn.transaction():
        role, organisation = _account(conn, name)
        conn.execute("DELETE FROM users WHERE name = %s", [name])
        _audit(conn, actor, "remove_user", "user", name,
               {"role": role, "organisation": organisation}, None)  # fmt: skip


def _account(conn: psycopg.Connection[tuple[object, ...]], name: str) -> tuple[str, str | None]:
    """The account's role and organisation, locked until the change commits."""
    row = conn.execute(
        "SELECT role, organisation FROM users WHERE name = %s FOR UPDATE", [name]
    ).fetchone()
    if row is None:
        raise AuthError(f"no user {name!r}; see `logistream users list`")
    return str(row[0]), None if row[1] is None else str(row[1])


def _audit(
    conn: psycopg.Connection[tuple[object, ...]],
    actor: Actor,
    action: str,
    subject_kind: str,
    subject_id: str,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
) -> None:
    record(
        conn,
        actor,
        action=action,
        subject_kind=subject_kind,
        subject_id=subject_id,
        before=before,
        after=after,
    )


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
    """The user when the password is right; None for a wrong name or password. A right
    password of an account without an organisation raises :func:`no_organisation`'s error
    (checked after the password, so it tells nothing to someone guessing)."""
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
    if organisation is None:
        raise no_organisation(name)
    return User(name, check_role(role), None if organisation is None else str(organisation))
