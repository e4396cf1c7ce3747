"""``logistream gateway mqtt``: devices' MQTT messages to ``truck_telemetry``, nothing lost.

The gateway subscribes with QoS 1 to ``logistream/devices/+/telemetry`` in a persistent session
named after its instance, and acknowledges each message to the broker (paho-mqtt's
manual acknowledgements) only in the Kafka delivery report of the record it made of it. A gateway
killed at any moment therefore leaves every unacknowledged message with the broker, which
delivers it again when the gateway's session resumes; the record it may already have produced
carries the same event id (:mod:`logistream.ingest.mqtt_payload`), so the archive keeps it once.

Several gateways split the devices' messages with a shared subscription (``--group``):
``$share/<group>/logistream/devices/+/telemetry``. Mosquitto 2.0 does not restore a shared
subscription when it restarts (a plain one it does, with the messages queued for it), so a
reading published after a broker restart and before the gateways subscribe again has nobody to
go to and is dropped, though the device got its acknowledgement. The default is therefore one
gateway with a plain subscription, which a broker restart does not lose.

One thread does everything, in rounds: wait briefly for the broker's bytes, take every message
that has arrived (up to :data:`MAX_MESSAGES_PER_ROUND`) and produce its record, serve the
producer's delivery reports (which queue the acknowledgements), and send those in one write. So an
acknowledgement is sent from the thread that owns the MQTT connection, and the work per message
is the message's own: the client's socket reads and writes in bulk (:mod:`.mqtt_socket`).
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from logistream.ingest.log_once import LogOnce
from logistream.ingest.mqtt_payload import Forward, RecordMaker, Refused

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from logistream.ingest.mqtt_socket import BufferedSocket, BulkClient
    from logistream.kafka import Producer
    from logistream.kafka.records import ConfigValue, KafkaIssue, Record
    from logistream.registry.devices import Devices

log = logging.getLogger("logistream.gateway.mqtt")

TELEMETRY_TOPICS: Final = "logistream/devices/+/telemetry"
RECONNECT_AFTER_FAILURE_S: Final = 0.5
MAX_MESSAGES_PER_ROUND: Final = 256
"""Delivery reports are served (and acknowledgements sent) at least this often: Mosquitto sends
a client at most 1,000 unacknowledged messages, so acknowledgements must not wait long."""
IDLE_WAIT_S: Final = 0.02
"""How long a round waits for the broker when no record awaits Kafka's acknowledgement..."""
BUSY_WAIT_S: Final = 0.001
"""...and when some do: their delivery reports are served within about this long."""
PRODUCER_CONFIG: Final[dict[str, ConfigValue]] = {"linger.ms": 20}
"""Over the durable producer's: batches of 20 ms cost the gateway about a tenth less CPU a
reading than 5 ms (the benchmark, 3 runs each; 50 ms saved no more). It holds each
acknowledgement up to 20 ms longer, which counts against Mosquitto's window of 1,000
unacknowledged messages: BENCHMARKS.md says how full that window ran."""


@dataclass
class GatewayCounts:
    """What the gateway did, by outcome (also exported as Prometheus counters when asked)."""

    forwarded: int = 0
    acknowledged: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    kafka_failures: int = 0

    def samples(self) -> list[tuple[str, str, int]]:
        """(outcome, reason, count) of each outcome counted so far, for the Prometheus counter
        (:mod:`.mqtt_metrics`); safe to call from another thread."""
        out = [("forwarded", "", self.forwarded)] if self.forwarded else []
        out += [("refused", reason, n) for reason, n in dict(self.refused).items()]
        if self.kafka_failures:
            out.append(("kafka_failure", "", self.kafka_failures))
        return out


