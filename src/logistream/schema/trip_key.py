"""Which trip a reading belongs to: as SQL over ``readings r``, and the same for one reading.

One definition for the batch views that build trips and for every read of a trip's readings
(reports, API, dashboard), so a trip means the same rows everywhere.
"""

from __future__ import annotations

from typing import Final

TRIP_EXPR: Final = (
    "coalesce(r.trip_id, r.truck_id || '@' || to_char(r.event_time AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD'))"
)
"""A trip's key: the trip_id sent, else truck and UTC day (the original producer sends none)."""


def trip_key(trip_id: str | None, timestamp: float) -> str:
    """The same partition of one truck's readings as ``TRIP_EXPR``, for the speed layer: the
    trip_id sent, else the UTC day (a key compared for equality only, never shown)."""
    return trip_id if trip_id else f"@{int(timestamp // 86_400)}"
