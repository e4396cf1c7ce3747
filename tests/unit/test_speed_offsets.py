"""The speed processor's offset bookkeeping (speed/offsets.py), in process: no server.

An offset is stored or checkpointed only once Kafka acknowledged every alert change of every
batch up to it, batches settle in the order they were read, and revoked partitions are never
settled for.
"""

from __future__ import annotations

from helpers import seeded_random
from logistream.events import Alert
from logistream.speed.checkpoint import PartitionMark
from logistream.speed.offsets import InFlight, OffsetBook


def _alert(n: int) -> Alert:
    return Alert(
        alert_id=f"a{n}",
        truck_id="KBX 123A",
        rule="temp_high",
        severity="major",
        state="open",
        opened_at=1000.0 + n,
        changed_at=1000.0 + n,
        message="Cargo too warm",
    )


def _book(*partitions: int) -> OffsetBook:
    book = OffsetBook()
    for p in partitions:
        book.assign(p, None)
    return book


def _ack_all(flight: InFlight) -> None:
    for _ in flight.changes:
        flight.on_delivery(None)


def test_a_batch_without_alert_changes_settles_at_once() -> None:
    book = _book(0)
    book.begin({0: 10}, [])
    assert book.settle() == {0: 10}
    assert book.settled == {0: 10}
    assert book.in_flight == 0


def test_a_batch_settles_only_after_kafka_acknowledged_every_change() -> None:
    book = _book(0)
    flight = book.begin({0: 10}, [_alert(1), _alert(2)])
    assert flight.waiting
    assert book.settle() == {}
    flight.on_delivery(None)
    assert book.settle() == {}
    flight.on_delivery(None)
    assert book.settle() == {0: 10}
    assert book.settled == {0: 10}


def test_a_later_batch_acknowledged_first_waits_for_the_earlier_one() -> None:
    book = _book(0, 1)
    first = book.begin({0: 10}, [_alert(1)])
    second = book.begin({0: 20, 1: 5}, [_alert(2)])
    _ack_all(second)
    assert book.settle() == {}
    assert book.settled == {}
    _ack_all(first)
    assert book.settle() == {0: 20, 1: 5}
    assert book.head is None


def test_a_refused_batch_holds_back_the_batches_behind_it_until_published_again() -> None:
    book = _book(0)
    refused = book.begin({0: 10}, [_alert(1), _alert(2)])
    later = book.begin({0: 20}, [])
    refused.on_delivery(None)
    refused.on_delivery("KafkaError{code=MSG_TIMED_OUT}")
    assert refused.refused
    assert book.head is refused
    assert book.settle() == {}
    # Published again: a fresh round of reports, the old errors forgotten.
    refused.expect_deliveries()
    assert refused.waiting
    assert not refused.errors
    _ack_all(refused)
    assert book.settle() == {0: 20}
    assert later.acknowledged


def test_revoked_partitions_are_not_settled_for_and_are_forgotten() -> None:
    book = _book(0, 1)
    book.read(1, 41)
    book.saw_event(1, 5000.0)
    flight = book.begin({0: 10, 1: 42}, [_alert(1)])
    book.drop([1])
    _ack_all(flight)
    assert book.settle() == {0: 10}
    assert book.assigned == {0}
    assert (book.consumed, book.newest_event, book.settled) == ({}, {}, {0: 10})


def test_assign_resumes_from_the_checkpointed_mark() -> None:
    book = OffsetBook()
    assert book.assign(0, PartitionMark(120, 7000.0)) == 120
    assert book.assign(1, None) is None
    assert book.assigned == {0, 1}
    assert book.settled == {0: 120}
    assert book.newest_event == {0: 7000.0}
    assert book.position(0) == 120
    assert book.position(1) == 0
    book.read(0, 130)
    assert book.position(0) == 131  # read ahead of what is settled


def test_newest_event_time_only_grows() -> None:
    book = _book(0)
    book.saw_event(0, 100.0)
    book.saw_event(0, 90.0)
    book.saw_event(0, 110.0)
    assert book.newest_event == {0: 110.0}


def test_checkpoint_marks_are_settled_offsets_of_assigned_partitions() -> None:
    book = _book(0, 1, 2)
    book.saw_event(0, 100.0)
    book.read(0, 29)
    flight = book.begin({0: 30}, [_alert(1)])
    assert book.marks({0, 1, 2, 3}) == {}  # nothing settled yet: nothing to save
    _ack_all(flight)
    book.settle()
    assert book.marks({0, 1, 2, 3}) == {0: PartitionMark(30, 100.0)}
    assert book.marks({1}) == {}


def test_random_delivery_orders_never_settle_past_an_unacknowledged_change() -> None:
    rng = seeded_random("speed offsets")
    for _round in range(200):
        book = _book(0, 1, 2)
        flights: list[tuple[InFlight, dict[int, int]]] = []
        next_offset = dict.fromkeys(range(3), 0)
        for n in range(rng.randrange(1, 12)):
            advance = {}
            for p in rng.sample(range(3), rng.randrange(1, 4)):
                next_offset[p] += rng.randrange(1, 50)
                advance[p] = next_offset[p]
            changes = [_alert(n * 10 + k) for k in range(rng.randrange(0, 4))]
            flights.append((book.begin(dict(advance), changes), advance))
        reports = [f for f, _ in flights for _ in f.changes]
        rng.shuffle(reports)
        for flight in reports:
            refused = rng.random() < 0.1
            flight.on_delivery("refused" if refused else None)
            settled_now = dict(book.settled)
            book.settle()
            for f, _ in flights:  # publish a refused batch again, as the processor does
                if f.refused:
                    f.expect_deliveries()
                    reports.extend([f] * len(f.changes))
            # Every offset settled so far is covered by batches Kafka fully acknowledged.
            for p, offset in book.settled.items():
                assert offset >= settled_now.get(p, 0)
                for f, advance in flights:
                    if advance.get(p, -1) <= offset and p in advance:
                        assert f.acknowledged
        book.settle()
        assert book.in_flight == 0
        assert book.settled == {p: o for p, o in next_offset.items() if o}
