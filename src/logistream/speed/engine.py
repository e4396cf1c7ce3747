"""Runs every rule on one reading and turns their verdicts into alert changes: one pure step.

Event time throughout. A reading not newer than the truck's newest never drives the live rules,
so no time is counted twice. If it falls in a silence of the truck's live readings (sent late
from the truck's store), the cargo-air rules evaluate it apart (:mod:`backfill`); otherwise
(a duplicate, or out of order with nothing missing) it is reported as not accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

import msgspec

from logistream import display_time
from logistream.events import Alert, AlertCommand, Reading, StageEvent
from logistream.live_views.records import ShipmentLive
from logistream.modes.wire import ModeRecord
from logistream.registry import Registry
from logistream.registry.rules import RulesConfig
from logistream.speed import air, backfill, mode_hold, shipment_step
from logistream.speed import alerts as lifecycle
from logistream.speed.rules import (
    calibration,
    door,
    driving,
    fuel,
    lateness,
    offline,
    precool,
    route,
    trend,
)
from logistream.speed.rules.base import Clear, Raise, RuleContext, Verdict
from logistream.speed.rules.temperature import TempState
from logistream.speed.rules.trend import TrendState
from logistream.speed.state import ProbeAir, TruckState

NO_CHANGES: Final[tuple[Alert, ...]] = ()


class Step(msgspec.Struct, frozen=True):
    """One reading's outcome (a msgspec struct: built on every reading, it costs a third of a
    frozen dataclass)."""

    state: TruckState
    changes: tuple[Alert, ...] = NO_CHANGES
    accepted: bool = True
    late: bool = False
    """An accepted reading older than the truck's newest (a gap's late reading): it changed
    no live rule state."""
    stage_events: tuple[StageEvent, ...] = ()
    """Stage changes of the truck's shipment."""
    shipment_live: ShipmentLive | None = None
    """The shipment's new live state (None: nothing to show changed)."""


class Contexts:
    """Rule contexts from the registry, built once per (truck, cargo). ``timezone``: where a
    probe's calibration due date begins (the display zone, where people read dates)."""

    def __init__(
        self,
        registry: Registry,
        config: RulesConfig,
        timezone: str = display_time.DEFAULT_ZONE_NAME,
    ) -> None:
        self.registry = registry
        self.config = config
        self.zone = display_time.zone(timezone)
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
                calibration=self._calibration(truck_id),
                timezone=self.zone.key,
            )
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = ctx
        return ctx

    def _calibration(self, truck_id: str) -> dict[str, calibration.ProbeCalibration]:
        device = self.registry.devices.for_truck(truck_id)
        if device is None:
            return {}
        return {
            p.probe_id: calibration.of_record(p.calibration, self.zone)
            for p in device.probes
            if p.probe_id is not None and p.calibration is not None
        }


class _AirState(NamedTuple):
    """One probe's cargo-air state: the single probe's lives in the truck's own fields."""

    last: Reading | None
    temp: TempState
    trend: TrendState
    gap: backfill.Gap | None


def _air_of(state: TruckState, probe_id: str | None) -> _AirState:
    if probe_id is None:
        return _AirState(state.last, state.temp, state.trend, state.gap)
    probe = state.probes.get(probe_id)
    if probe is None:
        return _AirState(None, TempState(), TrendState(), None)
    return _AirState(probe.last, probe.temp, probe.trend, probe.gap)


def process(
    state: TruckState,
    reading: Reading,
    partition: int,
    ctx: RuleContext,
    fleet_time: float | None = None,
    shipment: shipment_step.ShipmentContext | None = None,
    mode: ModeRecord | None = None,
) -> Step:
    """The truck's state after ``reading`` and the alert changes it causes (``fleet_time``:
    the fleet's event time as the reading arrives, which teaches the truck's delivery delay;
    ``shipment``: the truck's active shipment, if any; ``mode``: the truck's current operating
    mode record, if any, which holds its temperature alarms while active at the reading's event
    time, :mod:`mode_hold`)."""
    vehicle = state.last is None or reading.timestamp > state.last.timestamp
    step = _truck_step(state, reading, partition, ctx, fleet_time, mode)
    if not step.accepted or step.late or (shipment is None and step.state.shipment is None):
        return step
    return _shipment_step(step, reading, vehicle, shipment, ctx)


