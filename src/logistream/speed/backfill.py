"""Late readings: a gap in a truck's live readings, evaluated when its readings arrive later. Pure.

Trackers that lose GSM coverage store their readings and send them once back, often after newer
live ones (Teltonika devices do so by default). The live rules have moved on by then, so a late
reading cannot drive them without counting time twice. Instead, when a live reading follows a
silence longer than ``[backfill] min_gap_s``, the truck remembers the gap: the reading before
it, and the cargo-air rules' state as of that reading. Readings that arrive later with an event
time inside the gap are stepped through that saved state, in event-time order (a late reading
older than the last one stepped is a duplicate or out of order: dropped, as before). So the
same rules judge them as if they had come on time.

What they raise is marked late (``Alert.known_at``: the truck's newest event time when it
became known; ``opened_at`` stays the event time at which the condition began), and kept apart
from the live alerts: a late alert for a rule the live readings already have open is not
raised again (that one covers it), and a late alert still open while the live rules' state
shows its condition (the excursion ran on past the gap) becomes the live alert: one
excursion, one alert, resolved by the live readings. The gap's ``sensor_offline``, if
it had one, is re-published saying that its readings arrived later.

The gap is over when no late reading for it has arrived for ``[backfill] settle_min`` of the
truck's event time, or a new gap starts. Late alerts still open then are handed to the live
rules when the live readings show the same condition, and resolved otherwise (at the first
live reading after the gap, which did not show it). Only the cargo-air rules (plausibility,
temperature, time out of range) run on late readings: a trend, a door or a speed seen after
the fact calls for no action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import msgspec

from logistream.events import Alert, Reading
from logistream.speed import air, messages
from logistream.speed import alerts as lifecycle
from logistream.speed.rules import plausibility, temperature
from logistream.speed.rules.base import Raise, RuleContext, minutes

LATE_RULES: Final = frozenset(
    {"temp_high", "temp_low", "temp_critical", "tor_budget", plausibility.RULE}
)
"""The rules evaluated on late readings: those about the cargo's air."""
NOTE_AFTER_S: Final = 0.001
"""The gap's sensor_offline note is stamped at least this long after its resolution, so
that the archive (one row per alert, state and change time) keeps both."""


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    """A silence in a truck's live readings, whose readings may still arrive."""

    before: Reading
    """The last reading evaluated before the gap's remaining part: at first the live reading
    before the silence, then each late reading stepped."""
    end_ts: float
    """Event time of the first live reading after the silence."""
    temp: temperature.TempState
    """The cargo-air rules' state as of ``before``."""
    heard_at: float
    """The truck's newest event time when the gap opened or its last late reading arrived."""
    offline: Alert | None = None
    """The gap's sensor_offline alert, as it resolved (None: the gap was shorter)."""
    alerts: dict[str, Alert] = msgspec.field(default_factory=dict)
    """Late alerts opened from the gap's readings and still open, by rule."""
    count: int = 0
    """Late readings evaluated."""


def opened(
    before: Reading, end_ts: float, temp: temperature.TempState, changes: Iterable[Alert]
) -> Gap:
    """A gap between ``before`` and the live reading at ``end_ts``; ``changes``: the alert
    changes that reading made (its sensor_offline resolution, if any, is kept)."""
    offline = next(
        (c for c in changes if c.rule == "sensor_offline" and c.state == "resolved"), None
    )
    return Gap(before=before, end_ts=end_ts, temp=temp, heard_at=end_ts, offline=offline)


def covers(gap: Gap, ts: float) -> bool:
    """Whether a late reading at ``ts`` belongs to the gap's part not evaluated yet."""
    return gap.before.timestamp < ts < gap.end_ts


def _mark_late(alert: Alert, known_at: float) -> Alert:
    late_by = minutes(known_at - alert.opened_at)
    return msgspec.structs.replace(
        alert,
        known_at=known_at,
        message=f"{alert.message} (late: known {late_by} min after, from stored readings)",
    )


def evaluate(
    gap: Gap,
    reading: Reading,
    ctx: RuleContext,
    live_alerts: Mapping[str, Alert],
    known_at: float,
) -> tuple[Gap, list[Alert]]:
    """The gap after one more late reading (``covers`` it), and the alert changes it makes."""
    temp_s, _plausible, verdicts = air.step(gap.temp, reading, gap.before.timestamp, ctx)
    wanted = [
        v
        for v in verdicts
        if v.rule in LATE_RULES and not (isinstance(v, Raise) and v.rule in live_alerts)
    ]
    changes: list[Alert] = []
    if gap.count == 0 and gap.offline is not None:
        changes.append(_offline_note(gap.offline, known_at))
    at = lifecycle.Where(reading, ctx.waypoints, reading.probe_id)
    alerts, made = lifecycle.apply_verdicts(gap.alerts, wanted, at, ctx.config.severity)
    for change in made:
        if change.state == "open":
            change = _mark_late(change, known_at)
            alerts[change.rule] = change
        changes.append(change)
    new = msgspec.structs.replace(
        gap, before=reading, temp=temp_s, heard_at=known_at, alerts=alerts, count=gap.count + 1
    )
    return new, changes


def _offline_note(offline: Alert, known_at: float) -> Alert:
    at = max(known_at, offline.changed_at + NOTE_AFTER_S)
    return msgspec.structs.replace(
        offline,
        changed_at=at,
        message=f"{offline.message}; the readings of the gap arrived later (stored on the truck)",
    )


def adopt(
    gap: Gap, live_alerts: Mapping[str, Alert], live: Iterable[temperature.TempState]
) -> tuple[Gap, dict[str, Alert]]:
    """Late alerts whose condition the live rules' state shows (before or after the live
    reading at hand) become the live alerts: the live rules resolve them, and do not raise
    the same excursion again."""
    states = tuple(live)
    moving = {
        r: a
        for r, a in gap.alerts.items()
        if r not in live_alerts and any(_ongoing(r, t) for t in states)
    }
    if not moving:
        return gap, dict(live_alerts)
    kept = {r: a for r, a in gap.alerts.items() if r not in moving}
    return msgspec.structs.replace(gap, alerts=kept), {**live_alerts, **moving}


def _ongoing(rule: str, live: temperature.TempState) -> bool:
    """Whether the live rules' state shows the rule's condition (so its alert belongs there)."""
    if rule == "temp_high":
        return live.high_since is not None
    if rule == "temp_low":
        return live.low_since is not None
    if rule == "temp_critical":
        return live.critical or live.crit_since is not None
    if rule == plausibility.RULE:
        return live.plaus.fault
    return False


def close(
    gap: Gap, live: temperature.TempState, live_alerts: Mapping[str, Alert]
) -> tuple[dict[str, Alert], list[Alert]]:
    """The live alerts and the changes once the gap is over: each late alert still open is
    handed to the live rules if they show its condition, else resolved at the gap's end."""
    alerts = dict(live_alerts)
    changes: list[Alert] = []
    for rule, alert in gap.alerts.items():
        if rule not in alerts and _ongoing(rule, live):
            alerts[rule] = alert
            continue
        what = "not seen in the live readings after the gap"
        changes.append(
            msgspec.structs.replace(
                alert,
                state="resolved",
                changed_at=gap.end_ts,
                resolved_at=gap.end_ts,
                message=messages.resolved(
                    messages.who(alert.truck_id, alert.cargo, alert.probe_id), what
                ),
            )
        )
    return alerts, changes
