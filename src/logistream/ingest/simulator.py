"""The fleet simulator: trucks driving their routes, yielding readings deterministically.

Everything comes from ``(seed, start, rate)``: each truck has its own generator seeded from the
seed and its plate, so a truck's readings (``event_id`` included) do not depend on how many other
trucks run, and the same seed and start give byte-identical output. Event ids also mix in the
start, so two runs of one seed from different starts never share an id. Time is simulated: the
simulator never looks at a clock; pacing against the wall clock is the producer's business.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from logistream.errors import ConfigError
from logistream.events import Reading
from logistream.ingest import physics
from logistream.ingest.faults import ACTIVE, DONE, PARKING, PENDING, Fault, RawMessage, malformed
from logistream.ingest.route import RoutePath
from logistream.registry.models import CargoProfile, Registry, Truck
from logistream.registry.scenarios import Scenario

Emission = Reading | RawMessage

UNLOAD_DWELL_S: Final = 60.0 * 60.0
"""At the destination: unload, wash, load the return cargo."""
REFUEL_BELOW: Final = 0.5
REFUEL_TO: Final = 0.95
PUMP_LPS: Final = 1.0
GPS_SIGMA_DEG: Final = physics.GPS_SIGMA_M / physics.M_PER_DEG_LAT
HUMIDITY: Final[dict[str, float]] = {
    "flowers": 90.0,
    "milk": 85.0,
    "vaccines": 60.0,
    "frozen": 70.0,
}
AMBIENT_RH: Final = 60.0
NOISE_SIGMA_C: Final = 0.06
NOISE_TAU_S: Final = 5.0
DOCK_ABOVE_SETPOINT_C: Final = 1.5
"""A cold dock (farm pack house, cooling centre, cold store) is held near the product's setpoint."""
INF: Final = math.inf


@dataclass(slots=True)
class _Stop:
    km: float
    dwell_s: float
    kind: str
    destination: bool = False
    fault: Fault | None = None


def fleet_trucks(registry: Registry, count: int | None) -> list[Truck]:
    """The first ``count`` trucks of the fleet; beyond its end, more made from it in turn."""
    fleet = list(registry.trucks)
    if not fleet:
        raise ConfigError("fleet.toml: the fleet has no trucks")
    count = len(fleet) if count is None else count
    if count <= len(fleet):
        return fleet[:count]
    taken = {t.truck_id for t in fleet}
    extra: list[Truck] = []
    n = 0
    while len(fleet) + len(extra) < count:
        plate = _generated_plate(n)
        template = fleet[n % len(fleet)]
        n += 1
        if plate in taken:
            continue
        extra.append(
            Truck(
                truck_id=plate,
                driver_id=f"DRV-{len(fleet) + len(extra) + 1:05d}",
                route=template.route,
                cargo=template.cargo,
                tank_litres=template.tank_litres,
                departure_offset_min=float((n * 7) % 120),
            )
        )
    return fleet + extra


def _generated_plate(n: int) -> str:
    """Kenyan-style plates for generated trucks: KZA 001A, KZA 002A, … (676,000 of them)."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O, as on Kenyan plates
    number = n % 999 + 1
    rest = n // 999
    suffix = letters[rest % len(letters)]
    series = letters[(rest // len(letters)) % len(letters)]
    return f"KZ{series} {number:03d}{suffix}"


def _run_salt(seed: int, start: float, truck_id: str) -> int:
    """128 bits that differ between runs of one seed from different starts.

    The truck's generator depends on the seed and plate only (its physics must not move with
    the start), so its random bits alone would give a run tomorrow the ids of today's readings.
    """
    digest = hashlib.blake2b(f"{seed}|{start!r}|{truck_id}".encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big")


def _uuid4(bits: int) -> str:
    """A version-4 UUID string from 128 random bits."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


