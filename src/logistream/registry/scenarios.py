"""Named fault scenarios: which truck breaks how, where or when, and what the pipeline must see.

A scenario file (``registry/data/scenarios/<name>.toml``, or the same folder under the user's
``LOGISTREAM_REGISTRY_DIR``) places fault events on trucks of the default fleet, at a time
(``at_min`` after the simulation start), at a distance along the truck's first trip (``at_km``) or
at a waypoint of its route (``at_waypoint``). It lists, written by hand, the alerts the speed
layer must raise (``[[expect]]``, as truck and rule), the alerts it may raise as a side effect
(``[[allow]]``), and the messages the bridge must reject (``[[dlq]]``, as reason code and count).
Nothing here is computed by the rules: the lists are the specification they are tested against.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from logistream.errors import ConfigError
from logistream.events import REASON_CODES, RULE_NAMES
from logistream.registry.models import Registry

RULES: Final = RULE_NAMES
"""Alert rule names (docs/DEVELOPING.md)."""

FAULT_KINDS: Final = (
    "reefer_failure",
    "door_open",
    "sensor_offline",
    "fuel_theft",
    "harsh_braking",
    "harsh_acceleration",
    "speeding",
    "route_deviation",
    "duplicates",
    "out_of_order",
    "malformed",
    "noisy_probe",
    "sensor_glitch",
)
MALFORMED_VARIANTS: Final = (
    "truncated_json",
    "wrong_types",
    "nan",
    "missing_truck_id",
    "future_event",
    "oversized",
    "impossible_value",
)
NONE: Final = "none"
"""The scenario name for a clean fleet without faults."""
DEFAULT: Final = "demo"


@dataclass(frozen=True, slots=True)
class FaultEvent:
    truck: str
    kind: str
    at_min: float | None = None
    at_km: float | None = None
    at_waypoint: str | None = None
    for_s: float = 0.0
    """How long the fault lasts, seconds; 0: until the end of the run (or instantaneous)."""
    park_min: float = 0.0
    """The truck pulls over at the trigger and stays this long; the fault starts once parked."""
    after_min: float = 0.0
    """With ``park_min``: minutes after stopping before the fault starts."""
    params: dict[str, float | str] = field(default_factory=dict)
    """Kind-specific: litres, speed_kmh, offset_km, accel_ms2, variant."""

    def param(self, name: str, default: float) -> float:
        value = self.params.get(name, default)
        return float(value)


@dataclass(frozen=True, slots=True)
class ExpectedAlert:
    truck: str
    rule: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class ExpectedRejection:
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    duration_min: float
    """Simulated minutes after which every expected alert has happened (default ``--duration``)."""
    min_rate_hz: float
    """The lowest ``--rate`` at which the expected alerts still show (harsh driving needs 1 Hz)."""
    events: tuple[FaultEvent, ...] = ()
    expect: tuple[ExpectedAlert, ...] = ()
    allow: tuple[ExpectedAlert, ...] = ()
    dlq: tuple[ExpectedRejection, ...] = ()

    @property
    def trucks(self) -> frozenset[str]:
        """Trucks this scenario names."""
        names = {e.truck for e in self.events}
        names.update(a.truck for a in self.expect)
        names.update(a.truck for a in self.allow)
        return frozenset(names)


_EVENT_KEYS: Final = frozenset(
    {"truck", "kind", "at_min", "at_km", "at_waypoint", "for_min", "for_s", "park_min", "after_min"}
)


def _files(directory: Path | None) -> dict[str, str]:
    """Scenario name -> TOML text; a user's file of the same name replaces the shipped one."""
    found: dict[str, str] = {}
    shipped = resources.files("logistream.registry").joinpath("data", "scenarios")
    for entry in shipped.iterdir():
        if entry.name.endswith(".toml"):
            found[entry.name.removesuffix(".toml")] = entry.read_text("utf-8")
    if directory is not None and (directory / "scenarios").is_dir():
        for path in sorted((directory / "scenarios").glob("*.toml")):
            found[path.stem] = path.read_text(encoding="utf-8")
    return found


def scenario_names(directory: Path | None = None) -> list[str]:
    """Every scenario that can be named with ``--scenario``, plus ``none``."""
    return sorted([*_files(directory), NONE])


