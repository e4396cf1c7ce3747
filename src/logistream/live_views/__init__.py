"""The live views: what the speed layer knows now, for the dashboard, the API, the CLI and the
notifier (layer-free).

The speed layer is the one writer; everyone else reads. Callers hold an interface
(``interface``: :class:`LiveViews` to read, :class:`LiveViewsWriter` to write, :class:`LiveFeed`
for the API's live stream) and plain records (``records``), never a store's keys. Redis is the
one implementation (``redis_layout`` documents its keys; ``redis_reads``, ``redis_writes``,
``redis_feed``).

Alert changes are numbered by LogiStream (:attr:`AlertChange.seq`, given when the speed layer
writes the change), not by the store, so what the API hands out as event ids survives a change
of store.

The ``read_*`` functions below read with a bare Redis client, for scripts and tests that hold
one; they are :class:`RedisLiveViews` methods under their older names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from logistream.events import Alert
from logistream.live_views.interface import LiveFeed, LiveViews, LiveViewsWriter
from logistream.live_views.records import (
    AlertChange,
    AlertSummary,
    Heartbeat,
    HeartbeatRecord,
    ModeLive,
    ProbeLatest,
    ShipmentLive,
    StopEtaView,
    TruckLatest,
    TruckView,
)
from logistream.live_views.redis_feed import RedisLiveFeed
from logistream.live_views.redis_reads import RedisLiveViews
from logistream.live_views.redis_writes import RedisLiveViewsWriter

if TYPE_CHECKING:
    from redis import Redis

__all__ = [
    "AlertChange",
    "AlertSummary",
    "Heartbeat",
    "HeartbeatRecord",
    "LiveFeed",
    "LiveViews",
    "LiveViewsWriter",
    "ModeLive",
    "ProbeLatest",
    "RedisLiveFeed",
    "RedisLiveViews",
    "RedisLiveViewsWriter",
    "ShipmentLive",
    "StopEtaView",
    "TruckLatest",
    "TruckView",
    "read_alert",
    "read_alerts",
    "read_fleet",
    "read_heartbeat",
    "read_heartbeats",
    "read_open_alerts",
    "read_recent_alert_changes",
    "read_temperature_history",
    "read_truck",
    "read_truck_ids",
]


def read_truck_ids(client: Redis) -> list[str]:
    return RedisLiveViews(client).truck_ids()


def read_truck(client: Redis, truck_id: str) -> TruckView | None:
    return RedisLiveViews(client).truck(truck_id)


def read_fleet(client: Redis) -> list[TruckView]:
    return RedisLiveViews(client).fleet()


def read_temperature_history(
    client: Redis, truck_id: str, probe_id: str | None = None
) -> list[tuple[float, float]]:
    return RedisLiveViews(client).temperature_history(truck_id, probe_id)


def read_alert(client: Redis, alert_id: str) -> Alert | None:
    return RedisLiveViews(client).alert(alert_id)


def read_open_alerts(client: Redis) -> list[Alert]:
    return RedisLiveViews(client).open_alerts()


def read_alerts(client: Redis, *, active_only: bool = False, limit: int = 1000) -> list[Alert]:
    return RedisLiveViews(client).alerts(active_only=active_only, limit=limit)


def read_recent_alert_changes(client: Redis, count: int = 100) -> list[Alert]:
    """The last ``count`` alert changes (the alerts alone), newest first."""
    return [c.alert for c in RedisLiveViews(client).recent_alert_changes(count)]


def read_heartbeats(client: Redis, *, now: float | None = None) -> list[Heartbeat]:
    return RedisLiveViews(client).heartbeats(now=now)


def read_heartbeat(client: Redis, *, now: float | None = None) -> Heartbeat | None:
    return RedisLiveViews(client).heartbeat(now=now)
