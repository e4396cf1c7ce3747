"""The typed consumer: reads, assigns, commits, pauses and asks the broker without letting
``KafkaException`` or ``Any`` out; a fatal error is :class:`ConsumerFailed`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from logistream.config import Endpoints, Settings
from logistream.errors import (
    ConsumerFailed,
    StackError,
    StoreUnavailable,
)
from logistream.kafka.config import is_fatal, make_consumer
from logistream.kafka.records import OFFSET_BEGINNING, ConfigValue, Received, TopicOffset

log = logging.getLogger("logistream.kafka")


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
