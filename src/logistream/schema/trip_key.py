"""Which trip an archived reading belongs to, as SQL over ``readings r``.

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
