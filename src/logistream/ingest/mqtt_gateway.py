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

One thread does everything: paho's network loop and the producer's delivery reports are served
in turn, so an acknowledgement is sent from the thread that owns the MQTT connection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from logistream.ingest.log_once import LogOnce
from logistream.ingest.mqtt_payload import Forward, Refused, to_record

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from logistream.kafka import Producer
    from logistream.kafka.records import KafkaIssue, Record
    from logistream.registry.devices import Devices

log = logging.getLogger("logistream.gateway.mqtt")

TELEMETRY_TOPICS: Final = "logistream/devices/+/telemetry"
RECONNECT_AFTER_FAILURE_S: Final = 0.5


@dataclass
class GatewayCounts:
    """What the gateway did, by outcome (also exported as Prometheus counters when asked)."""

    forwarded: int = 0
    acknowledged: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    kafka_failures: int = 0


class MqttGateway:
    """The message handling of one gateway process, over a connected paho client and a producer.

    ``on_message`` is paho's callback; ``serve`` runs both loops until ``stop()`` says so.
    """

    def __init__(
        self,
        client: mqtt.Client,
        producer: Producer,
        topic: str,
        devices: Devices,
        *,
        registered: Mapping[str, Mapping[str, str]] | None = None,
        share_group: str | None = None,
        on_count: Callable[[str, str], None] | None = None,
    ) -> None:
        self.client = client
        self.producer = producer
        self.topic = topic
        self.devices = devices
        self.registered = registered or {}
        self.subscription = (
            f"$share/{share_group}/{TELEMETRY_TOPICS}" if share_group else TELEMETRY_TOPICS
        )
        self.counts = GatewayCounts()
        self.refusal_log = LogOnce()
        self._on_count = on_count or (lambda _outcome, _reason: None)
        self._redeliver = False
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
        record = to_record(message.topic, message.payload, self.devices, self.registered)
        if isinstance(record, Refused):
            self._refuse(record)
            self._ack(message)  # nothing to wait for: re-delivery would be refused again
            return
        self._forward(record, message)

    # ---- handling -----------------------------------------------------------------------------

    def _refuse(self, refused: Refused) -> None:
        self.counts.refused[refused.reason] = self.counts.refused.get(refused.reason, 0) + 1
        self._on_count("refused", refused.reason)
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
            if error is not None:
                # Not acknowledged: the broker delivers it again once the session resumes.
                self.counts.kafka_failures += 1
                self._on_count("kafka_failure", "")
                log.error("Kafka did not take a reading of %s: %s", record.device_id, error.str())
                self._redeliver = True
                return
            self._ack(message)

        self.producer.produce(self.topic, record.value, record.key, on_delivery=delivered)
        self.counts.forwarded += 1
        self._on_count("forwarded", "")

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
        from paho.mqtt.enums import MQTTErrorCode

        while not stop():
            if self.broker_refusal is not None:
                from logistream.errors import ConfigError

                self.client.disconnect()
                raise ConfigError(
                    f"the MQTT broker refused the gateway ({self.broker_refusal}): check the "
                    "gateway's user and password (LOGISTREAM_MQTT_URL, or the local stack's "
                    "secrets: `logistream stack up`)"
                )
            if self._reconnect_at is None:
                if self.client.loop(timeout=0.02) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    log.warning("lost the MQTT broker; connecting again")
                    self._reconnect_at = time.monotonic()
            elif time.monotonic() >= self._reconnect_at:
                self._reconnect_at = self._try_reconnect()
            else:
                time.sleep(0.05)
            self.producer.poll(0)
            if self._redeliver:
                self._resume_session()
        self.producer.flush(10.0)
        self.client.loop(timeout=0.1)  # send the last acknowledgements
        self.client.disconnect()

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
        self.client.disconnect()
        self._reconnect_at = time.monotonic() + RECONNECT_AFTER_FAILURE_S


def mqtt_client(instance: str, username: str, password: str) -> mqtt.Client:
    """A paho client with a persistent session named after ``instance`` and manual acks."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"logistream-gateway-{instance}",
        clean_session=False,
        protocol=mqtt.MQTTv311,
        manual_ack=True,
    )
    client.username_pw_set(username, password)
    return client


def run(instance: str, share_group: str | None = None, metrics_port: int | None = None) -> None:
    """``logistream gateway mqtt``: connect, serve until SIGINT/SIGTERM, exit cleanly."""
    from logistream import shutdown
    from logistream.config import get_settings, resolve_endpoints
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
    producer = durable_producer(settings, endpoints)
    client = mqtt_client(instance, credentials.username, credentials.password)
    metrics = MqttGatewayMetrics()
    if metrics_port is not None:
        metrics.serve(metrics_port)
    gateway = MqttGateway(
        client,
        producer,
        settings.topic_telemetry,
        devices,
        registered={d.truck_id: registered_fields(registry, d.truck_id) for d in devices.all},
        share_group=share_group,
        on_count=metrics.count,
    )
    client.on_connect = gateway.on_connect
    client.on_subscribe = gateway.on_subscribe
    client.on_message = gateway.on_message
    connect(client, credentials.host, credentials.port)
    print(
        f"MQTT gateway {instance}: {credentials.host}:{credentials.port} -> "
        f"{settings.topic_telemetry} ({sum(d.kind == 'mqtt' for d in devices.all)} MQTT devices)",
        flush=True,
    )
    with shutdown.stop_on_signals() as stop:
        gateway.serve(stop.is_set)
    counts = gateway.counts
    print(
        f"MQTT gateway {instance} stopped: {counts.forwarded} forwarded, "
        f"{sum(counts.refused.values())} refused, {counts.kafka_failures} Kafka failures",
        flush=True,
    )
