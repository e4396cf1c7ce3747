"""Benchmark: alarm quality. Do the rules raise what each scenario expects, and nothing else?

Every scenario of the registry (and ``none``, a clean fleet) is simulated with the real
simulator from several hours of the day (the ambient air, and with it the cargo, follows the
hour), seeded, and each reading goes through the real rules engine in-process, as in
tests/unit/test_rules_scenarios.py; like the speed processor, a watermark sweep after every
simulated second opens ``sensor_offline`` for trucks the fleet has left behind. No servers.
The alerts are scored against the scenario's hand-written ``[[expect]]``/``[[allow]]`` lists
(definitions in bench/alarm_quality.py, printed with the figures).

    python bench/bench_alarm_quality.py            # every scenario from 4 start hours (~8 min)
    python bench/bench_alarm_quality.py --smoke    # 3 scenarios from one start (~30 s)
    python bench/bench_alarm_quality.py --scenarios reefer_failure --starts 09:00,15:00
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Run as a script (``python bench/bench_alarm_quality.py``): the repository root holds `bench`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.alarm_quality import (
    DUPLICATE_WINDOW_S,
    EVENT_RULES,
    Expectation,
    Raised,
    Tally,
    score,
    trend_trucks,
)
from logistream.errors import InvalidReading
from logistream.events import Alert, Reading, decode_reading
from logistream.ingest.fleet import build_fleet
from logistream.registry import load_registry
from logistream.registry.models import Registry
from logistream.registry.rules import RulesConfig, load_rules_config
from logistream.registry.scenarios import NONE, Scenario, load_all_scenarios
from logistream.speed import engine
from logistream.speed.state import TruckState
from logistream.speed.watermark import offline_steps, watermark

SEED = 42
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, 03:00 in Nairobi (EAT, UTC+3)
STARTS = ("03:00", "09:00", "15:00", "21:00")
SMOKE_STARTS = ("15:00",)
SMOKE_SCENARIOS = ("none", "reefer_failure", "sensor_offline")
GOALS = {
    "recall": "100 %",
    "precision": ">= 95 %",
    "healthy": "0",
    "duplicates": "0",
    "lead": ">= 15 min",
}


def start_time(eat: str) -> float:
    """Event time of a start at ``HH:MM`` EAT on T0's day (T0 is 03:00 EAT)."""
    hours, minutes = (int(x) for x in eat.split(":"))
    return T0 + (((hours - 3) % 24) * 3600 + minutes * 60)


def scenario_spec(scenario: Scenario) -> Expectation:
    return Expectation(
        expected=frozenset((a.truck, a.rule) for a in scenario.expect),
        allowed=frozenset((a.truck, a.rule) for a in scenario.allow),
        # A truck whose fault should raise nothing (a noisy but healthy probe) is healthy.
        named_trucks=frozenset(a.truck for a in (*scenario.expect, *scenario.allow)),
    )


def raised_alerts(changes: Sequence[Alert]) -> list[Raised]:
    """One :class:`Raised` per alert id, from its state changes (opened, maybe resolved)."""
    first: dict[str, Alert] = {}
    resolved: dict[str, float] = {}
    for c in changes:
        first.setdefault(c.alert_id, c)
        if c.state == "resolved":
            resolved[c.alert_id] = c.resolved_at if c.resolved_at is not None else c.changed_at
    return [
        Raised(
            alert_id=a.alert_id,
            truck=a.truck_id,
            rule=a.rule,
            severity=a.severity,
            opened_at=a.opened_at,
            trip=a.trip_id,
            resolved_at=resolved.get(a.alert_id),
        )
        for a in first.values()
    ]


