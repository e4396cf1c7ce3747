"""What the Audit trail page shows and who may open it, without Streamlit or servers.

Who reads the trail is decided by :func:`can_read_audit_trail` alone: admins and quality
managers (issue 18), the carrier's staff only (a shipper's or receiver's account never opens the
page, whatever its role: ``serving.tenancy_data.page_access``).

The rows are shown for people: when in the display zone, who, from where (dashboard, CLI, API,
service), organisation ("carrier" for null: the carrier's own staff and systems), what (the
action), the subject (``kind id``), the change as a short diff of the changed top-level keys
only (:func:`diff_text`) and the reason. Choices where the issue is silent: the date range is
whole days in the display zone (from midnight of the first to midnight after the last); values
in the diff are compact JSON cut at :data:`VALUE_CHARS`, the whole diff at :data:`DIFF_CHARS`
(the CSV carries the full before and after JSON); a created subject (no before) lists its keys
as ``key: — -> value``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final

from logistream.audit.verify import VerifyResult
from logistream.display_time import EMPTY, show, zone
from logistream.reads.audit_log import AuditRow

AUDIT_READERS: Final = frozenset({"admin", "quality_manager"})
"""The roles that may read the audit trail."""
PAGE_ROWS: Final = 200
CSV_MAX_ROWS: Final = 100_000
"""At most this many filtered rows go into the CSV (newest first)."""
VALUE_CHARS: Final = 40
DIFF_CHARS: Final = 300
SOURCE_LABELS: Final = {"dashboard": "dashboard", "cli": "CLI", "api": "API", "service": "service"}
REFUSAL: Final = "Only administrators and quality managers read the audit trail; ask one of them."


def can_read_audit_trail(role: str) -> bool:
    """Whether ``role`` may open the Audit trail page (admins and quality managers)."""
    return role in AUDIT_READERS


def day_range(
    first: date | None, last: date | None, timezone: str
) -> tuple[datetime | None, datetime | None]:
    """``[midnight of first, midnight after last)`` in ``timezone`` (None: open on that side)."""
    tz = zone(timezone)

    def midnight(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz)

    start = None if first is None else midnight(first)
    end = None if last is None else midnight(last + timedelta(days=1))
    return start, end


def _value(value: Any, limit: int = VALUE_CHARS) -> str:
    if value is None:
        return "null"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str):
        text = value  # plain text reads better without quotes
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_text(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """``status: active -> cancelled; stage: 2 -> 3``: the top-level keys whose value changed
    (a key only on one side shows ``—`` on the other), sorted; ``—`` when nothing changed."""
    old = dict(before or {})
    new = dict(after or {})
    parts: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        if key in old and key in new and old[key] == new[key]:
            continue
        left = _value(old[key]) if key in old else EMPTY
        right = _value(new[key]) if key in new else EMPTY
        parts.append(f"{key}: {left} -> {right}")
    text = "; ".join(parts) if parts else EMPTY
    return text if len(text) <= DIFF_CHARS else text[: DIFF_CHARS - 1] + "…"


def organisation_label(organisation: str | None) -> str:
    return "carrier" if organisation is None else organisation


def table_rows(rows: Iterable[AuditRow], timezone: str) -> list[dict[str, Any]]:
    """One row per audit entry, columns for people."""
    return [
        {
            "#": r.seq,
            "When": show(r.at, timezone),
            "Who": r.actor,
            "From": SOURCE_LABELS.get(r.source, r.source),
            "Organisation": organisation_label(r.organisation),
            "What": r.action,
            "Subject": f"{r.subject_kind} {r.subject_id}",
            "Change": diff_text(r.before, r.after),
            "Reason": r.reason or "",
        }
        for r in rows
    ]


CSV_HEADER: Final = (
    "seq", "at_utc", "at_local", "actor", "source", "organisation", "action", "subject_kind",
    "subject_id", "change", "before", "after", "reason",
)  # fmt: skip


def csv_text(rows: Iterable[AuditRow], timezone: str) -> str:
    """The rows as CSV: the page's columns plus the UTC time and the full before/after JSON."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                r.seq,
                r.at.isoformat(),
                show(r.at, timezone),
                r.actor,
                r.source,
                r.organisation or "",
                r.action,
                r.subject_kind,
                r.subject_id,
                diff_text(r.before, r.after),
                "" if r.before is None else json.dumps(r.before, sort_keys=True),
                "" if r.after is None else json.dumps(r.after, sort_keys=True),
                r.reason or "",
            ]
        )
    return out.getvalue()


def chain_message(result: VerifyResult) -> tuple[bool, str]:
    """(intact?, the sentence): ``The chain is intact: 12 rows.`` or the first break."""
    broken = result.broken
    if broken is None:
        last = "" if result.last_seq is None else f" (last #{result.last_seq})"
        return True, f"The chain is intact: {result.rows} rows{last}."
    what = "altered" if broken.kind == "altered" else "deleted or rewritten rows"
    return False, (
        f"The chain breaks at row #{broken.seq} ({what}): {broken.detail}. "
        f"{result.rows} rows before it are intact."
    )