class MqttGateway:
    """The message handling of one gateway process, over a connected paho client and a producer.

    ``on_message`` is paho's callback; ``serve`` runs both loops until ``stop()`` says so.
    """

    def __init__(
        self,
        client: BulkClient,
        producer: Producer,
        topic: str,
        devices: Devices,
        *,
        registered: Mapping[str, Mapping[str, str]] | None = None,
        share_group: str | None = None,
    ) -> None:
        self.client = client
        self.producer = producer
        self.topic = topic
        self.devices = devices
        self.registered = registered or {}
        self.records = RecordMaker(devices, self.registered)
        self.subscription = (
            f"$share/{share_group}/{TELEMETRY_TOPICS}" if share_group else TELEMETRY_TOPICS
        )
        self.counts = GatewayCounts()
        self.refusal_log = LogOnce()
        self._redeliver = False
        self._in_flight = 0
        """Records produced whose delivery report has not been served yet."""
        self._reconnect_at: float | None = None
        """While disconnected: when to try to connect again."""
        self.broker_refusal: str | None = None

    # ---- paho callbacks (on the loop thread) -----------------------------------------------

    def on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self.broker_refusal = str(reason)
            return
        # A resumed session keeps its subscription; subscribing again is harmless and covers a
        # session the broker forgot.
        client.subscribe(self.subscription, qos=1)

    def on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            self.broker_refusal = f"subscription to {self.subscription} refused: {reasons}"
            return
        print(f"MQTT gateway ready: subscribed to {self.subscription}", flush=True)

    def on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        record = self.records.to_record(message.topic, message.payload)
        if isinstance(record, Refused):
            self._refuse(record)
            self._ack(message)  # nothing to wait for: re-delivery would be refused again
            return
        self._forward(record, message)

    # ---- handling -----------------------------------------------------------------------------

    def _refuse(self, refused: Refused) -> None:
        self.counts.refused[refused.reason] = self.counts.refused.get(refused.reason, 0) + 1
        held = self.refusal_log.check((refused.device_id, refused.reason), time.monotonic())
        if held is not None:
            log.warning(
                "refused a message of device %s (%s): %s%s",
                refused.device_id,
                refused.reason,
                refused.detail,
                f" (and {held} more like it since the last line)" if held else "",
            )

    def _forward(self, record: Forward, message: mqtt.MQTTMessage) -> None:
        def delivered(error: KafkaIssue | None, _record: Record) -> None:
            self._in_flight -= 1
            if error is not None:
                # Not acknowledged: the broker delivers it again once the session resumes.
                self.counts.kafka_failures += 1
                log.error("Kafka did not take a reading of %s: %s", record.device_id, error.str())
                self._redeliver = True
                return
            self._ack(message)

        self.producer.produce(self.topic, record.value, record.key, on_delivery=delivered)
        self._in_flight += 1
        self.counts.forwarded += 1

    def _ack(self, message: mqtt.MQTTMessage) -> None:
        if message.qos > 0:
            self.client.ack(message.mid, message.qos)
        self.counts.acknowledged += 1

    # ---- the loop -----------------------------------------------------------------------------

    def serve(self, stop: Callable[[], bool]) -> None:
        """Serve the MQTT connection and Kafka's delivery reports until ``stop()``; then wait
        for the reports still due (their acknowledgements go out) and disconnect. A lost
        connection (the broker restarted) is made again, resuming the session: the broker then
        delivers again what was not acknowledged."""
        while not stop():
            if self.broker_refusal is not None:
                from logistream.errors import ConfigError

                self._disconnect()
                raise ConfigError(
                    f"the MQTT broker refused the gateway ({self.broker_refusal}): check the "
                    "gateway's user and password (LOGISTREAM_MQTT_URL, or the local stack's "
                    "secrets: `logistream stack up`)"
                )
            if self._reconnect_at is None:
                if not self._read_round():
                    log.warning("lost the MQTT broker; connecting again")
                    self._reconnect_at = time.monotonic()
            elif time.monotonic() >= self._reconnect_at:
                self._reconnect_at = self._try_reconnect()
            else:
                time.sleep(0.05)
            self.producer.poll(0)
            self._write()
            if self._redeliver:
                self._resume_session()
        self.producer.flush(10.0)
        self._disconnect()  # after the last acknowledgements

    def _read_round(self) -> bool:
        """Wait up to a moment for the broker, then take the messages that have arrived (each
        goes to ``on_message``) and keep the connection alive; False once it is lost."""
        from paho.mqtt.enums import MQTTErrorCode

        client = self.client
        sock = self._socket()
        if sock is None:
            return False
        if not sock.pending():
            wait = BUSY_WAIT_S if self._in_flight else IDLE_WAIT_S
            try:
                readable, _, _ = select.select([sock], [], [], wait)
            except (OSError, ValueError):
                return False
            if not readable:
                return client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS
        for _ in range(MAX_MESSAGES_PER_ROUND):
            # One packet per call; a packet cut at the end of the bytes read is finished by
            # the next call (paho keeps the part it has).
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return False
            if not sock.pending():
                break
        return client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS

    def _write(self) -> None:
        """Send what paho has queued (this round's acknowledgements) in one write. A failure
        shows in the next round's read."""
        client = self.client
        if client.want_write():
            client.loop_write()
        sock = self._socket()
        if sock is not None:
            sock.flush()

    def _socket(self) -> BufferedSocket | None:
        """The connection's socket (``mqtt_client`` makes it a BufferedSocket); None when
        there is no connection."""
        return cast("BufferedSocket | None", self.client.socket())

    def _disconnect(self) -> None:
        """Send what is queued, then DISCONNECT (paho closes the socket once it is written)."""
        self.client.disconnect()
        self._write()

    def _try_reconnect(self) -> float | None:
        """Connect again; None once connected, else when to try next."""
        try:
            self.client.reconnect()
        except OSError as error:
            log.debug("MQTT broker not back yet: %s", error)
            return time.monotonic() + RECONNECT_AFTER_FAILURE_S
        log.warning("connected to the MQTT broker again")
        return None

    def _resume_session(self) -> None:
        """After Kafka refused a record: leave and rejoin the session, so the broker delivers
        every unacknowledged message again (acknowledging later ones would not bring it back)."""
        self._redeliver = False
        self.producer.flush(30.0)
        self._disconnect()
        self._reconnect_at = time.monotonic() + RECONNECT_AFTER_FAILURE_S


