"""The audit trail (``audit_log``, migration 0060) as the Audit trail page reads it, on the
reader's connection: a filter (:class:`TrailFilter`) turned into SQL text and parameters
(:func:`where_clause`, :func:`page_query`; pure, unit-tested), a page of rows newest first, all
the filtered rows (capped) for the CSV, and the subject kinds and actions present (the page's
choices).

Why not ``audit/listing.py``'s query: it matches the subject exactly, has no source, action or
end-of-range filter and no offset; the page needs those (the subject id matches by "contains").
Choices where the issue is silent: the subject id filter is case-insensitive, with ``%`` and
``_`` taken literally; actor, source, action and kind match exactly; the range is
``start <= at < end``; rows are ordered by ``seq`` (the chain's order, which is also ``at``'s).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import psycopg

COLUMNS: Final = (
    "seq, at, actor, source, organisation, action, subject_kind, subject_id, before, after, reason"
)


@dataclass(frozen=True, slots=True)
class TrailFilter:
    """What the page filters on; None (or empty text) means any."""

    kind: str | None = None
    subject_contains: str | None = None
    actor: str | None = None
    source: str | None = None
    action: str | None = None
    start: datetime | None = None
    """Inclusive."""
    end: datetime | None = None
    """Exclusive."""


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    source: str
    organisation: str | None
    action: str
    subject_kind: str
    subject_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


def like_pattern(text: str) -> str:
    """``text`` as an ILIKE "contains" pattern, its ``%``, ``_`` and ``\\`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def where_clause(wanted: TrailFilter) -> tuple[str, list[Any]]:
    """`` WHERE ...`` (or empty) and its parameters, in order."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("subject_kind", wanted.kind),
        ("actor", wanted.actor),
        ("source", wanted.source),
        ("action", wanted.action),
    ):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    if wanted.subject_contains:
        where.append("subject_id ILIKE %s")
        params.append(like_pattern(wanted.subject_contains))
    if wanted.start is not None:
        where.append("at >= %s")
        params.append(wanted.start)
    if wanted.end is not None:
        where.append("at < %s")
        params.append(wanted.end)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def page_query(wanted: TrailFilter, limit: int, offset: int = 0) -> tuple[str, list[Any]]:
    """The SELECT of ``limit`` rows from ``offset``, newest first."""
    if limit < 1 or offset < 0:
        raise ValueError(f"limit {limit} must be >= 1 and offset {offset} >= 0")
    condition, params = where_clause(wanted)
    sql = f"SELECT {COLUMNS} FROM audit_log{condition} ORDER BY seq DESC LIMIT %s OFFSET %s"
    return sql, [*params, limit, offset]


def fetch(
    conn: psycopg.Connection[Any], wanted: TrailFilter, limit: int, offset: int = 0
) -> list[AuditRow]:
    """``limit`` filtered rows from ``offset``, newest first."""
    from psycopg.rows import tuple_row

    sql, params = page_query(wanted, limit, offset)
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(sql, params)
        return [AuditRow(int(r[0]), *r[1:]) for r in cur.fetchall()]


def choices(conn: psycopg.Connection[Any]) -> tuple[list[str], list[str]]:
    """The subject kinds and the actions present in the log, sorted."""
    from psycopg.rows import tuple_row

    with conn.cursor(row_factory=tuple_row) as cur:
        kinds = [
            str(r[0])
            for r in cur.execute(
                "SELECT DISTINCT subject_kind FROM audit_log ORDER BY 1"
            ).fetchall()
        ]
        actions = [
            str(r[0])
            for r in cur.execute("SELECT DISTINCT action FROM audit_log ORDER BY 1").fetchall()
        ]
    return kinds, actions
