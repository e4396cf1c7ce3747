"""Sensor offline: no reading from an active truck for too long, in event time.

Two ways to see it, giving the same alert (its id comes from the last reading before the
silence, its opening time is that reading's time plus the limit):
- live, when the processor's watermark (the fleet's event time, minus an allowed lateness)
  passes the limit; the fleet's time is what at least three trucks have reached
  (:func:`fleet_clock`), so one truck whose clock runs ahead cannot make the others look silent;
- afterwards, when the truck's next reading shows a gap longer than the limit; then the alert
  opens and resolves at once, so a replay or another process count never loses it.

Some silences are not offline (:func:`excused`): a truck whose last reading is parked at either
end of its registry route has ended its trip (:func:`trip_ended`; rules.toml [offline] says why
this signal), and a truck not in the fleet registry was never expected to report (it is listed
by `logistream trucks unknown` for an admin to add to the registry). And a truck whose readings
always reach us some minutes behind the fleet is late, not silent: the watermark check allows it
its own learned delay (:func:`learned_delay`), so it does not open and close the alert over
and over.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection
from typing import Final

from logistream.events import Reading
from logistream.geo import haversine_km
from logistream.registry.rules import OfflineConfig
from logistream.speed.rules.base import (
    NO_VERDICTS,
    Clear,
    LatLon,
    Raise,
    RuleContext,
    Verdict,
    minutes,
)

RULE = "sensor_offline"
QUORUM: Final = 3
"""Trucks that must have reached an event time before it counts as the fleet's time."""
DELAY_DECAY: Final = 0.9
"""Per reading, how much of a learned delay survives a reading that arrived sooner."""


def trip_ended(last: Reading, route: tuple[LatLon, ...] | None, cfg: OfflineConfig) -> bool:
    """Whether ``last`` shows the truck parked at either end of its route (trip over)."""
    if not route or last.lat is None or last.lon is None:
        return False
    if last.speed_kmh is not None and last.speed_kmh > cfg.parked_kmh:
        return False
    return any(
        haversine_km(last.lat, last.lon, lat, lon) <= cfg.trip_end_km
        for lat, lon in (route[0], route[-1])
    )


def excused(last: Reading, ctx: RuleContext) -> bool:
    """Whether a silence after ``last`` needs no sensor_offline: the truck is not in the fleet
    registry, or ``last`` ended its trip."""
    return not ctx.registered or trip_ended(last, ctx.route, ctx.config.offline)


def learned_delay(previous_s: float, reading_ts: float, fleet_time: float | None) -> float:
    """A truck's delivery delay after one more reading: how far behind the fleet's event time
    its readings arrive. Rises at once to a longer delay, decays slowly after shorter ones."""
    if fleet_time is None:
        return previous_s * DELAY_DECAY
    delay = max(0.0, fleet_time - reading_ts)
    return delay if delay >= previous_s else previous_s * DELAY_DECAY + delay * (1 - DELAY_DECAY)


def fleet_clock(last_times: Collection[float], quorum: int = QUORUM) -> float | None:
    """The newest event time reached by ``quorum`` trucks (fewer in a small fleet).

    Never the newest single reading: a device whose clock is minutes ahead (the contract lets
    5 minutes through), or a test message stamped "now" among a sped-up simulation's past
    readings, would otherwise push every other truck past its silence limit. Among n trucks
    at most n - 1 are needed, so a silent truck is never needed to vouch for its own silence.
    """
    if not last_times:
        return None
    needed = max(1, min(quorum, len(last_times) - 1))
    return heapq.nlargest(needed, last_times)[-1]


def _raise(last_ts: float, last_event_id: str, cfg: OfflineConfig) -> Raise:
    # Everything here depends on the last reading only, so live and late detection agree.
    return Raise(
        RULE,
        last_event_id,
        last_ts + cfg.offline_s,
        f"sent no reading for {minutes(cfg.offline_s)} min",
        "check the telematics unit",
        value=cfg.offline_s / 60.0,
        threshold=cfg.offline_s / 60.0,
    )


def on_watermark(
    last_ts: float,
    last_event_id: str,
    watermark: float,
    is_open: bool,
    cfg: OfflineConfig,
    *,
    delay_s: float = 0.0,
    excused: bool = False,
) -> tuple[Verdict, ...]:
    """Verdicts when the watermark advances past a truck's last reading (``delay_s``: the
    truck's learned delay; ``excused``: its silence needs no alert, see :func:`excused`)."""
    silent = watermark - last_ts - delay_s
    if excused or is_open or silent <= cfg.offline_s or silent > cfg.inactive_after_s:
        return NO_VERDICTS
    return (_raise(last_ts, last_event_id, cfg),)


def on_reading(
    last_ts: float | None,
    last_event_id: str | None,
    ts: float,
    is_open: bool,
    cfg: OfflineConfig,
    *,
    excused: bool = False,
) -> tuple[Verdict, ...]:
    """Verdicts when an in-order reading arrives after the truck's previous one (``excused``:
    the silence since the previous reading needs no alert, see :func:`excused`)."""
    if last_ts is None or last_event_id is None:
        return NO_VERDICTS
    gap = ts - last_ts
    if is_open and gap <= cfg.offline_s:
        # Opened by the watermark, but the readings show no gap: they were late, not missing.
        return (Clear(RULE, ts, "reporting: its readings arrive late, it was not silent"),)
    # The common case (a reading on time) makes no verdict: build the message only when needed.
    if is_open:
        return (_back(ts, gap),)
    if not excused and cfg.offline_s < gap <= cfg.inactive_after_s:
        return (_raise(last_ts, last_event_id, cfg), _back(ts, gap))
    return NO_VERDICTS


def _back(ts: float, gap: float) -> Clear:
    return Clear(RULE, ts, f"reporting again after {minutes(gap)} min")
