"""A critical's end is confirmed as its start: a short dip under the hard limit keeps one alert
(speed rule) and one excursion (pure batch maths) open, a sustained return ends both, and the
two layers agree on when on random walks along the limit."""

from __future__ import annotations

from dataclasses import replace

from tests.helpers import seeded_random
from tests.unit.rules_support import RULES, T0, Run, vax, walk_near_limit

from logistream.coldchain.excursions import Excursion, Sample, classify, extract
from logistream.events import Alert
from logistream.registry import cached_registry
from logistream.registry.rules import RulesConfig

VACCINES = cached_registry().cargo["vaccines"]  # 2-8 °C, hard limit 12 °C, hysteresis 0.3 °C
HOLD = 900.0

# The air a reading a second from 15:35:00 + 4660 s UTC of reefer_failure (seed 42): 12.03 °C
# (the critical opens), 11.7 °C 32 s later and 17 s after that, band readings between, and past
# 12 °C again at +81 s and +99 s (the old rule resolved at 11.7 and opened a second critical).
HOVER = [
    11.83,
    11.85,
    11.87,
    11.89,
    11.85,
    11.9,
    11.93,
    11.94,
    11.96,
    12.02,
    12.03,
    11.99,
    11.94,
    11.92,
    11.95,
    11.94,
    11.9,
    11.87,
    11.88,
    11.89,
    11.87,
    11.9,
    11.9,
    11.92,
    11.84,
    11.82,
    11.81,
    11.85,
    11.81,
    11.76,
    11.8,
    11.77,
    11.72,
    11.73,
    11.74,
    11.79,
    11.78,
    11.77,
    11.73,
    11.78,
    11.77,
    11.76,
    11.7,
    11.73,
    11.77,
    11.82,
    11.76,
    11.81,
    11.9,
    11.87,
    11.86,
    11.83,
    11.84,
    11.92,
    11.87,
    11.81,
    11.77,
    11.77,
    11.75,
    11.7,
    11.72,
    11.7,
    11.7,
    11.72,
    11.74,
    11.78,
    11.82,
    11.82,
    11.87,
    11.91,
    11.85,
    11.9,
    11.94,
    11.95,
    11.96,
    11.93,
    11.87,
    11.9,
    11.94,
    11.92,
    11.88,
    11.86,
    11.88,
    11.93,
    11.9,
    11.96,
    11.98,
    11.97,
    11.98,
    11.93,
    11.99,
    12.04,
    11.91,
    11.89,
    11.92,
    11.91,
    11.93,
    11.88,
    11.91,
    11.91,
    11.88,
    11.89,
    11.91,
    11.97,
    11.9,
    11.85,
    11.91,
    11.89,
    11.98,
    12.03,
    12.06,
    12.03,
    12.04,
    12.01,
    11.97,
    12.01,
    12.02,
    12.05,
    12.08,
    12.11,
    12.08,
]
# The same in short, a reading every 32 s: 12.03, one of 11.7, above 12 °C again.
DIP = [11.80, 11.95, 12.05, 12.03, 11.70, 12.10, 12.20, 12.40]


def _rules(readings: int = 2, confirm_s: float = 0.0, clear_s: float = 300.0) -> RulesConfig:
    return replace(
        RULES,
        temperature=replace(
            RULES.temperature,
            critical_confirm_readings=readings,
            critical_confirm_s=confirm_s,
            critical_clear_s=clear_s,
        ),
    )


def _crit(changes: list[Alert]) -> list[tuple[str, float]]:
    return [(c.state, c.changed_at) for c in changes if c.rule == "temp_critical"]


def _criticals(temps: list[float], step: float, rules: RulesConfig = RULES) -> list[Excursion]:
    """The batch maths' critical excursions of readings ``step`` apart from ``T0``."""
    conf = rules.temperature
    samples = [Sample(T0 + i * step, t, event_id=f"e{i:05d}") for i, t in enumerate(temps)]
    found = extract(
        classify(samples, VACCINES, HOLD),
        VACCINES,
        confirm_readings=conf.critical_confirm_readings,
        confirm_s=conf.critical_confirm_s,
        clear_s=conf.critical_clear_s,
    )
    return [e for e in found if e.kind == "critical"]


