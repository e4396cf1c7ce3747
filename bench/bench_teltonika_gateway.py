"""Benchmark: concurrent Teltonika devices on ONE `logistream gateway teltonika` process, and the
time from a packet sent to its reply received, against a bare TCP server in the same run.

- gateway: a real `logistream gateway teltonika` (Codec 8 framing, CRC, decode, IO mapping, one
  reading per record produced to Kafka, the reply sent only once Kafka acknowledged the packet's
  readings), with a registry of N Teltonika devices written to a temporary
  LOGISTREAM_REGISTRY_DIR (one truck each, one probe on Dallas IO 72);
- baseline: a bare asyncio TCP server (``--baseline-server PORT``, its own process like the
  gateway) that accepts any IMEI and answers each packet as soon as its length is read and its
  bytes are in: no CRC, no decode, no Kafka. What the same client and the same sockets cost;
- and, to show what Kafka's acknowledgement alone costs, the same bare server producing 10
  messages a packet to the same topic with the gateway's producer settings (``AckedProducer``:
  idempotent, acks=all, linger 2 ms) and replying once Kafka acknowledged them ("bare+kafka").

The client: N simulated trackers in this one asyncio process. Each opens a TCP connection, does
the IMEI handshake and then, every 30 s, sends one Codec 8 AVL packet of 10 records and waits for
the 4-byte reply; the send moments are spread evenly over the 30 s (a seeded random phase per
device, the seed printed), so the load is smooth: N / 30 packets a second. N is ramped up in steps
(500, 1,000, 2,000, 5,000, then 10,000 if 5,000 held); each step lasts long enough
for every device to send 2 or 3 packets. Per step and server: devices connected, packets sent,
replies, p50/p99/max reply latency, readings reaching Kafka (the topic's end offsets before and
after the step), devices that stayed connected (the gateway's own connection gauge is read too),
and the CPU the server and the client used. The client's event-loop lag is printed, to show
whether the client itself bounds the figure. Kafka is LOGISTREAM_TEST_KAFKA_BOOTSTRAP, else the
local stack.

    python bench/bench_teltonika_gateway.py           # steps up to 10,000 devices, ~20 minutes
    python bench/bench_teltonika_gateway.py --smoke   # 20 devices, one packet each, asserted
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from logistream.config import Settings, child_env, resolve_endpoints
from logistream.devices.codec8 import (
    CODEC_8,
    IMEI_ACCEPT,
    AvlPacket,
    AvlRecord,
    GpsElement,
    IoElement,
    reply,
)
from logistream.devices.codec8_encode import encode_imei, encode_packet
from logistream.kafka import ensure_topics
from logistream.stack.process import free_port

LOGISTREAM = str(Path(sys.executable).with_name("logistream"))
PERIOD_S = 30.0
RECORDS = 10
GOAL_DEVICES = 5_000
GOAL_P99_MS = 100.0
CONNECTS_AT_ONCE = 200
"""Handshakes in flight while a step connects its devices (the connecting is not measured)."""
GPS = GpsElement(36.8219, -1.2921, 1700, 135, 9, 57)


# --- the baseline server ---------------------------------------------------------------------


def baseline_server(port: int, with_kafka: bool) -> None:
    """The bare server; ``with_kafka``: each packet's reply waits for 10 messages acknowledged
    by Kafka (LOGISTREAM_* settings: the same topic and producer settings as the gateway)."""
    from logistream.config import get_settings
    from logistream.ingest.acked_producer import AckedProducer
    from logistream.kafka import durable_producer

    producer: AckedProducer | None = None
    if with_kafka:
        settings = get_settings()
        config = {"message.timeout.ms": 10_000, "linger.ms": 2}  # as the gateway's
        producer = AckedProducer(
            lambda on_error: durable_producer(settings, config=config, on_error=on_error),
            settings.topic_telemetry,
            10.0,
        )

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            size = int.from_bytes(await reader.readexactly(2), "big")
            key = (await reader.readexactly(size)).decode()
            writer.write(IMEI_ACCEPT)
            while True:
                header = await reader.readexactly(8)  # preamble, data field length
                body = await reader.readexactly(int.from_bytes(header[4:], "big") + 4)  # + CRC
                if producer is not None:
                    # About a reading's size; the same key for a device, as the gateway's truck.
                    value = body[: len(body) // body[1]]
                    if await producer.send([(key, value)] * body[1]) is not None:
                        return  # unanswered, as the gateway does
                writer.write(reply(body[1]))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", port, backlog=4096)
        print(f"baseline server listening on 127.0.0.1:{port}", flush=True)
        async with server:
            await server.serve_forever()

    _raise_fd_limit()
    asyncio.run(main())


# --- the simulated trackers ------------------------------------------------------------------


def _raise_fd_limit() -> int:
    """Soft open-file limit up to the hard one (each device is a socket); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def imei(n: int) -> str:
    return f"35{n:013d}"


