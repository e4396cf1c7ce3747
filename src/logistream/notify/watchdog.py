"""Is the pipeline alive? The speed layer's heartbeat in the live views and the bridge's in
PostgreSQL.

A missing heartbeat counts as stale: silence must never be mistaken for a quiet fleet. Each
component is reported once when it stalls and once when it recovers; the last verdict is kept in
``notify_watchdog`` so a restart does not repeat it. :func:`assess` and :func:`transition` are
pure; the readers are the I/O edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from logistream.live_views import LiveViews


@dataclass(frozen=True, slots=True)
class Verdict:
    component: str
    stalled: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Known:
    """The last verdict reported for a component (a row of ``notify_watchdog``)."""

    stalled: bool
    since: float


def assess(component: str, age_s: float | None, stale_s: float) -> Verdict:
    if age_s is None:
        return Verdict(component, True, "no heartbeat")
    if age_s > stale_s:
        return Verdict(component, True, f"last heartbeat {age_s:.0f} s ago")
    return Verdict(component, False, f"heartbeat {age_s:.0f} s ago")


def transition(known: Known | None, verdict: Verdict) -> bool:
    """Whether ``verdict`` must be reported: a change, or a first stall (a first "all fine" is
    not news)."""
    if known is None:
        return verdict.stalled
    return known.stalled != verdict.stalled


def speed_age(views: LiveViews, now: float) -> float | None:
    """Age of the freshest speed-layer heartbeat (None: none)."""
    beat = views.heartbeat(now=now)
    return beat.age_s if beat is not None else None


def bridge_age(conn: psycopg.Connection[Any], group: str, now: float) -> float | None:
    """Age of the bridge's freshest commit or idle heartbeat (None: none)."""
    from logistream.reads import heartbeats

    return heartbeats.bridge_age(heartbeats.bridge_beats(conn, group), now)
