"""What a shipper's or receiver's token sees of the live views (Redis): the trucks it may see
now and, of each, only the alerts opened within its window (issue 18).

The live views have no organisations. Which trucks an organisation may see, and from when, is
one answer from PostgreSQL (:func:`logistream.reads.tenant_trucks.trucks_in_care`: the trucks
of its active shipments, under row-level security); everything here filters the live views
with it, by one rule (:func:`logistream.reads.tenant_trucks.in_care`). A carrier's token
(or one of no organisation) is never filtered: the routes ask ``is_carrier`` first.

Choices where the issue is silent:
- a truck the token may not see answers as a truck that does not exist (404, same text), so a
  tenant cannot probe which trucks exist.
- a visible truck's view keeps its latest reading, probes and operating mode (the truck now);
  its alert summaries keep only those opened within the window, and its ``status`` is
  recomputed from them (``offline`` is kept as it is: the truck is silent now, whoever's cargo
  it carried when it went quiet).
- the live stream asks PostgreSQL again at most every :data:`CARE_TTL_S` seconds (5 s): a
  shipment delivered or cancelled mid-stream stops its truck's events within that, and a new
  shipment's truck starts to show within it. If PostgreSQL does not answer when the answer is
  due, the stream ends (closed, not open: the client reconnects).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final

from logistream.events import Alert
from logistream.live_views import LiveViews, TruckView
from logistream.reads.tenancy import is_carrier, tenant_of
from logistream.reads.tenant_trucks import in_care, status_for, trucks_in_care

if TYPE_CHECKING:
    from logistream.api.backends import Backends
    from logistream.api.tokens import Principal

CARE_TTL_S: Final = 5.0
"""How long the live stream trusts its answer of which trucks the token may see."""

Windows = Mapping[str, float]
"""Truck id -> the start of its window, Unix seconds."""


def windows_of(found: Mapping[str, datetime]) -> dict[str, float]:
    """:func:`trucks_in_care`'s answer in Unix seconds, the live views' time."""
    return {truck_id: start.timestamp() for truck_id, start in found.items()}


def care_of(api: Backends, organisation: str | None) -> dict[str, float]:
    """The trucks the token's organisation may see now and their windows (one reader
    connection from the pool, one query)."""
    with api.reader() as conn:
        return windows_of(trucks_in_care(conn, tenant_of(organisation)))


def visible_alerts(alerts: Iterable[Alert], windows: Windows) -> list[Alert]:
    """The alerts of trucks in care opened within their window, in their order."""
    return [a for a in alerts if in_care(windows, a.truck_id, a.opened_at)]


def view_in_care(view: TruckView, windows: Windows, opened_at: Mapping[str, float]) -> TruckView:
    """``view`` with only the alert summaries opened within its truck's window (``opened_at``:
    alert id -> its ``opened_at``; an alert not found there is not shown) and its status
    recomputed from them."""
    kept = tuple(
        a
        for a in view.alerts
        if a.alert_id in opened_at and in_care(windows, view.truck_id, opened_at[a.alert_id])
    )
    if kept == view.alerts:
        return view
    return TruckView(
        truck_id=view.truck_id,
        reading=view.reading,
        status=status_for(view.status, (a.severity for a in kept)),
        alerts=kept,
        updated_at=view.updated_at,
        probes=view.probes,
        mode=view.mode,
    )


def truck_in_care(live: LiveViews, truck_id: str, windows: Windows) -> TruckView | None:
    """The truck's view as the token may see it; None when it may not see it (or the speed
    layer has none)."""
    if truck_id not in windows:
        return None
    view = live.truck(truck_id)
    if view is None:
        return None
    opened: dict[str, float] = {}
    for summary in view.alerts:
        alert = live.alert(summary.alert_id)
        if alert is not None:
            opened[summary.alert_id] = alert.opened_at
    return view_in_care(view, windows, opened)


def fleet_in_care(live: LiveViews, windows: Windows) -> list[TruckView]:
    """The views of the trucks in care, by truck id (as the fleet)."""
    views = (truck_in_care(live, truck_id, windows) for truck_id in sorted(windows))
    return [v for v in views if v is not None]


class CareCache:
    """An organisation's trucks in care, read again once older than ``ttl_s`` (for a live
    stream, which would otherwise ask PostgreSQL at every event)."""

    def __init__(
        self,
        read: Callable[[], Windows],
        ttl_s: float = CARE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._value: Windows | None = None
        self._read_at = 0.0

    def fresh(self) -> Windows | None:
        """The answer if still fresh (no I/O), else None."""
        if self._value is not None and self._clock() - self._read_at < self._ttl_s:
            return self._value
        return None

    def get(self) -> Windows:
        """The answer, read again when stale (blocking: call it off the event loop)."""
        with self._lock:
            fresh = self.fresh()
            if fresh is not None:
                return fresh
            value = dict(self._read())
            self._value, self._read_at = value, self._clock()
            return value

    async def windows(self) -> Windows:
        """:meth:`get` for the event loop: reads in a thread only when stale."""
        fresh = self.fresh()
        return fresh if fresh is not None else await asyncio.to_thread(self.get)


def open_alerts_for(api: Backends, who: Principal, alerts: list[Alert]) -> list[Alert]:
    """``alerts`` as ``who`` may see them: all for the carrier's token; for a shipper's or
    receiver's, those of its trucks in care opened within their window."""
    if is_carrier(who.organisation):
        return alerts
    return visible_alerts(alerts, care_of(api, who.organisation))