def mqtt_client(instance: str, username: str, password: str) -> BulkClient:
    """A paho client with a persistent session named after ``instance`` and manual acks, whose
    writes wait for the gateway's ``_write`` (paho writes at once unless told that the caller
    watches the socket: ``on_socket_register_write``)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from logistream.ingest.mqtt_socket import BulkClient

    client = BulkClient(
        CallbackAPIVersion.VERSION2,
        client_id=f"logistream-gateway-{instance}",
        clean_session=False,
        protocol=mqtt.MQTTv311,
        manual_ack=True,
    )
    client.username_pw_set(username, password)
    client.on_socket_register_write = lambda _client, _userdata, _sock: None
    return client


def run(instance: str, share_group: str | None = None, metrics_port: int | None = None) -> None:
    """``logistream gateway mqtt``: connect, serve until SIGINT/SIGTERM, exit cleanly."""
    from logistream import shutdown
    from logistream.config import get_settings, resolve_endpoints
    from logistream.ingest.gc_tuning import quiet_collector
    from logistream.ingest.mqtt_connect import connect
    from logistream.ingest.mqtt_metrics import MqttGatewayMetrics
    from logistream.ingest.registered_fields import registered_fields
    from logistream.kafka import durable_producer
    from logistream.registry import load_registry
    from logistream.stack.mqtt_accounts import gateway_credentials

    settings = get_settings()
    endpoints = resolve_endpoints(settings)
    registry = load_registry(settings.registry_dir)
    devices = registry.devices
    credentials = gateway_credentials(settings)
    producer = durable_producer(settings, endpoints, config=PRODUCER_CONFIG)
    client = mqtt_client(instance, credentials.username, credentials.password)
    gateway = MqttGateway(
        client,
        producer,
        settings.topic_telemetry,
        devices,
        registered={d.truck_id: registered_fields(registry, d.truck_id) for d in devices.all},
        share_group=share_group,
    )
    if metrics_port is not None:
        MqttGatewayMetrics(gateway.counts.samples).serve(metrics_port)
    client.on_connect = gateway.on_connect
    client.on_subscribe = gateway.on_subscribe
    client.on_message = gateway.on_message
    connect(client, credentials.host, credentials.port)
    print(
        f"MQTT gateway {instance}: {credentials.host}:{credentials.port} -> "
        f"{settings.topic_telemetry} ({sum(d.kind == 'mqtt' for d in devices.all)} MQTT devices)",
        flush=True,
    )
    quiet_collector()  # the collector took a fifth of the gateway's time (gc_tuning)
    with shutdown.stop_on_signals() as stop:
        gateway.serve(stop.is_set)
    counts = gateway.counts
    print(
        f"MQTT gateway {instance} stopped: {counts.forwarded} forwarded, "
        f"{sum(counts.refused.values())} refused, {counts.kafka_failures} Kafka failures",
        flush=True,
    )
