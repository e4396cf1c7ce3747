"""The simulator through the device gateways: which truck speaks as which device, and the
small interface the MQTT and Teltonika transports (``via_mqtt``, ``via_teltonika``) share.

``logistream simulate --via mqtt|teltonika`` makes each simulated truck report as its device of
the registry (``devices.toml``), so the whole path a real tracker takes is exercised: broker or
TCP server, gateway, Kafka. A truck without a device of that kind (a generated truck beyond the
registry's fleet, or one whose device is the other kind) goes straight to Kafka as with
``--via kafka``; the start line names those trucks.

Several probes: the simulator computes one cargo air temperature per truck. A device with
several probes reports one reading per probe: its first probe the simulated value, each further
probe that value plus a small fixed offset for its position (:data:`POSITION_OFFSET_C`), so the
probes differ as a real box's do and two probes at one second are two readings. No
calibration is simulated: each probe's raw value is what it reports, and the gateway adds the
registry's calibration offset beside it.

The Kafka path of ``--via kafka`` does not pass through here (its speed is benchmarked).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from logistream.errors import ConfigError
from logistream.events import encode
from logistream.ingest.faults import RawMessage
from logistream.ingest.simulator import Emission, FleetSim
from logistream.ingest.truck_sensors import TruckSensors, pace
from logistream.registry.devices import POSITIONS, Device, DeviceKind, Devices

if TYPE_CHECKING:
    from logistream.config import Settings

POSITION_OFFSET_C: Final[dict[str, float]] = {
    "front": -0.1,
    "rear": 0.2,
    "return_air": 0.6,
    "product": -0.2,
}
"""A further probe's difference to the simulated air temperature, by where it sits in the box:
return air is warmest (it has crossed the cargo), the product core coolest."""


class Transport(Protocol):
    """What the paced simulator loop hands its emissions to."""

    def send(self, item: Emission) -> None:
        """Send one reading or broken message of a truck this transport serves."""

    def service(self) -> None:
        """Called after each tick: send what is due, read replies."""

    def idle(self, seconds: float) -> None:
        """Wait ``seconds`` (pacing), doing the transport's background work meanwhile."""

    def close(self, stop: threading.Event) -> str:
        """Send what is left, disconnect; return a one-line summary."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """Which trucks of a run speak as their device, and which go straight to Kafka."""

    devices: dict[str, Device]
    """By truck id: the trucks that report as their device of the chosen kind."""
    to_kafka: tuple[str, ...]
    """Trucks without a device of that kind, in fleet order."""


def assign(truck_ids: Sequence[str], devices: Devices, kind: DeviceKind) -> Assignment:
    """Split a run's trucks between their devices of ``kind`` and the direct Kafka path."""
    found: dict[str, Device] = {}
    rest: list[str] = []
    for truck_id in truck_ids:
        device = devices.for_truck(truck_id)
        if device is not None and device.kind == kind:
            found[truck_id] = device
        else:
            rest.append(truck_id)
    return Assignment(found, tuple(rest))


def describe(assignment: Assignment, kind: DeviceKind) -> str:
    """The start line: how many trucks speak as devices, and which go straight to Kafka."""
    count = len(assignment.devices)
    line = f"via {kind}: {count} {_trucks(count)} as their {kind} devices"
    if assignment.to_kafka:
        shown = ", ".join(assignment.to_kafka[:8])
        more = len(assignment.to_kafka) - 8
        shown += f" and {more} more" if more > 0 else ""
        line += f"; {len(assignment.to_kafka)} without a {kind} device straight to Kafka ({shown})"
    return line


def _trucks(count: int) -> str:
    return "truck" if count == 1 else "trucks"


def position_of(device: Device, probe_id: str | None) -> str:
    """Where a probe sits: its registry position, or its id when that names a position (a
    model's usual probes are named so), else the product."""
    probe = device.probe(probe_id)
    if probe is not None and probe.probe_id is not None:
        return probe.position
    return probe_id if probe_id in POSITIONS else "product"


def probe_temperatures(positions: Sequence[str], temp: float) -> list[float]:
    """Each probe's temperature for a simulated air temperature: the first probe the value
    itself, each further one plus its position's offset (rounded to 0.01 °C)."""
    return [
        temp if i == 0 else round(temp + POSITION_OFFSET_C.get(position, 0.0), 2)
        for i, position in enumerate(positions)
    ]


