"""Runs every rule on one reading and turns their verdicts into alert changes: one pure step.

Event time throughout. A reading not newer than the truck's newest never drives the live rules,
so no time is counted twice. If it falls in a silence of the truck's live readings (sent late
from the truck's store), the cargo-air rules evaluate it apart (:mod:`backfill`); otherwise
(a duplicate, or out of order with nothing missing) it is reported as not accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import msgspec

from logistream.events import Alert, AlertCommand, Reading, Severity
from logistream.registry import Registry
from logistream.registry.rules import RulesConfig
from logistream.speed import air, backfill
from logistream.speed import alerts as lifecycle
from logistream.speed.rules import (
    door,
    driving,
    fuel,
    offline,
    route,
    trend,
)
from logistream.speed.rules.base import RuleContext, Verdict
from logistream.speed.state import TruckState

NO_CHANGES: Final[tuple[Alert, ...]] = ()


@dataclass(frozen=True, slots=True)
class Step:
    state: TruckState
    changes: tuple[Alert, ...] = NO_CHANGES
    accepted: bool = True
    late: bool = False
    """An accepted reading older than the truck's newest (a gap's late reading): it changed
    no live rule state."""


class Contexts:
    """Rule contexts from the registry, built once per (truck, cargo)."""

    def __init__(self, registry: Registry, config: RulesConfig) -> None:
        self.registry = registry
        self.config = config
        self._cache: dict[tuple[str, str | None], RuleContext] = {}
        self._all_waypoints = tuple(w for r in registry.routes.values() for w in r.waypoints)

    def get(self, truck_id: str, cargo: str | None) -> RuleContext:
        key = (truck_id, cargo)
        ctx = self._cache.get(key)
        if ctx is None:
            truck = self.registry.truck(truck_id)
            planned = self.registry.routes.get(truck.route) if truck is not None else None
            ctx = RuleContext(
                config=self.config,
                profile=self.registry.profile_for(cargo),
                route=tuple((w.lat, w.lon) for w in planned.waypoints) if planned else None,
                tank_litres=(truck.tank_litres if truck else self.config.fuel.default_tank_litres),
                waypoints=planned.waypoints if planned else self._all_waypoints,
                registered=truck is not None,
            )
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = ctx
        return ctx


def _apply(
    state: TruckState,
    alerts: Mapping[str, Alert],
    verdicts: list[Verdict],
    reading: Reading,
    ctx: RuleContext,
    severity: Mapping[str, Severity],
) -> tuple[dict[str, Alert], list[Alert]]:
    at = lifecycle.Where(reading, ctx.waypoints)
    return lifecycle.apply_verdicts(alerts, verdicts, at, severity)


def process(
    state: TruckState,
    reading: Reading,
    partition: int,
    ctx: RuleContext,
    fleet_time: float | None = None,
) -> Step:
    """The truck's state after ``reading`` and the alert changes it causes (``fleet_time``:
    the fleet's event time as the reading arrives, which teaches the truck's delivery delay)."""
    prev = state.last
    ts = reading.timestamp
    if prev is not None and ts <= prev.timestamp:
        return _late(state, prev, reading, ctx)
    cfg = ctx.config
    alerts: Mapping[str, Alert] = state.alerts
    changes: list[Alert] = []

    # The silence before this reading belongs to the previous reading (its place, its cargo).
    silence = offline.on_reading(
        prev.timestamp if prev else None,
        prev.event_id if prev else None,
        ts,
        offline.RULE in alerts,
        cfg.offline,
        # Only a silence longer than the limit needs the excuse (geometry: not on every reading).
        excused=prev is not None
        and ts - prev.timestamp > cfg.offline.offline_s
        and offline.excused(prev, ctx),
    )
    if silence and prev is not None:
        alerts, made = _apply(state, alerts, list(silence), prev, ctx, cfg.severity)
        changes.extend(made)

    # A gap whose late readings have stopped coming is over; a new silence opens a gap.
    gap = state.gap
    if gap is not None and (
        ts - gap.heard_at > cfg.backfill.settle_s
        or (prev is not None and ts - prev.timestamp > cfg.backfill.min_gap_s)
    ):
        alerts, made = backfill.close(gap, state.temp, alerts)
        changes.extend(made)
        gap = None
    if prev is not None and ts - prev.timestamp > cfg.backfill.min_gap_s:
        gap = backfill.opened(prev, ts, state.temp, changes)

    verdicts: list[Verdict] = []
    temp_s, plausible, v = air.step(state.temp, reading, prev.timestamp if prev else None, ctx)
    verdicts.extend(v)
    if plausible:
        excursion = temp_s.high_since is not None or temp_s.low_since is not None
        trend_s, v = trend.step(state.trend, reading, ctx, excursion)
        verdicts.extend(v)
    else:
        # An implausible reading says nothing about the air: the trend does not see it.
        trend_s = state.trend
    door_s, v = door.step(state.door, reading, ctx)
    verdicts.extend(v)
    fuel_s, v = fuel.step(state.fuel, reading, ctx)
    verdicts.extend(v)
    driving_s, v = driving.step(state.driving, reading, ctx)
    verdicts.extend(v)
    route_s, v = route.step(state.route, reading, ctx)
    verdicts.extend(v)
    if gap is not None and gap.alerts:
        gap, alerts = backfill.adopt(gap, alerts, (state.temp, temp_s))
    if verdicts:
        alerts, made = _apply(state, alerts, verdicts, reading, ctx, cfg.severity)
        changes.extend(made)

    new = TruckState(
        truck_id=state.truck_id,
        last=reading,
        partition=partition,
        temp=temp_s,
        trend=trend_s,
        door=door_s,
        fuel=fuel_s,
        driving=driving_s,
        route=route_s,
        alerts=alerts if isinstance(alerts, dict) else dict(alerts),
        delay_s=offline.learned_delay(state.delay_s, ts, fleet_time),
        gap=gap,
    )
    return Step(new, tuple(changes) if changes else NO_CHANGES)


def _late(state: TruckState, newest: Reading, reading: Reading, ctx: RuleContext) -> Step:
    """A reading older than the truck's newest: evaluated if it falls in the truck's open gap
    (:mod:`backfill`), else not accepted (a duplicate, or out of order with nothing missing)."""
    gap = state.gap
    if gap is None or not backfill.covers(gap, reading.timestamp):
        return Step(state, NO_CHANGES, accepted=False)
    gap, changes = backfill.evaluate(gap, reading, ctx, state.alerts, newest.timestamp)
    new = msgspec.structs.replace(state, gap=gap)
    return Step(new, tuple(changes) if changes else NO_CHANGES, late=True)


def on_watermark(state: TruckState, watermark: float, ctx: RuleContext) -> Step:
    """Open ``sensor_offline`` when the watermark has passed the truck's silence limit."""
    last = state.last
    if last is None or last.event_id is None:
        return Step(state)
    cfg = ctx.config.offline
    verdicts = offline.on_watermark(
        last.timestamp,
        last.event_id,
        watermark,
        offline.RULE in state.alerts,
        cfg,
        delay_s=state.delay_s,
        excused=offline.excused(last, ctx),
    )
    if not verdicts:
        return Step(state)
    alerts, made = _apply(state, state.alerts, list(verdicts), last, ctx, ctx.config.severity)
    return Step(msgspec.structs.replace(state, alerts=alerts), tuple(made))


def acknowledge(state: TruckState, command: AlertCommand) -> Step:
    """Apply an acknowledgement; ``accepted`` is False when the truck has no such open alert."""
    if not any(a.alert_id == command.alert_id for a in state.alerts.values()):
        return Step(state, accepted=False)
    alerts, change = lifecycle.acknowledge(state.alerts, command)
    if change is None:
        return Step(state)
    return Step(msgspec.structs.replace(state, alerts=alerts), (change,))


def new_state(truck_id: str) -> TruckState:
    return TruckState(truck_id=truck_id)
