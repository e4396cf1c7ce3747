"""Operating modes and late readings (pure, no servers): the hold follows the reading's EVENT
time, not the processing time, both ways. A late reading from an earlier mode is held after a
newer mode was set (the modes feed keeps the truck's modes); a late reading from before a mode
began is evaluated as usual while the mode runs; a mode that reaches the speed layer after
readings inside it holds what they opened (resolved, recorded as suppressed, once)."""

from __future__ import annotations

from tests.unit.rules_support import REGISTRY, RULES, T0
from tests.unit.test_speed_modes import TEMP_FAMILY, ModeRun, by_state, warm, washout

from logistream.modes.wire import encode_record
from logistream.speed import mode_hold
from logistream.speed.commands import Acknowledgements
from logistream.speed.modes_feed import ModeFeed
from logistream.speed.shipments_feed import ShipmentFeed
from logistream.speed.side_feeds import SideFeeds

TRUCK = "KBX 123A"


def _inside(changes: list, start: float, end: float) -> list:  # type: ignore[type-arg]
    return [c for c in changes if start <= c.opened_at - T0 < end]


def test_a_late_reading_of_an_earlier_mode_is_held_after_a_newer_mode_was_set() -> None:
    feed = ModeFeed()
    feed.apply(encode_record(washout(0, 3600, mode_id="m-1")), 0)
    feed.apply(encode_record(washout(5000, 8000, mode_id="m-2")), 1)
    run = ModeRun()
    run.mode = feed.for_truck(TRUCK)  # what the processor hands the engine
    live = run.feed(warm(0, 660))  # warm inside m-1: held
    live += run.feed(warm(4000, 4660, temp=5.0))  # back in range after m-1, silence between
    spool = run.feed(warm(660, 3600))  # the silence's readings, sent late, inside m-1
    assert run.rejected == 0
    assert {c.rule for c in by_state(live, "suppressed")} == {"temp_high", "temp_critical"}
    assert not [c for c in live + spool if c.state == "open" and c.rule in TEMP_FAMILY]
    assert not _inside([c for c in spool if c.rule in TEMP_FAMILY], 0, 3600)


def test_a_late_reading_from_before_the_mode_began_is_evaluated_as_usual() -> None:
    feed = ModeFeed()
    feed.apply(encode_record(washout(3000, 6000)), 0)
    run = ModeRun()
    run.mode = feed.for_truck(TRUCK)
    run.feed(warm(0, 60, temp=5.0))
    run.feed(warm(3600, 4260))  # inside the mode: held
    spool = run.feed(warm(60, 2940))  # before the mode began, processed while it runs
    opened = {c.rule: c for c in spool if c.state == "open"}
    assert {"temp_high", "temp_critical"} <= set(opened)
    assert all(c.opened_at < T0 + 3000 for c in opened.values())
    assert not by_state(spool, "suppressed")


def _side(run: ModeRun, feed: ModeFeed) -> SideFeeds:
    dirty: set[str] = set()
    return SideFeeds(
        run.states,
        dirty,
        Acknowledgements(run.states, dirty),
        run.contexts,
        ShipmentFeed(REGISTRY, RULES),
        feed,
    )


def test_a_mode_learned_after_readings_inside_it_holds_what_they_opened() -> None:
    run = ModeRun()  # the mode is not known yet
    before = run.feed(warm(-1200, 0, temp=5.0))
    made = run.feed(warm(0, 1200))  # 20 min at 15 °C
    opened = {c.rule: c for c in made if c.state == "open"}
    assert {"temp_high", "temp_critical"} <= set(opened)
    assert not before

    feed = ModeFeed()
    mode = washout(-60, 3600)  # set a minute before the warm readings began
    feed.apply(encode_record(mode), 0)
    batch = _side(run, feed).apply_modes([TRUCK])
    state = run.states[TRUCK]
    assert not TEMP_FAMILY & set(state.alerts)
    assert state.mode == mode
    resolved = {c.rule: c for c in batch.changes if c.state == "resolved"}
    suppressed = {c.rule: c for c in batch.changes if c.state == "suppressed"}
    assert set(resolved) == set(suppressed) == set(opened) & TEMP_FAMILY
    for rule, alert in opened.items():
        assert resolved[rule].alert_id == alert.alert_id
        assert resolved[rule].resolved_at == T0 + 1140  # the truck's newest event time
        assert "washout mode (after fish)" in resolved[rule].message
        assert suppressed[rule].alert_id == f"{alert.alert_id}:held:m-1"
        assert suppressed[rule].opened_at == alert.opened_at
    assert set(state.held[""].held) == set(opened) & TEMP_FAMILY
    # Again: nothing more (idempotent on a record sent twice).
    assert not _side(run, feed).apply_modes([TRUCK]).changes

    # The mode goes on: its readings are held, each rule recorded once, nothing opens.
    run.mode = feed.for_truck(TRUCK)
    more = run.feed(warm(1200, 3600))
    assert not [c for c in more if c.state == "open" and c.rule in TEMP_FAMILY]
    assert not {c.rule for c in by_state(more, "suppressed")} & set(opened)


def test_an_alert_opened_before_a_mode_learned_late_stays_open() -> None:
    run = ModeRun()
    made = run.feed(warm(0, 1200))
    opened = {c.rule for c in made if c.state == "open"}
    assert "temp_high" in opened
    feed = ModeFeed()
    feed.apply(encode_record(washout(900, 3600)), 0)  # began after they opened
    batch = _side(run, feed).apply_modes([TRUCK])
    assert not batch.changes
    assert opened & TEMP_FAMILY <= set(run.states[TRUCK].alerts)
    assert mode_hold.active(feed.for_truck(TRUCK), T0 + 1140) is not None
