"""The bridge's heartbeat rows: one per bridge process, written with every commit and every
5 s when idle. The dashboard's health strip, the API's pipeline check and the notifier's
watchdog all read them here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True, slots=True)
class BridgeBeat:
    """One row of ``bridge_heartbeat``."""

    instance: str
    last_commit_at: float
    """Epoch seconds of its last commit (or idle heartbeat)."""
    lag_messages: int | None
    lag_seconds: float | None
    total_messages: int = 0


def bridge_beats(conn: psycopg.Connection[Any], group: str) -> list[BridgeBeat]:
    """The heartbeats of the bridge processes of consumer group ``group``."""
    rows = conn.execute(
        "SELECT instance, extract(epoch FROM last_commit_at)::float8, lag_messages, lag_seconds, "
        "total_messages FROM bridge_heartbeat WHERE consumer_group = %s ORDER BY instance",
        [group],
    ).fetchall()
    return [
        BridgeBeat(
            instance=str(r[0]),
            last_commit_at=float(r[1]),
            lag_messages=None if r[2] is None else int(r[2]),
            lag_seconds=None if r[3] is None else float(r[3]),
            total_messages=int(r[4] or 0),
        )
        for r in rows
    ]


def bridge_age(beats: list[BridgeBeat], now: float) -> float | None:
    """Age of the freshest commit or idle heartbeat among ``beats`` (None: no bridge beats)."""
    if not beats:
        return None
    return max(0.0, now - max(b.last_commit_at for b in beats))
