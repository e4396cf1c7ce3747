"""``logistream gateway teltonika``: an asyncio TCP server for Teltonika trackers (Codec 8 / 8E).

Each connection is framed by ``devices.teltonika_stream`` and answered as Teltonika's protocol
says, so the device itself is the retry mechanism:

- **Handshake**: 0x01 only for the IMEI of a ``teltonika`` device of the registry; any other gets
  0x00, is counted (``logistream_teltonika_handshakes{result="refused"}``) and the connection is
  closed.
- **AVL packet**: its records become readings (``ingest.teltonika_readings``: truck key, probe ids,
  deterministic event ids, raw temperatures with the calibration offset beside them, never
  applied) produced to ``truck_telemetry``. The reply, the number of records, is sent only after
  Kafka acknowledged every reading of the packet. When Kafka refuses or does not acknowledge in
  time, there is no reply and the connection is closed: the device sends the packet again, and
  the same event ids make the archive keep each reading once.
- **Bad input** (a CRC failure, an unknown codec, inconsistent counts inside a well-framed
  packet): the reply is 0 records, so the device sends the packet again, and the connection goes
  on. A stream that cannot be framed any more (a bad handshake, preamble or length), or one cut
  off in the middle of a packet (truncated), is closed. Each is counted by reason code
  (``logistream_teltonika_bad_input{reason}``, the codes of ``devices.codec8.REASONS``) and logged
  once per device and reason per minute (``ingest.log_once``). One connection's trouble never
  touches another's or stops the server.
- **A reading that breaks the contract** (e.g. a GPS speed above 250 km/h, a clock from the
  future) is forwarded unchanged, not repaired: the bridge, the one writer of the DLQ, files it
  there with its reason code and the bytes as produced, and the speed layer skips it, as for any
  producer. The gateway runs the contract's validation only to count and log it
  (``logistream_teltonika_contract_violations{reason}``). Dropping a field instead would hide a
  faulty device behind readings that look fine.
- **Calibration** is never applied: ``temp`` is the probe's raw value and ``calibration_offset_c``
  (true = raw + offset) and ``calibration_certificate`` travel beside it; the archive keeps both
  as extras, so an audit can recompute either value.

A clean stop (SIGINT/SIGTERM) closes the listening socket, lets each connection finish the packet
in hand (acknowledged and answered, or abandoned unanswered), closes the connections, flushes the
producer and exits 0. A **fatal Kafka producer error** (``ingest.acked_producer``) stops it the
same way, except that no packet in hand is answered: it then ends with one line saying why and
exit 2 (``KafkaClientFailed``), so the service manager starts a new process with a new producer,
instead of a gateway that accepts devices and never answers them.

Each device holds a socket: at start the soft open-file limit is raised to the hard one (service
managers often start processes with 1,024), and one error line says so when even that is too
few for the registry's Teltonika devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from logistream import shutdown
from logistream.devices.codec8 import IMEI_ACCEPT, IMEI_REFUSE, REASON_TRUNCATED, reply
from logistream.devices.teltonika_stream import (
    BadPacket,
    Broken,
    Handshake,
    Packet,
    Ping,
    TeltonikaStream,
)
from logistream.errors import InvalidReading, KafkaClientFailed
from logistream.events import decode_reading
from logistream.ingest.acked_producer import AckedProducer
from logistream.ingest.gc_tuning import quiet_collector
from logistream.ingest.log_once import LogOnce
from logistream.ingest.teltonika_readings import DevicePlan, Message, messages

log = logging.getLogger("logistream.gateway.teltonika")

DEFAULT_PORT: Final = 5027
"""Teltonika's usual server port."""
READ_BYTES: Final = 65_536
REASON_KAFKA: Final = "kafka_unavailable"
BACKLOG: Final = 4096
SPARE_FILES: Final = 64
"""Open files the process needs beside its device connections (Kafka, metrics, Python)."""


@dataclass(frozen=True, slots=True)
class GatewayOptions:
    host: str = "0.0.0.0"  # noqa: S104 - trackers connect from the mobile network
    port: int = DEFAULT_PORT
    kafka_timeout_s: float = 10.0
    idle_timeout_s: float = 600.0
    """A connection silent this long is closed (a device reconnects when it has data)."""
    metrics_port: int | None = None


