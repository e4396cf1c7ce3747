"""The simulator as MQTT devices: each truck publishes as its registry device, like a real
telematics unit, to the broker the MQTT gateway reads.

Each device logs in with its own account (username = device id, password from the stack's
secrets, as ``stack.mqtt_accounts`` hands it out) and publishes with QoS 1 to its one topic,
``logistream/devices/<id>/telemetry``. The payload is the reading's JSON as
``ingest.mqtt_payload`` expects a device to send it:

- without ``truck_id``: the topic says which device sent it and the registry which truck it
  belongs to (the gateway adds it);
- with ``probe_id`` when the device has named probes: one message per probe, each with that
  probe's temperature (``via_devices.probe_temperatures``);
- without ``event_id``: a device does not know LogiStream's ids; the gateway derives one from
  the device, the probe and the device's timestamp, so two probes at one second are two
  readings and a re-delivered or doubled message keeps its id.

A broken message of a faulty truck is published as it is, to its truck's device topic (the
gateway forwards it and the bridge files it in the dead-letter topic). The run ends only when
the broker has acknowledged every message (PUBACK), within a timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec

from logistream.errors import LogiStreamError
from logistream.events import Reading
from logistream.ingest.faults import RawMessage
from logistream.ingest.mqtt_connect import connect
from logistream.ingest.simulator import Emission
from logistream.ingest.via_devices import position_of, probe_temperatures
from logistream.registry.devices import Device

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

QOS: Final = 1
CONNECT_TIMEOUT_S: Final = 15.0
MAX_INFLIGHT: Final = 100
"""QoS 1 messages a device has on the wire before its PUBACKs (paho's default is 20)."""
MAX_UNACKED: Final = 5_000
"""Messages handed to paho and not acknowledged yet, over all devices: beyond, sending waits."""
CLOSE_TIMEOUT_S: Final = 30.0

_to_dict: Final = msgspec.to_builtins
_encode: Final = msgspec.json.Encoder().encode


def payloads(reading: Reading, device: Device) -> list[bytes]:
    """The MQTT messages of one reading of ``device``'s truck: one per probe (see the module)."""
    fields: dict[str, Any] = _to_dict(reading)
    del fields["truck_id"]
    fields.pop("event_id", None)
    probe_ids = [probe.probe_id for probe in device.probes]
    temps = probe_temperatures([position_of(device, p) for p in probe_ids], reading.temp)
    out: list[bytes] = []
    for probe_id, temp in zip(probe_ids, temps, strict=True):
        fields["temp"] = temp
        if probe_id is not None:
            fields["probe_id"] = probe_id
        out.append(_encode(fields))
    return out


@dataclass
class _Account:
    device: Device
    topic: str
    client: mqtt.Client
    connected: threading.Event = field(default_factory=threading.Event)
    refused: str | None = None
    sent: int = 0
    acknowledged: int = 0
    """Counted by paho's network thread only."""


class MqttDevices:
    """One paho client per device (each with its network thread), publishing QoS 1."""

    def __init__(
        self,
        devices: Mapping[str, Device],
        host: str,
        port: int,
        password: Callable[[str], str],
    ) -> None:
        """``devices`` by truck id; ``password(device_id)`` its MQTT password."""
        from logistream.stack.mqtt_accounts import telemetry_topic

        self.host, self.port = host, port
        self._by_truck: dict[str, _Account] = {}
        self._by_key: dict[bytes, _Account] = {}
        for truck_id, device in devices.items():
            account = _Account(device, telemetry_topic(device.device_id), _client(device, password))
            self._by_truck[truck_id] = account
            self._by_key[truck_id.encode()] = account

    def connect(self) -> None:
        """Log every device in; raises LogiStreamError in one line naming a refused one."""
        for account in self._by_truck.values():
            self._connect(account)
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        for account in self._by_truck.values():
            account.connected.wait(max(0.0, deadline - time.monotonic()))
            if account.refused is not None or not account.connected.is_set():
                self.disconnect()
                why = account.refused or f"no answer in {CONNECT_TIMEOUT_S:.0f} s"
                raise LogiStreamError(
                    f"MQTT broker {self.host}:{self.port} did not let device "
                    f"{account.device.device_id} (truck {account.device.truck_id}) in: {why}; "
                    "run `logistream stack up` (it writes the broker's accounts from "
                    "devices.toml) or check LOGISTREAM_MQTT_URL"
                )

    def _connect(self, account: _Account) -> None:
        client = account.client

        def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            if reason.is_failure:
                account.refused = str(reason)
            account.connected.set()

        def on_publish(_c: Any, _u: Any, _mid: int, _reason: Any, _props: Any) -> None:
            account.acknowledged += 1

        client.on_connect = on_connect
        client.on_publish = on_publish
        connect(client, self.host, self.port)
        client.loop_start()

    def _unacked(self) -> int:
        return sum(a.sent - a.acknowledged for a in self._by_truck.values())

    def send(self, item: Emission) -> None:
        if isinstance(item, RawMessage):
            account = self._by_key[item.key] if item.key is not None else None
            if account is not None:
                self._publish(account, item.value)
            return
        account = self._by_truck[item.truck_id]
        for payload in payloads(item, account.device):
            self._publish(account, payload)

    def _publish(self, account: _Account, payload: bytes) -> None:
        account.client.publish(account.topic, payload, qos=QOS)
        account.sent += 1

    def service(self) -> None:
        # Each client's thread does the network work; hold back when too much waits for PUBACKs.
        while self._unacked() > MAX_UNACKED:
            time.sleep(0.005)

    def idle(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self, stop: threading.Event) -> str:
        """Wait for the broker's acknowledgements (a later stop request gives up), disconnect."""
        later_stop = None if stop.is_set() else stop
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        while self._unacked() and time.monotonic() < deadline:
            if later_stop is not None and later_stop.is_set():
                break
            time.sleep(0.02)
        self.disconnect()
        sent = sum(a.sent for a in self._by_truck.values())
        acked = sum(a.acknowledged for a in self._by_truck.values())
        return (
            f"published {sent} messages as {len(self._by_truck)} MQTT devices to "
            f"{self.host}:{self.port}, acknowledged {acked} (QoS {QOS})"
        )

    def disconnect(self) -> None:
        for account in self._by_truck.values():
            account.client.disconnect()
            account.client.loop_stop()


def _client(device: Device, password: Callable[[str], str]) -> mqtt.Client:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{device.device_id}-simulator",
        clean_session=True,
        protocol=mqtt.MQTTv311,
    )
    client.username_pw_set(device.device_id, password(device.device_id))
    client.max_inflight_messages_set(MAX_INFLIGHT)
    return client