SHIPMENT_RULES: Final = (precool.RULE, lateness.RULE)


def _shipment_step(
    step: Step,
    reading: Reading,
    vehicle: bool,
    shipment: shipment_step.ShipmentContext | None,
    ctx: RuleContext,
) -> Step:
    """The truck's shipment after an in-order reading; a shipment that ended (cancelled,
    delivered) is dropped and its alerts resolve."""
    state = step.state
    verdicts: tuple[Verdict, ...]
    events: tuple[StageEvent, ...]
    if shipment is None:
        verdicts = tuple(
            Clear(rule, reading.timestamp, "the shipment ended")
            for rule in SHIPMENT_RULES
            if rule in state.alerts
        )
        track, events, live = None, (), None
    else:
        track = state.shipment
        if track is None or track.progress.shipment_id != shipment.shipment_id:
            track = shipment_step.start(shipment)
        trends = {precool.SINGLE_PROBE: state.trend} | {
            probe_id: probe.trend for probe_id, probe in state.probes.items()
        }
        done = shipment_step.step(
            track, shipment, reading, vehicle=vehicle, open_rules=state.alerts, trends=trends
        )
        track, verdicts, events, live = done.track, done.verdicts, done.events, done.live
    alerts: Mapping[str, Alert] = state.alerts
    changes = step.changes
    if verdicts:
        alerts, made = lifecycle.apply_verdicts(
            alerts, verdicts, lifecycle.Where(reading, ctx.waypoints), ctx.config.severity
        )
        changes = (*changes, *made) or NO_CHANGES
    new = msgspec.structs.replace(state, shipment=track, alerts=dict(alerts))
    return Step(new, changes, stage_events=events, shipment_live=live)


def _truck_step(
    state: TruckState,
    reading: Reading,
    partition: int,
    ctx: RuleContext,
    fleet_time: float | None,
    mode: ModeRecord | None = None,
) -> Step:
    """The truck's own rules (cargo air per probe, then the vehicle's) on one reading."""
    probe_id = reading.probe_id
    probe_air = _air_of(state, probe_id)
    ts = reading.timestamp
    running = mode_hold.active(mode, ts)
    if probe_air.last is not None and ts <= probe_air.last.timestamp:
        return _late(state, probe_air, reading, ctx, held=running is not None)
    prev = state.last
    # Two probes at one second: the first reading of that second drives the vehicle rules.
    vehicle = prev is None or ts > prev.timestamp
    cfg = ctx.config
    alerts: Mapping[str, Alert] = state.alerts
    changes: list[Alert] = []

    # The silence before this reading belongs to the previous reading (its place, its cargo).
    silence = (
        offline.on_reading(
            prev.timestamp if prev else None,
            prev.event_id if prev else None,
            ts,
            offline.RULE in alerts,
            cfg.offline,
            # Only a silence longer than the limit needs the excuse (geometry: not on every
            # reading).
            excused=prev is not None
            and ts - prev.timestamp > cfg.offline.offline_s
            and offline.excused(prev, ctx),
        )
        if vehicle
        else ()
    )
    if silence and prev is not None:
        alerts, made = lifecycle.apply_verdicts(
            alerts, silence, lifecycle.Where(prev, ctx.waypoints), cfg.severity
        )
        changes.extend(made)

    # The probe's cargo air: its own alerts, keyed by rule as its rules know them.
    own = alerts if probe_id is None else lifecycle.of_probe(alerts, probe_id)
    key = probe_id or ""
    before = state.held.get(key)
    probe_air, held, own, made = _mode_air_step(
        probe_air, before, own, reading, ctx, changes, running
    )
    changes.extend(made)
    alerts = own if probe_id is None else lifecycle.with_probe(alerts, probe_id, own)
    held_map = state.held
    if held is not before:
        held_map = {p: h for p, h in state.held.items() if p != key}
        if held is not None:
            held_map[key] = held

    if not vehicle:
        return Step(
            _with_air(state, probe_id, probe_air, alerts, held=held_map),
            tuple(changes) or NO_CHANGES,
        )
    verdicts: list[Verdict] = []
    door_s, v = door.step(state.door, reading, ctx)
    verdicts.extend(v)
    fuel_s, v = fuel.step(state.fuel, reading, ctx)
    verdicts.extend(v)
    driving_s, v = driving.step(state.driving, reading, ctx)
    verdicts.extend(v)
    route_s, v = route.step(state.route, reading, ctx)
    verdicts.extend(v)
    if verdicts:
        alerts, made = lifecycle.apply_verdicts(
            alerts, verdicts, lifecycle.Where(reading, ctx.waypoints), cfg.severity
        )
        changes.extend(made)

    new = _with_air(
        state,
        probe_id,
        probe_air,
        alerts,
        last=reading,
        partition=partition,
        door=door_s,
        fuel=fuel_s,
        driving=driving_s,
        route=route_s,
        delay_s=offline.learned_delay(state.delay_s, ts, fleet_time),
        held=held_map,
        mode=running,
    )
    return Step(new, tuple(changes) or NO_CHANGES)


