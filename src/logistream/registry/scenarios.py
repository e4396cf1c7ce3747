"""Named fault scenarios: which truck breaks how, where or when, and what the pipeline must see.

A scenario file (``registry/data/scenarios/<name>.toml``, or the same folder under the user's
``LOGISTREAM_REGISTRY_DIR``) places fault events on trucks of the default fleet, at a time
(``at_min`` after the simulation start), at a distance along the truck's first trip (``at_km``) or
at a waypoint of its route (``at_waypoint``). It lists, written by hand, the alerts the speed
layer must raise (``[[expect]]``, as truck and rule), the alerts it may raise as a side effect
(``[[allow]]``), and the messages the bridge must reject (``[[dlq]]``, as reason code and count).
Nothing here is computed by the rules: the lists are the specification they are tested against.

A scenario may also carry shipments (``[[shipment]]``: a plan of ``ingest/shipment_plans.py`` on
a truck, with its windows moved or its reefer switched on late), the stages the speed layer must
announce, in order, per shipment (``[[stage]]``: shipment plan, stage, stop id), proofs of
delivery recorded after arrival (``[[pod]]``) and each lot's release verdict in the shipment
report (``[[verdict]]``). Such a scenario needs the shipments pipeline to show what it expects, so
:func:`load_all_scenarios` lists it only when asked (``shipments=True``). Several scenarios whose
trucks differ run together as one: ``--scenario a+b``.
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


SHIPMENT_STAGES: Final = ("at_origin", "in_transit", "at_stop", "at_destination", "delivered")
"""Stages a scenario may expect (``planned`` is where every shipment begins)."""
POD_DECISIONS: Final = ("accepted", "rejected")
VERDICTS: Final = ("pass", "review", "fail")
COMBINE: Final = "+"


@dataclass(frozen=True, slots=True)
class ShipmentSpec:
    """A shipment the simulator creates for a run: a plan (``ingest/shipment_plans.py``) on a
    truck."""

    name: str
    """How the scenario's stages, PoDs and verdicts name it (default: the plan's name)."""
    plan: str
    truck: str
    window_shift_min: float = 0.0
    """Moves every arrival window (negative: earlier, so the truck arrives late)."""
    reefer_on_min: float = 0.0
    """0: the air is cold from the start; else the reefer is switched on this late."""


@dataclass(frozen=True, slots=True)
class ExpectedStage:
    shipment: str
    """The shipment's name in the scenario (``[[shipment]] name``, default its plan)."""
    stage: str
    stop: str
    """The stop id of the plan."""


@dataclass(frozen=True, slots=True)
class PlannedPod:
    """A proof of delivery recorded once the truck is at the lot's stop."""

    shipment: str
    lot: str
    decision: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ExpectedVerdict:
    shipment: str
    lot: str
    verdict: str
    why: str = ""


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
    shipments: tuple[ShipmentSpec, ...] = ()
    stages: tuple[ExpectedStage, ...] = ()
    pods: tuple[PlannedPod, ...] = ()
    verdicts: tuple[ExpectedVerdict, ...] = ()

    @property
    def trucks(self) -> frozenset[str]:
        """Trucks this scenario names."""
        names = {e.truck for e in self.events}
        names.update(a.truck for a in self.expect)
        names.update(a.truck for a in self.allow)
        names.update(s.truck for s in self.shipments)
        return frozenset(names)

    def stages_of(self, shipment: str) -> list[tuple[str, str]]:
        """The (stage, stop id) the named shipment must pass, in order."""
        return [(e.stage, e.stop) for e in self.stages if e.shipment == shipment]


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


def _text(where: str, t: dict[str, Any], key: str, allowed: tuple[str, ...] = ()) -> str:
    value = t.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: missing {key}")
    if allowed and value not in allowed:
        raise ConfigError(f"{where}: {key} {value!r} is not one of {', '.join(allowed)}")
    return value


