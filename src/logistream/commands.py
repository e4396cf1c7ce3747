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
    """Produce ``command`` keyed by its truck and wait until Kafka has it."""
    producer.produce(settings.topic_commands, encode(command), command.truck_id)
    if producer.flush(timeout_s):
        raise LogiStreamError(
            f"Kafka did not accept the command on {settings.topic_commands} within "
            f"{timeout_s:.0f} s; check that Kafka is running (`logistream stack status`)"
        )
