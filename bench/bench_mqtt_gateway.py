"""Benchmark: readings/s from MQTT into Kafka through ONE `logistream gateway mqtt` process,
against a baseline measured in the same run on the same broker and the same topic.

- gateway: a real `logistream gateway mqtt` (paho-mqtt, QoS 1 shared subscription in a
  persistent session, each message acknowledged to the broker only in the Kafka delivery report
  of its record, the device registry consulted per message);
- baseline: `mosquitto_sub -q 1` (the broker's own C client, which acknowledges each message as it
  arrives) piped into a plain confluent-kafka producer with the same producer configuration
  (`python bench/bench_mqtt_gateway.py --pipe-to-kafka TOPIC`): what moving the same messages
  costs without the gateway's guarantees and checks.

Each run: the subscriber is started and subscribed, then several `mosquitto_pub -l -q 1`
processes (one per MQTT device of the registry, the broker's ACL lets a device publish only to
its own topic) send their share of the readings at once; the rate is readings / (time from the
publishers' start until Kafka has acknowledged the last record: the topic's end offsets). The
publishers' own time is printed too, to show whether they bound it. A private Mosquitto (the
stack's configuration, `logistream.stack.mosquitto_server`) runs in a temporary home; Kafka is
LOGISTREAM_TEST_KAFKA_BOOTSTRAP, else the local stack.

    python bench/bench_mqtt_gateway.py            # 3 runs of each, 60,000 readings a run
    python bench/bench_mqtt_gateway.py --smoke    # 1 run of each, 10,000 readings
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from logistream.config import Settings, child_env, resolve_endpoints
from logistream.ingest.mqtt_gateway import PRODUCER_CONFIG
from logistream.kafka import ensure_topics, make_producer
from logistream.registry import load_registry
from logistream.stack.mosquitto_server import MAX_INFLIGHT_MESSAGES, MosquittoServer
from logistream.stack.mqtt_accounts import (
    TELEMETRY_FILTER,
    device_password,
    gateway_credentials,
    mqtt_devices,
    telemetry_topic,
)
from logistream.stack.process import free_port

LOGISTREAM = str(Path(sys.executable).with_name("logistream"))
PUBLISHER_INFLIGHT = 200
"""mosquitto_pub's QoS 1 window (its default, 20, makes each publisher wait on PUBACKs)."""