def _shipment(where: str, t: dict[str, Any]) -> ShipmentSpec:
    unknown = set(t) - {"name", "plan", "truck", "window_shift_min", "reefer_on_min"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]}")
    plan = _text(where, t, "plan")
    try:
        return ShipmentSpec(
            name=_text(where, t, "name") if "name" in t else plan,
            plan=plan,
            truck=_text(where, t, "truck"),
            window_shift_min=float(t.get("window_shift_min", 0.0)),
            reefer_on_min=float(t.get("reefer_on_min", 0.0)),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: wrong value {error}") from error


def _shipment_parts(
    where: str, data: dict[str, Any]
) -> tuple[
    tuple[ShipmentSpec, ...],
    tuple[ExpectedStage, ...],
    tuple[PlannedPod, ...],
    tuple[ExpectedVerdict, ...],
]:
    shipments = tuple(
        _shipment(f"{where} shipment {i + 1}", t) for i, t in enumerate(data.get("shipment", []))
    )
    plans = [s.name for s in shipments]
    if len(set(plans)) != len(plans):
        raise ConfigError(f"{where}: two shipments named alike; give each its own name")

    def plan_of(w: str, t: dict[str, Any]) -> str:
        plan = _text(w, t, "shipment")
        if plan not in plans:
            raise ConfigError(f"{w}: shipment {plan!r} is not one of the [[shipment]] names")
        return plan

    stages = tuple(
        ExpectedStage(
            plan_of(w := f"{where} stage {i + 1}", t),
            _text(w, t, "stage", SHIPMENT_STAGES),
            _text(w, t, "stop"),
        )
        for i, t in enumerate(data.get("stage", []))
    )
    pods = tuple(
        PlannedPod(
            plan_of(w := f"{where} pod {i + 1}", t),
            _text(w, t, "lot"),
            _text(w, t, "decision", POD_DECISIONS),
            str(t.get("note", "")),
        )
        for i, t in enumerate(data.get("pod", []))
    )
    verdicts = tuple(
        ExpectedVerdict(
            plan_of(w := f"{where} verdict {i + 1}", t),
            _text(w, t, "lot"),
            _text(w, t, "verdict", VERDICTS),
            str(t.get("why", "")),
        )
        for i, t in enumerate(data.get("verdict", []))
    )
    return shipments, stages, pods, verdicts


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
    shipments, stages, pods, verdicts = _shipment_parts(where, data)
    scenario = Scenario(
        name=name,
        description=str(data.get("description", "")).strip(),
        duration_min=float(data.get("duration_min", 60.0)),
        min_rate_hz=float(data.get("min_rate_hz", 0.0)),
        events=events,
        expect=expect,
        allow=allow,
        dlq=dlq,
        shipments=shipments,
        stages=stages,
        pods=pods,
        verdicts=verdicts,
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


def combine(scenarios: list[Scenario]) -> Scenario:
    """Several scenarios run as one (``a+b``): their events and expectations together, as long
    as the longest; refused when two name the same truck or the same shipment plan."""
    seen: dict[str, str] = {}
    for scenario in scenarios:
        for truck in scenario.trucks:
            if truck in seen:
                raise ConfigError(
                    f"scenarios {seen[truck]} and {scenario.name} both involve {truck}: they "
                    "cannot run together"
                )
            seen[truck] = scenario.name
    names = [s.name for scenario in scenarios for s in scenario.shipments]
    if len(set(names)) != len(names):
        raise ConfigError("scenarios that run together need shipments named differently")
    return Scenario(
        name=COMBINE.join(s.name for s in scenarios),
        description="\n\n".join(s.description for s in scenarios),
        duration_min=max(s.duration_min for s in scenarios),
        min_rate_hz=max(s.min_rate_hz for s in scenarios),
        events=tuple(e for s in scenarios for e in s.events),
        expect=tuple(e for s in scenarios for e in s.expect),
        allow=tuple(e for s in scenarios for e in s.allow),
        dlq=tuple(e for s in scenarios for e in s.dlq),
        shipments=tuple(e for s in scenarios for e in s.shipments),
        stages=tuple(e for s in scenarios for e in s.stages),
        pods=tuple(e for s in scenarios for e in s.pods),
        verdicts=tuple(e for s in scenarios for e in s.verdicts),
    )


def load_scenario(name: str, registry: Registry, directory: Path | None = None) -> Scenario:
    """The named scenario; ``none`` is a clean fleet; ``a+b`` runs both (:func:`combine`). An
    unknown name lists the known ones."""
    if COMBINE in name:
        return combine([load_scenario(part, registry, directory) for part in name.split(COMBINE)])
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


def load_all_scenarios(
    registry: Registry, directory: Path | None = None, *, shipments: bool = False
) -> dict[str, Scenario]:
    """Every scenario file, parsed and checked (``none`` not included); those with shipments
    only with ``shipments`` (and then only those)."""
    parsed = {
        name: parse_scenario(name, text, registry) for name, text in _files(directory).items()
    }
    return {name: s for name, s in parsed.items() if bool(s.shipments) == shipments}