def _mode_air_step(
    probe_air: _AirState,
    held: mode_hold.HeldAir | None,
    alerts: Mapping[str, Alert],
    reading: Reading,
    ctx: RuleContext,
    changes: Sequence[Alert],
    running: ModeRecord | None,
) -> tuple[_AirState, mode_hold.HeldAir | None, dict[str, Alert], list[Alert]]:
    """The probe's cargo-air step with the truck's operating mode (:mod:`mode_hold`): as usual
    outside a mode; during one, on the mode's shadow state, the temperature family held; the
    first reading after it resumes the live state fresh."""
    if held is not None and (running is None or running.mode_id != held.mode_id):
        temp, trend_s = mode_hold.resumed(probe_air.temp, probe_air.trend, held, alerts)
        probe_air = probe_air._replace(temp=temp, trend=trend_s)
        held = None
    if running is None:
        probe_air, own, made, _would = _air_step(probe_air, alerts, reading, ctx, changes)
        return probe_air, None, own, made
    if held is None:
        held = mode_hold.start(probe_air.temp, running.mode_id)
    shadow = probe_air._replace(temp=held.temp, trend=held.trend)
    after, own, made, would = _air_step(shadow, alerts, reading, ctx, changes, holding=True)
    held = msgspec.structs.replace(held, temp=after.temp, trend=after.trend)
    # An alert open since before the mode stays as it is: nothing to record for its rule.
    would = [v for v in would if v.rule not in own]
    at = lifecycle.Where(reading, ctx.waypoints, reading.probe_id)
    held, suppressed = mode_hold.hold(held, would, running, at, ctx.config.severity, ctx.timezone)
    # The live state waits through the mode (read, not advanced), apart from the newest reading
    # and the silence it tracks.
    live = after._replace(temp=probe_air.temp, trend=probe_air.trend)
    return live, held, own, [*made, *suppressed]


