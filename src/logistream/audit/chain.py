"""The audit log's hash chain, pure: each row's hash covers the previous row's hash and a
canonical encoding of the row's own fields, so altering or deleting a row breaks the chain.

``row_hash = sha256(prev_hash_hex_ascii + canonical_json(fields))`` where the fields are seq,
at (ISO 8601 in UTC with microseconds and a ``Z``: :func:`iso_utc`, or the same text made by
the server, ``verify.AT_TEXT``), actor, source, organisation, action,
subject_kind, subject_id, before, after and reason; canonical JSON = sorted keys, no spaces,
UTF-8 (not ASCII-escaped), NaN and infinities refused. The first row's ``prev_hash`` is
:data:`GENESIS_HASH` (64 zeros).

``before`` and ``after`` must be JSON values as PostgreSQL's ``jsonb`` hands them back
(``trail.record`` round-trips them through the server before hashing), so the hash computed
at append time and the one recomputed by ``verify`` read the same values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first row."""


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One audit row's hashed fields (everything but prev_hash and row_hash)."""

    seq: int
    at: datetime | str  # a datetime, or already its iso_utc() text (verify reads it so)
    actor: str
    source: str
    organisation: str | None
    action: str
    subject_kind: str
    subject_id: str
    before: Any
    after: Any
    reason: str | None


def iso_utc(at: datetime) -> str:
    """``2026-12-07T17:53:30.000123Z``: always microseconds, always UTC."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# One encoder for every row: json.dumps with options builds a new encoder per call, a third of
# verify's time over a million rows.
_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8; NaN/Infinity refused (not JSON)."""
    return _ENCODER.encode(value).encode("utf-8")


def canonical_fields(row: ChainRow) -> Mapping[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at if isinstance(row.at, str) else iso_utc(row.at),
        "actor": row.actor,
        "source": row.source,
        "organisation": row.organisation,
        "action": row.action,
        "subject_kind": row.subject_kind,
        "subject_id": row.subject_id,
        "before": row.before,
        "after": row.after,
        "reason": row.reason,
    }


def row_hash(prev_hash: str, row: ChainRow) -> str:
    """The hex sha256 that row ``row`` carries when the row before it carries ``prev_hash``."""
    return hashlib.sha256(
        prev_hash.encode("ascii") + canonical_json(canonical_fields(row))
    ).hexdigest()
