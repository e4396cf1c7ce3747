"""What the live views hold, as plain records: a truck's latest state (with each named probe's
latest temperature on a truck with several), an alert change with its sequence number, a speed
processor's heartbeat, a shipment's live stage and ETAs. No store in sight: these are the values
the speed layer writes and serving, the API and the notifier read."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from logistream.events import Alert, Reading


@dataclass(frozen=True, slots=True)
class AlertSummary:
    alert_id: str
    rule: str
    severity: str
    state: str


class ModeLive(msgspec.Struct, frozen=True, kw_only=True):
    """The operating mode (pre-cooling, maintenance, washout) active at a truck's newest
    reading: its temperature alarms are held until ``ends_at`` (event time)."""

    mode_id: str
    kind: str
    reason: str
    starts_at: float
    ends_at: float
    """When it ends: its end time, or its early end."""
    set_by: str


@dataclass(frozen=True, slots=True)
class ProbeLatest:
    """One named probe's newest reading, on a truck with several probes."""

    probe_id: str
    temp: float
    """°C"""
    timestamp: float
    """Event time of that reading."""


@dataclass(frozen=True, slots=True)
class TruckLatest:
    """What the speed layer writes for a truck after a batch: its latest reading and verdict."""

    truck_id: str
    reading: Reading
    status: str
    """``ok``, ``offline``, or the worst severity among the truck's open alerts."""
    alerts: tuple[AlertSummary, ...]
    probes: tuple[ProbeLatest, ...] = ()
    """Each named probe's newest temperature, sorted by probe id; empty for a truck with a single
    probe (its temperature is the reading's). ``reading`` is the newest of any probe."""
    mode: ModeLive | None = None
    """The operating mode active at the newest reading (None: none)."""


@dataclass(frozen=True, slots=True)
class TruckView:
    truck_id: str
    reading: Reading
    status: str
    """``ok``, ``offline``, or the worst severity among the truck's open alerts."""
    alerts: tuple[AlertSummary, ...]
    updated_at: float
    """Wall-clock time the speed layer wrote this view."""
    probes: tuple[ProbeLatest, ...] = ()
    """Each named probe's newest temperature, sorted by probe id; empty for a truck with a single
    probe (its temperature is the reading's). ``reading`` is the newest of any probe."""
    mode: ModeLive | None = None
    """The operating mode active at the newest reading (None: none)."""


@dataclass(frozen=True, slots=True)
class AlertChange:
    """One alert state change as the live views keep it.

    ``seq`` is LogiStream's own number for the change, given when the speed layer writes it:
    increasing across every change of every alert, and still increasing after the live views are
    rebuilt from empty. It is what the API hands out as the SSE event id."""

    seq: int
    alert: Alert
    raw: bytes
    """The alert as the speed layer encoded it (sent as is, not re-encoded)."""
    written_at: float
    """Wall-clock time (the store's clock) the change was written."""


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


class StopEtaView(msgspec.Struct, frozen=True):
    """When the truck should reach one stop not yet reached."""

    stop: int
    """Index of the stop in the shipment."""
    eta: float
    """Epoch seconds."""
    km_left: float
    late: bool
    """The ETA falls after the stop's planned window."""


class ShipmentLive(msgspec.Struct, frozen=True, kw_only=True):
    """A shipment the speed layer tracks: where it is and when it should reach each stop left."""

    shipment_id: str
    truck_id: str
    stage: str
    """:data:`logistream.shipments.model.Stage`"""
    stop: int
    since: float | None
    """Event time at which the stage began (None: planned, nothing seen yet)."""
    updated_at: float
    """Event time of the reading behind this state."""
    etas: tuple[StopEtaView, ...] = ()
    arrival_forecast: str | None = None
    """When the cargo's temperature trend crosses its limit before the next stop, what to say
    ("at this rate the vaccines reach 8.0 °C 40 min before Kisumu regional vaccine depot")."""