def pipe_to_kafka(topic: str) -> None:
    """The baseline's producer: ``<topic> <payload>`` lines from mosquitto_sub -> Kafka, keyed by
    the device id in the topic, the same producer configuration as the gateway's."""
    settings = Settings()
    producer = make_producer(settings, **PRODUCER_CONFIG)
    failed = 0

    def report(error: object, _msg: object) -> None:
        nonlocal failed
        failed += error is not None

    for line in sys.stdin.buffer:
        mqtt_topic, _, payload = line.rstrip(b"\n").partition(b" ")
        key = mqtt_topic.split(b"/")[2] if mqtt_topic.count(b"/") >= 3 else mqtt_topic
        while True:
            try:
                producer.produce(topic, payload, key, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    if failed:
        print(f"{failed} records not acknowledged by Kafka", file=sys.stderr)


def _readings(devices: dict[str, str | None], total: int) -> dict[str, bytes]:
    """``mosquitto_pub -l`` input per device: its share of ``total`` readings, one per line,
    one second apart (distinct device timestamps: distinct event ids), with the probe id a
    device of several probes must send."""
    per = total // len(devices)
    start = int(time.time()) - per
    out = {}
    for device, probe in devices.items():
        extra = {"probe_id": probe} if probe else {}
        out[device] = b"".join(
            json.dumps({"temp": 4.0 + (i % 7) / 10, "timestamp": start + i, **extra}).encode()
            + b"\n"
            for i in range(per)
        )
    return out


class Run:
    """Shared parts of one measured run: the broker, the devices' inputs, Kafka's counts."""

    def __init__(
        self, settings: Settings, inputs: dict[Path, str], total: int, probe_device: str
    ) -> None:
        self.settings = settings
        self.inputs = inputs
        self.total = total
        self.probe_device = probe_device

    def wait_subscribed(self, alive: Callable[[], bool]) -> None:
        """Until a message published now reaches Kafka: the subscriber under test is subscribed
        (its start-up is not measured). Probe readings carry timestamps of now."""
        from confluent_kafka import Consumer, TopicPartition

        broker = gateway_credentials(self.settings)
        topic = self.settings.topic_telemetry
        consumer = Consumer(
            {"bootstrap.servers": self.settings.kafka_bootstrap, "group.id": f"b-{uuid.uuid4()}"}
        )
        try:
            parts = list(consumer.list_topics(topic, timeout=30).topics[topic].partitions)

            def on_kafka() -> int:
                return sum(
                    consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                    for p in parts
                )

            before = on_kafka()
            deadline = time.monotonic() + 120
            while on_kafka() == before:
                if time.monotonic() > deadline or not alive():
                    raise SystemExit("the subscriber under test never forwarded a probe reading")
                payload = json.dumps({"temp": 4.0, "timestamp": time.time()})
                subprocess.run(
                    [
                        *("mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", "1"),
                        *("-V", "mqttv311", "-u", self.probe_device),
                        *("-P", device_password(self.settings, self.probe_device)),
                        *("-t", telemetry_topic(self.probe_device), "-m", payload),
                    ],
                    check=True,
                    timeout=30,
                )
                time.sleep(0.5)
            time.sleep(1.0)  # a probe still on its way would count as a measured reading
        finally:
            consumer.close()

    def publish_and_measure(self, pids: list[int]) -> tuple[float, float, float]:
        """(readings/s into Kafka, publishers' own readings/s, CPU µs per reading spent by the
        processes ``pids``: the subscriber side under test)."""
        from confluent_kafka import Consumer, TopicPartition

        broker = gateway_credentials(self.settings)
        consumer = Consumer(
            {
                "bootstrap.servers": self.settings.kafka_bootstrap,
                "group.id": f"b-{uuid.uuid4().hex}",
            }
        )
        topic = self.settings.topic_telemetry
        parts = list(consumer.list_topics(topic, timeout=30).topics[topic].partitions)

        def on_kafka() -> int:
            return sum(
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in parts
            )

        before = on_kafka()
        cpu_before = _cpu_s(pids)
        began = time.perf_counter()
        publishers = []
        for path, device in self.inputs.items():
            with path.open("rb") as stdin:
                publishers.append(
                    subprocess.Popen(
                        [
                            *("mosquitto_pub", "-h", broker.host, "-p", str(broker.port)),
                            *("-q", "1", "-V", "mqttv311", "-M", str(PUBLISHER_INFLIGHT)),
                            *("-u", device, "-P", device_password(self.settings, device)),
                            *("-t", telemetry_topic(device), "-l"),
                        ],
                        stdin=stdin,
                        stderr=subprocess.PIPE,
                    )
                )
        published_at: float | None = None
        deadline = time.monotonic() + 600
        try:
            while time.monotonic() < deadline:
                if published_at is None and all(p.poll() is not None for p in publishers):
                    published_at = time.perf_counter()
                    for p in publishers:
                        assert p.returncode == 0, p.stderr.read() if p.stderr else p.returncode
                if on_kafka() - before >= self.total:
                    done = time.perf_counter()
                    cpu = _cpu_s(pids) - cpu_before
                    break
                time.sleep(0.02)
            else:
                raise SystemExit(f"only {on_kafka() - before} of {self.total} readings on Kafka")
        finally:
            consumer.close()
            for p in publishers:
                if p.poll() is None:
                    p.kill()
                p.wait(30)
        if published_at is None:
            for p in publishers:
                p.wait(60)
            published_at = time.perf_counter()
        return (
            self.total / (done - began),
            self.total / (published_at - began),
            cpu / self.total * 1e6,
        )


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def gateway_run(run: Run, workdir: Path) -> tuple[float, float, float]:
    instance = f"bench{uuid.uuid4().hex[:6]}"
    log = workdir / f"gateway-{instance}.log"
    env = child_env(run.settings)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [LOGISTREAM, "gateway", "mqtt", "--instance", instance, "--group", instance],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(
            lambda: (
                "MQTT gateway ready" in log.read_text(errors="replace") or proc.poll() is not None
            ),
            "the gateway's subscription",
        )
        if proc.poll() is not None:
            raise SystemExit(f"the gateway exited: {log.read_text()[-2000:]}")
        run.wait_subscribed(lambda: proc.poll() is None)
        return run.publish_and_measure([proc.pid])
    finally:
        proc.terminate()
        proc.wait(60)
        _forget_session(run.settings, f"logistream-gateway-{instance}")


def baseline_run(run: Run, workdir: Path) -> tuple[float, float, float]:
    broker = gateway_credentials(run.settings)
    client_id = f"bench-baseline-{uuid.uuid4().hex[:6]}"
    env = child_env(run.settings)
    with (workdir / f"{client_id}.log").open("wb") as err:
        pipe = subprocess.Popen(
            [sys.executable, __file__, "--pipe-to-kafka", run.settings.topic_telemetry],
            env=env,
            stdin=subprocess.PIPE,
            stderr=err,
        )
        sub = subprocess.Popen(
            [
                *("mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-q", "1"),
                *("-V", "mqttv311", "-i", client_id, "-u", broker.username),
                *("-P", broker.password, "-t", TELEMETRY_FILTER, "-F", "%t %p"),
            ],
            stdout=pipe.stdin,
            stderr=err,
        )
    assert pipe.stdin is not None
    pipe.stdin.close()  # mosquitto_sub holds the pipe
    try:
        run.wait_subscribed(lambda: sub.poll() is None and pipe.poll() is None)
        return run.publish_and_measure([sub.pid, pipe.pid])
    finally:
        sub.terminate()
        sub.wait(30)
        pipe.wait(60)


def _forget_session(settings: Settings, client_id: str) -> None:
    """End a persistent session (a clean-session login with its client id)."""
    broker = gateway_credentials(settings)
    subprocess.run(
        [
            *("mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-i", client_id),
            *("-u", broker.username, "-P", broker.password, "-t", "none/such", "-E"),
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="1 run of each, 10,000 readings")
    parser.add_argument("--readings", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--pipe-to-kafka", metavar="TOPIC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pipe_to_kafka:
        pipe_to_kafka(args.pipe_to_kafka)
        return
    total, runs = (10_000, 1) if args.smoke else (args.readings, args.runs)

    kafka = os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP") or resolve_endpoints().kafka_bootstrap
    devices = {d.device_id: d.probes[0].probe_id for d in mqtt_devices(load_registry().devices)}
    probe_device = next(d for d, probe in devices.items() if probe is None)
    total -= total % len(devices)
    print(
        f"readings={total} a run, runs={runs} of each, {len(devices)} publishers "
        f"(mosquitto_pub -l -q 1 -M {PUBLISHER_INFLIGHT}), Mosquitto max_inflight_messages="
        f"{MAX_INFLIGHT_MESSAGES}, {os.cpu_count()} cores shared by broker, gateway, Kafka, "
        "publishers"
    )
    with tempfile.TemporaryDirectory(prefix="ls-bench-mqtt-") as tmp:
        home = Path(tmp)
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(
            home=home,
            kafka_bootstrap=kafka,
            mqtt_url=None,
            mqtt_port=free_port(),
            topic_telemetry=f"bench_mqtt.{suffix}",
        )
        ensure_topics(settings, [settings.topic_telemetry], partitions=args.partitions)
        mosquitto = MosquittoServer(settings)
        mosquitto.up()
        try:
            inputs: dict[Path, str] = {}
            for device, text in _readings(devices, total).items():
                path = home / f"{device}.lines"
                path.write_bytes(text)
                inputs[path] = device
            run = Run(settings, inputs, total, probe_device)
            gateway: list[float] = []
            baseline: list[float] = []
            cpu: dict[str, list[float]] = {"gateway": [], "baseline": []}
            for n in range(1, runs + 1):
                # Alternate, so both see the same moments of a shared machine.
                for name, measure, rates in (
                    ("gateway", gateway_run, gateway),
                    ("baseline", baseline_run, baseline),
                ):
                    rate, published, us = measure(run, home)
                    print(
                        f"run {n}: {name:<8} {rate:>9,.0f} readings/s (publishers "
                        f"{published:,.0f}/s; {us:.0f} µs CPU a reading on the subscriber side)"
                    )
                    rates.append(rate)
                    cpu[name].append(us)
        finally:
            mosquitto.down()
            from confluent_kafka.admin import AdminClient

            AdminClient({"bootstrap.servers": kafka}).delete_topics(
                [settings.topic_telemetry], operation_timeout=30
            )
    g_med, b_med = statistics.median(gateway), statistics.median(baseline)
    g_cpu, b_cpu = statistics.median(cpu["gateway"]), statistics.median(cpu["baseline"])
    print(
        f"CPU a reading (median): gateway {g_cpu:.0f} µs (one core would do "
        f"{1e6 / g_cpu:,.0f}/s), baseline mosquitto_sub + producer {b_cpu:.0f} µs"
    )
    print(f"MQTT gateway, one process, MQTT -> Kafka (median): {g_med:,.0f} readings/s")
    print(f"baseline mosquitto_sub -> Kafka producer (median): {b_med:,.0f} readings/s")
    print(
        f"ratio gateway / baseline: {g_med / b_med:.2f} "
        "(goal >= 20,000 readings/s and >= 0.5 of the baseline)"
    )


if __name__ == "__main__":
    main()
