"""A critical's end is confirmed as its start: a short dip under the hard limit keeps one alert
(speed rule) and one excursion (pure batch maths) open, a sustained return ends both, and the
two layers agree on when on random walks along the limit."""

from __future__ import annotations

import random
from dataclasses import replace

from tests.helpers import seeded_random
from tests.unit.rules_support import RULES, T0, Run, vax

from logistream.coldchain.excursions import Excursion, Sample, classify, extract
from logistream.events import Alert
from logistream.registry import cached_registry
from logistream.registry.rules import RulesConfig

VACCINES = cached_registry().cargo["vaccines"]  # 2-8 °C, hard limit 12 °C, hysteresis 0.3 °C
HOLD = 900.0

# The reefer_failure run (seed 42): the air at 12.03 °C, one reading of 11.7 °C 32 s later,
# then above the limit again; readings 32 s apart.
DIP = [11.80, 11.95, 12.05, 12.03, 11.70, 12.10, 12.20, 12.40]


def _crit(changes: list[Alert]) -> list[tuple[str, float]]:
    return [(c.state, c.changed_at) for c in changes if c.rule == "temp_critical"]


def _criticals(
    temps: list[float], step: float, confirm_readings: int = 2, confirm_s: float = 0.0
) -> list[Excursion]:
    """The batch maths' critical excursions of readings ``step`` apart from ``T0``."""
    samples = [Sample(T0 + i * step, t, event_id=f"e{i:05d}") for i, t in enumerate(temps)]
    rows = classify(samples, VACCINES, HOLD)
    found = extract(rows, VACCINES, confirm_readings=confirm_readings, confirm_s=confirm_s)
    return [e for e in found if e.kind == "critical"]


def test_a_one_reading_dip_under_the_hard_limit_keeps_the_one_critical_open() -> None:
    run = Run()
    run.feed([vax(i * 32, t) for i, t in enumerate(DIP)])
    assert _crit(run.changes) == [("open", T0 + 3 * 32)]  # the second reading past 12 °C
    assert "temp_critical" in run.open_rules()
    (exc,) = _criticals(DIP, 32.0)
    assert (exc.start, exc.alarm_at, exc.ongoing) == (T0 + 2 * 32, T0 + 3 * 32, True)


def test_a_sustained_return_resolves_it_at_the_second_reading_back_inside() -> None:
    temps = [*DIP, 11.5, 11.0, 10.0]
    run = Run()
    run.feed([vax(i * 32, t) for i, t in enumerate(temps)])
    n = len(DIP)
    assert _crit(run.changes) == [("open", T0 + 3 * 32), ("resolved", T0 + (n + 1) * 32)]
    (exc,) = _criticals(temps, 32.0)
    assert (exc.end, exc.ongoing) == (T0 + (n + 1) * 32, False)


def test_band_readings_neither_count_nor_reset_the_return() -> None:
    # 11.8 °C is inside 12 °C but not by the hysteresis: between the two readings back inside.
    temps = [12.5, 12.6, 11.5, 11.8, 11.6, 11.0]
    run = Run()
    run.feed([vax(i * 30, t) for i, t in enumerate(temps)])
    assert _crit(run.changes) == [("open", T0 + 30), ("resolved", T0 + 4 * 30)]
    (exc,) = _criticals(temps, 30.0)
    assert exc.end == T0 + 4 * 30


def test_an_unconfirmed_critical_counts_on_across_a_dip() -> None:
    # One reading past the limit, a dip, one more: the same excursion, confirmed by the second.
    temps = [11.0, 12.2, 11.6, 12.3, 11.0, 10.5]
    run = Run()
    run.feed([vax(i * 30, t) for i, t in enumerate(temps)])
    assert _crit(run.changes) == [("open", T0 + 3 * 30), ("resolved", T0 + 5 * 30)]
    (exc,) = _criticals(temps, 30.0)
    assert (exc.start, exc.alarm_at, exc.end) == (T0 + 30, T0 + 3 * 30, T0 + 5 * 30)


def test_the_end_waits_for_the_confirm_time_since_the_last_reading_beyond() -> None:
    rules = replace(
        RULES,
        temperature=replace(
            RULES.temperature, critical_confirm_readings=1, critical_confirm_s=60.0
        ),
    )
    temps = [12.5, 12.5, 12.5, 12.5, 11.0, 11.0, 11.0, 11.0]  # 20 s apart
    run = Run(rules=rules)
    run.feed([vax(i * 20, t) for i, t in enumerate(temps)])
    # Open 60 s after the first reading beyond; resolved 60 s after the last one (at 60 s).
    assert _crit(run.changes) == [("open", T0 + 60), ("resolved", T0 + 120)]
    (exc,) = _criticals(temps, 20.0, confirm_readings=1, confirm_s=60.0)
    assert (exc.alarm_at, exc.end) == (T0 + 60, T0 + 120)


def _walk(rng: random.Random, n: int) -> list[float]:
    """Cargo air wandering around the 12 °C hard limit, in small plausible steps."""
    temps, t = [], 11.0
    for _ in range(n):
        t = min(14.0, max(9.0, t + rng.choice([-0.6, -0.3, -0.1, 0.0, 0.1, 0.3, 0.5])))
        temps.append(round(t, 2))
    return temps


def _agree(rules: RulesConfig, temps: list[float], step: float) -> int:
    run = Run(rules=rules)
    run.feed([vax(i * step, t) for i, t in enumerate(temps)])
    conf = rules.temperature
    criticals = _criticals(
        temps,
        step,
        confirm_readings=conf.critical_confirm_readings,
        confirm_s=conf.critical_confirm_s,
    )
    want: list[tuple[str, float]] = []
    for e in criticals:
        if e.alarm_at is not None:
            want.append(("open", e.alarm_at))
            if not e.ongoing:
                want.append(("resolved", e.end))
    assert _crit(run.changes) == want
    return len(want)


def test_the_speed_rule_and_the_batch_excursions_agree_on_random_walks_along_the_limit() -> None:
    rng = seeded_random("critical-end-walks")
    slow = replace(
        RULES,
        temperature=replace(RULES.temperature, critical_confirm_readings=3, critical_confirm_s=45),
    )
    changes = 0
    for _ in range(40):
        temps = _walk(rng, 200)
        changes += _agree(RULES, temps, 30.0)
        changes += _agree(slow, temps, 20.0)
    print(f"{changes} temp_critical changes compared")
    assert changes > 40  # the walks do cross the limit
