"""Late readings sent from the truck's store after newer live ones are evaluated, not dropped."""

from __future__ import annotations

from tests.unit.rules_support import RULES, T0, Run, every, vax

from logistream.events import Alert, Reading
from logistream.speed.state import dump_state, load_state

VOI = {"lat": -3.3961, "lon": 38.5561}
MIN = 60.0


def _r(ts: float, temp: float) -> Reading:
    return vax(ts, temp, trip_id="TR", **VOI)


def _live_with_gap(run: Run, gap_from: float = 20 * MIN, gap_to: float = 50 * MIN) -> None:
    """Live readings every 30 s at 5 °C, silent from ``gap_from`` to ``gap_to``, then 10 more
    minutes of live readings."""
    live = [t for t in every(30, 0, gap_to + 10 * MIN) if t <= gap_from or t >= gap_to]
    run.feed([_r(t, 5.0) for t in live])


def _gap_readings(temp_at: dict[tuple[float, float], float]) -> list[Reading]:
    """The gap's stored readings (20..50 min, every 30 s): 5 °C but in the given intervals."""
    out = []
    for t in every(30, 20 * MIN + 30, 50 * MIN):
        temp = next((c for (a, b), c in temp_at.items() if a <= t < b), 5.0)
        out.append(_r(t, temp))
    return out


def _by_state(changes: list[Alert], rule: str) -> dict[str, Alert]:
    return {c.state: c for c in changes if c.rule == rule}


def test_a_backfilled_excursion_raises_its_alert_marked_late() -> None:
    run = Run()
    _live_with_gap(run)
    live_state = run.states["KBX 123A"]
    newest = live_state.last
    assert newest is not None
    made = run.feed(_gap_readings({(25 * MIN, 45 * MIN): 9.5}))
    assert run.rejected == 0
    high = _by_state(made, "temp_high")
    assert set(high) == {"open", "resolved"}
    opened = high["open"]
    # Opens at the event time the alarm delay was reached, known when the store arrived.
    assert opened.opened_at == T0 + 25 * MIN + RULES_DELAY_HIGH
    assert opened.known_at == newest.timestamp
    assert "late: known" in opened.message
    assert high["resolved"].resolved_at == T0 + 45 * MIN
    assert high["resolved"].known_at == newest.timestamp
    # The live rules' state did not move.
    after = run.states["KBX 123A"]
    assert (after.temp, after.trend, after.last, after.alerts) == (
        live_state.temp,
        live_state.trend,
        live_state.last,
        live_state.alerts,
    )


RULES_DELAY_HIGH = 10 * MIN  # vaccines: alarm_delay_high_min = 10


def test_the_gaps_sensor_offline_says_its_readings_arrived_later() -> None:
    run = Run()
    _live_with_gap(run)
    offline = [c for c in run.changes if c.rule == "sensor_offline"]
    assert [c.state for c in offline] == ["open", "resolved"]
    made = run.feed(_gap_readings({}))
    note = [c for c in made if c.rule == "sensor_offline"]
    assert len(note) == 1
    assert note[0].alert_id == offline[0].alert_id
    assert note[0].state == "resolved"
    assert "arrived later" in note[0].message
    assert note[0].changed_at > offline[1].changed_at


def test_a_backfill_without_excursion_raises_nothing_else() -> None:
    run = Run()
    _live_with_gap(run)
    made = run.feed(_gap_readings({}))
    assert [c.rule for c in made] == ["sensor_offline"]  # the note only
    assert run.rejected == 0


def test_a_two_reading_spike_in_the_backfill_confirms_a_critical() -> None:
    run = Run()
    _live_with_gap(run)
    # 5 -> 10 -> 13 °C, 30 s apart: steep, but within what the air can do.
    made = run.feed(_gap_readings({(29 * MIN + 30, 30 * MIN): 10.0, (30 * MIN, 31 * MIN): 13.0}))
    crit = _by_state(made, "temp_critical")
    assert set(crit) == {"open", "resolved"}
    assert crit["open"].opened_at == T0 + 30 * MIN + 30


