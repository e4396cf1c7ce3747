"""The "Operating modes" section of the trip and shipment reports (issue 18), and how the trip
report's digest covers it.

Each mode interval of the truck overlapping the trip (or a lot's carriage) is listed with its
kind, reason, interval, who set it and who approved it (``reads.modes``: only modes that were
in force), and the alarms the speed layer held in it: the ``suppressed`` alert changes whose id
ends in ``:held:<mode_id>`` (``speed/mode_hold.py`` names them so), within the period, each
with its rule, probe, time and message.

Digest (chosen where the issue is silent): a trip without modes keeps the plain
``logistream-readings-v1`` digest, so every report issued before keeps verifying and being
reused. A trip with modes gets ``logistream-readings-v1+modes-v1``: the SHA-256 of the readings'
digest (hex) and LF, followed by one canonical line (:func:`digest.canonical_line`) per mode
(``mode``, mode id, kind, reason, start and end in whole microseconds since the epoch, set by,
approved by) and after each mode one per held alarm (``held``, alert id, rule, probe, time in
microseconds, message). A mode set, ended or approved later, or an alarm held later, changes the
digest and so issues a new version. The shipment report's readings digest stays as it is (its
``verify`` recomputes it from the archive); its fingerprint, which decides its versions, covers
the section as it covers all the content.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from logistream.batch.reports.digest import DIGEST_FORMAT, canonical_line
from logistream.reads.modes import mode_intervals

if TYPE_CHECKING:
    import psycopg

MODES_DIGEST_FORMAT: Final = f"{DIGEST_FORMAT}+modes-v1"
HELD_MARK: Final = ":held:"
"""How a suppressed change's id names its mode (``speed.mode_hold.HELD_MARK``; the batch layer
may not import the speed layer)."""

Section = list[dict[str, Any]]


def modes_section(
    conn: psycopg.Connection[Any], truck_id: str, start: datetime, end: datetime
) -> Section:
    """The truck's mode intervals overlapping ``[start, end]``, each with the alarms held in it
    within that period (oldest first; datetimes, made JSON-ready by the caller)."""
    modes = mode_intervals(conn, truck_id, start, end)
    if not modes:
        return []
    cur = conn.execute(
        "SELECT DISTINCT ON (alert_id) alert_id, rule, coalesce(probe_id, '') AS probe_id, "
        "opened_at, message FROM alert_changes "
        "WHERE truck_id = %s AND state = 'suppressed' AND opened_at BETWEEN %s AND %s "
        "ORDER BY alert_id, changed_at",
        [truck_id, start, end],
    )
    held = [
        {"alert_id": r[0], "rule": r[1], "probe_id": r[2], "at": r[3], "message": r[4]}
        for r in cur.fetchall()
    ]
    held.sort(key=lambda h: (h["at"], h["alert_id"]))
    return [
        {
            "mode_id": m.mode_id,
            "kind": m.kind,
            "reason": m.reason,
            "starts_at": m.starts_at,
            "ends_at": m.ends_at,
            "ended_early": m.ended_early,
            "set_by": m.set_by,
            "approved_by": m.approved_by,
            "held": [h for h in held if h["alert_id"].endswith(HELD_MARK + m.mode_id)],
        }
        for m in modes
    ]


def _us(value: datetime) -> int:
    return round(value.timestamp() * 1_000_000)


def modes_lines(section: Section) -> list[bytes]:
    """The section's canonical lines, in its order (a mode, then the alarms held in it)."""
    lines: list[bytes] = []
    for m in section:
        lines.append(
            canonical_line(
                [
                    "mode",
                    m["mode_id"],
                    m["kind"],
                    m["reason"],
                    _us(m["starts_at"]),
                    _us(m["ends_at"]),
                    m["set_by"],
                    m["approved_by"],
                ]
            )
        )
        for h in m["held"]:
            lines.append(
                canonical_line(
                    ["held", h["alert_id"], h["rule"], h["probe_id"], _us(h["at"]), h["message"]]
                )
            )
    return lines


def with_modes(readings_digest: str, section: Section) -> tuple[str, str]:
    """The report's digest and its format: the readings' alone without modes, else both."""
    if not section:
        return readings_digest, DIGEST_FORMAT
    h = hashlib.sha256((readings_digest + "\n").encode("ascii"))
    for line in modes_lines(section):
        h.update(line)
    return h.hexdigest(), MODES_DIGEST_FORMAT
