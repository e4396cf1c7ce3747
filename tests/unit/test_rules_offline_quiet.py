"""sensor_offline stays quiet for a truck that ended its trip or whose readings come late."""

from __future__ import annotations

from tests.unit.rules_support import REGISTRY, RULES, T0, Run, every, vax

from logistream.events import Reading
from logistream.speed import engine
from logistream.speed.rules import offline
from logistream.speed.state import TruckState
from logistream.speed.watermark import offline_steps, watermark

NAIVASHA = (-0.7172, 36.4310)
VOI = (-3.3961, 38.5561)
TEN_MIN = RULES.offline.offline_s


def _parked(ts: float, at: tuple[float, float], speed: float = 0.0) -> Reading:
    return vax(ts, 5.0, trip_id="TR", lat=at[0], lon=at[1], speed_kmh=speed)


def _silent_for(run: Run, seconds: float) -> list[str]:
    """Advance the watermark ``seconds`` past the truck's last reading; the rules it opens."""
    last = run.states["KBX 123A"].last
    assert last is not None
    return [c.rule for c in run.watermark("KBX 123A", last.timestamp + seconds)]


def test_a_truck_parked_at_its_route_end_is_not_offline() -> None:
    run = Run()
    run.feed([_parked(t, NAIVASHA) for t in every(30, 0, 600)])
    assert _silent_for(run, 3 * TEN_MIN) == []
    # Its next trip's first reading, hours later, opens nothing for the silence either.
    assert [c.rule for c in run.feed([_parked(4 * 3600, NAIVASHA)])] == []


def test_a_truck_silent_mid_route_is_offline() -> None:
    run = Run()
    run.feed([_parked(t, VOI) for t in every(30, 0, 600)])
    assert _silent_for(run, 3 * TEN_MIN) == ["sensor_offline"]


def test_a_truck_still_moving_at_its_route_end_is_offline() -> None:
    run = Run()
    run.feed([_parked(t, NAIVASHA, speed=40.0) for t in every(30, 0, 600)])
    assert _silent_for(run, 3 * TEN_MIN) == ["sensor_offline"]


def test_a_gap_after_the_trip_ended_opens_nothing_and_one_mid_route_does() -> None:
    ended, mid = Run(), Run()
    ended.feed([_parked(0, NAIVASHA), _parked(3 * TEN_MIN, NAIVASHA)])
    mid.feed([_parked(0, VOI), _parked(3 * TEN_MIN, VOI)])
    assert ended.transitions() == []
    assert mid.transitions() == [("sensor_offline", "open"), ("sensor_offline", "resolved")]


def test_trip_ended_needs_a_route_and_a_position() -> None:
    route = (NAIVASHA, VOI)
    cfg = RULES.offline
    assert offline.trip_ended(vax(0, lat=VOI[0], lon=VOI[1]), route, cfg)
    assert not offline.trip_ended(vax(0, lat=VOI[0], lon=VOI[1]), None, cfg)
    assert not offline.trip_ended(vax(0), route, cfg)
    assert not offline.trip_ended(vax(0, lat=-1.5, lon=37.0), route, cfg)


def test_learned_delay_rises_at_once_and_decays_slowly() -> None:
    assert offline.learned_delay(0.0, T0, T0 + 720) == 720
    assert offline.learned_delay(720.0, T0, T0 + 0) == 720 * offline.DELAY_DECAY
    assert offline.learned_delay(720.0, T0, None) == 720 * offline.DELAY_DECAY
    assert offline.learned_delay(0.0, T0 + 5, T0) == 0.0  # a truck ahead of the fleet


def _fleet_run(lag_s: float, learn: bool, hours: float = 3.0) -> list[tuple[str, str]]:
    """Three trucks on time and KBX 123A whose readings reach us ``lag_s`` late, as the
    processor sees them (30 s apart, a sweep after each arrival); KBX 123A's offline changes."""
    contexts = engine.Contexts(REGISTRY, RULES)
    trucks: dict[str, TruckState] = {}
    lateness = RULES.offline.watermark_lateness_s
    fleet_time: float | None = None
    seen: list[tuple[str, str]] = []
    for arrival in every(30, 0, hours * 3600):
        arriving = [vax(arrival, truck=f"KCA 10{i}A", lat=VOI[0], lon=VOI[1]) for i in range(3)]
        if arrival >= lag_s:
            arriving.append(vax(arrival - lag_s, lat=VOI[0], lon=VOI[1]))
        for r in arriving:
            state = trucks.get(r.truck_id) or engine.new_state(r.truck_id)
            ctx = contexts.get(r.truck_id, r.cargo)
            step = engine.process(state, r, 0, ctx, fleet_time if learn else None)
            trucks[r.truck_id] = step.state
            seen += [(c.rule, c.state) for c in step.changes if c.truck_id == "KBX 123A"]
        last_seen = [s.last.timestamp for s in trucks.values() if s.last is not None]
        wm = watermark(
            newest_event={0: max(last_seen)},
            backlogged=(),
            last_seen=last_seen,
            lateness_s=lateness,
        )
        assert wm is not None
        fleet_time = wm + lateness
        for truck_id, step in offline_steps(trucks, wm, RULES.offline.offline_s, contexts):
            trucks[truck_id] = step.state
            seen += [(c.rule, c.state) for c in step.changes if c.truck_id == "KBX 123A"]
    return seen


def test_a_truck_reporting_twelve_minutes_behind_the_fleet_does_not_flap() -> None:
    # Without the learned delay the same run opens and closes the alert again and again.
    assert _fleet_run(12 * 60, learn=False).count(("sensor_offline", "open")) > 10
    assert _fleet_run(12 * 60, learn=True) == []


def test_a_late_truck_that_then_goes_silent_is_offline() -> None:
    # Its readings stop after two hours of arrivals: offline once, after its delay.
    contexts = engine.Contexts(REGISTRY, RULES)
    state = engine.new_state("KBX 123A")
    ctx = contexts.get("KBX 123A", "vaccines")
    for t in every(30, 0, 3600):
        state = engine.process(state, vax(t, lat=VOI[0], lon=VOI[1]), 0, ctx, T0 + t + 720).state
    last = state.last
    assert last is not None
    assert engine.on_watermark(state, last.timestamp + 720 + TEN_MIN - 5, ctx).changes == ()
    opened = engine.on_watermark(state, last.timestamp + 720 + TEN_MIN + 5, ctx).changes
    assert [(c.rule, c.state) for c in opened] == [("sensor_offline", "open")]


def test_watermark_alert_cleared_without_a_gap_says_the_readings_were_late() -> None:
    run = Run()
    run.feed([vax(0, lat=VOI[0], lon=VOI[1])])
    assert _silent_for(run, TEN_MIN + 120) == ["sensor_offline"]
    back = run.feed([vax(30, lat=VOI[0], lon=VOI[1])])
    assert [(c.rule, c.state) for c in back] == [("sensor_offline", "resolved")]
    assert "arrive late" in back[0].message


def test_a_truck_not_in_the_registry_is_never_offline() -> None:
    run = Run()
    stranger = [vax(t, truck="TRUCK-009", lat=VOI[0], lon=VOI[1]) for t in every(30, 0, 300)]
    run.feed(stranger)
    assert run.watermark("TRUCK-009", T0 + 300 + 3 * TEN_MIN) == []
    assert run.feed([vax(300 + 3 * TEN_MIN, truck="TRUCK-009")]) == []