def _packet(first_ms: int) -> bytes:
    """10 records, 3 s apart from ``first_ms``, a Dallas probe on IO 72 (0.1 °C)."""
    records = tuple(
        AvlRecord(
            first_ms + 3000 * r,
            0,
            GPS,
            0,
            (IoElement(72, (40 + r).to_bytes(4, "big", signed=True)),),
        )
        for r in range(RECORDS)
    )
    return encode_packet(AvlPacket(CODEC_8, records))


@dataclass
class Step:
    """What one step of one server measured, as the client saw it."""

    devices: int
    connected: int = 0
    packets: int = 0
    replies: int = 0
    wrong_replies: int = 0
    lost: int = 0
    """Devices whose connection failed or closed during the step."""
    latencies_s: list[float] = field(default_factory=list)
    loop_lag_s: list[float] = field(default_factory=list)
    seconds: float = 0.0
    on_kafka: int | None = None
    server_connections: int | None = None
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def held(self) -> bool:
        return (
            self.connected == self.devices
            and self.lost == 0
            and self.replies == self.packets > 0
            and self.wrong_replies == 0
            and self.ms(0.99) < GOAL_P99_MS
        )


class Tracker:
    """One simulated device: its connection and its packet schedule."""

    def __init__(self, number: int, phase_s: float) -> None:
        self.imei = imei(number)
        self.phase_s = phase_s
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.sent = 0

    async def connect(self, port: int) -> bool:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            self.reader, self.writer = reader, writer
            writer.write(encode_imei(self.imei))
            answer: bytes = await asyncio.wait_for(reader.readexactly(1), 30)
            if answer == IMEI_ACCEPT:
                return True
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        self.close()
        return False

    async def run(self, step: Step, start: float, end: float, base_ms: int) -> None:
        """Send a packet at start + phase + k x 30 s until ``end``; time each reply."""
        assert self.reader is not None
        assert self.writer is not None
        loop = asyncio.get_running_loop()
        due = start + self.phase_s
        try:
            while due < end:
                await asyncio.sleep(max(0.0, due - loop.time()))
                # Record times an hour back (never "from the future"), distinct per packet.
                packet = _packet(base_ms + self.sent * RECORDS * 3000)
                self.sent += 1
                step.packets += 1
                began = time.perf_counter()
                self.writer.write(packet)
                answer = await asyncio.wait_for(self.reader.readexactly(4), 60)
                step.latencies_s.append(time.perf_counter() - began)
                step.replies += 1
                step.wrong_replies += int.from_bytes(answer, "big") != RECORDS
                due += PERIOD_S
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            step.lost += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late a 50 ms sleep wakes: the client's own event-loop delay."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        began = loop.time()
        await asyncio.sleep(0.05)
        samples.append(loop.time() - began - 0.05)


