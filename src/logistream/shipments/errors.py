"""The one error a shipment definition is refused with: it names the field and what to fix."""

from __future__ import annotations

from logistream.errors import ConfigError


class ShipmentError(ConfigError):
    """A shipment file (or mapping) that cannot be accepted.

    ``field`` is the path of the field to blame (``stops[2].geofence.points``); the message is one
    line that starts with it and says what to change.
    """

    def __init__(self, field: str, fix: str) -> None:
        super().__init__(f"{field}: {fix}")
        self.field = field
        self.fix = fix
