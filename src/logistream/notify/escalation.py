"""Escalation decisions (pure): which level an unacknowledged alert is due for, and when next.

An alert's track is kept in PostgreSQL (``notify_alerts``), updated in the same transaction as
the notifications a level produces, so a restart neither repeats a level nor forgets one.
Levels are timed from the moment the notifier first saw the alert open (wall clock), since the
alert's own ``opened_at`` is event time and may lie far in the past (a spooled truck).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from logistream.notify.routing import RoutingConfig, escalates, next_level_after

STATE_RANK: Final[dict[str, int]] = {"open": 0, "acknowledged": 1, "resolved": 2}


@dataclass(frozen=True, slots=True)
class Track:
    """What the notifier remembers of one alert (a row of ``notify_alerts``)."""

    alert_id: str
    state: str
    severity: str
    first_seen_at: float
    levels_done: int = 0
    next_level_at: float | None = None


def forward(old: str, new: str) -> str:
    """Alert state only moves forward: a replayed ``open`` never reopens an acknowledged alert."""
    return new if STATE_RANK.get(new, 0) >= STATE_RANK.get(old, 0) else old


def schedule(cfg: RoutingConfig, track: Track) -> Track:
    """``track`` with ``next_level_at`` set for its next level (None: nothing more to do)."""
    if track.state != "open" or not escalates(cfg, track.severity):
        return replace(track, next_level_at=None)
    after = next_level_after(cfg, track.levels_done)
    return replace(track, next_level_at=None if after is None else track.first_seen_at + after)


def on_change(
    cfg: RoutingConfig, existing: Track | None, alert_id: str, state: str, severity: str, now: float
) -> Track:
    """The track after an alert change arrives."""
    if existing is None:
        return schedule(cfg, Track(alert_id, state, severity, first_seen_at=now))
    return schedule(cfg, replace(existing, state=forward(existing.state, state)))


def is_due(track: Track, now: float) -> bool:
    return track.state == "open" and track.next_level_at is not None and track.next_level_at <= now


def escalated(cfg: RoutingConfig, track: Track) -> Track:
    """The track once its next level has been notified."""
    return schedule(cfg, replace(track, levels_done=track.levels_done + 1))
