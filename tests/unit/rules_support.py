"""Helpers (no tests) for the rule and speed unit tests: readings and a run of the engine."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from logistream.events import Alert, Reading, derive_event_id
from logistream.registry import load_registry
from logistream.registry.rules import RulesConfig, load_rules_config
from logistream.speed import engine
from logistream.speed.state import TruckState

REGISTRY = load_registry()
RULES = load_rules_config()
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
VOI = (-3.3961, 38.5561)


def rd(ts: float, temp: float = 5.0, truck: str = "KBX 123A", **fields: Any) -> Reading:
    """A reading at ``T0 + ts`` seconds, with its derived event id."""
    timestamp = T0 + ts
    return Reading(
        truck_id=truck,
        temp=temp,
        timestamp=timestamp,
        event_id=derive_event_id(truck, timestamp),
        **fields,
    )


def vax(ts: float, temp: float = 5.0, **fields: Any) -> Reading:
    """A vaccines reading of the registry's truck KBX 123A."""
    return rd(ts, temp, cargo="vaccines", **fields)


@dataclass
class Run:
    """Feeds readings through the engine for one or more trucks and keeps every change."""

    rules: RulesConfig = RULES
    states: dict[str, TruckState] = field(default_factory=dict)
    changes: list[Alert] = field(default_factory=list)
    rejected: int = 0

    def __post_init__(self) -> None:
        self.contexts = engine.Contexts(REGISTRY, self.rules)

    def feed(self, readings: Iterable[Reading], partition: int = 0) -> list[Alert]:
        made: list[Alert] = []
        for reading in readings:
            state = self.states.get(reading.truck_id) or engine.new_state(reading.truck_id)
            step = engine.process(
                state, reading, partition, self.contexts.get(reading.truck_id, reading.cargo)
            )
            if not step.accepted:
                self.rejected += 1
            self.states[reading.truck_id] = step.state
            made.extend(step.changes)
        self.changes.extend(made)
        return made

    def watermark(self, truck_id: str, watermark: float) -> list[Alert]:
        state = self.states[truck_id]
        last = state.last
        assert last is not None
        step = engine.on_watermark(state, watermark, self.contexts.get(truck_id, last.cargo))
        self.states[truck_id] = step.state
        self.changes.extend(step.changes)
        return list(step.changes)

    def transitions(self) -> list[tuple[str, str]]:
        return [(c.rule, c.state) for c in self.changes]

    def open_rules(self, truck_id: str = "KBX 123A") -> set[str]:
        return set(self.states[truck_id].alerts)


def every(seconds: float, start: float, stop: float) -> list[float]:
    out, t = [], start
    while t < stop:
        out.append(t)
        t += seconds
    return out


def walk_near_limit(rng: random.Random, n: int) -> list[float]:
    """Cargo air wandering around the 12 °C hard limit, in small plausible steps (°C)."""
    temps, t = [], 11.0
    for _ in range(n):
        t = min(14.0, max(9.0, t + rng.choice([-0.6, -0.3, -0.1, 0.0, 0.1, 0.3, 0.5])))
        temps.append(round(t, 2))
    return temps