async def measure(
    port: int,
    devices: int,
    hold_s: float,
    rng: random.Random,
    count: Callable[[], int | None],
    connections: Callable[[], int | None],
) -> Step:
    """Connect ``devices`` trackers, let each send its packets for ``hold_s`` (the first at a
    random moment of its first 30 s, or of the hold if shorter), close them. ``count``: readings
    on Kafka; ``connections``: the server's own count of open connections."""
    step = Step(devices)
    spread = min(PERIOD_S, hold_s)
    trackers = [Tracker(n, rng.uniform(0, spread)) for n in range(devices)]
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def connect(tracker: Tracker) -> bool:
        async with gate:
            return await tracker.connect(port)

    try:
        step.connected = sum(await asyncio.gather(*(connect(t) for t in trackers)))
        before = count()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        lag = asyncio.create_task(_loop_lag(step.loop_lag_s, stop))
        cpu_before = _self_cpu_s()
        start = loop.time() + 1.0
        base_ms = (int(time.time()) - 3600) * 1000
        live = [t for t in trackers if t.writer is not None]
        await asyncio.gather(*(t.run(step, start, start + hold_s, base_ms) for t in live))
        step.seconds = loop.time() - start
        step.client_cpu_s = _self_cpu_s() - cpu_before
        stop.set()
        await lag
        # A connection the server closed shows as end-of-file once the loop has read it.
        await asyncio.sleep(0.2)
        step.lost += sum(1 for t in live if t.reader is not None and t.reader.at_eof())
        step.server_connections = connections()
        after = count()
        step.on_kafka = None if before is None or after is None else after - before
    finally:
        for tracker in trackers:
            tracker.close()
        await asyncio.sleep(0.5)  # let the closes go out before the next step connects
    return step


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the servers under test ------------------------------------------------------------------


def write_registry(folder: Path, devices: int) -> None:
    """fleet.toml with ``devices`` trucks and devices.toml with one Teltonika tracker each."""
    folder.mkdir(parents=True, exist_ok=True)
    fleet, trackers = [], []
    for n in range(devices):
        truck = f"TB {n:05d}"
        fleet.append(
            f'[[truck]]\nid = "{truck}"\ndriver = "DRV-B{n:05d}"\n'
            'route = "nairobi_kisumu"\ncargo = "frozen"\n'
        )
        trackers.append(
            f'[[device]]\nid = "{imei(n)}"\nkind = "teltonika"\nmodel = "FMB140"\n'
            f'truck = "{truck}"\n'
        )
    (folder / "fleet.toml").write_text("\n".join(fleet))
    (folder / "devices.toml").write_text("\n".join(trackers))


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


class Server:
    """A server process under test: the gateway or the baseline."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        _wait_for(
            lambda: "listening" in log.read_text(errors="replace") or self.proc.poll() is not None,
            f"the {name} to listen",
        )
        if self.proc.poll() is not None:
            raise SystemExit(f"the {name} exited: {log.read_text()[-2000:]}")

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(120)


def _gauge(metrics_port: int, name: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return int(float(found.group(1))) if found else -1


class KafkaCount:
    """Readings on the topic: the sum of its partitions' end offsets."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Consumer

        self.topic = settings.topic_telemetry
        self.consumer = Consumer(
            {"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"b-{uuid.uuid4().hex}"}
        )
        meta = self.consumer.list_topics(self.topic, timeout=30)
        self.parts = list(meta.topics[self.topic].partitions)

    def __call__(self) -> int:
        from confluent_kafka import TopicPartition

        return sum(
            self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=30)[1]
            for p in self.parts
        )

    def close(self) -> None:
        self.consumer.close()


# --- the run ---------------------------------------------------------------------------------


HEADER = (
    f"{'server':<11}{'devices':>8}{'connected':>10}{'packets':>8}{'replies':>8}"
    f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'readings/s':>11}{'on Kafka':>9}"
    f"{'stayed':>7}{'srv conns':>10}{'srv CPU':>8}{'cli CPU':>8}{'cli lag p99':>12}"
)


