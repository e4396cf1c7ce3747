"""Runs every rule on one reading and turns their verdicts into alert changes: one pure step.

Event time throughout. A reading not newer than the truck's newest (a duplicate, or one that
arrived out of order) changes nothing, so no time is counted twice and no false alert opens;
it is reported as not accepted so the caller can count it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import msgspec

from logistream.events import Alert, AlertCommand, Reading, Severity
from logistream.registry import Registry
from logistream.registry.rules import RulesConfig
from logistream.speed import alerts as lifecycle
from logistream.speed.rules import (
    door,
    driving,
    fuel,
    offline,
    plausibility,
    route,
    temperature,
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


def _temperature(
    state: TruckState,
    reading: Reading,
    prev_ts: float | None,
    ctx: RuleContext,
    verdicts: list[Verdict],
) -> tuple[temperature.TempState, bool]:
    """Sensor plausibility, then the temperature rules; whether the reading was plausible.

    An implausible reading stands for the air as last seen (the last plausible reading's
    temperature), so that time out of range and alarm delays run on as the batch views count
    them; with no plausible reading yet on the trip it changes nothing.
    """
    plaus, plausible, v = plausibility.step(
        state.temp.plaus,
        profile=ctx.profile,
        temp=reading.temp,
        ts=reading.timestamp,
        door_open=bool(reading.door_open),
        trip=reading.trip_id,
        event_id=reading.event_id or "",
    )
    verdicts.extend(v)
    if plausible:
        temp_s, v = temperature.step(state.temp, reading, prev_ts, ctx)
    elif plaus.anchor_c is not None:
        carried = msgspec.structs.replace(reading, temp=plaus.anchor_c)
        temp_s, v = temperature.step(state.temp, carried, prev_ts, ctx, plausible=False)
    else:
        temp_s, v = state.temp, ()
    verdicts.extend(v)
    return msgspec.structs.replace(temp_s, plaus=plaus), plausible


def process(state: TruckState, reading: Reading, partition: int, ctx: RuleContext) -> Step:
    """The truck's state after ``reading`` and the alert changes it causes."""
    prev = state.last
    ts = reading.timestamp
    if prev is not None and ts <= prev.timestamp:
        return Step(state, NO_CHANGES, accepted=False)
    cfg = ctx.config
    alerts: Mapping[str, Alert] = state.alerts
    changes: list[Alert] = []

    # The silence before this reading belongs to the previous reading (its place, its cargo).
    gap = offline.on_reading(
        prev.timestamp if prev else None,
        prev.event_id if prev else None,
        ts,
        offline.RULE in alerts,
        cfg.offline,
    )
    if gap and prev is not None:
        alerts, made = _apply(state, alerts, list(gap), prev, ctx, cfg.severity)
        changes.extend(made)

    verdicts: list[Verdict] = []
    temp_s, plausible = _temperature(
        state, reading, prev.timestamp if prev else None, ctx, verdicts
    )
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
    )
    return Step(new, tuple(changes) if changes else NO_CHANGES)


def on_watermark(state: TruckState, watermark: float, ctx: RuleContext) -> Step:
    """Open ``sensor_offline`` when the watermark has passed the truck's silence limit."""
    last = state.last
    if last is None or last.event_id is None:
        return Step(state)
    verdicts = offline.on_watermark(
        last.timestamp, last.event_id, watermark, offline.RULE in state.alerts, ctx.config.offline
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
