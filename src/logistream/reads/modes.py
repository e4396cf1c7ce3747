"""A truck's operating-mode intervals over a time range (issue 18), from ``truck_modes`` (0070).

A mode's interval is ``starts_at`` to ``min(ends_at, ended_at)``: it ends by itself at its end
time or earlier by hand. Only modes that were in force count: status ``active``, or ``ended``
with ``version >= 1`` (it was published and held alarms). A mode that waited for approval and was
withdrawn (``ended`` at version 0), or was refused, or still waits, held nothing and is left out.

Works on the owner's connection (the batch reports) and on the reader's (the truck chart): the
reader role may SELECT ``truck_modes``. The batch views' reconciliation uses :data:`IN_FORCE_SQL`
so that both agree on which modes count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import psycopg

IN_FORCE_SQL: Final = "(status = 'active' OR (status = 'ended' AND version >= 1))"
"""The modes that were in force (a WHERE condition on ``truck_modes``)."""
INTERVAL_END_SQL: Final = "least(ends_at, coalesce(ended_at, ends_at))"
"""Where a mode's interval ends (``least`` ignores NULL too; coalesce says it plainly)."""


@dataclass(frozen=True, slots=True)
class ModeInterval:
    """One mode of a truck while it was in force."""

    mode_id: str
    truck_id: str
    kind: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    """The interval's end: its end time, or when it was ended early."""
    ended_early: bool
    set_by: str
    approved_by: str | None


def mode_intervals(
    conn: psycopg.Connection[tuple[Any, ...]],
    truck_id: str,
    start: datetime,
    end: datetime,
) -> list[ModeInterval]:
    """The truck's mode intervals overlapping ``[start, end]``, oldest first."""
    rows = conn.execute(
        f"SELECT mode_id, truck_id, kind, reason, starts_at, {INTERVAL_END_SQL}, "
        "ended_at IS NOT NULL AND ended_at < ends_at, set_by, approved_by "
        f"FROM truck_modes WHERE truck_id = %s AND {IN_FORCE_SQL} "
        f"AND starts_at <= %s AND {INTERVAL_END_SQL} >= %s "
        "ORDER BY starts_at, mode_id",
        [truck_id, end, start],
    ).fetchall()
    return [
        ModeInterval(
            mode_id=r[0],
            truck_id=r[1],
            kind=r[2],
            reason=r[3],
            starts_at=r[4],
            ends_at=r[5],
            ended_early=bool(r[6]),
            set_by=r[7],
            approved_by=r[8],
        )
        for r in rows
    ]
