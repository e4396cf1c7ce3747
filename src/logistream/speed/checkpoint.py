"""Rule state checkpoints in a compacted Kafka topic, with the telemetry offsets they cover.

One partition, so records stay in the order they were written: each checkpoint writes the
trucks that changed, then the offsets. A crash between the two leaves states newer than the
offsets; replaying from the older offsets is harmless because a truck ignores readings not
newer than its state (see ``engine``). Keys (all prefixed by the consumer group):
``{group}|t|{truck_id}`` -> msgpack ``TruckState``; ``{group}|o|{partition}`` -> msgpack
``PartitionMark`` (next offset to read and the partition's newest event time).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

import msgspec

from logistream.config import Endpoints, Settings
from logistream.errors import StackError
from logistream.kafka import Deliveries, Producer, ensure_topics, group_consumer
from logistream.speed.state import TruckState, dump_state, load_state

TOPIC_CONFIG: Final = {
    "cleanup.policy": "compact",
    "segment.ms": "600000",
    "min.cleanable.dirty.ratio": "0.1",
}


class PartitionMark(msgspec.Struct, frozen=True):
    offset: int
    max_event_ts: float | None = None


_mark_encoder = msgspec.msgpack.Encoder()
_mark_decoder = msgspec.msgpack.Decoder(PartitionMark)


def checkpoint_topic(settings: Settings) -> str:
    return f"{settings.topic_telemetry}.speed-checkpoint"


@dataclass
class Checkpoint:
    marks: dict[int, PartitionMark] = field(default_factory=dict)
    trucks: dict[str, TruckState] = field(default_factory=dict)


class CheckpointStore:
    def __init__(
        self, settings: Settings, endpoints: Endpoints, group: str, producer: Producer
    ) -> None:
        self.settings = settings
        self.endpoints = endpoints
        self.group = group
        self.topic = checkpoint_topic(settings)
        self.producer = producer
        self._prefix = f"{group}|"

    def ensure_topic(self) -> None:
        ensure_topics(
            self.settings,
            [self.topic],
            partitions=1,
            endpoints=self.endpoints,
            config=TOPIC_CONFIG,
        )

    def load(self, partitions: Collection[int], timeout_s: float = 30.0) -> Checkpoint:
        """The latest checkpoint of these telemetry partitions (empty when there is none)."""
        reader = group_consumer(
            self.settings,
            f"{self.group}.checkpoint-reader.{uuid.uuid4()}",
            self.endpoints,
            config={"enable.partition.eof": True},
        )
        prefix = self._prefix.encode()
        latest: dict[bytes, bytes | None] = {}
        try:
            for msg in reader.read_partition(self.topic, 0, timeout_s):
                key = msg.key()
                if key is not None and key.startswith(prefix):
                    latest[key] = msg.value()
        finally:
            reader.close()
        return self._parse(latest, set(partitions))

    def _parse(self, latest: Mapping[bytes, bytes | None], wanted: set[int]) -> Checkpoint:
        found = Checkpoint()
        for key, value in latest.items():
            if value is None:
                continue
            kind, _, name = key[len(self._prefix) :].decode().partition("|")
            if kind == "o" and int(name) in wanted:
                found.marks[int(name)] = _mark_decoder.decode(value)
            elif kind == "t":
                state = load_state(value)
                if state.partition in wanted:
                    found.trucks[state.truck_id] = state
        return found

    def save(
        self,
        trucks: Iterable[TruckState],
        marks: Mapping[int, PartitionMark],
        timeout_s: float = 30.0,
    ) -> None:
        """Write states then offsets and wait until Kafka has them all."""
        deliveries: Deliveries[str] = Deliveries()
        for state in trucks:
            key = f"{self.group}|t|{state.truck_id}"
            self.producer.produce(
                self.topic, dump_state(state), key, on_delivery=deliveries.track(key)
            )
        for partition, mark in marks.items():
            key = f"{self.group}|o|{partition}"
            self.producer.produce(
                self.topic, _mark_encoder.encode(mark), key, on_delivery=deliveries.track(key)
            )
        remaining = self.producer.flush(timeout_s)
        errors = [error for _key, error in deliveries.failed]
        if remaining or errors:
            raise StackError(
                f"checkpoint to {self.topic} not accepted ({remaining} pending, errors {errors})"
            )
