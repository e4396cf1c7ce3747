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
from typing import Any, Final

import msgspec

from logistream.config import Endpoints, Settings
from logistream.errors import StackError
from logistream.kafka import ensure_topics, make_consumer
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
    def __init__(self, settings: Settings, endpoints: Endpoints, group: str, producer: Any) -> None:
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
        from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

        reader = make_consumer(
            self.settings,
            f"{self.group}.checkpoint-reader.{uuid.uuid4()}",
            self.endpoints,
            **{"enable.partition.eof": True},
        )
        try:
            low, high = reader.get_watermark_offsets(
                TopicPartition(self.topic, 0), timeout=timeout_s
            )
            latest: dict[bytes, bytes | None] = {}
            if high > low:
                reader.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
                position = low
                while position < high:
                    msg = reader.poll(timeout_s)
                    if msg is None:
                        raise StackError(f"reading checkpoint topic {self.topic} timed out")
                    if msg.error():
                        if msg.error().code() == KafkaError._PARTITION_EOF:
                            break
                        raise StackError(f"reading checkpoint {self.topic}: {msg.error()}")
                    position = msg.offset() + 1
                    key = msg.key()
                    if key is not None and key.startswith(self._prefix.encode()):
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
        errors: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        for state in trucks:
            self.producer.produce(
                self.topic,
                key=f"{self.group}|t|{state.truck_id}",
                value=dump_state(state),
                on_delivery=delivered,
            )
        for partition, mark in marks.items():
            self.producer.produce(
                self.topic,
                key=f"{self.group}|o|{partition}",
                value=_mark_encoder.encode(mark),
                on_delivery=delivered,
            )
        remaining = self.producer.flush(timeout_s)
        if remaining or errors:
            raise StackError(
                f"checkpoint to {self.topic} not accepted ({remaining} pending, errors {errors})"
            )
