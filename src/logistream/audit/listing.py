"""``logistream audit list``: the filter (pure: SQL text and parameters), parsing ``--since``,
and the rows as lines for people (times in the display zone, ``display_time``).

Choices where the issue is silent: newest first (what someone looking at the log wants), at
most ``--limit`` rows (default 50); ``--since`` takes a day (``2026-12-08``, midnight in the
display zone) or an ISO time (with an offset, or read in the display zone); ``--actor`` and
``--subject`` match exactly; before/after are shown as compact JSON cut at 120 characters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from logistream.display_time import show, zone
from logistream.errors import Refused

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 100_000
_SHOWN_JSON: Final = 120


@dataclass(frozen=True, slots=True)
class AuditFilter:
    kind: str | None = None
    subject: str | None = None
    actor: str | None = None
    since: datetime | None = None
    limit: int = DEFAULT_LIMIT


def parse_since(text: str, timezone: str) -> datetime:
    """A day (midnight in ``timezone``) or an ISO time (no offset: in ``timezone``)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=zone(timezone))
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(
            "malformed",
            f"--since {text!r}: give a day (2026-12-08) or a time (2026-12-08T14:30)",
            field="since",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone(timezone))


def list_query(wanted: AuditFilter) -> tuple[str, list[Any]]:
    """The SELECT for ``wanted``: newest first, at most ``wanted.limit`` rows."""
    if not 1 <= wanted.limit <= MAX_LIMIT:
        raise Refused("out_of_range", f"--limit: 1 to {MAX_LIMIT}", field="limit")
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("subject_kind", wanted.kind),
        ("subject_id", wanted.subject),
        ("actor", wanted.actor),
    ):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if wanted.since is not None:
        where.append("at >= %s")
        params.append(wanted.since)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    params.append(wanted.limit)
    sql = (
        "SELECT seq, at, actor, source, organisation, action, subject_kind, subject_id, "
        f"before, after, reason FROM audit_log{condition} ORDER BY seq DESC LIMIT %s"
    )
    return sql, params


def _compact(value: Any) -> str:
    if value is None:
        return "—"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _SHOWN_JSON else text[: _SHOWN_JSON - 1] + "…"


def format_row(row: tuple[Any, ...], timezone: str) -> str:
    """``#12 2026-12-08 05:00:00 EAT alice (dashboard, acme) cancel shipment S-1: {..} -> {..}
    (reason)``."""
    seq, at, actor, source, organisation, action, kind, subject, before, after, reason = row
    who = f"{actor} ({source}{', ' + organisation if organisation else ''})"
    line = (
        f"#{seq} {show(at, timezone)} {who} {action} {kind} {subject}: "
        f"{_compact(before)} -> {_compact(after)}"
    )
    return f"{line} ({reason})" if reason else line