def _event(where: str, t: dict[str, Any]) -> FaultEvent:
    kind = str(t.get("kind", ""))
    if kind not in FAULT_KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    triggers = [k for k in ("at_min", "at_km", "at_waypoint") if k in t]
    if len(triggers) != 1:
        raise ConfigError(f"{where}: give exactly one of at_min, at_km, at_waypoint")
    params = {k: v for k, v in t.items() if k not in _EVENT_KEYS}
    for key, value in params.items():
        if not isinstance(value, int | float | str) or isinstance(value, bool):
            raise ConfigError(f"{where}: parameter {key} must be a number or a string")
    if kind == "malformed" and params.get("variant") not in MALFORMED_VARIANTS:
        raise ConfigError(
            f"{where}: a malformed event needs variant = one of {', '.join(MALFORMED_VARIANTS)}"
        )
    try:
        return FaultEvent(
            truck=str(t["truck"]),
            kind=kind,
            at_min=float(t["at_min"]) if "at_min" in t else None,
            at_km=float(t["at_km"]) if "at_km" in t else None,
            at_waypoint=str(t["at_waypoint"]) if "at_waypoint" in t else None,
            for_s=float(t.get("for_s", 0.0)) + float(t.get("for_min", 0.0)) * 60.0,
            park_min=float(t.get("park_min", 0.0)),
            after_min=float(t.get("after_min", 0.0)),
            params={k: v if isinstance(v, str) else float(v) for k, v in params.items()},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{where}: missing or wrong value {error}") from error


def _alert(where: str, t: dict[str, Any]) -> ExpectedAlert:
    rule = str(t.get("rule", ""))
    if rule not in RULES:
        raise ConfigError(f"{where}: rule {rule!r} is not one of {', '.join(RULES)}")
    if "truck" not in t:
        raise ConfigError(f"{where}: missing truck")
    return ExpectedAlert(truck=str(t["truck"]), rule=rule, why=str(t.get("why", "")))


def _rejection(where: str, t: dict[str, Any]) -> ExpectedRejection:
    reason = str(t.get("reason", ""))
    if reason not in REASON_CODES:
        raise ConfigError(f"{where}: reason {reason!r} is not one of {', '.join(REASON_CODES)}")
    return ExpectedRejection(reason=reason, count=int(t.get("count", 1)))


def parse_scenario(name: str, text: str, registry: Registry) -> Scenario:
    """A scenario from its TOML text, checked against the registry's fleet and routes."""
    where = f"scenario {name}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML ({error})") from error
    events = tuple(_event(f"{where} event {i + 1}", t) for i, t in enumerate(data.get("event", [])))
    expect = tuple(
        _alert(f"{where} expect {i + 1}", t) for i, t in enumerate(data.get("expect", []))
    )
    allow = tuple(_alert(f"{where} allow {i + 1}", t) for i, t in enumerate(data.get("allow", [])))
    dlq = tuple(_rejection(f"{where} dlq {i + 1}", t) for i, t in enumerate(data.get("dlq", [])))
    scenario = Scenario(
        name=name,
        description=str(data.get("description", "")).strip(),
        duration_min=float(data.get("duration_min", 60.0)),
        min_rate_hz=float(data.get("min_rate_hz", 0.0)),
        events=events,
        expect=expect,
        allow=allow,
        dlq=dlq,
    )
    for truck_id in sorted(scenario.trucks):
        if registry.truck(truck_id) is None:
            raise ConfigError(f"{where}: truck {truck_id!r} is not in the fleet (fleet.toml)")
    for event in events:
        truck = registry.truck(event.truck)
        if truck is None or event.at_waypoint is None:
            continue
        names = {w.name for w in registry.routes[truck.route].waypoints}
        if event.at_waypoint not in names:
            raise ConfigError(
                f"{where}: waypoint {event.at_waypoint!r} is not on {truck.truck_id}'s route "
                f"{truck.route}"
            )
    return scenario


def load_scenario(name: str, registry: Registry, directory: Path | None = None) -> Scenario:
    """The named scenario; ``none`` is a clean fleet. An unknown name lists the known ones."""
    if name == NONE:
        return Scenario(
            name=NONE, description="A clean fleet: no faults.", duration_min=60.0, min_rate_hz=0.0
        )
    files = _files(directory)
    if name not in files:
        raise ConfigError(
            f"LOGISTREAM scenario {name!r} not found; known: {', '.join(scenario_names(directory))}"
        )
    return parse_scenario(name, files[name], registry)


def load_all_scenarios(registry: Registry, directory: Path | None = None) -> dict[str, Scenario]:
    """Every scenario file, parsed and checked (``none`` not included)."""
    return {name: parse_scenario(name, text, registry) for name, text in _files(directory).items()}
