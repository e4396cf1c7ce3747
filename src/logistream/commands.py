"""Alert commands (``alert_commands``), built and published one way by every surface (layer-free).

The speed layer alone applies them; the CLI, the dashboard and the API only ask.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from logistream.errors import LogiStreamError
from logistream.events import Alert, AlertCommand, encode

if TYPE_CHECKING:
    from logistream.config import Settings
    from logistream.kafka import Producer


def ack_command(alert: Alert, by: str, note: str = "", *, now: float | None = None) -> AlertCommand:
    """The command that acknowledges ``alert`` in the name of ``by``."""
    if not by.strip():
        raise LogiStreamError("an acknowledgement needs the name of who acknowledges")
    return AlertCommand(
        action="ack",
        alert_id=alert.alert_id,
        truck_id=alert.truck_id,
        by=by,
        note=note,
        issued_at=time.time() if now is None else now,
        command_id=str(uuid.uuid4()),
    )


def publish_command(
    producer: Producer, settings: Settings, command: AlertCommand, timeout_s: float = 30.0
) -> None:
    """Produce ``command`` keyed by its truck and wait until Kafka has it.

    A message the producer gave up on (its delivery report carries the error) is not sent
    either, even when ``flush`` then finds nothing left: the audit trail records only after this.
    """
    errors = producer.send_all(
        settings.topic_commands, [(command.truck_id, encode(command))], timeout_s
    )
    if errors:
        raise LogiStreamError(
            f"Kafka did not accept the command on {settings.topic_commands} within "
            f"{timeout_s:.0f} s ({errors[0]}); check that Kafka is running (`logistream stack "
            "status`)"
        )
