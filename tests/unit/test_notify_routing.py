"""Routing rules: who is told, on which channel, quiet hours, rotas, escalation levels."""

from __future__ import annotations

import tomllib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from logistream.errors import ConfigError
from logistream.notify.escalation import Track, escalated, forward, is_due, on_change
from logistream.notify.routing import (
    AlertFacts,
    escalates,
    escalation_targets,
    load_routing,
    parse_routing,
    route_alert,
    watchdog_targets,
)

NAIROBI = ZoneInfo("Africa/Nairobi")
RULES = """
timezone = "Africa/Nairobi"
quiet_hours = { from = "21:00", to = "06:00" }

[people.amina]
name = "Amina"
email = "amina@example.co.ke"
sms = "+254700000001"
[people.kiprop]
name = "Kiprop"
sms = "+254700000002"
[people.qm]
name = "Quality"
email = "qm@example.co.ke"
quiet_hours = false
[people.hook]
name = "Partner"
webhook = "http://partner/hook"

[drivers.DRV-1]
name = "Driver One"
sms = "+254711000001"

[roles.driver]
driver = true
[roles.dispatcher]
rota = [{ from = "06:00", to = "18:00", person = "amina" },
        { from = "18:00", to = "06:00", person = "kiprop" }]
[roles.quality]
person = "qm"

[[route]]
notify = ["dispatcher"]
[[route]]
rule = ["temp_high", "temp_critical"]
state = ["open"]
notify = ["driver"]
channels = ["sms"]
[[route]]
cargo = ["vaccines"]
severity = ["critical"]
notify = ["quality", "hook"]
[[route]]
truck = ["KAA 001A"]
route = ["nairobi_kisumu"]
notify = ["hook"]

[escalation]
severity = ["critical"]
[[escalation.level]]
after_min = 5
notify = ["quality"]
[[escalation.level]]
after_min = 15
notify = ["dispatcher"]
channels = ["sms"]

[watchdog]
notify = ["dispatcher"]
channels = ["sms"]
"""
CFG = parse_routing(tomllib.loads(RULES))


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=NAIROBI).timestamp()


def facts(**kw: str) -> AlertFacts:
    base = {
        "truck_id": "KCK 293K", "rule": "temp_critical", "severity": "critical", "state": "open",
        "cargo": "vaccines", "route": "mombasa_nairobi", "driver_id": "DRV-1",
    }  # fmt: skip
    base.update(kw)
    return AlertFacts(**base)


def who(targets: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(t.person.key, t.channel) for t in targets}


def test_a_critical_vaccine_alert_reaches_dispatcher_driver_quality_and_partner() -> None:
    targets = route_alert(CFG, facts(), at("2025-03-03T10:00"))
    assert who(targets) == {
        ("amina", "email"), ("amina", "sms"), ("driver:DRV-1", "sms"), ("qm", "email"),
        ("hook", "webhook"),
    }  # fmt: skip
    assert all(t.not_before is None for t in targets)


def test_the_rota_picks_whoever_is_on_duty_in_nairobi_time() -> None:
    night = route_alert(CFG, facts(severity="major", rule="temp_high"), at("2025-03-03T19:30"))
    assert ("kiprop", "sms") in who(night)
    assert not any(t.person.key == "amina" for t in night)


def test_quiet_hours_hold_non_critical_until_they_end_but_never_critical() -> None:
    late = at("2025-03-03T23:15")
    held = route_alert(CFG, facts(severity="major", rule="temp_high"), late)
    assert held
    assert all(t.not_before == at("2025-03-04T06:00") for t in held)
    assert all(t.not_before is None for t in route_alert(CFG, facts(), late))
    # A person with quiet_hours = false is told at once even for non-critical alerts.
    q = route_alert(CFG, facts(severity="major", rule="temp_high", cargo="vaccines"), late)
    assert all(t.person.key != "qm" for t in q)  # route 3 is critical-only
    assert {t.not_before for t in watchdog_targets(CFG, late)} == {None}


