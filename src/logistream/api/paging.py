"""Keyset paging (pure): opaque cursors that name the last row a page ended on.

Keyset, not OFFSET: page n costs the same as page 1, and rows arriving meanwhile (late
readings) never shift a page boundary so that a row is skipped or shown twice.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Final

import msgspec

from logistream.errors import Refused

DEFAULT_LIMIT: Final = 500
MAX_LIMIT: Final = 5000


class BadCursor(Refused):
    """The cursor was not made by this API (or was cut short)."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_cursor", detail, field="cursor")


def encode_cursor(kind: str, *key: Any) -> str:
    """A URL-safe cursor for ``kind`` (so a trips cursor is refused on readings) and ``key``."""
    plain = [k.isoformat() if isinstance(k, datetime) else k for k in key]
    raw = msgspec.json.encode([kind, *plain])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, types: tuple[type, ...]) -> tuple[Any, ...]:
    """The key of a cursor made by :func:`encode_cursor`; ``types`` are the key's types."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError) as error:
        raise BadCursor(_bad(kind)) from error
    if not isinstance(values, list) or len(values) != len(types) + 1 or values[0] != kind:
        raise BadCursor(_bad(kind))
    out: list[Any] = []
    for want, value in zip(types, values[1:], strict=True):
        try:
            if want is datetime:
                parsed = datetime.fromisoformat(str(value))
                if parsed.tzinfo is None:
                    raise BadCursor(_bad(kind))
                out.append(parsed)
            elif want is str and isinstance(value, str):
                out.append(value)
            else:
                raise BadCursor(_bad(kind))
        except ValueError as error:
            raise BadCursor(_bad(kind)) from error
    return tuple(out)


def _bad(kind: str) -> str:
    return (
        f"cursor: not a {kind} cursor from this API; pass the next_cursor of the previous "
        "page unchanged, or leave it out to start at the beginning"
    )


def split_page(rows: list[Any], limit: int) -> tuple[list[Any], bool]:
    """The first ``limit`` rows and whether more follow (the query asks for ``limit + 1``)."""
    return rows[:limit], len(rows) > limit
