"""``RedisLiveViewsWriter``: the speed layer's writes to Redis, one pipeline per call."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Final

import msgspec
from redis.exceptions import NoScriptError

from logistream.events import Alert, StageEvent, encode
from logistream.live_views import redis_layout as k
from logistream.live_views.interface import HistoryKey, HistoryPoints
from logistream.live_views.records import HeartbeatRecord, ShipmentLive, TruckLatest

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline

_json: Final = msgspec.json.Encoder()
_msgpack: Final = msgspec.msgpack.Encoder()
TRIM_EVERY: Final = 32


def _truck_items(truck: TruckLatest, now: float) -> list[str]:
    """The fields of a truck's hash (``redis_layout``), as name/value text items: its newest
    reading, status, alerts, times, mode, and each named probe's newest temperature on a truck
    with several. Times as ``repr``, as the Redis client sends numbers; JSON as UTF-8 text."""
    reading = truck.reading
    items = [
        "reading",
        encode(reading).decode(),
        "status",
        truck.status,
        "alerts",
        _json.encode([asdict(a) for a in truck.alerts]).decode() if truck.alerts else "[]",
        "event_time",
        repr(reading.timestamp),
        "updated_at",
        repr(now),
        # Always written ("" without a mode), so a mode that ended leaves the view.
        "mode",
        _json.encode(truck.mode).decode() if truck.mode is not None else "",
    ]
    if truck.probes:
        items.append("probes")
        items.append(_json.encode([asdict(p) for p in truck.probes]).decode())
    return items


def _history_key(where: str | HistoryKey) -> str:
    """The history of a truck's single probe (its id) or of one probe (truck id, probe id)."""
    truck_id, probe_id = (where, None) if isinstance(where, str) else where
    return k.history_key(truck_id, probe_id)