class TruckSim:
    """One truck: its state, advanced one step per reading by :meth:`step`."""

    __slots__ = (
        "_compact",
        "at_destination",
        "base_kmh",
        "cargo",
        "decay_door",
        "decay_fail",
        "decay_pull",
        "defrost_len",
        "defrost_peak",
        "defrost_start",
        "doors",
        "driver_id",
        "dt",
        "f_accel",
        "f_door",
        "f_dup",
        "f_failed",
        "f_lateral_m",
        "f_offline",
        "f_ooo",
        "f_raw",
        "f_speed_ms",
        "f_theft_lps",
        "faults",
        "fuel_l",
        "fwd",
        "heading",
        "held",
        "hum",
        "hum_base",
        "id_salt",
        "key",
        "km",
        "l_per_km",
        "lat",
        "lon",
        "moving",
        "noise",
        "noise_keep",
        "noise_step",
        "path",
        "phase",
        "refuel_to",
        "rev",
        "rng",
        "seq",
        "setpoint",
        "stop_i",
        "stops",
        "tank",
        "temp",
        "trip_id",
        "trip_no",
        "truck_id",
        "v",
        "wait_until",
    )

    def __init__(
        self,
        truck: Truck,
        profile: CargoProfile,
        paths: tuple[RoutePath, RoutePath],
        *,
        seed: int,
        start: float,
        dt: float,
        faults: Sequence[Fault] = (),
    ) -> None:
        rng = random.Random(f"{seed}|{truck.truck_id}")
        self.rng = rng
        self.id_salt = _run_salt(seed, start, truck.truck_id)
        self.truck_id = truck.truck_id
        self._compact = truck.truck_id.replace(" ", "")
        self.key = truck.truck_id.encode()
        self.driver_id = truck.driver_id
        self.cargo = profile.name
        self.setpoint = profile.setpoint_c
        self.tank = truck.tank_litres
        self.fwd, self.rev = paths
        self.path = self.fwd
        self.dt = dt
        self.decay_pull = physics.relax_factor(dt, physics.TAU_PULLDOWN_S)
        self.decay_door = physics.relax_factor(dt, physics.TAU_DOOR_S)
        self.decay_fail = physics.relax_factor(dt, physics.TAU_FAILURE_S)
        self.base_kmh = rng.uniform(72.0, 77.0)
        self.phase = rng.uniform(0.0, 2.0 * math.pi)
        self.l_per_km = rng.uniform(0.32, 0.38)
        self.fuel_l = self.tank * rng.uniform(0.70, 0.95)
        self.temp = self.setpoint + rng.gauss(0.0, 0.1)
        self.noise = 0.0
        # Sensor noise: about 0.06 °C, correlated over a few seconds whatever the rate.
        self.noise_keep = math.exp(-dt / NOISE_TAU_S)
        self.noise_step = NOISE_SIGMA_C * math.sqrt(1.0 - self.noise_keep**2)
        self.hum_base = HUMIDITY.get(self.cargo, 75.0)
        self.hum = self.hum_base
        self.defrost_peak = physics.defrost_peak(profile.defrost_allowance_c)
        interval = rng.uniform(physics.DEFROST_MIN_INTERVAL_S, physics.DEFROST_MAX_INTERVAL_S)
        self.defrost_start = start + rng.uniform(0.1, 1.0) * interval
        self.defrost_len = rng.uniform(25.0, 40.0) * 60.0
        self.seq = 0
        self.trip_no = 0
        self.trip_id = ""
        self.km = 0.0
        self.v = 0.0
        self.lat, self.lon, self.heading = self.path.position_at(0.0)
        self.moving = False
        self.at_destination = False
        self.refuel_to = 0.0
        self.doors: list[tuple[float, float]] = []
        self.faults = list(faults)
        self.f_raw: list[str] = []
        self.held: list[Reading] = []
        self._clear_fault_effects()
        self.stops: list[_Stop] = []
        self.stop_i = 0
        self.wait_until = start + truck.departure_offset_min * 60.0
        self._begin_trip(self.fwd, self.wait_until)
        # Loading before the first departure.
        self._door(self.wait_until - 12 * 60.0, rng.uniform(2.0, 4.0) * 60.0)

    # --- trips, stops, doors ---------------------------------------------------------------------

    def _begin_trip(self, path: RoutePath, departure: float) -> None:
        self.trip_no += 1
        self.path = path
        self.km = 0.0
        self.trip_id = f"{self._compact}-{int(departure)}"
        stops = [_Stop(s.km, s.dwell_s, s.kind) for s in path.stops]
        stops.append(_Stop(path.length_km, UNLOAD_DWELL_S, "depot", destination=True))
        if self.trip_no == 1:
            for fault in self.faults:
                if fault.park_s <= 0 or fault.km_trigger is None:
                    continue
                fault.state = PARKING
                # Parking at a planned stop lengthens it; elsewhere the truck pulls over.
                planned = next((s for s in stops if abs(s.km - fault.km_trigger) < 1e-6), None)
                if planned is not None and planned.fault is None:
                    planned.fault = fault
                    planned.dwell_s = max(planned.dwell_s, fault.park_s)
                else:
                    stops.append(_Stop(fault.km_trigger, fault.park_s, "park", fault=fault))
        stops.sort(key=lambda s: s.km)
        self.stops = stops
        self.stop_i = 0

    def _door(self, opens: float, length_s: float) -> None:
        self.doors.append((opens, opens + length_s))

    def _arrive(self, t: float) -> None:
        stop = self.stops[self.stop_i]
        self.moving = False
        self.v = 0.0
        dwell = stop.dwell_s
        if stop.fault is not None:
            stop.fault.parked(t)
        if stop.destination:
            self.at_destination = True
            self._door(t + 5 * 60.0, self.rng.uniform(2.0, 4.0) * 60.0)
            self._door(t + 45 * 60.0, self.rng.uniform(2.0, 4.0) * 60.0)
        if (stop.destination or stop.kind in ("depot", "rest")) and (
            self.fuel_l < REFUEL_BELOW * self.tank
        ):
            self.refuel_to = REFUEL_TO * self.tank
        self.wait_until = t + dwell
        self.stop_i += 1

    def _depart(self, t: float) -> None:
        if self.at_destination:
            self.at_destination = False
            self._begin_trip(self.rev if self.path is self.fwd else self.fwd, t)
        self.moving = True
        self.refuel_to = 0.0

    def _pull_over(self, fault: Fault, t: float) -> None:
        """A time-triggered fault that parks: stop as soon as braking allows, or stay put."""
        fault.state = PARKING
        if not self.moving:
            fault.parked(t)
            self.wait_until = max(self.wait_until, t + fault.park_s)
            return
        brake_km = (self.v * self.v / (2.0 * physics.PLAN_BRAKE_MS2) + 30.0) / 1000.0
        at_km = min(self.km + brake_km, self.path.length_km)
        self.stops.insert(self.stop_i, _Stop(at_km, fault.park_s, "park", fault=fault))
        self.stops[self.stop_i :] = sorted(self.stops[self.stop_i :], key=lambda s: s.km)

    # --- faults ----------------------------------------------------------------------------------

    def _clear_fault_effects(self) -> None:
        self.f_failed = False
        self.f_door = False
        self.f_offline = False
        self.f_dup = False
        self.f_ooo = False
        self.f_theft_lps = 0.0
        self.f_speed_ms = 0.0
        self.f_accel = 0.0
        self.f_lateral_m = 0.0

    def _update_faults(self, t: float) -> None:
        self._clear_fault_effects()
        for fault in self.faults:
            state = fault.state
            if state == DONE:
                continue
            if state == PENDING:
                if t >= fault.t_trigger:
                    if fault.park_s > 0:
                        self._pull_over(fault, t)
                    else:
                        fault.activate(t)
                elif (
                    fault.km_trigger is not None
                    and self.trip_no == 1
                    and self.km >= fault.km_trigger
                ):
                    fault.activate(t)
            if fault.state != ACTIVE:
                continue
            if t >= fault.t_off:
                fault.state = DONE
                continue
            if t < fault.t_on:
                continue
            event = fault.event
            kind = fault.kind
            if kind == "reefer_failure":
                self.f_failed = True
            elif kind == "door_open":
                self.f_door = True
            elif kind == "sensor_offline":
                self.f_offline = True
            elif kind == "fuel_theft":
                length = event.for_s if event.for_s > 0 else 600.0
                self.f_theft_lps = event.param("litres", 60.0) / length
            elif kind == "speeding":
                self.f_speed_ms = event.param("speed_kmh", 95.0) * physics.KMH
            elif kind == "harsh_braking":
                self.f_accel = -event.param("decel_ms2", 4.5)
            elif kind == "harsh_acceleration":
                self.f_accel = event.param("accel_ms2", 3.8)
            elif kind == "route_deviation":
                peak = event.param("offset_km", 12.0) * 1000.0
                self.f_lateral_m = physics.detour_offset_m(t - fault.t_on, event.for_s, peak)
            elif kind == "duplicates":
                self.f_dup = True
            elif kind == "out_of_order":
                self.f_ooo = True
            elif kind == "malformed":
                self.f_raw.append(str(event.params["variant"]))
                fault.state = DONE

    # --- one step --------------------------------------------------------------------------------

    def step(self, t: float, diurnal_c: float) -> Reading | None:
        """Advance the truck to time ``t`` and return its reading (None while its sensor is off)."""
        dt = self.dt
        if self.faults:
            self._update_faults(t)
        path = self.path
        dist_km = 0.0
        if self.moving:
            v0 = self.v
            km0 = self.km
            stop_km = self.stops[self.stop_i].km
            if self.f_speed_ms:
                target = self.f_speed_ms
            else:
                # The planned speed here and where the truck will be after this step.
                target = path.allowance_ms(km0)
                ahead = path.allowance_ms(km0 + v0 * dt * 0.001)
                if ahead < target:
                    target = ahead
                cruise = physics.cruise_kmh(self.base_kmh, t, self.phase) * physics.KMH
                if cruise < target:
                    target = cruise
            to_stop_m = (stop_km - km0) * 1000.0
            # Plan for the distance left after this step, so long steps do not overshoot.
            ahead_m = to_stop_m - v0 * dt
            brake = math.sqrt(2.0 * physics.PLAN_BRAKE_MS2 * ahead_m) if ahead_m > 0 else 0.0
            if brake < 1.0:
                # Creep the last metres.
                brake = min(1.0, to_stop_m / dt)
            if brake < target:
                target = brake
            if self.f_accel:
                v = v0 + self.f_accel * dt
                v = 0.0 if v < 0.0 else v
                cap = physics.HIGHWAY_LIMIT_KMH * physics.KMH
                if not self.f_speed_ms and v > cap:
                    v = cap if v0 <= cap else v0
            elif target > v0:
                v = v0 + physics.ACCEL_MS2 * dt
                v = target if v > target else v
            else:
                v = v0 - physics.BRAKE_MS2 * dt
                v = target if v < target else v
            km = km0 + (v0 + v) * 0.0005 * dt
            if km >= stop_km or (to_stop_m < 3.0 and v < 1.0):
                km = stop_km
                v = 0.0
                self.km = km
                dist_km = km - km0
                self._arrive(t)
            else:
                if not self.f_speed_ms and not self.f_accel:
                    allow = path.allowance_ms(km)
                    if v > allow:
                        # Never harder than service braking (e.g. slowing after speeding).
                        floor = v0 - physics.BRAKE_MS2 * dt
                        v = allow if allow > floor else floor
                self.km = km
                self.v = v
                dist_km = km - km0
            lat, lon, heading = path.position_at(self.km)
            self.heading = heading
        else:
            if t >= self.wait_until:
                self._depart(t)
            lat, lon, heading = path.position_at(self.km)
            heading = self.heading
        if self.f_lateral_m:
            lat, lon = physics.offset_position(lat, lon, heading, self.f_lateral_m)

        # Cargo air temperature.
        ambient = path.mean_ambient_at(self.km) + diurnal_c
        door = self.f_door
        dock = False
        if self.doors and not door:
            door = dock = self._routine_door(t)
        if door:
            # Loading and unloading happen at a cold dock; a door opened elsewhere lets in
            # the outside air.
            outside = self.setpoint + DOCK_ABOVE_SETPOINT_C if dock else ambient
            self.temp = outside + (self.temp - outside) * self.decay_door
            self.hum = AMBIENT_RH + (self.hum - AMBIENT_RH) * self.decay_door
        else:
            if self.f_failed:
                self.temp = ambient + (self.temp - ambient) * self.decay_fail
            else:
                sp = self.setpoint
                self.temp = sp + (self.temp - sp) * self.decay_pull
            self.hum = self.hum_base + (self.hum - self.hum_base) * self.decay_pull
        defrost = False
        offset = 0.0
        if t >= self.defrost_start:
            elapsed = t - self.defrost_start
            if elapsed <= self.defrost_len:
                if not self.f_failed:
                    defrost = True
                    offset = physics.defrost_offset(elapsed, self.defrost_len, self.defrost_peak)
            else:
                rng = self.rng
                self.defrost_start += rng.uniform(
                    physics.DEFROST_MIN_INTERVAL_S, physics.DEFROST_MAX_INTERVAL_S
                )
                self.defrost_len = rng.uniform(25.0, 40.0) * 60.0
        rng = self.rng
        gauss = rng.gauss
        self.noise = self.noise_keep * self.noise + gauss(0.0, self.noise_step)

        # Fuel: engine by distance, reefer by time, thieves, the pump.
        lph = physics.reefer_litres_per_hour(ambient, self.setpoint, door_open=door)
        fuel = self.fuel_l - physics.fuel_burn_litres(dist_km, dt, self.l_per_km, lph)
        if self.f_theft_lps:
            fuel -= self.f_theft_lps * dt
        if self.refuel_to and fuel < self.refuel_to:
            fuel = min(self.refuel_to, fuel + PUMP_LPS * dt)
        self.fuel_l = fuel if fuel > 0.0 else 0.0

        if self.f_offline:
            return None
        self.seq += 1
        speed = self.v * 3.6
        return Reading(
            truck_id=self.truck_id,
            temp=round(self.temp + offset + self.noise, 2),
            timestamp=round(t, 3),
            fuel=round(min(100.0, max(0.0, self.fuel_l / self.tank * 100.0 + gauss(0.0, 0.05))), 2),
            event_id=_uuid4(rng.getrandbits(128) ^ self.id_salt),
            seq=self.seq,
            trip_id=self.trip_id,
            driver_id=self.driver_id,
            cargo=self.cargo,
            lat=round(lat + gauss(0.0, GPS_SIGMA_DEG), 6),
            lon=round(lon + gauss(0.0, GPS_SIGMA_DEG), 6),
            speed_kmh=round(speed, 1),
            heading_deg=round(heading, 1) if self.moving else round(self.heading, 1),
            humidity=round(min(100.0, max(0.0, self.hum + gauss(0.0, 0.5))), 1),
            door_open=door,
            reefer_on=True,
            defrost=defrost,
        )

    def _routine_door(self, t: float) -> bool:
        doors = self.doors
        while doors and doors[0][1] <= t:
            doors.pop(0)
        return bool(doors) and doors[0][0] <= t


