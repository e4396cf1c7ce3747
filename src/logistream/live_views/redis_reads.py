"""``RedisLiveViews``: the live views read from Redis (the layout is in ``redis_layout``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final, cast

import msgspec

from logistream.events import SEVERITY_ORDER, Alert, Reading, StageEvent, decode_stage_event
from logistream.live_views import redis_layout as k
from logistream.live_views.records import (
    AlertChange,
    AlertSummary,
    Heartbeat,
    HeartbeatRecord,
    ModeLive,
    ProbeLatest,
    ShipmentLive,
    TruckView,
)

if TYPE_CHECKING:
    from redis import Redis

_alert_decoder: Final = msgspec.json.Decoder(Alert)
_reading_decoder: Final = msgspec.json.Decoder(Reading)
_summaries_decoder: Final = msgspec.json.Decoder(list[dict[str, str]])
_probes_decoder: Final = msgspec.json.Decoder(list[ProbeLatest])
_heartbeat_decoder: Final = msgspec.json.Decoder(HeartbeatRecord)
_shipment_decoder: Final = msgspec.json.Decoder(ShipmentLive)
_mode_decoder: Final = msgspec.json.Decoder(ModeLive)


def decode_change(entry_id: Any, fields: dict[Any, Any]) -> AlertChange | None:
    """One entry of the change stream (None: not an alert change)."""
    raw = fields.get(b"alert", fields.get("alert"))
    if raw is None:
        return None
    raw = raw if isinstance(raw, bytes) else str(raw).encode()
    at = fields.get(b"at", fields.get("at"))
    return AlertChange(
        seq=k.seq_of(entry_id),
        alert=_alert_decoder.decode(raw),
        raw=raw,
        written_at=float(k.text(at)) if at is not None else 0.0,
    )


def decode_changes(entries: list[Any]) -> list[AlertChange]:
    changes = (decode_change(entry_id, fields) for entry_id, fields in entries)
    return [c for c in changes if c is not None]


def _truck_view(truck_id: str, fields: dict[Any, Any]) -> TruckView | None:
    data = {k.text(key): v for key, v in fields.items()}
    raw = data.get("reading")
    if raw is None:
        return None
    summaries = _summaries_decoder.decode(data.get("alerts", b"[]"))
    return TruckView(
        truck_id=truck_id,
        reading=_reading_decoder.decode(raw),
        status=k.text(data.get("status", b"ok")),
        alerts=tuple(
            AlertSummary(s["alert_id"], s["rule"], s["severity"], s["state"]) for s in summaries
        ),
        updated_at=float(data.get("updated_at", 0.0)),
        probes=tuple(_probes_decoder.decode(data["probes"])) if "probes" in data else (),
        mode=_mode_decoder.decode(data["mode"]) if data.get("mode") else None,
    )


class RedisLiveViews:
    """:class:`~logistream.live_views.LiveViews` over a (read-only is enough) Redis client."""

    def __init__(self, client: Redis) -> None:
        self.client = client

    def truck_ids(self) -> list[str]:
        return sorted(k.text(t) for t in cast(list[Any], self.client.zrange(k.TRUCKS, 0, -1)))

    def truck(self, truck_id: str) -> TruckView | None:
        fields = cast(dict[Any, Any], self.client.hgetall(k.truck_key(truck_id)))
        return _truck_view(truck_id, fields)

    def fleet(self) -> list[TruckView]:
        ids = self.truck_ids()
        pipe = self.client.pipeline(transaction=False)
        for truck_id in ids:
            pipe.hgetall(k.truck_key(truck_id))
        views = (_truck_view(t, f) for t, f in zip(ids, pipe.execute(), strict=True))
        return [v for v in views if v is not None]

    def temperature_history(
        self, truck_id: str, probe_id: str | None = None
    ) -> list[tuple[float, float]]:
        members = cast(list[Any], self.client.zrange(k.history_key(truck_id, probe_id), 0, -1))
        points = []
        for member in members:
            ts, _, temp = k.text(member).partition(":")
            points.append((float(ts), float(temp)))
        return points

    def _alerts_by_id(self, ids: list[Any]) -> list[Alert]:
        if not ids:
            return []
        raws = cast(list[Any], self.client.mget([k.alert_key(k.text(i)) for i in ids]))
        return [_alert_decoder.decode(raw) for raw in raws if raw is not None]

    def alert(self, alert_id: str) -> Alert | None:
        raw = self.client.get(k.alert_key(alert_id))
        return _alert_decoder.decode(cast(bytes, raw)) if raw is not None else None

    def open_alerts(self) -> list[Alert]:
        alerts = self._alerts_by_id(cast(list[Any], self.client.zrange(k.ALERTS_OPEN, 0, -1)))
        alerts = [a for a in alerts if a.state != "resolved"]
        return sorted(alerts, key=lambda a: (SEVERITY_ORDER[a.severity], a.opened_at, a.alert_id))

    def alerts(self, *, active_only: bool = False, limit: int = 1000) -> list[Alert]:
        if active_only:
            return self.open_alerts()[:limit]
        ids = cast(list[Any], self.client.zrevrange(k.ALERTS_RECENT, 0, limit - 1))
        return self._alerts_by_id(ids)

    def recent_alert_changes(self, count: int = 100) -> list[AlertChange]:
        return decode_changes(cast(list[Any], self.client.xrevrange(k.ALERT_CHANGES, count=count)))

    def alert_changes_after(self, seq: int, count: int = 500) -> list[AlertChange]:
        entries = self.client.xrange(k.ALERT_CHANGES, min=f"({k.entry_id(seq)}", count=count)
        return decode_changes(cast(list[Any], entries))

    def heartbeats(self, *, now: float | None = None) -> list[Heartbeat]:
        now = time.time() if now is None else now
        records = [
            _heartbeat_decoder.decode(raw)
            for raw in cast(dict[Any, Any], self.client.hgetall(k.HEARTBEATS)).values()
        ]
        beats = [Heartbeat(record=r, age_s=max(0.0, now - r.at)) for r in records]
        return sorted(beats, key=lambda b: b.age_s)

    def heartbeat(self, *, now: float | None = None) -> Heartbeat | None:
        beats = self.heartbeats(now=now)
        return beats[0] if beats else None

    def shipment(self, shipment_id: str) -> ShipmentLive | None:
        raw = self.client.get(k.shipment_key(shipment_id))
        return _shipment_decoder.decode(cast(bytes, raw)) if raw is not None else None

    def shipments(self) -> list[ShipmentLive]:
        ids = sorted(k.text(i) for i in cast(list[Any], self.client.zrange(k.SHIPMENTS, 0, -1)))
        if not ids:
            return []
        raws = cast(list[Any], self.client.mget([k.shipment_key(i) for i in ids]))
        return [_shipment_decoder.decode(raw) for raw in raws if raw is not None]

    def stage_events(self, shipment_id: str) -> list[StageEvent]:
        members = cast(list[Any], self.client.zrange(k.shipment_events_key(shipment_id), 0, -1))
        return [decode_stage_event(m) for m in members]
