"""The "Changes on the record" section of the trip and shipment reports (issue 18), and how
the trip report's digest covers it.

The rows come from :func:`logistream.reads.audit_changes.changes_touching` (which says which
rows touch a trip or a carriage); each is listed with its seq, when, who, from where, the
action, the subject, the reason and a short "before -> after" (:func:`short_change`: the keys
that differ, each value cut to :data:`VALUE_CHARS`); the JSON keeps ``before`` and ``after``
whole and the row's chain hash.

Digest (chosen where the issue is silent): a trip report with no such rows keeps its digest
and format (readings, plus modes if any), so every report issued before keeps verifying and
being reused. With rows, the format gains ``+changes-v1`` and the digest is the SHA-256 of the
previous digest (hex) and LF followed by one canonical line (:func:`digest.canonical_line`)
per row: ``change``, seq, row_hash. The chain hash covers every field of the row and the rows
before it, so the line commits to the whole change; a change recorded later (a mode ended, a
rules file changed during the trip) gives a new version, as a mode did. The shipment report
versions by the fingerprint of its whole content, which covers the section too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from logistream.batch.reports.digest import canonical_line
from logistream.reads.audit_changes import changes_touching

if TYPE_CHECKING:
    import psycopg

CHANGES_FORMAT_SUFFIX: Final = "+changes-v1"
VALUE_CHARS: Final = 40
CHANGE_CHARS: Final = 200

Section = list[dict[str, Any]]


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def short_change(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """The change in one short line: ``key: old -> new`` for each key whose value differs
    (sorted; a key only on one side shows ``-`` on the other), at most :data:`CHANGE_CHARS`."""
    b = before or {}
    a = after or {}
    parts = [
        f"{k}: {_value(b[k]) if k in b else '-'} -> {_value(a[k]) if k in a else '-'}"
        for k in sorted(set(b) | set(a))
        if b.get(k) != a.get(k) or (k in b) != (k in a)
    ]
    text = "; ".join(parts)
    return text if len(text) <= CHANGE_CHARS else text[: CHANGE_CHARS - 1] + "…"


def changes_section(
    conn: psycopg.Connection[Any],
    truck_id: str,
    start: datetime | None,
    end: datetime | None,
    shipment_id: str | None = None,
    lots: Sequence[str] = (),
) -> Section:
    """The rows that touched the period (and the shipment), oldest first (datetimes, made
    JSON-ready by the caller); no period: the shipment's rows only."""
    return [
        {
            "seq": c.seq,
            "at": c.at,
            "actor": c.actor,
            "source": c.source,
            "organisation": c.organisation,
            "action": c.action,
            "subject_kind": c.subject_kind,
            "subject_id": c.subject_id,
            "reason": c.reason,
            "change": short_change(c.before, c.after),
            "before": c.before,
            "after": c.after,
            "row_hash": c.row_hash,
        }
        for c in changes_touching(conn, truck_id, start, end, shipment_id, lots)
    ]


def changes_lines(section: Section) -> list[bytes]:
    """The section's canonical lines, in seq order."""
    return [canonical_line(["change", c["seq"], c["row_hash"]]) for c in section]


def with_changes(digest: str, digest_format: str, section: Section) -> tuple[str, str]:
    """The report's digest and format: unchanged without rows, else covering them too."""
    if not section:
        return digest, digest_format
    h = hashlib.sha256((digest + "\n").encode("ascii"))
    for line in changes_lines(section):
        h.update(line)
    return h.hexdigest(), digest_format + CHANGES_FORMAT_SUFFIX
