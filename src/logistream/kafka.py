"""Kafka clients configured the one way LogiStream uses them (layer-free, shared by every layer).

The factories give the raw ``confluent_kafka`` clients (:func:`make_producer`,
:func:`make_consumer`) and their typed wrappers (:func:`durable_producer`,
:func:`group_consumer`). The wrappers are the one place that retries a full local queue
(``BufferError``: serve delivery reports and try again, never drop) and that counts delivery
reports (:class:`Deliveries`), so the rest of the code sees typed objects, not ``Any``.
"""

from __future__ import annotations

import builtins
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from logistream.config import Endpoints, Settings, resolve_endpoints
from logistream.errors import (
    ConfigError,
    ConsumerFailed,
    StackError,
    StoreUnavailable,
)

log = logging.getLogger("logistream.kafka")

# Durable producing: nothing acknowledged is lost, retries never duplicate within a session.
DURABLE_PRODUCER: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "compression.type": "lz4",
    "message.timeout.ms": 300_000,
}


def is_fatal(error: Any) -> bool:
    """Whether a client's ``KafkaError`` means the client can never be used again.

    A fatal error reaches a consumer as an event whose code is ``_FATAL``, on which ``fatal()``
    is not always true (a static member fenced after a broker bounce is one).
    """
    from confluent_kafka import KafkaError

    return bool(error.fatal()) or error.code() == KafkaError._FATAL


def _bootstrap(settings: Settings, endpoints: Endpoints | None) -> str:
    return (endpoints or resolve_endpoints(settings)).kafka_bootstrap


def security_config(settings: Settings) -> dict[str, Any]:
    """librdkafka settings for ``LOGISTREAM_KAFKA_SECURITY_PROTOCOL`` and the SASL credentials.

    Every client LogiStream builds goes through here, so one set of variables secures them all.
    """
    protocol = settings.kafka_security_protocol or (
        "SASL_PLAINTEXT" if settings.kafka_username else "PLAINTEXT"
    )
    config: dict[str, Any] = {"security.protocol": protocol}
    if protocol.startswith("SASL_"):
        if not settings.kafka_username or not settings.kafka_password:
            raise ConfigError(
                f"LOGISTREAM_KAFKA_USERNAME and LOGISTREAM_KAFKA_PASSWORD: both are needed when "
                f"LOGISTREAM_KAFKA_SECURITY_PROTOCOL is {protocol}"
            )
        config.update(
            {
                "sasl.mechanism": settings.kafka_sasl_mechanism,
                "sasl.username": settings.kafka_username,
                "sasl.password": settings.kafka_password,
            }
        )
    if settings.kafka_ssl_ca_location and protocol in ("SSL", "SASL_SSL"):
        config["ssl.ca.location"] = str(settings.kafka_ssl_ca_location)
    return config


def client_config(settings: Settings, endpoints: Endpoints | None = None) -> dict[str, Any]:
    """Bootstrap servers and security: the base of every Kafka client's configuration."""
    return {"bootstrap.servers": _bootstrap(settings, endpoints), **security_config(settings)}


def make_admin(settings: Settings, endpoints: Endpoints | None = None, **overrides: Any) -> Any:
    """A ``confluent_kafka.admin.AdminClient`` with the settings' security; ``overrides`` win."""
    from confluent_kafka.admin import AdminClient

    return AdminClient({**client_config(settings, endpoints), **overrides})


def make_producer(settings: Settings, endpoints: Endpoints | None = None, **overrides: Any) -> Any:
    """A durable ``confluent_kafka.Producer`` (idempotent, acks=all); ``overrides`` win."""
    from confluent_kafka import Producer

    config = {**client_config(settings, endpoints), **DURABLE_PRODUCER}
    config.update(overrides)
    return Producer(config)


def make_consumer(
    settings: Settings, group: str, endpoints: Endpoints | None = None, **overrides: Any
) -> Any:
    """A ``confluent_kafka.Consumer`` in ``group`` that never auto-commits or auto-stores."""
    from confluent_kafka import Consumer

    config = {
        **client_config(settings, endpoints),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
    }
    config.update(overrides)
    return Consumer(config)


