"""The speed layer's side of the live views: its rule state as the records the views hold, written
through ``logistream.live_views`` (one trip to the store per batch). A truck with several probes
shows each probe's newest temperature and keeps a temperature history per probe."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from logistream.events import SEVERITY_ORDER, Alert, StageEvent
from logistream.live_views import (
    AlertSummary,
    HeartbeatRecord,
    LiveViewsWriter,
    ModeLive,
    ProbeLatest,
    RedisLiveViewsWriter,
    ShipmentLive,
    TruckLatest,
)
from logistream.live_views.interface import HistoryKey
from logistream.speed.rules.offline import RULE as OFFLINE
from logistream.speed.state import TruckState

if TYPE_CHECKING:
    from redis import Redis


def status_of(state: TruckState) -> str:
    if OFFLINE in state.alerts:
        return "offline"
    if not state.alerts:
        return "ok"
    return min((a.severity for a in state.alerts.values()), key=SEVERITY_ORDER.__getitem__)


def probes_of(state: TruckState) -> tuple[ProbeLatest, ...]:
    """Each named probe's newest temperature, by probe id (none for a single-probe truck)."""
    return tuple(
        ProbeLatest(probe_id, air.last.temp, air.last.timestamp)
        for probe_id, air in sorted(state.probes.items())
        if air.last is not None
    )


def mode_of(state: TruckState) -> ModeLive | None:
    """The operating mode active at the truck's newest reading, as the views show it."""
    mode = state.mode
    if mode is None:
        return None
    ends_at = min(mode.ends_at, mode.ended_at) if mode.ended_at is not None else mode.ends_at
    return ModeLive(
        mode_id=mode.mode_id,
        kind=mode.kind,
        reason=mode.reason,
        starts_at=mode.starts_at,
        ends_at=ends_at,
        set_by=mode.set_by,
    )


def latest_of(states: Iterable[TruckState]) -> list[TruckLatest]:
    """What the views hold of each truck that has a reading."""
    return [
        TruckLatest(
            truck_id=state.truck_id,
            reading=state.last,
            status=status_of(state),
            alerts=tuple(
                AlertSummary(a.alert_id, a.rule, a.severity, a.state) for a in state.alerts.values()
            ),
            probes=probes_of(state),
            mode=mode_of(state),
        )
        for state in states
        if state.last is not None
    ]


def history_of(states: Iterable[TruckState]) -> dict[HistoryKey, Sequence[tuple[float, float]]]:
    """The temperature histories a rebuild writes: the trend samples of the truck's single probe
    and of each named probe, each on its own history."""
    history: dict[HistoryKey, Sequence[tuple[float, float]]] = {}
    for s in states:
        if s.trend.points:
            history[s.truck_id, None] = s.trend.points
        for probe_id, air in s.probes.items():
            if air.trend.points:
                history[s.truck_id, probe_id] = air.trend.points
    return history


class ViewWriter:
    """The speed layer's only way to write the live views."""

    def __init__(self, client: Redis) -> None:
        self.store: LiveViewsWriter = RedisLiveViewsWriter(client)

    def write_batch(
        self,
        trucks: Iterable[TruckState],
        history: Mapping[HistoryKey, Sequence[tuple[float, float]]],
        changes: Sequence[Alert],
        shipments: Iterable[ShipmentLive] = (),
        stage_events: Iterable[StageEvent] = (),
    ) -> None:
        """Apply one batch: latest states, new history points (by truck and probe), alert
        changes, shipments' live states and stage changes, in one trip."""
        self.store.write_batch(latest_of(trucks), history, changes, shipments, stage_events)

    def rewrite(self, states: Iterable[TruckState], partitions: Iterable[int]) -> None:
        """Rewrite every view of these trucks from their state, and mark the partitions whole."""
        states = list(states)
        self.store.rewrite(
            latest_of(states),
            history_of(states),
            [a for s in states for a in s.alerts.values()],
            partitions,
            [s.shipment.live for s in states if s.shipment is not None and s.shipment.live],
        )

    def missing_partitions(self, partitions: Iterable[int]) -> set[int]:
        """Partitions whose views the store lost (flushed or never written)."""
        return self.store.missing_partitions(partitions)

    def heartbeat(self, record: HeartbeatRecord) -> None:
        self.store.heartbeat(record)

    def forget_heartbeat(self, instance: str) -> None:
        self.store.forget_heartbeat(instance)

    def forget_shipment(self, shipment_id: str) -> None:
        self.store.forget_shipment(shipment_id)