def row(name: str, s: Step) -> str:
    rate = f"{s.on_kafka / s.seconds:,.0f}" if s.on_kafka is not None and s.seconds else "-"
    kafka = "-" if s.on_kafka is None else f"{s.on_kafka:,}"
    conns = "-" if s.server_connections is None else f"{s.server_connections:,}"
    lag = 1000 * sorted(s.loop_lag_s)[int(0.99 * len(s.loop_lag_s))] if s.loop_lag_s else 0.0
    stayed = "yes" if s.lost == 0 and s.connected == s.devices else "NO"
    busy = max(s.seconds, 1e-9)
    return (
        f"{name:<11}{s.devices:>8,}{s.connected:>10,}{s.packets:>8,}{s.replies:>8,}"
        f"{s.ms(0.5):>8.1f}{s.ms(0.99):>8.1f}{s.ms(1.0):>8.1f}{rate:>11}{kafka:>9}"
        f"{stayed:>7}{conns:>10}{s.server_cpu_s / busy:>8.0%}{s.client_cpu_s / busy:>8.0%}"
        f"{lag:>12.1f}"
    )


def ratio(g: Step, b: Step) -> str:
    return f"x{g.ms(0.99) / max(b.ms(0.99), 1e-3):.1f}"


@dataclass
class Bench:
    """The servers under test, Kafka's count, and the steps measured so far."""

    gateway: Server
    baseline: Server
    bare_kafka: Server
    ports: dict[str, int]
    metrics_port: int
    count: KafkaCount
    seed: int
    hold_s: float
    results: list[tuple[Step, Step]] = field(default_factory=list)
    kafka_only: list[Step] = field(default_factory=list)

    def step(self, number: int, devices: int) -> tuple[Step, Step]:
        """Each server, one after the other (the same moments of a shared machine), with the
        same phases (the same seed)."""
        got: dict[str, Step] = {}
        for server in (self.gateway, self.bare_kafka, self.baseline):
            gw = server is self.gateway

            def on_kafka(counted: bool = server is not self.baseline) -> int | None:
                return self.count() if counted else None

            def connections(gw: bool = gw) -> int | None:
                return _gauge(self.metrics_port, "logistream_teltonika_connections") if gw else None

            cpu = _cpu_s(server.proc.pid)
            rng = random.Random(self.seed + number)
            port = self.ports[server.name]
            step = asyncio.run(measure(port, devices, self.hold_s, rng, on_kafka, connections))
            step.server_cpu_s = _cpu_s(server.proc.pid) - cpu
            print(row(server.name, step), flush=True)
            if server.proc.poll() is not None:
                raise SystemExit(f"the {server.name} died: {server.log.read_text()[-2000:]}")
            got[server.name] = step
        self.results.append((got["gateway"], got["baseline"]))
        self.kafka_only.append(got["bare+kafka"])
        return got["gateway"], got["baseline"]


def summary(
    results: list[tuple[Step, Step]], kafka_only: list[Step], steps: list[int], smoke: bool
) -> None:
    per_step = ", ".join(
        f"{g.devices:,}: {g.ms(0.99):.1f} / {b.ms(0.99):.1f} ms = {ratio(g, b)}" for g, b in results
    )
    print(f"gateway / baseline p99, per step: {per_step}")
    kafka = ", ".join(f"{k.devices:,}: {k.ms(0.99):.1f} ms" for k in kafka_only)
    print(
        f"bare+kafka p99 (the bare server waiting for Kafka's acknowledgement), per step: {kafka}"
    )
    held = [(g, b) for g, b in results if g.held]
    if not held:
        print(f"Teltonika gateway, one process: no step held (p99 < {GOAL_P99_MS:.0f} ms)")
        return
    best, base = max(held, key=lambda pair: pair[0].devices)
    rate = (best.on_kafka or 0) / best.seconds
    print(
        f"Teltonika gateway, one process: {best.devices:,} devices connected, p99 "
        f"{best.ms(0.99):.1f} ms (packet sent -> reply), {rate:,.0f} readings/s on Kafka"
    )
    print(f"baseline bare asyncio server, same devices: p99 {base.ms(0.99):.1f} ms")
    print(
        f"ratio gateway / baseline p99: {ratio(best, base)} "
        f"(goal >= {GOAL_DEVICES:,} devices, p99 < {GOAL_P99_MS:.0f} ms)"
    )
    if not smoke and len(held) == len(results) == len(steps):
        print(f"every step held, up to {steps[-1]:,} devices: the limit is above it")


