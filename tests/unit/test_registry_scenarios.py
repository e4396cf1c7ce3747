"""Every scenario file loads, names known trucks and rules, and its hand-written lists are honest.

The expected alerts are written by hand; these tests run each scenario through the simulator and
check the physical facts behind every listed alert (with the thresholds of the speed layer's
rules.toml and the cargo profiles), and that no truck shows a fact the lists do not name. The
check runs at the coolest (03:00 EAT) and hottest (15:00 EAT) hours, since ambient matters.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import pytest

from logistream.errors import ConfigError
from logistream.events import Reading, decode_reading
from logistream.geo import distance_to_polyline_km
from logistream.ingest.faults import RawMessage
from logistream.ingest.fleet import build_fleet
from logistream.registry import Registry, load_registry
from logistream.registry.models import CargoProfile
from logistream.registry.scenarios import (
    NONE,
    RULES,
    load_all_scenarios,
    load_scenario,
    parse_scenario,
    scenario_names,
)

REGISTRY = load_registry()
SCENARIOS = load_all_scenarios(REGISTRY)
REQUIRED = {
    "reefer_failure",
    "door_left_open",
    "sensor_offline",
    "fuel_theft",
    "harsh_driving",
    "speeding",
    "route_deviation",
    "duplicates",
    "out_of_order",
    "malformed",
    "demo",
}
# Thresholds of the speed layer (registry/data/rules.toml at the time of writing), with a margin so
# that an expected alert is clearly caused and an unexpected one clearly not.
DOOR_MAX_S = 10 * 60
OFFLINE_S = 10 * 60
FUEL_THEFT_L = 20.0
IDLE_LPH = 4.0
FUEL_LOW_PCT = 15.0
SPEED_LIMIT = 80.0
SPEEDING_S = 30.0
HARSH_BRAKE = 3.5
HARSH_ACCEL = 3.0
DEVIATION_KM = 5.0
TREND_WINDOW_S = 15 * 60
TREND_HORIZON_S = 30 * 60
TREND_MIN_SLOPE_C_PER_S = 1.0 / 3600
TREND_CLEAR_SE = 3.0
START_HOURS = ("03:00", "15:00")


def _run(name: str, hour: str, rate: float) -> tuple[dict[str, list[Reading]], list[RawMessage]]:
    scenario = SCENARIOS[name] if name != NONE else load_scenario(NONE, REGISTRY)
    start = datetime.fromisoformat(f"2025-03-03T{hour}:00+03:00").timestamp()
    fleet = build_fleet(REGISTRY, scenario, trucks=None, seed=11, start=start, rate_hz=rate)
    by_truck: dict[str, list[Reading]] = defaultdict(list)
    raw: list[RawMessage] = []
    seen: set[str | None] = set()
    for item in fleet.emissions(scenario.duration_min * 60.0):
        if isinstance(item, RawMessage):
            raw.append(item)
        elif item.event_id not in seen:
            seen.add(item.event_id)
            by_truck[item.truck_id].append(item)
    for readings in by_truck.values():
        readings.sort(key=lambda r: r.timestamp)
    return by_truck, raw


def _runs(readings: list[Reading], pred: object) -> list[tuple[float, float]]:
    """(start, end) event times of the stretches where ``pred`` holds on consecutive readings."""
    assert callable(pred)
    out: list[tuple[float, float]] = []
    begin: float | None = None
    last = 0.0
    for r in readings:
        if pred(r):
            begin = r.timestamp if begin is None else begin
            last = r.timestamp
        elif begin is not None:
            out.append((begin, last))
            begin = None
    if begin is not None:
        out.append((begin, last))
    return out


def _too_warm(p: CargoProfile, r: Reading) -> bool:
    limit = p.high_c + (p.defrost_allowance_c if r.defrost else 0.0)
    return r.temp > limit


def _too_cold(p: CargoProfile, r: Reading) -> bool:
    return r.temp < p.low_c


@dataclass(frozen=True)
class Facts:
    """For one truck: rule -> does the fact behind it hold clearly, and might it hold at all."""

    clear: frozenset[str]
    possible: frozenset[str]


def _facts(registry: Registry, truck_id: str, readings: list[Reading]) -> Facts:
    truck = registry.truck(truck_id)
    assert truck is not None
    profile = registry.profile_for(truck.cargo)
    route = [(w.lat, w.lon) for w in registry.routes[truck.route].waypoints]
    clear: set[str] = set()
    possible: set[str] = set()

    def mark(rule: str, strong: bool, weak: bool) -> None:
        if strong:
            clear.add(rule)
        if weak or strong:
            possible.add(rule)

    # A reading far from both its neighbours (or outside any probe's range) is a glitch of the
    # probe: a sensor fault, and no fact about the cargo's air.
    def jump(a: Reading, b: Reading, c: Reading, by: float) -> bool:
        return abs(b.temp - a.temp) > by and abs(b.temp - c.temp) > by

    triples = list(zip(readings, readings[1:], readings[2:], strict=False))
    glitches = {b.event_id for a, b, c in triples if jump(a, b, c, 12.0)}
    glitches |= {r.event_id for r in readings if not -50.0 <= r.temp <= 70.0}
    mark("sensor_fault", bool(glitches), any(jump(a, b, c, 4.0) for a, b, c in triples))
    readings = [r for r in readings if r.event_id not in glitches]

    warm = _runs(readings, lambda r: _too_warm(profile, r))
    longest_warm = max((b - a for a, b in warm), default=-1.0)
    mark(
        "temp_high",
        longest_warm > profile.alarm_delay_high_s * 1.5 + 60,
        longest_warm >= profile.alarm_delay_high_s,
    )
    cold = _runs(readings, lambda r: _too_cold(profile, r))
    longest_cold = max((b - a for a, b in cold), default=-1.0)
    mark(
        "temp_low",
        longest_cold > profile.alarm_delay_low_s * 1.5 + 60,
        longest_cold >= profile.alarm_delay_low_s,
    )
    hard_high = profile.hard_high_c if profile.hard_high_c is not None else float("inf")
    hard_low = profile.hard_low_c if profile.hard_low_c is not None else float("-inf")
    peak = max(r.temp for r in readings)
    low = min(r.temp for r in readings)
    mark(
        "temp_critical",
        peak > hard_high + 0.5 or low < hard_low - 0.5,
        peak > hard_high - 0.5 or low < hard_low + 0.5,
    )
    out_of_range = sum(b - a for a, b in warm) + sum(b - a for a, b in cold)
    mark(
        "tor_budget",
        out_of_range > profile.tor_budget_s * 1.3,
        out_of_range > profile.tor_budget_s * 0.8,
    )

    # Trend, as the speed layer computes it (20 s samples, 15 min window, drift away from the
    # setpoint only), except that door openings and flagged defrosts are normal operation. A
    # slope counts only when it stands clear of the probe's noise: even TREND_CLEAR_SE standard
    # errors (from the fit's residuals) below it, it is still steeper than the minimum.
    strong_trend = weak_trend = False
    points: list[tuple[float, float, bool]] = []
    for r in readings:
        if not points or r.timestamp - points[-1][0] >= 20:
            points.append((r.timestamp, r.temp, bool(r.door_open or r.defrost)))
        while points[0][0] < r.timestamp - TREND_WINDOW_S:
            points.pop(0)
        if any(p[2] for p in points) or r.door_open or r.defrost:
            continue
        if len(points) < 5 or points[-1][0] - points[0][0] < 300:
            continue
        if _too_warm(profile, r) or _too_cold(profile, r):
            continue
        n = len(points)
        mx = sum(p[0] for p in points) / n
        my = sum(p[1] for p in points) / n
        den = sum((p[0] - mx) ** 2 for p in points)
        slope = sum((p[0] - mx) * (p[1] - my) for p in points) / den
        fitted = my + slope * (points[-1][0] - mx)
        residuals = sum((p[1] - my - slope * (p[0] - mx)) ** 2 for p in points)
        slope_se = (residuals / (n - 2) / den) ** 0.5
        away = (slope > 0 and fitted > profile.setpoint_c and fitted > my) or (
            slope < 0 and fitted < profile.setpoint_c and fitted < my
        )
        if not away or abs(slope) - TREND_CLEAR_SE * slope_se < TREND_MIN_SLOPE_C_PER_S:
            continue
        limit = profile.high_c if slope > 0 else profile.low_c
        eta = (limit - fitted) / slope
        strong_trend = strong_trend or eta < TREND_HORIZON_S * 0.7
        weak_trend = weak_trend or eta < TREND_HORIZON_S * 1.5
    mark("temp_rising", strong_trend, weak_trend)

    door_runs = _runs(readings, lambda r: bool(r.door_open))
    longest_door = max((b - a for a, b in door_runs), default=-1.0)
    moving_open = any(r.door_open and (r.speed_kmh or 0) > 5 for r in readings)
    mark(
        "door_open",
        longest_door > DOOR_MAX_S * 1.5 or moving_open,
        longest_door >= DOOR_MAX_S * 0.8,
    )

    gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(readings)]
    longest_gap = max(gaps, default=0.0)
    mark("sensor_offline", longest_gap > OFFLINE_S * 1.5, longest_gap > OFFLINE_S * 0.8)

    tank = truck.tank_litres
    worst_theft = 0.0
    parked_since: float | None = None
    top = 0.0
    for r in readings:
        if (r.speed_kmh or 0) > 2:
            parked_since = None
            continue
        fuel = r.fuel or 0.0
        if parked_since is None:
            parked_since, top = r.timestamp, fuel
        top = max(top, fuel)
        idle = IDLE_LPH * (r.timestamp - parked_since) / 3600
        worst_theft = max(worst_theft, (top - fuel) / 100 * tank - idle)
    mark("fuel_theft", worst_theft > FUEL_THEFT_L * 2, worst_theft > FUEL_THEFT_L * 0.5)

    lowest_fuel = min(r.fuel or 100.0 for r in readings)
    mark("fuel_low", lowest_fuel < FUEL_LOW_PCT - 2, lowest_fuel < FUEL_LOW_PCT + 5)

    fast = _runs(readings, lambda r: (r.speed_kmh or 0) > SPEED_LIMIT)
    longest_fast = max((b - a for a, b in fast), default=-1.0)
    mark("speeding", longest_fast > SPEEDING_S * 3, longest_fast >= 0)

    accels = [
        ((b.speed_kmh or 0) - (a.speed_kmh or 0)) / 3.6 / (b.timestamp - a.timestamp)
        for a, b in itertools.pairwise(readings)
        if 0 < b.timestamp - a.timestamp <= 5
    ]
    mark("harsh_braking", min(accels) < -HARSH_BRAKE - 0.5, min(accels) < -HARSH_BRAKE * 0.6)
    mark("harsh_acceleration", max(accels) > HARSH_ACCEL + 0.5, max(accels) > HARSH_ACCEL * 0.6)

    off = _runs(
        readings, lambda r: distance_to_polyline_km((r.lat or 0, r.lon or 0), route) > DEVIATION_KM
    )
    longest_off = max((b - a for a, b in off), default=-1.0)
    far = max(distance_to_polyline_km((r.lat or 0, r.lon or 0), route) for r in readings)
    mark("route_deviation", longest_off > 600, far > DEVIATION_KM * 0.5)
    return Facts(frozenset(clear), frozenset(possible))


def test_every_required_scenario_ships() -> None:
    assert set(scenario_names()) >= REQUIRED | {NONE}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_names_known_trucks_and_rules(name: str) -> None:
    scenario = SCENARIOS[name]
    assert scenario.description
    assert scenario.duration_min > 0
    fleet = {t.truck_id for t in REGISTRY.trucks}
    assert scenario.trucks <= fleet
    for alert in (*scenario.expect, *scenario.allow):
        assert alert.rule in RULES
    assert not {(a.truck, a.rule) for a in scenario.expect} & {
        (a.truck, a.rule) for a in scenario.allow
    }


def test_bad_scenarios_are_refused_with_a_reason() -> None:
    with pytest.raises(ConfigError, match="not in the fleet"):
        parse_scenario("x", '[[expect]]\ntruck = "KXX 000X"\nrule = "speeding"\n', REGISTRY)
    with pytest.raises(ConfigError, match="rule 'overheating'"):
        parse_scenario("x", '[[expect]]\ntruck = "KBX 123A"\nrule = "overheating"\n', REGISTRY)
    with pytest.raises(ConfigError, match="exactly one of"):
        parse_scenario("x", '[[event]]\ntruck = "KBX 123A"\nkind = "speeding"\n', REGISTRY)
    with pytest.raises(ConfigError, match="waypoint 'Kisumu'"):
        parse_scenario(
            "x",
            '[[event]]\ntruck = "KBX 123A"\nkind = "speeding"\nat_waypoint = "Kisumu"\n',
            REGISTRY,
        )
    with pytest.raises(ConfigError, match="not found"):
        load_scenario("no_such_scenario", REGISTRY)


def _rate_for(name: str) -> float:
    return max(SCENARIOS[name].min_rate_hz, 0.2) if name != NONE else 0.2


@pytest.mark.parametrize("hour", START_HOURS)
@pytest.mark.parametrize("name", sorted(set(SCENARIOS) | {NONE}))
def test_expected_alerts_have_their_facts_and_no_others(name: str, hour: str) -> None:
    scenario = SCENARIOS[name] if name != NONE else load_scenario(NONE, REGISTRY)
    by_truck, _ = _run(name, hour, _rate_for(name))
    expected = {(a.truck, a.rule) for a in scenario.expect}
    allowed = expected | {(a.truck, a.rule) for a in scenario.allow}
    problems = []
    for truck_id, readings in sorted(by_truck.items()):
        facts = _facts(REGISTRY, truck_id, readings)
        for rule in RULES:
            if (truck_id, rule) in expected and rule not in facts.clear:
                problems.append(f"{truck_id} {rule}: expected, but its fact does not clearly hold")
            if (truck_id, rule) not in allowed and rule in facts.possible:
                problems.append(f"{truck_id} {rule}: not listed, but its fact (nearly) holds")
    assert not problems, f"scenario {name} at {hour} EAT:\n" + "\n".join(problems)


def test_malformed_messages_are_rejected_for_the_listed_reasons() -> None:
    scenario = SCENARIOS["malformed"]
    _, raw = _run("malformed", "15:00", 1.0)
    reasons: dict[str, int] = defaultdict(int)
    produced_ms = int(datetime.fromisoformat("2025-03-03T15:20:00+03:00").timestamp() * 1000)
    for message in raw:
        try:
            decode_reading(message.value, record_ts_ms=produced_ms)
        except Exception as error:
            reasons[getattr(error, "code", type(error).__name__)] += 1
        else:
            raise AssertionError(f"{message.variant} decoded as a valid reading")
    assert dict(reasons) == {d.reason: d.count for d in scenario.dlq}
    assert 64 * 1024 < max(len(m.value) for m in raw) < 1_000_000
