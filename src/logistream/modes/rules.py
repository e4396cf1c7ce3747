"""Who may set, end, approve or refuse a truck's operating mode, and what a mode must say (pure).

Every refusal is a :class:`~logistream.errors.Refused` whose message is one line that starts
with the field to blame and says what to do; its ``reason`` is ``invalid`` (the input cannot be
accepted: HTTP 422), ``forbidden`` (not this person: 403) or ``conflict`` (what is stored does
not allow it: 409).

Choices where the issue is silent:

- An end time at most :data:`MAX_AHEAD` (7 days) ahead. A mode holds the truck's temperature
  alarms, so a forgotten mode must not hide a real excursion for long; a week covers a workshop
  stay, and a longer job is set again when the week is over (with a fresh reason on record).
- The carrier is the organisation ``None`` (users and tokens made before organisations existed)
  or :data:`CARRIER` (the id the organisations migration gives the carrier). Only the carrier
  sets, ends, approves or refuses modes: a shipper's or receiver's user or token is refused.
- Setting and ending: a dashboard or CLI user with role dispatcher or admin, or an API token of
  the carrier (its ``shipments`` scope is checked by the API). A viewer is refused.
- Approving and refusing (a mode set on a truck with an active shipment): a carrier admin, who
  is not the person who set it. Over the API, a carrier token with the ``shipments`` scope
  counts as the carrier's admin systems (tokens are issued by an administrator with the
  owner's database access); it too must not bear the name of who set the mode. Names are
  compared whatever the source, so user ``ann`` cannot approve through a token named ``ann``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from logistream.errors import Refused
from logistream.modes.wire import MODE_KINDS

Role = Literal["viewer", "dispatcher", "admin", "quality_manager"]
Source = Literal["dashboard", "cli", "api"]

CARRIER: Final = "carrier"
"""The carrier's organisation id (``None`` means the carrier too: see the module docstring)."""
MAX_AHEAD: Final = timedelta(days=7)
MAX_REASON: Final = 500


@dataclass(frozen=True, slots=True)
class ModeActor:
    """Who acts on a mode: a dashboard or CLI user (with its role) or an API token (no role)."""

    name: str
    source: Source
    role: Role | None
    """The user's role; None for an API token."""
    organisation: str | None = None


def is_carrier(organisation: str | None) -> bool:
    return organisation is None or organisation == CARRIER


def invalid(field: str, fix: str) -> Refused:
    return Refused("invalid", f"{field}: {fix}", field=field)


def forbidden(field: str, fix: str) -> Refused:
    return Refused("forbidden", f"{field}: {fix}", field=field)


def conflict(field: str, fix: str) -> Refused:
    return Refused("conflict", f"{field}: {fix}", field=field)


def _who(actor: ModeActor) -> str:
    return f"token {actor.name!r}" if actor.role is None else f"user {actor.name!r}"


def check_may_set(actor: ModeActor) -> None:
    """A dispatcher or admin of the carrier (or a carrier token) sets and ends modes."""
    if not is_carrier(actor.organisation):
        raise forbidden(
            "organisation",
            f"{_who(actor)} acts for {actor.organisation!r}; only the carrier's dispatchers "
            "set or end a truck's mode",
        )
    if actor.role is not None and actor.role not in ("dispatcher", "admin"):
        raise forbidden(
            "role",
            f"user {actor.name!r} is a {actor.role}; a dispatcher or an admin sets or ends a mode "
            "(`logistream users set-role`)",
        )


def check_reason(reason: str, what: str = "why the truck is in this mode") -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise invalid("reason", f"missing; say {what}")
    if len(reason) > MAX_REASON:
        raise invalid("reason", f"at most {MAX_REASON} characters; say it shorter")
    return reason


def check_kind(kind: str) -> None:
    if kind not in MODE_KINDS:
        raise invalid("kind", f"{kind!r} is not a mode; use {', '.join(MODE_KINDS)}")


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    """The end after the start, at most :data:`MAX_AHEAD` after it (both aware)."""
    if ends_at <= starts_at:
        raise invalid(
            "ends_at",
            f"{ends_at.isoformat()} is not after now ({starts_at.isoformat()}); give "
            "a later end time",
        )
    if ends_at - starts_at > MAX_AHEAD:
        raise invalid(
            "ends_at",
            f"{ends_at.isoformat()} is more than {MAX_AHEAD.days} days ahead; set the mode "
            "for at most 7 days and set it again when they are over",
        )


def check_may_approve(actor: ModeActor, set_by: str) -> None:
    """A carrier admin (or a carrier token), not the one who set the mode."""
    if not is_carrier(actor.organisation):
        raise forbidden(
            "organisation",
            f"{_who(actor)} acts for {actor.organisation!r}; a carrier admin approves a mode",
        )
    if actor.name == set_by:
        raise forbidden(
            "approved_by",
            f"{actor.name!r} set this mode; a second person (another carrier admin) approves it",
        )
    if actor.role is not None and actor.role != "admin":
        raise forbidden(
            "role",
            f"user {actor.name!r} is a {actor.role}; a carrier admin approves or refuses a mode "
            "on a truck with an active shipment",
        )