def check_smoke(results: list[tuple[Step, Step]], code: int, log: str) -> None:
    """Every device connected and answered, every reading on Kafka, a clean stop."""
    g, b = results[0]
    assert code == 0, log[-2000:]
    assert "stopped cleanly" in log, log[-2000:]
    assert g.connected == g.devices == g.packets == g.replies, g
    assert g.wrong_replies == 0, g
    assert g.lost == 0, g
    assert g.on_kafka == g.replies * RECORDS, (
        f"{g.on_kafka} readings on Kafka, not {g.replies * 10}"
    )
    assert b.replies == b.packets == b.devices, b
    print(f"smoke: {g.replies} packets answered, {g.on_kafka} readings on Kafka: all of them")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="20 devices, one packet each")
    parser.add_argument("--steps", default="500,1000,2000,5000,10000", help="devices per step")
    parser.add_argument("--hold", type=float, default=70.0, help="seconds a step sends for")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--baseline-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--with-kafka", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        baseline_server(args.baseline_server, args.with_kafka)
        return
    steps = [20] if args.smoke else [int(n) for n in args.steps.split(",")]
    # Smoke: each device's first packet falls inside a 5 s hold, its second (30 s on) outside.
    hold_s = 5.0 if args.smoke else args.hold
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    fds = _raise_fd_limit()
    print(
        f"seed={seed}; steps {', '.join(f'{n:,}' for n in steps)} devices, each sending one "
        f"Codec 8 packet of {RECORDS} records every {PERIOD_S:.0f} s (random phase), "
        f"{hold_s:.0f} s a step; one asyncio client process (open-file limit {fds:,}); "
        f"{os.cpu_count()} cores shared by client, server and Kafka"
    )
    kafka = os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP") or resolve_endpoints().kafka_bootstrap
    with tempfile.TemporaryDirectory(prefix="ls-bench-teltonika-") as tmp:
        home = Path(tmp)
        write_registry(home / "registry", max(steps))
        settings = Settings(
            home=home,
            kafka_bootstrap=kafka,
            registry_dir=home / "registry",
            topic_telemetry=f"bench_teltonika.{uuid.uuid4().hex[:8]}",
        )
        ensure_topics(settings, [settings.topic_telemetry], partitions=args.partitions)
        ports = {name: free_port() for name in ("gateway", "baseline", "bare+kafka")}
        metrics_port = free_port()
        gw_argv = [LOGISTREAM, "gateway", "teltonika", "--host", "127.0.0.1", "--port",
                   str(ports["gateway"]), "--metrics-port", str(metrics_port)]  # fmt: skip
        base_argv = [sys.executable, __file__, "--baseline-server", str(ports["baseline"])]
        kafka_argv = [sys.executable, __file__, "--baseline-server", str(ports["bare+kafka"]),
                      "--with-kafka"]  # fmt: skip
        env = child_env(settings)
        bench = Bench(
            Server("gateway", gw_argv, env, home / "gateway.log"),
            Server("baseline", base_argv, env, home / "baseline.log"),
            Server("bare+kafka", kafka_argv, env, home / "bare-kafka.log"),
            ports,
            metrics_port,
            KafkaCount(settings),
            seed,
            hold_s,
        )
        print(HEADER, flush=True)
        try:
            for number, devices in enumerate(steps):
                gateway, _ = bench.step(number, devices)
                if not gateway.held and devices >= GOAL_DEVICES:
                    break  # beyond the goal, more devices only while a step holds
        finally:
            code = bench.gateway.stop()
            bench.baseline.stop()
            bench.bare_kafka.stop()
            bench.count.close()
            from confluent_kafka.admin import AdminClient

            AdminClient({"bootstrap.servers": kafka}).delete_topics(
                [settings.topic_telemetry], operation_timeout=30
            )
        log = (home / "gateway.log").read_text(errors="replace")
    summary(bench.results, bench.kafka_only, steps, args.smoke)
    if args.smoke:
        check_smoke(bench.results, code, log)


if __name__ == "__main__":
    main()
