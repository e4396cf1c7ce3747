"""Alert acknowledgements (``alert_commands``) as the speed processor reads, keeps and applies them.

Every processor reads every command of the last day, each with a consumer group of its own, and
applies the ones whose alert it holds. An acknowledgement of an alert it does not hold (yet) is
kept for a while: a replay, or a partition assigned later, may open that alert again, and it is
then acknowledged at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Final

from logistream.config import Endpoints, Settings
from logistream.events import Alert, AlertCommand, decode_command
from logistream.kafka import Consumer, TopicOffset, group_consumer
from logistream.speed import engine
from logistream.speed.delivery import Batch
from logistream.speed.state import TruckState

log = logging.getLogger("logistream.speed")

PENDING_ACKS_MAX: Final = 10_000
PENDING_ACK_TTL_S: Final = 86_400.0
COMMANDS_REPLAY_S: Final = 86_400.0


def open_commands(settings: Settings, endpoints: Endpoints, group: str, instance: str) -> Consumer:
    """A consumer of every partition of ``alert_commands``, from a day back."""
    commands = group_consumer(settings, f"{group}.commands.{instance}", endpoints)
    topic = settings.topic_commands
    since_ms = int((time.time() - COMMANDS_REPLAY_S) * 1000)
    wanted = [TopicOffset(topic, p, since_ms) for p in commands.partitions(topic, 30)]
    commands.assign(commands.offsets_for_times(wanted, 30))
    return commands


def poll_commands(commands: Consumer, max_messages: int = 100) -> list[AlertCommand] | None:
    """The commands ready now, without waiting (None: no message at all; a malformed command
    is skipped, never fatal)."""
    msgs = commands.consume(max_messages, 0)
    if not msgs:
        return None
    decoded = []
    for msg in msgs:
        value = msg.value()
        if value is None:
            continue
        try:
            decoded.append(decode_command(value))
        except Exception:  # a bad command is skipped, never fatal
            log.warning("skipping a malformed alert command at offset %s", msg.offset())
    return decoded


class PendingAcks:
    """Acknowledgements waiting for their alert, by alert id; bounded in number and age."""

    def __init__(self, max_size: int = PENDING_ACKS_MAX, ttl_s: float = PENDING_ACK_TTL_S) -> None:
        self.max_size = max_size
        self.ttl_s = ttl_s
        self._by_alert: dict[str, AlertCommand] = {}

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._by_alert

    def __len__(self) -> int:
        return len(self._by_alert)

    def remember(self, command: AlertCommand, now: float) -> None:
        """Keep ``command`` unless it is too old; when full, the oldest one goes."""
        if now - command.issued_at > self.ttl_s:
            return
        if len(self._by_alert) >= self.max_size:
            oldest = min(self._by_alert, key=lambda k: self._by_alert[k].issued_at)
            del self._by_alert[oldest]
        self._by_alert[command.alert_id] = command

    def take(self, alert_id: str) -> AlertCommand | None:
        """The acknowledgement waiting for this alert, if any; it is no longer kept."""
        return self._by_alert.pop(alert_id, None)


class Acknowledgements:
    """Applies acknowledgements to the processor's rule state (``trucks`` and ``dirty`` are the
    processor's own, shared), and acknowledges an alert at once when it opens with one waiting."""

    def __init__(self, trucks: dict[str, TruckState], dirty: set[str]) -> None:
        self.trucks = trucks
        self.dirty = dirty
        self.pending = PendingAcks()

    def add_changes(self, batch: Batch, changes: Iterable[Alert], record_ts: float | None) -> None:
        """Add alert changes to ``batch``; an alert opening with an ack waiting is acknowledged."""
        for change in changes:
            batch.changes.append(change)
            batch.change_record_ts.append(record_ts or time.time())
            if change.state == "open" and change.alert_id in self.pending:
                command = self.pending.take(change.alert_id)
                assert command is not None
                step = engine.acknowledge(self.trucks[change.truck_id], command)
                self.trucks[change.truck_id] = step.state
                batch.touched[change.truck_id] = step.state
                for acked in step.changes:
                    batch.changes.append(acked)
                    batch.change_record_ts.append(record_ts or time.time())

    def apply(self, command: AlertCommand, batch: Batch) -> None:
        """Acknowledge the alert if a truck here holds it; else keep the command a while."""
        state = self.trucks.get(command.truck_id)
        step = engine.acknowledge(state, command) if state is not None else None
        if step is None or not step.accepted:
            self.pending.remember(command, time.time())
            return
        if step.changes:
            self.trucks[command.truck_id] = step.state
            self.dirty.add(command.truck_id)
            batch.touched[command.truck_id] = step.state
            self.add_changes(batch, step.changes, None)

    def apply_pending(self, states: Iterable[TruckState], batch: Batch) -> None:
        """Apply the waiting acknowledgements of these (restored) trucks' alerts."""
        for state in states:
            for alert in list(state.alerts.values()):
                command = self.pending.take(alert.alert_id)
                if command is not None:
                    self.apply(command, batch)
