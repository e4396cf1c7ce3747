"""Operating modes in the speed layer: a truck's temperature alarms held, not dropped."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from tests.unit.rules_support import T0, Run, every, vax

from logistream.events import Alert, Reading, decode_alert, encode
from logistream.modes.wire import ModeRecord
from logistream.notify.escalation import on_change
from logistream.notify.routing import AlertFacts, load_routing, route_alert
from logistream.speed import engine, mode_hold
from logistream.speed.alerts import alert_id_for
from logistream.speed.state import dump_state, load_state

TEMP_FAMILY = {"temp_high", "temp_low", "temp_critical", "temp_rising", "tor_budget"}


def washout(
    start: float, end: float, ended_at: float | None = None, mode_id: str = "m-1"
) -> ModeRecord:
    return ModeRecord(
        mode_id=mode_id,
        truck_id="KBX 123A",
        kind="washout",
        reason="after fish",
        starts_at=T0 + start,
        ends_at=T0 + end,
        ended_at=None if ended_at is None else T0 + ended_at,
        set_by="cli:ann",
    )


class ModeRun(Run):
    """The engine run with the truck's current mode record (as the modes feed hands it)."""

    mode: ModeRecord | None = None

    def feed(self, readings: Iterable[Reading], partition: int = 0) -> list[Alert]:
        made: list[Alert] = []
        for reading in readings:
            state = self.states.get(reading.truck_id) or engine.new_state(reading.truck_id)
            step = engine.process(
                state,
                reading,
                partition,
                self.contexts.get(reading.truck_id, reading.cargo),
                mode=self.mode,
            )
            if not step.accepted:
                self.rejected += 1
            self.states[reading.truck_id] = step.state
            made.extend(step.changes)
        self.changes.extend(made)
        return made


def warm(start: float, stop: float, temp: float = 15.0, **fields: object) -> list[Reading]:
    return [vax(t, temp, **fields) for t in every(60, start, stop)]  # type: ignore[arg-type]


def by_state(changes: Iterable[Alert], state: str) -> list[Alert]:
    return [c for c in changes if c.state == state]


def test_a_washout_with_a_warm_box_opens_no_temperature_alert_and_holds_each_rule_once() -> None:
    run = ModeRun()
    run.mode = washout(0, 3 * 3600)
    made = run.feed(warm(0, 2 * 3600))
    assert not [c for c in made if c.state == "open" and c.rule in TEMP_FAMILY]
    assert not TEMP_FAMILY & run.open_rules()
    held = by_state(made, "suppressed")
    # One per rule that would have opened, not one per reading.
    assert sorted(c.rule for c in held) == ["temp_critical", "temp_high", "tor_budget"]
    high = next(c for c in held if c.rule == "temp_high")
    # It would have opened after the normal alarm delay (10 min for vaccines).
    assert high.opened_at == T0 + 600
    first_warm = vax(600, 15.0)
    assert high.alert_id == (
        alert_id_for("KBX 123A", "temp_high", first_warm.event_id or "") + ":held:m-1"
    )
    assert high.message.startswith(
        "held: KBX 123A (vaccines) in washout mode (after fish) until 06:00 EAT; "
        "temp_high would have opened at 15.0 °C for 10 min"
    )
    assert (high.value, high.threshold) == (15.0, 8.0)
    assert run.states["KBX 123A"].mode == run.mode
    # A suppressed change travels like any other change.
    assert decode_alert(encode(high)) == high


def test_after_the_mode_ends_the_excursion_still_going_alarms_with_its_normal_delays() -> None:
    run = ModeRun()
    run.mode = washout(0, 3600)
    run.feed(warm(0, 3600))
    after = run.feed(warm(3600, 3 * 3600))
    opened = {c.rule: c.opened_at for c in after if c.state == "open"}
    # The live air started fresh at the first reading after the mode, at T0+3600.
    assert opened["temp_high"] == T0 + 3600 + 600
    assert opened["temp_critical"] == T0 + 3600 + 60  # two plausible readings past the limit
    # Time out of range during the mode is not counted: the budget (60 min) is spent an hour
    # after the mode, not at once.
    assert opened["tor_budget"] == T0 + 3600 + 3600
    assert not by_state(after, "suppressed")
    assert run.states["KBX 123A"].mode is None
    assert run.states["KBX 123A"].held == {}


def test_door_rules_still_fire_during_the_mode() -> None:
    run = ModeRun()
    run.mode = washout(0, 3 * 3600)
    made = run.feed(warm(0, 30 * 60, door_open=True, speed_kmh=0.0))
    door = [c for c in made if c.rule == "door_open"]
    assert [c.state for c in door] == ["open"]
    assert "door_open" in run.open_rules()


