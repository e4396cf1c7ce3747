"""`logistream stack up --brokers 3`: a KRaft cluster that keeps taking acks=all with a node down.

Kafka only (PostgreSQL and Redis are named as external, so this stack starts neither): three
JVMs are heavy enough on two cores.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import LOGISTREAM, wait_until

from logistream.config import Settings, child_env
from logistream.kafka import make_consumer, make_producer
from logistream.stack.manager import Stack
from logistream.stack.process import pid_alive
from logistream.stack.temporary import isolated_settings

TOPICS = {"truck_telemetry", "truck_alerts", "alert_commands", "truck_telemetry.dlq"}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGISTREAM, "stack", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def cluster_home(tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    settings = isolated_settings(
        tmp_path / "home",
        # Named as external: this stack runs Kafka only.
        database_url="postgresql://nobody@127.0.0.1:1/none",
        redis_url="redis://127.0.0.1:1/0",
        kafka_heap="384m",
        partitions=3,
    )
    env = child_env(settings)
    return settings, env


def _produce(producer: Any, topic: str, values: list[bytes]) -> list[str]:
    """Produce and flush; the delivery errors (none expected), each as its name and text."""
    errors: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            errors.append(f"{error.name()}: {error}")

    for value in values:
        producer.produce(topic, value, key=value[-1:], on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(90) == 0, "messages still in flight after 90 s"
    return errors


def _consume_all(
    settings: Settings, topic: str, count: int, group: str | None = None
) -> list[bytes]:
    consumer = make_consumer(settings, group or f"cluster-test-{uuid.uuid4().hex[:8]}")
    consumer.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + 90
    try:
        while len(got) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            got.append(message.value())
            consumer.store_offsets(message)
        # Committing creates __consumer_offsets, which the test checks is replicated too.
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return got


def _refusals(settings: Settings, topic: str, group: str | None = None) -> set[str]:
    """The authorization errors ``settings``' principal meets writing ``topic`` (no group) or
    reading it in ``group``; empty if it was allowed."""
    if group is None:
        producer = make_producer(settings, **{"message.timeout.ms": 20_000})
        return {e.split(":")[0] for e in _produce(producer, topic, [b"probe"])}
    consumer = make_consumer(settings, group)
    consumer.subscribe([topic])
    found: set[str] = set()
    deadline = time.monotonic() + 30
    try:
        while not found and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            error = message.error() if message is not None else None
            if error is not None and "AUTHORIZATION" in error.name():
                found.add(error.name())
    finally:
        consumer.close()
    return found


def test_three_brokers_survive_a_kill_minus_9_and_the_node_rejoins(
    cluster_home: tuple[Settings, dict[str, str]],
) -> None:
    settings, env = cluster_home
    started = time.monotonic()
    try:
        up = _run(env, "up", "--brokers", "3")
        assert up.returncode == 0, up.stderr
        print(f"cluster up in {time.monotonic() - started:.1f} s")
        lines = [line for line in up.stdout.splitlines() if line.startswith("kafka-")]
        assert [line.split()[:2] for line in lines] == [
            ["kafka-1", "running"],
            ["kafka-2", "running"],
            ["kafka-3", "running"],
        ], up.stdout
        assert json.loads((settings.home / "stack.json").read_text())["brokers"] == 3

        # The home remembers its count: a plain `up` starts nothing, another count is refused.
        stack = Stack(settings)
        cluster = stack.kafka
        pids = [node.pid() for node in cluster.nodes]
        again = _run(env, "up")
        assert again.returncode == 0, again.stderr
        assert [node.pid() for node in cluster.nodes] == pids
        wrong = _run(env, "up", "--brokers", "1")
        assert wrong.returncode != 0
        assert "set up with 3 Kafka broker(s)" in wrong.stderr

        client = cluster.client_settings()
        admin = cluster.admin()
        topics = admin.list_topics(timeout=10).topics
        assert set(topics) >= TOPICS
        for name in TOPICS:
            assert all(len(p.replicas) == 3 for p in topics[name].partitions.values()), name
        from confluent_kafka.admin import ConfigResource

        resources = [ConfigResource("topic", name) for name in sorted(TOPICS)]
        for resource, future in admin.describe_configs(resources).items():
            assert future.result(10)["min.insync.replicas"].value == "2", resource

        topic = "truck_telemetry"
        producer = make_producer(client)
        first = [f"before-{i:04d}".encode() for i in range(300)]
        assert _produce(producer, topic, first) == []

        victim = cluster.leader(topic, 0)
        assert victim in (1, 2, 3)
        victim_pid = cluster.node(victim).pid()
        assert victim_pid is not None
        cluster.node(victim).kill()
        assert not pid_alive(victim_pid)
        # A new leader is elected for the partitions the dead node led.
        wait_until(
            lambda: cluster.leader(topic, 0) not in (-1, victim),
            timeout=60,
            what="a new leader for partition 0",
        )

        second = [f"after-{i:04d}".encode() for i in range(300)]
        assert _produce(producer, topic, second) == [], "acks=all must go on with 2 of 3 in sync"
        consumed = _consume_all(client, topic, len(first) + len(second))
        assert sorted(consumed) == sorted(first + second)

        # The consumer group's offsets are internal, and replicated three times too.
        offsets = admin.list_topics(timeout=10).topics["__consumer_offsets"].partitions
        assert offsets
        assert all(len(p.replicas) == 3 for p in offsets.values())

        cluster.node(victim).start()
        cluster.wait_in_sync([topic, "__consumer_offsets"], timeout_s=120)
        assert all(
            victim in p.isrs
            for p in admin.list_topics(timeout=10).topics[topic].partitions.values()
        )
        third = [f"rejoined-{i:04d}".encode() for i in range(50)]
        assert _produce(producer, topic, third) == []
        producer.flush(10)

        status = _run(env, "status")
        assert status.returncode == 0, status.stdout
        assert status.stdout.count(" running ") >= 3
        pids = [node.pid() for node in cluster.nodes]
        assert all(pids)
    finally:
        down = _run(env, "down")
    assert down.returncode == 0, down.stderr
    assert not [pid for pid in pids if pid and pid_alive(pid)], "down must stop every node"
    assert _run(env, "status").returncode == 3
    print(f"cluster test took {time.monotonic() - started:.1f} s")


def test_secure_three_broker_cluster_keeps_its_acls_with_a_node_down(
    cluster_home: tuple[Settings, dict[str, str]],
) -> None:
    """``--secure --brokers 3``: SASL/SCRAM and ACLs on every node, so refusals hold whichever
    node leads, and a service's acks=all writes go on with one node killed."""
    from confluent_kafka import KafkaException

    from logistream.kafka import make_admin

    settings, env = cluster_home
    try:
        up = _run(env, "up", "--brokers", "3", "--secure")
        assert up.returncode == 0, up.stderr
        stack = Stack(settings)
        assert stack.secure
        cluster = stack.kafka
        topic, alerts = settings.topic_telemetry, settings.topic_alerts
        simulator = stack.service_settings("simulator")
        speed = stack.service_settings("speed")

        wrong = simulator.model_copy(update={"kafka_password": "not-the-password"})
        with pytest.raises(KafkaException):
            make_admin(wrong).list_topics(timeout=10)

        producer = make_producer(simulator)
        first = [f"secure-{i:04d}".encode() for i in range(200)]
        assert _produce(producer, topic, first) == []
        assert _refusals(simulator, alerts) == {"TOPIC_AUTHORIZATION_FAILED"}

        victim = cluster.leader(topic, 0)
        cluster.node(victim).kill()
        wait_until(
            lambda: cluster.leader(topic, 0) not in (-1, victim),
            timeout=60,
            what="a new leader for partition 0",
        )
        second = [f"secure-down-{i:04d}".encode() for i in range(200)]
        assert _produce(producer, topic, second) == [], "acks=all goes on with 2 of 3 in sync"
        # The ACLs live in the cluster's metadata, so the new leader refuses the same things.
        assert _refusals(simulator, alerts) == {"TOPIC_AUTHORIZATION_FAILED"}
        assert _refusals(speed, topic) == {"TOPIC_AUTHORIZATION_FAILED"}

        consumed = _consume_all(speed, topic, len(first) + len(second), settings.speed_group)
        assert sorted(consumed) == sorted(first + second)
        assert _refusals(simulator, topic, settings.speed_group) == {"GROUP_AUTHORIZATION_FAILED"}
    finally:
        down = _run(env, "down")
    assert down.returncode == 0, down.stderr
