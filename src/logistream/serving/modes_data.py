"""What the Operating modes page shows and who sees which form, without Streamlit or servers.

The page (``screens/modes.py``) lists the modes not over yet ("Now": waiting for approval or in
force) and the recent ones that are over (ended, refused), each a row of :func:`mode_rows` with
its times in the display zone. Who sees what mirrors ``modes/rules.py`` (the store still
decides and refuses): a carrier dispatcher or admin gets the forms to set and end a mode, a
carrier admin the modes waiting for approval, a viewer (or a shipper's or receiver's user) the
lists only. The end time is typed as in the CLI's ``--until`` (ISO 8601, in the display zone
unless it carries an offset), prefilled by :func:`default_until`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from logistream.display_time import EMPTY, in_zone, show
from logistream.modes.rules import is_carrier
from logistream.modes.store import StoredMode

SET_ROLES: Final = ("dispatcher", "admin")
APPROVE_ROLES: Final = ("admin",)
RECENT: Final = 30
"""How many modes that are over the page lists (the newest)."""
DEFAULT_HOURS: Final = 4
"""The end time the form proposes: this many hours from now."""

STATUS_LABELS: Final = {
    "pending_approval": "waiting for approval",
    "active": "in force",
    "ended": "ended",
    "refused": "refused",
}


def can_set(role: str, organisation: str | None) -> bool:
    """Set and end modes: a carrier dispatcher or admin."""
    return role in SET_ROLES and is_carrier(organisation)


def can_approve(role: str, organisation: str | None) -> bool:
    """Approve or refuse a mode waiting for approval: a carrier admin."""
    return role in APPROVE_ROLES and is_carrier(organisation)


def over(modes: Iterable[StoredMode], now: datetime) -> list[StoredMode]:
    """The newest :data:`RECENT` modes that are over as of ``now`` (ended, past their end time,
    or refused), in the given order (the store's: newest first)."""
    return [m for m in modes if m.shown_status(now) in ("ended", "refused")][:RECENT]


def mode_rows(modes: Iterable[StoredMode], timezone: str, now: datetime) -> list[dict[str, Any]]:
    """One table row per mode: truck, kind, reason, from-to (display zone), set by, status,
    approved (or refused) by, and how it ended early."""
    rows: list[dict[str, Any]] = []
    for m in modes:
        status = m.shown_status(now)
        ended = ""
        if m.ended_by is not None:
            ended = f"ended by {m.ended_by}: {m.end_reason or ''}".rstrip(": ")
        rows.append(
            {
                "Truck": m.truck_id,
                "Kind": m.kind,
                "Reason": m.reason,
                "From": show(m.starts_at, timezone, seconds=False),
                "To": show(m.ended_at or m.ends_at, timezone, seconds=False),
                "Set by": f"{m.set_by} ({m.set_source})",
                "Status": STATUS_LABELS.get(status, status),
                "Approved by": (
                    f"refused by {m.approved_by}" if status == "refused" and m.approved_by
                    else m.approved_by or EMPTY
                ),
                "Ended early": ended or EMPTY,
                "Mode": m.mode_id,
            }
        )  # fmt: skip
    return rows


def default_until(now: datetime, timezone: str) -> str:
    """The form's proposed end time: :data:`DEFAULT_HOURS` from now, to the minute, in the
    display zone, written as ``--until`` takes it (``2026-12-07T18:00``)."""
    return in_zone(now + timedelta(hours=DEFAULT_HOURS), timezone).strftime("%Y-%m-%dT%H:%M")


def pending_label(mode: StoredMode, timezone: str) -> str:
    """A mode waiting for approval, in the approval form's list."""
    return (
        f"{mode.truck_id} {mode.kind} until {show(mode.ends_at, timezone, seconds=False)} "
        f"(set by {mode.set_by}: {mode.reason})"
    )
