"""The audit-trail rows that touched a trip or a shipment (issue 18: "the trip and shipment
reports list the changes that touched them"), read from ``audit_log`` (0060) in seq order on
the owner's or the reader's connection (both may SELECT ``audit_log`` and ``truck_modes``).

Which rows touched a report's period ``[start, end]`` of a truck:
- the shipment's rows (subject ``shipment`` = its id) and its lots' (``lot`` = ``<id>/<lot>``
  for each of its lots: PoDs, release decisions), when the report is a shipment's;
- every row of each mode of the truck (subject ``mode`` = its id) whose interval (starts_at to
  ``reads.modes.INTERVAL_END_SQL``) overlaps the period, whatever its status. Chosen where the
  issue is silent: unlike the "Operating modes" section (modes in force only), a mode that was
  requested and refused, or withdrawn while it waited, is listed too: a request to hold the
  alarms during a carriage and its refusal is exactly what an auditor looks for;
- the rules and cargo profiles files in force during the period: per file (subject kind
  ``rules_file`` or ``cargo_profiles``, id = file name) the last ``rules_file_changed`` row
  recorded before ``start``, and every one recorded inside the period.

Rows recorded after the moment of reading are not visible yet; a report issued later lists them.
Not listed (left for a later change): acknowledgement rows (subject ``alert``), which the
reports' alerts sections already show from ``alert_changes``; users' and tokens' rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from logistream.reads.modes import INTERVAL_END_SQL

if TYPE_CHECKING:
    import psycopg

CONFIG_KINDS: Final = ("rules_file", "cargo_profiles")
CONFIG_ACTION: Final = "rules_file_changed"

_COLUMNS: Final = (
    "seq, at, actor, source, organisation, action, subject_kind, subject_id, before, after, "
    "reason, row_hash"
)
_CONFIG: Final = "subject_kind = ANY(%(config_kinds)s) AND action = %(config_action)s"

_QUERY: Final = f"""
SELECT {_COLUMNS} FROM audit_log
WHERE subject_kind = 'shipment' AND subject_id = %(shipment)s
UNION ALL
SELECT {_COLUMNS} FROM audit_log WHERE subject_kind = 'lot' AND subject_id = ANY(%(lots)s)
UNION ALL
SELECT {_COLUMNS} FROM audit_log WHERE subject_kind = 'mode' AND subject_id IN (
    SELECT mode_id FROM truck_modes
    WHERE truck_id = %(truck)s AND starts_at <= %(end)s AND {INTERVAL_END_SQL} >= %(start)s)
UNION ALL
SELECT {_COLUMNS} FROM audit_log WHERE {_CONFIG} AND at >= %(start)s AND at <= %(end)s
UNION ALL
(SELECT DISTINCT ON (subject_kind, subject_id) {_COLUMNS} FROM audit_log
 WHERE {_CONFIG} AND at < %(start)s
 ORDER BY subject_kind, subject_id, seq DESC)
ORDER BY seq
"""
"""One indexed select per kind of row (``audit_log_subject``: kind and id), not an OR over the
whole log, which may hold millions of rows. The branches never share a row (their subject
kinds differ, and the two rules-file branches split on ``at``), so UNION ALL lists each once."""


@dataclass(frozen=True, slots=True)
class Change:
    """One row of the audit trail."""

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
    row_hash: str


def changes_touching(
    conn: psycopg.Connection[Any],
    truck_id: str,
    start: datetime | None,
    end: datetime | None,
    shipment_id: str | None = None,
    lots: Sequence[str] = (),
) -> list[Change]:
    """The rows that touched the truck's period ``[start, end]`` (and the shipment's, given
    one), in seq order: the chain's, which is also the order they were recorded in. No period
    (``start``/``end`` None: a shipment not loaded yet): the shipment's and its lots' rows only
    (SQL NULL compares to nothing). ``lots``: the shipment's lot numbers (a lot's rows have
    subject id ``<shipment>/<lot>``)."""
    from psycopg.rows import tuple_row

    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            _QUERY,
            {
                # No shipment: a NULL id matches no shipment or lot row.
                "shipment": shipment_id,
                "lots": [f"{shipment_id}/{lot}" for lot in lots] if shipment_id else [],
                "truck": truck_id,
                "start": start,
                "end": end,
                "config_action": CONFIG_ACTION,
                "config_kinds": list(CONFIG_KINDS),
            },
        )
        return [Change(int(r[0]), *r[1:]) for r in cur.fetchall()]
