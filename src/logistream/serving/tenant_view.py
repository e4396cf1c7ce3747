"""The one place the dashboard cuts what it reads down to the signed-in user's organisation
(issue 18). Pages ask here; none filters by organisation itself.

- PostgreSQL: :func:`reader` gives the carrier's staff the shared reader connection, as before,
  and anyone else a connection inside ``reads.tenancy.scoped`` for its organisation, so row-level
  security decides (shipments: 0054; readings and alert changes: 0055). A scoped transaction
  belongs to its connection and the dashboard serves every session from its own thread, so the
  scoped reads use a reader connection of their own (:func:`scoped_reader`), held under a lock
  for each transaction; the Shipments pages read through it too.
- Redis (the live views have no organisations): :func:`care` is the organisation's trucks in care
  now (``reads.tenant_trucks.trucks_in_care``: truck -> window start, read through ``scoped``
  every :data:`CARE_TTL_S` seconds at most), and :func:`open_alerts`, :func:`fleet`,
  :func:`recent_changes`, :func:`truck_ids` apply it with the pure rules of
  ``serving.tenancy_data``. ``None`` from :func:`care` means the carrier: nothing is cut.

Choices where the issue is silent: a truck's history for a tenant starts at its window
(:func:`history_since`); a shipment delivered or cancelled drops its truck from the tenant's
pages within :data:`CARE_TTL_S` seconds; an account of no organisation sees no truck.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import streamlit as st

from logistream.errors import LogiStreamError
from logistream.events import Alert
from logistream.live_views import LiveViews, TruckView
from logistream.live_views.records import AlertChange
from logistream.reads.tenancy import scoped
from logistream.serving import tenancy_data, ui
from logistream.serving.users import CARRIER, User

if TYPE_CHECKING:
    import psycopg

CARE_TTL_S: Final = 5.0
"""How long the trucks in an organisation's care are kept before they are read again."""


def user() -> User:
    """The signed-in user; not signed in (pages are behind the sign-in, AppTest runs them
    directly): a viewer of the carrier, as before organisations."""
    signed_in = ui.current_user()
    return signed_in if signed_in is not None else User("anonymous", "viewer", CARRIER)


@st.cache_resource(show_spinner=False)
def _tenant_slot(key: str) -> dict[str, Any]:
    # One reader connection per dashboard process for the scoped reads, and its lock.
    return {"conn": None, "lock": threading.Lock()}


@contextmanager
def _pooled() -> Iterator[psycopg.Connection[Any]]:
    """The scoped reads' own reader connection, this thread's alone until the block ends; a
    broken one is dropped so the next run reconnects."""
    import psycopg

    from logistream.config import resolve_endpoints
    from logistream.reads.connect import connect_reader

    s = ui.settings()
    slot = _tenant_slot(f"{resolve_endpoints(s).database_url}|{s.bridge_group}")
    with slot["lock"]:
        conn = slot["conn"]
        if conn is None or conn.closed:
            conn = slot["conn"] = connect_reader(s)
        try:
            yield conn
        except psycopg.OperationalError:
            slot["conn"] = None
            conn.close()
            raise


def no_organisation() -> LogiStreamError:
    return LogiStreamError(
        "your account has no organisation, so it sees no shipment: an admin sets it with "
        "`logistream users set-organisation NAME ORG`"
    )


@contextmanager
def scoped_reader(organisation: str | None) -> Iterator[psycopg.Connection[Any]]:
    """A reader connection inside a transaction that reads for ``organisation`` (through
    ``reads.tenancy.scoped``). No organisation: refused, nothing to read for."""
    if not organisation:
        raise no_organisation()
    with _pooled() as conn, scoped(conn, organisation):
        yield conn


@contextmanager
def reader_for(organisation: str | None) -> Iterator[psycopg.Connection[Any]]:
    """The connection a page reads the archive with for a user of ``organisation``: the shared
    reader for the carrier's staff (unchanged), a scoped one for anyone else. A page's cached
    read takes the organisation as an argument, so one's cached rows are never another's."""
    if tenancy_data.is_carrier_staff(organisation):
        with ui.reader() as conn:
            yield conn
    else:
        with scoped_reader(organisation) as conn:
            yield conn


@st.cache_data(ttl=CARE_TTL_S, show_spinner=False)
def _care(key: str, organisation: str) -> dict[str, datetime]:
    from logistream.reads.tenant_trucks import trucks_in_care

    with _pooled() as conn:
        return trucks_in_care(conn, organisation)


def care(who: User) -> dict[str, datetime] | None:
    """The trucks ``who`` sees now -> each one's window start; None: the carrier's staff see
    every truck. Raises the store's error when PostgreSQL is not answering (a page says so
    rather than show a tenant nothing, or everything)."""
    if tenancy_data.is_carrier_staff(who.organisation):
        return None
    if not who.organisation:
        return {}
    return _care(ui.settings().database_name, who.organisation)


def open_alerts(views: LiveViews, who: User) -> list[Alert]:
    return tenancy_data.visible_alerts(views.open_alerts(), care(who))


def fleet(views: LiveViews, who: User) -> tuple[list[TruckView], list[Alert]]:
    """The trucks and the open alerts ``who`` sees."""
    windows = care(who)
    alerts = tenancy_data.visible_alerts(views.open_alerts(), windows)
    return tenancy_data.visible_fleet(views.fleet(), windows, alerts), alerts


def recent_changes(views: LiveViews, who: User, count: int) -> list[AlertChange]:
    """The newest ``count`` alert changes, of those ``who`` sees (a tenant may get fewer)."""
    return tenancy_data.visible_changes(views.recent_alert_changes(count), care(who))


def truck_ids(views: LiveViews, who: User) -> list[str]:
    return tenancy_data.visible_truck_ids(views.truck_ids(), care(who))


def may_see_truck(who: User, truck_id: str) -> bool:
    windows = care(who)
    return windows is None or truck_id in windows


def history_since(who: User, truck_id: str, since: float) -> float:
    """Where a truck's history starts for ``who``: ``since``, or the window's start when later
    (a tenant does not see the previous customer's hours)."""
    windows = care(who)
    if windows is None or truck_id not in windows:
        return since
    return max(since, windows[truck_id].timestamp())


def creation_refusal(who: User, shipper_id: str) -> str | None:
    """Why ``who`` may not create a shipment whose shipper is ``shipper_id`` (None: it may);
    the kind of a tenant's organisation is read from ``organisations``."""
    kind = None
    if who.organisation and not tenancy_data.is_carrier_staff(who.organisation):
        with ui.reader() as conn:
            row = conn.execute(
                "SELECT kind FROM organisations WHERE id = %s", [who.organisation]
            ).fetchone()
        kind = None if row is None else str(row[0])
    return tenancy_data.creation_refusal(who.role, who.organisation, kind, shipper_id)