class Routed:
    """Readings of device trucks to the device transport, the others to Kafka."""

    def __init__(
        self,
        device: Transport,
        device_trucks: Collection[str],
        kafka: TruckSensors | None,
    ) -> None:
        self.device = device
        self.kafka = kafka
        self._device_keys = frozenset(t.encode() for t in device_trucks)
        self._device_trucks = frozenset(device_trucks)
        self._keys: dict[str, bytes] = {}
        self.not_sent = 0
        """Broken messages without a truck key when no truck goes through Kafka."""

    def send(self, item: Emission) -> None:
        if isinstance(item, RawMessage):
            if item.key is not None and item.key in self._device_keys:
                self.device.send(item)
            elif self.kafka is not None:
                self.kafka.send(item.key, item.value)
            else:
                self.not_sent += 1
            return
        if item.truck_id in self._device_trucks:
            self.device.send(item)
        elif self.kafka is not None:
            key = self._keys.get(item.truck_id)
            if key is None:
                key = self._keys[item.truck_id] = item.truck_id.encode()
            self.kafka.send(key, encode(item))

    def service(self) -> None:
        self.device.service()
        if self.kafka is not None:
            self.kafka.service()

    def idle(self, seconds: float) -> None:
        if self.kafka is None:
            self.device.idle(seconds)
            return
        # Both must be served: the Kafka producer's reports and the device replies.
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.device.idle(min(left, 0.05))
            self.kafka.service()

    def close(self, stop: threading.Event) -> list[str]:
        lines = [self.device.close(stop)]
        if self.kafka is not None:
            lines.append(f"straight to Kafka: {self.kafka.close(stop=stop).summary()}")
        if self.not_sent:
            lines.append(
                f"{self.not_sent} broken messages without a truck key not sent (no device "
                "can publish them)"
            )
        return lines


def run_via(
    kind: DeviceKind,
    gateway_address: str,
    settings: Settings,
    fleet: FleetSim,
    duration_s: float | None,
    speedup: float,
    spool_dir: Path | None,
    spool_max_mb: int,
) -> None:
    """``simulate --via mqtt|teltonika``: connect every device, run the fleet, print the
    summary. A device the broker or gateway refuses stops the run at start in one line."""
    from logistream.ingest.spool import Spool
    from logistream.ingest.truck_sensors import make_sensors
    from logistream.registry import cached_registry
    from logistream.shutdown import stop_on_signals

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    devices = cached_registry(settings.registry_dir).devices
    assignment = assign([truck.truck_id for truck in fleet.trucks], devices, kind)
    log(describe(assignment, kind))
    device: Transport
    if kind == "mqtt":
        device = _mqtt(settings, assignment)
    else:
        device = _teltonika(settings, assignment, gateway_address)
    kafka = None
    if assignment.to_kafka:
        folder = spool_dir or settings.home / "spool" / settings.topic_telemetry
        spool = Spool(folder, max_bytes=spool_max_mb * 1024 * 1024)
        kafka = make_sensors(settings, spool, log=log)
    transport = Routed(device, assignment.devices, kafka)
    with stop_on_signals() as stop:
        _loop(transport, fleet, duration_s, speedup, stop, log)


def _mqtt(settings: Settings, assignment: Assignment) -> Transport:
    from logistream.ingest.via_mqtt import MqttDevices
    from logistream.stack.mqtt_accounts import device_password, gateway_credentials

    broker = gateway_credentials(settings)
    mqtt = MqttDevices(
        assignment.devices, broker.host, broker.port, lambda d: device_password(settings, d)
    )
    mqtt.connect()
    return mqtt


def _teltonika(settings: Settings, assignment: Assignment, gateway_address: str) -> Transport:
    from logistream.devices.io_mapping import load_io_mappings
    from logistream.ingest.teltonika_readings import device_plan
    from logistream.ingest.via_teltonika import TeltonikaDevices

    host, _, port = gateway_address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--gateway-address {gateway_address!r}: write host:port")
    # The same IO mapping the gateway reads: LOGISTREAM_REGISTRY_DIR's own, else the shipped one.
    own = None if settings.registry_dir is None else settings.registry_dir / "io_mappings.toml"
    models = load_io_mappings(own if own is not None and own.exists() else None)
    plans = {d.device_id: device_plan(d, models) for d in assignment.devices.values()}
    trackers = TeltonikaDevices(assignment.devices, plans, (host, int(port)))
    trackers.connect()
    return trackers


def _loop(
    transport: Routed,
    fleet: FleetSim,
    duration_s: float | None,
    speedup: float,
    stop: threading.Event,
    log: Callable[[str], None],
) -> None:
    """The paced simulator loop over a routed transport; logs the summary lines at the end."""
    batches: Iterator[list[Emission]] = pace(fleet, duration_s, speedup, stop, transport.idle)
    send = transport.send
    for batch in batches:
        for item in batch:
            send(item)
        transport.service()
    if stop.is_set():
        log("stopping: sending what is in hand")
    for line in transport.close(stop):
        log(line)
