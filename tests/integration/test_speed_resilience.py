"""The speed layer under crashes, several processes and acknowledgements (real Kafka, Redis)."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests.helpers import seeded_random, wait_until
from tests.integration.speed_support import (
    LOGISTREAM,
    TopicReader,
    delete_checkpoint_topic,
    produce,
    reading,
    speed_process,
)

from logistream import live_views
from logistream.config import Settings
from logistream.events import Alert
from logistream.kafka import ensure_topics
from logistream.schema.migrate import migrate

TRUCK = "KBX 123A"


@pytest.fixture
def client(settings: Settings) -> Iterator[redis.Redis]:
    assert settings.redis_url
    c = redis.Redis.from_url(settings.redis_url)
    yield c
    c.close()
    delete_checkpoint_topic(settings)


def _excursion(truck: str, base: float, *, step_s: float = 20.0) -> list[bytes]:
    """Vaccines at 9 °C for 20 minutes of event time (alerts at 10), then back to 5 °C."""
    out = [
        reading(truck, base + i * step_s, 9.0, cargo="vaccines", trip_id=f"{truck}-T1")
        for i in range(int(1200 / step_s))
    ]
    out += [
        reading(truck, base + 1200 + i * step_s, 5.0, cargo="vaccines", trip_id=f"{truck}-T1")
        for i in range(5)
    ]
    return out


def _processed(client: redis.Redis, truck: str, ts: float) -> bool:
    view = live_views.read_truck(client, truck)
    return view is not None and view.reading.timestamp >= ts


def test_kill_9_mid_excursion_and_restart_alerts_once(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    rng = seeded_random("speed kill -9")
    base = time.time() - 7200
    records = _excursion(TRUCK, base)
    kill_after = rng.uniform(0.5, 5.0)
    print(f"kill -9 after {kill_after:.2f} s of a {len(records) / 10:.1f} s stream")

    def paced() -> None:  # 10 readings per second of wall time, keyed by truck
        for raw in records:
            produce(settings, [(TRUCK, raw)])
            time.sleep(0.1)

    feeder = threading.Thread(target=paced)
    log = tmp_path / "speed.log"
    alerts_topic = TopicReader(settings, settings.topic_alerts)
    with speed_process(settings_env, "--checkpoint-s", "0.5", log=log) as first:
        wait_until(lambda: live_views.read_heartbeat(client), what="the first processor")
        feeder.start()
        time.sleep(kill_after)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    with speed_process(settings_env, "--checkpoint-s", "0.5", log=log):
        feeder.join()
        last_ts = base + 1200 + 4 * 20.0
        wait_until(lambda: _processed(client, TRUCK, last_ts), what="the whole stream")
        wait_until(
            lambda: [a.state for a in live_views.read_alerts(client)] == ["resolved"],
            what="the alert resolved",
        )
    changes = wait_until(
        lambda: (c := alerts_topic.alerts()) and {a.state for a in c} >= {"open", "resolved"} and c,
        what="open and resolved on truck_alerts",
    )
    alerts_topic.close()
    ids = {a.alert_id for a in changes if a.rule == "temp_high"}
    assert len(ids) == 1, f"alert ids {ids} (see {log})"
    assert {a.rule for a in changes} == {"temp_high"}
    assert {a.state for a in changes} == {"open", "resolved"}
    in_redis = live_views.read_alerts(client)
    assert [(a.alert_id, a.opened_at) for a in in_redis] == [(ids.pop(), base + 600)]
    # A change repeated after the crash carries the same id and state: consumers can drop it.
    assert len({(a.alert_id, a.state) for a in changes}) == 2


def _fleet_readings(base: float, trucks: list[str]) -> list[tuple[str, bytes]]:
    out = []
    for i, truck in enumerate(trucks):
        for raw in _excursion(truck, base + i, step_s=60.0):
            out.append((truck, raw))
        out.append((truck, reading(truck, base + 1800, 5.0, cargo="vaccines", door_open=True)))
    return out


def _collect(settings: Settings, client: redis.Redis, count: int) -> tuple[set, set]:  # type: ignore[type-arg]
    reader = TopicReader(settings, settings.topic_alerts)
    changes = wait_until(
        lambda: (c := reader.alerts()) and len({(a.alert_id, a.state) for a in c}) >= count and c,
        what=f"{count} alert changes",
    )
    reader.close()
    in_redis = {(a.alert_id, a.truck_id, a.rule, a.state) for a in live_views.read_alerts(client)}
    return {(a.alert_id, a.truck_id, a.rule, a.state) for a in changes}, in_redis


def test_two_processors_in_one_group_give_the_same_alerts_as_one(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    trucks = [f"KTEST {i:03d}X" for i in range(8)]
    base = time.time() - 7200
    records = _fleet_readings(base, trucks)
    produce(settings, records)
    expected_changes = 2 * len(trucks)  # each truck: temp_high open and resolved
    with speed_process(settings_env, log=tmp_path / "one.log"):
        one_topic, one_redis = _collect(settings, client, expected_changes)

    two = settings.model_copy(
        update={
            "speed_group": settings.speed_group + ".two",
            "topic_alerts": settings.topic_alerts + ".two",
        }
    )
    ensure_topics(two, [two.topic_alerts])
    client.flushdb()
    env = {
        **settings_env,
        "LOGISTREAM_SPEED_GROUP": two.speed_group,
        "LOGISTREAM_TOPIC_ALERTS": two.topic_alerts,
    }
    with (
        speed_process(env, "--instance", "a", log=tmp_path / "a.log"),
        speed_process(env, "--instance", "b", log=tmp_path / "b.log"),
    ):
        two_topic, two_redis = _collect(two, client, expected_changes)
        # Both write heartbeats; under load the second may join after the first did all the work.
        wait_until(
            lambda: {b.instance for b in live_views.read_heartbeats(client)} == {"a", "b"},
            what="heartbeats of both processors",
        )
    from confluent_kafka.admin import AdminClient

    assert settings.kafka_bootstrap
    AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics(
        [two.topic_alerts], operation_timeout=30
    )
    assert {(t, r, s) for _, t, r, s in one_topic} == {
        (t, "temp_high", s) for t in trucks for s in ("open", "resolved")
    }
    assert two_topic == one_topic
    assert two_redis == one_redis


def test_ack_from_the_cli_reaches_redis_and_truck_alerts_and_views_survive_a_flush(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    # Two readings past the hard limit: a critical is confirmed by the second.
    now = time.time()
    produce(
        settings,
        [(TRUCK, reading(TRUCK, now - ago, 13.5, cargo="vaccines")) for ago in (60, 30)],
    )
    alerts_topic = TopicReader(settings, settings.topic_alerts)
    log = tmp_path / "speed.log"
    with speed_process(settings_env, "--checkpoint-s", "0.5", log=log):
        opened: list[Alert] = wait_until(
            lambda: live_views.read_open_alerts(client), what="an open alert"
        )
        assert [a.rule for a in opened] == ["temp_critical"]
        alert_id = opened[0].alert_id
        assert settings.database_url
        migrate(settings, settings.database_url)  # an acknowledgement is on the audit trail
        out = subprocess.run(
            [LOGISTREAM, "alerts", "ack", alert_id, "--by", "Wanjiru", "--note", "driver told"],
            env=settings_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert f"alert {alert_id} acknowledged by Wanjiru" in out.stdout
        alert = live_views.read_alert(client, alert_id)
        assert alert is not None
        assert (alert.state, alert.acknowledged_by, alert.ack_note) == (
            "acknowledged",
            "Wanjiru",
            "driver told",
        )
        changes = wait_until(
            lambda: [a for a in alerts_topic.alerts() if a.state == "acknowledged"],
            what="the acknowledgement on truck_alerts",
        )
        assert [(a.alert_id, a.acknowledged_by) for a in changes] == [(alert_id, "Wanjiru")]
        active = subprocess.run(
            [LOGISTREAM, "alerts", "--active", "--json"],
            env=settings_env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert [json.loads(x)["state"] for x in active.stdout.splitlines()] == ["acknowledged"]

        # Redis comes back empty while the processor runs: it rewrites the views.
        client.flushdb()
        back = wait_until(lambda: live_views.read_open_alerts(client), what="views rewritten")
        assert [(a.alert_id, a.state) for a in back] == [(alert_id, "acknowledged")]
        wait_until(lambda: live_views.read_truck(client, TRUCK), what="the truck rewritten")
        time.sleep(1.5)  # let a checkpoint cover the acknowledgement

    # Restarted with Redis empty: the checkpoint restores the state and the views.
    client.flushdb()
    with speed_process(settings_env, log=log):
        back = wait_until(lambda: live_views.read_open_alerts(client), what="views restored")
        assert [(a.alert_id, a.state) for a in back] == [(alert_id, "acknowledged")]
        truck = live_views.read_truck(client, TRUCK)
        assert truck is not None
        assert truck.status == "critical"
    alerts_topic.close()


def _committed(settings: Settings) -> int:
    """How many telemetry readings the speed layer's group has committed, all partitions."""
    from logistream.kafka import TopicOffset, group_consumer

    reader = group_consumer(settings, settings.speed_group)
    try:
        topic = settings.topic_telemetry
        wanted = [TopicOffset(topic, p, 0) for p in reader.partitions(topic, 30)]
        return sum(max(0, p.offset) for p in reader.committed(wanted, 30))
    finally:
        reader.close()


