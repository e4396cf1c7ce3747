"""Prometheus metrics of ``logistream gateway mqtt`` (served with ``--metrics-port``)."""

from __future__ import annotations

from typing import Any


class MqttGatewayMetrics:
    """On a registry of their own, so two gateways in one test process never collide."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter

        self.registry = CollectorRegistry()
        self.messages = Counter(
            "logistream_mqtt_messages",
            "Device messages by outcome: forwarded to Kafka, refused (see reason), or not "
            "taken by Kafka (left unacknowledged: the broker delivers them again)",
            ["outcome", "reason"],
            registry=self.registry,
        )

    def count(self, outcome: str, reason: str) -> None:
        self.messages.labels(outcome, reason).inc()

    def serve(self, port: int) -> Any:
        from prometheus_client import start_http_server

        return start_http_server(port, registry=self.registry)
