"""Property tests over the emitted alert changes (hypothesis, derandomized)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.rules_support import REGISTRY, Run, rd

from logistream.events import Alert, Reading
from logistream.speed.rules.plausibility import is_plausible
from logistream.speed.state import dump_state, load_state

CARGO = st.sampled_from([None, "vaccines", "milk", "flowers", "frozen"])
TRUCKS = st.sampled_from(["KBX 123A", "TRUCK-001", "KCB 777Z"])


@st.composite
def streams(draw: st.DrawFn) -> list[Reading]:
    """In-order readings per truck: temperature random walks with jumps, door, speed and fuel."""
    readings: list[Reading] = []
    for truck in draw(st.lists(TRUCKS, min_size=1, max_size=3, unique=True)):
        cargo = draw(CARGO)
        profile = REGISTRY.profile_for(cargo)
        t, temp = 0.0, profile.setpoint_c
        fuel = draw(st.floats(10, 100))
        for _ in range(draw(st.integers(1, 60))):
            t += draw(st.sampled_from([1.0, 5.0, 30.0, 60.0, 120.0, 900.0]))
            temp += draw(st.floats(-3.0, 3.0))
            temp = max(-60.0, min(60.0, temp))
            fuel = max(0.0, min(100.0, fuel + draw(st.floats(-10, 10))))
            readings.append(
                rd(
                    t,
                    round(temp, 2),
                    truck=truck,
                    cargo=cargo,
                    fuel=round(fuel, 1),
                    speed_kmh=draw(st.sampled_from([0.0, 0.5, 30.0, 79.0, 95.0])),
                    door_open=draw(st.sampled_from([None, False, True])),
                    defrost=draw(st.sampled_from([None, False, False, True])),
                )
            )
    return readings


@st.composite
def interleaved(draw: st.DrawFn) -> list[Reading]:
    """Trucks' streams merged in some order that keeps each truck's own order."""
    readings = draw(streams())
    by_truck: dict[str, list[Reading]] = defaultdict(list)
    for r in readings:
        by_truck[r.truck_id].append(r)
    queues = [list(v) for v in by_truck.values()]
    out: list[Reading] = []
    while any(queues):
        q = draw(st.sampled_from([q for q in queues if q]))
        out.append(q.pop(0))
    return out


def _never_two_open(changes: list[Alert]) -> None:
    open_ids: dict[tuple[str, str], str] = {}
    for c in changes:
        key = (c.truck_id, c.rule)
        if c.state == "open":
            assert key not in open_ids, f"second open of {key} without a resolve"
            open_ids[key] = c.alert_id
        elif c.state == "acknowledged":
            assert open_ids.get(key) == c.alert_id
        else:
            assert open_ids.pop(key) == c.alert_id, f"resolve of {key} that was not open"


@settings(derandomize=True, max_examples=150, deadline=None)
@given(interleaved())
def test_never_two_open_alerts_for_one_truck_and_rule_without_a_resolve(
    readings: list[Reading],
) -> None:
    run = Run()
    run.feed(readings)
    _never_two_open(run.changes)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(interleaved(), st.data())
def test_duplicates_and_late_readings_change_no_alert(
    readings: list[Reading], data: st.DataObject
) -> None:
    clean = Run()
    clean.feed(readings)
    noisy_stream: list[Reading] = []
    for i, r in enumerate(readings):
        noisy_stream.append(r)
        if data.draw(st.booleans()):
            noisy_stream.append(data.draw(st.sampled_from(readings[: i + 1])))  # dup or late
    noisy = Run()
    noisy.feed(noisy_stream)
    assert noisy.changes == clean.changes
    _never_two_open(noisy.changes)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(streams(), st.data())
def test_a_restart_from_a_checkpoint_and_replay_gives_the_same_alerts(
    readings: list[Reading], data: st.DataObject
) -> None:
    straight = Run()
    straight.feed(readings)
    cut = data.draw(st.integers(0, len(readings)))
    replay_from = data.draw(st.integers(0, cut))
    first = Run()
    first.feed(readings[:cut])
    restarted = Run()
    restarted.states = {k: load_state(dump_state(v)) for k, v in first.states.items()}
    restarted.feed(readings[replay_from:])
    by_id = {c.alert_id: c for c in straight.changes}
    # The replay repeats changes the first run already made, with the same ids and states.
    assert {(c.alert_id, c.state) for c in first.changes + restarted.changes} == {
        (c.alert_id, c.state) for c in straight.changes
    }
    assert all(by_id[c.alert_id].truck_id == c.truck_id for c in restarted.changes)
    assert restarted.states == straight.states


@st.composite
def vaccine_temps(draw: st.DrawFn) -> list[tuple[float, float]]:
    t, out = 0.0, []
    for _ in range(draw(st.integers(1, 80))):
        t += draw(st.sampled_from([10.0, 30.0, 60.0, 180.0]))
        out.append((t, draw(st.sampled_from([1.0, 1.9, 5.0, 7.8, 8.1, 9.0, 11.0, 13.0]))))
    return out


@settings(derandomize=True, max_examples=200, deadline=None)
@given(vaccine_temps())
def test_every_excursion_longer_than_its_delay_has_an_open_alert(
    temps: list[tuple[float, float]],
) -> None:
    """The excursions a plausible probe shows: a reading the air cannot have produced (too fast a
    change since the last plausible one) stands for the air last seen, and a critical is due
    from the second consecutive plausible reading beyond a hard limit."""
    profile = REGISTRY.profile_for("vaccines")
    run = Run()
    above_since: float | None = None
    below_since: float | None = None
    anchor: tuple[float | None, float | None] = (None, None)
    beyond_in_a_row = 0
    for ts, temp in temps:
        run.feed([rd(ts, temp, cargo="vaccines")])
        plausible = is_plausible(profile, temp, ts, False, *anchor)
        if plausible:
            anchor = (ts, temp)
            beyond_in_a_row = beyond_in_a_row + 1 if temp > 12 or temp < 0 else 0
        air = anchor[1] if anchor[1] is not None else temp
        above_since = (above_since if above_since is not None else ts) if air > 8 else None
        below_since = (below_since if below_since is not None else ts) if air < 2 else None
        open_rules = run.open_rules()
        assert ("sensor_fault" in open_rules) is not plausible
        if above_since is not None and ts - above_since >= profile.alarm_delay_high_s:
            assert "temp_high" in open_rules
        if below_since is not None and ts - below_since >= profile.alarm_delay_low_s:
            assert "temp_low" in open_rules
        if plausible and beyond_in_a_row >= 2:
            assert "temp_critical" in open_rules
    _never_two_open(run.changes)
