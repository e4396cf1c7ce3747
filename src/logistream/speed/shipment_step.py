"""A truck's active shipment in the speed layer: one pure step per reading.

The stage from the geofences (:mod:`logistream.shipments.stages`), the pre-cooling check at
loading (:mod:`rules.precool`), the ETA of every stop ahead with the lateness alert
(:mod:`logistream.shipments.eta`, :mod:`rules.lateness`), and the cargo temperature predicted at
the next stop from the trend rule's line. The vehicle's readings (one per event time) move the
stage and the ETAs; every probe's reading counts for pre-cooling.

The shipment itself comes from the ``shipments`` topic (:class:`ShipmentContext`, built once per
record version); the state kept per truck (:class:`ShipmentTrack`) is checkpointed with the rest.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass

import msgspec

from logistream.events import Reading, StageEvent, stage_event_id
from logistream.live_views.records import ShipmentLive, StopEtaView
from logistream.registry import Registry
from logistream.registry.models import CargoProfile
from logistream.registry.rules import RulesConfig
from logistream.shipments import eta as etas
from logistream.shipments import stages
from logistream.shipments.wire import ShipmentRecord
from logistream.speed.rules import lateness, precool
from logistream.speed.rules.base import Verdict
from logistream.speed.rules.trend import TrendState, line_fit

TREND_MIN_POINTS = 5
"""Trend samples needed before the line predicts an arrival temperature."""


class ShipmentTrack(msgspec.Struct, frozen=True, kw_only=True):
    """What the speed layer keeps of a truck's shipment between readings."""

    progress: stages.StageProgress
    cold_since: dict[str, float] = msgspec.field(default_factory=dict)
    """Each probe's start of its current stretch in the cargo's range ("" the single probe)."""
    reporting: tuple[str, ...] = ()
    """The probes heard since tracking began ("" the readings that name no probe), sorted."""
    loaded: bool = False
    """Loading was seen (the pre-cooling check was made)."""
    speed: etas.MovingSpeed = etas.MovingSpeed()
    live: ShipmentLive | None = None
    """The latest live state (what a views rebuild writes)."""


@dataclass(frozen=True, slots=True)
class ShipmentContext:
    """An active shipment record with what its steps need, built once per version."""

    record: ShipmentRecord
    profile: CargoProfile
    probes: frozenset[str]
    """The probes assigned to the shipment ("" for a truck's single probe): those whose air
    must be pre-cooled, of the ones that report (:func:`judged_probes`)."""
    line: etas.RouteLine | None
    windows: tuple[tuple[float, float], ...]
    """Each stop's planned arrival window, epoch seconds."""
    eta: etas.EtaConfig
    stages: stages.StageConfig
    precool_s: float

    @property
    def shipment_id(self) -> str:
        return self.record.shipment.shipment_id

    @classmethod
    def of(cls, record: ShipmentRecord, registry: Registry, config: RulesConfig) -> ShipmentContext:
        shipment = record.shipment
        truck = registry.truck(shipment.truck_id)
        route = registry.routes.get(truck.route) if truck is not None else None
        eta_config = etas.EtaConfig()
        line = None
        if route is not None and len({(w.lat, w.lon) for w in route.waypoints}) >= 2:
            line = etas.RouteLine.of(
                [(w.lat, w.lon) for w in route.waypoints],
                [stop.geofence.centre for stop in shipment.stops],
                halts=[(w.lat, w.lon, w.stop_min * 60.0) for w in route.waypoints if w.stop_min],
                config=eta_config,
            )
        device = registry.devices.for_truck(shipment.truck_id)
        named = tuple(p.probe_id for p in device.probes if p.probe_id) if device else ()
        probes = frozenset(shipment.probes or named or (precool.SINGLE_PROBE,))
        return cls(
            record=record,
            profile=registry.profile_for(shipment.cargo),
            probes=probes,
            line=line,
            windows=tuple(
                (s.window_start.timestamp(), s.window_end.timestamp()) for s in shipment.stops
            ),
            eta=eta_config,
            stages=stages.StageConfig(
                dwell_in_s=config.shipments.dwell_in_s, dwell_out_s=config.shipments.dwell_out_s
            ),
            precool_s=config.shipments.precool_s,
        )


