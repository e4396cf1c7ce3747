"""Admins' decisions on trucks not in the fleet registry (``unknown_truck_decisions``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import psycopg

Decision = Literal["adopted", "dismissed"]


@dataclass(frozen=True, slots=True)
class TruckDecision:
    truck_id: str
    decision: Decision
    decided_by: str
    decided_at: datetime
    note: str


def latest(conn: psycopg.Connection[Any]) -> dict[str, TruckDecision]:
    """The newest decision about each truck, by truck id."""
    rows = conn.execute(
        "SELECT DISTINCT ON (truck_id) truck_id, decision, decided_by, decided_at, note "
        "FROM unknown_truck_decisions ORDER BY truck_id, decided_at DESC, id DESC"
    ).fetchall()
    return {row[0]: TruckDecision(*row) for row in rows}
