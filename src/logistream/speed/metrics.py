"""Prometheus metrics of one speed processor (served by ``--metrics-port``)."""

from __future__ import annotations

from typing import Any


class Metrics:
    """Counters, gauges and histograms on a registry of their own (several per test process)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.processed = Counter(
            "logistream_speed_readings_processed", "Readings applied to rule state", registry=r
        )
        self.skipped = Counter(
            "logistream_speed_readings_skipped",
            "Malformed readings skipped (the bridge records them in the DLQ)",
            ["reason"],
            registry=r,
        )
        self.late = Counter(
            "logistream_speed_readings_late",
            "Duplicate or out-of-order readings that changed nothing",
            registry=r,
        )
        self.backfilled = Counter(
            "logistream_speed_readings_backfilled",
            "Late readings of a gap in a truck's live readings, evaluated by the cargo-air rules",
            registry=r,
        )
        self.alerts = Counter(
            "logistream_speed_alert_changes", "Alert state changes", ["rule", "state"], registry=r
        )
        self.lag = Gauge(
            "logistream_speed_consumer_lag", "Records not yet consumed", ["partition"], registry=r
        )
        self.lag_seconds = Gauge(
            "logistream_speed_lag_seconds", "Age of the last record when behind", registry=r
        )
        buckets = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
        self.alert_latency = Histogram(
            "logistream_speed_alert_latency_seconds",
            "Kafka record timestamp of the reading -> its alert change visible in Redis",
            buckets=buckets,
            registry=r,
        )
        self.batch_latency = Histogram(
            "logistream_speed_batch_latency_seconds",
            "Oldest record of a batch: Kafka record timestamp -> views written",
            buckets=buckets,
            registry=r,
        )

    def serve(self, port: int) -> Any:
        from prometheus_client import start_http_server

        return start_http_server(port, registry=self.registry)
