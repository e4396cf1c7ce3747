"""Rejected readings (the bridge's dead-letter record), as people read them. One SELECT each.

Every message the bridge refuses goes to the DLQ topic and, with the reason, into
``rejected_readings``; these reads show it in the dashboard and in ``logistream rejected``,
so a bad producer is seen where people look, not only in Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import psycopg

SHOWN_BYTES: Final = 400
"""How much of the original message is shown (the whole of it stays in the archive)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    rejected_at: datetime
    reason: str
    detail: str
    truck: str
    """The message key (the truck id, by the contract), or ``—`` when there was none."""
    original: str
    """The message as sent, as text (bytes that are not UTF-8 escaped), cut to SHOWN_BYTES."""
    where: str
    """``topic[partition]@offset``: where the message is in Kafka."""


def _text(raw: bytes | None) -> str:
    if raw is None:
        return "—"
    text = bytes(raw[:SHOWN_BYTES]).decode("utf-8", errors="backslashreplace")
    return text + (f" … ({len(raw)} bytes)" if len(raw) > SHOWN_BYTES else "")


def recent(
    conn: psycopg.Connection[Any], limit: int = 200, reason: str | None = None
) -> list[Rejected]:
    """The newest rejected messages first, of one reason or all."""
    rows = conn.execute(
        "SELECT rejected_at, reason, detail, message_key, raw, source_topic, source_partition, "
        "source_offset FROM rejected_readings WHERE %(reason)s::text IS NULL "
        "OR reason = %(reason)s ORDER BY rejected_at DESC, source_offset DESC LIMIT %(limit)s",
        {"reason": reason, "limit": limit},
    ).fetchall()
    return [
        Rejected(
            rejected_at=r[0],
            reason=r[1],
            detail=r[2],
            truck=_text(r[3]) if r[3] else "—",
            original=_text(r[4]),
            where=f"{r[5]}[{r[6]}]@{r[7]}",
        )
        for r in rows
    ]


def counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Rejected messages per reason, most frequent first."""
    rows = conn.execute(
        "SELECT reason, count(*) FROM rejected_readings GROUP BY reason ORDER BY 2 DESC, 1"
    ).fetchall()
    return {str(reason): int(n) for reason, n in rows}
