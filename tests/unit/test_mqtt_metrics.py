"""The MQTT gateway's Prometheus counter is read from the gateway's own counts at each scrape:
what it shows is what the gateway counted, by outcome and reason, and nothing before that."""

from __future__ import annotations

from prometheus_client import generate_latest

from logistream.ingest.mqtt_gateway import GatewayCounts
from logistream.ingest.mqtt_metrics import MqttGatewayMetrics


def test_a_scrape_shows_the_counts_so_far() -> None:
    counts = GatewayCounts()
    metrics = MqttGatewayMetrics(counts.samples)
    assert "logistream_mqtt_messages_total{" not in generate_latest(metrics.registry).decode()
    counts.forwarded = 3
    counts.refused["wrong_truck"] = 1
    counts.refused["unknown_probe"] = 2
    counts.kafka_failures = 4
    text = generate_latest(metrics.registry).decode()
    assert 'logistream_mqtt_messages_total{outcome="forwarded",reason=""} 3.0' in text
    assert 'logistream_mqtt_messages_total{outcome="refused",reason="wrong_truck"} 1.0' in text
    assert 'logistream_mqtt_messages_total{outcome="refused",reason="unknown_probe"} 2.0' in text
    assert 'logistream_mqtt_messages_total{outcome="kafka_failure",reason=""} 4.0' in text
    assert "# TYPE logistream_mqtt_messages_total counter" in text
    counts.forwarded = 5
    later = generate_latest(metrics.registry).decode()
    assert 'logistream_mqtt_messages_total{outcome="forwarded",reason=""} 5.0' in later