class GatewayMetrics:
    """Prometheus metrics on a registry of their own (served by ``--metrics-port``)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge(
            "logistream_teltonika_connections", "Open device connections", registry=r
        )
        self.handshakes = Counter(
            "logistream_teltonika_handshakes",
            "IMEI handshakes, accepted (registered teltonika device) or refused",
            ["result"],
            registry=r,
        )
        self.bad_input = Counter(
            "logistream_teltonika_bad_input",
            "Packets or streams refused, by reason code (the device sends again)",
            ["reason"],
            registry=r,
        )
        self.packets = Counter(
            "logistream_teltonika_packets_acknowledged",
            "AVL packets answered after Kafka acknowledged their readings",
            registry=r,
        )
        self.records = Counter(
            "logistream_teltonika_records_acknowledged", "AVL records answered", registry=r
        )
        self.readings = Counter(
            "logistream_teltonika_readings_produced",
            "Readings acknowledged by Kafka",
            registry=r,
        )
        self.violations = Counter(
            "logistream_teltonika_contract_violations",
            "Readings forwarded that break the contract (the bridge files them in the DLQ)",
            ["reason"],
            registry=r,
        )
        self.kafka_failures = Counter(
            "logistream_teltonika_kafka_failures",
            "Packets left unanswered because Kafka refused or did not acknowledge in time",
            registry=r,
        )
        self.ack_latency = Histogram(
            "logistream_teltonika_packet_seconds",
            "A whole packet received -> its reply sent (Kafka acknowledgement included)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )

    def serve(self, port: int) -> Any:
        from prometheus_client import start_http_server

        return start_http_server(port, registry=self.registry)


class TeltonikaGateway:
    """The connections' logic: framing, handshake, Kafka, replies. One instance per server."""

    def __init__(
        self,
        plans: Mapping[str, DevicePlan],
        producer: AckedProducer,
        metrics: GatewayMetrics,
        *,
        idle_timeout_s: float = 600.0,
    ) -> None:
        self.plans = plans
        self.producer = producer
        self.metrics = metrics
        self.idle_timeout_s = idle_timeout_s
        self.quiet = LogOnce()
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def _log(self, device: str, reason: str, text: str, *args: object) -> None:
        held = self.quiet.check((device, reason), time.monotonic())
        if held is None:
            return
        more = f" ({held} more since the last line)" if held else ""
        log.warning(text + more, *args)

    def _bad(self, device: str, reason: str, detail: str) -> None:
        self.metrics.bad_input.labels(reason).inc()
        self._log(device, reason, "device %s: %s: %s", device, reason, detail)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, from the handshake until either side closes it."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.metrics.connections.inc()
        peer = writer.get_extra_info("peername")
        # Before its handshake a device is its address (its port changes at each reconnect).
        device = str(peer[0]) if isinstance(peer, tuple) else "unknown peer"
        try:
            await self._converse(reader, writer, device)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            log.debug("device %s: connection lost (%s)", device, error)
        except Exception:
            # A fault of ours with one device's data: that connection closes unanswered (the
            # device sends again), the others and the server go on.
            if self.quiet.check((device, "internal_error"), time.monotonic()) is not None:
                log.exception("device %s: connection closed on an unexpected error", device)
        finally:
            self.metrics.connections.dec()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _read(self, reader: asyncio.StreamReader) -> bytes | None:
        """The next bytes; None when the gateway stops or the connection idles too long."""
        read = asyncio.ensure_future(reader.read(READ_BYTES))
        stop = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait(
            {read, stop}, timeout=self.idle_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        stop.cancel()
        if read in done:
            return read.result()
        read.cancel()
        return None

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, device: str
    ) -> None:
        stream = TeltonikaStream()
        plan: DevicePlan | None = None
        while not self.stopping.is_set():
            data = await self._read(reader)
            if data is None:
                return
            if not data:
                if stream.pending:
                    self._bad(
                        device,
                        REASON_TRUNCATED,
                        f"the connection closed {stream.pending} bytes into a message; "
                        "nothing of it was accepted, the device sends it again",
                    )
                return
            received = time.monotonic()
            for event in stream.feed(data):
                if isinstance(event, Handshake):
                    plan = self.plans.get(event.imei)
                    if plan is None:
                        self.metrics.handshakes.labels("refused").inc()
                        self._log(
                            event.imei,
                            "refused_imei",
                            "device %s (%s): IMEI not registered as a teltonika device, "
                            "refused; add it to devices.toml if it is one of the fleet's",
                            event.imei,
                            device,
                        )
                        writer.write(IMEI_REFUSE)
                        await writer.drain()
                        return
                    device = event.imei
                    self.metrics.handshakes.labels("accepted").inc()
                    log.debug("device %s (truck %s) connected", device, plan.truck_id)
                    writer.write(IMEI_ACCEPT)
                    await writer.drain()
                elif isinstance(event, Packet):
                    assert plan is not None  # the framer gives packets only after a handshake
                    if not await self._packet(plan, event, writer, received):
                        return
                elif isinstance(event, BadPacket):
                    self._bad(device, event.error.reason, str(event.error))
                    writer.write(reply(0))
                    await writer.drain()
                elif isinstance(event, Broken):
                    self._bad(device, event.error.reason, f"{event.error}; connection closed")
                    return
                elif isinstance(event, Ping):
                    continue

    async def _packet(
        self, plan: DevicePlan, event: Packet, writer: asyncio.StreamWriter, received: float
    ) -> bool:
        """Produce the packet's readings and answer once Kafka has them; False: close."""
        out = messages(plan, event.packet)
        self._count_violations(plan, out)
        error = await self.producer.send([(m.key, m.value) for m in out])
        if error is not None:
            self.metrics.kafka_failures.inc()
            if self.producer.fatal_error is not None:
                return False  # the gateway stops and says why once, not once per device
            self._log(
                plan.imei,
                REASON_KAFKA,
                "device %s: packet of %d records not answered (%s); connection closed, the "
                "device sends it again",
                plan.imei,
                len(event.packet.records),
                error,
            )
            return False
        writer.write(reply(len(event.packet.records)))
        await writer.drain()
        self.metrics.packets.inc()
        self.metrics.records.inc(len(event.packet.records))
        self.metrics.readings.inc(len(out))
        self.metrics.ack_latency.observe(time.monotonic() - received)
        return True

    def _count_violations(self, plan: DevicePlan, out: list[Message]) -> None:
        now_ms = int(time.time() * 1000)
        for message in out:
            try:
                decode_reading(message.value, record_ts_ms=now_ms)
            except InvalidReading as error:
                self.metrics.violations.labels(error.code).inc()
                self._log(
                    plan.imei,
                    f"contract:{error.code}",
                    "device %s: reading %s breaks the contract (%s): forwarded, the bridge "
                    "files it in the DLQ",
                    plan.imei,
                    message.event_id,
                    error,
                )

    async def stop(self, grace_s: float) -> None:
        """Let each connection finish its packet in hand, then close them all."""
        self.stopping.set()
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)