def broker_count(
    settings: Settings,
    endpoints: Endpoints | None = None,
    *,
    timeout_s: float,
    config: Mapping[str, ConfigValue] | None = None,
) -> int:
    """How many brokers the cluster's metadata names (``KafkaException`` when none answers
    within ``timeout_s``): a readiness check."""
    admin = make_admin(settings, endpoints, **(config or {}))
    return len(admin.list_topics(timeout=timeout_s).brokers)


def ensure_topics(
    settings: Settings,
    names: Iterable[str],
    *,
    partitions: int | None = None,
    replication: int | None = None,
    endpoints: Endpoints | None = None,
    config: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are.

    ``replication`` unset: the broker's ``default.replication.factor`` (1 on the single-node
    stack, 3 on ``stack up --brokers 3``). Only missing topics are asked for, so a client
    without CREATE rights (secure stack) can call this for topics that already exist.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.cimpl import NewTopic

    admin = make_admin(settings, endpoints)
    names = list(dict.fromkeys(names))
    try:
        existing = set(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as error:
        raise StackError(f"could not list Kafka topics: {error}") from error
    wanted = [
        NewTopic(
            name,
            num_partitions=partitions or settings.partitions,
            replication_factor=-1 if replication is None else replication,
            config=config or {},
        )
        for name in names
        if name not in existing
    ]
    if not wanted:
        return
    futures = admin.create_topics(wanted, operation_timeout=timeout_s, request_timeout=timeout_s)
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise StackError(f"could not create Kafka topic {name!r}: {error}") from error


def pipeline_topics(settings: Settings) -> list[str]:
    """The four topics of the wire contract."""
    return [
        settings.topic_telemetry,
        settings.topic_alerts,
        settings.topic_commands,
        settings.topic_dlq,
    ]


# --- Typed clients ----------------------------------------------------------------------------
# confluent_kafka is untyped; the Protocols and wrappers below are the typed edge every module
# uses, so ``Any`` stays in this file. The Protocols describe what librdkafka's objects already
# are (no copy per message): a delivery report or a consumed record is passed through as is.

ConfigValue = str | int | float | bool
"""A librdkafka setting's value (callbacks have their own keyword arguments)."""


class KafkaIssue(Protocol):
    """A ``confluent_kafka.KafkaError``: a delivery failure or a client-wide error."""

    def code(self) -> int: ...
    def name(self) -> builtins.str: ...
    def fatal(self) -> bool: ...
    def retriable(self) -> bool: ...
    def str(self) -> builtins.str: ...


class Record(Protocol):
    """A ``confluent_kafka.Message``: a consumed record, or the subject of a delivery report."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def headers(self) -> list[tuple[str, bytes]] | None: ...
    def timestamp(self) -> tuple[int, int]: ...
    def error(self) -> KafkaIssue | None: ...


class Received(Record, Protocol):
    """A record read from a partition (not a delivery report): its place is always known."""

    def topic(self) -> str: ...
    def partition(self) -> int: ...
    def offset(self) -> int: ...


DeliveryCallback = Callable[[KafkaIssue | None, Record], None]
"""Called once per produced message from ``poll``/``flush``: ``(None, record)`` when the broker
acknowledged it, ``(error, record)`` when it will not."""


OFFSET_BEGINNING: Final = -2
"""librdkafka's logical offset: the partition's first record still kept."""
OFFSET_UNSET: Final = -1001
"""librdkafka's ``OFFSET_INVALID``: no position given (an assignment then resumes from the
group's committed offset, else ``auto.offset.reset``)."""


@dataclass(frozen=True, slots=True)
class TopicOffset:
    """A position in a topic partition (``offset`` is the next one to read; in
    :meth:`Consumer.offsets_for_times` a timestamp in ms)."""

    topic: str
    partition: int
    offset: int


T = TypeVar("T")


class Deliveries(Generic[T]):
    """The delivery reports of a group of messages, counted once for every producer.

    ``track(item)`` gives the callback for one message; ``pending`` is how many the broker has not
    answered yet and ``failed`` the items it refused, with the error. Thread-safe: reports may
    be served on another thread (the API's poll thread), and ``wait`` blocks until none is
    pending.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settled = threading.Event()
        self._settled.set()
        self.pending = 0
        self.failed: list[tuple[T, str]] = []

    def track(self, item: T) -> DeliveryCallback:
        with self._lock:
            self.pending += 1
            self._settled.clear()
        return functools.partial(self._report, item)

    def _report(self, item: T, error: KafkaIssue | None, _record: Record) -> None:
        with self._lock:
            if error is not None:
                self.failed.append((item, error.str()))
            self.pending -= 1
            if self.pending <= 0:
                self._settled.set()

    def wait(self, timeout_s: float | None) -> bool:
        """Whether every tracked message got its report within ``timeout_s``."""
        return self._settled.wait(timeout_s)


class Producer:
    """A producer that never drops a message: a full local queue (``BufferError``) is drained
    by serving delivery reports, and the message handed over again.

    Wraps a ``confluent_kafka.Producer`` (from :func:`make_producer`: idempotent, acks=all).
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        # Bound once: the simulator produces hundreds of thousands of messages a second.
        self._produce = client.produce
        self._poll = client.poll

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | str | None = None,
        *,
        headers: Sequence[tuple[str, bytes]] | None = None,
        on_delivery: DeliveryCallback | None = None,
        give_up: Callable[[], bool] | None = None,
        wait_s: float = 0.05,
    ) -> bool:
        """Hand one message to the producer; ``True`` once it has it.

        While the local queue is full, delivery reports are served for ``wait_s`` and it is
        tried again; ``False`` only when ``give_up()`` says so between tries (the caller keeps
        the message). Without ``give_up`` it waits until there is room.
        """
        while True:
            try:
                if headers is None:
                    self._produce(topic, value, key, on_delivery=on_delivery)
                else:
                    self._produce(topic, value, key, headers=headers, on_delivery=on_delivery)
                return True
            except BufferError:
                self._poll(wait_s)
                if give_up is not None and give_up():
                    return False

    def poll(self, timeout_s: float = 0.0) -> int:
        """Serve delivery reports (and the error callback) for up to ``timeout_s``."""
        return int(self._poll(timeout_s))

    def flush(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for every message to be reported; how many still are not."""
        return int(self._client.flush(timeout_s))

    def purge(
        self, *, in_queue: bool = True, in_flight: bool = True, blocking: bool = True
    ) -> None:
        """Give up messages not yet acknowledged; each gets a failed delivery report."""
        self._client.purge(in_queue=in_queue, in_flight=in_flight, blocking=blocking)

    def leaders_ready(self, topic: str, timeout_s: float) -> bool:
        """Whether the broker answers and every partition of ``topic`` has a leader."""
        from confluent_kafka import KafkaException

        try:
            metadata = self._client.list_topics(topic, timeout=timeout_s)
        except KafkaException:
            return False
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            return False
        return all(p.leader >= 0 for p in found.partitions.values())

    def send_all(
        self,
        topic: str,
        messages: Iterable[tuple[bytes | str | None, bytes]],
        timeout_s: float,
    ) -> list[str]:
        """Produce ``(key, value)`` pairs and flush; the errors (empty: all acknowledged).

        A message not acknowledged within ``timeout_s`` counts as an error.
        """
        deliveries: Deliveries[int] = Deliveries()
        for i, (key, value) in enumerate(messages):
            self.produce(topic, value, key, on_delivery=deliveries.track(i))
        left = self.flush(timeout_s)
        errors = [error for _i, error in deliveries.failed]
        if left:
            errors.append(f"{left} not acknowledged within {timeout_s:g} s")
        return errors


def as_producer(client: object) -> Producer:
    """The typed wrapper over a ``confluent_kafka.Producer`` (a wrapper is returned as is), for
    callers that still hold the client :func:`make_producer` returns."""
    return client if isinstance(client, Producer) else Producer(client)


def durable_producer(
    settings: Settings,
    endpoints: Endpoints | None = None,
    *,
    config: Mapping[str, ConfigValue] | None = None,
    on_error: Callable[[KafkaIssue], None] | None = None,
) -> Producer:
    """A typed, durable producer (:func:`make_producer`; ``config`` adds or overrides
    settings); ``on_error`` gets client-wide errors (all brokers down, a fatal error) from
    ``poll``/``flush``."""
    callbacks: dict[str, Any] = {"error_cb": on_error} if on_error is not None else {}
    return Producer(make_producer(settings, endpoints, **(config or {}), **callbacks))


class Consumer:
    """A consumer in a group that stores and commits offsets only when told (the typed face
    of :func:`make_consumer`; ``confluent_kafka.KafkaException`` never leaves it).

    Reading (:meth:`poll`, :meth:`consume`): a fatal client error raises
    :class:`ConsumerFailed` (a subclass of :class:`KafkaClientFailed`, with Kafka's error
    name); other error events are logged, counted in ``errors`` and left out (librdkafka
    retries them itself). A call to the broker that fails (a commit refused during a
    rebalance, metadata not answered in time) raises :class:`StoreUnavailable` (``kafka``)
    whose text is the client's error.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.errors = 0

    def subscribe(
        self,
        topics: Sequence[str],
        *,
        on_assign: Callable[[list[TopicOffset]], None] | None = None,
        on_revoke: Callable[[list[TopicOffset]], None] | None = None,
        on_lost: Callable[[list[TopicOffset]], None] | None = None,
    ) -> None:
        """Join the group; the callbacks run inside ``poll``/``consume`` with the partitions
        concerned. An ``on_assign`` that does not call :meth:`incremental_assign` itself gets
        the partitions assigned after it returns, from the group's committed offsets."""
        given = {"on_assign": on_assign, "on_revoke": on_revoke, "on_lost": on_lost}
        callbacks = {name: _adapt(cb) for name, cb in given.items() if cb is not None}
        self._client.subscribe(list(topics), **callbacks)

    def assign(self, positions: Sequence[TopicOffset]) -> None:
        """Read exactly these partitions from these offsets (no group rebalancing)."""
        self._client.assign([_partition(p) for p in positions])

    def incremental_assign(self, positions: Sequence[TopicOffset]) -> None:
        """Add these partitions, read from these offsets (:data:`OFFSET_UNSET`: from the
        group's committed offset); called from an ``on_assign`` callback."""
        self._client.incremental_assign([_partition(p) for p in positions])

    def poll(self, timeout_s: float) -> Received | None:
        """The next record within ``timeout_s`` (None: none came, or only an error event)."""
        message = self._client.poll(timeout_s)
        if message is None:
            return None
        return message if self._keep(message) else None

    def consume(self, count: int, timeout_s: float) -> list[Received]:
        """Up to ``count`` records within ``timeout_s``; error events are left out."""
        keep = self._keep
        return [m for m in self._client.consume(count, timeout=timeout_s) if keep(m)]

    def _keep(self, message: Any) -> bool:
        error = message.error()
        if error is None:
            return True
        if is_fatal(error):
            raise ConsumerFailed(str(error.name()), str(error.str()))
        if error.code() != _partition_eof():
            self.errors += 1
            log.warning("Kafka: %s", error)
        return False

    def read_partition(self, topic: str, partition: int, timeout_s: float) -> Iterator[Received]:
        """Every record of one partition, from its first to the last one there now (the
        consumer is assigned to it). Best made with ``enable.partition.eof``, so that the end
        is seen even when the last offsets hold no record. :class:`StackError` when the
        broker does not answer within ``timeout_s`` or reports an error."""
        from confluent_kafka import TopicPartition

        low, high = self.watermarks(topic, partition, timeout_s=timeout_s)
        if high <= low:
            return
        self._client.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        position = low
        while position < high:
            message = self._client.poll(timeout_s)
            if message is None:
                raise StackError(f"reading topic {topic} timed out")
            error = message.error()
            if error is not None:
                if error.code() == _partition_eof():
                    return
                raise StackError(f"reading topic {topic}: {error}")
            position = message.offset() + 1
            yield message

    def store_offsets(self, positions: Sequence[TopicOffset]) -> None:
        """Mark these positions as done; the next :meth:`commit` writes them."""
        self._client.store_offsets(offsets=[_partition(p) for p in positions])

    def commit(
        self, positions: Sequence[TopicOffset] | None = None, *, asynchronous: bool = False
    ) -> None:
        """Commit ``positions`` (or the stored ones); unless ``asynchronous``, wait for the
        broker's answer."""
        try:
            if positions is None:
                self._client.commit(asynchronous=asynchronous)
            else:
                offsets = [_partition(p) for p in positions]
                self._client.commit(offsets=offsets, asynchronous=asynchronous)
        except _kafka_exception() as error:
            raise StoreUnavailable("kafka", str(error)) from error

    def assignment(self) -> list[TopicOffset]:
        return [_offset(p) for p in self._client.assignment()]

    def committed(self, positions: Sequence[TopicOffset], timeout_s: float) -> list[TopicOffset]:
        """The group's committed offsets of these partitions (negative: none committed)."""
        wanted = [_partition(p) for p in positions]
        return [_offset(p) for p in self._call(self._client.committed, wanted, timeout=timeout_s)]

    def pause(self, positions: Sequence[TopicOffset]) -> None:
        """Stop fetching these partitions (``poll`` keeps the membership alive)."""
        self._call(self._client.pause, [_partition(p) for p in positions])

    def resume(self, positions: Sequence[TopicOffset]) -> None:
        """Fetch these paused partitions again (a partition not paused is left as it is)."""
        self._call(self._client.resume, [_partition(p) for p in positions])

    def partitions(self, topic: str, timeout_s: float) -> list[int]:
        """The partition numbers of ``topic`` (from the broker's metadata)."""
        metadata = self._call(self._client.list_topics, topic, timeout=timeout_s)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            raise StoreUnavailable(
                "kafka", f"no metadata for topic {topic}: {found and found.error}"
            )
        return sorted(int(p) for p in found.partitions)

    def offsets_for_times(
        self, positions: Sequence[TopicOffset], timeout_s: float
    ) -> list[TopicOffset]:
        """For each partition, the first offset whose record timestamp is at or after the
        given one (``offset`` holds the timestamp in ms; the end offset when none is)."""
        wanted = [_partition(p) for p in positions]
        return [
            _offset(p)
            for p in self._call(self._client.offsets_for_times, wanted, timeout=timeout_s)
        ]

    def watermarks(
        self, topic: str, partition: int, *, timeout_s: float | None = None, cached: bool = False
    ) -> tuple[int, int]:
        """``(low, high)``: the first offset kept and the next one to be written (``cached``:
        the values the last fetch brought, without asking; negative while unknown)."""
        from confluent_kafka import TopicPartition

        place = TopicPartition(topic, partition)
        if cached:
            found = self._call(self._client.get_watermark_offsets, place, cached=True)
        elif timeout_s is None:
            found = self._call(self._client.get_watermark_offsets, place)
        else:
            found = self._call(self._client.get_watermark_offsets, place, timeout=timeout_s)
        if found is None:
            raise StoreUnavailable("kafka", f"no watermarks for {topic}[{partition}] in time")
        low, high = found
        return int(low), int(high)

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except _kafka_exception() as error:
            raise StoreUnavailable("kafka", str(error)) from error

    def close(self) -> None:
        """Leave the group (a cooperative rebalance hands the partitions on)."""
        self._client.close()


def _adapt(callback: Callable[[list[TopicOffset]], None]) -> Callable[[Any, list[Any]], None]:
    def call(_client: Any, parts: list[Any]) -> None:
        callback([_offset(p) for p in parts])

    return call


def _offset(part: Any) -> TopicOffset:
    return TopicOffset(str(part.topic), int(part.partition), int(part.offset))


def _partition(position: TopicOffset) -> Any:
    from confluent_kafka import TopicPartition

    return TopicPartition(position.topic, position.partition, position.offset)


def _kafka_exception() -> type[Exception]:
    from confluent_kafka import KafkaException

    return KafkaException


def _partition_eof() -> int:
    from confluent_kafka import KafkaError

    return int(KafkaError._PARTITION_EOF)


def group_consumer(
    settings: Settings,
    group: str,
    endpoints: Endpoints | None = None,
    *,
    config: Mapping[str, ConfigValue] | None = None,
    on_stats: Callable[[str], None] | None = None,
) -> Consumer:
    """A typed consumer in ``group`` (:func:`make_consumer`: no auto-commit, no auto-store;
    ``config`` adds or overrides settings); ``on_stats`` gets librdkafka's statistics JSON
    when ``statistics.interval.ms`` is set."""
    callbacks: dict[str, Any] = {"stats_cb": on_stats} if on_stats is not None else {}
    return Consumer(make_consumer(settings, group, endpoints, **(config or {}), **callbacks))