def simulate(
    registry: Registry, rules: RulesConfig, scenario: Scenario, start: float, seed: int
) -> tuple[list[Alert], dict[str, float | None]]:
    """Every alert change of one run, and per trend truck its first reading outside its range."""
    fleet = build_fleet(
        registry,
        scenario,
        trucks=None,
        seed=seed,
        start=start,
        rate_hz=max(1.0, scenario.min_rate_hz),
    )
    contexts = engine.Contexts(registry, rules)
    states: dict[str, TruckState] = {}
    changes: list[Alert] = []
    watched = set(trend_trucks(scenario_spec(scenario)))
    outside: dict[str, float | None] = dict.fromkeys(watched)
    newest = -float("inf")
    fleet_time: float | None = None  # as the processor: the last sweep's watermark + lateness
    for t, emissions in fleet.ticks(scenario.duration_min * 60.0):
        for emission in emissions:
            if isinstance(emission, Reading):
                reading = emission
            else:
                # Produced "now" in the sped-up run: the record timestamp is the tick's time.
                try:
                    reading = decode_reading(emission.value, record_ts_ms=int(t * 1000))
                except InvalidReading:
                    continue  # the bridge's DLQ takes it; the speed layer skips it
            truck = reading.truck_id
            state = states.get(truck) or engine.new_state(truck)
            ctx = contexts.get(truck, reading.cargo)
            step = engine.process(state, reading, 0, ctx, fleet_time)
            states[truck] = step.state
            changes.extend(step.changes)
            newest = max(newest, reading.timestamp)
            if truck in watched and outside[truck] is None:
                profile = registry.profile_for(reading.cargo)
                if not profile.low_c <= reading.temp <= profile.high_c:
                    outside[truck] = reading.timestamp
        # The speed processor's sensor_offline sweep: one partition, never backlogged.
        wm = watermark(
            newest_event={0: newest} if states else {},
            backlogged=(),
            last_seen=[s.last.timestamp for s in states.values() if s.last is not None],
            lateness_s=rules.offline.watermark_lateness_s,
        )
        if wm is not None:
            fleet_time = wm + rules.offline.watermark_lateness_s
            for truck, step in offline_steps(states, wm, rules.offline.offline_s, contexts):
                states[truck] = step.state
                changes.extend(step.changes)
    return changes, outside


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:6.1%} ({part}/{whole})" if whole else "  —"


def _lead(tally: Tally) -> str:
    m = tally.median_lead
    return "—" if m is None else f"{m:.1f} (n={len(tally.leads)})"


def _describe(label: str, a: Raised, starts: dict[str, float]) -> str:
    at = (a.opened_at - starts[label]) / 60.0
    end = (
        "still open"
        if a.resolved_at is None
        else f"resolved +{(a.resolved_at - a.opened_at):.0f} s"
    )
    return f"  {label}: {a.truck} {a.rule} ({a.severity}) opened at +{at:.1f} min, {end}"


