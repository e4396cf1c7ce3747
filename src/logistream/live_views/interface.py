"""The live views as interfaces: what the speed layer writes and what everyone else reads.

Callers hold one of these, never a store's keys: :class:`LiveViews` (reads, for the dashboard,
the API, the CLI and the notifier), :class:`LiveViewsWriter` (the speed layer, the one writer),
:class:`LiveFeed` (the API's live stream: waits for alert changes without polling). Redis is the
one implementation today (``logistream.live_views.redis_reads``, ``redis_writes``,
``redis_feed``); a store change stays behind these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from logistream.events import Alert, StageEvent
from logistream.live_views.records import (
    AlertChange,
    Heartbeat,
    HeartbeatRecord,
    ShipmentLive,
    TruckLatest,
    TruckView,
)

HistoryKey = tuple[str, str | None]
"""(truck_id, probe_id): a named probe's temperature history, or (truck_id, None) the truck's
single probe's."""

HistoryPoints = (
    Mapping[str, Sequence[tuple[float, float]]] | Mapping[HistoryKey, Sequence[tuple[float, float]]]
)
"""(event time, °C) points to add to rolling temperature histories, keyed by :data:`HistoryKey`
(or by a bare truck_id: its single probe). Each probe has its own history, as long as a
single-probe truck's."""


class LiveViews(Protocol):
    """Reads of the live views (every method is one or two round trips)."""

    def truck_ids(self) -> list[str]:
        """Every truck the speed layer has seen, sorted."""
        ...

    def truck(self, truck_id: str) -> TruckView | None:
        """One truck's latest reading and status, or None when the speed layer never saw it."""
        ...

    def fleet(self) -> list[TruckView]:
        """Every truck's latest reading and status, sorted by truck id."""
        ...

    def temperature_history(
        self, truck_id: str, probe_id: str | None = None
    ) -> list[tuple[float, float]]:
        """(event time, °C) of the truck's recent readings, oldest first: those of its single
        probe, or with ``probe_id`` those of that named probe (see :attr:`TruckView.probes`)."""
        ...

    def alert(self, alert_id: str) -> Alert | None:
        """An alert's latest state (resolved alerts are kept for a week)."""
        ...

    def open_alerts(self) -> list[Alert]:
        """Open and acknowledged alerts, most severe first, then oldest first."""
        ...

    def alerts(self, *, active_only: bool = False, limit: int = 1000) -> list[Alert]:
        """Alerts in their latest state, newest change first; ``active_only``: not resolved."""
        ...

    def recent_alert_changes(self, count: int = 100) -> list[AlertChange]:
        """The last ``count`` alert changes, newest first."""
        ...

    def alert_changes_after(self, seq: int, count: int = 500) -> list[AlertChange]:
        """Kept alert changes whose sequence number is above ``seq``, oldest first."""
        ...

    def heartbeats(self, *, now: float | None = None) -> list[Heartbeat]:
        """Every speed processor's last heartbeat, freshest first."""
        ...

    def heartbeat(self, *, now: float | None = None) -> Heartbeat | None:
        """The freshest processor heartbeat (None: the speed layer never wrote here)."""
        ...

    def shipment(self, shipment_id: str) -> ShipmentLive | None:
        """A tracked shipment's stage and ETAs (None: the speed layer does not track it)."""
        ...

    def shipments(self) -> list[ShipmentLive]:
        """Every shipment the speed layer tracks, by shipment id."""
        ...

    def stage_events(self, shipment_id: str) -> list[StageEvent]:
        """The shipment's stage changes, oldest first."""
        ...


class LiveViewsWriter(Protocol):
    """The speed layer's writes: each call is one trip to the store."""

    def write_batch(
        self,
        trucks: Iterable[TruckLatest],
        history: HistoryPoints,
        changes: Sequence[Alert],
        shipments: Iterable[ShipmentLive] = (),
        stage_events: Iterable[StageEvent] = (),
    ) -> None:
        """Latest truck states, new history points, alert changes (each numbered), shipments'
        live states and their stage changes."""
        ...

    def rewrite(
        self,
        trucks: Iterable[TruckLatest],
        history: HistoryPoints,
        alerts: Iterable[Alert],
        partitions: Iterable[int],
        shipments: Iterable[ShipmentLive] = (),
    ) -> None:
        """Rewrite these trucks' views, current alerts and shipments, and mark the partitions
        whole."""
        ...

    def missing_partitions(self, partitions: Iterable[int]) -> set[int]:
        """Partitions whose views the store lost (flushed, or never written)."""
        ...

    def heartbeat(self, record: HeartbeatRecord) -> None: ...

    def forget_heartbeat(self, instance: str) -> None: ...

    def forget_shipment(self, shipment_id: str) -> None: ...


class LiveFeed(Protocol):
    """What the live stream waits on (asynchronous: one task per connected client)."""

    async def last_seq(self) -> int:
        """The sequence number of the latest kept alert change (0: none kept)."""
        ...

    async def changes_after(
        self, seq: int, *, wait_s: float, count: int = 500
    ) -> list[AlertChange]:
        """Alert changes above ``seq``, oldest first; waits up to ``wait_s`` for the first."""
        ...

    async def truck_times(self) -> list[tuple[str, float]]:
        """(truck_id, event time of its latest reading) for every truck."""
        ...

    async def shipment_times(self) -> list[tuple[str, float]]:
        """(shipment_id, event time of its latest live state) for every tracked shipment."""
        ...