@dataclass(frozen=True, slots=True)
class ShipmentStep:
    track: ShipmentTrack
    verdicts: tuple[Verdict, ...] = ()
    events: tuple[StageEvent, ...] = ()
    live: ShipmentLive | None = None
    """A new live state to show (None: nothing to show changed)."""


def start(ctx: ShipmentContext) -> ShipmentTrack:
    return ShipmentTrack(progress=stages.start(ctx.record.shipment))


def stage_event(ctx: ShipmentContext, change: stages.StageChange) -> StageEvent:
    stop = ctx.record.shipment.stops[change.stop]
    override = ctx.record.override if change.cause == "override" else None
    return StageEvent(
        event_id=stage_event_id(change.shipment_id, change.stage, change.stop, change.at),
        shipment_id=change.shipment_id,
        truck_id=ctx.record.shipment.truck_id,
        stage=change.stage,
        stop=change.stop,
        stop_id=stop.stop_id,
        stop_name=stop.name,
        at=change.at,
        previous_stage=change.previous_stage,
        previous_stop=change.previous_stop,
        cause=change.cause,
        by=override.by if override else None,
        reason=override.reason if override else None,
        reading_event_id=change.event_id,
    )


def apply_override(track: ShipmentTrack, ctx: ShipmentContext) -> ShipmentStep:
    """The record's stage override, once per record version (a no-op without a new one)."""
    override = ctx.record.override
    if override is None or ctx.record.version <= track.progress.version:
        return ShipmentStep(track)
    progress, changes = stages.overridden(
        track.progress,
        override.stage,
        override.stop_index,
        override.at.timestamp(),
        ctx.record.version,
    )
    track = msgspec.structs.replace(track, progress=progress)
    return ShipmentStep(track, events=tuple(stage_event(ctx, c) for c in changes))


def judged_probes(reporting: tuple[str, ...], assigned: frozenset[str]) -> tuple[str, ...]:
    """The probes the pre-cooling check waits for: the assigned ones among those reporting, or,
    when none of them reports, every reporting one (a tracker that names no probe, though
    devices.toml names them, still measures the air)."""
    return tuple(p for p in reporting if p in assigned) or reporting


def _next_stop(progress: stages.StageProgress, stop_count: int) -> int:
    if progress.stage == "planned":
        return 0
    if progress.stage in ("at_destination", "delivered"):
        return stop_count
    return progress.stop + 1


def _forecast(
    trends: Mapping[str, TrendState], ctx: ShipmentContext, now: float, eta: float, stop: str
) -> str | None:
    """The soonest predicted breach before ``eta`` among the shipment's probes, as a sentence."""
    soonest: etas.Breach | None = None
    for probe, trend in trends.items():
        if probe not in ctx.probes or len(trend.points) < TREND_MIN_POINTS:
            continue
        fit = line_fit(trend.points)
        if fit.slope_per_s == 0.0:
            continue
        limit = ctx.profile.high_c if fit.slope_per_s > 0 else ctx.profile.low_c
        # The fitted line now, extended from its newest sample to ``now``.
        temp_now = fit.last_c + fit.slope_per_s * (now - trend.points[-1][0])
        breach = etas.arrival_temperature(temp_now, fit.slope_per_s, limit, now, eta)
        if breach is not None and (soonest is None or breach.at < soonest.at):
            soonest = breach
    if soonest is None:
        return None
    return etas.breach_sentence(soonest, ctx.profile.name, stop)


