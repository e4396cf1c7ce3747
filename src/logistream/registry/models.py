"""The registry's plain data: cargo profiles, routes and trucks, shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from logistream.registry.devices import NO_DEVICES, Devices


@dataclass(frozen=True, slots=True)
class CargoProfile:
    """What a product tolerates. Temperatures in °C, durations in seconds of event time."""

    name: str
    label: str
    setpoint_c: float
    low_c: float
    """Lower limit of the allowed range."""
    high_c: float
    """Upper limit of the allowed range."""
    hard_low_c: float | None
    """Passing this is critical at once (None: no hard lower limit)."""
    hard_high_c: float | None
    alarm_delay_high_s: float
    """How long above ``high_c`` before an excursion alarms (0: on the first reading)."""
    alarm_delay_low_s: float
    hysteresis_c: float
    """A reading must come back this far inside the range to end an excursion (no flapping)."""
    tor_budget_s: float
    """Time out of range allowed per trip, summed over all excursions."""
    defrost_allowance_c: float
    """During a flagged defrost, up to ``high_c + defrost_allowance_c`` is no excursion."""
    defrost_max_s: float
    """A defrost longer than this is treated as an excursion."""
    mkt_enabled: bool
    """Mean Kinetic Temperature is meaningless for frozen products."""
    activation_energy_kj_mol: float = 83.144
    sensor_min_c: float = -50.0
    """A reading below this is a broken probe or cable, never the cargo's air."""
    sensor_max_c: float = 70.0
    max_rate_c_per_min: float = 4.0
    """The fastest the cargo air can really change with the doors shut (°C per minute)."""
    max_rate_door_c_per_min: float = 10.0
    """The same with the door open: outside air mixes in fast."""
    rate_slack_c: float = 4.0
    """Allowed on top of ``rate x elapsed time``: probe noise between two close readings."""


@dataclass(frozen=True, slots=True)
class Waypoint:
    name: str
    lat: float
    lon: float
    kind: str = "town"
    """``town`` (50 km/h zone), ``depot``, ``weighbridge``, ``rest``, ``airport``, ``farm``."""
    stop_min: float = 0.0
    """Minutes a truck stops here (0: drives through)."""


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    label: str
    waypoints: tuple[Waypoint, ...]


@dataclass(frozen=True, slots=True)
class Truck:
    truck_id: str
    """Kenyan plate, e.g. ``KBX 123A``."""
    driver_id: str
    route: str
    cargo: str
    tank_litres: float
    departure_offset_min: float = 0.0
    """Minutes after the simulation start at which the truck departs."""


@dataclass(frozen=True, slots=True)
class Registry:
    cargo: dict[str, CargoProfile]
    routes: dict[str, Route]
    trucks: tuple[Truck, ...]
    default_cargo: str = "default"
    truck_index: dict[str, Truck] = field(default_factory=dict, compare=False)
    devices: Devices = NO_DEVICES
    """The trackers and their probes (``devices.toml``); none when the folder has no such file."""

    def profile_for(self, cargo: str | None) -> CargoProfile:
        """The profile named by a reading's ``cargo``; absent or unknown: the default profile."""
        if cargo is not None:
            found = self.cargo.get(cargo)
            if found is not None:
                return found
        return self.cargo[self.default_cargo]

    def truck(self, truck_id: str) -> Truck | None:
        return self.truck_index.get(truck_id)
