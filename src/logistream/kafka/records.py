"""The typed shapes of what librdkafka hands out (errors, records, delivery callbacks) and of a
topic position. confluent_kafka is untyped: these Protocols are the typed edge every module
uses, so ``Any`` stays in this package. They describe librdkafka's objects as they are (no
copy per message)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

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
