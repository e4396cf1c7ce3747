"""Writes the live read model (keys in ``logistream.live_views``), one pipeline per batch."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

import msgspec

from logistream import live_views as lv
from logistream.events import SEVERITY_ORDER, Alert, encode
from logistream.speed.rules.offline import RULE as OFFLINE
from logistream.speed.state import TruckState

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline

_json: Final = msgspec.json.Encoder()
TRIM_EVERY: Final = 32


def status_of(state: TruckState) -> str:
    if OFFLINE in state.alerts:
        return "offline"
    if not state.alerts:
        return "ok"
    return min((a.severity for a in state.alerts.values()), key=SEVERITY_ORDER.__getitem__)


class ViewWriter:
    """The speed layer's only way to write Redis."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._since_trim: dict[str, int] = {}

    def _trucks(self, pipe: Pipeline, states: Iterable[TruckState], now: float) -> None:
        latest: dict[str, float] = {}
        positions: list[object] = []
        for state in states:
            reading = state.last
            if reading is None:
                continue
            summaries = (
                _json.encode(
                    [
                        {
                            "alert_id": a.alert_id,
                            "rule": a.rule,
                            "severity": a.severity,
                            "state": a.state,
                        }
                        for a in state.alerts.values()
                    ]
                )
                if state.alerts
                else b"[]"
            )
            pipe.hset(
                lv.truck_key(state.truck_id),
                mapping={
                    "reading": encode(reading),
                    "status": status_of(state),
                    "alerts": summaries,
                    "event_time": reading.timestamp,
                    "updated_at": now,
                },
            )
            latest[state.truck_id] = reading.timestamp
            if reading.lat is not None and reading.lon is not None:
                positions.extend((reading.lon, reading.lat, state.truck_id))
        # One command each for the whole batch, not one per truck.
        if latest:
            pipe.zadd(lv.TRUCKS, latest)
        if positions:
            pipe.geoadd(lv.POSITIONS, positions)  # type: ignore[arg-type]

    def _history(
        self, pipe: Pipeline, truck_id: str, points: Sequence[tuple[float, float]], trim: bool
    ) -> None:
        # Members carry their time, so writing the same reading twice (a replay) is a no-op.
        key = lv.temp_history_key(truck_id)
        pipe.zadd(key, {f"{ts!r}:{temp!r}": ts for ts, temp in points})
        added = self._since_trim.get(truck_id, 0) + len(points)
        # Trimming every batch would double the commands; a few extra points are harmless.
        if trim or added >= TRIM_EVERY:
            pipe.zremrangebyrank(key, 0, -(lv.TEMP_HISTORY_LEN + 1))
            added = 0
        self._since_trim[truck_id] = added

    @staticmethod
    def _alert(pipe: Pipeline, alert: Alert) -> None:
        raw = encode(alert)
        if alert.state == "resolved":
            pipe.set(lv.alert_key(alert.alert_id), raw, ex=lv.RESOLVED_TTL_S)
            pipe.zrem(lv.ALERTS_OPEN, alert.alert_id)
        else:
            pipe.set(lv.alert_key(alert.alert_id), raw)
            pipe.zadd(lv.ALERTS_OPEN, {alert.alert_id: alert.opened_at})
        pipe.zadd(lv.ALERTS_RECENT, {alert.alert_id: alert.changed_at})
        pipe.xadd(lv.ALERT_CHANGES, {"alert": raw}, maxlen=lv.ALERT_CHANGES_MAXLEN)

    def write_batch(
        self,
        trucks: Iterable[TruckState],
        history: Mapping[str, Sequence[tuple[float, float]]],
        changes: Sequence[Alert],
    ) -> None:
        """Apply one batch: latest states, new history points and alert changes, in one trip."""
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        self._trucks(pipe, trucks, now)
        for truck_id, points in history.items():
            if points:
                self._history(pipe, truck_id, points, trim=False)
        for alert in changes:
            self._alert(pipe, alert)
        if changes:
            pipe.zremrangebyrank(lv.ALERTS_RECENT, 0, -(lv.ALERTS_RECENT_MAX + 1))
        pipe.execute()

    def rewrite(self, states: Iterable[TruckState], partitions: Iterable[int]) -> None:
        """Rewrite every view of these trucks from their state, and mark the partitions whole."""
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        states = list(states)
        self._trucks(pipe, states, now)
        for state in states:
            if state.trend.points:
                self._history(pipe, state.truck_id, state.trend.points, trim=True)
            for alert in state.alerts.values():
                raw = encode(alert)
                pipe.set(lv.alert_key(alert.alert_id), raw)
                pipe.zadd(lv.ALERTS_OPEN, {alert.alert_id: alert.opened_at})
                pipe.zadd(lv.ALERTS_RECENT, {alert.alert_id: alert.changed_at})
        marks = {str(p): now for p in partitions}
        if marks:
            pipe.hset(lv.VIEWS_MARKER, mapping=marks)  # type: ignore[arg-type]
        pipe.execute()

    def missing_partitions(self, partitions: Iterable[int]) -> set[int]:
        """Partitions whose views Redis lost (flushed or never written)."""
        wanted = sorted(partitions)
        if not wanted:
            return set()
        found = self.client.hmget(lv.VIEWS_MARKER, [str(p) for p in wanted])
        return {p for p, v in zip(wanted, found, strict=True) if v is None}

    def heartbeat(self, record: lv.HeartbeatRecord) -> None:
        self.client.hset(lv.HEARTBEATS, record.instance, _json.encode(record))

    def forget_heartbeat(self, instance: str) -> None:
        self.client.hdel(lv.HEARTBEATS, instance)
