"""Times shown to people: in the display time zone (``LOGISTREAM_TIMEZONE``), zone named.

LogiStream stores and exchanges times in UTC (epoch seconds on the wire, ISO 8601 with
``+00:00`` in JSON and CSV). Whatever a person reads (a PDF, a terminal listing) is in the
display zone instead, each time carrying its zone's abbreviation, so a reader in Nairobi sees the
clock on the wall and nobody has to guess which zone a time is in. Layer-free: any layer may use it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EMPTY = "—"
"""What a missing time shows as."""
DEFAULT_ZONE_NAME = "Africa/Nairobi"
"""Where the fleet runs: the display zone unless ``LOGISTREAM_TIMEZONE`` names another."""


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``Africa/Nairobi``, ``UTC``).

    Raises ``ValueError`` with a sentence a person can act on when there is no such zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone name; use an IANA name such as Africa/Nairobi or UTC"
        ) from None


def in_zone(moment: float | str | datetime, timezone: str) -> datetime:
    """``moment`` (epoch seconds, ISO 8601 text or a datetime) as a datetime in ``timezone``.

    An ISO text or datetime without an offset is taken as UTC, as LogiStream stores times.
    """
    if isinstance(moment, int | float):
        when = datetime.fromtimestamp(float(moment), UTC)
    else:
        when = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return when.astimezone(zone(timezone))


def show(moment: float | str | datetime | None, timezone: str, *, seconds: bool = True) -> str:
    """``2025-03-03 08:00:00 EAT``: a time for people, in ``timezone``, its zone abbreviated."""
    if moment is None or moment == "":
        return EMPTY
    pattern = "%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z"
    return in_zone(moment, timezone).strftime(pattern)


def zone_note(timezone: str, at: float | str | datetime | None = None) -> str:
    """``Africa/Nairobi (EAT, UTC+03:00)``: which zone the times are in, for a heading.

    The offset is the one in force at ``at`` (default: now), since it moves with summer time.
    """
    local = in_zone(datetime.now(UTC) if at is None or at == "" else at, timezone)
    offset = local.strftime("%z")
    sign, hours, minutes = offset[:1] or "+", offset[1:3] or "00", offset[3:5] or "00"
    return f"{timezone} ({local.strftime('%Z')}, UTC{sign}{hours}:{minutes})"
