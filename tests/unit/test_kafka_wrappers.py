"""The typed Kafka wrappers without a broker: delivery reports counted once, and a full local
queue waited out (never dropped) with a real librdkafka producer whose bootstrap answers nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from logistream.config import Settings
from logistream.errors import StoreUnavailable
from logistream.kafka import (
    Consumer,
    Deliveries,
    Producer,
    TopicOffset,
    as_producer,
    group_consumer,
)
from logistream.kafka import durable_producer as open_durable
from logistream.kafka.consumer import _offset, _partition
from logistream.stack.process import free_port


class _Issue:
    """A delivery error as librdkafka reports it (only ``str()`` is read by Deliveries)."""

    def __init__(self, text: str) -> None:
        self._text = text

    def str(self) -> str:
        return self._text


def test_deliveries_count_each_report_once_and_keep_the_failed_items() -> None:
    deliveries: Deliveries[str] = Deliveries()
    assert deliveries.wait(0)
    assert deliveries.pending == 0
    callbacks = {item: deliveries.track(item) for item in ("a", "b", "c")}
    assert deliveries.pending == 3
    assert not deliveries.wait(0)
    callbacks["a"](None, None)  # type: ignore[arg-type]
    callbacks["b"](_Issue("Local: Message timed out"), None)  # type: ignore[arg-type]
    assert deliveries.pending == 1
    assert not deliveries.wait(0)
    callbacks["c"](None, None)  # type: ignore[arg-type]
    assert deliveries.pending == 0
    assert deliveries.wait(0)
    assert deliveries.failed == [("b", "Local: Message timed out")]


def test_deliveries_wait_for_reports_served_on_another_thread() -> None:
    deliveries: Deliveries[int] = Deliveries()
    callbacks = [deliveries.track(i) for i in range(1000)]

    def serve() -> None:
        for callback in callbacks:
            callback(None, None)  # type: ignore[arg-type]

    thread = threading.Thread(target=serve)
    thread.start()
    assert deliveries.wait(10)
    thread.join()
    assert deliveries.pending == 0
    assert deliveries.failed == []


@pytest.fixture
def unreachable() -> Iterator[Producer]:
    """A durable producer whose broker never answers and whose local queue holds 3 messages."""
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{free_port()}")
    producer = open_durable(
        settings,
        config={"queue.buffering.max.messages": 3, "message.timeout.ms": 60_000, "log_level": 0},
    )
    yield producer
    producer.purge()
    producer.flush(5)


def test_a_full_queue_is_waited_out_and_the_message_kept_by_the_caller(
    unreachable: Producer,
) -> None:
    deliveries: Deliveries[int] = Deliveries()
    for i in range(3):
        assert unreachable.produce("t", b"v", b"k", on_delivery=deliveries.track(i))
    asked: list[int] = []

    def give_up() -> bool:
        asked.append(1)
        return len(asked) >= 4

    # The fourth does not fit: the producer serves reports between tries, then gives up.
    assert not unreachable.produce("t", b"v", b"k", give_up=give_up, wait_s=0.01)
    assert len(asked) == 4
    # Nothing was dropped silently: purging reports each queued message as failed, once.
    unreachable.purge()
    assert unreachable.flush(5) == 0
    assert deliveries.pending == 0
    assert [i for i, _error in deliveries.failed] == [0, 1, 2]
    assert all("urge" in error for _i, error in deliveries.failed), deliveries.failed


def test_room_in_the_queue_hands_the_message_over_without_asking(unreachable: Producer) -> None:
    def never() -> bool:
        raise AssertionError("give_up is asked only while the queue is full")

    assert unreachable.produce("t", b"v", None, headers=[("h", b"1")], give_up=never)


def test_send_all_reports_what_was_not_acknowledged(unreachable: Producer) -> None:
    errors = unreachable.send_all("t", [(b"k", b"v")], timeout_s=0.2)
    assert errors == ["1 not acknowledged within 0.2 s"]


def test_no_leaders_when_the_broker_does_not_answer(unreachable: Producer) -> None:
    assert not unreachable.leaders_ready("t", 0.2)


def test_as_producer_wraps_once(unreachable: Producer) -> None:
    assert as_producer(unreachable) is unreachable


def test_topic_offsets_round_trip_through_librdkafka_partitions() -> None:
    position = TopicOffset("truck_telemetry", 3, 1234)
    assert _offset(_partition(position)) == position


def test_logical_offsets_are_librdkafka_s() -> None:
    import confluent_kafka

    from logistream.kafka import OFFSET_BEGINNING, OFFSET_UNSET

    assert OFFSET_BEGINNING == confluent_kafka.OFFSET_BEGINNING
    assert OFFSET_UNSET == confluent_kafka.OFFSET_INVALID


@pytest.fixture
def lonely() -> Iterator[Consumer]:
    """A consumer whose broker never answers."""
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{free_port()}")
    consumer = group_consumer(settings, "lonely", config={"log_level": 0})
    yield consumer
    consumer.close()


def test_a_broker_that_does_not_answer_is_a_store_unavailable(lonely: Consumer) -> None:
    """librdkafka's KafkaException never leaves the wrapper: callers catch one error."""
    with pytest.raises(StoreUnavailable) as metadata:
        lonely.partitions("t", 0.2)
    assert metadata.value.store == "kafka"
    with pytest.raises(StoreUnavailable):
        lonely.watermarks("t", 0, timeout_s=0.2)
    with pytest.raises(StoreUnavailable):
        lonely.committed([TopicOffset("t", 0, 0)], 0.2)
    with pytest.raises(StoreUnavailable):
        lonely.offsets_for_times([TopicOffset("t", 0, 1_000)], 0.2)
    assert lonely.poll(0.1) is None
    assert lonely.consume(10, 0.1) == []