def test_a_one_reading_glitch_in_the_backfill_is_a_sensor_fault() -> None:
    run = Run()
    _live_with_gap(run)
    made = run.feed(_gap_readings({(30 * MIN, 30 * MIN + 30): 25.0}))
    assert {c.rule for c in made} == {"sensor_offline", "sensor_fault"}


def test_duplicates_and_older_late_readings_are_not_accepted() -> None:
    run = Run()
    _live_with_gap(run)
    stored = _gap_readings({})
    run.feed(stored[10:])
    run.feed(stored[:10])  # older than what the gap has evaluated: out of order
    run.feed(stored[10:12])  # duplicates
    assert run.rejected == 12
    # Readings of the live period, sent again, are duplicates too.
    run.feed([_r(10 * MIN, 5.0)])
    assert run.rejected == 13


def test_an_excursion_running_into_the_live_readings_is_one_alert() -> None:
    run = Run()
    live = [t for t in every(30, 0, 80 * MIN) if t <= 20 * MIN or t >= 50 * MIN]
    hot = [_r(t, 9.5 if 50 * MIN <= t < 55 * MIN else 5.0) for t in live]
    # The live readings after the gap arrive first, up to 52 min (still hot), then the store.
    first = [r for r in hot if r.timestamp < T0 + 52 * MIN]
    run.feed(first)
    run.feed(_gap_readings({(35 * MIN, 50 * MIN): 9.5}))
    run.feed([r for r in hot if r.timestamp >= T0 + 52 * MIN])
    highs = [c for c in run.changes if c.rule == "temp_high"]
    assert len({c.alert_id for c in highs}) == 1
    assert [c.state for c in highs] == ["open", "resolved"]
    assert highs[0].opened_at == T0 + 45 * MIN  # 35 min + the 10 min delay, from the store
    assert highs[1].resolved_at == T0 + 55 * MIN  # by the live readings


def test_a_late_alert_left_open_is_resolved_when_the_gap_settles() -> None:
    run = Run()
    _live_with_gap(run)
    run.feed(_gap_readings({(30 * MIN, 50 * MIN): 9.5}))  # hot up to the gap's end
    highs = [c for c in run.changes if c.rule == "temp_high"]
    assert [c.state for c in highs] == ["open"]
    # Live readings stay at 5 °C; ten minutes of the truck's time later, the gap is over.
    settle = RULES.backfill.settle_s
    run.feed([_r(t, 5.0) for t in every(30, 60 * MIN, 60 * MIN + settle + 60)])
    highs = [c for c in run.changes if c.rule == "temp_high"]
    assert [c.state for c in highs] == ["open", "resolved"]
    assert highs[1].resolved_at == T0 + 50 * MIN
    assert "temp_high" not in run.states["KBX 123A"].alerts


def test_a_live_excursion_open_before_the_store_arrives_is_not_raised_twice() -> None:
    run = Run()
    live = [t for t in every(30, 0, 80 * MIN) if t <= 20 * MIN or t >= 50 * MIN]
    run.feed([_r(t, 9.5 if t >= 50 * MIN else 5.0) for t in live])  # hot from the gap's end
    assert [c.state for c in run.changes if c.rule == "temp_high"] == ["open"]
    run.feed(_gap_readings({(40 * MIN, 50 * MIN): 9.5}))
    assert [c.state for c in run.changes if c.rule == "temp_high"] == ["open"]


def test_a_gap_survives_a_checkpoint() -> None:
    straight, resumed = Run(), Run()
    _live_with_gap(straight)
    _live_with_gap(resumed)
    resumed.states = {k: load_state(dump_state(v)) for k, v in resumed.states.items()}
    stored = _gap_readings({(25 * MIN, 45 * MIN): 9.5})
    assert straight.feed(stored) == resumed.feed(stored)


def test_a_short_pause_is_no_gap() -> None:
    run = Run()
    run.feed([_r(t, 5.0) for t in every(60, 0, 30 * MIN)])  # one minute apart: no silence
    run.feed([_r(90, 13.0)])
    assert run.rejected == 1
