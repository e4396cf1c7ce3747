"""Several probes on one truck: each probe's cargo air is judged on its own, the vehicle once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.unit.rules_support import T0, Run, every

from logistream.events import Reading, derive_event_id
from logistream.speed.alerts import alert_id_for
from logistream.speed.rules import calibration
from logistream.speed.rules.base import Clear, Raise
from logistream.speed.rules.calibration import ProbeCalibration
from logistream.speed.state import dump_state, load_state

TRUCK = "KBX 123A"


def probe(ts: float, probe_id: str, temp: float, **fields: Any) -> Reading:
    """A vaccines reading of KBX 123A's probe ``probe_id`` at ``T0 + ts``."""
    timestamp = T0 + ts
    return Reading(
        truck_id=TRUCK,
        temp=temp,
        timestamp=timestamp,
        event_id=derive_event_id(TRUCK, timestamp, probe_id),
        probe_id=probe_id,
        cargo="vaccines",
        trip_id="TR-1",
        **fields,
    )


def both(ts: float, front: float, rear: float, **fields: Any) -> list[Reading]:
    """The front and the rear probe at the same second, as a tracker sends them."""
    return [probe(ts, "front", front, **fields), probe(ts, "rear", rear, **fields)]


def test_one_failing_probe_raises_one_alert_naming_it() -> None:
    run = Run()
    for t in every(60, 0, 40 * 60):
        run.feed(both(t, 5.0, 5.0 if t < 10 * 60 else 11.0))
    assert run.rejected == 0  # two probes at one second are two readings, both judged
    opened = [c for c in run.changes if c.state == "open"]
    assert {(c.rule, c.probe_id) for c in opened} == {("temp_high", "rear")}
    alert = opened[0]
    assert "rear probe" in alert.message
    assert alert.value == 11.0
    # Its id comes from the rear probe's reading that opened it.
    rear_ids = {
        alert_id_for(TRUCK, "temp_high", probe(t, "rear", 11.0).event_id or "")
        for t in every(60, 0, 40 * 60)
    }
    assert alert.alert_id in rear_ids
    assert set(run.states[TRUCK].alerts) == {"temp_high@rear"}


def test_each_probe_has_its_own_alert_and_resolves_on_its_own() -> None:
    run = Run()
    for t in every(60, 0, 40 * 60):
        run.feed(both(t, 11.0 if t >= 5 * 60 else 5.0, 11.0 if t >= 10 * 60 else 5.0))
    opened = {c.probe_id: c for c in run.changes if c.state == "open"}
    assert set(opened) == {"front", "rear"}
    assert opened["front"].alert_id != opened["rear"].alert_id
    # The front probe comes back in range; the rear one stays out.
    resolved = []
    for t in every(60, 40 * 60, 50 * 60):
        resolved += [c for c in run.feed(both(t, 5.0, 11.0)) if c.state == "resolved"]
    assert [(c.rule, c.probe_id) for c in resolved] == [("temp_high", "front")]
    assert "front probe" in resolved[0].message
    assert set(run.states[TRUCK].alerts) == {"temp_high@rear"}


def test_a_glitched_probe_is_a_sensor_fault_of_that_probe_not_a_critical() -> None:
    run = Run()
    for t in every(60, 0, 60 * 60):
        # The rear probe reads an impossible spike for a few readings while the front one and
        # the rear's own neighbours say the air is fine.
        spike = 10 * 60 <= t < 14 * 60
        run.feed(both(t, 5.0, 85.0 if spike else 5.2))
    rules = {(c.rule, c.probe_id) for c in run.changes if c.state == "open"}
    assert ("temp_critical", "rear") not in rules
    assert all(probe_id == "rear" for _, probe_id in rules)
    assert any(rule == "sensor_fault" for rule, _ in rules)


def test_the_vehicle_rules_see_each_event_time_once() -> None:
    run = Run()
    # The door opens for 30 minutes: one door alert, whichever probe's reading brought it.
    for t in every(60, 0, 30 * 60):
        run.feed(both(t, 5.0, 5.0, door_open=True))
    door = [c for c in run.changes if c.rule == "door_open"]
    assert [(c.state, c.probe_id) for c in door] == [("open", None)]
    assert "probe" not in door[0].message


