"""Tenancy of reads: the one place a read-only connection gets the organisation it reads for.

PostgreSQL enforces it, keyed on the transaction's ``logistream.organisation``: :func:`scoped`
opens a transaction on a reader connection and sets that organisation for it alone
(``set_config(..., true)``, i.e. ``SET LOCAL``), so a pooled connection never keeps a tenant
after the block, and a connection read without it sees no shipment (fail closed). The API and
the dashboard read through it; neither filters rows itself.

- the carrier reads as the reader role, as before: the shipments tables under migration 0054's
  policies (every shipment for ``carrier``), the rest of the archive unfiltered;
- any other organisation (a shipper or receiver) ALSO reads as ``logistream_tenant``
  (``SET LOCAL ROLE``, migration 0055), which may read only the shipments tables, the readings
  and alert changes of a truck while it carried one of the organisation's shipments, and the
  trips (batch views, issued trip reports) lying wholly within such a window. Anything else
  (users, tokens, the audit log, notifications, ...) is "permission denied" for it. The role
  ends with the transaction, as the setting does.

Choices where the issue is silent:
- the carrier is the organisation ``carrier`` (migration 0023 makes it, one row). An account or
  a token of no organisation is not a tenant: :func:`tenant_of` maps an API token's null
  organisation (0032: "the carrier's systems", kept as it is) to the carrier; a dashboard
  account without one is refused at sign-in (``serving.users``), never read for.
- a connection must not be shared between threads while scoped (a transaction belongs to the
  connection): the API takes one from its pool per request, the dashboard from its own pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import psycopg

CARRIER: Final = "carrier"
"""The carrier's organisation id (migration 0023): it sees every shipment."""
SETTING: Final = "logistream.organisation"
"""The transaction setting the row-level security policies read (migrations 0054, 0055)."""
TENANT_ROLE: Final = "logistream_tenant"
"""The role a shipper's or receiver's reads run as (migration 0055); the reader is its member."""


def tenant_of(organisation: str | None) -> str:
    """The organisation a token reads for: its own, or the carrier's for a token of none (an
    API token's null organisation is the carrier's systems)."""
    return CARRIER if organisation is None else organisation


def is_carrier(organisation: str | None) -> bool:
    """Whether reading for ``organisation`` sees everything (the carrier's staff and systems)."""
    return tenant_of(organisation) == CARRIER


@contextmanager
def scoped(conn: psycopg.Connection[Any], organisation: str) -> Iterator[psycopg.Connection[Any]]:
    """``conn`` inside a transaction that reads for ``organisation`` only (as the tenant role
    unless it is the carrier); the setting and the role end with the transaction. A blank
    organisation is refused: it would read as no tenant at all."""
    if not organisation:
        raise ValueError("scoped(): an organisation id is needed (the carrier's is 'carrier')")
    with conn.transaction():
        conn.execute("SELECT set_config(%s, %s, true)", [SETTING, organisation])
        if not is_carrier(organisation):
            conn.execute("SET LOCAL ROLE logistream_tenant")  # TENANT_ROLE
        yield conn


def visible_shipments(
    conn: psycopg.Connection[Any], organisation: str, ids: Iterable[str]
) -> set[str]:
    """Those of ``ids`` that ``organisation`` may see (for what is not read from PostgreSQL,
    such as the live stream's shipment states from Redis)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    with scoped(conn, organisation):
        rows = conn.execute(
            "SELECT shipment_id FROM shipments WHERE shipment_id = ANY(%s)", [wanted]
        ).fetchall()
    return {str(row[0]) for row in rows}


def alert_visible(conn: psycopg.Connection[Any], organisation: str, alert_id: str) -> bool:
    """Whether ``organisation`` may see the alert ``alert_id`` (for one read from Redis): some
    archived change of it is visible to it (migration 0055: of its shipment's truck, within the
    shipment's window)."""
    with scoped(conn, organisation):
        row = conn.execute(
            "SELECT EXISTS (SELECT FROM alert_changes WHERE alert_id = %s)", [alert_id]
        ).fetchone()
    return bool(row and row[0])