@dataclass(slots=True)
class FleetSim:
    """Every truck of a run, stepped together tick by tick."""

    trucks: list[TruckSim]
    start: float
    rate_hz: float
    scenario: Scenario
    _tick: int = field(default=0, init=False)

    def ticks(self, duration_s: float | None) -> Iterator[tuple[float, list[Emission]]]:
        """Per tick, its event time and what the trucks send then; forever when no duration."""
        dt = 1.0 / self.rate_hz
        last = None if duration_s is None else round(duration_s * self.rate_hz)
        trucks = self.trucks
        while last is None or self._tick < last:
            t = self.start + self._tick * dt
            self._tick += 1
            diurnal = physics.diurnal_offset_c(t)
            out: list[Emission] = []
            append = out.append
            for truck in trucks:
                reading = truck.step(t, diurnal)
                if truck.faults:
                    _emit_faulty(truck, reading, out)
                elif reading is not None:
                    append(reading)
            yield t, out

    def emissions(self, duration_s: float | None) -> Iterator[Emission]:
        for _, batch in self.ticks(duration_s):
            yield from batch


def _emit_faulty(truck: TruckSim, reading: Reading | None, out: list[Emission]) -> None:
    """What a truck with faults sends this tick: held back, doubled, or with broken extras."""
    if reading is not None:
        if truck.f_ooo:
            truck.held.append(reading)
        else:
            out.append(reading)
            if truck.f_dup:
                out.append(reading)
        if truck.f_raw:
            # Broken messages ride along with a real reading (kept while the sensor is off).
            out.extend(malformed(v, reading, truck.key) for v in truck.f_raw)
            truck.f_raw.clear()
    if truck.held and not truck.f_ooo:
        # The held readings arrive late, newest first.
        out.extend(reversed(truck.held))
        truck.held.clear()