def _air_step(
    probe_air: _AirState,
    alerts: Mapping[str, Alert],
    reading: Reading,
    ctx: RuleContext,
    changes: Sequence[Alert],
    *,
    holding: bool = False,
) -> tuple[_AirState, dict[str, Alert], list[Alert], list[Raise]]:
    """One probe's cargo-air rules on an in-order reading: its state after, its alerts after
    (keyed by rule), the changes made, and (``holding``: during an operating mode) the held
    rules' raises, not applied. ``changes``: those the reading made before (a gap keeps its
    sensor_offline resolution)."""
    cfg = ctx.config
    prev = probe_air.last
    ts = reading.timestamp
    made: list[Alert] = []
    # A gap whose late readings have stopped coming is over; a new silence opens a gap.
    gap = probe_air.gap
    if gap is not None and (
        ts - gap.heard_at > cfg.backfill.settle_s
        or (prev is not None and ts - prev.timestamp > cfg.backfill.min_gap_s)
    ):
        alerts, closed = backfill.close(gap, probe_air.temp, alerts)
        made.extend(closed)
        gap = None
    if prev is not None and ts - prev.timestamp > cfg.backfill.min_gap_s:
        gap = backfill.opened(prev, ts, probe_air.temp, [*changes, *made])

    verdicts: list[Verdict] = []
    temp_s, plausible, v = air.step(probe_air.temp, reading, prev.timestamp if prev else None, ctx)
    verdicts.extend(v)
    if plausible:
        excursion = temp_s.high_since is not None or temp_s.low_since is not None
        trend_s, v = trend.step(probe_air.trend, reading, ctx, excursion)
        verdicts.extend(v)
    else:
        # An implausible reading says nothing about the air: the trend does not see it.
        trend_s = probe_air.trend
    if reading.probe_id is not None:
        verdicts.extend(calibration.step(reading, ctx.calibration.get(reading.probe_id)))
    if gap is not None and gap.alerts:
        gap, alerts = backfill.adopt(gap, alerts, (probe_air.temp, temp_s))
    would: list[Raise] = []
    if holding:
        verdicts, would = mode_hold.split(verdicts)
    if verdicts:
        at = lifecycle.Where(reading, ctx.waypoints, reading.probe_id)
        alerts, opened = lifecycle.apply_verdicts(alerts, verdicts, at, cfg.severity)
        made.extend(opened)
    # Never mutated in place, so an unchanged dict is passed on, not copied.
    own = alerts if isinstance(alerts, dict) else dict(alerts)
    return _AirState(reading, temp_s, trend_s, gap), own, made, would


def _with_air(
    state: TruckState,
    probe_id: str | None,
    probe_air: _AirState,
    alerts: Mapping[str, Alert],
    **vehicle: Any,
) -> TruckState:
    """``state`` with a probe's cargo-air state, the truck's alerts and the ``vehicle`` fields
    replaced (one copy: this runs on every reading)."""
    alerts = alerts if isinstance(alerts, dict) else dict(alerts)
    if probe_id is None:
        return msgspec.structs.replace(
            state,
            temp=probe_air.temp,
            trend=probe_air.trend,
            gap=probe_air.gap,
            alerts=alerts,
            **vehicle,
        )
    last, temp, trend_s, gap = probe_air
    probe = ProbeAir(last=last, temp=temp, trend=trend_s, gap=gap)
    probes = {**state.probes, probe_id: probe}
    return msgspec.structs.replace(state, probes=probes, alerts=alerts, **vehicle)


def _late(
    state: TruckState, probe_air: _AirState, reading: Reading, ctx: RuleContext, *, held: bool
) -> Step:
    """A reading older than its probe's newest: evaluated if it falls in the probe's open gap
    (:mod:`backfill`), else not accepted (a duplicate, or out of order with nothing missing).
    ``held``: an operating mode was active at its event time: accepted, not evaluated
    (:mod:`mode_hold`)."""
    gap = probe_air.gap
    if gap is None or probe_air.last is None or not backfill.covers(gap, reading.timestamp):
        return Step(state, NO_CHANGES, accepted=False)
    if held:
        return Step(state, NO_CHANGES, late=True)
    probe_id = reading.probe_id
    own = state.alerts if probe_id is None else lifecycle.of_probe(state.alerts, probe_id)
    gap, changes = backfill.evaluate(gap, reading, ctx, own, probe_air.last.timestamp)
    new = _with_air(state, probe_id, probe_air._replace(gap=gap), state.alerts)
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
    alerts, made = lifecycle.apply_verdicts(
        state.alerts, verdicts, lifecycle.Where(last, ctx.waypoints), ctx.config.severity
    )
    return Step(msgspec.structs.replace(state, alerts=alerts), tuple(made))


def apply_rule(state: TruckState, verdicts: Sequence[Verdict], ctx: RuleContext) -> Step:
    """Verdicts reached outside a reading (a proof of delivery): they open and resolve at the
    truck's newest reading's place."""
    last = state.last
    if not verdicts or last is None:
        return Step(state)
    alerts, made = lifecycle.apply_verdicts(
        state.alerts, verdicts, lifecycle.Where(last, ctx.waypoints), ctx.config.severity
    )
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
