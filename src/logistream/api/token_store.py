"""API tokens in PostgreSQL (``api_tokens``, migration 0030): create and revoke as the owner
role (the CLI); look up as the read-only role (the server), through ``api_token_lookup``.

A token's organisation (0032) is the tenant it reads for (``reads.tenancy``): a shipper's or
receiver's id, or null, which stays "the carrier's systems" (not backfilled, unlike dashboard
accounts in 0023: a null here has always meant the operator, and the carrier sees everything).
It is not yet a foreign key to ``organisations``: a token naming an unregistered organisation
reads as that id (the shipments it is party to, by shipper.id / receiver.id), nothing more.
A token of no organisation resolves to a :class:`Principal` of the carrier (``carrier``), so
what it does is recorded as the carrier's on the audit trail, as the carrier's dashboard staff
and CLI users are (``audit.trail``: one convention for the carrier's staff and systems)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from logistream.api.tokens import (
    AuthProblem,
    Principal,
    check_name,
    check_organisation,
    check_scopes,
    hash_token,
    new_token,
    revoked_token,
    unknown_token,
)
from logistream.audit.actors import SERVICE
from logistream.audit.trail import Actor, record
from logistream.errors import Refused, SchemaMissing
from logistream.reads.tenancy import tenant_of

if TYPE_CHECKING:
    import psycopg

_NEGATIVE_CACHE_S: Final = 1.0


class TokenError(Refused):
    """A token cannot be created or revoked as asked; the message says why."""

    def __init__(self, detail: str) -> None:
        super().__init__("token_refused", detail, field="name")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    organisation: str | None = None


TokenRow = tuple[str, list[str], bool] | tuple[str, list[str], bool, str | None]
"""What a lookup finds: name, scopes, revoked, and (since 0032) the organisation."""


def _missing_schema(error: Exception) -> SchemaMissing:
    return SchemaMissing(
        "api_tokens",
        f"the api_tokens table is missing ({error}); run `logistream migrate` (or start "
        "`logistream api`, which migrates) first",
    )


def create_token(
    conn: psycopg.Connection[Any],
    name: str,
    scopes: list[str],
    organisation: str | None = None,
    *,
    actor: Actor = SERVICE,
) -> str:
    """Store a new token for ``name`` (acting for ``organisation``, None: the operator) and
    return it (the only time it exists in clear); audited (never the token or its hash)."""
    import psycopg

    check_name(name)
    wanted = sorted(check_scopes(scopes))
    check_organisation(organisation)
    token = new_token()
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO api_tokens (name, scopes, token_hash, organisation) "
                "VALUES (%s, %s, %s, %s)",
                [name, wanted, hash_token(token), organisation],
            )
            record(
                conn,
                actor,
                action="create_token",
                subject_kind="token",
                subject_id=name,
                before=None,
                after={"scopes": wanted, "organisation": organisation},
            )
    except psycopg.errors.UniqueViolation:
        raise TokenError(
            f"a live token named {name!r} exists; revoke it first "
            f"(`logistream api token revoke {name}`) or choose another name"
        ) from None
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as error:
        raise _missing_schema(error) from None
    return token


def revoke_token(conn: psycopg.Connection[Any], name: str, *, actor: Actor = SERVICE) -> int:
    """Revoke every live token named ``name``; the number revoked (0: none was live), audited
    when there was one."""
    import psycopg

    try:
        with conn.transaction():
            cur = conn.execute(
                "UPDATE api_tokens SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL",
                [name],
            )
            if cur.rowcount:
                record(
                    conn,
                    actor,
                    action="revoke_token",
                    subject_kind="token",
                    subject_id=name,
                    before={"live": cur.rowcount},
                    after={"live": 0},
                )
    except psycopg.errors.UndefinedTable as error:
        raise _missing_schema(error) from None
    return cur.rowcount


def list_tokens(conn: psycopg.Connection[Any]) -> list[TokenInfo]:
    rows = conn.execute(
        "SELECT name, scopes, created_at, revoked_at, organisation FROM api_tokens "
        "ORDER BY name, created_at"
    ).fetchall()
    return [TokenInfo(str(r[0]), tuple(r[1]), r[2], r[3], r[4]) for r in rows]


class TokenCache:
    """Looks tokens up through ``lookup`` (a PostgreSQL call), remembering answers briefly.

    Valid tokens are trusted for ``ttl_s`` (a revocation takes effect within it); unknown ones
    for a second, so a client hammering a wrong token does not hammer PostgreSQL.
    """

    def __init__(
        self,
        lookup: Callable[[str], TokenRow | None],
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup, self._ttl, self._clock = lookup, ttl_s, clock
        self._cache: dict[str, tuple[float, Principal | AuthProblem]] = {}
        self._lock = threading.Lock()

    def resolve(self, token: str) -> Principal | AuthProblem:
        digest = hash_token(token)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = self._lookup(digest)
        answer: Principal | AuthProblem
        if found is None:
            answer, keep = unknown_token(), _NEGATIVE_CACHE_S
        elif found[2]:
            answer, keep = revoked_token(found[0]), self._ttl
        else:
            organisation = tenant_of(found[3] if len(found) > 3 else None)
            answer, keep = Principal(found[0], frozenset(found[1]), organisation), self._ttl
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()  # bounded: a flood of random tokens cannot grow it
            if keep > 0:
                self._cache[digest] = (now + keep, answer)
        return answer


def lookup_in(conn: psycopg.Connection[Any], digest: str) -> TokenRow | None:
    row = conn.execute(
        "SELECT name, scopes, revoked, organisation FROM api_token_lookup(%s)", [digest]
    ).fetchone()
    if row is None:
        return None
    organisation = None if row[3] is None else str(row[3])
    return str(row[0]), [str(s) for s in row[1]], bool(row[2]), organisation
