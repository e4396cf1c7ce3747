"""The speed processor's offset bookkeeping, in one object with no Kafka client in it.

Per telemetry partition it knows three positions: where reading has got to (``consumed``), up
to where every batch's effects are safe (``settled``: the offset a restart resumes from), and
the newest event time read (``newest_event``, which the watermark and checkpoints need).

A batch enters the book once its views are in Redis, as an :class:`InFlight` waiting for
Kafka's delivery reports of the alert changes it published. Batches settle strictly in the
order they were read: a later batch acknowledged first waits for the earlier ones, and a batch
Kafka refused holds back every batch behind it until it is published again. So a stored or
checkpointed offset never passes a reading whose alerts could still be lost. The processor
does the Kafka I/O the book asks for (store the offsets :meth:`OffsetBook.settle` returns,
save :meth:`OffsetBook.marks` in a checkpoint).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from logistream.events import Alert, StageEvent
from logistream.kafka import KafkaIssue, Record
from logistream.speed.checkpoint import PartitionMark


@dataclass(eq=False)
class InFlight:
    """A batch whose views are in Redis and whose alert changes Kafka has not all acknowledged.

    ``advance`` is the next offset to read per partition once this batch is safe.
    """

    advance: dict[int, int]
    changes: list[Alert]
    stage_events: list[StageEvent] = field(default_factory=list)
    pending: int = 0
    errors: list[str] = field(default_factory=list)

    def expect_deliveries(self) -> None:
        """Called before its changes are (re)published: one report is awaited per change and
        per stage event."""
        self.pending = len(self.changes) + len(self.stage_events)
        self.errors = []

    def on_delivery(self, error: KafkaIssue | None, _record: Record | None = None) -> None:
        """A producer delivery report (a :data:`~logistream.kafka.DeliveryCallback`)."""
        self.pending -= 1
        if error is not None:
            self.errors.append(str(error))

    @property
    def waiting(self) -> bool:
        """Some delivery reports have not come yet."""
        return self.pending > 0

    @property
    def refused(self) -> bool:
        """Every report came and at least one change was refused: publish them again."""
        return self.pending <= 0 and bool(self.errors)

    @property
    def acknowledged(self) -> bool:
        """Kafka has every alert change of this batch."""
        return self.pending <= 0 and not self.errors


class OffsetBook:
    """Positions per assigned partition and the batches in flight; see the module docstring."""

    def __init__(self) -> None:
        self.assigned: set[int] = set()
        self.consumed: dict[int, int] = {}
        """Next offset to read per partition; ``settled`` trails it until Kafka acknowledges."""
        self.settled: dict[int, int] = {}
        """Next offset to read per partition once every earlier reading's effects are safe."""
        self.newest_event: dict[int, float] = {}
        """Newest event time read per partition (read, not yet settled)."""
        self._flights: deque[InFlight] = deque()

    # ---- partitions ----------------------------------------------------------------------------

    def assign(self, partition: int, mark: PartitionMark | None) -> int | None:
        """Take a partition, from its checkpointed mark when there is one (then returns the
        offset to resume from; None: the consumer group's committed offset applies)."""
        self.assigned.add(partition)
        if mark is None:
            return None
        self.settled[partition] = mark.offset
        if mark.max_event_ts is not None:
            self.newest_event[partition] = mark.max_event_ts
        return mark.offset

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget revoked or lost partitions: batches in flight will not store their offsets."""
        for p in partitions:
            self.settled.pop(p, None)
            self.consumed.pop(p, None)
            self.newest_event.pop(p, None)
            self.assigned.discard(p)

    # ---- reading -------------------------------------------------------------------------------

    def read(self, partition: int, offset: int) -> None:
        """A record was read (whatever became of it)."""
        self.consumed[partition] = offset + 1

    def saw_event(self, partition: int, event_ts: float) -> None:
        """A reading of this event time was applied."""
        if event_ts > self.newest_event.get(partition, float("-inf")):
            self.newest_event[partition] = event_ts

    def position(self, partition: int) -> int:
        """Next offset to read: what was read, else where the partition resumed, else 0."""
        return self.consumed.get(partition, self.settled.get(partition, 0))

    # ---- batches in flight ---------------------------------------------------------------------

    def begin(
        self,
        advance: dict[int, int],
        changes: list[Alert],
        stage_events: list[StageEvent] | None = None,
    ) -> InFlight:
        """A batch whose views are written; it settles after every batch before it."""
        flight = InFlight(advance, changes, stage_events or [])
        flight.expect_deliveries()  # not acknowledged before its changes are even published
        self._flights.append(flight)
        return flight

    @property
    def head(self) -> InFlight | None:
        """The oldest batch not settled yet (None: nothing in flight)."""
        return self._flights[0] if self._flights else None

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def settle(self) -> dict[int, int]:
        """Settle the oldest batches Kafka fully acknowledged, in order, up to the first one
        still waiting or refused. Returns the offsets now safe to store (of assigned
        partitions only; a revoked partition's new owner reads from its own resume point)."""
        safe: dict[int, int] = {}
        while self._flights and self._flights[0].acknowledged:
            head = self._flights.popleft()
            safe.update((p, o) for p, o in head.advance.items() if p in self.assigned)
        self.settled.update(safe)
        return safe

    # ---- checkpoints ---------------------------------------------------------------------------

    def marks(self, partitions: Iterable[int]) -> dict[int, PartitionMark]:
        """What a checkpoint saves for these partitions: the settled offset and newest event
        time of each one that is assigned and has a settled offset."""
        return {
            p: PartitionMark(self.settled[p], self.newest_event.get(p))
            for p in partitions
            if p in self.assigned and p in self.settled
        }
