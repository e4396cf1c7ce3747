"""The engine and alert lifecycle: ids from the data, acknowledgement, checkpointed state."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.rules_support import T0, Run, every, rd, vax

from logistream.errors import ConfigError
from logistream.events import AlertCommand
from logistream.registry.rules import load_rules_config, parse_rules_config
from logistream.speed import engine
from logistream.speed.alerts import alert_id_for
from logistream.speed.state import dump_state, load_state
from logistream.speed.views import status_of


def _ack(alert_id: str, truck: str = "KBX 123A", by: str = "Wanjiru") -> AlertCommand:
    return AlertCommand(
        action="ack",
        alert_id=alert_id,
        truck_id=truck,
        by=by,
        note="calling driver",
        issued_at=T0 + 5000,
    )


def test_alert_id_is_derived_from_truck_rule_and_opening_reading() -> None:
    first, second = Run(), Run()
    readings = [rd(0, 9.0, truck="T"), rd(10, 9.5, truck="T")]
    a = first.feed(readings)
    b = second.feed(readings)
    assert a == b
    assert a[0].alert_id == alert_id_for("T", "temp_high", readings[0].event_id or "")


def test_open_acknowledged_resolved_keeps_one_alert_id() -> None:
    run = Run()
    opened = run.feed([rd(0, 9.0, truck="T")])[0]
    step = engine.acknowledge(run.states["T"], _ack(opened.alert_id, "T"))
    assert step.accepted
    assert [(c.state, c.acknowledged_by, c.ack_note) for c in step.changes] == [
        ("acknowledged", "Wanjiru", "calling driver")
    ]
    run.states["T"] = step.state
    again = engine.acknowledge(step.state, _ack(opened.alert_id, "T", by="Otieno"))
    assert again.accepted
    assert again.changes == ()  # already acknowledged: a no-op
    resolved = run.feed([rd(60, 5.0, truck="T")])
    assert [(c.alert_id, c.state, c.acknowledged_by) for c in resolved] == [
        (opened.alert_id, "resolved", "Wanjiru")
    ]
    assert resolved[0].resolved_at == T0 + 60


def test_ack_of_an_unknown_alert_is_not_accepted() -> None:
    run = Run()
    run.feed([rd(0, 5.0, truck="T")])
    assert not engine.acknowledge(run.states["T"], _ack("nope", "T")).accepted


def test_state_survives_a_checkpoint_round_trip_mid_excursion() -> None:
    readings = [vax(t, 9.0, trip_id="TR", lat=-3.4, lon=38.5) for t in every(60, 0, 20 * 60)]
    straight = Run()
    straight.feed(readings)
    resumed = Run()
    resumed.feed(readings[:7])
    restored = {k: load_state(dump_state(v)) for k, v in resumed.states.items()}
    assert restored == resumed.states
    resumed.states = restored
    # Replaying from an older offset: the first readings are already covered and ignored.
    resumed.feed(readings[3:])
    assert resumed.changes == straight.changes
    assert resumed.rejected == 4


def test_truck_status_is_the_worst_open_severity_or_offline() -> None:
    run = Run()
    run.feed([vax(0, 5.0)])
    assert status_of(run.states["KBX 123A"]) == "ok"
    # Within what the air can do (a jump to 13 °C in 30 s would be a sensor fault), and held.
    run.feed([vax(30, 10.5), vax(60, 13.0), vax(90, 13.0)])
    assert status_of(run.states["KBX 123A"]) == "critical"
    run.watermark("KBX 123A", T0 + 90 + 1000)
    assert status_of(run.states["KBX 123A"]) == "offline"


def test_rules_file_shipped_and_custom(tmp_path: Path) -> None:
    shipped = load_rules_config()
    assert shipped.door.open_max_s == 600
    assert shipped.driving.speed_limit_kmh == 80
    custom = tmp_path / "rules.toml"
    custom.write_text("[door]\nopen_max_min = 2\n[severity]\nspeeding = 'major'\n")
    config = load_rules_config(custom)
    assert config.door.open_max_s == 120
    assert config.severity["speeding"] == "major"
    run = Run(rules=config)
    run.feed([vax(0, door_open=True, speed_kmh=0.0), vax(120, door_open=True, speed_kmh=0.0)])
    assert run.transitions() == [("door_open", "open")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"severity": {"nope": "major"}}, "unknown rule"),
        ({"severity": {"speeding": "urgent"}}, "is not a severity"),
        ({"door": {"open_max_min": "ten"}}, "must be a number"),
    ],
)
def test_wrong_rules_configuration_says_what_is_wrong(data: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        parse_rules_config(data)