def build_fleet(
    registry: Registry,
    scenario: Scenario,
    *,
    trucks: int | None,
    seed: int,
    start: float,
    rate_hz: float,
    partial: bool = False,
) -> FleetSim:
    """The trucks of a run with the scenario's faults placed on them.

    ``partial``: faults of trucks outside the run are left out (for the implicit demo mix);
    otherwise a scenario whose trucks are not all in the run is refused.
    """
    if rate_hz <= 0:
        raise ConfigError("--rate must be above 0 readings per truck per simulated second")
    chosen = fleet_trucks(registry, trucks)
    names = {t.truck_id for t in chosen}
    missing = sorted(scenario.trucks - names)
    if missing and not partial:
        position = max(i for i, t in enumerate(registry.trucks) if t.truck_id in missing) + 1
        raise ConfigError(
            f"scenario {scenario.name} involves {', '.join(missing)}: run with --trucks "
            f"{position} or more"
        )
    paths: dict[str, tuple[RoutePath, RoutePath]] = {}
    dt = 1.0 / rate_hz
    sims = []
    for truck in chosen:
        if truck.route not in paths:
            route = registry.routes[truck.route]
            paths[truck.route] = (RoutePath(route), RoutePath(route, reverse=True))
        fwd = paths[truck.route][0]
        faults = []
        for event in scenario.events:
            if event.truck != truck.truck_id:
                continue
            km = event.at_km
            if event.at_waypoint is not None:
                km = fwd.km_of(event.at_waypoint)
            faults.append(Fault(event, start, km))
        sims.append(
            TruckSim(
                truck,
                registry.profile_for(truck.cargo),
                paths[truck.route],
                seed=seed,
                start=start,
                dt=dt,
                faults=faults,
            )
        )
    return FleetSim(trucks=sims, start=start, rate_hz=rate_hz, scenario=scenario)
