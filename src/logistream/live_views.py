"""The live read model in Redis: key names and typed readers (layer-free).

The speed layer is the only writer (``logistream.speed.views``); the dashboard, the API and the
CLI read through the functions here. Every key starts with ``ls:``:

======================================  ======  ===============================================
key                                     type    content
======================================  ======  ===============================================
``ls:trucks``                           ZSET    truck_id -> event time of its latest reading
``ls:truck:{truck_id}``                 HASH    ``reading`` (JSON, the contract's fields),
                                                ``status`` (``ok``, ``offline`` or the worst
                                                open severity), ``alerts`` (JSON list of
                                                ``{alert_id, rule, severity, state}``),
                                                ``event_time``, ``updated_at`` (wall clock)
``ls:positions``                        GEO     truck_id at its latest lon/lat
``ls:temp:{truck_id}``                  ZSET    rolling temperature history: member
                                                ``"{ts}:{temp}"``, score = event time; the last
                                                ``TEMP_HISTORY_LEN`` readings
``ls:alert:{alert_id}``                 STRING  JSON of the alert's latest state (an ``Alert``);
                                                resolved alerts expire after a week
``ls:alerts:open``                      ZSET    alert_id -> opened_at, open and acknowledged
``ls:alerts:recent``                    ZSET    alert_id -> changed_at, every state (trimmed)
``ls:alerts:changes``                   STREAM  field ``alert`` = JSON of each change, capped
``ls:speed:heartbeats``                 HASH    processor instance -> JSON heartbeat, every
                                                second (wall clock ``at``, last record, lag)
``ls:speed:views``                      HASH    telemetry partition -> wall time its views
                                                were last rebuilt; a missing partition (Redis
                                                flushed) makes the speed layer rewrite them
======================================  ======  ===============================================
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import msgspec

from logistream.events import SEVERITY_ORDER, Alert, Reading

if TYPE_CHECKING:
    from redis import Redis

PREFIX: Final = "ls:"
TRUCKS: Final = "ls:trucks"
POSITIONS: Final = "ls:positions"
ALERTS_OPEN: Final = "ls:alerts:open"
ALERTS_RECENT: Final = "ls:alerts:recent"
ALERT_CHANGES: Final = "ls:alerts:changes"
HEARTBEATS: Final = "ls:speed:heartbeats"
VIEWS_MARKER: Final = "ls:speed:views"

TEMP_HISTORY_LEN: Final = 360
ALERT_CHANGES_MAXLEN: Final = 10_000
ALERTS_RECENT_MAX: Final = 10_000
RESOLVED_TTL_S: Final = 7 * 86_400


def truck_key(truck_id: str) -> str:
    return f"ls:truck:{truck_id}"


def temp_history_key(truck_id: str) -> str:
    return f"ls:temp:{truck_id}"


def alert_key(alert_id: str) -> str:
    return f"ls:alert:{alert_id}"


@dataclass(frozen=True, slots=True)
class AlertSummary:
    alert_id: str
    rule: str
    severity: str
    state: str


@dataclass(frozen=True, slots=True)
class TruckView:
    truck_id: str
    reading: Reading
    status: str
    """``ok``, ``offline``, or the worst severity among the truck's open alerts."""
    alerts: tuple[AlertSummary, ...]
    updated_at: float
    """Wall-clock time the speed layer wrote this view."""


class HeartbeatRecord(msgspec.Struct, kw_only=True):
    """What a speed processor writes every second (wall-clock seconds, Kafka positions)."""

    instance: str
    at: float
    pid: int = 0
    host: str = ""
    partitions: list[int] = msgspec.field(default_factory=list)
    last_topic: str | None = None
    last_partition: int | None = None
    last_offset: int | None = None
    last_record_ts: float | None = None
    """Produce time (Kafka record timestamp) of the last record processed."""
    last_event_ts: float | None = None
    lag_records: int = 0
    lag_s: float = 0.0
    """How far behind the processor is: 0 when caught up."""
    processed: int = 0
    skipped: int = 0
    late: int = 0
    watermark: float | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    record: HeartbeatRecord
    age_s: float
    """Seconds since it was written: more than a few means the processor is stalled or gone."""

    @property
    def instance(self) -> str:
        return self.record.instance

    @property
    def lag_records(self) -> int:
        return self.record.lag_records

    @property
    def lag_s(self) -> float:
        return self.record.lag_s