def _published(settings: Settings, topic: str) -> int:
    """How many records ``topic`` holds, all partitions (nothing is deleted in a test)."""
    from logistream.kafka import group_consumer

    reader = group_consumer(settings, f"test-count.{time.time()}")
    try:
        return sum(
            reader.watermarks(topic, p, timeout_s=30)[1] for p in reader.partitions(topic, 30)
        )
    finally:
        reader.close()


def test_sigterm_while_redis_is_down_abandons_the_batch_and_a_restart_alerts_once(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    """SIGTERM while Redis refuses the batch: exit 0 promptly, nothing of it committed; once
    Redis is back, a restarted processor raises each alert exactly once."""
    from logistream.stack.process import free_port
    from logistream.stack.redis_server import RedisServer
    from logistream.stack.secrets import ensure_secrets

    # A Redis of this test's own, so that stopping it leaves the session's Redis alone.
    own = settings.model_copy(update={"home": tmp_path / "redis-home", "redis_port": free_port()})
    server = RedisServer(own)
    server.up()
    url = server.url(ensure_secrets(own)["redis_password"])
    views = redis.Redis.from_url(url)
    env = {**settings_env, "LOGISTREAM_REDIS_URL": url}
    log = tmp_path / "speed.log"
    trucks = [f"KDOWN {i:03d}X" for i in range(3)]
    now = time.time()
    try:
        with speed_process(env, "--checkpoint-s", "0.5", log=log) as proc:
            produce(settings, [(TRUCK, reading(TRUCK, now - 60, 5.0, cargo="vaccines"))])
            wait_until(lambda: live_views.read_truck(views, TRUCK), what="a first reading")
            wait_until(lambda: _committed(settings) == 1, what="the first reading committed")

            server.down()
            # Two readings past the hard limit per truck: the second confirms the critical.
            produce(
                settings,
                [
                    (t, reading(t, now - ago, 13.5, cargo="vaccines"))
                    for t in trucks
                    for ago in (40, 30)
                ],
            )
            wait_until(
                lambda: "Redis rejected the batch" in log.read_text(errors="replace"),
                what="the speed layer retrying Redis",
            )
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            took = time.monotonic() - started
            print(f"stopped {took:.1f} s after SIGTERM, exit {code}")
            assert code == 0, log.read_text(errors="replace")[-3000:]
        assert "stopped while Redis refused the batch" in log.read_text(errors="replace")
        assert _committed(settings) == 1, "the abandoned batch must not be committed"
        assert _published(settings, settings.topic_alerts) == 0

        server.up()
        alerts_topic = TopicReader(settings, settings.topic_alerts)
        with speed_process(env, "--checkpoint-s", "0.5", log=log):
            opened = wait_until(
                lambda: len(c := live_views.read_open_alerts(views)) == len(trucks) and c,
                what="an alert per truck in Redis",
            )
            changes = wait_until(
                lambda: len(c := alerts_topic.alerts()) >= len(trucks) and c,
                what="an alert per truck on truck_alerts",
            )
            wait_until(
                lambda: _committed(settings) == 1 + 2 * len(trucks), what="the batch committed"
            )
        alerts_topic.close()
        assert _published(settings, settings.topic_alerts) == len(trucks)
        assert sorted(a.truck_id for a in opened) == trucks
        assert sorted((a.truck_id, a.rule, a.state) for a in changes) == [
            (t, "temp_critical", "open") for t in trucks
        ]
        assert {a.alert_id for a in changes} == {a.alert_id for a in opened}
    finally:
        views.close()
        server.down()