class RedisLiveViewsWriter:
    """:class:`~logistream.live_views.LiveViewsWriter` over a Redis client that may write."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._since_trim: dict[str, int] = {}
        self._append_change = client.register_script(k.APPEND_CHANGE_LUA)
        # Called by its digest, loaded only when the server lacks it (a new or restarted Redis):
        # a registered script in a pipeline would ask the server about it on every batch.
        script = k.WRITE_TRUCKS_LUA.encode()
        self._write_trucks_sha = hashlib.sha1(script, usedforsecurity=False).hexdigest()

    @staticmethod
    def _trucks(
        pipe: Pipeline, trucks: Iterable[TruckLatest], now: float, whole: bool = False
    ) -> None:
        """``whole``: the views are rebuilt, so a single-probe truck also loses a stale
        ``probes`` field (a normal batch spares the extra command)."""
        latest: dict[str, float] = {}
        for truck in trucks:
            key = k.truck_key(truck.truck_id)
            if not truck.probes and whole:
                pipe.hdel(key, "probes")
            pipe.hset(key, items=_truck_items(truck, now))
            latest[truck.truck_id] = truck.reading.timestamp
        # One command for the whole batch, not one per truck.
        if latest:
            pipe.zadd(k.TRUCKS, latest)

    def _histories(self, pipe: Pipeline, history: HistoryPoints, trim: bool) -> None:
        for where, points in history.items():
            if points:
                self._history(pipe, _history_key(where), points, trim)

    def _history(
        self, pipe: Pipeline, key: str, points: Sequence[tuple[float, float]], trim: bool
    ) -> None:
        # Members carry their time, so writing the same reading twice (a replay) is a no-op.
        pipe.zadd(key, {f"{ts!r}:{temp!r}": ts for ts, temp in points})
        if self._trim_due(key, len(points), always=trim):
            pipe.zremrangebyrank(key, 0, -(k.TEMP_HISTORY_LEN + 1))

    def _trim_due(self, key: str, added: int, *, always: bool = False) -> bool:
        """Whether the history ``key`` is trimmed now, ``added`` points written to it: trimming
        every batch would double the work; a few extra points are harmless."""
        since = self._since_trim.get(key, 0) + added
        due = always or since >= TRIM_EVERY
        self._since_trim[key] = 0 if due else since
        return due

    @staticmethod
    def _current(pipe: Pipeline, alert: Alert, raw: bytes) -> None:
        # A suppressed change (an alarm held during an operating mode) is a record, never open.
        if alert.state in ("resolved", "suppressed"):
            pipe.set(k.alert_key(alert.alert_id), raw, ex=k.RESOLVED_TTL_S)
            pipe.zrem(k.ALERTS_OPEN, alert.alert_id)
        else:
            pipe.set(k.alert_key(alert.alert_id), raw)
            pipe.zadd(k.ALERTS_OPEN, {alert.alert_id: alert.opened_at})
        pipe.zadd(k.ALERTS_RECENT, {alert.alert_id: alert.changed_at})

    @staticmethod
    def _shipments(
        pipe: Pipeline, shipments: Iterable[ShipmentLive], events: Iterable[StageEvent]
    ) -> None:
        latest: dict[str, float] = {}
        for shipment in shipments:
            pipe.set(k.shipment_key(shipment.shipment_id), _json.encode(shipment))
            latest[shipment.shipment_id] = shipment.updated_at
        if latest:
            pipe.zadd(k.SHIPMENTS, latest)
        for event in events:
            pipe.zadd(k.shipment_events_key(event.shipment_id), {encode(event): event.at})

    def write_batch(
        self,
        trucks: Iterable[TruckLatest],
        history: HistoryPoints,
        changes: Sequence[Alert],
        shipments: Iterable[ShipmentLive] = (),
        stage_events: Iterable[StageEvent] = (),
    ) -> None:
        now = time.time()
        trucks = list(trucks)
        pipe = self.client.pipeline(transaction=False)
        payload = self._trucks_payload(trucks, history, now)
        if payload is not None:
            pipe.evalsha(self._write_trucks_sha, 0, payload)
        if trucks:
            # One command for the whole batch, not one per truck.
            pipe.zadd(k.TRUCKS, {t.truck_id: t.reading.timestamp for t in trucks})
        self._shipments(pipe, shipments, stage_events)
        for alert in changes:
            raw = encode(alert)
            self._current(pipe, alert, raw)
            self._append_change(
                keys=[k.ALERT_SEQ, k.ALERT_CHANGES],
                args=[raw, k.ALERT_CHANGES_MAXLEN],
                client=pipe,
            )
        if changes:
            pipe.zremrangebyrank(k.ALERTS_RECENT, 0, -(k.ALERTS_RECENT_MAX + 1))
        if payload is None:
            pipe.execute()
            return
        replies = pipe.execute(raise_on_error=False)
        if isinstance(replies[0], NoScriptError):
            # The server lost its scripts (restarted or flushed): load it and write the trucks
            # again alone; the batch's other commands were applied (a change appended twice
            # would be a duplicate in the change stream).
            self.client.script_load(k.WRITE_TRUCKS_LUA)
            self.client.evalsha(self._write_trucks_sha, 0, payload)
            replies = replies[1:]
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply

    def _trucks_payload(
        self, trucks: Sequence[TruckLatest], history: HistoryPoints, now: float
    ) -> bytes | None:
        """The argument of ``WRITE_TRUCKS_LUA``: the same hash fields and history points that
        :meth:`_trucks` and :meth:`_histories` write as commands (None: nothing to write).
        Numbers go as ``repr``, as the Redis client sends them."""
        if not trucks and not any(history.values()):
            return None
        items: list[str] = [str(k.TEMP_HISTORY_LEN), str(len(trucks))]
        add = items.append
        for truck in trucks:
            fields = _truck_items(truck, now)
            add(k.truck_key(truck.truck_id))
            add(str(len(fields)))
            # Redis's MessagePack reader takes text, not binary: every item is text.
            items.extend(fields)
        points_of = [(where, points) for where, points in history.items() if points]
        add(str(len(points_of)))
        for where, points in points_of:
            key = _history_key(where)
            add(key)
            add("1" if self._trim_due(key, len(points)) else "0")
            add(str(2 * len(points)))
            for ts, temp in points:
                # Members carry their time, so writing the same reading twice is a no-op.
                score = repr(ts)
                add(score)
                add(f"{score}:{temp!r}")
        return _msgpack.encode(items)

    def rewrite(
        self,
        trucks: Iterable[TruckLatest],
        history: HistoryPoints,
        alerts: Iterable[Alert],
        partitions: Iterable[int],
        shipments: Iterable[ShipmentLive] = (),
    ) -> None:
        # The change stream is history: a rebuild restores the current state only.
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        self._trucks(pipe, trucks, now, whole=True)
        self._shipments(pipe, shipments, ())
        self._histories(pipe, history, trim=True)
        for alert in alerts:
            raw = encode(alert)
            pipe.set(k.alert_key(alert.alert_id), raw)
            pipe.zadd(k.ALERTS_OPEN, {alert.alert_id: alert.opened_at})
            pipe.zadd(k.ALERTS_RECENT, {alert.alert_id: alert.changed_at})
        marks = {str(p): now for p in partitions}
        if marks:
            pipe.hset(k.VIEWS_MARKER, mapping=marks)  # type: ignore[arg-type]
        pipe.execute()

    def missing_partitions(self, partitions: Iterable[int]) -> set[int]:
        wanted = sorted(partitions)
        if not wanted:
            return set()
        found = self.client.hmget(k.VIEWS_MARKER, [str(p) for p in wanted])
        return {p for p, v in zip(wanted, found, strict=True) if v is None}

    def heartbeat(self, record: HeartbeatRecord) -> None:
        self.client.hset(k.HEARTBEATS, record.instance, _json.encode(record))

    def forget_heartbeat(self, instance: str) -> None:
        self.client.hdel(k.HEARTBEATS, instance)

    def forget_shipment(self, shipment_id: str) -> None:
        """A shipment no longer tracked (cancelled): its live state goes; its stage events stay
        a week, for whoever looks at it."""
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(k.shipment_key(shipment_id))
        pipe.zrem(k.SHIPMENTS, shipment_id)
        pipe.expire(k.shipment_events_key(shipment_id), k.RESOLVED_TTL_S)
        pipe.execute()