def test_air_hovering_on_the_hard_limit_keeps_one_critical_open() -> None:
    run = Run()
    run.feed([vax(i, t) for i, t in enumerate(HOVER)])
    assert _crit(run.changes) == [("open", T0 + 10)]  # 12.02 then 12.03 °C
    (exc,) = _criticals(HOVER, 1.0)
    assert (exc.start, exc.alarm_at, exc.ongoing) == (T0 + 9, T0 + 10, True)
    # Counting readings alone would have ended it (a second reading back inside, 49 s after
    # the last beyond) and opened a second critical 50 s later.
    counted = Run(rules=_rules(clear_s=0.0))
    counted.feed([vax(i, t) for i, t in enumerate(HOVER)])
    assert [s for s, _ in _crit(counted.changes)] == ["open", "resolved", "open"]


def test_a_one_reading_dip_under_the_hard_limit_keeps_the_one_critical_open() -> None:
    run = Run()
    run.feed([vax(i * 32, t) for i, t in enumerate(DIP)])
    assert _crit(run.changes) == [("open", T0 + 3 * 32)]  # the second reading past 12 °C
    (exc,) = _criticals(DIP, 32.0)
    assert (exc.start, exc.alarm_at, exc.ongoing) == (T0 + 2 * 32, T0 + 3 * 32, True)


def test_a_sustained_return_resolves_it_once_the_clear_time_has_passed() -> None:
    temps = [*DIP] + [11.0] * 12
    run = Run()
    run.feed([vax(i * 32, t) for i, t in enumerate(temps)])
    # Last past the limit at reading 7; 300 s later is reading 17 (9.4 readings of 32 s).
    assert _crit(run.changes) == [("open", T0 + 3 * 32), ("resolved", T0 + 17 * 32)]
    (exc,) = _criticals(temps, 32.0)
    assert (exc.end, exc.ongoing) == (T0 + 17 * 32, False)


def test_the_count_back_inside_ignores_band_readings() -> None:
    # 11.8 °C is inside 12 °C but not by the hysteresis: between the two readings back inside.
    rules = _rules(clear_s=0.0)
    temps = [12.5, 12.6, 11.5, 11.8, 11.6, 11.0]
    run = Run(rules=rules)
    run.feed([vax(i * 30, t) for i, t in enumerate(temps)])
    assert _crit(run.changes) == [("open", T0 + 30), ("resolved", T0 + 4 * 30)]
    (exc,) = _criticals(temps, 30.0, rules)
    assert exc.end == T0 + 4 * 30


def test_an_unconfirmed_critical_counts_on_across_a_dip() -> None:
    # One reading past the limit, a dip, one more: the same excursion, confirmed by the second.
    rules = _rules(clear_s=0.0)
    temps = [11.0, 12.2, 11.6, 12.3, 11.0, 10.5]
    run = Run(rules=rules)
    run.feed([vax(i * 30, t) for i, t in enumerate(temps)])
    assert _crit(run.changes) == [("open", T0 + 3 * 30), ("resolved", T0 + 5 * 30)]
    (exc,) = _criticals(temps, 30.0, rules)
    assert (exc.start, exc.alarm_at, exc.end) == (T0 + 30, T0 + 3 * 30, T0 + 5 * 30)


def test_the_start_and_the_end_wait_for_their_times() -> None:
    rules = _rules(readings=1, confirm_s=60.0, clear_s=60.0)
    temps = [12.5, 12.5, 12.5, 12.5, 11.0, 11.0, 11.0, 11.0]  # 20 s apart
    run = Run(rules=rules)
    run.feed([vax(i * 20, t) for i, t in enumerate(temps)])
    # Open 60 s after the first reading beyond; resolved 60 s after the last one (at 60 s).
    assert _crit(run.changes) == [("open", T0 + 60), ("resolved", T0 + 120)]
    (exc,) = _criticals(temps, 20.0, rules)
    assert (exc.alarm_at, exc.end) == (T0 + 60, T0 + 120)


def _agree(rules: RulesConfig, temps: list[float], step: float) -> int:
    run = Run(rules=rules)
    run.feed([vax(i * step, t) for i, t in enumerate(temps)])
    want: list[tuple[str, float]] = []
    for e in _criticals(temps, step, rules):
        if e.alarm_at is not None:
            want.append(("open", e.alarm_at))
            if not e.ongoing:
                want.append(("resolved", e.end))
    assert _crit(run.changes) == want
    return len(want)


def test_the_speed_rule_and_the_batch_excursions_agree_on_random_walks_along_the_limit() -> None:
    rng = seeded_random("critical-end-walks")
    variants = (RULES, _rules(clear_s=0.0), _rules(readings=3, confirm_s=45.0, clear_s=100.0))
    changes = 0
    for _ in range(30):
        temps = walk_near_limit(rng, 300)
        for rules in variants:
            changes += _agree(rules, temps, 20.0)
    print(f"{changes} temp_critical changes compared")
    assert changes > 30  # the walks do cross the limit
