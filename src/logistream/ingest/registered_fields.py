"""What the fleet registry knows of a truck that its tracker does not send.

A tracker reports temperatures and where it is; it does not know what it carries. A reading
without ``cargo`` is judged by the default cargo profile, so a gateway fills in the cargo (and the
driver) that ``fleet.toml`` gives the device's truck, unless the device sent its own: vaccines
from a Teltonika tracker are then held to the vaccine limits, in the speed layer and in the
archive alike. The probe's calibration record (``devices.toml``) travels beside the raw value,
never applied, under the names below. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from logistream.registry.models import Registry

FILLED: tuple[str, ...] = ("cargo", "driver_id")

# The extras a probe's calibration record travels under, beside the raw ``temp`` (both gateways).
CALIBRATION_OFFSET_FIELD = "calibration_offset_c"
CALIBRATION_CERTIFICATE_FIELD = "calibration_certificate"


def registered_fields(registry: Registry, truck_id: str) -> Mapping[str, str]:
    """``cargo`` and ``driver_id`` of a registered truck; empty for any other."""
    truck = registry.truck(truck_id)
    if truck is None:
        return {}
    return {"cargo": truck.cargo, "driver_id": truck.driver_id}