def test_a_probe_behind_the_other_is_in_order_for_itself() -> None:
    run = Run()
    run.feed([probe(0, "front", 5.0), probe(60, "front", 5.0)])
    # The rear probe's reading of second 30 arrives after the front's of second 60.
    run.feed([probe(30, "rear", 5.0)])
    assert run.rejected == 0
    # Its duplicate, and an older one of its own, are not judged again.
    run.feed([probe(30, "rear", 5.0), probe(20, "rear", 5.0)])
    assert run.rejected == 2
    state = run.states[TRUCK]
    assert state.last is not None
    assert state.last.timestamp == T0 + 60
    assert state.probes["rear"].last is not None
    assert state.probes["rear"].last.timestamp == T0 + 30


def test_probe_state_survives_a_checkpoint_mid_excursion() -> None:
    readings = [r for t in every(60, 0, 30 * 60) for r in both(t, 5.0, 11.0)]
    straight = Run()
    straight.feed(readings)
    resumed = Run()
    resumed.feed(readings[:11])
    restored = {k: load_state(dump_state(v)) for k, v in resumed.states.items()}
    assert restored == resumed.states
    resumed.states = restored
    resumed.feed(readings[11:])
    assert resumed.changes == straight.changes
    assert straight.states[TRUCK].probes["rear"].temp.high_since == T0


def test_late_readings_of_one_probe_fill_its_own_gap() -> None:
    run = Run()
    for t in every(60, 0, 10 * 60):
        run.feed(both(t, 5.0, 5.0))
    # Both probes fall silent for 30 minutes (no coverage), then come back in range...
    for t in every(60, 40 * 60, 45 * 60):
        run.feed(both(t, 5.0, 5.0))
    # ... and the stored readings arrive: the rear probe was out of range during the silence.
    late = []
    for t in every(60, 10 * 60, 40 * 60):
        late += run.feed(both(t, 5.0, 11.0))
    opened = [c for c in late if c.state == "open"]
    assert {(c.rule, c.probe_id) for c in opened} == {("temp_high", "rear")}
    assert opened[0].known_at is not None


def _nairobi(day: date) -> float:
    """Seconds after T0 at which ``day`` begins in Nairobi (the default display zone)."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("Africa/Nairobi"))
    return start.timestamp() - T0


def test_a_probe_past_its_calibration_due_date_raises_a_minor_alert_naming_it() -> None:
    # devices.toml: KBX 123A's rear probe is due on 2027-11-08, its front one on 2027-10-07.
    due = _nairobi(date(2027, 11, 8))
    run = Run()
    before = run.feed(both(due - 120, 5.0, 5.0) + both(due - 60, 5.0, 5.0))
    assert [(c.rule, c.probe_id) for c in before] == [("calibration_overdue", "front")]
    after = run.feed(both(due, 5.0, 5.0) + both(due + 60, 5.0, 5.0))
    assert [(c.rule, c.state, c.probe_id, c.severity) for c in after] == [
        ("calibration_overdue", "open", "rear", "minor")
    ]
    message = after[0].message
    assert "rear probe" in message
    assert "since 2027-11-08" in message
    assert "CAL-2026-0142" in message
    assert set(run.states[TRUCK].alerts) == {
        "calibration_overdue@front",
        "calibration_overdue@rear",
    }


def test_a_renewed_calibration_resolves_the_alert() -> None:
    reading = probe(0, "rear", 5.0)
    renewed = ProbeCalibration("CAL-2027-0001", date(2028, 1, 1), T0 + 10_000)
    (verdict,) = calibration.step(reading, renewed)
    assert isinstance(verdict, Clear)
    assert verdict.what == "calibration renewed, next due 2028-01-01"
    overdue = ProbeCalibration("CAL-2026-0142", date(2026, 1, 1), T0)
    (verdict,) = calibration.step(reading, overdue)
    assert isinstance(verdict, Raise)
    assert calibration.step(reading, None) == ()