def report(
    per_scenario: dict[str, Tally], overall: Tally, starts: dict[str, float], limit: int
) -> None:
    print(
        f"\n{'scenario':<18} {'recall':>16} {'major/critical precision':>26} "
        f"{'healthy':>8} {'dups':>5} {'lead min (median)':>18}"
    )
    for name, t in [*per_scenario.items(), ("overall", overall)]:
        print(
            f"{name:<18} {_pct(t.hits, t.expected):>16} "
            f"{_pct(t.severe_expected, t.severe_total):>26} {len(t.healthy):>8} "
            f"{len(t.duplicates):>5} {_lead(t):>18}"
        )
    leads = ", ".join(f"{x:.1f}" for x in sorted(overall.leads)) or "none"
    print(f"\ntrend lead times (min): {leads}")
    alarm = ", ".join(f"{x:.1f}" for x in sorted(overall.alarm_leads)) or "none"
    print(f"alarm lead times, to the first excursion alert (min): {alarm}")
    for title, items in (
        ("missed expected alerts", [f"  {m}" for m in overall.missed]),
        (
            "unexpected major/critical alerts",
            [_describe(lb, a, starts) for lb, a in overall.false_alarms],
        ),
        ("alerts on healthy trucks", [_describe(lb, a, starts) for lb, a in overall.healthy]),
        ("duplicates", [_describe(lb, a, starts) for lb, a in overall.duplicates]),
        ("trend trucks without a lead time", [f"  {m}" for m in overall.no_lead]),
    ):
        print(f"{title}: {len(items)}")
        for line in items[:limit]:
            print(line)
        if len(items) > limit:
            print(f"  … and {len(items) - limit} more")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="3 scenarios from one start")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--starts", help=f"start hours, EAT (default {','.join(STARTS)})")
    parser.add_argument("--scenarios", help="comma-separated names (default: all, and none)")
    parser.add_argument("--limit", type=int, default=25, help="lines per shortfall list")
    args = parser.parse_args(argv)

    registry = load_registry()
    rules = load_rules_config()
    catalogue = load_all_scenarios(registry)
    if args.scenarios:
        names = args.scenarios.split(",")
    elif args.smoke:
        names = list(SMOKE_SCENARIOS)
    else:
        names = [NONE, *sorted(catalogue)]
    unknown = [n for n in names if n != NONE and n not in catalogue]
    if unknown:
        print(f"unknown scenarios: {', '.join(unknown)}", file=sys.stderr)
        return 2
    hours = args.starts.split(",") if args.starts else list(SMOKE_STARTS if args.smoke else STARTS)

    print("alarm quality: the real simulator -> the real rules engine, in-process, no servers")
    print(f"seed={args.seed} starts (EAT, on 2026-01-01): {' '.join(hours)}")
    print(f"scenarios ({len(names)}): {' '.join(names)}")
    print(
        "definitions: recall = expected (truck, rule) pairs that opened / expected; precision = "
        "major+critical alert ids whose pair is expected / all major+critical ids ([[allow]] "
        "pairs on neither side); healthy = alert ids of any severity on trucks the scenario "
        "expects no alert for; duplicate = an alert id opened for the same truck, rule and trip "
        "while an "
        f"earlier one was open or < {DUPLICATE_WINDOW_S / 60:.0f} min after it resolved (not "
        f"{', '.join(sorted(EVENT_RULES))}); lead = minutes from the first temp_rising opening "
        "to the first reading outside the cargo range, for trucks expecting temp_rising and an "
        "excursion (alarm lead: to the first temp_high/temp_low/temp_critical opening instead)"
    )
    began = time.monotonic()
    per_scenario: dict[str, Tally] = {}
    overall = Tally()
    starts: dict[str, float] = {}
    runs = 0
    for name in names:
        scenario = (
            catalogue[name]
            if name != NONE
            else Scenario(name=NONE, description="", duration_min=60.0, min_rate_hz=0.0)
        )
        spec = scenario_spec(scenario)
        tally = Tally()
        t = time.monotonic()
        for hour in hours:
            label = f"{name}@{hour}"
            starts[label] = start_time(hour)
            changes, outside = simulate(registry, rules, scenario, starts[label], args.seed)
            tally.add(score(raised_alerts(changes), spec, outside, label))
            runs += 1
        per_scenario[name] = tally
        overall.add(tally)
        print(
            f"  {name}: {len(hours)} run(s) of {scenario.duration_min:.0f} simulated min in "
            f"{time.monotonic() - t:.1f} s",
            flush=True,
        )
    seconds = time.monotonic() - began

    report(per_scenario, overall, starts, args.limit)
    recall, precision, lead = overall.recall, overall.precision, overall.median_lead
    print(f"\n{'figure':<40} {'measured':<28} goal")
    print(f"{'recall':<40} {_pct(overall.hits, overall.expected).strip():<28} {GOALS['recall']}")
    print(
        f"{'precision of major/critical alerts':<40} "
        f"{_pct(overall.severe_expected, overall.severe_total).strip():<28} {GOALS['precision']}"
    )
    print(f"{'warnings on healthy trucks':<40} {len(overall.healthy):<28} {GOALS['healthy']}")
    print(f"{'duplicates':<40} {len(overall.duplicates):<28} {GOALS['duplicates']}")
    print(f"{'median trend lead time (min)':<40} {_lead(overall):<28} {GOALS['lead']}")
    alarm_lead = overall.median_alarm_lead
    shown = "—" if alarm_lead is None else f"{alarm_lead:.1f} (n={len(overall.alarm_leads)})"
    print(f"{'median lead to the excursion alert (min)':<40} {shown:<28} (for information)")
    print(f"{runs} runs in {seconds:.1f} s")
    print(
        json.dumps(
            {
                "bench": "alarm_quality",
                "seed": args.seed,
                "starts": hours,
                "scenarios": len(names),
                "runs": runs,
                "recall": recall,
                "expected": overall.expected,
                "hits": overall.hits,
                "precision": precision,
                "severe_total": overall.severe_total,
                "severe_expected": overall.severe_expected,
                "healthy_warnings": len(overall.healthy),
                "duplicates": len(overall.duplicates),
                "median_lead_min": lead,
                "leads_min": [round(x, 2) for x in overall.leads],
                "median_alarm_lead_min": alarm_lead,
                "seconds": round(seconds, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