def test_a_mode_ended_early_stops_holding_at_its_end() -> None:
    run = ModeRun()
    run.mode = washout(0, 3 * 3600, ended_at=30 * 60)
    made = run.feed(warm(0, 3600, temp=10.0))
    assert [(c.rule, c.opened_at) for c in by_state(made, "suppressed")] == [
        ("temp_high", T0 + 600)
    ]
    held = by_state(made, "suppressed")[0]
    assert "until 03:30 EAT" in held.message  # its early end, not its planned one
    opened = [(c.rule, c.opened_at) for c in made if c.state == "open"]
    assert opened == [("temp_high", T0 + 30 * 60 + 600)]


def test_an_alert_open_before_the_mode_stays_as_it_is_and_resolves_after_it() -> None:
    run = ModeRun()
    before = run.feed(warm(-30 * 60, 0, temp=10.0))
    high = next(c for c in before if c.rule == "temp_high" and c.state == "open")
    run.mode = washout(0, 40 * 60)
    during = run.feed(warm(0, 40 * 60, temp=10.0))
    # No change of the open alert and nothing recorded for its rule: it is open already.
    assert not [c for c in during if c.rule == "temp_high"]
    assert run.states["KBX 123A"].alerts["temp_high"].alert_id == high.alert_id
    after = run.feed([vax(40 * 60, 5.0)])
    assert [(c.alert_id, c.state) for c in after if c.rule == "temp_high"] == [
        (high.alert_id, "resolved")
    ]


def test_a_critical_open_across_a_mode_times_its_end_from_its_last_reading_beyond() -> None:
    run = ModeRun()
    before = run.feed(warm(-30 * 60, 0, temp=12.5))  # beyond the 12 °C hard limit
    critical = next(c for c in before if c.rule == "temp_critical" and c.state == "open")
    run.mode = washout(0, 120)
    run.feed(warm(0, 120, temp=11.0))  # back inside during the mode: the live state waits
    after = run.feed(warm(120, 6 * 60, temp=11.0))
    resolved = [c for c in after if c.rule == "temp_critical" and c.state == "resolved"]
    # The last reading beyond was at -60 s: the end waits critical_clear_s (300 s) from it, not
    # from the excursion's start half an hour earlier (which would resolve it at 180 s).
    assert [(c.alert_id, c.changed_at) for c in resolved] == [(critical.alert_id, T0 + 240)]


def test_time_out_of_range_before_the_mode_still_counts_after_it() -> None:
    run = ModeRun()
    run.feed(warm(0, 30 * 60, temp=10.0))  # 30 min of the 60 min budget spent (one trip: a day)
    run.mode = washout(30 * 60, 30 * 60 + 2 * 3600)
    during = run.feed(warm(30 * 60, 30 * 60 + 2 * 3600, temp=10.0))
    assert "tor_budget" not in run.open_rules()
    assert [c.rule for c in by_state(during, "suppressed")] == ["tor_budget"]
    after = run.feed(warm(30 * 60 + 2 * 3600, 4 * 3600, temp=10.0))
    tor = [c.opened_at for c in after if c.rule == "tor_budget" and c.state == "open"]
    # 29 min before the mode (the minute up to its first reading is the mode's) plus 31 min
    # after it; the mode's 2 h are not counted.
    assert tor == [T0 + 30 * 60 + 2 * 3600 + 31 * 60]


def test_a_second_mode_records_its_own_suppressed_changes() -> None:
    run = ModeRun()
    run.mode = washout(0, 3600, mode_id="m-1")
    first = run.feed(warm(0, 3600))
    run.mode = washout(3600, 7200, mode_id="m-2")
    second = run.feed(warm(3600, 7200))
    assert {c.alert_id.split(":held:")[1] for c in by_state(first, "suppressed")} == {"m-1"}
    assert {c.alert_id.split(":held:")[1] for c in by_state(second, "suppressed")} == {"m-2"}
    assert not [c for c in second if c.state == "open" and c.rule in TEMP_FAMILY]


def test_a_mode_judged_by_event_time_is_not_active_before_it_starts() -> None:
    run = ModeRun()
    run.mode = washout(3600, 7200)
    made = run.feed(warm(0, 30 * 60))
    assert "temp_high" in run.open_rules()
    assert not by_state(made, "suppressed")