def step(
    track: ShipmentTrack,
    ctx: ShipmentContext,
    reading: Reading,
    *,
    vehicle: bool,
    open_rules: Container[str],
    trends: Mapping[str, TrendState],
) -> ShipmentStep:
    """The shipment after ``reading``. ``vehicle``: the first reading of its event time (it
    drives the stage and the ETAs); ``open_rules``: the truck's open alert rules (vehicle
    level); ``trends``: each probe's trend samples ("" the single probe)."""
    shipment = ctx.record.shipment
    overridden = apply_override(track, ctx)
    track, events = overridden.track, list(overridden.events)
    probe = reading.probe_id or precool.SINGLE_PROBE
    cold = precool.cold_since(track.cold_since, reading, ctx.profile)
    if cold is not None:
        track = msgspec.structs.replace(track, cold_since=cold)
    if probe not in track.reporting:
        reporting = tuple(sorted((*track.reporting, probe)))
        track = msgspec.structs.replace(track, reporting=reporting)
    if not vehicle:
        return ShipmentStep(track, events=tuple(events))

    ts = reading.timestamp
    before = track.progress
    progress, changes = stages.on_position(
        before, shipment, reading.lat, reading.lon, ts, ctx.stages, reading.event_id
    )
    events.extend(stage_event(ctx, c) for c in changes)
    verdicts: list[Verdict] = []

    departed = any(c.previous_stage == "at_origin" for c in changes)
    door_at_origin = progress.stage == "at_origin" and reading.door_open is True
    loading = not track.loaded and (door_at_origin or departed)
    verdicts.extend(
        precool.step(
            loading=loading,
            is_open=precool.RULE in open_rules,
            cold_s=precool.cold_for_s(
                track.cold_since, judged_probes(track.reporting, ctx.probes), ts
            ),
            precool_s=ctx.precool_s,
            reading=reading,
            profile=ctx.profile,
            shipment=shipment.reference,
            origin=shipment.stops[0].name,
        )
    )

    speed = track.speed
    if reading.speed_kmh is not None:
        speed = etas.update_speed(speed, ts, reading.speed_kmh, ctx.eta)
    ahead: tuple[etas.StopEta, ...] = ()
    next_stop = _next_stop(progress, len(shipment.stops))
    if ctx.line is not None and reading.lat is not None and reading.lon is not None:
        at_stop = progress.stage in ("at_origin", "at_stop") and progress.since is not None
        wait_s = (
            max(0.0, ctx.eta.stop_dwell_s - (ts - progress.since))
            if at_stop and progress.since is not None
            else 0.0
        )
        ahead = etas.etas(
            ctx.line, reading.lat, reading.lon, ts, speed, next_stop, ctx.eta, wait_s=wait_s
        )
    first = ahead[0] if ahead else None
    window_end = ctx.windows[first.index][1] if first else 0.0
    arrived = any(c.stage.startswith("at_") for c in changes)
    verdicts.extend(
        lateness.step(
            eta=first.eta if first else None,
            window_end=window_end,
            is_open=lateness.RULE in open_rules,
            arrived=arrived,
            reading=reading,
            shipment=shipment.reference,
            stop_name=shipment.stops[first.index].name if first else "",
        )
    )
    forecast = (
        _forecast(trends, ctx, ts, first.eta, shipment.stops[first.index].name) if first else None
    )
    live = ShipmentLive(
        shipment_id=shipment.shipment_id,
        truck_id=shipment.truck_id,
        stage=progress.stage,
        stop=progress.stop,
        since=progress.since,
        updated_at=ts,
        etas=tuple(
            StopEtaView(e.index, e.eta, e.km_left, e.eta > ctx.windows[e.index][1]) for e in ahead
        ),
        arrival_forecast=forecast,
    )
    track = msgspec.structs.replace(
        track, progress=progress, loaded=track.loaded or loading, speed=speed, live=live
    )
    return ShipmentStep(track, tuple(verdicts), tuple(events), live)