_alert_decoder: Final = msgspec.json.Decoder(Alert)
_reading_decoder: Final = msgspec.json.Decoder(Reading)
_summaries_decoder: Final = msgspec.json.Decoder(list[dict[str, str]])
_heartbeat_decoder: Final = msgspec.json.Decoder(HeartbeatRecord)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _truck_view(truck_id: str, fields: dict[Any, Any]) -> TruckView | None:
    data = {_text(k): v for k, v in fields.items()}
    raw = data.get("reading")
    if raw is None:
        return None
    summaries = _summaries_decoder.decode(data.get("alerts", b"[]"))
    return TruckView(
        truck_id=truck_id,
        reading=_reading_decoder.decode(raw),
        status=_text(data.get("status", b"ok")),
        alerts=tuple(
            AlertSummary(s["alert_id"], s["rule"], s["severity"], s["state"]) for s in summaries
        ),
        updated_at=float(data.get("updated_at", 0.0)),
    )


def read_truck_ids(client: Redis) -> list[str]:
    return sorted(_text(t) for t in cast(list[Any], client.zrange(TRUCKS, 0, -1)))


def read_truck(client: Redis, truck_id: str) -> TruckView | None:
    """One truck's latest reading and status, or None when the speed layer never saw it."""
    return _truck_view(truck_id, cast(dict[Any, Any], client.hgetall(truck_key(truck_id))))


def read_fleet(client: Redis) -> list[TruckView]:
    """Every truck's latest reading and status, sorted by truck id (one round trip)."""
    ids = read_truck_ids(client)
    pipe = client.pipeline(transaction=False)
    for truck_id in ids:
        pipe.hgetall(truck_key(truck_id))
    views = (_truck_view(t, f) for t, f in zip(ids, pipe.execute(), strict=True))
    return [v for v in views if v is not None]


def read_positions(client: Redis) -> dict[str, tuple[float, float]]:
    """truck_id -> (lat, lon) of its latest position."""
    ids = [_text(t) for t in cast(list[Any], client.zrange(POSITIONS, 0, -1))]
    if not ids:
        return {}
    coords = cast(list[Any], client.geopos(POSITIONS, *ids))
    return {t: (float(c[1]), float(c[0])) for t, c in zip(ids, coords, strict=True) if c}


def read_temperature_history(client: Redis, truck_id: str) -> list[tuple[float, float]]:
    """(event time, °C) of the truck's recent readings, oldest first."""
    members = cast(list[Any], client.zrange(temp_history_key(truck_id), 0, -1))
    points = []
    for member in members:
        ts, _, temp = _text(member).partition(":")
        points.append((float(ts), float(temp)))
    return points


def _alerts_by_id(client: Redis, ids: list[Any]) -> list[Alert]:
    if not ids:
        return []
    raws = cast(list[Any], client.mget([alert_key(_text(i)) for i in ids]))
    return [_alert_decoder.decode(raw) for raw in raws if raw is not None]


def read_alert(client: Redis, alert_id: str) -> Alert | None:
    raw = client.get(alert_key(alert_id))
    return _alert_decoder.decode(cast(bytes, raw)) if raw is not None else None


def read_open_alerts(client: Redis) -> list[Alert]:
    """Open and acknowledged alerts, most severe first, then oldest first."""
    alerts = _alerts_by_id(client, cast(list[Any], client.zrange(ALERTS_OPEN, 0, -1)))
    alerts = [a for a in alerts if a.state != "resolved"]
    return sorted(alerts, key=lambda a: (SEVERITY_ORDER[a.severity], a.opened_at, a.alert_id))


def read_alerts(client: Redis, *, active_only: bool = False, limit: int = 1000) -> list[Alert]:
    """Alerts in their latest state, newest change first; ``active_only``: not resolved."""
    if active_only:
        return read_open_alerts(client)[:limit]
    ids = cast(list[Any], client.zrevrange(ALERTS_RECENT, 0, limit - 1))
    return _alerts_by_id(client, ids)


def read_recent_alert_changes(client: Redis, count: int = 100) -> list[Alert]:
    """The last ``count`` alert state changes, newest first."""
    entries = cast(list[Any], client.xrevrange(ALERT_CHANGES, count=count))
    out = []
    for _id, fields in entries:
        raw = fields.get(b"alert", fields.get("alert"))
        if raw is not None:
            out.append(_alert_decoder.decode(raw))
    return out


def read_heartbeats(client: Redis, *, now: float | None = None) -> list[Heartbeat]:
    """Every speed processor's last heartbeat, freshest first."""
    now = time.time() if now is None else now
    records = [
        _heartbeat_decoder.decode(raw)
        for raw in cast(dict[Any, Any], client.hgetall(HEARTBEATS)).values()
    ]
    beats = [Heartbeat(record=r, age_s=max(0.0, now - r.at)) for r in records]
    return sorted(beats, key=lambda b: b.age_s)


def read_heartbeat(client: Redis, *, now: float | None = None) -> Heartbeat | None:
    """The freshest processor heartbeat (None: the speed layer never ran on this Redis)."""
    beats = read_heartbeats(client, now=now)
    return beats[0] if beats else None
