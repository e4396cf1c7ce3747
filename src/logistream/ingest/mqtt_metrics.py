"""Prometheus metrics of ``logistream gateway mqtt`` (served with ``--metrics-port``).

The gateway counts its messages itself (``GatewayCounts``: plain integers, one thread); the
Prometheus counter is made from those counts when it is scraped, so a message costs the gateway
no metric call (a labelled counter's ``labels().inc()`` cost more than a third of the gateway's
own work on a message).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

Sample = tuple[str, str, int]
"""(outcome, reason, messages so far)."""

NAME = "logistream_mqtt_messages"
HELP = (
    "Device messages by outcome: forwarded to Kafka, refused (see reason), or not "
    "taken by Kafka (left unacknowledged: the broker delivers them again)"
)


class _Counts:
    """A Prometheus collector over the gateway's own counts."""

    def __init__(self, samples: Callable[[], Iterable[Sample]]) -> None:
        self._samples = samples

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(NAME, HELP, labels=["outcome", "reason"])
        for outcome, reason, value in self._samples():
            family.add_metric([outcome, reason], value)
        yield family


class MqttGatewayMetrics:
    """On a registry of their own, so two gateways in one test process never collide.
    ``samples`` gives the counts so far, read at each scrape (from the scraping thread)."""

    def __init__(self, samples: Callable[[], Iterable[Sample]]) -> None:
        from prometheus_client import CollectorRegistry

        self.registry = CollectorRegistry()
        self.registry.register(_Counts(samples))

    def serve(self, port: int) -> Any:
        from prometheus_client import start_http_server

        return start_http_server(port, registry=self.registry)