def test_state_and_rule_filters_and_truck_and_route_matches() -> None:
    acked = route_alert(CFG, facts(state="acknowledged"), at("2025-03-03T10:00"))
    assert not any(t.person.key.startswith("driver:") for t in acked)
    door = route_alert(CFG, facts(rule="door_open", severity="minor"), at("2025-03-03T10:00"))
    assert who(door) == {("amina", "email"), ("amina", "sms")}
    both = facts(truck_id="KAA 001A", route="nairobi_kisumu", severity="minor", rule="speeding")
    assert ("hook", "webhook") in who(route_alert(CFG, both, at("2025-03-03T10:00")))
    only_truck = facts(truck_id="KAA 001A", severity="minor", rule="speeding")
    assert ("hook", "webhook") not in who(route_alert(CFG, only_truck, at("2025-03-03T10:00")))


def test_an_unknown_driver_is_nobody_and_each_person_is_told_once_per_channel() -> None:
    targets = route_alert(CFG, facts(driver_id="DRV-404"), at("2025-03-03T10:00"))
    assert not any(t.person.key.startswith("driver:") for t in targets)
    assert len(targets) == len(who(targets))


def test_escalation_levels_fire_in_order_once_and_stop_when_acknowledged() -> None:
    assert escalates(CFG, "critical")
    assert not escalates(CFG, "major")
    t0 = 1_000_000.0
    track = on_change(CFG, None, "a1", "open", "critical", t0)
    assert track.next_level_at == t0 + 300
    assert not is_due(track, t0 + 299)
    assert is_due(track, t0 + 300)
    assert who(escalation_targets(CFG, facts(), 1, t0 + 300)) == {("qm", "email")}
    track = escalated(CFG, track)
    assert (track.levels_done, track.next_level_at) == (1, t0 + 900)
    track = escalated(CFG, track)
    assert (track.levels_done, track.next_level_at) == (2, None)
    acked = on_change(CFG, on_change(CFG, None, "a2", "open", "critical", t0), "a2",
                      "acknowledged", "critical", t0 + 10)  # fmt: skip
    assert acked.next_level_at is None
    assert not is_due(acked, t0 + 10_000)
    replay = on_change(CFG, acked, "a2", "open", "critical", t0 + 20)
    assert replay.state == "acknowledged"
    assert forward("resolved", "open") == "resolved"
    major = on_change(CFG, None, "a3", "open", "major", t0)
    assert major.next_level_at is None
    assert Track("x", "open", "critical", t0, 0, t0).state == "open"


def test_the_shipped_file_loads_and_routes_the_reefer_failure_truck() -> None:
    cfg = load_routing()
    targets = route_alert(
        cfg,
        facts(driver_id="DRV-010", route="mombasa_nairobi"),
        at("2025-03-03T10:00"),
    )
    assert {"amina", "driver:DRV-010", "wanjiru", "partner"} <= {t.person.key for t in targets}


def test_the_shipped_file_sends_a_rejected_lot_to_its_shipper_and_quality() -> None:
    rejected = facts(
        truck_id="KCB 781C", rule="lot_rejected", severity="major", route="nairobi_kisumu"
    )
    targets = route_alert(load_routing(), rejected, at("2025-03-03T10:00"))
    assert {"kemsa", "wanjiru"} <= {t.person.key for t in targets}
    other = route_alert(
        load_routing(), facts(rule="eta_late", severity="minor"), at("2025-03-03T10:00")
    )
    assert "kemsa" not in {t.person.key for t in other}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[[route]]\nnotify = ["nobody"]', "nobody"),
        ('[[route]]\nseverity = ["huge"]\nnotify = []', "huge"),
        ('[roles.x]\nrota = [{ from = "25:00", to = "06:00", person = "p" }]\n'
         '[people.p]\nname="P"', "rota"),
        ('quiet_hours = "night"', "quiet_hours"),
        ('[[escalation.level]]\nafter_min = 10\n[[escalation.level]]\nafter_min = 5', "grow"),
        ('timezone = "Mars/Olympus"', "Mars/Olympus"),
    ],
)  # fmt: skip
def test_a_mistake_in_the_file_names_the_key(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_routing(tomllib.loads(text), "mine.toml")
