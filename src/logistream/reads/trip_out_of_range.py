"""A trip's time out of range as the audit counts it (batch views ``trips``, ``trip_compliance``).

The Truck page shows this figure for the truck's current trip: the batch layer's definition
(plausibility, gaps, hysteresis) is the one the report and the verdict use, so the page neither
counts its own nor counts only what its chart shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True, slots=True)
class TripOutOfRange:
    trip_id: str
    tor_s: float
    """Time out of range, seconds (above plus below the cargo's range)."""
    budget_s: float
    """The cargo profile's budget for it, seconds (0: none)."""
    audited_to: float
    """Event time (epoch seconds) of the trip's last reading the batch views had seen."""


def trip_out_of_range(
    conn: psycopg.Connection[tuple[Any, ...]], truck_id: str, trip_id: str
) -> TripOutOfRange | None:
    """The trip's figure, or None when the batch views do not hold the trip (yet)."""
    row = conn.execute(
        "SELECT c.tor_s, c.tor_budget_s, extract(epoch FROM t.end_time)::float8 "
        "FROM trips t JOIN trip_compliance c USING (truck_id, trip_id) "
        "WHERE t.truck_id = %s AND t.trip_id = %s",
        [truck_id, trip_id],
    ).fetchone()
    if row is None:
        return None
    return TripOutOfRange(
        trip_id=trip_id, tor_s=float(row[0]), budget_s=float(row[1]), audited_to=float(row[2])
    )