def raise_open_file_limit(devices: int) -> str | None:
    """Raise the soft open-file limit to the hard one; None when it then covers ``devices``
    connections, else the one-line error to log (the gateway still serves as many as it can)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An unlimited hard limit is not a valid soft one for open files: Linux caps it (nr_open).
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    problem = None
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (OSError, ValueError) as error:
            problem = f" (raising it to {wanted:,} failed: {error})"
    if soft >= devices + SPARE_FILES:
        return None
    return (
        f"open-file limit {soft:,}{problem or ''}: room for about {max(soft - SPARE_FILES, 0):,} "
        f"device connections, the registry has {devices:,} Teltonika devices; raise the hard "
        "limit (LimitNOFILE= in the systemd unit, ulimit -Hn, docker --ulimit nofile=)"
    )


async def serve(
    gateway: TeltonikaGateway, options: GatewayOptions, stop_requested: asyncio.Event
) -> None:
    """Listen until ``stop_requested``; then stop accepting and let the connections finish."""
    # A large backlog: after a network outage a whole fleet reconnects at once.
    server = await asyncio.start_server(gateway.handle, options.host, options.port, backlog=BACKLOG)
    ports = sorted({sock.getsockname()[1] for sock in server.sockets})
    print(
        f"teltonika gateway: listening on {options.host}:{','.join(map(str, ports))} "
        f"({len(gateway.plans)} devices) -> {gateway.producer.topic}; Ctrl+C stops",
        flush=True,
    )
    async with server:
        await stop_requested.wait()
        server.close()
        await gateway.stop(grace_s=gateway.producer.timeout_s + 2.0)


def run(options: GatewayOptions, io_mappings: Path | None = None) -> None:
    """The command: load the registry and IO mappings, connect to Kafka, serve until stopped."""
    from logistream.config import get_settings
    from logistream.devices.io_mapping import load_io_mappings
    from logistream.ingest.teltonika_readings import device_plans
    from logistream.kafka import durable_producer
    from logistream.log_setup import setup_logging
    from logistream.registry.loader import load_registry

    setup_logging()
    with shutdown.stop_on_signals() as stopped:
        settings = get_settings()
        if io_mappings is None and settings.registry_dir is not None:
            own = settings.registry_dir / "io_mappings.toml"
            io_mappings = own if own.exists() else None
        registry = load_registry(settings.registry_dir)
        plans = device_plans(registry.devices, load_io_mappings(io_mappings), registry)
        too_few_files = raise_open_file_limit(len(plans))
        if too_few_files is not None:
            log.error("teltonika gateway: %s", too_few_files)
        metrics = GatewayMetrics()
        if options.metrics_port is not None:
            metrics.serve(options.metrics_port)
        config = {"message.timeout.ms": int(options.kafka_timeout_s * 1000), "linger.ms": 2}
        producer = AckedProducer(
            lambda on_error: durable_producer(settings, config=config, on_error=on_error),
            settings.topic_telemetry,
            options.kafka_timeout_s,
        )
        if stopped.is_set():
            producer.close(options.kafka_timeout_s)
            return
        quiet_collector()  # full collections over the connections were its p99 (gc_tuning)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            stop_requested = asyncio.Event()

            # Runs inside the signal handler: only wake the loop.
            def wake() -> None:
                loop.call_soon_threadsafe(stop_requested.set)

            shutdown.on_stop(wake)
            producer.on_fatal(lambda _reason: wake())
            gateway = TeltonikaGateway(
                plans, producer, metrics, idle_timeout_s=options.idle_timeout_s
            )
            await serve(gateway, options, stop_requested)

        try:
            asyncio.run(main())
        finally:
            left = producer.close(options.kafka_timeout_s)
    if producer.fatal_error is not None:
        raise KafkaClientFailed(
            f"teltonika gateway stopped: {producer.fatal_error}; the packets in hand were not "
            "answered (the devices send them again)"
        )
    if left:
        print(f"teltonika gateway stopped; {left} readings were not acknowledged (unanswered)")
    else:
        print("teltonika gateway stopped cleanly")
