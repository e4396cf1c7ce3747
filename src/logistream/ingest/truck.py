"""One simulated truck: its state, advanced one step per reading.

A step first asks the truck's faults what they change now, then moves the truck along its trip
(speed plan, stops, doors), then the cargo air (pull-down towards the setpoint, doors, defrost, a
failed reefer) and the fuel (engine, reefer, thieves, the pump). Every random draw comes from the
truck's own generator, in a fixed order, so a truck's readings depend on the seed, its plate and
the start alone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Final

from logistream.events import Reading
from logistream.ingest import physics
from logistream.ingest.event_ids import run_salt, uuid4
from logistream.ingest.faults import ACTIVE, DONE, PARKING, PENDING, Fault
from logistream.ingest.route import RoutePath
from logistream.ingest.stops import Stop, insert_pull_over, trip_stops
from logistream.registry.models import CargoProfile, Truck

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
        "f_glitch_c",
        "f_lateral_m",
        "f_offline",
        "f_ooo",
        "f_probe_sd",
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
        "probe_rng",
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
        # A noisy probe draws from its own generator: the truck's other draws stay as they were.
        self.probe_rng = random.Random(f"{seed}|{truck.truck_id}|probe")
        self.id_salt = run_salt(seed, start, truck.truck_id)
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
        self.stops: list[Stop] = []
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
        self.stops = trip_stops(path, self.faults, first_trip=self.trip_no == 1)
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
        insert_pull_over(self.stops, self.stop_i, at_km, fault)

    # --- faults ----------------------------------------------------------------------------------

    def _clear_fault_effects(self) -> None:
        self.f_failed = False
        self.f_glitch_c: float | None = None
        self.f_door = False
        self.f_offline = False
        self.f_dup = False
        self.f_ooo = False
        self.f_probe_sd = 0.0
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
            elif kind == "noisy_probe":
                self.f_probe_sd = event.param("sd_c", 0.6)
            elif kind == "malformed":
                self.f_raw.append(str(event.params["variant"]))
                fault.state = DONE
            elif kind == "sensor_glitch":
                # One reading of an impossible value (a loose connector), then normal again.
                self.f_glitch_c = event.param("temp_c", 25.0)
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
                # A new trip drives the other way from where the last one ended: read the
                # position (and the ambient below) on the new trip's path, at its start.
                path = self.path
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
        if self.f_probe_sd:
            # A cheap probe: independent Gaussian noise on every reading, the cargo unchanged.
            offset += self.probe_rng.gauss(0.0, self.f_probe_sd)

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
            temp=round(self.temp + offset + self.noise, 2)
            if self.f_glitch_c is None
            else self.f_glitch_c,
            timestamp=round(t, 3),
            fuel=round(min(100.0, max(0.0, self.fuel_l / self.tank * 100.0 + gauss(0.0, 0.05))), 2),
            event_id=uuid4(rng.getrandbits(128) ^ self.id_salt),
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