def test_named_probes_are_held_each_on_its_own() -> None:
    run = ModeRun()
    run.mode = washout(0, 3600)
    readings = [
        vax(t, 15.0, probe_id=probe) for t in every(60, 0, 30 * 60) for probe in ("front", "rear")
    ]
    made = run.feed(readings)
    held = by_state(made, "suppressed")
    assert sorted((c.rule, c.probe_id) for c in held if c.rule == "temp_high") == [
        ("temp_high", "front"),
        ("temp_high", "rear"),
    ]
    assert set(run.states["KBX 123A"].held) == {"front", "rear"}
    assert not [c for c in made if c.state == "open" and c.rule in TEMP_FAMILY]


def test_the_held_state_survives_a_checkpoint() -> None:
    run = ModeRun()
    run.mode = washout(0, 3600)
    run.feed(warm(0, 20 * 60))
    state = run.states["KBX 123A"]
    assert load_state(dump_state(state)) == state
    run.states["KBX 123A"] = load_state(dump_state(state))
    # Restored mid-mode: temp_high was recorded already, not again.
    more = run.feed(warm(20 * 60, 40 * 60))
    assert "temp_high" not in {c.rule for c in by_state(more, "suppressed")}


def test_split_keeps_sensor_and_calibration_rules_and_drops_held_clears() -> None:
    from logistream.speed.rules.base import Clear, Raise

    verdicts = [
        Raise("temp_high", "e", T0, "at 9 °C"),
        Clear("temp_low", T0, "back"),
        Raise("sensor_fault", "e", T0, "jumped"),
        Clear("calibration_overdue", T0, "calibrated"),
    ]
    applied, would = mode_hold.split(verdicts)
    assert [v.rule for v in applied] == ["sensor_fault", "calibration_overdue"]
    assert [v.rule for v in would] == ["temp_high"]


def test_a_suppressed_change_is_never_routed_to_anyone() -> None:
    cfg = load_routing()
    facts = AlertFacts(truck_id="KBX 123A", rule="temp_critical", severity="critical", state="open")
    assert route_alert(cfg, facts, T0)  # the shipped routes do tell someone of an open one
    held = AlertFacts(
        truck_id="KBX 123A", rule="temp_critical", severity="critical", state="suppressed"
    )
    assert route_alert(cfg, held, T0) == []
    # Escalation does not crash on it, and never schedules a level for it.
    track = on_change(cfg, None, "a:held:m-1", "suppressed", "critical", T0)
    assert track.next_level_at is None


def test_the_modes_feed_keeps_each_trucks_newest_record() -> None:
    from logistream.modes.wire import encode_record
    from logistream.speed.modes_feed import ModeFeed

    feed = ModeFeed()
    first = washout(0, 3600)
    ended = msgspec.structs.replace(first, ended_at=T0 + 600, version=2)
    assert feed.apply(encode_record(first), 0) == "KBX 123A"
    assert feed.apply(encode_record(ended), 1) == "KBX 123A"
    # The same mode's older version, sent again later, does not undo the early end.
    assert feed.apply(encode_record(first), 2) is None
    assert feed.by_truck["KBX 123A"] == ended
    assert mode_hold.plain(feed.for_truck("KBX 123A")) == ended  # type: ignore[arg-type]
    assert feed.apply(b"{not json", 3) is None
    assert feed.apply(None, 4) is None
    following = washout(3600, 7200, mode_id="m-2")
    assert feed.apply(encode_record(following), 5) == "KBX 123A"
    assert feed.by_truck["KBX 123A"] == following
    # The earlier mode is kept beside it: a late reading of its time is still held.
    modes = feed.for_truck("KBX 123A")
    assert modes is not None
    assert modes.modes == (following, ended)
    assert mode_hold.active(modes, T0 + 300) == ended
    assert mode_hold.active(modes, T0 + 900) is None  # ended early at 600
    assert mode_hold.active(modes, T0 + 3700) == following
    assert feed.for_truck("KCB 781C") is None


def test_the_live_view_shows_the_mode_active_at_the_newest_reading() -> None:
    from logistream.speed.views import latest_of

    run = ModeRun()
    run.mode = washout(0, 3600, ended_at=1800)
    run.feed(warm(0, 10 * 60))
    [latest] = latest_of([run.states["KBX 123A"]])
    assert latest.mode is not None
    assert (latest.mode.kind, latest.mode.reason, latest.mode.ends_at) == (
        "washout",
        "after fish",
        T0 + 1800,
    )
    run.feed(warm(1800, 1900))
    [latest] = latest_of([run.states["KBX 123A"]])
    assert latest.mode is None
